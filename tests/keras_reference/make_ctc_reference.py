"""Generate Keras 3's CTC numbers (keras.losses.CTC, keras.ops.ctc_loss with lengths, keras.ops.ctc_decode
greedy) and the loss's gradient with respect to the logits, for tests/test_ctc.py.

Not run in CI: run by hand where Keras 3 and torch are installed; it writes ``ctc.npz`` next to itself.

Usage::

    KERAS_BACKEND=torch python make_ctc_reference.py
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import torch


def main():
    rng = np.random.default_rng(0)
    n, steps, classes = 5, 12, 6
    logits = rng.standard_normal((n, steps, classes)).astype("float32") * 2
    labels = np.zeros((n, 5), "int64")  # 0 is the blank, which also pads
    for i, length in enumerate([5, 3, 0, 4, 2]):
        labels[i, :length] = rng.integers(1, classes, length)
    labels[1, 1] = labels[1, 0]  # a repeated label: the path needs a blank between
    per_sample = keras.losses.CTC(reduction=None)(labels, logits)
    x = torch.tensor(logits, requires_grad=True)
    keras.losses.CTC()(torch.tensor(labels), x).backward()
    label_lengths, logit_lengths = np.array([5, 2, 0, 3, 2]), np.array([12, 9, 12, 7, 3])
    with_lengths = keras.ops.ctc_loss(labels, logits, label_lengths, logit_lengths)
    decoded, scores = keras.ops.ctc_decode(logits, logit_lengths)
    np.savez_compressed(Path(__file__).with_name("ctc.npz"), logits=logits, labels=labels,
                        per_sample=np.asarray(per_sample), mean_gradient=x.grad.numpy(),
                        label_lengths=label_lengths, logit_lengths=logit_lengths, with_lengths=np.asarray(with_lengths),
                        decoded=np.asarray(decoded), scores=np.asarray(scores))
    print("wrote ctc.npz")


if __name__ == "__main__":
    main()
