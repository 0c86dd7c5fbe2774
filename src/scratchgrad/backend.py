"""Array-module dispatch: NumPy on the CPU, CuPy on a GPU, chosen from the arrays themselves.

Ops never import CuPy; they ask `array_module(x)` which module an array belongs to, so the same
forward/backward code runs on either.
"""
import numpy as np

_floatx = np.dtype(np.float32)


def array_module(x):
    """Return the array module (numpy or cupy) that owns array `x`."""
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np
    module = type(x).__module__.split(".")[0]
    if module == "cupy":
        import cupy

        return cupy
    return np


def floatx():
    """The default float dtype: float32 unless `set_floatx` changed it (as in Keras)."""
    return _floatx


def set_floatx(dtype):
    """Set the default float dtype for new tensors and weights ("float32" or "float64")."""
    global _floatx
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64, np.float16):
        raise ValueError(f"floatx must be float16, float32 or float64, got {dtype}")
    _floatx = dtype


def to_numpy(x):
    """Copy an array to host memory as a NumPy array (a no-op for NumPy arrays)."""
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)
