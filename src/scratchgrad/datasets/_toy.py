"""Tiny synthetic problems for checking that a network can learn at all."""
import numpy as np

from ..random import get_rng

_GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
_GATE_OUTPUTS = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "nand": [1, 1, 1, 0],
    "xor": [0, 1, 1, 0],
}


def logic_gate(name):
    """(x, y) truth table of a two-input gate: x float32 (4, 2), y int64 (4,). XOR is the one a line cannot split."""
    key = str(name).lower()
    if key not in _GATE_OUTPUTS:
        raise ValueError(f"unknown logic gate {name!r}; expected one of {sorted(_GATE_OUTPUTS)}")
    return _GATE_INPUTS.copy(), np.array(_GATE_OUTPUTS[key], dtype=np.int64)


def spiral(n=100, classes=3, seed=None):
    """(x, y) interleaved spiral arms (cs231n): x float32 (n * classes, 2), y int64 class of each point.

    Not linearly separable, so it shows what a hidden layer adds. Without `seed` the noise comes from the
    framework generator, so `scratchgrad.random.set_seed` makes it reproducible.
    """
    check_count("n", n)
    check_count("classes", classes)
    rng = generator(seed)
    radius = np.linspace(0.0, 1.0, n)
    xs, ys = [], []
    for label in range(classes):
        angle = np.linspace(label * 4.0, (label + 1) * 4.0, n) + rng.standard_normal(n) * 0.2
        xs.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        ys.append(np.full(n, label))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)


def make_moons(n_samples=200, noise=0.1, seed=None):
    """(x, y) two interleaving half circles from scikit-learn: x float32 (n_samples, 2), y int64 0/1.

    Without `seed` the sklearn seed is drawn from the framework generator, for the same reproducibility.
    """
    try:
        from sklearn.datasets import make_moons as sklearn_moons
    except ImportError:
        raise ImportError(
            "make_moons needs scikit-learn, which is optional: pip install 'scratchgrad[datasets]'"
        ) from None
    check_count("n_samples", n_samples)
    state = seed if seed is not None else int(generator(None).integers(2**32))
    x, y = sklearn_moons(n_samples=n_samples, noise=noise, random_state=state)
    return x.astype(np.float32), y.astype(np.int64)


def generator(seed):
    return np.random.default_rng(seed) if seed is not None else get_rng()


def check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
