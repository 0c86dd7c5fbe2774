"""keras.ops.image (as `ops.image`): resizing, patches, grayscale, HSV, padding and cropping of images, a batch
(batch, height, width, channels) or one image (height, width, channels), channels_first too. Built from
the ops and the image layers' own Functions, so gradients and the step plan take them as they come."""
import functools
import itertools
import operator

import numpy as np

from . import ops
from .autograd import Function
from .backend import array_module, float_dtype
from .convolution import _pair
from .tensor import as_tensor


def _channels_last(images, data_format, apply):
    """apply(batch in channels_last) on one image or a batch in either layout, the result back in it."""
    from .layers.image_preprocessing import _data_format, _on_images

    return _on_images(apply, as_tensor(images), _data_format(data_format))


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Images resized to `size` (height, width), as the Resizing layer resizes them."""
    from .layers.image_preprocessing import Resizing

    height, width = size
    layer = Resizing(height, width, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, fill_mode, fill_value,
                     antialias, data_format)
    return layer._transform_images(as_tensor(images), training=False)


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Each size[0] × size[1] patch, moved by `strides` (default: the size, patches side by side), as one
    vector of its pixels, row by row and channel last: (batch, patch rows, patch columns, h·w·channels).
    Patches side by side are a reshape; others, Keras's convolution with an identity kernel."""
    (ph, pw) = _pair(size, "extract_patches size")
    strides = _pair(size if strides is None else strides, "extract_patches strides")
    dilation = _pair(dilation_rate, "extract_patches dilation_rate")

    def patches(x):
        n, h, w, c = x.shape
        if strides == (ph, pw) and dilation == (1, 1) and padding == "valid":
            rows, cols = h // ph, w // pw
            x = ops.reshape(x[:, :rows * ph, :cols * pw], (n, rows, ph, cols, pw, c))
            return ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (n, rows, cols, ph * pw * c))
        kernel = as_tensor(np.eye(ph * pw * c).reshape(ph, pw, c, ph * pw * c), like=x)
        return ops.conv(x, kernel, strides, padding, "channels_last", dilation)

    return _channels_last(images, data_format, patches)


def rgb_to_grayscale(images, data_format=None):
    """One channel: 0.2989 R + 0.5870 G + 0.1140 B (tf.image's weights, as Keras's); integer pixels are
    weighed in floats and cut back to their dtype, as Keras does."""
    from .backend import float_dtype
    from .layers.image_augmentation import _grayscale

    x = as_tensor(images)
    if x.dtype.kind == "f":
        return _channels_last(x, data_format, lambda x: _grayscale(x, -1))
    return ops.cast(rgb_to_grayscale(ops.cast(x, float_dtype()), data_format), x.dtype)


def _floats(images, op):
    x = as_tensor(images)
    if x.dtype.kind != "f":
        raise TypeError(f"{op} takes float images (values in [0, 1]), got dtype {x.dtype}")
    return x


def rgb_to_hsv(images, data_format=None):
    """Hue, saturation and value (each in [0, 1]) as three channels, from RGB floats in [0, 1] (Keras's)."""
    from .layers.image_augmentation import _rgb_to_hsv

    return _channels_last(_floats(images, "rgb_to_hsv"), data_format, lambda x: ops.stack(_rgb_to_hsv(x), axis=-1))


def hsv_to_rgb(images, data_format=None):
    """RGB floats from hue, saturation and value channels (Keras's)."""
    from .layers.image_augmentation import _hsv_to_rgb

    return _channels_last(_floats(images, "hsv_to_rgb"), data_format,
                          lambda x: _hsv_to_rgb(x[..., 0], x[..., 1], x[..., 2]))


def _edges(first, second, target, size, grow, op, axis):
    """The two edges' widths from exactly two of (first, second, target): `grow` 1 where the target is the
    size plus both (padding), -1 where it is the size less both (cropping)."""
    if [first, second, target].count(None) != 1:
        raise ValueError(f"{op} needs exactly two of the {axis}'s two edges and its target size, got "
                         f"{first!r}, {second!r} and target {target!r}")
    if target is not None:
        missing = grow * (target - size) - (first if second is None else second)
        first, second = (missing, second) if first is None else (first, missing)
    if first < 0 or second < 0:
        raise ValueError(f"{op}: the {axis}'s edges come out negative ({first}, {second}) for a size of {size}")
    return int(first), int(second)


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format=None):
    """Images with rows and columns of zeros added around them, given two of each axis's edges and size."""
    def pad(x):
        top, bottom = _edges(top_padding, bottom_padding, target_height, x.shape[1], 1, "pad_images", "height")
        left, right = _edges(left_padding, right_padding, target_width, x.shape[2], 1, "pad_images", "width")
        return ops.pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)])

    return _channels_last(images, data_format, pad)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format=None):
    """Images with rows and columns cut from their edges, given two of each axis's edges and size."""
    def crop(x):
        h, w = x.shape[1:3]
        top, bottom = _edges(top_cropping, bottom_cropping, target_height, h, -1, "crop_images", "height")
        left, right = _edges(left_cropping, right_cropping, target_width, w, -1, "crop_images", "width")
        return x[:, top:h - bottom, left:w - right]

    return _channels_last(images, data_format, crop)


def sobel_edges(images, data_format=None):
    """The Sobel filters' responses, (batch, height, width, channels, 2): [..., 0] the vertical derivative
    (rows below minus rows above, smoothed 1-2-1 along the row), [..., 1] the horizontal one; the image's
    edge repeated beyond it (scipy's ndimage.sobel, which Keras's NumPy backend calls)."""
    from .layers.image_preprocessing import _data_format

    x = _floats(images, "sobel_edges")
    first = _data_format(data_format) == "channels_first"
    if x.ndim != 4:
        raise ValueError(f"sobel_edges takes a batch of images (4-D), got shape {x.shape}")
    x = ops.transpose(x, (0, 2, 3, 1)) if first else x
    padded = ops.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="symmetric")

    def smoothed(t, axis):  # 1-2-1 along `axis`, which loses its two extra entries
        def part(start, stop):
            return t[(slice(None),) * axis + (slice(start, stop),)]
        return part(None, -2) + 2 * part(1, -1) + part(2, None)

    vertical = smoothed(padded[:, 2:] - padded[:, :-2], 2)
    horizontal = smoothed(padded[:, :, 2:] - padded[:, :, :-2], 1)
    edges = ops.stack([vertical, horizontal], axis=-1)
    return ops.transpose(edges, (0, 3, 1, 2, 4)) if first else edges


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Each channel blurred by a Gaussian kernel, zeros beyond the image, as Keras's NumPy backend computes
    it: the kernel's rows from kernel_size[1] and sigma[1], its columns from kernel_size[0] and sigma[0]
    (Keras's order), each 1-D Gaussian normalized to sum 1."""
    sizes = _pair(kernel_size, "gaussian_blur kernel_size")
    sigmas = tuple(float(s) for s in (sigma if np.ndim(sigma) else (sigma, sigma)))

    from .layers.image_augmentation import RandomGaussianBlur

    def blurred(x):
        rows, columns = (RandomGaussianBlur._gaussian(sizes[k], as_tensor(sigmas[k], like=x), x.dtype) for k in (1, 0))
        kernel = ops.flip(ops.outer(rows, columns), (0, 1))  # scipy convolves: the kernel flipped
        kh, kw = kernel.shape
        depthwise = ops.tile(ops.reshape(kernel, (kh, kw, 1, 1)), (1, 1, x.shape[-1], 1))
        padded = ops.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
        return ops.depthwise_conv(padded, depthwise, data_format="channels_last")

    return _channels_last(_floats(images, "gaussian_blur"), data_format, blurred)


FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")  # how the transforms read beyond the edge


def _fill(images, fill_value):
    """The fill value as a transform reads it: truncated for integer images, as Keras, and checked to fit."""
    x = as_tensor(images)
    if x.dtype.kind == "f":
        return float(fill_value)
    info = np.iinfo(x.dtype)
    if not info.min <= int(fill_value) <= info.max:
        raise ValueError(f"fill_value {fill_value!r} does not fit the images' dtype {x.dtype} "
                         f"({info.min} to {info.max})")
    return float(int(fill_value))


def _on_float_images(images, data_format, apply):
    """apply(a float batch, channels last) on images in either layout; integer images are read as floats and
    the result rounded back to their dtype, as Keras does."""
    x = as_tensor(images)
    if x.dtype.kind == "f":
        return _channels_last(x, data_format, apply)
    return _rounded(_channels_last(ops.cast(x, float_dtype()), data_format, apply), x.dtype)


def _rounded(y, dtype):
    return ops.cast(ops.round(y), dtype)


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    """Each image read through its transform, a row [a0, a1, a2, b0, b1, b2, c0, c1] (one for all, or one per
    image): output pixel (row y, column x) is the input's at column (a0·x + a1·y + a2) / k, row
    (b0·x + b1·y + b2) / k, k = c0·x + c1·y + 1, read "bilinear" or "nearest", and from beyond the image
    as `fill_mode` says ("constant": fill_value; "nearest", "wrap", "mirror", "reflect"), as the augmentation
    layers read it. Integer images are read as floats and rounded back. The gradient goes to the images, not
    the transform (Keras's). c0 and c1 count here, as in Keras's TensorFlow backend (its other backends take
    them as 0)."""
    from .layers.image_preprocessing import INTERPOLATIONS, _affine_coordinates, _choice, _Resample

    _choice(interpolation, INTERPOLATIONS, "interpolation", "affine_transform")
    _choice(fill_mode, FILL_MODES, "fill_mode", "affine_transform")
    maps = np.asarray(ops.convert_to_numpy(transform), dtype=np.float64)
    if maps.shape[-1:] != (8,) or maps.ndim not in (1, 2):
        raise ValueError(f"affine_transform takes a transform of 8 numbers, or one row of 8 per image, got shape "
                         f"{maps.shape}")

    def where(x):
        rows = maps.reshape(-1, 8)
        if len(rows) not in (1, x.shape[0]):
            raise ValueError(f"affine_transform got {len(rows)} transforms for {x.shape[0]} images")
        return _affine_coordinates(np.broadcast_to(rows, (x.shape[0], 8)), x)

    return _on_float_images(images, data_format, _Resample(where, interpolation, fill_mode, _fill(images, fill_value)))


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    """Each image seen in perspective: the output's end_points come from the input's start_points (each
    (4, 2) points (x, y), or (images, 4, 2)), the map between them the homography through the four pairs
    (as Keras solves it), read as affine_transform reads, fill_value beyond the image."""
    from .layers.image_preprocessing import _homography

    start, end = (np.asarray(ops.convert_to_numpy(p), dtype=np.float64) for p in (start_points, end_points))
    if start.shape[-2:] != (4, 2) or start.ndim not in (2, 3) or start.shape != end.shape:
        raise ValueError(f"perspective_transform takes start_points and end_points of one shape, (4, 2) or "
                         f"(images, 4, 2), got {start.shape} and {end.shape}")
    maps = _homography(start.reshape(-1, 4, 2), end.reshape(-1, 4, 2))
    return affine_transform(images, maps if start.ndim == 3 else maps[0], interpolation, "constant", fill_value,
                            data_format)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                      seed=None, data_format=None):
    """Each image warped by its own smooth random field, as Keras computes it: every pixel read from where a
    displacement moves it, the displacements normal draws times σ, blurred by a Gaussian of σ (int(6σ) | 1
    wide, zeros around) and scaled by α; read as affine_transform reads. `seed`: an int or a SeedGenerator
    (else the framework's generator). RandomElasticTransform draws α and σ from its scale first."""
    from .layers.image_preprocessing import INTERPOLATIONS, _choice, _elastic_coordinates, _Resample
    from .random import generator, layer_seed

    _choice(interpolation, INTERPOLATIONS, "interpolation", "elastic_transform")
    _choice(fill_mode, FILL_MODES, "fill_mode", "elastic_transform")
    draws = layer_seed(seed)

    def where(x):
        return _elastic_coordinates(generator(draws), x, float(alpha), float(sigma), np.ones(x.shape[0], bool))

    return _on_float_images(images, data_format, _Resample(where, interpolation, fill_mode, _fill(images, fill_value)))


class MapCoordinates(Function):
    """`inputs` read at `coordinates` (one array per axis of the inputs, all of the output's shape), by the
    nearest entry (order 0; halves to even) or linearly between the two around each (order 1). Linear in
    the inputs: the backward adds each output's gradient back into the entries it read, by their weights."""

    def __init__(self, coordinates, order, fill_mode, fill_value):
        self.coordinates, self.order, self.fill_mode, self.fill_value = coordinates, order, fill_mode, fill_value

    def _nodes(self, coordinate):
        xp = array_module(coordinate)
        if self.order == 0:
            return [(xp.rint(coordinate).astype(np.int64), 1)]
        lower = xp.floor(coordinate)
        upper_weight = coordinate - lower
        return [(lower.astype(np.int64), 1 - upper_weight), (lower.astype(np.int64) + 1, upper_weight)]

    def forward(self, x):
        xp = array_module(x)
        self.shape, self.taps = x.shape, []
        out = 0
        from .layers.image_preprocessing import _fixed_index, _position_dtype

        axes = [[(_fixed_index(index, size, self.fill_mode), (index >= 0) & (index < size), weight)
                 for index, weight in self._nodes(xp.asarray(c, dtype=_position_dtype(x)))]
                for c, size in zip(self.coordinates, x.shape)]
        for nodes in itertools.product(*axes):
            indices, inside, weights = zip(*nodes)
            flat = xp.ravel_multi_index(indices, x.shape)
            weight = functools.reduce(operator.mul, weights)
            values = x.reshape(-1)[flat]
            if self.fill_mode == "constant":
                valid = functools.reduce(operator.and_, inside)
                values = xp.where(valid, values, self.fill_value)
                self.taps.append((flat, weight * valid))
            else:
                self.taps.append((flat, weight))
            out = out + weight * values
        return out.astype(x.dtype, copy=False)  # float16 inputs: weighed in float32, their positions' dtype

    def backward(self, gy):
        xp = array_module(gy)
        gx = xp.zeros(int(np.prod(self.shape)), dtype=gy.dtype)
        for flat, weight in self.taps:
            xp.add.at(gx, xp.ravel(flat), xp.ravel(xp.broadcast_to(weight * gy, gy.shape)))
        return gx.reshape(self.shape)


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """keras.ops.image.map_coordinates: `inputs` read at `coordinates` (shape (inputs.ndim, *output shape)),
    order 0 (nearest) or 1 (linear); beyond the inputs as `fill_mode` says: "constant" (fill_value),
    "nearest", "wrap", "mirror" or "reflect" (layers/image_preprocessing._fixed_index). Keras's numbers (its
    JAX and torch backends'; SciPy's differs near the edges, its issue 2640). Integer inputs give rounded
    integers (the fill value truncated first, as Keras). The
    gradient goes to the inputs, not the coordinates."""
    x = as_tensor(inputs)
    points = np.asarray(ops.convert_to_numpy(coordinates)) if not isinstance(coordinates, (list, tuple)) else \
        [np.asarray(ops.convert_to_numpy(c)) for c in coordinates]
    if len(points) != x.ndim or np.ndim(points[0]) < 1:
        raise ValueError(f"map_coordinates takes coordinates of shape (inputs.ndim={x.ndim}, ...), one array per "
                         f"axis of the inputs, got {len(points)} of shape {np.shape(points[0])}")
    if order not in (0, 1):
        raise ValueError(f"map_coordinates' order must be 0 or 1, got {order!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"map_coordinates' fill_mode must be one of {', '.join(FILL_MODES)}, got {fill_mode!r}")
    if x.dtype.kind != "f":  # Keras's: the fill value truncated, the result rounded (half to even)
        return _rounded(map_coordinates(ops.cast(x, np.float64), points, order, fill_mode, int(fill_value)), x.dtype)
    xp = array_module(x.data)
    return MapCoordinates([xp.asarray(p) for p in points], order, fill_mode, float(fill_value))(x)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None):
    """The structural similarity of two images (Wang et al., 2004), Keras's: each channel's local means,
    variances and covariance under a filter_size × filter_size Gaussian window of σ = filter_sigma (valid
    positions only), (2μ₁μ₂ + c₁)(2σ₁₂ + c₂) / ((μ₁² + μ₂² + c₁)(σ₁² + σ₂² + c₂)) with cᵢ = (kᵢ·max_val)²,
    averaged over the positions and channels: one value per image pair (1 for equal images). Differentiable,
    so 1 - ssim can be a loss."""
    from .layers.convolutional import standard_data_format

    a, b = as_tensor(image1), as_tensor(image2)
    if a.ndim not in (3, 4) or a.shape != b.shape:
        raise ValueError(f"ssim takes two images or batches of images of one shape, got {a.shape} and {b.shape}")
    dtype = a.dtype if a.dtype.kind == "f" else float_dtype()
    a, b = ops.cast(a, dtype), ops.cast(b, dtype)
    if a.ndim == 3:
        return ops.squeeze(ssim(a[None], b[None], max_val, filter_size, filter_sigma, k1, k2, data_format), 0)
    if standard_data_format(data_format) == "channels_last":
        a, b = ops.moveaxis(a, -1, 1), ops.moveaxis(b, -1, 1)
    n, channels, h, w = a.shape
    a, b = ops.reshape(a, (-1, h, w, 1)), ops.reshape(b, (-1, h, w, 1))  # each channel an image of its own
    taps = np.arange(filter_size) - (filter_size - 1) / 2
    gauss = np.exp(-taps**2 / (2.0 * filter_sigma**2))
    kernel = as_tensor(np.outer(gauss, gauss).reshape(filter_size, filter_size, 1, 1) / gauss.sum() ** 2, like=a)

    def local_mean(t):
        return ops.conv(t, kernel, 1, "valid", "channels_last")

    mu_a, mu_b = local_mean(a), local_mean(b)
    var_a, var_b = local_mean(a * a) - mu_a * mu_a, local_mean(b * b) - mu_b * mu_b
    covariance = local_mean(a * b) - mu_a * mu_b
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    index = (2 * mu_a * mu_b + c1) * (2 * covariance + c2) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2))
    return ops.mean(ops.reshape(ops.mean(index, axis=(1, 2, 3)), (n, channels)), axis=-1)


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Each size[0] × size[1] × size[2] patch of volumes (batch, depth, height, width, channels) (or one
    volume), moved by `strides` (default: the size), as one vector of its voxels, depth, row, column and
    channel last: (batch, patch depths, patch rows, patch columns, d·h·w·channels), as Keras's identity-kernel
    convolution gives it; "same" pads as a convolution would. Gathered by strided slices, one per voxel of
    a patch."""
    from .layers.convolutional import _sizes, standard_data_format

    x = as_tensor(volumes)
    if x.ndim == 4:
        return ops.squeeze(extract_patches_3d(x[None], size, strides, dilation_rate, padding, data_format), 0)
    if x.ndim != 5 or padding not in ("valid", "same"):
        raise ValueError(f"extract_patches_3d takes volumes of rank 4 or 5 and padding 'valid' or 'same', got shape "
                         f"{x.shape} and padding {padding!r}")
    first = standard_data_format(data_format) == "channels_first"
    x = ops.moveaxis(x, 1, -1) if first else x
    size = _sizes(size, 3, "extract_patches_3d size")
    strides = _sizes(size if strides is None else strides, 3, "extract_patches_3d strides")
    dilation = _sizes(dilation_rate, 3, "extract_patches_3d dilation_rate")
    spans = [(k - 1) * d + 1 for k, d in zip(size, dilation)]
    if padding == "same":
        totals = [max((-(-n // s) - 1) * s + span - n, 0) for n, s, span in zip(x.shape[1:4], strides, spans)]
        x = ops.pad(x, [(0, 0)] + [(t // 2, t - t // 2) for t in totals] + [(0, 0)])
    counts = [(n - span) // s + 1 for n, span, s in zip(x.shape[1:4], spans, strides)]
    pieces = [x[:, i * dilation[0]::strides[0], j * dilation[1]::strides[1], k * dilation[2]::strides[2]]
              [:, :counts[0], :counts[1], :counts[2]] for i, j, k in itertools.product(*map(range, size))]
    patches = ops.stack(pieces, axis=-2)
    patches = ops.reshape(patches, tuple(patches.shape[:4]) + (-1,))
    return ops.moveaxis(patches, -1, 1) if first else patches


# ---- scale_and_translate: resampling by a weight matrix per axis (JAX's jax.image scheme, as Keras's) ----------
def _triangle(x):
    return np.maximum(0, 1 - x)


def _keys_cubic(x):
    """Keys's cubic convolution kernel (a = -0.5), of |x|."""
    near = ((1.5 * x - 2.5) * x) * x + 1
    far = ((-0.5 * x + 2.5) * x - 4) * x + 2
    return np.where(x >= 2, 0, np.where(x >= 1, far, near))


def _lanczos(radius, x):
    """sinc(x)·sinc(x / radius) inside the radius, of |x| (1 near 0, where the quotient would lose precision)."""
    y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
    out = np.where(x > 1e-3, y / np.where(x != 0, np.pi ** 2 * x ** 2, 1), 1)
    return np.where(x > radius, 0, out)


_RESAMPLING_KERNELS = {"linear": _triangle, "bilinear": _triangle, "trilinear": _triangle, "triangle": _triangle,
                      "cubic": _keys_cubic, "bicubic": _keys_cubic, "tricubic": _keys_cubic,
                      "lanczos3": functools.partial(_lanczos, 3.0), "lanczos5": functools.partial(_lanczos, 5.0)}


def _resampling_weights(size_in, size_out, scale, translation, kernel, antialias, dtype):
    """(size_in, size_out): the weight of each input pixel in each output pixel. Output pixel j samples the
    input at (j + 0.5 - translation) / scale - 0.5 (pixel centres at half-integers); the kernel, widened by
    1/scale when antialiasing a shrink, weighs the input pixels around it, normalized to sum to 1. A sample
    outside the input gets no weight: its output pixel is 0."""
    inverse = dtype.type(1) / dtype.type(scale)
    width = max(inverse, dtype.type(1)) if antialias else dtype.type(1)
    sample = (np.arange(size_out, dtype=dtype) + dtype.type(0.5)) * inverse - dtype.type(translation) * inverse - 0.5
    weights = kernel(np.abs(sample[None, :] - np.arange(size_in, dtype=dtype)[:, None]) / width).astype(dtype)
    total = weights.sum(axis=0, keepdims=True)
    weights = np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps, weights / np.where(total != 0, total, 1), 0)
    return np.where((sample >= -0.5) & (sample <= size_in - 0.5), weights, 0).astype(dtype)


def _float_dtype_of(values):
    """The dtype Keras computes the weights in: a float array's own, else floatx (a list of numbers, as
    convert_to_tensor reads it)."""
    dtype = getattr(values, "dtype", None)
    return np.dtype(dtype) if dtype is not None and np.dtype(dtype).kind == "f" else np.dtype(float_dtype())


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """images resampled to `output_shape`: along each axis d = spatial_dims[i], input position p goes to
    p·scale[i] + translation[i] (pixel centres at half-integers), read back through `method`'s kernel
    ("linear", "cubic" (Keys), "lanczos3", "lanczos5", or their bi-/tri- names), widened to antialias a
    shrink when `antialias`. An output pixel whose source lies outside the image is 0. Integer images are
    resampled in float32, rounded and clipped to their range, as Keras does. One product with a weight
    matrix per axis: gradients reach the images."""
    if method not in _RESAMPLING_KERNELS:
        raise ValueError(f"scale_and_translate method must be one of {', '.join(sorted(_RESAMPLING_KERNELS))}, "
                         f"got {method!r}")
    x = as_tensor(images)
    spatial_dims = tuple(spatial_dims)
    if len(output_shape) != x.ndim or len(scale) != len(spatial_dims) or len(translation) != len(spatial_dims):
        raise ValueError(f"scale_and_translate takes an output_shape of the images' rank ({x.ndim}) and a scale "
                         f"and translation for each of the spatial_dims {spatial_dims}, got output_shape "
                         f"{tuple(output_shape)}, {len(scale)} scales and {len(translation)} translations")
    integers = x.dtype.kind in "iu"
    out = ops.cast(x, "float32") if integers else x
    dtype = np.promote_types(_float_dtype_of(scale), _float_dtype_of(translation))
    scale, translation = np.asarray(scale, dtype), np.asarray(translation, dtype)
    for i, d in enumerate(spatial_dims):
        d %= x.ndim
        w = _resampling_weights(x.shape[d], output_shape[d], scale[i], translation[i], _RESAMPLING_KERNELS[method],
                                antialias, dtype)
        out = ops.moveaxis(ops.tensordot(out, as_tensor(w.astype(out.dtype), like=out), axes=([d], [0])), -1, d)
    if integers:
        low, high = (float(v) for v in (ops.min(x).numpy(), ops.max(x).numpy()))
        return ops.cast(ops.clip(ops.round(out), low, high), x.dtype)
    return out
