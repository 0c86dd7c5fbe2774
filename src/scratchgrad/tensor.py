"""`Tensor`: an ndarray plus what backprop needs (its gradient and the op that created it).

dtype rule: Python numbers, lists and float64 arrays become the default float type (float32, see
`set_floatx`); arrays of any other dtype keep theirs; `dtype=` overrides both. A binary op never
upcasts silently: plain numbers and arrays take the tensor's dtype, and two tensors of different float
dtypes raise a TypeError that says to call `.astype()`.
"""
import numpy as np

from . import autograd
from .backend import array_module, float_dtype, to_numpy


def _to_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    xp = array_module(data)
    if dtype is not None:
        return xp.asarray(data, dtype=np.dtype(dtype))
    arr = data if xp is not np or isinstance(data, np.ndarray) else np.asarray(data)
    if arr.dtype == object:
        raise TypeError(f"cannot make a Tensor from {type(data).__name__} holding non-numbers")
    if arr.dtype == np.float64:
        arr = arr.astype(float_dtype())
    return arr


class Tensor:
    """A multi-dimensional array that records the ops applied to it so it can backpropagate.

    `grad` is an array of the tensor's shape and dtype that accumulates over `backward()` calls
    until cleared with `zero_grad()` (or `t.grad = None`). Only leaves (tensors no op created) keep
    a gradient, unless `retain_grad()` asks an intermediate to keep one too.
    """

    # `constraint` is set on layers' weights only (Layer.add_weight), `path` on a model's weights by its trainer
    # (Model._set_weight_paths); read them with getattr(t, "constraint", None)
    __slots__ = ("data", "grad", "requires_grad", "creator", "name", "_retain_grad", "_keras_mask", "constraint",
                 "path", "__weakref__")
    __array_priority__ = 100  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, dtype=None, requires_grad=False, name=None):
        self.data = _to_array(data, dtype)
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require grad, got dtype {self.data.dtype}")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.creator = None
        self.name = name
        self._retain_grad = False
        self._keras_mask = None  # which time steps are real (bool, batch × steps): set by masking layers

    @staticmethod
    def _from_op(data, creator):
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t.requires_grad, t.creator = data, None, creator is not None, creator
        t.name, t._retain_grad, t._keras_mask = None, False, None
        return t

    # ---- array attributes -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """The data as a NumPy array (copied to the host when it lives on a GPU)."""
        autograd.values_escaped()
        return to_numpy(self.data)

    def item(self):
        autograd.values_escaped()
        return self.data.item()

    def __array__(self, dtype=None, copy=None):
        autograd.values_escaped()
        a = to_numpy(self.data)
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        body = np.array2string(to_numpy(self.data), separator=", ", prefix="Tensor(")
        extra = f", dtype={self.dtype}"
        if self.creator is not None:
            extra += f", grad_fn={type(self.creator).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def __bool__(self):
        autograd.values_escaped()
        return bool(self.data)

    def __float__(self):  # float(loss), as on a PyTorch or Keras tensor of one element
        autograd.values_escaped()
        return float(self.data)

    def __int__(self):
        autograd.values_escaped()
        return int(self.data)

    def __hash__(self):
        return id(self)

    # ---- autograd -----------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Backpropagate from this tensor; `grad` is d(final)/d(self), needed unless self is a scalar."""
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the ops that made it "
                "has requires_grad=True"
            )
        xp = array_module(self.data)
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient works only on a scalar, but this tensor has shape "
                    f"{self.shape}; pass grad= of that shape (or reduce it, e.g. with .sum())"
                )
            grad = xp.ones_like(self.data)
        else:
            grad = xp.array(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"grad has shape {grad.shape}, expected the tensor's shape {self.shape}")
        autograd.backward(self, grad, retain_graph)

    def zero_grad(self):
        self.grad = None

    # ---- Keras's variable API (weights and metric state are Tensors) -------------------------
    @property
    def value(self):
        return self

    def assign(self, value):
        """Overwrite the values in place (the array keeps its identity, shape and dtype)."""
        self.data[...] = value.data if isinstance(value, Tensor) else value
        return self

    def assign_add(self, value):
        self.data += value.data if isinstance(value, Tensor) else self.dtype.type(value) if np.isscalar(value) else value
        return self

    def assign_sub(self, value):
        self.data -= value.data if isinstance(value, Tensor) else self.dtype.type(value) if np.isscalar(value) else value
        return self

    def retain_grad(self):
        """Keep `.grad` on this intermediate tensor too (leaves always keep theirs)."""
        self._retain_grad = True
        return self

    def detach(self):
        """The same data, cut from the graph (shares memory)."""
        return autograd.StopGradient()(self)

    def requires_grad_(self, flag=True):
        if flag and self.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = flag
        return self

    # ---- operators ----------------------------------------------------------------------------
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, other):
        return ops.pow(self, other)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    def _compare(self, other, op):
        autograd.values_escaped()
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._from_op(op(self.data, other), None)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    # ---- methods that mirror ndarray's --------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return ops.min(self, axis, keepdims)

    def reshape(self, *shape):
        return ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    def transpose(self, *axes):
        return ops.transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes or None)

    @property
    def T(self):
        return ops.transpose(self)

    def flatten(self):
        return ops.reshape(self, (-1,))

    def expand_dims(self, axis):
        return ops.expand_dims(self, axis)

    def squeeze(self, axis=None):
        return ops.squeeze(self, axis)

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def sqrt(self):
        return ops.sqrt(self)

    def abs(self):
        return ops.abs(self)

    def clip(self, min=None, max=None):
        return ops.clip(self, min, max)

    def astype(self, dtype):
        return ops.astype(self, dtype)

    def argmax(self, axis=None):
        autograd.values_escaped()
        return Tensor._from_op(self.data.argmax(axis), None)


def as_tensor(x, like=None):
    """`x` as a Tensor; a plain number or array takes the device of `like` (a Tensor) when given, and its
    dtype where that is a float."""
    if isinstance(x, Tensor):
        return x
    if like is None:
        return Tensor(x)
    xp = array_module(like.data)  # on like's device
    if like.dtype.kind == "f":
        return Tensor._from_op(xp.asarray(x, dtype=like.dtype), None)
    return Tensor(xp.asarray(x))


def as_operand(x, like):
    """`x` as a Tensor to meet the float Tensor `like` in one op (a layer's input and its kernel): a plain
    number or array, or an integer or bool Tensor, takes like's dtype, as Keras promotes an integer operand to
    the float one's dtype (Dense on int64 ids gives float32, not NumPy's float64)."""
    x = as_tensor(x, like=like)
    return ops.astype(x, like.dtype) if x.dtype.kind in "iub" and like.dtype.kind == "f" else x


from . import ops  # noqa: E402  (ops builds on Tensor)
