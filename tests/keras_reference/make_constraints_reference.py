"""Make tests/keras_reference/constraints.npz with the real Keras 3: each constraint applied to fixed weights.

Not run in CI: run by hand where Keras 3 is installed, from the repository root:

    KERAS_BACKEND=torch python tests/keras_reference/make_constraints_reference.py
"""
import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras

CASES = {  # name: (constraint, weight)
    "max_norm": (keras.constraints.MaxNorm(2.0, axis=0), "w"),
    "max_norm_filters": (keras.constraints.MaxNorm(1.5, axis=[0, 1, 2]), "w4"),
    "min_max_norm": (keras.constraints.MinMaxNorm(0.5, 1.5, rate=0.7, axis=0), "w"),
    "non_neg": (keras.constraints.NonNeg(), "w"),
    "unit_norm": (keras.constraints.UnitNorm(axis=1), "w"),
}


def main():
    weights = {"w": (np.arange(24, dtype=np.float32).reshape(4, 6) - 11) / 3,
               "w4": (np.arange(24, dtype=np.float32).reshape(2, 2, 3, 2) - 9) / 4}
    out = dict(weights)
    for name, (constraint, weight) in CASES.items():
        out[name] = keras.ops.convert_to_numpy(constraint(keras.ops.convert_to_tensor(weights[weight])))
    np.savez(os.path.join(os.path.dirname(os.path.abspath(__file__)), "constraints.npz"), **out)


if __name__ == "__main__":
    main()
