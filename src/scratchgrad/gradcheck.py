"""Numerical gradients by central differences, and `gradcheck` to compare them with backprop.

The textbook computes gradients numerically first: slow (two forward passes per parameter) but
obviously right. Backprop is fast; comparing the two is how we know backprop is right too.
"""
import warnings
from dataclasses import dataclass, field

import numpy as np

from .autograd import no_grad
from .backend import array_module, to_numpy
from .tensor import Tensor


def _scalar(value):
    value = value.data if isinstance(value, Tensor) else value
    return float(array_module(value).asarray(value).sum())


def numerical_gradient(f, x, eps=1e-4):
    """d f / d x by central differences: (f(x + eps) - f(x - eps)) / 2eps, one element at a time.

    `x` is a Tensor or an ndarray that `f` reads (the textbook's `numerical_gradient(f, W)`); it is
    perturbed in place and restored. `f(x)` returns a scalar (a Tensor or a number).
    """
    data = x.data if isinstance(x, Tensor) else x
    grad = array_module(data).zeros_like(data)
    if not data.flags.c_contiguous:
        raise ValueError("numerical_gradient needs a C-contiguous array, which it perturbs in place")
    flat, gflat = data.reshape(-1), grad.reshape(-1)
    with no_grad():
        for i in range(flat.size):
            original = flat[i].copy()
            flat[i] = original + eps
            up = _scalar(f(x))
            flat[i] = original - eps
            down = _scalar(f(x))
            flat[i] = original
            gflat[i] = (up - down) / (2 * eps)
    return grad


@dataclass
class GradcheckResult:
    """Worst relative error per input: max|backprop - numerical| / max|numerical| (0 when both are 0)."""

    errors: list = field(default_factory=list)
    tolerance: float = 0.0

    @property
    def worst(self):
        return max(self.errors, default=0.0)

    @property
    def ok(self):
        return self.worst <= self.tolerance

    def __bool__(self):
        return self.ok

    def __str__(self):
        rows = [f"input {i}: worst relative error {e:.3e}" for i, e in enumerate(self.errors)]
        return "\n".join(rows + [f"{'passed' if self.ok else 'FAILED'} (tolerance {self.tolerance:.1e})"])


def relative_error(analytic, numeric):
    analytic, numeric = to_numpy(analytic), to_numpy(numeric)
    scale = max(np.abs(numeric).max(initial=0.0), np.abs(analytic).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(analytic - numeric).max(initial=0.0) / scale)


def gradcheck(f, *inputs, eps=1e-5, tol=1e-6, seed=20260, raise_exception=True):
    """Compare backprop with numerical gradients for every input of `f` that requires grad.

    A non-scalar output is reduced with fixed random weights, so every output element is checked.
    Use float64 inputs: float32 cannot resolve differences at eps = 1e-5 (a warning says so).
    Returns a GradcheckResult; raises AssertionError on failure unless raise_exception=False.
    """
    targets = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not targets:
        raise ValueError("gradcheck needs at least one input Tensor with requires_grad=True")
    if any(x.dtype != np.float64 for x in targets):
        warnings.warn("gradcheck on non-float64 inputs: expect errors far above 1e-6", stacklevel=2)
    out = f(*inputs)
    weights = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    weights = array_module(out.data).asarray(weights)

    def objective(*_):
        return (f(*inputs).data * weights).sum()

    for x in targets:
        x.grad = None
    out.backward(weights)
    result = GradcheckResult(tolerance=tol)
    for x in targets:
        analytic = x.grad if x.grad is not None else array_module(x.data).zeros_like(x.data)
        result.errors.append(relative_error(analytic, numerical_gradient(objective, x, eps)))
    if raise_exception and not result.ok:
        raise AssertionError(f"gradcheck failed:\n{result}")
    return result
