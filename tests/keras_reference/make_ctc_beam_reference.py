"""Generate Keras 3's beam-search CTC decoding (keras.ops.ctc_decode(strategy="beam_search")), for
tests/test_ctc.py.

Not run in CI: run by hand where Keras 3 is installed; it writes ``ctc_beam.npz`` next to itself. The NumPy
backend (its beam search is the JAX backend's, written in NumPy). Case k's ``{k}_logits``, ``{k}_lengths``
and ``{k}_options`` (beam_width, top_paths, mask_index; -1 for None) are the inputs, ``{k}_decoded`` and
``{k}_log_probs`` Keras's outputs.

Usage::

    KERAS_BACKEND=numpy python make_ctc_beam_reference.py
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "numpy")

import keras  # noqa: E402

CASES = [  # (batch, steps, classes, lengths, beam_width, top_paths, mask_index)
    (3, 10, 5, [10, 7, 1], 8, 3, 0),
    (2, 12, 4, [12, 9], 3, 2, 0),  # a beam narrower than the classes
    (2, 8, 6, [8, 8], 20, 4, None),  # the last class is the blank
    (2, 6, 3, [6, 4], 2, 2, 1),
    (1, 5, 2, [5], 10, 3, 0),  # fewer distinct label sequences than asked for
]


def main():
    rng = np.random.default_rng(0)
    out = {"keras_version": np.array(keras.__version__)}
    for k, (n, steps, classes, lengths, beam_width, top_paths, mask_index) in enumerate(CASES):
        logits = (rng.standard_normal((n, steps, classes)) * 2).astype("float32")
        lengths = np.array(lengths, "int32")
        decoded, log_probs = keras.ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=beam_width,
                                                  top_paths=top_paths, mask_index=mask_index)
        out.update({f"{k}_logits": logits, f"{k}_lengths": lengths,
                    f"{k}_options": np.array([beam_width, top_paths, -1 if mask_index is None else mask_index]),
                    f"{k}_decoded": np.asarray(decoded), f"{k}_log_probs": np.asarray(log_probs)})
    np.savez_compressed(Path(__file__).with_name("ctc_beam.npz"), **out)


if __name__ == "__main__":
    main()
