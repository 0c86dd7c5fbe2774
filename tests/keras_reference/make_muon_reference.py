"""Generate Keras 3's Muon steps for tests/test_optimizers_more.py: the weights of a small model (an
Embedding, a Conv1D, a Dense with a tall kernel and one with a wide kernel) after three apply_gradients
calls with fixed gradients, for several option sets.

Not run in CI: run by hand where Keras 3 and torch are installed; it writes ``muon.npz`` next to itself
(``<case>/before/<i>``, ``<case>/grad<k>/<i>``, ``<case>/after/<i>``, weights in model.trainable_weights order,
and ``names``, their paths).

Usage::

    KERAS_BACKEND=torch python make_muon_reference.py
"""
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras

CASES = {
    "defaults": {"learning_rate": 0.01},
    "decays": {"learning_rate": 0.01, "weight_decay": 0.05, "adam_weight_decay": 0.1, "adam_lr_ratio": 0.5},
    "plain": {"learning_rate": 0.02, "nesterov": False, "rms_rate": None, "ns_steps": 3, "momentum": 0.9,
              "exclude_layers": ["bro+ad"], "exclude_embeddings": False},
}


def model():
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(10, 4, name="embedding")(inputs)
    x = keras.layers.Conv1D(5, 3, name="conv")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(3, name="narrow")(x)  # a tall kernel, 20 x 3
    return keras.Model(inputs, keras.layers.Dense(8, name="broad")(x))  # a wide one, 3 x 8


def main():
    arrays, names = {}, None
    for case, options in CASES.items():
        keras.utils.set_random_seed(0)
        net = model()
        weights = net.trainable_weights
        names = [w.path for w in weights]
        rng = np.random.default_rng(1)
        arrays.update({f"{case}/before/{i}": w.numpy() for i, w in enumerate(weights)})
        optimizer = keras.optimizers.Muon(**options)
        for k in range(3):
            grads = [rng.standard_normal(w.shape).astype("float32") for w in weights]
            arrays.update({f"{case}/grad{k}/{i}": g for i, g in enumerate(grads)})
            optimizer.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in grads], weights))
        arrays.update({f"{case}/after/{i}": w.numpy() for i, w in enumerate(weights)})
    arrays["names"] = np.array(names)
    arrays["cases"] = np.array(json.dumps(CASES))
    np.savez_compressed(Path(__file__).with_name("muon.npz"), **arrays)
    print(f"wrote muon.npz: {len(CASES)} cases, weights {names}")


if __name__ == "__main__":
    main()
