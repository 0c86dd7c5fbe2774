"""The Optimizer base: learning rate, clipping, weight decay, state, and the fused update.

Two ways to use an optimizer: `opt.step(params)` after `loss.backward()` (reads each parameter's
`.grad`), or Keras's `opt.apply_gradients(zip(grads, params))`. Every optimizer also takes `clipnorm`
(each gradient's norm capped), `global_clipnorm` (all gradients' joint norm capped), `clipvalue` (each
element clipped to ±value) and `weight_decay` (decoupled: w ← w - lr·wd·w before the update).
`learning_rate` is a number, a schedule, or any callable of the step count.

A subclass writes its rule once, as `update(w, g, slots, lr)` on arrays. The optimizer owns the
layout of its state: the gradients and state slots of all parameters of one dtype lie end to end in
flat buffers (`_Pack`), so the rule runs once over everything (`fused=True`, the default: a handful of
vectorized passes per step instead of a handful per parameter) or once per parameter on views of the
same buffers (`fused=False`, the readable single-tensor path; tests check both give the same numbers).
The weights themselves are never moved: the fused rule's final `w -= step` updates each weight array
in place from its slice of the step, so an array taken from `layer.kernel.data` stays the live weight.
"""
import math

import numpy as np

from ..backend import array_module, to_numpy
from ..tensor import Tensor
from . import schedules
from .schedules import LearningRateSchedule

OPTIMIZERS = {}  # name compile() takes -> class
CLASSES = {}  # class name -> class (configs name optimizers by class)


class Optimizer:
    slot_names = ()
    aliases = ()
    reads_weights = False  # a rule that reads w (not only writes it) runs weight by weight

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for registry, names in ((CLASSES, [cls.__name__]), (OPTIMIZERS, [cls.__name__.lower(), *cls.__dict__.get(
                "aliases", ())])):
            for name in names:
                if not _shadows_builtin(registry.get(name), cls):
                    registry[name] = cls

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, fused=True, **kwargs):
        unknown = set(kwargs) - {"use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                                 "gradient_accumulation_steps", "jit_compile"}
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(unknown)}")
        unsupported = [k for k in ("use_ema", "loss_scale_factor", "gradient_accumulation_steps") if kwargs.get(k)]
        if unsupported:  # refused, not silently ignored: the weights would differ from Keras's
            raise NotImplementedError(f"{type(self).__name__}: {', '.join(unsupported)} is not supported")
        for option, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm)):
            if value is not None and value <= 0:
                raise ValueError(f"{option} must be > 0, got {value}")
        self.learning_rate = learning_rate
        self.weight_decay, self.clipnorm, self.clipvalue = weight_decay, clipnorm, clipvalue
        self.global_clipnorm = global_clipnorm
        self.name = name or type(self).__name__.lower()
        self.fused = fused
        self.iterations = 0
        self._slots = {}  # param Tensor -> {slot name: array (a view of a pack's buffer)}
        self._packs = {}  # dtype -> the _Pack of the parameters last updated
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

    def gradient_buffers(self, params):
        """Arrays shaped like `params` (same dtype) to write gradients into before `apply(buffers,
        params)`: views of the flat gradient buffer, so apply copies nothing."""
        pack = self._packs.get(params[0].dtype)
        if pack is not None and pack.holds(params):
            return pack.grad_views
        if len({p.dtype for p in params}) != 1:
            return [array_module(p.data).zeros_like(p.data) for p in params]
        return self._pack(params).grad_views

    def build(self, params):
        """Create the state slots of parameters not seen yet (zeros, or those given to set_state)."""
        groups = {}
        for p in params:
            groups.setdefault(p.dtype, []).append(p)
        for group in groups.values():
            self._pack(group)

    def apply(self, grads, params):
        """Update `params` (Tensors) in place from `grads` (arrays of the same shapes), one step."""
        if not params:
            return
        lr = self.learning_rate
        for pack in self._packs_holding(grads, params):
            self._clip(pack)
            weights = [p.data for p in pack.params]
            if self.fused and not self.reads_weights:
                self._update(_Scattered(weights, pack), pack.grad, pack.flat_slots, lr)
            else:
                for w, g, slots in zip(weights, pack.grad_views, pack.slot_views):
                    self._update(w, g, slots, lr)
        self.iterations += 1

    def _packs_holding(self, grads, params):
        """The packs of `params`, with `grads` copied into their gradient buffers."""
        pack = self._packs.get(params[0].dtype)
        if pack is not None and grads is pack.grad_views and pack.holds(params):
            return [pack]  # the buffers gradient_buffers() handed out: the gradients are in place
        packs = []
        for group in self._groups(grads, params):
            pack = self._pack([p for p, _ in group])
            for view, (_, g) in zip(pack.grad_views, group):
                if g is not view:
                    view[...] = g
            packs.append(pack)
        return packs

    @staticmethod
    def _groups(grads, params):
        """(param, grad) pairs grouped by dtype (one group in practice): one pack each."""
        groups = {}
        for p, g in zip(params, grads):
            if g.shape != p.shape:
                raise ValueError(f"gradient of shape {g.shape} for parameter {p.name} of shape {p.shape}")
            groups.setdefault(p.dtype, []).append((p, g))
        return groups.values()

    def _update(self, w, g, slots, lr):
        if self.weight_decay:
            w *= w.dtype.type(1 - lr * self.weight_decay)
        self.update(w, g, slots, w.dtype.type(lr))

    def _clip(self, pack):
        """Clip the pack's gradient in place, each weight's part by its own norm for clipnorm."""
        if self.clipvalue is not None:
            array_module(pack.grad).clip(pack.grad, -self.clipvalue, self.clipvalue, out=pack.grad)
        if self.clipnorm is not None:
            for g in pack.grad_views:
                _scale_to_norm(g, _norm(g), self.clipnorm)
        if self.global_clipnorm is not None:
            _scale_to_norm(pack.grad, math.sqrt(sum(_norm(g) ** 2 for g in pack.grad_views)), self.global_clipnorm)

    def update(self, w, g, slots, lr):
        """Update parameter array `w` in place from gradient `g`; `slots` holds this parameter's state
        (and "scratch", a work array of g's shape). Only write to `w` (`w -= step`, `w += step`,
        `w *= factor`): in the fused path it stands for all weights at once and cannot be read."""
        raise NotImplementedError

    def _pack(self, params):
        """The pack of exactly `params`, made anew when they changed (a layer frozen or unfrozen): the
        state of every parameter seen before moves along; new ones start fresh."""
        pack = self._packs.get(params[0].dtype)
        if pack is not None and pack.holds(params):
            return pack
        initial = [self._slots.get(p) or self._initial_state(p) for p in params]
        pack = self._packs[params[0].dtype] = _Pack(params, self.slot_names, initial)
        for p, views in zip(params, pack.slot_views):
            self._slots[p] = views
        return pack

    def _initial_state(self, p):
        pending = self._pending.pop(0) if self._pending else None
        if pending is None:
            return {k: self._initial_slot(k, p.data) for k in self.slot_names}
        if set(pending) != set(self.slot_names) or any(np.shape(a) != p.shape for a in pending.values()):
            raise ValueError(f"optimizer state does not fit parameter {p.name} of shape {p.shape}")
        return pending

    def _initial_slot(self, name, w):
        return array_module(w).zeros_like(w)

    # ---- state and config --------------------------------------------------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_packs"] = {}  # a copy's slots are copied weight by weight; its packs are rebuilt from them
        return state

    @property
    def variables(self):
        """The state arrays, weight by weight in the order first seen (live views, as Keras's are)."""
        return [a for slots in self._slots.values() for k, a in slots.items() if k != "scratch"]

    def get_state(self, params=None):
        """Everything needed to resume exactly: the step count and each parameter's slots, in the order
        the parameters were first updated (or in the order of `params`)."""
        if params is None:
            chosen = list(self._slots.values())
        else:  # a weight not updated yet gets its initial state, so that positions still match the weights
            chosen = [self._slots.get(p) or {k: self._initial_slot(k, p.data) for k in self.slot_names} for p in params]
        slots = [{k: to_numpy(v).copy() for k, v in s.items() if k != "scratch"} for s in chosen]
        return {"iterations": self.iterations, "slots": slots}

    def set_state(self, state):
        """Restore `get_state()`'s result; the slots bind to parameters in the order they are next seen."""
        self.iterations = int(state["iterations"])
        self._slots, self._packs = {}, {}
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


class _Pack:
    """Parameters of one dtype laid end to end: a flat gradient, scratch and state slots, plus views of
    them shaped like each parameter."""

    def __init__(self, params, slot_names, initial):
        xp, dtype = array_module(params[0].data), params[0].dtype
        self.params, self._views, self._recognized = list(params), {}, None
        self.offsets = np.cumsum([0] + [p.size for p in params]).tolist()
        size = self.offsets[-1]
        self.grad, scratch = xp.zeros(size, dtype=dtype), xp.empty(size, dtype=dtype)
        self.flat_slots = {name: xp.empty(size, dtype=dtype) for name in slot_names}
        for name, flat in self.flat_slots.items():
            for view, state in zip(self.views(flat), initial):
                view[...] = xp.asarray(state[name], dtype=dtype)
        self.flat_slots["scratch"] = scratch
        self.grad_views = self.views(self.grad)
        per_slot = {name: self.views(flat) for name, flat in self.flat_slots.items()}
        self.slot_views = [{name: per_slot[name][i] for name in per_slot} for i in range(len(params))]

    def holds(self, params):
        """Whether `params` are exactly this pack's, in order (a list seen before is known at once)."""
        if params is self._recognized:
            return True
        if len(params) == len(self.params) and all(a is b for a, b in zip(params, self.params)):
            self._recognized = params
            return True
        return False

    def views(self, flat):
        """Views of `flat` shaped like each parameter (kept for the pack's own buffers)."""
        views = self._views.get(id(flat))
        if views is not None and views[0].base is flat:
            return views
        views = [flat[a:b].reshape(p.shape) for p, a, b in zip(self.params, self.offsets[:-1], self.offsets[1:])]
        if flat is self.grad or any(flat is a for a in getattr(self, "flat_slots", {}).values()):
            self._views[id(flat)] = views
        return views


class _Scattered:
    """The weights of a pack, updated as one flat array: `w -= step` subtracts each slice of the flat
    `step` from its weight, in place. This lets an `update` rule run unchanged over all weights at once
    without moving them into a buffer of ours."""

    def __init__(self, arrays, pack):
        self.arrays, self.pack, self.dtype = arrays, pack, pack.grad.dtype

    def __isub__(self, step):
        for w, s in zip(self.arrays, self.pack.views(step)):
            w -= s
        return self

    def __iadd__(self, step):
        for w, s in zip(self.arrays, self.pack.views(step)):
            w += s
        return self

    def __imul__(self, factor):
        for w in self.arrays:
            w *= factor
        return self


def _shadows_builtin(existing, cls):
    """A user's class named like one of ours (a from-scratch SGD, say) does not replace ours by name."""
    return existing is not None and existing.__module__.startswith("scratchgrad.") and \
        not cls.__module__.startswith("scratchgrad.")


def _norm(g):
    return float(array_module(g).sqrt((g * g).sum()))


def _scale_to_norm(g, norm, limit):
    if norm > limit:
        g *= g.dtype.type(limit / norm)


def check_fraction(name, value):
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
