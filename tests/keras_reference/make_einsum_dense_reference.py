"""Generate Keras 3's EinsumDense (kernel and bias shapes, output shapes, outputs for given weights, the
kernel axes of the initializer's fans) for tests/test_einsum_dense.py.

Not run in CI: run by hand where Keras 3 and torch are installed; it writes ``einsum_dense.npz`` next to
itself: for case i, ``{i}/x``, ``{i}/kernel``, ``{i}/bias`` (when it has one), ``{i}/y``, and ``cases`` (JSON:
the arguments, input shape, Keras's kernel, bias and computed output shapes, the kernel axes its
initializer takes the fans along, and the config).

Usage::

    KERAS_BACKEND=torch python make_einsum_dense_reference.py
"""
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
from keras.src.layers.core.einsum_dense import _analyze_einsum_string

CASES = [
    ({"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, (3, 5)),
    ({"equation": "abc,cd->abd", "output_shape": (None, 5), "bias_axes": "d", "activation": "tanh"}, (2, 4, 3)),
    ({"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de"}, (2, 4, 6)),
    ({"equation": "abc,cde->abde", "output_shape": (4, 2, 3), "bias_axes": "e"}, (2, 4, 6)),
    ({"equation": "...b,bc->...c", "output_shape": 6, "bias_axes": "c"}, (2, 3, 4, 5)),
    ({"equation": "ab...,bc->ac...", "output_shape": 4, "bias_axes": "c"}, (2, 5, 3)),
    ({"equation": "abcd,cde->abe", "output_shape": (None, 7)}, (2, 3, 4, 5)),
    ({"equation": "abde,deg->abg", "output_shape": (None, 8), "bias_axes": "g"}, (2, 3, 4, 5)),
]


def main():
    rng = np.random.default_rng(0)
    arrays, cases = {}, []
    for i, (kwargs, shape) in enumerate(CASES):
        layer = keras.layers.EinsumDense(**kwargs)
        layer.build(shape)
        kernel = rng.standard_normal(layer.kernel.shape).astype("float32")
        weights = [kernel]
        if layer.bias is not None:
            weights.append(rng.standard_normal(layer.bias.shape).astype("float32"))
            arrays[f"{i}/bias"] = weights[1]
        layer.set_weights(weights)
        x = rng.standard_normal(shape).astype("float32")
        arrays[f"{i}/x"], arrays[f"{i}/kernel"] = x, kernel
        arrays[f"{i}/y"] = keras.ops.convert_to_numpy(layer(x))
        axes = _analyze_einsum_string(kwargs["equation"], kwargs.get("bias_axes"), shape, kwargs["output_shape"])[3:]
        cases.append({"kwargs": kwargs, "input_shape": shape, "kernel_shape": list(layer.kernel.shape),
                      "kernel_input_axes": axes[0], "kernel_output_axes": axes[1],
                      "bias_shape": None if layer.bias is None else list(layer.bias.shape),
                      "output_shape": list(keras.layers.EinsumDense(**kwargs).compute_output_shape(
                          (None,) + shape[1:])),  # a fresh layer's: a called one answers otherwise
                      "config": {k: v for k, v in layer.get_config().items() if k not in ("name", "dtype")}})
    arrays["cases"] = np.array(json.dumps(cases, default=str))
    np.savez_compressed(Path(__file__).with_name("einsum_dense.npz"), **arrays)
    print(f"wrote einsum_dense.npz: {len(cases)} cases")


if __name__ == "__main__":
    main()
