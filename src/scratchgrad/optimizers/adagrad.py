"""Adagrad: per-parameter rates that shrink with the sum of squared gradients."""
from ..backend import array_module
from .base import Optimizer


class Adagrad(Optimizer):
    """Per-parameter rates that shrink with the sum of squared gradients (Keras 3):

        a ← a + g²   (a starts at initial_accumulator_value);   w ← w - lr·g / √(a + ε)
    """

    slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _initial_slot(self, name, w):
        xp = array_module(w)  # the accumulator of squares; those of use_ema and gradient accumulation start at 0
        return xp.full_like(w, self.initial_accumulator_value) if name == "accumulator" else xp.zeros_like(w)

    def update(self, w, g, slots, lr):
        xp, a, tmp = array_module(g), slots["accumulator"], slots["scratch"]
        xp.multiply(g, g, out=tmp)
        a += tmp
        xp.add(a, w.dtype.type(self.epsilon), out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(g, tmp, out=tmp)
        tmp *= lr
        w -= tmp

    def _hyperparameters(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}



AdaGrad = Adagrad  # the textbook's spelling
