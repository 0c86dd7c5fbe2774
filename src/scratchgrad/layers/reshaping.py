"""Layers that move values around without learning anything: padding, cropping, upsampling,
permuting axes and repeating a vector (Keras's names and layouts, channels_last by default)."""
from .. import ops
from .base import Layer, _probing
from .convolutional import _sizes, _Spatial, spatial_axes


def _pairs(value, rank, name):
    """Keras's padding/cropping argument: n, (a, b) per axis, or ((before, after), ...) per axis; with
    one axis, n or (before, after)."""
    if rank == 1 and not isinstance(value, int):
        value = (value,)  # one axis: the pair given is that axis's (before, after)
    if isinstance(value, int):
        value = (value,) * rank
    value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    pairs = tuple((v, v) if isinstance(v, int) else tuple(v) if isinstance(v, (tuple, list)) else (v,) for v in value)
    if len(pairs) != rank or not all(len(p) == 2 and all(isinstance(n, int) and n >= 0 for n in p) for p in pairs):
        raise ValueError(f"{name} needs {rank} (before, after) pair{'s' * (rank > 1)} of non-negative integers "
                         f"(one per spatial axis), got {value!r}")
    return pairs


def _pairs_config(pairs):
    """As Keras writes them: [before, after] for one axis, [[before, after], ...] for several."""
    return list(pairs[0]) if len(pairs) == 1 else [list(p) for p in pairs]


class _ZeroPadding(_Spatial):
    """Zeros around each sequence (rank 1), image (rank 2) or volume (rank 3)."""

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, self.rank, f"{type(self).__name__} padding")

    def call(self, x):
        widths = [(0, 0)] * x.ndim
        for axis, pair in zip(spatial_axes(self.data_format, self.rank), self.padding):
            widths[axis] = pair
        return ops.pad(x, widths)

    def get_config(self):
        return {**super().get_config(), "padding": _pairs_config(self.padding), "data_format": self.data_format}


class ZeroPadding2D(_ZeroPadding):
    """Zeros around each image: padding=1, (rows, cols) or ((top, bottom), (left, right))."""


class ZeroPadding3D(_ZeroPadding):
    """Zeros around the depth, rows and columns of each volume."""

    rank = 3


class ZeroPadding1D(_ZeroPadding):
    """Zeros before and after each sequence's steps: padding=1 or (before, after)."""

    rank = 1


class _Cropping(_Spatial):
    """Cut steps (rank 1), rows and columns (rank 2), or slices, rows and columns (rank 3) off the borders."""

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, self.rank, f"{type(self).__name__} cropping")

    def call(self, x):
        index = [slice(None)] * x.ndim
        for axis, (before, after) in zip(spatial_axes(self.data_format, self.rank), self.cropping):
            if before + after >= x.shape[axis] and not _probing():  # an unknown length is tried as 16 steps
                raise ValueError(f"{self.name}: cropping {before} + {after} must leave something of an axis of "
                                 f"length {x.shape[axis]} (input shape {tuple(x.shape)})")
            index[axis] = slice(before, x.shape[axis] - after)
        return x[tuple(index)]

    def get_config(self):
        return {**super().get_config(), "cropping": _pairs_config(self.cropping), "data_format": self.data_format}


class Cropping2D(_Cropping):
    """Cut rows and columns off each image's borders: cropping=((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Cut slices, rows and columns off each volume's borders."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping1D(_Cropping):
    """Cut steps off each sequence's start and end: cropping=(before, after) or n (channels_last only,
    as in Keras)."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, "channels_last", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class _UpSampling(_Spatial):
    """Repeat each entry along each spatial axis `size` times (nearest-neighbour upsampling)."""

    def __init__(self, size=2, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = _sizes(size, self.rank, f"{type(self).__name__} size")

    def call(self, x):
        for axis, times in zip(spatial_axes(self.data_format, self.rank), self.size):
            x = ops.repeat(x, times, axis)
        return x

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format}


class UpSampling2D(_UpSampling):
    """Repeat each row `size[0]` times and each column `size[1]` times."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        if interpolation != "nearest":
            raise NotImplementedError(f"UpSampling2D supports interpolation='nearest', got {interpolation!r}")
        super().__init__(size, data_format, **kwargs)
        self.interpolation = interpolation

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Repeat each volume's slices, rows and columns `size` times."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)


class UpSampling1D(Layer):
    """Repeat each step `size` times: (batch, steps, features) -> (batch, steps·size, features)."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"UpSampling1D size must be a positive integer, got {size!r}")
        self.size = size

    def call(self, x):
        return ops.repeat(x, self.size, 1)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


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
