"""Metrics: Keras's stateful protocol — `update_state(...)` accumulates over the batches of an epoch,
`result()` reads the epoch's value, `reset_state()` starts again — on plain arrays (no graph).

Most metrics are a per-sample function averaged with sample weights (`MeanMetricWrapper`); the
per-sample functions are registered by `@metric(name, ...)` where they are defined. Confusion-matrix
metrics (Precision, Recall, AUC, TruePositives, ...) count over thresholds; F1Score, FBetaScore and
R2Score accumulate sums and combine them at the end, as Keras does (not a mean of batch values).
Every class here gives Keras 3's numbers (tests/test_keras_reference.py).
"""
import inspect
import warnings

import numpy as np

from . import compiled, initializers
from .autograd import no_grad
from .backend import epsilon
from .losses import (  # noqa: F401  (keras.metrics names the loss functions too)
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from .object_registration import (
    builtin_class,
    custom_instance,
    deserializer,
    function_name,
    lookup,
    object_config,
    stands_for,
)
from .tensor import Tensor

FUNCTIONS = {}  # name compile(metrics=[...]) takes -> per-sample function
CLASSES = {}  # class name and snake_case name -> Metric class


def metric(*names):
    """Register the decorated per-sample function under `names` (the first is its logged name)."""
    def register(fn):
        for name in names:
            FUNCTIONS[name] = fn
        return fn
    return register


def _snake(name):
    import re

    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _array(value, dtype=np.float64):
    value = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
    return value.astype(dtype) if dtype is not None else value


# ---- the protocol ------------------------------------------------------------------------------------
class Metric:
    """Base of metrics. A subclass makes its state with `add_variable(...)` in `__init__`, changes it in
    `update_state(...)` (with `variable.assign_add(...)` or in place), and reads it in `result()`;
    `reset_state()` puts every variable back to its initial value."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            CLASSES.setdefault(cls.__name__, cls)
            CLASSES.setdefault(_snake(cls.__name__), cls)

    def __init__(self, name=None, dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"a metric's name must be a string, got {name!r:.60}")
        self.name = name or _snake(type(self).__name__)
        self.dtype = np.dtype(dtype or "float32")
        self._variables = []

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        value = Tensor(initializers.get(initializer)(tuple(shape), dtype or self.dtype), name=name)
        self._variables.append((value, initializer))
        return value

    def add_weight(self, shape=(), initializer="zeros", dtype=None, name=None):
        """Keras's other name for add_variable (Deep Learning with Python uses this one)."""
        return self.add_variable(shape, initializer, dtype, name=name)

    @property
    def variables(self):
        return [v for v, _ in self._variables]

    def reset_state(self):
        for value, initializer in self._variables:
            value.data[...] = initializers.get(initializer)(value.shape, value.dtype)

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the result (Keras's metric(y_true, y_pred))."""
        self.update_state(*args, **kwargs)
        return self.result()

    needs_probabilities = True  # False: the same on logits (argmax-based), so a fused loss skips softmax

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _Accumulating(Metric):
    """A weighted total and count kept as floats (the built-ins' fast state)."""

    def __init__(self, name=None, dtype=None):
        super().__init__(name, dtype)
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def _add(self, values, sample_weight):
        values = _array(values, None)
        if sample_weight is None:  # the usual case: no array of ones per batch
            # NumPy adds fewer than 8 contiguous floats one after another, as Python's sum does, without a
            # reduction's fixed cost (most of a metric's update at batch 1)
            small = values.size < 8 and type(values) is np.ndarray and values.dtype.kind == "f" and \
                values.flags.c_contiguous
            self.total += float(sum(values.ravel().tolist()) if small else values.sum(dtype=np.float64))
            self.count += float(values.size)
            return
        values = values.astype(np.float64)
        weights = _weights(sample_weight, values)
        self.total += float((values * weights).sum())
        self.count += float(weights.sum())

    def result(self):
        return self.total / self.count if self.count else 0.0


def _weights(sample_weight, values):
    """Sample weights broadcast over a sample's values (ones when none)."""
    if sample_weight is None:
        return np.ones_like(values)
    w = _array(sample_weight)
    if w.ndim == values.ndim + 1 and w.shape[-1] == 1:  # (n, 1) weights for (n,) values, as Keras squeezes
        w = w[..., 0]
    w = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
    return np.broadcast_to(w, values.shape)


class Mean(_Accumulating):
    """The running (weighted) mean of the values given, e.g. a loss tracker."""

    def update_state(self, values, sample_weight=None):
        self._add(values, sample_weight)


class Sum(_Accumulating):
    def update_state(self, values, sample_weight=None):
        self._add(values, sample_weight)

    def result(self):
        return self.total


class MeanMetricWrapper(_Accumulating):
    """A per-sample function fn(y_true, y_pred, **kwargs) averaged over an epoch with sample weights."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if isinstance(fn, (str, dict)):  # from a config: a function's name, or Keras's {"class_name": "function"}
            named = fn.get("config") if isinstance(fn, dict) and fn.get("class_name") == "function" else fn
            fn = (lookup(named) or FUNCTIONS.get(named)) if isinstance(named, str) else None
        if not callable(fn) or isinstance(fn, type):
            raise TypeError(f"MeanMetricWrapper takes a function fn(y_true, y_pred): a callable, a built-in metric's "
                            f"name or a registered function's, got {fn!r:.80}")
        self.fn, self.kwargs = fn, kwargs
        self.needs_probabilities = fn not in ARGMAX_BASED  # argmax is the same on logits
        super().__init__(name or getattr(fn, "__name__", "metric"), dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if (sample_weight is None and self.fn is sparse_categorical_accuracy and not self.kwargs
                and _counts_hits(y_true, y_pred)):
            self.total += _sparse_hits(y_pred, y_true)  # the same numbers: a sum of ones and zeros
            self.count += len(y_true)
            return
        y_pred = _array(y_pred, np.float64 if self.needs_probabilities else None)  # argmax needs no float64 copy
        self._add(self.fn(_array(y_true, None), y_pred, **self.kwargs), sample_weight)

    def takes_hits(self):
        """Whether add_hits may stand for update_state: this is sparse_categorical_accuracy, as defined here."""
        return (self.fn is sparse_categorical_accuracy and not self.kwargs
                and type(self).update_state is MeanMetricWrapper.update_state)

    def add_hits(self, hits, n):
        """update_state's numbers for n unweighted samples of which `hits` have their label as argmax, counted
        elsewhere (by the fused loss op, in its pass over the logits: trainer.py)."""
        self.total += hits
        self.count += n


# ---- per-sample functions ----------------------------------------------------------------------------
def _labels(y_true, y_pred):
    y_true = y_true.reshape(y_true.shape[:-1]) if y_true.ndim == y_pred.ndim else y_true
    return y_true.astype(np.int64, copy=False)


@metric("accuracy")
def accuracy(y_true, y_pred):
    """1 where the prediction equals the target, element by element."""
    return (y_true.reshape(y_pred.shape) == y_pred).astype(np.float32)


@metric("sparse_categorical_accuracy")
def sparse_categorical_accuracy(y_true, y_pred):
    return (y_pred.argmax(axis=-1) == _labels(y_true, y_pred)).astype(np.float32)


def _counts_hits(y_true, y_pred):
    """Whether _sparse_hits may count sparse_categorical_accuracy's hits: compiled kernels run, the predictions
    are rows of scores and the labels integers, one per row."""
    return (compiled.applies(y_pred) and y_pred.ndim == 2 and y_pred.shape[1] > 0 and y_pred.flags.c_contiguous
            and type(y_true) is np.ndarray and y_true.dtype.kind in "iu" and y_true.dtype.isnative
            and y_true.shape == y_pred.shape[:1])


@compiled.kernel
def _sparse_hits(y_pred, labels):
    """How many rows' argmax is their label, in one pass instead of five NumPy calls (a metric's whole cost at
    batch 1). The argmax is NumPy's: the first maximum, or the first NaN where a row has one."""
    hits = 0
    for i in range(y_pred.shape[0]):
        best, top = 0, y_pred[i, 0]
        for j in range(1, y_pred.shape[1]):
            if top != top:
                break
            if y_pred[i, j] > top or y_pred[i, j] != y_pred[i, j]:
                best, top = j, y_pred[i, j]
        hits += best == labels[i]
    return hits


@metric("categorical_accuracy")
def categorical_accuracy(y_true, y_pred):
    return (y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)).astype(np.float32)


@metric("binary_accuracy")
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where the prediction is on the target's side of `threshold`, element by element (as Keras 3's:
    averaged over an epoch, a sample's outputs weigh as one each, and weights may be per element)."""
    y_true = y_true.reshape(y_pred.shape)
    return ((y_pred > threshold) == (y_true > 0.5)).astype(np.float32)


def _in_top_k(labels, y_pred, k):
    """Whether each row's label is among its k highest scores (ties counted as Keras counts them)."""
    target = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    return ((y_pred > target).sum(axis=-1) < k).astype(np.float32)


@metric("top_k_categorical_accuracy")
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(y_true.argmax(axis=-1), y_pred, k)


@metric("sparse_top_k_categorical_accuracy")
def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """With from_sorted_ids, y_pred holds each row's class ids, best first (as Keras's top-k ids)."""
    if from_sorted_ids:
        labels = _labels(y_true, y_pred[..., :1])
        return (y_pred[..., :k] == labels[..., None]).any(axis=-1).astype(np.float32)
    return _in_top_k(_labels(y_true, y_pred), y_pred, k)


@metric("pearson_correlation")
def pearson_correlation(y_true, y_pred, axis=-1):
    """The correlation of each sample's targets and predictions along `axis` (Keras's formula)."""
    t = y_true.reshape(y_pred.shape) - y_true.reshape(y_pred.shape).mean(axis=axis, keepdims=True)
    p = y_pred - y_pred.mean(axis=axis, keepdims=True)
    return ((t / t.std(axis=axis, keepdims=True)) * (p / p.std(axis=axis, keepdims=True))).mean(axis=axis)


@metric("concordance_correlation")
def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance along `axis`, computed exactly as Keras 3 computes it (its covariance term
    centres the targets on the predictions' mean)."""
    t = y_true.reshape(y_pred.shape)
    t_mean, p_mean = t.mean(axis=axis, keepdims=True), y_pred.mean(axis=axis, keepdims=True)
    norm = (t - t_mean).var(axis=axis, keepdims=True) + (y_pred - p_mean).var(axis=axis, keepdims=True) + \
        (t_mean - p_mean) ** 2
    return (2 * (t - p_mean) * (y_pred - p_mean) / (norm + epsilon())).mean(axis=axis)


def _from_loss(loss_name, sign=1.0, **options):
    """A metric function from a loss's per-sample values (the same formula, computed without a graph)."""
    def fn(y_true, y_pred, **more):
        from . import losses

        cls = losses.resolve(loss_name).__class__
        if "axis" in more and "axis" not in inspect.signature(cls).parameters:  # Keras's metric has axis=-1
            if more.pop("axis") not in (-1, None):
                raise NotImplementedError(f"the {loss_name} metric over an axis other than the last")
        loss = cls(**options, **more)
        with no_grad():
            values = loss.per_sample(Tensor(y_pred, dtype=y_pred.dtype), y_true)
        return sign * values.numpy()

    fn.__name__ = loss_name
    return fn


def _register_loss_metrics():
    table = {("mae", "mean_absolute_error"): "mean_absolute_error",
             ("mse", "mean_squared_error"): "mean_squared_error",
             ("mape", "mean_absolute_percentage_error"): "mean_absolute_percentage_error",
             ("msle", "mean_squared_logarithmic_error"): "mean_squared_logarithmic_error",
             ("logcosh", "log_cosh_error"): "log_cosh", ("kl_divergence", "kld"): "kl_divergence",
             ("poisson",): "poisson", ("hinge",): "hinge", ("squared_hinge",): "squared_hinge",
             ("categorical_hinge",): "categorical_hinge", ("binary_crossentropy",): "binary_crossentropy",
             ("categorical_crossentropy",): "categorical_crossentropy",
             ("sparse_categorical_crossentropy",): "sparse_categorical_crossentropy"}
    for names, loss_name in table.items():
        metric(*names)(_from_loss(loss_name))
    metric("cosine_similarity")(_from_loss("cosine_similarity", -1.0))  # the metric is +cos, the loss -cos


_register_loss_metrics()
mean_absolute_error, mean_squared_error = FUNCTIONS["mae"], FUNCTIONS["mse"]
ARGMAX_BASED = (sparse_categorical_accuracy, categorical_accuracy)


def _wrapper(class_name, function_name, logged=None, **defaults):
    """A Keras metric class that averages a registered per-sample function."""
    def __init__(self, name=None, dtype=None, **kwargs):
        fn = FUNCTIONS[function_name]
        MeanMetricWrapper.__init__(self, fn, name or logged or function_name, dtype, **{**defaults, **kwargs})

    def get_config(self):
        """Keras's: name, dtype and the function's options (its defaults where not given)."""
        options = list(inspect.signature(self.fn).parameters.values())[2:]
        given = {o.name: o.default for o in options if o.default is not o.empty}
        return {**Metric.get_config(self), **given, **self.kwargs}

    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "get_config": get_config,
                                                   "__doc__": f"keras.metrics.{class_name}"})


Accuracy = _wrapper("Accuracy", "accuracy")
BinaryAccuracy = _wrapper("BinaryAccuracy", "binary_accuracy")
CategoricalAccuracy = _wrapper("CategoricalAccuracy", "categorical_accuracy")
SparseCategoricalAccuracy = _wrapper("SparseCategoricalAccuracy", "sparse_categorical_accuracy")
TopKCategoricalAccuracy = _wrapper("TopKCategoricalAccuracy", "top_k_categorical_accuracy")
SparseTopKCategoricalAccuracy = _wrapper("SparseTopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy")
MeanSquaredError = _wrapper("MeanSquaredError", "mean_squared_error")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", "mean_absolute_error")
MeanAbsolutePercentageError = _wrapper("MeanAbsolutePercentageError", "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _wrapper("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error")
CosineSimilarity = _wrapper("CosineSimilarity", "cosine_similarity")
LogCoshError = _wrapper("LogCoshError", "logcosh")
KLDivergence = _wrapper("KLDivergence", "kl_divergence")
Poisson = _wrapper("Poisson", "poisson")
Hinge = _wrapper("Hinge", "hinge")
SquaredHinge = _wrapper("SquaredHinge", "squared_hinge")
CategoricalHinge = _wrapper("CategoricalHinge", "categorical_hinge")
BinaryCrossentropy = _wrapper("BinaryCrossentropy", "binary_crossentropy")
CategoricalCrossentropy = _wrapper("CategoricalCrossentropy", "categorical_crossentropy")
SparseCategoricalCrossentropy = _wrapper("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy")


PearsonCorrelation = _wrapper("PearsonCorrelation", "pearson_correlation")
ConcordanceCorrelation = _wrapper("ConcordanceCorrelation", "concordance_correlation")


class RootMeanSquaredError(MeanSquaredError):
    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name, dtype)

    def result(self):
        return float(np.sqrt(super().result()))


# ---- counts over thresholds --------------------------------------------------------------------------
class _Confusion(Metric):
    """True/false positives/negatives at each threshold (prediction > threshold is positive), over every
    element; `class_id` keeps one column, `top_k` keeps only each row's k highest predictions."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name, dtype)
        self.given_thresholds = None if thresholds is None else np.asarray(thresholds, np.float64).tolist()  # JSON
        self.single = thresholds is None or np.isscalar(thresholds)
        default = 0.5 if top_k is None else -np.inf  # with top_k, being among the k highest is positive
        self.thresholds = np.atleast_1d(default if thresholds is None else thresholds).astype(np.float64)
        self.top_k, self.class_id = top_k, class_id
        self.reset_state()

    def reset_state(self):
        self.counts = {k: np.zeros(len(self.thresholds)) for k in ("tp", "fp", "tn", "fn")}

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _array(y_true), _array(y_pred)
        y_true = y_true.reshape(y_pred.shape)
        weights = _weights(sample_weight, y_pred)
        if self.top_k is not None:  # exactly k per row, the first of tied scores winning (as Keras's top_k)
            top = np.argsort(-y_pred, axis=-1, kind="stable")[..., :self.top_k]
            kept = np.zeros(y_pred.shape, bool)
            np.put_along_axis(kept, top, True, axis=-1)
            y_pred = np.where(kept, y_pred, -np.inf)
        if self.class_id is not None:
            y_true, y_pred, weights = (a[..., self.class_id] for a in (y_true, y_pred, weights))
        positive = y_pred.reshape(-1)[None, :] > self.thresholds[:, None]
        true, w = y_true.reshape(-1)[None, :] > 0.5, weights.reshape(-1)[None, :]
        for key, mask in (("tp", positive & true), ("fp", positive & ~true), ("tn", ~positive & ~true),
                          ("fn", ~positive & true)):
            self.counts[key] += (mask * w).sum(axis=1)

    def _out(self, values):
        return float(values[0]) if self.single else [float(v) for v in values]

    def get_config(self):
        return {**super().get_config(), "thresholds": self.given_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


def _divide(a, b):
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b != 0)


class _Count(_Confusion):
    key = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds, name=name, dtype=dtype)

    def result(self):
        return self._out(self.counts[self.key])

    def get_config(self):
        return {**Metric.get_config(self), "thresholds": self.given_thresholds}


class TruePositives(_Count):
    key = "tp"


class FalsePositives(_Count):
    key = "fp"


class TrueNegatives(_Count):
    key = "tn"


class FalseNegatives(_Count):
    key = "fn"


class Precision(_Confusion):
    """TP / (TP + FP): of what was predicted positive, how much was."""

    def result(self):
        c = self.counts
        return self._out(_divide(c["tp"], c["tp"] + c["fp"]))


class Recall(_Confusion):
    """TP / (TP + FN): of what was positive, how much was found."""

    def result(self):
        c = self.counts
        return self._out(_divide(c["tp"], c["tp"] + c["fn"]))


class _AtConstraint(_Confusion):
    """The best of one rate among the thresholds where another rate reaches `value` (0 if none does),
    over Keras's `num_thresholds` thresholds in [0, 1]."""

    constrained = optimized = None  # names of the rates, from _rates()
    argument = None  # the name the constructor gives `value`

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if not 0 <= value <= 1:
            raise ValueError(f"{type(self).__name__} needs a value in [0, 1], got {value}")
        inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        super().__init__([0.0] + inner + [1.0] if num_thresholds > 1 else [0.5], class_id=class_id, name=name,
                         dtype=dtype)
        self.value, self.num_thresholds = value, num_thresholds

    def get_config(self):
        return {**Metric.get_config(self), self.argument: self.value, "num_thresholds": self.num_thresholds,
                "class_id": self.class_id}

    def result(self):
        c = self.counts
        rates = {"precision": _divide(c["tp"], c["tp"] + c["fp"]), "recall": _divide(c["tp"], c["tp"] + c["fn"]),
                 "specificity": _divide(c["tn"], c["tn"] + c["fp"])}
        feasible = rates[self.constrained] >= self.value
        return float(rates[self.optimized][feasible].max()) if feasible.any() else 0.0


class PrecisionAtRecall(_AtConstraint):
    constrained, optimized, argument = "recall", "precision", "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtConstraint):
    constrained, optimized, argument = "precision", "recall", "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)


class SensitivityAtSpecificity(_AtConstraint):
    constrained, optimized, argument = "specificity", "recall", "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtConstraint):
    constrained, optimized, argument = "recall", "specificity", "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class AUC(Metric):
    """The area under the ROC or precision-recall curve, from counts at `num_thresholds` thresholds
    (Keras's: evenly spaced in [0, 1] plus one just below 0 and one just above 1; the PR area by the
    Davis & Goadrich interpolation). `multi_label` averages one curve per label, weighted by
    `label_weights` where given; without it, label_weights weigh each label's column in the one curve."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        super().__init__(name, dtype)
        if curve not in ("ROC", "PR") or summation_method != "interpolation":
            raise NotImplementedError("AUC supports curve='ROC' or 'PR' with summation_method='interpolation'")
        inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.thresholds = np.array([-epsilon()] + inner + [1 + epsilon()]) if thresholds is None else \
            np.array([-epsilon()] + sorted(thresholds) + [1 + epsilon()])
        self.curve, self.multi_label, self.from_logits = curve, multi_label, from_logits
        self.num_thresholds = len(self.thresholds)
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64).reshape(-1)
        if self.label_weights is not None and (self.label_weights < 0).any():
            raise ValueError(f"AUC label_weights must be >= 0, got {label_weights}")
        self._config = {"num_thresholds": num_thresholds, "curve": curve, "summation_method": summation_method,
                        "thresholds": None if thresholds is None else np.asarray(thresholds, np.float64).tolist(),
                        "multi_label": multi_label, "num_labels": num_labels,
                        "label_weights": None if label_weights is None else self.label_weights.tolist(),
                        "from_logits": from_logits}
        self.reset_state()

    def get_config(self):
        return {**super().get_config(), **self._config}

    def reset_state(self):
        self.counts = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred)
        y_pred = 1 / (1 + np.exp(-y_pred)) if self.from_logits else y_pred
        y_true = _array(y_true).reshape(y_pred.shape)
        weights = _weights(sample_weight, y_pred)
        labels = y_pred.shape[-1] if y_pred.ndim > 1 else 1  # a 1-D batch is one label, as in Keras
        if self.label_weights is not None and len(self.label_weights) != labels:
            raise ValueError(f"AUC has {len(self.label_weights)} label_weights for predictions of {labels} "
                             f"labels (shape {y_pred.shape})")
        if self.label_weights is not None and not self.multi_label:
            weights = weights * self.label_weights
        columns = y_pred.shape[-1] if self.multi_label else 1
        flat = [(a.reshape(-1, columns) if self.multi_label else a.reshape(-1, 1)) for a in (y_true, y_pred, weights)]
        true, pred, w = (a.T[:, None, :] for a in flat)  # (labels, 1, samples)
        positive = pred > self.thresholds[None, :, None]
        counts = {key: (mask * w).sum(axis=2) for key, mask in (
            ("tp", positive & (true > 0.5)), ("fp", positive & (true <= 0.5)),
            ("tn", ~positive & (true <= 0.5)), ("fn", ~positive & (true > 0.5)))}
        self.counts = counts if self.counts is None else {k: self.counts[k] + v for k, v in counts.items()}

    def result(self):
        if self.counts is None:
            return 0.0
        areas = [self._area(*(self.counts[k][i] for k in ("tp", "fp", "tn", "fn")))
                 for i in range(self.counts["tp"].shape[0])]
        if self.multi_label and self.label_weights is not None:
            total = self.label_weights.sum()
            return float(np.dot(areas, self.label_weights) / total) if total else 0.0
        return float(np.mean(areas))

    def _area(self, tp, fp, tn, fn):
        if self.curve == "PR":
            return _interpolated_pr_auc(tp, fp, fn)
        x, y = _divide(fp, fp + tn), _divide(tp, tp + fn)
        return float(((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2).sum())


def _interpolated_pr_auc(tp, fp, fn):
    """Davis & Goadrich (2006): precision interpolated along each segment between thresholds."""
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = _divide(dtp, np.maximum(dp, 0))
    intercept = tp[1:] - slope * p[1:]
    both = (p[:-1] > 0) & (p[1:] > 0)
    ratio = np.where(both, _divide(p[:-1], np.maximum(p[1:], 0)), 1.0)
    increments = _divide(slope * (dtp + intercept * np.log(np.where(ratio > 0, ratio, 1.0))),
                         np.maximum(tp[1:] + fn[1:], 0))
    return float(increments.sum())


# ---- scores combined at the end ----------------------------------------------------------------------
class FBetaScore(Metric):
    """(1 + β²)·P·R / (β²·P + R) per class, from TP, FP and FN summed over the epoch; `average` is None
    (per class), "micro" (counts pooled first), "macro" (plain mean) or "weighted" (by support).
    `threshold=None` marks each row's highest prediction as the positive one."""

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"average must be None, 'micro', 'macro' or 'weighted', got {average!r}")
        super().__init__(name, dtype)
        self.average, self.beta, self.threshold = average, beta, threshold
        self.reset_state()

    def reset_state(self):
        # zeros of the shape seen (a score per class), as Keras's variables keep theirs
        shape = np.shape(getattr(self, "tp", 0.0))
        self.tp, self.fp, self.fn, self.support = (np.zeros(shape) for _ in range(4))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred)
        y_true = _array(y_true).reshape(y_pred.shape)
        if self.threshold is None:
            predicted = (y_pred >= y_pred.max(axis=-1, keepdims=True)).astype(np.float64)
        else:
            predicted = (y_pred > self.threshold).astype(np.float64)
        w = np.ones((len(y_pred), 1)) if sample_weight is None else _array(sample_weight).reshape(-1, 1)
        axis = None if self.average == "micro" else 0
        self.tp = self.tp + (predicted * y_true * w).sum(axis=axis)
        self.fp = self.fp + (predicted * (1 - y_true) * w).sum(axis=axis)
        self.fn = self.fn + ((1 - predicted) * y_true * w).sum(axis=axis)
        self.support = self.support + (y_true * w).sum(axis=axis)

    def result(self):
        precision = self.tp / (self.tp + self.fp + epsilon())
        recall = self.tp / (self.tp + self.fn + epsilon())
        b2 = self.beta ** 2
        score = precision * recall / (b2 * precision + recall + epsilon()) * (1 + b2)
        if self.average == "weighted":
            return float((score * self.support / (np.sum(self.support) + epsilon())).sum())
        if self.average is not None:
            return float(np.mean(score))
        return [float(v) for v in np.atleast_1d(score)]

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average, 1.0, threshold, name, dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class R2Score(Metric):
    """The coefficient of determination, 1 - SS_res / SS_tot, per output from sums over the epoch;
    `class_aggregation` "uniform_average" (mean over outputs), "variance_weighted_average" or None.
    `num_regressors` p adjusts it as Keras does, with n the number of target values seen:
    1 - (1 - R²)·(n - 1)/(n - p - 1), the plain R² (with a warning) where p ≥ n - 1."""

    AGGREGATIONS = ("uniform_average", "variance_weighted_average", None)

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        if class_aggregation not in self.AGGREGATIONS:
            raise ValueError(f"class_aggregation must be one of {self.AGGREGATIONS}, got {class_aggregation!r}")
        if num_regressors < 0:
            raise ValueError(f"num_regressors must be >= 0, got {num_regressors}")
        super().__init__(name, dtype)
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.reset_state()

    def reset_state(self):
        self.sum = self.squared_sum = self.residual = self.count = 0.0
        self.num_samples = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred)
        y_pred = y_pred.reshape(len(y_pred), -1)
        y_true = _array(y_true).reshape(y_pred.shape)
        w = np.ones((len(y_pred), 1)) if sample_weight is None else _array(sample_weight).reshape(-1, 1)
        self.sum = self.sum + (y_true * w).sum(axis=0)
        self.squared_sum = self.squared_sum + (y_true * y_true * w).sum(axis=0)
        self.residual = self.residual + ((y_true - y_pred) ** 2 * w).sum(axis=0)
        self.count = self.count + np.broadcast_to(w, y_true.shape).sum(axis=0)
        self.num_samples += y_true.size

    def result(self):
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        score = 1 - _divide(np.asarray(self.residual, np.float64), np.asarray(total, np.float64))
        if self.class_aggregation == "uniform_average":
            score = np.mean(score)
        elif self.class_aggregation == "variance_weighted_average":
            score = (score * total).sum() / total.sum()
        p, n = self.num_regressors, self.num_samples
        if p and p >= n - 1:
            warnings.warn(f"R2Score: num_regressors {p} leaves no degrees of freedom with {n} values; giving the "
                          f"plain R²", stacklevel=2)
        elif p:
            score = 1 - (1 - score) * (n - 1) / (n - p - 1)
        return [float(v) for v in score] if self.class_aggregation is None else float(score)

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


# ---- intersection over union ----------------------------------------------------------------------
class IoU(Metric):
    """Intersection over union of classes (segmentation's measure), from a confusion matrix summed over
    the epoch: for each class in `target_class_ids`, TP / (TP + FP + FN), averaged over the classes that
    occur. Labels are class ids (`sparse_y_*=True`) or rows whose argmax is taken."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name, dtype)
        outside = [i for i in target_class_ids if not 0 <= i < num_classes]
        if outside:
            raise ValueError(f"{type(self).__name__} target_class_ids must lie in [0, {num_classes}), got {outside}")
        self.num_classes, self.target_class_ids = num_classes, list(target_class_ids)
        self.ignore_class, self.sparse_y_true, self.sparse_y_pred, self.axis = ignore_class, sparse_y_true, \
            sparse_y_pred, axis
        self.reset_state()

    def reset_state(self):
        self.matrix = np.zeros((self.num_classes, self.num_classes))

    def _classes(self, y_true, y_pred):
        y_true = _array(y_true) if self.sparse_y_true else _array(y_true).argmax(axis=self.axis)
        y_pred = _array(y_pred) if self.sparse_y_pred else _array(y_pred).argmax(axis=self.axis)
        return y_true, y_pred

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = self._classes(y_true, y_pred)
        t, p = y_true.reshape(-1).astype(np.int64), y_pred.reshape(-1).astype(np.int64)
        w = np.ones(len(t)) if sample_weight is None else np.broadcast_to(
            _array(sample_weight).reshape(_array(sample_weight).shape + (1,) * (y_true.ndim - np.ndim(sample_weight))),
            y_true.shape).reshape(-1)
        keep = (t >= 0) & (t < self.num_classes) & (p >= 0) & (p < self.num_classes)  # others count nowhere, as Keras
        if self.ignore_class is not None:
            keep &= t != self.ignore_class
        np.add.at(self.matrix, (t[keep], p[keep]), w[keep])

    def result(self):
        tp = np.diag(self.matrix)
        denominator = self.matrix.sum(axis=0) + self.matrix.sum(axis=1) - tp
        ids = self.target_class_ids
        valid = np.count_nonzero(denominator[ids])
        return float(_divide(tp[ids], denominator[ids]).sum() / valid) if valid else 0.0

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class MeanIoU(IoU):
    """IoU averaged over every class."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name, dtype, ignore_class, sparse_y_true,
                         sparse_y_pred, axis)

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


class _OneHotTargets:
    """The targets are one-hot rows (sparse_y_true is fixed, so not in the config)."""

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotIoU(_OneHotTargets, IoU):
    """IoU for one-hot targets: each row's argmax is its class (predictions' too, unless sparse_y_pred)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes, target_class_ids, name, dtype, ignore_class, False, sparse_y_pred, axis)


class OneHotMeanIoU(_OneHotTargets, MeanIoU):
    """MeanIoU for one-hot targets: each row's argmax is its class (predictions' too, unless sparse_y_pred)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name, dtype, ignore_class, False, sparse_y_pred, axis)


class BinaryIoU(IoU):
    """IoU of 0/1 targets and probabilities cut at `threshold`, over `target_class_ids` (both by default)."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, list(target_class_ids), name, dtype)
        self.threshold = threshold

    def _classes(self, y_true, y_pred):
        return _array(y_true), (_array(y_pred) > self.threshold).astype(np.int64)

    def get_config(self):
        return {**Metric.get_config(self), "target_class_ids": self.target_class_ids, "threshold": self.threshold}


# ---- choosing metrics by name ------------------------------------------------------------------------
def resolve_accuracy(loss_name, output_shape, y_shape):
    """Which accuracy "accuracy" means, as Keras 3 decides it: from the shapes alone (one output unit:
    binary; labels one rank lower, or a column of them: sparse; else categorical)."""
    if output_shape[-1] == 1:
        return binary_accuracy
    if len(y_shape) < len(output_shape) or y_shape[-1] == 1:
        return sparse_categorical_accuracy
    return categorical_accuracy


def is_metric_like(obj):
    """What a metric's name may stand for: a Metric, a Metric class, or a function (not another class)."""
    return stands_for(obj, Metric)


def get(identifier, loss_name="", output_shape=(None, 1), y_shape=(0,)):
    """A metric from a name ("accuracy", "mae", "auc", "Precision", ...), a Metric, a Metric class, or a
    callable(y_true, y_pred) -> per-sample values. "acc" is logged as "acc", as Keras does."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict):
        return _from_config(identifier)
    custom = lookup(identifier)  # a name among the user's objects (custom_objects, scope, registered)
    if custom is not None:
        if is_metric_like(custom):
            return get(custom, loss_name, output_shape, y_shape)
        raise ValueError(f"metric {identifier!r} names {custom!r:.80}, which is neither a Metric nor a function")
    if identifier in ("accuracy", "acc"):
        return MeanMetricWrapper(resolve_accuracy(loss_name, output_shape, y_shape), identifier)
    if isinstance(identifier, str) and identifier in FUNCTIONS:
        return MeanMetricWrapper(FUNCTIONS[identifier], identifier)
    if isinstance(identifier, str) and identifier in CLASSES:
        return CLASSES[identifier]()
    if callable(identifier):
        return MeanMetricWrapper(identifier, getattr(identifier, "__name__", "metric"))
    raise ValueError(f"unknown metric {identifier!r}; expected accuracy, {', '.join(sorted(FUNCTIONS))}, a "
                     f"Metric class name, or a callable")


def _from_config(config):
    """A metric object from its config dict, the user's classes looked up as Keras does (object_registration)."""
    custom = custom_instance(config, Metric, "metric")
    if custom is not None:
        return custom
    return builtin_class(config, CLASSES, "metric").from_config(config.get("config") or {})


deserialize = deserializer(get, "metrics")


def serialize(metric):
    """A metric object's config dict (see object_registration.object_config)."""
    return object_config(metric, Metric, CLASSES, "metric")


def saveable_name(metric):
    """The name a config saves a metric given to compile() under: a name as given, or a custom metric
    function's registered name ("package>name"), else its __name__ (loading it then needs custom_objects)."""
    if isinstance(metric, str):
        return metric
    return function_name(metric, "metric", lambda n: n in ("accuracy", "acc") or n in FUNCTIONS or n in CLASSES)
