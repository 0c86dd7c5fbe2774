"""The batch cut among threads (threads.py): the LSTM's loop gives the same bits cut or whole, BLAS runs on
one thread while the parts run and while a model with such a loop trains, and the helpers' rules."""
import importlib.util
import threading

import numpy as np
import pytest

from scratchgrad import compiled, threads
from scratchgrad.layers import LSTM, Bidirectional, Dense, Input
from scratchgrad.models import Sequential
from scratchgrad.recurrent import LSTMLoop

needs_both = pytest.mark.skipif(importlib.util.find_spec("numba") is None
                                or importlib.util.find_spec("threadpoolctl") is None,
                                reason="cutting the batch needs numba and threadpoolctl")


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


@pytest.mark.parametrize("shape", [(7, 3, 5), (3, 5, 7)], ids=["rows cut", "columns cut"])
def test_a_product_cut_among_threads_is_the_whole_product_bit_for_bit(shape):
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((k, m)).astype(np.float32).T, rng.standard_normal((k, n)).astype(np.float32)
    assert np.array_equal(threads.product(a, b, 3), a @ b)


@needs_both
def test_each_runs_blas_on_one_thread_then_as_before():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        inside = threads.each(lambda k: blas_threads(), [0, 1])
        assert inside == [[1] * len(before)] * 2
        assert blas_threads() == before == [2] * len(before)


def lstm_loop(dtype, masked, recurrent_dropout, sequences):
    """LSTMLoop's forward and backward through 6 steps (batch 8, 4 units): its output and gradients, and
    how it cut the batch."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 8, 3)).astype(dtype)
    h0, c0 = (rng.standard_normal((8, 4)).astype(dtype) for _ in range(2))
    W, U = ((rng.standard_normal((k, 16)) * 0.5).astype(dtype) for k in (3, 4))
    b = rng.standard_normal(16).astype(dtype)
    mask = (rng.random((8, 6)) > 0.3,) if masked else ()
    loop = LSTMLoop(recurrent_dropout=recurrent_dropout, seed=2, sequences=sequences)
    loop.needs_grad = (True,) * 6
    out = loop.forward(x, h0, c0, W, U, b, *mask)
    gy = rng.standard_normal(out.shape).astype(dtype)
    return [out] + [g for g in loop.backward(gy) if g is not None], loop.parts


@needs_both
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.4])
@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last states"])
def test_an_lstm_loop_cut_among_threads_gives_the_whole_batch_s_bits(three_cores, monkeypatch, dtype, masked,
                                                                    recurrent_dropout, sequences):
    cut, parts = lstm_loop(dtype, masked, recurrent_dropout, sequences)
    assert parts == threads.cuts(8, 3)
    monkeypatch.setattr(threads, "MIN_ROWS", 100)
    whole, parts = lstm_loop(dtype, masked, recurrent_dropout, sequences)
    assert parts == [slice(None)]
    assert len(cut) == len(whole) == 7  # the output, then the gradients of x, h0, c0, W, U and b
    for a, b in zip(cut, whole):
        assert a.dtype == np.dtype(dtype)
        assert np.array_equal(a, b, equal_nan=True)


@needs_both
def test_the_loop_cuts_only_where_its_compiled_cell_runs(three_cores):
    assert LSTMLoop().cuts_batch()
    assert not LSTMLoop(activation="relu").cuts_batch()
    for switched_off in (compiled.using(False), threads.using(False)):
        with switched_off:
            assert not LSTMLoop().cuts_batch()
            assert lstm_loop("float32", False, 0.0, True)[1] == [slice(None)]
    assert lstm_loop("float32", False, 0.0, True)[1] == threads.cuts(8, 3)


@needs_both
@pytest.mark.parametrize("layer, cuts", [(LSTM(4), True), (Bidirectional(LSTM(4)), True),
                                         (LSTM(4, activation="relu"), False), (Dense(4), False)])
def test_fit_evaluate_and_predict_run_blas_on_one_thread_where_a_layer_cuts_its_batch(layer, cuts):
    model = Sequential([Input(shape=(3, 2)), layer] + ([] if isinstance(layer, Dense) else [Dense(1)]))
    model.compile("sgd", "mse")
    before, seen = blas_threads(), []
    model.call = spy(model.call, seen)
    x = np.ones((4, 3, 2), np.float32)
    model.fit(x, np.ones((4, 1) if not isinstance(layer, Dense) else (4, 3, 4)), epochs=1, verbose=0)
    model.predict(x, verbose=0)
    assert seen and all(threads_seen == ([1] * len(before) if cuts else before) for threads_seen in seen)
    assert blas_threads() == before


def spy(call, seen):
    def spied(*args, **kwargs):
        seen.append(blas_threads())
        return call(*args, **kwargs)
    return spied
