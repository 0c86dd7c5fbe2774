"""The generic recurrent layer, `RNN(cell)`, and the cells it runs: SimpleRNNCell, LSTMCell, GRUCell
and StackedRNNCells (Keras's names, arguments, weight layouts and call convention).

A cell computes one time step: `cell(inputs, states)` -> `(output, new_states)`, with `states` the list
of its state tensors (`state_size` gives their sizes). RNN calls it step by step on Tensors, so a cell
users write (any Layer with `state_size` and `call(inputs, states)`) trains like the built-in ones: each
step is recorded by autograd and replayed by the step plan. The built-in layers SimpleRNN, LSTM and GRU
compute the same numbers as RNN with the matching cell, with the whole loop as one op (faster).
"""
from .. import functional as F
from .. import ops, tree
from .base import Layer, build_inner
from .recurrent import (_as_keywords, _GRUWeights, _LSTMWeights, _RecurrentWeights, sequence_masks,
                        sequence_options, set_sequence_options)


class _Cell(_RecurrentWeights):
    """What the built-in cells share: their zero states (get_initial_state), and dropout masks drawn at a
    sequence's first step and kept for its other steps (Keras's DropoutRNNCell): RNN resets them after
    each call."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.state_size = self.units
        self.output_size = self.units
        self._dropout_masks = {}

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [ops.zeros((batch_size, size), self.dtype) for size in sizes]

    def get_dropout_mask(self, step_input):
        return self._dropout_mask("input", step_input, self.dropout)

    def get_recurrent_dropout_mask(self, step_input):
        return self._dropout_mask("recurrent", step_input, self.recurrent_dropout)

    def reset_dropout_mask(self):
        self._dropout_masks.pop("input", None)

    def reset_recurrent_dropout_mask(self):
        self._dropout_masks.pop("recurrent", None)

    def _dropout_mask(self, kind, like, rate):
        """The mask (0 or 1/(1-rate)) of this call's steps, drawn by a Function so a replayed step draws anew."""
        if rate and kind not in self._dropout_masks:
            self._dropout_masks[kind] = F.dropout(ops.ones_like(like), rate, seed=self._seed_generator)
        return self._dropout_masks.get(kind)

    def _dropped(self, inputs, h, training):
        """The step's input and previous state, each times its dropout mask when training."""
        if not training:
            return inputs, h
        masks = self.get_dropout_mask(inputs), self.get_recurrent_dropout_mask(h)
        return [x if m is None else x * m for x, m in zip((inputs, h), masks)]


def _first(states):
    """A single-state cell's state, given alone or in a list (Keras accepts both)."""
    return states[0] if tree.is_nested(states) else states


def _like(states, h):
    """The new state in the form the state came: in a list, or alone."""
    return [h] if tree.is_nested(states) else h


class SimpleRNNCell(_Cell):
    """One step of SimpleRNN: h = activation(x·kernel + bias + h_prev·recurrent_kernel)."""

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):  # Keras's order, all of it
        super().__init__(**_as_keywords(locals()))

    def call(self, inputs, states, training=False):
        h_prev = _first(states)
        x, h_dropped = self._dropped(inputs, h_prev, training)
        h = self.activation(F.linear(x, self.kernel, self.bias) + ops.matmul(h_dropped, self.recurrent_kernel))
        return h, _like(states, h)


class LSTMCell(_LSTMWeights, _Cell):
    """One step of LSTM. With z = x·kernel + h_prev·recurrent_kernel + bias cut in four (i, f, c, o):
    c = σ(z_f)·c_prev + σ(z_i)·activation(z_c), h = σ(z_o)·activation(c); the states are [h, c]."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):  # Keras's order, all of it
        super().__init__(**_as_keywords(locals()))
        self.state_size = [self.units, self.units]

    def call(self, inputs, states, training=False):
        h_prev, c_prev = states
        x, h_dropped = self._dropped(inputs, h_prev, training)
        z = F.linear(x, self.kernel) + ops.matmul(h_dropped, self.recurrent_kernel)
        z = z if self.bias is None else z + self.bias
        n, gate = self.units, self.recurrent_activation
        c = gate(z[:, n:2 * n]) * c_prev + gate(z[:, :n]) * self.activation(z[:, 2 * n:3 * n])
        h = gate(z[:, 3 * n:]) * self.activation(c)
        return h, [h, c]


class GRUCell(_GRUWeights, _Cell):
    """One step of GRU. With x·kernel (+ input bias) cut in three (z, r, h) and the recurrent part
    u = h_prev·recurrent_kernel (+ recurrent bias) likewise: z = σ(x_z + u_z), r = σ(x_r + u_r),
    candidate = activation(x_h + r·u_h) (reset_after; else x_h + (r·h_prev)·recurrent_kernel_h),
    h = z·h_prev + (1 - z)·candidate."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, **kwargs):  # Keras's order, all of it
        super().__init__(**_as_keywords(locals()))

    def call(self, inputs, states, training=False):
        h_prev, n = _first(states), self.units
        x, h_dropped = self._dropped(inputs, h_prev, training)
        input_bias, recurrent_bias = self._biases()
        xw = F.linear(x, self.kernel, input_bias)
        if self.reset_after:
            u = F.linear(h_dropped, self.recurrent_kernel, recurrent_bias)
        else:
            u = ops.matmul(h_dropped, self.recurrent_kernel[:, :2 * n])
        z = self.recurrent_activation(xw[:, :n] + u[:, :n])
        r = self.recurrent_activation(xw[:, n:2 * n] + u[:, n:2 * n])
        if self.reset_after:
            recurrent_h = r * u[:, 2 * n:]
        else:
            recurrent_h = ops.matmul(r * h_dropped, self.recurrent_kernel[:, 2 * n:])
        candidate = self.activation(xw[:, 2 * n:] + recurrent_h)
        h = z * h_prev + (1 - z) * candidate
        return h, _like(states, h)

    def _biases(self):
        if self.bias is None:
            return None, None
        return (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)


def _check_cell(cell, what="RNN's cell"):
    """Keras's requirements of a cell, checked when the layer is made; a cell here must be a Layer (its
    weights are the RNN's)."""
    if not isinstance(cell, Layer):
        raise ValueError(f"{what} must be a Layer with a call(inputs, states) method and a state_size, got {cell!r}")
    size = getattr(cell, "state_size", None)
    if not (isinstance(size, int) or isinstance(size, (list, tuple)) and size):
        raise ValueError(f"{what} {cell.name!r} must have a state_size attribute: an integer, or a list of them "
                         f"(one per state), got {size!r}")


def _output_size(cell):
    """The size of a cell's output: its output_size, else its (first) state's size, as Keras reads it."""
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    return tree.flatten(cell.state_size)[0]


class StackedRNNCells(Layer):
    """Cells run one after the other at each step, as one cell: each cell's output is the next cell's
    input; the states are one list per cell. `RNN([cell, cell])` makes one."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells takes a non-empty list of cells, got {cells!r}")
        for cell in cells:
            _check_cell(cell, "each cell of StackedRNNCells")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        return [_initial_state(cell, batch_size, self.dtype) for cell in self.cells]

    def build(self, input_shape):
        for cell in self.cells:
            build_inner(cell, input_shape, self.dtype)
            input_shape = (input_shape[0], _output_size(cell))

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            given_alone = not tree.is_nested(cell_states)
            inputs, cell_states = cell(inputs, [cell_states] if given_alone else list(cell_states), training=training)
            if given_alone and tree.is_nested(cell_states) and len(cell_states) == 1:
                cell_states = cell_states[0]
            new_states.append(cell_states)
        return inputs, new_states

    def get_config(self):
        from . import serialize
        return {**super().get_config(), "cells": [serialize(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        return cls(**{**config, "cells": [deserialize(c, custom_objects) for c in config["cells"]]})


def _initial_state(cell, batch_size, dtype):
    """A cell's zero states: its get_initial_state(batch_size) if it has one, else zeros of
    (batch, size) for each size of state_size (one Tensor for an int, a list for a list)."""
    if hasattr(cell, "get_initial_state"):
        return cell.get_initial_state(batch_size=batch_size)
    dtype = cell.dtype or dtype
    if isinstance(cell.state_size, int):
        return ops.zeros((batch_size, cell.state_size), dtype)
    return [ops.zeros((batch_size, size), dtype) for size in cell.state_size]


class RNN(Layer):
    """Runs a cell over a sequence (batch, steps, ...): at each step the cell reads the step's input and
    the states, and gives an output and new states. `cell` is a cell, or a list of cells stacked
    (StackedRNNCells). Returns the last output (or every step's, `return_sequences`), then the final
    states (`return_state`). A step masked out (Embedding(mask_zero=True), Masking) changes no state
    and outputs the previous output, or zeros with `zero_output_for_mask`, as Keras does."""

    supports_masking = True

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        set_sequence_options(self, return_sequences, return_state, go_backwards, stateful, unroll,
                             zero_output_for_mask)
        cell = StackedRNNCells(cell) if isinstance(cell, (list, tuple)) else cell
        _check_cell(cell)
        self.cell = cell

    @property
    def state_size(self):
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def build(self, sequences_shape, initial_state_shape=None):
        if tree.is_nested(sequences_shape[0]) or len(sequences_shape) < 3:
            raise ValueError(f"{self.name} expects one tensor of sequences (batch, steps, features), got shape(s) "
                             f"{sequences_shape}")
        build_inner(self.cell, (sequences_shape[0], *sequences_shape[2:]), self.dtype)

    def get_initial_state(self, batch_size):
        states = _initial_state(self.cell, batch_size, self.dtype)
        return list(states) if tree.is_nested(states) else [states]

    def call(self, sequences, initial_state=None, mask=None, training=False):
        batch, steps = sequences.shape[:2]
        if steps == 0:
            raise ValueError(f"{self.name} got a sequence of 0 steps: it needs at least one")
        states = self._initial_states(initial_state, batch)
        keep = None if mask is None else ops.cast(mask, "bool")  # True where a step is real
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs, output = [], None
        try:
            for t in order:
                new_output, new_states = self._step(sequences[:, t], states, training)
                if keep is not None:
                    real = keep[:, t:t + 1]
                    previous = ops.zeros_like(new_output) if output is None or self.zero_output_for_mask else output
                    new_output = _select(real, new_output, previous)
                    new_states = tree.pack_like(new_states, [_select(real, new, old) for new, old in zip(
                        tree.flatten(new_states), tree.flatten(states))])
                output, states = new_output, new_states
                outputs.append(output)
        finally:
            _reset_dropout_masks(self.cell)
        output = ops.stack(outputs, axis=1) if self.return_sequences else output
        return [output, *states] if self.return_state else output

    def _step(self, inputs, states, training):
        """One call of the cell, its new states checked against the states it was given."""
        output, new_states = self.cell(inputs, tuple(states), training=training)
        new_states = list(new_states) if tree.is_nested(new_states) else [new_states]
        if len(tree.flatten(new_states)) != len(tree.flatten(states)):
            raise ValueError(f"{self.name}: cell {self.cell.name!r} returned {len(tree.flatten(new_states))} state "
                             f"tensor(s) for the {len(tree.flatten(states))} it was given (its state_size is "
                             f"{self.cell.state_size!r})")
        return output, new_states

    def _initial_states(self, initial_state, batch):
        default = self.get_initial_state(batch)
        if initial_state is None:
            return default
        given = [self._as_tensor(s) for s in tree.flatten(initial_state)]
        expected = [tuple(s.shape) for s in tree.flatten(default)]
        if [s.shape for s in given] != expected:
            raise ValueError(f"{self.name}: initial_state must be {len(expected)} tensor(s) of shape(s) "
                             f"{', '.join(map(str, expected))} (the cell's state_size {self.cell.state_size!r}), "
                             f"got {', '.join(str(s.shape) for s in given) or 'none'}")
        return tree.pack_like(default, given)

    def compute_mask(self, inputs, previous_mask=None):
        return sequence_masks(previous_mask, self.return_sequences, self.return_state and len(self.state_size))

    def get_config(self):
        from . import serialize
        return {**super().get_config(), **sequence_options(self), "cell": serialize(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        return cls(**{**config, "cell": deserialize(config["cell"], custom_objects)})


def _select(real, new, old):
    """new where the step is real, old where it is padding (the step plan replays where() on a mask)."""
    return ops.where(real.reshape(real.shape + (1,) * (new.ndim - 2)), new, old)


def _reset_dropout_masks(layer):
    """Forget the dropout masks of a cell and of the cells inside it: the next sequence draws new ones."""
    for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
        getattr(layer, reset, lambda: None)()
    for inner in layer._sublayers():
        _reset_dropout_masks(inner)
