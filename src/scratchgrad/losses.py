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
import math

import numpy as np

from . import functional as F
from . import ops
from .autograd import Function
from .backend import epsilon, float_dtype
from .object_registration import (
    builtin_class,
    custom_instance,
    deserializer,
    function_name,
    lookup,
    object_config,
    stands_for,
)
from .tensor import Tensor, as_tensor

# "mean" is sum_over_batch_size; None "none"; "mean_with_sample_weight" divides by the weights' sum instead
REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum", "none", None)
LOSSES = {}  # every name compile() takes -> Loss class
CLASSES = {}  # class name -> Loss class (configs name losses by class)


class Loss:
    name = "loss"
    aliases = ()
    fused_activation = None  # "softmax" / "sigmoid": the output activation this loss can absorb
    sparse_targets = False  # True when targets are class indices, not rows like the output
    label_sequences = False  # True when targets are sequences of class ids of their own length (CTC)
    class_ids = False  # True when targets are one class id per sample, of any value (Circle)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            for registry, keys in ((CLASSES, [cls.__name__]), (LOSSES, [cls.name, *cls.__dict__.get("aliases", ())])):
                for key in keys:
                    existing = registry.get(key)
                    if existing is None or existing.__module__ == cls.__module__ or \
                            not existing.__module__.startswith("scratchgrad."):
                        registry[key] = cls  # a user's loss never takes a built-in's name

    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(map(repr, REDUCTIONS))}, got {reduction!r}")
        self.from_logits, self.reduction = from_logits, "none" if reduction is None else reduction
        if name:
            self.name = name

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The loss of a batch, reduced as `reduction` says ("none": one value per sample)."""
        y_pred = as_tensor(y_pred)
        if self.reduction == "none":
            values = self.per_sample(y_pred, y_true)
            return values if sample_weight is None else values * _weights_like(sample_weight, values)
        return self.value(y_pred, y_true, sample_weight)

    def value(self, y_pred, y_true, sample_weight=None, logits=False):
        """The batch's loss: the (weighted) mean of the per-sample values (their sum for reduction="sum");
        from the logits of the fused activation when `logits`. Unweighted, the loss's own op reduces."""
        per_sample = self.per_sample_from_logits if logits else self.per_sample
        if self.reduction == "sum":
            values = per_sample(y_pred, y_true)
            return (values if sample_weight is None else values * _weights_like(sample_weight, values)).sum()
        if sample_weight is None:
            return per_sample(y_pred, y_true, reduction="mean")
        if self.reduction == "mean_with_sample_weight":  # Σ wᵢ·lᵢ / Σ wᵢ (0 where the weights sum to 0)
            values = per_sample(y_pred, y_true)
            return ops.divide_no_nan((values * _weights_like(sample_weight, values)).sum(),
                                     _like(sample_weight, values).sum())  # ops: a replayed step reads new weights
        return weighted_mean(per_sample(y_pred, y_true), sample_weight, self.whole_batch)

    whole_batch = False  # the loss is one number for the whole batch (Dice, Tversky): weights broadcast

    def per_sample(self, y_pred, y_true, reduction="none"):
        """One loss value per sample (or their mean, with reduction="mean"). A Keras-style subclass
        implements `call(y_true, y_pred)` instead."""
        if type(self).call is Loss.call:
            raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")
        return _reduce(as_tensor(self.call(_like(y_true, y_pred), y_pred)), reduction)

    def call(self, y_true, y_pred):
        """Keras's way to write a loss: per-sample values from Tensors (with ops)."""
        raise NotImplementedError

    def fuses(self, activation):
        """Whether this loss takes the place of `activation` (a name) in front of it."""
        return activation is not None and activation == self.fused_activation and not self.from_logits

    def per_sample_from_logits(self, logits, y_true, reduction="none"):
        raise NotImplementedError(f"{type(self).__name__} has no logits form")

    def get_config(self):
        return {"from_logits": self.from_logits, "name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def weighted_mean(values, sample_weight=None, broadcast=False):
    """Mean of per-sample losses; with weights Σ wᵢ·lᵢ / N, as Keras's default reduction. A loss of the
    whole batch (`broadcast`) is weighted by each weight in turn, as Keras broadcasts it."""
    if sample_weight is None:
        return values.mean()
    if values.ndim == 0 and broadcast:
        w = _like(sample_weight, values)
        return (values * w).sum() / values.dtype.type(max(w.size, 1))
    if values.ndim == 0:
        raise ValueError("sample_weight and class_weight need a loss with one value per sample; this custom "
                         "loss returned a single number (return the per-sample values, e.g. without .mean())")
    return (values * _weights_like(sample_weight, values)).sum() / values.dtype.type(max(values.size, 1))


def _weights_like(sample_weight, values):
    """Weights per sample (N,) or per value (N, T) lined up with the loss values (N, T, ...): each weights
    its sample's or its own values (Keras refuses (N,) weights for (N, T) values; they are meant per sample)."""
    w = _like(sample_weight, values)
    return w if w.ndim >= values.ndim else ops.reshape(w, w.shape + (1,) * (values.ndim - w.ndim))


class CategoricalCrossentropy(Loss):
    """-Σ t·log p over classes; targets are one-hot (or probability) rows. `label_smoothing` ε moves
    them toward uniform: t·(1 - ε) + ε/classes."""

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name=None, dtype=None):
        super().__init__(from_logits, name, reduction)
        _check_last_axis(self, axis)
        self.label_smoothing, self.axis = label_smoothing, axis

    def _targets(self, y_true, y_pred):
        t = _like(y_true, y_pred)
        return t * (1 - self.label_smoothing) + self.label_smoothing / y_pred.shape[-1] if self.label_smoothing else t

    def per_sample(self, y_pred, y_true, reduction="none"):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true, reduction)
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)  # Keras rescales to sum 1 first
        return _reduce(-(self._targets(y_true, y_pred) * ops.log(p.clip(epsilon(), 1 - epsilon()))).sum(axis=-1),
                       reduction)

    def per_sample_from_logits(self, logits, y_true, reduction="none"):
        return F.cross_entropy(logits, self._targets(y_true, logits), reduction=reduction)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(Loss):
    """-log p[label]; targets are integer class labels. Samples labelled `ignore_class` count for
    nothing (their loss is 0 and the mean is over the others)."""

    name = "sparse_categorical_crossentropy"
    fused_activation = "softmax"
    sparse_targets = True

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", name=None,
                 dtype=None):
        super().__init__(from_logits, name, reduction)
        self.ignore_class = ignore_class

    def per_sample(self, y_pred, y_true, reduction="none"):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true, reduction)
        labels, mask = self._labels_and_mask(y_true)
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        return self._masked(-ops.log(F.pick(p, labels).clip(epsilon(), 1 - epsilon())), mask, reduction)

    def per_sample_from_logits(self, logits, y_true, reduction="none"):
        labels, mask = self._labels_and_mask(y_true)
        if mask is None:
            return F.cross_entropy(logits, labels, reduction=reduction)
        return self._masked(F.cross_entropy(logits, labels, reduction="none"), mask, reduction)

    def value(self, y_pred, y_true, sample_weight=None, logits=False):
        if self.ignore_class is None or sample_weight is None or self.reduction not in ("sum_over_batch_size", "mean"):
            return super().value(y_pred, y_true, sample_weight, logits)
        values = (self.per_sample_from_logits if logits else self.per_sample)(y_pred, y_true)
        _, mask = self._labels_and_mask(y_true)
        return (values * _like(sample_weight, values)).sum() / ops.maximum(ops.astype(mask, values.dtype).sum(), 1.0)

    def _labels_and_mask(self, y_true):
        labels = _labels(y_true)
        if self.ignore_class is None:
            return labels, None
        keep = ops.not_equal(labels, self.ignore_class, np.int64)
        return labels * keep, ops.not_equal(labels, self.ignore_class, float_dtype())  # ignored labels read class 0

    @staticmethod
    def _masked(values, mask, reduction):
        if mask is None:
            return _reduce(values, reduction)
        mask = ops.astype(mask, values.dtype)
        values = values * mask
        return values.sum() / ops.maximum(mask.sum(), 1.0) if reduction == "mean" else values

    def get_config(self):
        return {**super().get_config(), "ignore_class": self.ignore_class}


class BinaryCrossentropy(Loss):
    """-[t·log p + (1 - t)·log(1 - p)], averaged over a sample's outputs; `label_smoothing` ε moves the
    targets toward 1/2: t·(1 - ε) + ε/2."""

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name=None, dtype=None):
        super().__init__(from_logits, name, reduction)
        _check_last_axis(self, axis)
        self.label_smoothing, self.axis = label_smoothing, axis

    def _targets(self, y_true, y_pred):
        t = _like(y_true, y_pred)
        return t * (1 - self.label_smoothing) + 0.5 * self.label_smoothing if self.label_smoothing else t

    def per_sample(self, y_pred, y_true, reduction="none"):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true, reduction)
        return F.binary_cross_entropy(y_pred, self._targets(y_true, y_pred), reduction=reduction)

    def per_sample_from_logits(self, logits, y_true, reduction="none"):
        return F.binary_cross_entropy_with_logits(logits, self._targets(y_true, logits), reduction=reduction)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "axis": self.axis}


class _Elementwise(Loss):
    function = None  # the functional form, e.g. F.mse

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(name=name, reduction=reduction)

    def per_sample(self, y_pred, y_true, reduction="none"):
        return type(self).function(y_pred, _like(y_true, y_pred), reduction=reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


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


class _Composite(Loss):
    """A loss written with ops on Tensors: `elementwise(p, t)` averaged over the last axis (Keras's
    rule), or `per_row(p, t)` for losses defined on whole rows. Options are the constructor's
    keyword arguments, kept for get_config."""

    options = {}
    last_axis_only = False  # an `axis` option that must stay -1

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None, **options):
        super().__init__(name=name, reduction=reduction)
        unknown = set(options) - set(self.options)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(unknown)}")
        self.settings = {**self.options, **options}
        if self.last_axis_only:
            _check_last_axis(self, self.settings["axis"])

    def per_sample(self, y_pred, y_true, reduction="none"):
        return _reduce(self.per_row(y_pred, _like(y_true, y_pred)), reduction)

    def per_row(self, p, t):
        return self.elementwise(p, t).mean(axis=-1)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self.settings}


class MeanAbsolutePercentageError(_Composite):
    name, aliases = "mean_absolute_percentage_error", ("mape",)

    def elementwise(self, p, t):
        return ops.abs((t - p) / ops.maximum(ops.abs(t), epsilon())) * 100.0


class MeanSquaredLogarithmicError(_Composite):
    name, aliases = "mean_squared_logarithmic_error", ("msle",)

    def elementwise(self, p, t):
        d = ops.log(ops.maximum(p, epsilon()) + 1.0) - ops.log(ops.maximum(t, epsilon()) + 1.0)
        return d * d


class Huber(_Composite):
    """½e² for |e| ≤ δ, δ·(|e| - ½δ) beyond: squared near 0, absolute far away (robust to outliers).
    Written as ½q² + δ(|e| - q) with q = min(|e|, δ), which is the same without a branch."""

    name, aliases = "huber_loss", ("huber",)
    options = {"delta": 1.0}

    def elementwise(self, p, t):
        error = ops.abs(p - t)
        q = ops.minimum(error, float(self.settings["delta"]))
        return q * q * 0.5 + (error - q) * float(self.settings["delta"])


class LogCosh(_Composite):
    """log(cosh(e)) = e + softplus(-2e) - log 2: like ½e² near 0 and |e| far away."""

    name, aliases = "log_cosh", ("logcosh",)

    def elementwise(self, p, t):
        e = p - t
        return e + F.softplus(e * -2.0) - math.log(2.0)


class CosineSimilarity(_Composite):
    """-cos(angle between t and p) along `axis`: -1 when they point the same way."""

    name = "cosine_similarity"
    options = {"axis": -1}

    def per_row(self, p, t):
        axis = self.settings["axis"]
        return -(_l2_normalize(t, axis) * _l2_normalize(p, axis)).sum(axis=axis)


class KLDivergence(_Composite):
    """Σ t·log(t / p) with both clipped to [ε, 1]."""

    name, aliases = "kl_divergence", ("kld", "kullback_leibler_divergence")

    def per_row(self, p, t):
        t, p = t.clip(epsilon(), 1.0), p.clip(epsilon(), 1.0)
        return (t * ops.log(t / p)).sum(axis=-1)


class Poisson(_Composite):
    name = "poisson"

    def elementwise(self, p, t):
        return p - t * ops.log(p + epsilon())


class Hinge(_Composite):
    """max(1 - t·p, 0) with targets in {-1, 1} (0/1 targets are mapped to -1/1)."""

    name = "hinge"

    def elementwise(self, p, t):
        return ops.maximum(1.0 - _signed(t) * p, 0.0)


class SquaredHinge(_Composite):
    name = "squared_hinge"

    def elementwise(self, p, t):
        h = ops.maximum(1.0 - _signed(t) * p, 0.0)
        return h * h


class CategoricalHinge(_Composite):
    """max(max over wrong classes of p - p[true class] + 1, 0)."""

    name = "categorical_hinge"

    def per_row(self, p, t):
        positive = (t * p).sum(axis=-1)
        negative = ((1.0 - t) * p).max(axis=-1)
        return ops.maximum(negative - positive + 1.0, 0.0)


class BinaryFocalCrossentropy(_Composite):
    """Binary crossentropy times (1 - p_t)^γ: well-classified samples count less (Lin et al., 2017);
    with `apply_class_balancing`, positives are weighted α and negatives 1 - α."""

    name = "binary_focal_crossentropy"
    fused_activation = "sigmoid"
    last_axis_only = True
    options = {"apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0, "from_logits": False,
               "label_smoothing": 0.0, "axis": -1}

    def __init__(self, **options):
        super().__init__(**options)
        self.from_logits = self.settings["from_logits"]

    def per_sample_from_logits(self, logits, y_true, reduction="none"):
        return _reduce(self._focal(logits, _like(y_true, logits), True).mean(axis=-1), reduction)

    def per_row(self, p, t):
        return self._focal(p, t, self.from_logits).mean(axis=-1)

    def _focal(self, p, t, logits):
        s = self.settings
        if s["label_smoothing"]:
            t = t * (1 - s["label_smoothing"]) + 0.5 * s["label_smoothing"]
        if logits:
            bce = ops.maximum(p, 0.0) - p * t + F.softplus(-ops.abs(p))
            prob = F.sigmoid(p)
        else:
            prob = p.clip(epsilon(), 1 - epsilon())
            bce = -(t * ops.log(prob) + (1.0 - t) * ops.log(1.0 - prob))
        p_t = t * prob + (1.0 - t) * (1.0 - prob)
        factor = ops.pow(1.0 - p_t, float(s["gamma"]))
        if s["apply_class_balancing"]:
            factor = factor * (t * s["alpha"] + (1.0 - t) * (1 - s["alpha"]))
        return factor * bce


class CategoricalFocalCrossentropy(_Composite):
    """-Σ α·(1 - p)^γ·t·log p over classes."""

    name = "categorical_focal_crossentropy"
    fused_activation = "softmax"
    last_axis_only = True
    options = {"alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0, "axis": -1}

    def __init__(self, **options):
        super().__init__(**options)
        self.from_logits = self.settings["from_logits"]

    def per_sample_from_logits(self, logits, y_true, reduction="none"):
        return _reduce(self._focal(F.softmax(logits), _like(y_true, logits)), reduction)

    def per_row(self, p, t):
        return self._focal(F.softmax(p) if self.from_logits else p / p.sum(axis=-1, keepdims=True), t)

    def _focal(self, p, t):
        s = self.settings
        if s["label_smoothing"]:
            t = t * (1 - s["label_smoothing"]) + s["label_smoothing"] / p.shape[-1]
        p = p.clip(epsilon(), 1 - epsilon())
        return -(t * ops.log(p) * ops.pow(1.0 - p, float(s["gamma"])) * float(s["alpha"])).sum(axis=-1)


class Dice(_Composite):
    """1 - 2·|t ∩ p| / (|t| + |p|) over each sample's values: overlap, for segmentation."""

    name = "dice"
    options = {"axis": None}

    @property
    def whole_batch(self):
        return self.settings["axis"] is None  # Keras's default: one number over every value of the batch

    def per_row(self, p, t):
        axes = self.settings["axis"]
        intersection = (t * p).sum(axis=axes)
        return 1.0 - intersection * 2.0 / (t.sum(axis=axes) + p.sum(axis=axes) + epsilon())


class Tversky(_Composite):
    """1 - TP / (TP + α·FN + β·FP): Dice with false negatives and positives weighed apart (α weighs
    the false negatives, as Keras 3 computes it)."""

    name = "tversky"
    options = {"alpha": 0.5, "beta": 0.5, "axis": None}
    whole_batch = Dice.whole_batch

    def per_row(self, p, t):
        s = self.settings
        axes = s["axis"]
        tp = (t * p).sum(axis=axes)
        fp = ((1.0 - t) * p).sum(axis=axes)
        fn = (t * (1.0 - p)).sum(axis=axes)
        return 1.0 - tp / (tp + fn * float(s["alpha"]) + fp * float(s["beta"]) + epsilon())


class CategoricalGeneralizedCrossEntropy(_Composite):
    """(1 - p[label]^q) / q with integer labels: cross-entropy's limit as q → 0 and the mean absolute
    error's at q = 1 (robust to noisy labels; Zhang & Sabuncu, 2018)."""

    name = "categorical_generalized_cross_entropy"
    options = {"q": 0.5}
    sparse_targets = True

    def per_sample(self, y_pred, y_true, reduction="none"):
        q = float(self.settings["q"])
        picked = F.pick(y_pred, _labels(y_true)).clip(epsilon(), 1.0)
        return _reduce((1.0 - ops.pow(picked, q)) * (1.0 / q), reduction)


class Circle(_Composite):
    """Circle loss (Sun et al., 2020), for metric learning: y_pred holds L2-normalized embeddings, y_true
    one class id per sample. Over the batch's pairs, cosine distance d = max(1 - eᵢ·eⱼ, 0); a pair of the same
    class (not a sample with itself, with remove_diagonal) should be close, one of different classes far:

        loss_i = softplus(logsumexp_pos(-γ·max(margin + d, 0)·(margin - d))
                          + logsumexp_neg(γ·max(1 + margin - d, 0)·(1 - margin - d)))

    A sample with no partner of its class has loss 0 and, as in Keras (which masks zero losses), is left
    out of the mean."""

    name = "circle"
    options = {"gamma": 80.0, "margin": 0.4, "remove_diagonal": True}
    class_ids = True  # targets are one class id per sample, of any value

    def per_sample(self, y_pred, y_true, reduction="none"):
        s = self.settings
        gamma, margin = float(s["gamma"]), float(s["margin"])
        labels = ops.reshape(y_true if isinstance(y_true, Tensor) else Tensor(np.asarray(y_true)), (-1, 1))
        positive = ops.equal(labels, ops.transpose(labels))
        negative = ops.logical_not(positive)
        if s["remove_diagonal"]:
            positive = ops.logical_and(positive, ops.logical_not(ops.equal(ops.eye(labels.shape[0]), 1.0)))
        d = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(y_pred)), 0.0)
        pos = -gamma * ops.maximum((margin + d) * ops.cast(positive, d.dtype), 0.0) * (margin - d)
        neg = gamma * ops.maximum((1.0 + margin - d) * ops.cast(negative, d.dtype), 0.0) * (1.0 - margin - d)
        # -1e30, not -inf: a row with no pair then gives a finite -1e30 (softplus 0) and a zero gradient
        p_loss = ops.logsumexp(ops.where(positive, pos, -1e30), axis=1)
        n_loss = ops.logsumexp(ops.where(negative, neg, -1e30), axis=1)
        return _reduce(ops.softplus(p_loss + n_loss), reduction)

    def value(self, y_pred, y_true, sample_weight=None, logits=False):
        if self.reduction == "sum":
            return super().value(y_pred, y_true, sample_weight, logits)
        values = self.per_sample(y_pred, y_true)
        kept = ops.cast(ops.greater(values, 0.0), values.dtype)  # Keras's mask: zero losses leave the mean
        weights = kept if sample_weight is None else kept * _weights_like(sample_weight, values)
        by = weights if self.reduction == "mean_with_sample_weight" and sample_weight is not None else kept
        return ops.divide_no_nan((values * weights).sum(), by.sum())


class CTC(Loss):
    """Connectionist temporal classification (see ctc.py): y_pred holds logits (batch, steps, classes),
    y_true the label sequences (batch, labels), 0 the blank, which also pads them; each sample's loss is
    -log of the probability of every alignment of its labels, as Keras's ctc."""

    name = "ctc"
    label_sequences = True  # targets are class ids of their own length, not one per output row

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(False, name, reduction, dtype)

    def per_sample(self, y_pred, y_true, reduction="none"):
        from .ctc import CTCLoss

        labels = y_true if isinstance(y_true, Tensor) else Tensor(np.asarray(y_true))
        if labels.ndim != 2 or y_pred.ndim != 3:
            raise ValueError(f"ctc takes labels (batch, labels) and logits (batch, steps, classes); got shapes "
                             f"{labels.shape} and {y_pred.shape}")
        return _reduce(CTCLoss(mask_index=0)(y_pred, labels), reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


def _check_last_axis(loss, axis):
    if axis != -1:
        raise NotImplementedError(f"{type(loss).__name__} over an axis other than the last (axis=-1), got axis={axis}")


def _l2_normalize(x, axis):
    return x / ops.sqrt(ops.maximum((x * x).sum(axis=axis, keepdims=True), 1e-12))


class _Signed(Function):
    """0/1 targets as -1/1 (targets already in {-1, 1} stay): Keras's hinge convention, decided per
    batch inside an op so that a replayed step decides again."""

    differentiable = False

    def forward(self, t):
        return t * 2 - 1 if ((t == 0) | (t == 1)).all() else t


def _signed(t):
    return _Signed()(t)


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
    """As keras.losses.get: a loss function's name ("mse", "huber") gives that function (per-sample
    values, unreduced); a class name ("Huber") or a config dict gives a Loss; a Loss or a callable is
    returned as is. A name is looked up first among the user's objects (custom_objects,
    custom_object_scope, register_keras_serializable)."""
    custom = _custom(identifier)
    if custom is not None:
        return custom() if isinstance(custom, type) else custom
    if isinstance(identifier, str) and identifier.lower() in FUNCTIONS and identifier not in CLASSES:
        return FUNCTIONS[identifier.lower()]
    if isinstance(identifier, (Loss, str, dict)):
        return resolve(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"unknown loss {identifier!r}; expected one of {', '.join(sorted(LOSSES))} or a callable")


def resolve(identifier):
    """The Loss compile() trains with: from a name, a class name, a config dict, a Loss, one of the
    loss functions below (its class, so it still fuses with the output activation), or a user's
    callable(y_true, y_pred) -> per-sample Tensor."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        custom = custom_instance(identifier, Loss, "loss")  # Keras's lookup: see object_registration
        if custom is not None:
            return custom
        return builtin_class(identifier, CLASSES, "loss")(**(identifier.get("config") or {}))
    if isinstance(identifier, str):
        custom = _custom(identifier)
        if custom is not None:
            return resolve(custom() if isinstance(custom, type) else custom)
        cls = LOSSES.get(identifier.lower()) or CLASSES.get(identifier)
        if cls is not None:
            return cls()
    elif callable(identifier):
        cls = getattr(identifier, "loss_class", None)
        return cls() if cls is not None else FunctionLoss(identifier)
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


def _custom(identifier):
    """What a loss name means among the user's objects, checked to be a loss: a Loss subclass or instance,
    or a function(y_true, y_pred); None for other identifiers and unknown names."""
    found = lookup(identifier)
    if found is None:
        return None
    if stands_for(found, Loss):
        return found
    raise ValueError(f"loss {identifier!r} names {found!r:.80}, which is neither a Loss nor a function")


deserialize = deserializer(get, "losses")


def serialize(loss):
    """{"class_name", "config"} of a Loss; a custom loss function compile() wrapped is saved as its name: its
    registered name ("package>name"), else its __name__ (loading it then needs custom_objects)."""
    if isinstance(loss, FunctionLoss):
        return function_name(loss.fn, "loss", lambda n: n.lower() in LOSSES or n.lower() in FUNCTIONS or n in CLASSES)
    spec = object_config(loss, Loss, CLASSES, "loss")
    if "registered_name" in spec and spec["config"].get("from_logits") is False:  # Keras's Loss takes none
        spec["config"] = {k: v for k, v in spec["config"].items() if k != "from_logits"}  # so a custom one may not
    return spec


# Keras's functional forms: keras.losses.mean_squared_error(y_true, y_pred, **options) and the others give
# per-sample values (no reduction); one per class, under each of its names
def _function_of(cls):
    def loss(y_true, y_pred, **options):
        return cls(**options).per_sample(as_tensor(y_pred), y_true)
    loss.__name__ = loss.__qualname__ = "huber" if cls is Huber else cls.name  # Keras's function names
    loss.__doc__ = f"Per-sample values of {cls.__name__} (keras.losses.{loss.__name__}); options as the class takes."
    loss.loss_class = cls
    return loss


FUNCTIONS = {}
for _cls in dict.fromkeys(LOSSES.values()):
    _fn = _function_of(_cls)
    FUNCTIONS.update({name: _fn for name, cls in LOSSES.items() if cls is _cls})
globals().update(FUNCTIONS)
del _cls, _fn
