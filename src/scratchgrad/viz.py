"""Draw the computational graph behind a tensor, and a model's layers, as Graphviz DOT text.

The DOT text needs nothing installed: print it, or paste it into any Graphviz viewer. `render` turns it
into an SVG/PNG/PDF file when the `graphviz` Python package and Graphviz's `dot` program are present.
"""
import shutil
from pathlib import Path

import numpy as np

from . import autograd
from .backend import to_numpy
from .files import atomic_write

PARAMETER_COLOR = "lightblue"
FORMATS = ("svg", "png", "pdf")


def _quote(text):
    """A DOT string literal; "\\n" in it is DOT's own line break."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _inputs(t):
    f = t.creator
    return () if f is None or f.inputs is None else f.inputs


def _graph_order(root):
    """Every tensor reachable from `root` through recorded ops, inputs before outputs, each once.

    Unlike backprop's topological order this keeps the inputs that need no gradient (constants), so
    the drawing shows every operand. The order (hence every node id) depends only on the graph.
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        t, finished = stack.pop()
        if finished:
            order.append(t)
        elif id(t) not in seen:
            seen.add(id(t))
            stack.append((t, True))
            stack.extend((x, False) for x in reversed(_inputs(t)))
    return order


def _tensor_label(t):
    details = f"{tuple(t.shape)} {t.dtype}"
    return f"{t.name}\n{details}" if t.name else details


def _value_text(a):
    """A value for an edge label: a number as 4 significant digits (220, 1.1), up to 4 numbers as a list,
    anything larger as its shape."""
    a = np.asarray(to_numpy(a))
    if a.size == 1:
        return f"{float(a.reshape(())):.4g}"
    if a.ndim == 1 and a.size <= 4:
        return "[" + ", ".join(f"{float(v):.3g}" for v in a) + "]"
    return f"shape {tuple(a.shape)}"


def _gradients(root, order):
    """d root / d t for every tensor t of the graph that needs one, {id: array}; nothing is changed (no
    .grad is written, the graph is kept), as GradientTape does."""
    if not root.requires_grad:
        return {}
    if any(t.creator is not None and t.creator.inputs is None for t in order):
        raise ValueError("grads=True needs the whole graph, and backward() has freed it: draw before "
                         "backward(), or call backward(retain_graph=True)")
    seed = np.ones_like(to_numpy(root.data))
    return autograd.backward(root, seed, retain_graph=True, capture={id(t) for t in order})


def to_dot(tensor, values=False, grads=False):
    """DOT text of the graph that produced `tensor`: ellipses for tensors (name, shape, dtype), boxes
    for ops (the Function's class), edges from inputs to op to output. Parameters (leaves with
    requires_grad) are filled.

    `values=True` draws it as the textbook does: each edge is labelled with the value it carries
    forward, and a tensor an op makes without a name is not drawn as a node: its edge runs straight
    from op to op. `grads=True` adds, under each forward edge, a red edge pointing back labelled with
    the gradient d tensor / d t of the value t it carries (the tensor must be a scalar, or the
    gradient of its sum is drawn). The gradients are computed here without touching any `.grad`.
    For the textbook's apples: 100 and 2 into ×, 200 out, × 1.1 makes 220; back come 1, 1.1, and 2.2
    for the apple, 110 for the count, 200 for the tax.

    Call it BEFORE backward(): backward frees the graph as it goes (each Function drops its inputs),
    so afterwards only the last op is left to draw, marked as freed. Use backward(retain_graph=True)
    to keep the graph for drawing.
    """
    order = _graph_order(tensor)
    gradient = _gradients(tensor, order) if grads else {}
    lines = ["digraph computation {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    if values or grads:
        lines.append('  edge [fontname="Helvetica", fontsize=10];')
    collapsed = {id(t) for t in order if (values or grads) and t.creator is not None and not t.name
                 and t is not tensor}
    # where a tensor's value comes from: its own node, or (collapsed) the op that made it
    source = {id(t): (f"op{i}" if id(t) in collapsed else f"t{i}") for i, t in enumerate(order)}
    edges = []

    def edge(src, dst, t):
        if not (values or grads):
            return f"  {src} -> {dst};"
        out = f"  {src} -> {dst}" + (f" [label={_quote(_value_text(t.data))}];" if values else ";")
        if id(t) in gradient:
            out += (f"\n  {src} -> {dst} [label={_quote(_value_text(gradient[id(t)]))}, dir=back, color=red, "
                    "fontcolor=red];")
        return out

    for i, t in enumerate(order):
        if id(t) not in collapsed:
            style = f", style=filled, fillcolor={PARAMETER_COLOR}" if t.creator is None and t.requires_grad else ""
            if values and not t.name:
                label = "" if t.creator is not None else _value_text(t.data)  # an unnamed constant: its value
            elif values:
                label = t.name
            else:
                label = _tensor_label(t)
            shape = "point" if values and not label else "ellipse"
            lines.append(f"  t{i} [shape={shape}, label={_quote(label)}{style}];")
        f = t.creator
        if f is None:
            continue
        freed = f.inputs is None
        label = type(f).__name__ + ("\n(freed by backward)" if freed else "")
        lines.append(f"  op{i} [shape=box, label={_quote(label)}{', style=dashed' if freed else ''}];")
        edges += [edge(source[id(x)], f"op{i}", x) for x in _inputs(t)]
        if id(t) not in collapsed:
            edges.append(edge(f"op{i}", f"t{i}", t))
    return "\n".join(lines + edges + ["}"]) + "\n"


def _graphviz():
    """The graphviz module, or a RuntimeError saying what to install."""
    try:
        import graphviz
    except ImportError:
        graphviz = None
    missing = []
    if graphviz is None:
        missing.append("the graphviz Python package (pip install graphviz, or pip install 'scratchgrad[viz]')")
    if shutil.which("dot") is None:
        missing.append("Graphviz's `dot` program (apt install graphviz, brew install graphviz "
                       "or conda install graphviz)")
    if missing:
        raise RuntimeError("rendering a graph needs " + " and ".join(missing) + ". Without them, to_dot() / "
                           "plot_model() still give the DOT text, which any Graphviz viewer draws.")
    return graphviz


def render(tensor_or_dot, path, values=False, grads=False):
    """Write the graph behind a tensor (or DOT text) to `path`; the suffix picks the format
    (.svg, .png or .pdf). `values` and `grads` label the edges as in `to_dot`. Needs graphviz and
    `dot` (a RuntimeError says how to get them)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"render writes {', '.join(FORMATS)} files, chosen by the suffix; got {path.name!r}")
    dot = tensor_or_dot if isinstance(tensor_or_dot, str) else to_dot(tensor_or_dot, values, grads)
    image = _graphviz().Source(dot).pipe(format=fmt)
    with atomic_write(path) as f:  # complete or absent
        f.write(image)
    return path


def plot_model(model, path=None, to_file=None, show_shapes=True, show_layer_names=True, **options):
    """DOT text of a model's layer graph: one box per layer with its name, type, output shape and
    parameter count (shapes need a built model: "?" until then), an arrow per connection (a functional
    model's branches and merges included). Rendered to `path` (Keras's `to_file`) if given."""
    lines = ["digraph model {", '  node [shape=box, fontname="Helvetica", fontsize=10];']
    boxes, edges = _functional_graph(model) if hasattr(model, "_nodes") else _chain(model)
    for i, (name, kind, shape, params) in enumerate(boxes):
        label = f"{name} ({kind})\noutput: {shape or '?'}" + (f"\nparams: {params:,}" if params is not None else "")
        lines.append(f"  layer{i} [label={_quote(label)}{', shape=ellipse' if kind == 'InputLayer' else ''}];")
    lines += [f"  layer{a} -> layer{b};" for a, b in edges]
    dot = "\n".join(lines + ["}"]) + "\n"
    path = path or to_file
    if path is not None:
        render(dot, path)
    return dot


def _chain(model):
    """A Sequential model: its input (when known) and each layer, one after the other."""
    shape, boxes = model.input_shape, []
    if shape is not None:
        boxes.append(("input", "InputLayer", shape, None))
    for layer in model.layers:
        shape = layer.compute_output_shape(shape) if shape is not None else None
        boxes.append((layer.name, type(layer).__name__, shape, layer.count_params() if layer.built else 0))
    return boxes, [(i, i + 1) for i in range(len(boxes) - 1)]


def _functional_graph(model):
    """A functional model: a box per layer, an arrow from the layer making each input of a call."""
    from . import tree

    layers = model.layers
    index = {id(layer): i for i, layer in enumerate(layers)}
    boxes, edges = [], []
    for layer in layers:
        node = next(n for n in layer._inbound_nodes if n in model._nodes)
        shape = [t.shape for t in tree.flatten(node.outputs)]
        params = None if type(layer).__name__ == "InputLayer" else layer.count_params()
        boxes.append((layer.name, type(layer).__name__, shape[0] if len(shape) == 1 else shape, params))
    for node in model._nodes:
        for t in [t for t in tree.flatten(node.inputs) if hasattr(t, "node")]:
            edge = (index[id(t.node.layer)], index[id(node.layer)])
            if edge not in edges:
                edges.append(edge)
    return boxes, edges
