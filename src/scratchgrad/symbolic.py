"""Symbolic tensors: what `keras.Input` returns and what calling a layer on one gives back — a shape
(batch axis None) and a dtype, plus the layer call that made it (a `Node`). A functional `Model` is the
graph these Nodes form between its inputs and its outputs."""
import numpy as np


class SymbolicTensor:
    """A placeholder for data of `shape` (batch axis None) and `dtype`, made by `node` (output `index`)."""

    def __init__(self, shape, dtype, node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.node, self.index, self.name = node, index, name

    ndim = property(lambda self: len(self.shape))

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"

    # arithmetic between symbolic tensors makes merge layers, so `x = x + shortcut` builds a graph
    def __add__(self, other):
        return _merge("Add", self, other)

    def __sub__(self, other):
        return _merge("Subtract", self, other)

    def __mul__(self, other):
        return _merge("Multiply", self, other)

    def __hash__(self):
        return id(self)


def _merge(name, a, b):
    from . import layers

    if not isinstance(b, SymbolicTensor):
        raise TypeError(f"{name} of a symbolic tensor and {type(b).__name__}: both operands must be layer outputs")
    return getattr(layers, name)()([a, b])


class Node:
    """One call of `layer` in a functional graph: its inputs and outputs (structures of SymbolicTensors)
    and the keyword arguments of the call (non-tensor values in `inputs` are passed as they are)."""

    def __init__(self, layer, inputs, outputs, kwargs=None, positional=False):
        self.layer, self.inputs, self.outputs, self.kwargs = layer, inputs, outputs, dict(kwargs or {})
        self.positional = positional  # inputs is the list of several positional arguments
        layer._inbound_nodes.append(self)
