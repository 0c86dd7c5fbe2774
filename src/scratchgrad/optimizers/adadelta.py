"""Adadelta: steps scaled by the ratio of two running root mean squares (of steps and of gradients)."""
from ..backend import array_module
from .base import Optimizer, check_fraction


class Adadelta(Optimizer):
    """Keras 3's Adadelta:

        a ← ρ·a + (1 - ρ)·g²;   Δ = -√(d + ε) / √(a + ε) · g;   d ← ρ·d + (1 - ρ)·Δ²;   w ← w + lr·Δ
    """

    slot_names = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_fraction("rho", rho)
        self.rho, self.epsilon = rho, epsilon

    def update(self, w, g, slots, lr):
        xp, a, d, tmp = array_module(g), slots["accumulated_grad"], slots["accumulated_delta_var"], slots["scratch"]
        f = w.dtype.type
        a *= f(self.rho)
        a += f(1 - self.rho) * g * g
        delta = -xp.sqrt(d + f(self.epsilon)) / xp.sqrt(a + f(self.epsilon)) * g
        d *= f(self.rho)
        d += f(1 - self.rho) * delta * delta
        xp.multiply(delta, lr, out=tmp)
        w += tmp

    def _hyperparameters(self):
        return {"rho": self.rho, "epsilon": self.epsilon}
