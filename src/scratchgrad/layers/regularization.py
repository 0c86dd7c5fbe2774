"""Layers that regularize: noise and dropout of whole channels in training, and a penalty on the
activations themselves."""
from .. import functional as F
from .. import random, regularizers
from .base import Layer


class SpatialDropout2D(Layer):
    """Dropout of whole feature maps: in training, each channel of each image is zeroed with probability
    `rate` (neighbouring pixels are correlated, so dropping single pixels regularizes little)."""

    def __init__(self, rate, data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"SpatialDropout2D rate must be in [0, 1), got {rate}")
        self.rate, self.data_format = rate, data_format

    def call(self, x, training=False):
        if not training or not self.rate:
            return x
        n, c = x.shape[0], x.shape[1 if self.data_format == "channels_first" else -1]
        noise = (n, c, 1, 1) if self.data_format == "channels_first" else (n, 1, 1, c)
        return F.Dropout(self.rate, noise_shape=noise)(x)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "data_format": self.data_format}


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
