"""Muon (Jordan et al., 2024): momentum, orthogonalized, for the 2-D weights; AdamW for the others."""
import math
import re

from ..backend import array_module
from .adam import Adam
from .base import Optimizer, check_fraction


class Muon(Optimizer):
    """Keras 3's Muon. A 2-D weight (a Dense kernel, not an embedding's, not one `exclude_layers` names)
    keeps a momentum m ← momentum·m + g and steps along its orthogonalization: the update direction
    g + momentum·m (Nesterov) or m, pushed toward the nearest semi-orthogonal matrix by `ns_steps`
    Newton-Schulz iterations X ← a·X + (b·XXᵀ + c·(XXᵀ)²)·X, then w ← w - lr·√max(rows, cols)·rms_rate·X
    (Moonlight's scale, so Adam's learning rate suits it). Every other weight takes AdamW's step with
    adam_beta_1/2 at lr·adam_lr_ratio. Weight decay is decoupled, weight_decay for the first kind and
    adam_weight_decay for the second. The rule depends on each weight's shape and name, so it runs
    weight by weight."""

    slot_names = ("momentum", "velocity")
    reads_weights = True

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, adam_weight_decay=0.004, epsilon=1e-7,
                 weight_decay=0.004, exclude_layers=None, exclude_embeddings=True, muon_a=3.4445, muon_b=-4.7750,
                 muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)
        check_fraction("adam_beta_1", adam_beta_1)
        check_fraction("adam_beta_2", adam_beta_2)
        self.adam_beta_1, self.adam_beta_2, self.adam_weight_decay = adam_beta_1, adam_beta_2, adam_weight_decay
        self.epsilon, self.exclude_embeddings = epsilon, exclude_embeddings
        # patterns searched for in each weight's name; a string is one pattern (not its letters)
        self.exclude_layers = [exclude_layers] if isinstance(exclude_layers, str) else list(exclude_layers or [])
        self.muon_a, self.muon_b, self.muon_c, self.adam_lr_ratio = muon_a, muon_b, muon_c, adam_lr_ratio
        self.momentum, self.ns_steps, self.nesterov, self.rms_rate = momentum, ns_steps, nesterov, rms_rate
        self._adam = Adam(beta_1=adam_beta_1, beta_2=adam_beta_2, epsilon=epsilon)  # the rule of the other weights

    def uses_adamw(self, param):
        """Keras's rule: AdamW for a weight that is not 2-D, an embedding's, or one exclude_layers names, searched
        for in its Keras path (Model._set_weight_paths; its name where it has none)."""
        name = getattr(param, "path", None) or param.name or ""
        return (param.ndim != 2 or (self.exclude_embeddings and "embedding" in name.lower())
                or any(re.search(pattern, name) for pattern in self.exclude_layers))

    def _update_pack(self, pack, lr):
        self._decay(pack.params, lr)
        self._adam._iterations = self.iterations  # its bias correction counts this optimizer's updates
        for p, g, slots in zip(pack.params, pack.grad_views, pack.slot_views):
            f = p.data.dtype.type
            if self.uses_adamw(p):
                self._adam.update(p.data, g, slots, f(lr * self.adam_lr_ratio))
            else:
                self.update(p.data, g, slots, f(lr))

    def _decay_rate(self, param):
        return self.adam_weight_decay if self.uses_adamw(param) else self.weight_decay

    def update(self, w, g, slots, lr):
        """The Muon step of one 2-D weight."""
        m, f = slots["momentum"], w.dtype.type
        m += g + m * f(self.momentum - 1)  # Keras's order of operations
        direction = g + m * f(self.momentum) if self.nesterov else m
        step = self._orthogonalized(direction)
        scale = math.sqrt(max(w.shape)) * self.rms_rate if self.rms_rate is not None else 1.0
        w -= step * f(lr * scale)

    def _orthogonalized(self, x):
        """Newton-Schulz's quintic iteration toward U·Vᵀ of x's SVD, on x / ‖x‖ (the wide way round)."""
        xp, f = array_module(x), x.dtype.type
        tall = x.shape[0] > x.shape[1]
        x = x.T if tall else x
        x = x / (xp.sqrt((x * x).sum()) + f(1e-7))
        for _ in range(self.ns_steps):
            gram = x @ x.T
            x = x * f(self.muon_a) + (gram * f(self.muon_b) + (gram @ gram) * f(self.muon_c)) @ x
        return x.T if tall else x

    def _hyperparameters(self):
        return {"adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": self.exclude_layers, "muon_a": self.muon_a, "muon_b": self.muon_b,
                "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov, "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}
