"""Functional models: the graph of layer calls between `keras.Input` tensors and the outputs.

    inputs = keras.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs, outputs)

Each layer call on symbolic tensors recorded a Node; the model keeps the Nodes between its inputs and
outputs in an order where every Node comes after those it depends on, and `call` runs them in that order.
"""
from .. import ops, tree
from ..backend import dtype_name, float_dtype
from ..layers import InputLayer, Layer, deserialize, serialize
from ..symbolic import SymbolicTensor
from ..tensor import Tensor
from .model import Model, _count, _trains, fit_rank, keep_dtype, show_shape


class Functional(Model):
    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        Model._init_training_state(self)
        for t in tree.flatten(inputs) + tree.flatten(outputs):
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"Model(inputs, outputs) takes keras.Input tensors and layer outputs, got "
                                f"{type(t).__name__}")
        if not all(isinstance(t.node.layer, InputLayer) for t in tree.flatten(inputs)):
            inputs, outputs = _from_layer_outputs(inputs, outputs)
        self._inputs, self._outputs = inputs, outputs
        self._flat_inputs, self._flat_outputs = tree.flatten(inputs), tree.flatten(outputs)
        self._nodes = _nodes_between(self._flat_inputs, self._flat_outputs)
        self._graph_layers = _layers_in_keras_order(self._flat_inputs, self._flat_outputs)
        self.dtype = next((t.dtype for t in self._flat_inputs if t.dtype.kind == "f"), float_dtype())
        self.input_dtypes = [t.dtype for t in self._flat_inputs]
        self._input_shape = tree.map_structure(lambda t: t.shape, inputs)
        self._output_shape = tree.map_structure(lambda t: t.shape, outputs)
        self.built = True

    # ---- structure ---------------------------------------------------------------------------
    def _sublayers(self):
        return list(self._graph_layers)

    inputs = property(lambda self: self._flat_inputs)
    outputs = property(lambda self: self._flat_outputs)
    input = property(lambda self: self._inputs)
    output = property(lambda self: self._outputs)

    @property
    def input_names(self):
        return [t.node.layer.name for t in self._flat_inputs]

    @property
    def output_names(self):
        """The outputs' names: the dict's keys when the outputs are a dict, else the layers' names."""
        if isinstance(self._outputs, dict):
            return sorted(self._outputs)
        return [t.node.layer.name for t in self._flat_outputs]

    @property
    def output_layer(self):
        """The layer making the single output, when it is called once (a loss may fuse its activation)."""
        if len(self._flat_outputs) != 1:
            return None
        layer = self._flat_outputs[0].node.layer
        return layer if len(layer._inbound_nodes) == 1 and not isinstance(layer, InputLayer) else None

    def build(self, input_shape):
        pass  # built from its inputs' shapes when made

    # ---- calling -----------------------------------------------------------------------------
    def call(self, inputs, training=None):
        return self._run(inputs, training, logits=False)

    def call_logits(self, inputs, training=None):
        """The graph with the output layer stopped before its activation (see Trainer)."""
        return self._run(inputs, training, logits=True)

    def _run(self, inputs, training, logits):
        values = dict(zip(map(id, self._flat_inputs), self._match_inputs(inputs)))
        last = self._nodes[-1]
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            args = tree.map_structure(lambda s: values[id(s)] if isinstance(s, SymbolicTensor) else s, node.inputs)
            kwargs = {"training": training, **node.kwargs}
            if logits and node is last:
                out = node.layer.call_without_activation(args, kwargs["training"])
            elif node.positional:
                out = node.layer(*args, **kwargs)
            else:
                out = node.layer(args, **kwargs)
            values.update(zip(map(id, tree.flatten(node.outputs)), tree.flatten(out)))
        return tree.map_structure(lambda s: values[id(s)], self._outputs)

    def _match_inputs(self, inputs):
        """The given inputs in the order of the model's inputs (a dict may name them by input layer), each one
        axis short of a last size of 1, or one over, reshaped as Keras does."""
        if isinstance(inputs, dict) and not isinstance(self._inputs, dict):
            missing = [name for name in self.input_names if name not in inputs]
            if missing:
                raise ValueError(f"inputs {missing} are missing; the model takes {self.input_names}")
            flat = [inputs[name] for name in self.input_names]
        else:
            flat = tree.flatten(inputs)
        if len(flat) != len(self._flat_inputs):
            raise ValueError(f"model {self.name!r} takes {len(self._flat_inputs)} inputs, got {len(flat)}")
        return [_as_input(fit_rank(x, t.shape), t) for x, t in zip(flat, self._flat_inputs)]

    def _as_tensor(self, value):
        return keep_dtype(value, self.dtype)

    # ---- description -------------------------------------------------------------------------
    def _summary_rows(self):
        rows = []
        for layer in self._graph_layers:
            node = next(n for n in layer._inbound_nodes if n in self._nodes)
            links = ", ".join(_history(t) for t in _symbolic(node.inputs))
            rows.append((f"{layer.name} ({type(layer).__name__})", show_shape(_shapes(node.outputs)),
                         _count(layer), links or "-", _trains(layer)))
        return rows

    def _sequential_like(self):
        """One chain, as Keras's summary judges it: one input and output, each call on one tensor, no layer
        called twice and no tensor used twice."""
        used = [id(t) for node in self._nodes for t in _symbolic(node.inputs)]
        return (len(self._flat_inputs) == len(self._flat_outputs) == 1 and len(used) == len(set(used))
                and all(len(_symbolic(node.inputs)) <= 1 and len(node.layer._inbound_nodes) == 1
                        for node in self._nodes if not isinstance(node.layer, InputLayer)))

    # ---- config: Keras 3's layout ------------------------------------------------------------
    def get_config(self):
        index = self._node_indices()
        layers = []
        for layer in self._graph_layers:
            nodes = [n for n in layer._inbound_nodes if n in self._nodes and not isinstance(layer, InputLayer)]
            layers.append({**serialize(layer), "name": layer.name,
                           "inbound_nodes": [{"args": _tensor_configs(n.inputs if n.positional else [n.inputs], index),
                                              "kwargs": n.kwargs} for n in nodes]})
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": _history_lists(self._inputs, index),
                "output_layers": _history_lists(self._outputs, index)}

    def _node_indices(self):
        """Each node's index among its layer's calls in this model, as Keras numbers them in a config: a layer
        called in another graph first (or the calls remade from a layer output on) counts from 0 here too."""
        in_model = {id(n) for n in self._nodes}
        index = {}
        for layer in self._graph_layers:
            index.update((id(n), i) for i, n in enumerate(n for n in layer._inbound_nodes if id(n) in in_model))
        return index

    @classmethod
    def from_config(cls, config, custom_objects=None):
        made, pending = {}, []  # layer name -> layer; (layer, node config) waiting for their inputs
        for spec in config["layers"]:
            if spec["class_name"] == "InputLayer":
                layer = InputLayer.from_config(spec["config"])
                made[spec["name"]] = layer
                continue
            layer = deserialize(spec, custom_objects)
            made[spec["name"]] = layer
            pending += [(layer, node) for node in spec.get("inbound_nodes", [])]
        while pending:
            ready = [(layer, node) for layer, node in pending if _resolvable(node["args"], made)]
            if not ready:
                raise ValueError(f"the functional model config cannot be wired: {[layer.name for layer, _ in pending]} "
                                 f"wait for inputs no layer makes")
            for layer, node in ready:
                args = _resolve(node["args"], made)
                layer(*args, **node.get("kwargs", {}))
                pending.remove((layer, node))
        inputs = _from_history(config["input_layers"], made)
        outputs = _from_history(config["output_layers"], made)
        return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))


def _from_layer_outputs(inputs, outputs):
    """Keras's rule for a model whose inputs include layer outputs (a model from encoded features on): each
    such tensor is replaced by a new keras.Input of its shape and dtype (named <tensor>CLONE, as Keras
    names it), and the layer calls after it are made again on that Input."""
    from ..layers import Input

    flat, used = tree.flatten(inputs), {}
    fresh = [t if isinstance(t.node.layer, InputLayer) else Input(batch_shape=t.shape, dtype=t.dtype,
                                                                    name=_clone_name(t, used)) for t in flat]
    values = {id(old): new for old, new in zip(flat, fresh)}
    for node in _nodes_between(flat, tree.flatten(outputs)):
        args = tree.map_structure(lambda s: values.get(id(s), s) if isinstance(s, SymbolicTensor) else s, node.inputs)
        if all(values.get(id(t), t) is t for t in _symbolic(node.inputs)):
            continue  # does not depend on a replaced tensor: kept as it is
        out = node.layer(*args, **node.kwargs) if node.positional else node.layer(args, **node.kwargs)
        values.update(zip(map(id, tree.flatten(node.outputs)), tree.flatten(out)))
    return (tree.pack_like(inputs, fresh),
            tree.map_structure(lambda s: values.get(id(s), s), outputs))


def _as_input(x, symbolic):
    """Integers given to a float Input take its dtype (uint8 pixels would wrap around otherwise); ids for an
    integer Input and texts stay as they are."""
    if isinstance(x, Tensor) and symbolic.dtype.kind == "f" and x.dtype.kind in "iub":
        return ops.cast(x, symbolic.dtype)
    return x


def _clone_name(tensor, used):
    """<layer>CLONE, numbered where two cut tensors come from one layer (its calls, or its outputs)."""
    base = f"{tensor.name}CLONE"
    used[base] = used.get(base, 0) + 1
    return base if used[base] == 1 else f"{base}_{used[base] - 1}"


def _nodes_between(inputs, outputs):
    """The Nodes from the inputs to the outputs, each after the Nodes making its inputs (a layer's output
    among the inputs stops the walk: what made it is not part of the graph)."""
    order, seen = [], set()
    input_ids = {id(t) for t in inputs}

    def visit(tensor):
        node = tensor.node
        if id(node) in seen or (id(tensor) in input_ids and not isinstance(node.layer, InputLayer)):
            return
        if isinstance(node.layer, InputLayer) and id(tensor) not in input_ids:
            raise ValueError(f"graph disconnected: an output depends on input {node.layer.name!r}, which is not "
                             f"among the model's inputs")
        seen.add(id(node))
        for t in _symbolic(node.inputs):
            visit(t)
        order.append(node)

    for t in inputs + outputs:  # inputs first, so that model.layers starts with them as in Keras
        visit(t)
    return order


def _layers_in_keras_order(inputs, outputs):
    """The layers as Keras 3 lists them (model.layers, and so get_weights' order): deepest first, a layer's
    depth being the longest path from it to an output, ties in the order a depth-first walk from the outputs
    first meets them."""
    met, finished, done = {}, [], set()  # layer id -> (order first met, layer); nodes in post-order; their ids

    def walk(tensor):
        node = tensor.node
        if id(node) in done:
            return
        met.setdefault(id(node.layer), (len(met), node.layer))
        for t in _symbolic(node.inputs):
            walk(t)
        finished.append(node)
        done.add(id(node))

    for t in outputs:
        walk(t)
    node_depth, layer_depth = {}, {}
    for node in reversed(finished):  # every node after the nodes that use its outputs
        depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        for t in _symbolic(node.inputs):
            node_depth[id(t.node)] = max(node_depth.get(id(t.node), 0), depth + 1)
    for i, t in enumerate(inputs):  # an unused input: at the outputs' depth, before them, as in Keras
        if id(t.node.layer) not in met:
            met[id(t.node.layer)], layer_depth[id(t.node.layer)] = (i - len(inputs), t.node.layer), 0
    return [layer for _, _, layer in sorted((-layer_depth[key], order, layer) for key, (order, layer) in met.items())]


def _symbolic(structure):
    return [t for t in tree.flatten(structure) if isinstance(t, SymbolicTensor)]


def _shapes(structure):
    return tree.map_structure(lambda t: t.shape, structure)


def _history(t):
    """layer_name[node_index][tensor_index], as Keras's summary names a tensor."""
    return f"{t.node.layer.name}[{t.node.layer._inbound_nodes.index(t.node)}][{t.index}]"


def _history_triple(t, index):
    return [t.node.layer.name, index[id(t.node)], t.index]


def _history_lists(structure, index):
    if isinstance(structure, dict):
        return {key: _history_triple(t, index) for key, t in structure.items()}
    return [_history_triple(t, index) for t in tree.flatten(structure)]


def _tensor_configs(args, index):
    return tree.map_structure(lambda t: {"class_name": "__keras_tensor__",
                                         "config": {"shape": list(t.shape), "dtype": dtype_name(t.dtype),
                                                    "keras_history": _history_triple(t, index)}}
                              if isinstance(t, SymbolicTensor) else t, args, is_leaf=_is_tensor_config_leaf)


def _is_tensor_config_leaf(value):
    return isinstance(value, SymbolicTensor)


def _is_tensor_ref(value):
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _tensor_from(ref, made):
    name, node_index, tensor_index = ref["config"]["keras_history"]
    layer = made.get(name)
    if layer is None or node_index >= len(layer._inbound_nodes):
        return None
    return tree.flatten(layer._inbound_nodes[node_index].outputs)[tensor_index]


def _resolvable(args, made):
    refs = tree.flatten(args, is_leaf=_is_tensor_ref)
    return all(_tensor_from(ref, made) is not None for ref in refs if _is_tensor_ref(ref))


def _resolve(args, made):
    return tree.map_structure(lambda ref: _tensor_from(ref, made) if _is_tensor_ref(ref) else ref, args,
                              is_leaf=_is_tensor_ref)


def _from_history(spec, made):
    def tensor(triple):
        name, node_index, tensor_index = triple
        return tree.flatten(made[name]._inbound_nodes[node_index].outputs)[tensor_index]

    if isinstance(spec, dict):
        return {key: tensor(triple) for key, triple in spec.items()}
    tensors = [tensor(triple) for triple in spec]
    return tensors[0] if len(tensors) == 1 else tensors
