"""2-D convolution and pooling on image batches, im2col-based, as Functions.

im2col turns a convolution into ONE matrix product: every receptive field becomes a row of a
matrix (a strided view of the input, copied once into a contiguous block) and the kernel a
(kh*kw*in_channels, filters) matrix, the bias riding along as one more row. The backward is one
product for the kernel and bias gradients, and, for the input gradient, col2im: each kernel offset's
share of it, added back onto the image with one vectorized slice-add per offset.

Data stay channels_last (N, H, W, C) inside, as Keras's default: a receptive field's channels are then
contiguous and the Keras kernel (kh, kw, in_channels, filters) is that matrix already, reshaped for
free. channels_first (N, C, H, W) is transposed at entry and exit (views; the im2col copy absorbs it).

Padding follows Keras/TensorFlow. "valid" keeps whole windows only: out = (in - k) // s + 1. "same"
gives out = ceil(in / s) and pads max((out - 1) * s + k - in, 0) in total, the smaller half on top/left.
"""
import itertools

import numpy as np

from . import compiled
from .autograd import Function
from .backend import array_module, float_dtype
from .compiled import kernel
from .functional import ReLU
from .tensor import as_operand, as_tensor

PADDINGS = ("valid", "same")
DATA_FORMATS = ("channels_last", "channels_first")


def output_length(size, k, stride, padding):
    """Keras's output length along one axis for a window of k with this stride and padding."""
    if padding == "same":
        return -(-size // stride)
    return (size - k) // stride + 1


def padding_of(size, k, stride, padding):
    """Keras's output length along one axis and the (before, after) zeros it takes: the smaller half before."""
    out = output_length(size, k, stride, padding)
    total = max((out - 1) * stride + k - size, 0)
    return out, (total // 2, total - total // 2)


class Window:
    """Where a window of `size` moving by `strides` lands on an H x W input, by Keras's padding rules."""

    def __init__(self, size, strides, padding, image_hw):
        self.size, self.strides, self.image_hw = size, strides, image_hw
        self.out, self.pads = zip(*(padding_of(n, k, s, padding) for n, k, s in zip(image_hw, size, strides)))

    def pad(self, x, fill=0):
        """x (N, H, W, C) with the padding rows and columns added, filled with `fill`."""
        if not any(itertools.chain(*self.pads)):
            return x
        return array_module(x).pad(x, ((0, 0), *self.pads, (0, 0)), constant_values=fill)

    def crop(self, padded):
        (top, _), (left, _) = self.pads
        h, w = self.image_hw
        return padded[:, top:top + h, left:left + w]

    def offsets(self):
        return itertools.product(range(self.size[0]), range(self.size[1]))

    def at(self, i, j):
        """Index of the input pixels that window offset (i, j) covers, one per output pixel."""
        (oh, ow), (sh, sw) = self.out, self.strides
        return slice(None), slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)

    def views(self, padded):
        """For each offset (row-major), the (N, out_h, out_w, C) view of the pixels it covers."""
        return (padded[self.at(i, j)] for i, j in self.offsets())

    def im2col(self, padded, ones_column=False):
        """The (N*out_h*out_w, kh*kw*C) matrix of receptive fields: a strided view, copied once.

        With `ones_column` the matrix gets one more column, of ones, so that a bias stacked under the
        kernel matrix rides in the same product (the "bias trick"): the forward needs no broadcast add
        and the kernel-gradient product yields the bias gradient too, instead of a separate column sum.
        """
        xp = array_module(padded)
        n, _, _, c = padded.shape
        width = self.size[0] * self.size[1] * c
        rows = n * self.out[0] * self.out[1]
        if c == 1:  # one channel (a grayscale image): column-major, each offset's column one contiguous run
            col = xp.empty((rows, width + ones_column), dtype=padded.dtype, order="F")  # (both copy and the
            for k, view in enumerate(self.views(padded)):  # kernel-gradient product run faster so: measured)
                col[:, k].reshape(n, *self.out)[...] = view[..., 0]
        else:
            col = xp.empty((rows, width + ones_column), dtype=padded.dtype)
            sn, sh, sw, sc = padded.strides
            shape = (n, *self.out, *self.size, c)
            fields = xp.lib.stride_tricks.as_strided(padded, shape, (sn, sh * self.strides[0], sw * self.strides[1],
                                                                     sh, sw, sc))
            col[:, :width].reshape(shape)[...] = fields  # reshape only splits axes: a view, written through
        if ones_column:
            col[:, width] = 1
        return col

    def col2im(self, parts, padded_shape, dtype, xp):
        """Sum each offset's gradient part (in `offsets` order) back onto the padded input grid, then crop.

        Each part is stored before the next is drawn, so a generator may yield one reused buffer.
        """
        grad = self.gradient_grid(padded_shape, dtype, xp)
        overlapping = self.overlapping()
        for (i, j), part in zip(self.offsets(), parts):
            if overlapping:
                grad[self.at(i, j)] += part
            else:  # every pixel lies in one window at most: a store, no read-modify-write
                grad[self.at(i, j)] = part
        return self.crop(grad)

    def overlapping(self):
        return overlapping(self.size, self.strides)

    def gradient_grid(self, padded_shape, dtype, xp):
        """The padded grid gradients are scattered onto: zeros, or left unfilled where windows side by side
        cover the whole grid (each pixel is then written exactly once)."""
        covered = all(s == k and o * s == n for s, k, o, n in zip(self.strides, self.size, self.out, padded_shape[1:3]))
        return (xp.empty if covered else xp.zeros)(padded_shape, dtype=dtype)


def overlapping(size, strides):
    """Whether windows of `size` moved by `strides` overlap (a pixel can then lie in several)."""
    return any(s < k for s, k in zip(strides, size))


def _to_last(x, channels_first):
    return x.transpose(0, 2, 3, 1) if channels_first else x


def _from_last(x, channels_first):
    return x.transpose(0, 3, 1, 2) if channels_first else x


def _combine(views, ufunc):
    """Fold the window views with a binary ufunc, in place in one fresh array."""
    views = list(views)
    out = ufunc(views[0], views[1]) if len(views) > 1 else views[0].copy()
    for view in views[2:]:
        ufunc(out, view, out=out)
    return out


class Conv2D(Function):
    """Cross-correlation (what Keras and every framework call convolution) of x with a Keras kernel."""

    def __init__(self, strides=(1, 1), padding="valid", channels_first=False):
        self.strides, self.padding, self.channels_first = strides, padding, channels_first

    def forward(self, x, kernel, bias=None):
        x = _to_last(x, self.channels_first)
        kh, kw, _, filters = kernel.shape
        self.window = Window((kh, kw), self.strides, self.padding, x.shape[1:3])
        padded = self.window.pad(x)
        self.padded_shape, self.kernel, self.has_bias = padded.shape, kernel, bias is not None
        self.col = self.window.im2col(padded, ones_column=self.has_bias)
        weights = kernel.reshape(-1, filters)
        if self.has_bias:
            weights = array_module(kernel).concatenate([weights, bias[None]])
        y = self.col @ weights
        return _from_last(y.reshape(x.shape[0], *self.window.out, filters), self.channels_first)

    def backward(self, gy):
        kernel = self.kernel
        gy = _to_last(gy, self.channels_first).reshape(-1, kernel.shape[3])
        gx = gkernel = gbias = None
        if self.needs_grad[0]:
            gx = self.window.col2im(self.input_grad_parts(gy), self.padded_shape, gy.dtype, array_module(gy))
            gx = _from_last(gx, self.channels_first)
        if any(self.needs_grad[1:]):
            gweights = _weight_gradient(self.col, gy, self.padded_shape[0])
            gkernel = gweights[:-1 if self.has_bias else None].reshape(kernel.shape)
            gbias = gweights[-1] if self.has_bias else None
        return gx, gkernel, gbias

    def input_grad_parts(self, gy):
        """Per kernel offset (i, j), the input gradient it contributes: gy @ kernel[i, j].T.

        kh*kw thin products instead of one (N*oh*ow, kh*kw*C) gradient matrix: the same arithmetic
        without materializing that matrix (the size of im2col's), and each part comes out contiguous,
        so col2im adds long runs instead of C-element strips. Measured faster end to end.
        """
        xp = array_module(gy)
        buffer = xp.empty((gy.shape[0], self.kernel.shape[2]), dtype=gy.dtype)
        image = buffer.reshape(-1, *self.window.out, self.kernel.shape[2])
        for i, j in self.window.offsets():
            xp.matmul(gy, self.kernel[i, j].T, out=buffer)
            yield image


SMALL_GRADIENT = 1024  # kernel-gradient entries (im2col columns × filters) up to which it is summed per sample


def _weight_gradient(col, gy, samples):
    """colᵀ·gy: the kernel gradient, with the bias's as its last row. A small one (a first layer's: a few
    columns, few filters) is summed from one product per sample: BLAS runs one long, thin product with so
    small a result several times slower (`python benchmarks/kernels.py` times both ways). Each way's sums
    round their own way."""
    if col.shape[1] * gy.shape[1] > SMALL_GRADIENT or not samples:  # (an empty batch cannot be split)
        return weight_gradient_one_product(col, gy)
    return weight_gradient_per_sample(col, gy, samples)


def weight_gradient_one_product(col, gy):
    return (gy.T @ col).T  # not colᵀ·gy: BLAS runs it faster so


def weight_gradient_per_sample(col, gy, samples):
    per_sample = col.T.reshape(col.shape[1], samples, -1).transpose(1, 0, 2)
    return (per_sample @ gy.reshape(samples, -1, gy.shape[1])).sum(axis=0)


class Pool2D(Function):
    """Shared by max and average pooling: both reduce each window's views and scatter back with col2im.

    Subclasses set `fill` (the padding value that never wins the reduction) and implement `pool`
    (padded input -> output) and `parts` (output gradient -> one gradient part per window offset).
    """

    fill = 0

    def __init__(self, pool_size=(2, 2), strides=(2, 2), padding="valid", channels_first=False):
        self.pool_size, self.strides = pool_size, strides
        self.padding, self.channels_first = padding, channels_first

    def forward(self, x):
        x = _to_last(x, self.channels_first)
        self.window = Window(self.pool_size, self.strides, self.padding, x.shape[1:3])
        padded = self.window.pad(x, self.fill)
        self.padded_shape = padded.shape
        return _from_last(self.pool(padded), self.channels_first)

    def backward(self, gy):
        gy = _to_last(gy, self.channels_first)
        return _from_last(self.scatter(gy), self.channels_first)

    def scatter(self, gy):
        """The output gradient (channels last) back onto the input grid, cropped: `parts` through col2im."""
        return self.window.col2im(self.parts(gy), self.padded_shape, gy.dtype, array_module(gy))


class MaxPool2D(Pool2D):
    """Max of each window; the gradient goes to the window's maximum only. Tied maxima: the first in
    row-major window order gets it all (as TensorFlow and PyTorch do), so it is never double-counted.
    With numba installed, forward and backward are each one compiled loop (scratchgrad.compiled): the
    forward notes which offset won each window, the backward writes the gradient there. Same numbers, bit
    for bit, but one: where +0 and -0 tie for a max, NumPy's maximum may keep either sign, the loop the first.
    """

    fill = -np.inf
    relu = False  # MaxPool2DReLU's loops apply a ReLU to the pooled map

    def pool(self, padded):
        self.winner = None
        if compiled.applies(padded):
            return self.compiled_pool(padded)
        self.padded = padded
        self.y = _combine(self.window.views(padded), array_module(padded).maximum)
        return self.y

    def parts(self, gy):
        # `claimed` marks the windows whose max an earlier offset already took: later ties get nothing.
        # Buffers are reused across offsets (fresh arrays cost page faults, which dominate here), and
        # the masks are bool so they weigh a quarter of a float32 buffer.
        xp = array_module(gy)
        hit, claimed, part = xp.empty(gy.shape, dtype=bool), xp.zeros(gy.shape, dtype=bool), xp.empty_like(gy)
        for view in self.window.views(self.padded):
            xp.equal(view, self.y, out=hit)
            xp.greater(hit, claimed, out=hit)  # hit and not claimed
            claimed |= hit
            xp.multiply(gy, hit, out=part)
            yield part

    def scatter(self, gy):
        if self.winner is None:
            return super().scatter(gy)
        grad = self.window.gradient_grid(self.padded_shape, gy.dtype, np)
        y = gy if self.output is None else self.output  # only the ReLU's mask reads it
        _max_pool_backward(gy, self.winner, *self.window.size, *self.window.strides, self.window.overlapping(),
                           self.relu, y, grad)
        return self.window.crop(grad)

    def compiled_pool(self, padded):
        n, c = padded.shape[0], padded.shape[3]
        y = np.empty((n, *self.window.out, c), dtype=padded.dtype)
        self.winner = np.empty(y.shape, dtype=np.int8 if self.window.size[0] * self.window.size[1] <= 127 else np.int32)
        _max_pool_forward(padded, *self.window.size, *self.window.strides, self.relu, y, self.winner)
        self.output = y if self.relu else None  # the backward's ReLU mask reads it
        return y


class MaxPool2DReLU(MaxPool2D):
    """relu(max pool(x)) as one op, fused for speed: what a step plan replays a ReLU followed by a max pool
    of non-overlapping windows as, since max(relu(x)) = relu(max(x)) there (plan.StepPlan._fuse_relu_pool).
    The ReLU runs on the pooled map, inside the pooling loops where numba compiles them, else as the ReLU
    Function after the pool; the gradient is the ReLU's backward, then the pool's."""

    relu = True

    def __init__(self, pool_size=(2, 2), strides=(2, 2), padding="valid", channels_first=False):
        if overlapping(pool_size, strides):
            raise ValueError(f"MaxPool2DReLU takes non-overlapping windows only: pool_size {pool_size} with "
                             f"strides {strides} overlap")
        super().__init__(pool_size, strides, padding, channels_first)

    def pool(self, padded):
        pooled = super().pool(padded)
        if self.winner is not None:  # the compiled loops applied the ReLU
            return pooled
        self.activation = ReLU()
        return self.activation.forward(pooled)

    def scatter(self, gy):
        return super().scatter(gy if self.winner is not None else self.activation.backward(gy))


class AvgPool2D(Pool2D):
    """Mean of each window over its real pixels only: "same" padding cells are not counted, as in Keras."""

    def pool(self, padded):
        if padded.dtype.kind in "iub":  # the mean of integers is floatx, as ops.mean's (not NumPy's float64)
            padded = padded.astype(float_dtype())
        xp = array_module(padded)
        ones = self.window.pad(xp.ones((1, *self.window.image_hw, 1), dtype=padded.dtype))
        self.counts = _combine(self.window.views(ones), xp.add)
        return _combine(self.window.views(padded), xp.add) / self.counts

    def parts(self, gy):
        return itertools.repeat(gy / self.counts)


# ---- the functions users call ----------------------------------------------------------------
def _pair(value, name):
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in pair):
        raise ValueError(f"{name} must be a positive integer or a pair of them, got {value!r}")
    return tuple(int(v) for v in pair)


def _check_padding(padding, op):
    if padding not in PADDINGS:
        raise ValueError(f"{op}: unknown padding {padding!r}; expected one of {', '.join(PADDINGS)}")


def _check_input(x, data_format, op):
    """Validate the layout every op here shares; returns whether the data are channels_first."""
    if data_format not in DATA_FORMATS:
        raise ValueError(f"{op}: unknown data_format {data_format!r}; expected one of {', '.join(DATA_FORMATS)}")
    if x.ndim != 4:
        layout = ("(batch, channels, height, width)" if data_format == "channels_first"
                  else "(batch, height, width, channels)")
        raise ValueError(f"{op}: input must be 4-D {layout} for {data_format}, got shape {x.shape}")
    return data_format == "channels_first"


def _check_fits(x, size, padding, channels_first, op, what):
    """With "valid" padding a window larger than the image has nowhere to go ("same" always fits)."""
    hw = x.shape[2:] if channels_first else x.shape[1:3]
    if padding == "valid" and (size[0] > hw[0] or size[1] > hw[1]):
        raise ValueError(f"{op}: {what} {size[0]}x{size[1]} is larger than the input's {hw[0]}x{hw[1]} image "
                         f"(input shape {x.shape}) with padding 'valid'")


def _check_dtype(t, kernel, what):
    if t.dtype != kernel.dtype:
        raise TypeError(f"conv2d: {what} dtype {t.dtype} and kernel dtype {kernel.dtype} differ; "
                        f"scratchgrad never upcasts silently: call .astype() on one of them")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", data_format="channels_last"):
    """2-D convolution as Keras's Conv2D computes it (cross-correlation, no kernel flip).

    x: (N, H, W, C_in) for channels_last, (N, C_in, H, W) for channels_first; kernel: (kh, kw, C_in,
    filters); bias: (filters,). strides: an int or a pair; padding: "valid" or "same".
    """
    kernel = as_tensor(kernel)
    x = as_operand(x, like=kernel)
    _check_padding(padding, "conv2d")
    channels_first = _check_input(x, data_format, "conv2d")
    strides = _pair(strides, "conv2d: strides")
    if kernel.ndim != 4:
        raise ValueError(f"conv2d: kernel must be 4-D (kh, kw, in_channels, filters), got shape {kernel.shape}")
    _check_dtype(x, kernel, "input")
    channels = x.shape[1] if channels_first else x.shape[3]
    if channels != kernel.shape[2]:
        raise ValueError(f"conv2d: input has {channels} channels (shape {x.shape}, {data_format}) but the "
                         f"kernel expects {kernel.shape[2]} (kernel shape {kernel.shape})")
    _check_fits(x, kernel.shape[:2], padding, channels_first, "conv2d", "kernel")
    op = Conv2D(strides, padding, channels_first)
    if bias is None:
        return op(x, kernel)
    bias = as_tensor(bias, like=kernel)
    _check_dtype(bias, kernel, "bias")
    if bias.shape != (kernel.shape[3],):
        raise ValueError(f"conv2d: bias must have shape ({kernel.shape[3]},), one per filter of the kernel "
                         f"{kernel.shape}, got {bias.shape}")
    return op(x, kernel, bias)


def _pool(op, name, x, pool_size, strides, padding, data_format):
    x = as_tensor(x)
    _check_padding(padding, name)
    channels_first = _check_input(x, data_format, name)
    pool_size = _pair(pool_size, f"{name}: pool_size")
    strides = pool_size if strides is None else _pair(strides, f"{name}: strides")
    _check_fits(x, pool_size, padding, channels_first, name, "pool window")
    return op(pool_size, strides, padding, channels_first)(x)


def max_pool2d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
    """Max over each pool_size window (strides default to pool_size, as in Keras).

    The gradient goes to each window's maximum; where several elements tie for it, to the first of
    them in row-major window order only.
    """
    return _pool(MaxPool2D, "max_pool2d", x, pool_size, strides, padding, data_format)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
    """Mean over each pool_size window; with "same" padding over the window's real pixels only."""
    return _pool(AvgPool2D, "avg_pool2d", x, pool_size, strides, padding, data_format)


def global_avg_pool2d(x, data_format="channels_last"):
    """Mean over height and width: (N, C) from a 4-D batch."""
    x = as_tensor(x)
    channels_first = _check_input(x, data_format, "global_avg_pool2d")
    return x.mean(axis=(2, 3) if channels_first else (1, 2))


# ---- compiled kernels (scratchgrad.compiled): max pooling as one loop each way ------------------
@kernel
def _max_pool_forward(padded, kh, kw, sh, sw, relu, y, winner):
    """y = each window's max, `winner` = the offset (row-major) that held it: the first of tied maxima,
    and -1 for a window with a NaN, whose max is NaN (as np.maximum's) and which passes no gradient. It reads
    the input row by row (each window's offsets still come in row-major order), one stream at a time. With
    `relu`, y is then relu(max), as np.maximum(max, 0) gives it (NaN stays, -0 becomes +0)."""
    n, oh, ow, c = y.shape
    zero = y.dtype.type(0)
    for b in range(n):
        for i in range(oh):
            for di in range(kh):
                for j in range(ow):
                    for dj in range(kw):
                        k = di * kw + dj
                        for ch in range(c):
                            v = padded[b, i * sh + di, j * sw + dj, ch]
                            if v != v:
                                if k == 0 or winner[b, i, j, ch] != -1:  # the first NaN stays, as np.maximum's
                                    y[b, i, j, ch], winner[b, i, j, ch] = v, -1
                            elif k == 0 or v > y[b, i, j, ch]:  # a NaN max stays: nothing is > NaN
                                y[b, i, j, ch], winner[b, i, j, ch] = v, k
            if relu:
                for j in range(ow):
                    for ch in range(c):
                        v = y[b, i, j, ch]
                        y[b, i, j, ch] = v if v > zero or v != v else zero


@kernel
def _max_pool_backward(gy, winner, kh, kw, sh, sw, overlapping, relu, y, grad):
    """Each window's gradient onto the pixel that won it and gy·0 onto the others (NumPy's gy·hit, signed
    zeros and NaN alike). Overlapping windows add offset by offset, as col2im adds the parts, so that each
    pixel's sum runs in the same order. Without overlaps each pixel is written once, whatever the order: the
    loop then runs along the grid's rows: one sequential stream of writes instead of a strided pass per
    offset, which is faster where the grid outgrows the caches. There, with `relu` (MaxPool2DReLU's, whose
    windows never overlap), each row of gy first becomes the ReLU's gradient, gy·(y > 0), y being the
    forward's output."""
    n, oh, ow, c = gy.shape
    one, zero = gy.dtype.type(1), gy.dtype.type(0)
    if overlapping:
        for di in range(kh):
            for dj in range(kw):
                k = di * kw + dj
                for b in range(n):
                    for i in range(oh):
                        for j in range(ow):
                            for ch in range(c):
                                grad[b, i * sh + di, j * sw + dj, ch] += \
                                    gy[b, i, j, ch] * (one if winner[b, i, j, ch] == k else zero)  # as gy·hit
        return
    masked = np.empty((ow, c), gy.dtype)
    for b in range(n):
        for i in range(oh):
            row = gy[b, i]
            if relu:
                for j in range(ow):
                    for ch in range(c):  # as the ReLU's gy·mask: a NaN or infinite gy gives NaN
                        masked[j, ch] = gy[b, i, j, ch] * (one if y[b, i, j, ch] > zero else zero)
                row = masked
            for di in range(kh):
                for j in range(ow):
                    for dj in range(kw):
                        k = di * kw + dj
                        for ch in range(c):
                            hit = one if winner[b, i, j, ch] == k else zero
                            grad[b, i * sh + di, j * sw + dj, ch] = row[j, ch] * hit
