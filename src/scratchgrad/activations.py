"""Activation functions by name, as Dense(..., activation="relu") and Activation("relu") take them."""
from . import functional as F

ACTIVATIONS = {
    "linear": F.identity,
    "identity": F.identity,
    "step": F.step,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "relu": F.relu,
    "leaky_relu": F.leaky_relu,
    "elu": F.elu,
    "softplus": F.softplus,
    "softmax": F.softmax,
    "log_softmax": F.log_softmax,
}


# The primitive each named activation is, for the training fast path (identity needs none).
PRIMITIVES = {
    F.identity: None, F.step: F.Step, F.sigmoid: F.Sigmoid, F.tanh: F.Tanh, F.relu: F.ReLU,
    F.leaky_relu: F.LeakyReLU, F.elu: F.ELU, F.softplus: F.Softplus, F.softmax: F.Softmax, F.log_softmax: F.LogSoftmax,
}


def tape(activation):
    """[(Function, [])] for a known activation, [] for identity, None for a custom callable."""
    if activation not in PRIMITIVES:
        return None
    primitive = PRIMITIVES[activation]
    return [] if primitive is None else [(primitive(), [])]


def get(activation):
    """An activation function from a name, a callable, or None (meaning linear)."""
    if activation is None:
        return F.identity
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        return ACTIVATIONS[activation.lower()]
    raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)} or a callable")


def serialize(activation):
    """The registered name of an activation function (for configs); custom callables have none."""
    for name, fn in ACTIVATIONS.items():
        if fn is activation:
            return name
    raise ValueError(f"activation {activation!r} is not a registered one ({', '.join(ACTIVATIONS)}) "
                     f"and cannot be saved in a config")
