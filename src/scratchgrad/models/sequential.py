"""Sequential: a linear stack of layers (the structure; training is the Trainer's, trainer.py)."""
import numpy as np

from ..backend import floatx
from ..layers import InputLayer, Layer
from ..tensor import Tensor
from ..trainer import Trainer
from .. import validation


class Sequential(Trainer, Layer):
    """A linear stack of layers. Built from a list or with `add()`; weights are created from
    `Input(shape)`, the first layer's `input_shape`/`input_dim`, or the first batch it sees."""

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.layers = []
        self.compiled_metrics = []
        self.stop_training = False
        self.history = None
        self._input_shape = self._output_shape = None  # with the batch axis (None)
        for layer in layers or []:
            self.add(layer)

    # ---- structure ---------------------------------------------------------------------------
    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a Layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self.layers:
                raise ValueError("an Input must come first in a Sequential model")
            self._input_shape = (None,) + layer.input_shape
            return
        self.layers.append(layer)
        self.forget_plans()
        hint = _declared_input(layer) if len(self.layers) == 1 else None
        if hint is not None:
            self._input_shape = (None,) + hint
        if self._input_shape is not None:
            self.build(self._input_shape)

    def build(self, input_shape):
        """Create every layer's weights for inputs of `input_shape` (batch axis first)."""
        self._input_shape = (None,) + tuple(input_shape[1:])
        shape = self._input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        self._output_shape = shape
        self.built = bool(self.layers)

    @property
    def input_shape(self):
        return self._input_shape

    @input_shape.setter
    def input_shape(self, value):
        self._input_shape = None if value is None else (None,) + tuple(value)

    @property
    def output_shape(self):
        """The output shape found by build() (batch axis None), or None before the model is built."""
        return self._output_shape

    def call(self, x, training=False):
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    def call_logits(self, x, training=False):
        """The forward with the last layer stopped before its activation (see Trainer)."""
        for layer in self.layers[:-1]:
            x = layer(x, training=training)
        return self.layers[-1].call_without_activation(x, training)

    @property
    def output_layer(self):
        return self.layers[-1] if self.layers else None

    @property
    def output_activation(self):
        return None if self.output_layer is None else self.output_layer.output_activation

    def call_without_activation(self, x, training=False):
        return self.call_logits(x, training)

    def __call__(self, x, training=None):
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.dtype)
        if not self.built:
            self.build(x.shape)
        return self.call(x, self.training if training is None else training)

    @property
    def dtype(self):
        first = next((layer.dtype for layer in self.layers if layer.dtype is not None), None)
        return first or floatx()

    @dtype.setter
    def dtype(self, value):
        pass  # a model's dtype is its layers'

    # ---- weights -----------------------------------------------------------------------------
    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights] if self.trainable else []

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in getattr(self, "layers", []):
            layer.trainable = value

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    def regularization_loss(self):
        total = 0.0
        for layer in self.layers:
            total = layer.regularization_loss() + total
        return total

    def train(self, mode=True):
        """Put every layer in training (or evaluation) mode: Dropout and BatchNorm depend on it."""
        self.training = mode
        for layer in self.layers:
            if isinstance(layer, Sequential):
                layer.train(mode)
            layer.training = mode
        return self

    def eval(self):
        return self.train(False)

    # ---- description -------------------------------------------------------------------------
    def summary(self, print_fn=print):
        """Print a Keras-style table: each layer's output shape and parameter count, then the totals."""
        rows, shape = [], self._input_shape
        for layer in self.layers:
            if shape is not None:
                shape = layer.compute_output_shape(shape)
            out = validation.show_shape(shape) if shape is not None else "?"
            params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
            rows.append((f"{layer.name} ({type(layer).__name__})", out, params))
        total = self.count_params()
        trainable = sum(w.size for w in self.trainable_weights)
        itemsize = np.dtype(self.dtype).itemsize
        line, thick = "_" * 72, "=" * 72
        lines = [f'Model: "{self.name}"', line, f"{'Layer (type)':<34}{'Output Shape':<24}{'Param #':>14}", thick]
        lines += [f"{name:<34}{out:<24}{params:>14}" for name, out, params in rows]
        lines += [thick, f"Total params: {total:,} ({_size(total * itemsize)})",
                  f"Trainable params: {trainable:,} ({_size(trainable * itemsize)})",
                  f"Non-trainable params: {total - trainable:,} ({_size((total - trainable) * itemsize)})", line]
        print_fn("\n".join(lines))

    def get_config(self):
        from ..layers import serialize

        config = {"name": self.name, "layers": [serialize(layer) for layer in self.layers]}
        if self._input_shape is not None:
            config["input_shape"] = list(self._input_shape[1:])
        return config

    @classmethod
    def from_config(cls, config):
        from ..layers import deserialize

        model = cls(name=config.get("name"))
        for layer_config in config["layers"]:
            model.add(deserialize(layer_config))
        if config.get("input_shape") is not None and not model.built:
            model.build((None,) + tuple(config["input_shape"]))
        return model

    def plot(self, path=None):
        """The layer graph as Graphviz DOT text, drawn to `path` (.svg/.png/.pdf) when given."""
        from ..viz import plot_model

        return plot_model(self, path)

    # ---- saving (see saving.py) --------------------------------------------------------------
    def save(self, filepath):
        from .saving import save_model

        save_model(self, filepath)

    def save_weights(self, filepath):
        from .saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath):
        from .saving import load_weights

        load_weights(self, filepath)


def _declared_input(layer):
    """The input shape a layer declares, without the batch axis (a Sequential's includes it)."""
    shape = layer.input_shape
    return shape[1:] if isinstance(layer, Sequential) and shape is not None else shape


def _size(nbytes):
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
