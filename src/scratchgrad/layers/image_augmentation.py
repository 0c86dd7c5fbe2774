"""Keras 3's image augmentations that change pixel values or mix images, numerically as Keras 3.15 computes
them: RandomGrayscale, RandomInvert, Solarization, AutoContrast, RandomPosterization,
RandomColorDegeneration, RandomSharpness, Equalization, RandomSaturation, RandomHue (with RandomBrightness
and RandomContrast, RandomColorJitter) and RandomGaussianBlur change each image's values; RandomErasing
blanks a random box of each; MixUp and CutMix blend each image with another of the batch and its label with
the other's in the same proportion. RandAugment and AugMix draw some of them per batch; Pipeline chains
layers.

As Keras's image layers, each takes images (one, or a batch) or a dict {"images": ..., "labels": ...} and
returns the same kind; each augments when called with no `training` (Keras's default True) and in `fit`,
and is the identity with training=False (`predict`, `evaluate`), but AutoContrast, which Keras applies
either way. Its random draws are ops of the step, so a replayed step draws anew; the images'
gradient flows through each (RandomPosterization's and Equalization's steps of values pass none).
"""

import numpy as np

from .. import ops
from ..autograd import Function, values_escaped
from ..backend import array_module, epsilon
from ..random import _draw_op, beta, gamma, generator, layer_seed, normal, randint, shuffle, uniform
from ..tensor import Tensor
from . import image_preprocessing
from .base import Layer
from .image_preprocessing import _checked_value_range, _color_factor, _data_format, _number, _on_images

GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)  # tf.image.rgb_to_grayscale's, as Keras's


def _value_range(value_range, layer):
    return tuple(sorted(_checked_value_range(value_range, layer)))


def _rescale(x, source, target):
    """Values from the `source` range to the `target` range, as Keras's _transform_value_range computes it."""
    if tuple(source) == tuple(target):
        return x
    return (x - source[0]) / (source[1] - source[0]) * (target[1] - target[0]) + target[0]


def _to_255(x, value_range):
    return _rescale(x, value_range, (0, 255))


def _from_255(x, value_range):
    return _rescale(x, (0, 255), value_range)


def _convolve_same(images, kernel, spatial_axes):
    """Each channel convolved with the (rows, columns) `kernel` (numbers or a Tensor), zeros around the image:
    Keras's depthwise "same" convolution of a symmetric kernel, as a weighted sum of shifted windows."""
    (rows, cols), (kh, kw) = spatial_axes, kernel.shape
    h, w = images.shape[rows], images.shape[cols]
    widths = [(0, 0)] * 4
    widths[rows], widths[cols] = ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)
    padded, total = ops.pad(images, widths), 0.0
    for i in range(kh):
        for j in range(kw):
            window = [slice(None)] * 4
            window[rows], window[cols] = slice(i, i + h), slice(j, j + w)
            total = total + padded[tuple(window)] * kernel[i, j]
    return total


class _Augmentation(Layer):
    """What the augmentations share: images or a dict of images and labels in, the same out; one
    transformation drawn per call (`_draw`) changes the images (`_images`) and, for the mixing layers, the
    labels (`_labels`). A single image (rank 3) is a batch of one."""

    in_inference = False  # whether training=False applies it too (Keras's AutoContrast ignores training)
    seeded = True  # whether it draws (and so takes a seed)

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed, self.data_format = seed, _data_format(data_format)
        self._seed_generator = layer_seed(seed)

    def call(self, data, training=True):
        self._check_keys(data)
        if not (training or self.in_inference):
            return data
        images = data["images"] if isinstance(data, dict) else data
        single = images.ndim == 3  # one image (and its label): a batch of one
        batch = self._as_batch(images)
        drawn = self._draw(batch)
        out = self._images(batch, drawn)
        out = ops.squeeze(out, 0) if single else out
        if not isinstance(data, dict):
            return out
        if "labels" not in data:
            return {**data, "images": out}
        labels = self._labels(ops.expand_dims(data["labels"], 0) if single else data["labels"], drawn)
        return {**data, "images": out, "labels": ops.squeeze(labels, 0) if single else labels}

    def _check_keys(self, data):
        if isinstance(data, dict):
            image_preprocessing.refuse_boxes_and_masks(data, self.name)

    def _as_batch(self, images):
        """Images as a float batch (rank 4): pixels as floats, as Keras casts them (the layer's dtype, a float)."""
        if images.ndim not in (3, 4):
            raise ValueError(f"{self.name} expects one image (rank 3) or a batch of images (rank 4), "
                             f"got shape {tuple(images.shape)}")
        batch = ops.expand_dims(images, 0) if images.ndim == 3 else images
        return batch if batch.dtype.kind == "f" else ops.cast(batch, self.dtype)

    def _draw(self, images):
        return None

    def _labels(self, labels, drawn):
        return labels

    def _uniform(self, shape, low, high, dtype):
        return uniform(shape, low, high, dtype=dtype, seed=self._seed_generator)

    def _chance(self, images, factor):
        """Keras's coin per image, shaped to broadcast over it: a probability drawn in factor, then True
        where a uniform draw falls below it."""
        n = images.shape[0]
        probability = self._uniform((n,), factor[0], factor[1], images.dtype)
        return ops.reshape(ops.less(self._uniform((n,), 0.0, 1.0, images.dtype), probability), (n, 1, 1, 1))

    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def _spatial_axes(self):
        return (2, 3) if self.data_format == "channels_first" else (1, 2)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, **({"seed": self.seed} if self.seeded else {})}


class _Valued(_Augmentation):
    """An augmentation set by a factor range and the images' value range."""

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


def _grayscale(images, channel_axis):
    """Keras's rgb_to_grayscale: the weighted sum of R, G and B, one channel (a 1-channel image: itself)."""
    channels = images.shape[channel_axis]
    if channels == 1:
        return images
    if channels != 3:
        raise ValueError(f"grayscale needs RGB images (3 channels) or gray ones (1), got {channels} channels")
    weights = np.asarray(GRAY_WEIGHTS, dtype=images.dtype)
    return ops.expand_dims(ops.tensordot(images, weights, axes=([channel_axis], [0])), channel_axis)


class RandomGrayscale(_Augmentation):
    """Each image turned gray with probability `factor` (its three channels each the gray value)."""

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        if not (_number(factor) and 0 <= factor <= 1):
            raise ValueError(f"RandomGrayscale factor must be a number in [0, 1], got {factor!r}")
        self.factor = factor

    def _draw(self, images):
        return self._chance(images, (self.factor, self.factor))

    def _images(self, images, gray):
        return ops.where(gray, _grayscale(images, self._channel_axis()), images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomInvert(_Valued):
    """Each image inverted (value_range's top minus each value) with a probability drawn in `factor` for it;
    as Keras computes it, factor=1.0 draws that probability in [0, 1], so half the images on average: (1, 1)
    inverts every image."""

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _color_factor(factor, (0, 1), "RandomInvert", "factor")
        self.value_range = _value_range(value_range, "RandomInvert")

    def _draw(self, images):
        return self._chance(images, self.factor)

    def _images(self, images, invert):
        return ops.where(invert, float(self.value_range[1]) - images, images)


class Solarization(_Augmentation):
    """On the 0-255 scale, each image gets an addition drawn in [a₀, 255·a₁] (addition_factor (a₀, a₁)), is
    clipped to 0-255, and every value at or above a threshold drawn in [t₀, 255·t₁] is inverted (255 - v).
    As Keras computes it, the defaults (0, 0) invert every value."""

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed, kwargs.pop("data_format", None), **kwargs)
        self.addition_factor = _color_factor(addition_factor, (0, 1), "Solarization", "addition_factor")
        self.threshold_factor = _color_factor(threshold_factor, (0, 1), "Solarization", "threshold_factor")
        self.value_range = _value_range(value_range, "Solarization")

    def _draw(self, images):
        shape = (images.shape[0], 1, 1, 1)
        return [self._uniform(shape, factor[0], factor[1] * 255, images.dtype)
                for factor in (self.addition_factor, self.threshold_factor)]

    def _images(self, images, drawn):
        additions, thresholds = drawn
        x = ops.clip(_to_255(images, self.value_range) + additions, 0.0, 255.0)
        return _from_255(ops.where(ops.less(x, thresholds), x, 255.0 - x), self.value_range)

    def get_config(self):
        return {**super().get_config(), "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor, "value_range": self.value_range}


class AutoContrast(_Augmentation):
    """Each channel of each image stretched so its lowest value becomes value_range's bottom and its highest
    the top (a flat channel is left as it is). Not random, and applied in inference too, as Keras does."""

    in_inference, seeded = True, False

    def __init__(self, value_range=(0, 255), data_format=None, **kwargs):
        super().__init__(None, data_format, **kwargs)
        self.value_range = _value_range(value_range, "AutoContrast")

    def _images(self, images, drawn):
        x = _to_255(images, self.value_range)
        low = ops.min(x, axis=self._spatial_axes(), keepdims=True)
        high = ops.max(x, axis=self._spatial_axes(), keepdims=True)
        flat = ops.equal(high, low)  # Keras's 255/0 = inf gives NaN there, which it replaces by the input
        scale = 255.0 / ops.where(flat, 1.0, high - low)
        out = _from_255(ops.clip(x * scale + -low * scale, 0.0, 255.0), self.value_range)
        return ops.where(ops.logical_or(flat, ops.isnan(out)), images, out)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


class ContrastLimitedAdaptiveHistogramEqualization(_Augmentation):
    """CLAHE, as Keras 3.15 computes it: each image cut into tile_grid_size (rows, columns) tiles, padded by
    reflection to whole tiles; each tile's and channel's 256-bin histogram of its values (on the 0-255
    scale, truncated) cut at clip_limit times the even share (tile pixels / 256), what was cut spread over
    all bins, and its cumulative histogram stretched to 0-255; each pixel then mapped through the four
    nearest tiles' mappings, weighed by its distance to their centres (edge tiles repeated beyond the
    image). Local contrast rises without the noise plain equalization brings. Not random, applied in
    inference too, and integer images come back in their dtype (Keras's); its steps of values pass no
    gradient."""

    in_inference, seeded = True, False

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8), data_format=None, **kwargs):
        super().__init__(None, data_format, **kwargs)
        self.value_range = _value_range(value_range, "ContrastLimitedAdaptiveHistogramEqualization")
        if not _number(clip_limit):
            raise ValueError(f"clip_limit must be a number, got {clip_limit!r}")
        grid = tuple(tile_grid_size) if isinstance(tile_grid_size, (tuple, list)) else ()
        if len(grid) != 2 or not all(isinstance(g, (int, np.integer)) and g > 0 for g in grid):
            raise ValueError(f"tile_grid_size must be (rows, columns), two positive integers, got {tile_grid_size!r}")
        self.clip_limit, self.tile_grid_size = clip_limit, tuple(int(g) for g in grid)

    def _as_tensor(self, value):  # integer images stay integers on the way in, so that they come back so
        if isinstance(value, np.ndarray) and value.dtype.kind in "ui":
            return Tensor(value)
        return super()._as_tensor(value)

    def call(self, data, training=True):
        """As the other augmentations, but integer images come back in their dtype (truncated), as Keras's."""
        images = data["images"] if isinstance(data, dict) else data
        out = super().call(data, training)
        if np.dtype(images.dtype).kind == "f":
            return out
        if isinstance(out, dict):
            return {**out, "images": ops.cast(out["images"], images.dtype)}
        return ops.cast(out, images.dtype)

    def _images(self, images, drawn):
        return _Clahe(self.clip_limit, self.tile_grid_size, self.value_range, self._channel_axis())(images)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "clip_limit": self.clip_limit,
                "tile_grid_size": self.tile_grid_size}


class _Clahe(Function):
    differentiable = False

    def __init__(self, clip_limit, grid, value_range, channel_axis):
        self.clip_limit, self.grid, self.value_range, self.channel_axis = clip_limit, grid, value_range, channel_axis

    def forward(self, images):
        xp, f32 = array_module(images), np.float32
        x = _to_255(xp.moveaxis(images, self.channel_axis, -1).astype(f32), self.value_range)
        (n, h, w, c), (gh, gw) = x.shape, self.grid
        th, tw = -(-h // gh), -(-w // gw)
        padded = xp.pad(x, ((0, 0), (0, th * gh - h), (0, tw * gw - w), (0, 0)), mode="symmetric")
        pixels = xp.clip(padded, 0, 255).astype(np.int32)
        mapping = self._tile_mappings(xp, pixels, (n, gh, th, gw, tw, c))
        mapping = xp.pad(mapping, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")  # edge tiles beyond
        (y0, y1, wy), (x0, x1, wx) = (self._neighbours(xp, size * tiles, size, tiles)
                                      for size, tiles in ((th, gh), (tw, gw)))
        b, ch = xp.arange(n)[:, None, None, None], xp.arange(c)[None, None, None, :]
        wy, wx = wy[None, :, None, None], wx[None, None, :, None]

        def read(rows, cols):
            return mapping[b, rows[None, :, None, None], cols[None, None, :, None], ch, pixels]

        top = read(y0, x0) * (1 - wx) + read(y0, x1) * wx
        bottom = read(y1, x0) * (1 - wx) + read(y1, x1) * wx
        out = (top * (1 - wy) + bottom * wy)[:, :h, :w]
        return xp.moveaxis(_from_255(out, self.value_range), -1, self.channel_axis).astype(images.dtype)

    def _tile_mappings(self, xp, pixels, shape):
        """Each tile's and channel's map of the 256 values: its clipped cumulative histogram, stretched."""
        n, gh, th, gw, tw, c = shape
        tiles = pixels.reshape(shape).transpose(0, 1, 3, 5, 2, 4).reshape(-1, th * tw)  # (tile and channel, pixels)
        offsets = xp.arange(len(tiles))[:, None] * 256
        counts = xp.bincount((tiles + offsets).ravel(), minlength=256 * len(tiles)).reshape(n, gh, gw, c, 256)
        counts, area = counts.astype(np.float32), np.float32(th * tw)
        if self.clip_limit > 0:
            clipped = xp.clip(counts, 0, np.float32(self.clip_limit * th * tw / 256.0))
            counts = clipped + (counts - clipped).sum(axis=-1, keepdims=True) / np.float32(256)
        cdf = xp.cumsum(counts, axis=-1)
        low = cdf.min(axis=-1, keepdims=True)
        spread = area - low
        return xp.clip((cdf - low) * np.float32(255) / xp.where(spread == 0, np.float32(1), spread), 0, 255)

    @staticmethod
    def _neighbours(xp, length, size, tiles):
        """Along an axis of `length` pixels: each pixel's two nearest tile centres, as indices into the
        edge-padded tiles, and its weight on the second."""
        position = (xp.arange(length, dtype=np.float32) - np.float32(size / 2.0)) / np.float32(size) + 1
        first = xp.floor(position)
        weight = position - first
        return (xp.clip(first, 0, tiles + 1).astype(np.int32), xp.clip(first + 1, 0, tiles + 1).astype(np.int32),
                weight)


class RandomPosterization(_Valued):
    """Each image's values (on the 0-255 scale) kept to their top b bits, b drawn per image from
    [factor's lower, factor's upper) (Keras's integer draw; b = lower where the two are equal): fewer
    colours, posters' flat areas."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        low, high = _color_factor(factor, (1, 8), "RandomPosterization", "factor")
        self.factor = (int(low), int(high))
        self.value_range = _value_range(value_range, "RandomPosterization")

    def _draw(self, images):
        n, (low, high) = images.shape[0], self.factor
        bits = self._uniform((n,), low, high, images.dtype) if low != high else np.full(n, low, images.dtype)
        return ops.reshape(2.0 ** (8 - ops.floor(bits)), (n, 1, 1, 1))  # the step between kept values

    def _images(self, images, step):
        x = ops.clip(_to_255(images, self.value_range), 0.0, 255.0)
        return _from_255(ops.floor(ops.floor(x) / step) * step, self.value_range)


class RandomColorDegeneration(_Valued):
    """Each image moved toward its gray version by a fraction drawn in factor's range (a number f: [-f, f],
    a negative fraction moving away from gray), then clipped to value_range."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _color_factor(factor, (-1, 1), "RandomColorDegeneration", "factor")
        self.value_range = _value_range(value_range, "RandomColorDegeneration")

    def _draw(self, images):
        return self._uniform((images.shape[0], 1, 1, 1), *self.factor, images.dtype)

    def _images(self, images, fraction):
        gray = _grayscale(images, self._channel_axis())
        return ops.clip(images + fraction * (gray - images), *self.value_range)


def _rgb_to_hsv(images):
    """Keras's rgb_to_hsv (after dm_pix) on channels-last RGB: hue, saturation and value, each (batch, h, w)."""
    if images.shape[-1] != 3:
        raise ValueError(f"hue and saturation need RGB images (3 channels), got {images.shape[-1]} channels")
    images = ops.where(ops.less(ops.abs(images), float(np.finfo(images.dtype).eps)), 0.0, images)
    r, g, b = images[..., 0], images[..., 1], images[..., 2]
    value = ops.maximum(ops.maximum(r, g), b)
    spread = value - ops.minimum(ops.minimum(r, g), b)
    lit, coloured = ops.greater(value, 0.0), ops.greater(spread, 0.0)
    saturation = ops.where(lit, spread / ops.where(lit, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * ops.where(coloured, spread, 1.0))
    hue = ops.where(ops.equal(value, g), norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = ops.where(ops.equal(value, r), norm * (g - b), hue)
    return ops.where(coloured, hue, 0.0) + ops.cast(ops.less(hue, 0.0), hue.dtype), saturation, value


def _hsv_to_rgb(hue, saturation, value):
    """Keras's hsv_to_rgb: channels-last RGB from hue, saturation and value."""
    sixths = ops.mod(hue, 1.0) * 6.0
    red = ops.clip(ops.abs(sixths - 3.0) - 1.0, 0.0, 1.0)
    green, blue = (ops.clip(2.0 - ops.abs(sixths - centre), 0.0, 1.0) for centre in (2.0, 4.0))
    return ops.stack([value * (1.0 - saturation + saturation * part) for part in (red, green, blue)], axis=-1)


class RandomSaturation(_Valued):
    """Each image's HSV saturation scaled by f/(1 - f + ε), f drawn in factor's range for it (f: [-f, f]; a
    negative draw grays the image), then clipped to value_range, as Keras computes it (on the image's own
    values, not rescaled: a saturation past 1 gives colours out of range)."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _color_factor(factor, (-1, 1), "RandomSaturation")
        self.value_range = _value_range(value_range, "RandomSaturation")

    def _draw(self, images):
        n = images.shape[0]
        f = self._uniform((n,), *self.factor, images.dtype)
        return ops.reshape(f / (1.0 - f + epsilon()), (n, 1, 1))

    def _images(self, images, scale):
        def saturate(x):
            hue, saturation, value = _rgb_to_hsv(x)
            return _hsv_to_rgb(hue, ops.clip(saturation * scale, *self.value_range), value)

        return _on_images(saturate, images, self.data_format)


class RandomHue(_Valued):
    """Each image's hue turned by ±f/2 of the colour circle, f drawn in factor's range (f: [0, f]) and the
    sign at random for it, on the image rescaled to 0-1, as Keras computes it."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _color_factor(factor, (0, 1), "RandomHue")
        self.value_range = _value_range(value_range, "RandomHue")

    def _draw(self, images):
        n, dtype = images.shape[0], images.dtype
        sign = 1.0 - 2.0 * ops.cast(ops.greater(self._uniform((n,), 0.0, 1.0, dtype), 0.5), dtype)  # -1 or 1
        return ops.reshape(sign * self._uniform((n,), *self.factor, dtype) * 0.5, (n, 1, 1))

    def _images(self, images, turn):
        def turned(x):
            hue, saturation, value = _rgb_to_hsv(x)
            hue = hue + turn
            hue = ops.where(ops.greater(hue, 1.0), hue - 1.0, hue)
            hue = ops.where(ops.less(hue, 0.0), hue + 1.0, hue)
            return ops.clip(_hsv_to_rgb(hue, saturation, value), 0.0, 1.0)

        unit = _on_images(turned, _rescale(images, self.value_range, (0, 1)), self.data_format)
        return _rescale(unit, (0, 1), self.value_range)


class RandomColorJitter(_Augmentation):
    """RandomBrightness, RandomContrast, RandomSaturation and RandomHue one after another, each where its
    factor is given, each making its own draws from this layer's one generator."""

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None, saturation_factor=None,
                 hue_factor=None, seed=None, data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.value_range = _value_range(value_range, "RandomColorJitter")
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        common = {"value_range": self.value_range, "seed": seed}
        spatial = {**common, "data_format": self.data_format}
        makers = ((brightness_factor, lambda f: image_preprocessing.RandomBrightness(f, **common)),
                  (contrast_factor, lambda f: image_preprocessing.RandomContrast(f, **spatial)),
                  (saturation_factor, lambda f: RandomSaturation(f, **spatial)),
                  (hue_factor, lambda f: RandomHue(f, **spatial)))
        self.jitters = _sharing_a_generator([make(factor) for factor, make in makers if factor is not None],
                                            self._seed_generator)

    def _images(self, images, drawn):
        for layer in self.jitters:
            images = layer(images, training=True)
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor, "saturation_factor": self.saturation_factor,
                "hue_factor": self.hue_factor}


class RandomGaussianBlur(_Augmentation):
    """With a probability drawn in `factor` for each image, the image blurred by a Gaussian of kernel_size
    (an odd number, or a (width, height) pair) whose standard deviations (width's, height's) are drawn in
    sigma's range once per batch; every image then clipped to value_range, as Keras computes it."""

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255), data_format=None, seed=None,
                 **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _color_factor(factor, (0, 1), "RandomGaussianBlur")
        sizes = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
        if len(sizes) != 2 or not all(isinstance(k, int) and k > 0 and k % 2 for k in sizes):
            raise ValueError(f"RandomGaussianBlur kernel_size must be an odd number or two, got {kernel_size!r}")
        self.kernel_size = sizes
        self.sigma = _color_factor(sigma, (0, 1), "RandomGaussianBlur", "sigma")
        self.value_range = _value_range(value_range, "RandomGaussianBlur")

    def _draw(self, images):
        return self._chance(images, self.factor), self._uniform((2,), *self.sigma, images.dtype) + 1e-6

    def _images(self, images, drawn):
        blur, sigma = drawn
        across, down = (self._gaussian(size, sigma[k], images.dtype) for k, size in enumerate(self.kernel_size))
        kernel = ops.reshape(down, (-1, 1)) * ops.reshape(across, (1, -1))
        blurred = _convolve_same(images, kernel, self._spatial_axes())
        return ops.clip(ops.where(blur, blurred, images), *self.value_range)

    @staticmethod
    def _gaussian(size, sigma, dtype):
        offsets = np.arange(size, dtype=dtype) - (size - 1) / 2
        weights = ops.exp(-0.5 * (offsets / sigma) ** 2)
        return weights / ops.sum(weights)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "kernel_size": self.kernel_size, "sigma": self.sigma,
                "value_range": self.value_range}


class RandomSharpness(_Valued):
    """Each image sharpened or blurred: x + (1 - 2s)·(smooth(x) - x), s drawn in factor's range for it
    (factor f: [0, f]; s = ½ leaves the image, less blurs toward the 3×3 smoothing kernel [1 1 1; 1 5 1;
    1 1 1]/13, more sharpens), then clipped to value_range."""

    KERNEL = ((1, 1, 1), (1, 5, 1), (1, 1, 1))  # thirteenths

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _color_factor(factor, (0, 1), "RandomSharpness")
        self.value_range = _value_range(value_range, "RandomSharpness")

    def _draw(self, images):
        return self._uniform((images.shape[0], 1, 1, 1), *self.factor, images.dtype) * 2.0

    def _images(self, images, twice):
        smooth = _convolve_same(images, np.asarray(self.KERNEL) / 13.0, self._spatial_axes())
        return ops.clip(images + (1.0 - twice) * (smooth - images), *self.value_range)


class Equalization(_Augmentation):
    """Histogram equalization, as Keras computes it: each channel's values, over the whole batch at once, on
    the 0-255 scale in `bins` bins, mapped through their cumulative histogram so that they spread evenly
    over 0-255 (a channel whose values all fall in one bin is left as it is). Not random; its steps of
    values pass no gradient."""

    seeded = False

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(None, data_format, **kwargs)
        self.value_range = _value_range(value_range, "Equalization")
        if not (isinstance(bins, int) and bins >= 2):
            raise ValueError(f"Equalization bins must be an integer of at least 2, got {bins!r}")
        self.bins = bins

    def _images(self, images, drawn):
        return _Equalize(self.bins, self.value_range, self._channel_axis())(images)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "bins": self.bins}


class _Equalize(Function):
    differentiable = False

    def __init__(self, bins, value_range, channel_axis):
        self.bins, self.value_range, self.channel_axis = bins, value_range, channel_axis

    def forward(self, images):
        xp, dtype = array_module(images), images.dtype
        channels = [self._channel(xp, _to_255(channel, self.value_range))
                    for channel in xp.moveaxis(images, self.channel_axis, 0)]
        return xp.moveaxis(_from_255(xp.stack(channels), self.value_range), 0, self.channel_axis).astype(dtype)

    def _channel(self, xp, x):
        bins = self.bins
        counts = xp.bincount(xp.clip((x * (bins - 1) / 255).astype(np.int32), 0, bins - 1).ravel(), minlength=bins)
        if xp.count_nonzero(counts) <= 1:
            return x
        cdf = xp.cumsum(counts)
        lowest = cdf[xp.flatnonzero(cdf)[0]]
        spread = (cdf[-1] - lowest) or 1
        lookup = xp.clip(xp.round((cdf - lowest) * 255 / spread), 0, 255).astype(x.dtype)
        # Keras computes a value's bin one way for the histogram and another for the lookup: kept, for its numbers
        return lookup[xp.clip(x / 255.0 * (bins - 1), 0, bins - 1).astype(np.int32)]


class _Boxes(_Augmentation):
    """A box per image, as Keras draws it: its height and width fractions of the image's, its corner uniform
    over where it fits; True inside it (a mask over the image, for every channel)."""

    def _box(self, images, height_fraction, width_fraction):
        n, mask = images.shape[0], None
        for axis, fraction in zip(self._spatial_axes(), (height_fraction, width_fraction)):
            size = images.shape[axis]
            length = ops.reshape(fraction * float(size), (n, 1, 1, 1))
            start = ops.reshape(self._uniform((n,), 0.0, 1.0, images.dtype), (n, 1, 1, 1)) * (float(size) - length)
            shape = [1, 1, 1, 1]
            shape[axis] = size
            grid = ops.reshape(ops.arange(size, dtype=images.dtype), shape)
            inside = ops.logical_and(ops.greater_equal(grid, start), ops.less(grid, start + length))
            mask = inside if mask is None else ops.logical_and(mask, inside)
        return mask


class RandomErasing(_Boxes):
    """With a probability drawn in `factor` for each image, a box of it is erased: filled with `fill_value`
    (a number, or one per RGB channel) or, where None, Keras's noise (normal draws times value_range's top),
    clipped to value_range. The box's sides are √s of the image's, s drawn in `scale` for each side."""

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255), seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _color_factor(factor, (0, 1), "RandomErasing", "factor")
        self.scale = _color_factor(scale, (0, 1), "RandomErasing", "scale")
        if not (fill_value is None or _number(fill_value) or
                isinstance(fill_value, (tuple, list)) and len(fill_value) == 3 and all(map(_number, fill_value))):
            raise ValueError(f"RandomErasing fill_value must be None, a number or three numbers, got {fill_value!r}")
        self.fill_value, self.value_range = fill_value, _value_range(value_range, "RandomErasing")

    def _draw(self, images):
        n = images.shape[0]
        sides = ops.sqrt(self._uniform((n, 2), *self.scale, images.dtype))
        box = self._box(images, sides[:, 1], sides[:, 0])  # Keras: column 0 the width's, 1 the height's
        erase = self._chance(images, self.factor)
        return ops.logical_and(box, erase), self._fill(images)

    def _fill(self, images):
        if self.fill_value is None:
            fill = normal(images.shape, dtype=images.dtype, seed=self._seed_generator) * float(self.value_range[1])
        else:
            values = np.asarray(self.fill_value, dtype=images.dtype)
            channels = images.shape[self._channel_axis()]
            if values.ndim and channels != 3:
                raise ValueError(f"{self.name}: a fill_value of three numbers fills RGB images (3 channels), "
                                 f"got {channels} channels")
            if values.ndim:
                values = values.reshape((1, 3, 1, 1) if self.data_format == "channels_first" else (1, 1, 1, 3))
            fill = ops.ones_like(images) * values
        return ops.clip(fill, *self.value_range)

    def _images(self, images, drawn):
        erased, fill = drawn
        return ops.where(erased, fill, images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale, "fill_value": self.fill_value,
                "value_range": self.value_range}


def _sharing_a_generator(layers, generator):
    """`layers` drawing from one generator, as Keras's composite layers draw their parts' transforms (their
    configs keep the int seed; None draws from the framework's generator)."""
    for layer in layers:
        layer._seed_generator = generator
    return layers


class _Composite(_Augmentation):
    """RandAugment's and AugMix's shared part: Keras's candidate augmentations, named as Keras's attributes,
    each with strength `factor` (f: [0, f]), all drawing from this layer's one generator."""

    ORDER = ()  # the candidates' names, in Keras's order

    def __init__(self, value_range, factor, interpolation, seed, data_format, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        layer = type(self).__name__
        self.value_range = _value_range(value_range, layer)
        self.factor = _color_factor(factor, (0, 1), layer)
        self.interpolation = image_preprocessing._choice(interpolation, image_preprocessing.INTERPOLATIONS,
                                                         "interpolation", layer)
        self.candidates = _sharing_a_generator(self._candidates(), self._seed_generator)

    def _candidates(self):
        f, values, data_format = self.factor, self.value_range, self.data_format
        motion = {"interpolation": self.interpolation, "seed": self.seed, "data_format": data_format}
        colours = {"value_range": values, "seed": self.seed}
        moved = image_preprocessing  # the layers that move pixels, and RandomBrightness and RandomContrast
        makers = {
            "random_shear": lambda: moved.RandomShear(f, f, **motion),
            "random_translation": lambda: moved.RandomTranslation(f, f, **motion),
            "random_rotation": lambda: moved.RandomRotation(f, **motion),
            "random_brightness": lambda: moved.RandomBrightness(f, **colours),
            "random_color_degeneration": lambda: RandomColorDegeneration(f, data_format=data_format, **colours),
            "random_contrast": lambda: moved.RandomContrast(f, data_format=data_format, **colours),
            "random_sharpness": lambda: RandomSharpness(f, data_format=data_format, **colours),
            "random_posterization": lambda: RandomPosterization(max(1, int(8 * f[1])), data_format=data_format,
                                                                **colours),
            "solarization": lambda: Solarization(f, f, **colours),
            "auto_contrast": lambda: AutoContrast(values, data_format),
            "equalization": lambda: Equalization(values, data_format=data_format)}
        return [makers[name]() for name in self._names()]

    def _names(self):
        return self.ORDER

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "factor": self.factor,
                "interpolation": self.interpolation}


def _count(value, name, layer, least=0):
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= least):
        kind = "a non-negative" if least == 0 else "a positive"
        raise ValueError(f"{layer} {name} must be {kind} integer, got {value!r}")
    return value


class RandAugment(_Composite):
    """RandAugment (Cubuk et al., 2020) as Keras 3.15 runs it: `num_ops` times, one of eleven augmentations
    drawn for the batch (shear, translation, rotation, brightness, colour degeneration, contrast, sharpness,
    posterization, solarization, auto-contrast, equalization: Keras's order), each with strength `factor`.
    As in Keras, every candidate is computed and the drawn one kept (a replayed step draws anew)."""

    ORDER = ("random_shear", "random_translation", "random_rotation", "random_brightness",
             "random_color_degeneration", "random_contrast", "random_sharpness", "random_posterization",
             "solarization", "auto_contrast", "equalization")

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        self.num_ops = _count(num_ops, "num_ops", "RandAugment")
        super().__init__(value_range, factor, interpolation, seed, data_format, **kwargs)

    def _draw(self, images):
        return randint((self.num_ops,), 0, len(self.candidates), seed=self._seed_generator)

    def _images(self, images, chosen):
        for i in range(self.num_ops):
            outputs = [layer(images, training=True) for layer in self.candidates]
            picked = outputs[0]
            for k, out in enumerate(outputs[1:], 1):
                picked = ops.where(ops.equal(chosen[i], k), out, picked)
            images = picked
        return images

    def get_config(self):
        return {**super().get_config(), "num_ops": self.num_ops}


class AugMix(_Composite):
    """AugMix (Hendrycks et al., 2020) as Keras 3.15 runs it: `num_chains` chains of up to `chain_depth`
    augmentations each (at each depth one of the candidates, or none), mixed by weights drawn from a
    Dirichlet(alpha), then blended with the images by a weight drawn from Beta(alpha, alpha) and clipped
    to value_range. all_ops=False keeps the seven that do not touch colour or sharpness.
    The chains are Python's choices, as Keras's: a training step with AugMix is recorded anew at each call
    rather than replayed (its other ops as usual), which keeps it correct at a step's recording cost."""

    ORDER = ("random_shear", "random_translation", "random_rotation", "random_posterization", "solarization",
             "auto_contrast", "equalization", "random_brightness", "random_color_degeneration", "random_contrast",
             "random_sharpness")

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, alpha=1.0, all_ops=True,
                 interpolation="bilinear", seed=None, data_format=None, **kwargs):
        self.num_chains = _count(num_chains, "num_chains", "AugMix", least=1)
        self.chain_depth = _count(chain_depth, "chain_depth", "AugMix")
        if not (_number(alpha) and alpha > 0):
            raise ValueError(f"AugMix alpha must be a positive number, got {alpha!r}")
        self.alpha, self.all_ops = alpha, bool(all_ops)
        super().__init__(value_range, factor, interpolation, seed, data_format, **kwargs)

    def _names(self):
        return self.ORDER if self.all_ops else self.ORDER[:7]

    def _draw(self, images):
        values_escaped()  # the chains below are Python's choices: this step is not replayed
        rng, skip = generator(self._seed_generator), len(self.candidates)  # index `skip`: Keras's None
        chains = [[k for k in rng.integers(0, skip + 1, self.chain_depth) if k != skip]
                  for _ in range(self.num_chains)]
        draws = gamma((self.num_chains,), self.alpha, dtype=images.dtype, seed=self._seed_generator)
        weight = beta((), self.alpha, self.alpha, dtype=images.dtype, seed=self._seed_generator)
        return chains, draws / ops.sum(draws), weight

    def _images(self, images, drawn):
        chains, mixing, weight = drawn
        mixed = 0.0
        for i, chain in enumerate(chains):
            out = images
            for k in chain:
                out = self.candidates[k](out, training=True)
            mixed = mixed + out * mixing[i]
        return ops.clip(weight * images + (1.0 - weight) * mixed, *self.value_range)

    def get_config(self):
        return {**super().get_config(), "num_chains": self.num_chains, "chain_depth": self.chain_depth,
                "alpha": self.alpha, "all_ops": self.all_ops}


def _mix(values, order, weight):
    """w·v + (1 - w)·v' for each sample, v' the sample `order` puts in its place (labels as floats)."""
    values = ops.cast(values, weight.dtype)
    weight = ops.reshape(weight, (-1,) + (1,) * (values.ndim - 1))
    return weight * values + (1.0 - weight) * ops.take(values, order, axis=0)


class MixUp(_Augmentation):
    """MixUp (Zhang et al., 2018): each image becomes w·x + (1 - w)·x' with x' another image of the batch (a
    random permutation) and w drawn from Beta(alpha, alpha) for it; its label becomes w·y + (1 - w)·y'.
    Labels must be one-hot (or probabilities) to mix."""

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        if not (_number(alpha) and alpha > 0):
            raise ValueError(f"MixUp alpha must be a positive number, got {alpha!r}")
        self.alpha = alpha

    def _draw(self, images):
        n = images.shape[0]
        order = shuffle(np.arange(n), seed=self._seed_generator)
        return order, beta((n,), self.alpha, self.alpha, dtype=images.dtype, seed=self._seed_generator)

    def _images(self, images, drawn):
        return _mix(images, *drawn)

    def _labels(self, labels, drawn):
        return _mix(labels, *drawn)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class CutMix(_Boxes):
    """CutMix (Yun et al., 2019): a box of each image replaced by the same box of another image of the batch
    (a random permutation), the box's sides √(1 - w) of the image's with w drawn from Beta(a, a), a drawn in
    `factor` once per batch; each label becomes w'·y + (1 - w')·y', w' the share of the image left outside
    the box. A single image is left as it is."""

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _color_factor(factor, (0, 1), "CutMix", "factor")

    def call(self, data, training=True):
        self._check_keys(data)
        images = data["images"] if isinstance(data, dict) else data
        return data if images.ndim == 3 else super().call(data, training)

    def _draw(self, images):
        n, (low, high) = images.shape[0], self.factor

        def cutmix_weights(rng, size):  # a = U(factor) + 1e-6 drawn anew at each call, then Beta(a, a)
            a = rng.uniform(low, high) + 1e-6
            return rng.beta(a, a, size)

        weight = _draw_op(cutmix_weights, (n,), images.dtype, self._seed_generator)
        ratio = ops.sqrt(1.0 - weight)
        box = self._box(images, ratio, ratio)
        order = shuffle(np.arange(n), seed=self._seed_generator)
        height, width = (float(images.shape[axis]) for axis in self._spatial_axes())
        kept = 1.0 - (ratio * width) * (ratio * height) / (width * height)  # Keras's: from the box's sides
        return order, box, kept

    def _images(self, images, drawn):
        order, box, _ = drawn
        return ops.where(box, ops.take(images, order, axis=0), images)

    def _labels(self, labels, drawn):
        order, _, kept = drawn
        return _mix(labels, order, kept)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Pipeline(Layer):
    """Layers applied one after another, as a preprocessing step (Keras's Pipeline: not a model, no
    weights of its own). `training` reaches each layer: True unless given, as Keras's Pipeline defaults to
    (a Dropout in it drops when the pipeline is called directly)."""

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._pipeline_layers = list(layers)

    @property
    def layers(self):
        return self._pipeline_layers

    def call(self, inputs, training=True):
        for layer in self._pipeline_layers:
            inputs = layer(inputs, training=training)
        return inputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        from ..serialization import serialize_keras_object

        # Keras's own keys only: Keras's Pipeline takes no `trainable` or `dtype`
        return {"name": self.name, "layers": [serialize_keras_object(layer) for layer in self._pipeline_layers]}

    @classmethod
    def from_config(cls, config):
        from ..serialization import deserialize_keras_object

        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"a Pipeline config must hold a list of layers under 'layers', got {layers!r}")
        return cls(**{**config, "layers": [deserialize_keras_object(layer) for layer in layers]})
