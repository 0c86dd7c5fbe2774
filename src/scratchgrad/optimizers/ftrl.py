"""FTRL-Proximal (Follow The Regularized Leader), for wide sparse linear models."""
from ..backend import array_module
from .base import Optimizer


class Ftrl(Optimizer):
    """Keras 3's Ftrl (McMahan et al., 2013). With p = -learning_rate_power:

        n' = n + g²;   z ← z + g̃ - (n'ᵖ - nᵖ) / lr · w        (g̃ = g + 2·l2_shrinkage·w)
        w ← (clip(z, -l1, l1) - z) / (n'ᵖ / lr + 2·(l2 + β / (2·lr)));   n ← n'
    The new weight is computed from z, not added to w, so this rule reads the weight: it runs weight by
    weight (`reads_weights`).
    """

    slot_names = ("accumulator", "linear")
    reads_weights = True

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if learning_rate_power > 0 or initial_accumulator_value < 0:
            raise ValueError("Ftrl needs learning_rate_power <= 0 and initial_accumulator_value >= 0")
        self.learning_rate_power, self.initial_accumulator_value = learning_rate_power, initial_accumulator_value
        self.l1, self.l2 = l1_regularization_strength, l2_regularization_strength
        self.l2_shrinkage, self.beta = l2_shrinkage_regularization_strength, beta

    def _initial_slot(self, name, w):
        xp = array_module(w)
        return xp.full_like(w, self.initial_accumulator_value) if name == "accumulator" else xp.zeros_like(w)

    def update(self, w, g, slots, lr):
        xp, n, z = array_module(g), slots["accumulator"], slots["linear"]
        f, p = w.dtype.type, -self.learning_rate_power
        l2 = f(self.l2 + self.beta / (2.0 * lr))
        g_shrunk = g + f(2 * self.l2_shrinkage) * w
        n_new = n + g * g
        z += g_shrunk - (n_new ** f(p) - n ** f(p)) / lr * w
        quadratic = n_new ** f(p) / lr + 2 * l2
        w[...] = (xp.clip(z, -f(self.l1), f(self.l1)) - z) / quadratic
        n[...] = n_new

    def _hyperparameters(self):
        return {"learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1, "l2_regularization_strength": self.l2,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage, "beta": self.beta}
