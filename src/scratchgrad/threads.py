"""The batch cut in parts, each part on a core of its own: how an LSTM's loop uses several cores.

A step of the LSTM's loop is a small product and then the cell's passes. BLAS can share out a small
product between its threads, but they have to meet at each product, and OpenBLAS's meetings are slow on
a busy machine (README, "The machine's phases"). The rows of a batch never meet in the loop, though: each
part of the batch can go through all the steps on a core of its own, and the parts meet once, at the end.
BLAS then runs on one thread, so that its threads and ours do not share the cores. OpenBLAS's worker
keeps a core busy for about 0.1 s after each product it shares out, so once a loop has cut its batch
inside `fit`, `evaluate`, `predict`, `train_on_batch` or `test_on_batch` (a `session`), all of the
process's products run on one thread until that call ends, not only the loop's. The setting is the
process's: another thread's `threadpoolctl.threadpool_limits` block that ends meanwhile undoes it.

This needs threadpoolctl (which the `[fast]` extra installs) to set BLAS's threads; without it, on one
core, for a small batch, or with `SCRATCHGRAD_THREADS=0` (or inside `using(False)`), nothing is cut. A cut
gives the same sums to rounding (the tests check 1e-5 in float32): each row of a product is the same sum
whichever part computes it, though OpenBLAS may add it in another order in a smaller part (its Haswell
kernels on an AMD Zen 5 add a row by its place in a block); a sum over the batch, such as a kernel's
gradient, is each part's sum, then those added.
"""
import contextlib
import functools
import importlib.util
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

MIN_ROWS = 32  # the fewest rows a part gets: below it, a core's own product is too small to pay


@functools.cache
def _blas():
    """threadpoolctl's handle on the BLAS libraries loaded, or None without threadpoolctl."""
    if importlib.util.find_spec("threadpoolctl") is None:
        return None
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def cores():
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_enabled = os.environ.get("SCRATCHGRAD_THREADS", "1") != "0"


@contextlib.contextmanager
def using(flag):
    """Cutting on (True: where available) or off inside a `with` block; as it was again after it."""
    global _enabled
    previous, _enabled = _enabled, bool(flag)
    try:
        yield
    finally:
        _enabled = previous


def available():
    """Whether work can be cut among threads: two cores or more, threadpoolctl to set BLAS's threads, and
    not switched off by `using(False)`."""
    return _enabled and cores() > 1 and _blas() is not None


def cuts(size, parts):
    """range(size) cut into `parts` slices as equal as they come."""
    bounds = [size * k // parts for k in range(parts + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]


def batch_parts(batch):
    """The batch's rows cut among the cores, no part under MIN_ROWS rows; one part (all rows) when that
    leaves fewer than two."""
    parts = min(cores(), batch // MIN_ROWS) if available() else 1
    return cuts(batch, parts) if parts > 1 else [slice(None)]


_limit = {"lock": threading.Lock(), "holders": 0, "limiter": None}  # one limit, however many threads ask


@contextlib.contextmanager
def one_blas_thread():
    """BLAS on one thread inside the block; as it was again once every thread inside such a block has left."""
    blas = _blas()
    if blas is None:
        yield
        return
    with _limit["lock"]:
        if _limit["holders"] == 0:
            _limit["limiter"] = blas.limit(limits=1)
        _limit["holders"] += 1
    try:
        yield
    finally:
        with _limit["lock"]:
            _limit["holders"] -= 1
            if _limit["holders"] == 0:
                _limit["limiter"].restore_original_limits()


_local = threading.local()  # this thread's session, and whether it is one of the pool's


@contextlib.contextmanager
def session():
    """A block in which BLAS stays on one thread from the first batch this thread cuts (`each`) to the
    block's end, so that no product of OpenBLAS's two threads comes between two cut loops. A session
    opened inside one that has not cut yet is the outer one."""
    if getattr(_local, "session", None) is not None:
        yield
        return
    with contextlib.ExitStack() as stack:
        _local.session = stack
        try:
            yield
        finally:
            _local.session = None


@functools.cache
def _pool():
    return ThreadPoolExecutor(max_workers=max(1, cores() - 1), thread_name_prefix="scratchgrad")


def _after_fork_in_child():
    """A forked child has none of the pool's threads and runs none of the parent's parts: it makes its own
    pool, and its BLAS runs as it did before any part of the parent's pinned it."""
    _pool.cache_clear()
    if _limit["holders"]:
        _limit["limiter"].restore_original_limits()
    _limit.update(lock=threading.Lock(), holders=0, limiter=None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _as_part(errors, function, *arguments):
    _local.in_pool = True
    with np.errstate(**errors):
        return function(*arguments)


def each(function, *argument_lists):
    """function(*arguments) for each set of arguments taken across the lists, the first on this thread,
    the others on threads of their own (with this thread's NumPy error settings), BLAS on one thread
    meanwhile and, in a session, to its end; returns the results in order. Called from one of those
    threads, it runs them one after another."""
    calls = list(zip(*argument_lists))
    if len(calls) == 1 or getattr(_local, "in_pool", False):
        return [function(*arguments) for arguments in calls]
    stack = getattr(_local, "session", None)
    if stack is not None:
        _local.session = None  # pinned once: the stack restores BLAS when the session ends
        stack.enter_context(one_blas_thread())
    with one_blas_thread():
        others = [_pool().submit(_as_part, np.geterr(), function, *arguments) for arguments in calls[1:]]
        try:
            first = function(*calls[0])
        finally:
            wait(others)  # no part runs on after this returns or raises
        return [first] + [future.result() for future in others]

