"""The framework's one random generator: weight draws, dropout masks and shuffling all come from it,
so `set_seed(n)` makes a whole run reproducible.

The generator is made on first use: importing numpy.random costs ~10 ms of `import scratchgrad`.
"""
import numpy as np

_rng = None


def set_seed(seed):
    """Reseed the generator behind initializers, Dropout, shuffling in fit and DataLoader."""
    global _rng
    _rng = np.random.default_rng(seed)


def get_rng():
    """The current numpy Generator (replaced, not mutated, by `set_seed`: ask for it at use time)."""
    global _rng
    if _rng is None:
        _rng = np.random.default_rng()
    return _rng


def get_state():
    return get_rng().bit_generator.state


def set_state(state):
    get_rng().bit_generator.state = state
