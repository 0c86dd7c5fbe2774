"""Schedule-free AdamW (Defazio et al., 2024): no learning-rate schedule to tune; the weights are an
interpolation between an averaged sequence and the one the gradients move."""
from ..backend import array_module
from .base import Optimizer, check_fraction


class ScheduleFreeAdamW(Optimizer):
    """Keras 3's ScheduleFreeAdamW. Besides Adam's velocity v it keeps z ("momentum", starting at the weight),
    which takes plain Adam-scaled steps: z ← z - lr·g / (√(v / (1 - β₂ᵗ)) + ε). The weight y holds
    β₁·x + (1 - β₁)·z, where x, the running average of the z's (weight 1/t), is recovered from y before
    z's step, x = (y - (1 - β₁)·z) / β₁, then x ← (1 - 1/t)·x + z/t. A linear warmup scales lr over
    `warmup_steps`. The rule reads the weight, so it runs weight by weight. (Keras 3.15 recovers x with
    z after its step, its copy of z aliasing the variable: other numbers; these are the paper's.)"""

    slot_names = ("momentum", "velocity")
    reads_weights = True

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8, warmup_steps=0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_fraction("beta_1", beta_1)
        if beta_1 == 0:  # x is recovered from the weight by dividing by β₁
            raise ValueError("ScheduleFreeAdamW needs 0 < beta_1 < 1, got beta_1=0")
        check_fraction("beta_2", beta_2)
        self.beta_1, self.beta_2, self.epsilon, self.warmup_steps = beta_1, beta_2, epsilon, warmup_steps

    def _initial_slot(self, name, w):
        return w.copy() if name == "momentum" else super()._initial_slot(name, w)  # z starts at the weight

    def update(self, w, g, slots, lr):
        xp, z, v, f = array_module(g), slots["momentum"], slots["velocity"], w.dtype.type
        t = self.iterations + 1
        if self.warmup_steps > 0:
            lr = lr * f(min(t / self.warmup_steps, 1.0))
        x = (w - z * f(1 - self.beta_1)) / f(self.beta_1)  # with z before its step, as the paper's
        v += (g * g - v) * f(1 - self.beta_2)
        z -= lr * g / (xp.sqrt(v / f(1 - self.beta_2 ** t)) + f(self.epsilon))
        x = x * f(1 - 1 / t) + z * f(1 / t)
        w[...] = z * f(1 - self.beta_1) + x * f(self.beta_1)

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps}

