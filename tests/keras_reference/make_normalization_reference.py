"""Generate Keras 3's outputs and gradients of GroupNormalization, RMSNormalization and UnitNormalization
on fixed inputs and weights, for tests/test_normalization_layers.py.

Not run in CI: run by hand where Keras 3 and torch are installed; it writes ``normalization_layers.npz``
next to itself. Each case is stored under repr((layer name, keyword arguments)) + "/y", "/dx" (the
gradient of sum(y·w) with respect to x) and "/d<weight>" for each weight; "x" and "w" are the inputs
(channels last), "<case>/<weight>" the weights the layer was given.

Usage::

    KERAS_BACKEND=torch python make_normalization_reference.py
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import torch

CASES = [
    ("GroupNormalization", {"groups": 2}),
    ("GroupNormalization", {"groups": 3, "epsilon": 0.1}),
    ("GroupNormalization", {"groups": -1, "center": False}),
    ("GroupNormalization", {"groups": 1, "scale": False}),
    ("GroupNormalization", {"groups": 3, "axis": 1}),
    ("RMSNormalization", {}),
    ("RMSNormalization", {"axis": [2, 3], "epsilon": 0.01}),
    ("UnitNormalization", {}),
    ("UnitNormalization", {"axis": [1, 2]}),
]


def main():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 3, 4, 6)) * 2 + 0.5).astype(np.float32)
    x[1, 0, 0] = 0  # a zero row: where UnitNormalization's floor on the norm acts
    w = rng.standard_normal(x.shape).astype(np.float32)
    out = {"keras_version": np.array(keras.__version__), "x": x, "w": w}
    for name, kwargs in CASES:
        key = repr((name, kwargs))
        layer = getattr(keras.layers, name)(**kwargs)
        layer.build(x.shape)
        for weight in layer.weights:
            value = rng.uniform(0.5, 1.5, weight.shape).astype(np.float32)
            weight.assign(value)
            out[f"{key}/{weight.name}"] = value
        inputs = torch.tensor(x, requires_grad=True)
        y = layer(inputs)
        (y * torch.tensor(w)).sum().backward()
        out[f"{key}/y"] = y.detach().numpy()
        out[f"{key}/dx"] = inputs.grad.numpy()
        for weight in layer.weights:
            out[f"{key}/d{weight.name}"] = weight.value.grad.numpy()
    np.savez_compressed(Path(__file__).with_name("normalization_layers.npz"), **out)


if __name__ == "__main__":
    main()
