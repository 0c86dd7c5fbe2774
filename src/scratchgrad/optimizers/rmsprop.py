"""RMSprop: steps scaled by a moving average of squared gradients."""
import numpy as np

from ..backend import array_module
from ..compiled import kernel
from .base import Optimizer, check_fraction


class RMSprop(Optimizer):
    """A moving average of squared gradients scales each step (Keras 3, ε inside the root):

        v ← ρ·v + (1 - ρ)·g²;   Δ = lr·g / √(v + ε)   (centered: √(v - ḡ² + ε), ḡ ← ρ·ḡ + (1 - ρ)·g)
        w ← w - Δ   (with momentum: m ← momentum·m + Δ;  w ← w - m)
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_fraction("rho", rho)
        check_fraction("momentum", momentum)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered
        self.slot_names = ("velocity",) + (("momentum",) if momentum else ()) + (("average_gradient",) if centered else ())

    def update(self, w, g, slots, lr):
        xp, v, tmp = array_module(g), slots["velocity"], slots["scratch"]
        f = w.dtype.type
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= f(1 - self.rho)
        v += tmp  # v + (1-ρ)(g² - v) = ρv + (1-ρ)g²
        xp.add(v, f(self.epsilon), out=tmp)
        if self.centered:
            avg = slots["average_gradient"]
            avg *= f(self.rho)
            avg += g * f(1 - self.rho)
            tmp -= avg * avg
        xp.sqrt(tmp, out=tmp)
        xp.divide(g, tmp, out=tmp)
        tmp *= lr
        if self.momentum:
            m = slots["momentum"]
            m *= f(self.momentum)
            m += tmp
            tmp = m
        w -= tmp

    def compiled_update(self, w, g, slots, lr):
        if self.centered or self.momentum or type(self).update is not RMSprop.update:
            return False
        f = w.dtype.type
        return w.run_kernel(_rmsprop_step, (g, slots["velocity"]), f(1 - self.rho), f(self.epsilon), lr)

    def _hyperparameters(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}


@kernel
def _rmsprop_step(w, g, v, one_minus_rho, epsilon, lr):
    """update's passes (plain RMSprop) as one loop over one weight's elements (the new v kept in a local:
    see Adam's kernel)."""
    for i in range(w.size):
        v_i = v[i] + (g[i] * g[i] - v[i]) * one_minus_rho
        v[i] = v_i
        w[i] -= g[i] / np.sqrt(v_i + epsilon) * lr
