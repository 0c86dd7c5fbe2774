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
