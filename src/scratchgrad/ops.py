"""Primitive tensor ops. Each is one Function: `forward` on raw arrays, `backward` right below it.

Binary ops broadcast; their backward sums each gradient back to its input's shape (`sum_to`).
Every op takes its array module from its inputs (`array_module`), so CuPy arrays work unchanged.
"""
import builtins
import functools
import inspect
import math as _math
import re as _re
import statistics as _statistics

import numpy as np

from .autograd import Function, no_grad, unrecorded, values_escaped
from .backend import array_module, float_dtype, image_data_format, to_numpy
from .backend import epsilon as _epsilon
from .tensor import Tensor, as_tensor


def sum_to(g, shape):
    """Sum gradient `g` over the axes broadcasting added or stretched, so it has `shape` again."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if lead else g


def _stretched(g, shape):
    """A writable copy of `g` stretched to `shape` (reduction backward; leaves may keep it as .grad)."""
    out = array_module(g).empty(shape, dtype=g.dtype)
    out[...] = g
    return out


def _pair(a, b):
    """Both operands as Tensors of one dtype; plain numbers and arrays follow the tensor's dtype."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)  # two arrays (keras.ops on NumPy inputs): the first sets the dtype
    if not isinstance(a, Tensor):
        a = as_tensor(a, like=b)
    elif not isinstance(b, Tensor):
        b = as_tensor(b, like=a)
    if a.dtype != b.dtype:
        fa, fb = a.dtype.kind == "f", b.dtype.kind == "f"
        if fa and fb:
            raise TypeError(
                f"operands have dtypes {a.dtype} and {b.dtype}; scratchgrad never upcasts silently: "
                f"call .astype() on one of them"
            )
        if fa:
            b = b.astype(a.dtype)
        elif fb:
            a = a.astype(b.dtype)
    return a, b


# ---- arithmetic ------------------------------------------------------------------------------
class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):
        return sum_to(gy, self.shapes[0]), sum_to(gy, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):
        return sum_to(gy, self.shapes[0]), sum_to(-gy, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = sum_to(gy * b, a.shape) if self.needs_grad[0] else None
        gb = sum_to(gy * a, b.shape) if self.needs_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = sum_to(gy / b, a.shape) if self.needs_grad[0] else None
        gb = sum_to(-gy * a / (b * b), b.shape) if self.needs_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """a ** b; the exponent's gradient a**b · log a is computed only when b requires grad."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy):
        a, b = self.a, self.b
        ga = sum_to(gy * self._power_rule(a, b), a.shape) if self.needs_grad[0] else None
        gb = sum_to(gy * self.y * array_module(a).log(a), b.shape) if self.needs_grad[1] else None
        return ga, gb


    @staticmethod
    def _power_rule(a, b):
        """b·a^(b-1), taken as 0 where b = 0 (a**0 is constant even at a = 0, where 0·inf would be NaN)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            d = b * a ** (b - 1)
        return array_module(d).where(b == 0, d.dtype.type(0), d)


class MatMul(Function):
    """a @ b with NumPy's rules: 1-D operands are promoted to matrices, leading axes are batch axes."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul needs operands of at least 1 dimension, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
            raise ValueError(
                f"matmul shape mismatch: {a.shape} @ {b.shape} (the last axis of the left operand must "
                f"equal the {'only' if b.ndim == 1 else 'second-to-last'} axis of the right one)"
            )
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a  # promote 1-D operands as forward did
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            gy = gy[..., None]
        if a.ndim == 1:
            gy = gy[..., None, :]
        ga = gb = None
        if self.needs_grad[0]:
            ga = sum_to(gy @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if self.needs_grad[1]:
            gb = sum_to(a2.swapaxes(-1, -2) @ gy, b2.shape).reshape(b.shape)
        return ga, gb


# ---- elementwise math ------------------------------------------------------------------------
class Exp(Function):
    def forward(self, x):
        self.y = array_module(x).exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    def forward(self, x):
        self.x = x
        with np.errstate(divide="ignore"):  # log 0 = -inf is the right value, not an error
            return array_module(x).log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    def forward(self, x):
        self.y = array_module(x).sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


class Abs(Function):
    def forward(self, x):
        self.x = x
        return array_module(x).abs(x)

    def backward(self, gy):
        return gy * array_module(gy).sign(self.x)


class Clip(Function):
    """Gradient flows where lo <= x <= hi and is zero where the value was clipped."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.x = x
        return array_module(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        inside = True
        if self.lo is not None:
            inside = self.x >= self.lo
        if self.hi is not None:
            inside = inside & (self.x <= self.hi)
        return gy * inside


class Maximum(Function):
    """Elementwise max; on ties each input gets half the gradient."""

    sign = 1

    def forward(self, a, b):
        self.a, self.b = a, b
        xp = array_module(a)
        return xp.maximum(a, b) if self.sign > 0 else xp.minimum(a, b)

    def backward(self, gy):
        d = (self.a - self.b) * self.sign
        share_a = (d > 0) + 0.5 * (d == 0)
        share_a = share_a.astype(gy.dtype)
        return sum_to(gy * share_a, self.a.shape), sum_to(gy * (1 - share_a), self.b.shape)


class Minimum(Maximum):
    sign = -1


class Cast(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.source = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.source)


class Compare(Function):
    """A comparison or logical op (`name`: equal, less, logical_and, ...; or integer floor_divide) with its
    result in `dtype`: no gradient, recorded like any op so that a replayed step recomputes it."""

    differentiable = False

    def __init__(self, name, dtype=np.dtype(bool)):
        self.name, self.dtype = name, dtype

    def forward(self, a, b):
        return getattr(array_module(a), self.name)(a, b).astype(self.dtype, copy=False)


# ---- reductions ------------------------------------------------------------------------------
def _reduced_axes(ndim, axis):
    if axis is None:
        return set(range(ndim))
    return {a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}


def _kept_shape(shape, axis):
    """The shape a reduction over `axis` has with keepdims=True (to broadcast gradients back)."""
    axes = _reduced_axes(len(shape), axis)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduced_shape(shape, axis):
    axes = _reduced_axes(len(shape), axis)
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        return array_module(x).asarray(x.sum(axis=self.axis, keepdims=self.keepdims))

    def backward(self, gy):
        return _stretched(gy.reshape(_kept_shape(self.shape, self.axis)), self.shape)


class Mean(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        y = array_module(x).asarray(x.mean(axis=self.axis, keepdims=self.keepdims))
        self.count = x.size // y.size if y.size else 1
        return y

    def backward(self, gy):
        return _stretched(gy.reshape(_kept_shape(self.shape, self.axis)) / gy.dtype.type(self.count), self.shape)


class Max(Function):
    """Max over axes; tied maxima share the gradient equally."""

    reduce = "max"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x = x
        self.y = getattr(x, self.reduce)(axis=self.axis, keepdims=True)
        if self.keepdims:
            return self.y
        return self.y.reshape(_reduced_shape(x.shape, self.axis))

    def backward(self, gy):
        mask = (self.x == self.y).astype(gy.dtype)
        mask /= mask.sum(axis=self.axis, keepdims=True)
        return gy.reshape(self.y.shape) * mask


class Min(Max):
    reduce = "min"


# ---- shapes ----------------------------------------------------------------------------------
class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.source = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"cannot reshape an array of shape {x.shape} ({x.size} values) into {self.shape}") from None

    def backward(self, gy):
        return gy.reshape(self.source)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        if self.axes is not None:
            self.axes = tuple(a % x.ndim for a in self.axes)  # argsort below needs them non-negative
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return gy.transpose()
        return gy.transpose(np.argsort(self.axes))


class ExpandDims(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.source = x.shape
        return array_module(x).expand_dims(x, self.axis)

    def backward(self, gy):
        return gy.reshape(self.source)


class Squeeze(Function):
    def __init__(self, axis=None):
        self.axis = axis

    def forward(self, x):
        self.source = x.shape
        return x.squeeze(self.axis)

    def backward(self, gy):
        return gy.reshape(self.source)


def _is_basic(index):
    """Whether x[index] is basic indexing (ints, slices, None, ...), which never picks an entry twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return builtins.all(i is None or i is Ellipsis or isinstance(i, builtins.slice)
                        or (isinstance(i, (int, np.integer)) and not isinstance(i, bool)) for i in parts)


class GetItem(Function):
    """x[index]; repeated integer indices accumulate their gradients (np.add.at semantics)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, gy):
        xp = array_module(gy)
        gx = xp.zeros(self.shape, dtype=self.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy  # no repeats to add up: plain assignment, much faster than add.at
        else:
            xp.add.at(gx, self.index, gy)
        return gx


class Concatenate(Function):
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return array_module(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(array_module(gy).split(gy, cuts, axis=self.axis))


class Stack(Function):
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        return array_module(xs[0]).stack(xs, axis=self.axis)

    def backward(self, gy):
        xp = array_module(gy)
        return tuple(xp.take(gy, i, axis=self.axis) for i in range(gy.shape[self.axis]))


class Where(Function):
    """where(cond, a, b): a where cond holds, b elsewhere; a and b get the gradient where they were chosen,
    cond none. cond is an input, not a constant, so a step plan replays a mask computed from the batch."""

    def forward(self, cond, a, b):
        self.cond, self.shapes = cond, (a.shape, b.shape)
        return array_module(a).where(cond, a, b)

    def backward(self, gy):
        zero = gy.dtype.type(0)
        xp = array_module(gy)
        return (None, sum_to(xp.where(self.cond, gy, zero), self.shapes[0]),
                sum_to(xp.where(self.cond, zero, gy), self.shapes[1]))


# ---- the functions users call ----------------------------------------------------------------
def add(a, b):
    return Add()(*_pair(a, b))


def sub(a, b):
    return Sub()(*_pair(a, b))


def mul(a, b):
    return Mul()(*_pair(a, b))


def div(a, b):
    return Div()(*_pair(a, b))


def pow(a, b):
    return Pow()(*_pair(a, b))


def matmul(a, b):
    return MatMul()(*_pair(a, b))


def neg(x):
    return Neg()(as_tensor(x))


def exp(x):
    return Exp()(_floating(x))


def log(x):
    return Log()(_floating(x))


def sqrt(x):
    return Sqrt()(_floating(x))


def abs(x):
    return Abs()(as_tensor(x))


def clip(x, x_min=None, x_max=None):
    if x_min is None and x_max is None:
        raise ValueError("clip needs x_min, x_max or both")
    return Clip(x_min, x_max)(as_tensor(x))


def maximum(a, b):
    return Maximum()(*_pair(a, b))


def minimum(a, b):
    return Minimum()(*_pair(a, b))


def _floating(x):
    """x as a Tensor of floats: integers become floatx (Keras's rule for exp, sin, ...; not float64)."""
    x = as_tensor(x)
    return x if x.dtype.kind in "fc" else astype(x, float_dtype())


def astype(x, dtype):
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    return x if x.dtype == dtype else Cast(dtype)(x)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def sum(x, axis=None, keepdims=False):
    return Sum(_axis(axis), keepdims)(as_tensor(x))


def mean(x, axis=None, keepdims=False):
    return Mean(_axis(axis), keepdims)(_floating(x))  # the mean of integers is floatx, as Keras's


def max(x, axis=None, keepdims=False):
    return Max(_axis(axis), keepdims)(as_tensor(x))


def min(x, axis=None, keepdims=False):
    return Min(_axis(axis), keepdims)(as_tensor(x))


def reshape(x, shape):
    return Reshape(shape)(as_tensor(x))


def transpose(x, axes=None):
    return Transpose(None if axes is None else tuple(axes))(as_tensor(x))


def flatten(x):
    """All axes into one, as ndarray.flatten (the Flatten layer keeps the batch axis)."""
    return reshape(x, (-1,))


def expand_dims(x, axis):
    return ExpandDims(axis)(as_tensor(x))


def squeeze(x, axis=None):
    return Squeeze(axis)(as_tensor(x))


def _index(index):
    parts = index if isinstance(index, tuple) else (index,)
    if builtins.any(isinstance(i, Tensor) for i in parts):
        values_escaped()  # the index becomes part of the op: a recorded step cannot replay it
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def getitem(x, index):
    return GetItem(_index(index))(as_tensor(x))


def _same_dtype(xs):
    """One dtype for concatenate/stack, by _pair's rule: constants and integer tensors follow the float
    tensors; tensors of two float dtypes are an error, never a silent upcast."""
    if not xs:
        raise ValueError("need at least one tensor")
    tensors = [x for x in xs if isinstance(x, Tensor)] or [Tensor(xs[0])]  # all arrays: the first sets the dtype
    like = next((t for t in tensors if t.dtype.kind == "f"), tensors[0])
    xs = [x if isinstance(x, Tensor) else as_tensor(x, like=like) for x in xs]
    floats = {x.dtype for x in xs if x.dtype.kind == "f"}
    if len(floats) > 1:
        raise TypeError(f"tensors have dtypes {', '.join(sorted(d.name for d in floats))}; scratchgrad never "
                        f"upcasts silently: call .astype() on some of them")
    return [x.astype(like.dtype) if floats and x.dtype != like.dtype else x for x in xs]


def concatenate(xs, axis=0):
    return Concatenate(axis)(*_same_dtype(xs))


def stack(xs, axis=0):
    return Stack(axis)(*_same_dtype(xs))


def divide_no_nan(x1, x2):
    """x1 / x2, and 0 where x2 is 0 (no inf or nan there; no gradient either)."""
    x1, x2 = as_tensor(x1), as_tensor(x2)
    zero = equal(x2, 0)
    return where(zero, 0.0, x1 / where(zero, 1.0, x2))


def where(cond, a, b):
    if not isinstance(cond, Tensor):
        cond = Tensor(array_module(cond).asarray(cond, dtype=bool), dtype=bool)
    return Where()(cond, *_pair(a, b))


class OneHot(Function):
    """Rows of zeros with a one at each label (no gradient)."""

    differentiable = False

    def __init__(self, num_classes, dtype):
        self.num_classes, self.dtype = num_classes, dtype

    def forward(self, labels):
        xp = array_module(labels)
        out = xp.zeros(labels.shape + (self.num_classes,), dtype=self.dtype)
        xp.put_along_axis(out, labels.astype(np.int64)[..., None], 1, axis=-1)
        return out


def one_hot(x, num_classes, dtype=None):
    """keras.ops.one_hot: integer labels -> one-hot rows."""
    return OneHot(num_classes, np.dtype(dtype or float_dtype()))(as_tensor(x) if isinstance(x, Tensor) else Tensor(x))


class Pad(Function):
    """`value` (zeros by default) around x: `widths` is one (before, after) pair per axis."""

    def __init__(self, widths, value=0):
        self.widths, self.value = [tuple(w) for w in widths], value

    def forward(self, x):
        return array_module(x).pad(x, self.widths, constant_values=x.dtype.type(self.value))

    def backward(self, gy):
        return gy[tuple(builtins.slice(a, gy.shape[i] - b) for i, (a, b) in enumerate(self.widths))]


class Repeat(Function):
    """Each entry repeated `times` times along `axis`; the backward sums each block of copies."""

    def __init__(self, times, axis):
        self.times, self.axis = times, axis

    def forward(self, x):
        self.axis = self.axis % x.ndim
        return array_module(x).repeat(x, self.times, axis=self.axis)

    def backward(self, gy):
        shape = gy.shape[:self.axis] + (gy.shape[self.axis] // self.times, self.times) + gy.shape[self.axis + 1:]
        return gy.reshape(shape).sum(axis=self.axis + 1)


class Dilate(Function):
    """Insert `factors[i] - 1` zeros between neighbouring entries along each axis (backward: the
    strided entries)."""

    def __init__(self, factors):
        self.factors = tuple(factors)

    def forward(self, x):
        shape = tuple((n - 1) * f + 1 for n, f in zip(x.shape, self.factors))
        out = array_module(x).zeros(shape, dtype=x.dtype)
        self.index = tuple(builtins.slice(None, None, f) for f in self.factors)
        out[self.index] = x
        return out

    def backward(self, gy):
        return gy[self.index]


def dilate(x, factors):
    return Dilate(factors)(as_tensor(x))


def pad(x, pad_width, mode="constant", constant_values=None):
    """keras.ops.pad: x with `pad_width` (one (before, after) pair per axis, or one pair for all) added around
    it: `constant_values` (0 by default), or with mode "reflect" (mirrored without the edge), "symmetric"
    (with it), "edge" (the edge repeated) or "wrap" (the other end), each as NumPy's, copies of x's own
    entries, so the gradient reaches them."""
    x = as_tensor(x)
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)).tolist()
    except ValueError:
        raise ValueError(f"pad_width must be one (before, after) pair per axis of x ({x.ndim}), or one for all; "
                         f"got {pad_width!r}") from None
    if builtins.any(w < 0 for pair in widths for w in pair):
        raise ValueError(f"pad_width must not be negative, got {pad_width!r}")
    if mode == "constant":
        return Pad(widths, 0 if constant_values is None else constant_values)(x)
    if mode not in ("reflect", "symmetric", "edge", "wrap"):
        raise ValueError(f"pad mode must be 'constant', 'reflect', 'symmetric', 'edge' or 'wrap', got {mode!r}")
    if constant_values is not None:
        raise ValueError(f"pad's constant_values goes with mode 'constant' only, got mode {mode!r}")
    for axis, (before, after) in enumerate(widths):
        x = _padded_along(x, axis, before, after, mode)
    return x


def _padded_along(x, axis, before, after, mode):
    if not before and not after:
        return x
    n = x.shape[axis]
    most = {"reflect": n - 1, "symmetric": n, "wrap": n, "edge": np.inf}[mode]
    if builtins.max(before, after) > most or (n == 0 and before + after):
        raise ValueError(f"pad mode {mode!r} adds at most {most} entries to an axis of {n} here, got "
                         f"({before}, {after}) on axis {axis}")

    def cut(start, stop):
        return x[(builtins.slice(None),) * axis + (builtins.slice(start, stop),)]

    def backwards(first, count):  # entries first, first - 1, ..., count of them
        if not count:
            return cut(0, 0)
        stop = first - count
        return x[(builtins.slice(None),) * axis + (builtins.slice(first, stop if stop >= 0 else None, -1),)]

    if mode == "reflect":
        head, tail = backwards(before, before), backwards(n - 2, after)
    elif mode == "symmetric":
        head, tail = backwards(before - 1, before), backwards(n - 1, after)
    elif mode == "wrap":
        head, tail = cut(n - before, n), cut(0, after)
    else:
        head = repeat(cut(0, 1), before, axis) if before else cut(0, 0)
        tail = repeat(cut(n - 1, n), after, axis) if after else cut(0, 0)
    return concatenate([head, x, tail], axis=axis)


def repeat(x, times, axis):
    return Repeat(times, axis)(as_tensor(x))


def not_equal(x1, x2, dtype=bool):
    """Where x1 != x2, as bool (Keras's result); `dtype` gives the mask as 0/1 in another dtype."""
    return Compare("not_equal", np.dtype(dtype))(*_pair(x1, x2))


# ---- Keras's names (keras.ops) -----------------------------------------------------------------
subtract, multiply, divide, power, negative = sub, mul, div, pow, neg
cast = astype


def square(x):
    x = as_tensor(x)
    return mul(x, x)


def convert_to_tensor(x, dtype=None):
    """x as a Tensor: an array keeps its dtype (float64 stays float64, as in Keras), Python numbers become
    floatx (floats) or int64 (integers)."""
    if isinstance(x, Tensor):  # a recorded cast: a step plan replays it, and the gradient flows through
        return x if dtype is None else astype(x, dtype)
    return Tensor(x, dtype=dtype if dtype is not None or not hasattr(x, "dtype") else x.dtype)


def convert_to_numpy(x):
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def shape(x):
    return tuple(x.shape)


def _new(array):
    """A Tensor of a new array in the array's own dtype (float64 asked for stays float64, not floatx)."""
    return Tensor(array, dtype=array.dtype)


def eye(n, dtype=None):
    return _new(np.eye(n, dtype=dtype or float_dtype()))


def ones(shape, dtype=None):
    return _new(np.ones(shape, dtype=dtype or float_dtype()))


def zeros(shape, dtype=None):
    return _new(np.zeros(shape, dtype=dtype or float_dtype()))


def ones_like(x, dtype=None):
    return _new(array_module(x.data).ones_like(x.data, dtype=dtype))


def zeros_like(x, dtype=None):
    return _new(array_module(x.data).zeros_like(x.data, dtype=dtype))


def argmax(x, axis=None):
    return as_tensor(x).argmax(axis)


class Cumsum(Function):
    """Running sums along `axis`; the backward is the running sum of the gradient taken from the end."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return array_module(x).cumsum(x, axis=self.axis)

    def backward(self, gy):
        xp = array_module(gy)
        return xp.flip(xp.cumsum(xp.flip(gy, self.axis), axis=self.axis), self.axis)


class _NoGrad(Function):
    """The array module's function `name` (with `options`), passing no gradient: sign, floor, ceil,
    round (flat almost everywhere, as in Keras), predicates (isnan, any, ...) and argsort."""

    differentiable = False

    def __init__(self, name, **options):
        self.name, self.options = name, options

    def forward(self, *xs):
        return getattr(array_module(xs[0]), self.name)(*xs, **self.options)


def _no_grad(name):
    """ops.<name>: the array module's function of that name, passing no gradient."""
    def apply(x):
        return _NoGrad(name)(as_tensor(x))

    apply.__name__ = name
    return apply


sign, floor, ceil, trunc, signbit, isnan, isinf, isfinite, isposinf, isneginf, logical_not = (
    _no_grad(name) for name in ("sign", "floor", "ceil", "trunc", "signbit", "isnan", "isinf", "isfinite",
                                "isposinf", "isneginf", "logical_not"))


class _FiniteOrZero(Function):
    """x where finite, else 0; no gradient (logsumexp's shift only has to keep exp in range)."""

    differentiable = False

    def forward(self, x):
        return array_module(x).where(array_module(x).isfinite(x), x, x.dtype.type(0))


def cumsum(x, axis=None, dtype=None):
    x = as_tensor(x) if dtype is None else astype(x, dtype)
    return Cumsum(axis)(x if axis is not None else reshape(x, (-1,)))


def floor_divide(x1, x2):
    """⌊x1 / x2⌋, flat almost everywhere: no gradient (as in Keras). Integers stay integers."""
    x1, x2 = _pair(x1, x2)
    if x1.dtype.kind in "iu" and x2.dtype.kind in "iu":
        return Compare("floor_divide", np.result_type(x1.dtype, x2.dtype))(x1, x2)
    return floor(x1 / x2)


class Mod(Function):
    """x1 mod x2 with the sign of x2 (NumPy's and Keras's rule), computed by the array module (x1 - ⌊x1/x2⌋·x2
    written out rounds to 0 near exact multiples); its gradient is 1 for x1 and -⌊x1 / x2⌋ for x2."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return array_module(a).mod(a, b)

    def backward(self, gy):
        a, b = self.a, self.b
        ga = sum_to(gy, a.shape) if self.needs_grad[0] else None
        gb = sum_to(-gy * array_module(a).floor_divide(a, b), b.shape) if self.needs_grad[1] else None
        return ga, gb


def mod(x1, x2):
    return Mod()(*_pair(x1, x2))


def round(x, decimals=0):
    return _NoGrad("round", decimals=decimals)(as_tensor(x))


def var(x, axis=None, keepdims=False):
    x = as_tensor(x)
    centered = x - mean(x, axis, keepdims=True)
    return mean(centered * centered, axis, keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis, keepdims))


def rsqrt(x):
    return div(1.0, sqrt(as_tensor(x)))


def logsumexp(x, axis=None, keepdims=False):
    """log Σ exp(x), computed as max + log Σ exp(x - max) so it does not overflow."""
    x = as_tensor(x)
    top = _FiniteOrZero()(max(x, axis, keepdims=True))  # an infinite max would make x - max NaN
    out = log(sum(exp(x - top), axis, keepdims=True)) + top
    return out if keepdims else squeeze(out, axis) if axis is not None else reshape(out, ())


def argmin(x, axis=None):
    x = as_tensor(x)
    values_escaped()
    return Tensor(x.data.argmin(axis))


def arange(start, stop=None, step=1, dtype=None):
    return Tensor(np.arange(start, stop, step) if stop is not None else np.arange(start), dtype=dtype)


def linspace(start, stop, num=50, dtype=None):
    return Tensor(np.linspace(start, stop, num), dtype=dtype)


def tile(x, repeats):
    """x repeated `repeats` times along each axis (as NumPy's tile), with the gradient summed back."""
    x = as_tensor(x)
    if isinstance(repeats, Tensor):  # a count computed with ops (a batch size): its values, read into Python
        repeats = repeats.numpy().tolist()
    repeats = (int(repeats),) if np.ndim(repeats) == 0 else tuple(int(r) for r in repeats)
    if len(repeats) > x.ndim:
        x = reshape(x, (1,) * (len(repeats) - x.ndim) + x.shape)
    for axis, times in enumerate((1,) * (x.ndim - len(repeats)) + repeats):
        if times == 0:
            x = x[(builtins.slice(None),) * axis + (builtins.slice(0, 0),)]
        elif times != 1:
            x = concatenate([x] * times, axis=axis)
    return x


# ---- more of keras.ops: elementwise math -------------------------------------------------------
class Elementwise(Function):
    """y = f(x) for the function `name` of the array module; dy/dx from DERIVATIVES (of x and y)."""

    DERIVATIVES = {
        "sin": lambda x, y, xp: xp.cos(x),
        "cos": lambda x, y, xp: -xp.sin(x),
        "tan": lambda x, y, xp: 1 + y * y,
        "arctan": lambda x, y, xp: 1 / (1 + x * x),
        "sinh": lambda x, y, xp: xp.cosh(x),
        "cosh": lambda x, y, xp: xp.sinh(x),
        "log1p": lambda x, y, xp: 1 / (1 + x),
        "expm1": lambda x, y, xp: y + 1,
        "arcsin": lambda x, y, xp: 1 / xp.sqrt(1 - x * x),
        "arccos": lambda x, y, xp: -1 / xp.sqrt(1 - x * x),
        "arcsinh": lambda x, y, xp: 1 / xp.sqrt(x * x + 1),
        "arccosh": lambda x, y, xp: 1 / xp.sqrt(x * x - 1),
        "arctanh": lambda x, y, xp: 1 / (1 - x * x),
        "log2": lambda x, y, xp: 1 / (x * _math.log(2)),
        "log10": lambda x, y, xp: 1 / (x * _math.log(10)),
        "exp2": lambda x, y, xp: y * _math.log(2),
        "cbrt": lambda x, y, xp: 1 / (3 * y * y),
    }

    def __init__(self, name):
        self.name = name

    def forward(self, x):
        self.x = x
        with np.errstate(divide="ignore"):  # log1p(-1) = -inf is the right value, not an error (log2(0) too)
            self.y = getattr(array_module(x), self.name)(x)
        return self.y

    def backward(self, gy):
        return gy * self.DERIVATIVES[self.name](self.x, self.y, array_module(gy))


def _python_erfinv(y):
    """erfinv from Python's statistics.NormalDist (the normal quantile: erfinv(y) = Φ⁻¹((1 + y) / 2) / √2,
    = -Φ⁻¹((1 - y) / 2) / √2 above ½, where 1 - y is exact), then two Newton steps on erf(x) = y (erfc(x) =
    1 - y above ½), which win back what the halving rounds away; its series near 0."""
    if not -1 < y < 1:
        return _math.copysign(_math.inf, y) if builtins.abs(y) == 1 else _math.nan
    if y < 0:
        return -_python_erfinv(-y)
    if y < 1e-7:
        return _math.sqrt(_math.pi) / 2 * (y + _math.pi * y**3 / 12)
    normal = _statistics.NormalDist()
    x = (-normal.inv_cdf((1 - y) / 2) if y > 0.5 else normal.inv_cdf((1 + y) / 2)) / _math.sqrt(2)
    for _ in range(2):
        slope = 2 / _math.sqrt(_math.pi) * _math.exp(-x * x)
        x += (_math.erfc(x) - (1 - y)) / slope if y > 0.5 else (y - _math.erf(x)) / slope
    return x


class Special(Function):
    """erf, erfc and erfinv, which NumPy lacks: SciPy's when installed, else Python's per element (math.erf,
    math.erfc, and erfinv by statistics.NormalDist; exact, but slow on large arrays); CuPy's on the GPU.
    Derivatives: erf' = 2/√π · exp(-x²) = -erfc', erfinv'(y) = √π/2 · exp(erfinv(y)²)."""

    PYTHON = {"erf": _math.erf, "erfc": _math.erfc, "erfinv": _python_erfinv}

    def __init__(self, name):
        self.name = name

    def forward(self, x):
        self.x = x
        if array_module(x) is not np:
            import cupyx.scipy.special as special

            self.y = getattr(special, self.name)(x).astype(x.dtype, copy=False)  # CuPy's have no float16
            return self.y
        try:
            import scipy.special as special

            function = getattr(special, self.name)
        except ImportError:
            function = np.frompyfunc(self.PYTHON[self.name], 1, 1)
        self.y = np.asarray(function(x), dtype=x.dtype)
        return self.y

    def backward(self, gy):
        xp, scalar = array_module(gy), gy.dtype.type
        if self.name == "erfinv":
            return gy * (scalar(_math.sqrt(_math.pi) / 2) * xp.exp(self.y * self.y))
        slope = scalar(2 / _math.sqrt(_math.pi)) * xp.exp(-self.x * self.x)
        return gy * (slope if self.name == "erf" else -slope)


def _elementwise(name):
    def apply(x):
        return Elementwise(name)(_floating(x))

    apply.__name__ = name
    return apply


(sin, cos, tan, arctan, sinh, cosh, log1p, expm1, arcsin, arccos, arcsinh, arccosh, arctanh, log2, log10, exp2,
 cbrt) = (_elementwise(name) for name in Elementwise.DERIVATIVES)


def erf(x):
    return Special("erf")(_floating(x))


def erfc(x):
    """1 - erf(x), without the cancellation: erfc(10) is 2e-45, not 0."""
    return Special("erfc")(_floating(x))


def erfinv(x):
    """The inverse of erf on (-1, 1): ±inf at ±1, NaN beyond."""
    return Special("erfinv")(_floating(x))


# ---- comparisons and logic (bool results, no gradient) --------------------------------------------
def _no_grad_of_two(name, dtype=None):
    """ops.<name>(x1, x2): the array module's function of two arrays, passing no gradient; its result in
    `dtype` (bool for predicates) or the inputs' dtype."""
    def apply(x1, x2):
        a, b = _pair(x1, x2)
        return Compare(name, np.dtype(dtype) if dtype else np.result_type(a.dtype, b.dtype))(a, b)

    apply.__name__ = name
    return apply


equal, greater, greater_equal, less, less_equal, logical_and, logical_or, logical_xor = (
    _no_grad_of_two(name, bool) for name in ("equal", "greater", "greater_equal", "less", "less_equal",
                                             "logical_and", "logical_or", "logical_xor"))


def any(x, axis=None, keepdims=False):
    return _NoGrad("any", axis=_axis(axis), keepdims=keepdims)(as_tensor(x))


def all(x, axis=None, keepdims=False):
    return _NoGrad("all", axis=_axis(axis), keepdims=keepdims)(as_tensor(x))


# ---- reductions and scans --------------------------------------------------------------------------
def _to_last(a, axes, xp):
    """`a` with the axes in `axes` moved to the end and merged into one (for products along them)."""
    moved = xp.moveaxis(a, axes, list(range(a.ndim - len(axes), a.ndim)))
    return moved.reshape(moved.shape[:a.ndim - len(axes)] + (-1,))


def _exclusive_cumprod(a, xp, reverse=False):
    """Products of the entries before each one along the last axis (after, with reverse): no division,
    so zeros in the input give exact gradients."""
    if reverse:
        return xp.flip(_exclusive_cumprod(xp.flip(a, -1), xp), -1)
    out = xp.ones_like(a)
    out[..., 1:] = xp.cumprod(a[..., :-1], axis=-1)
    return out


class Prod(Function):
    """Product over axes; d/dx_i is the product of the others (before × after, never y / x_i)."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x = x
        return array_module(x).asarray(x.prod(axis=self.axis, keepdims=self.keepdims))

    def backward(self, gy):
        x, xp = self.x, array_module(gy)
        axes = sorted(_reduced_axes(x.ndim, self.axis))
        flat = _to_last(x, axes, xp)
        others = _exclusive_cumprod(flat, xp) * _exclusive_cumprod(flat, xp, reverse=True)
        kept = tuple(n for i, n in enumerate(x.shape) if i not in axes)
        others = others.reshape(kept + tuple(x.shape[i] for i in axes))
        others = xp.moveaxis(others, list(range(len(kept), x.ndim)), axes)
        return others * gy.reshape(_kept_shape(x.shape, self.axis))


class Cumprod(Function):
    """Running products along `axis`. Backward without dividing by x (zeros are common): with
    S_i = Σ_{j≥i} g_j · x_{i+1}…x_j, one reverse scan S_i = g_i + x_{i+1} S_{i+1}, the gradient is
    (x_0…x_{i-1}) · S_i."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.x = x
        return array_module(x).cumprod(x, axis=self.axis)

    def backward(self, gy):
        xp = array_module(gy)
        x, g = xp.moveaxis(self.x, self.axis, -1), xp.moveaxis(gy, self.axis, -1)
        if g.shape[-1] == 0:
            return gy
        s = xp.empty_like(g)
        s[..., -1] = g[..., -1]
        for i in range(g.shape[-1] - 2, -1, -1):
            s[..., i] = g[..., i] + x[..., i + 1] * s[..., i + 1]
        return xp.moveaxis(_exclusive_cumprod(x, xp) * s, -1, self.axis)


class L2Norm(Function):
    """sqrt(Σ x²) over axes; its gradient x / norm is taken as 0 where the norm is 0 (a subgradient)."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x = x
        self.y = array_module(x).sqrt((x * x).sum(axis=self.axis, keepdims=True))
        return self.y if self.keepdims else self.y.reshape(_reduced_shape(x.shape, self.axis))

    def backward(self, gy):
        xp = array_module(gy)
        safe = xp.where(self.y == 0, gy.dtype.type(1), self.y)
        return gy.reshape(self.y.shape) * self.x / safe


def prod(x, axis=None, keepdims=False, dtype=None):
    x = as_tensor(x) if dtype is None else astype(x, dtype)
    return Prod(_axis(axis), keepdims)(x)


def cumprod(x, axis=None, dtype=None):
    x = as_tensor(x) if dtype is None else astype(x, dtype)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    return Cumprod(axis)(x)


def norm(x, ord=None, axis=None, keepdims=False):
    """keras.ops.norm (NumPy's): for vectors ord None/2 the Euclidean norm, 1, inf, -inf or any p > 0; for
    matrices (axis a pair, or x 2-D) ord None/"fro" Frobenius, 1/-1 the largest/smallest column sum of |x|,
    inf/-inf the same over rows, 2/-2 the largest/smallest singular value and "nuc" their sum."""
    x = as_tensor(x)
    if x.dtype.kind != "f":
        x = astype(x, float_dtype())  # as Keras: the norm of integers is a float
    axis = _axis(axis)
    if axis is None and ord is not None and x.ndim > 2:
        raise ValueError(f"norm with ord={ord!r} and axis=None needs a 1-D or 2-D x, got {x.ndim}-D: pass axis")
    matrix = (isinstance(axis, tuple) and len(axis) == 2) or (axis is None and x.ndim == 2)
    if ord is None or (ord == "fro" and matrix) or (ord == 2 and not matrix):
        return L2Norm(axis, keepdims)(x)
    if matrix and ord in MATRIX_NORMS:
        return _matrix_norm(x, ord, axis or (0, 1), keepdims)
    if matrix or isinstance(ord, str) or not (ord > 0 or ord == -np.inf):
        raise ValueError(f"norm supports ord=None, 'fro', 'nuc', 1, -1, 2, -2, inf, -inf (matrices) and 2, 1, inf, "
                         f"-inf or p > 0 (vectors); got ord={ord!r} for a {'matrix' if matrix else 'vector'} norm "
                         f"(axis={axis}, x.ndim={x.ndim})")
    if ord == np.inf:
        return max(abs(x), axis, keepdims)
    if ord == -np.inf:
        return min(abs(x), axis, keepdims)
    if ord == 1:
        return sum(abs(x), axis, keepdims)
    return sum(abs(x) ** float(ord), axis, keepdims) ** (1.0 / ord)


MATRIX_NORMS = (1, -1, np.inf, -np.inf, 2, -2, "nuc")


def _matrix_norm(x, ord, axis, keepdims):
    rows, cols = (a % x.ndim for a in axis)
    if ord in (2, -2, "nuc"):
        s = SingularValues()(moveaxis(x, (rows, cols), (-2, -1)))
        out = {2: max, -2: min, "nuc": sum}[ord](s, -1)
    else:  # 1: the columns' sums of |x| (over the rows), inf: the rows' (over the columns)
        sums = sum(abs(x), rows if builtins.abs(ord) == 1 else cols, keepdims=True)
        out = squeeze((max if ord > 0 else min)(sums, (rows, cols), keepdims=True), (rows, cols))
    return expand_dims(out, tuple(sorted((rows, cols)))) if keepdims else out


def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) over `axes`. `synchronized` (across devices in Keras) changes nothing on one device."""
    return mean(x, _axis(axes), keepdims), var(x, _axis(axes), keepdims)


def normalize(x, axis=-1, order=2, epsilon=None):
    """x / max(‖x‖_order, epsilon) along `axis` (keras.ops.normalize). Keras computes order 2 as
    x · min(1/√Σx², 1/epsilon): the same numbers up to rounding, but a NaN gradient at x = 0, where this
    one is 1/epsilon (the norm's subgradient there is 0)."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1, got {order!r}")
    x = as_tensor(x)
    if x.dtype.kind != "f":
        x = astype(x, float_dtype())  # as Keras: integers normalize to floats
    epsilon = _epsilon() if epsilon is None else epsilon
    size = L2Norm(_axis(axis), keepdims=True)(x) if order == 2 else norm(x, order, _axis(axis), keepdims=True)
    return x / maximum(size, epsilon)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x / √(mean(x²) + epsilon) along `axis`, times `scale` (keras.ops.rms_normalization: root mean square
    normalization, Zhang and Sennrich 2019)."""
    x = as_tensor(x)
    epsilon = _epsilon() if epsilon is None else epsilon
    y = x * rsqrt(mean(x * x, _axis(axis), keepdims=True) + epsilon)
    return y if scale is None else y * scale
# ---- more of keras.ops: indexing, sorting, shapes ---------------------------------------------------
def _indices(indices, op):
    """Integer indices as a Tensor (an input of the op, so a replayed step takes the new ones)."""
    indices = as_tensor(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op} needs integer indices, got dtype {indices.dtype}")
    return indices


class _Gather(Function):
    """Entries of x picked by integer `indices` along `axis` with the array module's `function` (the indices
    are an input, so a replayed step takes the new ones); the backward adds each gradient back at its index."""

    function = None

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x, indices):
        self.shape, self.indices = x.shape, indices
        return getattr(array_module(x), self.function)(x, indices, axis=self.axis)


class Take(_Gather):
    """np.take(x, indices, axis); indices picked twice get both gradients (add.at)."""

    function = "take"

    def backward(self, gy):
        xp = array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        xp.add.at(gx, (builtins.slice(None),) * (self.axis % len(self.shape)) + (self.indices,), gy)
        return gx, None


class TakeAlongAxis(_Gather):
    """np.take_along_axis(x, indices, axis)."""

    function = "take_along_axis"

    def backward(self, gy):
        xp, axis = array_module(gy), self.axis % len(self.shape)
        # every other axis indexed by its own positions, shaped to broadcast against `indices`
        where = [xp.arange(n).reshape((-1,) + (1,) * (len(self.shape) - 1 - i)) for i, n in enumerate(self.shape)]
        where[axis] = self.indices
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        xp.add.at(gx, tuple(where), gy)
        return gx, None


def take(x, indices, axis=None):
    x, indices = as_tensor(x), _indices(indices, "take")
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    return Take(axis)(x, indices)


def take_along_axis(x, indices, axis=None):
    x, indices = as_tensor(x), _indices(indices, "take_along_axis")
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_axis needs indices with as many axes as x ({x.ndim}), got shape {indices.shape}")
    return TakeAlongAxis(axis)(x, indices)


def argsort(x, axis=-1):
    return _NoGrad("argsort", axis=axis, kind="stable")(as_tensor(x))


def sort(x, axis=-1):
    """Sorted along `axis`; the gradient goes back to where each value came from."""
    x = as_tensor(x)
    return take_along_axis(x, argsort(x, axis), axis)


class _TopKIndices(Function):
    """Indices of the k largest along the last axis, largest first, ties in index order (as Keras).
    A stable ascending sort of the reversed row, read backwards, gives exactly that order."""

    differentiable = False

    def __init__(self, k):
        self.k = k

    def forward(self, x):
        xp, n = array_module(x), x.shape[-1]
        order = xp.flip(xp.argsort(xp.flip(x, -1), axis=-1, kind="stable"), -1)
        return (n - 1 - order[..., :self.k]).astype(np.int64)


def top_k(x, k, sorted=True):
    """(values, indices) of the k largest entries along the last axis, always sorted (sorted=False lets
    Keras return any order; sorted is one of them)."""
    x = as_tensor(x)
    if x.ndim == 0 or not isinstance(k, (int, np.integer)) or not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k needs an integer k between 0 and the last axis's size, got k={k!r} for shape "
                         f"{x.shape}")
    indices = _TopKIndices(int(k))(x)
    return take_along_axis(x, indices, -1), indices


def _check_axis(axis, ndim, op):
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of {ndim} dimensions")
    return axis % ndim


def split(x, indices_or_sections, axis=0):
    """Pieces of x along `axis`: `indices_or_sections` equal ones, or cut before each listed index."""
    x = as_tensor(x)
    axis = _check_axis(axis, x.ndim, "split")
    size = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections <= 0 or size % indices_or_sections:
            raise ValueError(f"split: axis {axis} of size {size} cannot be split into {indices_or_sections} "
                             f"equal sections")
        step = size // indices_or_sections
        cuts = list(range(step, size, step)) if step else [0] * (indices_or_sections - 1)
    else:
        cuts = [int(i) for i in indices_or_sections]
    bounds = zip([0] + cuts, cuts + [size])
    return [x[(builtins.slice(None),) * axis + (builtins.slice(a, b),)] for a, b in bounds]


def unstack(x, num=None, axis=0):
    """The slices of x along `axis`, as a list (the axis removed)."""
    x = as_tensor(x)
    axis = _check_axis(axis, x.ndim, "unstack")
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"unstack: num={num} but axis {axis} has size {x.shape[axis]}")
    return [x[(builtins.slice(None),) * axis + (i,)] for i in range(x.shape[axis])]


def slice(inputs, start_indices, shape):
    """The block of `inputs` that starts at `start_indices` and has `shape`."""
    x = as_tensor(inputs)
    start, shape = [int(i) for i in start_indices], [int(n) for n in shape]
    if len(start) != x.ndim or len(shape) != x.ndim:
        raise ValueError(f"slice needs one start index and one size per axis of the {x.ndim}-D input, got "
                         f"start_indices={tuple(start)} and shape={tuple(shape)}")
    if builtins.any(a < 0 or n < 0 or a + n > d for a, n, d in zip(start, shape, x.shape)):
        raise ValueError(f"slice: start_indices={tuple(start)} with shape={tuple(shape)} does not fit inside "
                         f"an input of shape {x.shape}")
    return x[tuple(builtins.slice(a, a + n) for a, n in zip(start, shape))]


def stop_gradient(variable):
    return as_tensor(variable).detach()


class Flip(Function):
    def __init__(self, axis=None):
        self.axis = axis

    def forward(self, x):
        return array_module(x).flip(x, self.axis)

    def backward(self, gy):
        return array_module(gy).flip(gy, self.axis)


class Triangle(Function):
    """tril / triu (`name`) of the last two axes: a fixed mask, so the backward masks the gradient."""

    def __init__(self, name, k):
        self.name, self.k = name, k

    def forward(self, x):
        return getattr(array_module(x), self.name)(x, self.k)

    def backward(self, gy):
        return getattr(array_module(gy), self.name)(gy, self.k)


def flip(x, axis=None):
    return Flip(_axis(axis))(as_tensor(x))


def _triangle(name, x, k):
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{name} needs a tensor of at least 2 dimensions, got shape {x.shape}")
    return Triangle(name, int(k))(x)


def tril(x, k=0):
    return _triangle("tril", x, k)


def triu(x, k=0):
    return _triangle("triu", x, k)


def swapaxes(x, axis1, axis2):
    x = as_tensor(x)
    axes = list(range(x.ndim))
    a, b = _check_axis(axis1, x.ndim, "swapaxes"), _check_axis(axis2, x.ndim, "swapaxes")
    axes[a], axes[b] = b, a
    return transpose(x, axes)


def moveaxis(x, source, destination):
    """The axes `source` moved to `destination` (as np.moveaxis), the others kept in order."""
    x = as_tensor(x)
    source = [source] if isinstance(source, int) else list(source)
    destination = [destination] if isinstance(destination, int) else list(destination)
    if len(source) != len(destination):
        raise ValueError(f"moveaxis needs as many destinations as sources, got {source} and {destination}")
    source = [_check_axis(a, x.ndim, "moveaxis") for a in source]
    destination = [_check_axis(a, x.ndim, "moveaxis") for a in destination]
    order = [a for a in range(x.ndim) if a not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return transpose(x, order)


# ---- contractions --------------------------------------------------------------------------------
def tensordot(x1, x2, axes=2):
    """Sum over `axes` of x1 against `axes` of x2 (an int: the last n of x1 with the first n of x2),
    as one matmul between the two reshaped to matrices."""
    a, b = _pair(x1, x2)
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        axes_a, axes_b = ([ax] if isinstance(ax, int) else list(ax) for ax in axes)
    axes_a = [_check_axis(ax, a.ndim, "tensordot") for ax in axes_a]
    axes_b = [_check_axis(ax, b.ndim, "tensordot") for ax in axes_b]
    if [a.shape[i] for i in axes_a] != [b.shape[i] for i in axes_b]:
        raise ValueError(f"tensordot: axes {axes_a} of shape {a.shape} and {axes_b} of shape {b.shape} differ "
                         f"in size")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    inner = int(np.prod([a.shape[i] for i in axes_a]))
    left = reshape(transpose(a, free_a + axes_a), (-1, inner))
    right = reshape(transpose(b, axes_b + free_b), (inner, -1))
    return reshape(matmul(left, right), tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


def dot(x1, x2):
    """np.dot: a product with a scalar, else the last axis of x1 summed against x2's second-to-last
    (its only axis when 1-D)."""
    a, b = _pair(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    return tensordot(a, b, ([a.ndim - 1], [builtins.max(b.ndim - 2, 0)]))


class Einsum(Function):
    """np.einsum. The gradient of an operand is the einsum of the output gradient with the other
    operands into that operand's subscripts; letters only that operand has (summed in forward) are
    broadcast back, and axes einsum broadcast from size 1 are summed back (sum_to)."""

    def __init__(self, subscripts):
        self.subscripts = subscripts.replace(" ", "")

    def forward(self, *arrays):
        self.arrays = arrays
        self.inputs_subs, self.output_sub = _einsum_subscripts(self.subscripts, [a.ndim for a in arrays])
        spec = ",".join(self.inputs_subs) + "->" + self.output_sub
        return array_module(arrays[0]).einsum(spec, *arrays, optimize=True)

    def backward(self, gy):
        xp, grads = array_module(gy), []
        for k, (sub, x) in enumerate(zip(self.inputs_subs, self.arrays)):
            if not self.needs_grad[k]:
                grads.append(None)
                continue
            others = [(s, a) for i, (s, a) in enumerate(zip(self.inputs_subs, self.arrays)) if i != k]
            known = set(self.output_sub).union(*[s for s, _ in others])
            present = "".join(c for c in sub if c in known)
            spec = ",".join([self.output_sub] + [s for s, _ in others]) + "->" + present
            g = xp.einsum(spec, gy, *[a for _, a in others], optimize=True)
            sizes = iter(g.shape)  # g has sub's axes less the unknown letters: put those back as 1s
            g = g.reshape(tuple(next(sizes) if c in known else 1 for c in sub))
            grads.append(_stretched(sum_to(g, tuple(n if c in known else 1 for n, c in zip(x.shape, sub))),
                                      x.shape))
        return tuple(grads)


def _einsum_subscripts(subscripts, ndims):
    """Each operand's subscripts and the output's, explicit: '...' spelled out in unused letters
    (right-aligned, as NumPy broadcasts it) and an implicit output written out as NumPy would."""
    inputs, arrow, output = subscripts.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != len(ndims):
        raise ValueError(f"einsum subscripts {subscripts!r} name {len(inputs)} operands, got {len(ndims)}")
    spare = [c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if c not in subscripts]
    ellipsis = builtins.max([n - len(s.replace("...", "")) for s, n in zip(inputs, ndims) if "..." in s], default=0)
    fill = "".join(spare[:ellipsis][::-1])
    subs = []
    for s, n in zip(inputs, ndims):
        s = s.replace("...", fill[len(fill) - (n - len(s.replace("...", ""))):] if "..." in s else "")
        if len(s) != n or len(set(s)) != len(s):
            raise ValueError(f"einsum subscripts {subscripts!r}: operand {len(subs)} has {n} dimensions, which "
                             f"{s!r} does not name once each (repeated letters within an operand, traces and "
                             f"diagonals, are not supported)")
        subs.append(s)
    if arrow:
        output = output.replace("...", fill)
    else:
        letters = "".join(subs)
        output = fill + "".join(c for c in sorted(set(letters) - set(fill)) if letters.count(c) == 1)
    return subs, output


def einsum(subscripts, *operands):
    if not operands:
        raise ValueError("einsum needs at least one operand")
    operands = _same_dtype(list(operands))
    return Einsum(subscripts)(*operands)


def _delegate(module, name):
    """ops.<name>, calling the activation of that name in `module` (imported late: it imports ops)."""
    def apply(x, *args, **kwargs):
        from importlib import import_module

        return getattr(import_module(f".{module}", __package__), name)(x, *args, **kwargs)

    apply.__name__ = name
    return apply


relu, sigmoid, tanh, softmax, log_softmax, softplus, elu = (
    _delegate("functional", name)
    for name in ("relu", "sigmoid", "tanh", "softmax", "log_softmax", "softplus", "elu"))
gelu, silu, relu6, selu, hard_sigmoid, softsign, mish = (
    _delegate("activations", name)
    for name in ("gelu", "silu", "relu6", "selu", "hard_sigmoid", "softsign", "mish"))


leaky_relu = _delegate("functional", "leaky_relu")


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """keras.ops.conv for sequences, images and volumes: the kernel (*window, in_channels / groups, filters) in
    Keras's layout (groups: the input's channels over the kernel's), no bias. A sequence is convolved as an
    image one row high, a volume as Conv3D convolves it (its depth taps' image convolutions, summed)."""
    from .layers.convolutional import _grouped, convolve

    x, kernel, rank, dilation = _windowed("conv", inputs, kernel, "in, out", dilation_rate)
    data_format = data_format or image_data_format()
    channels = _channels(x, data_format)
    if channels % kernel.shape[-2]:
        raise ValueError(f"conv: the input's {channels} channels are not a multiple of the kernel's input channels "
                         f"({kernel.shape[-2]}, kernel shape {kernel.shape})")
    groups = channels // kernel.shape[-2]
    if kernel.shape[-1] % groups:
        raise ValueError(f"conv: {groups} groups (the input's {channels} channels over the kernel's "
                         f"{kernel.shape[-2]}) do not divide the kernel's {kernel.shape[-1]} filters")
    if rank == 2:
        return _grouped(x, kernel, None, groups, _window_sizes(strides, 2), padding, data_format)
    if rank == 3:  # convolve() reads a layer's rank and layout, and names it in its messages
        volumes = type("conv", (), {"name": "keras.ops", "rank": 3, "data_format": data_format})()
        return convolve(volumes, x, kernel, _window_sizes(strides, 3), padding, None, groups, dilation[0])
    row = 1 if data_format == "channels_last" else 2
    out = _grouped(expand_dims(x, row), expand_dims(kernel, 0), None, groups, (1,) + _window_sizes(strides, 1),
                   padding, data_format)
    return squeeze(out, row)


def _windowed(op, inputs, kernel, layout, dilation_rate):
    """(inputs, kernel dilated, window rank, dilation) of a convolution op: a kernel (*window, `layout`) of
    1-D, 2-D or 3-D windows against inputs (batch, *window, channels)."""
    x, kernel = as_tensor(inputs), as_tensor(kernel)
    rank = kernel.ndim - 2
    if rank not in (1, 2, 3) or x.ndim != rank + 2:
        raise ValueError(f"{op} takes (batch, *{rank}-D window, channels) inputs with a (*window, {layout}) kernel "
                         f"for 1-D, 2-D or 3-D windows, got inputs of shape {x.shape} and a kernel of shape "
                         f"{kernel.shape}")
    dilation = _window_sizes(dilation_rate, rank)
    if builtins.max(dilation) > 1:  # Python's max: ops.max would read a tensor's value, and no plan would replay
        kernel = dilate(kernel, dilation + (1, 1))
    return x, kernel, rank, dilation


def _window_sizes(value, rank):
    return (int(value),) * rank if np.ndim(value) == 0 else tuple(int(d) for d in value)


def _channels(x, data_format):
    return x.shape[1 if (data_format or image_data_format()) == "channels_first" else -1]


def _same_channels(x, expected, data_format, op, what):
    channels = _channels(x, data_format)
    if channels != expected:
        raise ValueError(f"{op}: the input has {channels} channels (shape {x.shape}) but the {what} expects {expected}")


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Each input channel convolved alone with its depth_multiplier kernels: kernel (*window, channels,
    depth_multiplier) as DepthwiseConv's; outputs channel c·m + j from channel c."""
    kernel = as_tensor(kernel)
    *window, channels, multiplier = kernel.shape
    _same_channels(as_tensor(inputs), channels, data_format, "depthwise_conv", f"kernel (shape {kernel.shape})")
    grouped = reshape(kernel, tuple(window) + (1, channels * multiplier))  # group c: its m kernels
    return conv(inputs, grouped, strides, padding, data_format, dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """depthwise_conv, then the pointwise (window 1) convolution mixing its channels, as SeparableConv's."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    pointwise = as_tensor(pointwise_kernel)
    _same_channels(depthwise, pointwise.shape[-2], data_format, "separable_conv",
                   f"pointwise kernel (shape {pointwise.shape}) after the depthwise step")
    return conv(depthwise, pointwise, 1, "valid", data_format)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """The transposed convolution of sequences, images or volumes with a kernel (*window, filters,
    in_channels), as Conv1DTranspose/Conv2DTranspose/Conv3DTranspose compute it (layers/convolutional.py),
    no bias."""
    from .layers.convolutional import transposed_convolution

    x, kernel, rank, _ = _windowed("conv_transpose", inputs, kernel, "out, in", dilation_rate)
    if padding not in ("valid", "same"):
        raise ValueError(f"conv_transpose padding must be 'valid' or 'same', got {padding!r}")
    _same_channels(x, kernel.shape[-1], data_format, "conv_transpose", f"kernel (shape {kernel.shape})")
    strides = _window_sizes(strides, rank)
    extra = None if output_padding is None else _window_sizes(output_padding, rank)
    data_format = data_format or image_data_format()
    return transposed_convolution(x, kernel, strides, padding, extra, data_format,
                                  lambda spread, flipped: conv(spread, flipped, 1, "valid", data_format))


# ---- more of keras.ops: NumPy's names ------------------------------------------------------------
absolute = fabs = abs
true_divide = div
amax, amin = max, min


def reciprocal(x):
    return div(1.0, _floating(x))


def deg2rad(x):
    return _floating(x) * (_math.pi / 180)


def rad2deg(x):
    return _floating(x) * (180 / _math.pi)


def hypot(x1, x2):
    return sqrt(square(_floating(x1)) + square(_floating(x2)))


def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)), shifted by the larger so that neither exp overflows."""
    a, b = _pair(_floating(x1), _floating(x2))
    top = _FiniteOrZero()(maximum(a, b))
    return log(exp(a - top) + exp(b - top)) + top


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """x with NaN and infinities replaced (NumPy's defaults: 0 and the dtype's largest finite values); the
    gradient passes where x was finite."""
    x = as_tensor(x)
    replaced = _NoGrad("nan_to_num", nan=nan, posinf=posinf, neginf=neginf)(x)
    return where(isfinite(x), x, replaced)


def count_nonzero(x, axis=None):
    return _NoGrad("count_nonzero", axis=_axis(axis))(as_tensor(x))


def ptp(x, axis=None, keepdims=False):
    return max(x, axis, keepdims) - min(x, axis, keepdims)


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return _stretched(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.x_shape)


def broadcast_to(x, shape):
    return BroadcastTo(tuple(int(n) for n in shape))(as_tensor(x))


class Copy(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


def copy(x):
    return Copy()(as_tensor(x))


def ravel(x):
    return reshape(x, (-1,))


def _at_least(x, ndim):
    """x with axes of 1 added as NumPy's atleast_2d / atleast_3d add them."""
    x = as_tensor(x)
    if x.ndim >= ndim:
        return x
    if x.ndim == 0:
        return reshape(x, (1,) * ndim)
    if x.ndim == 1:
        return reshape(x, (1, -1) if ndim == 2 else (1, -1, 1))
    return expand_dims(x, -1)


def hstack(xs):
    xs = [as_tensor(x) for x in xs]
    return concatenate(xs, axis=0 if builtins.all(x.ndim == 1 for x in xs) else 1)


def vstack(xs):
    return concatenate([_at_least(x, 2) for x in xs], axis=0)


def dstack(xs):
    return concatenate([_at_least(x, 3) for x in xs], axis=2)


def roll(x, shift, axis=None):
    """x shifted by `shift` places along `axis` (each of several), entries leaving one end coming back at the
    other; with no axis, over the flattened x, shaped back."""
    x = as_tensor(x)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), x.shape)
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    for s, a in zip(shifts.tolist(), axes.tolist()):
        n = x.shape[a]
        if n and s % n:
            head, cut = (builtins.slice(None),) * (a % x.ndim), n - s % n
            x = concatenate([x[head + (builtins.slice(cut, None),)], x[head + (builtins.slice(0, cut),)]], axis=a)
    return x


def fliplr(x):
    return flip(x, 1)


def flipud(x):
    return flip(x, 0)


def rot90(array, k=1, axes=(0, 1)):
    """array turned by k quarter turns from its first axis in `axes` towards its second (NumPy's rule)."""
    x, k = as_tensor(array), int(k) % 4
    a, b = axes
    if k == 1:
        return swapaxes(flip(x, b), a, b)
    if k == 2:
        return flip(x, [a, b])
    return flip(swapaxes(x, a, b), b) if k == 3 else x


class Diagonal(Function):
    """The diagonal `offset` of the planes spanned by axis1 and axis2, along a new last axis (NumPy's
    diagonal, copied); the backward puts each gradient back on its diagonal entry."""

    def __init__(self, offset, axis1, axis2):
        self.offset, self.axis1, self.axis2 = offset, axis1, axis2

    def forward(self, x):
        self.shape = x.shape
        return array_module(x).diagonal(x, self.offset, self.axis1, self.axis2).copy()

    def backward(self, gy):
        xp = array_module(gy)
        gx = xp.zeros(self.shape, gy.dtype)
        planes = xp.moveaxis(gx, (self.axis1, self.axis2), (-2, -1))  # a view: written through to gx
        steps = xp.arange(gy.shape[-1])
        planes[..., steps + builtins.max(-self.offset, 0), steps + builtins.max(self.offset, 0)] = gy
        return gx


def diagonal(x, offset=0, axis1=0, axis2=1):
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal needs a tensor of at least 2 dimensions, got shape {x.shape}")
    return Diagonal(int(offset), axis1 % x.ndim, axis2 % x.ndim)(x)


def trace(x, offset=0, axis1=0, axis2=1):
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diag(x, k=0):
    """A 1-D x: the square matrix with x on its k-th diagonal. A 2-D x: its k-th diagonal."""
    x = as_tensor(x)
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise ValueError(f"diag takes a 1-D or 2-D tensor, got shape {x.shape}")
    n = x.shape[0] + builtins.abs(int(k))
    rows = arange(x.shape[0]) + builtins.max(-int(k), 0)
    cols = arange(x.shape[0]) + builtins.max(int(k), 0)
    return scatter(stack([rows, cols], axis=1), x, (n, n))


def tri(N, M=None, k=0, dtype=None):
    return _new(np.tri(N, M, k, dtype=dtype or float_dtype()))


def outer(x1, x2):
    a, b = _pair(x1, x2)
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def inner(x1, x2):
    a, b = _pair(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def meshgrid(*x, indexing="xy"):
    """Coordinate grids: one tensor per input, each stretched along the others' axes ("xy": the first two
    axes swapped, as NumPy's default)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [ravel(v) for v in x]
    shape = [v.shape[0] for v in xs]
    if indexing == "xy" and len(xs) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    grids = []
    for i, v in enumerate(xs):
        axis = {0: 1, 1: 0}.get(i, i) if indexing == "xy" and len(xs) > 1 else i
        where = [1] * len(xs)
        where[axis] = -1
        grids.append(broadcast_to(reshape(v, where), shape))
    return grids


def size(x):
    return int(np.prod(as_tensor(x).shape))


def ndim(x):
    return as_tensor(x).ndim


def dtype(x):
    """x's dtype by name, as Keras's standardized names ("float32", "int64", "bool"); a Python number's as
    a tensor made from it would have."""
    return (x.dtype if hasattr(x, "dtype") else as_tensor(x).dtype).name


def is_tensor(x):
    return isinstance(x, Tensor)


def array(x, dtype=None):
    return convert_to_tensor(x, dtype)


# ---- more of keras.ops: writing into tensors -----------------------------------------------------
class Scatter(Function):
    """Zeros of `shape` with `values` added at `indices` (rows of leading-axis indices; repeats add up, as in
    Keras); the backward reads each value's gradient back at its index."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, indices, values):
        xp = array_module(values)
        self.where = tuple(indices.T)
        out = xp.zeros(self.shape, values.dtype)
        xp.add.at(out, self.where, values)
        return out

    def backward(self, gy):
        return None, gy[self.where]


def scatter(indices, values, shape):
    indices, values = _indices(indices, "scatter"), as_tensor(values)
    return Scatter(tuple(int(n) for n in shape))(indices, values)


class Update(Function):
    """inputs with the entries at `index` replaced by updates; their gradient goes to the updates, the
    rest of it to inputs."""

    def __init__(self, index):
        self.index = index

    def forward(self, inputs, updates, *index_arrays):
        self.where, self.updates_shape, self.index_count = self.index(index_arrays), updates.shape, len(index_arrays)
        out = inputs.copy()
        out[self.where] = updates
        return out

    def backward(self, gy):
        g_inputs = gy.copy()
        g_inputs[self.where] = 0
        return (g_inputs, gy[self.where].reshape(self.updates_shape)) + (None,) * self.index_count


def scatter_update(inputs, indices, updates, reduction=None):
    """inputs with updates written at `indices` (rows of leading-axis indices)."""
    if reduction is not None:
        raise NotImplementedError(f"scatter_update reduction={reduction!r} is not supported here; only None "
                                  f"(the updates replace the entries)")
    inputs, updates = _pair(inputs, updates)
    return Update(lambda arrays: tuple(arrays[0].T))(inputs, updates, _indices(indices, "scatter_update"))


def slice_update(inputs, start_indices, updates):
    """inputs with the block that starts at `start_indices` replaced by updates."""
    inputs, updates = _pair(inputs, updates)
    start = [int(i) for i in start_indices]
    if len(start) != inputs.ndim or updates.ndim != inputs.ndim or builtins.any(
            a < 0 or a + n > d for a, n, d in zip(start, updates.shape, inputs.shape)):
        raise ValueError(f"slice_update: updates of shape {updates.shape} starting at {tuple(start)} do not fit "
                         f"inside inputs of shape {inputs.shape}")
    block = tuple(builtins.slice(a, a + n) for a, n in zip(start, updates.shape))
    return Update(lambda arrays: block)(inputs, updates)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """The sum of data's rows in each segment: row i goes to segment segment_ids[i] (out-of-range ids are
    dropped); num_segments defaults to the largest id + 1."""
    data, ids = as_tensor(data), _indices(segment_ids, "segment_sum")
    count = int(ids.numpy().max()) + 1 if num_segments is None else int(num_segments)
    return tensordot(_one_hot_in_range(ids, count, data.dtype), data, ([0], [0]))


def _one_hot_in_range(ids, count, dtype):
    """one_hot of ids, all zeros for an id outside [0, count) (Keras drops those)."""
    inside = logical_and(greater_equal(ids, 0), less(ids, count))
    return one_hot(where(inside, ids, 0), count, dtype) * expand_dims(astype(inside, dtype or float_dtype()), -1)


# ---- more of keras.ops: the nn namespace ----------------------------------------------------------
def _same_shapes(target, output, op):
    if target.shape != output.shape:
        raise ValueError(f"{op}: target and output must have the same shape, got {target.shape} and {output.shape}")
    return target, output


def binary_crossentropy(target, output, from_logits=False):
    """Each entry's binary cross-entropy (no mean over any axis: keras.ops', not keras.losses')."""
    from . import functional as F

    target, output = _same_shapes(*_pair(target, output), "binary_crossentropy")
    loss = F.binary_cross_entropy_with_logits if from_logits else F.binary_cross_entropy
    # the losses' functions average over a last axis: given one of size 1, each entry is its own value
    return reshape(loss(expand_dims(output, -1), expand_dims(target, -1), reduction="none"), output.shape)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Each sample's cross-entropy of one-hot (or soft) targets along `axis`; probabilities are scaled to sum
    to 1 and clipped to [ε, 1 - ε] first, as Keras does."""
    target, output = _same_shapes(*_pair(target, output), "categorical_crossentropy")
    if from_logits:
        log_p = log_softmax(output, axis=axis)
    else:
        p = output / sum(output, axis, keepdims=True)
        log_p = log(clip(p, _epsilon(), 1 - _epsilon()))
    return -sum(target * log_p, axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = as_tensor(output)
    target = as_tensor(target)
    if target.ndim == output.ndim and target.shape[axis] == 1:
        target = squeeze(target, axis)
    classes = one_hot(astype(target, np.int64), output.shape[axis], dtype=output.dtype)
    return categorical_crossentropy(moveaxis(classes, -1, axis), output, from_logits, axis)


def in_top_k(targets, predictions, k):
    """Whether each sample's target class is among its k highest predictions (ties counted in, as Keras)."""
    predictions = as_tensor(predictions)
    picked = take_along_axis(predictions, expand_dims(_indices(targets, "in_top_k"), -1), -1)
    kth = top_k(predictions, int(k))[0][..., -1:]
    return squeeze(greater_equal(picked, kth), -1)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """1 for each class that occurs in a sample (a row of integer inputs), else 0."""
    num_classes = kwargs.pop("num_tokens", num_classes)  # Keras's older name
    if sparse:
        raise ValueError("multi_hot sparse=True (a sparse tensor) needs TensorFlow; scratchgrad returns dense arrays")
    inputs = as_tensor(inputs)
    hot = _one_hot_in_range(inputs, int(num_classes), dtype)
    hot = moveaxis(hot, -1, axis) if axis != -1 else hot
    return max(hot, axis=1 if inputs.ndim > 1 else 0)  # Keras's: over the second axis, or the only one


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x - mean) / √(variance + ε) · scale + offset, the 1-D statistics lying along `axis`."""
    x = _floating(x)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]

    def along(v):
        return reshape(as_tensor(v, like=x), shape)

    out = (x - along(mean)) * rsqrt(along(variance) + epsilon)
    out = out if scale is None else out * along(scale)
    return out if offset is None else out + along(offset)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """x normalized over `axis` (one or several) by its own mean and variance, then times gamma and plus
    beta, which lie along those axes."""
    if kwargs.get("rms_scaling"):
        raise NotImplementedError("layer_normalization rms_scaling=True is not supported here: use "
                                  "ops.rms_normalization")
    x = _floating(x)
    axes = tuple(int(a) % x.ndim for a in np.atleast_1d(axis))
    centered = x - mean(x, axes, keepdims=True)
    out = centered / sqrt(mean(centered * centered, axes, keepdims=True) + (_epsilon() if epsilon is None else epsilon))
    along = tuple(n if i in axes else 1 for i, n in enumerate(x.shape))

    def shaped(v):
        return reshape(as_tensor(v, like=x), along)

    out = out if gamma is None else out * shaped(gamma)
    return out if beta is None else out + shaped(beta)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """softmax(q·kᵀ · scale + bias, masked) · v for (batch, steps, heads, head size) inputs (Keras's layout);
    scale defaults to 1/√(head size), a key and value with fewer heads are shared among groups of the query's
    heads, `mask` (True: attend) and `is_causal` keep positions out."""
    if flash_attention:
        raise ValueError("dot_product_attention flash_attention=True needs a GPU kernel; use None or False")
    q, k = _pair(query, key)
    v = as_tensor(value, like=q)
    if q.shape[2] != k.shape[2]:
        k, v = (repeat(t, q.shape[2] // t.shape[2], axis=2) for t in (k, v))
    logits = einsum("btnh,bsnh->bnts", q, k) * (1 / _math.sqrt(q.shape[-1]) if scale is None else scale)
    if attn_logits_soft_cap is not None:
        logits = tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
    if bias is not None:
        logits = logits + as_tensor(bias, like=logits)
    xp = array_module(q.data)
    keep = None if mask is None else mask if isinstance(mask, Tensor) else Tensor(xp.asarray(mask, dtype=bool))
    if is_causal:
        causal = Tensor(xp.tri(q.shape[1], k.shape[1], dtype=bool))
        keep = causal if keep is None else logical_and(keep, causal)
    if keep is not None:
        logits = where(keep, logits, full_like(logits, -0.7 * np.finfo(logits.dtype).max))  # Keras's fill
    return einsum("bnts,bsnh->btnh", softmax(logits, axis=-1), v)


def _pool_any_rank(op, name, inputs, pool_size, strides, padding, data_format):
    """max_pool / average_pool for sequences (as images one row high) and images."""
    from . import convolution

    x = as_tensor(inputs)
    data_format = data_format or image_data_format()
    pool = getattr(convolution, op)
    if x.ndim == 4:
        return pool(x, pool_size, strides, padding, data_format)
    if x.ndim != 3:
        raise ValueError(f"{name} takes sequences (3-D) or images (4-D) here, got shape {x.shape}")
    row = 1 if data_format == "channels_last" else 2
    sizes = [(1, int(np.ravel(v)[0])) if v is not None else None for v in (pool_size, strides)]
    return squeeze(pool(expand_dims(x, row), sizes[0], sizes[1], padding, data_format), row)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool_any_rank("max_pool2d", "max_pool", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool_any_rank("avg_pool2d", "average_pool", inputs, pool_size, strides, padding, data_format)


# ---- more of keras.ops: quantiles ------------------------------------------------------------------
QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_picks(q, n, method):
    """For each q, the sorted positions below and above q·(n - 1) and the weight of the one above
    (NumPy's methods)."""
    position = q * (n - 1)
    below, above = np.floor(position).astype(np.int64), np.ceil(position).astype(np.int64)
    weight = {"linear": position - below, "lower": np.zeros_like(q), "higher": np.ones_like(q),
              "midpoint": np.where(above > below, 0.5, 0.0)}.get(method)
    if weight is None:  # nearest: NumPy rounds half to even
        below = above = np.around(position).astype(np.int64)
        weight = np.zeros_like(q)
    return below, above, weight


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The q-th quantiles (q in [0, 1], a number or a 1-D list) of x over `axis` (all of x by default), by
    NumPy's methods; a list of q puts its axis first. The gradient goes to the sorted values picked."""
    x = _floating(x)
    if method not in QUANTILE_METHODS:
        raise ValueError(f"quantile method must be one of {', '.join(QUANTILE_METHODS)}, got {method!r}")
    qs = np.asarray(q, dtype=np.float64)
    if qs.ndim > 1 or ((qs < 0) | (qs > 1)).any():
        raise ValueError(f"quantile needs q in [0, 1], a number or a 1-D list, got {q!r}")
    axes = tuple(range(x.ndim)) if axis is None else tuple(int(a) % x.ndim for a in np.atleast_1d(axis))
    rest = [i for i in range(x.ndim) if i not in axes]
    ordered = sort(reshape(transpose(x, rest + list(axes)), tuple(x.shape[i] for i in rest) + (-1,)), -1)
    below, above, weight = _quantile_picks(np.atleast_1d(qs), ordered.shape[-1], method)
    low, high = take(ordered, below, axis=-1), take(ordered, above, axis=-1)
    out = moveaxis(low + (high - low) * as_tensor(weight, like=low), -1, 0)
    if keepdims:
        out = reshape(out, out.shape[:1] + tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return out if qs.ndim else squeeze(out, 0)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return quantile(x, np.asarray(q, dtype=np.float64) / 100, axis, method, keepdims)


def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis, keepdims=keepdims)


# ---- more of keras.ops: linear algebra over the last two axes ----------------------------------------
def _t(a):
    return array_module(a).swapaxes(a, -1, -2)


class Inv(Function):
    """A⁻¹; dA = -A⁻ᵀ · g · A⁻ᵀ."""

    def forward(self, a):
        self.y = array_module(a).linalg.inv(a)
        return self.y

    def backward(self, gy):
        y_t = _t(self.y)
        return -(y_t @ gy @ y_t)


class Solve(Function):
    """x with a·x = b (b a matrix, or one vector per matrix); db = a⁻ᵀ·g, da = -db·xᵀ."""

    def __init__(self, vector):
        self.vector = vector

    def forward(self, a, b):
        xp = array_module(a)
        self.b_shape = b.shape
        self.a, self.x = a, xp.linalg.solve(a, b[..., None] if self.vector else b)
        return self.x[..., 0] if self.vector else self.x

    def backward(self, gy):
        xp, (a, x) = array_module(gy), (self.a, self.x)
        gb = xp.linalg.solve(_t(a), gy[..., None] if self.vector else gy)
        ga = -(gb @ _t(x))
        gb = gb[..., 0] if self.vector else gb
        # a batch of one side broadcast against the other: each gradient summed back to its input's shape
        return sum_to(ga, a.shape), sum_to(gb, self.b_shape)


class Det(Function):
    """det A; dA = g · det A · A⁻ᵀ."""

    def forward(self, a):
        self.a, self.y = a, array_module(a).linalg.det(a)
        return self.y

    def backward(self, gy):
        return (gy * self.y)[..., None, None] * _t(array_module(gy).linalg.inv(self.a))


class LogAbsDet(Function):
    """log |det A| (slogdet's second part); its gradient is A⁻ᵀ."""

    def forward(self, a):
        self.a = a
        return array_module(a).linalg.slogdet(a)[1]

    def backward(self, gy):
        return gy[..., None, None] * _t(array_module(gy).linalg.inv(self.a))


class LinalgPart(Function):
    """Output `part` (or the only one, part None) of the array module's linalg function `name`: values only
    (a gradient through it is refused)."""

    def __init__(self, name, part=None, **options):
        self.name, self.part, self.options = name, part, options

    def forward(self, *arrays):
        out = getattr(array_module(arrays[0]).linalg, self.name)(*arrays, **self.options)
        return out if self.part is None else out[self.part]

    def backward(self, gy):
        raise NotImplementedError(f"ops.{self.name} passes no gradient here: it gives its values only")


def _square(x, op):
    x = _floating(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op} needs square matrices in the last two axes, got shape {x.shape}")
    return x


def inv(x):
    return Inv()(_square(x, "inv"))


def solve(a, b):
    """x with a·x = b: b one matrix (..., n, k) per matrix of a, or one vector where b's shape is a's but
    the last axis (PyTorch's rule); batch axes broadcast."""
    a = _square(a, "solve")
    a, b = _pair(a, b)
    return Solve(b.shape == a.shape[:-1])(a, b)


def det(x):
    return Det()(_square(x, "det"))


def slogdet(x):
    """(sign, log |det x|), both from LU (det itself under- or overflows for large matrices); the gradient
    flows through the second."""
    x = _square(x, "slogdet")
    return LinalgPart("slogdet", 0)(x), LogAbsDet()(x)


def logdet(x):
    """log det x: NaN where the determinant is negative, as Keras's."""
    sign_, logabs = slogdet(x)
    return where(greater(sign_, 0.0), logabs, _math.nan)


def _parts(name, count, *arrays, **options):
    return tuple(LinalgPart(name, i, **options)(*arrays) for i in range(count))


def _lower_read(g, xp):
    """The gradient with respect to a symmetric matrix's entries as LAPACK reads them, its lower triangle: an
    entry below the diagonal stands for two (g_ij + g_ji), one above stands for none."""
    return xp.tril(g + xp.swapaxes(g, -1, -2), -1) + g * xp.eye(g.shape[-1], dtype=g.dtype)


class Cholesky(Function):
    """L with L·Lᵀ = A, lower triangular. Backward (Murray, 2016): with Φ the lower triangle, its diagonal
    halved, the symmetric gradient is L⁻ᵀ·Φ(Lᵀ·gL)·L⁻¹."""

    def forward(self, a):
        self.lower = array_module(a).linalg.cholesky(a)
        return self.lower

    def backward(self, g_lower):
        xp, lower = array_module(g_lower), self.lower
        inner = lower.swapaxes(-1, -2) @ xp.tril(g_lower)
        phi = xp.tril(inner) - 0.5 * inner * xp.eye(inner.shape[-1], dtype=inner.dtype)
        inverse = xp.linalg.inv(lower)
        return _lower_read(inverse.swapaxes(-1, -2) @ phi @ inverse, xp)


class Eigh(Function):
    """Part 0 (the eigenvalues λ, ascending) or 1 (the eigenvectors V, as columns) of a symmetric matrix.
    Backward: V·(diag(gλ) + F∘(Vᵀ·gV))·Vᵀ with F_ij = 1 / (λ_j - λ_i) off the diagonal (the textbook's; it
    grows without bound where eigenvalues meet)."""

    def __init__(self, part):
        self.part = part

    def forward(self, a):
        self.values, self.vectors = array_module(a).linalg.eigh(a)
        return (self.values, self.vectors)[self.part]

    def backward(self, g):
        xp, values, vectors = array_module(g), self.values, self.vectors
        if self.part == 0:
            inner = g[..., :, None] * xp.eye(values.shape[-1], dtype=g.dtype)
        else:
            gaps = values[..., None, :] - values[..., :, None]
            off = ~xp.eye(values.shape[-1], dtype=bool)
            inner = xp.where(off, (vectors.swapaxes(-1, -2) @ g) / xp.where(off, gaps, 1), 0)
        return _lower_read(vectors @ inner @ vectors.swapaxes(-1, -2), xp)


def cholesky(x, upper=False):
    lower = Cholesky()(_square(x, "cholesky"))
    return swapaxes(lower, -1, -2) if upper else lower


class QR(Function):
    """Part 0 (Q) or 1 (R) of A = Q·R. Backward, where R is square (rows ≥ columns, or a square A): with
    M = R·gRᵀ - gQᵀ·Q and copyltu(M) its lower triangle mirrored above, gA = (gQ + Q·copyltu(M))·R⁻ᵀ."""

    def __init__(self, part, mode):
        self.part, self.mode = part, mode

    def forward(self, a):
        self.q, self.r = array_module(a).linalg.qr(a, mode=self.mode)
        return (self.q, self.r)[self.part]

    def backward(self, g):
        xp, q, r = array_module(g), self.q, self.r
        if r.shape[-2] != r.shape[-1]:
            raise NotImplementedError("ops.qr passes a gradient only where R is square: a matrix with at least as "
                                      "many rows as columns, in mode 'reduced' (or a square one)")
        g_q, g_r = (g, xp.zeros_like(r)) if self.part == 0 else (xp.zeros_like(q), g)
        m = r @ g_r.swapaxes(-1, -2) - g_q.swapaxes(-1, -2) @ q
        mirrored = xp.tril(m) + xp.tril(m, -1).swapaxes(-1, -2)
        return xp.linalg.solve(r, (g_q + q @ mirrored).swapaxes(-1, -2)).swapaxes(-1, -2)


def qr(x, mode="reduced"):
    """(Q, R), with gradients where R is square (see QR)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr mode must be 'reduced' or 'complete', got {mode!r}")
    x = _floating(x)
    return QR(0, mode)(x), QR(1, mode)(x)


class SingularValues(Function):
    """The singular values s of matrices (..., m, n), largest first. Each σ_i = u_iᵀ·A·v_i moves with A as
    u_i·v_iᵀ does, so the gradient is U·diag(gs)·Vᵀ (a simple singular value's; the textbook's)."""

    def forward(self, x):
        self.u, s, self.vh = array_module(x).linalg.svd(x, full_matrices=False)
        return s

    def backward(self, gs):
        return self.u @ (gs[..., :, None] * self.vh)


def svd(x, full_matrices=True, compute_uv=True):
    """(u, s, vh), or s alone with compute_uv=False: s then passes its gradient (SingularValues); u and vh
    give their values only."""
    x = _floating(x)
    if not compute_uv:
        return SingularValues()(x)
    return _parts("svd", 3, x, full_matrices=full_matrices)


def eigh(x):
    """(eigenvalues ascending, eigenvectors as columns) of symmetric matrices (their lower triangles read,
    as LAPACK's), each with its gradient."""
    x = _square(x, "eigh")
    return Eigh(0)(x), Eigh(1)(x)


def pinv(x, rcond=None):
    return LinalgPart("pinv", **({} if rcond is None else {"rcond": rcond}))(_floating(x))


def matrix_rank(x, tol=None):
    return LinalgPart("matrix_rank", tol=tol)(_floating(x))


def lstsq(a, b, rcond=None):
    """The x that minimizes |a·x - b|² (one matrix a, b a vector or a matrix)."""
    a = _floating(a)
    return LinalgPart("lstsq", 0, rcond=rcond)(a, as_tensor(b, like=a))


def _lu(x):
    """LU with partial pivoting of the arrays' matrices, LAPACK's getrf as the textbook writes it: at step j
    the row with the largest |entry| in column j (at or below j) swaps into row j, its pivot divides the
    column below, and the lower rows lose that multiple of row j. Returns (lu, pivots)."""
    xp = array_module(x)
    *batch, m, n = x.shape
    lu = x.reshape(-1, m, n).copy()
    rows, steps = xp.arange(len(lu)), builtins.min(m, n)
    pivots = xp.zeros((len(lu), steps), dtype=np.int32)
    for j in range(steps):
        p = j + xp.argmax(xp.abs(lu[:, j:, j]), axis=1)
        pivots[:, j] = p
        lu[rows, j], lu[rows, p] = lu[rows, p], lu[rows, j].copy()
        pivot = lu[:, j, j:j + 1]
        lu[:, j + 1:, j] /= xp.where(pivot == 0, 1, pivot)  # a zero pivot's column is zero below it
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j:j + 1] * lu[:, j:j + 1, j + 1:]
    return lu.reshape(x.shape), pivots.reshape(tuple(batch) + (steps,))


def lu_factor(x):
    """(lu, pivots) as scipy.linalg.lu_factor gives them (Keras's): L's multipliers below the diagonal of lu
    (L's unit diagonal left out), U on and above it, and pivots[j] the row swapped with row j at step j
    (0-based). Batched over leading axes; values only."""
    x = _floating(x)
    if x.ndim < 2:
        raise ValueError(f"lu_factor needs matrices in the last two axes, got shape {x.shape}")
    lu, pivots = _lu(x.data)
    return Tensor._from_op(lu, None), Tensor._from_op(pivots, None)


def solve_triangular(a, b, lower=False):
    """solve(a, b) for a triangular a (only its `lower` or upper triangle read, as Keras's)."""
    a = _square(a, "solve_triangular")
    return solve(tril(a) if lower else triu(a), b)


# ---- control flow: Keras's functional forms, run as the Python they stand for ----------------------
# (a step that reads a value into Python to branch is replayed by running it again, not from its plan)
def cond(pred, true_fn, false_fn):
    return true_fn() if bool(pred) else false_fn()


def fori_loop(lower, upper, body_fun, init_val):
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """body(*loop_vars) while cond(*loop_vars), at most maximum_iterations times; loop_vars is a tuple or
    list (the result has the same form)."""
    several = isinstance(loop_vars, (tuple, list))
    values = tuple(loop_vars) if several else (loop_vars,)
    count = 0
    while (maximum_iterations is None or count < maximum_iterations) and bool(cond(*values)):
        values = body(*values)
        values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
        count += 1
    return type(loop_vars)(values) if several else values[0]


def vectorized_map(function, elements):
    """function applied to each entry of `elements` along its first axis, the results stacked."""
    return stack([function(element) for element in unstack(as_tensor(elements))])


map = vectorized_map


def vectorize(pyfunc, *, excluded=None, signature=None):
    """keras.ops.vectorize, NumPy's np.vectorize for tensors: pyfunc, written for one element (or for the
    core shapes a gufunc `signature` names, "(n),(n)->()"), applied over the other axes of its positional
    arguments, broadcast together; the results (or each of a tuple of them) stacked in that shape. A Python
    loop over those axes whose calls are built from ops, so gradients and the step plan take it as it comes.
    Positions in `excluded`, and keyword arguments, pass to every call unchanged."""
    excluded = set(excluded or ())
    cores = None if signature is None else _core_dimensions(signature)

    @functools.wraps(pyfunc)
    def vectorized(*args, **kwargs):
        positions = [i for i in range(len(args)) if i not in excluded]
        tensors = [as_tensor(args[i]) for i in positions]
        ranks = [0] * len(tensors) if cores is None else [len(core) for core in cores]
        if len(ranks) != len(tensors):
            raise ValueError(f"vectorize: the signature {signature!r} names {len(ranks)} inputs, got {len(tensors)}")
        if cores is not None:
            _check_core_sizes(tensors, cores, signature)
        outer = np.broadcast_shapes(*(t.shape[:t.ndim - r] for t, r in zip(tensors, ranks)))
        count = int(np.prod(outer))
        if count == 0:
            raise ValueError(f"vectorize: the arguments' loop shape {outer} holds no element to call pyfunc on")
        flat = [reshape(broadcast_to(t, outer + t.shape[t.ndim - r:]), (count,) + t.shape[t.ndim - r:])
                for t, r in zip(tensors, ranks)]
        results = []
        for k in range(count):
            call = list(args)
            for i, t in zip(positions, flat):
                call[i] = t[k]
            results.append(pyfunc(*call, **kwargs))
        several = isinstance(results[0], tuple)
        columns = list(zip(*results)) if several else [results]
        out = [reshape(stack([as_tensor(r) for r in column]), outer + as_tensor(column[0]).shape) for column in columns]
        return tuple(out) if several else out[0]

    return vectorized


def _check_core_sizes(tensors, cores, signature):
    """Each input has its core axes, and each named core size is the same wherever it appears."""
    sizes = {}
    for k, (t, core) in enumerate(zip(tensors, cores)):
        if t.ndim < len(core):
            raise ValueError(f"vectorize: input {k} has shape {t.shape}, fewer axes than its core {core} in the "
                             f"signature {signature!r}")
        for name, size in zip(core, t.shape[t.ndim - len(core):]):
            if sizes.setdefault(name, size) != size:
                raise ValueError(f"vectorize: core dimension {name!r} is {sizes[name]} in one input and {size} in "
                                 f"input {k} (signature {signature!r})")


_GROUPS = r"\(\w*(?:,\w+)*\)(?:,\(\w*(?:,\w+)*\))*"  # "(m,n),(n)": a gufunc signature's side


def _core_dimensions(signature):
    """The inputs' core dimensions of a gufunc signature: "(m,n),(n)->(m)" gives [("m", "n"), ("n",)]."""
    inputs, arrow, outputs = signature.replace(" ", "").partition("->")
    if not (arrow and _re.fullmatch(_GROUPS, inputs) and _re.fullmatch(_GROUPS, outputs)):
        raise ValueError(f"vectorize: not a signature like '(m,n),(n)->(m)': {signature!r}")
    return [tuple(d for d in group.split(",") if d) for group in _re.findall(r"\(([^()]*)\)", inputs)]


def switch(index, branches, *operands):
    """branches[index](*operands), the index clamped into range as Keras's."""
    return branches[builtins.min(builtins.max(int(index), 0), len(branches) - 1)](*operands)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """carry, y = f(carry, x) for each x along the first axis of xs (a tensor or a structure of them; or
    `length` times with x None), in reverse with `reverse`; returns the last carry and the ys stacked leaf
    by leaf, in xs's order (None where f gives none)."""
    from . import tree

    if xs is None:
        steps = [None] * int(length)
    else:
        leaves = [unstack(as_tensor(leaf)) for leaf in tree.flatten(xs)]
        steps = [tree.pack_like(xs, parts) for parts in zip(*leaves)]
    carry, ys = init, []
    for x in (steps[::-1] if reverse else steps):
        carry, y = f(carry, x)
        ys.append(y)
    if not ys or ys[0] is None:
        return carry, None
    ys = ys[::-1] if reverse else ys
    stacked = [stack(list(parts)) for parts in zip(*[tree.flatten(y) for y in ys])]
    return carry, tree.pack_like(ys[0], stacked)


def _blocks_geometry(kernel_size, dilation, padding, stride, height, width, op):
    """(kh, kw), (dh, dw), (ph, pw), (sh, sw) and the blocks' grid (oh, ow) of an unfold over a padded
    height × width, checked."""
    pairs = [_window_sizes(v, 2) for v in (kernel_size, dilation, padding, stride)]
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = pairs
    if builtins.min(kh, kw, dh, dw, sh, sw) < 1 or builtins.min(ph, pw) < 0:
        raise ValueError(f"{op} needs positive kernel_size, dilation and stride and padding ≥ 0, got {pairs}")
    grid = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in
                 ((height, ph, dh, kh, sh), (width, pw, dw, kw, sw)))
    if builtins.min(grid) < 1:
        raise ValueError(f"{op}: a {kh}×{kw} window (dilation {dh}, {dw}) does not fit {height}×{width} padded "
                         f"by {ph}, {pw}")
    return pairs, grid


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding blocks of channels-first images (N, C, H, W), PyTorch's im2col layout: (N, C·kh·kw, L),
    block l's window flattened channel by channel, L = the blocks' grid read row by row."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"unfold takes channels-first images (N, C, H, W), got shape {x.shape}")
    ((kh, kw), (dh, dw), (ph, pw), (sh, sw)), (oh, ow) = _blocks_geometry(kernel_size, dilation, padding, stride,
                                                                         *x.shape[2:], "unfold")
    padded = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    views = [padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
             for i in builtins.range(kh) for j in builtins.range(kw)]
    return reshape(stack(views, axis=2), (x.shape[0], -1, oh * ow))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """unfold's blocks (N, C·kh·kw, L) summed back into images (N, C, *output_size), overlaps adding up
    (col2im): the adjoint of unfold."""
    x = as_tensor(x)
    height, width = _window_sizes(output_size, 2)
    ((kh, kw), (dh, dw), (ph, pw), (sh, sw)), (oh, ow) = _blocks_geometry(kernel_size, dilation, padding, stride,
                                                                         height, width, "fold")
    if x.ndim != 3 or x.shape[1] % (kh * kw) or x.shape[2] != oh * ow:
        raise ValueError(f"fold takes blocks (N, C·{kh}·{kw}, {oh * ow}) for output_size {(height, width)}, got "
                         f"shape {x.shape}")
    blocks = reshape(x, (x.shape[0], -1, kh, kw, oh, ow))
    grid = (height + 2 * ph, width + 2 * pw)
    placed = []
    for i in builtins.range(kh):
        for j in builtins.range(kw):
            spread = dilate(blocks[:, :, i, j], (1, 1, sh, sw))
            top, left = i * dh, j * dw
            placed.append(pad(spread, ((0, 0), (0, 0), (top, grid[0] - top - spread.shape[2]),
                                       (left, grid[1] - left - spread.shape[3]))))
    total = placed[0]
    for part in placed[1:]:
        total = total + part
    return total[:, :, ph:ph + height, pw:pw + width]


def _axis_groups(side):
    """einops axes: "b (h w) c" -> [["b"], ["h", "w"], ["c"]]."""
    import re

    return [group.split() if group else [name] for group, name in re.findall(r"\(([^)]*)\)|(\w+)", side)]


def rearrange(tensor, pattern, **axes_lengths):
    """Axes reordered, merged and split by an einops pattern, "b h w c -> b (h w) c" (Keras's
    keras.ops.rearrange): a reshape into the named axes (a group's unknown size inferred; the others from
    axes_lengths), a transpose, and a reshape into the output's groups."""
    x = as_tensor(tensor)
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange's pattern must be 'input axes -> output axes', got {pattern!r}")
    left, right = (_axis_groups(side) for side in pattern.split("->"))
    if len(left) != x.ndim:
        raise ValueError(f"rearrange's pattern names {len(left)} axes, the tensor has {x.ndim} (shape {x.shape})")
    named, sizes = [a for group in left for a in group], dict(axes_lengths)
    if sorted(named) != sorted(a for group in right for a in group) or len(set(named)) != len(named):
        raise ValueError(f"rearrange's pattern must name each axis once on each side, got {pattern!r}")
    for group, size in zip(left, x.shape):
        unknown = [a for a in group if a not in sizes]
        known = int(np.prod([sizes[a] for a in group if a in sizes]))
        if len(unknown) > 1 or (unknown and size % known) or (not unknown and known != size):
            raise ValueError(f"rearrange cannot split an axis of {size} into {group} with {axes_lengths}")
        if unknown:
            sizes[unknown[0]] = size // known
    order = [named.index(a) for group in right for a in group]
    merged = tuple(int(np.prod([sizes[a] for a in group])) for group in right)
    return reshape(transpose(reshape(x, tuple(sizes[a] for a in named)), tuple(order)), merged)


def associative_scan(f, elems, reverse=False, axis=0):
    """The running f-reduction of elems along `axis` (a tensor or a structure of them): out[0] = elems[0],
    out[i] = f(out[i - 1], elems[i]), f associative (a cumulative sum with f = add); reverse runs it from the
    end. Computed one step after another (f's associativity would let it run in log steps)."""
    from . import tree

    leaves = [as_tensor(leaf) for leaf in tree.flatten(elems)]
    sizes = {leaf.shape[axis] for leaf in leaves}
    if len(sizes) != 1:
        raise ValueError(f"associative_scan needs every element to have one length along axis {axis}, got {sizes}")
    steps = [tree.pack_like(elems, parts) for parts in zip(*(unstack(leaf, axis=axis) for leaf in leaves))]
    steps = steps[::-1] if reverse else steps
    outs = steps[:1]
    for step in steps[1:]:
        outs.append(f(outs[-1], step))
    outs = outs[::-1] if reverse else outs
    stacked = [stack(list(parts), axis=axis) for parts in zip(*(tree.flatten(out) for out in outs))]
    return tree.pack_like(elems, stacked)


# ---- constructors -----------------------------------------------------------------------------------
def full(shape, fill_value, dtype=None):
    return _new(np.full(shape, fill_value, dtype=dtype or float_dtype()))


def full_like(x, fill_value, dtype=None):
    return _new(array_module(x.data).full_like(x.data, fill_value, dtype=dtype))


def identity(n, dtype=None):
    return eye(n, dtype)


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Each sample's CTC loss of the logits `output` (batch, steps, classes) for `target` (see ctc.py)."""
    from .ctc import ctc_loss as loss

    return loss(target, output, target_length, output_length, mask_index)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """CTC decoding of (batch, steps, classes) scores, greedy or by beam search (see ctc.ctc_decode)."""
    from .ctc import ctc_decode as decode

    return decode(inputs, sequence_lengths, strategy, beam_width, top_paths, merge_repeated, mask_index)


# ---- more of keras.ops: activations, NumPy's names and nn helpers ---------------------------------
(celu, glu, hard_shrink, hard_silu, hard_swish, hard_tanh, log_sigmoid, soft_shrink, sparse_plus, sparse_sigmoid,
 sparsemax, squareplus, swish, tanh_shrink, threshold) = (
    _delegate("activations", name)
    for name in ("celu", "glu", "hard_shrink", "hard_silu", "hard_swish", "hard_tanh", "log_sigmoid",
                 "soft_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish",
                 "tanh_shrink", "threshold"))


(bitwise_and, bitwise_or, bitwise_xor, bitwise_left_shift, bitwise_right_shift, gcd, lcm, nextafter) = (
    _no_grad_of_two(name) for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
                                       "gcd", "lcm", "nextafter"))
left_shift, right_shift = bitwise_left_shift, bitwise_right_shift
bitwise_not = bitwise_invert = _no_grad("invert")
i0 = _no_grad("i0")


class ArcTan2(Function):
    """The angle of the point (x2, x1), in (-π, π]; its gradient is (x2, -x1) / (x1² + x2²)."""

    def forward(self, y, x):
        self.y, self.x = y, x
        return array_module(y).arctan2(y, x)

    def backward(self, gy):
        g = gy / (self.x * self.x + self.y * self.y)
        return sum_to(g * self.x, self.y.shape), sum_to(-g * self.y, self.x.shape)


def arctan2(x1, x2):
    return ArcTan2()(*_pair(_floating(x1), _floating(x2)))


class FMod(Mod):
    """x1 mod x2 with the sign of x1 (C's fmod): gradient 1 for x1 and -trunc(x1 / x2) for x2."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return array_module(a).fmod(a, b)

    def backward(self, gy):
        a, b = self.a, self.b
        xp = array_module(a)
        ga = sum_to(gy, a.shape) if self.needs_grad[0] else None
        gb = sum_to(-gy * xp.trunc(a / b), b.shape) if self.needs_grad[1] else None
        return ga, gb


def fmod(x1, x2):
    return FMod()(*_pair(x1, x2))


def fmax(x1, x2):
    """The larger of x1 and x2, where one is NaN the other (NumPy's fmax)."""
    a, b = _pair(x1, x2)
    return where(isnan(a), b, where(isnan(b), a, maximum(a, b)))


def fmin(x1, x2):
    a, b = _pair(x1, x2)
    return where(isnan(a), b, where(isnan(b), a, minimum(a, b)))


def logaddexp2(x1, x2):
    """log₂(2^x1 + 2^x2), by logaddexp in natural units."""
    ln2 = _math.log(2)
    return logaddexp(_floating(x1) * ln2, _floating(x2) * ln2) / ln2


def heaviside(x1, x2):
    """0 where x1 < 0, 1 where x1 > 0, x2 where x1 is 0 (the gradient reaches x2 there)."""
    a, b = _pair(_floating(x1), _floating(x2))
    step = where(isnan(a), a, astype(greater(a, 0), a.dtype))  # NaN stays NaN, as NumPy's
    return where(equal(a, 0), b, step)


def ldexp(x1, x2):
    """x1 · 2^x2 for integer x2: exact scaling; the gradient reaches x1."""
    x1, x2 = _floating(x1), as_tensor(x2)
    if x2.dtype.kind not in "iu":
        raise TypeError(f"ldexp takes integer exponents, got {x2.dtype}")
    return x1 * exp2(astype(x2, x1.dtype))


def sinc(x):
    """sin(πx)/(πx), 1 at 0; x = 0 is taken out of the division, so its gradient (0) is not NaN."""
    x = _floating(x)
    zero = equal(x, 0)
    safe = where(zero, 1.0, x) * _math.pi
    return where(zero, 1.0, sin(safe) / safe)


def diff(a, n=1, axis=-1):
    """The n-th differences along `axis`: out[i] = a[i + 1] - a[i], n times."""
    x = as_tensor(a)
    axis = _check_axis(axis, x.ndim, "diff")
    if int(n) < 0:
        raise ValueError(f"diff's order n must be non-negative, got {n}")
    before = (builtins.slice(None),) * axis
    for _ in range(int(n)):
        x = x[before + (builtins.slice(1, None),)] - x[before + (builtins.slice(None, -1),)]
    return x


def append(x1, x2, axis=None):
    """x2 after x1 along `axis`; both flattened first when axis is None (NumPy's rule)."""
    if axis is None:
        return concatenate([ravel(x1), ravel(x2)])
    return concatenate([x1, x2], axis=axis)


def get_item(x, key):
    return getitem(x, key)


def empty(shape, dtype=None):
    """Keras's empty: zeros (an array that is read before written would be a bug to hide)."""
    return zeros(shape, dtype)


def empty_like(x, dtype=None):
    return zeros_like(x, dtype)


def diagflat(x, k=0):
    return diag(ravel(x), k)


def vdot(x1, x2):
    return sum(ravel(x1) * ravel(x2))


def kron(x1, x2):
    """The Kronecker product: every entry of x1 times the whole of x2, blocks in x1's layout (NumPy's kron,
    the shorter shape padded with leading 1s)."""
    a, b = _pair(x1, x2)
    ndim = builtins.max(a.ndim, b.ndim)
    a, b = reshape(a, (1,) * (ndim - a.ndim) + a.shape), reshape(b, (1,) * (ndim - b.ndim) + b.shape)
    # a's axes at even places, b's at odd: out[i·m + j] = a[i]·b[j] per axis
    spread_a = reshape(a, tuple(d for s in a.shape for d in (s, 1)))
    spread_b = reshape(b, tuple(d for s in b.shape for d in (1, s)))
    return reshape(spread_a * spread_b, tuple(p * q for p, q in zip(a.shape, b.shape)))


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors (or 2-vectors, as NumPy: a 2-vector's z is 0, and two 2-vectors give
    the z component alone) along the given axes."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _pair(_floating(x1), _floating(x2))
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    for v in (a, b):
        if v.shape[-1] not in (2, 3):
            raise ValueError(f"cross needs vectors of 2 or 3 components, got {v.shape[-1]}")
    if a.shape[-1] == b.shape[-1] == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    ax, ay, az = (a[..., i] for i in range(3)) if a.shape[-1] == 3 else (a[..., 0], a[..., 1], 0.0)
    bx, by, bz = (b[..., i] for i in range(3)) if b.shape[-1] == 3 else (b[..., 0], b[..., 1], 0.0)
    c = stack(_same_dtype([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx]), axis=-1)
    return moveaxis(c, -1, axisc)


def average(x, axis=None, weights=None):
    """The mean of x over `axis`, each entry weighed by `weights` (x's shape, or 1-D along `axis`)."""
    x = _floating(x)
    if weights is None:
        return mean(x, axis)
    w = as_tensor(weights, like=x) if not isinstance(weights, Tensor) else weights
    if w.ndim == 1 and x.ndim > 1:
        if isinstance(axis, (tuple, list)) and len(axis) == 1:
            axis = axis[0]
        if axis is None or not isinstance(axis, (int, np.integer)):
            raise ValueError("average: 1-D weights need one integer axis of x to weigh")
        w = reshape(w, tuple(-1 if i == int(axis) % x.ndim else 1 for i in range(x.ndim)))
    return sum(x * w, axis) / sum(broadcast_to(w, x.shape), axis)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """∫y by the trapezoidal rule along `axis`: at spacing dx, or at the points x (1-D, or y's shape)."""
    y = _floating(y)
    axis = _check_axis(axis, y.ndim, "trapezoid")
    before = (builtins.slice(None),) * axis
    mid = (y[before + (builtins.slice(1, None),)] + y[before + (builtins.slice(None, -1),)]) / 2
    if x is None:
        return sum(mid, axis) * dx
    steps = diff(x, axis=-1 if as_tensor(x).ndim == 1 else axis)
    if steps.ndim == 1:
        steps = reshape(steps, tuple(-1 if i == axis else 1 for i in range(y.ndim)))
    return sum(mid * steps, axis)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a 1-D x: columns x^(N-1) ... x^0 (or increasing powers)."""
    x = as_tensor(x)
    if x.ndim != 1:
        raise ValueError(f"vander takes a 1-D x, got shape {x.shape}")
    n = len(x) if N is None else int(N)
    powers = np.arange(n) if increasing else np.arange(n)[::-1]
    return expand_dims(x, 1) ** as_tensor(powers.astype(x.dtype), like=x)


def select(condlist, choicelist, default=0):
    """From the first condition that holds, its choice; `default` where none holds."""
    if len(condlist) != len(choicelist) or not condlist:
        raise ValueError(f"select needs as many conditions as choices, at least one; got {len(condlist)} and "
                         f"{len(choicelist)}")
    out = default
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = where(cond, choice, out)
    return out


def _nan_reduction(reduce, fill):
    """ops.nan<reduce>: `reduce` over x with NaN taken as `fill` (left out of a sum, a product, a max)."""
    def apply(x, axis=None, keepdims=False):
        x = as_tensor(x)
        return reduce(_nan_as(x, fill), axis=axis, keepdims=keepdims)

    apply.__name__ = f"nan{reduce.__name__}"
    return apply


nansum, nanprod = _nan_reduction(sum, 0.0), _nan_reduction(prod, 1.0)


def _nan_as(x, fill):
    """x with its NaN entries `fill`; integers (which hold no NaN) as they are, in their dtype."""
    return where(isnan(x), fill, x) if x.dtype.kind == "f" else x


def _all_nan_is_nan(x, out, axis, keepdims):
    """NaN where every entry reduced was NaN (NumPy's nanmax/nanmean there), else `out`."""
    return where(all(isnan(x), axis=_axis(axis), keepdims=keepdims), np.nan, out)


def nanmax(x, axis=None, keepdims=False):
    x = as_tensor(x)
    if x.dtype.kind != "f":
        return max(x, axis, keepdims)
    return _all_nan_is_nan(x, max(_nan_as(x, -np.inf), axis, keepdims), axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    x = as_tensor(x)
    if x.dtype.kind != "f":
        return min(x, axis, keepdims)
    return _all_nan_is_nan(x, min(_nan_as(x, np.inf), axis, keepdims), axis, keepdims)


def _count_not_nan(x, axis, keepdims):
    return sum(astype(logical_not(isnan(x)), x.dtype), axis, keepdims)


def nanmean(x, axis=None, keepdims=False):
    """The mean of the entries that are not NaN (NaN where all are)."""
    x = _floating(x)
    return nansum(x, axis, keepdims) / _count_not_nan(x, axis, keepdims)


def nanvar(x, axis=None, keepdims=False):
    x = _floating(x)
    centered = where(isnan(x), 0.0, x - nanmean(x, axis, keepdims=True))  # a NaN entry's square: no 0·NaN back
    return sum(centered * centered, axis, keepdims) / _count_not_nan(x, axis, keepdims)


def nanstd(x, axis=None, keepdims=False):
    return sqrt(nanvar(x, axis, keepdims))


def nancumsum(x, axis=None, dtype=None):
    return cumsum(_nan_as(as_tensor(x), 0.0), axis, dtype)


def nancumprod(x, axis=None, dtype=None):
    return cumprod(_nan_as(as_tensor(x), 1.0), axis, dtype)


def nanargmax(x, axis=None, keepdims=False):
    return astype(_NoGrad("nanargmax", axis=axis, keepdims=keepdims)(as_tensor(x)), "int32")


def nanargmin(x, axis=None, keepdims=False):
    return astype(_NoGrad("nanargmin", axis=axis, keepdims=keepdims)(as_tensor(x)), "int32")


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """NumPy's nanquantile, without a gradient."""
    x = _floating(x)
    return astype(_NoGrad("nanquantile", q=q, axis=_axis(axis), method=method, keepdims=keepdims)(x), x.dtype)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return nanquantile(x, np.asarray(q, dtype=np.float64) / 100, axis, method, keepdims)


def nanmedian(x, axis=None, keepdims=False):
    return nanquantile(x, 0.5, axis, keepdims=keepdims)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    a, b = _pair(x1, x2)
    return _NoGrad("isclose", rtol=rtol, atol=atol, equal_nan=equal_nan)(a, b)


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return all(isclose(x1, x2, rtol, atol, equal_nan))


def isin(x1, x2, assume_unique=False, invert=False):
    a, b = as_tensor(x1), as_tensor(x2)
    return _NoGrad("isin", assume_unique=assume_unique, invert=invert)(a, b)


def digitize(x, bins):
    """The bin of each entry (NumPy's digitize, right=False): int32, as Keras."""
    return astype(_NoGrad("digitize")(as_tensor(x), as_tensor(bins)), "int32")


def searchsorted(sorted_sequence, values, side="left"):
    """Where each value goes in the 1-D sorted_sequence to keep it sorted (int32, as Keras)."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted side must be 'left' or 'right', got {side!r}")
    found = _NoGrad("searchsorted", side=side)(as_tensor(sorted_sequence), as_tensor(values))
    return astype(found, "int32")


def _raw(x):
    """x's array as it is: a Tensor's data, or the array given (as_tensor would make float64 floatx)."""
    return x.data if isinstance(x, Tensor) else array_module(x).asarray(x)


def _from_host(array, like):
    """A result computed on the host with NumPy, as a Tensor on `like`'s device (CuPy's when it is a GPU
    array), in its own dtype."""
    return Tensor._from_op(array_module(like).asarray(array), None)


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each non-negative integer in a 1-D (or, row by row, 2-D) x, optionally weighed; no gradient.
    Counted on the host (as are histogram, nonzero, unravel_index and unique)."""
    if sparse:
        raise NotImplementedError("bincount(sparse=True): scratchgrad has no sparse tensors")
    like = _raw(x)
    x = to_numpy(like)
    if x.dtype.kind not in "iu" or (x < 0).any() or x.ndim not in (1, 2):
        raise ValueError(f"bincount takes non-negative integers, 1-D or 2-D, got {x.dtype} of shape {x.shape}")
    w = None if weights is None else to_numpy(_raw(weights))
    length = builtins.max(int(minlength), int(x.max()) + 1 if x.size else 0)
    rows = [np.bincount(r, None if w is None else wr, length)
            for r, wr in zip(np.atleast_2d(x), np.atleast_2d(w) if w is not None else [None] * len(np.atleast_2d(x)))]
    counts = np.stack(rows) if x.ndim == 2 else rows[0]
    return _from_host(counts.astype(w.dtype if w is not None else np.int32), like)


def histogram(x, bins=10, range=None):
    """(counts, bin edges) of a 1-D x, as NumPy's histogram; no gradient."""
    like = _raw(x)
    x = to_numpy(like)
    if x.ndim != 1:
        raise ValueError(f"histogram takes a 1-D x, got shape {x.shape}")
    counts, edges = np.histogram(x, bins=bins, range=range)
    edges = edges.astype(x.dtype if x.dtype.kind == "f" else float_dtype())
    return _from_host(counts.astype(np.int32), like), _from_host(edges, like)


def argpartition(x, kth, axis=-1):
    return astype(_NoGrad("argpartition", kth=kth, axis=axis)(as_tensor(x)), "int32")


def nonzero(x):
    """The indices of x's non-zero entries, one int32 array per axis."""
    like = _raw(x)
    return tuple(_from_host(i.astype(np.int32), like) for i in np.nonzero(to_numpy(like)))


def unravel_index(indices, shape):
    like = _raw(indices)
    return tuple(_from_host(np.asarray(i, dtype=np.int32), like) for i in np.unravel_index(to_numpy(like), shape))


def array_split(x, indices_or_sections, axis=0):
    """split, but sections need not divide the axis: the first ones get one entry more (NumPy's rule)."""
    x = as_tensor(x)
    axis = _check_axis(axis, x.ndim, "array_split")
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections <= 0:
            raise ValueError(f"array_split needs a positive number of sections, got {indices_or_sections}")
        size, parts = x.shape[axis], int(indices_or_sections)
        sizes = [size // parts + (i < size % parts) for i in builtins.range(parts)]
        indices_or_sections = np.cumsum(sizes)[:-1].tolist()
    return split(x, indices_or_sections, axis)


def hsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=1 if as_tensor(x).ndim > 1 else 0)


def vsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=2)


def _window(name):
    def apply(x):
        return Tensor(getattr(np, name)(int(x)).astype(float_dtype()))

    apply.__name__ = name
    return apply


bartlett, blackman, hamming, hanning = (_window(name) for name in ("bartlett", "blackman", "hamming", "hanning"))


def kaiser(x, beta):
    return Tensor(np.kaiser(int(x), float(beta)).astype(float_dtype()))


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    values = np.logspace(start, stop, num, endpoint, base, axis=axis)
    return Tensor._from_op(values.astype(np.dtype(dtype) if dtype else float_dtype()), None)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    values = np.geomspace(start, stop, num, endpoint, axis=axis)
    return Tensor._from_op(values.astype(np.dtype(dtype) if dtype else float_dtype()), None)


def real(x):
    """x itself: scratchgrad's tensors are real (so imag is 0, conj is x and every entry isreal)."""
    return as_tensor(x)


conj = conjugate = real


def imag(x):
    return zeros_like(x)


def isreal(x):
    return ones_like(x, dtype=bool)


def angle(x):
    """0 for x ≥ 0, π for x < 0 (the angle of a real number); no gradient."""
    x = _floating(x)
    return where(less(x, 0), _math.pi, zeros_like(x))


def saturate_cast(x, dtype):
    """x cast to `dtype`, clipped first to what it can hold (so 300 becomes 255 in uint8, not 44)."""
    x, dtype = (x if isinstance(x, Tensor) else Tensor._from_op(_raw(x), None)), np.dtype(dtype)
    if dtype.kind in "iu" and x.dtype.kind in "iuf":
        info = np.iinfo(dtype)
        x = clip(x, _held(info.min, x.dtype), _held(info.max, x.dtype))
    elif dtype.kind == "f" and x.dtype.kind in "iuf" and \
            float((np.iinfo if x.dtype.kind in "iu" else np.finfo)(x.dtype).max) > float(np.finfo(dtype).max):
        top = int(np.finfo(dtype).max)  # float16's 65504: int32's 100000 becomes it, not inf
        x = clip(x, _held(-top, x.dtype), _held(top, x.dtype))
    return astype(x, dtype)


def _held(bound, dtype):
    """An integer bound as a value of `dtype`: itself if it fits, else the nearest one inside it (int32's
    largest is not a float32: the float nearest it is 2³¹, which the cast would wrap)."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return builtins.min(builtins.max(bound, int(info.min)), int(info.max))
    value = dtype.type(bound)
    return value if builtins.abs(int(value)) <= builtins.abs(bound) else np.nextafter(value, dtype.type(0))


class View(Function):
    """x's bytes read as another dtype: no gradient, recorded like any op so that a replayed step reads the
    new x's bytes."""

    differentiable = False

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.view(self.dtype)


def view(x, dtype=None):
    """x's bytes read as `dtype` (NumPy's view); no gradient."""
    x = x if isinstance(x, Tensor) else Tensor._from_op(_raw(x), None)
    return x if dtype is None else View(np.dtype(dtype))(x)


def correlate(x1, x2, mode="valid"):
    """The cross-correlation of two 1-D tensors, Σ_j x1[k + j]·x2[j] (NumPy's correlate on real numbers), in
    mode valid, same or full."""
    a, b = _pair(_floating(x1), _floating(x2))
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"correlate takes two 1-D tensors, got shapes {a.shape} and {b.shape}")
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate mode must be 'valid', 'same' or 'full', got {mode!r}")
    if len(a) < len(b):  # NumPy swaps them, and reverses the result
        return flip(correlate(b, a, mode), 0)
    m = len(b)
    edges = {"valid": (0, 0), "same": (m // 2, m - 1 - m // 2), "full": (m - 1, m - 1)}[mode]
    padded = pad(a, [edges]) if edges != (0, 0) else a
    return conv(reshape(padded, (1, -1, 1)), reshape(b, (m, 1, 1)))[0, :, 0]


def corrcoef(x):
    """Pearson's correlation coefficients between the rows of x (each row a variable); a 1-D x is one
    variable, correlated 1 with itself."""
    x = _floating(x)
    if x.ndim == 1:
        spread = sum(square(x - mean(x)))
        return spread / spread  # exactly 1 (NaN for a constant x, as NumPy's)
    centered = x - mean(x, axis=-1, keepdims=True)
    cov = matmul(centered, transpose(centered))
    scale = sqrt(diagonal(cov))
    return cov / (expand_dims(scale, 1) * expand_dims(scale, 0))


def cdist(x, y):
    """The Euclidean distance between every vector of x (..., m, d) and every vector of y (..., n, d):
    (..., m, n). (A zero distance has no gradient: NaN, as √ at 0 in Keras.)"""
    a, b = _pair(_floating(x), _floating(y))
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ValueError(f"cdist takes two collections of vectors of one length, (..., m, d) and (..., n, d); "
                         f"got shapes {a.shape} and {b.shape}")
    difference = expand_dims(a, -2) - expand_dims(b, -3)
    return sqrt(sum(difference * difference, axis=-1))


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of the last axis: (..., length) → (..., frames, sequence_length), a frame every
    sequence_stride entries (the windows of a short-time Fourier transform)."""
    x = as_tensor(x)
    size, length, stride = x.shape[-1], int(sequence_length), int(sequence_stride)
    if length < 1 or stride < 1 or length > size:
        raise ValueError(f"extract_sequences needs 1 ≤ sequence_length ≤ {size} (the last axis) and a positive "
                         f"sequence_stride, got {sequence_length!r} and {sequence_stride!r}")
    starts = np.arange(0, size - length + 1, stride)
    return take(x, starts[:, None] + np.arange(length), axis=-1)


def cholesky_inverse(x, upper=False):
    """The inverse of A from its Cholesky factor x (A = x·xᵀ, or xᵀ·x with upper=True)."""
    x = _floating(x)
    xt = swapaxes(x, -1, -2)
    return inv(matmul(xt, x) if upper else matmul(x, xt))


def psnr(x1, x2, max_val):
    """The peak signal-to-noise ratio in dB, 20·log₁₀(max_val) - 10·log₁₀(MSE), the MSE over all entries."""
    a, b = _pair(_floating(x1), _floating(x2))
    if a.shape != b.shape:
        raise ValueError(f"psnr takes two tensors of one shape, got {a.shape} and {b.shape}")
    return 20 * _math.log10(max_val) - 10 * log10(mean(square(a - b)))


def _blocks(x, block_size, data_format, op):
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{op} takes 4-D images, got shape {x.shape}")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op} data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    b = int(block_size)
    if b < 2:
        raise ValueError(f"{op} needs a block_size of at least 2, got {block_size!r}")
    return x, b, data_format == "channels_first"


def depth_to_space(x, block_size, data_format="channels_last"):
    """Channels moved into b×b blocks of pixels: (n, h, w, c·b²) → (n, h·b, w·b, c), Keras's layouts: the
    channels read as (b, b, c) channels_last, as (c, b, b) channels_first."""
    x, b, first = _blocks(x, block_size, data_format, "depth_to_space")
    c = x.shape[1 if first else 3]
    if c % (b * b):
        raise ValueError(f"depth_to_space: {c} channels are not a multiple of block_size² = {b * b}")
    if first:
        n, _, h, w = x.shape
        y = transpose(reshape(x, (n, c // (b * b), b, b, h, w)), (0, 1, 4, 2, 5, 3))
        return reshape(y, (n, c // (b * b), h * b, w * b))
    n, h, w, _ = x.shape
    return reshape(transpose(reshape(x, (n, h, w, b, b, c // (b * b))), (0, 1, 3, 2, 4, 5)), (n, h * b, w * b, -1))


def space_to_depth(x, block_size, data_format="channels_last"):
    """b×b blocks of pixels moved into the channels: depth_to_space undone."""
    x, b, first = _blocks(x, block_size, data_format, "space_to_depth")
    h, w = x.shape[2:] if first else x.shape[1:3]
    if h % b or w % b:
        raise ValueError(f"space_to_depth: height {h} and width {w} must be multiples of block_size {b}")
    if first:
        n, c = x.shape[:2]
        y = transpose(reshape(x, (n, c, h // b, b, w // b, b)), (0, 1, 3, 5, 2, 4))
        return reshape(y, (n, c * b * b, h // b, w // b))
    n, c = x.shape[0], x.shape[3]
    return reshape(transpose(reshape(x, (n, h // b, b, w // b, b, c)), (0, 1, 3, 2, 4, 5)), (n, h // b, w // b, -1))


# ---- segments, spectra, unique --------------------------------------------------------------------------
class SegmentReduce(Function):
    """The max, min or product of data's rows in each of `count` segments (row i to segment ids[i]; ids outside
    [0, count) dropped, empty segments the reduction's identity: -inf, inf, 1, as Keras). The gradient of a max
    or min goes to the rows that reached it, shared among ties; of a product, to each row the product of the
    others in its segment."""

    IDENTITY = {"maximum": -np.inf, "minimum": np.inf, "multiply": 1}

    def __init__(self, reduce, count):
        self.reduce, self.count = reduce, count

    def forward(self, data, ids):
        xp = array_module(data)
        self.inside = (ids >= 0) & (ids < self.count)
        self.ids, self.data = ids[self.inside], data
        identity = self.IDENTITY[self.reduce]
        if data.dtype.kind in "iu" and self.reduce != "multiply":
            info = np.iinfo(data.dtype)
            identity = info.min if identity < 0 else info.max
        self.out = xp.full((self.count,) + data.shape[1:], identity, data.dtype)
        _ufunc_at(self.reduce, self.out, self.ids, data[self.inside])
        return self.out

    def backward(self, gy):
        xp, rows = array_module(gy), self.data[self.inside]
        if self.reduce == "multiply":
            share = self._others_product(rows, xp)
        else:
            won = (rows == self.out[self.ids]).astype(gy.dtype)
            ties = xp.zeros_like(self.out, dtype=gy.dtype)
            xp.add.at(ties, self.ids, won)
            share = won / ties[self.ids]
        grad = xp.zeros(self.data.shape, gy.dtype)
        grad[self.inside] = gy[self.ids] * share
        return grad, None

    def _others_product(self, rows, xp):
        """Each row's segment product without it: the product of the segment's non-zero rows over it, where
        it is the only zero (or none is) and 0 where another zero remains."""
        zero = rows == 0
        nonzero_product = xp.ones_like(self.out)
        _ufunc_at("multiply", nonzero_product, self.ids, xp.where(zero, 1, rows))
        zeros = xp.zeros(self.out.shape, np.int64)
        xp.add.at(zeros, self.ids, zero)
        others_zero = zeros[self.ids] - zero
        return xp.where(others_zero > 0, 0, nonzero_product[self.ids] / xp.where(zero, 1, rows))


def _ufunc_at(name, out, index, values):
    """ufunc.at in place on `out`: CuPy has it for add, maximum and minimum only, so a product on the GPU is
    made on the host and copied back."""
    xp = array_module(out)
    if xp is np or name != "multiply":
        getattr(xp, name).at(out, index, values)
        return
    host = to_numpy(out)
    np.multiply.at(host, to_numpy(index), to_numpy(values))
    out[...] = xp.asarray(host)


def _segment(reduce, op):
    def apply(data, segment_ids, num_segments=None, sorted=False):
        data, ids = as_tensor(data), _indices(segment_ids, op)
        if ids.ndim != 1 or len(ids) != len(data):
            raise ValueError(f"{op} takes one segment id per row of data: a 1-D segment_ids of length {len(data)}, "
                             f"got shape {ids.shape}")
        count = int(ids.numpy().max()) + 1 if num_segments is None else int(num_segments)
        return SegmentReduce(reduce, count)(data, ids)

    apply.__name__ = op
    return apply


segment_max, segment_min, segment_prod = (_segment(reduce, f"segment_{name}") for reduce, name in
                                          (("maximum", "max"), ("minimum", "min"), ("multiply", "prod")))


class Spectrum(Function):
    """A discrete Fourier transform over the last axis (fft, rfft, irfft) or two (fft2, ifft2) of complex
    numbers given as their real and imaginary parts (rfft takes real numbers alone). The output stacks the
    parts, (2, ...), except irfft's, which is real; `n` is rfft's and irfft's signal length. The backward is
    the transform's adjoint: the transforms are linear, and a gradient of complex numbers is one of their two
    parts."""

    def __init__(self, kind, n=None):
        self.kind, self.n = kind, n

    def forward(self, real, imag=None):
        fft, self.shape = array_module(real).fft, real.shape
        z = real if imag is None else real + 1j * imag
        if self.kind == "irfft":
            return fft.irfft(z, n=self.n).astype(real.dtype)
        y = fft.rfft(z, n=self.n) if self.kind == "rfft" else getattr(fft, self.kind)(z)
        return array_module(real).stack([y.real, y.imag]).astype(real.dtype)

    def backward(self, gy):
        xp = array_module(gy)
        if self.kind == "irfft":
            return self._irfft_adjoint(gy, xp)
        g = gy[0] + 1j * gy[1]
        if self.kind == "rfft":
            return self._rfft_adjoint(g, xp).astype(gy.dtype)
        size = g.shape[-1] if self.kind == "fft" else g.shape[-1] * g.shape[-2]
        if self.kind == "fft":
            gz = xp.fft.ifft(g) * size  # the DFT's adjoint is its conjugate: n times the inverse
        elif self.kind == "fft2":
            gz = xp.fft.ifft2(g) * size
        else:
            gz = xp.fft.fft2(g) / size
        return gz.real.astype(gy.dtype), gz.imag.astype(gy.dtype)

    def _rfft_adjoint(self, g, xp):
        """rfft keeps the spectrum's first half: the adjoint is n·irfft of it with the bins irfft counts twice
        (all but 0 and, n even, n/2) halved, fitted back to the input's length."""
        n = self.n or self.shape[-1]
        half = g.copy()
        half[..., 1:(n - 1) // 2 + 1] *= 0.5
        return _fitted(xp.fft.irfft(half, n=n) * n, self.shape[-1], xp)

    def _irfft_adjoint(self, gx, xp):
        """irfft reads bins 0 .. n/2 (its input padded or cut to that), each inner bin twice; the imaginary
        parts of bin 0 and, n even, n/2 it ignores."""
        n = gx.shape[-1]
        spectrum = xp.fft.rfft(gx) / n
        spectrum[..., 1:(n - 1) // 2 + 1] *= 2
        spectrum.imag[..., 0] = 0
        if n % 2 == 0:
            spectrum.imag[..., -1] = 0
        spectrum = _fitted(spectrum, self.shape[-1], xp)
        return spectrum.real.astype(gx.dtype), spectrum.imag.astype(gx.dtype)


def _fitted(a, length, xp):
    """a cut or zero-padded along its last axis to `length`."""
    if a.shape[-1] >= length:
        return a[..., :length]
    return xp.concatenate([a, xp.zeros(a.shape[:-1] + (length - a.shape[-1],), a.dtype)], axis=-1)


def _complex_parts(x, op):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{op} takes a complex tensor as a pair (real, imaginary), got {type(x).__name__}")
    real, imag = _pair(_floating(x[0]), _floating(x[1]))
    if real.shape != imag.shape:
        raise ValueError(f"{op}: the real and imaginary parts differ in shape, {real.shape} and {imag.shape}")
    return real, imag


def _spectrum(kind, *parts, n=None):
    out = Spectrum(kind, n)(*parts)
    return out if kind == "irfft" else (out[0], out[1])


def fft(x):
    """The discrete Fourier transform over the last axis of (real, imaginary); returns the pair."""
    return _spectrum("fft", *_complex_parts(x, "fft"))


def fft2(x):
    """The 2-D discrete Fourier transform over the last two axes of (real, imaginary)."""
    return _spectrum("fft2", *_complex_parts(x, "fft2"))


def ifft2(x):
    return _spectrum("ifft2", *_complex_parts(x, "ifft2"))


def rfft(x, fft_length=None):
    """The Fourier transform of real signals (last axis, cut or zero-padded to fft_length): its
    fft_length // 2 + 1 non-negative frequencies, as (real, imaginary)."""
    return _spectrum("rfft", _floating(x), n=None if fft_length is None else int(fft_length))


def irfft(x, fft_length=None):
    """rfft undone: real signals of fft_length (default 2·(bins - 1)) from (real, imaginary) spectra."""
    return _spectrum("irfft", *_complex_parts(x, "irfft"), n=None if fft_length is None else int(fft_length))


_WINDOWS = {"hann": np.hanning, "hamming": np.hamming, "blackman": np.blackman, "bartlett": np.bartlett,
            "boxcar": np.ones}


def _signal_window(name, length, periodic=True):
    """scipy.signal.get_window's window of that name (hann, hamming, blackman, bartlett, boxcar), as float64:
    periodic (for spectra, the default) is the symmetric window one sample longer, its last sample dropped."""
    if name not in _WINDOWS:
        raise ValueError(f"unknown window {name!r}; expected one of {', '.join(_WINDOWS)} or an array")
    if length <= 1:
        return np.ones(length)
    return _WINDOWS[name](length + 1)[:-1] if periodic else _WINDOWS[name](length)


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """The short-time Fourier transform of real signals (..., samples): frames of sequence_length every
    sequence_stride samples, each weighed by `window` ("hann", "hamming", a 1-D tensor or None) centred in
    fft_length, then rfft: (real, imaginary), each (..., frames, fft_length // 2 + 1). center=True first
    pads the signal by fft_length // 2 on both sides, reflected. Keras's numbers (scipy's stft, rescaled)."""
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"stft takes float signals, got {x.dtype}")
    length, stride, n = int(sequence_length), int(sequence_stride), int(fft_length)
    if n < length:
        raise ValueError(f"stft's fft_length ({fft_length}) must be at least sequence_length ({sequence_length})")
    weights = _stft_window(window, length, n, x)
    if center:
        x = pad(x, [(0, 0)] * (x.ndim - 1) + [(n // 2, n // 2)], mode="reflect")
    return rfft(extract_sequences(x, n, stride) * weights, n)


def _stft_window(window, length, n, like):
    """The window of (i)stft over fft_length n, in `like`'s dtype (Keras converts it): "hann" or "hamming"
    (periodic) or a 1-D tensor of sequence_length, centred in n by zeros; None: ones over all n (Keras's)."""
    if isinstance(window, str) and window not in ("hann", "hamming"):
        raise ValueError(f"the stft window must be 'hann', 'hamming', a 1-D tensor or None, got {window!r}")
    if window is None:
        return as_tensor(np.ones(n), like=like)
    if isinstance(window, str):
        weights = as_tensor(_signal_window(window, length), like=like)
    else:
        weights = astype(as_tensor(window, like=like), like.dtype)
        if weights.shape != (length,):
            raise ValueError(f"the stft window must have shape ({length},) (sequence_length), got {weights.shape}")
    left = (n - length) // 2
    return pad(weights, [(left, n - length - left)])


class OverlapAdd(Function):
    """Frames (..., frames, n) added into a signal (..., length), frame i starting at i·stride: the adjoint of
    extract_sequences, so its backward takes the frames back out."""

    def __init__(self, length, stride):
        self.length, self.stride = length, stride

    def forward(self, frames):
        xp = array_module(frames)
        self.frame_shape = frames.shape[-2:]
        count, n = self.frame_shape
        self.index = (xp.arange(count)[:, None] * self.stride + xp.arange(n)).ravel()
        out = xp.zeros((int(np.prod(frames.shape[:-2])), self.length), frames.dtype)
        xp.add.at(out, (builtins.slice(None), self.index), frames.reshape(len(out), -1))
        return out.reshape(frames.shape[:-2] + (self.length,))

    def backward(self, gy):
        return gy[..., self.index].reshape(gy.shape[:-1] + self.frame_shape)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """stft undone, as Keras's (scipy's istft, rescaled): each frame's irfft weighed by the window again,
    overlapped and added, divided by the summed squared windows; with center=True the padding stft added is
    cut off, and `length` cuts the signal to that many samples."""
    real, imag = _complex_parts(x, "istft")
    frame, stride, n = int(sequence_length), int(sequence_stride), int(fft_length)
    if n < frame:
        raise ValueError(f"istft's fft_length ({fft_length}) must be at least sequence_length ({sequence_length})")
    weights = _stft_window(window, frame, n, real)
    weight = sum(weights)
    frames = irfft((real, imag), n) * (weight * weights)
    total = n + stride * (real.shape[-2] - 1)
    squares = OverlapAdd(total, stride)(tile(expand_dims(weights * weights, 0), (real.shape[-2], 1)))
    signal = OverlapAdd(total, stride)(frames) / where(greater(squares, 1e-10), squares, 1.0)
    signal = signal / (weight if window is not None else stride)
    start = n // 2 if center else 0
    end = start + int(length) if length is not None else (total - n // 2 if center else total)
    return signal[..., start:end]


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None, size=None,
           fill_value=None):
    """x's distinct entries (or slices along `axis`), sorted, or in the order they first appear with
    sorted=False; with the return_* flags, a tuple adding where each first appears, the inverse (x rebuilt
    from them) and the counts, as NumPy's. `size` pads (with fill_value, 0 by default, as Keras) or cuts
    the distinct values to that many. No gradient."""
    like = _raw(x)
    values, first, inverse, counts = np.unique(to_numpy(like), return_index=True, return_inverse=True,
                                               return_counts=True, axis=axis)
    along = 0 if axis is None else axis
    if not sorted:
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        values, first, counts, inverse = np.take(values, order, axis=along), first[order], counts[order], rank[inverse]
    if size is not None:
        values = _sized(values, int(size), 0 if fill_value is None else fill_value, along)
        first, counts = (_sized(a, int(size), 0, 0) for a in (first, counts))
    results = [_from_host(values, like)]
    results += [_from_host(a.astype(np.int32), like) for a, wanted in
                ((first, return_index), (inverse, return_inverse), (counts, return_counts)) if wanted]
    return results[0] if len(results) == 1 else tuple(results)


def _sized(a, size, fill, axis):
    """a cut, or padded with `fill`, to `size` entries along `axis`."""
    if a.shape[axis] >= size:
        return np.take(a, np.arange(size), axis=axis)
    padding = [(0, 0)] * a.ndim
    padding[axis] = (0, size - a.shape[axis])
    return np.pad(a, padding, constant_values=fill)


def adaptive_average_pool(inputs, output_size, data_format=None):
    """The mean of each of output_size windows tiling each spatial axis (AdaptiveAveragePooling's rule)."""
    from .layers.convolutional import adaptive_pool

    return adaptive_pool(as_tensor(inputs), output_size, "mean", data_format)


def adaptive_max_pool(inputs, output_size, data_format=None):
    from .layers.convolutional import adaptive_pool

    return adaptive_pool(as_tensor(inputs), output_size, "max", data_format)


class CustomGradient(Function):
    """f's value with the gradient f itself gives (keras.ops.custom_gradient): f(*args, **kwargs) returns
    (value, grad), grad maps the value's gradient to the tensor arguments' (one, a tuple of them, or one per
    argument, None for the others). One op whose inputs are the tensor arguments: forward runs f outside
    the graph and outside a step's recording, so that a replayed step runs f again and keeps the grad
    function of that run; backward calls it. Other arguments (numbers, options) reach f as they are."""

    def __init__(self, f, args, kwargs, tensor_at):
        self.f, self.args, self.kwargs, self.tensor_at = f, args, kwargs, tensor_at

    def forward(self, *xs):
        self.xs = tuple(Tensor._from_op(x, None) for x in xs)
        args = list(self.args)
        for i, x in zip(self.tensor_at, self.xs):
            args[i] = x
        with no_grad(), unrecorded():
            value, self.grad = self.f(*args, **self.kwargs)
        if not callable(self.grad):
            raise TypeError(f"a custom_gradient function returns (value, grad function), got a "
                            f"{type(self.grad).__name__} as its second item")
        out = as_tensor(value).data
        return out.copy() if builtins.any(out is x for x in xs) else out  # f may return an input itself

    def backward(self, gy):
        with no_grad(), unrecorded():
            grads = self._call_grad(Tensor._from_op(gy, None))
        grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
        if len(grads) == len(self.args) != len(self.tensor_at):
            grads = [grads[i] for i in self.tensor_at]  # one per argument: the tensors' are the inputs'
        if len(grads) != len(self.tensor_at):
            raise ValueError(f"a custom gradient gave {len(grads)} gradients for {len(self.tensor_at)} tensor inputs")
        return tuple(None if g is None else as_tensor(g).data for g in grads)

    def _call_grad(self, upstream):
        """grad(upstream), as JAX calls it; or as Keras's torch backend does, grad(*inputs, upstream=...), where
        grad names an `upstream` parameter (Keras's documented grad(*args, upstream=None) takes both)."""
        try:
            parameters = inspect.signature(self.grad).parameters
        except (TypeError, ValueError):  # a callable whose signature Python cannot read
            return self.grad(upstream)
        if "upstream" not in parameters:
            return self.grad(upstream)
        positional = builtins.any(name != "upstream" and p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY,
                                                                    p.POSITIONAL_OR_KEYWORD)
                                  for name, p in parameters.items())
        return self.grad(*(self.xs if positional else ()), upstream=upstream)


def _is_array(value):
    return isinstance(value, (Tensor, np.ndarray)) or hasattr(value, "__cuda_array_interface__")


def custom_gradient(f):
    """Decorate f(*args) -> (value, grad) to make one op whose gradient is grad's (Keras's
    keras.ops.custom_gradient): for a numerically stable or a deliberately different gradient, such as a
    gradient reversal layer's. Tensor and array arguments are the op's inputs; others pass to f as given."""
    @functools.wraps(f)
    def op(*args, **kwargs):
        tensor_at = [i for i, a in enumerate(args) if _is_array(a)]
        return CustomGradient(f, args, kwargs, tensor_at)(*(as_tensor(args[i]) for i in tensor_at))

    return op


def __getattr__(name):
    """Keras's namespaces: ops.image (image_ops.py, which imports this module); ops.nn, ops.numpy,
    ops.linalg and ops.math name the functions this module has (Python's math is _math here, so that
    ops.math is Keras's)."""
    if name == "image":
        from . import image_ops

        return image_ops
    if name in ("nn", "numpy", "linalg", "math"):
        return _namespace
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Namespace:
    def __getattr__(self, name):
        if name.startswith("_") or name not in __all__:
            raise AttributeError(f"scratchgrad's keras.ops has no attribute {name!r}")
        return globals()[name]


_namespace = _Namespace()


# ops.slice, ops.any, ops.all and ops.map shadow Python's builtins in this module: code here calls builtins.slice etc.
__all__ = [name for name in dir()
           if not name.startswith("_") and name not in ("np", "builtins", "functools", "inspect", "Function",
                                                       "values_escaped", "no_grad", "unrecorded", "image_data_format",
                                                       "to_numpy")]
