"""Learning-rate schedules: callables of the optimizer's step count (0 for the first update), with Keras 3's
names, arguments and values (tests/test_keras_reference.py checks them against Keras)."""
import math

SCHEDULES = {}  # class name -> class, for configs


class LearningRateSchedule:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            SCHEDULES[cls.__name__] = cls

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        return dict(vars(self))

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _RateDecay(LearningRateSchedule):
    """A decay by `decay_rate` over each `decay_steps` steps, smooth or (staircase) in whole periods."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        if decay_steps <= 0:
            raise ValueError(f"decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase = decay_rate, staircase

    def _periods(self, step):
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p


class ExponentialDecay(_RateDecay):
    """lr₀ · rate^(step / decay_steps); with staircase the exponent is floored (decay in steps)."""

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._periods(step)


class StepDecay(LearningRateSchedule):
    """lr₀ · gamma^⌊step / step_size⌋ (PyTorch's StepLR, counted in updates)."""

    def __init__(self, initial_learning_rate, step_size, gamma=0.1):
        if step_size <= 0:
            raise ValueError(f"step_size must be > 0, got {step_size}")
        self.initial_learning_rate, self.step_size, self.gamma = initial_learning_rate, step_size, gamma

    def __call__(self, step):
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)


class CosineDecay(LearningRateSchedule):
    """lr₀ · ((1 - alpha) · ½(1 + cos(π · min(step, decay_steps) / decay_steps)) + alpha), as Keras. With
    `warmup_target`, the rate first rises linearly from lr₀ to it over `warmup_steps`, then decays from it."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        if decay_steps <= 0:
            raise ValueError(f"decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps, self.alpha = initial_learning_rate, decay_steps, alpha
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def __call__(self, step):
        start = self.initial_learning_rate
        if self.warmup_target is not None:
            if step < self.warmup_steps:
                return start + (self.warmup_target - start) * step / self.warmup_steps
            start, step = self.warmup_target, step - self.warmup_steps
        cosine = 0.5 * (1 + math.cos(math.pi * min(step, self.decay_steps) / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        config = dict(vars(self))
        if self.warmup_target is None:
            del config["warmup_target"], config["warmup_steps"]
        return config


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] up to boundaries[0] (inclusive), values[1] up to boundaries[1], ..., values[-1] after."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay needs one value more than boundaries, got {len(values)} "
                             f"values for {len(boundaries)} boundaries")
        self.boundaries, self.values = list(boundaries), list(values)

    def __call__(self, step):
        return self.values[sum(step > b for b in self.boundaries)]


class PolynomialDecay(LearningRateSchedule):
    """(lr₀ - end) · (1 - step / decay_steps)^power + end, held at `end` after decay_steps; with `cycle`,
    decay_steps grows to the next multiple of itself instead (the rate jumps back up)."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle = end_learning_rate, power, cycle

    def __call__(self, step):
        steps = self.decay_steps
        if self.cycle:
            steps *= max(math.ceil(step / steps), 1)
        else:
            step = min(step, steps)
        fraction = (1 - step / steps) ** self.power
        return (self.initial_learning_rate - self.end_learning_rate) * fraction + self.end_learning_rate


class InverseTimeDecay(_RateDecay):
    """lr₀ / (1 + decay_rate · step / decay_steps); with staircase the ratio is floored."""

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self._periods(step))


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay that restarts (SGDR, Loshchilov & Hutter): each period is t_mul times longer than
    the last and starts m_mul times lower."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        if first_decay_steps <= 0:
            raise ValueError(f"first_decay_steps must be > 0, got {first_decay_steps}")
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self.t_mul, self.m_mul, self.alpha = t_mul, m_mul, alpha

    def __call__(self, step):
        fraction = step / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            restart = math.floor(math.log(1 - fraction * (1 - self.t_mul)) / math.log(self.t_mul))
            done = (1 - self.t_mul ** restart) / (1 - self.t_mul)
            fraction = (fraction - done) / self.t_mul ** restart
        cosine = 0.5 * self.m_mul ** restart * (1 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


def serialize(schedule):
    """A schedule as a config: {"class_name": ..., "config": ...} (Keras's form)."""
    if not isinstance(schedule, LearningRateSchedule):
        raise ValueError(f"serialize takes a LearningRateSchedule, got {type(schedule).__name__}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config, custom_objects=None):
    """The schedule a config describes: a built-in by its class name, or the user's (custom_objects, or
    registered with keras.saving.register_keras_serializable). Never imports anything."""
    from ..object_registration import lookup

    if not (isinstance(config, dict) and isinstance(config.get("class_name"), str)):
        raise ValueError(f"deserialize takes a schedule's config, a dict with a 'class_name', got {config!r:.200}")
    name = config["class_name"]
    cls = lookup(config.get("registered_name") or name, custom_objects) or SCHEDULES.get(name)
    if not (isinstance(cls, type) and issubclass(cls, LearningRateSchedule)):
        raise ValueError(f"unknown learning-rate schedule {name!r}; expected one of {', '.join(sorted(SCHEDULES))} "
                         f"or a LearningRateSchedule registered or passed in custom_objects")
    return cls.from_config(config.get("config") or {})
