"""Preprocessing layers: scaling inputs inside the model, so a saved model takes raw data."""
import numpy as np

from .. import ops
from ..utils import as_array
from .base import Layer


class Rescaling(Layer):
    """x · scale + offset, e.g. Rescaling(1 / 255) for pixel values."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, x):
        return x * float(self.scale) + float(self.offset)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Normalization(Layer):
    """(x - mean) / √variance per feature (along `axis`), with the statistics given or learned from
    data by `adapt(data)` (they are non-trainable weights, saved with the model); `invert=True` undoes it."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization needs both mean and variance, or neither (then call adapt())")
        self.axis, self.invert = axis, invert
        self.given = None if mean is None else (np.asarray(mean, np.float64), np.asarray(variance, np.float64))

    def build(self, input_shape):
        shape = [1] * len(input_shape)
        shape[self.axis] = input_shape[self.axis]
        self.mean = self.add_weight(tuple(shape[1:]), "zeros", trainable=False, name="mean")
        self.variance = self.add_weight(tuple(shape[1:]), "ones", trainable=False, name="variance")
        if self.given is not None:
            self.mean.assign(np.broadcast_to(self.given[0], self.mean.shape))
            self.variance.assign(np.broadcast_to(self.given[1], self.variance.shape))

    def adapt(self, data):
        """Learn the mean and variance of each feature from `data` (an array of samples)."""
        data = as_array(data, "data").astype(np.float64)
        if not self.built:
            self._ensure_built(Layer._as_tensor(self, data[:1]))
        axes = tuple(i for i in range(data.ndim) if i != self.axis % data.ndim)
        self.mean.assign(data.mean(axis=axes).reshape(self.mean.shape))
        self.variance.assign(data.var(axis=axes).reshape(self.variance.shape))

    def call(self, x):
        std = ops.maximum(ops.sqrt(self.variance), 1e-7)  # Keras's floor: a constant feature stays finite
        return x * std + self.mean if self.invert else (x - self.mean) / std

    def get_config(self):
        config = {**super().get_config(), "axis": self.axis, "invert": self.invert}
        if self.given is not None:
            config.update(mean=self.given[0].tolist(), variance=self.given[1].tolist())
        return config
