"""Generate Keras 3's outputs of its 1-D convolution, pooling and reshaping layers on fixed inputs and
weights, for tests/test_conv1d.py.

Not run in CI: run by hand where Keras 3 and torch are installed; it writes ``conv1d_layers.npz`` next to
itself. Case i is ``cases[i]``, the repr of (layer class name, input shape without the batch axis,
keyword arguments), which the test rebuilds the layer from; ``{i}_x`` is its input, ``{i}_w{j}`` its
j-th weight (Keras's order and layout, set with set_weights), ``{i}_y`` Keras's output, ``{i}_shape``
Keras's compute_output_shape and ``{i}_params`` its parameter count.

No case pads an average pooling unevenly by more than one step: there Keras's torch backend fills the
padding with copies of the edge steps and averages them in, where its TensorFlow and JAX backends (and
scratchgrad) average the real steps only (see test_conv1d.py).

Usage::

    KERAS_BACKEND=torch python make_conv1d_reference.py
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402

CF = {"data_format": "channels_first"}
CASES = [
    ("Conv1D", (9, 3), {"filters": 4, "kernel_size": 3}),
    ("Conv1D", (9, 3), {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ("Conv1D", (10, 3), {"filters": 2, "kernel_size": 3, "strides": 3, "padding": "same"}),
    ("Conv1D", (7, 2), {"filters": 3, "kernel_size": 4, "padding": "same"}),
    ("Conv1D", (11, 2), {"filters": 3, "kernel_size": 3, "strides": 2}),
    ("Conv1D", (9, 2), {"filters": 3, "kernel_size": 3, "dilation_rate": 2}),
    ("Conv1D", (9, 2), {"filters": 3, "kernel_size": 2, "dilation_rate": 3, "padding": "same"}),
    ("Conv1D", (8, 2), {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"}),
    ("Conv1D", (9, 2), {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "causal"}),
    ("Conv1D", (7, 4), {"filters": 6, "kernel_size": 3, "groups": 2, "padding": "same"}),
    ("Conv1D", (3, 9), {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", **CF}),
    ("Conv1D", (2, 7), {"filters": 3, "kernel_size": 3, "padding": "causal", **CF}),
    ("Conv1D", (6, 3), {"filters": 2, "kernel_size": 1, "use_bias": False, "activation": "relu"}),
    ("DepthwiseConv1D", (7, 2), {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}),
    ("DepthwiseConv1D", (9, 3), {"kernel_size": 3, "strides": 2}),
    ("DepthwiseConv1D", (9, 2), {"kernel_size": 3, "dilation_rate": 2, "depth_multiplier": 3}),
    ("DepthwiseConv1D", (2, 8), {"kernel_size": 2, "padding": "same", **CF}),
    ("SeparableConv1D", (9, 3), {"filters": 5, "kernel_size": 3, "depth_multiplier": 2}),
    ("SeparableConv1D", (9, 2), {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same",
                                 "activation": "tanh"}),
    ("SeparableConv1D", (9, 2), {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}),
    ("Conv1DTranspose", (5, 3), {"filters": 4, "kernel_size": 3}),
    ("Conv1DTranspose", (5, 3), {"filters": 2, "kernel_size": 3, "strides": 2}),
    ("Conv1DTranspose", (5, 3), {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ("Conv1DTranspose", (5, 2), {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"}),
    ("Conv1DTranspose", (4, 2), {"filters": 2, "kernel_size": 2, "strides": 3}),
    ("Conv1DTranspose", (5, 2), {"filters": 2, "kernel_size": 3, "dilation_rate": 2}),
    ("Conv1DTranspose", (3, 5), {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", **CF}),
    ("MaxPooling1D", (9, 3), {}),
    ("MaxPooling1D", (9, 3), {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("MaxPooling1D", (7, 2), {"pool_size": 2, "padding": "same"}),
    ("MaxPooling1D", (3, 8), {"pool_size": 3, "strides": 1, **CF}),
    ("AveragePooling1D", (9, 3), {"pool_size": 2}),
    ("AveragePooling1D", (9, 3), {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("AveragePooling1D", (7, 2), {"pool_size": 2, "padding": "same"}),
    ("AveragePooling1D", (3, 8), {"pool_size": 2, "strides": 3, **CF}),
    ("UpSampling1D", (4, 3), {"size": 3}),
    ("UpSampling1D", (4, 2), {}),
    ("ZeroPadding1D", (4, 3), {"padding": (1, 2)}),
    ("ZeroPadding1D", (4, 3), {}),
    ("ZeroPadding1D", (3, 4), {"padding": 2, **CF}),
    ("Cropping1D", (6, 3), {"cropping": (2, 1)}),
    ("Cropping1D", (6, 3), {}),
]


def case_layer(name, shape, kwargs, rng, i, out):
    """The case's Keras layer with weights drawn from rng after its input (a batch of 2 of `shape`); the input
    and weights go into `out` as case i's. Returns the layer and its input."""
    layer = getattr(keras.layers, name)(**kwargs)
    x = rng.standard_normal((2,) + shape).astype(np.float32)
    layer.build((None,) + shape)
    weights = [0.5 * rng.standard_normal(tuple(w.shape)).astype(np.float32) for w in layer.weights]
    layer.set_weights(weights)
    out[f"{i}_x"] = x
    out.update({f"{i}_w{j}": w for j, w in enumerate(weights)})
    return layer, x


def write(cases, filename):
    """Run each case's layer on a fixed input with fixed weights; save it all to `filename` beside this file."""
    rng = np.random.default_rng(0)
    out = {"keras_version": np.array(keras.__version__), "cases": np.array([repr(case) for case in cases])}
    for i, (name, shape, kwargs) in enumerate(cases):
        layer, x = case_layer(name, shape, kwargs, rng, i, out)
        out[f"{i}_y"] = keras.ops.convert_to_numpy(layer(x))
        out[f"{i}_shape"] = np.array([-1 if d is None else d for d in layer.compute_output_shape((None,) + shape)])
        out[f"{i}_params"] = np.array(layer.count_params())
    np.savez_compressed(Path(__file__).with_name(filename), **out)


if __name__ == "__main__":
    write(CASES, "conv1d_layers.npz")
