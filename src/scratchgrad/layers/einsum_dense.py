"""EinsumDense: a Dense layer whose product is any einsum of the input and the kernel, e.g.
"abc,cde->abde" projects each step's features into (heads, size) at once, as attention layers do."""
import re

from .. import activations, ops
from ..initializers import VarianceScaling
from .base import Layer, serialize_regularizer
from .core import _refuse_adapters

EQUATIONS = ("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", "0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)",
             "([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0")  # "..." written as 0: none, leading, trailing


class EinsumDense(Layer):
    """y = activation(einsum(equation, x, kernel) + bias). The kernel's shape follows from the equation:
    each of its letters takes its size from the output (`output_shape`, without the batch axis; None for a
    size the input gives) or else from the input. `bias_axes` names the output letters the bias varies
    along (none: no bias). Keras's rules throughout, "..." for axes the product passes through included;
    the kernel's initializer takes its fans along the input and output letters, as Keras's."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _refuse_adapters("EinsumDense", lora_rank, quantization_config)
        self.equation, self.bias_axes = equation, bias_axes
        self.partial_output_shape = [output_shape] if isinstance(output_shape, int) else list(output_shape)
        _split(equation)  # refuses an equation of another form now, not at the first call
        self.activation = activations.get(activation)
        self._set_weight_options(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                                 kernel_constraint, bias_constraint)
        self.kernel = self.bias = None

    def build(self, input_shape):
        kernel_shape, bias_shape, _, input_axes, output_axes = analyze(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        init = self.kernel_initializer
        if isinstance(init, VarianceScaling) and (init.input_axes is None or init.output_axes is None):
            init = type(init).from_config({**init.get_config(), "input_axes": input_axes, "output_axes": output_axes})
        self.kernel = self.add_weight(tuple(kernel_shape), init, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        if bias_shape is not None:
            self.bias = self.add_weight(tuple(bias_shape), self.bias_initializer, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")

    def call(self, x, training=False):
        y = ops.einsum(self.equation, x, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(analyze(self.equation, self.bias_axes, input_shape, self.partial_output_shape)[2])

    def get_config(self):
        return {**super().get_config(), "output_shape": self.partial_output_shape, "equation": self.equation,
                "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
                **self._weight_options_config(),
                "activity_regularizer": serialize_regularizer(self.activity_regularizer), "quantization_config": None}


def _split(equation):
    """(input letters, kernel letters, output letters, where "..." stands: None, "left" or "right")."""
    written = re.sub(r"\.\.\.", "0", equation)
    for pattern, elided in zip(EQUATIONS, (None, "left", "right")):
        match = re.fullmatch(pattern, written)
        if match:
            return (*match.groups(), elided)
    raise ValueError(f"EinsumDense equation must have the form [X],[Y]->[Z], ...[X],[Y]->...[Z] or "
                     f"[X]...,[Y]->[Z]..., got {equation!r}")


def analyze(equation, bias_axes, input_shape, output_shape):
    """Keras's _analyze_einsum_string: (kernel shape, bias shape or None, full output shape, the kernel's
    input axes, its output axes) for inputs of `input_shape` (batch axis first)."""
    input_spec, weight_spec, output_spec, elided_side = _split(equation)
    input_shape = list(input_shape)
    elided = len(input_shape) - len(input_spec)
    full = [input_shape[0]] + ([output_shape] if isinstance(output_shape, int) else list(output_shape))
    if elided > 0 and elided_side == "left":  # in order: Keras's output shape reverses two or more of them
        full[1:1] = input_shape[1:elided]
    elif elided > 0:
        full += input_shape[len(input_shape) - elided:]
    if elided_side == "left":
        input_at = {dim: i + elided - len(input_shape) for i, dim in enumerate(input_spec)}
        output_at = {dim: i + elided for i, dim in enumerate(output_spec)}
    else:
        input_at = {dim: i for i, dim in enumerate(input_spec)}
        output_at = {dim: i for i, dim in enumerate(output_spec)}
    for dim in input_spec:
        size = full[output_at[dim]] if dim in output_at else None
        if size is not None and size != input_shape[input_at[dim]]:
            raise ValueError(f"EinsumDense: input and output differ at shared dimension {dim!r}: the input has "
                             f"{input_shape[input_at[dim]]}, output_shape {size}")
    for dim in output_spec:
        if dim not in input_spec and dim not in weight_spec:
            raise ValueError(f"EinsumDense: output dimension {dim!r} is in neither the input {input_spec!r} nor the "
                             f"kernel {weight_spec!r}")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, dim in enumerate(weight_spec):
        if dim in output_at:
            kernel_shape.append(full[output_at[dim]])
            output_axes.append(i)
        elif dim in input_at:
            kernel_shape.append(input_shape[input_at[dim]])
            input_axes.append(i)
        else:
            raise ValueError(f"EinsumDense: kernel dimension {dim!r} is in neither the input {input_spec!r} nor the "
                             f"output {output_spec!r}; the kernel must be fully specified")
    return kernel_shape, _bias_shape(bias_axes, output_spec, full, elided, elided_side), full, input_axes, output_axes


def _bias_shape(bias_axes, output_spec, full, elided, elided_side):
    """1 along the output letters bias_axes does not name, from the first one it names on (Keras's)."""
    if bias_axes is None:
        return None
    missing = [c for c in bias_axes if c not in output_spec]
    if missing:
        raise ValueError(f"EinsumDense bias_axes {missing} are not in the output {output_spec!r}")
    offset = elided if elided_side == "left" else 0
    size = {c: full[i + offset] for i, c in enumerate(output_spec)}
    first = min(output_spec.find(c) for c in bias_axes)
    shape = [size[c] if c in bias_axes else 1 for c in output_spec[first:]]
    return shape + ([1] * elided if elided_side != "left" else [])
