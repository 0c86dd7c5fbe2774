"""Adam: momentum and RMSprop with bias correction."""
import math

import numpy as np

from ..backend import array_module
from ..compiled import kernel, scalars
from .base import Optimizer, check_fraction


class Adam(Optimizer):
    """Momentum and RMSprop with bias correction (Keras 3's form, ε outside the root):

        m ← m + (1 - β₁)(g - m);   v ← v + (1 - β₂)(g² - v)
        α = lr·√(1 - β₂ᵗ) / (1 - β₁ᵗ);   w ← w - α·m / (√v + ε)        (t = 1 at the first update)

    amsgrad=True divides by v̂ = max(v̂, v) instead of v.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_fraction("beta_1", beta_1)
        check_fraction("beta_2", beta_2)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        # AMSGrad divides by the largest v seen so far: steps can only shrink
        self.slot_names = ("momentum", "velocity") + (("velocity_hat",) if amsgrad else ())

    def update(self, w, g, slots, lr):
        xp, m, v, tmp = array_module(g), slots["momentum"], slots["velocity"], slots["scratch"]
        f = w.dtype.type
        alpha = self._step_size(lr, f)
        xp.subtract(g, m, out=tmp)
        tmp *= f(1 - self.beta_1)
        m += tmp
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= f(1 - self.beta_2)
        v += tmp
        if self.amsgrad:
            v = xp.maximum(slots["velocity_hat"], v, out=slots["velocity_hat"])
        xp.sqrt(v, out=tmp)
        tmp += f(self.epsilon)
        xp.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp

    def compiled_update(self, w, g, slots, lr):
        if self.amsgrad or type(self).update is not Adam.update:  # a subclass's own rule runs
            return False
        f = w.dtype.type
        return w.run_kernel(_adam_step, (g, slots["momentum"], slots["velocity"]),
                            *scalars(f, 1 - self.beta_1, 1 - self.beta_2, self.epsilon), self._step_size(lr, f))

    def _step_size(self, lr, f):
        t = self.iterations + 1
        return f(lr * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t))

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad}


@kernel
def _adam_step(w, g, m, v, one_minus_beta_1, one_minus_beta_2, epsilon, alpha):
    """update's passes as one loop over one weight's elements (the new m and v kept in locals, not read back
    from memory: the compiler cannot know that w, m and v do not overlap, and reading them back kept the
    loop from being vectorized)."""
    for i in range(w.size):
        m_i = m[i] + (g[i] - m[i]) * one_minus_beta_1
        v_i = v[i] + (g[i] * g[i] - v[i]) * one_minus_beta_2
        m[i], v[i] = m_i, v_i
        w[i] -= m_i / (np.sqrt(v_i) + epsilon) * alpha
