"""Layers that regularize: noise and dropout of whole channels in training, and a penalty on the
activations themselves."""
import math

from .. import ops, random, regularizers
from ..activations import SELU_ALPHA, SELU_SCALE
from .base import Layer
from .convolutional import standard_data_format
from .core import Dropout


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: in training, each channel of each sample is zeroed with probability
    `rate` and the rest scaled by 1/(1 - rate) (neighbouring steps or pixels are correlated, so dropping
    single values regularizes little). Dropout with one mask entry per sample and channel."""

    rank = None

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, None, seed, **kwargs)  # noise_shape is the layer's own
        self.data_format = standard_data_format(data_format)

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:  # refused when a model is built, as Keras's input spec does
            raise ValueError(f"{self.name} takes {self.rank + 2}-D inputs (batch, {self.rank} spatial axes, "
                             f"channels), got shape {tuple(input_shape)}")

    def _noise_shape(self, shape):
        self.build(shape)
        ones = (1,) * self.rank
        return (shape[0], shape[1]) + ones if self.data_format == "channels_first" else (shape[0],) + ones + \
            (shape[-1],)

    def get_config(self):
        config = {**super().get_config(), "data_format": self.data_format}
        del config["noise_shape"]  # the layer's own: one draw per sample and channel
        return config


class SpatialDropout1D(_SpatialDropout):
    """Spatial dropout of sequences (batch, steps, channels): a channel is dropped at every step."""

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, "channels_last", seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]  # Keras's 1-D version has none
        return config


class SpatialDropout2D(_SpatialDropout):
    """Spatial dropout of images (batch, height, width, channels)."""

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Spatial dropout of volumes (batch, depth, height, width, channels)."""

    rank = 3


class GaussianDropout(Layer):
    """In training, multiply every value by normal noise of mean 1 and standard deviation
    √(rate / (1 - rate)) (the variance of inverted dropout's mask); the identity otherwise."""

    supports_masking = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"GaussianDropout rate must be in [0, 1), got {rate}")
        random.generator(seed)  # a bad seed fails here, where it was given
        self.rate, self.seed, self._seed_generator = rate, seed, random.layer_seed(seed)

    def call(self, x, training=False):
        if not training or not self.rate:
            return x
        stddev = math.sqrt(self.rate / (1 - self.rate))
        return x * random.normal(x.shape, mean=1.0, stddev=stddev, dtype=x.dtype, seed=self._seed_generator)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": random.config_seed(self.seed, self.name)}


class AlphaDropout(Dropout):
    """Dropout for SELU networks: in training, a dropped value becomes SELU's negative saturation
    -scale·alpha (not 0), and a·x + b brings the mean and variance of inputs with mean 0 and variance 1
    back (a = ((1 - rate)(1 + rate·α'²))^-½, b = -a·α'·rate, α' = -scale·alpha: Keras's formula), so the
    self-normalization SELU keeps survives."""

    def call(self, x, training=False):
        if not training or not self.rate:
            return x
        shape = self._noise_shape(x.shape) or x.shape
        kept = ops.cast(ops.greater_equal(random.uniform(shape, dtype=x.dtype, seed=self._seed_generator),
                                          self.rate), x.dtype)
        saturation = -SELU_ALPHA * SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * saturation ** 2)) ** -0.5
        return (x * kept + (1 - kept) * saturation) * a - a * saturation * self.rate


class GaussianNoise(Layer):
    """In training, add zero-mean normal noise of `stddev` to every value (the identity otherwise)."""

    supports_masking = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev, self.seed, self._seed_generator = stddev, seed, random.layer_seed(seed)

    def call(self, x, training=False):
        if not training or not self.stddev:
            return x
        return x + random.normal(x.shape, stddev=self.stddev, dtype=x.dtype, seed=self._seed_generator)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class ActivityRegularization(Layer):
    """The identity that adds (l1·Σ|x| + l2·Σx²) / batch size to the training loss: any layer's
    `activity_regularizer=L1L2(l1, l2)`, on a layer of its own (as Keras builds it)."""

    supports_masking = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1, l2), **kwargs)
        self.l1, self.l2 = l1, l2

    def call(self, x):
        return x

    def get_config(self):
        config = {**super().get_config(), "l1": self.l1, "l2": self.l2}
        config.pop("activity_regularizer")
        return config
