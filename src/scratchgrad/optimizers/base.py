"""The Optimizer base: learning rate, clipping, weight decay, state, and the fused update.

Two ways to use an optimizer: `opt.step(params)` after `loss.backward()` (reads each parameter's
`.grad`), or Keras's `opt.apply_gradients(zip(grads, params))`. Every optimizer also takes `clipnorm`
(each gradient's norm capped), `global_clipnorm` (all gradients' joint norm capped), `clipvalue` (each
element clipped to ±value), one of the three at most, and `weight_decay` (decoupled: w ← w - lr·wd·w
before the update; `exclude_from_weight_decay` names weights it spares, such as the biases).
`learning_rate` is a number, a schedule, or any callable of the step count.

Keras 3's other options: `use_ema` keeps a moving average of each weight after every step ("average"
slot; `ema_overwrite_frequency` copies it into the weights every that many steps, `fit()` at its end
through `finalize_variable_values`), `gradient_accumulation_steps=n` sums the gradients of n calls and
updates with their mean on the n-th ("gradient_accumulator" slot), and `loss_scale_factor=s` divides the
gradients by s (the trainer multiplied the loss by s, `scale_loss`).

A subclass writes its rule once, as `update(w, g, slots, lr)` on arrays. The optimizer owns the
layout of its state: the gradients and state slots of all parameters of one dtype lie end to end in
flat buffers (`_Pack`), so the rule runs once over everything (`fused=True`, the default: a handful of
vectorized passes per step instead of a handful per parameter) or once per parameter on views of the
same buffers (`fused=False`, the readable single-tensor path; tests check both give the same numbers).
The weights themselves are never moved: the fused rule's final `w -= step` updates each weight array
in place from its slice of the step, so an array taken from `layer.kernel.data` stays the live weight.
Where numba is installed, Adam's and RMSprop's fused path is one compiled loop (`compiled_update`, the
same operations in the same order; tests check it equals `update`), run once over all the weights where
they lie end to end in memory (weight_memory.py: a model's small trainable weights do), else on each weight,
or for a small network once over the whole pack (`_Scattered.run_kernel`).
"""
import math
import operator
import re

import numpy as np

from .. import compiled, weight_memory
from ..backend import array_module, to_numpy
from ..tensor import Tensor
from . import schedules
from .schedules import LearningRateSchedule

SMALL_PACK = 16384  # elements: see _Scattered.run_kernel (benchmarks/kernels.py times both ways)
OPTIMIZERS = {}  # name compile() takes -> class
CLASSES = {}  # class name -> class (configs name optimizers by class)


class Optimizer:
    slot_names = ()
    aliases = ()
    reads_weights = False  # a rule that reads w (not only writes it) runs weight by weight

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        by_name = [] if cls.__dict__.get("wraps_another") else [cls.__name__.lower(), *cls.__dict__.get("aliases", ())]
        for registry, names in ((CLASSES, [cls.__name__]), (OPTIMIZERS, by_name)):
            for name in names:
                if not _shadows_builtin(registry.get(name), cls):
                    registry[name] = cls

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, fused=True, **kwargs):
        unknown = set(kwargs) - {"jit_compile"}
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(unknown)}")
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        for option, value in clips.items():
            if value is not None and value <= 0:
                raise ValueError(f"{option} must be > 0, got {value}")
        if sum(value is not None for value in clips.values()) > 1:
            raise ValueError("only one of clipnorm, clipvalue and global_clipnorm can be set (as in Keras), got "
                             + ", ".join(f"{option}={value}" for option, value in clips.items()))
        _check_keras_options(use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                             gradient_accumulation_steps)
        self.learning_rate = learning_rate
        self.weight_decay, self.clipnorm, self.clipvalue = weight_decay, clipnorm, clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema, self.ema_momentum, self.ema_overwrite_frequency = use_ema, ema_momentum, ema_overwrite_frequency
        self.loss_scale_factor, self.gradient_accumulation_steps = loss_scale_factor, gradient_accumulation_steps
        self.name = name or type(self).__name__.lower()
        self.fused = fused
        self._iterations = 0  # every apply() call; `iterations` counts updates
        self._slots = {}  # param Tensor -> {slot name: array (a view of a pack's buffer)}
        self._packs = {}  # dtype -> the _Pack of the parameters last updated
        self._pending = None  # slots from set_state, bound to the next parameters seen
        self._no_decay, self._no_decay_names, self._decays = set(), None, {}  # exclude_from_weight_decay's (by Tensor)

    @property
    def iterations(self):
        """The updates made so far, which the rules' step count t - 1 is. With gradient accumulation
        that is the apply() calls // gradient_accumulation_steps, as in Keras."""
        n = self.gradient_accumulation_steps
        return self._iterations // n if n else self._iterations

    # ---- learning rate -----------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The rate the next update uses. A schedule is evaluated at the apply() calls made so far (with
        gradient accumulation too, as Keras's schedules see its raw `_iterations`)."""
        lr = self._learning_rate
        return float(lr(self._iterations)) if callable(lr) else lr

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
            if self._gradient_ready(pack):
                self._clip(pack)
                self._update_pack(pack, lr)
            if self.use_ema:
                self._update_averages(pack)
            _constrain(pack.params)  # at every call, after the averages, as Keras's apply
        self._iterations += 1

    def scale_loss(self, loss):
        """The loss the trainer backpropagates: times loss_scale_factor when set (apply() divides the
        gradients by it again)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def finalize_variable_values(self, var_list):
        """Keras's end of fit(): with use_ema the weights in `var_list` take their moving averages."""
        if self.use_ema:
            for w, average in self.moving_averages(var_list):
                w[...] = average

    def moving_averages(self, params=None):
        """(weight, moving average) array pairs, both live, for `params` (default: every weight updated
        so far; a weight gets its average at its first update)."""
        if not self.use_ema:
            raise ValueError(f"optimizer {self.name!r} keeps no moving averages of the weights: "
                             f"create it with use_ema=True (got use_ema=False)")
        chosen = self._slots if params is None else [p for p in params if p in self._slots]
        return [(p.data, self._slots[p]["average"]) for p in chosen]

    def _gradient_ready(self, pack):
        """Unscale the pack's gradient and, with gradient accumulation, add it to the sum: True when the
        weights update now, with the mean of the summed gradients in `pack.grad` (Keras's order)."""
        g = pack.grad
        if self.loss_scale_factor is not None:
            g /= g.dtype.type(self.loss_scale_factor)
        n = self.gradient_accumulation_steps
        if not n:
            return True
        total = pack.flat_slots["gradient_accumulator"]
        if (self._iterations + 1) % n:
            total += g
            return False
        g += total
        g /= g.dtype.type(n)
        total[...] = 0
        return True

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Keras's: no weight decay for the weights in `var_list`, nor for those whose name (the last part of
        the path, as Keras's variable.name: "bias", "gamma") contains one of the regular expressions in
        `var_names`, e.g. var_names=["bias"]. Only before the first update, as in Keras."""
        if self._packs:
            raise ValueError("exclude_from_weight_decay() can only be called before the optimizer is built "
                             "(before its first update)")
        self._no_decay = set(var_list or ())
        self._no_decay_names = re.compile("|".join(var_names)) if var_names else None
        self._decays = {}

    def _decay(self, params, lr):
        """Decoupled weight decay, w ← w·(1 - lr·wd), before the rule's update (Keras's order)."""
        for p in params:
            decays = self._decays.get(p)
            if decays is None:
                names = self._no_decay_names
                decays = self._decays[p] = p not in self._no_decay and not (
                    names and names.search((p.name or "").rsplit("/", 1)[-1]))
            rate = self._decay_rate(p)
            if decays and rate:
                p.data *= p.data.dtype.type(1 - lr * rate)

    def _decay_rate(self, param):
        """The decoupled weight decay of `param` (Muon's depends on the weight)."""
        return self.weight_decay

    def _update_pack(self, pack, lr):
        if self.weight_decay:
            self._decay(pack.params, lr)
        weights = [p.data for p in pack.params]
        if self.fused and not self.reads_weights:
            use_kernel = type(self).compiled_update is not Optimizer.compiled_update and compiled.applies(pack.grad)
            self._update(_Scattered(weights, pack), pack.grad, pack.flat_slots, lr, use_kernel)
        else:
            for w, g, slots in zip(weights, pack.grad_views, pack.slot_views):
                self._update(w, g, slots, lr)

    def _update_averages(self, pack):
        """average ← m·average + (1 - m)·w after every apply() call (accumulating ones too), with m = 0
        while no update was made, so that the first average is the weight itself (Keras's formula). The
        weights take their averages at the calls where `iterations + 1` is a multiple of
        ema_overwrite_frequency (with gradient accumulation, each call of such a block, as in Keras)."""
        f = pack.grad.dtype.type
        momentum = f(self.ema_momentum if self.iterations else 0.0)
        frequency = self.ema_overwrite_frequency
        overwrite = frequency and (self.iterations + 1) % frequency == 0
        for p, slots in zip(pack.params, pack.slot_views):
            average, tmp = slots["average"], slots["scratch"]
            average *= momentum
            array_module(tmp).multiply(p.data, f(1) - momentum, out=tmp)
            average += tmp
            if overwrite:
                p.data[...] = average

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

    def _update(self, w, g, slots, lr, use_kernel=False):
        lr = w.dtype.type(lr)
        if not (use_kernel and self.compiled_update(w, g, slots, lr)):
            self.update(w, g, slots, lr)

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
        (and "scratch", a work array of g's shape). Only write to `w` (`w -= step` or `w += step`):
        in the fused path it stands for all weights at once and cannot be read."""
        raise NotImplementedError

    def compiled_update(self, w, g, slots, lr):
        """`update` as one compiled loop over the flat buffers (scratchgrad.compiled), where a rule has one:
        the same operations in the same order. Returns False where this rule or configuration has none."""
        return False

    def _pack(self, params):
        """The pack of exactly `params`, made anew when they changed (a layer frozen or unfrozen): the
        state of every parameter seen before moves along; new ones start fresh."""
        pack = self._packs.get(params[0].dtype)
        if pack is not None and pack.holds(params):
            return pack
        initial = [self._slots.get(p) or self._initial_state(p) for p in params]
        pack = self._packs[params[0].dtype] = _Pack(params, self._state_names(), initial)
        for p, views in zip(params, pack.slot_views):
            self._slots[p] = views
        return pack

    def _state_names(self):
        """The slots kept per weight: the rule's own, then those of use_ema and gradient accumulation."""
        return (*self.slot_names, *(("average",) if self.use_ema else ()),
                *(("gradient_accumulator",) if self.gradient_accumulation_steps else ()))

    def _fresh_state(self, p):
        return {k: self._initial_slot(k, p.data) for k in self._state_names()}

    def _initial_state(self, p):
        fresh = self._fresh_state(p)
        pending = self._pending.pop(0) if self._pending else None
        if pending is None:
            return fresh
        expected = {k: np.shape(a) for k, a in fresh.items()}
        got = {k: np.shape(a) for k, a in pending.items()}
        if got != expected:
            raise ValueError(f"optimizer state does not fit parameter {p.name} of shape {p.shape}: "
                             f"expected slots {expected}, got {got}")
        return pending

    def _initial_slot(self, name, w):
        """A new slot: zeros shaped like the weight (a rule may give a slot another shape)."""
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
            chosen = [self._slots.get(p) or self._fresh_state(p) for p in params]
        slots = [{k: to_numpy(v).copy() for k, v in s.items() if k != "scratch"} for s in chosen]
        return {"iterations": self._iterations, "slots": slots}

    def set_state(self, state):
        """Restore `get_state()`'s result; the slots bind to parameters in the order they are next seen."""
        self._iterations = int(state["iterations"])
        self._slots, self._packs = {}, {}
        self._pending = [dict(s) for s in state["slots"]]

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            raise ValueError("an optimizer whose learning_rate is a plain callable cannot be saved; "
                             "use a LearningRateSchedule")
        config = {"learning_rate": lr, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm, "use_ema": self.use_ema,
                  "ema_momentum": self.ema_momentum, "ema_overwrite_frequency": self.ema_overwrite_frequency,
                  "loss_scale_factor": self.loss_scale_factor,
                  "gradient_accumulation_steps": self.gradient_accumulation_steps, "name": self.name}
        return {**config, **self._hyperparameters()}

    def _hyperparameters(self):
        return {}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.deserialize(lr)
        return cls(**config)


class _Pack:
    """Parameters of one dtype laid end to end: a flat gradient, scratch and state slots, plus views of
    them shaped like each parameter. A slot shaped otherwise (Adafactor's factored moments) gets its own
    layout, taken from the shapes of `initial`; only a rule that runs weight by weight can use it."""

    def __init__(self, params, slot_names, initial):
        xp, dtype = array_module(params[0].data), params[0].dtype
        self.params, self._views, self._recognized = list(params), {}, None
        self._run = (), None  # (weights, the run of memory they fill): run()'s
        self.parts_cache = (), (), None  # (weights, flat buffers, their parts): _Scattered._flat_parts' cache
        self.shapes = [p.shape for p in params]
        self.offsets = _offsets(self.shapes)
        size = self.offsets[-1]
        self.grad, scratch = xp.zeros(size, dtype=dtype), xp.empty(size, dtype=dtype)
        self.flat_slots, per_slot = {}, {}
        for name in slot_names:
            shapes = [np.shape(state[name]) for state in initial]
            offsets = self.offsets if shapes == self.shapes else _offsets(shapes)
            flat = self.flat_slots[name] = xp.empty(offsets[-1], dtype=dtype)
            per_slot[name] = self._views[id(flat)] = _split(flat, shapes, offsets)
            for view, state in zip(per_slot[name], initial):
                view[...] = xp.asarray(state[name], dtype=dtype)
        self.flat_slots["scratch"] = scratch
        per_slot["scratch"] = self.scratch_views = self.views(scratch)
        self.grad_views = self.views(self.grad)
        self.slot_views = [{name: per_slot[name][i] for name in per_slot} for i in range(len(params))]

    def holds(self, params):
        """Whether `params` are exactly this pack's, in order (a list seen before is known at once)."""
        if params is self._recognized:
            return True
        if len(params) == len(self.params) and all(a is b for a, b in zip(params, self.params)):
            self._recognized = params
            return True
        return False

    def run(self, weights):
        """`weights` (the parameters' arrays, in order) as one 1-D array where they lie end to end in memory
        (weight_memory.run) with the pack's shapes, kept while they are the same arrays; None where they do not,
        or where one is read-only."""
        arrays, run = self._run
        if not _same(arrays, weights):
            run = weight_memory.run(weights)
            if run is not None and any(w.shape != shape for w, shape in zip(weights, self.shapes)):
                run = None
            self._run = list(weights), run
        if run is None or not all(map(_writeable, weights)):
            return None
        return run

    def views(self, flat):
        """Views of `flat` shaped like each parameter (kept for the pack's own buffers)."""
        views = self._views.get(id(flat))
        if views is not None and views[0].base is flat:
            return views
        views = _split(flat, self.shapes, self.offsets)
        if flat is self.grad or any(flat is a for a in getattr(self, "flat_slots", {}).values()):
            self._views[id(flat)] = views
        return views


def _constrain(params):
    """Keras's: a weight given a constraint (Layer.add_weight) takes constraint(weight) after its update."""
    for p in params:
        constraint = getattr(p, "constraint", None)
        if constraint is not None:
            p.data[...] = constraint(p.data)


class _Scattered:
    """The weights of a pack, updated as one flat array: `w -= step` subtracts each slice of the flat
    `step` from its weight, in place, or the whole step at once where the weights lie end to end in memory
    (weight_memory.py; a model's small trainable weights do). This lets an `update` rule run unchanged over
    all weights at once without moving them into a buffer of ours."""

    def __init__(self, arrays, pack):
        self.arrays, self.pack, self.dtype = arrays, pack, pack.grad.dtype
        self.run = pack.run(arrays)

    def __isub__(self, step):
        return self._apply(operator.isub, step)

    def __iadd__(self, step):
        return self._apply(operator.iadd, step)

    def _apply(self, op, step):
        """`op(w, step)` in place: once over the run of the weights, else on each weight with its part of `step`."""
        if self.run is not None:
            op(self.run, step)
            return self
        for w, s in zip(self.arrays, self.pack.views(step)):
            op(w, s)
        return self

    def run_kernel(self, kernel, flats, *constants):
        """Run `kernel(w, *parts, *constants)`, a compiled loop that updates a 1-D weight `w` in place from
        its parts of the flat buffers `flats` (`w[i] -= step`): once over all the weights where they lie end
        to end in memory. Else a large pack runs it on each weight; a small one (under SMALL_PACK elements)
        once over the flat scratch set to -0.0, then adds the scratch to each weight: w + (-0.0 - step) is
        w - step bit for bit, signed zeros included. One compiled call instead of one per weight (the adds
        are NumPy's): for a small network each call costs more than the extra pass. Returns False where the
        loop cannot run."""
        if self.run is not None:
            kernel(self.run, *flats, *constants)
            return True
        if self.pack.offsets[-1] < SMALL_PACK:
            scratch = self.pack.flat_slots["scratch"]
            scratch[...] = -0.0
            kernel(scratch, *flats, *constants)
            self._apply(operator.iadd, scratch)
            return True
        parts = self._flat_parts(flats)
        if parts is None:
            return False
        for part in parts:
            kernel(*part, *constants)
        return True

    def _flat_parts(self, flats):
        """Each weight as a 1-D view, with its slice of each flat buffer in `flats`. None if a weight is not
        contiguous (its 1-D view would be a copy, and the loop's writes lost), is read-only, or is not its
        parameter's shape (a loop without bounds checks must never see it; NumPy raises there). Kept while
        the weights and buffers are the same objects."""
        arrays, cached_flats, parts = self.pack.parts_cache
        if not (_same(arrays, self.arrays) and _same(cached_flats, flats)):
            parts = None
            if all(w.flags.c_contiguous and w.shape == shape for w, shape in zip(self.arrays, self.pack.shapes)):
                bounds = zip(self.pack.offsets[:-1], self.pack.offsets[1:])
                parts = [(w.reshape(-1), *(f[lo:hi] for f in flats)) for w, (lo, hi) in zip(self.arrays, bounds)]
            self.pack.parts_cache = list(self.arrays), flats, parts
        if parts is None or not all(map(_writeable, self.arrays)):
            return None
        return parts


_writeable = operator.attrgetter("flags.writeable")  # (in C: no Python frame per weight, as a generator has)


def _same(a, b):
    return len(a) == len(b) and all(map(operator.is_, a, b))


def _offsets(shapes):
    return np.cumsum([0] + [math.prod(s) for s in shapes]).tolist()


def _split(flat, shapes, offsets):
    """Views of `flat` with these shapes, end to end from these offsets."""
    return [flat[a:b].reshape(s) for s, a, b in zip(shapes, offsets[:-1], offsets[1:])]


def _check_keras_options(use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps):
    """Keras's checks of its EMA and accumulation options (made only when the option is on, as there),
    plus a positive loss_scale_factor, which the gradients are divided by."""
    if gradient_accumulation_steps and (not _is_int(gradient_accumulation_steps) or gradient_accumulation_steps < 2):
        raise ValueError(f"gradient_accumulation_steps must be an integer >= 2 or None, "
                         f"got {gradient_accumulation_steps!r}")
    if use_ema and not 0 <= ema_momentum <= 1:
        raise ValueError(f"ema_momentum must be in [0, 1], got {ema_momentum!r}")
    if use_ema and ema_overwrite_frequency and (not _is_int(ema_overwrite_frequency) or ema_overwrite_frequency < 1):
        raise ValueError(f"ema_overwrite_frequency must be an integer >= 1 or None, got {ema_overwrite_frequency!r}")
    positive = isinstance(loss_scale_factor, (int, float, np.number)) and loss_scale_factor > 0
    if loss_scale_factor is not None and not positive:
        raise ValueError(f"loss_scale_factor must be a positive number or None, got {loss_scale_factor!r}")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


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
