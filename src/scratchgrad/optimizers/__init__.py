"""Optimizers with Keras 3's update rules and defaults, one file each (see base.py for the shared
machinery: learning rate, clipping, weight decay, state and the fused update).

A new optimizer is one subclass of Optimizer in its own file with `update(w, g, slots, lr)`: defining
it registers it under its lower-cased class name (and `aliases`) for compile("name").
"""
from . import schedules
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import AdaGrad, Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .ftrl import Ftrl
from .lamb import Lamb
from .lion import Lion
from .loss_scale_optimizer import LossScaleOptimizer
from .nadam import Nadam
from .base import CLASSES, OPTIMIZERS, Optimizer
from ..object_registration import deserializer
from .momentum import Momentum
from .multi_optimizer import MultiOptimizer, OptimizerMap
from .muon import Muon
from .rmsprop import RMSprop
from .schedule_free_adamw import ScheduleFreeAdamW
from .schedules import (CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay, LearningRateSchedule,
                        PiecewiseConstantDecay, PolynomialDecay, StepDecay)
from .sgd import SGD


def get(identifier):
    """An optimizer from a name ("adam"), a config dict, or an Optimizer (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        cls = CLASSES.get(identifier.get("class_name"))
        if cls is None or not isinstance(identifier.get("config"), dict):
            raise ValueError(f"an optimizer config is {{'class_name': one of {', '.join(sorted(CLASSES))}, 'config': "
                             f"{{...}}}}; got {identifier!r:.120}")
        return cls.from_config(identifier["config"])
    if isinstance(identifier, str) and identifier.lower() in OPTIMIZERS:
        return OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; expected one of {', '.join(sorted(OPTIMIZERS))} or an Optimizer")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


deserialize = deserializer(get, "optimizers")


__all__ = ["Optimizer", "SGD", "Momentum", "Adagrad", "AdaGrad", "RMSprop", "Adam", "AdamW", "Adadelta", "Adamax",
           "Nadam", "Ftrl", "Lion", "Lamb", "Adafactor", "Muon", "ScheduleFreeAdamW", "LossScaleOptimizer",
           "MultiOptimizer", "OptimizerMap", "get",
           "serialize", "deserialize",
           "schedules", "ExponentialDecay", "StepDecay", "CosineDecay", "LearningRateSchedule", "PiecewiseConstantDecay",
           "PolynomialDecay", "InverseTimeDecay", "CosineDecayRestarts"]
