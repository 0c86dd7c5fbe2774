"""Weight initializers. All draws come from the framework generator (`scratchgrad.set_seed`).

The textbook's formulas are used: uniform on [-r, r] with r = √(3/n_in) (LeCun), √(6/(n_in+n_out))
(Glorot/Xavier), √(6/n_in) (He); normal with σ = √(1/n_in), √(2/(n_in+n_out)), √(2/n_in). The uniform
ones equal Keras's. Keras differs for the normal ones: it draws from a normal truncated at 2σ and
rescales σ by 1/0.8796 to keep the variance; ours are plain normals with the textbook σ.
For a Dense kernel (n_in, n_out); for a conv kernel (kh, kw, c_in, c_out) the fans are kh·kw·c_in and
kh·kw·c_out.
"""
import re

import numpy as np

from .random import get_rng, truncated_standard_normal


def compute_fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _snake_case(name):
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


INITIALIZERS = {}  # every name layers take ("he_normal", "xavier_uniform") -> class
CLASSES = {}  # Keras class name -> class


class Initializer:
    """Base of initializers; a subclass registers itself under its class name and its snake_case name
    (GlorotUniform -> "glorot_uniform"), plus any `aliases`."""

    aliases = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):
            return
        CLASSES[cls.__name__] = cls
        for name in (_snake_case(cls.__name__), *cls.__dict__.get("aliases", ())):
            INITIALIZERS[name] = cls

    def __call__(self, shape, dtype="float32"):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    aliases = ("zero",)

    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=dtype)


class Ones(Initializer):
    aliases = ("one",)

    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype=dtype)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    aliases = ("normal",)

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype="float32"):
        return _normal(shape, dtype, self.stddev, self.mean)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class RandomUniform(Initializer):
    aliases = ("uniform",)

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype="float32"):
        return _uniform(shape, dtype, self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class SmallRandom(RandomNormal):
    """The textbook's first try: 0.01 · randn. Deep nets' activations collapse towards 0 with it."""

    def __init__(self, stddev=0.01):
        super().__init__(0.0, stddev)

    def get_config(self):
        return {"stddev": self.stddev}


class TruncatedNormal(Initializer):
    """A normal with values beyond 2 standard deviations drawn again (Keras's); its spread is 0.88·stddev."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype="float32"):
        return _truncated_normal(shape, dtype, self.stddev, self.mean)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class VarianceScaling(Initializer):
    """Variance `scale / fan` with fan = n_in, n_out or their mean, from a uniform, a normal, or (Keras's
    default) a normal truncated at 2σ whose σ is enlarged so that the variance is still scale / fan."""

    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        distribution = "truncated_normal" if distribution == "normal" else distribution  # Keras's old name
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {', '.join(self.DISTRIBUTIONS)}, got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = np.sqrt(3.0 * variance)  # a uniform on [-r, r] has variance r²/3
            return _uniform(shape, dtype, -limit, limit)
        if self.distribution == "untruncated_normal":
            return _normal(shape, dtype, np.sqrt(variance))
        return _truncated_normal(shape, dtype, np.sqrt(variance) / TRUNCATED_STDDEV)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


class _Preset(VarianceScaling):
    """A named VarianceScaling with fixed settings (`preset`), as Keras's named initializers."""

    preset = (1.0, "fan_in", "normal")

    def __init__(self):
        super().__init__(*self.preset)

    def get_config(self):
        return {}


class LecunUniform(_Preset):
    """Uniform on ±√(3/n_in)."""

    preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Variance 1/n_in from a truncated normal (Keras's)."""

    preset = (1.0, "fan_in", "truncated_normal")


class GlorotUniform(_Preset):
    """Xavier: uniform on ±√(6/(n_in+n_out)); Keras's default for Dense and Conv2D kernels."""

    aliases = ("xavier_uniform",)

    preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot: variance 2/(n_in+n_out) from a truncated normal (Keras's)."""

    preset = (1.0, "fan_avg", "truncated_normal")


class XavierNormal(_Preset):
    """The textbook's Xavier: randn · √(1/n_in), a plain normal over the inputs (Keras's glorot_normal
    averages the fans and truncates)."""

    preset = (1.0, "fan_in", "untruncated_normal")


class HeUniform(_Preset):
    """He: uniform on ±√(6/n_in), for ReLU nets."""

    preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """He: variance 2/n_in from a truncated normal (Keras's), for ReLU nets."""

    preset = (2.0, "fan_in", "truncated_normal")


class TextbookHeNormal(_Preset):
    """The textbook's He: randn · √(2/n_in), a plain normal."""

    preset = (2.0, "fan_in", "untruncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times `gain` (from the QR decomposition of a normal draw, signs fixed
    so that the result is uniformly distributed); higher-rank shapes are flattened to 2-D first."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank 2 or more, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = get_rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        return np.ascontiguousarray((self.gain * q[:rows, :cols]).reshape(shape), dtype=dtype)  # q.T is not

    def get_config(self):
        return {"gain": self.gain}


class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        if len(shape) != 2:
            raise ValueError(f"Identity needs a 2-D shape, got {shape}")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain}


def _normal(shape, dtype, stddev, mean=0.0):
    dtype = np.dtype(dtype)
    draw = get_rng().standard_normal(shape, dtype=dtype if dtype in (np.float32, np.float64) else np.float32)
    return (draw * dtype.type(stddev) + dtype.type(mean)).astype(dtype, copy=False)


TRUNCATED_STDDEV = 0.87962566103423978  # the standard deviation of a unit normal cut at ±2


def _truncated_normal(shape, dtype, stddev, mean=0.0):
    return (truncated_standard_normal(get_rng(), shape) * stddev + mean).astype(np.dtype(dtype))


def _uniform(shape, dtype, low, high):
    dtype = np.dtype(dtype)
    draw = get_rng().random(shape, dtype=dtype if dtype in (np.float32, np.float64) else np.float32)
    return (draw * dtype.type(high - low) + dtype.type(low)).astype(dtype, copy=False)


def get(identifier):
    """An initializer from a name ("he_normal"), a Keras class name ("HeNormal"), a config dict, an
    Initializer, or any callable(shape, dtype)."""
    if isinstance(identifier, Initializer) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, dict):
        return CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in INITIALIZERS:
            return INITIALIZERS[key]()
        if identifier in CLASSES:
            return CLASSES[identifier]()
    raise ValueError(f"unknown initializer {identifier!r}; expected one of {', '.join(sorted(INITIALIZERS))}")


def serialize(initializer):
    if not isinstance(initializer, Initializer):
        raise ValueError(f"initializer {initializer!r} is not an Initializer and cannot be saved in a config")
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
