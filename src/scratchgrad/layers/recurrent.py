"""Recurrent layers: SimpleRNN, LSTM and GRU read a sequence (batch, steps, features) one step at a
time, carrying a state. Keras's arguments, weight layouts and masking rules; each layer's loop is one
Function in `scratchgrad/recurrent.py` (the cell's equations, then forward and backward through time)."""
from .. import activations, constraints, initializers, ops, regularizers, tree
from .. import functional as F
from .. import recurrent as R
from ..backend import array_module
from ..random import layer_seed
from ..tensor import Tensor
from .base import Layer, Wrapper, build_inner, serialize_initializer, serialize_regularizer


def _as_keywords(arguments):
    """A public constructor's arguments (its locals() on entry) as keywords for the bases. The public
    classes spell out Keras's positional order, which differs from class to class (SimpleRNN has no
    recurrent_activation, LSTM puts unit_forget_bias after the initializers, GRUCell reset_after before
    seed); the bases take keywords only, so no positional argument lands in the wrong slot."""
    keywords = {name: value for name, value in arguments.items() if name not in ("self", "__class__", "kwargs")}
    return {**keywords, **arguments["kwargs"]}


class _RecurrentWeights(Layer):
    """What a recurrent layer and its cell share: the arguments of the cell's equations (units,
    activations, initializers, regularizers, constraints, dropout rates, seed) and the weights (kernel,
    recurrent_kernel, bias with `blocks` blocks of units: 1, 4 or 3), built from the last input axis."""

    blocks = 1

    def __init__(self, units, *, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        kwargs.pop("implementation", None)  # Keras 2's choice of kernel, which Keras 3 also takes and ignores
        super().__init__(**kwargs)
        if int(units) != units or units < 1:
            raise ValueError(f"{type(self).__name__} units must be a positive integer, got {units!r}")
        check_dropout_rates(self, dropout, recurrent_dropout)
        self.units, self.use_bias = int(units), use_bias
        self.activation, self.recurrent_activation = activations.get(activation), activations.get(recurrent_activation)
        self.initializers = {"kernel": kernel_initializer, "recurrent": recurrent_initializer, "bias": bias_initializer}
        self.regularizers = {"kernel": regularizers.get(kernel_regularizer),
                             "recurrent": regularizers.get(recurrent_regularizer),
                             "bias": regularizers.get(bias_regularizer)}
        self.constraints = {"kernel": constraints.get(kernel_constraint),
                            "recurrent": constraints.get(recurrent_constraint),
                            "bias": constraints.get(bias_constraint)}
        self.dropout, self.recurrent_dropout, self.seed = dropout, recurrent_dropout, seed
        self._seed_generator = layer_seed(seed)  # a new mask every call, reproducibly

    def build(self, input_shape):
        width = self.blocks * self.units
        self.kernel = self._weight("kernel", (input_shape[-1], width))
        self.recurrent_kernel = self._weight("recurrent_kernel", (self.units, width), "recurrent")
        self.bias = self._weight("bias", self._bias_shape(), "bias", self._bias_initializer()) if self.use_bias \
            else None

    def _zero_bias(self, size):
        """A stand-in bias of zeros, on the kernel's device and of its dtype."""
        dtype = self.kernel.dtype
        return Tensor(array_module(self.kernel.data).zeros(size, dtype), dtype=dtype)

    def _weight(self, name, shape, role="kernel", initializer=None):
        return self.add_weight(shape, initializer or initializers.get(self.initializers[role]),
                               regularizer=self.regularizers[role], constraint=self.constraints[role], name=name)

    def _bias_shape(self):
        return (self.blocks * self.units,)

    def _bias_initializer(self):
        return initializers.get(self.initializers["bias"])

    def get_config(self):
        config = {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                  "use_bias": self.use_bias,
                  "kernel_initializer": serialize_initializer(self.initializers["kernel"]),
                  "recurrent_initializer": serialize_initializer(self.initializers["recurrent"]),
                  "bias_initializer": serialize_initializer(self.initializers["bias"]),
                  "kernel_regularizer": serialize_regularizer(self.regularizers["kernel"]),
                  "recurrent_regularizer": serialize_regularizer(self.regularizers["recurrent"]),
                  "bias_regularizer": serialize_regularizer(self.regularizers["bias"]),
                  **{f"{role}_constraint": constraints.serialize(c) for role, c in self.constraints.items()},
                  "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}
        if self.blocks > 1:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return config


class _LSTMWeights:
    """LSTM's layout (the layer's and the cell's): kernels (·, 4·units) in the gate order i, f, c, o;
    `unit_forget_bias` starts the forget gate's bias at 1 so memory is kept early in training."""

    blocks = 4

    def __init__(self, units, *, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias

    def _bias_initializer(self):
        base = super()._bias_initializer()
        return forget_gate_ones(base, self.units) if self.unit_forget_bias else base

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class _GRUWeights:
    """GRU's layout (the layer's and the cell's): kernels (·, 3·units) in the order z, r, h; with
    `reset_after` (the default) the bias is (2, 3·units): the input bias, then the recurrent one."""

    blocks = 3

    def __init__(self, units, *, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = reset_after

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


class _Recurrent(_RecurrentWeights):
    """What SimpleRNN, LSTM and GRU share: input dropout, direction, masks, returned states, and the
    loop over the sequence as one Function of `scratchgrad/recurrent.py`."""

    supports_masking = True
    state_names = ("h",)

    def __init__(self, units, *, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(units, **kwargs)
        for role in ("activation", "recurrent_activation"):
            R.cell_activation(activations.name_of(getattr(self, role)), role)  # refused here, not at the first call
        set_sequence_options(self, return_sequences, return_state, go_backwards, stateful, unroll,
                             zero_output_for_mask)

    @property
    def state_size(self):
        return [self.units] * len(self.state_names)

    def build(self, input_shape, initial_state_shape=None):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name} expects sequences (batch, steps, features), got shape {tuple(input_shape)}")
        super().build(input_shape)

    # ---- the forward pass ----------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=False):
        x = sequences
        if training and self.dropout:  # one mask per sequence, the same at every step (as Keras's cells)
            x = F.dropout(x, self.dropout, noise_shape=(x.shape[0], 1, x.shape[2]), seed=self._seed_generator)
        inputs = self._loop_input(ops.transpose(x, (1, 0, 2)))  # time-major: see recurrent.py
        if mask is not None and (not isinstance(mask, Tensor) or mask.dtype != bool):  # 0/1 floats, say
            mask = ops.not_equal(mask, 0, dtype=bool)
        if self.go_backwards:
            inputs, mask = inputs[::-1], None if mask is None else mask[:, ::-1]
        states = self._initial_states(initial_state, x)
        loop_args = [inputs, *states, *self._loop_weights()] + ([] if mask is None else [mask])
        out = self._loop(training)(*loop_args)  # (steps, batch, ·): every step's state(s)
        return self._outputs(out, mask)

    def _initial_states(self, initial_state, x):
        count = len(self.state_names)
        if initial_state is None:
            zeros = array_module(x.data).zeros((x.shape[0], self.units), x.dtype)  # on x's device
            return [Tensor(zeros, dtype=x.dtype) for _ in range(count)]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != count:
            raise ValueError(f"{self.name} takes {count} initial state(s) ({', '.join(self.state_names)}), "
                             f"got {len(states)}")
        states = [self._as_tensor(s) for s in states]
        for s in states:
            if s.shape != (x.shape[0], self.units):
                raise ValueError(f"{self.name}: an initial state must have shape (batch, units) = "
                                 f"{(x.shape[0], self.units)}, got {s.shape}")
        return states

    def _loop_input(self, x):
        """What the loop reads at each step: x_t·W + b for all steps as one product."""
        return F.linear(x, self.kernel, self._input_bias())

    def _loop(self, training):
        return self.loop(**self._loop_options(training))

    def _loop_weights(self):
        return [self.recurrent_kernel]

    def _loop_options(self, training):
        return dict(activation=activations.name_of(self.activation),
                    recurrent_activation=activations.name_of(self.recurrent_activation),
                    recurrent_dropout=self.recurrent_dropout if training else 0.0, seed=self._seed_generator)

    def _outputs(self, out, mask):
        if self.return_sequences:
            sequence = self._sequence(out)
            if self.zero_output_for_mask and mask is not None:
                sequence = ops.where(ops.expand_dims(mask, -1), sequence, ops.zeros_like(sequence))
            if not self.return_state:
                return sequence
        states = self._final_states(out)
        output = sequence if self.return_sequences else states[0]
        if self.zero_output_for_mask and not self.return_sequences and mask is not None:
            output = ops.where(ops.expand_dims(mask[:, -1], -1), output, ops.zeros_like(output))  # as Keras
        return [output, *states] if self.return_state else output

    def _sequence(self, out):
        return ops.transpose(out, (1, 0, 2))

    def _final_states(self, out):
        return [out[-1]]

    def _input_bias(self):
        return self.bias

    def compute_mask(self, inputs, previous_mask=None):
        return sequence_masks(previous_mask, self.return_sequences, self.return_state and len(self.state_names))

    def get_config(self):
        return {**super().get_config(), **sequence_options(self)}


def forget_gate_ones(initializer, units):
    """Keras's unit_forget_bias: `initializer`'s bias with the forget gate's block (the second of units) at 1,
    so that memory is kept early in training."""
    def initialize(shape, dtype):
        bias = initializer(shape, dtype)
        bias[units:2 * units] = 1
        return bias
    return initialize


def check_dropout_rates(layer, dropout, recurrent_dropout):
    for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
        if not 0 <= rate < 1:
            raise ValueError(f"{type(layer).__name__} {name} must be in [0, 1), got {rate!r}")


def set_sequence_options(layer, return_sequences, return_state, go_backwards, stateful, unroll, zero_output_for_mask):
    """Keras's options of a layer that runs over sequences (SimpleRNN, LSTM, GRU, RNN), set on `layer`.
    stateful=True is refused; `unroll` is accepted and changes no number."""
    if stateful:
        raise NotImplementedError(f"{type(layer).__name__}(stateful=True) is not supported: states are not carried "
                                  f"from one batch to the next (pass initial_state= instead)")
    layer.return_sequences, layer.return_state, layer.go_backwards = return_sequences, return_state, go_backwards
    layer.unroll, layer.zero_output_for_mask = unroll, zero_output_for_mask


def sequence_options(layer):
    """The options set_sequence_options set, for get_config."""
    return {"return_sequences": layer.return_sequences, "return_state": layer.return_state,
            "go_backwards": layer.go_backwards, "stateful": False, "unroll": layer.unroll,
            "zero_output_for_mask": layer.zero_output_for_mask}


def sequence_masks(previous_mask, return_sequences, states):
    """A recurrent layer's output masks (Keras's rule): the input's mask on a returned sequence, none on
    a last output; `states` (a count, 0 when not returned) more Nones for the returned states."""
    mask = tree.flatten(previous_mask)[0] if previous_mask is not None else None
    output_mask = mask if return_sequences else None
    return [output_mask] + [None] * states if states else output_mask


class SimpleRNN(_Recurrent):
    """h_t = activation(x_t·kernel + h_{t-1}·recurrent_kernel + bias): the plainest recurrent layer
    (whose gradient through many steps vanishes or explodes: what LSTM and GRU are for)."""

    # Keras's positional order as far as activity_regularizer; the rest are keywords only (a longer
    # positional call is refused, not misread)
    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, **kwargs):
        super().__init__(**_as_keywords(locals()))

    loop = R.SimpleRNNLoop


class LSTM(_LSTMWeights, _Recurrent):
    """Long short-term memory: a memory cell c_t that gates decide to forget, write and read (see
    recurrent.LSTMLoop for the equations)."""

    state_names = ("h", "c")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, *, use_cudnn="auto", **kwargs):  # Keras's order, as SimpleRNN's
        del use_cudnn  # a choice of GPU kernel: nothing to choose here
        super().__init__(**_as_keywords(locals()))

    loop = R.LSTMLoop

    def _loop_options(self, training):
        return {**super()._loop_options(training), "sequences": self.return_sequences}

    def _loop_input(self, x):
        return x  # the loop makes x_t·W + h_{t-1}·U + b as one product per step

    def _loop_weights(self):
        return [self.kernel, self.recurrent_kernel,
                self.bias if self.bias is not None else self._zero_bias(4 * self.units)]

    def _sequence(self, out):
        return ops.transpose(out[0, 1:], (1, 0, 2))

    def _final_states(self, out):
        return [out[0, -1], out[1, -1]] if self.return_sequences else [out[0], out[1]]


class GRU(_GRUWeights, _Recurrent):
    """Gated recurrent unit: an update gate mixes the old state with a candidate, a reset gate decides
    how much of the old state the candidate sees (see recurrent.GRULoop)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 *, use_cudnn="auto", **kwargs):  # Keras's order, as SimpleRNN's
        del use_cudnn  # a choice of GPU kernel: nothing to choose here
        super().__init__(**_as_keywords(locals()))

    def _input_bias(self):
        return self.bias[0] if self.bias is not None and self.reset_after else self.bias

    def _loop(self, training):
        return R.GRULoop(self.reset_after, **self._loop_options(training))

    def _loop_weights(self):
        if self.bias is not None and self.reset_after:
            return [self.recurrent_kernel, self.bias[1]]
        return [self.recurrent_kernel, self._zero_bias(3 * self.units)]


class Bidirectional(Layer):
    """Runs a recurrent layer forward and a copy of it backward over the sequence and merges the two
    (`merge_mode` "concat", "sum", "mul", "ave", or None for both): every step sees its whole context.
    Weights: the forward layer's, then the backward layer's (Keras's order)."""

    supports_masking = True
    MERGES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        from .rnn import RNN
        if not isinstance(layer, (_Recurrent, RNN)):
            raise ValueError(f"Bidirectional wraps a SimpleRNN, LSTM, GRU or RNN layer, got {layer!r}")
        if merge_mode not in self.MERGES:
            raise ValueError(f"Bidirectional merge_mode must be one of {self.MERGES}, got {merge_mode!r}")
        super().__init__(**kwargs)
        # Both directions are new layers made from `layer`'s config, as in Keras: the layer passed in is left
        # as it was (its name, its weights), so wrapping it twice shares nothing
        self.forward_layer = _renamed_copy(layer, "forward_")
        self.backward_layer = _renamed_copy(layer, "backward_", go_backwards=True) if backward_layer is None \
            else backward_layer
        _check_directions(self.forward_layer, self.backward_layer)
        for inner in (self.forward_layer, self.backward_layer):  # padded steps give zeros, as in Keras
            inner.zero_output_for_mask = inner.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        if weights is not None:
            raise NotImplementedError("Bidirectional(weights=...) is not supported: call set_weights() after building")

    def build(self, sequences_shape, initial_state_shape=None):
        for inner in (self.forward_layer, self.backward_layer):
            build_inner(inner, sequences_shape, self.dtype)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        half = None if initial_state is None else len(initial_state) // 2
        forward = self.forward_layer(sequences, initial_state=None if half is None else initial_state[:half],
                                     mask=mask, training=training)
        backward = self.backward_layer(sequences, initial_state=None if half is None else initial_state[half:],
                                       mask=mask, training=training)
        states = []
        if self.return_state:
            forward, *forward_states = forward
            backward, *backward_states = backward
            states = forward_states + backward_states
        if self.return_sequences:
            backward = backward[:, ::-1]  # back in time order
        merged = self._merge(forward, backward)
        if not states:
            return merged
        return (merged if self.merge_mode is None else [merged]) + states

    def _merge(self, forward, backward):
        if self.merge_mode == "concat":
            return ops.concatenate([forward, backward], axis=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        if self.merge_mode == "ave":
            return (forward + backward) * 0.5
        return [forward, backward]

    def compute_mask(self, inputs, previous_mask=None):
        mask = tree.flatten(previous_mask)[0] if previous_mask is not None else None
        output_mask = mask if self.return_sequences else None
        outputs = [output_mask] * (2 if self.merge_mode is None else 1)
        if self.return_state:
            outputs += [None] * 2 * len(self.forward_layer.state_size)
        return outputs if len(outputs) > 1 else output_mask

    def get_config(self):
        from . import serialize
        return {**super().get_config(), "layer": serialize(self.forward_layer), "merge_mode": self.merge_mode,
                "backward_layer": serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config):
        from . import deserialize
        config = dict(config)
        config["layer"] = deserialize(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize(config["backward_layer"])
        return cls(**config)


def _renamed_copy(layer, prefix, **changes):
    """A new layer from `layer`'s config, named prefix + its name (once), with `changes` to the config."""
    from . import deserialize, serialize
    config = serialize(layer)
    config["config"].update(name=prefix + layer.name.removeprefix(prefix), **changes)
    return deserialize(config)


def _check_directions(forward, backward):
    """Keras's checks on a Bidirectional's two layers: opposite directions, the same outputs."""
    if forward.go_backwards == backward.go_backwards:
        raise ValueError(f"Bidirectional's forward and backward layers must run in opposite directions: both have "
                         f"go_backwards={forward.go_backwards} (the layer wrapped needs False, a backward_layer True)")
    for name in ("stateful", "return_sequences", "return_state"):
        if getattr(forward, name, False) != getattr(backward, name, False):
            raise ValueError(f"Bidirectional's forward and backward layers must have the same {name}: got "
                             f"{getattr(forward, name, False)} and {getattr(backward, name, False)}")


class TimeDistributed(Wrapper):
    """Applies a layer to every time step alike (the same weights): (batch, steps, ...) in and out.
    The steps are folded into the batch axis, so the inner layer runs once."""

    supports_masking = True

    def build(self, input_shape):
        super().build((input_shape[0], *input_shape[2:]))  # a step is a sample to it

    def call(self, inputs, training=None):
        if inputs.ndim < 3:
            raise ValueError(f"{self.name} expects (batch, steps, ...) inputs, got shape {inputs.shape}")
        batch, steps = inputs.shape[:2]
        training = self.layer._call_training(training)  # given by no call: the wrapped layer's own default, as Keras
        options = {"training": training} if self.layer._call_takes_training else {}
        # the layer's call, as Keras runs it: its own activity regularizer does not act (the wrapper's does)
        folded = self.layer.call(inputs.reshape((batch * steps,) + inputs.shape[2:]), **options)
        return folded.reshape((batch, steps) + folded.shape[1:])
