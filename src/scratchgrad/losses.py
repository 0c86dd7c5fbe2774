"""Keras-style losses: `loss(y_true, y_pred)` -> scalar Tensor, with names as compile() takes them.

A loss computes one value per sample (`per_sample`) and averages them, weighted by `sample_weight`
if given (Keras's sum-over-batch-size: Σ wᵢ·lᵢ / N). Every step from the targets to the value is a
Function on Tensors, so a recorded training step replays it for new targets.

Fusion is a contract between a loss and the model's last layer: a loss names the activation it can
absorb (`fused_activation`, e.g. softmax for the cross-entropies); when the last layer ends in that
activation (`Layer.output_activation`), the trainer feeds the pre-activation values to
`per_sample_from_logits`, one stable fused op (the textbook's Softmax-with-Loss).

A new loss is one subclass with a `name` (and `aliases`): defining it registers it.
"""
import numpy as np

from . import functional as F
from . import ops
from .tensor import Tensor, as_tensor

EPSILON = 1e-7
LOSSES = {}  # every name compile() takes -> Loss class
CLASSES = {}  # class name -> Loss class (configs name losses by class)


class Loss:
    name = "loss"
    aliases = ()
    fused_activation = None  # "softmax" / "sigmoid": the output activation this loss can absorb
    sparse_targets = False  # True when targets are class indices, not rows like the output

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            for registry, keys in ((CLASSES, [cls.__name__]), (LOSSES, [cls.name, *cls.__dict__.get("aliases", ())])):
                for key in keys:
                    existing = registry.get(key)
                    if existing is None or existing.__module__ == cls.__module__ or \
                            not existing.__module__.startswith("scratchgrad."):
                        registry[key] = cls  # a user's loss never takes a built-in's name

    def __init__(self, from_logits=False, name=None):
        self.from_logits = from_logits
        if name:
            self.name = name

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self.value(as_tensor(y_pred), y_true, sample_weight)

    def value(self, y_pred, y_true, sample_weight=None, logits=False):
        """The batch's loss: the (weighted) mean of the per-sample values; from the logits of the fused
        activation when `logits`. Unweighted, the loss's own op reduces (one op, not two)."""
        per_sample = self.per_sample_from_logits if logits else self.per_sample
        if sample_weight is None:
            return per_sample(y_pred, y_true, reduction="mean")
        return weighted_mean(per_sample(y_pred, y_true), sample_weight)

    def per_sample(self, y_pred, y_true, reduction="none"):
        """One loss value per sample (or their mean, with reduction="mean")."""
        raise NotImplementedError

    def fuses(self, activation):
        """Whether this loss takes the place of `activation` (a name) in front of it."""
        return activation is not None and activation == self.fused_activation and not self.from_logits

    def per_sample_from_logits(self, logits, y_true, reduction="none"):
        raise NotImplementedError(f"{type(self).__name__} has no logits form")

    def get_config(self):
        return {"from_logits": self.from_logits, "name": self.name}


def weighted_mean(values, sample_weight=None):
    """Mean of per-sample losses; with weights Σ wᵢ·lᵢ / N, as Keras's default reduction."""
    if sample_weight is None:
        return values.mean()
    if values.ndim == 0:
        raise ValueError("sample_weight and class_weight need a loss with one value per sample; this custom "
                         "loss returned a single number (return the per-sample values, e.g. without .mean())")
    w = _like(sample_weight, values)
    return (values * w).sum() / values.dtype.type(max(values.shape[0], 1))


class CategoricalCrossentropy(Loss):
    """-Σ t·log p over classes; targets are one-hot (or probability) rows."""

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def per_sample(self, y_pred, y_true, reduction="none"):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true, reduction)
        t = _like(y_true, y_pred)
        return _reduce(-(t * ops.log(y_pred.clip(EPSILON, 1 - EPSILON))).sum(axis=-1), reduction)

    def per_sample_from_logits(self, logits, y_true, reduction="none"):
        return F.cross_entropy(logits, _like(y_true, logits), reduction=reduction)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """-log p[label]; targets are integer class labels."""

    name = "sparse_categorical_crossentropy"
    sparse_targets = True

    def per_sample(self, y_pred, y_true, reduction="none"):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true, reduction)
        return _reduce(-ops.log(F.pick(y_pred, _labels(y_true)).clip(EPSILON, 1 - EPSILON)), reduction)

    def per_sample_from_logits(self, logits, y_true, reduction="none"):
        return F.cross_entropy(logits, _labels(y_true), reduction=reduction)


class BinaryCrossentropy(Loss):
    """-[t·log p + (1 - t)·log(1 - p)], averaged over a sample's outputs."""

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def per_sample(self, y_pred, y_true, reduction="none"):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true, reduction)
        return F.binary_cross_entropy(y_pred, _like(y_true, y_pred), reduction=reduction)

    def per_sample_from_logits(self, logits, y_true, reduction="none"):
        return F.binary_cross_entropy_with_logits(logits, _like(y_true, logits), reduction=reduction)


class _Elementwise(Loss):
    function = None  # the functional form, e.g. F.mse

    def __init__(self, name=None):
        super().__init__(name=name)

    def per_sample(self, y_pred, y_true, reduction="none"):
        return type(self).function(y_pred, _like(y_true, y_pred), reduction=reduction)

    def get_config(self):
        return {"name": self.name}


class MeanSquaredError(_Elementwise):
    name, aliases = "mean_squared_error", ("mse",)
    function = staticmethod(F.mse)


class MeanAbsoluteError(_Elementwise):
    name, aliases = "mean_absolute_error", ("mae",)
    function = staticmethod(F.mae)


class SumSquaredError(_Elementwise):
    """The textbook's ½·Σ(y - t)² per sample (averaged over the batch like every loss here)."""

    name, aliases = "sum_squared_error", ("sse",)
    function = staticmethod(F.sse)


def _reduce(per_sample, reduction):
    return per_sample.mean() if reduction == "mean" else per_sample


def _like(y, y_pred):
    """Targets (or weights) as a Tensor of the prediction's dtype and, when the sizes agree, shape:
    (N,) labels for an (N, 1) output become (N, 1). Ops on a Tensor, so a replayed step follows them."""
    t = y if isinstance(y, Tensor) else Tensor(y, dtype=y_pred.dtype)
    if t.dtype != y_pred.dtype:
        t = ops.astype(t, y_pred.dtype)
    if t.shape != y_pred.shape and t.size == y_pred.size:
        t = ops.reshape(t, y_pred.shape)
    return t


def _labels(y):
    """Integer class labels (N,) as a Tensor; an (N, 1) column is flattened."""
    t = y if isinstance(y, Tensor) else Tensor(y)
    if t.ndim > 1 and t.shape[-1] == 1:
        t = ops.reshape(t, t.shape[:-1])
    return t if t.dtype == np.int64 else ops.astype(t, np.int64)


def get(identifier):
    """A Loss from a name, a class name, a config dict, a Loss, or a callable(y_true, y_pred) ->
    per-sample Tensor."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        return CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = LOSSES.get(identifier.lower()) or CLASSES.get(identifier)
        if cls is not None:
            return cls()
    elif callable(identifier):
        return FunctionLoss(identifier)
    raise ValueError(f"unknown loss {identifier!r}; expected one of {', '.join(sorted(LOSSES))} or a callable")


class FunctionLoss(Loss):
    """A user's loss function fn(y_true, y_pred) -> per-sample (or scalar) Tensor."""

    def __init__(self, fn):
        super().__init__(name=getattr(fn, "__name__", "loss"))
        self.fn = fn

    def per_sample(self, y_pred, y_true, reduction="none"):
        y_true = y_true if isinstance(y_true, Tensor) else Tensor(y_true)
        if y_true.dtype.kind == "f" and y_true.dtype != y_pred.dtype:
            y_true = ops.astype(y_true, y_pred.dtype)
        values = as_tensor(self.fn(y_true, y_pred))
        return values.mean() if reduction == "mean" and values.ndim else values


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
