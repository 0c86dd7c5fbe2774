"""Attention layers as in Keras 3: MultiHeadAttention, and Attention / AdditiveAttention over a list
[query, value] or [query, value, key].

Masks become 0/1 Tensors of the scores' dtype through a recorded op (not_equal) and are applied by
arithmetic, so a mask that is a model input changes with every batch of a replayed training step.
"""
import math

import numpy as np

from .. import functional as F
from .. import ops, regularizers
from ..random import layer_seed
from ..tensor import as_tensor
from .base import Layer, _probing, serialize_regularizer


def _as_mask(mask, like):
    """`mask` as 0/1 in like's dtype: every nonzero (or True) entry attends, as Keras's cast to bool."""
    return ops.not_equal(mask, 0, like.dtype)


def _check_mask(layer, name, mask, expected):
    if mask is not None and tuple(mask.shape) != tuple(expected):
        raise ValueError(f"{layer.name}: {name} must have shape {tuple(expected)} (batch, length), "
                         f"got {tuple(mask.shape)}")


def _causal_mask(q_length, v_length):
    """Query position i attends to positions j <= i (Keras's lower-triangular mask), shape (1, Tq, Tv)."""
    return np.tril(np.ones((1, q_length, v_length)))


def _combine(masks, like):
    """The product (logical and) of the masks given, a Tensor of like's dtype; None when there are none."""
    masks = [m for m in masks if m is not None]
    if not masks:
        return None
    combined = as_tensor(masks[0], like=like)
    for mask in masks[1:]:
        combined = combined * mask
    return combined


def _dropout_seed(dropout, seed):
    return layer_seed(seed) if dropout > 0 else None


class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention (Vaswani et al. 2017) with Keras's weights: per head,
    softmax(q·kᵀ/√key_dim) weighs the values, and the heads are projected back together.

    Inputs are (batch, length, features); `value` and `key` (default: `value`) share their length. The
    weights are Keras's EinsumDense kernels and biases, in its order: query (dim, num_heads, key_dim),
    key, value (dim, num_heads, value_dim), then the output (num_heads, value_dim, *output_shape).
    """

    supports_masking = True  # the output keeps the query's mask (as Keras)

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        if flash_attention not in (None, True, False):
            raise ValueError(f"MultiHeadAttention flash_attention must be None, True or False, got {flash_attention!r}")
        # flash_attention picks a fused kernel in Keras: the same numbers, nothing to choose here
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim), ("value_dim", value_dim),
                           ("sliding_window", sliding_window)):
            optional = value is None and arg in ("value_dim", "sliding_window")
            if not optional and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1):
                raise ValueError(f"MultiHeadAttention {arg} must be a positive integer, got {value!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiHeadAttention dropout must be in [0, 1), got {dropout}")
        if use_gate:
            raise NotImplementedError("MultiHeadAttention(use_gate=True) is not supported")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim or key_dim)
        self.dropout, self.use_bias, self.sliding_window, self.seed = dropout, use_bias, sliding_window, seed
        # not `output_shape`, which would read as the layer's (as Keras avoids it too)
        self._output_shape = None if not output_shape else \
            (int(output_shape),) if isinstance(output_shape, (int, np.integer)) else tuple(output_shape)
        self.attention_axes = _check_attention_axes(attention_axes)
        self._set_weight_options(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                                 kernel_constraint, bias_constraint)
        # Keras gives it to the four projections (query, key, value, output), not to the layer's outputs
        self.projection_regularizer = regularizers.get(activity_regularizer)
        self._seed_generator = _dropout_seed(dropout, seed)
        self.query_kernel = None

    key_value_heads = None  # GroupQueryAttention's fewer key and value heads; None: num_heads

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Keras's build(query_shape, value_shape, key_shape=None). Without value_shape (a first call
        builds from its first input only) the weights wait for the call, which knows every input."""
        if value_shape is None:
            return
        key_shape = value_shape if key_shape is None else key_shape
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3:
                raise ValueError(f"{self.name}: {name} must have shape (batch, length, features), got "
                                 f"{tuple(shape)}")
        heads, out = self.num_heads, self._output_shape or (query_shape[-1],)
        shared = self.key_value_heads or heads
        self.query_kernel, self.query_bias = self._projection("query", (query_shape[-1], heads, self.key_dim))
        self.key_kernel, self.key_bias = self._projection("key", (key_shape[-1], shared, self.key_dim))
        self.value_kernel, self.value_bias = self._projection("value", (value_shape[-1], shared, self.value_dim))
        self.output_kernel, self.output_bias = self._projection("attention_output", (heads, self.value_dim, *out),
                                                                bias_dims=len(out))

    def _projection(self, name, kernel_shape, bias_dims=2):
        kernel = self.add_weight(kernel_shape, self.kernel_initializer, regularizer=self.kernel_regularizer,
                                 constraint=self.kernel_constraint, name=f"{name}/kernel")
        bias = self.add_weight(kernel_shape[-bias_dims:], self.bias_initializer, regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint, name=f"{name}/bias") if self.use_bias else None
        return kernel, bias

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=False, use_causal_mask=False):
        key = value if key is None else key
        if self.query_kernel is None:
            self.build(query.shape, value.shape, key.shape)
        self._check_inputs(query, value, key)
        mask = self._attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                                    use_causal_mask)
        q = self._heads(query, self.query_kernel, self.query_bias) * (1 / math.sqrt(self.key_dim))
        k = self._shared(self._heads(key, self.key_kernel, self.key_bias))
        v = self._shared(self._heads(value, self.value_kernel, self.value_bias))
        scores = q @ ops.transpose(k, (0, 1, 3, 2))  # (batch, heads, Tq, Tv)
        if mask is None:
            probabilities = F.softmax(scores, -1)
        else:
            mask = mask if mask.ndim == 4 else ops.expand_dims(mask, -3)  # the same for every head
            # masked scores become -1e9. A query row with nothing to attend to then attends to every value
            # alike, as Keras's fused dot_product_attention path (no dropout, no scores returned) gives;
            # Keras's other path (its masked softmax) also zeroes masked probabilities: such a row gets 0
            probabilities = F.softmax(scores * mask + (1 - mask) * _large_negative(scores.dtype), -1)
            if self.dropout or return_attention_scores:
                probabilities = probabilities * mask
        dropped = F.dropout(probabilities, self.dropout, training=training, seed=self._seed_generator)
        heads = ops.transpose(dropped @ v, (0, 2, 1, 3))  # (batch, Tq, heads, value_dim)
        output = self._project_out(heads.reshape(heads.shape[0], heads.shape[1], -1))
        return (output, probabilities) if return_attention_scores else output

    def _check_inputs(self, query, value, key):
        for name, x, kernel in (("query", query, self.query_kernel), ("value", value, self.value_kernel),
                                ("key", key, self.key_kernel)):
            if x.ndim != 3 or x.shape[-1] != kernel.shape[0]:
                raise ValueError(f"{self.name}: {name} must have shape (batch, length, {kernel.shape[0]}), "
                                 f"got {tuple(x.shape)}")
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"{self.name}: key and value must have the same length, got key {tuple(key.shape)} "
                             f"and value {tuple(value.shape)}")

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask):
        """Which query position attends to which value position, (batch or 1, Tq or 1, Tv or 1) or with
        a head axis: the and of every mask given, as Keras combines them; None when nothing is masked."""
        (batch, q_length), v_length = query.shape[:2], value.shape[1]
        _check_mask(self, "query_mask", query_mask, (batch, q_length))
        _check_mask(self, "value_mask", value_mask, (batch, v_length))
        _check_mask(self, "key_mask", key_mask, (batch, v_length))
        if attention_mask is not None and (attention_mask.ndim < 2 or any(
                got not in (1, want) for got, want in zip(attention_mask.shape[-2:], (q_length, v_length)))):
            raise ValueError(f"{self.name}: attention_mask must end in (query length, value length) = "
                             f"{(q_length, v_length)} (or 1 to broadcast), got shape {tuple(attention_mask.shape)}")
        like = query
        masks = [None if query_mask is None else ops.expand_dims(_as_mask(query_mask, like), -1),
                 None if value_mask is None else ops.expand_dims(_as_mask(value_mask, like), -2),
                 None if key_mask is None else ops.expand_dims(_as_mask(key_mask, like), -2),
                 _causal_mask(q_length, v_length) if use_causal_mask else None,
                 self._window_mask(q_length, v_length),
                 None if attention_mask is None else _as_mask(attention_mask, like)]
        return _combine(masks, like)

    def _window_mask(self, q_length, v_length):
        if self.sliding_window is None:
            return None
        distance = np.abs(np.arange(q_length)[:, None] - np.arange(v_length)[None, :])
        return (distance < self.sliding_window)[None].astype(np.float64)

    def _heads(self, x, kernel, bias):
        """x (batch, length, dim) projected to (batch, heads, length, head size)."""
        dim, heads, size = kernel.shape
        y = self._penalized(F.linear(x, kernel.reshape(dim, heads * size),
                                       None if bias is None else bias.reshape(heads * size)))
        return ops.transpose(y.reshape(x.shape[0], x.shape[1], heads, size), (0, 2, 1, 3))

    def _shared(self, heads):
        """Key or value heads as the query heads use them: here one each."""
        return heads

    def _project_out(self, x):
        out = self.output_kernel.shape[2:]
        kernel = self.output_kernel.reshape(x.shape[-1], -1)
        y = F.linear(x, kernel, None if self.output_bias is None else self.output_bias.reshape(-1))
        return self._penalized(y).reshape(x.shape[:2] + out)

    def _penalized(self, projection):
        if self.projection_regularizer is not None and not _probing():
            self._regularize_activity(projection, self.projection_regularizer)
        return projection

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return tuple(query_shape[:-1]) + (self._output_shape or tuple(query_shape[-1:]))

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self._output_shape, "attention_axes": self.attention_axes,
                "sliding_window": self.sliding_window,
                **self._weight_options_config(), "seed": self.seed,
                **({} if self.projection_regularizer is None else
                   {"activity_regularizer": serialize_regularizer(self.projection_regularizer)})}


class GroupQueryAttention(MultiHeadAttention):
    """Grouped-query attention (Ainslie et al. 2023): multi-head attention whose keys and values have
    fewer heads, num_key_value_heads, each shared by a group of num_query_heads / num_key_value_heads
    query heads, so its key and value projections (and what a decoder caches) are that much smaller.
    Keras's arguments, weights (query (dim, num_query_heads, head_dim), key and value (dim,
    num_key_value_heads, head_dim), output (num_query_heads, head_dim, dim)) and numbers."""

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        ok = all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1
                 for n in (num_query_heads, num_key_value_heads))
        if not ok or num_query_heads % num_key_value_heads:
            raise ValueError(f"GroupQueryAttention num_query_heads must be a multiple of num_key_value_heads "
                             f"(positive integers), got {num_query_heads!r} and {num_key_value_heads!r}")
        super().__init__(num_query_heads, head_dim, dropout=dropout, use_bias=use_bias, sliding_window=sliding_window,
                         flash_attention=flash_attention, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, use_gate=use_gate,
                         seed=seed, **kwargs)
        self.key_value_heads = int(num_key_value_heads)

    def _shared(self, heads):
        """Each key or value head repeated for the query heads of its group (batch, num_query_heads, ...)."""
        return ops.repeat(heads, self.num_heads // self.key_value_heads, axis=1)

    def get_config(self):
        config = super().get_config()
        for key in ("num_heads", "key_dim", "value_dim", "output_shape", "attention_axes"):
            config.pop(key)
        return {**config, "head_dim": self.key_dim, "num_query_heads": self.num_heads,
                "num_key_value_heads": self.key_value_heads, "use_gate": False}


def _check_attention_axes(axes):
    """(batch, length, features) inputs have one axis to attend over, the sequence axis: Keras's default
    None, which Keras's config then gives as (1,); -2 names the same axis."""
    given = (axes,) if isinstance(axes, (int, np.integer)) else axes
    if given is not None and tuple(given) not in ((1,), (-2,)):
        raise NotImplementedError(f"MultiHeadAttention attends over the sequence axis of (batch, length, "
                                  f"features) inputs only: attention_axes must be None or (1,), got {axes!r}")
    return None if given is None else tuple(given)


def _large_negative(dtype):
    """Keras's stand-in score for a masked position: far below any real one, finite in the dtype."""
    return -3e4 if np.dtype(dtype) == np.float16 else -1e9


class Attention(Layer):
    """Dot-product (Luong) attention over inputs [query, value] or [query, value, key] (key defaults to
    value): softmax(query·keyᵀ) weighs the values. `score_mode="concat"` scores Σ tanh(query + key)
    instead; `use_scale` learns a scalar factor for the scores. mask=[query_mask, value_mask]: the
    value positions masked get no weight and the query positions masked give zeros."""

    supports_masking = True  # the output keeps the query's mask (as Keras)

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{type(self).__name__} score_mode must be 'dot' or 'concat', got {score_mode!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"{type(self).__name__} dropout must be in [0, 1), got {dropout}")
        self.use_scale, self.score_mode, self.dropout, self.seed = use_scale, score_mode, dropout, seed
        self._seed_generator = _dropout_seed(dropout, seed)

    def build(self, input_shape):
        self._check_inputs(input_shape)
        self.scale = self.add_weight((), "ones", name="scale") if self.use_scale else None
        self.concat_score_weight = self.add_weight((), "ones", name="concat_score_weight") \
            if self.score_mode == "concat" else None

    def _check_inputs(self, inputs, mask=None):
        count = len(inputs) if isinstance(inputs, (list, tuple)) else "a single input, not a list"
        if count not in (2, 3):
            raise ValueError(f"{self.name} ({type(self).__name__}) takes a list [query, value] or "
                             f"[query, value, key], got {count}{' inputs' if isinstance(count, int) else ''}")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{self.name} ({type(self).__name__}) takes mask=[query_mask, value_mask], got "
                             f"{mask!r}")

    def _scores(self, query, key):
        """(…, Tq, Tv) scores of every query position against every key position."""
        if self.score_mode == "dot":
            scores = query @ ops.transpose(key, _swap_last(key.ndim))
            return scores if self.scale is None else scores * self.scale
        summed = ops.expand_dims(query, -2) + ops.expand_dims(key, -3)
        summed = summed if self.scale is None else summed * self.scale
        return ops.sum(F.tanh(summed), axis=-1) * self.concat_score_weight

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._check_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask, value_mask = mask[:2] if mask is not None else (None, None)
        scores = self._scores(query, key)
        kept = _combine([None if value_mask is None else ops.expand_dims(_as_mask(value_mask, scores), -2),
                         _causal_mask(*scores.shape[-2:]) if use_causal_mask else None], scores)
        if kept is not None:  # Keras lowers masked scores by 1e9 (65504 in float16) rather than replacing them
            scores = scores - (1 - kept) * (65504.0 if scores.dtype == np.float16 else 1e9)
        weights = F.dropout(F.softmax(scores, -1), self.dropout, training=training, seed=self._seed_generator)
        output = weights @ value
        if query_mask is not None:
            output = output * ops.expand_dims(_as_mask(query_mask, output), -1)
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, previous_mask=None):
        return None if previous_mask is None else previous_mask[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: scores Σ scale·tanh(query + key), with a learned `scale` per
    feature (glorot_uniform, as Keras) when use_scale (the default)."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._check_inputs(input_shape)
        self.scale = self.add_weight(input_shape[0][-1:], "glorot_uniform", name="scale") if self.use_scale else None

    def _scores(self, query, key):
        summed = F.tanh(ops.expand_dims(query, -2) + ops.expand_dims(key, -3))
        return ops.sum(summed if self.scale is None else summed * self.scale, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


def _swap_last(ndim):
    return tuple(range(ndim - 2)) + (ndim - 1, ndim - 2)
