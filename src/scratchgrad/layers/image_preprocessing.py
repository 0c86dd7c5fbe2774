"""Image layers, numerically as Keras 3 (torch backend) does: Resizing, RandomCrop and the random
augmentations RandomRotation, RandomZoom, RandomTranslation, RandomShear (affine), RandomPerspective and
RandomElasticTransform, which move pixels, and RandomBrightness and RandomContrast, which change their values.

All of them read the input at computed coordinates through one Function, _Resample; its output is
linear in the input, so its backward scatters each output gradient back to the pixels that were read.
The random ones draw their transform inside that Function's forward, so a replayed step draws anew.
"""
import itertools
import math
from numbers import Real

import numpy as np

from .. import ops
from ..autograd import Function
from ..backend import array_module, float_dtype, image_data_format
from ..convolution import DATA_FORMATS
from ..random import generator, layer_seed, uniform
from ..tensor import Tensor
from .base import Layer

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def _fixed_index(index, size, fill_mode):
    """The pixel read for a (possibly outside) index, as Keras's affine_transform and map_coordinates map it:
    "reflect" d c b a | a b c d | d c b a (the edge twice), "mirror" c d c b | a b c d | c b a b (the edge
    once), "wrap", and else the nearest pixel ("constant" reads it too, then replaces it by the fill value)."""
    xp = array_module(index)
    if fill_mode == "wrap":
        return index % size
    if fill_mode in ("mirror", "reflect") and size > 1:
        period = 2 * size - 2 if fill_mode == "mirror" else 2 * size
        index = index % period
        return xp.where(index < size, index, period - index - (fill_mode == "reflect"))
    return xp.clip(index, 0, size - 1)


def _taps(coordinate, size, interpolation, fill_mode):
    """The pixels one axis's coordinates read: (index, weight, inside the image) for each."""
    xp = array_module(coordinate)
    if interpolation == "nearest":
        nodes = [(xp.rint(coordinate), xp.ones_like(coordinate))]  # halves to even, as torch.round
    else:
        lower = xp.floor(coordinate)
        upper_weight = coordinate - lower
        nodes = [(lower, 1 - upper_weight), (lower + 1, upper_weight)]
    taps = []
    for index, weight in nodes:
        index = index.astype(np.int64)
        taps.append((_fixed_index(index, size, fill_mode), weight, (index >= 0) & (index < size)))
    return taps


class _Resample(Function):
    """Each image read at the points `where(x)` gives: arrays of row and column coordinates that broadcast
    to (batch, out height, out width), e.g. (1, h, 1) and (1, 1, w) for a resize. Images are
    (batch, height, width, channels). `where` runs in every forward: a random transform is drawn there."""

    def __init__(self, where, interpolation, fill_mode, fill_value=0.0):
        self.where, self.interpolation, self.fill_mode, self.fill_value = where, interpolation, fill_mode, fill_value

    def forward(self, x):
        xp = array_module(x)
        n, h, w, c = self.shape = x.shape
        rows, cols = self.where(x)
        pixels = x.reshape(n * h * w, c)
        first = (xp.arange(n) * (h * w)).reshape(n, 1, 1)
        self.taps, out, fill = [], 0, 0
        for (i, wi, inside_i), (j, wj, inside_j) in itertools.product(
                _taps(rows, h, self.interpolation, self.fill_mode), _taps(cols, w, self.interpolation, self.fill_mode)):
            index, weight = first + i * w + j, wi * wj
            if self.fill_mode == "constant":
                inside = inside_i & inside_j
                fill = fill + xp.where(inside, 0, weight)
                weight = xp.where(inside, weight, 0)
            weight = weight[..., None]
            self.taps.append((index, weight))
            out = out + weight * pixels[index]
        if self.fill_mode == "constant" and self.fill_value:
            out = out + fill[..., None] * self.fill_value
        return out.astype(x.dtype, copy=False)  # float16 images: weighed in float32, their positions' dtype

    def backward(self, gy):
        xp = array_module(gy)
        n, h, w, c = self.shape
        gx = xp.zeros((n * h * w, c), dtype=gy.dtype)
        for index, weight in self.taps:
            xp.add.at(gx, index.ravel(), (weight * gy).reshape(-1, c))
        return gx.reshape(self.shape)


def _data_format(data_format):
    data_format = data_format or image_data_format()
    if data_format not in DATA_FORMATS:
        raise ValueError(f"data_format must be one of {', '.join(DATA_FORMATS)}, got {data_format!r}")
    return data_format


def _choice(value, allowed, what, layer):
    if value not in allowed:
        raise ValueError(f"{layer} {what} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _on_images(apply, x, data_format):
    """`apply` (batch, height, width, channels) -> same layout, on one image or a batch in either format."""
    if x.ndim not in (3, 4):
        raise ValueError(f"expected one image (rank 3) or a batch of images (rank 4), got shape {tuple(x.shape)}")
    if x.ndim == 3:
        return ops.squeeze(_on_images(apply, ops.expand_dims(x, 0), data_format), 0)
    if data_format == "channels_first":
        return ops.transpose(apply(ops.transpose(x, (0, 2, 3, 1))), (0, 3, 1, 2))
    return apply(x)


def _aspect_window(size, target, other_size, other_target):
    """Keras's start and length, along one axis, of the largest window with the target's aspect ratio."""
    length = max(min(size, int(float(other_size * target) / other_target)), 1)
    return int(float(size - length) / 2), length


def _resize_coordinates(size, out_size, interpolation, dtype, xp):
    """Where torch's interpolate (align_corners=False, no antialias) reads along one axis: half-pixel
    centres; "nearest" is its "nearest-exact", which rounds halves up."""
    scale = np.dtype(dtype).type(size) / np.dtype(dtype).type(out_size)
    centres = (xp.arange(out_size, dtype=dtype) + 0.5) * scale
    return xp.floor(centres) if interpolation == "nearest" else centres - 0.5


class _ImageLayer(Layer):
    """What Keras's image layers share: they take one image, a batch, or a dict whose "images" they change
    (`_transform_images`) and whose other entries (labels, ids) they pass on. Keras moves bounding boxes and
    segmentation masks with the images; here those are refused rather than passed on unmoved."""

    def call(self, data, training=True):
        if not isinstance(data, dict):
            return self._transform_images(data, training)
        refuse_boxes_and_masks(data, self.name)
        return {**data, "images": self._transform_images(data["images"], training)}

    def _transform_images(self, images, training):
        raise NotImplementedError


def refuse_boxes_and_masks(data, layer):
    unsupported = sorted({"bounding_boxes", "segmentation_masks"} & set(data))
    if unsupported:
        raise NotImplementedError(f"{layer}: {', '.join(unsupported)} are not augmented here (Keras moves them "
                                  f"with the images); pass images and labels only")


class MaxNumBoundingBoxes(Layer):
    """Each image's bounding boxes cut or padded with fill_value to max_number, so that batches whose images
    have different numbers of boxes stack: {"images": ..., "bounding_boxes": {"boxes": (batch, n, 4),
    "labels": (batch, n)}} comes back with boxes (batch, max_number, 4) and labels (batch, max_number), the
    images and other entries as they were (and images alone unchanged). Keras's layer; its config also keeps
    fill_value, which Keras 3.15's drops."""

    def __init__(self, max_number, fill_value=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(max_number, bool) or not isinstance(max_number, (int, np.integer)) or max_number < 1:
            raise ValueError(f"max_number must be a positive integer, got {max_number!r}")
        self.max_number, self.fill_value = int(max_number), int(fill_value)

    def _as_tensor(self, value):  # boxes and their integer labels keep their dtypes
        return value if value is None or isinstance(value, Tensor) else Tensor(value)

    def call(self, data):
        if not (isinstance(data, dict) and "bounding_boxes" in data):
            return data
        boxes = data["bounding_boxes"]
        extra = sorted(set(boxes) - {"boxes", "labels"})
        if extra:
            raise KeyError(f"{self.name}: unsupported keys in bounding_boxes: {extra}; only boxes and labels are")
        corners, labels = boxes["boxes"], boxes["labels"]
        if corners.ndim != 3 or corners.shape[-1] != 4 or labels.shape != corners.shape[:2]:
            raise ValueError(f"{self.name}: expected boxes (batch, boxes, 4) and labels (batch, boxes), got "
                             f"{tuple(corners.shape)} and {tuple(labels.shape)}")
        more = max(self.max_number - corners.shape[1], 0)
        corners = ops.pad(corners[:, :self.max_number], [(0, 0), (0, more), (0, 0)], constant_values=self.fill_value)
        labels = ops.pad(labels[:, :self.max_number], [(0, 0), (0, more)], constant_values=self.fill_value)
        return {**data, "bounding_boxes": {**boxes, "boxes": corners, "labels": labels}}

    def get_config(self):
        return {**super().get_config(), "max_number": self.max_number, "fill_value": self.fill_value}


class Resizing(_ImageLayer):
    """Resize images to height × width ("bilinear" or "nearest", half-pixel centres, no antialiasing),
    optionally first cropping (`crop_to_aspect_ratio`) or padding with `fill_value`
    (`pad_to_aspect_ratio`) to the target's aspect ratio so nothing is stretched."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False,
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Resizing {name} must be a positive integer, got {value!r}")
        if interpolation in ("bicubic", "lanczos3", "lanczos5"):
            raise NotImplementedError(f"Resizing interpolation={interpolation!r} is not supported here; "
                                      f"use one of {', '.join(INTERPOLATIONS)}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing takes crop_to_aspect_ratio or pad_to_aspect_ratio, not both")
        if antialias:
            raise NotImplementedError("Resizing antialias=True is not supported here")
        self.height, self.width = int(height), int(width)
        self.interpolation = _choice(interpolation, INTERPOLATIONS, "interpolation", "Resizing")
        self.fill_mode = _choice(fill_mode, ("constant",), "fill_mode", "Resizing")
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = crop_to_aspect_ratio, pad_to_aspect_ratio
        self.fill_value, self.antialias, self.data_format = fill_value, antialias, _data_format(data_format)

    def _transform_images(self, x, training):
        if x.dtype.kind == "f":
            return _on_images(self._resize, x, self.data_format)
        # integer pixels (uint8, say) are resized in floats and rounded back to their dtype, as Keras does
        resized = _on_images(self._resize, ops.cast(x, float_dtype()), self.data_format)
        return ops.cast(ops.round(resized), x.dtype)

    def _resize(self, x):
        h, w = x.shape[1], x.shape[2]
        if self.crop_to_aspect_ratio:
            top, height = _aspect_window(h, self.height, w, self.width)
            left, width = _aspect_window(w, self.width, h, self.height)
            x = x[:, top:top + height, left:left + width]
        elif self.pad_to_aspect_ratio:
            # Keras pads `top` rows on both sides, so an odd shortfall leaves the ratio one row short
            top = int(float(max(h, int(float(w * self.height) / self.width)) - h) / 2)
            left = int(float(max(w, int(float(h * self.width) / self.height)) - w) / 2)
            x = ops.pad(x - float(self.fill_value), [(0, 0), (top, top), (left, left), (0, 0)]) + float(self.fill_value)
        return _Resample(self._coordinates, self.interpolation, "nearest")(x)

    def _coordinates(self, x):
        xp, (h, w) = array_module(x), x.shape[1:3]
        rows = _resize_coordinates(h, self.height, self.interpolation, x.dtype, xp)
        cols = _resize_coordinates(w, self.width, self.interpolation, x.dtype, xp)
        return rows.reshape(1, -1, 1), cols.reshape(1, 1, -1)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias, "data_format": self.data_format}


class RandomCrop(_ImageLayer):
    """In training, one random height × width window of the batch's images (the same for every image, as
    Keras draws one); in inference, or where the images are not larger than the window, the largest
    central window of the target's aspect ratio resized to height × width, as Resizing(...,
    crop_to_aspect_ratio=True) does: the output is height × width either way."""

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.resize = Resizing(height, width, crop_to_aspect_ratio=True, data_format=data_format)
        self.height, self.width, self.seed = self.resize.height, self.resize.width, seed
        self.data_format = self.resize.data_format
        self._seed_generator = layer_seed(seed)  # None: the framework's generator

    def _transform_images(self, x, training):
        if x.dtype.kind != "f":  # pixels as floats, as Keras casts them, whichever way the crop goes
            x = ops.cast(x, self.dtype or float_dtype())
        height_axis = x.ndim - (2 if self.data_format == "channels_first" else 3)
        h, w = x.shape[height_axis], x.shape[height_axis + 1]
        if not (training and h > self.height and w > self.width):
            return self.resize(x)
        return _on_images(_Resample(self._window, "nearest", "nearest"), x, self.data_format)

    def _window(self, x):
        """The rows and columns of one window drawn for the batch (Keras's uniform offsets, floored)."""
        rng, (h, w) = generator(self._seed_generator), x.shape[1:3]
        top, left = (int(rng.uniform(0, size - target + 1)) for size, target in ((h, self.height), (w, self.width)))
        xp = array_module(x)
        rows, cols = xp.arange(top, top + self.height, dtype=x.dtype), xp.arange(left, left + self.width, dtype=x.dtype)
        return rows.reshape(1, -1, 1), cols.reshape(1, 1, -1)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        height_axis = len(shape) - (2 if self.data_format == "channels_first" else 3)
        shape[height_axis:height_axis + 2] = [self.height, self.width]
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "seed": self.seed,
                "data_format": self.data_format}


def _position_dtype(x):
    """The dtype positions in x are computed in: x's, but at least float32 (float16 cannot tell pixel 600.3
    from 600.25)."""
    return np.promote_types(x.dtype, np.float32)


def _affine_coordinates(transforms, x):
    """Where Keras's affine_transform reads output pixel (i, j) of each image: row b0·j + b1·i + b2,
    column a0·j + a1·i + a2, from `transforms`' rows [a0, a1, a2, b0, b1, b2], each divided by
    c0·j + c1·i + 1 where the rows go on with [c0, c1] (a projective map)."""
    xp, dtype = array_module(x), _position_dtype(x)
    a0, a1, a2, b0, b1, b2, *c = (xp.asarray(t, dtype=dtype).reshape(-1, 1, 1) for t in np.transpose(transforms))
    i = xp.arange(x.shape[1], dtype=dtype).reshape(1, -1, 1)
    j = xp.arange(x.shape[2], dtype=dtype).reshape(1, 1, -1)
    rows, cols = b0 * j + b1 * i + b2, a0 * j + a1 * i + a2
    if not np.any(np.asarray(transforms)[..., 6:]):
        return rows, cols
    depth = c[0] * j + c[1] * i + 1
    return rows / depth, cols / depth


def _number(value):
    return isinstance(value, Real) and not isinstance(value, bool)


def _factor_range(factor, name, low_open=False):
    """(lower, upper) from a factor given as f (meaning ±f) or as a pair, every value within [-1, 1]
    (or (-1, 1] with `low_open`)."""
    pair = isinstance(factor, (tuple, list))
    values = list(factor) if pair else [factor]
    if (pair and len(values) != 2) or not all(_number(v) and (v > -1 if low_open else v >= -1) and v <= 1
                                              for v in values):
        interval = "(-1, 1]" if low_open else "[-1, 1]"
        raise ValueError(f"{name} must be a number or a pair of numbers in {interval}, got {factor!r}")
    return tuple(sorted(float(v) for v in values)) if pair else (-abs(float(factor)), abs(float(factor)))


class _RandomAffine(_ImageLayer):
    """In training, each image moved by its own random affine map (drawn by `_transforms`), the pixels
    it brings in from outside the image given by `fill_mode`; the identity in inference."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        layer = type(self).__name__
        self.fill_mode = _choice(fill_mode, FILL_MODES, "fill_mode", layer)
        self.interpolation = _choice(interpolation, INTERPOLATIONS, "interpolation", layer)
        self.seed, self.fill_value, self.data_format = seed, fill_value, _data_format(data_format)
        self._seed_generator = layer_seed(seed)  # None: the framework's generator

    def _transform_images(self, x, training):
        if not training:
            return x
        resample = _Resample(self._coordinates, self.interpolation, self.fill_mode, float(self.fill_value))
        return _on_images(resample, x, self.data_format)

    def _coordinates(self, x):
        rng = generator(self._seed_generator)

        def uniform(bounds):  # one draw per image, in the images' dtype as Keras computes its transforms
            return rng.uniform(*bounds, x.shape[0]).astype(x.dtype)

        return _affine_coordinates(self._transforms(uniform, *x.shape[1:3]), x)

    def _transforms(self, uniform, h, w):
        """Each image's [a0, a1, a2, b0, b1, b2] (see _affine_coordinates) from `uniform((low, high))`."""
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "seed": self.seed, "fill_value": self.fill_value, "data_format": self.data_format}


class RandomRotation(_RandomAffine):
    """Rotate each image about its centre by a random fraction of a full turn in [lower, upper]
    (`factor` f means ±f; positive is counter-clockwise)."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = self._factor(factor)

    @staticmethod
    def _factor(factor):
        """Keras's checks: a number within [-1, 1], or a pair that reaches into that range."""
        message = f"RandomRotation factor must be a number in [-1, 1] or a pair of numbers, got {factor!r}"
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2 or factor[0] > 1 or factor[1] < -1:
                raise ValueError(message)
            return tuple(sorted(float(f) for f in factor))
        if not _number(factor) or not -1 <= factor <= 1:
            raise ValueError(message)
        return -abs(float(factor)), abs(float(factor))

    def _transforms(self, uniform, h, w):
        angle = uniform((self.factor[0] * 360, self.factor[1] * 360))
        angle = angle * angle.dtype.type(math.pi / 180)
        cos, sin = np.cos(angle), np.sin(angle)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        return np.stack([cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos], axis=1)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(_RandomAffine):
    """Zoom each image about its centre: its height scaled by 1 + a random draw from `height_factor`'s
    range (±f, or a pair, each in (-1, 1]; positive zooms out), its width likewise from `width_factor`,
    or by the same draw as the height when that is None (the aspect ratio kept)."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_range = _factor_range(height_factor, "RandomZoom height_factor", low_open=True)
        self.width_range = None if width_factor is None else _factor_range(
            width_factor, "RandomZoom width_factor", low_open=True)

    def _transforms(self, uniform, h, w):
        zoom_h = 1 + uniform(self.height_range)
        zoom_w = zoom_h if self.width_range is None else 1 + uniform(self.width_range)
        zero = np.zeros_like(zoom_h)
        return np.stack([zoom_w, zero, (w - 1) / 2 * (1 - zoom_w), zero, zoom_h, (h - 1) / 2 * (1 - zoom_h)], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_RandomAffine):
    """Shift each image by a random fraction of its height (from `height_factor`: ±f or a pair, each in
    [-1, 1]; positive moves it down) and of its width (`width_factor`; positive moves it right)."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_range = _factor_range(height_factor, "RandomTranslation height_factor")
        self.width_range = _factor_range(width_factor, "RandomTranslation width_factor")

    def _transforms(self, uniform, h, w):
        shift_h = uniform(self.height_range) * h
        shift_w = uniform(self.width_range) * w
        zero, one = np.zeros_like(shift_h), np.ones_like(shift_h)
        return np.stack([one, zero, -shift_w, zero, one, -shift_h], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomShear(_RandomAffine):
    """Shear each image: output pixel (row i, column j) reads the input at column j + s_x·i and row
    i + s_y·j, s_x drawn in `x_factor`'s range and s_y in `y_factor`'s (f means ±f), and both negated for
    about half the images, as Keras draws them. A pair may reach below 0: Keras saves RandomShear(f)'s
    factor as (-f, f), a pair its own checks refuse to load."""

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 data_format=None, seed=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.x_factor = _factor_range(x_factor, "RandomShear x_factor")
        self.y_factor = _factor_range(y_factor, "RandomShear y_factor")

    def _transforms(self, uniform, h, w):
        sign = np.where(uniform((0, 1)) > 0.5, -1, 1).astype(np.float32)
        shear_x, shear_y = uniform(self.x_factor) * sign, uniform(self.y_factor) * sign
        zero, one = np.zeros_like(shear_x), np.ones_like(shear_x)
        return np.stack([one, shear_x, zero, shear_y, one, zero], axis=1)

    def get_config(self):
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor}


class RandomPerspective(_RandomAffine):
    """With a probability drawn in `factor` for each image, the image seen at a slant: its four corners each
    moved by a fraction, drawn in [-scale/2, scale/2] per coordinate, of their own coordinates, and the
    output read from the input through the homography taking the moved corners back to the corners
    (pixels from outside: fill_value), as Keras 3.15 computes it."""

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0, seed=None, data_format=None,
                 **kwargs):
        super().__init__("constant", interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _color_factor(factor, (0, 1), "RandomPerspective")
        if not (_number(scale) and 0 <= scale <= 1):
            raise ValueError(f"RandomPerspective scale must be a number in [0, 1], got {scale!r}")
        self.scale = scale

    def _coordinates(self, x):
        rng, (n, h, w) = generator(self._seed_generator), x.shape[:3]
        slanted = rng.uniform(0, 1, n) < rng.uniform(*self.factor, n)
        corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=np.float64)
        moved = corners * (1 + rng.uniform(-self.scale / 2, self.scale / 2, (n, 4, 2)))
        maps = np.where(slanted[:, None], _homography(corners, moved), [1, 0, 0, 0, 1, 0, 0, 0])
        a0, a1, a2, b0, b1, b2, c0, c1 = (m.reshape(-1, 1, 1) for m in maps.T)
        cols, rows = np.arange(w, dtype=np.float64).reshape(1, 1, w), np.arange(h, dtype=np.float64).reshape(1, h, 1)
        depth = c0 * cols + c1 * rows + 1
        xp = array_module(x)
        return (xp.asarray(((b0 * cols + b1 * rows + b2) / depth).astype(x.dtype)),
                xp.asarray(((a0 * cols + a1 * rows + a2) / depth).astype(x.dtype)))

    def get_config(self):
        config = {k: v for k, v in super().get_config().items() if k != "fill_mode"}
        return {**config, "factor": self.factor, "scale": self.scale}


class RandomElasticTransform(_RandomAffine):
    """With a probability drawn in `factor` for each image, the image warped by a smooth random field, as
    Keras 3.15's elastic_transform computes it: each pixel read from where a displacement moves it, the
    displacements normal draws times σ, blurred by a Gaussian of σ (kernel int(6σ) | 1 wide, zeros around)
    and scaled by α, with σ = 0.05·s·min(height, width) and α = 0.1·s·max(height, width) for s drawn in
    `scale` once per batch; then every image clipped to value_range."""

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _color_factor(factor, (0, 1), "RandomElasticTransform")
        self.scale = _color_factor(scale, (0, 1), "RandomElasticTransform", "scale")
        self.value_range = tuple(_checked_value_range(value_range, "RandomElasticTransform"))

    def _transform_images(self, x, training):
        if not training or self.scale[1] == 0 or self.factor[1] == 0:  # Keras draws nothing then
            return x
        return ops.clip(super()._transform_images(x, training), min(self.value_range), max(self.value_range))

    def _coordinates(self, x):
        rng, (n, h, w) = generator(self._seed_generator), x.shape[:3]
        warped = rng.uniform(0, 1, n) < rng.uniform(*self.factor, n)
        s = rng.uniform(*self.scale)
        return _elastic_coordinates(rng, x, max(h, w) * 0.1 * s, min(h, w) * 0.05 * s, warped)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale, "value_range": self.value_range}


def _elastic_coordinates(rng, x, alpha, sigma, warped):
    """Where an elastic warp reads each pixel of the images x (batch, height, width, channels): displaced by
    α times normal draws (times σ) blurred by a Gaussian of σ, int(6σ) | 1 wide; the images not `warped`
    stay where they are."""
    n, h, w = x.shape[:3]
    size = int(6 * sigma) | 1
    dx, dy = (_blurred(rng.standard_normal((n, h, w)) * sigma, size, sigma) * alpha * warped[:, None, None]
              for _ in range(2))
    rows = np.arange(h, dtype=np.float64).reshape(1, h, 1) + dy
    cols = np.arange(w, dtype=np.float64).reshape(1, 1, w) + dx
    xp = array_module(x)
    return xp.asarray(rows.astype(_position_dtype(x))), xp.asarray(cols.astype(_position_dtype(x)))


def _blurred(fields, size, sigma):
    """Each (height, width) field convolved with a size × size Gaussian of σ, zeros around it: the Gaussian is
    a product of one along the rows and one along the columns, so two 1-D passes."""
    offsets = np.arange(size) - (size - 1) / 2
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    half = size // 2
    for axis in (1, 2):
        widths = [(0, 0)] * 3
        widths[axis] = (half, half)
        padded, length = np.pad(fields, widths), fields.shape[axis]
        fields = sum(weight * padded.take(np.arange(k, k + length), axis=axis) for k, weight in enumerate(kernel))
    return fields


def _homography(corners, moved):
    """For each image, the 8 numbers (a0, a1, a2, b0, b1, b2, c0, c1) of the map taking each moved corner
    (x, y) to its corner: ((a0·x + a1·y + a2) / d, (b0·x + b1·y + b2) / d), d = c0·x + c1·y + 1. `moved`
    is (images, 4, 2); `corners` (4, 2), the same for every image, or one set per image."""
    n, equations, targets = len(moved), [], []
    corners = np.broadcast_to(corners, moved.shape)
    for k in range(4):
        x0, y0, x, y = corners[:, k, 0], corners[:, k, 1], moved[:, k, 0], moved[:, k, 1]
        one, zero = np.ones(n), np.zeros(n)
        equations += [np.stack([x, y, one, zero, zero, zero, -x0 * x, -x0 * y], axis=1),
                      np.stack([zero, zero, zero, x, y, one, -y0 * x, -y0 * y], axis=1)]
        targets += [x0, y0]
    return np.linalg.solve(np.stack(equations, axis=1), np.stack(targets, axis=1)[..., None])[..., 0]


def _checked_value_range(value_range, layer):
    """value_range as given, once it is a pair of numbers."""
    if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2 and all(map(_number, value_range))):
        raise ValueError(f"{layer} value_range must be a pair of numbers, got {value_range!r}")
    return value_range


def _color_factor(factor, bounds, layer, name="factor"):
    """Keras's (lower, upper) from `factor`: a pair (sorted), or a number f in bounds giving (max(-f, low), f)."""
    low, high = bounds
    pair = isinstance(factor, (tuple, list))
    if pair and (len(factor) != 2 or not all(map(_number, factor)) or factor[0] > high or factor[1] < low) or \
            not pair and (not _number(factor) or not low <= factor <= high):
        raise ValueError(f"{layer} {name} must be a number or a pair of numbers in [{low}, {high}], got {factor!r}")
    if pair:
        return tuple(sorted(float(f) for f in factor))
    return max(-abs(float(factor)), low), abs(float(factor))


class _RandomColor(_ImageLayer):
    """In training, every value of each image changed by an amount drawn for that image (`_change`), then
    clipped to value_range; the identity in inference. The draw is an op of the step, so a replayed step
    draws anew."""

    bounds = (-1, 1)

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        layer = type(self).__name__
        self.factor = _color_factor(factor, self.bounds, layer)
        self.value_range = _checked_value_range(value_range, layer)
        self.seed, self.data_format = seed, _data_format(data_format)
        self._seed_generator = layer_seed(seed)

    def _transform_images(self, x, training):
        if not training:
            return x
        if x.ndim not in (3, 4):
            raise ValueError(f"{self.name} expects one image (rank 3) or a batch (rank 4), got shape {x.shape}")
        low, high = self._draw_range()
        drawn = uniform((x.shape[0], 1, 1, 1) if x.ndim == 4 else (1, 1, 1), low, high, dtype=x.dtype,
                        seed=self._seed_generator)
        return ops.clip(self._change(x, drawn), min(self.value_range), max(self.value_range))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed,
                "data_format": self.data_format}


class RandomBrightness(_RandomColor):
    """Brightness: each image shifted by a fraction, drawn in [lower, upper], of value_range's width (0.2:
    ±20 %, up to ±51 on 0-255 images)."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor, sorted(value_range) if isinstance(value_range, (tuple, list)) else value_range,
                         seed, **kwargs)

    def _draw_range(self):
        return self.factor

    def _change(self, x, fraction):
        return x + fraction * float(self.value_range[1] - self.value_range[0])


class RandomContrast(_RandomColor):
    """Contrast: each image's distance from its mean (per channel) scaled by a factor drawn in
    [1 - lower, 1 + upper]. As Keras 3.15 computes it, a single number f gives lower = 0: factors in
    [1, 1 + f] (its docstring says [1 - f, 1 + f]); a pair (lower, upper) gives the documented range."""

    bounds = (0, 1)

    def _draw_range(self):
        return 1.0 - self.factor[0], 1.0 + self.factor[1]

    def _change(self, x, factor):
        axes = (-2, -1) if self.data_format == "channels_first" else (-3, -2)
        mean = x.mean(axis=axes, keepdims=True)
        return (x - mean) * factor + mean
