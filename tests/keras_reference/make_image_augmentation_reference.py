"""Generate Keras 3.15's outputs of its value-changing image augmentations where they draw nothing that
matters (a factor pinned to one value, a probability of 1), on fixed inputs, and the serialized form of
each augmentation layer, for tests/test_image_augmentation.py.

Not run in CI: run by hand where Keras 3 is installed; it writes ``image_augmentation.npz`` and
``image_augmentation_configs.json`` next to itself. Case i is ``cases[i]``, the repr of (layer class name,
input shape with the batch axis, value range of the input, keyword arguments); ``{i}_x`` is its input and
``{i}_y`` Keras's output (training=True, the default). ``shear_plus`` / ``shear_minus`` are RandomShear's
transform of ``shear_x`` by SHEAR and by -SHEAR (Keras negates both shears for a random half of the images);
``hue_plus`` / ``hue_minus`` RandomHue's of ``hue_x`` turned by +HUE/2 and -HUE/2; ``perspective_y`` is
RandomPerspective's of ``perspective_x`` with its corners moved by ``perspective_moves``.

Usage::

    KERAS_BACKEND=torch python make_image_augmentation_reference.py
"""
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402

CASES = [
    ("AutoContrast", (3, 5, 6, 3), (0, 255), {}),
    ("AutoContrast", (2, 4, 5, 1), (0, 1), {"value_range": (0, 1)}),
    ("RandomGrayscale", (2, 4, 5, 3), (0, 255), {"factor": 1.0}),
    ("RandomGrayscale", (2, 3, 4, 5), (0, 255), {"factor": 1.0, "data_format": "channels_first"}),
    ("RandomInvert", (2, 4, 5, 3), (0, 255), {"factor": (1.0, 1.0)}),
    ("RandomInvert", (2, 4, 5, 3), (0, 1), {"factor": (1.0, 1.0), "value_range": (0, 1)}),
    ("Solarization", (2, 4, 5, 3), (0, 255), {}),
    ("Solarization", (2, 4, 5, 3), (-1, 1), {"value_range": (-1, 1)}),
    ("RandomPosterization", (2, 4, 5, 3), (0, 255), {"factor": (3, 3)}),
    ("RandomPosterization", (2, 4, 5, 3), (0, 1), {"factor": (5, 5), "value_range": (0, 1)}),
    ("RandomColorDegeneration", (2, 4, 5, 3), (0, 255), {"factor": (0.4, 0.4)}),
    ("RandomColorDegeneration", (2, 4, 5, 3), (0, 255), {"factor": (-0.7, -0.7)}),
    ("RandomErasing", (2, 4, 5, 3), (0, 255), {"factor": (1.0, 1.0), "scale": (1.0, 1.0), "fill_value": 17.0}),
    ("RandomSharpness", (2, 5, 6, 3), (0, 255), {"factor": (0.1, 0.1)}),
    ("RandomSharpness", (2, 3, 5, 6), (0, 1), {"factor": (0.9, 0.9), "value_range": (0, 1),
                                               "data_format": "channels_first"}),
    ("Equalization", (3, 6, 7, 2), (0, 255), {}),
    ("Equalization", (2, 5, 6, 3), (0, 1), {"value_range": (0, 1), "bins": 64}),
    ("RandomSaturation", (2, 4, 5, 3), (0, 255), {"factor": (0.3, 0.3)}),
    ("RandomSaturation", (2, 4, 5, 3), (0, 255), {"factor": (0.8, 0.8)}),
    ("RandomSaturation", (2, 3, 4, 5), (0, 1), {"factor": (-0.4, -0.4), "value_range": (0, 1),
                                               "data_format": "channels_first"}),
    ("RandomGaussianBlur", (2, 6, 7, 2), (0, 255), {"factor": (1.0, 1.0), "sigma": (0.5, 0.5)}),
    ("RandomGaussianBlur", (2, 7, 6, 2), (0, 255), {"factor": (1.0, 1.0), "kernel_size": 5, "sigma": (0.8, 0.8)}),
    ("RandomColorJitter", (2, 4, 5, 3), (0, 255), {"brightness_factor": (0.1, 0.1), "saturation_factor": (0.3, 0.3)}),
]
HUE = 0.4  # RandomHue's turn, f/2 of the circle with each sign, through Keras's transform_images
SHEAR = (0.3, 0.2)  # RandomShear's x and y shear, applied with each sign through Keras's transform_images


def main():
    rng = np.random.default_rng(0)
    out = {"keras_version": np.array(keras.__version__), "cases": np.array([repr(case) for case in CASES])}
    for i, (name, shape, (low, high), kwargs) in enumerate(CASES):
        x = rng.uniform(low, high, shape).astype(np.float32)
        if name == "AutoContrast":
            x[0, ..., 0] = (low + high) / 2  # a flat channel: Keras leaves it as it is
        out[f"{i}_x"] = x
        out[f"{i}_y"] = keras.ops.convert_to_numpy(getattr(keras.layers, name)(**kwargs)(x))
    x = rng.uniform(0, 255, (2, 6, 7, 2)).astype(np.float32)
    shear = keras.layers.RandomShear(*SHEAR)
    out["shear_x"] = x
    for sign, key in ((1, "shear_plus"), (-1, "shear_minus")):
        factors = np.tile(np.float32(SHEAR) * sign, (2, 1))
        out[key] = keras.ops.convert_to_numpy(shear.transform_images(x, {"shear_factor": factors}))
    x = rng.uniform(0, 255, (2, 7, 9, 2)).astype(np.float32)
    moves = rng.uniform(-0.3, 0.3, (2, 4, 2)).astype(np.float32)  # each corner coordinate's move, a fraction
    corners = np.float32([[[0, 0], [8, 0], [0, 6], [8, 6]]] * 2)
    perspective = {"apply_perspective": np.array([True, True]), "start_points": corners,
                   "end_points": corners + corners * moves, "input_shape": x.shape}
    out["perspective_x"], out["perspective_moves"] = x, moves
    out["perspective_y"] = keras.ops.convert_to_numpy(
        keras.layers.RandomPerspective(fill_value=7.0).transform_images(x, perspective))
    x = rng.uniform(0, 255, (2, 5, 6, 3)).astype(np.float32)
    hue = keras.layers.RandomHue(HUE)
    out["hue_x"] = x
    for sign, key in ((1, "hue_plus"), (-1, "hue_minus")):
        out[key] = keras.ops.convert_to_numpy(hue.transform_images(x, {"factor": np.full(2, sign * HUE / 2)}))
    np.savez_compressed(Path(__file__).with_name("image_augmentation.npz"), **out)
    layers = [keras.layers.RandomGrayscale(0.3), keras.layers.RandomInvert(0.6, value_range=(0, 1)),
              keras.layers.Solarization(0.2, (0.3, 0.5)), keras.layers.AutoContrast(value_range=(-1, 1)),
              keras.layers.RandomPosterization((2, 6)), keras.layers.RandomColorDegeneration(0.4),
              keras.layers.RandomErasing(0.5, scale=(0.1, 0.2), fill_value=3.0), keras.layers.MixUp(0.4),
              keras.layers.CutMix((0.3, 0.8)), keras.layers.RandomShear(0.2, (0.1, 0.3)),
              keras.layers.RandomSharpness(0.4), keras.layers.Equalization(bins=64),
              keras.layers.RandAugment(num_ops=3, factor=0.3), keras.layers.RandomSaturation(0.4),
              keras.layers.RandomHue((0.1, 0.3)), keras.layers.RandomGaussianBlur(0.5, (5, 3), (0.2, 0.7)),
              keras.layers.RandomColorJitter(brightness_factor=0.2, hue_factor=0.1),
              keras.layers.RandomPerspective(0.7, 0.4, fill_value=2.0),
              keras.layers.RandomElasticTransform(0.6, (0.2, 0.8), fill_mode="nearest", value_range=(0, 1)),
              keras.layers.AugMix(num_chains=2, chain_depth=4, factor=0.4, alpha=0.5, all_ops=False),
              keras.layers.Pipeline([keras.layers.RandomInvert(), keras.layers.MixUp()])]
    configs = [keras.saving.serialize_keras_object(layer) for layer in layers]
    Path(__file__).with_name("image_augmentation_configs.json").write_text(json.dumps(configs, indent=1) + "\n")


if __name__ == "__main__":
    main()
