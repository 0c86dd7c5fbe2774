"""Momentum: the textbook's name for SGD with momentum 0.9."""
from .sgd import SGD


class Momentum(SGD):
    """SGD with momentum 0.9 (the textbook's Momentum)."""

    def __init__(self, learning_rate=0.01, momentum=0.9, nesterov=False, **kwargs):
        super().__init__(learning_rate, momentum, nesterov, **kwargs)
