"""Keras-style losses: `loss(y_true, y_pred)` -> scalar Tensor, with names as compile() takes them.

A loss computes one value per sample (`per_sample`) and averages them, weighted by `sample_weight`
if given (Keras's sum-over-batch-size: Σ wᵢ·lᵢ / N). The cross-entropies know which output
activation they undo (`fused_activation`), so a model whose last layer is softmax or sigmoid trains on
the pre-activation values with the stable fused op (`per_sample_from_logits`).
"""
import numpy as np

from . import functional as F
from . import ops
from .tensor import Tensor, as_tensor

EPSILON = 1e-7


class Loss:
    name = "loss"
    fused_activation = None  # "softmax" / "sigmoid": the activation this loss can absorb
    sparse_targets = False  # True when targets are class indices, not rows like the output

    def __init__(self, from_logits=False, name=None):
        self.from_logits = from_logits
        if name:
            self.name = name

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = as_tensor(y_pred)
        values = self.per_sample(y_pred, y_true)
        return weighted_mean(values, sample_weight)

    def per_sample(self, y_pred, y_true):
        raise NotImplementedError

    def per_sample_from_logits(self, logits, y_true):
        raise NotImplementedError(f"{type(self).__name__} has no logits form")

    def primitive(self, reduction, on_logits):
        """The loss as one Function (for the training fast path), or None if it is not one."""
        return None

    def get_config(self):
        return {"from_logits": self.from_logits, "name": self.name}


def weighted_mean(values, sample_weight=None):
    """Mean of per-sample losses; with weights Σ wᵢ·lᵢ / N, as Keras's default reduction."""
    if sample_weight is None:
        return values.mean()
    if values.ndim == 0:
        raise ValueError("sample_weight and class_weight need a loss with one value per sample; this custom "
                         "loss returned a single number (return the per-sample values, e.g. without .mean())")
    w = sample_weight.data if isinstance(sample_weight, Tensor) else np.asarray(sample_weight)
    return (values * w.astype(values.dtype).reshape(values.shape)).sum() / values.dtype.type(max(values.shape[0], 1))


class CategoricalCrossentropy(Loss):
    """-Σ t·log p over classes; targets are one-hot (or probability) rows."""

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def per_sample(self, y_pred, y_true):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true)
        t = as_tensor(_values(y_true), like=y_pred)
        return -(t * ops.log(y_pred.clip(EPSILON, 1 - EPSILON))).sum(axis=-1)

    def per_sample_from_logits(self, logits, y_true):
        return F.cross_entropy(logits, _values(y_true), reduction="none")

    def primitive(self, reduction, on_logits):
        return F.SoftmaxCrossEntropy(reduction) if on_logits or self.from_logits else None


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """-log p[label]; targets are integer class labels."""

    name = "sparse_categorical_crossentropy"
    sparse_targets = True

    def per_sample(self, y_pred, y_true):
        labels = _labels(y_true)
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, labels)
        picked = y_pred[np.arange(len(labels)), labels]
        return -ops.log(picked.clip(EPSILON, 1 - EPSILON))

    def per_sample_from_logits(self, logits, y_true):
        return F.cross_entropy(logits, _labels(y_true), reduction="none")


class BinaryCrossentropy(Loss):
    """-[t·log p + (1 - t)·log(1 - p)], averaged over a sample's outputs."""

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def per_sample(self, y_pred, y_true):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true)
        return F.binary_cross_entropy(y_pred, _like(y_true, y_pred), reduction="none")

    def per_sample_from_logits(self, logits, y_true):
        return F.binary_cross_entropy_with_logits(logits, _like(y_true, logits), reduction="none")

    def primitive(self, reduction, on_logits):
        logits = on_logits or self.from_logits
        return (F.BinaryCrossEntropyWithLogits if logits else F.BinaryCrossEntropy)(reduction)


class _Elementwise(Loss):
    function = None  # the functional form, e.g. F.mse
    op = None  # its Function class, e.g. F.MeanSquaredError

    def __init__(self, name=None):
        super().__init__(name=name)

    def per_sample(self, y_pred, y_true):
        return type(self).function(y_pred, _like(y_true, y_pred), reduction="none")

    def primitive(self, reduction, on_logits):
        return self.op(reduction)

    def get_config(self):
        return {"name": self.name}


class MeanSquaredError(_Elementwise):
    name = "mean_squared_error"
    function, op = staticmethod(F.mse), F.MeanSquaredError


class MeanAbsoluteError(_Elementwise):
    name = "mean_absolute_error"
    function, op = staticmethod(F.mae), F.MeanAbsoluteError


class SumSquaredError(_Elementwise):
    """The textbook's ½·Σ(y - t)² per sample (averaged over the batch like every loss here)."""

    name = "sum_squared_error"
    function, op = staticmethod(F.sse), F.SumSquaredError


def _values(y):
    return y.data if isinstance(y, Tensor) else np.asarray(y)


def _labels(y):
    y = _values(y)
    return (y[..., 0] if y.ndim > 1 and y.shape[-1] == 1 else y).astype(np.int64, copy=False)


def _like(y_true, y_pred):
    """Targets with the prediction's shape: (N,) labels for an (N, 1) output become (N, 1)."""
    t = _values(y_true)
    return t.reshape(y_pred.shape) if t.size == y_pred.size else t


LOSSES = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "sse": SumSquaredError, "sum_squared_error": SumSquaredError,
}
_CLASSES = {cls.__name__: cls for cls in LOSSES.values()}


def get(identifier):
    """A Loss from a name, a config dict, a Loss, or a callable(y_true, y_pred) -> per-sample Tensor."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier.lower() in LOSSES:
        return LOSSES[identifier.lower()]()
    if callable(identifier):
        return FunctionLoss(identifier)
    raise ValueError(f"unknown loss {identifier!r}; expected one of {', '.join(LOSSES)} or a callable")


class FunctionLoss(Loss):
    """A user's loss function fn(y_true, y_pred) -> per-sample (or scalar) Tensor."""

    def __init__(self, fn):
        super().__init__(name=getattr(fn, "__name__", "loss"))
        self.fn = fn

    def per_sample(self, y_pred, y_true):
        return as_tensor(self.fn(Tensor(_values(y_true), dtype=y_pred.dtype), y_pred))


def serialize(loss):
    if isinstance(loss, FunctionLoss):
        raise ValueError(f"the custom loss {loss.name!r} cannot be saved in a config; save weights instead, "
                         f"or pass it again with compile() after loading")
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


# Keras's functional forms: per-sample values
def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return CategoricalCrossentropy(from_logits).per_sample(as_tensor(y_pred), y_true)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return SparseCategoricalCrossentropy(from_logits).per_sample(as_tensor(y_pred), y_true)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return BinaryCrossentropy(from_logits).per_sample(as_tensor(y_pred), y_true)


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError().per_sample(as_tensor(y_pred), y_true)


def mean_absolute_error(y_true, y_pred):
    return MeanAbsoluteError().per_sample(as_tensor(y_pred), y_true)


mse, mae = mean_squared_error, mean_absolute_error
