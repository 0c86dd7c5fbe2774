"""Array-module dispatch: NumPy on the CPU, CuPy on a GPU, chosen from the arrays themselves.

Ops never import CuPy; they ask `array_module(x)` which module an array belongs to, so the same
forward/backward code runs on either.
"""
import ctypes
import sys

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
    """The default float dtype's name, "float32" unless `set_floatx` changed it: a string, as Keras's."""
    return _floatx.name


def dtype_name(dtype):
    """A dtype as Keras names it: "string" for text (NumPy's str or bytes arrays), else NumPy's name."""
    dtype = np.dtype(dtype)
    return "string" if dtype.kind in "US" else dtype.name


def float_dtype():
    """The default float dtype as a NumPy dtype, for the code that makes arrays."""
    return _floatx


def set_floatx(dtype):
    """Set the default float dtype for new tensors and weights ("float32" or "float64")."""
    global _floatx
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64, np.float16):
        raise ValueError(f"floatx must be float16, float32 or float64, got {dtype}")
    _floatx = dtype


def epsilon():
    """Keras's fuzz factor, 1e-7 (what its losses and metrics add to avoid dividing by zero)."""
    return 1e-7


def image_data_format():
    return "channels_last"


def backend():
    """The name of the backend, as keras.backend.backend() gives it: here NumPy (CuPy arrays on a GPU)."""
    return "numpy"


def clear_session():
    """Restart layer naming (dense, dense_1, ... begin again), as keras.backend.clear_session does."""
    from .layers.base import _name_counts

    _name_counts.clear()


def to_numpy(x):
    """Copy an array to host memory as a NumPy array (a no-op for NumPy arrays)."""
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


_memory_kept = False


def keep_freed_memory():
    """Ask glibc to keep freed memory for reuse instead of handing large blocks back to the OS.

    A training step frees and re-allocates the same large temporaries (im2col matrices, activations)
    every step. Memory returned to the OS must be faulted in again page by page: measured here, 4,500
    page faults and ~15 ms of a 70 ms CNN step. This changes malloc's settings for the whole process,
    so nothing calls it unasked: call it yourself, or set SCRATCHGRAD_KEEP_MEMORY=1 and fit() calls it.
    The cost is that the process keeps its peak memory. A no-op off glibc/Linux.
    """
    global _memory_kept
    if _memory_kept or not sys.platform.startswith("linux"):
        return
    _memory_kept = True
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl)
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)  # blocks up to 32 MiB come from the reusable heap
    libc.mallopt(m_trim_threshold, 1 << 30)  # and freed heap memory is not trimmed back to the OS
