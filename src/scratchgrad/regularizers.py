"""Weight penalties added to the training loss, with Keras's semantics.

L2(l2) adds l2 · Σw². The textbook writes weight decay as λ/2 · ‖w‖²: the same penalty with λ = 2·l2.
L1(l1) adds l1 · Σ|w|, which drives weights to exactly zero.
"""
import numpy as np

from . import ops
from .object_registration import custom_instance, deserializer, object_config


class Regularizer:
    def __call__(self, weight):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        for name, value in (("l1", l1), ("l2", l2)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, weight):
        penalty = 0.0
        if self.l1:
            penalty = ops.abs(weight).sum() * self.l1
        if self.l2:
            penalty = (weight * weight).sum() * self.l2 + penalty
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes a kernel's rows (or columns) toward being orthogonal: factor · mean |cos| over pairs of the
    unit-normalized rows (Keras's: ½·Σ|off-diagonal of W·Wᵀ| / pairs)."""

    def __init__(self, factor=0.01, mode="rows"):
        if mode not in ("rows", "columns"):
            raise ValueError(f"mode must be 'rows' or 'columns', got {mode!r}")
        self.factor, self.mode = float(factor), mode

    def __call__(self, weight):
        if weight.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer needs a 2-D kernel, got shape {weight.shape}")
        w = weight if self.mode == "rows" else weight.T
        w = w / ops.sqrt(ops.maximum((w * w).sum(axis=1, keepdims=True), 1e-12))
        size = w.shape[0]
        off_diagonal = ops.abs(ops.matmul(w, w.T)) * (1.0 - np.eye(size, dtype=w.dtype))
        return off_diagonal.sum() * (self.factor * 0.5 / (size * (size - 1) / 2))

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


REGULARIZERS = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer}
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer  # Keras's lower-case names
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer}


def get(identifier):
    """A regularizer from None, a name ("l2"), a config dict, a Regularizer class or instance, a callable,
    or the name or config of a custom Regularizer class or function (registered, or in custom_objects)."""
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    if identifier is None or isinstance(identifier, Regularizer) or callable(identifier):
        return identifier
    custom = custom_instance(identifier, Regularizer, "regularizer")
    if custom is not None:
        return custom
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config") or {})
    if isinstance(identifier, str) and identifier.lower() in REGULARIZERS:
        return REGULARIZERS[identifier.lower()]()
    raise ValueError(f"unknown regularizer {identifier!r:.200}; expected one of {', '.join(REGULARIZERS)}, a "
                     f"config dict, a callable, or a custom Regularizer class registered with "
                     f"keras.saving.register_keras_serializable or passed in custom_objects")


deserialize = deserializer(get, "regularizers")


def serialize(regularizer):
    """A regularizer's config dict (see object_registration.object_config), or None."""
    return None if regularizer is None else object_config(regularizer, Regularizer, _CLASSES, "regularizer")
