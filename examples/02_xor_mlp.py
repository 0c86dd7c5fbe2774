"""XOR, which no single perceptron can learn, solved by a two-layer network trained with backprop.

The hidden layer bends the input space so that a line can split it; a smooth activation (tanh, unlike
the perceptron's step) lets gradients flow back to it.

    python examples/02_xor_mlp.py
"""
import numpy as np

import scratchgrad
from scratchgrad.datasets import logic_gate
from scratchgrad.layers import Dense


def main(epochs=300, seed=0):
    """Train 2-4-1 on the XOR truth table; returns the accuracy on its four rows."""
    scratchgrad.set_seed(seed)
    x, t = logic_gate("xor")
    model = scratchgrad.Sequential([Dense(4, activation="tanh", input_dim=2), Dense(1, activation="sigmoid")])
    model.compile(optimizer=scratchgrad.optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, t, epochs=epochs, batch_size=4, verbose=0)
    probs = model.predict(x)[:, 0]
    for row, p in zip(x, probs):
        print(f"XOR{tuple(int(v) for v in row)} = {int(p > 0.5)}  (p = {p:.3f})")
    accuracy = float(np.mean((probs > 0.5) == t))
    print(f"accuracy: {accuracy:.0%}")
    return accuracy


if __name__ == "__main__":
    main()
