"""Adamax: Adam with the infinity norm in place of the root mean square."""
from ..backend import array_module
from .base import Optimizer, check_fraction


class Adamax(Optimizer):
    """Keras 3's Adamax:

        m ← m + (1 - β₁)(g - m);   u ← max(β₂·u, |g|)
        w ← w - lr / (1 - β₁ᵗ) · m / (u + ε)        (t = 1 at the first update)
    """

    slot_names = ("momentum", "norm")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_fraction("beta_1", beta_1)
        check_fraction("beta_2", beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update(self, w, g, slots, lr):
        xp, m, u, tmp = array_module(g), slots["momentum"], slots["norm"], slots["scratch"]
        f = w.dtype.type
        xp.subtract(g, m, out=tmp)
        tmp *= f(1 - self.beta_1)
        m += tmp
        u *= f(self.beta_2)
        xp.maximum(u, xp.abs(g, out=tmp), out=u)
        xp.add(u, f(self.epsilon), out=tmp)
        xp.divide(m, tmp, out=tmp)
        tmp *= f(lr / (1 - self.beta_1 ** (self.iterations + 1)))
        w -= tmp

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
