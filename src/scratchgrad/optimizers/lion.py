"""Lion: the sign of an interpolated momentum (Chen et al., 2023, found by program search)."""
from ..backend import array_module
from .base import Optimizer, check_fraction


class Lion(Optimizer):
    """Keras 3's Lion:

        w ← w - lr·sign(β₁·m + (1 - β₁)·g);   m ← β₂·m + (1 - β₂)·g
    """

    slot_names = ("momentum",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_fraction("beta_1", beta_1)
        check_fraction("beta_2", beta_2)
        self.beta_1, self.beta_2 = beta_1, beta_2

    def update(self, w, g, slots, lr):
        xp, m, tmp = array_module(g), slots["momentum"], slots["scratch"]
        f = w.dtype.type
        xp.sign(m * f(self.beta_1) + g * f(1 - self.beta_1), out=tmp)
        tmp *= lr
        w -= tmp
        m *= f(self.beta_2)
        m += g * f(1 - self.beta_2)

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}
