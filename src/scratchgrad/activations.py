"""Activation functions: every one Keras 3 has, by name, as Dense(activation="gelu"),
Activation("gelu") and keras.activations.gelu(x) take them.

The curriculum's own (step, sigmoid, tanh, relu, leaky_relu, elu, softplus, softmax) live in
functional.py next to the losses; the rest of Keras's set is here. Where an activation is a composite of
primitives (selu = scale · elu, mish = x · tanh(softplus x)) it is written as one, so its gradient is
the chain rule's; piecewise ones get a Function each, forward and backward side by side. Every
activation is registered where it is defined, by `@activation(name)`; the registry is
`functional.ACTIVATIONS`. Keras's defaults are used (leaky_relu's negative_slope is 0.2; the
textbook's 0.01 is one argument away: leaky_relu(x, 0.01)).
"""
import math

from . import functional as F
from . import ops
from .autograd import Function
from .backend import array_module
from .functional import activation, elu, identity, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, step, \
    tanh  # noqa: F401  (re-exported: keras.activations.relu, ...)
from .object_registration import deserializer, function_name, lookup, stands_for
from .tensor import as_tensor

ACTIVATIONS = F.ACTIVATIONS
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


# ---- piecewise Functions ---------------------------------------------------------------------------
class Shrink(Function):
    """hard_shrink (x where |x| > threshold, else 0) and soft_shrink (x moved threshold toward 0)."""

    def __init__(self, threshold=0.5, soft=False):
        self.threshold, self.soft = threshold, soft

    def forward(self, x):
        xp = array_module(x)
        self.keep = xp.abs(x) > x.dtype.type(self.threshold)
        kept = x - xp.sign(x) * x.dtype.type(self.threshold) if self.soft else x
        return xp.where(self.keep, kept, x.dtype.type(0))

    def backward(self, gy):
        return gy * self.keep


class Softsign(Function):
    """x / (1 + |x|); derivative 1 / (1 + |x|)²."""

    def forward(self, x):
        self.denominator = 1 + array_module(x).abs(x)
        return x / self.denominator

    def backward(self, gy):
        return gy / (self.denominator * self.denominator)


class SparsePlus(Function):
    """0 for x ≤ -1, (x + 1)²/4 between, x for x ≥ 1: a smooth ReLU with a compact transition."""

    def forward(self, x):
        xp = array_module(x)
        self.x = x
        middle = (x + 1) * (x + 1) / 4
        return xp.where(x <= -1, x.dtype.type(0), xp.where(x >= 1, x, middle))

    def backward(self, gy):
        x, xp = self.x, array_module(gy)
        return gy * xp.where(x <= -1, gy.dtype.type(0), xp.where(x >= 1, gy.dtype.type(1), (x + 1) / 2))


class SparseSigmoid(Function):
    """0 for x ≤ -1, 1 for x ≥ 1, (x + 1)/2 between: a sigmoid with a compact transition."""

    def forward(self, x):
        self.inside = (x > -1) & (x < 1)
        return array_module(x).clip((x + 1) * x.dtype.type(0.5), 0, 1)

    def backward(self, gy):
        return gy * self.inside * gy.dtype.type(0.5)


class HardTanh(Function):
    """clip(x, -1, 1). The gradient is 1 strictly between -1 and 1 and 0 from ±1 on (Keras's on torch)."""

    def forward(self, x):
        self.inside = (x > -1) & (x < 1)
        return array_module(x).clip(x, -1, 1)

    def backward(self, gy):
        return gy * self.inside


class HardSigmoid(Function):
    """relu6(x + 3) / 6: 0 up to -3, 1 from 3 on, a line between. The gradient is 1/6 strictly between
    -3 and 3, decided on x itself (x + 3 may round to 6 just below 3), as Keras's on torch."""

    def forward(self, x):
        self.x = x
        return array_module(x).clip(x + x.dtype.type(3), 0, 6) / x.dtype.type(6)

    def backward(self, gy):
        inside = (self.x > -3) & (self.x < 3)
        return gy * inside * gy.dtype.type(1 / 6)


class HardSilu(HardSigmoid):
    """x · hard_sigmoid(x). The gradient by pieces (0 up to -3, x/3 + 1/2 below 3, 1 from 3 on), so that ±inf
    give 0 and 1, not inf·0 = NaN, as Keras's on torch."""

    def forward(self, x):
        return x * super().forward(x)

    def backward(self, gy):
        x, xp = self.x, array_module(gy)
        slope = xp.where(x < 3, x / gy.dtype.type(3) + gy.dtype.type(0.5), gy.dtype.type(1))
        return gy * xp.where(x <= -3, gy.dtype.type(0), slope)


class Threshold(Function):
    """x where x > threshold, else default_value."""

    def __init__(self, threshold, default_value):
        self.threshold, self.default_value = threshold, default_value

    def forward(self, x):
        self.keep = x > x.dtype.type(self.threshold)
        return array_module(x).where(self.keep, x, x.dtype.type(self.default_value))

    def backward(self, gy):
        return gy * self.keep


class Sparsemax(Function):
    """The Euclidean projection of x onto the probability simplex (along `axis`): like softmax, but
    exactly 0 for the lowest entries. Backward: g - mean of g over the support, on the support."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        xp = array_module(x)
        z = xp.moveaxis(x, self.axis, -1)
        sorted_z = -xp.sort(-z, axis=-1)
        k = xp.arange(1, z.shape[-1] + 1, dtype=x.dtype)
        cumulative = xp.cumsum(sorted_z, axis=-1)
        in_support = 1 + k * sorted_z > cumulative
        support = in_support.sum(axis=-1, keepdims=True)
        tau = (xp.take_along_axis(cumulative, support - 1, axis=-1) - 1) / support.astype(x.dtype)
        y = xp.maximum(z - tau, x.dtype.type(0))
        self.support = y > 0
        return xp.moveaxis(y, -1, self.axis)

    def backward(self, gy):
        xp = array_module(gy)
        g, s = xp.moveaxis(gy, self.axis, -1), self.support
        mean = (g * s).sum(axis=-1, keepdims=True) / s.sum(axis=-1, keepdims=True)
        return xp.moveaxis(xp.where(s, g - mean, gy.dtype.type(0)), -1, self.axis)


# ---- the activations Keras has beyond the curriculum's ---------------------------------------------
@activation("relu6")
def relu6(x):
    return relu(x, max_value=6.0)


@activation("exponential")
def exponential(x):
    return ops.exp(as_tensor(x))


@activation("gelu")
def gelu(x, approximate=False):
    """x·Φ(x): exactly 0.5·x·(1 + erf(x/√2)), or with the tanh approximation."""
    x = as_tensor(x)
    if approximate:
        inner = (x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)
        return x * 0.5 * (tanh(inner) + 1.0)
    return x * 0.5 * (ops.erf(x * (1 / math.sqrt(2))) + 1.0)


@activation("glu")
def glu(x, axis=-1):
    """Gated linear unit: the first half of x (along axis) times the sigmoid of the second half."""
    x = as_tensor(x)
    half = x.shape[axis] // 2
    index = [slice(None)] * x.ndim
    index[axis] = slice(None, half)
    a = x[tuple(index)]
    index[axis] = slice(half, None)
    return a * sigmoid(x[tuple(index)])


@activation("hard_shrink")
def hard_shrink(x, threshold=0.5):
    return Shrink(threshold)(as_tensor(x))


@activation("soft_shrink")
def soft_shrink(x, threshold=0.5):
    return Shrink(threshold, soft=True)(as_tensor(x))


@activation("hard_sigmoid")
def hard_sigmoid(x):
    """relu6(x + 3) / 6: a piecewise-linear sigmoid."""
    return HardSigmoid()(as_tensor(x))


@activation("hard_silu", "hard_swish")
def hard_silu(x):
    """x · hard_sigmoid(x)."""
    return HardSilu()(as_tensor(x))


@activation("hard_tanh")
def hard_tanh(x):
    return HardTanh()(as_tensor(x))


@activation("log_sigmoid")
def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for any x."""
    return -softplus(-as_tensor(x))


@activation("mish")
def mish(x):
    x = as_tensor(x)
    return x * tanh(softplus(x))


@activation("selu")
def selu(x):
    """scale · elu(x, alpha) with Keras's constants: self-normalizing with lecun_normal weights."""
    return elu(x, SELU_ALPHA) * SELU_SCALE


@activation("silu", "swish")
def silu(x):
    x = as_tensor(x)
    return x * sigmoid(x)


@activation("softsign")
def softsign(x):
    return Softsign()(as_tensor(x))


@activation("sparse_plus")
def sparse_plus(x):
    return SparsePlus()(as_tensor(x))


@activation("sparse_sigmoid")
def sparse_sigmoid(x):
    return SparseSigmoid()(as_tensor(x))


def threshold(x, threshold, default_value):
    """keras.activations.threshold: x above `threshold`, `default_value` elsewhere (no default name:
    its two arguments are required, so it is not selectable by a string)."""
    return Threshold(threshold, default_value)(as_tensor(x))


@activation("squareplus")
def squareplus(x, b=4):
    """(x + √(x² + b)) / 2: a smooth ReLU made of square roots."""
    x = as_tensor(x)
    return (x + ops.sqrt(x * x + float(b))) * 0.5


@activation("tanh_shrink")
def tanh_shrink(x):
    x = as_tensor(x)
    return x - tanh(x)


@activation("celu")
def celu(x, alpha=1.0):
    """max(0, x) + min(0, α·(exp(x/α) - 1)): elu on x/α, scaled back by α."""
    return elu(as_tensor(x) * (1 / alpha), 1.0) * alpha


@activation("sparsemax")
def sparsemax(x, axis=-1):
    return Sparsemax(axis)(as_tensor(x))


swish, hard_swish = silu, hard_silu
linear = identity  # Keras's name for it


def get(activation):
    """An activation function from a name, a callable, or None (meaning linear). A name is looked up first
    among the user's objects (custom_objects, custom_object_scope, register_keras_serializable), then among
    the built-in activations."""
    if activation is None:
        return identity
    if callable(activation):
        return activation
    if isinstance(activation, dict) and activation.get("class_name") == "function":  # Keras's serialized form
        activation = activation.get("config")
    if isinstance(activation, str):
        custom = lookup(activation)
        if custom is not None:
            if not stands_for(custom):
                raise ValueError(f"activation {activation!r} names {custom!r:.80}, which is not a function")
            return custom
        if activation.lower() in ACTIVATIONS:
            return ACTIVATIONS[activation.lower()]
    raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(sorted(ACTIVATIONS))}, a "
                     f"callable, or the name of a custom function registered with "
                     f"keras.saving.register_keras_serializable or passed in custom_objects")


def name_of(activation):
    """The registered name of an activation function, or None for a custom callable."""
    return next((name for name, fn in ACTIVATIONS.items() if fn is activation), None)


deserialize = deserializer(get, "activations")


def serialize(activation):
    """The name a config saves an activation function under: a built-in's name, a custom function's
    registered name ("package>name"), else its __name__ (loading it then needs custom_objects)."""
    name = name_of(activation)
    if name is not None:
        return name
    return function_name(activation, "activation", lambda n: n.lower() in ACTIVATIONS)
