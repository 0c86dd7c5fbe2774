"""keras.Model: the base of every model (Sequential, functional and subclassed), with the Trainer's
compile / fit / evaluate / predict.

`Model(inputs, outputs)` makes a functional model (functional.py); `class MyModel(Model)` with
`__init__` and `call(inputs, training=None)` a subclassed one, whose layers are tracked from its
attributes and whose weights are created by its first call.
"""
import json

import numpy as np

from .. import tree
from ..autograd import no_grad
from ..backend import array_module, float_dtype
from ..layers import Layer
from ..tensor import Tensor
from ..trainer import Trainer
from .summary import summary_text
from .. import validation


class Model(Trainer, Layer):
    _manages_built = True

    def __new__(cls, *args, **kwargs):
        """Model(inputs, outputs) is a functional model; so is a subclass called that way (its own methods,
        such as a train_step, on top of the functional graph), as in Keras."""
        from .functional import Functional
        from .sequential import Sequential

        functional = len(args) == 2 or ("inputs" in kwargs and "outputs" in kwargs) or (args and "outputs" in kwargs)
        if functional and not issubclass(cls, (Functional, Sequential)):
            cls = Functional if cls is Model else _functional_variant(cls)
        return super().__new__(cls)

    def __init__(self, *args, name=None, trainable=True, dtype=None, **kwargs):
        if args or set(kwargs) & {"inputs", "outputs"}:
            raise TypeError("Model(inputs, outputs) makes a functional model; a subclass of Model takes no inputs")
        super().__init__(name=name, trainable=trainable, dtype=dtype, **kwargs)
        self._init_training_state()

    def _init_training_state(self):
        self.compiled_metrics = []
        self.stop_training = False
        self.history = None
        self._input_shape = self._output_shape = None  # with the batch axis (None); nested for several

    # ---- structure ---------------------------------------------------------------------------
    @property
    def layers(self):
        return self._sublayers()

    def get_layer(self, name=None, index=None):
        """A layer by name or by index in `layers` (Keras's get_layer)."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"index {index} is out of range: the model has {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}; the layers are {[layer.name for layer in self.layers]}")

    @property
    def output_layer(self):
        return None  # a subclassed model's output is whatever call() returns: no loss fusion

    def build(self, input_shape):
        """Create the weights by calling the model on a batch of zeros of `input_shape`."""
        self.built = True  # before the call, which would otherwise build again
        shapes = _with_batch(input_shape)
        zeros = tree.map_structure(lambda s: Tensor(np.zeros((1,) + tuple(d or 1 for d in s[1:]), self.dtype),
                                                    dtype=self.dtype), shapes, is_leaf=_is_shape)
        with no_grad():
            out = self(zeros, training=False)
        self._input_shape = shapes
        self._output_shape = tree.map_structure(lambda t: (None,) + t.shape[1:], out)

    @property
    def input_shape(self):
        return self._input_shape

    @input_shape.setter
    def input_shape(self, value):
        self._input_shape = None if value is None else (None,) + tuple(value)

    @property
    def output_shape(self):
        return self._output_shape

    @property
    def dtype(self):
        return self._dtype or float_dtype()

    @dtype.setter
    def dtype(self, value):
        self._dtype = value

    # ---- description -------------------------------------------------------------------------
    def _summary_rows(self):
        """(name (type), output shape, parameters, connected to, trainable) for each layer."""
        return [(f"{layer.name} ({type(layer).__name__})", "?", _count(layer), "", _trains(layer))
                for layer in self.layers]

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print a Keras-style table: each layer's output shape and parameter count (and, with show_trainable,
        whether it trains), then the totals. line_length, positions, expand_nested and layer_range act as
        in Keras 3 (see summary.py); print_fn, as Keras calls it, gets the whole text, ending in a newline."""
        text = summary_text(self, line_length, positions, expand_nested, show_trainable, layer_range)
        if print_fn is None:
            print(text)
        else:
            print_fn(text + "\n")

    def _sequential_like(self):
        """Whether the layers form one chain (Sequential and subclassed models are shown as one)."""
        return True

    def plot(self, path=None):
        """The layer graph as Graphviz DOT text, drawn to `path` (.svg/.png/.pdf) when given."""
        from ..viz import plot_model

        return plot_model(self, path)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A model from its config: a functional model's config (layers and their connections) makes a
        functional model, of this class when it is a subclass; other configs go to __init__."""
        if "input_layers" in config:
            from .functional import Functional

            target = Functional if cls is Model else cls if issubclass(cls, Functional) else _functional_variant(cls)
            return Functional.from_config.__func__(target, config, custom_objects)
        return cls(**config)

    def to_json(self, **kwargs):
        """The architecture as JSON ({"class_name", "config"}); `models.model_from_json` rebuilds it."""
        from ..layers import serialize

        return json.dumps(serialize(self), **kwargs)

    def _set_weight_paths(self):
        """Give each weight Keras's `path` (what an OptimizerMap matches): its name ("dense/kernel"; a layer's
        sublayers name theirs under it, "mha/query/kernel") under the name of each model whose name scope
        Keras builds it in. A Sequential or subclassed model builds its layers in its own scope
        ("seq/dense/kernel"), a functional model outside it; a model nested in another was built apart if it
        was built when made (functional, or a Sequential with an Input), else in the scope of the one
        holding it ("outer/inner/dense/kernel")."""
        _set_paths(self, "")

    # ---- saving (see saving.py) --------------------------------------------------------------
    def save(self, filepath, format=None):
        """Save the whole model: scratchgrad's own file (the default), or with format="keras" a Keras 3
        `.keras` file that keras.saving.load_model reads (Sequential and functional models; needs h5py)."""
        if format == "keras":
            return self.export_keras(filepath)
        if format not in (None, "scratchgrad"):
            raise ValueError(f"unknown format {format!r}: use None (scratchgrad's own) or 'keras'")
        from .saving import save_model

        save_model(self, filepath)

    def export_keras(self, filepath, include_optimizer=True):
        """Write a Keras 3 `.keras` file (see scratchgrad.keras_files.save_keras)."""
        from ..keras_files import save_keras

        save_keras(self, filepath, include_optimizer=include_optimizer)

    def save_weights(self, filepath):
        from .saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath):
        from .saving import load_weights

        load_weights(self, filepath)

    def export(self, filepath, format="onnx", opset=None):
        """Write the model for another runtime: format="onnx" (needs the onnx package), a graph in ONNX
        opset `opset` (default 17) with a dynamic batch dimension; see scratchgrad.onnx_export."""
        if format != "onnx":
            raise ValueError(f"unknown export format {format!r}; expected 'onnx' (save() writes model files)")
        from ..onnx_export import OPSET, export_onnx

        return export_onnx(self, filepath, OPSET if opset is None else opset)


_VARIANTS = {}


def fit_rank(x, input_shape):
    """x (a Tensor) reshaped by Keras's rule for a model's input (see validation.rank_change)."""
    from .. import ops

    change = 0 if input_shape is None or not isinstance(x, Tensor) else validation.rank_change(x.shape, input_shape)
    return ops.expand_dims(x, -1) if change > 0 else ops.squeeze(x, -1) if change < 0 else x


def keep_dtype(value, dtype):
    """A value given to a model as a Tensor: floats in the model's dtype; integers, booleans and text as they
    are (ids for an Embedding or a lookup, texts for a TextVectorization)."""
    from ..layers.preprocessing import as_strings

    if value is None or isinstance(value, Tensor):
        return value
    array = array_module(value).asarray(value)  # a CuPy array stays on its GPU
    if array.dtype == object or array.dtype.kind in "US":
        return Tensor(as_strings(array, "utf-8", owner="the model"))
    return Tensor(array) if array.dtype.kind in "iub" else Tensor(array, dtype=dtype)


def _functional_variant(cls):
    """`cls` with the functional graph's machinery under it (made once per class)."""
    from .functional import Functional

    if cls not in _VARIANTS:
        _VARIANTS[cls] = type(cls.__name__, (cls, Functional), {"_functional_variant_of": cls,
                                                                "__module__": cls.__module__})
    return _VARIANTS[cls]


def _is_shape(value):
    return isinstance(value, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


def _with_batch(shape):
    """A shape (or nested shapes) with the batch axis as None."""
    return tree.map_structure(lambda s: (None,) + tuple(s[1:]), shape, is_leaf=_is_shape)


def _count(layer):
    return f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"


def _trains(layer):
    """summary's Trainable column: Y or N, or - for a layer without weights (as Keras shows it)."""
    return "-" if not layer.weights else "Y" if layer.trainable else "N"


def show_shape(shape):
    if shape is None:
        return "?"
    if _is_shape(shape):
        return validation.show_shape(shape)
    return "[" + ", ".join(show_shape(s) for s in tree.flatten(shape, is_leaf=_is_shape)) + "]"


def _set_paths(layer, prefix):
    from .functional import Functional

    for w in layer._weights:
        w.path = prefix + (w.name or "")
    inner = prefix + layer.name + "/" if isinstance(layer, Model) and not isinstance(layer, Functional) else prefix
    for sublayer in layer._sublayers():
        built_apart = isinstance(sublayer, Functional) or getattr(sublayer, "_input_declared", False)
        _set_paths(sublayer, "" if built_apart else inner)
