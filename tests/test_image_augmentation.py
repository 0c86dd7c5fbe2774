"""Keras 3's value-changing and mixing image augmentations (layers/image_augmentation.py): Keras's numbers
where nothing random matters, and what each draw must give where it does."""
from pathlib import Path

import numpy as np
import pytest
from layer_checks import keras_reference

import scratchgrad as sg
from scratchgrad import layers as L

REFERENCE, CASES = keras_reference("image_augmentation.npz")  # cases: (name, shape, value range, kwargs)
CONFIGS = Path(__file__).parent / "keras_reference" / "image_augmentation_configs.json"


@pytest.mark.parametrize("name, shape, value_range, kwargs, x, expected", [
    pytest.param(*case, REFERENCE[f"{i}_x"], REFERENCE[f"{i}_y"], id=f"{i}-{case[0]}") for i, case in enumerate(CASES)])
def test_keras_s_outputs_where_the_draw_is_pinned(name, shape, value_range, kwargs, x, expected):
    """tests/keras_reference/make_image_augmentation_reference.py: Keras 3.15.1, torch backend."""
    np.testing.assert_allclose(getattr(L, name)(**kwargs)(x).numpy(), expected, rtol=1e-6, atol=1e-4)


ALL = [lambda: L.RandomGrayscale(), lambda: L.RandomInvert(), lambda: L.Solarization(0.3, 0.5),
       lambda: L.AutoContrast(), lambda: L.RandomPosterization(4), lambda: L.RandomColorDegeneration(0.5),
       lambda: L.RandomErasing(), lambda: L.MixUp(), lambda: L.CutMix(), lambda: L.RandomSharpness(0.6),
       lambda: L.Equalization(), lambda: L.RandAugment(num_ops=3), lambda: L.AugMix(), lambda: L.RandomSaturation(0.5),
       lambda: L.RandomHue(0.5), lambda: L.RandomColorJitter(brightness_factor=0.2, hue_factor=0.2),
       lambda: L.RandomGaussianBlur(), lambda: L.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 3)),
       lambda: L.Pipeline([L.RandomGrayscale(), L.MixUp()])]
IN_INFERENCE = (L.AutoContrast, L.ContrastLimitedAdaptiveHistogramEqualization)  # Keras applies them always


@pytest.mark.parametrize("make", ALL, ids=lambda make: type(make()).__name__)
def test_each_is_the_identity_in_inference_and_keeps_dicts_images_and_single_images(make, rng):
    """All but AutoContrast and CLAHE, which Keras applies whatever `training` says."""
    x = rng.uniform(0, 255, (6, 5, 7, 3)).astype(np.float32)
    layer = make()
    if isinstance(layer, IN_INFERENCE):
        np.testing.assert_array_equal(layer(x, training=False).numpy(), layer(x).numpy())
    else:
        np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    assert layer(x).shape == x.shape and layer(x[0]).shape == x[0].shape
    labels = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0, 1]]
    out = layer({"images": x, "labels": labels, "ids": np.arange(6)})
    assert set(out) == {"images", "labels", "ids"} and out["images"].shape == x.shape
    assert out["labels"].shape == labels.shape
    np.testing.assert_allclose(out["labels"].numpy().sum(axis=1), 1, rtol=1e-6)  # mixed labels still sum to 1
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert sg.Sequential([sg.Input((5, 7, 3)), layer]).predict(x, verbose=0).shape == x.shape


def test_uint8_pixels_become_floats(rng):
    pixels = rng.integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    assert L.RandomInvert((1, 1))(pixels).dtype == np.float32
    np.testing.assert_array_equal(L.RandomInvert((1, 1))(pixels).numpy(), 255 - pixels.astype(np.float32))


def test_grayscale_and_invert_apply_to_the_share_their_factor_gives(rng):
    """RandomGrayscale(f) grays each image with probability f; RandomInvert draws its probability in factor,
    so factor=1.0 (Keras's default, probability drawn in [0, 1]) inverts about half the images."""
    x = rng.uniform(0, 255, (400, 2, 2, 3)).astype(np.float32)
    gray = L.RandomGrayscale(0.3, seed=1)(x).numpy()
    grayed = np.all(gray == gray[..., :1], axis=(1, 2, 3))
    assert 0.2 < grayed.mean() < 0.4 and np.array_equal(gray[~grayed], x[~grayed])
    inverted = L.RandomInvert(seed=2)(x).numpy() != x
    assert 0.4 < inverted.all(axis=(1, 2, 3)).mean() < 0.6
    assert (inverted.all(axis=(1, 2, 3)) | ~inverted.any(axis=(1, 2, 3))).all()  # whole images


def test_solarization_inverts_from_a_threshold_after_an_addition(rng):
    """Keras draws the addition in [a₀, 255·a₁] and the threshold in [t₀, 255·t₁], one of each per image."""
    x = rng.uniform(0, 200, (100, 3, 3, 1)).astype(np.float32)
    y = L.Solarization(threshold_factor=(0.5, 0.5), seed=0)(x).numpy()  # no addition; t in [0.5, 127.5]
    for image, original in zip(y, x):
        kept = image == original
        assert original[kept].max(initial=0) < original[~kept].min(initial=255)  # one threshold splits them
        np.testing.assert_allclose(image[~kept], 255 - original[~kept], rtol=1e-6)
        assert original[~kept].min(initial=255) >= 0.5 and original[kept].max(initial=0) < 127.5
    y = L.Solarization(addition_factor=(0.1, 0.1), seed=0)(x).numpy()  # threshold 0: all inverted
    added = (255 - y - x).reshape(100, -1)
    assert np.ptp(added, axis=1).max() < 1e-3 and 0.1 - 1e-3 <= added.min() and added.max() <= 25.5 + 1e-3


def test_posterization_keeps_the_top_bits(rng):
    x = rng.uniform(0, 255, (50, 3, 3, 3)).astype(np.float32)
    y = L.RandomPosterization((2, 5), seed=3)(x).numpy()
    steps = [next(2 ** (8 - b) for b in range(2, 5) if np.all(image % 2 ** (8 - b) == 0)) for image in y]
    assert set(steps) <= {64, 32, 16} and len(set(steps)) > 1  # b drawn per image in [2, 5)
    for image, original, step in zip(y, x, steps):
        np.testing.assert_array_equal(image, np.floor(np.floor(original) / step) * step)


def test_color_degeneration_moves_toward_gray(rng):
    x = rng.uniform(0, 255, (40, 3, 3, 3)).astype(np.float32)
    y = L.RandomColorDegeneration((0.2, 0.6), seed=4)(x).numpy()
    gray = x @ np.float32([0.2989, 0.5870, 0.1140])
    fraction = (y - x) / (gray[..., None] - x)
    per_image = fraction.reshape(40, -1)
    assert np.ptp(per_image, axis=1).max() < 1e-3 and 0.2 - 1e-3 < per_image.min() and per_image.max() < 0.6 + 1e-3


def test_erasing_fills_one_box_per_image_within_scale(rng):
    x = rng.uniform(1, 255, (200, 10, 12, 3)).astype(np.float32)
    y = L.RandomErasing(factor=(1, 1), scale=(0.1, 0.4), fill_value=0, seed=5)(x).numpy()
    erased = y == 0
    assert np.all(erased == erased[..., :1])  # every channel
    for mask in erased[..., 0]:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all() and mask.sum() == len(rows) * len(cols)
        assert np.sqrt(0.1) * 10 - 1 <= len(rows) <= np.sqrt(0.4) * 10 + 1  # each side √s of the image's
    np.testing.assert_array_equal(y[~erased], x[~erased])
    kept = L.RandomErasing(factor=(0, 0), seed=5)(x).numpy()
    np.testing.assert_array_equal(kept, x)  # probability 0: none erased


def test_mixup_blends_each_image_and_label_with_another_in_the_same_proportion(rng):
    x = rng.uniform(0, 255, (64, 4, 4, 3)).astype(np.float32)
    labels = np.eye(64, dtype=np.float32)  # each image its own class: the label says whom it was mixed with
    out = L.MixUp(alpha=0.5, seed=6)({"images": x, "labels": labels})
    images, mixed = out["images"].numpy(), out["labels"].numpy()
    weight = mixed[np.arange(64), np.arange(64)]
    partner = np.where(weight < 1 - 1e-6, np.argmax(mixed - np.diag(weight), axis=1), np.arange(64))
    np.testing.assert_allclose(images, weight[:, None, None, None] * x +
                               (1 - weight[:, None, None, None]) * x[partner], rtol=1e-5, atol=1e-3)
    assert len(set(partner.tolist())) == 64  # a permutation
    assert 0.1 < np.mean(np.minimum(weight, 1 - weight)) < 0.4  # Beta(0.5, 0.5) weights, not all extreme


def test_cutmix_pastes_a_box_of_another_image_and_weighs_labels_by_its_area(rng):
    x = rng.uniform(0, 255, (64, 12, 12, 2)).astype(np.float32)
    labels = np.eye(64, dtype=np.float32)
    out = L.CutMix(seed=7)({"images": x, "labels": labels})
    images, mixed = out["images"].numpy(), out["labels"].numpy()
    for i in range(64):
        changed = np.any(images[i] != x[i], axis=-1)
        kept = mixed[i, i]
        if kept > 1 - 1e-6:
            continue
        partner = int(np.argmax(np.where(np.arange(64) == i, -1, mixed[i])))
        np.testing.assert_array_equal(images[i][changed], x[partner][changed])
        assert abs(changed.mean() - (1 - kept)) < 0.25  # the pixel grid's share of the continuous box
    np.testing.assert_array_equal(L.CutMix(seed=7)(x[0]).numpy(), x[0])  # a single image: nothing to mix


def test_pipeline_passes_training_and_round_trips_its_layers(rng):
    x = rng.uniform(0, 255, (4, 3, 3, 3)).astype(np.float32)
    pipeline = L.Pipeline([L.RandomInvert((1, 1)), L.AutoContrast()])
    np.testing.assert_allclose(pipeline(x).numpy(), L.AutoContrast()(255 - x).numpy())
    np.testing.assert_allclose(pipeline(x, training=False).numpy(), L.AutoContrast()(x).numpy())  # no inversion
    clone = L.Pipeline.from_config(pipeline.get_config())
    assert [type(layer) for layer in clone.layers] == [L.RandomInvert, L.AutoContrast]
    np.testing.assert_allclose(clone(x).numpy(), pipeline(x).numpy())


@pytest.mark.parametrize("make, message", [
    (lambda: L.RandomGrayscale(1.5), "factor must be a number in"),
    (lambda: L.RandomInvert((0.2, 0.3, 0.4)), "factor must be a number or a pair"),
    (lambda: L.Solarization(threshold_factor=2), "threshold_factor must be"),
    (lambda: L.AutoContrast(value_range=5), "value_range must be a pair"),
    (lambda: L.RandomPosterization(9), r"factor must be a number or a pair of numbers in \[1, 8\]"),
    (lambda: L.RandomErasing(fill_value=(1, 2)), "fill_value must be None, a number or three numbers"),
    (lambda: L.MixUp(alpha=0), "alpha must be a positive number"),
    (lambda: L.Pipeline.from_config({"layers": None}), "hold a list of layers")])
def test_bad_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_grayscale_needs_rgb_or_gray_images(rng):
    with pytest.raises(ValueError, match="3 channels"):
        L.RandomGrayscale(1.0)(rng.uniform(0, 1, (2, 3, 3, 2)).astype(np.float32))
    gray = rng.uniform(0, 1, (2, 3, 3, 1)).astype(np.float32)
    np.testing.assert_array_equal(L.RandomGrayscale(1.0)(gray).numpy(), gray)


def test_keras_s_serialized_layers_load_with_their_settings(rng):
    """Keras 3.15.1's serialize_keras_object of each layer (image_augmentation_configs.json): the same
    class and settings back, and a layer that runs."""
    import json

    from scratchgrad.serialization import deserialize_keras_object

    configs = json.loads(CONFIGS.read_text())
    x = rng.uniform(0, 1, (3, 4, 5, 3)).astype(np.float32)
    for config in configs:
        layer = deserialize_keras_object(config)
        assert type(layer).__name__ == config["class_name"]
        ours = layer.get_config()
        for key, value in config["config"].items():
            if key not in ("dtype", "name", "layers", "trainable"):
                assert ours[key] == (tuple(value) if isinstance(value, list) else value), (config["class_name"], key)
        assert layer(x).shape == x.shape
    assert [type(layer).__name__ for layer in deserialize_keras_object(configs[-1]).layers] == ["RandomInvert", "MixUp"]


def test_shear_is_keras_s_with_one_sign_per_image():
    """Keras negates both shears for a random half of the images: each image is Keras's transform by
    SHEAR or by -SHEAR (make_image_augmentation_reference.py)."""
    data = REFERENCE
    x, plus, minus = data["shear_x"], data["shear_plus"], data["shear_minus"]
    signs = set()
    for seed in range(6):
        out = L.RandomShear((0.3, 0.3), (0.2, 0.2), seed=seed)(x).numpy()
        for image, p, m in zip(out, plus, minus):
            same = [np.allclose(image, p, atol=1e-3), np.allclose(image, m, atol=1e-3)]
            assert any(same)
            signs.add(same[0])
    assert signs == {True, False}
    np.testing.assert_array_equal(L.RandomShear(0.3)(x, training=False).numpy(), x)
    with pytest.raises(ValueError, match=r"x_factor must be a number or a pair of numbers in \[-1, 1\]"):
        L.RandomShear((-0.2, 1.3))
    assert L.RandomShear.from_config(L.RandomShear(0.3).get_config()).x_factor == (-0.3, 0.3)  # as Keras saves it


def test_sharpness_at_a_half_leaves_the_image_and_blurs_below_it(rng):
    x = rng.uniform(0, 255, (3, 6, 6, 2)).astype(np.float32)
    np.testing.assert_allclose(L.RandomSharpness((0.5, 0.5))(x).numpy(), x, rtol=1e-6)
    blurred = L.RandomSharpness((0, 0))(x).numpy()  # the 3×3 smoothing itself, zeros around the image
    kernel = np.float32([[1, 1, 1], [1, 5, 1], [1, 1, 1]]) / 13
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    smooth = sum(kernel[i, j] * padded[:, i:i + 6, j:j + 6] for i in range(3) for j in range(3))
    np.testing.assert_allclose(blurred, smooth, rtol=1e-5, atol=1e-3)


def test_rand_augment_applies_num_ops_of_its_candidates_to_the_whole_batch(rng):
    """Each call draws num_ops candidates for the whole batch, anew at each call; with num_ops=0 nothing
    changes. With factor 0 every candidate is fixed, so each output is exactly one candidate's."""
    x = rng.uniform(0, 255, (4, 8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(L.RandAugment(num_ops=0)(x).numpy(), x)
    layer = L.RandAugment(num_ops=1, factor=(0.9, 0.9), seed=1)
    candidates = [candidate(x, training=True).numpy() for candidate in layer.candidates]
    assert len(candidates) == 11 and all(c.shape == x.shape for c in candidates)
    outs = [layer(x).numpy() for _ in range(12)]
    assert len({out.tobytes() for out in outs}) > 3  # drawn anew at each call
    config = layer.get_config()
    assert config["num_ops"] == 1 and config["factor"] == (0.9, 0.9)
    fixed = L.RandAugment(num_ops=1, factor=(0, 0), seed=2)
    outputs = [candidate(x, training=True).numpy() for candidate in fixed.candidates]
    for _ in range(8):
        out = fixed(x).numpy()
        assert any(np.allclose(out, candidate, atol=1e-3) for candidate in outputs)
    for bad in (-1, True):
        with pytest.raises(ValueError, match="num_ops must be a non-negative integer"):
            L.RandAugment(num_ops=bad)
    with pytest.raises(ValueError, match="RandAugment interpolation must be one of"):
        L.RandAugment(interpolation="cubic")


def test_a_single_image_keeps_its_label_and_dicts_with_boxes_or_masks_are_refused(rng):
    image, label = rng.uniform(0, 255, (5, 5, 3)).astype(np.float32), np.float32([0, 0, 1, 0])
    for layer in (L.MixUp(seed=0), L.RandomInvert((1, 1))):
        out = layer({"images": image, "labels": label})
        assert out["images"].shape == image.shape
        np.testing.assert_allclose(out["labels"].numpy(), label, atol=1e-6)  # mixed with itself: the same
    for key in ("bounding_boxes", "segmentation_masks"):
        for layer in (L.MixUp(), L.CutMix()):
            for images in (image, image[None]):  # CutMix leaves a single image, but refuses boxes there too
                with pytest.raises(NotImplementedError, match=key):
                    layer({"images": images, key: np.zeros((1, 2, 4))})
    with pytest.raises(ValueError, match="three numbers fills RGB images"):
        L.RandomErasing(fill_value=(1, 2, 3))(np.ones((2, 5, 5, 1), np.float32))


def test_pipeline_defaults_to_training_as_keras_s_and_saves_keras_s_keys(rng):
    x = np.ones((4, 8), np.float32)
    pipeline = L.Pipeline([L.Dropout(0.5, seed=0)])
    assert (pipeline(x).numpy() == 0).any()  # Keras's Pipeline.call defaults to training=True
    np.testing.assert_array_equal(pipeline(x, training=False).numpy(), x)
    assert set(pipeline.get_config()) == {"name", "layers"}  # Keras's Pipeline takes no trainable or dtype


def test_hue_is_keras_s_turned_either_way():
    """Keras turns each image's hue by +f/2 or -f/2 at random: each image is Keras's transform by one of
    them (make_image_augmentation_reference.py)."""
    data = REFERENCE
    x, plus, minus = data["hue_x"], data["hue_plus"], data["hue_minus"]
    seen = set()
    for seed in range(6):
        out = L.RandomHue((0.4, 0.4), seed=seed)(x).numpy()
        for image, p, m in zip(out, plus, minus):
            same = [np.allclose(image, p, atol=1e-3), np.allclose(image, m, atol=1e-3)]
            assert any(same)
            seen.add(same[0])
    assert seen == {True, False}


def test_blur_and_jitter_draw_per_call_and_keep_range(rng):
    x = rng.uniform(0, 255, (8, 6, 6, 3)).astype(np.float32)
    blurred = L.RandomGaussianBlur(factor=(1, 1), kernel_size=5, sigma=(0.2, 0.9), seed=0)
    assert len({blurred(x).numpy().tobytes() for _ in range(4)}) == 4  # sigma drawn anew at each call
    jitter = L.RandomColorJitter(value_range=(0, 255), brightness_factor=0.3, contrast_factor=0.3,
                                 saturation_factor=0.5, hue_factor=0.3, seed=1)
    out = jitter(x).numpy()
    assert out.min() >= 0 and out.max() <= 255 + 1e-3 and not np.allclose(out, x)
    assert not np.allclose(jitter(x).numpy(), out)  # drawn anew at each call
    assert [type(layer).__name__ for layer in jitter.jitters] == ["RandomBrightness", "RandomContrast",
                                                                 "RandomSaturation", "RandomHue"]
    with pytest.raises(ValueError, match="kernel_size must be an odd number"):
        L.RandomGaussianBlur(kernel_size=4)


def test_blur_kernel_size_is_width_then_height_and_channels_first_agrees(rng):
    """Keras's numpy backend: kernel_size[0] is the width. A (3, 1) kernel spreads a dot along its row only."""
    dot = np.zeros((1, 5, 5, 1), np.float32)
    dot[0, 2, 2] = 100
    row = L.RandomGaussianBlur(factor=(1, 1), kernel_size=(3, 1), sigma=(0.5, 0.5))(dot).numpy()[0, ..., 0]
    assert row[2, 1] > 0 and row[2, 3] > 0 and row[1, 2] == 0 and row[3, 2] == 0
    x = rng.uniform(0, 255, (2, 6, 7, 3)).astype(np.float32)
    for make in (lambda fmt: L.RandomGaussianBlur((1, 1), (5, 3), (0.4, 0.9), data_format=fmt, seed=2),
                 lambda fmt: L.RandomHue(0.4, data_format=fmt, seed=2),
                 lambda fmt: L.RandomColorJitter(contrast_factor=0.4, hue_factor=0.3, data_format=fmt, seed=2)):
        last = make("channels_last")(x).numpy()
        first = make("channels_first")(np.moveaxis(x, -1, 1)).numpy()
        np.testing.assert_allclose(np.moveaxis(first, 1, -1), last, rtol=1e-5, atol=1e-3)


def test_hue_and_saturation_need_rgb_and_jitter_draws_from_one_generator(rng):
    for layer in (L.RandomHue(0.3), L.RandomSaturation(0.3)):
        with pytest.raises(ValueError, match="3 channels"):
            layer(rng.uniform(0, 255, (2, 4, 4, 4)).astype(np.float32))
    jitter = L.RandomColorJitter(brightness_factor=0.3, saturation_factor=0.3, seed=5)
    generators = {id(layer._seed_generator) for layer in jitter.jitters}
    assert generators == {id(jitter._seed_generator)}  # not one generator per part seeded alike
    x = rng.uniform(0, 255, (3, 4, 4, 3)).astype(np.float32)
    again = L.RandomColorJitter(brightness_factor=0.3, saturation_factor=0.3, seed=5)
    np.testing.assert_array_equal(jitter(x).numpy(), again(x).numpy())  # a seed still reproduces


class PresetDraws:
    """A generator whose uniform draws are given in advance, in the order a layer asks for them."""

    def __init__(self, *arrays):
        self.arrays = list(arrays)

    def uniform(self, low, high, size=None):
        return self.arrays.pop(0)


def test_perspective_is_keras_s_for_the_same_corner_moves():
    """make_image_augmentation_reference.py: Keras's transform_images with the corners moved by
    perspective_moves; here the same moves are fed to the layer's draws (apply: yes, for both images)."""
    from scratchgrad.random import SeedGenerator

    data = REFERENCE
    layer = L.RandomPerspective(fill_value=7.0)
    layer._seed_generator = SeedGenerator(0)
    layer._seed_generator.generator = PresetDraws(np.zeros(2), np.ones(2), data["perspective_moves"].astype(np.float64))
    np.testing.assert_allclose(layer(data["perspective_x"]).numpy(), data["perspective_y"], atol=1e-3)


def test_perspective_slants_the_share_its_factor_gives_and_scale_0_changes_nothing(rng):
    x = rng.uniform(0, 255, (300, 5, 5, 1)).astype(np.float32)
    slanted = ~np.all(L.RandomPerspective(factor=(0.4, 0.4), seed=3)(x).numpy() == x, axis=(1, 2, 3))
    assert 0.3 < slanted.mean() < 0.5
    np.testing.assert_array_equal(L.RandomPerspective(scale=0.0)(x).numpy(), x)
    with pytest.raises(ValueError, match=r"scale must be a number in \[0, 1\]"):
        L.RandomPerspective(scale=1.5)


def test_a_model_with_seeded_composite_augmentations_saves_and_loads(tmp_path):
    """RandAugment's and RandomColorJitter's parts share the layer's generator, but their configs keep the
    int seed: the model's file is JSON."""
    jitter = L.RandomColorJitter(brightness_factor=0.2, seed=4)
    model = sg.Sequential([sg.Input((8, 8, 3)), L.RandAugment(seed=3), jitter, L.Flatten(), L.Dense(2)])
    model.save(tmp_path / "augmented.keras")
    loaded = sg.models.load_model(tmp_path / "augmented.keras")
    assert [layer.seed for layer in loaded.layers[:2]] == [3, 4]
    assert {part.seed for part in loaded.layers[0].candidates} == {3, None}  # None: AutoContrast, Equalization


class PresetNormals(PresetDraws):
    def standard_normal(self, size):
        return self.arrays.pop(0)


def test_elastic_transform_reads_where_keras_s_blurred_field_moves_each_pixel(rng):
    """The same draws fed to the layer and to Keras's elastic_transform written with SciPy here: a
    zero-padded 2-D convolution of each field with the Gaussian, then bilinear reads (checked where they
    stay inside the image, away from the fill)."""
    signal, ndimage = pytest.importorskip("scipy.signal"), pytest.importorskip("scipy.ndimage")
    from scratchgrad.random import SeedGenerator

    h, w, s = 20, 24, 0.9
    x = rng.uniform(0, 255, (2, h, w, 1)).astype(np.float32)
    fields = [rng.standard_normal((2, h, w)) for _ in range(2)]
    layer = L.RandomElasticTransform(scale=(s, s))
    layer._seed_generator = SeedGenerator(0)
    layer._seed_generator.generator = PresetNormals(np.zeros(2), np.ones(2), s, *fields)
    out = layer(x).numpy()
    alpha, sigma = max(h, w) * 0.1 * s, min(h, w) * 0.05 * s
    size = int(6 * sigma) | 1
    g = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    kernel = np.outer(g / g.sum(), g / g.sum())
    for b in range(2):
        dx, dy = (alpha * signal.convolve2d(np.pad(f[b] * sigma, size // 2), kernel, mode="valid") for f in fields)
        rows, cols = np.mgrid[:h, :w] + np.stack([dy, dx])
        expected = ndimage.map_coordinates(x[b, ..., 0].astype(np.float64), [rows, cols], order=1)
        inside = (rows > 0) & (rows < h - 1) & (cols > 0) & (cols < w - 1)
        assert inside.mean() > 0.5
        np.testing.assert_allclose(out[b, ..., 0][inside], expected[inside], rtol=1e-4, atol=1e-2)


def test_elastic_transform_changes_nothing_at_scale_or_factor_0_and_in_inference(rng):
    x = rng.uniform(0, 255, (4, 10, 10, 1)).astype(np.float32)
    for layer in (L.RandomElasticTransform(scale=0), L.RandomElasticTransform(factor=0)):
        np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(L.RandomElasticTransform()(x, training=False).numpy(), x)
    warped = L.RandomElasticTransform(factor=(1, 1), seed=2)(x).numpy()
    assert not np.allclose(warped, x) and warped.min() >= 0 and warped.max() <= 255


def test_aug_mix_blends_mixed_chains_with_the_images(rng):
    """Chains of depth 0 are the images themselves, whatever the Dirichlet weights: the blend gives them back.
    all_ops=False keeps Keras's seven candidates that leave colour and sharpness; each call draws anew."""
    x = rng.uniform(0, 255, (4, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(L.AugMix(chain_depth=0, seed=0)(x).numpy(), x, rtol=1e-5)
    assert [type(c).__name__ for c in L.AugMix(all_ops=False).candidates] == [
        "RandomShear", "RandomTranslation", "RandomRotation", "RandomPosterization", "Solarization", "AutoContrast",
        "Equalization"]
    layer = L.AugMix(seed=1)
    first, second = layer(x).numpy(), layer(x).numpy()
    assert not np.allclose(first, second) and first.min() >= 0 and first.max() <= 255
    for bad, message in (({"num_chains": 0}, "num_chains must be a positive integer"),
                         ({"chain_depth": -1}, "chain_depth must be a non-negative integer"),
                         ({"alpha": 0}, "alpha must be a positive number")):
        with pytest.raises(ValueError, match=message):
            L.AugMix(**bad)


def clahe_images(rng, n, h, w):
    """Smooth stripes plus noise in 0-255: local contrast for CLAHE to find."""
    base = rng.random((n, h, w, 3))
    return (np.clip(base * 0.4 + 0.3 + 0.2 * np.sin(np.arange(w) / 3)[None, None, :, None], 0, 1) * 255).astype(
        np.float32)


# Keras 3.15.1's outputs (torch backend) for the same images: the sum and four entries of the flattened output.
# Its torch backend counts histograms in integers, so it cuts at the limit rounded down (TensorFlow's and JAX's,
# and ours, at the limit itself): the limits here, clip_limit · tile pixels / 256, are whole numbers.
CLAHE_KERAS = {
    "limit_2": (dict(clip_limit=2.0, tile_grid_size=(2, 3)), "big",
                (1200659.1, [162.1216, 35.73576, 77.67676, 73.1687])),
    "no_clip_unit_range": (dict(clip_limit=0.0, tile_grid_size=(2, 2), value_range=(0, 1)), "small",
                           (1284.50118, [0.575, 0.4091666, 0.225, 0.875])),
    "limit_3_channels_first": (dict(clip_limit=4.0, tile_grid_size=(4, 2), data_format="channels_first"), "first",
                               (1188576.63, [162.6255, 164.559, 73.57465, 53.27677])),
    "limit_6_one_image": (dict(clip_limit=1.0, tile_grid_size=(1, 1)), "one",
                          (606066.117, [87.13779, 115.4486, 91.1822, 73.62009])),
}


@pytest.mark.parametrize("case", sorted(CLAHE_KERAS))
def test_clahe_equals_keras(case):
    rng = np.random.default_rng(21)
    big, small = clahe_images(rng, 2, 32, 48), clahe_images(rng, 2, 19, 23)
    images = {"big": big, "small": small / 255, "first": np.moveaxis(big, -1, 1), "one": big[1]}
    arguments, which, (total, entries) = CLAHE_KERAS[case]
    flat = L.ContrastLimitedAdaptiveHistogramEqualization(**arguments)(images[which]).numpy().astype(np.float64).ravel()
    np.testing.assert_allclose(flat[[0, len(flat) // 3, len(flat) // 2, -1]], entries, rtol=1e-5)
    np.testing.assert_allclose(flat.sum(), total, rtol=1e-7)


def test_clahe_limits_contrast_where_plain_equalization_does_not(rng):
    """A flat image with one bright speck: equalization stretches the speck's tile; with a limit the
    tile's mapping stays near the identity, and a clip_limit of 0 is plain tile-wise equalization."""
    x = np.full((1, 16, 16, 1), 100.0, np.float32)
    x[0, 3, 3, 0] = 110.0
    plain = L.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=0, tile_grid_size=(2, 2))(x).numpy()
    limited = L.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=1.0, tile_grid_size=(2, 2))(x).numpy()
    assert np.abs(limited - x).max() < np.abs(plain - x).max()
    pixels = (x / 2 + 10).astype(np.uint8)  # integers come back in their dtype, truncated, as Keras's
    layer = L.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
    assert layer(pixels).dtype == np.uint8 and layer({"images": pixels})["images"].dtype == np.uint8
    np.testing.assert_array_equal(layer(pixels).numpy(), layer(pixels.astype(np.float32)).numpy().astype(np.uint8))
    for bad, message in (({"tile_grid_size": (0, 2)}, "two positive integers"), ({"clip_limit": "4"}, "a number")):
        with pytest.raises(ValueError, match=message):
            L.ContrastLimitedAdaptiveHistogramEqualization(**bad)


def test_max_num_bounding_boxes_cuts_and_pads_as_keras():
    """Keras 3.15's layer: boxes and labels cut to max_number or padded with fill_value; images untouched."""
    images = np.zeros((2, 8, 8, 3), np.float32)
    boxes = {"boxes": np.arange(40, dtype=np.float32).reshape(2, 5, 4), "labels": np.arange(10).reshape(2, 5)}
    out = L.MaxNumBoundingBoxes(3)({"images": images, "bounding_boxes": boxes, "ids": [7, 8]})
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"].numpy(), boxes["boxes"][:, :3])
    assert out["bounding_boxes"]["labels"].numpy().tolist() == [[0, 1, 2], [5, 6, 7]]
    assert out["bounding_boxes"]["labels"].dtype == np.int64 and out["ids"] == [7, 8]
    padded = L.MaxNumBoundingBoxes(3, fill_value=-2)({"images": images, "bounding_boxes": {
        "boxes": np.ones((2, 1, 4), np.float32), "labels": np.ones((2, 1), np.int32)}})["bounding_boxes"]
    assert padded["boxes"].numpy()[0].tolist() == [[1] * 4, [-2] * 4, [-2] * 4]
    assert padded["labels"].numpy().tolist() == [[1, -2, -2]] * 2 and padded["labels"].dtype == np.int32
    np.testing.assert_array_equal(L.MaxNumBoundingBoxes(3)(images).numpy(), images)
    clone = L.MaxNumBoundingBoxes.from_config(L.MaxNumBoundingBoxes(3, fill_value=-2).get_config())
    assert (clone.max_number, clone.fill_value) == (3, -2)
    with pytest.raises(KeyError, match="unsupported keys in bounding_boxes: \\['scores'\\]"):
        L.MaxNumBoundingBoxes(3)({"images": images, "bounding_boxes": {**boxes, "scores": np.ones((2, 5))}})
    with pytest.raises(ValueError, match="max_number must be a positive integer"):
        L.MaxNumBoundingBoxes(0)
