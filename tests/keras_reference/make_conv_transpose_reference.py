"""Generate Keras 3's outputs of Conv1DTranspose and Conv2DTranspose with and without `output_padding`,
for tests/test_more_layers.py.

Not run in CI: run by hand where Keras 3 and torch are installed; it writes ``conv_transpose.npz`` next to
itself: "x" (batch, 5, 4, 3) the input (x[:, :, 0] for the 1-D layer), and for each case, stored under
repr((class name, positional arguments)), "/y" the output, "/kernel" and "/bias" the weights it had.

Usage::

    KERAS_BACKEND=torch python make_conv_transpose_reference.py
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras

CASES = [(2, 3, 2, "same", None), (2, 3, 2, "same", 1), (2, 3, 2, "valid", 1), (2, 4, 3, "same", 2),
         (2, 4, 2, "same", 1), (2, 2, 2, "valid", 0), (2, 5, 3, "same", (1, 2)), (2, 3, 1, "valid", 0)]


def main():
    x = np.random.default_rng(0).standard_normal((2, 5, 4, 3)).astype(np.float32)
    out = {"keras_version": np.array(keras.__version__), "x": x}
    for args in CASES:
        for cls, inputs in ((keras.layers.Conv2DTranspose, x), (keras.layers.Conv1DTranspose, x[:, :, 0])):
            if isinstance(args[-1], tuple) and cls is keras.layers.Conv1DTranspose:
                continue
            layer = cls(*args, bias_initializer="random_normal")
            key = repr((cls.__name__, args))
            out[f"{key}/y"] = keras.ops.convert_to_numpy(layer(inputs))
            out[f"{key}/kernel"] = keras.ops.convert_to_numpy(layer.kernel)
            out[f"{key}/bias"] = keras.ops.convert_to_numpy(layer.bias)
    np.savez_compressed(Path(__file__).with_name("conv_transpose.npz"), **out)


if __name__ == "__main__":
    main()
