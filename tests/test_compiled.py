"""The compiled kernels (numba, optional) give exactly the numbers of the NumPy code they stand beside."""
import functools
import importlib.util
import os
import types

import numpy as np
import pytest
from layer_checks import run_lstm_loop

import scratchgrad as sg
from scratchgrad import compiled, optimizers, weight_memory
from scratchgrad import functional as F
from scratchgrad.layers import Dense, Input
from scratchgrad.models import Sequential

needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba is not installed")

# every optimizer with a kernel, in configurations that use it
KERNEL_CONFIGS = [("Adam", {}), ("Adam", {"weight_decay": 0.1, "clipnorm": 0.05}), ("AdamW", {}),
                  ("RMSprop", {}), ("RMSprop", {"global_clipnorm": 0.05})]


def assert_same_bits(a, b):
    """Equal bit for bit: unlike assert_array_equal, -0.0 differs from 0.0 and NaNs must match exactly."""
    assert a.dtype == b.dtype and a.shape == b.shape
    unsigned = np.dtype(f"u{a.dtype.itemsize}")
    np.testing.assert_array_equal(np.ascontiguousarray(a).view(unsigned), np.ascontiguousarray(b).view(unsigned))


@pytest.fixture(params=["end to end", "per weight", "over the pack"])
def way(request, monkeypatch):
    """Run an optimizer's kernel once over the weights where they lie end to end in memory (a model's small
    trainable weights do: weight_memory.py), or, where each has memory of its own, on each weight or once over
    the flat scratch (optimizers.base.SMALL_PACK)."""
    if request.param != "end to end":
        monkeypatch.setattr(weight_memory, "place", lambda array: array)
    monkeypatch.setattr(optimizers.base, "SMALL_PACK", 0 if request.param == "per weight" else 1 << 30)
    return request.param


@pytest.fixture
def kernels_on():
    with compiled.using(True):
        yield


def train(name, options, dtype, use_kernels, fortran_kernel=False):
    with compiled.using(use_kernels):
        sg.set_seed(1)
        model = Sequential([Input(shape=(6,)), Dense(7, activation="tanh", dtype=dtype),
                            Dense(3, activation="softmax", dtype=dtype)])
        if fortran_kernel:  # a weight a 1-D view cannot cover: the kernel must not run on a copy of it
            model.layers[0].kernel.data = np.asfortranarray(model.layers[0].kernel.data)
        model.compile(optimizer=optimizers.CLASSES[name](learning_rate=0.01, **options),
                      loss="sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        model.fit(rng.standard_normal((40, 6)).astype(dtype), rng.integers(0, 3, 40), epochs=3, batch_size=8,
                  verbose=0)
        return model.get_weights() + [a for s in model.get_optimizer_state()["slots"] for a in s.values()]


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,options", KERNEL_CONFIGS, ids=lambda v: str(v))
def test_kernel_gives_the_numpy_code_s_numbers_bit_for_bit(name, options, dtype, way):
    for a, b in zip(train(name, options, dtype, True), train(name, options, dtype, False)):
        assert a.dtype == np.dtype(dtype)
        assert_same_bits(a, b)


def kernel_of(name):
    """(module, attribute) of the kernel optimizer `name`'s compiled_update calls."""
    from scratchgrad.optimizers import adam, rmsprop

    return (rmsprop, "_rmsprop_step") if name == "RMSprop" else (adam, "_adam_step")


@needs_numba
@pytest.mark.parametrize("name,options", KERNEL_CONFIGS, ids=lambda v: str(v))
def test_the_kernel_is_what_runs(name, options, kernels_on, monkeypatch, way):
    calls = []
    module, attribute = kernel_of(name)
    kernel = getattr(module, attribute)
    monkeypatch.setattr(module, attribute, lambda *a: calls.append(1) or kernel(*a))
    train(name, options, "float32", True)
    per_step = 4 if way == "per weight" else 1  # each of the 4 weights, or the pack once
    assert len(calls) == per_step * 3 * 5  # at each of 5 steps (40 samples, batch 8) of 3 epochs


@needs_numba
@pytest.mark.parametrize("name,options", KERNEL_CONFIGS, ids=lambda v: str(v))
def test_weights_end_to_end_are_updated_in_one_pass_with_the_same_numbers(name, options, monkeypatch):
    """A model's small weights lie end to end (weight_memory): the kernel runs once over all of them, and the
    numbers are those of weights with memory of their own, with kernels and without."""
    module, attribute = kernel_of(name)
    kernel, seen = getattr(module, attribute), []
    monkeypatch.setattr(module, attribute, lambda w, *a: seen.append((w.size, w.base is not None)) or kernel(w, *a))
    end_to_end = [train(name, options, "float32", use) for use in (True, False)]
    assert set(seen) == {(6 * 7 + 7 + 7 * 3 + 3, True)}  # every weight at once: a view of their block
    monkeypatch.setattr(weight_memory, "place", lambda array: array)
    for use_kernels, expected in zip((True, False), end_to_end):
        for a, b in zip(train(name, options, "float32", use_kernels), expected):
            assert_same_bits(a, b)


@needs_numba
def test_a_weight_that_is_not_contiguous_gets_the_numpy_code_s_numbers(kernels_on, monkeypatch, way):
    module, attribute = kernel_of("Adam")
    kernel, calls = getattr(module, attribute), []
    if way == "per weight":  # the kernel would run on a 1-D copy of the weight: the NumPy code runs instead
        monkeypatch.setattr(module, attribute, lambda *a: pytest.fail("the kernel ran on a weight it cannot cover"))
    else:  # over the pack the kernel never sees a weight, so it runs
        monkeypatch.setattr(module, attribute, lambda *a: calls.append(1) or kernel(*a))
    trained = train("Adam", {}, "float32", True, fortran_kernel=True)
    assert len(calls) == (0 if way == "per weight" else 3 * 5)
    for a, b in zip(trained, train("Adam", {}, "float32", False, fortran_kernel=True)):
        assert_same_bits(a, b)


@needs_numba
@pytest.mark.parametrize("name,options", [("Adam", {"amsgrad": True}), ("RMSprop", {"centered": True}),
                                          ("RMSprop", {"momentum": 0.5}), ("Adam", {"fused": False})])
def test_configurations_without_a_kernel_run_the_numpy_code(name, options, kernels_on, monkeypatch):
    module, attribute = kernel_of(name)
    monkeypatch.setattr(module, attribute, lambda *a: pytest.fail("the kernel ran"))
    for a, b in zip(train(name, options, "float32", True), train(name, options, "float32", False)):
        assert_same_bits(a, b)


@needs_numba
def test_kernels_take_only_numpy_float32_and_float64(kernels_on):
    assert compiled.applies(np.zeros(3, np.float32)) and compiled.applies(np.zeros(3))
    assert not compiled.applies(np.zeros(3, np.float16))
    assert not compiled.applies(np.zeros(3, np.int64))
    assert not compiled.applies([0.0, 1.0])


def test_switching_kernels_on_without_numba_says_what_to_install(monkeypatch):
    monkeypatch.setattr(compiled, "_enabled", compiled.enabled())  # restored after the test
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"scratchgrad\[fast\]"):
        compiled.set_enabled(True)
    compiled.set_enabled(False)
    assert not compiled.enabled() and not compiled.applies(np.zeros(3, np.float32))


# ---- max pooling ----------------------------------------------------------------------------------
def pool_both_ways(x, gy_seed, use_kernels, **options):
    from scratchgrad.convolution import MaxPool2D

    with compiled.using(use_kernels):
        op = MaxPool2D(**options)
        y = op.forward(x)
        assert (op.winner is not None) == use_kernels
        gy = np.random.default_rng(gy_seed).standard_normal(y.shape).astype(x.dtype)
        return y, op.backward(gy)


POOLS = [dict(pool_size=(2, 2), strides=(2, 2)), dict(pool_size=(3, 3), strides=(2, 2)),
         dict(pool_size=(2, 3), strides=(1, 2), padding="same"), dict(pool_size=(3, 3), strides=(3, 3)),
         dict(pool_size=(2, 2), strides=(2, 2), padding="same", channels_first=True),
         dict(pool_size=(2, 2), strides=(3, 3))]  # gaps between the windows


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("options", POOLS, ids=str)
def test_compiled_max_pooling_gives_the_numpy_code_s_numbers_bit_for_bit(options, ties, dtype):
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, (3, 7, 8, 5)) if ties else rng.standard_normal((3, 7, 8, 5))  # ties: ReLU's zeros
    x = np.maximum(x, 0).astype(dtype) if ties else x.astype(dtype)
    if options.get("channels_first"):
        x = x.transpose(0, 3, 1, 2)
    for a, b in zip(pool_both_ways(x, 1, True, **options), pool_both_ways(x, 1, False, **options)):
        assert a.dtype == np.dtype(dtype)
        assert_same_bits(a, b)  # the gradient's -0.0 where a negative gy meets a pixel that lost too


@needs_numba
def test_compiled_max_pooling_keeps_nan_and_passes_it_no_gradient():
    x = np.arange(32, dtype=np.float32).reshape(1, 4, 4, 2)
    x[0, 1, 1, 0] = np.nan
    for a, b in zip(pool_both_ways(x, 2, True), pool_both_ways(x, 2, False)):
        assert_same_bits(a, b)  # NaN where NaN
    y, gx = pool_both_ways(x, 2, True)
    assert np.isnan(y[0, 0, 0, 0]) and not gx[0, :2, :2, 0].any()


@needs_numba
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("options", [{}, {"pool_size": (3, 3), "strides": (2, 2)}], ids=["tiled", "overlapping"])
def test_compiled_max_pooling_passes_an_infinite_or_nan_gradient_as_numpy_does(options, bad):
    from scratchgrad.convolution import MaxPool2D

    x = np.random.default_rng(0).standard_normal((1, 5, 5, 1)).astype(np.float32)
    grads = []
    for use in (True, False):
        with compiled.using(use):
            op = MaxPool2D(**options)
            gy = np.full(op.forward(x).shape, bad, np.float32)
            with np.errstate(invalid="ignore"):  # NumPy's gy·hit at the pixels that lost: inf·0 is NaN
                grads.append(op.backward(gy))
    assert_same_bits(*grads)


def fused_pool(x, gy, use_kernels, **options):
    """MaxPool2DReLU's output and input gradient."""
    from scratchgrad.convolution import MaxPool2DReLU

    with compiled.using(use_kernels), np.errstate(invalid="ignore"):  # inf·0 is NaN, as in NumPy's gy·mask
        op = MaxPool2DReLU(**options)
        return op.forward(x), op.backward(gy)


def two_ops(x, gy, relu_first, **options):
    """NumPy's MaxPool2D and ReLU as two ops (kernels off): the pool then the ReLU, or the ReLU first (the
    order of the eager step)."""
    from scratchgrad.convolution import MaxPool2D
    from scratchgrad.functional import ReLU

    pool, relu = MaxPool2D(**options), ReLU()
    with compiled.using(False), np.errstate(invalid="ignore"):
        if relu_first:
            return pool.forward(relu.forward(x)), relu.backward(pool.backward(gy))
        return relu.forward(pool.forward(x)), pool.backward(relu.backward(gy))


def same_bits_but_zero_signs(a, b):
    """Bit for bit, but +0 and -0 count as one: NumPy's maximum(-0.0, 0) may keep either sign."""
    assert_same_bits(np.where(a == 0, 0, a).astype(a.dtype), np.where(b == 0, 0, b).astype(b.dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("use_kernels", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("options", [{}, {"pool_size": (3, 3), "strides": (3, 3)}, {"padding": "same"},
                                     {"channels_first": True}, {"strides": (3, 3)}], ids=str)
def test_the_fused_pool_and_relu_give_numpy_s_two_ops_numbers(options, use_kernels, dtype):
    """The op a plan replays a ReLU followed by a max pool as, against NumPy's two ops: relu(max pool(x))
    forward, the ReLU's backward then the pool's, NaN, infinities, negative maxima and a -0.0 maximum
    included, in x and in the gradient; bit for bit against the pool then the ReLU, equal (NaN where NaN,
    zeros of either sign) against the ReLU then the pool, as the eager step runs them."""
    from scratchgrad.convolution import MaxPool2D

    if use_kernels and not compiled.enabled():
        pytest.skip("numba is not installed or kernels are off")
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 3, (3, 7, 8, 4)).astype(dtype)  # ties, zeros and all-negative windows
    x[0, 0, 0, 0], x[1, 2, 2, 1], x[2, 4, 4, 2] = np.nan, np.inf, -np.inf
    x[0, 2:4, 2:4, 0] = x[1, 3:6, 3:6, 2] = -1
    x[0, 2, 2, 0] = x[1, 3, 3, 2] = -0.0  # a window whose max is -0.0
    if options.get("channels_first"):
        x = x.transpose(0, 3, 1, 2)
    with compiled.using(False):
        gy = rng.standard_normal(MaxPool2D(**options).forward(x).shape).astype(dtype)
    gy.reshape(-1)[:3] = np.inf, np.nan, -np.inf
    (y, gx), (y_after, gx_after), (y_before, gx_before) = (fused_pool(x, gy, use_kernels, **options),
                                                           two_ops(x, gy, False, **options),
                                                           two_ops(x, gy, True, **options))
    same_bits_but_zero_signs(y, y_after)
    assert_same_bits(gx, gx_after)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(gx, gx_before)


@needs_numba
def test_the_fused_pool_s_loops_turn_a_negative_zero_maximum_into_plus_zero():
    from scratchgrad.convolution import MaxPool2DReLU

    x = np.full((1, 2, 2, 1), -1.0, np.float32)
    x[0, 0, 0, 0] = -0.0
    with compiled.using(True):
        y = MaxPool2DReLU().forward(x)
    assert y.shape == (1, 1, 1, 1) and y[0, 0, 0, 0] == 0 and not np.signbit(y[0, 0, 0, 0])


@pytest.fixture
def optimizer_registry():
    """The test's own Optimizer subclass registers itself by name: forget it afterwards."""
    from scratchgrad.optimizers import base

    saved = dict(base.OPTIMIZERS), dict(base.CLASSES)
    yield
    for registry, entries in zip((base.OPTIMIZERS, base.CLASSES), saved):
        registry.clear()
        registry.update(entries)


@needs_numba
def test_a_subclass_s_own_update_rule_runs_not_the_kernel(kernels_on, optimizer_registry):
    class PlainStep(optimizers.Adam):
        def update(self, w, g, slots, lr):
            w -= g * lr

    w = sg.Tensor(np.ones(4, np.float32), requires_grad=True)
    PlainStep(learning_rate=0.1).apply_gradients([(np.array([1, -1, 2, -2], np.float32), w)])
    np.testing.assert_allclose(w.data, [0.9, 1.1, 0.8, 1.2], rtol=1e-6)


@needs_numba
def test_a_weight_that_no_longer_fits_its_buffer_is_refused_not_overrun(kernels_on, way):
    w = sg.Tensor(np.ones(10, np.float32), requires_grad=True)
    opt = optimizers.Adam()
    opt.apply_gradients([(np.ones(10, np.float32), w)])
    w.data = np.ones(1000, np.float32)  # misuse: NumPy's broadcasting error, never memory past the buffer
    with pytest.raises(ValueError):
        opt.apply([opt.gradient_buffers([w])[0]], [w])


def adam_steps_on_replaced_weights(use_kernels, replace):
    """Two Adam steps on one weight, `replace(tensor)` run between them; returns the weight's data."""
    with compiled.using(use_kernels):
        w = sg.Tensor(np.ones(10, np.float32), requires_grad=True)
        w.data = np.ones(20, np.float32)[:10]  # a view: its id is free for reuse once it is replaced
        opt = optimizers.Adam(0.1)
        opt.apply_gradients([(np.ones(10, np.float32), w)])
        replace(w)
        opt.apply_gradients([(np.ones(10, np.float32), w)])
        return w.data


def refill_from_a_new_owner(w):
    """A new weight that is a view: a stale cache keyed on ids could take it for the old one."""
    owner = np.ones(20, np.float32)
    w.data = None  # the old view is freed, and the next array made may take its place in memory
    w.data = owner[:10]


@needs_numba
def test_a_weight_replaced_by_a_view_is_updated_not_the_old_one(way):
    assert_same_bits(adam_steps_on_replaced_weights(True, refill_from_a_new_owner),
                     adam_steps_on_replaced_weights(False, refill_from_a_new_owner))


@needs_numba
def test_a_weight_made_read_only_is_refused_with_kernels_too(way):
    def freeze(w):
        w.data.flags.writeable = False

    for use_kernels in (False, True):
        with pytest.raises(ValueError, match="read-only"):
            adam_steps_on_replaced_weights(use_kernels, freeze)


@needs_numba
def test_two_nans_in_a_window_pool_to_the_first_as_numpy_does():
    x = np.zeros((1, 2, 2, 1), np.float32)
    x[0, 0, 1, 0], x[0, 1, 0, 0] = np.nan, -np.nan  # different sign bits
    assert_same_bits(pool_both_ways(x, 0, True)[0], pool_both_ways(x, 0, False)[0])


def test_an_optimizer_without_a_kernel_does_not_import_numba():
    import subprocess
    import sys

    code = ("import sys, numpy as np, scratchgrad as sg\n"
            "w = sg.Tensor(np.ones(3, np.float32), requires_grad=True)\n"
            "sg.optimizers.SGD(0.1).apply_gradients([(np.ones(3, np.float32), w)])\n"
            "print('numba' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_numba_that_fails_to_import_turns_the_kernels_off_with_a_warning(monkeypatch, tmp_path):
    import subprocess
    import sys

    broken = tmp_path / "numba"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('Numba needs NumPy 1.0 or less')\n")
    code = ("import warnings, numpy as np, scratchgrad as sg\n"
            "from scratchgrad import compiled, optimizers\n"
            "assert compiled.enabled()\n"
            "w = sg.Tensor(np.ones(3, np.float32), requires_grad=True)\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    optimizers.Adam(0.5).apply_gradients([(np.ones(3, np.float32), w)])\n"
            "assert not compiled.enabled() and w.data[0] < 1, w.data\n"
            "print([str(c.message) for c in caught])\n")
    # the broken numba first; scratchgrad from wherever it is (installed, or on the path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    env.pop("SCRATCHGRAD_COMPILED", None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "numba failed to import" in result.stdout and "Numba needs NumPy" in result.stdout


def test_importing_scratchgrad_does_not_import_numba():
    import subprocess
    import sys

    code = "import sys, scratchgrad; print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ---- the LSTM cell -------------------------------------------------------------------
def lstm_loop_both_ways(use_kernels, dtype, masked, recurrent_dropout, activation="tanh"):
    """LSTMLoop's forward and backward through 6 steps (batch 5, 4 units): its output and gradients."""
    with compiled.using(use_kernels):
        return run_lstm_loop(dtype, masked, recurrent_dropout, activation=activation)[0]


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.4])
def test_compiled_lstm_cell_gives_the_numpy_code_s_numbers_bit_for_bit(dtype, masked, recurrent_dropout):
    for a, b in zip(lstm_loop_both_ways(True, dtype, masked, recurrent_dropout),
                    lstm_loop_both_ways(False, dtype, masked, recurrent_dropout)):
        assert a.dtype == np.dtype(dtype)
        assert_same_bits(a, b)


@needs_numba
def test_the_lstm_kernel_runs_only_for_sigmoid_and_tanh(monkeypatch):
    from scratchgrad import recurrent

    calls = []
    for name in ("_lstm_cell_forward", "_lstm_cell_backward"):
        monkeypatch.setattr(recurrent, name, functools.partial(count_then_run, calls, name, getattr(recurrent, name)))
    lstm_loop_both_ways(True, "float32", False, 0.0, activation="relu")
    assert calls == []
    lstm_loop_both_ways(True, "float32", False, 0.0)
    # once per step each way
    assert calls == ["_lstm_cell_forward"] * 6 + ["_lstm_cell_backward"] * 6


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_lstm_s_tiled_transpose_copies_every_number(dtype):
    """Sizes that are no multiple of its 16×16 tiles, from a strided view."""
    from scratchgrad.recurrent import _transpose

    a = np.random.default_rng(0).standard_normal((37, 70)).astype(dtype)[:, ::2]
    out = np.full(a.shape[::-1], np.nan, dtype)
    _transpose(a, out)
    assert_same_bits(out, np.ascontiguousarray(a.T))


def count_then_run(calls, name, kernel, *args):
    calls.append(name)
    return kernel(*args)


@needs_numba
def test_an_lstm_trains_to_the_same_bits_with_the_kernel(tmp_path):
    from scratchgrad.layers import LSTM, Bidirectional, Embedding

    def weights(use_kernels):
        with compiled.using(use_kernels):
            sg.set_seed(3)
            model = Sequential([Input(shape=(7,)), Embedding(20, 6, mask_zero=True),
                                Bidirectional(LSTM(5, return_sequences=True)), LSTM(4), Dense(2, "softmax")])
            model.compile("adam", "sparse_categorical_crossentropy")
            rng = np.random.default_rng(0)
            ids = rng.integers(1, 20, (24, 7)) * (rng.random((24, 7)) > 0.3)
            model.fit(ids, rng.integers(0, 2, 24), batch_size=8, epochs=2, verbose=0)
            return model.get_weights()

    for a, b in zip(weights(True), weights(False)):
        assert_same_bits(a, b)


@needs_numba
@pytest.mark.parametrize("state_dtype, kernel_dtype, out_dtype", [
    ("float64", "float32", "float32"), ("float16", "float32", "float32"), ("float32", "float64", "float64")])
def test_an_lstm_of_mixed_dtypes_compiles_to_the_numpy_code_s_bits(state_dtype, kernel_dtype, out_dtype):
    """The loop stores x_t and the states in x·W's dtype (the output holds them all in one array), so
    any float initial state and a kernel of another dtype than x still run one dtype throughout."""
    from scratchgrad.recurrent import LSTMLoop

    rng = np.random.default_rng(0)
    x, b = rng.standard_normal((5, 3, 1)).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    W, U = (rng.standard_normal((k, 8)).astype(kernel_dtype) for k in (1, 2))
    h0 = c0 = rng.standard_normal((3, 2)).astype(state_dtype)
    results = []
    for use_kernels in (True, False):
        with compiled.using(use_kernels):
            loop = LSTMLoop()
            loop.needs_grad = (True,) * 6
            out = loop.forward(x, h0, c0, W, U, b)
            results.append([out, *loop.backward(np.ones_like(out))])
            assert loop.uses_kernels == use_kernels
    assert results[0][0].dtype == np.dtype(out_dtype)
    for a, b in zip(*results):
        assert_same_bits(a, b)


@needs_numba
@pytest.mark.parametrize("name", ["Adam", "RMSprop"])
def test_signed_zeros_and_non_finite_weights_come_out_as_the_numpy_code_s(name, way):
    def step(use_kernels):
        with compiled.using(use_kernels), np.errstate(invalid="ignore"):
            w = sg.Tensor(np.array([-0.0, 0.0, -0.0, 1.0, np.inf, -np.inf, np.nan, 2.0], np.float32),
                          requires_grad=True)
            g = np.array([0.0, -0.0, -0.0, 1.0, 1.0, -1.0, 1.0, np.inf], np.float32)
            optimizers.CLASSES[name]().apply_gradients([(g, w)])
            return w.data

    assert_same_bits(step(True), step(False))
    assert np.signbit(step(True)[0])  # -0.0 less a zero step stays -0.0


# ---- ReLU ----------------------------------------------------------------------------------
SPECIAL = [-1.5, -0.0, 0.0, 2.5, np.nan, np.inf, -np.inf]


def relu_both_ways(x, gy):
    """ReLU's output and gradient with the kernels on, then off, and whether the kernel ran."""
    results = []
    for on in (True, False):
        with compiled.using(on), np.errstate(invalid="ignore"):  # NumPy warns on inf·0, the loop does not
            op = F.ReLU()
            results.append((op.forward(x), op.backward(gy), op.mask is None))
    return results


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_relu_gives_the_numpy_code_s_numbers_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    pairs = np.array([(x, g) for x in SPECIAL for g in SPECIAL]).T  # every special x with every special gy
    x, gy = (np.concatenate([v, rng.standard_normal(51)]).astype(dtype).reshape(10, 10) for v in pairs)
    (y1, g1, ran), (y2, g2, _) = relu_both_ways(x, gy)
    assert ran
    assert_same_bits(y1, y2)
    assert_same_bits(g1, g2)


@needs_numba
@pytest.mark.parametrize("which", ["x", "gy"])
def test_relu_on_a_strided_array_gets_the_numpy_code_s_numbers(which):
    rng = np.random.default_rng(1)
    x, gy = rng.standard_normal((2, 6, 8), dtype=np.float32)
    if which == "x":
        x = x[:, ::2]
        gy = gy[:, ::2].copy()
    else:
        x = x[:, ::2].copy()
        gy = gy[:, ::2]
    (y1, g1, ran), (y2, g2, _) = relu_both_ways(x, gy)
    assert ran == (which == "gy")  # a strided x keeps the mask; a strided gy still finds the output
    assert_same_bits(y1, y2)
    assert_same_bits(g1, g2)


@needs_numba
@pytest.mark.parametrize("sequence", [False, True], ids=["rows", "sequence"])
@pytest.mark.parametrize("bound", [True, False], ids=["into-buffers", "allocated"])
@pytest.mark.parametrize("kernels", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_fused_linear_and_relu_give_the_two_ops_numbers_bit_for_bit(dtype, kernels, bound, sequence,
                                                                         monkeypatch):
    """Special values in the product and the bias (NaN passes, -0 becomes +0, inf + -inf is NaN), every
    gradient the two ops give. Into a plan's buffers, ReLU's gradient and the bias gradient are one loop
    (on rows; a sequence's (batch, steps, features) takes the two ops' code)."""
    rng = np.random.default_rng(2)
    x = np.concatenate([np.eye(len(SPECIAL)), rng.standard_normal((7, len(SPECIAL)))]).astype(dtype)
    W = np.diag(SPECIAL).astype(dtype)  # row i of x picks SPECIAL[i] into column i
    b = np.array(SPECIAL[::-1], dtype)
    gy = rng.standard_normal((len(x), len(SPECIAL))).astype(dtype)
    if sequence:
        x, gy = x.reshape(2, 7, -1), gy.reshape(2, 7, -1)
    with compiled.using(kernels), np.errstate(invalid="ignore", over="ignore"):
        linear, relu, fused = F.Linear(), F.ReLU(), F.LinearReLU()
        linear.needs_grad = fused.needs_grad = (True, True, True)
        two = [relu.forward(linear.forward(x, W, b)), *linear.backward(relu.backward(gy))]
        if bound:
            fused.grad_buffers = (None, np.empty_like(W), np.empty_like(b))
        calls = counting(monkeypatch, "_relu_backward_sum_rows")
        one = [fused.forward(x, W, b), *fused.backward(gy)]
    assert (fused.relu.mask is None) == kernels  # the one-pass kernel ran, or the two ops' NumPy code
    assert len(calls) == (kernels and bound and not sequence)
    assert not bound or one[-1] is fused.grad_buffers[2]
    for a, c in zip(one, two):
        assert_same_bits(a, c)


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_row_s_weight_gradient_in_the_fused_pass_gives_the_product_s_bits(dtype, monkeypatch):
    """At batch 1 the fused pass also writes the weight gradient, x.T @ g, an outer product: every special value
    of x against every special value of ReLU's gradient (a -0.0 product comes out +0.0, as from BLAS; only a
    NaN's sign may differ)."""
    rng = np.random.default_rng(4)
    x = np.array([SPECIAL + [0.5, -3.0]], dtype)
    W = rng.standard_normal((x.shape[1], 2 * len(SPECIAL))).astype(dtype)
    b = np.zeros(W.shape[1], dtype)
    gy = np.array([SPECIAL + [v * 0.5 for v in SPECIAL]], dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        linear, relu = F.Linear(), F.ReLU()
        linear.needs_grad = (True, True, True)
        with compiled.using(False):
            two = [relu.forward(linear.forward(x, W, b)), *linear.backward(relu.backward(gy))]
        fused = F.LinearReLU()
        fused.needs_grad = (True, True, True)
        fused.grad_buffers = (None, np.empty_like(W), np.empty_like(b))
        calls = counting(monkeypatch, "_relu_backward_sum_rows_outer")
        with compiled.using(True):
            one = [fused.forward(x, W, b), *fused.backward(gy)]
    assert len(calls) == 1 and one[2] is fused.grad_buffers[1]
    nan = np.isnan(two[2])  # where NaN meets an infinity BLAS may give its own NaN, of the other sign
    np.testing.assert_array_equal(np.isnan(one[2]), nan)
    one[2][nan] = two[2][nan] = 0
    for a, c in zip(one, two):
        assert_same_bits(a, c)


@needs_numba
def test_a_one_by_one_weight_keeps_numpy_s_negative_zero_gradient():
    """Dense(1, relu) on one feature: NumPy multiplies the 1×1 matrices as numbers, so a -0.0 gradient stays
    -0.0, which the fused outer product (a sum from +0.0) would lose; that path is not taken there."""
    x, W, b = np.full((1, 1), 2.0, np.float32), np.full((1, 1), -1.0, np.float32), np.zeros(1, np.float32)
    gy = np.full((1, 1), -1.5, np.float32)  # the ReLU is off: the gradient through it is -1.5 * 0 = -0.0
    fused = F.LinearReLU()
    fused.needs_grad = (True, True, True)
    fused.grad_buffers = (None, np.empty_like(W), np.empty_like(b))
    with compiled.using(True):
        fused.forward(x, W, b)
        assert np.signbit(fused.backward(gy)[1]).all()


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_bias_and_relu_loop_gives_numpy_s_bits_on_special_values(dtype):
    """A product cannot make every special value (-0 needs all its terms -0), so the loop is given them."""
    y = np.array([[v] * len(SPECIAL) for v in SPECIAL], dtype)  # every special value plus every special bias
    b = np.array(SPECIAL, dtype)
    with compiled.using(False), np.errstate(invalid="ignore"):
        expected = F.ReLU().forward(y + b)
    F._add_bias_relu(y, b)
    assert_same_bits(y, expected)


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_bias_loop_gives_numpy_s_bits_on_special_values(dtype, monkeypatch):
    y = np.array([[v] * len(SPECIAL) for v in SPECIAL], dtype)
    b = np.array(SPECIAL, dtype)
    with np.errstate(invalid="ignore"):
        expected = y + b
    F._add_bias(y, b)
    assert_same_bits(y, expected)
    rng = np.random.default_rng(5)
    x, W = rng.standard_normal((2, 3)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    calls = counting(monkeypatch, "_add_bias")
    for bias in (rng.standard_normal(4).astype(dtype), rng.standard_normal(4).astype(np.float16),
                 rng.standard_normal((1, 4)).astype(dtype)):
        with compiled.using(False):
            two = F.Linear().forward(x, W, bias)
        with compiled.using(True):
            assert_same_bits(F.Linear().forward(x, W, bias), two)
    assert len(calls) == 1  # not for a bias of another dtype or shape: NumPy casts and broadcasts it
    for x, W in ((x[0], W), (x[0], W[:, 0])):  # one sample (1-D x), and a 1-D W: NumPy's add, not the loop
        with compiled.using(False):
            two = F.Linear().forward(x, W, np.ones(W.shape[1:], dtype))
        with compiled.using(True):
            assert_same_bits(F.Linear().forward(x, W, np.ones(W.shape[1:], dtype)), two)
    assert len(calls) == 1


# ---- bias gradients and softmax cross-entropy --------------------------------------------------------
def counting(monkeypatch, name):
    """Count the calls of the kernel F.<name>."""
    calls, kernel = [], getattr(F, name)
    monkeypatch.setattr(F, name, lambda *args: calls.append(1) or kernel(*args))
    return calls


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 3), (5, 1), (7, 1), (8, 1), (40, 1), (128, 10), (0, 4), (300, 7)])
def test_compiled_row_sums_give_numpy_s_numbers_bit_for_bit(shape, dtype, monkeypatch):
    rng = np.random.default_rng(2)
    a = (rng.standard_normal(shape) * 10.0 ** rng.integers(-6, 7, shape)).astype(dtype)
    a.reshape(-1)[:len(SPECIAL)] = SPECIAL[:a.size]
    if len(a) > 2:
        a[:, -1] = -0.0  # a column of negative zeros sums to +0.0 in NumPy: it starts from zero
    calls = counting(monkeypatch, "_sum_rows")
    with compiled.using(True), np.errstate(invalid="ignore"):
        compiled_sum = F.sum_rows(a, np.empty(shape[1], dtype))
    assert_same_bits(compiled_sum, a.sum(axis=0))
    assert len(calls) == (shape[1] > 1 or shape[0] < 8)  # 8 or more contiguous numbers: NumPy's pairwise sum


@needs_numba
def test_row_sums_into_an_output_of_the_wrong_shape_are_refused_as_numpy_refuses_them():
    with compiled.using(True), pytest.raises(ValueError):
        F.sum_rows(np.ones((1, 3), np.float32), np.empty((1, 3), np.float32))


def cross_entropy_both_ways(x, t, reduction, gy):
    results = []
    for on in (True, False):
        with compiled.using(on), np.errstate(all="ignore"):
            op = F.SoftmaxCrossEntropy(reduction)
            results.append((op.forward(x, t), op.backward(gy)[0], op.compiled))
    return results


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(1, 3), (7, 3), (128, 10), (9, 1), (1, 40)])  # (1, 40): summed pairwise
def test_compiled_softmax_cross_entropy_gives_numpy_s_numbers_bit_for_bit(shape, reduction, dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * (30 if shape[1] < 8 else 2)).astype(dtype)  # many classes: exps of a size
    if len(x) > 6:  # rows with a NaN, an infinity, all -inf, a -0.0 maximum, and an infinity before a NaN
        x[1, -1], x[2, 0], x[3], x[4], x[5, :2] = np.nan, np.inf, -np.inf, -0.0, (np.inf, np.nan)[:shape[1]]
        x[6, :2] = (np.nan, -np.nan)[:shape[1]]  # NumPy's max is the first NaN
    t = rng.integers(0, shape[1], len(x)).astype(np.int32)
    gy = rng.standard_normal(len(x)).astype(dtype) if reduction == "none" else np.asarray(0.7, dtype)
    (y1, g1, ran), (y2, g2, _) = cross_entropy_both_ways(x, t, reduction, gy)
    assert ran
    assert_same_bits(y1, y2)
    assert_same_bits(g1, g2)


@needs_numba
@pytest.mark.parametrize("case", ["big-endian labels", "a float16 gradient", "fewer labels than rows"])
def test_cross_entropy_the_kernels_cannot_take_runs_as_numpy_runs_it(case):
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((6, 3), dtype=np.float32), rng.integers(0, 3, 6)
    gy = np.asarray(0.5, np.float16 if case == "a float16 gradient" else np.float32)
    if case == "big-endian labels":
        t = t.astype(">i8")
    if case == "fewer labels than rows":
        t = t[:1]  # broadcast by NumPy's indexing; the kernel would read past the labels
    (y1, g1, _), (y2, g2, _) = cross_entropy_both_ways(x, t, "mean", gy)
    assert_same_bits(y1, y2)
    assert_same_bits(g1, g2)


@needs_numba
@pytest.mark.parametrize("label", [-1, 3])
def test_compiled_cross_entropy_refuses_a_label_that_is_not_a_class(label):
    with compiled.using(True), pytest.raises(ValueError, match=rf"\[0, 3\), got {label} for sample 1"):
        F.SoftmaxCrossEntropy().forward(np.zeros((2, 3), np.float32), np.array([0, label]))


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("labels", ["int64", "uint8", "float32"])
def test_compiled_sparse_accuracy_counts_numpy_s_argmax_hits(dtype, labels, monkeypatch):
    from scratchgrad import metrics

    rng = np.random.default_rng(5)
    y_pred = rng.integers(-2, 3, (300, 4)).astype(dtype)  # many ties: the first maximum is the argmax
    y_pred[:len(SPECIAL), 1] = SPECIAL  # NaNs (the first one is the argmax), infinities, signed zeros
    y_pred[7, 2:] = np.nan, -np.nan
    y_true = rng.integers(0, 5, 300).astype(labels)  # 4 is no class: never a hit
    calls, kernel = [], metrics._sparse_hits
    monkeypatch.setattr(metrics, "_sparse_hits", lambda *args: calls.append(1) or kernel(*args))
    results = []
    for on in (True, False):
        with compiled.using(on), np.errstate(invalid="ignore"):
            metric = metrics.SparseCategoricalAccuracy()
            for rows in (slice(0, 1), slice(1, 8), slice(8, None)):
                metric.update_state(y_true[rows], y_pred[rows])
            results.append((metric.total, metric.count))
    assert len(calls) == (3 if labels != "float32" else 0)  # float labels take NumPy's cast
    expected = (y_pred.argmax(axis=1) == y_true.astype(np.int64)).sum()
    assert results[0] == results[1] == (expected, 300)


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_cross_entropy_counts_numpy_s_argmax_hits(dtype):
    rng = np.random.default_rng(6)
    x = rng.integers(-2, 3, (300, 4)).astype(dtype)  # many ties: the first maximum is the argmax
    x[:len(SPECIAL), 1] = SPECIAL  # NaNs (the first one is the argmax), infinities, signed zeros
    x[7, 2:] = np.nan, -np.nan
    t = rng.integers(0, 4, 300)
    with compiled.using(True), np.errstate(invalid="ignore"):
        op = F.SoftmaxCrossEntropy()
        op.forward(x, t)
    assert op.hits == (x.argmax(axis=1) == t).sum()


@needs_numba
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_compiled_cross_entropy_replayed_on_batches_of_other_shapes_gives_a_new_op_s_numbers(reduction):
    rng, op = np.random.default_rng(11), F.SoftmaxCrossEntropy(reduction)
    for shape, dtype in [((2, 3), "float32"), ((3, 3), "float32"), ((3, 3), "float64"), ((3, 2), "float64"),
                         ((2, 3), "float32")]:  # the op keeps its work arrays from one forward to the next
        x, t = rng.standard_normal(shape).astype(dtype), rng.integers(0, shape[1], shape[0])
        gy = np.asarray(0.7, dtype)
        with compiled.using(True):
            new = F.SoftmaxCrossEntropy(reduction)
            assert_same_bits(op.forward(x, t), new.forward(x, t))
            assert_same_bits(op.backward(gy)[0], new.backward(gy)[0])


def fit_logs(case, counted, monkeypatch):
    """fit's history with the loss op's hits counted for the accuracy or not, and whether update_state ran."""
    from scratchgrad import metrics, trainer

    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((40, 4)).astype(np.float32), rng.integers(0, 3, 40)
    loss, compile_args, fit_args = "sparse_categorical_crossentropy", {"metrics": ["accuracy"]}, {}
    if case == "weighted":
        compile_args["weighted_metrics"], fit_args["sample_weight"] = ["accuracy"], rng.random(40)
    if case == "ignore_class":  # its loss op reads the labels with class 2 made 0: not the labels as given
        loss = sg.losses.SparseCategoricalCrossentropy(ignore_class=2)
    if case == "probabilities":  # the logits' argmax is class 1, the probabilities tie: their argmax is 0
        x, y = np.zeros((10, 4), np.float32), np.ones(10, np.int64)
        compile_args["metrics"] = ["accuracy", "sparse_categorical_crossentropy"]  # which reads probabilities
    calls, update = [], metrics.MeanMetricWrapper.update_state
    with monkeypatch.context() as patch:
        patch.setattr(metrics.MeanMetricWrapper, "update_state", lambda *a, **k: calls.append(1) or update(*a, **k))
        if not counted:
            patch.setattr(trainer, "_takes_hits", lambda metric: False)
        sg.set_seed(0)
        model = Sequential([Input(shape=(4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
        if case == "probabilities":
            model.layers[-1].set_weights([np.zeros((8, 3), np.float32), np.array([0, 1e-9, 0], np.float32)])
        model.compile(sg.optimizers.Adam(1e-30 if case == "probabilities" else 1e-3), loss, **compile_args)
        return model.fit(x, y, batch_size=5, epochs=3, verbose=0, **fit_args).history, bool(calls)


@needs_numba
@pytest.mark.parametrize("case", ["plain", "weighted", "ignore_class", "probabilities"])
def test_the_accuracy_from_the_fused_loss_s_count_is_the_metric_s_own(case, monkeypatch):
    with compiled.using(True):
        (counted, updated), (own, _) = (fit_logs(case, c, monkeypatch) for c in (True, False))
    assert counted == own
    if case == "probabilities":
        assert own["accuracy"] == [0.0] * 3  # so a count from the logits (1.0) would differ
    else:
        assert 0.2 < own["accuracy"][-1] < 0.9
    # the plan's steps (the first, recorded one too) took the loss op's count where they may
    assert updated == (case != "plain")


@pytest.mark.parametrize("kernels", [True, False], ids=["compiled", "numpy"])
def test_a_dense_relu_without_bias_trains_through_the_plan(kernels):
    """A Linear without bias has two inputs: no bias gradient to fuse into the ReLU's backward."""
    if kernels and not compiled.enabled():
        pytest.skip("numba is not installed or kernels are off")
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((16, 4)).astype(np.float32), rng.integers(0, 3, 16)
    with compiled.using(kernels):
        sg.set_seed(0)
        model = sg.Sequential([sg.layers.Input(shape=(4,)), sg.layers.Dense(8, activation="relu", use_bias=False),
                               sg.layers.Dense(3)])
        model.compile("sgd", sg.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@needs_numba
@pytest.mark.parametrize("shape", [(3,), (6,), (1, 5)])
def test_a_bias_gradient_buffer_of_another_shape_is_refused_as_numpy_refuses_it(shape):
    rng = np.random.default_rng(8)
    x, W = rng.standard_normal((4, 3), dtype=np.float32), rng.standard_normal((3, 5), dtype=np.float32)
    b, gy = np.ones(5, np.float32), rng.standard_normal((4, 5), dtype=np.float32)
    with compiled.using(True):
        op = F.LinearReLU()
        op.needs_grad, op.grad_buffers = (True, True, True), (None, np.empty_like(W), np.empty(shape, np.float32))
        op.forward(x, W, b)
        with pytest.raises(ValueError):
            op.backward(gy)


@needs_numba
def test_the_accuracy_count_leaves_what_its_kernel_cannot_take_to_numpy():
    from scratchgrad import metrics

    y_pred = np.random.default_rng(9).standard_normal((6, 3)).astype(np.float32)
    with compiled.using(True):
        metric = metrics.SparseCategoricalAccuracy()
        metric.update_state(y_pred.argmax(1).astype(">i4"), y_pred)  # big-endian labels
        assert (metric.total, metric.count) == (6.0, 6.0)
        with pytest.raises(TypeError, match="foo"):  # an unknown argument still reaches the function
            metrics.MeanMetricWrapper(metrics.sparse_categorical_accuracy, foo=1).update_state(y_pred.argmax(1), y_pred)


@needs_numba
def test_a_kernel_of_a_module_not_in_sys_modules_runs(kernels_on):
    module = types.ModuleType("made_by_exec")  # as exec or importlib's module_from_spec make one
    exec("from scratchgrad.compiled import kernel\n"
         "@kernel\n"
         "def double(a):\n"
         "    for i in range(a.size):\n"
         "        a[i] *= 2\n", module.__dict__)
    a = np.ones(3)
    module.double(a)
    module.double(a)
    np.testing.assert_array_equal(a, [4.0, 4.0, 4.0])


def test_kernel_constants_are_converted_whether_or_not_they_can_be_cache_keys():
    for numbers in ((0.1, 1e-7), (np.array(0.1), np.float64(1e-7))):  # a 0-d array cannot be a key
        got = compiled.scalars(np.float32, *numbers)
        assert [type(v) for v in got] == [np.float32, np.float32] and got == (np.float32(0.1), np.float32(1e-7))
