"""Activations, softmax, the fused affine map and the losses, as Functions (import as `F`).

Each is one Function with `forward` and `backward` side by side. Two are fused for speed and
numerical stability: `linear` (x @ W + b in one op) and `cross_entropy` (softmax + cross-entropy,
whose backward is the textbook's (y - t) / N).
"""
import numpy as np

from . import compiled
from .autograd import Function
from .backend import array_module, epsilon
from .compiled import ONE, ZERO
from .ops import astype as ops_astype
from .ops import sum_to
from .random import generator
from .tensor import Tensor, as_operand, as_tensor

REDUCTIONS = ("mean", "sum", "none")
ACTIVATIONS = {}  # name -> the activation function, as Dense(activation="relu") takes it


def activation(*names):
    """Register the decorated function as an activation under `names` (the first is its config name)."""
    def register(fn):
        for name in names:
            ACTIVATIONS[name] = fn
        return fn
    return register


# ---- activations -----------------------------------------------------------------------------
class Step(Function):
    """1 where x > 0, else 0. Its derivative is 0 almost everywhere, so no gradient flows back:
    the reason the perceptron cannot be trained by backprop."""

    def forward(self, x):
        self.x = x
        return (x > 0).astype(x.dtype)

    def backward(self, gy):
        return array_module(gy).zeros_like(gy)


class Sigmoid(Function):
    """1 / (1 + exp(-x)). For x below about -88 (float32) exp(-x) overflows to inf and the result is
    1 / inf = 0, which is the correct value rounded: the formula is stable at any x; only NumPy's
    overflow warning is silenced."""

    def forward(self, x):
        xp = array_module(x)
        with np.errstate(over="ignore"):
            y = xp.asarray(xp.exp(-x))  # an array even for a 0-d x (exp gives a scalar), so out= works
        y += 1
        self.y = xp.reciprocal(y, out=y)
        return self.y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)


class Tanh(Function):
    def forward(self, x):
        self.y = array_module(x).tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y * self.y)


class ReLU(Function):
    """max(x, 0); the gradient passes where x > 0. With numba (scratchgrad.compiled), forward and backward
    are one loop each over contiguous arrays, and the backward reads the output instead of a kept mask
    (y > 0 exactly where x > 0): the same numbers in one pass where NumPy makes two (mask, then maximum).
    Like every Function's, its output is not written to after the forward (the next op only reads it)."""

    def forward(self, x):
        if compiled.applies(x) and x.flags.c_contiguous:
            self.mask, self.y = None, np.empty_like(x)
            _relu_forward(x, self.y)
            return self.y
        self.mask = x > 0
        return array_module(x).maximum(x, x.dtype.type(0))  # not x * mask: that gives -0.0

    def backward(self, gy):
        if self.mask is not None:
            return gy * self.mask
        if compiled.applies(gy) and gy.flags.c_contiguous:
            gx = np.empty_like(gy)
            _relu_backward(gy, self.y, gx)
            return gx
        return gy * (self.y > 0)


@compiled.kernel
def _relu_forward(x, y):
    """ReLU.forward's maximum(x, 0), as NumPy's: NaN passes through, -0 becomes +0. Over C-contiguous arrays
    of one shape, as flat ones (flattened here: a NumPy reshape per array costs more than this loop at
    batch 1)."""
    flat_x, flat_y = x.reshape(x.size), y.reshape(y.size)
    for i in range(flat_x.size):
        flat_y[i] = flat_x[i] if flat_x[i] > 0 or flat_x[i] != flat_x[i] else ZERO


@compiled.kernel
def _relu_backward(gy, y, gx):
    """ReLU.backward's gy * mask, the mask read from the output (y > 0 where x > 0); arrays as in
    _relu_forward."""
    flat_gy, flat_y, flat_gx = gy.reshape(gy.size), y.reshape(y.size), gx.reshape(gx.size)
    for i in range(flat_gy.size):
        flat_gx[i] = flat_gy[i] * (ONE if flat_y[i] > 0 else ZERO)


class ReLUOptions(Function):
    """Keras's relu with options, computed as Keras computes it: x where x > threshold, else 0; that part
    clipped to [0, max_value]; plus negative_slope·(x - threshold) below the threshold. NaN passes through.
    At the kinks the gradient is Keras's (torch backend): 0 at the threshold but negative_slope at 0 for
    a plain leaky ReLU (which Keras runs as leaky_relu), 1 on the clip's bounds (as torch.clamp passes
    them) but 0 at 6 for relu6 (which Keras runs as its own op)."""

    def __init__(self, negative_slope=0.0, max_value=None, threshold=0.0):
        self.negative_slope, self.max_value, self.threshold = negative_slope, max_value, threshold

    def forward(self, x):
        xp, f = array_module(x), x.dtype.type
        t, zero = f(self.threshold), f(0)
        kept = (x > t) | xp.isnan(x)
        y = xp.where(kept, x, zero)
        if self.max_value is not None:
            cap = f(self.max_value)
            relu6 = self.max_value == 6 and not self.threshold
            kept &= (y >= zero) & ((y < cap) if relu6 else (y <= cap)) | xp.isnan(y)
            y = xp.clip(y, zero, cap)
        self.slope = kept.astype(x.dtype)
        if self.negative_slope:
            leaky = self.max_value is None and not self.threshold
            below = (x <= t) if leaky else (x < t)
            y = y + xp.where(below, f(self.negative_slope) * (x - t), zero)
            self.slope += xp.where(below, f(self.negative_slope), zero)
        return y

    def backward(self, gy):
        return gy * self.slope


class LeakyReLU(Function):
    def __init__(self, alpha=0.01):
        self.alpha = alpha

    def forward(self, x):
        self.slope = array_module(x).where(x > 0, x.dtype.type(1), x.dtype.type(self.alpha))
        return x * self.slope

    def backward(self, gy):
        return gy * self.slope


class PReLU(Function):
    """Leaky ReLU whose negative slope `alpha` is a learnable tensor (broadcast against x)."""

    def forward(self, x, alpha):
        self.x, self.alpha, self.positive = x, alpha, x > 0
        return array_module(x).where(self.positive, x, alpha * x)

    def backward(self, gy):
        xp = array_module(gy)
        zero = gy.dtype.type(0)
        gx = gy * xp.where(self.positive, gy.dtype.type(1), self.alpha)
        galpha = sum_to(xp.where(self.positive, zero, gy * self.x), self.alpha.shape) if self.needs_grad[1] else None
        return gx, galpha


class ELU(Function):
    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        xp = array_module(x)
        self.positive = x > 0
        self.y = xp.where(self.positive, x, self.alpha * xp.expm1(xp.minimum(x, 0)))
        return self.y

    def backward(self, gy):
        return gy * array_module(gy).where(self.positive, gy.dtype.type(1), self.y + gy.dtype.type(self.alpha))


class Softplus(Function):
    """log(1 + exp(x)), as logaddexp(0, x) so large x does not overflow; its derivative is sigmoid."""

    def forward(self, x):
        self.x = x
        return array_module(x).logaddexp(x.dtype.type(0), x)

    def backward(self, gy):
        return gy * Sigmoid().forward(self.x)


class Softmax(Function):
    """exp(x - max) / sum(exp(x - max)) along `axis`: subtracting the max keeps exp from overflowing."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        self.y = _softmax(x, self.axis)
        return self.y

    def backward(self, gy):
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        self.y = _log_softmax(x, self.axis)
        return self.y

    def backward(self, gy):
        return gy - array_module(gy).exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


def _log_softmax(x, axis=-1):
    xp = array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def _softmax(x, axis=-1):
    e = array_module(x).exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


# ---- the affine layer ------------------------------------------------------------------------
class Linear(Function):
    """Fused affine map y = x @ W + b (the textbook's Affine layer): one op instead of two."""

    def forward(self, x, W, b=None):
        if x.shape[-1] != W.shape[0]:
            raise ValueError(f"linear: input has {x.shape[-1]} features (shape {x.shape}) but the weight expects "
                             f"{W.shape[0]} (weight shape {W.shape})")
        self.x, self.W = x, W
        y = _rows(x).dot(W)  # @'s numbers by the same BLAS call, without the ufunc machinery (a small product's cost)
        if b is not None and compiled.applies(y) and y.ndim == 2 and b.dtype == y.dtype and b.shape == y.shape[1:]:
            _add_bias(y, b)  # y += b's numbers, without its broadcasting's cost (most of a small layer's forward)
        elif b is not None:
            y += b
        return y.reshape(x.shape[:-1] + W.shape[1:]) if x.ndim > 2 else y

    def backward(self, gy, gb=None, gW=None):
        """`gb`, `gW`: the bias and weight gradients, where the caller has computed them (LinearReLU)."""
        x, W, needs = self.x, self.W, self.needs_grad
        sequence = x.ndim > 2
        if sequence:
            x, gy = _rows(x), _rows(gy)
        gx = gy.dot(W.T) if needs[0] else None
        if sequence and gx is not None:
            gx = gx.reshape(self.x.shape)
        if gW is None and needs[1]:
            gW = _product(x.T, gy, self.grad_out(1))
        if gb is None and len(needs) > 2 and needs[2]:
            gb = sum_rows(gy, self.grad_out(2))
        return gx, gW, gb


class LinearReLU(Linear):
    """relu(x @ W + b) as one op, a rewrite the step plan makes (plan.py) where a Linear's output goes only to
    a ReLU: one op fewer to run each way, and with numba the bias add and the ReLU are one pass over the
    product, and the ReLU's gradient and the bias gradient one pass backward. Exact: the same adds, maxima and
    products in the same order as the two ops."""

    def __init__(self):
        self.relu = ReLU()

    def forward(self, x, W, b=None):
        if b is None or x.ndim != 2 or not compiled.applies(x) or not (x.dtype == W.dtype == b.dtype):
            return self.relu.forward(Linear.forward(self, x, W, b))
        self.x, self.W = x, W
        y = x.dot(W)
        _add_bias_relu(y, b)
        self.relu.mask, self.relu.y = None, y  # as ReLU's compiled forward leaves them, for its backward
        return y

    def backward(self, gy):
        needs = self.needs_grad
        gb = self.grad_out(2) if len(needs) > 2 and needs[2] else None  # (a Dense without bias has no b)
        if not self._fused_backward(gy, gb):
            return Linear.backward(self, self.relu.backward(gy))
        g, gW = np.empty_like(gy), self._outer_product_buffer(gy)
        if gW is None:
            _relu_backward_sum_rows(gy, self.relu.y, g, gb)
        else:
            _relu_backward_sum_rows_outer(gy, self.relu.y, g, gb, self.x, gW)
        return Linear.backward(self, g, gb, gW)

    def _fused_backward(self, gy, gb):
        """Whether ReLU's backward and the bias gradient may run as one compiled pass: the compiled forward ran,
        the plan gave a buffer for the bias gradient, and sum_rows would take its compiled loop (where NaNs of both
        signs meet in a column's sum, which sign survives depends on the operand order, as sum_rows says)."""
        return gb is not None and self.relu.mask is None and gy.dtype == self.relu.y.dtype and _sums_rows(gy, gb)

    def _outer_product_buffer(self, gy):
        """The plan's buffer for the weight gradient where the fused pass may write that gradient too: for one
        row, x.T @ g is an outer product, one product per element. Not for a 1×1 weight, where NumPy multiplies
        the two numbers as such and keeps a -0.0 that the kernel's sum (from +0.0) would not."""
        gW = self.grad_out(1)
        shape = self.x.shape[1], gy.shape[1]
        if len(gy) != 1 or gW is None or gW.size == 1 or gW.dtype != gy.dtype or gW.shape != shape:
            return None
        return gW if gW.flags.c_contiguous else None


@compiled.kernel
def _relu_backward_sum_rows(gy, y, gx, gb):
    """ReLU's backward, gx = gy where y > 0 (else 0), and the bias gradient, gx's column sums: _relu_backward's
    and _sum_rows's numbers in one pass."""
    gb[:] = ZERO
    for i in range(gy.shape[0]):
        for j in range(gy.shape[1]):
            v = gy[i, j] * (ONE if y[i, j] > 0 else ZERO)
            gx[i, j] = v
            gb[j] += v


@compiled.kernel
def _relu_backward_sum_rows_outer(gy, y, gx, gb, x, gW):
    """_relu_backward_sum_rows for one row, and the weight gradient gW = x.T @ gx in the same call: an outer
    product, each element one term, added to zero as a product of matrices sums it (so -0.0 comes out +0.0).
    The same numbers as BLAS's, but for a NaN's sign where a NaN meets an infinity (BLAS may give its own)."""
    gb[:] = ZERO
    for j in range(gy.shape[1]):
        v = gy[0, j] * (ONE if y[0, j] > 0 else ZERO)
        gx[0, j] = v
        gb[j] += v
    for i in range(x.shape[1]):
        for j in range(gx.shape[1]):
            gW[i, j] = ZERO + x[0, i] * gx[0, j]


@compiled.kernel
def _add_bias(y, b):
    """y += b in place for a (rows, n) y and an (n,) b: each row's n adds, as NumPy's broadcast makes them."""
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] += b[j]


@compiled.kernel
def _add_bias_relu(y, b):
    """y = relu(y + b) in place, row by row: Linear's `y += b`, then _relu_forward's maximum."""
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            v = y[i, j] + b[j]
            y[i, j] = v if v > 0 or v != v else ZERO


def _product(a, b, out):
    """a @ b, into `out` where given: by np.dot, the same BLAS call as np.matmul with less cost per call (a
    small product's), unless `out` is not what dot writes (its result's dtype, contiguous): matmul casts. The
    method, a.dot: np.dot's dispatch to the array's library costs about a sixth of a microsecond more."""
    if out is None or out.dtype == a.dtype == b.dtype and out.flags.c_contiguous:
        return a.dot(b, out=out)
    return array_module(a).matmul(a, b, out=out)


def sum_rows(a, out=None):
    """a.sum(axis=0, out=out) for a 2-D a. With numba, one compiled loop that adds the rows in the order NumPy
    does: from zero, a row at a time, when the rows are contiguous, and either wider than one element or
    fewer than 8 (NumPy sums 8 or more contiguous numbers pairwise). The same numbers without a NumPy
    reduction's fixed cost, about a microsecond: the most of a bias gradient at batch 1. (The sign of a NaN
    may differ where NaNs of both signs meet in a sum: which one survives depends on the operand order.)"""
    if _sums_rows(a, out):
        out = np.empty(a.shape[1], a.dtype) if out is None else out
        _sum_rows(a, out)
        return out
    return a.sum(axis=0, out=out)


def _sums_rows(a, out):
    """Whether _sum_rows may sum the rows of `a` into `out` (None: a new array) with NumPy's numbers (sum_rows)."""
    return (compiled.applies(a) and a.ndim == 2 and _adds_rows_in_order(a) and a.flags.c_contiguous
            and (out is None or out.dtype == a.dtype and out.shape == a.shape[1:]))


def _adds_rows_in_order(a):
    """Whether NumPy's a.sum(axis=0) over a contiguous 2-D `a` adds its rows one at a time, as _sum_rows does:
    NumPy sums 8 or more contiguous numbers (a one-column array's column) pairwise."""
    return a.shape[1] > 1 or len(a) < 8


@compiled.kernel
def _sum_rows(a, out):
    out[:] = ZERO
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j] += a[i, j]


def _rows(x):
    """(batch, ..., features) as one matrix of rows, every leading position a sample: one matrix product
    over it is faster than NumPy's, which runs one product per leading index."""
    return x.reshape(-1, x.shape[-1]) if x.ndim > 2 else x


class EmbeddingLookup(Function):
    """Row i of the table for each integer i in `ids`. Its backward adds each output's gradient into
    the row it came from (a scatter-add: a word used twice in a batch gets both gradients)."""

    def forward(self, ids, table):
        if ids.dtype.kind not in "iuf":  # floats: integer ids that came through a float32 batch
            raise TypeError(f"embedding: ids must be integers, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
            raise IndexError(f"embedding: ids must be in [0, {table.shape[0]}) (the table's input_dim), got values "
                             f"from {ids.min()} to {ids.max()}")
        self.ids, self.table_shape = ids.astype(np.intp), table.shape
        return table[self.ids]

    def backward(self, gy):
        xp = array_module(gy)
        gtable = xp.zeros(self.table_shape, gy.dtype)
        xp.add.at(gtable, self.ids.ravel(), gy.reshape(-1, self.table_shape[1]))
        return None, gtable


# ---- regularizing layers ---------------------------------------------------------------------
class Dropout(Function):
    """Inverted dropout: keep each unit with probability 1 - rate and scale it by 1 / (1 - rate), so
    the expected activation is unchanged and evaluation needs no rescaling. A new mask is drawn at
    every forward (from `seed`'s generator, see keras.random) unless a fixed `mask` is given."""

    def __init__(self, rate, mask=None, noise_shape=None, seed=None):
        self.rate, self.fixed_mask, self.noise_shape, self.seed = rate, mask, noise_shape, seed

    def forward(self, x):
        mask = self.fixed_mask
        if mask is None:  # noise_shape: one draw per entry of that shape, broadcast (whole channels, say)
            shape = x.shape if self.noise_shape is None else self.noise_shape
            mask = array_module(x).asarray(generator(self.seed).random(shape, dtype=np.float32) >= self.rate)
        self.scaled_mask = mask * x.dtype.type(1 / (1 - self.rate))
        return x * self.scaled_mask

    def backward(self, gy):
        return gy * self.scaled_mask


class BatchNorm(Function):
    """Batch normalization over every axis but the last (the feature/channel axis), in training:
    x̂ = (x - μ_batch) / √(σ²_batch + ε), y = γ·x̂ + β.

    The running statistics are inputs too and are updated in place by the forward
    (moving ← momentum·moving + (1 - momentum)·batch, Keras's rule), so a replayed step updates them.
    """

    def __init__(self, epsilon=1e-3, momentum=0.99):
        self.epsilon, self.momentum = epsilon, momentum

    def forward(self, x, gamma, beta, moving_mean, moving_var):
        axes = tuple(range(x.ndim - 1))
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        self.inv_std = 1 / array_module(x).sqrt(var + x.dtype.type(self.epsilon))
        self.xhat = (x - mean) * self.inv_std
        self.gamma = gamma
        m = moving_mean.dtype.type(self.momentum)
        for moving, batch in ((moving_mean, mean), (moving_var, var)):
            moving *= m
            moving += (1 - m) * batch
        return self.xhat * gamma + beta

    def backward(self, gy):
        axes = tuple(range(gy.ndim - 1))
        ggamma = (gy * self.xhat).sum(axis=axes)
        gbeta = gy.sum(axis=axes)
        gxhat = gy * self.gamma
        n = gy.size // gy.shape[-1]
        # d/dx of normalizing by the batch's own mean and variance (the textbook's BatchNorm backward)
        gx = (gxhat - gxhat.mean(axis=axes) - self.xhat * (gxhat * self.xhat).sum(axis=axes) / n) * self.inv_std
        return gx, ggamma, gbeta, None, None


class BatchNormInference(Function):
    """Batch normalization with fixed statistics (evaluation): y = γ·(x - mean)/√(var + ε) + β."""

    def __init__(self, epsilon=1e-3):
        self.epsilon = epsilon

    def forward(self, x, gamma, beta, mean, var):
        self.inv_std = 1 / array_module(x).sqrt(var + x.dtype.type(self.epsilon))
        self.xhat = (x - mean) * self.inv_std
        self.gamma = gamma
        return self.xhat * gamma + beta

    def backward(self, gy):
        axes = tuple(range(gy.ndim - 1))
        return gy * self.gamma * self.inv_std, (gy * self.xhat).sum(axis=axes), gy.sum(axis=axes), None, None


# ---- losses ----------------------------------------------------------------------------------
def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; expected one of {', '.join(REDUCTIONS)}")


def _reduce(per_sample, reduction):
    """(value, scale of the per-sample gradient) for a reduction of per-sample losses."""
    scale = _scale(reduction, per_sample.size)
    if scale is None:
        return per_sample, None
    total = per_sample.sum()
    value = total if reduction == "sum" else total * per_sample.dtype.type(scale)
    return array_module(per_sample).asarray(value), scale


def _scale(reduction, n):
    """What a reduction multiplies the sum of n per-sample losses by (None: no reduction)."""
    return None if reduction == "none" else 1 if reduction == "sum" else 1 / max(n, 1)


def _upstream(gy, scale, ndim):
    """The per-sample upstream gradient, shaped to broadcast over a sample's other axes."""
    g = gy * gy.dtype.type(scale) if scale is not None else gy
    return g if g.ndim == ndim else g.reshape(g.shape + (1,) * (ndim - g.ndim))


def _pick(a, labels):
    """a[..., label] for each row."""
    rows = a if a.ndim == 2 else a.reshape(-1, a.shape[-1])
    picked = rows[array_module(a).arange(labels.size), labels if labels.ndim == 1 else labels.reshape(-1)]
    return picked if labels.ndim == 1 else picked.reshape(labels.shape)


class Pick(Function):
    """x[..., label] for each row: the probability a model gave to the true class."""

    def forward(self, x, labels):
        self.shape, self.labels = x.shape, labels
        return _pick(x, labels)

    def backward(self, gy):
        g = array_module(gy).zeros(self.shape, dtype=gy.dtype)
        rows = g.reshape(-1, self.shape[-1])
        rows[array_module(gy).arange(self.labels.size), self.labels.reshape(-1)] = gy.reshape(-1)
        return g, None


class SoftmaxCrossEntropy(Function):
    """Fused softmax + cross-entropy on logits (the textbook's SoftmaxWithLoss).

    Targets are integer class labels (N,) or probability rows (N, C). The loss uses log-softmax
    (x - max - log Σ exp(x - max)), so a zero probability never produces log(0); the backward is the
    textbook's (y - t) / N for the mean, with y = softmax(x) rebuilt from the forward's exponentials.
    It works on a transposed copy of the logits, classes first: each row's max and sum then run across
    the samples, vectorized (over rows of ten classes NumPy's reductions are several times slower).
    With numba and integer labels, the passes around NumPy's exp and log are compiled loops
    (`_compiled_forward`), with the same numbers; its first pass also counts the rows whose argmax is their
    label (`hits`, None on the NumPy path), which the trainer takes as the accuracy's count (trainer.py).
    """

    hits = None
    _kept = None

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, x, t):
        self.compiled = (compiled.applies(x) and x.ndim == 2 and t.shape == x.shape[:1] and t.dtype.kind in "iu"
                         and t.dtype.isnative)
        if self.compiled:
            return self._compiled_forward(x, t)
        xp, self.hits = array_module(x), None
        z = xp.ascontiguousarray(x.T)
        shifted = z - z.max(axis=0)
        self.exp = xp.exp(shifted)
        self.total = self.exp.sum(axis=0)
        log_total = xp.log(self.total)
        self.t, self.labels = t, None
        if t.ndim == x.ndim:
            per_sample = (t.T * (log_total - shifted)).sum(axis=0)
        else:
            self.labels = _transposed_index(t)
            per_sample = log_total - shifted.reshape(-1)[self.labels].reshape(t.T.shape)
        y, self.scale = _reduce(per_sample.T, self.reduction)
        return y

    def _compiled_forward(self, x, t):
        """forward's numbers for logits (N, C) and labels (N,), the passes before exp, between exp and log, and
        after log compiled (NumPy's exp and log, for the same numbers): 6 calls instead of 15, which at batch 1
        cost more than the arithmetic."""
        shifted, picked, self.total, (scale, typed_scale) = self._work_arrays(x)
        hits = _shift_and_pick(x, t, shifted, picked)
        if hits < 0:
            bad = -1 - hits
            raise ValueError(f"cross_entropy: labels must lie in [0, {x.shape[1]}), got {t[bad]} for sample {bad}")
        self.hits, self.t, self.exp = hits, t, np.exp(shifted, out=shifted)
        if _adds_rows_in_order(self.exp):  # sum_rows's compiled case, its other checks known: the array is ours
            _sum_rows(self.exp, self.total)
        else:
            self.exp.sum(axis=0, out=self.total)
        per_sample = np.log(self.total)
        if self.reduction == "none" or len(x) >= 8:  # NumPy sums 8 or more numbers pairwise
            per_sample -= picked
            y, self.scale = _reduce(per_sample, self.reduction)
            return y
        self.scale, y = scale, np.empty((), x.dtype)
        _subtract_and_reduce(per_sample, picked, typed_scale, y)
        return y

    def _work_arrays(self, x):
        """The compiled forward's work arrays (the shifted logits, the picked ones, the sums of exps) and the
        reduction's scale (a number, and x's scalar type of it), made once for a shape and dtype: a step plan
        replays this op at every step. As Function.scratch keeps an op's arrays, but with one check for all
        (each scratch() or empty array costs about a tenth of a microsecond, at batch 1 a tenth of the op)."""
        kept = self._kept
        if kept is None or kept[0].shape != x.shape[::-1] or kept[0].dtype != x.dtype:
            n, dtype = len(x), x.dtype
            scale = _scale(self.reduction, n)
            kept = self._kept = np.empty(x.shape[::-1], dtype), np.empty(n, dtype), np.empty(n, dtype), \
                (scale, None if scale is None else dtype.type(scale))
        return kept

    def backward(self, gy):
        if self.compiled:
            g, scale = gy.reshape(-1), gy.dtype.type(1 if self.scale is None else self.scale)  # times 1: exact
            if not compiled.applies(g):  # float16: NumPy would multiply by it as this, exactly
                g, scale = _upstream(gy, self.scale, gy.ndim).reshape(-1).astype(self.exp.dtype), self.exp.dtype.type(1)
            grad = np.empty_like(self.exp)
            _softmax_minus_label(self.exp, self.total, self.t, g, scale, grad)
            return grad.T, None
        grad = self.exp / self.total  # y = softmax(x), transposed
        if self.labels is None:
            t = self.t.T
            grad = grad * t.sum(axis=0) - t  # y·Σt - t (= y - t for proper rows)
        else:
            grad.reshape(-1)[self.labels] -= 1  # y - t with t one-hot, without the one-hot rows
        grad *= _upstream(gy, self.scale, gy.ndim).T  # per sample: broadcasts over the classes axis
        return grad.T, None


@compiled.kernel
def _shift_and_pick(x, labels, shifted, picked):
    """SoftmaxCrossEntropy.forward's passes before exp, for logits x (N, C): shifted = (x - each row's max).T
    and picked[n] = shifted[labels[n], n]. Returns how many rows' argmax is their label (sparse accuracy's hits,
    counted in the same pass), or -1 - i for the first sample i whose label is not a class (it would index
    outside the arrays). The max and argmax are NumPy's: a row's first maximum, or its first NaN."""
    n, c = x.shape
    hits = 0
    for i in range(n):
        label = labels[i]
        if label < 0 or label >= c:
            return -1 - i
        best, top = 0, x[i, 0]
        for j in range(1, c):
            if x[i, j] > top or (x[i, j] != x[i, j] and top == top):
                best, top = j, x[i, j]
        hits += best == label
        for j in range(c):
            shifted[j, i] = x[i, j] - top
        picked[i] = shifted[label, i]
    return hits


@compiled.kernel
def _subtract_and_reduce(a, b, scale, out):
    """a -= b for 1-D arrays, and out[()] = the new a's sum times scale: _reduce's numbers where NumPy sums in
    order (fewer than 8 numbers: from zero, one at a time)."""
    total = a.dtype.type(0)
    for i in range(a.size):
        a[i] -= b[i]
        total += a[i]
    out[()] = total * scale


@compiled.kernel
def _softmax_minus_label(e, total, labels, g, scale, grad):
    """SoftmaxCrossEntropy.backward's numbers, transposed as forward keeps them: grad[c, n] = (e[c, n] / total[n]
    - (1 if c is labels[n] else 0)) · (g[n]·scale), where g has one element per sample or one for all."""
    c, n = e.shape
    step = 1 if g.size > 1 else 0
    for j in range(c):
        for i in range(n):
            p = e[j, i] / total[i]
            if labels[i] == j:
                p -= ONE
            grad[j, i] = p * (g[i * step] * scale)


def _transposed_index(labels):
    """Where each label's logit lies in the flattened transpose of the logits, (C, *reversed(labels.shape))."""
    n = labels.size  # NumPy's intp names the index type for CuPy arrays too
    return labels.T.reshape(-1).astype(np.intp) * n + array_module(labels).arange(n)


class ElementwiseLoss(Function):
    """Base of losses that compare prediction and target element by element.

    The loss of a row is `combine` over its last axis (Keras's rule: an (N, T, C) output has N·T
    values, one per sample and step); `whole_sample` combines over all axes but the batch axis instead.
    The reduction then averages or sums those values.
    """

    combine, whole_sample = "mean", False

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, y, t):
        if y.shape != t.shape:
            raise ValueError(f"{type(self).__name__}: prediction shape {y.shape} and target shape {t.shape} differ")
        self.y, self.t = y, t.astype(y.dtype, copy=False)
        elementwise = self.elementwise(self.y, self.t)
        axes = tuple(range(1, y.ndim)) if self.whole_sample else (-1,) if y.ndim > 1 else ()
        per_sample = getattr(elementwise, self.combine)(axis=axes) if axes else elementwise
        self.per_sample_size = elementwise.size // max(per_sample.size, 1)
        out, self.scale = _reduce(per_sample, self.reduction)
        return out

    def backward(self, gy):
        g = _upstream(gy, self.scale, self.y.ndim)
        if self.combine == "mean":
            g = g / g.dtype.type(self.per_sample_size)
        return self.derivative(self.y, self.t) * g, None


class MeanSquaredError(ElementwiseLoss):
    def elementwise(self, y, t):
        return (y - t) ** 2

    def derivative(self, y, t):
        return 2 * (y - t)


class SumSquaredError(MeanSquaredError):
    """The textbook's ½·Σ(y - t)²: half the squared error summed over a sample's elements."""

    combine, whole_sample = "sum", True

    def elementwise(self, y, t):
        return 0.5 * (y - t) ** 2

    def derivative(self, y, t):
        return y - t


class MeanAbsoluteError(ElementwiseLoss):
    def elementwise(self, y, t):
        return array_module(y).abs(y - t)

    def derivative(self, y, t):
        return array_module(y).sign(y - t)


class BinaryCrossEntropy(ElementwiseLoss):
    """-[t·log p + (1-t)·log(1-p)] on probabilities, p clipped to [ε, 1-ε] as Keras does (ε: config.epsilon())."""

    @property
    def eps(self):
        return epsilon()

    def elementwise(self, p, t):
        xp = array_module(p)
        p = xp.clip(p, self.eps, 1 - self.eps)
        return -(t * xp.log(p) + (1 - t) * xp.log(1 - p))

    def derivative(self, p, t):
        inside = (p >= self.eps) & (p <= 1 - self.eps)
        p = array_module(p).clip(p, self.eps, 1 - self.eps)
        return (p - t) / (p * (1 - p)) * inside


class BinaryCrossEntropyWithLogits(ElementwiseLoss):
    """Binary cross-entropy on logits z: max(z, 0) - z·t + log(1 + exp(-|z|)), stable for any z;
    its derivative is sigmoid(z) - t."""

    def elementwise(self, z, t):
        xp = array_module(z)
        return xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))

    def derivative(self, z, t):
        return Sigmoid().forward(z) - t


# ---- the functions users call ----------------------------------------------------------------
@activation("step")
def step(x):
    return Step()(as_tensor(x))


@activation("sigmoid")
def sigmoid(x):
    return Sigmoid()(as_tensor(x))


@activation("tanh")
def tanh(x):
    return Tanh()(as_tensor(x))


@activation("relu")
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0); with Keras's options, x above threshold (at most max_value) and negative_slope·(x - threshold)
    below it (ReLUOptions)."""
    if negative_slope or max_value is not None or threshold:
        return ReLUOptions(negative_slope, max_value, threshold)(as_tensor(x))
    return ReLU()(as_tensor(x))


@activation("leaky_relu")
def leaky_relu(x, negative_slope=0.2):
    """max(x, negative_slope·x). 0.2 is Keras's default; the textbook uses 0.01: leaky_relu(x, 0.01)."""
    return LeakyReLU(negative_slope)(as_tensor(x))


def prelu(x, alpha):
    x = as_tensor(x)
    return PReLU()(x, as_tensor(alpha, like=x))


@activation("elu")
def elu(x, alpha=1.0):
    return ELU(alpha)(as_tensor(x))


@activation("softplus")
def softplus(x):
    return Softplus()(as_tensor(x))


@activation("linear", "identity")
def identity(x):
    return as_tensor(x)


@activation("softmax")
def softmax(x, axis=-1):
    return Softmax(axis)(as_tensor(x))


@activation("log_softmax")
def log_softmax(x, axis=-1):
    return LogSoftmax(axis)(as_tensor(x))


def linear(x, W, b=None):
    """x @ W + b in one fused op; W has shape (in_features, out_features) as a Keras Dense kernel."""
    x = as_operand(x, like=W)
    return Linear()(x, W) if b is None else Linear()(x, W, b)


def embedding(ids, table):
    """table[ids]: the rows of a (vocabulary, features) table for integer ids of any shape."""
    return EmbeddingLookup()(as_tensor(ids), table)


def dropout(x, rate, training=True, mask=None, noise_shape=None, seed=None):
    """Inverted dropout; identity when not training. `mask` (bool, x's shape) fixes which units drop;
    else a mask of `noise_shape` (default x's) is drawn from `seed`'s generator (see keras.random)."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    generator(seed)
    x = as_tensor(x)
    if not training or rate == 0:
        return x
    return Dropout(rate, None if mask is None else _data(mask), noise_shape, seed)(x)


def batch_norm(x, gamma, beta, epsilon=1e-3, mean=None, var=None, moving=None, momentum=0.99):
    """Normalize over all axes but the last with the batch's statistics, or with `mean`/`var` if given.

    With the batch's statistics, `moving=(moving_mean, moving_var)` (Tensors) are updated in place:
    moving ← momentum·moving + (1 - momentum)·batch.
    """
    x = as_tensor(x)
    gamma, beta = as_tensor(gamma, like=x), as_tensor(beta, like=x)
    if mean is not None:
        return BatchNormInference(epsilon)(x, gamma, beta, as_tensor(mean, like=x), as_tensor(var, like=x))
    if moving is None:
        xp, n = array_module(x.data), x.shape[-1]
        moving = xp.zeros(n, dtype=x.dtype), xp.ones(n, dtype=x.dtype)
    return BatchNorm(epsilon, momentum)(x, gamma, beta, *[as_tensor(m, like=x) for m in moving])


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _target(target, like):
    """Integer labels stay integers; anything else takes like's dtype (a Cast op for a Tensor of another
    float dtype, so a recorded step casts each new batch too). Loss ops pass targets no gradient."""
    if not isinstance(target, Tensor):
        kind = getattr(target, "dtype", np.dtype("f")).kind
        return Tensor._from_op(target, None) if kind in "iub" else as_tensor(target, like=like)
    if target.dtype.kind in "iub" or target.dtype == like.dtype:
        return target
    return ops_astype(target, like.dtype)


def _loss(fn, prediction, target, reduction):
    _check_reduction(reduction)
    prediction = as_tensor(prediction)
    return fn(reduction)(prediction, _target(target, prediction))


def pick(x, labels):
    """x[i, labels[i]] for each row i (labels: integer class indices, one per row)."""
    x = as_tensor(x)
    return Pick()(x, _target(labels, x))


def cross_entropy(logits, target, reduction="mean"):
    """Softmax + cross-entropy from logits; target: integer labels (N,) or probability rows (N, C)."""
    _check_reduction(reduction)
    logits = as_tensor(logits)
    target = _target(target, logits)
    if target.dtype.kind in "iu":
        n_classes = logits.shape[-1]
        if target.shape != logits.shape[:-1]:
            raise ValueError(f"cross_entropy: integer labels of shape {target.shape} do not match logits "
                             f"{logits.shape}")
        if target.size and (target.data.min() < 0 or target.data.max() >= n_classes):
            raise ValueError(f"cross_entropy: labels must lie in [0, {n_classes}), got range "
                             f"[{target.data.min()}, {target.data.max()}]")
    elif target.shape != logits.shape:
        raise ValueError(f"cross_entropy: target shape {target.shape} does not match logits {logits.shape}")
    return SoftmaxCrossEntropy(reduction)(logits, target)


def binary_cross_entropy(prob, target, reduction="mean"):
    return _loss(BinaryCrossEntropy, prob, target, reduction)


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    return _loss(BinaryCrossEntropyWithLogits, logits, target, reduction)


def mse(prediction, target, reduction="mean"):
    return _loss(MeanSquaredError, prediction, target, reduction)


def sse(prediction, target, reduction="sum"):
    """½·Σ(y - t)²; reduction "sum" (the default) is the textbook's sum_squared_error over a batch."""
    return _loss(SumSquaredError, prediction, target, reduction)


def mae(prediction, target, reduction="mean"):
    return _loss(MeanAbsoluteError, prediction, target, reduction)
