"""Adafactor: Adam-like steps from factored second moments, for large matrices in little memory."""
from ..backend import array_module
from .base import Optimizer


class Adafactor(Optimizer):
    """Keras 3's Adafactor (Shazeer & Stern, 2018). With t the step (1 at the first update):

        ρ = min(lr, 1/√t);   α = max(ε₂, rms(w))·ρ;   β = 1 - t^beta_2_decay;   ĝ² = g² + ε₁
        rank ≥ 2:  r ← β·r + (1 - β)·mean(ĝ², last axis);   c ← β·c + (1 - β)·mean(ĝ², second-last axis)
                   v = r / mean(r) ⊗ c   (over the last two axes)
        otherwise: v ← β·v + (1 - β)·ĝ²
        u = g / √v;   w ← w - α·u / max(1, rms(u) / clip_threshold)

    For a weight of rank ≥ 2 the state kept is r and c, of the weight's shape less its last axis and less
    its second-last axis, so the row and column means stand for the whole v (v is a slot too, as in
    Keras, rebuilt each step). A rank-0/1 weight's r and c are unused and empty (Keras keeps scalars).
    `relative_step` caps lr at 1/√t, which ρ does anyway: like Keras's, it changes no number.

    The step reads the weight (rms(w)) and r and c are not shaped like it, so the rule runs weight by
    weight (`reads_weights`) on slots the pack lays out in their own shapes (see `_Pack`).
    """

    slot_names = ("r", "c", "velocity")
    reads_weights = True

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                 relative_step=True, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if clip_threshold <= 0:
            raise ValueError(f"clip_threshold must be > 0, got {clip_threshold}")
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, relative_step

    def _initial_slot(self, name, w):
        xp = array_module(w)
        if name == "r":
            return xp.zeros(w.shape[:-1] if w.ndim >= 2 else (0,), dtype=w.dtype)
        if name == "c":
            return xp.zeros(w.shape[:-2] + w.shape[-1:] if w.ndim >= 2 else (0,), dtype=w.dtype)
        return xp.zeros_like(w)

    def update(self, w, g, slots, lr):
        xp, f, v = array_module(g), w.dtype.type, slots["velocity"]
        t = f(self.iterations + 1)
        rho = min(lr, f(1) / xp.sqrt(t))
        alpha = max(f(self.epsilon_2), _rms(w)) * rho
        beta = f(1) - t ** f(self.beta_2_decay)
        g2 = g * g + f(self.epsilon_1)
        if w.ndim >= 2:
            r, c = slots["r"], slots["c"]
            r *= beta
            r += (f(1) - beta) * g2.mean(axis=-1)
            c *= beta
            c += (f(1) - beta) * g2.mean(axis=-2)
            v[...] = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
        else:
            v *= beta
            v += (f(1) - beta) * g2
        u = g / xp.sqrt(v)
        u /= max(f(1), _rms(u) / f(self.clip_threshold))
        w -= alpha * u

    def _hyperparameters(self):
        return {"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}


def _rms(x):
    return array_module(x).sqrt((x * x).mean())
