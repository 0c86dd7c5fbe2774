"""Optimizers with Keras 3's update rules and defaults, updating parameters in place.

Two ways to use one: `opt.step(params)` after `loss.backward()` (reads each parameter's `.grad`), or
Keras's `opt.apply_gradients(zip(grads, params))`. Every optimizer also takes `clipnorm` (each
gradient's norm capped), `global_clipnorm` (all gradients' joint norm capped), `clipvalue` (each
element clipped to ±value) and `weight_decay` (decoupled: w ← w - lr·wd·w before the update).
`learning_rate` is a number, a schedule, or any callable of the step count.
"""
import math

import numpy as np

from ..backend import array_module
from ..tensor import Tensor
from . import schedules
from .schedules import CosineDecay, ExponentialDecay, LearningRateSchedule, StepDecay


class Optimizer:
    slot_names = ()

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        unknown = set(kwargs) - {"use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                                 "gradient_accumulation_steps", "jit_compile"}
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(unknown)}")
        for option, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm)):
            if value is not None and value <= 0:
                raise ValueError(f"{option} must be > 0, got {value}")
        self.learning_rate = learning_rate
        self.weight_decay, self.clipnorm, self.clipvalue = weight_decay, clipnorm, clipvalue
        self.global_clipnorm = global_clipnorm
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self._slots = {}  # param Tensor -> {slot name: array}, in the order parameters were first seen
        self._pending = None  # slots from set_state, bound to the next parameters seen

    # ---- learning rate -----------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The rate the next update uses (a schedule is evaluated at the current step)."""
        lr = self._learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        if not callable(value) and not (isinstance(value, (int, float)) and value > 0):
            raise ValueError(f"learning_rate must be a positive number or a schedule, got {value!r}")
        self._learning_rate = value if callable(value) else float(value)

    # ---- applying updates --------------------------------------------------------------------
    def step(self, params):
        """Update each parameter from its `.grad` (parameters without a gradient are skipped)."""
        params = [p for p in params if p.grad is not None]
        self.apply([p.grad for p in params], params)

    def zero_grad(self, params):
        for p in params:
            p.grad = None

    def apply_gradients(self, grads_and_vars):
        """Keras's form: an iterable of (gradient, parameter) pairs; gradients are arrays or Tensors."""
        pairs = [(g.data if isinstance(g, Tensor) else g, p) for g, p in grads_and_vars if g is not None]
        self.apply([g for g, _ in pairs], [p for _, p in pairs])

    def build(self, params):
        """Create the state slots of parameters not seen yet (zeros, or those given to set_state)."""
        for p in params:
            if p not in self._slots:  # keyed by the Tensor itself, so copies of a model keep their state
                pending = self._pending.pop(0) if self._pending else None
                self._slots[p] = self._new_slots(p.data, pending)

    def _new_slots(self, w, pending):
        xp = array_module(w)
        if pending is not None:
            if set(pending) != set(self.slot_names) or any(a.shape != w.shape for a in pending.values()):
                raise ValueError(f"optimizer state does not fit parameter of shape {w.shape}")
            slots = {k: xp.array(v, dtype=w.dtype) for k, v in pending.items()}
        else:
            slots = {k: self._initial_slot(k, w) for k in self.slot_names}
        slots["scratch"] = xp.empty_like(w)
        return slots

    def _initial_slot(self, name, w):
        return array_module(w).zeros_like(w)

    def apply(self, grads, params):
        """Update `params` (Tensors) in place from `grads` (arrays of the same shapes), one step."""
        self.build(params)
        grads = self._clip([g if g.dtype == p.dtype else g.astype(p.dtype) for g, p in zip(grads, params)])
        lr = self.learning_rate
        for g, p in zip(grads, params):
            w = p.data
            if self.weight_decay:
                w *= w.dtype.type(1 - lr * self.weight_decay)
            self.update(w, g, self._slots[p], w.dtype.type(lr))
        self.iterations += 1

    def _clip(self, grads):
        if self.clipvalue is not None:
            grads = [array_module(g).clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            grads = [_scale_to_norm(g, _norm(g), self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            total = math.sqrt(sum(_norm(g) ** 2 for g in grads))
            grads = [_scale_to_norm(g, total, self.global_clipnorm) for g in grads]
        return grads

    def update(self, w, g, slots, lr):
        """Update parameter array `w` in place from gradient `g`; `slots` holds this parameter's state."""
        raise NotImplementedError

    # ---- state and config --------------------------------------------------------------------
    def get_state(self, params=None):
        """Everything needed to resume exactly: the step count and each parameter's slots, in the order
        the parameters were first updated (or in the order of `params`)."""
        chosen = self._slots.values() if params is None else [self._slots[p] for p in params if p in self._slots]
        slots = [{k: np.array(v) for k, v in s.items() if k != "scratch"} for s in chosen]
        return {"iterations": self.iterations, "slots": slots}

    def pop_slots(self, param):
        """Remove and return one parameter's state ({slot: array}), or None if it has none."""
        slots = self._slots.pop(param, None)
        return None if slots is None else {k: v for k, v in slots.items() if k != "scratch"}

    def initial_slots(self, param):
        """The state a parameter starts with (zeros, or Adagrad's initial accumulator)."""
        return {k: self._initial_slot(k, param.data) for k in self.slot_names}

    def set_state(self, state):
        """Restore `get_state()`'s result; the slots bind to parameters in the order they are next seen."""
        self.iterations = int(state["iterations"])
        self._slots = {}
        self._pending = [dict(s) for s in state["slots"]]

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = {"class_name": type(lr).__name__, "config": lr.get_config()}
        elif callable(lr):
            raise ValueError("an optimizer whose learning_rate is a plain callable cannot be saved; "
                             "use a LearningRateSchedule")
        config = {"learning_rate": lr, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm, "name": self.name}
        return {**config, **self._hyperparameters()}

    def _hyperparameters(self):
        return {}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.SCHEDULES[lr["class_name"]].from_config(lr["config"])
        return cls(**config)


def _norm(g):
    return float(array_module(g).sqrt((g * g).sum()))


def _scale_to_norm(g, norm, limit):
    return g * g.dtype.type(limit / norm) if norm > limit else g


def _check_fraction(name, value):
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


class SGD(Optimizer):
    """Gradient descent, with optional momentum (Keras's form):

        plain:     w ← w - lr·g
        momentum:  v ← momentum·v - lr·g;   w ← w + v
        Nesterov:  v ← momentum·v - lr·g;   w ← w + momentum·v - lr·g
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        _check_fraction("momentum", momentum)
        self.momentum, self.nesterov = momentum, nesterov
        self.slot_names = ("momentum",) if momentum else ()

    def update(self, w, g, slots, lr):
        xp, step = array_module(w), slots["scratch"]
        xp.multiply(g, lr, out=step)  # lr·g
        if not self.momentum:
            w -= step
            return
        v = slots["momentum"]
        v *= w.dtype.type(self.momentum)
        v -= step
        if self.nesterov:
            w -= step
            xp.multiply(v, w.dtype.type(self.momentum), out=step)
            w += step
        else:
            w += v

    def _hyperparameters(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Momentum(SGD):
    """SGD with momentum 0.9 (the textbook's Momentum)."""

    def __init__(self, learning_rate=0.01, momentum=0.9, nesterov=False, **kwargs):
        super().__init__(learning_rate, momentum, nesterov, **kwargs)


class Adagrad(Optimizer):
    """Per-parameter rates that shrink with the sum of squared gradients (Keras 3):

        a ← a + g²   (a starts at initial_accumulator_value);   w ← w - lr·g / √(a + ε)
    """

    slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _initial_slot(self, name, w):
        return array_module(w).full_like(w, self.initial_accumulator_value)

    def update(self, w, g, slots, lr):
        xp, a, tmp = array_module(w), slots["accumulator"], slots["scratch"]
        xp.multiply(g, g, out=tmp)
        a += tmp
        xp.add(a, w.dtype.type(self.epsilon), out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(g, tmp, out=tmp)
        tmp *= lr
        w -= tmp

    def _hyperparameters(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}


AdaGrad = Adagrad


class RMSprop(Optimizer):
    """A moving average of squared gradients scales each step (Keras 3, ε inside the root):

        v ← ρ·v + (1 - ρ)·g²;   Δ = lr·g / √(v + ε)   (centered: √(v - ḡ² + ε), ḡ ← ρ·ḡ + (1 - ρ)·g)
        w ← w - Δ   (with momentum: m ← momentum·m + Δ;  w ← w - m)
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        _check_fraction("rho", rho)
        _check_fraction("momentum", momentum)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered
        self.slot_names = ("velocity",) + (("momentum",) if momentum else ()) + (("average_gradient",) if centered else ())

    def update(self, w, g, slots, lr):
        xp, v, tmp = array_module(w), slots["velocity"], slots["scratch"]
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

    def _hyperparameters(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """Momentum and RMSprop with bias correction (Keras 3's form, ε outside the root):

        m ← m + (1 - β₁)(g - m);   v ← v + (1 - β₂)(g² - v)
        α = lr·√(1 - β₂ᵗ) / (1 - β₁ᵗ);   w ← w - α·m / (√v + ε)        (t = 1 at the first update)
    """

    slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        _check_fraction("beta_1", beta_1)
        _check_fraction("beta_2", beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update(self, w, g, slots, lr):
        xp, m, v, tmp = array_module(w), slots["momentum"], slots["velocity"], slots["scratch"]
        f = w.dtype.type
        t = self.iterations + 1
        alpha = f(lr * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t))
        xp.subtract(g, m, out=tmp)
        tmp *= f(1 - self.beta_1)
        m += tmp
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= f(1 - self.beta_2)
        v += tmp
        xp.sqrt(v, out=tmp)
        tmp += f(self.epsilon)
        xp.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004, as Keras): w ← w - lr·wd·w, then Adam's step."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        if weight_decay is None or weight_decay < 0:
            raise ValueError(f"AdamW needs weight_decay >= 0, got {weight_decay}")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay=weight_decay, **kwargs)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}
_CLASSES = {cls.__name__: cls for cls in OPTIMIZERS.values()}


def get(identifier):
    """An optimizer from a name ("adam"), a config dict, or an Optimizer (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return _CLASSES[identifier["class_name"]].from_config(identifier["config"])
    if isinstance(identifier, str) and identifier.lower() in OPTIMIZERS:
        return OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; expected one of {', '.join(OPTIMIZERS)} or an Optimizer")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


__all__ = ["Optimizer", "SGD", "Momentum", "Adagrad", "AdaGrad", "RMSprop", "Adam", "AdamW", "get", "serialize",
           "schedules", "ExponentialDecay", "StepDecay", "CosineDecay", "LearningRateSchedule"]
