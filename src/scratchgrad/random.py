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


# ---- keras.random: random tensors, drawn inside Functions so a replayed training step draws anew -----
def _draw_op(draw, shape, dtype):
    from .autograd import Function
    from .backend import floatx

    class Draw(Function):
        differentiable = False

        def forward(self):
            return np.asarray(draw(get_rng(), tuple(shape)), dtype=dtype or floatx())

    Draw.__name__ = draw.__name__
    return Draw()()


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution (redrawn at every replayed step when inside a layer's call)."""
    def normal_draw(rng, size):
        return rng.normal(mean, stddev, size)

    return _draw_op(normal_draw, shape, dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    def uniform_draw(rng, size):
        return rng.uniform(minval, maxval, size)

    return _draw_op(uniform_draw, shape, dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    def randint_draw(rng, size):
        return rng.integers(minval, maxval, size)

    return _draw_op(randint_draw, shape, dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    from .functional import dropout as apply

    return apply(inputs, rate, training=True)


class SeedGenerator:
    """Keras's seed holder; scratchgrad draws from its one generator (set_seed), so this only keeps the seed."""

    def __init__(self, seed=None):
        self.seed = seed
