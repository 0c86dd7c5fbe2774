"""AdamW: Adam with decoupled weight decay."""
from .adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004, as Keras): w ← w - lr·wd·w, then Adam's step."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        if weight_decay is None or weight_decay < 0:
            raise ValueError(f"AdamW needs weight_decay >= 0, got {weight_decay}")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)
