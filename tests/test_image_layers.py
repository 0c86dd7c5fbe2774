"""Resizing and the random affine image layers against Keras 3's own outputs (tests/keras_reference/
image_layers.npz, made by make_image_reference.py there), and their shapes, seeds and argument checks.

The registry tests (tests/test_registries.py) gradient-check each layer, round-trip its config and train
it by plan and by graph; here the interpolation's backward is also checked to be the exact transpose of
its forward for every fill mode.
"""
import ast
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L

REFERENCE = np.load(Path(__file__).parent / "keras_reference" / "image_layers.npz")
CASES = [key for key in REFERENCE.files if key.startswith("(")]
FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def case_layer(key):
    name, kwargs = ast.literal_eval(key)
    return getattr(L, name)(**kwargs), kwargs


def case_input(kwargs):
    x = REFERENCE["x"]
    return x.transpose(0, 3, 1, 2) if kwargs.get("data_format") == "channels_first" else x


def test_every_kind_of_case_is_in_the_reference():
    cases = [ast.literal_eval(key) for key in CASES]
    affine = [(name, kw.get("fill_mode"), kw.get("interpolation")) for name, kw in cases if name != "Resizing"]
    for name in ("RandomRotation", "RandomZoom", "RandomTranslation"):
        assert {(mode, how) for n, mode, how in affine if n == name} >= {
            (mode, how) for mode in FILL_MODES for how in ("bilinear", "nearest")}
    assert len([name for name, _ in cases if name == "Resizing"]) >= 10


@pytest.mark.parametrize("key", CASES)
def test_matches_keras(key):
    layer, kwargs = case_layer(key)
    x = case_input(kwargs)
    out = layer(x, training=True).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, REFERENCE[key], rtol=0, atol=1e-5)
    single = layer(x[1], training=True).numpy()  # one image, no batch axis
    np.testing.assert_allclose(single, REFERENCE[key][1], rtol=0, atol=1e-5)


@pytest.mark.parametrize("key", CASES)
def test_output_shape_is_computed_without_running(key):
    layer, kwargs = case_layer(key)
    x = case_input(kwargs)
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + REFERENCE[key].shape[1:]


@pytest.mark.parametrize("make", [
    lambda mode: L.RandomRotation(0.3, fill_mode=mode, fill_value=0.7),
    lambda mode: L.RandomZoom((-0.4, 0.6), (0.2, 0.3), fill_mode=mode, interpolation="nearest"),
    lambda mode: L.RandomTranslation(0.3, (0.1, 0.4), fill_mode=mode),
    lambda mode: L.Resizing(4, 11, crop_to_aspect_ratio=mode == "wrap", pad_to_aspect_ratio=mode == "reflect"),
    lambda mode: L.Resizing(7, 3, interpolation="nearest", data_format="channels_first"),
    lambda mode: L.RandomCrop(3, 4 if mode == "wrap" else 6),  # a random window, or (as wide) a resize
])
@pytest.mark.parametrize("mode", FILL_MODES)
def test_backward_is_the_transpose_of_forward(make, mode, rng):
    """<gy, layer(x)> is affine in x; its gradient must equal layer's transpose applied to gy, which we
    read off column by column from the forward (the fill value's constant part cancels in differences)."""
    layer = make(mode)
    x = sg.Tensor(rng.standard_normal((2, 5, 6, 3)), dtype="float64", requires_grad=True)

    def forward(a):
        sg.set_seed(4)  # the same random transform at every call
        return layer(a, training=True)

    gy = rng.standard_normal(forward(x).shape)
    (forward(x) * gy).sum().backward()
    base = (forward(x.data) * gy).sum().item()
    columns = np.zeros(x.size)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1.0
        columns[k] = (forward(x.data + e.reshape(x.shape)) * gy).sum().item() - base
    np.testing.assert_allclose(x.grad, columns.reshape(x.shape), atol=1e-10)


def test_random_layers_are_the_identity_in_inference_and_draw_per_image(rng):
    """training=False (predict, evaluate) leaves the images; a direct call, training not given, augments
    (Keras's image layers default to training=True), each image its own transform."""
    x = rng.standard_normal((8, 5, 5, 1)).astype(np.float32)
    for layer in (L.RandomRotation(0.2), L.RandomZoom(0.3), L.RandomTranslation(0.2, 0.2)):
        np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
        same = np.repeat(x[:1], 8, axis=0)
        out = layer(same).numpy()
        assert not np.allclose(out[0], out[1])


DICT_LAYERS = [lambda s: L.Resizing(4, 6), lambda s: L.CenterCrop(3, 5), lambda s: L.RandomCrop(3, 5, seed=s),
               lambda s: L.RandomFlip(seed=s), lambda s: L.RandomRotation(0.2, seed=s),
               lambda s: L.RandomZoom(0.3, seed=s), lambda s: L.RandomTranslation(0.2, 0.2, seed=s),
               lambda s: L.RandomShear(0.3, 0.3, seed=s), lambda s: L.RandomPerspective(seed=s),
               lambda s: L.RandomElasticTransform(seed=s), lambda s: L.RandomBrightness(0.3, seed=s),
               lambda s: L.RandomContrast(0.3, seed=s)]


@pytest.mark.parametrize("make", DICT_LAYERS, ids=lambda make: type(make(0)).__name__)
def test_a_dict_s_images_change_as_images_alone_would_and_its_other_entries_pass_on(make, rng):
    """Keras's image layers take {"images": ..., "labels": ...}; boxes and masks, which Keras moves with the
    images, are refused rather than passed on unmoved."""
    x, labels = rng.uniform(0, 255, (4, 7, 9, 3)).astype(np.float32), np.eye(4, dtype=np.float32)
    sg.set_seed(3)  # RandomFlip draws from the framework's generator
    alone = make(5)(x).numpy()
    sg.set_seed(3)
    out = make(5)({"images": x, "labels": labels, "ids": np.arange(4)})
    assert set(out) == {"images", "labels", "ids"}
    np.testing.assert_array_equal(out["labels"].numpy(), labels)
    np.testing.assert_array_equal(out["images"].numpy(), alone)
    assert make(5)({"images": x[0]})["images"].shape == alone.shape[1:]
    np.testing.assert_array_equal(make(5)({"images": x}, training=False)["images"].numpy(),
                                  make(5)(x, training=False).numpy())
    with pytest.raises(NotImplementedError, match="bounding_boxes"):
        make(5)({"images": x, "bounding_boxes": np.zeros((4, 1, 4))})


def test_seed_gives_a_reproducible_sequence_of_transforms(rng):
    x = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)
    first, second = L.RandomRotation(0.5, seed=7), L.RandomRotation(0.5, seed=7)
    a1, a2 = first(x, training=True).numpy(), first(x, training=True).numpy()
    assert not np.allclose(a1, a2)  # a new draw per call
    np.testing.assert_array_equal(second(x, training=True).numpy(), a1)
    np.testing.assert_array_equal(second(x, training=True).numpy(), a2)


def test_zoom_without_width_factor_keeps_the_aspect_ratio():
    x = np.zeros((1, 9, 9, 1), np.float32)
    x[0, 4, :, 0] = 1.0  # a horizontal line through the centre stays one after a uniform zoom
    out = L.RandomZoom((-0.5, -0.2), fill_mode="constant")(x, training=True).numpy()
    np.testing.assert_allclose(out[0, 4, 2:7, 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[0, 4, 2:7, 0], out[0, 4, 2:7, 0][::-1], atol=1e-6)


def test_float64_stays_float64_and_channels_first_matches_channels_last(rng):
    x = rng.standard_normal((2, 5, 7, 3))
    for make in (lambda f: L.RandomRotation(0.2, data_format=f), lambda f: L.Resizing(3, 9, data_format=f)):
        sg.set_seed(1)
        last = make("channels_last")(sg.Tensor(x, dtype="float64"), training=True).numpy()
        sg.set_seed(1)
        first = make("channels_first")(x.transpose(0, 3, 1, 2).astype(np.float32), training=True).numpy()
        assert last.dtype == np.float64
        np.testing.assert_allclose(first.transpose(0, 2, 3, 1), last, atol=1e-5)


def test_layers_stack_in_a_model_with_keras_output_shapes():
    model = sg.models.Sequential([L.Input(shape=(8, 10, 3)), L.Resizing(4, 4), L.RandomRotation(0.1),
                                  L.RandomZoom(0.2), L.RandomTranslation(0.1, 0.1), L.Flatten(), L.Dense(2)])
    assert model.output_shape == (None, 2)
    assert L.Resizing(4, 5).compute_output_shape((None, 8, 10, 3)) == (None, 4, 5, 3)


@pytest.mark.parametrize("make, message", [
    (lambda: L.Resizing(0, 3), "positive integer"),
    (lambda: L.Resizing(3, 2.5), "positive integer"),
    (lambda: L.Resizing(3, 3, interpolation="bicubic"), "bicubic"),
    (lambda: L.Resizing(3, 3, interpolation="area"), "bilinear, nearest"),
    (lambda: L.Resizing(3, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "not both"),
    (lambda: L.Resizing(3, 3, fill_mode="reflect"), "constant"),
    (lambda: L.Resizing(3, 3, data_format="nhwc"), "channels_last"),
    (lambda: L.RandomRotation(1.5), "[-1, 1]"),
    (lambda: L.RandomRotation((1.2, 2)), "[-1, 1]"),
    (lambda: L.RandomRotation((0.1, 0.2, 0.3)), "pair"),
    (lambda: L.RandomRotation("0.1"), "number"),
    (lambda: L.RandomRotation(0.1, fill_mode="mirror"), "reflect, wrap, constant, nearest"),
    (lambda: L.RandomRotation(0.1, interpolation="bicubic"), "bilinear, nearest"),
    (lambda: L.RandomZoom(-1.0), "(-1, 1]"),
    (lambda: L.RandomZoom(0.2, (0.1, 1.5)), "(-1, 1]"),
    (lambda: L.RandomTranslation(0.2, 1.01), "[-1, 1]"),
    (lambda: L.RandomTranslation((0.2,), 0.1), "pair"),
])
def test_bad_arguments_are_refused_naming_what_was_expected(make, message):
    with pytest.raises((ValueError, NotImplementedError), match=message.replace("[", r"\[").replace("(", r"\(")):
        make()


def test_keras_factor_ranges_are_kept():
    assert L.RandomRotation(-0.2).factor == (-0.2, 0.2)
    assert L.RandomRotation((0.5, -0.3)).factor == (-0.3, 0.5)
    assert L.RandomRotation((0.5, 3)).factor == (0.5, 3.0)  # Keras only asks that the pair reach [-1, 1]
    assert L.RandomZoom(1.0).height_range == (-1.0, 1.0)
    assert L.RandomTranslation(-1, (0.3, -0.1)).width_range == (-0.1, 0.3)


def test_rank_other_than_3_or_4_is_refused():
    with pytest.raises(ValueError, match="rank 3.*rank 4.*got shape \\(4, 5\\)"):
        L.Resizing(2, 2)(np.zeros((4, 5), np.float32))


# ---- RandomBrightness and RandomContrast: Keras 3.15.1's formulas (its draws are torch's, so ranges) ----------
def test_random_brightness_shifts_each_image_by_a_fraction_of_the_value_range(rng):
    x = rng.uniform(0, 255, (3, 4, 5, 2)).astype(np.float32)
    fixed = L.RandomBrightness((0.1, 0.1))(x, training=True).numpy()
    np.testing.assert_array_equal(fixed, np.clip(x + np.float32(25.5), 0, 255))  # equal to Keras's output
    unit = L.RandomBrightness((-0.3, -0.3), value_range=(1, 0))(x / 255, training=True).numpy()
    np.testing.assert_allclose(unit, np.clip(x / 255 - 0.3, 0, 1), rtol=1e-6)
    wide = L.RandomBrightness(0.2, value_range=(-1e4, 1e4), seed=1)(x, training=True).numpy() - x
    assert np.ptp(wide, axis=(1, 2, 3)).max() < 1e-2 and np.abs(wide).max() <= 0.2 * 2e4  # one shift per image
    assert L.RandomBrightness(0.2).get_config()["value_range"] == [0, 255]  # sorted, as Keras keeps it


def test_random_contrast_scales_each_image_about_its_channel_means(rng):
    x = rng.uniform(0, 255, (200, 4, 5, 2)).astype(np.float32)
    for factor, low, high in ((0.5, 1.0, 1.5), ((0.2, 0.3), 0.8, 1.3)):  # a number f: [1, 1 + f], as Keras 3.15
        layer = L.RandomContrast(factor, value_range=(-1e4, 1e4), seed=3)
        y = layer(x, training=True).numpy()
        mean = x.mean(axis=(1, 2), keepdims=True)
        scale = (y - mean) / (x - mean)
        assert np.ptp(scale, axis=(1, 2, 3)).max() < 1e-3  # one factor per image
        assert low - 1e-4 <= scale.min() and scale.max() <= high + 1e-4 and np.ptp(scale) > (high - low) / 2
    first = L.RandomContrast((0.2, 0.3), value_range=(-1e4, 1e4), data_format="channels_first", seed=3)
    y = first(np.moveaxis(x, -1, 1), training=True).numpy()
    np.testing.assert_allclose(y.mean(axis=(2, 3)), np.moveaxis(x, -1, 1).mean(axis=(2, 3)), rtol=1e-4)
    np.testing.assert_array_equal(L.RandomContrast(0.5)(x, training=False).numpy(), x)  # the identity in inference
    clipped = L.RandomContrast((0.9, 0.9), seed=0)(x, training=True).numpy()
    assert clipped.min() >= 0 and clipped.max() <= 255
    assert L.RandomContrast(0.5).get_config()["factor"] == (0, 0.5)  # Keras's (lower, upper)


@pytest.mark.parametrize("make,message", [
    (lambda: L.RandomContrast(1.5), r"factor must be a number or a pair of numbers in \[0, 1\]"),
    (lambda: L.RandomContrast((0.2,)), "factor must be"), (lambda: L.RandomBrightness("a"), "factor must be"),
    (lambda: L.RandomBrightness(0.1, value_range=(0, 1, 2)), "value_range must be a pair of numbers")])
def test_color_layers_refuse_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_random_crop_takes_one_window_per_batch_in_training_and_resizes_in_inference(rng):
    """Keras 3.15 draws one window per batch; in inference (and for images not larger than the window)
    RandomCrop gives what Keras documents, the largest central window of the aspect ratio, resized (Keras
    3.15's code returns the image uncropped there, unlike its own output shape)."""
    x = rng.standard_normal((3, 7, 9, 2)).astype(np.float32)
    crop = L.RandomCrop(4, 5, seed=3)
    windows = set()
    for _ in range(20):
        out = crop(x, training=True).numpy()
        found = [(top, left) for top in range(4) for left in range(5)
                 if np.array_equal(out, x[:, top:top + 4, left:left + 5])]
        assert len(found) == 1  # one window, the same for every image
        windows.add(found[0])
    assert len(windows) > 5  # drawn anew at each call
    again = L.RandomCrop(4, 5, seed=3)
    np.testing.assert_array_equal(again(x, training=True).numpy(), L.RandomCrop(4, 5, seed=3)(x, training=True).numpy())
    resized = L.Resizing(4, 5, crop_to_aspect_ratio=True)(x).numpy()
    np.testing.assert_array_equal(crop(x, training=False).numpy(), resized)
    np.testing.assert_array_equal(crop(x[:, :4, :5], training=True).numpy(), x[:, :4, :5])  # as large: itself
    assert crop.compute_output_shape((None, 7, 9, 2)) == (None, 4, 5, 2)
    assert L.RandomCrop(4, 5, data_format="channels_first").compute_output_shape((None, 2, 7, 9)) == (None, 2, 4, 5)


def test_random_crop_gives_floats_and_loads_from_a_keras_file_with_keras_s_seed(tmp_path):
    """Keras writes a seed drawn at random (about 10⁹) into each augmentation layer's config: a value, not a
    size, so a file holding one loads."""
    pixels = np.arange(2 * 6 * 8 * 3, dtype=np.uint8).reshape(2, 6, 8, 3)
    crop = L.RandomCrop(3, 4, seed=386939145)
    assert crop(pixels, training=True).dtype == np.float32 and crop(pixels).dtype == np.float32
    model = sg.Sequential([sg.Input(shape=(6, 8, 3)), crop, L.Flatten(), L.Dense(2)])
    model.save(tmp_path / "crop.keras", format="keras")
    loaded = sg.models.load_model(tmp_path / "crop.keras")
    assert loaded.layers[0].seed == 386939145
    np.testing.assert_allclose(loaded.predict(pixels, verbose=0), model.predict(pixels, verbose=0), rtol=1e-6)


def test_an_augmentation_model_called_directly_augments_and_predict_does_not(rng):
    """Keras's rule, which "Deep Learning with Python" relies on to plot augmented images: an image layer's
    call defaults to training=True, so a Sequential or functional model of them called directly augments;
    predict passes training=False, and Dropout's own default (False) still holds in a direct call."""
    x = np.repeat(rng.standard_normal((1, 6, 6, 1)).astype(np.float32), 16, axis=0)
    augment = sg.Sequential([L.RandomFlip("horizontal", seed=1), L.RandomRotation(0.2, seed=1)])
    inputs = sg.Input((6, 6, 1))
    functional = sg.Model(inputs, L.Dropout(0.5)(L.RandomFlip("horizontal", seed=2)(inputs)))
    for model in (augment, functional):
        assert not np.allclose(model(x).numpy(), x)
        np.testing.assert_array_equal(model.predict(x, verbose=0), x)
        np.testing.assert_array_equal(model(x, training=False).numpy(), x)
    flipped = functional(x).numpy()
    assert all(np.array_equal(image, x[0]) or np.array_equal(image, x[0, :, ::-1]) for image in flipped)


def test_fit_evaluate_and_predict_leave_no_training_mode_behind(rng):
    """Keras keeps no mode: after predict, fit or an interrupted fit, a direct call still gets its own default
    (an augmentation augments, Dropout does not drop), also for an augmentation inside a trained model."""
    x = np.repeat(rng.standard_normal((1, 6, 6, 1)).astype(np.float32), 16, axis=0)
    augment = sg.Sequential([L.RandomFlip("horizontal", seed=1)])
    augment.predict(x, verbose=0)
    assert not np.allclose(augment(x).numpy(), x)
    model = sg.Sequential([sg.Input((6, 6, 1)), augment, L.Flatten(), L.Dropout(0.5), L.Dense(2, "softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, np.zeros(16), epochs=1, verbose=0)
    model.evaluate(x, np.zeros(16), verbose=0)
    assert not np.allclose(augment(x).numpy(), x)
    np.testing.assert_array_equal(model.layers[2](np.ones((4, 8), np.float32)).numpy(), 1)  # Dropout: off

    class Stop(sg.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(x, np.zeros(16), epochs=1, verbose=0, callbacks=[Stop()])
    np.testing.assert_array_equal(model.layers[2](np.ones((4, 8), np.float32)).numpy(), 1)
    model.train()  # a mode the user set is the one they find after predict
    model.predict(x, verbose=0)
    assert model.layers[2]._mode is True
    model.train(None)
    model.layers[2].train()  # the mode of one layer too, after fit
    model.fit(x, np.zeros(16), epochs=1, verbose=0)
    assert model.layers[2]._mode is True and model._mode is None


def test_an_enclosing_call_s_own_default_reaches_the_layers_it_calls(rng):
    """As Keras resolves it: a subclassed model whose call defaults to training=False passes False down
    (its RandomFlip does not flip); a layer called with no training inside a Sequential gets its own default."""
    seen = []

    class Recorder(L.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    class Net(sg.Model):
        def __init__(self):
            super().__init__()
            self.flip, self.recorder = L.RandomFlip("horizontal", seed=0), Recorder()

        def call(self, x, training=False):
            return self.recorder(self.flip(x))

    x = np.repeat(rng.standard_normal((1, 4, 4, 1)).astype(np.float32), 16, axis=0)
    np.testing.assert_array_equal(Net()(x).numpy(), x)
    assert seen[-1] is False
    flipped = Net()(x, training=True).numpy()
    assert not np.allclose(flipped, x) and seen[-1] is True
    layer = Recorder()
    layer.training = True  # PyTorch's attribute sets the mode too
    layer(x)
    assert seen[-1] is True and layer.training


def test_time_distributed_gives_its_layer_the_layer_s_own_default(rng):
    """Keras's TimeDistributed passes training=None on: a wrapped augmentation called directly augments, a
    wrapped Dropout does not drop."""
    frames = np.repeat(rng.standard_normal((1, 1, 4, 4, 1)).astype(np.float32), 16, axis=1)
    flips = L.TimeDistributed(L.RandomFlip("horizontal", seed=0))
    assert not np.allclose(flips(frames).numpy(), frames)
    np.testing.assert_array_equal(flips(frames, training=False).numpy(), frames)
    ones = np.ones((2, 3, 4), np.float32)
    np.testing.assert_array_equal(L.TimeDistributed(L.Dropout(0.5))(ones).numpy(), ones)
