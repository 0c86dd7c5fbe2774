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


def check_state(state):
    """Raise ValueError unless `state` is a generator state as get_state() gives one. A state read from a
    file is checked here before use: numpy would take other bit generators' states, or fail unclearly."""
    inner = state.get("state") if isinstance(state, dict) else None
    ok = isinstance(inner, dict) and set(state) == {"bit_generator", "state", "has_uint32", "uinteger"} and \
        state["bit_generator"] == get_state()["bit_generator"] and set(inner) == {"state", "inc"} and \
        all(_is_int(v, 2**128) for v in inner.values()) and _is_int(state["has_uint32"], 2) and \
        _is_int(state["uinteger"], 2**32)
    if not ok:
        raise ValueError(f"not a {get_state()['bit_generator']} generator state: {str(state)[:200]}")


def _is_int(value, bound):
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < bound


# ---- keras.random: random tensors, drawn inside Functions so a replayed training step draws anew -----
# `seed` follows Keras: None draws from the framework generator, an int gives the same values at every
# call (and every replayed step), a SeedGenerator gives a new, reproducible draw at each call.
def generator(seed):
    """The numpy Generator a draw with this `seed` uses."""
    if seed is None:
        return get_rng()
    if isinstance(seed, SeedGenerator):
        return seed.generator
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be None, an int or a keras.random.SeedGenerator, got {type(seed).__name__}")


def _draw_op(draw, shape, dtype, seed):
    from .autograd import Function
    from .backend import float_dtype

    generator(seed)  # a bad seed fails here, where it was given, not at the first replayed step

    class Draw(Function):
        differentiable = False

        def forward(self):
            return np.asarray(draw(generator(seed), tuple(shape)), dtype=dtype or float_dtype())

    Draw.__name__ = draw.__name__
    return Draw()()


def truncated_standard_normal(rng, shape):
    """A standard normal draw with every value beyond ±2 drawn again until none is left (Keras's truncation)."""
    draw = rng.standard_normal(shape)
    outside = np.abs(draw) > 2
    while outside.any():
        draw[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(draw) > 2
    return draw


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution (redrawn at every replayed step when inside a layer's call)."""
    def normal_draw(rng, size):
        return rng.normal(mean, stddev, size)

    return _draw_op(normal_draw, shape, dtype, seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution whose values beyond two standard deviations are drawn again."""
    def truncated_normal_draw(rng, size):
        return truncated_standard_normal(rng, size) * stddev + mean

    return _draw_op(truncated_normal_draw, shape, dtype, seed)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    def uniform_draw(rng, size):
        return rng.uniform(minval, maxval, size)

    return _draw_op(uniform_draw, shape, dtype, seed)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    def randint_draw(rng, size):
        return rng.integers(minval, maxval, size)

    return _draw_op(randint_draw, shape, dtype, seed)


def gamma(shape, alpha, dtype=None, seed=None):
    def gamma_draw(rng, size):
        return rng.gamma(alpha, 1.0, size)

    return _draw_op(gamma_draw, shape, dtype, seed)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Beta(alpha, beta) draws (mixup's mixing weights)."""
    def beta_draw(rng, size):
        return rng.beta(alpha, beta, size)

    return _draw_op(beta_draw, shape, dtype, seed)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    def binomial_draw(rng, size):
        return rng.binomial(counts, probabilities, size)

    return _draw_op(binomial_draw, shape, dtype, seed)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """For each row of `logits` (batch, classes), `num_samples` class indices drawn with probabilities
    softmax(logits): the argmax of logits plus Gumbel noise (the Gumbel-max trick)."""
    from .autograd import Function
    from .backend import array_module, to_numpy
    from .tensor import as_tensor

    generator(seed)
    logits = as_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"categorical takes logits of shape (batch, classes), got {logits.shape}")

    class Categorical(Function):
        differentiable = False

        def forward(self, x):
            noise = generator(seed).gumbel(size=(x.shape[0], int(num_samples), x.shape[1]))
            return array_module(x).asarray((to_numpy(x)[:, None, :] + noise).argmax(axis=-1).astype(dtype))

    return Categorical()(logits)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Inverted dropout with a fresh mask per call; `noise_shape` (None entries: inputs' size) shares
    one draw along the axes where it is 1."""
    from .functional import dropout as apply
    from .tensor import as_tensor

    x = as_tensor(inputs)
    if noise_shape is not None:
        noise_shape = tuple(size if want is None else want for size, want in zip(x.shape, noise_shape))
    return apply(x, rate, noise_shape=noise_shape, seed=seed)


def shuffle(x, axis=0, seed=None):
    """x with its entries along `axis` in a random order (a new permutation at each call)."""
    from .autograd import Function
    from .backend import array_module
    from .tensor import as_tensor

    generator(seed)

    class Shuffle(Function):
        def forward(self, x):
            xp = array_module(x)
            self.order = xp.asarray(generator(seed).permutation(x.shape[axis]))
            return xp.take(x, self.order, axis=axis)

        def backward(self, gy):
            xp = array_module(gy)
            return xp.take(gy, xp.argsort(self.order), axis=axis)  # the inverse permutation

    return Shuffle()(as_tensor(x))


class SeedGenerator:
    """Keras's seed holder: a generator of its own, so the draws it seeds are a reproducible sequence."""

    def __init__(self, seed=None):
        if seed is None:
            seed = int(get_rng().integers(2**31))
        self.seed = seed
        self.generator = np.random.default_rng(seed)


def config_seed(seed, owner):
    """`seed` as a config holds it, an int or None: a SeedGenerator's state is not a config value."""
    if isinstance(seed, SeedGenerator):
        raise ValueError(f"{owner} seeded by a SeedGenerator cannot be saved in a config: give it an int seed "
                         f"(or None)")
    return seed


def layer_seed(seed):
    """What a layer made with `seed=` draws from: for an int, a SeedGenerator of its own (a reproducible
    sequence of masks, as Keras's layers draw, not one mask repeated); None stays None (the global one)."""
    return SeedGenerator(seed) if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) else seed
