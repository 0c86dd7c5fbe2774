"""Activation functions by name, as Dense(..., activation="relu") and Activation("relu") take them.

The registry is `functional.ACTIVATIONS`: an activation is registered where it is defined, by the
`@activation("name")` decorator on its function in functional.py, next to its Function.
"""
from . import functional as F

ACTIVATIONS = F.ACTIVATIONS


def get(activation):
    """An activation function from a name, a callable, or None (meaning linear)."""
    if activation is None:
        return F.identity
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        return ACTIVATIONS[activation.lower()]
    raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)} or a callable")


def name_of(activation):
    """The registered name of an activation function, or None for a custom callable."""
    return next((name for name, fn in ACTIVATIONS.items() if fn is activation), None)


def serialize(activation):
    """The registered name of an activation function (for configs); custom callables have none."""
    name = name_of(activation)
    if name is None:
        raise ValueError(f"activation {activation!r} is not a registered one ({', '.join(ACTIVATIONS)}) "
                         f"and cannot be saved in a config")
    return name
