"""MultiOptimizer: each weight updated by the optimizer chosen for it, say a smaller learning rate for a
pretrained encoder than for a new head. OptimizerMap chooses by the weight's path ("encoder/dense/kernel")."""
import re
from collections.abc import MutableMapping

from .base import Optimizer, _same


def _optimizer(value, what):
    """`value` if it is an optimizer a MultiOptimizer can hold (not a wrapper of others, as in Keras)."""
    if not isinstance(value, Optimizer):
        raise ValueError(f"{what} must be an Optimizer instance, got {value!r}")
    if isinstance(value, (MultiOptimizer, _loss_scale_optimizer())):
        raise ValueError(f"{what} cannot be a {type(value).__name__} (as in Keras), got {value!r}")
    return value


def _loss_scale_optimizer():
    from .loss_scale_optimizer import LossScaleOptimizer

    return LossScaleOptimizer


class OptimizerMap(MutableMapping):
    """Keras's: weight path -> optimizer. A path taken as a key itself wins; else the keys are regular
    expressions the whole path must match (`re.fullmatch`: "encoder/.*" for every weight under encoder), at
    most one of them; else `default_optimizer`."""

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"default_optimizer must be an Optimizer, got {default_optimizer!r}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dict of path patterns to optimizers, got {optimizer_map!r}")
        self.default_optimizer = _optimizer(default_optimizer, "default_optimizer")
        self._map = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    def __getitem__(self, path):
        if path in self._map:
            return self._map[path]
        matches = [pattern for pattern in self._map if re.fullmatch(pattern, path)]
        if len(matches) > 1:
            raise ValueError(f"weight {path!r} matches more than one pattern of the OptimizerMap: {matches}")
        return self._map[matches[0]] if matches else self.default_optimizer

    def __setitem__(self, key, optimizer):
        if not isinstance(key, str):
            raise ValueError(f"an OptimizerMap's key is a weight path or a pattern (a string), got {key!r}")
        if key in self._map:
            raise ValueError(f"{key!r} is already in the OptimizerMap, with {self._map[key]!r}")
        self._map[key] = _optimizer(optimizer, f"the optimizer for {key!r}")

    def __delitem__(self, key):
        del self._map[key]

    def __iter__(self):
        return iter(self._map)

    def __len__(self):
        return len(self._map)

    def __call__(self, weight):
        return self[_path(weight)]

    def get_config(self):
        from . import serialize

        return {"default_optimizer": serialize(self.default_optimizer),
                "optimizer_map": {key: serialize(optimizer) for key, optimizer in self._map.items()}}

    @classmethod
    def from_config(cls, config):
        from . import get

        mapping = config.get("optimizer_map") or {}
        if not isinstance(mapping, dict):
            raise ValueError(f"an OptimizerMap's config maps patterns to optimizer configs, got {mapping!r:.120}")
        return cls(get(config["default_optimizer"]), {key: get(value) for key, value in mapping.items()})


def _path(weight):
    """Keras's variable path, which a model's trainer sets (Model._set_weight_paths); else the weight's name."""
    return getattr(weight, "path", None) or weight.name or ""


class MultiOptimizer(Optimizer):
    """Keras 3's: `optimizer_map` (an OptimizerMap, or a function of a weight returning its optimizer) picks
    each weight's optimizer once, the first time it sees the weight, by its path as Keras names it
    ("encoder/dense/kernel" for a Sequential encoder's Dense in a functional model; see
    Model._set_weight_paths); each optimizer then updates its own weights, with its own
    learning rate, state and step count (`.optimizers` lists them). `iterations` counts this optimizer's
    updates. It has no learning rate of its own: reading or setting one is an AttributeError, as in Keras,
    so callbacks that change it (ReduceLROnPlateau, LearningRateScheduler) need a single optimizer.
    `loss_scale_factor` is passed on to every optimizer, which divides its gradients by it."""

    wraps_another = True  # no compile("name"): it needs the optimizers it holds

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        if not callable(optimizer_map):
            raise TypeError(f"MultiOptimizer takes an OptimizerMap or a function of a weight returning its optimizer, "
                            f"got {optimizer_map!r}")
        super().__init__(name=name or "multi_optimizer", loss_scale_factor=loss_scale_factor)
        self.optimizer_map = optimizer_map
        listed = list(optimizer_map.values()) if isinstance(optimizer_map, OptimizerMap) else []
        default = getattr(optimizer_map, "default_optimizer", None)
        self._optimizers = []
        for optimizer in listed + ([default] if default is not None else []):
            self._add(optimizer)
        self._chosen = {}  # weight -> its optimizer, chosen once
        self._last = (), []  # the last params list seen and its groups (the trainer passes the same list each step)
        self._state = None  # set_state's, handed out at the next build

    def _add(self, optimizer):
        if not any(optimizer is known for known in self._optimizers):
            optimizer.loss_scale_factor = self.loss_scale_factor
            self._optimizers.append(optimizer)
        return optimizer

    @property
    def optimizers(self):
        return list(self._optimizers)

    @property
    def learning_rate(self):
        raise AttributeError("a MultiOptimizer has no learning rate of its own: read it on one of its .optimizers")

    @learning_rate.setter
    def learning_rate(self, value):
        if not hasattr(self, "_optimizers"):  # Optimizer.__init__'s assignment
            return
        raise AttributeError("a MultiOptimizer has no learning rate of its own: set it on one of its .optimizers")

    @property
    def loss_scale_factor(self):
        return self._loss_scale_factor

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        self._loss_scale_factor = value
        for optimizer in getattr(self, "_optimizers", ()):
            optimizer.loss_scale_factor = value

    # ---- the weights shared out ----------------------------------------------------------------
    def _grouped(self, params):
        """For each optimizer holding some of `params`: (optimizer, its params, their positions in `params`)."""
        last, groups = self._last
        if params is last or _same(params, last):
            return groups
        for p in params:
            if p not in self._chosen:
                self._chosen[p] = self._add(_optimizer(self.optimizer_map(p), f"the optimizer of weight {_path(p)!r}"))
        chosen = [self._chosen[p] for p in params]
        groups = []
        for optimizer in self._optimizers:
            positions = [i for i, o in enumerate(chosen) if o is optimizer]
            if positions:
                groups.append((optimizer, [params[i] for i in positions], positions))
        self._last = list(params), groups
        return groups

    def gradient_buffers(self, params):
        buffers = [None] * len(params)
        for optimizer, own, positions in self._grouped(params):
            for i, buffer in zip(positions, optimizer.gradient_buffers(own)):
                buffers[i] = buffer
        return buffers

    def build(self, params):
        groups = self._grouped(params)
        if self._state is not None:
            self._restore(params, groups)
        for optimizer, own, _ in groups:
            optimizer.build(own)

    def _restore(self, params, groups):
        """Hand set_state's slots to each weight's optimizer, and each optimizer its step count."""
        state, self._state = self._state, None
        if len(state["slots"]) != len(params):
            raise ValueError(f"the MultiOptimizer state holds slots for {len(state['slots'])} weights; "
                             f"{len(params)} are trained")
        owned = {id(optimizer): positions for optimizer, _, positions in groups}
        for k, optimizer in enumerate(self._optimizers):
            positions = owned.get(id(optimizer), [])
            optimizer.set_state({"iterations": state.get(f"iterations_{k}", 0),
                                 "slots": [state["slots"][i] for i in positions]})

    def apply(self, grads, params):
        if not params:
            return
        if self._state is not None:
            self.build(params)
        for optimizer, own, positions in self._grouped(params):
            optimizer.apply([grads[i] for i in positions], own)
        self._iterations += 1

    def finalize_variable_values(self, var_list):
        for optimizer, own, _ in self._grouped(list(var_list)):
            optimizer.finalize_variable_values(own)

    # ---- state and config ------------------------------------------------------------------------
    @property
    def variables(self):
        return [v for optimizer in self._optimizers for v in optimizer.variables]

    def get_state(self, params=None):
        """This optimizer's step count, each weight's slots from its optimizer, and each optimizer's own step
        count (`iterations_<k>`, k its place in `.optimizers`)."""
        if params is None:
            raise ValueError("a MultiOptimizer's state is taken for a list of weights: get_state(params)")
        slots = [None] * len(params)
        for optimizer, own, positions in self._grouped(params):
            for i, s in zip(positions, optimizer.get_state(own)["slots"]):
                slots[i] = s
        counts = {f"iterations_{k}": optimizer._iterations for k, optimizer in enumerate(self._optimizers)}
        return {"iterations": self._iterations, "slots": slots, **counts}

    def set_state(self, state):
        """Restore get_state's result; each weight's slots go to its optimizer at the next build(params)."""
        self._iterations = int(state["iterations"])
        self._state = state

    def get_config(self):
        if not isinstance(self.optimizer_map, OptimizerMap):
            raise ValueError("a MultiOptimizer that chooses by a function cannot be saved; use an OptimizerMap")
        return {"optimizer_map": {"class_name": "OptimizerMap", "config": self.optimizer_map.get_config()},
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        mapping = config.get("optimizer_map")
        if isinstance(mapping, dict):
            if mapping.get("class_name") != "OptimizerMap" or not isinstance(mapping.get("config"), dict):
                raise ValueError(f"a MultiOptimizer's optimizer_map config is {{'class_name': 'OptimizerMap', "
                                 f"'config': {{...}}}}, got {mapping!r:.120}")
            config["optimizer_map"] = OptimizerMap.from_config(mapping["config"])
        return cls(**config)
