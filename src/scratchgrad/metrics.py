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


class Mean:
    """A running mean of per-sample values: what every metric here reports for an epoch."""

    def __init__(self, fn, name):
        self.fn, self.name = fn, name
        self.needs_probabilities = fn not in ARGMAX_BASED  # argmax is the same on logits
        self.reset()

    def reset(self):
        self.total, self.count = 0.0, 0

    def update(self, y_true, y_pred):
        values = self.fn(y_true, y_pred)
        self.total += float(values.sum())
        self.count += len(values)

    def result(self):
        return self.total / self.count if self.count else 0.0


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
    """A Mean metric from a name ("accuracy", "mae", ...) or a callable(y_true, y_pred) -> per-sample."""
    if identifier in ("accuracy", "acc"):
        return Mean(resolve_accuracy(loss_name, output_shape, y_shape), "accuracy")
    if isinstance(identifier, str) and identifier in FUNCTIONS:
        return Mean(FUNCTIONS[identifier], identifier)
    if callable(identifier):
        return Mean(identifier, getattr(identifier, "__name__", "metric"))
    raise ValueError(f"unknown metric {identifier!r}; expected accuracy, {', '.join(FUNCTIONS)} or a callable")
