"""Preprocessing and augmentation layers: scaling and cropping inside the model, so a saved model takes
raw data, and random flips that show the model more variety in training."""
import numpy as np

from .. import ops
from ..autograd import Function
from ..backend import array_module
from ..random import get_rng
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


class CenterCrop(Layer):
    """The central height × width of each image (channels_last); inputs smaller than that are refused."""

    def __init__(self, height, width, data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.height, self.width, self.data_format = height, width, data_format

    def call(self, x):
        if x.ndim == 3:  # one image, no batch axis
            return ops.squeeze(self.call(ops.expand_dims(x, 0)), 0)
        h_axis = 2 if self.data_format == "channels_first" else 1
        h, w = x.shape[h_axis], x.shape[h_axis + 1]
        if h < self.height or w < self.width:
            raise ValueError(f"{self.name}: images of {h}x{w} are smaller than the crop {self.height}x{self.width}")
        top, left = (h - self.height) // 2, (w - self.width) // 2
        index = [slice(None)] * 4
        index[h_axis], index[h_axis + 1] = slice(top, top + self.height), slice(left, left + self.width)
        return x[tuple(index)]

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}


class _Flip(Function):
    """Flip each image of the batch with probability ½ along the given axes (its own draw per image)."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        self.flips = [get_rng().random(x.shape[0]) < 0.5 for _ in self.axes]
        return self._apply(x)

    def _apply(self, a):
        xp = array_module(a)
        for axis, chosen in zip(self.axes, self.flips):
            mask = xp.asarray(chosen).reshape((-1,) + (1,) * (a.ndim - 1))
            a = xp.where(mask, xp.flip(a, axis=axis), a)
        return a

    def backward(self, gy):
        return self._apply(gy)  # each flip is its own inverse


class RandomFlip(Layer):
    """In training, flip each image left-right ("horizontal"), upside down ("vertical") or either, each
    with probability ½: the same object seen mirrored. The identity in inference."""

    MODES = {"horizontal": (2,), "vertical": (1,), "horizontal_and_vertical": (1, 2)}

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"RandomFlip mode must be one of {', '.join(self.MODES)}, got {mode!r}")
        self.mode = mode

    def call(self, x, training=False):
        if not training:
            return x
        if x.ndim == 3:  # one image, no batch axis
            return ops.squeeze(_Flip(self.MODES[self.mode])(ops.expand_dims(x, 0)), 0)
        return _Flip(self.MODES[self.mode])(x)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
