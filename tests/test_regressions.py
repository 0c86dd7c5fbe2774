"""Defects found in review, each pinned by the reproducer that showed it."""
import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad.models import Sequential


def data(rng, n=40):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, rng.integers(0, 3, n)


def two_layers(clipnorm=None):
    sg.set_seed(0)
    model = Sequential([L.Input(shape=(4,)), L.Dense(6, activation="relu"), L.Dense(3, activation="softmax")])
    model.compile(optimizer=sg.optimizers.Adam(0.01, clipnorm=clipnorm), loss="sparse_categorical_crossentropy")
    return model


def test_freezing_a_layer_keeps_the_optimizer_state_of_the_others(rng):
    """The flat path must train exactly like the per-parameter path (clipnorm=huge disables packing)."""
    x, y = data(rng)
    runs = []
    for clipnorm in (None, 1e9):
        model = two_layers(clipnorm)
        sg.set_seed(1)
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        model.layers[0].trainable = False
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        runs.append(model.layers[1].kernel.numpy())
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5, atol=1e-6)


def test_transpose_with_negative_axes(rng):
    a = sg.Tensor(rng.standard_normal((2, 3, 4)), dtype="float64", requires_grad=True)
    w = sg.Tensor(rng.standard_normal((2, 4, 3)), dtype="float64")
    assert sg.gradcheck(lambda a: (a.transpose(0, -1, -2) * w).sum(), a)
    assert a.grad.shape == a.shape


def test_nested_sequential_builds_saves_and_loads(rng, tmp_path):
    x, y = data(rng)
    inner = Sequential([L.Dense(5, activation="relu", input_shape=(4,))])
    outer = Sequential([inner, L.Dense(3, activation="softmax")])
    outer.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    outer.fit(x, y, verbose=0)
    outer.save(tmp_path / "nested.sg")
    loaded = sg.load_model(tmp_path / "nested.sg")
    np.testing.assert_array_equal(loaded.predict(x), outer.predict(x))


def test_class_weight_does_not_weight_the_validation_split(rng):
    x, y = data(rng)
    model = two_layers()
    history = model.fit(x, y, epochs=1, validation_split=0.25, class_weight={0: 10.0, 1: 1.0, 2: 1.0}, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(x[30:], y[30:], verbose=0), rel=1e-5)


def test_early_stopping_restores_the_best_weights_when_epochs_run_out(rng):
    x, y = data(rng)
    model = two_layers()
    snapshots, losses = [], []

    def record(epoch, logs):
        snapshots.append(model.get_weights())
        losses.append(logs["loss"])

    model.fit(x, y, epochs=6, verbose=0, callbacks=[
        sg.callbacks.LambdaCallback(on_epoch_end=record),
        sg.callbacks.EarlyStopping(monitor="loss", patience=100, restore_best_weights=True)])
    best = snapshots[int(np.argmin(losses))]
    for a, b in zip(model.get_weights(), best):
        np.testing.assert_array_equal(a, b)


def test_concatenate_and_stack_refuse_to_upcast():
    a = sg.Tensor([1.0], requires_grad=True)
    b = sg.Tensor([1.0], dtype="float64", requires_grad=True)
    for op in (sg.concatenate, sg.stack):
        with pytest.raises(TypeError, match="never upcasts"):
            op([a, b])
    assert sg.concatenate([a, [2.0], sg.Tensor([3])]).dtype == np.float32


def test_power_zero_has_zero_gradient_at_zero():
    x = sg.Tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 0])


def test_scalar_custom_loss_with_sample_weight_says_what_is_needed(rng):
    x, y = data(rng)
    model = Sequential([L.Input(shape=(4,)), L.Dense(1)])
    model.compile(optimizer="sgd", loss=lambda t, p: ((t - p) ** 2).mean())
    with pytest.raises(ValueError, match="one value per sample"):
        model.fit(x, y.astype(np.float32), sample_weight=np.ones(40), verbose=0)


def test_a_fully_frozen_model_fits_without_changing(rng):
    x, y = data(rng)
    model = two_layers()
    model.trainable = False
    before = model.get_weights()
    model.fit(x, y, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
