"""Generate Keras 3's outputs of its sequence layers (Embedding, SimpleRNN, LSTM, GRU, Bidirectional,
TimeDistributed, Masking) on fixed inputs, for tests/test_sequences.py.

Not run in CI: run by hand where Keras 3 and torch are installed; it writes ``sequence_layers.npz``
next to itself. Each case is a small Sequential model of Keras layers with random weights; the file
stores, under the case's name, the model's weights ("<name>/w0", "<name>/w1", ...), its input
("<name>/x") and every output ("<name>/y0", ...). The test builds the same model from scratchgrad's
layers (the CASES table in the test mirrors the one here), sets Keras's weights and compares.

Usage::

    KERAS_BACKEND=torch python make_sequence_reference.py
"""
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
from keras import layers as L

STEPS, FEATURES = 6, 3


def padded_ids(rng):
    """Integer sequences with trailing (and one leading) zeros: padding that Embedding(mask_zero) masks."""
    ids = rng.integers(1, 10, size=(4, STEPS))
    ids[0, 4:] = 0
    ids[1, 2:] = 0
    ids[3, :2] = 0
    return ids


def features(rng):
    x = rng.normal(size=(4, STEPS, FEATURES)).astype("float32")
    x[1, 3:] = 0.0  # padding that Masking() masks
    return x


# name -> (input maker, layer makers): the test mirrors this table with scratchgrad's layers
CASES = {
    "simple_rnn": (features, lambda: [L.SimpleRNN(4)]),
    "simple_rnn_relu_seq": (features, lambda: [L.SimpleRNN(4, activation="relu", return_sequences=True)]),
    "lstm": (features, lambda: [L.LSTM(5)]),
    "lstm_seq_state": (features, lambda: [L.LSTM(5, return_sequences=True, return_state=True)]),
    "lstm_backwards_seq": (features, lambda: [L.LSTM(5, go_backwards=True, return_sequences=True)]),
    "gru": (features, lambda: [L.GRU(4)]),
    "gru_before_seq_state": (features, lambda: [L.GRU(4, reset_after=False, return_sequences=True,
                                                         return_state=True)]),
    "masking_lstm": (features, lambda: [L.Masking(), L.LSTM(5, return_sequences=True)]),
    "masking_gru_last": (features, lambda: [L.Masking(), L.GRU(4, go_backwards=True)]),
    "embedding": (padded_ids, lambda: [L.Embedding(10, 3)]),
    "embedding_mask_rnn": (padded_ids, lambda: [L.Embedding(10, 3, mask_zero=True), L.SimpleRNN(4)]),
    "embedding_mask_lstm_stack": (padded_ids, lambda: [L.Embedding(10, 3, mask_zero=True),
                                                       L.LSTM(5, return_sequences=True), L.LSTM(4)]),
    "embedding_mask_pool": (padded_ids, lambda: [L.Embedding(10, 3, mask_zero=True), L.GlobalAveragePooling1D()]),
    "bidirectional_concat": (padded_ids, lambda: [L.Embedding(10, 3, mask_zero=True),
                                                  L.Bidirectional(L.LSTM(4, return_sequences=True))]),
    "bidirectional_sum_last": (features, lambda: [L.Bidirectional(L.GRU(3), merge_mode="sum")]),
    "bidirectional_state": (features, lambda: [L.Bidirectional(L.LSTM(3, return_state=True), merge_mode="ave")]),
    "time_distributed": (features, lambda: [L.TimeDistributed(L.Dense(2, activation="tanh"))]),
}


def run(name, make_input, make_layers, rng):
    x = make_input(rng)
    inputs = keras.Input(shape=x.shape[1:], dtype="int32" if x.dtype.kind == "i" else "float32")
    y = inputs
    for layer in make_layers():
        y = layer(y)
    model = keras.Model(inputs, y)
    weights = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    outputs = model(x)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    stored = {f"{name}/x": x}
    stored.update({f"{name}/w{i}": w for i, w in enumerate(weights)})
    stored.update({f"{name}/y{i}": keras.ops.convert_to_numpy(y) for i, y in enumerate(outputs)})
    return stored


def main():
    rng = np.random.default_rng(14)
    stored = {}
    for name, (make_input, make_layers) in CASES.items():
        stored.update(run(name, make_input, make_layers, rng))
    out = Path(__file__).with_name("sequence_layers.npz")
    np.savez_compressed(out, **stored)
    print(f"wrote {len(CASES)} cases to {out}")


if __name__ == "__main__":
    main()
