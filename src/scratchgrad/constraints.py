"""Weight constraints, with Keras's names and formulas: after each optimizer update, a weight given a
constraint (`Dense(64, kernel_constraint=MaxNorm(3))`) is replaced by constraint(weight).

MaxNorm is the one the dropout paper pairs with dropout: each unit's incoming weight vector (axis 0 of a
Dense kernel: one column per unit) is scaled down to a norm of at most max_value.
"""
from .backend import array_module, epsilon
from .object_registration import custom_instance, deserializer, object_config


class Constraint:
    """Base of constraints: `__call__(w)` takes a weight's array and returns the constrained array."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _norms(w, axis):
    xp = array_module(w)
    return xp.sqrt(xp.sum(w * w, axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=True))


class MaxNorm(Constraint):
    """w · clip(‖w‖, 0, max_value) / (ε + ‖w‖), norms along `axis` (0: each column of a Dense kernel; [0, 1, 2]:
    each filter of a Conv2D kernel)."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        return w * (array_module(w).clip(norms, 0, self.max_value) / (epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Norms moved toward [min_value, max_value] at `rate` (1: onto it): w · (rate·clip(‖w‖) + (1 - rate)·‖w‖)
    / (ε + ‖w‖)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * array_module(w).clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """max(w, 0): no negative weights."""

    def __call__(self, w):
        return array_module(w).maximum(w, 0)


class UnitNorm(Constraint):
    """w / (ε + ‖w‖), norms along `axis`."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


CLASSES = {cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
CONSTRAINTS = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm}
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm  # Keras's lower-case names


def _class(name):
    return CLASSES.get(name) or CONSTRAINTS.get(name.lower()) if isinstance(name, str) else None


def get(identifier):
    """A constraint from None, a name ("max_norm" or "MaxNorm"), a config dict, a Constraint class or
    instance, a callable, or the name or config of a custom Constraint class or function (registered, or in
    custom_objects)."""
    if isinstance(identifier, type) and issubclass(identifier, Constraint):
        return identifier()
    if identifier is None or isinstance(identifier, Constraint) or callable(identifier):
        return identifier
    custom = custom_instance(identifier, Constraint, "constraint")
    if custom is not None:
        return custom
    if isinstance(identifier, dict) and _class(identifier.get("class_name")):
        return _class(identifier["class_name"]).from_config(identifier.get("config") or {})
    if _class(identifier):
        return _class(identifier)()
    raise ValueError(f"unknown constraint {identifier!r:.200}; expected one of {', '.join(CLASSES)}, "
                     f"{', '.join(CONSTRAINTS)}, a config dict, a callable, or a custom Constraint class "
                     f"registered with keras.saving.register_keras_serializable or passed in custom_objects")


deserialize = deserializer(get, "constraints")


def serialize(constraint):
    """A constraint's config dict (see object_registration.object_config), or None."""
    return None if constraint is None else object_config(constraint, Constraint, CLASSES, "constraint")
