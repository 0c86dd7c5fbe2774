"""A perceptron: y = step(x · w + b), trained with Rosenblatt's rule w += lr · (t - y) · x.

It learns AND, OR and NAND, because a straight line separates their 0s from their 1s. XOR has no such
line, so the rule never settles on it; two layers of perceptrons (NAND and OR feeding an AND) solve it.

    python examples/01_perceptron.py
"""
import numpy as np

from scratchgrad import functional as F
from scratchgrad.datasets import logic_gate


def predict(w, b, x):
    return F.step(x @ w + b).numpy()


def train_perceptron(x, t, epochs, lr=0.1):
    """Weights and bias from the perceptron learning rule; it stops early once every sample is right."""
    w, b = np.zeros(x.shape[1], dtype=np.float32), np.float32(0.0)
    for _ in range(epochs):
        errors = 0
        for xi, ti in zip(x, t):
            delta = ti - predict(w, b, xi[None])[0]
            w, b = w + lr * delta * xi, b + lr * delta
            errors += int(delta != 0)
        if errors == 0:
            break
    return w, b


def accuracy(w, b, x, t):
    return float(np.mean(predict(w, b, x) == t))


def main(epochs=20):
    """Train one perceptron per gate; returns {gate: accuracy}, plus "xor (two layers)"."""
    results, perceptrons = {}, {}
    for gate in ("and", "or", "nand", "xor"):
        x, t = logic_gate(gate)
        w, b = train_perceptron(x, t, epochs)
        perceptrons[gate] = (w, b)
        results[gate] = accuracy(w, b, x, t)
        print(f"{gate.upper():>4}: w = {np.round(w, 2)}, b = {b:+.2f}, accuracy {results[gate]:.0%}")

    print("XOR cannot reach 100 %: its 1s, (0,1) and (1,0), sit on one diagonal and its 0s on the other, so no")
    print("single straight line w·x + b = 0 separates them (XOR is not linearly separable).")

    # the textbook's fix: a second layer. XOR(x) = AND(NAND(x), OR(x))
    x, t = logic_gate("xor")
    hidden = np.column_stack([predict(*perceptrons["nand"], x), predict(*perceptrons["or"], x)])
    results["xor (two layers)"] = accuracy(*perceptrons["and"], hidden, t)
    print(f"XOR as AND(NAND, OR), a two-layer perceptron: accuracy {results['xor (two layers)']:.0%}")
    return results


if __name__ == "__main__":
    main()
