"""The Layer base: named parameters, lazy weight creation from the first input, configs, weights I/O."""
import contextlib
import contextvars
import functools
import inspect
import re
import threading
from collections import defaultdict

import numpy as np

from .. import constraints, initializers, regularizers, tree, weight_memory
from ..autograd import no_grad
from ..backend import array_module, float_dtype
from ..symbolic import Node, SymbolicTensor
from ..tensor import Tensor
from .input_spec import check_inputs

_name_counts = defaultdict(int)
LAYERS = {}  # class name -> Layer class: every subclass registers itself (configs name layers by class)
# While a model file's architecture is built (models/saving.py), a check of each new weight against the
# tensors the file holds, made before the weight is allocated: a header cannot make us allocate more.
weight_check = contextvars.ContextVar("weight_check", default=None)


def unique_name(base):
    """dense, dense_1, dense_2, ... as Keras names layers."""
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def snake_case(name):
    """Keras's rule: Dense -> dense, MaxPooling2D -> max_pooling2d, BatchNormalization -> batch_normalization."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class _CallContext(threading.local):
    """The `training` value of the call in progress, so layers called inside another layer's call()
    without one inherit it (as in Keras)."""

    training = None
    depth = 0  # how many layer calls are in progress: 0 outside any
    probing = False  # a call on zeros that works out a symbolic output's shape, not on data

    def resolve(self, training, default):
        if training is not None:
            return bool(training)
        return self.training if self.training is not None else default

    @contextlib.contextmanager
    def calling(self, training):
        previous, self.training = self.training, training
        self.depth += 1
        try:
            yield
        finally:
            self.training = previous
            self.depth -= 1


_context = _CallContext()
_BATCH_PROBES = (2, 3)  # rows of the two probe batches: an output axis whose size follows them follows the batch
_NOT_GIVEN = object()


def _marks_built(build):
    """A layer built by calling build(shape) yourself is built (as in Keras): its first call keeps the
    weights build() made instead of making new ones."""
    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        return result
    return wrapper


def _zeros_like_symbolic(value, size=1, rows=1):
    """A batch of `rows` zeros for a symbolic tensor, its unknown sizes (a sequence's length) as `size`;
    with a mask of every step kept where the symbolic tensor has one (call() sees a mask, as in Keras)."""
    if not isinstance(value, SymbolicTensor):
        return value
    zeros = Tensor(np.zeros((rows,) + tuple(d or size for d in value.shape[1:]), value.dtype), dtype=value.dtype)
    if value._keras_mask is not None:
        zeros._keras_mask = Tensor(np.ones((rows,) + tuple(d or size for d in value._keras_mask.shape[1:]), bool))
    return zeros


def _known_batch(structure):
    """The batch size the symbolic tensors in `structure` declare (keras.Input(batch_shape=)), or None."""
    sizes = {leaf.shape[0] for leaf in tree.flatten(structure) if isinstance(leaf, SymbolicTensor)} - {None}
    return sizes.pop() if len(sizes) == 1 else None


def _symbolic_like(*probes, rows, batch=None):
    """The symbolic tensor of an output, from its values in the probe calls on `rows` rows each: a size that
    follows the rows (a·rows + b: the batch axis, or a concatenation along it) is a·batch + b for a declared
    `batch`, else unknown (None); a size the probes agree on is that size; any other is unknown. With one
    row count, the first axis is the batch's. A masked output gets a symbolic mask the same way."""
    def size(k):
        sizes = [p.shape[k] for p in probes]
        if len(set(rows)) == 1:
            return batch if k == 0 else _agreed(sizes)
        a = (sizes[1] - sizes[0]) // (rows[1] - rows[0])
        b = sizes[0] - a * rows[0]
        if a and all(s == a * r + b for s, r in zip(sizes, rows)):
            return None if batch is None else a * batch + b
        return _agreed(sizes)

    symbolic = SymbolicTensor(tuple(size(k) for k in range(probes[0].ndim)), probes[0].dtype)
    masks = [_mask_of(p) for p in probes]
    if all(m is not None for m in masks):
        symbolic._keras_mask = _symbolic_like(*masks, rows=rows, batch=batch)
    return symbolic


def _agreed(sizes):
    return sizes[0] if all(s == sizes[0] for s in sizes) else None


def _probing():
    """Whether the call in progress only works out shapes (a layer may then skip checks of real sizes)."""
    return _context.probing


def _has_unknown_sizes(structure):
    return any(None in leaf.shape[1:] for leaf in tree.flatten(structure) if isinstance(leaf, SymbolicTensor))


def _mask_of(value):
    return value._keras_mask if isinstance(value, Tensor) else None


def _unique(tensors):
    seen = set()
    return [t for t in tensors if not (id(t) in seen or seen.add(id(t)))]


def _show(shapes):
    return shapes if tree.is_nested(shapes) else tuple(shapes)


class Layer:
    """A layer: `call(inputs)` (with a `training` argument if it behaves differently in training) maps
    Tensors to Tensors; weights are created by `build(input_shape)` on the first call, from the input's
    shape (or earlier, from `input_shape` / `input_dim`). Layers assigned as attributes (alone, or in
    lists, tuples and dicts) are tracked: their weights and losses are this layer's too. Called on
    symbolic tensors (`keras.Input`), a layer returns symbolic tensors and records the call in the graph
    a functional `Model` is made of."""

    output_activation = None  # the activation's name when the layer ends in one (see losses.Loss.fuses)
    supports_masking = False  # whether the output carries a mask (compute_mask), as Keras's attribute
    input_spec = None  # an InputSpec (or a list of them) each call's inputs are checked against
    _call_takes_training = True
    _call_params = ("inputs",)
    _manages_built = False  # models set `built` in their own build()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        existing = LAYERS.get(cls.__name__)
        builtin_taken = existing is not None and existing.__module__.startswith("scratchgrad.") and \
            not cls.__module__.startswith("scratchgrad.")
        variant = "_functional_variant_of" in cls.__dict__  # CustomModel(inputs, outputs): not a new class name
        if not cls.__name__.startswith("_") and not builtin_taken and not variant:  # a user's Dense never replaces ours
            LAYERS[cls.__name__] = cls
        parameters = inspect.signature(cls.call).parameters
        cls._call_takes_training = "training" in parameters or any(
            p.kind is p.VAR_KEYWORD for p in parameters.values())
        default = parameters["training"].default if "training" in parameters else None
        cls._training_default = default if default is None or isinstance(default, bool) else None
        cls._call_params = tuple(name for name in parameters if name != "self")
        if "build" in cls.__dict__ and not cls._manages_built:
            cls.build = _marks_built(cls.__dict__["build"])

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 activity_regularizer=None, **kwargs):
        if "batch_input_shape" in kwargs:
            input_shape = tuple(kwargs.pop("batch_input_shape"))[1:]
        if "input_length" in kwargs and input_shape is None:
            kwargs.pop("input_length")
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(kwargs)}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.dtype = _layer_dtype(dtype)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        if input_dim is not None:
            input_shape = (input_dim,)
        if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
            input_shape = (int(input_shape),)  # Dense(3, input_shape=4): one feature axis of 4
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self._mode = None  # train() / eval(): True / False
        self.built = False
        self._weights = []  # Tensors in creation order
        self._made_trainable = []  # per weight of _weights: whether it was made trainable
        self._regularized = []  # (Tensor, regularizer)
        self._losses = []  # what add_loss() collected during the last call
        self._inbound_nodes = []  # calls on symbolic tensors (functional graphs)
        self._trainable = trainable

    # ---- building ----------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (batch axis first, may be None)."""

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None):
        """A new weight Tensor of `shape`, drawn from `initializer` (Keras's default: glorot_uniform),
        trained unless `trainable=False`, penalized by `regularizer`, replaced by constraint(weight) after
        each optimizer update where given a `constraint`. Keras's signature."""
        dtype = np.dtype(dtype) if dtype is not None else self.dtype or float_dtype()
        name = name or f"variable_{len(self._weights)}"
        check = weight_check.get()
        if check is not None:
            check(f"{self.name}/{name}", tuple(shape or ()), dtype)
        data = initializers.get(initializer or "glorot_uniform")(tuple(shape or ()), dtype)
        if trainable:  # end to end with the model's other trainable weights, for the optimizer's one pass
            data = weight_memory.place(data)
        w = Tensor(data, dtype=data.dtype, requires_grad=trainable and self._trainable, name=f"{self.name}/{name}")
        w.constraint = constraints.get(constraint)
        self._weights.append(w)
        self._made_trainable.append(bool(trainable))
        if regularizer is not None:
            self._regularized.append((w, regularizers.get(regularizer)))
        return w

    def _ensure_built(self, inputs):
        leaves = tree.flatten(inputs)
        if self.dtype is None:
            first = leaves[0].dtype
            self.dtype = first if first.kind == "f" else float_dtype()
        self.build(tree.map_structure(lambda t: (None,) + tuple(t.shape[1:]), inputs))
        self.built = True

    # ---- calling -----------------------------------------------------------------------------
    def __call__(self, inputs=_NOT_GIVEN, *args, training=None, **kwargs):
        if inputs is _NOT_GIVEN:  # the first argument by its name in call(): mha(query=q, value=v)
            first = self._call_params[0] if self._call_params else "inputs"
            if first not in kwargs:
                raise TypeError(f"{type(self).__name__}() needs its first argument, {first!r}")
            inputs = kwargs.pop(first)
        symbolic = any(isinstance(leaf, SymbolicTensor) for leaf in tree.flatten([inputs, *args, *kwargs.values()]))
        if not symbolic:  # (checked in the layer's dtype, as it will run: Keras converts inputs first too)
            inputs = tree.map_structure(self._as_tensor, inputs)
        if self.input_spec is not None:
            check_inputs(self.input_spec, inputs, self.name)
        if symbolic:
            return self._call_symbolic(inputs, self._positional(args, kwargs), training, kwargs)
        args = tuple(self._as_tensor(a) if isinstance(a, np.ndarray) else a for a in args)
        if not self.built:
            self._ensure_built(inputs)
        # explicit, else the enclosing call's, else train()/eval()'s; where none is given, call()'s own
        # default (Keras's rule: augmentation layers called directly augment, Dropout does not drop)
        training = _context.resolve(training, self._mode)
        if self._call_takes_training:  # what the call gets is what the layers it calls inherit
            training = kwargs["training"] = self._call_training(training)
        if _context.depth == 0:  # a new forward pass: forget the add_loss values of the last one
            self._clear_losses()
        previous_mask = self._pass_masks(inputs, args, kwargs)
        with _context.calling(training):
            outputs = self.call(inputs, *args, **kwargs)
        if self.activity_regularizer is not None and not _context.probing:
            self._regularize_activity(outputs, self.activity_regularizer)
        if self.supports_masking:
            self._set_output_masks(inputs, outputs, previous_mask)
        return outputs

    def _regularize_activity(self, outputs, regularizer):
        """Keras's activity regularization: each output's penalty over the batch size joins the loss."""
        for out in tree.flatten(outputs):
            if isinstance(out, Tensor):
                penalty = regularizer(out)
                self.add_loss(penalty / out.shape[0] if out.ndim and out.shape[0] else penalty)

    # ---- masks: which time steps of a padded sequence are real -------------------------------
    def compute_mask(self, inputs, previous_mask=None):
        """The output's mask (bool Tensor, batch × steps) or None: by default the input's."""
        return previous_mask

    def _pass_masks(self, inputs, args, kwargs):
        """Give call() the masks its tensor arguments carry, as Keras does: as `mask=` for a call that
        takes one, and as `<name>_mask=` for a call that takes that (attention's query_mask=); return
        the mask the output inherits (the `mask=` given, else the first input's)."""
        masks = tree.map_structure(_mask_of, inputs)
        if all(m is None for m in tree.flatten(masks)):
            masks = None
        if "mask" in self._call_params and kwargs.get("mask") is None and masks is not None:
            kwargs["mask"] = masks
        named = {**dict(zip(self._call_params, (inputs, *args))), **kwargs}
        for name, value in named.items():
            key = f"{name}_mask"
            if key in self._call_params and kwargs.get(key) is None and _mask_of(value) is not None:
                kwargs[key] = _mask_of(value)
        return kwargs.get("mask", masks)

    def _set_output_masks(self, inputs, outputs, previous_mask):
        leaves = tree.flatten(outputs)
        if all(_mask_of(t) is not None for t in leaves):  # the layer set them itself (Masking)
            return
        masks = self.compute_mask(inputs, previous_mask)
        for t, mask in zip(leaves, tree.flatten(masks) if masks is not None else ()):
            if isinstance(t, Tensor) and t._keras_mask is None and mask is not None:
                t._keras_mask = mask

    def _as_tensor(self, value):
        return value if value is None or isinstance(value, Tensor) else Tensor(value, dtype=self.dtype)

    def _positional(self, args, kwargs):
        """Symbolic tensors passed by keyword (lstm(x, initial_state=states), mha(q, v, attention_mask=m))
        moved to their positions in call()'s signature: the graph records positional tensors as inputs."""
        names = self._call_params[1:]
        symbolic = [name for name, value in kwargs.items()
                    if any(isinstance(leaf, SymbolicTensor) for leaf in tree.flatten(value))]
        unknown = [name for name in symbolic if name not in names]
        if unknown:
            raise TypeError(f"{type(self).__name__}.call() has no argument {unknown[0]!r} to take a tensor")
        if not symbolic:
            return args
        last = max(names.index(name) for name in symbolic)
        return tuple(args) + tuple(kwargs.pop(name, None) for name in names[len(args):last + 1])

    def _call_symbolic(self, inputs, args, training, kwargs):
        """Work out the output's shape and dtype on a batch of zeros and record the call as a Node."""
        call_args = [inputs, *args] if args else inputs  # several positional tensors, as a list
        outputs = self._symbolic_outputs(call_args, args, training, kwargs)
        for i, leaf in enumerate(tree.flatten(outputs)):
            leaf.index, leaf.name = i, self.name
        node = Node(self, call_args, outputs, {**kwargs, **({} if training is None else {"training": training})},
                    positional=bool(args))
        for leaf in tree.flatten(outputs):
            leaf.node = node
        return outputs

    def _symbolic_outputs(self, call_args, args=(), training=None, kwargs=None):
        """The outputs' symbolic tensors (shapes and dtypes), from calls on batches of zeros."""
        shapes = tree.map_structure(lambda s: s.shape if isinstance(s, SymbolicTensor) else s, call_args)
        # Unknown sizes (None) are tried as several sizes: an output size that differs between tries is unknown too
        unknown = _has_unknown_sizes(call_args)
        batch = _known_batch(call_args)
        sizes = (16, 17) if unknown else (1, 1)
        rows = (1, 1) if unknown and batch is None else _BATCH_PROBES
        try:
            probes = [self._call_on_zeros(call_args, size, args, training, kwargs or {}, n)
                      for size, n in zip(sizes, rows)]
        except (ValueError, TypeError) as err:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) cannot take inputs of shape "
                             f"{_show(shapes)}: {err}") from None
        if unknown:  # 16 and 17 fall to one size under a stride of 2 or more; twice 16 does not. A layer may
            try:     # refuse 32 steps (a positional embedding of 20): then the two tries stand alone
                probes.append(self._call_on_zeros(call_args, 32, args, training, kwargs or {}, rows[0]))
                rows += rows[:1]
            except Exception:  # noqa: BLE001 - any refusal of this optional try means the same
                pass
        return tree.pack_like(probes[0], [_symbolic_like(*leaves, rows=rows, batch=batch) for leaves in
                                          zip(*[tree.flatten(probe) for probe in probes])])

    def _call_on_zeros(self, call_args, size, args, training, kwargs, rows):
        zeros = tree.map_structure(lambda value: _zeros_like_symbolic(value, size, rows), call_args)
        training = False if training is None else training
        previous, _context.probing = _context.probing, True
        try:
            with no_grad():
                return self(*zeros, training=training, **kwargs) if args else self(zeros, training=training, **kwargs)
        finally:
            _context.probing = previous

    def _call_training(self, training):
        """What call() gets for a resolved `training`: the value, or where none was given call()'s own default."""
        return self._training_default if training is None else training

    def call(self, inputs, training=False):
        raise NotImplementedError(f"{type(self).__name__} must implement call(inputs)")

    def call_without_activation(self, x, training=False):
        """The output before `output_activation` (for a layer that has one): what a fused loss takes."""
        raise NotImplementedError(f"{type(self).__name__} ends in no activation a loss could fuse")

    def _clear_losses(self):
        self._losses = []
        for layer in self._sublayers():
            layer._clear_losses()

    def add_loss(self, loss):
        """Add a scalar Tensor to the training loss (e.g. activity regularization), from inside call()."""
        self._losses.append(loss if isinstance(loss, Tensor) else Tensor(loss, dtype=self.dtype or float_dtype()))

    @property
    def losses(self):
        """The losses of the last call (add_loss) and the weight penalties, this layer's and its sublayers'."""
        own = list(self._losses) + [reg(w) for w, reg in self._regularized]
        return own + [loss for layer in self._sublayers() for loss in layer.losses]

    # ---- sublayers ---------------------------------------------------------------------------
    def _sublayers(self):
        """The layers held in attributes (directly or in lists, tuples and dicts), in assignment order."""
        found = []
        for value in vars(self).values():
            items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) \
                else (value,)
            found += [item for item in items if isinstance(item, Layer) and item is not self
                      and all(item is not f for f in found)]
        return found

    @property
    def training(self):
        """Whether train() put this layer in training mode (False after eval(), and before either)."""
        return bool(self._mode)

    @training.setter
    def training(self, mode):
        self._mode = bool(mode)

    def train(self, mode=True):
        """Put this layer and its sublayers in training (or evaluation) mode: the `training` a call
        gets when nobody passes one (Dropout and BatchNorm depend on it). None: no mode, each call's own
        default (a new layer's)."""
        self._mode = None if mode is None else bool(mode)
        for layer in self._sublayers():
            layer.train(mode)
        return self

    def eval(self):
        return self.train(False)

    # ---- weights -----------------------------------------------------------------------------
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for w, made_trainable in zip(self._weights, self._made_trainable):
            w.requires_grad = self._trainable and made_trainable
        for layer in self._sublayers():
            layer.trainable = value

    @property
    def weights(self):
        """Own weights (those made trainable first, as Keras orders them), then the sublayers'."""
        own = [w for w, t in zip(self._weights, self._made_trainable) if t] + \
            [w for w, t in zip(self._weights, self._made_trainable) if not t]
        return _unique(own + [w for layer in self._sublayers() for w in layer.weights])

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        own = [w for w in self._weights if w.requires_grad]
        return _unique(own + [w for layer in self._sublayers() for w in layer.trainable_weights])

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    trainable_variables = property(lambda self: self.trainable_weights)
    non_trainable_variables = property(lambda self: self.non_trainable_weights)
    variables = property(lambda self: self.weights)

    def parameters(self):
        """The trainable parameter Tensors (what an optimizer updates)."""
        return self.trainable_weights

    def count_params(self):
        return sum(w.size for w in self.weights)

    def get_weights(self):
        return [np.array(w.numpy()) for w in self.weights]

    def set_weights(self, weights):
        """Assign arrays to the weights, in `weights` order; every shape is checked before any is written."""
        targets = self.weights
        check_weights(self.name, targets, weights)
        for w, value in zip(targets, weights):
            w.data[...] = array_module(w.data).asarray(value, dtype=w.dtype)  # onto the weight's device

    def regularization_loss(self):
        """The sum of the weight penalties of this layer and its sublayers (0.0 if none)."""
        total = 0.0
        for w, reg in self._regularized:
            total = reg(w) + total
        for layer in self._sublayers():
            total = layer.regularization_loss() + total
        return total

    # ---- a kernel and a bias's options ----------------------------------------------------------
    def _set_weight_options(self, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                            kernel_constraint, bias_constraint):
        """Keras's six options of a layer with a kernel and a bias, resolved here (a bad name fails where it
        was given); the initializers' own spellings are kept for get_config."""
        self._init_names = (kernel_initializer, bias_initializer)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _weight_options_config(self):
        return {"kernel_initializer": serialize_initializer(self._init_names[0]),
                "bias_initializer": serialize_initializer(self._init_names[1]),
                "kernel_regularizer": serialize_regularizer(self.kernel_regularizer),
                "bias_regularizer": serialize_regularizer(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}

    # ---- config ------------------------------------------------------------------------------
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if self.dtype is not None:
            config["dtype"] = self.dtype.name
        if self.activity_regularizer is not None:  # as Keras: only when there is one
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self.input_shape is not None:
            config["input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def compute_output_shape(self, input_shape):
        """The output shape for an input shape (a list of shapes for several inputs; several outputs give a
        tuple of shapes), found by calling on zeros as a functional model's graph does: unknown sizes stay None."""
        several = bool(input_shape) and all(isinstance(shape, (tuple, list)) for shape in input_shape)
        shapes = list(input_shape) if several else [input_shape]
        inputs = [SymbolicTensor(tuple(shape), self.dtype or float_dtype()) for shape in shapes]
        outputs = self._symbolic_outputs(inputs if several else inputs[0])
        shapes = tree.map_structure(lambda t: t.shape, outputs)
        return tuple(shapes) if isinstance(shapes, list) else shapes  # several outputs: a tuple, as in Keras

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"

    # ---- the symbolic view (functional graphs) -----------------------------------------------
    @property
    def output(self):
        """The symbolic output of this layer's last call on symbolic tensors (Keras's layer.output)."""
        return self._last_node("output").outputs

    @property
    def input(self):
        return self._last_node("input").inputs

    def _last_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(f"layer {self.name!r} has no {what}: it was never called on symbolic tensors "
                                 f"(keras.Input)")
        return self._inbound_nodes[-1]


def check_weights(owner, targets, values):
    """Raise ValueError naming the first mismatch between weight Tensors and arrays to assign."""
    if len(values) != len(targets):
        raise ValueError(f"{owner} expects {len(targets)} weight arrays, got {len(values)}")
    for w, value in zip(targets, values):
        shape = tuple(np.shape(value))
        if shape != w.shape:
            raise ValueError(f"{owner}: weight {w.name} has shape {w.shape}, got an array of shape {shape}")


def _layer_dtype(dtype):
    """A layer's dtype from None, a name, a NumPy dtype, or Keras's DTypePolicy config (a Keras layer's
    get_config() holds one: {"class_name": "DTypePolicy", "config": {"name": "float32"}})."""
    if isinstance(dtype, dict):
        config = dtype.get("config")
        dtype = config.get("name") if isinstance(config, dict) else None
        if not isinstance(dtype, str):
            raise ValueError(f"a dtype policy config names its dtype under config.name, got {dtype!r:.80}")
        if dtype.startswith("mixed_"):
            dtype = "float32"  # the policy's variables are float32; scratchgrad computes in float32 too
    return None if dtype is None else np.dtype(dtype)


def serialize_initializer(init):
    """A layer's initializer as its config holds it: a name or a config dict as given, else its config."""
    return init if isinstance(init, (str, dict)) else initializers.serialize(initializers.get(init))


def serialize_regularizer(reg):
    return regularizers.serialize(reg)


def build_inner(layer, input_shape, dtype):
    """Build a wrapped layer (when the wrapper is built) in the wrapper's dtype, unless it has its own."""
    if not layer.built:
        layer.dtype = layer.dtype or dtype
        layer.build(input_shape)


class Wrapper(Layer):
    """keras.layers.Wrapper: a layer that runs another one (`self.layer`), built with it and saved with it
    in its config (TimeDistributed is one; a user's subclass writes `call`)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__} wraps a Layer, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        build_inner(self.layer, input_shape, self.dtype)

    def get_config(self):
        from . import serialize

        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config):
        from . import deserialize

        return cls(**{**config, "layer": deserialize(config["layer"])})
