"""Generate Keras 3.15's adaptive pooling outputs (AdaptiveAverage/MaxPooling1D/2D/3D) on fixed inputs, for
tests/test_conv3d.py.

Not run in CI: run by hand where Keras 3 is installed; it writes ``adaptive_pooling.npz`` next to itself.
Case i is ``cases[i]``, the repr of (layer class name, input shape without the batch axis, keyword arguments);
``{i}_x`` is its input and ``{i}_y`` Keras's output.

Usage::

    KERAS_BACKEND=torch python make_adaptive_pooling_reference.py
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402

CASES = [
    ("AdaptiveAveragePooling1D", (10, 3), {"output_size": 4}),
    ("AdaptiveMaxPooling1D", (7, 2), {"output_size": 3}),
    ("AdaptiveAveragePooling2D", (7, 9, 2), {"output_size": (3, 4)}),
    ("AdaptiveMaxPooling2D", (8, 5, 3), {"output_size": 2}),
    ("AdaptiveAveragePooling2D", (2, 7, 6), {"output_size": (4, 5), "data_format": "channels_first"}),
    ("AdaptiveMaxPooling2D", (5, 6, 2), {"output_size": (5, 6)}),
    ("AdaptiveAveragePooling3D", (5, 6, 7, 2), {"output_size": (2, 3, 2)}),
    ("AdaptiveMaxPooling3D", (4, 5, 6, 1), {"output_size": 3}),
]


def main():
    rng = np.random.default_rng(0)
    out = {"keras_version": np.array(keras.__version__), "cases": np.array([repr(case) for case in CASES])}
    for i, (name, shape, kwargs) in enumerate(CASES):
        x = rng.standard_normal((2,) + shape).astype(np.float32)
        out[f"{i}_x"] = x
        out[f"{i}_y"] = keras.ops.convert_to_numpy(getattr(keras.layers, name)(**kwargs)(x))
    np.savez_compressed(Path(__file__).with_name("adaptive_pooling.npz"), **out)


if __name__ == "__main__":
    main()
