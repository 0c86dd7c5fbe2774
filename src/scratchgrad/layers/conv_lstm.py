"""Convolutional LSTM (Shi et al., 2015): an LSTM whose gates are convolutions, so that its state is an
image (or a sequence, or a volume) instead of a vector. For a sequence of frames (video, radar maps),
each step reads a frame and the previous state with convolutions; Keras's ConvLSTM1D/2D/3D arguments,
weight layouts and numbers:

    z_t = conv(x_t, kernel) + b + conv_same(h_{t-1}, recurrent_kernel)     (4·filters channels: i, f, c, o)
    i, f, o = σ(z_i), σ(z_f), σ(z_o);   c_t = f·c_{t-1} + i·tanh(z_c);   h_t = o·tanh(c_t)

The input convolutions of all steps run as one convolution over the (batch·steps) frames; the loop then
adds each step's recurrent convolution (strides 1, "same" padding, as in Keras). With `dropout` or
`recurrent_dropout` in training, each gate reads its input (or state) times a mask of its own, drawn once
per call and kept for every step, as Keras's cell does: four convolutions then instead of one. Built from the
convolution, activation and arithmetic ops, so autograd and the step plan take it as it comes."""
from .. import activations, constraints, initializers, ops, regularizers
from .. import functional as F
from ..backend import array_module
from ..random import layer_seed
from ..tensor import Tensor
from .base import Layer, serialize_initializer, serialize_regularizer
from .convolutional import convolve, set_conv_options
from .recurrent import check_dropout_rates, forget_gate_ones, sequence_masks, sequence_options, set_sequence_options


class _ConvLSTM(Layer):
    """ConvLSTM over `rank` spatial axes: inputs (batch, steps, *spatial, channels) (channels_first: (batch,
    steps, channels, *spatial)); kernel (*kernel_size, channels, 4·filters), recurrent_kernel (*kernel_size,
    filters, 4·filters), bias (4·filters,), the gates in Keras's order i, f, c, o."""

    rank = 2
    supports_masking = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        check_dropout_rates(self, dropout, recurrent_dropout)
        set_sequence_options(self, return_sequences, return_state, go_backwards, stateful, unroll,
                             zero_output_for_mask)
        set_conv_options(self, filters, kernel_size, strides, padding, data_format, dilation_rate)
        self.use_bias, self.unit_forget_bias, self.seed = use_bias, unit_forget_bias, seed
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        self._seed_generator = layer_seed(seed)  # new masks every call, reproducibly
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self._set_weight_options(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                                 kernel_constraint, bias_constraint)
        self.recurrent_initializer = recurrent_initializer
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.recurrent_constraint = constraints.get(recurrent_constraint)

    def build(self, input_shape):
        self._check_rank(input_shape)
        channels = input_shape[2 if self.data_format == "channels_first" else -1]
        width = 4 * self.filters
        self.kernel = self.add_weight(self.kernel_size + (channels, width), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(self.kernel_size + (self.filters, width),
                                                initializers.get(self.recurrent_initializer),
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = self.add_weight((width,), self._bias_initializer(), regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias") if self.use_bias else None

    def _bias_initializer(self):
        return forget_gate_ones(self.bias_initializer, self.filters) if self.unit_forget_bias else \
            self.bias_initializer

    def call(self, x, initial_state=None, mask=None, training=False):
        x = self._as_tensor(x)
        first = self.data_format == "channels_first"
        self._check_frames(x)
        n, steps = x.shape[:2]
        mask = self._step_mask(mask, n, steps)
        if self.go_backwards:
            x, mask = x[:, ::-1], None if mask is None else mask[:, ::-1]
        kernel = self.kernel
        if max(self.dilation_rate) > 1:
            kernel = ops.dilate(kernel, self.dilation_rate + (1, 1))
        channels = 1 if first else -1
        in_masks = self._masks(self.dropout, (n, 1) + x.shape[2:], x, training)  # the same at every step

        def input_convolution(x, gates):
            return convolve(self, x.reshape((n * steps,) + x.shape[2:]), kernel[..., gates], self.strides,
                            self.padding, None if self.bias is None else self.bias[gates],
                            depth_dilation=self.dilation_rate[0])

        z_in = self._by_gate(x, in_masks, input_convolution, channels)
        state_shape = [n, *z_in.shape[1:]]
        state_shape[channels] = self.filters
        z_in = z_in.reshape((n, steps) + z_in.shape[1:])
        h, c = self._initial_states(initial_state, tuple(state_shape), x)
        state_masks = self._masks(self.recurrent_dropout, tuple(state_shape), x, training)

        def recurrent_convolution(h, gates):
            return convolve(self, h, self.recurrent_kernel[..., gates], (1,) * self.rank, "same", None)

        gate = _gate_slicer(self.filters, 1 if first else z_in.ndim - 2)
        outputs, per_sample = [], (n,) + (1,) * (self.rank + 1)  # a step's mask, beside a state
        for t in range(steps):
            z = z_in[:, t] + self._by_gate(h, state_masks, recurrent_convolution, channels)
            i, f = self.recurrent_activation(z[gate(0)]), self.recurrent_activation(z[gate(1)])
            c_new = f * c + i * self.activation(z[gate(2)])
            h_new = self.recurrent_activation(z[gate(3)]) * self.activation(c_new)
            if mask is None:
                h, c = h_new, c_new
            else:  # a padded step keeps the states it was given, as Keras's
                real = mask[:, t].reshape(per_sample)
                h, c = ops.where(real, h_new, h), ops.where(real, c_new, c)
            outputs.append(h)
        output = ops.stack(outputs, axis=1) if self.return_sequences else h
        if self.zero_output_for_mask and mask is not None:
            last = mask.reshape((n, steps) + per_sample[1:]) if self.return_sequences else \
                mask[:, -1].reshape(per_sample)
            output = ops.where(last, output, ops.zeros_like(output))
        return [output, h, c] if self.return_state else output

    def _masks(self, rate, shape, like, training):
        """Keras's four dropout masks of `shape`, one per gate (scaled by 1 / (1 - rate)), drawn once per call
        on `like`'s device; None where nothing drops."""
        if not (training and rate):
            return None
        ones = Tensor(array_module(like.data).ones(shape, like.dtype), dtype=like.dtype)
        return [F.dropout(ones, rate, seed=self._seed_generator) for _ in range(4)]

    def _by_gate(self, x, masks, convolution, channels):
        """convolution(x, gates) for the four gates: one convolution where nothing drops, else each gate's
        own of x times that gate's mask (Keras's cell drops inputs and states apart per gate), joined along
        the channels as the one convolution gives them."""
        if masks is None:
            return convolution(x, slice(None))
        f = self.filters
        return ops.concatenate([convolution(x * m, slice(k * f, (k + 1) * f)) for k, m in enumerate(masks)],
                               axis=channels)

    def _check_frames(self, x):
        """Inputs in the sequence's terms: their rank, and the channels the kernel was built for."""
        kind = f"{self.name} ({type(self).__name__})"
        self._check_rank(x.shape)
        channels = x.shape[2 if self.data_format == "channels_first" else -1]
        if channels != self.kernel.shape[-2]:
            raise ValueError(f"{kind}: input has {channels} channels (shape {tuple(x.shape)}, {self.data_format}) "
                             f"but the layer expects {self.kernel.shape[-2]}")
        if x.shape[1] < 1:
            raise ValueError(f"{kind} needs at least one step, got shape {tuple(x.shape)}")

    def _check_rank(self, shape):
        if len(shape) != self.rank + 3:
            raise ValueError(f"{self.name} ({type(self).__name__}) needs {self.rank + 3}-D inputs (batch, steps, "
                             f"{self.rank} spatial axes and channels), got shape {tuple(shape)}")

    def _step_mask(self, mask, n, steps):
        """A mask of real steps, (batch, steps) bool, or None; a mask per pixel is refused."""
        if mask is None:
            return None
        mask = self._as_tensor(mask)
        if tuple(mask.shape) != (n, steps):
            raise ValueError(f"{self.name} ({type(self).__name__}) takes a mask of whole steps, shape (batch, steps) "
                             f"= {(n, steps)}, got {tuple(mask.shape)} (a mask per pixel is not supported)")
        return mask if mask.dtype == bool else ops.not_equal(mask, 0, dtype=bool)

    def compute_mask(self, inputs, previous_mask=None):
        return sequence_masks(previous_mask, self.return_sequences, 2 if self.return_state else 0)

    def _initial_states(self, initial_state, shape, x):
        """[h, c]: zeros of the output's shape on x's device, or the states given, checked."""
        if initial_state is None:
            zeros = array_module(x.data).zeros(shape, x.dtype)
            return Tensor(zeros, dtype=x.dtype), Tensor(zeros, dtype=x.dtype)
        states = [self._as_tensor(s) for s in initial_state] if isinstance(initial_state, (list, tuple)) else []
        if len(states) != 2 or any(tuple(s.shape) != tuple(shape) for s in states):
            raise ValueError(f"{self.name}: initial_state must be [h, c], two states of shape {tuple(shape)}, got "
                             f"{[tuple(s.shape) for s in states] if states else initial_state!r:.80}")
        return states

    def get_config(self):
        return {**super().get_config(), **sequence_options(self), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation), "use_bias": self.use_bias,
                **self._weight_options_config(),
                "recurrent_initializer": serialize_initializer(self.recurrent_initializer),
                "recurrent_regularizer": serialize_regularizer(self.recurrent_regularizer),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "unit_forget_bias": self.unit_forget_bias, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed}


def _gate_slicer(filters, axis):
    """index(k): the index of gate k's channels (i, f, c, o) along the channel axis `axis` of z."""
    def index(k):
        where = [slice(None)] * (axis + 1)
        where[axis] = slice(k * filters, (k + 1) * filters)
        return tuple(where)
    return index


class ConvLSTM1D(_ConvLSTM):
    """Convolutional LSTM over sequences of 1-D signals: (batch, steps, length, channels)."""

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """Convolutional LSTM over sequences of images (video): (batch, steps, height, width, channels)."""


class ConvLSTM3D(_ConvLSTM):
    """Convolutional LSTM over sequences of volumes: (batch, steps, depth, height, width, channels)."""

    rank = 3
