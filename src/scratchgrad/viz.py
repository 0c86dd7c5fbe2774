"""Draw the computational graph behind a tensor, and a model's layers, as Graphviz DOT text.

The DOT text needs nothing installed: print it, or paste it into any Graphviz viewer. `render` turns it
into an SVG/PNG/PDF file when the `graphviz` Python package and Graphviz's `dot` program are present.
"""
import shutil
from pathlib import Path

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


def to_dot(tensor):
    """DOT text of the graph that produced `tensor`: ellipses for tensors (name, shape, dtype), boxes
    for ops (the Function's class), edges from inputs to op to output. Parameters (leaves with
    requires_grad) are filled.

    Call it BEFORE backward(): backward frees the graph as it goes (each Function drops its inputs),
    so afterwards only the last op is left to draw, marked as freed. Use backward(retain_graph=True)
    to keep the graph for drawing.
    """
    order = _graph_order(tensor)
    index = {id(t): i for i, t in enumerate(order)}
    lines = ["digraph computation {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    edges = []
    for i, t in enumerate(order):
        style = f", style=filled, fillcolor={PARAMETER_COLOR}" if t.creator is None and t.requires_grad else ""
        lines.append(f"  t{i} [shape=ellipse, label={_quote(_tensor_label(t))}{style}];")
        f = t.creator
        if f is None:
            continue
        freed = f.inputs is None
        label = type(f).__name__ + ("\n(freed by backward)" if freed else "")
        lines.append(f"  op{i} [shape=box, label={_quote(label)}{', style=dashed' if freed else ''}];")
        edges += [f"  t{index[id(x)]} -> op{i};" for x in _inputs(t)] + [f"  op{i} -> t{i};"]
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


def render(tensor_or_dot, path):
    """Write the graph behind a tensor (or DOT text) to `path`; the suffix picks the format
    (.svg, .png or .pdf). Needs graphviz and `dot` (a RuntimeError says how to get them)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"render writes {', '.join(FORMATS)} files, chosen by the suffix; got {path.name!r}")
    dot = tensor_or_dot if isinstance(tensor_or_dot, str) else to_dot(tensor_or_dot)
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
