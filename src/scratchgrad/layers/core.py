"""Dense (the textbook's Affine layer), activation layers, Dropout, Flatten, Reshape, Input, Embedding
and Masking."""
import numpy as np

from .. import activations, constraints, initializers, ops, random, regularizers
from .. import functional as F
from ..backend import array_module, dtype_name, float_dtype
from ..symbolic import Node, SymbolicTensor
from ..tensor import Tensor
from .base import Layer, serialize_initializer, serialize_regularizer


class Dense(Layer):
    """y = activation(x @ kernel + bias); `kernel` has shape (inputs, units) as in Keras."""

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _refuse_adapters("Dense", lora_rank, quantization_config)
        if int(units) != units or units < 1:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}")
        self.units, self.use_bias = int(units), use_bias
        self.activation = activations.get(activation)
        self._set_weight_options(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                                 kernel_constraint, bias_constraint)
        self.kernel = self.bias = None

    def build(self, input_shape):
        n_in = input_shape[-1]
        self.kernel = self.add_weight((n_in, self.units), self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.units,), self.bias_initializer, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")

    @property
    def output_activation(self):
        return activations.name_of(self.activation)

    def call_without_activation(self, x, training=False):
        """x @ kernel + bias, before the activation (the logits the fused losses take)."""
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self.name} was built for inputs with {self.kernel.shape[0]} features, "
                             f"got {x.shape[-1]} (input shape {x.shape})")
        return F.linear(x, self.kernel, self.bias)

    def call(self, x, training=False):
        return self.activation(self.call_without_activation(x, training))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                **self._weight_options_config()}


class Identity(Layer):
    """Passes its input (and mask) on unchanged: a placeholder in a model's structure."""

    supports_masking = True

    def call(self, inputs):
        return inputs


class Activation(Layer):
    """Applies an activation by name or callable: Activation("relu")."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    @property
    def output_activation(self):
        return activations.name_of(self.activation)

    def call_without_activation(self, x, training=False):
        return x

    def call(self, x, training=False):
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class _FixedActivation(Activation):
    """An Activation layer whose function is fixed by the class (ReLU, Sigmoid, Tanh)."""

    function = None

    def __init__(self, **kwargs):
        super().__init__(type(self).function, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        return config


class ReLU(Layer):
    """Keras's ReLU layer: max(x, 0), or with `max_value`, `negative_slope` and `threshold`."""

    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, x):
        return F.relu(x, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class Sigmoid(_FixedActivation):
    function = staticmethod(F.sigmoid)


class Tanh(_FixedActivation):
    function = staticmethod(F.tanh)


class Softmax(Layer):
    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.output_activation = "softmax" if axis == -1 else None  # the fused losses take the last axis

    def call_without_activation(self, x, training=False):
        return x

    def call(self, x, training=False):
        return F.softmax(x, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class LeakyReLU(Layer):
    """max(x, alpha·x); alpha defaults to Keras's 0.3 (`negative_slope` is Keras 3's name for it)."""

    supports_masking = True

    def __init__(self, alpha=None, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        self.alpha = negative_slope if alpha is None else alpha

    def call(self, x, training=False):
        return F.leaky_relu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ELU(Layer):
    supports_masking = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, x, training=False):
        return F.elu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """Leaky ReLU with a learnable slope per input element (Keras: alpha of shape input_shape[1:]), or one
    slope shared along `shared_axes` (for images, shared_axes=[1, 2]: one slope per channel)."""

    supports_masking = True

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = alpha_initializer
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        axes = [shared_axes] if isinstance(shared_axes, (int, np.integer)) else shared_axes
        if axes is not None and not (isinstance(axes, (list, tuple)) and all(
                isinstance(a, (int, np.integer)) and not isinstance(a, bool) and a >= 1 for a in axes)):
            raise ValueError(f"PReLU shared_axes must be None or axes >= 1 (not the batch axis), got {shared_axes!r}")
        self.shared_axes = None if axes is None else [int(a) for a in axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if axis >= len(input_shape):
                raise ValueError(f"{self.name}: shared axis {axis} is not an axis of inputs of shape {input_shape}")
            shape[axis - 1] = 1
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer, regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint, name="alpha")

    def call(self, x, training=False):
        return F.prelu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": serialize_initializer(self.alpha_initializer),
                "alpha_regularizer": serialize_regularizer(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint), "shared_axes": self.shared_axes}


class Embedding(Layer):
    """Maps integer ids (a word's index, say) to learned vectors: row i of an (input_dim, output_dim)
    table. With `mask_zero=True` id 0 is padding, and the layers after it skip those steps."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if int(value) != value or value < 1:
                raise ValueError(f"Embedding {name} must be a positive integer, got {value!r}")
        _refuse_adapters("Embedding", lora_rank, quantization_config)
        self.input_dim, self.output_dim, self.mask_zero = int(input_dim), int(output_dim), mask_zero
        self.supports_masking = mask_zero
        self.embeddings_initializer = embeddings_initializer
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self._initial_weights = weights

    def build(self, input_shape):
        self.embeddings = self.add_weight((self.input_dim, self.output_dim),
                                          initializers.get(self.embeddings_initializer),
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)

    def _as_tensor(self, value):  # ids stay integers (other layers take their inputs in their dtype)
        if value is None or isinstance(value, Tensor):
            return value
        array = array_module(value).asarray(value)
        return Tensor(array) if array.dtype.kind in "iu" else super()._as_tensor(value)

    def call(self, inputs):
        return F.embedding(inputs, self.embeddings)

    def compute_mask(self, inputs, previous_mask=None):
        return ops.not_equal(inputs, 0, dtype=bool) if self.mask_zero else None

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": serialize_initializer(self.embeddings_initializer),
                "embeddings_regularizer": serialize_regularizer(self.embeddings_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero}


class ReversibleEmbedding(Embedding):
    """An Embedding that also runs backwards, as a language model's output layer: call(x, reverse=True)
    maps (..., output_dim) vectors to (..., input_dim) logits by the embedding table transposed
    (`tie_weights`, one table for input and output) or by `reverse_embeddings` (output_dim, input_dim) of
    its own; `logit_soft_cap` c bounds the logits as c·tanh(logits / c). Keras's arguments and weights."""

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer, embeddings_regularizer, embeddings_constraint,
                         mask_zero, **kwargs)
        self.tie_weights, self.reverse_dtype, self.logit_soft_cap = tie_weights, reverse_dtype, logit_soft_cap

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight((self.output_dim, self.input_dim),
                                                      initializers.get(self.embeddings_initializer),
                                                      name="reverse_embeddings")

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = ops.transpose(self.embeddings) if self.tie_weights else self.reverse_embeddings
        if self.reverse_dtype is not None:
            inputs, kernel = ops.cast(inputs, self.reverse_dtype), ops.cast(kernel, self.reverse_dtype)
        logits = ops.matmul(inputs, kernel)
        cap = self.logit_soft_cap
        return logits if cap is None else ops.tanh(logits / cap) * cap

    def compute_mask(self, inputs, previous_mask=None):
        """Padding ids' mask on the way in; none on the way back (its inputs are vectors, not ids)."""
        return super().compute_mask(inputs) if inputs.dtype.kind in "iu" else None

    def compute_output_shape(self, input_shape, reverse=False):
        return tuple(input_shape[:-1]) + (self.input_dim,) if reverse else tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}


class Masking(Layer):
    """Marks as padding every time step whose features all equal `mask_value`: those steps are set to
    0 and the layers after (recurrent layers, pooling, attention) skip them."""

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def call(self, inputs):
        real = ops.max(ops.not_equal(inputs, self.mask_value, dtype=inputs.dtype), axis=-1, keepdims=True)
        outputs = inputs * real
        outputs._keras_mask = ops.not_equal(ops.squeeze(real, -1), 0, dtype=bool)
        return outputs

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability `rate` and scale the rest by
    1/(1 - rate); in evaluation, the identity. Masks come from the framework's seeded generator, or from
    `seed`'s own sequence. `noise_shape` (Keras's) draws one mask entry per entry of that shape and
    broadcasts it, a None taking the input's size: (None, 1, features) drops a feature at every step."""

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"{type(self).__name__} rate must be in [0, 1), got {rate}")
        random.generator(seed)  # a bad seed fails here, where it was given
        self.rate, self.noise_shape, self.seed = rate, None if noise_shape is None else tuple(noise_shape), seed
        self._seed_generator = random.layer_seed(seed)

    def call(self, x, training=False):
        noise_shape = self._noise_shape(x.shape) if training else None
        return F.dropout(x, self.rate, training=training, noise_shape=noise_shape, seed=self._seed_generator)

    def _noise_shape(self, shape):
        if self.noise_shape is None:
            return None
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"{type(self).__name__} noise_shape {self.noise_shape} must have one entry per axis of "
                             f"the input {tuple(shape)}")
        noise = tuple(n if k is None else k for k, n in zip(self.noise_shape, shape))
        if any(k not in (1, n) for k, n in zip(noise, shape)):
            raise ValueError(f"{type(self).__name__} noise_shape {self.noise_shape} does not broadcast to the input "
                             f"{tuple(shape)}")
        return noise

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": random.config_seed(self.seed, f"Dropout {self.name!r}")}


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1·d2·...): keeps the batch axis. With data_format="channels_first" the
    channels go last first, as Keras flattens them (so the same Dense weights follow either layout)."""

    def __init__(self, data_format=None, **kwargs):
        from .convolutional import standard_data_format

        super().__init__(**kwargs)
        self.data_format = standard_data_format(data_format)

    def call(self, x, training=False):
        if self.data_format == "channels_first" and x.ndim > 2:
            x = ops.transpose(x, (0, *range(2, x.ndim), 1))
        return x.reshape(x.shape[0], -1)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}



class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, x, training=False):
        return x.reshape((x.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class InputLayer(Layer):
    """Where data enters a model. `output` is the symbolic tensor that `keras.Input` returns; in a
    Sequential model it declares the input shape (without the batch axis) so the model builds at once."""

    def __init__(self, shape=None, batch_size=None, dtype=None, input_tensor=None, sparse=None, name=None,
                 batch_shape=None, input_shape=None, **kwargs):
        if batch_shape is not None:
            shape, batch_size = tuple(batch_shape)[1:], batch_shape[0]
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("Input needs a shape, e.g. Input(shape=(784,))")
        if sparse:
            raise NotImplementedError("sparse inputs are not supported")
        shape = tuple(np.atleast_1d(shape).tolist()) if not isinstance(shape, (tuple, list)) else tuple(shape)
        dtype = np.str_ if dtype == "string" else dtype  # Keras's name for text: NumPy's str arrays here
        super().__init__(input_shape=shape, dtype=dtype or float_dtype(), name=name, **kwargs)
        self.batch_size = _batch_size(batch_size)
        self.built = True
        output = SymbolicTensor((self.batch_size,) + shape, self.dtype, name=self.name)
        output.node = Node(self, [], output)

    def call(self, x, training=False):
        return x

    def get_config(self):
        return {"batch_shape": [self.batch_size, *self.input_shape], "dtype": dtype_name(self.dtype), "sparse": False,
                "name": self.name}


def _batch_size(value):
    """A declared batch size: None (any) or a whole number of at least 0, as Keras takes it."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"Input's batch size must be None or a whole number >= 0, got {value!r}")
    return int(value)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
    """keras.Input: a symbolic tensor to call layers on (the functional API), or the first entry of a
    Sequential model: Sequential([Input(shape=(4,)), Dense(3)])."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape,
                      **kwargs).output


def _refuse_adapters(kind, lora_rank, quantization_config):
    """Keras's LoRA and quantization options: their defaults (what every saved config holds) only."""
    if lora_rank is not None:
        raise NotImplementedError(f"{kind}(lora_rank=...): LoRA adapters are not supported")
    if quantization_config is not None:
        raise NotImplementedError(f"{kind}(quantization_config=...): quantized layers are not supported")
