"""Generate Keras 3's Circle loss (values, with options, weights and a class with no partner, and the gradient
with respect to the embeddings) for tests/test_keras_reference.py.

Not run in CI: run by hand where Keras 3 and torch are installed; it writes ``circle.npz`` next to itself.

Usage::

    KERAS_BACKEND=torch python make_circle_reference.py
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import torch

CASES = {"defaults": {}, "options": {"gamma": 10.0, "margin": 0.25}, "diagonal": {"remove_diagonal": False}}


def main():
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((8, 4)).astype("float32")
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    labels = np.array([0, 1, 0, 2, 1, 0, 3, 2])  # class 3 has one sample: no positive pair
    weights = np.linspace(0.5, 2.0, 8).astype("float32")
    out = {"embeddings": embeddings, "labels": labels, "weights": weights}
    for case, options in CASES.items():
        x = torch.tensor(embeddings, requires_grad=True)
        loss = keras.losses.Circle(**options)
        value = loss(labels, x)
        value.backward()
        out[f"{case}/value"], out[f"{case}/grad"] = value.detach().numpy(), x.grad.numpy()
        out[f"{case}/per_sample"] = np.asarray(keras.losses.Circle(reduction=None, **options)(labels, embeddings))
        out[f"{case}/weighted"] = np.asarray(loss(labels, embeddings, sample_weight=weights))
    np.savez_compressed(Path(__file__).with_name("circle.npz"), **out)
    print("wrote circle.npz")


if __name__ == "__main__":
    main()
