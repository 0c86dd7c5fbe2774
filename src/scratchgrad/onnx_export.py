"""Export a Sequential or functional model to ONNX, for ONNX Runtime and every other ONNX consumer.

    model.export("model.onnx", format="onnx")           # or: export_onnx(model, "model.onnx")

The graph is built with the `onnx` package's helper API (an optional extra: pip install onnx), in opset
17 by default, with a dynamic batch dimension, and checked with `onnx.checker.check_model` before it is
written (to a temporary file in the same folder, then moved over `path`: a crash leaves no half file).

What is exported is the model in inference: the dropouts (Dropout, AlphaDropout, GaussianDropout, the spatial
ones), GaussianNoise, ActivityRegularization and the random augmentations are the identity,
BatchNormalization uses its moving statistics (folded into one scale and one shift per feature). Each layer
is mapped to ONNX operators by a function registered for its class below (`_EXPORTERS`); a layer with none
(Lambda, attention, masks, ...) raises `OnnxExportError` naming
it, its class and why.

Layouts. scratchgrad (as Keras) keeps images channels_last (N, H, W, C) and sequences (N, steps, C); ONNX's
Conv and pooling take channels first. A convolution transposes its input to NCHW and its output back; the
graph builder cancels a transpose that undoes the one before it and carries element-wise layers (activations,
BatchNormalization, merges, global pooling) through to the channels-first side, so a stack of convolutions
has one transpose at each end rather than two per layer. Recurrent layers run ONNX's LSTM/GRU/RNN operators
on (steps, N, features) with Keras's weights rearranged: LSTM's gates from Keras's i, f, c, o to ONNX's
i, o, f, c; GRU's z, r, h order is ONNX's too, and reset_after=True is ONNX's linear_before_reset=1 with
Keras's two bias rows as ONNX's Wb and Rb; go_backwards is direction="reverse" (its sequence output flipped
back to Keras's order).
"""
import hashlib
import re

import numpy as np

from . import activations, tree
from .backend import epsilon
from .files import atomic_write

OPSET = 17
SELU_ALPHA, SELU_SCALE = activations.SELU_ALPHA, activations.SELU_SCALE


class OnnxExportError(ValueError):
    """A model, layer or activation that has no ONNX form here."""


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("exporting to ONNX needs the onnx package: pip install onnx "
                          "(or pip install 'scratchgrad[onnx]')") from None
    return onnx


# ---- the public functions -------------------------------------------------------------------------
def to_onnx(model, opset=OPSET):
    """The model as a checked `onnx.ModelProto` (nothing is written)."""
    onnx = _onnx()
    from .models.functional import Functional
    from .models.sequential import Sequential

    if not isinstance(model, (Sequential, Functional)):
        raise OnnxExportError(f"model {model.name!r} ({type(model).__name__}) is a subclassed model: its call() "
                              f"is Python code, not a graph of layers; only Sequential and functional models "
                              f"export to ONNX")
    if not isinstance(opset, int) or opset < OPSET or opset > onnx.defs.onnx_opset_version():
        raise ValueError(f"opset must be an integer from {OPSET} to {onnx.defs.onnx_opset_version()} "
                         f"(this onnx package's newest), got {opset!r}")
    inputs, outputs = _model_ends(model)
    dtype = np.dtype(model.dtype)
    g = _Graph(onnx, dtype, opset)
    graph_inputs, input_names = [], []
    for i, t in enumerate(inputs):
        name = g.name(_clean(getattr(t.node.layer, "name", None) or f"input_{i}"), scope=False)
        input_names.append(name)
        graph_inputs.append(_value_info(onnx, name, t.dtype, t.shape, f"input_{i}"))
    flat = _export_model(g, model, input_names)
    out_labels = _output_labels(model, outputs)
    graph_outputs, final = [], []
    for i, (value, t, label) in enumerate(zip(flat, outputs, out_labels)):
        name = g.name(_clean(label), scope=False)
        g.op("Identity", [value], outputs=[name])
        final.append(name)
        graph_outputs.append(_value_info(onnx, name, t.dtype, t.shape, f"output_{i}"))
    g.prune(final)
    graph = onnx.helper.make_graph(g.nodes, _clean(model.name) or "model", graph_inputs, graph_outputs,
                                   initializer=g.initializers)
    from . import __version__

    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="scratchgrad", producer_version=str(__version__))
    proto.ir_version = _ir_version(onnx, opset)  # the oldest that has the opset: read by older runtimes too
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, opset=OPSET):
    """Write the model to `path` as an ONNX file (see the module's docstring); returns the path."""
    proto = to_onnx(model, opset)
    with atomic_write(path) as f:  # complete or absent
        f.write(proto.SerializeToString())
    return str(path)


def _ir_version(onnx, opset):
    versions = [row[1] for row in onnx.helper.VERSION_TABLE if row[2] >= opset]
    return min(versions) if versions else onnx.IR_VERSION


def _model_ends(model):
    try:
        return list(model.inputs), list(model.outputs)
    except AttributeError:
        raise OnnxExportError(f"model {model.name!r} is not built: give it an Input (or input_shape) or call it "
                              f"once before exporting") from None


def _output_labels(model, outputs):
    if isinstance(getattr(model, "_outputs", None), dict):
        return list(model.output_names)
    labels, seen = [], {}
    for t in outputs:
        name = t.node.layer.name
        seen[name] = seen.get(name, -1) + 1
        labels.append(name if seen[name] == 0 else f"{name}_{seen[name]}")
    return labels


def _value_info(onnx, name, dtype, shape, prefix):
    dims = ["batch"] + [d if d is not None else f"{prefix}_dim{i + 1}" for i, d in enumerate(shape[1:])]
    return onnx.helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), dims)


def _clean(name):
    return re.sub(r"[^A-Za-z0-9_./:-]", "_", str(name)) if name else name


# ---- the graph builder ----------------------------------------------------------------------------
class _Graph:
    """Nodes and initializers, unique names (prefixed by the layer being exported), constants, and the
    bookkeeping that lets transposes cancel: which value is which other value transposed."""

    def __init__(self, onnx, dtype, opset):
        self.onnx, self.helper, self.dtype, self.opset = onnx, onnx.helper, dtype, opset
        self.nodes, self.initializers = [], []
        self.scope = ""
        self._names = set()
        self._constants = {}
        self._transposed = {}  # value -> (source, perm): value = Transpose(source, perm)
        self._transposes = {}  # (source, perm) -> value

    def name(self, base, scope=True):
        base = f"{self.scope}/{base}" if scope and self.scope else base
        name, i = base, 0
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def const(self, value, name="const", dtype=None):
        array = np.ascontiguousarray(value, dtype=dtype or self.dtype)
        small = array.size <= 64
        data = array.tobytes()
        key = (array.dtype.str, array.shape, data if small else hashlib.sha256(data).digest())
        if key not in self._constants:  # one initializer per distinct value: a shared layer's weights once
            name = self.name(name, scope=not small)
            self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
            self._constants[key] = name
        return self._constants[key]

    def ints(self, values, name="ints"):
        return self.const(np.asarray(values, np.int64).reshape(-1), name, np.int64)

    def scalar(self, value):
        return self.const(np.asarray(value, self.dtype), "scalar")

    def op(self, op_type, inputs, outputs=1, **attributes):
        names = outputs if isinstance(outputs, list) else [self.name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, name=self.name(f"{op_type}_node"),
                                                **attributes))
        return names[0] if len(names) == 1 else names

    # -- layouts
    def transpose(self, x, perm):
        perm = tuple(int(p) for p in perm)
        if perm == tuple(range(len(perm))):
            return x
        if x in self._transposed:  # x = T(source, p1): T(x, perm) = T(source, p1[perm])
            source, first = self._transposed[x]
            return self.transpose(source, [first[p] for p in perm])
        if (x, perm) not in self._transposes:
            y = self.op("Transpose", [x], perm=list(perm))
            self._transposed[y], self._transposes[x, perm] = (x, perm), y
        return self._transposes[x, perm]

    def source(self, x):
        """(source, perm) when x is a transpose of source, else None."""
        return self._transposed.get(x)

    def elementwise(self, x, fn):
        """fn applied to x, on x's untransposed source when it has one (the transpose moves after fn)."""
        found = self.source(x)
        if found is None:
            return fn(x)
        return self.transpose(fn(found[0]), found[1])

    # -- helpers for opset-dependent operators
    def reduce(self, op_type, x, axes, keepdims):
        if self.opset >= 18 or op_type == "ReduceSum":  # ReduceSum takes its axes as an input since opset 13
            return self.op(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.op(op_type, [x], axes=list(axes), keepdims=int(keepdims))

    def squeeze(self, x, axes):
        return self.op("Squeeze", [x, self.ints(axes)])

    def unsqueeze(self, x, axes):
        return self.op("Unsqueeze", [x, self.ints(axes)])

    def slice(self, x, starts, ends, axes, steps=None):
        inputs = [x, self.ints(starts), self.ints(ends), self.ints(axes)]
        return self.op("Slice", inputs + ([self.ints(steps)] if steps is not None else []))

    def reverse(self, x, axis):
        return self.slice(x, [-1], [np.iinfo(np.int64).min], [axis], [-1])

    def prune(self, outputs):
        """Drop the nodes (and initializers) no output depends on: transposes that cancelled, say."""
        needed, kept = set(outputs), []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(i for i in node.input if i)
        self.nodes = kept[::-1]
        self.initializers = [t for t in self.initializers if t.name in needed]


# ---- walking a model --------------------------------------------------------------------------------
def _export_model(g, model, input_names):
    """The model's graph added to g, its inputs being the values `input_names`: its flat output values."""
    from .layers import InputLayer
    from .models.functional import Functional, _nodes_between
    from .models.sequential import Sequential
    from .symbolic import SymbolicTensor

    if not isinstance(model, (Sequential, Functional)):
        raise OnnxExportError(f"model {model.name!r} ({type(model).__name__}) inside the model is a subclassed "
                              f"model (Python code, not a graph of layers): it has no ONNX form")
    inputs, outputs = _model_ends(model)
    if len(input_names) != len(inputs):
        raise OnnxExportError(f"model {model.name!r} takes {len(inputs)} inputs, got {len(input_names)}")
    values = {id(t): name for t, name in zip(inputs, input_names)}
    for node in _nodes_between(inputs, outputs):
        layer = node.layer
        if isinstance(layer, InputLayer):
            continue
        if node.kwargs.get("training"):
            raise _refuse(layer, "it is called with training=True, which an inference graph cannot reproduce")
        names = tree.map_structure(lambda s: values[id(s)] if isinstance(s, SymbolicTensor) else s, node.inputs)
        shapes = tree.map_structure(lambda s: s.shape if isinstance(s, SymbolicTensor) else None, node.inputs)
        out_shapes = tree.map_structure(lambda s: s.shape, node.outputs)
        extra = [k for k, v in node.kwargs.items() if k != "training" and v is not None]
        if extra:
            raise _refuse(layer, f"it is called with {', '.join(extra)}=..., which the export does not handle")
        if node.positional:
            args, shapes_args = list(names), list(shapes)
        else:
            args, shapes_args = [names], [shapes]
        outs = export_layer(g, layer, args, shapes_args, out_shapes)
        flat = tree.flatten(outs)
        node_outputs = tree.flatten(node.outputs)
        if len(flat) != len(node_outputs):
            raise OnnxExportError(f"internal: layer {layer.name!r} exported {len(flat)} outputs for "
                                  f"{len(node_outputs)}")
        values.update(zip(map(id, node_outputs), flat))
    return [values[id(t)] for t in outputs]


def export_layer(g, layer, args, shapes, out_shapes):
    """One layer call: `args` the values of call()'s positional tensor arguments (the first one a name or
    a list of names), `shapes` their shapes; returns the output value(s), structured as the outputs."""
    from .models.model import Model

    previous, g.scope = g.scope, _clean(layer.name)
    try:
        if isinstance(layer, Model):
            return _nested_model(g, layer, args, shapes, out_shapes)
        exporter = _exporter_for(layer)
        if len(args) > 1 and exporter not in _TAKES_EXTRA_ARGUMENTS:
            raise _refuse(layer, "it is called with more than one positional tensor argument")
        return exporter(g, layer, args, shapes, out_shapes)
    finally:
        g.scope = previous


def _nested_model(g, model, args, shapes, out_shapes):
    flat = _export_model(g, model, tree.flatten(args))
    return tree.pack_like(out_shapes, flat, is_leaf=_is_shape) if not _is_shape(out_shapes) else flat[0]


def _is_shape(value):
    return isinstance(value, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


def _exporter_for(layer):
    """The exporter registered for the layer's class, or for the nearest base class when the layer's class
    only renames it (same call()); else an OnnxExportError."""
    for cls in type(layer).__mro__:
        if cls in _EXPORTERS:
            if cls is type(layer) or all(getattr(type(layer), m, None) is getattr(cls, m, None)
                                         for m in ("call", "call_without_activation")):
                return _EXPORTERS[cls]
            break
    reason = _REFUSALS.get(type(layer).__name__, "no ONNX form is defined for this layer class")
    raise _refuse(layer, reason)


def _refuse(layer, why):
    return OnnxExportError(f"layer {layer.name!r} ({type(layer).__name__}) cannot be exported to ONNX: {why}")


def _weight(tensor):
    return np.asarray(tensor.numpy())


# ---- activations ------------------------------------------------------------------------------------
def _gelu(g, x):
    half = g.op("Mul", [x, g.scalar(0.5)])
    erf = g.op("Erf", [g.op("Mul", [x, g.scalar(1 / np.sqrt(2))])])
    return g.op("Mul", [half, g.op("Add", [erf, g.scalar(1.0)])])


def _sparse_plus(g, x):
    middle = g.op("Mul", [g.op("Mul", [g.op("Add", [x, g.scalar(1.0)]), g.op("Add", [x, g.scalar(1.0)])]),
                          g.scalar(0.25)])
    upper = g.op("Where", [g.op("GreaterOrEqual", [x, g.scalar(1.0)]), x, middle])
    return g.op("Where", [g.op("LessOrEqual", [x, g.scalar(-1.0)]), g.scalar(0.0), upper])


_ELEMENTWISE = {
    "linear": lambda g, x: x,
    "identity": lambda g, x: x,
    "relu": lambda g, x: g.op("Relu", [x]),
    "relu6": lambda g, x: g.op("Clip", [x, g.scalar(0.0), g.scalar(6.0)]),
    "sigmoid": lambda g, x: g.op("Sigmoid", [x]),
    "tanh": lambda g, x: g.op("Tanh", [x]),
    "leaky_relu": lambda g, x: g.op("LeakyRelu", [x], alpha=0.2),
    "elu": lambda g, x: g.op("Elu", [x], alpha=1.0),
    "selu": lambda g, x: g.op("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_SCALE),
    "celu": lambda g, x: g.op("Celu", [x], alpha=1.0),
    "softplus": lambda g, x: g.op("Softplus", [x]),
    "softsign": lambda g, x: g.op("Softsign", [x]),
    "exponential": lambda g, x: g.op("Exp", [x]),
    "hard_sigmoid": lambda g, x: g.op("HardSigmoid", [x], alpha=1 / 6, beta=0.5),
    "hard_silu": lambda g, x: g.op("Mul", [x, g.op("HardSigmoid", [x], alpha=1 / 6, beta=0.5)]),
    "hard_tanh": lambda g, x: g.op("Clip", [x, g.scalar(-1.0), g.scalar(1.0)]),
    "gelu": _gelu,
    "silu": lambda g, x: g.op("Mul", [x, g.op("Sigmoid", [x])]),
    "log_sigmoid": lambda g, x: g.op("Neg", [g.op("Softplus", [g.op("Neg", [x])])]),
    "mish": lambda g, x: g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])]),
    "tanh_shrink": lambda g, x: g.op("Sub", [x, g.op("Tanh", [x])]),
    "squareplus": lambda g, x: g.op("Mul", [g.op("Add", [x, g.op("Sqrt", [g.op("Add", [
        g.op("Mul", [x, x]), g.scalar(4.0)])])]), g.scalar(0.5)]),
    "hard_shrink": lambda g, x: g.op("Shrink", [x], lambd=0.5, bias=0.0),
    "soft_shrink": lambda g, x: g.op("Shrink", [x], lambd=0.5, bias=0.5),
    "sparse_sigmoid": lambda g, x: g.op("Clip", [g.op("Mul", [g.op("Add", [x, g.scalar(1.0)]), g.scalar(0.5)]),
                                                 g.scalar(0.0), g.scalar(1.0)]),
    "sparse_plus": _sparse_plus,
    "step": lambda g, x: g.op("Cast", [g.op("Greater", [x, g.scalar(0.0)])],
                              to=g.helper.np_dtype_to_tensor_dtype(g.dtype)),
}
_ALONG_AXIS = {  # activations over the last axis: (g, x, rank) -> value
    "softmax": lambda g, x, shape: g.op("Softmax", [x], axis=-1),
    "log_softmax": lambda g, x, shape: g.op("LogSoftmax", [x], axis=-1),
    "glu": lambda g, x, shape: _glu(g, x, shape),
}


def _glu(g, x, shape):
    attributes = {"num_outputs": 2} if g.opset >= 18 else {}
    a, b = g.op("Split", [x], outputs=2, axis=-1, **attributes)
    return g.op("Mul", [a, g.op("Sigmoid", [b])])


def _activation_name(fn, layer):
    name = activations.name_of(fn)
    aliases = {"swish": "silu", "hard_swish": "hard_silu"}
    name = aliases.get(name, name)
    if name is None:
        raise _refuse(layer, f"its activation {getattr(fn, '__name__', fn)!r} is a custom function, not a "
                             f"registered activation with an ONNX form")
    if name not in _ELEMENTWISE and name not in _ALONG_AXIS:
        raise _refuse(layer, f"the {name!r} activation has no ONNX form here")
    return name


def apply_activation(g, fn, x, layer, shape=None):
    """x through the activation `fn` (a function from activations.get): an element-wise one on x's
    untransposed source when x is a transpose (see _Graph.elementwise); `shape` is x's."""
    name = _activation_name(fn, layer)
    if name in _ELEMENTWISE:
        return g.elementwise(x, lambda v: _ELEMENTWISE[name](g, v))
    return _ALONG_AXIS[name](g, x, shape)


# ---- layer exporters ----------------------------------------------------------------------------------
_EXPORTERS = {}
_TAKES_EXTRA_ARGUMENTS = set()
_REFUSALS = {
    "Lambda": "it runs a Python function, which has no ONNX form",
    "TensorOp": "this indexing has no ONNX form here",
    "Masking": "it makes a mask (steps the next layers skip), and masks are not exported: ONNX's recurrent "
               "operators cannot skip arbitrary steps",
    "MultiHeadAttention": "attention layers are not exported yet",
    "GroupQueryAttention": "attention layers are not exported yet",
    "Attention": "attention layers are not exported yet",
    "AdditiveAttention": "attention layers are not exported yet",
    "TextVectorization": "it maps strings to ids in Python",
    "StringLookup": "it maps strings to ids in Python",
    "IntegerLookup": "its vocabulary lookup is not mapped to ONNX yet",
    "Hashing": "its hashes (FarmHash64, SipHash64) have no ONNX operator",
    "HashedCrossing": "its hash (FarmHash64's fingerprints combined) has no ONNX operator",
    "Resizing": "its interpolation (Keras's, half-pixel centres) is not mapped to ONNX's Resize yet",
}


def exporter(*classes, extra_arguments=False):
    def register(fn):
        for cls in classes:
            _EXPORTERS[cls] = fn
        if extra_arguments:
            _TAKES_EXTRA_ARGUMENTS.add(fn)
        return fn
    return register


def _register_all():
    from . import layers as L

    @exporter(L.Dropout, L.AlphaDropout, L.GaussianDropout, L.GaussianNoise, L.SpatialDropout1D, L.SpatialDropout2D,
              L.SpatialDropout3D, L.ActivityRegularization, L.RandomFlip, L.RandomRotation, L.RandomZoom,
              L.RandomTranslation, L.RandomBrightness, L.RandomContrast, L.RandomGrayscale, L.RandomInvert,
              L.Solarization, L.RandomPosterization, L.RandomColorDegeneration, L.RandomErasing, L.MixUp, L.CutMix,
              L.RandomShear, L.RandomPerspective, L.RandomElasticTransform, L.RandomSharpness, L.RandomSaturation, L.RandomHue, L.RandomColorJitter,
              L.RandomGaussianBlur, L.RandAugment, L.AugMix)
    def identity(g, layer, args, shapes, out):
        return args[0]

    @exporter(L.Dense)
    def dense(g, layer, args, shapes, out):
        x, shape = args[0], shapes[0]
        kernel = g.const(_weight(layer.kernel), "kernel")
        bias = None if layer.bias is None else g.const(_weight(layer.bias), "bias")
        if len(shape) == 2:
            y = g.op("Gemm", [x, kernel] + ([bias] if bias else []))
        else:
            y = g.op("MatMul", [x, kernel])
            y = g.op("Add", [y, bias]) if bias else y
        return apply_activation(g, layer.activation, y, layer, out)

    @exporter(L.Activation, L.Sigmoid, L.Tanh)
    def activation(g, layer, args, shapes, out):
        return apply_activation(g, layer.activation, args[0], layer, shapes[0])

    @exporter(L.ReLU)
    def relu(g, layer, args, shapes, out):
        x = args[0]
        slope, cap, threshold = layer.negative_slope, layer.max_value, layer.threshold
        if not slope and not threshold:
            if cap is None:
                return g.elementwise(x, lambda v: g.op("Relu", [v]))
            return g.elementwise(x, lambda v: g.op("Clip", [v, g.scalar(0.0), g.scalar(cap)]))

        def general(v):  # as functional.ReLUOptions computes it
            t, zero = g.scalar(threshold), g.scalar(0.0)
            y = g.op("Where", [g.op("Or", [g.op("Greater", [v, t]), g.op("IsNaN", [v])]), v, zero])
            if cap is not None:
                y = g.op("Clip", [y, zero, g.scalar(cap)])
            if slope:
                low = g.op("Mul", [g.scalar(slope), g.op("Sub", [v, t])])
                y = g.op("Add", [y, g.op("Where", [g.op("Less", [v, t]), low, zero])])
            return y
        return g.elementwise(x, general)

    @exporter(L.LeakyReLU)
    def leaky_relu(g, layer, args, shapes, out):
        return g.elementwise(args[0], lambda v: g.op("LeakyRelu", [v], alpha=float(layer.alpha)))

    @exporter(L.ELU)
    def elu(g, layer, args, shapes, out):
        return g.elementwise(args[0], lambda v: g.op("Elu", [v], alpha=float(layer.alpha)))

    @exporter(L.PReLU)
    def prelu(g, layer, args, shapes, out):
        return g.op("PRelu", [args[0], g.const(_weight(layer.alpha), "alpha")])

    @exporter(L.Softmax)
    def softmax(g, layer, args, shapes, out):
        if not isinstance(layer.axis, (int, np.integer)):
            raise _refuse(layer, f"softmax over several axes ({layer.axis}) has no ONNX form here")
        return g.op("Softmax", [args[0]], axis=int(layer.axis))

    @exporter(L.Flatten)
    def flatten(g, layer, args, shapes, out):
        x, rank = args[0], len(shapes[0])
        if layer.data_format == "channels_first" and rank > 2:
            x = g.transpose(x, (0, *range(2, rank), 1))
        return g.op("Flatten", [x], axis=1)

    @exporter(L.Reshape)
    def reshape(g, layer, args, shapes, out):
        return g.op("Reshape", [args[0], g.ints((0,) + tuple(layer.target_shape))])

    @exporter(L.Permute)
    def permute(g, layer, args, shapes, out):
        return g.transpose(args[0], (0,) + tuple(layer.dims))

    @exporter(L.RepeatVector)
    def repeat_vector(g, layer, args, shapes, out):
        return g.op("Expand", [g.unsqueeze(args[0], [1]), g.ints([1, layer.n, 1])])

    @exporter(L.Rescaling)
    def rescaling(g, layer, args, shapes, out):
        def scale(v):
            return g.op("Add", [g.op("Mul", [v, g.scalar(float(layer.scale))]), g.scalar(float(layer.offset))])
        return g.elementwise(args[0], scale)

    @exporter(L.Normalization)
    def normalization(g, layer, args, shapes, out):
        mean, variance = _weight(layer.mean), _weight(layer.variance)
        std = np.maximum(np.sqrt(variance), variance.dtype.type(epsilon()))  # its value when exported
        mean, std = g.const(mean, "mean"), g.const(std, "std")
        if layer.invert:
            return g.op("Add", [g.op("Mul", [args[0], std]), mean])
        return g.op("Div", [g.op("Sub", [args[0], mean]), std])

    @exporter(L.BatchNormalization)
    def batch_norm(g, layer, args, shapes, out):
        x, rank = args[0], len(shapes[0])
        n = layer.moving_mean.shape
        gamma = _weight(layer.gamma) if layer.gamma is not None else np.ones(n)
        beta = _weight(layer.beta) if layer.beta is not None else np.zeros(n)
        mean, var = _weight(layer.moving_mean).astype(np.float64), _weight(layer.moving_variance).astype(np.float64)
        scale = gamma / np.sqrt(var + layer.epsilon)
        shift = beta - mean * scale
        axis = layer.axis % rank
        found = g.source(x)
        if found is not None:  # normalize the untransposed source along the matching axis
            x, perm = found
            axis = perm[axis]

        def broadcast(values, name):
            shape = [1] * (rank - 1 - axis)
            return g.const(values.reshape((-1,) + tuple(shape)), name)
        y = g.op("Add", [g.op("Mul", [x, broadcast(scale, "scale")]), broadcast(shift, "shift")])
        return y if found is None else g.transpose(y, found[1])

    @exporter(L.LayerNormalization)
    def layer_norm(g, layer, args, shapes, out):
        first, rank = layer._axes[0], len(shapes[0])
        if layer._axes != tuple(range(first, rank)):  # ONNX normalizes from one axis to the last
            raise _refuse(layer, f"it normalizes axes {layer._axes} of a rank-{rank} input, not trailing ones")
        n = tuple(shapes[0][first:])
        gamma = _weight(layer.gamma) if layer.gamma is not None else np.ones(n)
        beta = _weight(layer.beta) if layer.beta is not None else np.zeros(n)
        return g.op("LayerNormalization", [args[0], g.const(gamma, "gamma"), g.const(beta, "beta")], axis=first,
                    epsilon=float(layer.epsilon))

    @exporter(L.UnitNormalization)
    def unit_norm(g, layer, args, shapes, out):
        axes = [a % len(shapes[0]) for a in ([layer.axis] if isinstance(layer.axis, int) else layer.axis)]
        norm = g.reduce("ReduceL2", args[0], axes, True)
        return g.op("Div", [args[0], g.op("Max", [norm, g.scalar(1e-12)])])

    @exporter(L.RMSNormalization)
    def rms_norm(g, layer, args, shapes, out):
        x = args[0]
        mean_square = g.reduce("ReduceMean", g.op("Mul", [x, x]), list(layer._axes), True)
        root = g.op("Sqrt", [g.op("Add", [mean_square, g.scalar(layer.epsilon)])])
        scale = g.const(_weight(layer.scale).reshape(layer._scale_shape), "scale")
        return g.op("Mul", [g.op("Div", [x, root]), scale])

    @exporter(L.GroupNormalization)
    def group_norm(g, layer, args, shapes, out):
        shape, axis, groups = list(shapes[0]), layer._axis, layer._groups
        before, after = [0 if n is None else n for n in shape[1:axis]], shape[axis + 1:]  # 0: that axis's size
        if after.count(None) > 1:
            raise _refuse(layer, f"more than one size after the channel axis is unknown (input shape {shapes[0]})")
        after = [-1 if n is None else n for n in after]
        grouped = g.op("Reshape", [args[0], g.ints([0] + before + [groups, shape[axis] // groups] + after)])
        over = [a for a in range(1, len(shape) + 1) if a != axis]  # all but the batch and the group
        centered = g.op("Sub", [grouped, g.reduce("ReduceMean", grouped, over, True)])
        variance = g.reduce("ReduceMean", g.op("Mul", [centered, centered]), over, True)
        normalized = g.op("Div", [centered, g.op("Sqrt", [g.op("Add", [variance, g.scalar(layer.epsilon)])])])
        y = g.op("Reshape", [normalized, g.op("Shape", [args[0]])])
        per_channel = [shape[axis] if a == axis else 1 for a in range(1, len(shape))]
        if layer.gamma is not None:
            y = g.op("Mul", [y, g.const(_weight(layer.gamma).reshape(per_channel), "gamma")])
        if layer.beta is not None:
            y = g.op("Add", [y, g.const(_weight(layer.beta).reshape(per_channel), "beta")])
        return y

    @exporter(L.Embedding)
    def embedding(g, layer, args, shapes, out):
        if layer.mask_zero:
            raise _refuse(layer, "mask_zero=True makes a mask (padded steps the next layers skip), and masks are "
                                 "not exported: ONNX's recurrent operators cannot skip arbitrary steps")
        ids = g.op("Cast", [args[0]], to=g.onnx.TensorProto.INT64)
        return g.op("Gather", [g.const(_weight(layer.embeddings), "embeddings"), ids], axis=0)

    # -- merges
    def _merge(combine):
        def export(g, layer, args, shapes, out):
            names = list(args[0])
            found = [g.source(n) for n in names]
            if all(found) and all(f[1] == found[0][1] for f in found):  # all transposed alike: merge the sources
                return g.transpose(combine(g, layer, [f[0] for f in found], found[0][1]), found[0][1])
            return combine(g, layer, names, None)
        return export

    def _chain(op_type):
        def combine(g, layer, names, perm):
            y = names[0]
            for n in names[1:]:
                y = g.op(op_type, [y, n])
            return y
        return combine

    exporter(L.Add)(_merge(_chain("Add")))
    exporter(L.Subtract)(_merge(_chain("Sub")))
    exporter(L.Multiply)(_merge(_chain("Mul")))
    exporter(L.Maximum)(_merge(_chain("Max")))
    exporter(L.Minimum)(_merge(_chain("Min")))
    exporter(L.Average)(_merge(lambda g, layer, names, perm: g.op(
        "Div", [_chain("Add")(g, layer, names, perm), g.scalar(len(names))])))

    def concat(g, layer, names, perm):
        rank = len(perm) if perm else None
        axis = layer.axis if perm is None else perm[layer.axis % rank]
        return g.op("Concat", names, axis=int(axis))
    exporter(L.Concatenate)(_merge(concat))

    @exporter(L.Dot)
    def dot(g, layer, args, shapes, out):
        (a, b), (sa, sb) = args[0], shapes[0]
        i, j = layer._axes(len(sa), len(sb))

        def normalize(v, axis):
            total = g.reduce("ReduceSum", g.op("Mul", [v, v]), [axis], True)
            return g.op("Div", [v, g.op("Sqrt", [g.op("Max", [total, g.scalar(1e-12)])])])
        if layer.normalize:
            a, b = normalize(a, i), normalize(b, j)
        if len(sa) == 2:
            return g.reduce("ReduceSum", g.op("Mul", [a, b]), [1], True)
        a = a if i == 2 else g.transpose(a, (0, 2, 1))
        b = b if j == 1 else g.transpose(b, (0, 2, 1))
        return g.op("MatMul", [a, b])

    # -- padding, cropping, upsampling
    @exporter(L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D)
    def zero_padding(g, layer, args, shapes, out):
        rank = len(shapes[0])
        before, after = [0] * rank, [0] * rank
        for axis, (b, a) in zip(_spatial(layer.data_format, layer.rank), layer.padding):
            before[axis], after[axis] = b, a
        return g.op("Pad", [args[0], g.ints(before + after), g.scalar(0.0)], mode="constant")

    @exporter(L.Cropping1D, L.Cropping2D, L.Cropping3D)
    def cropping(g, layer, args, shapes, out):
        axes = _spatial(layer.data_format, layer.rank)
        starts = [b for b, _ in layer.cropping]
        ends = [shapes[0][axis] - a if shapes[0][axis] is not None else (-a if a else np.iinfo(np.int64).max)
                for axis, (_, a) in zip(axes, layer.cropping)]
        return g.slice(args[0], starts, ends, list(axes))

    @exporter(L.CenterCrop)
    def center_crop(g, layer, args, shapes, out):
        shape = shapes[0]
        if len(shape) != 4 or any(d is None for d in shape[1:]):
            raise _refuse(layer, "it needs a batch of images of known height and width")
        h_axis = 2 if layer.data_format == "channels_first" else 1
        h, w = shape[h_axis], shape[h_axis + 1]
        top, left = (h - layer.height) // 2, (w - layer.width) // 2
        return g.slice(args[0], [top, left], [top + layer.height, left + layer.width], [h_axis, h_axis + 1])

    def _repeat(g, x, shape, axis, times):
        """Each entry along `axis` repeated `times` times (nearest-neighbour upsampling)."""
        if any(d is None for d in shape[1:]):
            raise OnnxExportError("upsampling needs inputs of known size (batch aside)")
        expanded = list(shape[:axis + 1]) + [times] + list(shape[axis + 1:])
        y = g.op("Expand", [g.unsqueeze(x, [axis + 1]), g.ints([1] + expanded[1:])])
        merged = list(shape)
        merged[axis] *= times
        return g.op("Reshape", [y, g.ints([-1] + merged[1:])]), tuple(merged)

    @exporter(L.UpSampling1D)
    def upsampling1d(g, layer, args, shapes, out):
        return _repeat(g, args[0], shapes[0], 1, layer.size)[0]

    @exporter(L.UpSampling2D, L.UpSampling3D)
    def upsampling(g, layer, args, shapes, out):
        x, shape = args[0], shapes[0]
        for axis, times in zip(_spatial(layer.data_format, layer.rank), layer.size):
            x, shape = _repeat(g, x, shape, axis, times)
        return x

    # -- convolutions and pooling
    @exporter(L.Conv1D, L.Conv2D, L.Conv3D, L.DepthwiseConv1D, L.DepthwiseConv2D)
    def convolution(g, layer, args, shapes, out):
        return _convolution(g, layer, args[0], shapes[0], out)

    @exporter(L.SeparableConv1D, L.SeparableConv2D)
    def separable(g, layer, args, shapes, out):
        middle = list(shapes[0])
        axis = _channel_axis(layer.data_format, len(middle))
        middle[axis] = middle[axis] * layer.depth_multiplier
        previous = g.scope
        g.scope = f"{previous}/depthwise"
        y = _convolution(g, layer.depthwise, args[0], shapes[0], None)
        g.scope = f"{previous}/pointwise"
        y = _convolution(g, layer.pointwise, y, None, out)
        g.scope = previous
        return apply_activation(g, layer.activation, y, layer, out)

    @exporter(L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)
    def conv_transpose(g, layer, args, shapes, out):
        return _conv_transpose(g, layer, args[0], shapes[0], out)

    @exporter(L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D, L.AveragePooling1D, L.AveragePooling2D,
              L.AveragePooling3D)
    def pooling(g, layer, args, shapes, out):
        x, shape = args[0], shapes[0]
        rank, first = layer.rank, layer.data_format == "channels_first"
        sizes = _spatial_sizes(shape, rank, first)
        pads = _pads(sizes, layer.pool_size, layer.strides, (1,) * rank, layer.padding)
        attributes = dict(kernel_shape=list(layer.pool_size), strides=list(layer.strides), **pads)
        is_max = isinstance(layer, (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D))
        if not is_max:
            attributes["count_include_pad"] = 0
        to_first, to_last = _layout_perms(rank)
        xc = x if first else g.transpose(x, to_first)
        y = g.op("MaxPool" if is_max else "AveragePool", [xc], **attributes)
        return y if first else g.transpose(y, to_last)

    @exporter(L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D, L.GlobalMaxPooling1D,
              L.GlobalMaxPooling2D, L.GlobalMaxPooling3D)
    def global_pooling(g, layer, args, shapes, out):
        op_type = "ReduceMean" if layer.reduce == "mean" else "ReduceMax"
        x, axes, rank = args[0], list(layer.axes), len(shapes[0])
        found = g.source(x)
        if found is not None:  # reduce the untransposed source when the axes left keep their order
            source, perm = found
            kept = [perm[a] for a in range(rank) if a not in axes]
            if layer.keepdims or kept == sorted(kept):
                y = g.reduce(op_type, source, [perm[a] for a in axes], layer.keepdims)
                return g.transpose(y, perm) if layer.keepdims else y
        return g.reduce(op_type, x, axes, layer.keepdims)

    # -- recurrent layers
    @exporter(L.SimpleRNN, L.LSTM, L.GRU, extra_arguments=True)
    def recurrent(g, layer, args, shapes, out):
        initial = args[1] if len(args) > 1 else None
        if len(args) > 2:
            raise _refuse(layer, "masks are not exported")
        return _recurrent(g, layer, args[0], initial)

    @exporter(L.Bidirectional, extra_arguments=True)
    def bidirectional(g, layer, args, shapes, out):
        if len(args) > 2:
            raise _refuse(layer, "masks are not exported")
        if not isinstance(layer.forward_layer, (L.SimpleRNN, L.LSTM, L.GRU)):
            raise _refuse(layer, "only a SimpleRNN, LSTM or GRU inside is exported, not an RNN(cell)")
        initial = args[1] if len(args) > 1 else None
        if initial is not None and not isinstance(initial, (list, tuple)):
            initial = [initial]
        half = None if initial is None else len(initial) // 2
        previous = g.scope
        g.scope = f"{previous}/forward"
        forward = _recurrent(g, layer.forward_layer, args[0], None if half is None else initial[:half])
        g.scope = f"{previous}/backward"
        backward = _recurrent(g, layer.backward_layer, args[0], None if half is None else initial[half:])
        g.scope = previous
        states = []
        if layer.return_state:
            forward, *forward_states = forward
            backward, *backward_states = backward
            states = forward_states + backward_states
        if layer.return_sequences:
            backward = g.reverse(backward, 1)
        mode = layer.merge_mode
        if mode == "concat":
            merged = g.op("Concat", [forward, backward], axis=-1)
        elif mode == "sum":
            merged = g.op("Add", [forward, backward])
        elif mode == "mul":
            merged = g.op("Mul", [forward, backward])
        elif mode == "ave":
            merged = g.op("Mul", [g.op("Add", [forward, backward]), g.scalar(0.5)])
        else:
            merged = [forward, backward]
        if not states:
            return merged
        return (merged if mode is None else [merged]) + states

    @exporter(L.TimeDistributed)
    def time_distributed(g, layer, args, shapes, out):
        x, shape = args[0], shapes[0]
        if any(d is None for d in shape[2:]) or any(d is None for d in out[2:]):
            raise _refuse(layer, "it needs inputs and outputs of known size beyond the batch and step axes")
        folded = g.op("Reshape", [x, g.ints([-1] + list(shape[2:]))])
        inner_in, inner_out = (None,) + tuple(shape[2:]), (None,) + tuple(out[2:])
        y = export_layer(g, layer.layer, [folded], [inner_in], inner_out)
        leading = g.slice(g.op("Shape", [x]), [0], [2], [0])
        target = g.op("Concat", [leading, g.ints(list(out[2:]))], axis=0)
        return g.op("Reshape", [y, target])

    @exporter(L.TensorOp)
    def tensor_op(g, layer, args, shapes, out):
        x, op = args[0], layer.op
        if op == "neg":
            return g.op("Neg", [x])
        if op == "getitem":
            return _getitem(g, layer, x, shapes[0])
        value = g.const(np.asarray(layer.value, g.dtype), "value")
        binary = {"add": ("Add", False), "radd": ("Add", True), "sub": ("Sub", False), "rsub": ("Sub", True),
                  "mul": ("Mul", False), "rmul": ("Mul", True), "truediv": ("Div", False),
                  "rtruediv": ("Div", True), "pow": ("Pow", False)}
        op_type, swapped = binary[op]
        return g.op(op_type, [value, x] if swapped else [x, value])



def _getitem(g, layer, x, shape):
    index = layer.value if isinstance(layer.value, tuple) else (layer.value,)
    if sum(p is Ellipsis for p in index) > 1:
        raise _refuse(layer, "an index with several ellipses")
    real = [p for p in index if p is not None and p is not Ellipsis]
    if Ellipsis in index:
        at = index.index(Ellipsis)
        fill = (slice(None),) * (len(shape) - len(real))
        index = index[:at] + fill + index[at + 1:]
    starts, ends, axes, steps, drop, new = [], [], [], [], [], []
    axis, out_axis = 0, 0
    for part in index:
        if part is None:
            new.append(out_axis)
            out_axis += 1
            continue
        if axis >= len(shape):
            raise _refuse(layer, f"the index {layer.value!r} has more axes than the input's {len(shape)}")
        if isinstance(part, slice):
            if part != slice(None):
                step = 1 if part.step is None else part.step
                big = np.iinfo(np.int64).max
                start = part.start if part.start is not None else (0 if step > 0 else -1)
                stop = part.stop if part.stop is not None else (big if step > 0 else -big)
                starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
            out_axis += 1
        elif isinstance(part, (int, np.integer)):
            if axis == 0:
                raise _refuse(layer, "indexing the batch axis with an integer")
            starts.append(int(part)), ends.append(int(part) + 1 if part != -1 else np.iinfo(np.int64).max)
            axes.append(axis), steps.append(1), drop.append(axis)
        else:
            raise _refuse(layer, f"the index {layer.value!r} (only ints, slices, None and ... are exported)")
        axis += 1
    if starts:
        x = g.slice(x, starts, ends, axes, steps)
    if drop:
        x = g.squeeze(x, drop)
    if new:
        x = g.unsqueeze(x, new)
    return x


# ---- convolution helpers ------------------------------------------------------------------------------
def _spatial(data_format, rank):
    return tuple(range(2, 2 + rank)) if data_format == "channels_first" else tuple(range(1, 1 + rank))


def _channel_axis(data_format, ndim):
    return 1 if data_format == "channels_first" else ndim - 1


def _spatial_sizes(shape, rank, first):
    if shape is None:
        return (None,) * rank
    return tuple(shape[2:2 + rank]) if first else tuple(shape[1:1 + rank])


def _layout_perms(rank):
    """(to channels first, back to channels last) for a batch of rank-`rank` images or sequences."""
    return (0, rank + 1) + tuple(range(1, rank + 1)), (0,) + tuple(range(2, rank + 2)) + (1,)


def _pads(sizes, kernel, strides, dilations, padding):
    """ONNX's pads (all begins, then all ends) for Keras's padding; auto_pad for 'same' over unknown sizes."""
    before, after = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilations):
        effective = (k - 1) * d + 1
        if padding == "valid":
            total, first = 0, 0
        elif padding == "causal":
            total, first = effective - 1, effective - 1
        elif n is None:
            return {"auto_pad": "SAME_UPPER"}
        else:
            out = -(-n // s)
            total = max((out - 1) * s + effective - n, 0)
            first = total // 2
        before.append(first)
        after.append(total - first)
    return {"pads": before + after}


def _convolution(g, layer, x, shape, out):
    from .layers.convolutional import _DepthwiseConv

    rank, first = layer.rank, layer.data_format == "channels_first"
    if isinstance(layer, _DepthwiseConv):
        depthwise = _weight(layer.depthwise_kernel)
        *size, channels, multiplier = depthwise.shape
        kernel = depthwise.reshape(tuple(size) + (1, channels * multiplier))
        groups = channels
    else:
        kernel, groups = _weight(layer.kernel), layer.groups
    weights = g.const(kernel.transpose((rank + 1, rank) + tuple(range(rank))), "kernel")
    inputs = [None, weights] + ([g.const(_weight(layer.bias), "bias")] if layer.bias is not None else [])
    sizes = _spatial_sizes(shape, rank, first)
    pads = _pads(sizes, layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding)
    to_first, to_last = _layout_perms(rank)
    inputs[0] = x if first else g.transpose(x, to_first)
    y = g.op("Conv", inputs, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
             dilations=list(layer.dilation_rate), group=int(groups), **pads)
    y = y if first else g.transpose(y, to_last)
    activation = getattr(layer, "activation", None)
    return y if activation is None else apply_activation(g, activation, y, layer, out)


def _conv_transpose(g, layer, x, shape, out):
    from .layers.convolutional import _transposed_pads

    rank, first = layer.rank, layer.data_format == "channels_first"
    if layer.groups != 1:
        raise _refuse(layer, "groups > 1 in a transposed convolution")
    kernel = _weight(layer.kernel)  # (*kernel_size, filters, in_channels)
    weights = g.const(kernel.transpose((rank + 1, rank) + tuple(range(rank))), "kernel")
    inputs = [None, weights] + ([g.const(_weight(layer.bias), "bias")] if layer.bias is not None else [])
    before, after, extra = [], [], []
    for i, (k, s, d) in enumerate(zip(layer.kernel_size, layer.strides, layer.dilation_rate)):
        effective = (k - 1) * d + 1
        given = None if layer.output_padding is None else layer.output_padding[i]
        left, right = _transposed_pads(layer.padding, given, s, effective)  # the layer's zeros around its input
        before.append(effective - 1 - left)  # ONNX crops the full output instead, and pads its end
        after.append(max(effective - 1 - right, 0))
        extra.append(max(right - (effective - 1), 0))
    to_first, to_last = _layout_perms(rank)
    inputs[0] = x if first else g.transpose(x, to_first)
    y = g.op("ConvTranspose", inputs, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
             dilations=list(layer.dilation_rate), pads=before + after, output_padding=extra)
    y = y if first else g.transpose(y, to_last)
    return apply_activation(g, layer.activation, y, layer, out)


# ---- recurrent layers ---------------------------------------------------------------------------------
_RNN_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "elu": "Elu", "softsign": "Softsign",
                    "linear": "Affine", "identity": "Affine", None: "Affine"}


def _recurrent(g, layer, x, initial):
    """An ONNX LSTM/GRU/RNN node for a Keras recurrent layer on x (batch, steps, features): its outputs as
    the layer returns them (the output, then the final states with return_state)."""
    from .layers import GRU, LSTM

    kind = "LSTM" if isinstance(layer, LSTM) else "GRU" if isinstance(layer, GRU) else "RNN"
    units, blocks = layer.units, layer.blocks
    order = [0, 3, 1, 2] if kind == "LSTM" else list(range(blocks))  # Keras i,f,c,o -> ONNX i,o,f,c

    def reorder(a):
        parts = np.split(a, blocks, axis=-1)
        return np.concatenate([parts[i] for i in order], axis=-1)

    kernel, recurrent = _weight(layer.kernel), _weight(layer.recurrent_kernel)
    W = reorder(kernel).T[None]
    R = reorder(recurrent).T[None]
    attributes = {}
    if layer.bias is None:
        B = np.zeros((1, 2 * blocks * units), kernel.dtype)
    elif kind == "GRU" and layer.reset_after:
        bias = _weight(layer.bias)
        B = np.concatenate([bias[0], bias[1]])[None]
    else:
        B = np.concatenate([reorder(_weight(layer.bias)), np.zeros(blocks * units, kernel.dtype)])[None]
    if kind == "GRU":
        attributes["linear_before_reset"] = int(layer.reset_after)
    names = [activations.name_of(layer.activation)]
    if kind != "RNN":
        names = [activations.name_of(layer.recurrent_activation)] + names * (2 if kind == "LSTM" else 1)
    acts = []
    for name in names:
        if name not in _RNN_ACTIVATIONS:
            raise _refuse(layer, f"the activation {name!r} has no form in ONNX's {kind} operator")
        acts.append(_RNN_ACTIVATIONS[name])
    attributes["activations"] = acts
    if {"Elu", "Affine"} & set(acts):
        # Elu(alpha=1) and Affine(alpha=1, beta=0): one alpha and one beta per activation, all alike, so that
        # runtimes reading them by position and runtimes reading one per activation that takes one agree
        attributes["activation_alpha"] = [1.0] * len(acts)
        attributes["activation_beta"] = [0.0] * len(acts)
    states = [] if initial is None else list(initial) if isinstance(initial, (list, tuple)) else [initial]
    inputs = [g.transpose(x, (1, 0, 2)), g.const(W, "W"), g.const(R, "R"), g.const(B, "B"), ""]
    inputs += [g.unsqueeze(s, [0]) for s in states]
    count = 3 if kind == "LSTM" else 2
    outputs = g.op(kind, inputs, outputs=count, hidden_size=units,
                   direction="reverse" if layer.go_backwards else "forward", **attributes)
    Y, finals = outputs[0], outputs[1:]
    state_values = [g.squeeze(s, [0]) for s in finals]
    if layer.return_sequences:
        Y = g.reverse(Y, 0) if layer.go_backwards else Y  # Keras gives them in the order they were computed
        output = g.transpose(g.squeeze(Y, [1]), (1, 0, 2))
    else:
        output = state_values[0]
    return [output] + state_values if layer.return_state else output


_register_all()
