"""Array-module dispatch: NumPy on the CPU, CuPy on a GPU, chosen from the arrays themselves.

Ops never import CuPy; they ask `array_module(x)` which module an array belongs to, so the same
forward/backward code runs on either.
"""
import ctypes
import os
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


_settings = {"epsilon": 1e-7, "image_data_format": "channels_last",
             # Keras's caps on every fit, to run code written for a long training quickly (a notebook's test)
             "max_epochs": int(os.environ.get("KERAS_MAX_EPOCHS", 0)) or None,
             "max_steps_per_epoch": int(os.environ.get("KERAS_MAX_STEPS_PER_EPOCH", 0)) or None}


def epsilon():
    """Keras's fuzz factor, 1e-7 unless set_epsilon changed it: what losses and metrics clip probabilities to
    and add to avoid dividing by zero."""
    return _settings["epsilon"]


def set_epsilon(value):
    value = float(value)
    if not 0 <= value < 1:
        raise ValueError(f"epsilon must be a small non-negative number, got {value}")
    _settings["epsilon"] = value


def image_data_format():
    """Where layers made with data_format=None keep the channels: "channels_last" (Keras's default:
    (batch, height, width, channels)) unless set_image_data_format changed it."""
    return _settings["image_data_format"]


def set_image_data_format(data_format):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"image_data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    _settings["image_data_format"] = data_format


def max_epochs():
    """The most epochs any fit runs (None: no cap; set_max_epochs or KERAS_MAX_EPOCHS sets one)."""
    return _settings["max_epochs"]


def set_max_epochs(max_epochs):
    _settings["max_epochs"] = None if max_epochs is None else int(max_epochs)


def max_steps_per_epoch():
    """The most batches any fit's epoch takes (None: no cap; set_max_steps_per_epoch or
    KERAS_MAX_STEPS_PER_EPOCH sets one)."""
    return _settings["max_steps_per_epoch"]


def set_max_steps_per_epoch(max_steps_per_epoch):
    _settings["max_steps_per_epoch"] = None if max_steps_per_epoch is None else int(max_steps_per_epoch)


def standardize_dtype(dtype):
    """A dtype's name as Keras writes it ("float32", "int64", "bool"): None is floatx, Python's float
    float32, its int int64 (scratchgrad's integers, and Keras's on TensorFlow; int32 on its other backends)."""
    if dtype is None:
        return _floatx.name
    return {float: "float32", int: "int64"}.get(dtype) or np.dtype(dtype).name


def is_float_dtype(dtype):
    return np.dtype(standardize_dtype(dtype)).kind == "f"


def is_int_dtype(dtype):
    return np.dtype(standardize_dtype(dtype)).kind in "iu"


def result_type(*dtypes):
    """The dtype ops give operands of these dtypes, by Keras's promotion: integers and booleans follow the
    floats among them (int64 with float32 is float32, not NumPy's float64); Python's float, int and bool
    are weak (float16 with float stays float16, int8 with int stays int8); uint64 with a signed integer,
    which no integer type holds, is floatx; without a float, NumPy's integer promotion (to 64 bits where
    Keras, which keeps to 32, does not go)."""
    weak = [d for d in dtypes if d in (bool, int, float)]
    strong = [np.dtype(standardize_dtype(d)) for d in dtypes if d not in (bool, int, float)]
    floats = [d for d in strong if d.kind == "f"]
    if floats:
        return np.result_type(*floats).name
    if float in weak:
        return _floatx.name
    if not dtypes:
        return _floatx.name
    if all(d.kind == "b" for d in strong):  # booleans alone, or with Python ints: int64 (Keras: int32)
        return standardize_dtype(int) if int in weak else "bool"
    if np.dtype(np.uint64) in strong and any(d.kind == "i" for d in strong):
        return _floatx.name
    return np.result_type(*strong).name


def is_keras_tensor(x):
    """Whether x is a symbolic tensor (a keras.Input or a layer's output in a functional model)."""
    from .symbolic import SymbolicTensor

    return isinstance(x, SymbolicTensor)


def get_uid(prefix=""):
    """Keras's counter per name prefix, shared with layer naming: 1 at the first call (after
    clear_session), and one more at each; a layer named after the prefix counts too."""
    from .layers.base import _name_counts

    _name_counts[prefix] += 1
    return _name_counts[prefix]


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
