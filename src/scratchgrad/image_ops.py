"""keras.ops.image (as `ops.image`): resizing, patches, grayscale, HSV, padding and cropping of images, a batch
(batch, height, width, channels) or one image (height, width, channels), channels_first too. Built from
the ops and the image layers' own Functions, so gradients and the step plan take them as they come."""
import numpy as np

from . import ops
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
