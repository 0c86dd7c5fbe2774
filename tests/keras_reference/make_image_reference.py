"""Generate Keras 3's outputs of its image layers on fixed inputs, for tests/test_image_layers.py.

Not run in CI: run by hand where Keras 3 and torch are installed; it writes ``image_layers.npz`` next to
itself. The random layers get degenerate factor ranges, which fix the transform, so their outputs are
deterministic. Each output is stored under repr((layer name, keyword arguments)), from which the test
rebuilds the layer; "x" is the input (channels_last; transposed for channels_first cases).

Usage::

    KERAS_BACKEND=torch python make_image_reference.py
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras

# (layer, keyword arguments): the random layers' ranges are single points, which fixes their transform
RESIZES = [
    {}, {"height": 10, "width": 13}, {"height": 4, "width": 4, "crop_to_aspect_ratio": True},
    {"height": 5, "width": 3, "crop_to_aspect_ratio": True}, {"height": 8, "width": 4, "crop_to_aspect_ratio": True},
    {"height": 4, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 0.5},
    {"height": 3, "width": 3, "interpolation": "nearest"}, {"height": 3, "width": 7, "interpolation": "nearest"},
    {"height": 12, "width": 5, "interpolation": "nearest"},
    {"height": 4, "width": 6, "interpolation": "nearest", "crop_to_aspect_ratio": True},
    {"data_format": "channels_first"},
]
AFFINE = [
    ("RandomRotation", {"factor": (0.1, 0.1)}),
    ("RandomRotation", {"factor": (0.25, 0.25)}),
    ("RandomZoom", {"height_factor": (-0.5, -0.5), "width_factor": (0.3, 0.3)}),
    ("RandomZoom", {"height_factor": (0.4, 0.4)}),
    ("RandomTranslation", {"height_factor": (0.2, 0.2), "width_factor": (-0.1, -0.1)}),
]
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def cases():
    yield from (("Resizing", {"height": 3, "width": 4, **kwargs}) for kwargs in RESIZES)
    for name, factors in AFFINE:
        for fill_mode in FILL_MODES:
            for interpolation in INTERPOLATIONS:
                yield name, {**factors, "fill_mode": fill_mode, "interpolation": interpolation, "fill_value": 0.5}
        yield name, {**factors, "data_format": "channels_first"}


def main():
    x = np.random.default_rng(0).standard_normal((2, 6, 9, 2)).astype(np.float32)
    out = {"keras_version": np.array(keras.__version__), "x": x}
    for name, kwargs in cases():
        images = x.transpose(0, 3, 1, 2) if kwargs.get("data_format") == "channels_first" else x
        layer = getattr(keras.layers, name)(**kwargs)
        out[repr((name, kwargs))] = keras.ops.convert_to_numpy(layer(images, training=True))
    np.savez_compressed(Path(__file__).with_name("image_layers.npz"), **out)


if __name__ == "__main__":
    main()
