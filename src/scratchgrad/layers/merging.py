"""Merge layers: several inputs of the same shape into one (Keras's Add, Subtract, Multiply, Average,
Maximum, Minimum, Concatenate, Dot) and their functional forms (`layers.add([a, b])`, ...)."""
import functools

from .. import ops

from .base import Layer


class _Merge(Layer):
    """Element-wise merges: every input has the same shape (batch axis aside)."""

    supports_masking = True
    minimum_inputs = 2

    def build(self, input_shape):
        shapes = _check_inputs(self, input_shape, self.minimum_inputs)
        if any(s[1:] != shapes[0][1:] for s in shapes):
            raise ValueError(f"{self.name} ({type(self).__name__}) needs inputs of one shape, got "
                             f"{' and '.join(map(str, shapes))}")

    def call(self, inputs):
        return functools.reduce(self.combine, inputs)

    def compute_mask(self, inputs, previous_mask=None):
        """A step is real where it is in any input (Keras's rule); no mask if an input has none."""
        if previous_mask is None or any(m is None for m in previous_mask):
            return None
        return functools.reduce(ops.logical_or, previous_mask)


class Add(_Merge):
    combine = staticmethod(ops.add)


class Subtract(_Merge):
    """inputs[0] - inputs[1] (exactly two inputs)."""

    combine = staticmethod(ops.sub)

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"{self.name} (Subtract) takes exactly 2 inputs, got {len(input_shape)}")


class Multiply(_Merge):
    """As Keras: a masked entry of one input counts as 1, and where every input is masked the product is 0."""

    def call(self, inputs, mask=None):
        masks = _feature_masks(inputs, mask)
        product = functools.reduce(ops.mul, [x if m is None else ops.where(m, x, 1)
                                             for x, m in zip(inputs, masks)])
        if any(m is None for m in masks):
            return product
        return ops.where(functools.reduce(ops.logical_or, masks), product, 0)


class Average(_Merge):
    def call(self, inputs):
        return functools.reduce(ops.add, inputs) / len(inputs)


class _Extreme(_Merge):
    """Maximum and Minimum, as Keras: a masked entry gives way to the other operand's, so the result is
    the extreme of the unmasked entries (the first input's where every input is masked)."""

    def call(self, inputs, mask=None):
        masks = _feature_masks(inputs, mask)
        out, out_mask = inputs[0], masks[0]
        for x, m in zip(inputs[1:], masks[1:]):
            x = x if m is None else ops.where(m, x, out)
            out = out if out_mask is None else ops.where(out_mask, out, x)
            out_mask = None if m is None or out_mask is None else ops.logical_or(out_mask, m)
            out = self.combine(out, x)
        return out


class Maximum(_Extreme):
    combine = staticmethod(ops.maximum)


class Minimum(_Extreme):
    combine = staticmethod(ops.minimum)


class Concatenate(Layer):
    """Joins the inputs along `axis`; every other axis must agree."""

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        shapes = _check_inputs(self, input_shape, 2)
        rank = len(shapes[0])
        axis = self.axis % rank
        if any(len(s) != rank or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:] for s in shapes):
            raise ValueError(f"{self.name} (Concatenate) needs inputs that agree on every axis but {self.axis}, "
                             f"got {' and '.join(map(str, shapes))}")

    def call(self, inputs):
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, previous_mask=None):
        """Keras's rule: an input without a mask is all real; the masks, stretched over the features, are
        joined along `axis`, and a step is real where any of its features is."""
        if previous_mask is None or all(m is None for m in previous_mask):
            return None
        masks = [ops.ones_like(x, dtype=bool) if m is None else m
                 for x, m in zip(inputs, _feature_masks(inputs, previous_mask))]
        return ops.any(ops.concatenate(masks, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Layer):
    """The dot product of two inputs along `axes`: (batch, n)·(batch, n) -> (batch, 1); for 3-D inputs a
    batched matrix product. `normalize=True` L2-normalizes both first (cosine similarity)."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes, self.normalize = axes, normalize

    def _axes(self, rank_a, rank_b):
        axes = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        return axes[0] % rank_a, axes[1] % rank_b

    def build(self, input_shape):
        a, b = _check_inputs(self, input_shape, 2, exactly=True)
        if len(a) != len(b) or len(a) not in (2, 3):
            raise ValueError(f"{self.name} (Dot) takes two 2-D or two 3-D inputs, got {a} and {b}")
        i, j = self._axes(len(a), len(b))
        if a[i] != b[j]:
            raise ValueError(f"{self.name} (Dot): axis {i} of {a} and axis {j} of {b} differ in size")

    def call(self, inputs):
        a, b = inputs
        if self.normalize:
            a, b = _l2_normalize(a, self._axes(a.ndim, b.ndim)[0]), _l2_normalize(b, self._axes(a.ndim, b.ndim)[1])
        i, j = self._axes(a.ndim, b.ndim)
        if a.ndim == 2:
            return (a * b).sum(axis=1, keepdims=True)
        a = a if i == 2 else a.transpose(0, 2, 1)
        b = b if j == 1 else b.transpose(0, 2, 1)
        return a @ b

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _feature_masks(inputs, masks):
    """Each input's mask (or None) broadcast to the input's shape: a (batch, steps) mask over the features."""
    masks = masks if masks is not None else [None] * len(inputs)
    return [m if m is None or m.ndim == x.ndim
            else ops.logical_and(ops.expand_dims(m, -1), ops.ones_like(x, dtype=bool))
            for x, m in zip(inputs, masks)]


def _l2_normalize(x, axis):
    return x / ops.sqrt(ops.maximum((x * x).sum(axis=axis, keepdims=True), x.dtype.type(1e-12)))


def _check_inputs(layer, input_shape, minimum, exactly=False):
    if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0], (list, tuple)):
        raise ValueError(f"{layer.name} ({type(layer).__name__}) takes a list of inputs, got one of shape "
                         f"{input_shape}")
    if len(input_shape) < minimum or exactly and len(input_shape) != minimum:
        raise ValueError(f"{layer.name} ({type(layer).__name__}) takes {'exactly' if exactly else 'at least'} "
                         f"{minimum} inputs, got {len(input_shape)}")
    return [tuple(s) for s in input_shape]


def _functional(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)

    merge.__name__ = cls.__name__.lower()
    merge.__doc__ = f"{cls.__name__}(**kwargs)(inputs), Keras's functional form."
    return merge


add, subtract, multiply, average = _functional(Add), _functional(Subtract), _functional(Multiply), _functional(Average)
maximum, minimum, concatenate, dot = (_functional(Maximum), _functional(Minimum), _functional(Concatenate),
                                      _functional(Dot))

