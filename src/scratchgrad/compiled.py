"""Compiled kernels: an optional speed-up, never a second meaning.

A few rules that NumPy runs as many passes over memory (an optimizer's update is eight or nine) are also
written as one plain loop over the elements, which numba compiles to machine code when it is installed
(`pip install scratchgrad[fast]`). The NumPy code beside each kernel stays the reference: tests run both
and check they give the same numbers, and without numba (or with `SCRATCHGRAD_COMPILED=0`, or on CuPy
arrays) only the NumPy code runs.

A kernel is kept only where it is a clear measured win (`python benchmarks/kernels.py` times each against
its NumPy code). A loop that writes several arrays stays scalar (the compiler cannot rule out that they
overlap), so a kernel that computes several results, such as an LSTM step's backward, runs one loop per
array written. Not compiled, and why:
- exp and tanh: numba calls them one element at a time where NumPy's loops are vectorized, so an LSTM
  step's gate functions run several times slower compiled (the next-to-last row of the script's first
  table); the LSTM's compiled forward takes tanh from NumPy (its σ too, as (1 + tanh(z/2))/2) and compiles only
  the passes between.
- numba's parallel loops: beside OpenBLAS's threads, which spin between products, they made an MLP
  epoch several times slower.
"""
import contextlib
import functools
import importlib.util
import os
import sys
import threading
import warnings

import numpy as np

# a kernel's constants: float32, so that a float32 loop stays in float32 (as NumPy's `1 - y` does) and a
# float64 one in float64
ZERO, HALF, ONE = np.float32(0), np.float32(0.5), np.float32(1)

_enabled = os.environ.get("SCRATCHGRAD_COMPILED", "1") != "0" and importlib.util.find_spec("numba") is not None
_numba = None  # the module, imported at the first kernel's first use
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # as dtypes, not types: `in` compares them faster


def enabled():
    """Whether compiled kernels run: numba is installed and they are not switched off."""
    return _enabled


def set_enabled(flag):
    """Switch compiled kernels on or off (on needs numba); returns the previous setting."""
    global _enabled
    previous = _enabled
    if flag and importlib.util.find_spec("numba") is None:
        raise ImportError("compiled kernels need numba: pip install scratchgrad[fast] (or numba)")
    _enabled = bool(flag)
    return previous


@contextlib.contextmanager
def using(flag):
    """Kernels on (True) or off inside a `with` block; as they were again after it."""
    previous = set_enabled(flag)
    try:
        yield
    finally:
        set_enabled(previous)


def applies(array):
    """Whether a kernel may run on `array` (and arrays like it): kernels are on, numba imports, and it is a
    NumPy array of float32 or float64 (float16 and CuPy arrays take the NumPy code)."""
    return _enabled and type(array) is np.ndarray and array.dtype in _FLOATS and (_numba is not None or _imported())


def scalars(kind, *numbers):
    """`numbers` as NumPy scalars of type `kind` (np.float32: what a kernel on float32 arrays takes, to compute in
    float32), for constants a kernel takes at every step: a cached tuple costs less than converting anew.
    Numbers equal in Python share an entry (a -0.0 asked after a +0.0 comes back +0.0): for constants whose
    zero's sign does not matter. Ones that cannot be a key (a 0-d array) are converted each time."""
    try:
        return _scalars(kind, *numbers)
    except TypeError:
        return tuple(kind(n) for n in numbers)


@functools.lru_cache(maxsize=256)
def _scalars(kind, *numbers):
    return tuple(kind(n) for n in numbers)


def _imported():
    """Import numba once. One that is installed but fails to import (say, built for another NumPy) switches
    the kernels off with a warning: training goes on in NumPy."""
    global _numba, _enabled
    if _numba is None:
        try:
            import numba
        except Exception as error:  # numba's import can raise more than ImportError
            _enabled = False
            warnings.warn(f"scratchgrad's compiled kernels are off: numba failed to import ({error!r}); "
                          f"NumPy runs everything", stacklevel=3)
            return False
        _numba = numba
    return True


def kernel(loop):
    """`loop` compiled by numba at its first call (callers ask `applies` first). Errors follow
    NumPy's rules (x/0 is inf, not an exception), which is also what lets the loop be vectorized; no
    fast-math, so each operation rounds as NumPy's does. Unlike NumPy, a kernel does not warn on overflow.
    A kernel lets go of Python's lock while it runs, so threads can run kernels side by side (threads.py).
    Compiled code is cached on disk in the __pycache__ folder beside the kernel's module, or in the user's
    cache folder; where neither is writable it is compiled anew in each process."""
    compiled, lock = None, threading.Lock()  # the lock: threads calling it first make one dispatcher

    @functools.wraps(loop)
    def call(*args):
        nonlocal compiled
        if compiled is None:
            with lock:
                if compiled is None:
                    compiled = _compile(loop)
                    module = sys.modules.get(loop.__module__)  # (None for a module made by exec)
                    if getattr(module, loop.__name__, None) is call:  # (not replaced, say by a test's spy)
                        setattr(module, loop.__name__, compiled)  # later calls by name skip this wrapper
        return compiled(*args)

    return call


def _compile(loop):
    if not _imported():
        raise ImportError("numba failed to import; check compiled.applies() before calling a kernel")
    try:
        return _numba.njit(error_model="numpy", cache=True, nogil=True)(loop)
    except RuntimeError:  # numba found no writable cache folder
        return _numba.njit(error_model="numpy", nogil=True)(loop)
