"""The Layer base: named parameters, lazy weight creation from the first input, configs, weights I/O."""
import re
from collections import defaultdict

import numpy as np

from .. import initializers, regularizers
from ..backend import floatx
from ..tensor import Tensor

_name_counts = defaultdict(int)
LAYERS = {}  # class name -> Layer class: every subclass registers itself (configs name layers by class)


def unique_name(base):
    """dense, dense_1, dense_2, ... as Keras names layers."""
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def snake_case(name):
    """Keras's rule: Dense -> dense, MaxPooling2D -> max_pooling2d, BatchNormalization -> batch_normalization."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer:
    """A layer: `call(x, training)` maps a Tensor to a Tensor; weights are created by `build` on the
    first call, from the input's shape (or earlier, from `input_shape` / `input_dim`)."""

    output_activation = None  # the activation's name when the layer ends in one (see losses.Loss.fuses)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            LAYERS[cls.__name__] = cls

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None, **kwargs):
        if "batch_input_shape" in kwargs:
            input_shape = tuple(kwargs.pop("batch_input_shape"))[1:]
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(kwargs)}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.dtype = None if dtype is None else np.dtype(dtype)
        if input_dim is not None:
            input_shape = (input_dim,)
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.training = False
        self.built = False
        self._weights = []  # Tensors in creation order
        self._trainable_flags = {}  # id(Tensor) -> whether the weight itself is trainable
        self._regularized = []  # (Tensor, regularizer)
        self._trainable = trainable

    # ---- building ----------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (batch axis first, may be None)."""

    def add_weight(self, name, shape, initializer="zeros", regularizer=None, trainable=True):
        data = initializers.get(initializer)(tuple(shape), self.dtype or floatx())
        w = Tensor(data, dtype=data.dtype, requires_grad=trainable and self._trainable, name=f"{self.name}/{name}")
        self._weights.append(w)
        self._trainable_flags[id(w)] = trainable
        if regularizer is not None:
            self._regularized.append((w, regularizer))
        return w

    def _ensure_built(self, x):
        if self.dtype is None:
            self.dtype = x.dtype if x.dtype.kind == "f" else floatx()
        self.build((None,) + tuple(x.shape[1:]))
        self.built = True

    # ---- calling -----------------------------------------------------------------------------
    def __call__(self, x, training=None):
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.dtype)
        if not self.built:
            self._ensure_built(x)
        return self.call(x, self.training if training is None else training)

    def call(self, x, training=False):
        raise NotImplementedError

    def call_without_activation(self, x, training=False):
        """The output before `output_activation` (for a layer that has one): what a fused loss takes."""
        raise NotImplementedError(f"{type(self).__name__} ends in no activation a loss could fuse")

    # ---- weights -----------------------------------------------------------------------------
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for w in self._weights:
            w.requires_grad = self._trainable and self._trainable_flags[id(w)]

    @property
    def weights(self):
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self):
        return [w for w in self._weights if w.requires_grad]

    @property
    def non_trainable_weights(self):
        return [w for w in self._weights if not w.requires_grad]

    def parameters(self):
        """The trainable parameter Tensors (what an optimizer updates)."""
        return self.trainable_weights

    def count_params(self):
        return sum(w.size for w in self._weights)

    def get_weights(self):
        return [np.array(w.numpy()) for w in self.weights]

    def set_weights(self, weights):
        """Assign arrays to the weights, in `weights` order; every shape is checked before any is written."""
        targets = self.weights
        check_weights(self.name, targets, weights)
        for w, value in zip(targets, weights):
            w.data[...] = np.asarray(value, dtype=w.dtype)

    def regularization_loss(self):
        """The sum of this layer's weight penalties (0.0 if none)."""
        total = 0.0
        for w, reg in self._regularized:
            total = reg(w) + total
        return total

    # ---- config ------------------------------------------------------------------------------
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if self.dtype is not None:
            config["dtype"] = self.dtype.name
        if self.input_shape is not None:
            config["input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def compute_output_shape(self, input_shape):
        """The output shape (batch axis None) for an input shape, found by calling on zeros."""
        from ..autograd import no_grad

        with no_grad():
            x = np.zeros((1,) + tuple(input_shape[1:]), dtype=self.dtype or floatx())
            return (None,) + self(x, training=False).shape[1:]

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"


def check_weights(owner, targets, values):
    """Raise ValueError naming the first mismatch between weight Tensors and arrays to assign."""
    if len(values) != len(targets):
        raise ValueError(f"{owner} expects {len(targets)} weight arrays, got {len(values)}")
    for w, value in zip(targets, values):
        shape = tuple(np.shape(value))
        if shape != w.shape:
            raise ValueError(f"{owner}: weight {w.name} has shape {w.shape}, got an array of shape {shape}")


def serialize_initializer(init):
    return init if isinstance(init, str) else initializers.serialize(init)


def serialize_regularizer(reg):
    return regularizers.serialize(reg)
