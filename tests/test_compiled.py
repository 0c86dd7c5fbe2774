"""The compiled kernels (numba, optional) give exactly the numbers of the NumPy code they stand beside."""
import importlib.util

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import compiled, optimizers
from scratchgrad.layers import Dense, Input
from scratchgrad.models import Sequential

needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba is not installed")

# every optimizer with a kernel, in configurations that use it
KERNEL_CONFIGS = [("Adam", {}), ("Adam", {"weight_decay": 0.1, "clipnorm": 0.05}), ("AdamW", {}),
                  ("RMSprop", {}), ("RMSprop", {"global_clipnorm": 0.05})]


@pytest.fixture
def kernels_on():
    previous = compiled.set_enabled(True)
    yield
    compiled.set_enabled(previous)


def train(name, options, dtype, use_kernels, fortran_kernel=False):
    previous = compiled.set_enabled(use_kernels)
    try:
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
    finally:
        compiled.set_enabled(previous)


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,options", KERNEL_CONFIGS, ids=lambda v: str(v))
def test_kernel_gives_the_numpy_code_s_numbers_bit_for_bit(name, options, dtype):
    for a, b in zip(train(name, options, dtype, True), train(name, options, dtype, False)):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


@needs_numba
@pytest.mark.parametrize("name,options", KERNEL_CONFIGS, ids=lambda v: str(v))
def test_the_kernel_is_what_runs(name, options, kernels_on, monkeypatch):
    def refuse(*args):
        raise AssertionError("the NumPy update ran where the kernel should have")

    monkeypatch.setattr(optimizers.CLASSES[name], "update", refuse)
    train(name, options, "float32", True)


@needs_numba
def test_a_weight_that_is_not_contiguous_takes_the_numpy_code(kernels_on, monkeypatch):
    calls = []
    update = optimizers.Adam.update
    monkeypatch.setattr(optimizers.Adam, "update", lambda *a: calls.append(1) or update(*a))
    trained = train("Adam", {}, "float32", True, fortran_kernel=True)
    assert calls
    for a, b in zip(trained, train("Adam", {}, "float32", False, fortran_kernel=True)):
        np.testing.assert_array_equal(a, b)


@needs_numba
@pytest.mark.parametrize("name,options", [("Adam", {"amsgrad": True}), ("RMSprop", {"centered": True}),
                                          ("RMSprop", {"momentum": 0.5}), ("Adam", {"fused": False})])
def test_configurations_without_a_kernel_run_the_numpy_code(name, options, kernels_on, monkeypatch):
    calls = []
    update = optimizers.CLASSES[name].update
    monkeypatch.setattr(optimizers.CLASSES[name], "update", lambda *a: calls.append(1) or update(*a))
    train(name, options, "float32", True)
    assert calls


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

    previous = compiled.set_enabled(use_kernels)
    try:
        op = MaxPool2D(**options)
        y = op.forward(x)
        assert (op.winner is not None) == use_kernels
        gy = np.random.default_rng(gy_seed).standard_normal(y.shape).astype(x.dtype)
        return y, op.backward(gy)
    finally:
        compiled.set_enabled(previous)


POOLS = [dict(pool_size=(2, 2), strides=(2, 2)), dict(pool_size=(3, 3), strides=(2, 2)),
         dict(pool_size=(2, 3), strides=(1, 2), padding="same"), dict(pool_size=(3, 3), strides=(3, 3)),
         dict(pool_size=(2, 2), strides=(2, 2), padding="same", channels_first=True)]


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
        assert a.dtype == np.dtype(dtype) and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@needs_numba
def test_compiled_max_pooling_keeps_nan_and_passes_it_no_gradient():
    x = np.arange(32, dtype=np.float32).reshape(1, 4, 4, 2)
    x[0, 1, 1, 0] = np.nan
    for a, b in zip(pool_both_ways(x, 2, True), pool_both_ways(x, 2, False)):
        np.testing.assert_array_equal(a, b)  # NaN where NaN
    y, gx = pool_both_ways(x, 2, True)
    assert np.isnan(y[0, 0, 0, 0]) and not gx[0, :2, :2, 0].any()


def test_importing_scratchgrad_does_not_import_numba():
    import subprocess
    import sys

    code = "import sys, scratchgrad; print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
