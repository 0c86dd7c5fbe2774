"""scratchgrad: deep learning from scratch on NumPy, with a Keras-style API."""
from . import activations, functional, initializers, ops, optimizers, regularizers
from .autograd import enable_grad, is_grad_enabled, no_grad
from .backend import floatx, set_floatx
from .gradcheck import gradcheck, numerical_gradient
from .ops import concatenate, stack, where
from .random import set_seed
from .tensor import Tensor

__version__ = "0.1.0"
