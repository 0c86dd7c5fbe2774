"""Nadam: Adam with Nesterov momentum."""
from ..backend import array_module
from .base import Optimizer, check_fraction


class Nadam(Optimizer):
    """Keras 3's Nadam. With μₜ = β₁·(1 - ½·0.96ᵗ) and Πₜ = μ₁···μₜ:

        m ← m + (1 - β₁)(g - m);   v ← v + (1 - β₂)(g² - v)
        m̂ = μₜ₊₁·m / (1 - Πₜ·μₜ₊₁) + (1 - μₜ)·g / (1 - Πₜ);   v̂ = v / (1 - β₂ᵗ)
        w ← w - lr·m̂ / (√v̂ + ε)
    Πₜ follows from the step count, so saving the count saves it.
    """

    slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_fraction("beta_1", beta_1)
        check_fraction("beta_2", beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._products = [1.0]  # Πₜ for t = 0, 1, ...

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** t)

    def _product(self, t):
        while len(self._products) <= t:
            self._products.append(self._products[-1] * self._mu(len(self._products)))
        return self._products[t]

    def update(self, w, g, slots, lr):
        xp, m, v, tmp = array_module(g), slots["momentum"], slots["velocity"], slots["scratch"]
        f = w.dtype.type
        t = self.iterations + 1
        mu, mu_next, product = self._mu(t), self._mu(t + 1), self._product(t)
        m += f(1 - self.beta_1) * (g - m)
        v += f(1 - self.beta_2) * (g * g - v)
        m_hat = f(mu_next / (1 - product * mu_next)) * m + f((1 - mu) / (1 - product)) * g
        xp.sqrt(v * f(1 / (1 - self.beta_2 ** t)), out=tmp)
        tmp += f(self.epsilon)
        xp.divide(m_hat, tmp, out=tmp)
        tmp *= lr
        w -= tmp

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
