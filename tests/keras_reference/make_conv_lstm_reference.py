"""Generate Keras 3's outputs of ConvLSTM1D/2D/3D on fixed inputs and weights, for tests/test_conv_lstm.py.

Not run in CI: run by hand where Keras 3 and torch are installed; it writes ``conv_lstm.npz`` next to
itself. Case i is ``cases[i]``, the repr of (layer class name, input shape without the batch axis, keyword
arguments); ``{i}_x`` is its input, ``{i}_w{j}`` its j-th weight (Keras's order and layout), ``{i}_y{k}`` its
k-th output (several with return_state; a case with "mask" in its arguments is called with that mask of
real steps), ``{i}_shape`` Keras's compute_output_shape of the first output and
``{i}_params`` its parameter count.

Usage::

    KERAS_BACKEND=torch python make_conv_lstm_reference.py
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from make_conv1d_reference import case_layer  # noqa: E402

CF = {"data_format": "channels_first"}
CASES = [
    ("ConvLSTM2D", (4, 6, 6, 2), {"filters": 3, "kernel_size": 2}),
    ("ConvLSTM2D", (3, 5, 6, 2), {"filters": 2, "kernel_size": 3, "padding": "same", "return_sequences": True}),
    ("ConvLSTM2D", (3, 7, 6, 2), {"filters": 2, "kernel_size": (3, 2), "strides": 2, "return_state": True}),
    ("ConvLSTM2D", (3, 7, 7, 1), {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "go_backwards": True,
                                  "return_sequences": True}),
    ("ConvLSTM2D", (3, 2, 5, 5), {"filters": 2, "kernel_size": 3, "padding": "same", "return_state": True, **CF}),
    ("ConvLSTM2D", (3, 5, 5, 2), {"filters": 2, "kernel_size": 2, "use_bias": False, "activation": "relu",
                                  "recurrent_activation": "hard_sigmoid"}),
    ("ConvLSTM1D", (4, 7, 3), {"filters": 2, "kernel_size": 3, "return_sequences": True}),
    ("ConvLSTM1D", (3, 8, 2), {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same"}),
    ("ConvLSTM3D", (3, 4, 4, 4, 2), {"filters": 2, "kernel_size": 2}),
    ("ConvLSTM3D", (2, 3, 4, 5, 1), {"filters": 2, "kernel_size": (2, 3, 2), "padding": "same",
                                     "return_sequences": True}),
    ("ConvLSTM3D", (3, 2, 5, 4, 6), {"filters": 2, "kernel_size": 2, "dilation_rate": (2, 1, 1), "padding": "same",
                                     **CF}),
    ("ConvLSTM1D", (3, 2, 7), {"filters": 2, "kernel_size": 3, "go_backwards": True, "return_state": True, **CF}),
    ("ConvLSTM2D", (5, 5, 4, 2), {"filters": 2, "kernel_size": 2, "strides": (2, 1), "padding": "same",
                                  "unit_forget_bias": False, "return_sequences": True, "mask": [[1, 1, 0, 1, 0],
                                                                                                [1, 1, 1, 1, 1]]}),
    ("ConvLSTM2D", (4, 5, 4, 2), {"filters": 2, "kernel_size": 2, "go_backwards": True, "return_state": True,
                                  "zero_output_for_mask": True, "mask": [[1, 0, 1, 0], [0, 1, 1, 1]]}),
    ("ConvLSTM2D", (4, 5, 4, 2), {"filters": 2, "kernel_size": 2, "return_sequences": True,
                                  "zero_output_for_mask": True, "mask": [[1, 1, 0, 0], [1, 1, 1, 1]]}),
]


def main():
    rng = np.random.default_rng(0)
    out = {"keras_version": np.array(keras.__version__), "cases": np.array([repr(case) for case in CASES])}
    for i, (name, shape, kwargs) in enumerate(CASES):
        kwargs = dict(kwargs)
        mask = kwargs.pop("mask", None)  # a call argument: (batch, steps) of real steps
        layer, x = case_layer(name, shape, kwargs, rng, i, out)
        ys = layer(x) if mask is None else layer(x, mask=np.array(mask, bool))
        for k, y in enumerate(ys if isinstance(ys, (list, tuple)) else [ys]):
            out[f"{i}_y{k}"] = keras.ops.convert_to_numpy(y)
        shape_out = layer.compute_output_shape((None,) + shape)
        first = shape_out[0] if isinstance(shape_out[0], tuple) else shape_out
        out[f"{i}_shape"] = np.array([-1 if d is None else d for d in first])
        out[f"{i}_params"] = np.array(layer.count_params())
    np.savez_compressed(Path(__file__).with_name("conv_lstm.npz"), **out)


if __name__ == "__main__":
    main()
