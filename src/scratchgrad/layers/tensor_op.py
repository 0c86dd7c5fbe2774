"""TensorOp: arithmetic with a number, or indexing, applied to a symbolic tensor, as a layer of the
functional graph (so `x * 2.0` and `inputs[:, :2]` work in the functional API and are saved)."""
import numpy as np

from .base import Layer

_APPLY = {
    "add": lambda x, v: x + v, "radd": lambda x, v: v + x, "sub": lambda x, v: x - v, "rsub": lambda x, v: v - x,
    "mul": lambda x, v: x * v, "rmul": lambda x, v: v * x, "truediv": lambda x, v: x / v,
    "rtruediv": lambda x, v: v / x, "pow": lambda x, v: x ** v, "neg": lambda x, v: -x,
    "getitem": lambda x, v: x[v],
}


class TensorOp(Layer):
    """One operation with a constant: op is add/sub/mul/truediv/pow (r-prefixed when the number comes
    first), neg, or getitem (`value` is the index: ints, slices, None and Ellipsis)."""

    def __init__(self, op, value=None, **kwargs):
        super().__init__(**kwargs)
        if op not in _APPLY:
            raise ValueError(f"unknown tensor op {op!r}; expected one of {', '.join(_APPLY)}")
        self.op, self.value = op, _decode(value) if op == "getitem" else value

    def call(self, x):
        value = np.asarray(self.value, x.dtype) if isinstance(self.value, list) else self.value
        return _APPLY[self.op](x, value)

    def get_config(self):
        value = _encode(self.value) if self.op == "getitem" else self.value
        return {**super().get_config(), "op": self.op, "value": value}


def _encode(index):
    parts = index if isinstance(index, tuple) else (index,)
    return [{"slice": [p.start, p.stop, p.step]} if isinstance(p, slice) else "..." if p is Ellipsis else p
            for p in parts]


def _decode(value):
    if isinstance(value, (tuple, slice, int)) or value is None or value is Ellipsis:
        return value  # given directly, not from a config
    return tuple(slice(*p["slice"]) if isinstance(p, dict) else Ellipsis if p == "..." else p for p in value)


class Lambda(Layer):
    """Wrap a function of tensors as a layer: Lambda(lambda x: x ** 2). It saves only when the function
    is one of keras.ops or an activation (stored by name): any other function is code, and a model file
    must never carry code to run, so saving such a model raises and a file naming one is refused."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(function, str):
            function = _named_function(function)
        if not callable(function):
            raise TypeError(f"Lambda needs a function, got {type(function).__name__}")
        self.function, self.arguments = function, dict(arguments or {})

    def call(self, x):
        return self.function(x, **self.arguments)

    def get_config(self):
        name = _name_of(self.function)
        if name is None:
            raise ValueError(f"{self.name}: a Lambda layer with function {self.function!r} cannot be saved (a file "
                             f"cannot safely carry code); write a custom Layer subclass instead, or use a keras.ops "
                             f"function or an activation")
        return {**super().get_config(), "function": name, "arguments": self.arguments}


def _named_function(name):
    from .. import activations, ops

    kind, _, attribute = name.partition(":")
    source = {"ops": ops, "activations": activations}.get(kind)
    function = getattr(source, attribute, None) if source is not None else None
    if not callable(function) or attribute.startswith("_"):
        raise ValueError(f"Lambda function {name!r} is not a keras.ops function or an activation")
    return function


def _name_of(function):
    from .. import activations, ops

    for kind, source in (("ops", ops), ("activations", activations)):
        name = getattr(function, "__name__", "")
        if not name.startswith("_") and getattr(source, name, None) is function:
            return f"{kind}:{name}"
    return None
