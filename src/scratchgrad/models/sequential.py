"""Sequential: a linear stack of layers (the structure; training is the Trainer's, trainer.py)."""
from ..backend import float_dtype
from ..layers import Input, InputLayer, Layer
from ..symbolic import SymbolicTensor
from .model import Model, _count, _is_shape, _trains, fit_rank, show_shape


class Sequential(Model):
    """A linear stack of layers. Built from a list or with `add()`; weights are created from
    `Input(shape)`, the first layer's `input_shape`/`input_dim`, or the first batch it sees."""

    _takes_dicts = False

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._layers = []
        self._input_declared = False  # by an Input or the first layer's input_shape: Keras builds it at once
        for layer in layers or []:
            self.add(layer)

    # ---- structure ---------------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._layers)

    def _sublayers(self):
        return self._layers

    def add(self, layer):
        if isinstance(layer, SymbolicTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer  # Sequential([keras.Input(shape), ...])
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a Layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("an Input must come first in a Sequential model")
            self._input_shape, self._input_dtype = (layer.batch_size,) + layer.input_shape, layer.dtype
            self._input_declared = True
            return
        self._layers.append(layer)
        self.forget_plans()
        hint = _declared_input(layer) if len(self._layers) == 1 else None
        if hint is not None:
            self._input_shape, self._input_declared = (None,) + hint, True
        if self._input_shape is not None:
            self.build(self._input_shape)

    def pop(self):
        """Remove and return the last layer."""
        if not self._layers:
            raise IndexError("pop() from a Sequential model with no layers")
        layer = self._layers.pop()
        self.forget_plans()
        if self._input_shape is not None and self._layers:
            self.build(self._input_shape)
        else:
            self.built, self._output_shape = False, None
        return layer

    def build(self, input_shape):
        """Create every layer's weights for inputs of `input_shape` (batch axis first, a size or None, kept as
        Keras keeps it), calling the layers on a symbolic input, so `model.inputs`, `model.outputs` and
        `layer.output` exist."""
        self._input_shape = tuple(input_shape)
        x = Input(batch_shape=self._input_shape, dtype=self.input_dtypes[0])
        self._symbolic = [x]
        for layer in self._layers:
            x = layer(x)
        self._symbolic.append(x)
        self._output_shape = x.shape
        self.built = bool(self._layers)

    @property
    def inputs(self):
        return self._symbolic_ends()[:1]

    @property
    def outputs(self):
        return self._symbolic_ends()[1:]

    input = property(lambda self: self.inputs[0])
    output = property(lambda self: self.outputs[0])

    def _symbolic_ends(self):
        if not self.built or getattr(self, "_symbolic", None) is None:
            raise AttributeError(f"model {self.name!r} has no symbolic inputs yet: give it an Input (or input_shape) "
                                 f"or call it once")
        return [self._symbolic[0], self._symbolic[-1]]

    def call(self, x, training=None):
        x = fit_rank(x, self.input_shape)
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    def call_logits(self, x, training=None):
        """The forward with the last layer stopped before its activation (see Trainer)."""
        x = fit_rank(x, self.input_shape)
        for layer in self._layers[:-1]:
            x = layer(x, training=training)
        return self._layers[-1].call_without_activation(x, training)

    @property
    def output_layer(self):
        return self._layers[-1] if self._layers else None

    @property
    def output_activation(self):
        return None if self.output_layer is None else self.output_layer.output_activation

    def call_without_activation(self, x, training=False):
        return self.call_logits(x, training)

    @property
    def input_dtypes(self):
        """The dtype of the input (integer ids for an Embedding, say): an Input's, else the model's."""
        return [getattr(self, "_input_dtype", None) or self.dtype]

    @property
    def dtype(self):
        # each layer's dtype is asked once: a nested model's is computed, twice per level would be exponential
        first = next((d for d in (layer.dtype for layer in getattr(self, "_layers", [])) if d is not None), None)
        return first or float_dtype()

    @dtype.setter
    def dtype(self, value):
        pass  # a model's dtype is its layers'

    # ---- description -------------------------------------------------------------------------
    def _summary_rows(self):
        rows, shape = [], self._input_shape
        for layer in self._layers:
            if shape is not None:
                shape = layer.compute_output_shape(shape)
            rows.append((f"{layer.name} ({type(layer).__name__})", show_shape(shape), _count(layer), "",
                         _trains(layer)))
        return rows

    def get_config(self):
        from ..layers import serialize

        config = {"name": self.name, "trainable": self.trainable, "layers": [serialize(layer) for layer in self.layers]}
        if self._input_shape is not None:
            config["input_shape"] = list(self._input_shape[1:])
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..layers import deserialize

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            model.add(deserialize(layer_config, custom_objects))
        if config.get("input_shape") is not None and not model.built:
            model.build((None,) + tuple(config["input_shape"]))
        return model


def _declared_input(layer):
    """The input shape a layer declares, without the batch axis (a Sequential's includes it)."""
    shape = layer.input_shape
    if isinstance(layer, Model):
        return shape[1:] if shape is not None and _is_shape(shape) else None
    return shape
