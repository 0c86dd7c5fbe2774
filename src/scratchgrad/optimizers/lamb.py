"""LAMB: Adam with a per-layer trust ratio (You et al., 2020), for large batches."""
from ..backend import array_module
from .base import Optimizer, check_fraction


class Lamb(Optimizer):
    """Keras 3's Lamb: Adam's bias-corrected step u = m̂ / (√v̂ + ε), scaled per weight by the trust
    ratio ‖w‖ / ‖u‖ (1 when either is 0): w ← w - lr·ratio·u. The ratio reads the weight, so the rule
    runs weight by weight (`reads_weights`)."""

    slot_names = ("momentum", "velocity")
    reads_weights = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_fraction("beta_1", beta_1)
        check_fraction("beta_2", beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update(self, w, g, slots, lr):
        xp, m, v = array_module(g), slots["momentum"], slots["velocity"]
        f = w.dtype.type
        t = self.iterations + 1
        m += (g - m) * f(1 - self.beta_1)
        v += (g * g - v) * f(1 - self.beta_2)
        step = (m / f(1 - self.beta_1 ** t)) / (xp.sqrt(v / f(1 - self.beta_2 ** t)) + f(self.epsilon))
        w_norm, u_norm = float(xp.sqrt((w * w).sum())), float(xp.sqrt((step * step).sum()))
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        w -= step * f(ratio * lr)

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
