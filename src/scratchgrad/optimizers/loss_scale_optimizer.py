"""LossScaleOptimizer: dynamic loss scaling around another optimizer, for float16 training, where small
gradients underflow to zero unless the loss is scaled up first."""
import numpy as np

from ..backend import array_module
from .base import Optimizer


class LossScaleOptimizer(Optimizer):
    """Keras 3's: the trainer backpropagates loss · scale (`scale_loss`); `apply` divides the gradients by
    the scale and lets the inner optimizer update, or, where a gradient is inf or NaN (the scale was too
    large), skips the update and halves the scale. After `dynamic_growth_steps` updates in a row without
    one, the scale doubles. Everything else (learning rate, step count, state) is the inner optimizer's."""

    wraps_another = True  # no compile("name"): it needs the optimizer it wraps

    def __init__(self, inner_optimizer, initial_scale=2.0**15, dynamic_growth_steps=2000, name=None, **kwargs):
        from . import get

        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer takes dynamic=False (as in Keras): set loss_scale_factor "
                             "on the inner optimizer instead")
        defaults = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                    "loss_scale_factor": None, "gradient_accumulation_steps": None}
        for option, value in kwargs.items():
            if option not in defaults or value != defaults[option]:
                raise ValueError(f"LossScaleOptimizer does not take {option}={value!r}: give it to the inner "
                                 f"optimizer (as in Keras)")
        self.inner_optimizer = get(inner_optimizer)
        if isinstance(self.inner_optimizer, LossScaleOptimizer):
            raise ValueError("LossScaleOptimizer takes the optimizer it scales for, not another LossScaleOptimizer")
        self.inner_optimizer.loss_scale_factor = None  # the scaling is this optimizer's
        self.initial_scale, self.dynamic_growth_steps = float(initial_scale), int(dynamic_growth_steps)
        self.dynamic_scale, self.step_counter = self.initial_scale, 0
        self.name = name or "loss_scale_optimizer"

    def __getattr__(self, name):
        if name == "inner_optimizer":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner_optimizer, name)  # use_ema, fused, weight_decay, ...: the inner optimizer's

    @property
    def loss_scale_factor(self):
        """The scale the trainer's loss is multiplied by now (a replayed step records it: a new scale, a new step)."""
        return self.dynamic_scale

    def scale_loss(self, loss):
        return loss * self.dynamic_scale

    def apply(self, grads, params):
        if not params:
            return
        if all(bool(array_module(g).isfinite(g).all()) for g in grads):
            for g in grads:  # in place, the trainer's buffers; in float64, where float16 would lose 1 / scale
                g[...] = g / np.float64(self.dynamic_scale)
            self.inner_optimizer.apply(grads, params)
            if self.step_counter == self.dynamic_growth_steps - 1:
                self.dynamic_scale, self.step_counter = self.dynamic_scale * 2.0, 0
            else:
                self.step_counter += 1
        else:
            self.dynamic_scale, self.step_counter = self.dynamic_scale * 0.5, 0

    # ---- the inner optimizer's ---------------------------------------------------------------
    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    @property
    def _learning_rate(self):
        return self.inner_optimizer._learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def gradient_buffers(self, params):
        return self.inner_optimizer.gradient_buffers(params)

    def build(self, params):
        self.inner_optimizer.build(params)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def moving_averages(self, params=None):
        return self.inner_optimizer.moving_averages(params)

    @property
    def variables(self):
        return [np.asarray(self.step_counter), np.asarray(self.dynamic_scale, np.float32)] + \
            self.inner_optimizer.variables

    def get_state(self, params=None):
        return {**self.inner_optimizer.get_state(params), "dynamic_scale": self.dynamic_scale,
                "step_counter": self.step_counter}

    def set_state(self, state):
        scale, counter = state.get("dynamic_scale", self.initial_scale), state.get("step_counter", 0)
        if not (isinstance(scale, (int, float)) and 0 < scale < float("inf")) or \
                not (isinstance(counter, int) and 0 <= counter < self.dynamic_growth_steps):
            raise ValueError(f"LossScaleOptimizer state: dynamic_scale must be a positive number and step_counter an "
                             f"integer in [0, {self.dynamic_growth_steps}), got {scale!r} and {counter!r}")
        self.inner_optimizer.set_state(state)
        self.dynamic_scale, self.step_counter = float(scale), counter

    def get_config(self):
        inner = self.inner_optimizer
        return {"name": self.name,
                "inner_optimizer": {"class_name": type(inner).__name__, "config": inner.get_config()},
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
