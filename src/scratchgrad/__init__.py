"""scratchgrad: deep learning from scratch on NumPy, with a Keras-style API.

`import scratchgrad as keras` works for Keras core code: keras.Sequential, keras.layers.Dense,
keras.Input, keras.optimizers.Adam, keras.utils.to_categorical, keras.callbacks.EarlyStopping.
"""
import importlib

from . import (activations, callbacks, constraints, convolution, functional, initializers, layers, losses, metrics,
               models, ops, optimizers, regularizers, utils)
from .autograd import GradientTape, enable_grad, is_grad_enabled, no_grad
from .backend import floatx, set_floatx
from .gradcheck import gradcheck, numerical_gradient
from .layers import Input, Layer
from .models import Model, Sequential, load_model
from .ops import concatenate, stack, where
from .random import set_seed
from .tensor import Tensor

__version__ = "0.1.0"


def version():
    return __version__


_LAZY = ("datasets", "plot", "analysis", "viz", "sklearn", "saving", "preprocessing", "config", "backend")  # imported on first use: they are most of the import time


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'scratchgrad' has no attribute {name!r}")
