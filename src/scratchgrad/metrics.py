"""Metrics, accumulated over an epoch on plain arrays (no graph): accuracy in its three forms, mae, mse.

A metric is a function (y_true, y_pred) -> one value per sample, registered under its names by the
`@metric(...)` decorator where it is defined; `Mean` averages it over an epoch as Keras reports it.
"""
import numpy as np

from . import functional as F

FUNCTIONS = {}  # name compile(metrics=[...]) takes -> per-sample function


def metric(*names):
    """Register the decorated per-sample function under `names` (the first is its logged name)."""
    def register(fn):
        for name in names:
            FUNCTIONS[name] = fn
        return fn
    return register


@metric("sparse_categorical_accuracy")
def sparse_categorical_accuracy(y_true, y_pred):
    y_true = y_true[..., 0] if y_true.ndim == y_pred.ndim else y_true
    return (y_pred.argmax(axis=-1) == y_true).astype(np.float32)


@metric("categorical_accuracy")
def categorical_accuracy(y_true, y_pred):
    return (y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)).astype(np.float32)


@metric("binary_accuracy")
def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true = y_true.reshape(y_pred.shape)
    return ((y_pred > threshold) == (y_true > 0.5)).mean(axis=tuple(range(1, y_pred.ndim))).astype(np.float32)


@metric("mae", "mean_absolute_error")
def mean_absolute_error(y_true, y_pred):
    # the loss primitive's forward on plain arrays: per-sample values, no graph
    return F.MeanAbsoluteError("none").forward(y_pred, y_true.reshape(y_pred.shape))


@metric("mse", "mean_squared_error")
def mean_squared_error(y_true, y_pred):
    return F.MeanSquaredError("none").forward(y_pred, y_true.reshape(y_pred.shape))


ARGMAX_BASED = (sparse_categorical_accuracy, categorical_accuracy)


class Metric:
    """Keras's metric protocol: `update_state(...)` accumulates, `result()` reads, `reset_state()` clears."""

    def __init__(self, name):
        self.name = name
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def result(self):
        return self.total / self.count if self.count else 0.0


class Mean(Metric):
    """keras.metrics.Mean: the running (weighted) mean of the values given, e.g. a loss tracker."""

    def __init__(self, name="mean"):
        super().__init__(name)

    def update_state(self, values, sample_weight=None):
        values = np.asarray(getattr(values, "data", values), dtype=np.float64).reshape(-1)
        weights = np.ones_like(values) if sample_weight is None else np.broadcast_to(
            np.asarray(getattr(sample_weight, "data", sample_weight), dtype=np.float64).reshape(-1), values.shape)
        self.total += float((values * weights).sum())
        self.count += float(weights.sum())


class MeanMetricWrapper(Metric):
    """A per-sample function fn(y_true, y_pred) averaged over an epoch: what every named metric is."""

    def __init__(self, fn, name):
        self.fn = fn
        self.needs_probabilities = fn not in ARGMAX_BASED  # argmax is the same on logits
        super().__init__(name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self.fn(_array(y_true), _array(y_pred))
        values = np.asarray(getattr(values, "data", values), dtype=np.float64).reshape(-1)
        self.total += float(values.sum())
        self.count += len(values)


def _array(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def resolve_accuracy(loss_name, output_shape, y_shape):
    """Which accuracy "accuracy" means, as Keras decides it: from the loss, else from the shapes."""
    if loss_name in ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy"):
        return {"sparse_categorical_crossentropy": sparse_categorical_accuracy,
                "categorical_crossentropy": categorical_accuracy,
                "binary_crossentropy": binary_accuracy}[loss_name]
    if output_shape[-1] == 1:
        return binary_accuracy
    if len(y_shape) < len(output_shape) or y_shape[-1] == 1:
        return sparse_categorical_accuracy
    return categorical_accuracy


def get(identifier, loss_name, output_shape, y_shape):
    """A metric from a name ("accuracy", "mae", ...), a Metric, or a callable(y_true, y_pred) -> per-sample.
    "acc" is logged as "acc", "accuracy" as "accuracy", as Keras does."""
    if isinstance(identifier, Metric):
        return identifier
    if identifier in ("accuracy", "acc"):
        return MeanMetricWrapper(resolve_accuracy(loss_name, output_shape, y_shape), identifier)
    if isinstance(identifier, str) and identifier in FUNCTIONS:
        return MeanMetricWrapper(FUNCTIONS[identifier], identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier, getattr(identifier, "__name__", "metric"))
    raise ValueError(f"unknown metric {identifier!r}; expected accuracy, {', '.join(FUNCTIONS)} or a callable")
