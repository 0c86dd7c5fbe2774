"""Symbolic tensors: what `keras.Input` returns and what calling a layer on one gives back — a shape
(batch axis None, or the size `keras.Input(batch_shape=)` declared) and a dtype, plus the layer call that
made it (a `Node`). A functional `Model` is the graph these Nodes form between its inputs and its outputs."""
import numpy as np


class SymbolicTensor:
    """A placeholder for data of `shape` (batch axis None unless an Input declared its size) and `dtype`,
    made by `node` (output `index`)."""

    _keras_mask = None  # the symbolic mask (batch, steps) of a masked sequence, as Keras's tensors carry

    def __init__(self, shape, dtype, node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.node, self.index, self.name = node, index, name

    ndim = property(lambda self: len(self.shape))

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"

    # arithmetic between symbolic tensors makes merge layers (`x = x + shortcut`); with a number, or
    # indexing, a TensorOp layer: either way the functional graph records it
    def __add__(self, other):
        return _merge("Add", "add", self, other)

    def __sub__(self, other):
        return _merge("Subtract", "sub", self, other)

    def __mul__(self, other):
        return _merge("Multiply", "mul", self, other)

    def __truediv__(self, other):
        return _op("truediv", self, other)

    def __pow__(self, other):
        return _op("pow", self, other)

    def __radd__(self, other):
        return _op("radd", self, other)

    def __rsub__(self, other):
        return _op("rsub", self, other)

    def __rmul__(self, other):
        return _op("rmul", self, other)

    def __rtruediv__(self, other):
        return _op("rtruediv", self, other)

    def __neg__(self):
        return _op("neg", self, None)

    def __getitem__(self, index):
        return _op("getitem", self, index)

    def __hash__(self):
        return id(self)


def _merge(layer_name, op, a, b):
    from . import layers

    if isinstance(b, SymbolicTensor):
        return getattr(layers, layer_name)()([a, b])
    return _op(op, a, b)


def _op(op, x, value):
    from .layers.tensor_op import TensorOp

    if isinstance(value, SymbolicTensor):
        raise TypeError(f"{op} of two symbolic tensors: use a merge layer (layers.add, layers.multiply, ...)")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray) and op != "getitem":
        value = value.tolist()  # a constant array is kept as nested lists, so a config can hold it
    return TensorOp(op, float(value) if isinstance(value, (int, float)) and op != "getitem" else value)(x)


class Node:
    """One call of `layer` in a functional graph: its inputs and outputs (structures of SymbolicTensors)
    and the keyword arguments of the call (non-tensor values in `inputs` are passed as they are)."""

    def __init__(self, layer, inputs, outputs, kwargs=None, positional=False):
        self.layer, self.inputs, self.outputs, self.kwargs = layer, inputs, outputs, dict(kwargs or {})
        self.positional = positional  # inputs is the list of several positional arguments
        layer._inbound_nodes.append(self)
