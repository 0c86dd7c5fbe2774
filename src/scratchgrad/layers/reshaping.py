"""Layers that move values around without learning anything: padding, cropping, upsampling,
permuting axes and repeating a vector (Keras's names and layouts, channels_last by default)."""
from .. import ops
from .base import Layer


def _pairs(value, rank, name):
    """Keras's padding/cropping argument: n, (a, b) per axis, or ((before, after), ...) per axis."""
    if isinstance(value, int):
        return ((value, value),) * rank
    value = tuple(value)
    if len(value) != rank:
        raise ValueError(f"{name} needs {rank} entries (one per spatial axis), got {value!r}")
    return tuple((v, v) if isinstance(v, int) else tuple(v) for v in value)


def _spatial_axes(data_format, rank):
    return tuple(range(2, 2 + rank)) if data_format == "channels_first" else tuple(range(1, 1 + rank))


class ZeroPadding2D(Layer):
    """Zeros around each image: padding=1, (rows, cols) or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.padding, self.data_format = _pairs(padding, 2, "ZeroPadding2D padding"), data_format

    def call(self, x):
        widths = [(0, 0)] * x.ndim
        for axis, pair in zip(_spatial_axes(self.data_format, 2), self.padding):
            widths[axis] = pair
        return ops.pad(x, widths)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding], "data_format": self.data_format}


class Cropping2D(Layer):
    """Cut rows and columns off each image's borders: cropping=((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.cropping, self.data_format = _pairs(cropping, 2, "Cropping2D cropping"), data_format

    def call(self, x):
        index = [slice(None)] * x.ndim
        for axis, (before, after) in zip(_spatial_axes(self.data_format, 2), self.cropping):
            index[axis] = slice(before, x.shape[axis] - after)
        return x[tuple(index)]

    def get_config(self):
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping], "data_format": self.data_format}


class UpSampling2D(Layer):
    """Repeat each row `size[0]` times and each column `size[1]` times (nearest-neighbour upsampling)."""

    def __init__(self, size=(2, 2), data_format="channels_last", interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        if interpolation != "nearest":
            raise NotImplementedError(f"UpSampling2D supports interpolation='nearest', got {interpolation!r}")
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.data_format, self.interpolation = data_format, interpolation

    def call(self, x):
        for axis, times in zip(_spatial_axes(self.data_format, 2), self.size):
            x = ops.repeat(x, times, axis)
        return x

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


class Permute(Layer):
    """Reorder the non-batch axes: Permute((2, 1)) swaps the two axes of (batch, a, b)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)

    def call(self, x):
        return x.transpose((0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): the vector repeated n times."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = n

    def call(self, x):
        return ops.repeat(ops.expand_dims(x, 1), self.n, 1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}
