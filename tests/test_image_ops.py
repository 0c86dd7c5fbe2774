"""ops.image.affine_transform, perspective_transform, map_coordinates, ssim, extract_patches_3d and
scale_and_translate: Keras 3.15's outputs on the same inputs (tests/keras_reference/image_ops.npz, made by
make_image_ops_reference.py), their gradients, and the
projective part Keras's torch backend leaves out."""
import sys
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import ops

sys.path.insert(0, str(Path(__file__).parent / "keras_reference"))
from make_image_ops_reference import cases  # noqa: E402

REFERENCE = np.load(Path(__file__).parent / "keras_reference" / "image_ops.npz")
CASES = cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_equal_keras(name):
    function, args, kwargs = CASES[name]
    out = getattr(ops.image, function)(*args, **kwargs).numpy()
    expected = REFERENCE[name]
    assert out.shape == expected.shape and out.dtype == expected.dtype
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_a_projective_transform_divides_by_its_depth():
    """c0 and c1 count (Keras's TensorFlow backend; its torch backend takes them as 0): each output pixel
    is the input's nearest pixel to ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1."""
    image = np.random.default_rng(0).random((1, 6, 8, 1), dtype=np.float32)
    t = [1.1, 0.2, -1.0, -0.1, 0.9, 0.5, 0.03, -0.02]
    out = ops.image.affine_transform(image, t, interpolation="nearest", fill_value=-1).numpy()
    for y in range(6):
        for x in range(8):
            k = t[6] * x + t[7] * y + 1
            col, row = np.rint((t[0] * x + t[1] * y + t[2]) / k), np.rint((t[3] * x + t[4] * y + t[5]) / k)
            inside = 0 <= row < 6 and 0 <= col < 8
            assert out[0, y, x, 0] == (image[0, int(row), int(col), 0] if inside else -1)


@pytest.mark.parametrize("fill_mode", ["constant", "reflect", "wrap"])
def test_affine_transform_gradient_reaches_the_images(fill_mode):
    images = sg.Tensor(np.random.default_rng(1).random((2, 4, 5, 2)), dtype="float64", requires_grad=True)
    t = [[0.9, 0.2, 0.3, -0.1, 1.1, -0.4, 0, 0]]
    assert sg.gradcheck(lambda x: ops.image.affine_transform(x, t, fill_mode=fill_mode, fill_value=0.3), images)


@pytest.mark.parametrize("order, fill_mode", [(1, "constant"), (1, "mirror"), (0, "wrap"), (1, "nearest")])
def test_map_coordinates_gradient_reaches_the_inputs(order, fill_mode):
    rng = np.random.default_rng(2)
    x = sg.Tensor(rng.random((4, 5)), dtype="float64", requires_grad=True)
    coordinates = rng.uniform(-2, 6, (2, 3, 7)) + 0.01  # off the grid, where the linear reading is smooth
    assert sg.gradcheck(lambda x: ops.image.map_coordinates(x, coordinates, order, fill_mode, 0.5), x)


def test_ssim_is_one_for_equal_images_and_trains_as_a_loss():
    rng = np.random.default_rng(5)
    target = rng.random((2, 12, 12, 1))
    assert np.allclose(ops.image.ssim(target, target).numpy(), 1)
    guess = sg.Tensor(np.clip(target + rng.normal(0, 0.2, target.shape), 0, 1), dtype="float64", requires_grad=True)
    assert sg.gradcheck(lambda x: ops.image.ssim(x, target, filter_size=5), guess)
    before = ops.image.ssim(guess, target).numpy()
    for _ in range(20):  # gradient ascent on the similarity brings the images together
        guess.grad = None
        ops.sum(ops.image.ssim(guess, target)).backward()
        guess = sg.Tensor(guess.numpy() + 0.5 * guess.grad, dtype="float64", requires_grad=True)
    assert np.all(ops.image.ssim(guess, target).numpy() > before + 0.1)


def test_elastic_transform_is_keras_formula_on_its_draws():
    """The displacement fields are normal draws × σ, blurred (σ, int(6σ) | 1 wide, zeros around) and × α: with
    σ small enough for a 1-wide blur, each pixel is read α·σ·z away, z the draws in order (columns, then rows),
    reflected at the edges."""
    from scratchgrad.random import SeedGenerator, generator

    images = np.random.default_rng(6).random((2, 5, 6, 1)).astype(np.float32)
    out = ops.image.elastic_transform(images, alpha=8.0, sigma=0.1, interpolation="nearest", seed=7).numpy()
    draws = generator(SeedGenerator(7))
    dx, dy = (draws.standard_normal((2, 5, 6)) * 0.1 * 8.0 for _ in range(2))

    def reflect(index, size):  # d c b a | a b c d | d c b a
        index = np.rint(index).astype(int) % (2 * size)
        return np.where(index < size, index, 2 * size - 1 - index)

    rows, cols = reflect(np.arange(5)[:, None] + dy, 5), reflect(np.arange(6)[None, :] + dx, 6)
    assert np.abs(dx).max() > 1.5  # pixels come from afar, some from beyond the edge
    np.testing.assert_array_equal(out[..., 0], images[np.arange(2)[:, None, None], rows, cols, 0])
    same = ops.image.elastic_transform(images, alpha=8.0, sigma=0.1, interpolation="nearest", seed=7).numpy()
    np.testing.assert_array_equal(out, same)  # a seed gives the same warp
    assert np.array_equal(ops.image.elastic_transform(images, alpha=0.0, seed=1).numpy(), images)


def test_integer_images_are_read_as_floats_and_rounded_back():
    pixels = (np.random.default_rng(8).random((2, 5, 6, 1)) * 255).astype(np.uint8)
    t = [0.5, 0, 0.4, 0, 0.5, 0.7, 0, 0]
    for warp in (lambda x: ops.image.affine_transform(x, t),
                 lambda x: ops.image.elastic_transform(x, alpha=3.0, sigma=1.0, seed=2)):
        out = warp(pixels)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out.numpy(), np.round(warp(pixels.astype(np.float32)).numpy()))


def test_integer_images_take_a_truncated_fill_value_that_fits():
    pixels = np.full((1, 4, 4, 1), 200, np.uint8)
    shifted = ops.image.affine_transform(pixels, [1, 0, 2, 0, 1, 0, 0, 0], fill_value=0.7).numpy()
    assert shifted[0, 0, -1, 0] == 0 and shifted[0, 0, 0, 0] == 200  # Keras's int(0.7), not a rounded blend
    with pytest.raises(ValueError, match="fill_value 300.6 does not fit the images' dtype uint8"):
        ops.image.affine_transform(pixels, [1, 0, 2, 0, 1, 0, 0, 0], fill_value=300.6)


def test_float16_inputs_are_read_at_float32_positions():
    """float16 cannot tell 600.3 from 600.25 (nor 1001.7 from 1001.5): positions and weights are float32,
    the result float16, as Keras's."""
    image = np.random.default_rng(9).random((1, 3, 700, 1)).astype(np.float16)
    shift = [1, 0, 0.3, 0, 1, 0, 0, 0]
    half, single = ops.image.affine_transform(image, shift), ops.image.affine_transform(image.astype(np.float32), shift)
    assert half.dtype == np.float16
    np.testing.assert_allclose(half.numpy(), single.numpy(), atol=1e-3)
    line = np.arange(1100).astype(np.float16)
    assert ops.image.map_coordinates(line, [[1001.7]], 1).numpy()[0] == np.float16(1001.7)


def test_a_step_through_them_is_replayed_by_the_plan():
    coordinates = np.random.default_rng(3).uniform(-1, 4, (3, 2, 4, 4, 2))

    class Warp(sg.layers.Layer):
        def call(self, x):
            moved = ops.image.affine_transform(x, [1, 0.1, 0.5, 0, 0.9, 0.2, 0, 0], fill_mode="reflect")
            return ops.image.map_coordinates(moved[0], coordinates[:, 0], 1) + moved[:, :4, :4] * 0

    model = sg.Sequential([sg.layers.Input((4, 4, 2)), sg.layers.Dense(2), Warp(), sg.layers.Flatten(),
                           sg.layers.Dense(2)])
    model.compile("adam", "mse")
    x, y = np.random.default_rng(4).random((6, 4, 4, 2)), np.zeros((6, 2))
    model.fit(x, y, batch_size=3, epochs=2, verbose=0)
    assert len(model._plans) == 1  # recorded once, replayed


@pytest.mark.parametrize("call, message", [
    (lambda: ops.image.affine_transform(np.zeros((1, 3, 3, 1)), [1, 0, 0, 0, 1, 0]), "transform of 8 numbers"),
    (lambda: ops.image.affine_transform(np.zeros((2, 3, 3, 1)), np.zeros((3, 8))), "3 transforms for 2 images"),
    (lambda: ops.image.affine_transform(np.zeros((1, 3, 3, 1)), np.eye(3).ravel()[:8], fill_mode="symmetric"),
     "fill_mode must be one of"),
    (lambda: ops.image.perspective_transform(np.zeros((1, 3, 3, 1)), np.zeros((4, 2)), np.zeros((1, 4, 2))),
     "of one shape"),
    (lambda: ops.image.map_coordinates(np.zeros((3, 3)), np.zeros((3, 4)), 1), r"inputs.ndim=2"),
    (lambda: ops.image.ssim(np.zeros((4, 4, 1)), np.zeros((4, 5, 1))), "of one shape"),
    (lambda: ops.image.extract_patches_3d(np.zeros((2, 4, 4, 4, 1)), 2, padding="causal"), "padding 'valid'"),
    (lambda: ops.image.map_coordinates(np.zeros((3, 3)), np.zeros((2, 4)), 3), "order must be 0 or 1"),
    (lambda: ops.image.map_coordinates(np.zeros((3, 3)), np.zeros((2, 4)), 1, "symmetric"), "fill_mode must be"),
])
def test_bad_arguments_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_scale_and_translate_by_whole_pixels_shifts_the_image():
    """scale 1 and a translation of one pixel: each output pixel is its left neighbour's, the first column
    reads outside the image and is 0."""
    x = np.random.default_rng(3).random((1, 3, 5, 2)).astype(np.float32)
    out = ops.image.scale_and_translate(x, (1, 3, 5, 2), [1.0], [1.0], (2,), "linear").numpy()
    np.testing.assert_allclose(out[:, :, 1:], x[:, :, :-1], rtol=1e-6)
    assert not out[:, :, 0].any()


@pytest.mark.parametrize("method", ["linear", "cubic", "lanczos3"])
def test_scale_and_translate_gradient_reaches_the_images(method):
    images = sg.Tensor(np.random.default_rng(4).random((2, 5, 4, 2)), dtype="float64", requires_grad=True)
    assert sg.gradcheck(lambda x: ops.image.scale_and_translate(x, (2, 7, 3, 2), [1.4, 0.8], [0.3, -0.2], (1, 2),
                                                                method), images)


@pytest.mark.parametrize("args, message", [
    (((1, 4, 4, 1), [1.0], [0.0], (1,), "nearest"), "method must be one of"),
    (((4, 4, 1), [1.0], [0.0], (1,), "linear"), "output_shape of the images' rank"),
    (((1, 4, 4, 1), [1.0, 2.0], [0.0], (1,), "linear"), "2 scales and 1 translations"),
])
def test_scale_and_translate_refuses_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        ops.image.scale_and_translate(np.zeros((1, 4, 4, 1), np.float32), *args)
