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

from .object_registration import custom_instance, deserializer, object_config
from .random import config_seed, generator, truncated_standard_normal


def compute_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) of a weight shape: the sizes along `input_axes` and `output_axes` multiplied when
    both are given (Keras's), else a Dense kernel's (n_in, n_out) or a conv kernel's, as above."""
    if input_axes is not None and output_axes is not None:
        return int(np.prod([shape[a] for a in input_axes])), int(np.prod([shape[a] for a in output_axes]))
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
    """Base of initializers; each of scratchgrad's registers itself under its class name and its snake_case
    name (GlorotUniform -> "glorot_uniform"), plus any `aliases`. A user's subclass is found by name only
    when registered (keras.saving.register_keras_serializable) or in custom_objects, as in Keras: it never
    replaces a built-in of its name."""

    aliases = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_") or not cls.__module__.startswith("scratchgrad."):
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


class _Random(Initializer):
    """Base of the random initializers. `seed`, as in Keras: None draws from the framework generator
    (`scratchgrad.set_seed`), an int gives the same values at every call, a SeedGenerator its next draw."""

    def __init__(self, seed=None):
        generator(seed)  # a bad seed fails here, where it was given
        self.seed = seed

    def rng(self):
        return generator(self.seed)

    def _seed_config(self):
        return {"seed": config_seed(self.seed, type(self).__name__)}


class RandomNormal(_Random):
    aliases = ("normal",)

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype="float32"):
        return _normal(self.rng(), shape, dtype, self.stddev, self.mean)

    def get_config(self):
        return {**self._seed_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(_Random):
    aliases = ("uniform",)

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype="float32"):
        return _uniform(self.rng(), shape, dtype, self.minval, self.maxval)

    def get_config(self):
        return {**self._seed_config(), "minval": self.minval, "maxval": self.maxval}


class SmallRandom(RandomNormal):
    """The textbook's first try: 0.01 · randn. Deep nets' activations collapse towards 0 with it."""

    def __init__(self, stddev=0.01, seed=None):
        super().__init__(0.0, stddev, seed)

    def get_config(self):
        return {**self._seed_config(), "stddev": self.stddev}


class TruncatedNormal(_Random):
    """A normal with values beyond 2 standard deviations drawn again (Keras's); its spread is 0.88·stddev."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype="float32"):
        return _truncated_normal(self.rng(), shape, dtype, self.stddev, self.mean)

    def get_config(self):
        return {**self._seed_config(), "mean": self.mean, "stddev": self.stddev}


class VarianceScaling(_Random):
    """Variance `scale / fan` with fan = n_in, n_out or their mean, from a uniform, a normal, or (Keras's
    default) a normal truncated at 2σ whose σ is enlarged so that the variance is still scale / fan. The
    fans are compute_fans's, along `input_axes` and `output_axes` where both are given."""

    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        super().__init__(seed)
        if not scale > 0:
            raise ValueError(f"scale must be a positive float, got {scale!r}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        distribution = "truncated_normal" if distribution == "normal" else distribution  # Keras's old name
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {', '.join(self.DISTRIBUTIONS)}, got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = np.sqrt(3.0 * variance)  # a uniform on [-r, r] has variance r²/3
            return _uniform(self.rng(), shape, dtype, -limit, limit)
        if self.distribution == "untruncated_normal":
            return _normal(self.rng(), shape, dtype, np.sqrt(variance))
        return _truncated_normal(self.rng(), shape, dtype, np.sqrt(variance) / TRUNCATED_STDDEV)

    def get_config(self):
        return {**self._seed_config(), "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **self._axes()}

    def _axes(self):
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """A named VarianceScaling with fixed settings (`preset`), as Keras's named initializers."""

    preset = (1.0, "fan_in", "normal")

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(*self.preset, seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {**self._seed_config(), **self._axes()}


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


class Orthogonal(_Random):
    """A (semi-)orthogonal matrix times `gain` (from the QR decomposition of a normal draw, signs fixed
    so that the result is uniformly distributed); higher-rank shapes are flattened to 2-D first."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank 2 or more, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self.rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        return np.ascontiguousarray((self.gain * q[:rows, :cols]).reshape(shape), dtype=dtype)  # q.T is not

    def get_config(self):
        return {**self._seed_config(), "gain": self.gain}


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


class STFT(Initializer):
    """The kernel of a short-time Fourier transform done as a convolution (STFTSpectrogram's), Keras's: for a
    shape (frame_length, ..., bins), entry (t, k) is cos(θ) for side="real" and sin(θ) for "imag", with
    θ = -2π·t·k / (2·(bins - 1)), the frequency k of an fft_length = 2·(bins - 1) transform; times the window
    ("hann", "hamming", "blackman", "bartlett", "boxcar", an array of frame_length, or None; symmetric
    unless periodic=True) divided by its size: scaling="density" √Σw², "spectrum" Σ|w|, None 1."""

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if isinstance(window, tuple) and window and isinstance(window[0], str):
            raise ValueError(f"STFT's window {window!r}: scipy's windows with parameters are not here; give "
                             f"'hann', 'hamming', 'blackman', 'bartlett', 'boxcar' or the window's values")
        if side not in ("real", "imag"):
            raise ValueError(f"STFT's side must be 'real' or 'imag', got {side!r}")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFT's scaling must be None, 'density' or 'spectrum', got {scaling!r}")
        if isinstance(window, str):
            from .ops import _signal_window

            _signal_window(window, 1)  # refuses an unknown name now rather than when the layer is built
        elif window is not None:
            window = [float(w) for w in np.ravel(window)]  # a list, so that the config is JSON
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype="float32"):
        length, bins = shape[0], shape[-1]
        theta = -2 * np.pi * np.outer(np.arange(length), np.arange(bins)) / max(2 * (bins - 1), 1)
        kernel = np.cos(theta) if self.side == "real" else np.sin(theta)
        window = self._window(length)
        if window is not None:
            size = {"density": np.sqrt(np.sum(window**2)), "spectrum": np.sum(np.abs(window)), None: 1.0}
            kernel = kernel * window[:, None] / size[self.scaling]
        kernel = kernel.reshape((length,) + (1,) * (len(shape) - 2) + (bins,))
        return np.broadcast_to(kernel, tuple(shape)).astype(dtype)

    def _window(self, length):
        if self.window is None:
            return None
        if isinstance(self.window, str):
            from .ops import _signal_window

            return _signal_window(self.window, length, self.periodic)
        if len(self.window) != length:
            raise ValueError(f"STFT's window has {len(self.window)} samples; the kernel's frame_length is {length}")
        return np.asarray(self.window)

    def get_config(self):
        return {"side": self.side, "window": self.window, "scaling": self.scaling, "periodic": self.periodic}


STFTInitializer = CLASSES["STFTInitializer"] = STFT  # Keras exports it under both names


def _normal(rng, shape, dtype, stddev, mean=0.0):
    dtype = np.dtype(dtype)
    draw = rng.standard_normal(shape, dtype=dtype if dtype in (np.float32, np.float64) else np.float32)
    return (draw * dtype.type(stddev) + dtype.type(mean)).astype(dtype, copy=False)


# Keras's lowercase names are the classes themselves (keras.initializers.glorot_uniform() is a GlorotUniform)
constant, zeros, ones, random_normal, random_uniform, truncated_normal = (
    Constant, Zeros, Ones, RandomNormal, RandomUniform, TruncatedNormal)
variance_scaling, lecun_uniform, lecun_normal, glorot_uniform, glorot_normal, he_uniform, he_normal = (
    VarianceScaling, LecunUniform, LecunNormal, GlorotUniform, GlorotNormal, HeUniform, HeNormal)
orthogonal, identity = OrthogonalInitializer, IdentityInitializer = Orthogonal, Identity  # (two names each)
stft = STFT

TRUNCATED_STDDEV = 0.87962566103423978  # the standard deviation of a unit normal cut at ±2


def _truncated_normal(rng, shape, dtype, stddev, mean=0.0):
    return (truncated_standard_normal(rng, shape) * stddev + mean).astype(np.dtype(dtype))


def _uniform(rng, shape, dtype, low, high):
    dtype = np.dtype(dtype)
    draw = rng.random(shape, dtype=dtype if dtype in (np.float32, np.float64) else np.float32)
    return (draw * dtype.type(high - low) + dtype.type(low)).astype(dtype, copy=False)


def get(identifier):
    """An initializer from a name ("he_normal"), a Keras class name ("HeNormal"), a config dict, an
    Initializer class or instance, any callable(shape, dtype), or the name or config of a custom Initializer
    class or function (registered, or in custom_objects)."""
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, Initializer) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    custom = custom_instance(identifier, Initializer, "initializer")
    if custom is not None:
        return custom
    if isinstance(identifier, dict) and identifier.get("class_name") in CLASSES:
        return CLASSES[identifier["class_name"]].from_config(identifier.get("config") or {})
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in INITIALIZERS:
            return INITIALIZERS[key]()
        if identifier in CLASSES:
            return CLASSES[identifier]()
    raise ValueError(f"unknown initializer {identifier!r:.200}; expected one of {', '.join(sorted(INITIALIZERS))}, "
                     f"a config dict, a callable, or a custom Initializer class registered with "
                     f"keras.saving.register_keras_serializable or passed in custom_objects")


deserialize = deserializer(get, "initializers")


def serialize(initializer):
    """An initializer's config dict (see object_registration.object_config)."""
    return object_config(initializer, Initializer, CLASSES, "initializer")
