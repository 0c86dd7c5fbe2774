"""The batch cut among threads (threads.py): the LSTM's loop gives the same sums cut or whole, BLAS runs on
one thread while the parts run and while a model with such a loop trains, and the helpers' rules."""
import importlib.util
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from layer_checks import run_lstm_loop

from scratchgrad import compiled, threads
from scratchgrad import functional as F
from scratchgrad.callbacks import LambdaCallback
from scratchgrad.layers import LSTM, Bidirectional, Dense, Input
from scratchgrad.models import Sequential
from scratchgrad.recurrent import LSTMLoop

needs_both = pytest.mark.skipif(importlib.util.find_spec("numba") is None
                                or importlib.util.find_spec("threadpoolctl") is None,
                                reason="cutting the batch needs numba and threadpoolctl")


@pytest.fixture(autouse=True)
def cutting_on():
    """Cutting switched on, as these tests are about it, even where SCRATCHGRAD_THREADS=0 or
    SCRATCHGRAD_COMPILED=0 switch it off for the other tests (whose tests assert it off do so inside)."""
    if importlib.util.find_spec("numba") is None:
        yield
        return
    with compiled.using(True), threads.using(True):
        yield


def blas_threads():
    """The threads of each BLAS library that threads.py sets: those loaded at its first use, NumPy's among
    them."""
    return [library.num_threads for library in threads._blas().lib_controllers]


@pytest.fixture
def three_cores(monkeypatch):
    """Three cores and parts of two rows or more, so that a small batch is cut in three."""
    monkeypatch.setattr(threads, "cores", lambda: 3)
    monkeypatch.setattr(threads, "MIN_ROWS", 2)


def test_cuts_are_as_equal_as_they_come():
    assert threads.cuts(10, 3) == [slice(0, 3), slice(3, 6), slice(6, 10)]
    assert threads.cuts(4, 1) == [slice(0, 4)]


def test_a_batch_is_cut_only_into_parts_of_min_rows_or_more(monkeypatch):
    monkeypatch.setattr(threads, "available", lambda: True)
    monkeypatch.setattr(threads, "cores", lambda: 4)
    assert threads.batch_parts(128) == threads.cuts(128, 4)
    assert threads.batch_parts(100) == threads.cuts(100, 3)  # 4 parts would leave 25 rows each
    assert threads.batch_parts(63) == [slice(None)]
    monkeypatch.setattr(threads, "available", lambda: False)
    assert threads.batch_parts(128) == [slice(None)]


def test_each_runs_the_parts_on_threads_of_their_own_and_keeps_their_order():
    def where(k):
        return k, threading.current_thread() is threading.main_thread()

    assert threads.each(where, [0, 1, 2]) == [(0, True), (1, False), (2, False)]
    with pytest.raises(ZeroDivisionError):
        threads.each(lambda k: 1 / k, [1, 0])


def test_each_returns_or_raises_only_once_every_part_has_ended():
    ended = []

    def part(k):
        if k == 0:
            raise ValueError("the first part fails at once")
        threading.Event().wait(0.05)
        ended.append(k)

    with pytest.raises(ValueError):
        threads.each(part, [0, 1])
    assert ended == [1]


@needs_both
def test_each_runs_blas_on_one_thread_then_as_before():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        inside = threads.each(lambda k: blas_threads(), [0, 1])
        assert inside == [[1] * len(before)] * 2
        assert blas_threads() == before == [2] * len(before)


def assert_same_sums(a, b):
    """Equal to rounding: OpenBLAS may sum a part's rows in another order than the whole batch's (which
    order depends on its kernels, so on the CPU and on OPENBLAS_CORETYPE: its Haswell kernels on a Zen 5
    block rows by position), and the kernel's gradient adds the parts' sums, so the same sums agree to a few
    ulps, not bit for bit."""
    tolerance = 1e-5 if a.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance * np.nanmax(np.abs(b), initial=1))


def lstm_loop(dtype, masked, recurrent_dropout, sequences, batch=8, units=4):
    """LSTMLoop's output and gradients, and how it cut the batch."""
    results, loop = run_lstm_loop(dtype, masked, recurrent_dropout, sequences, batch, units)
    return results, loop.parts


@needs_both
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.4])
@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last states"])
def test_an_lstm_loop_cut_among_threads_gives_the_whole_batch_s_sums(three_cores, monkeypatch, dtype, masked,
                                                                    recurrent_dropout, sequences):
    cut, parts = lstm_loop(dtype, masked, recurrent_dropout, sequences)
    assert parts == threads.cuts(8, 3)
    monkeypatch.setattr(threads, "MIN_ROWS", 100)
    whole, parts = lstm_loop(dtype, masked, recurrent_dropout, sequences)
    assert parts == [slice(None)]
    assert len(cut) == len(whole) == 7  # the output, then the gradients of x, h0, c0, W, U and b
    for a, b in zip(cut, whole):
        assert a.dtype == np.dtype(dtype)
        assert_same_sums(a, b)


@needs_both
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_an_lstm_loop_cut_in_two_halves_of_real_size_gives_the_whole_batch_s_sums(monkeypatch, masked):
    """Parts of MIN_ROWS rows, 32 units: the sizes where BLAS picks its real kernels."""
    monkeypatch.setattr(threads, "cores", lambda: 2)
    cut, parts = lstm_loop("float32", masked, 0.0, False, batch=2 * threads.MIN_ROWS, units=32)
    assert parts == threads.cuts(2 * threads.MIN_ROWS, 2)
    with threads.using(False):
        whole, parts = lstm_loop("float32", masked, 0.0, False, batch=2 * threads.MIN_ROWS, units=32)
    assert parts == [slice(None)]
    for a, b in zip(cut, whole):
        assert_same_sums(a, b)


@needs_both
def test_a_loop_keeps_one_set_of_work_arrays_per_part_however_its_batches_are_cut(three_cores):
    """Batches of 8, 6 and 4 rows are cut at different rows (3, 3 and 2 parts): the work arrays are kept by
    part number, so each part's are reused (resized) rather than kept beside the others."""
    loop = LSTMLoop()
    loop.needs_grad = (True,) * 6
    rng = np.random.default_rng(0)
    for batch in (8, 6, 4, 8):
        x, h0, c0 = rng.standard_normal((6, batch, 3)), np.zeros((batch, 4)), np.zeros((batch, 4))
        out = loop.forward(x, h0, c0, rng.standard_normal((3, 16)), rng.standard_normal((4, 16)), np.zeros(16))
        loop.backward(np.ones_like(out))
    assert sorted(name for name in loop._scratch if name.startswith("hx")) == ["hx0", "hx1", "hx2"]


@needs_both
def test_the_loop_cuts_only_where_its_compiled_cell_runs(three_cores):
    assert LSTMLoop().cuts_batch()
    assert not LSTMLoop(activation="relu").cuts_batch()
    for switched_off in (compiled.using(False), threads.using(False)):
        with switched_off:
            assert not LSTMLoop().cuts_batch()
            assert lstm_loop("float32", False, 0.0, True)[1] == [slice(None)]
    assert lstm_loop("float32", False, 0.0, True)[1] == threads.cuts(8, 3)


def two_blas_threads():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=2, user_api="blas")


@needs_both
@pytest.mark.parametrize("layer, batch, cuts", [
    (LSTM(4), 64, True), (Bidirectional(LSTM(4)), 64, True), (LSTM(4), 32, False),
    (LSTM(4, activation="relu"), 64, False), (Dense(4), 64, False)],
    ids=["LSTM", "bidirectional", "batch of 32", "relu LSTM", "no LSTM"])
def test_the_trainer_keeps_blas_on_one_thread_once_a_batch_was_cut(monkeypatch, layer, batch, cuts):
    """From the first cut batch of a call (fit, evaluate, predict, train_on_batch) to its end: the Dense
    layer's product of each step after the first sees BLAS on one thread."""
    monkeypatch.setattr(threads, "cores", lambda: 2)
    model = Sequential([Input(shape=(3, 2)), layer] + ([] if isinstance(layer, Dense) else [Dense(1)]))
    model.compile("sgd", "mse")
    x = np.ones((2 * batch, 3, 2), np.float32)
    y = np.ones((2 * batch,) + model.output_shape[1:], np.float32)
    seen = []
    monkeypatch.setattr(F.Linear, "forward", spy(F.Linear.forward, seen))
    with two_blas_threads():
        before = blas_threads()
        for call in (lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0),
                     lambda: model.evaluate(x, y, batch_size=batch, verbose=0),
                     lambda: model.predict(x, batch_size=batch, verbose=0),
                     lambda: (model.train_on_batch(x[:batch], y[:batch]), model.train_on_batch(x[:batch], y[:batch]))):
            del seen[:]
            call()
            assert blas_threads() == before == [2] * len(before)
            assert len(seen) >= 2 and all(threads_seen == ([1] * len(before) if cuts else before)
                                          for threads_seen in seen[1:])


def spy(method, seen):
    def spied(*args, **kwargs):
        seen.append(blas_threads())
        return method(*args, **kwargs)
    return spied


@needs_both
def test_blas_is_as_before_after_a_call_that_failed_after_a_cut(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 2)
    model = Sequential([Input(shape=(3, 2)), LSTM(4), Dense(1)])
    model.compile("sgd", "mse")
    seen = []

    def stop(batch, logs):
        seen.append(blas_threads())
        raise ValueError("stop")

    with two_blas_threads():
        with pytest.raises(ValueError, match="stop"):
            model.fit(np.ones((128, 3, 2), np.float32), np.ones((128, 1)), batch_size=64, verbose=0,
                      callbacks=[LambdaCallback(on_batch_end=stop)])
        assert seen == [[1] * len(blas_threads())]  # the first step cut its batch, which pinned BLAS
        assert blas_threads() == [2] * len(blas_threads())


@needs_both
def test_blas_is_as_before_once_every_thread_that_asked_for_one_thread_is_done():
    """Two threads' blocks overlap (A enters, B enters, A leaves, B leaves): one thread until B leaves."""
    with two_blas_threads():
        a, b = threads.one_blas_thread(), threads.one_blas_thread()
        a.__enter__()
        b.__enter__()
        a.__exit__(None, None, None)
        assert blas_threads() == [1] * len(blas_threads())
        b.__exit__(None, None, None)
        assert blas_threads() == [2] * len(blas_threads())


def test_each_called_from_one_of_its_parts_runs_the_inner_parts_one_after_another():
    def outer(k):
        return threads.each(lambda j: (k, j, threading.current_thread().name), [0, 1])

    results = []
    caller = threading.Thread(target=lambda: results.extend(threads.each(outer, [0, 1])), daemon=True)
    caller.start()
    caller.join(10)
    assert not caller.is_alive(), "each() waited on itself"
    first, second = results
    assert [(a, b) for a, b, _ in first + second] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert second[0][2] == second[1][2] != "MainThread"  # both on the pool's thread that ran the part


def test_the_parts_run_with_this_thread_s_numpy_error_settings():
    def divide_in_the_second_part(k):
        return np.float64(1) / np.float64(0) if k else 0.0

    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            threads.each(divide_in_the_second_part, [0, 1])


FORK = """
import os, signal
from scratchgrad import threads
threads.each(abs, [1, -2])  # the parent's pool has started its threads
pid = os.fork()
if pid == 0:  # the child: a pool whose threads did not come along would never run the second part
    signal.alarm(10)  # so that a hang fails instead of stopping the run
    os._exit(0 if threads.each(abs, [1, -2]) == [1, 2] else 1)
_, status = os.waitpid(pid, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_runs_parts_on_threads_of_its_own():
    # in a fresh process: this one may hold other libraries' threads (JAX's), which a fork leaves behind
    assert subprocess.run([sys.executable, "-c", FORK], timeout=60).returncode == 0
