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


# ---- found in review of the step plan ------------------------------------------------------------------
class NoGradScaled(L.Layer):
    """A layer that computes a scale under no_grad: the scale must act as a constant on both paths."""

    def build(self, input_shape):
        self.w = self.add_weight((input_shape[-1], 3), name="w")

    def call(self, x):
        with sg.no_grad():
            scale = (self.w * self.w).mean()
        return sg.ops.matmul(x, self.w) / scale


def test_no_grad_inside_a_recorded_step_passes_no_gradient(rng):
    x, y = rng.standard_normal((64, 4)), rng.standard_normal((64, 1))
    runs = []
    for eager in (False, True):
        sg.set_seed(0)
        model = Sequential([L.Input(shape=(4,)), NoGradScaled(), L.Dense(1)])
        model.compile("sgd", "mse", run_eagerly=eager)
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        runs.append(model.layers[0].w.numpy())
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5, atol=1e-6)


def test_eager_steps_ignore_gradients_left_from_before(rng):
    x, y = rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 3)).astype(np.float32)
    runs = []
    for eager in (False, True):
        sg.set_seed(0)
        model = Sequential([L.Input(shape=(4,)), L.Dense(3)])
        model.compile(sg.optimizers.SGD(0.1), "mse", run_eagerly=eager)
        sg.losses.get("mse")(y, model(x)).backward()  # a user's backward() leaves .grad behind
        model.train_on_batch(x, y)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_a_layer_used_twice_is_one_set_of_weights(rng):
    dense = L.Dense(4)
    model = Sequential([L.Input(shape=(4,)), dense, dense])
    assert len(model.trainable_weights) == 2 and model.count_params() == 20


def test_optimizer_state_survives_unfreezing_and_saving(rng, tmp_path):
    x, y = rng.standard_normal((32, 4)).astype(np.float32), rng.standard_normal((32, 4)).astype(np.float32)
    model = Sequential([L.Input(shape=(4,)), L.Dense(5), L.Dense(4)])
    model.compile("adam", "mse")
    model.layers[0].trainable = False
    model.fit(x, y, verbose=0)
    model.layers[0].trainable = True
    model.save(tmp_path / "m.sg")
    loaded = sg.load_model(tmp_path / "m.sg")
    for a, b in zip(model.get_optimizer_state()["slots"], loaded.get_optimizer_state()["slots"]):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    assert not loaded.get_optimizer_state()["slots"][0]["momentum"].any()  # the frozen layer had no state yet


def test_plain_sgd_keeps_its_step_count_through_saving(tmp_path):
    model = Sequential([L.Input(shape=(3,)), L.Dense(2)])
    model.compile(sg.optimizers.SGD(sg.optimizers.ExponentialDecay(0.1, 10, 0.5)), "mse")
    model.fit(np.ones((64, 3)), np.ones((64, 2)), batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "sgd.sg")
    loaded = sg.load_model(tmp_path / "sgd.sg")
    assert loaded.optimizer.iterations == 16 and loaded.optimizer.learning_rate == model.optimizer.learning_rate


def test_a_custom_rule_with_temporaries_keeps_no_memory(rng):
    class PlainSGD(sg.optimizers.Optimizer):
        def update(self, w, g, slots, lr):
            w -= lr * g  # a new temporary every step

    model = Sequential([L.Input(shape=(4,)), L.Dense(3)])
    model.compile(PlainSGD(0.1), "mse")
    model.fit(rng.standard_normal((64, 4)), rng.standard_normal((64, 3)), batch_size=4, epochs=2, verbose=0)
    pack = next(iter(model.optimizer._packs.values()))
    assert len(pack._views) <= 2  # the gradient and the scratch buffer, not one per step


def test_user_classes_never_take_a_builtin_name():
    class MeanSquaredErrorVariant(sg.losses.MeanSquaredError):
        name = "mse_variant"

    class SGD(sg.optimizers.Optimizer):  # a from-scratch exercise
        def update(self, w, g, slots, lr):
            w -= g * lr

    class Dense(L.Layer):
        def call(self, x):
            return x

    assert type(sg.losses.get("mse")) is sg.losses.MeanSquaredError
    assert type(sg.losses.get("mse_variant")) is MeanSquaredErrorVariant
    assert type(sg.optimizers.get("sgd")) is sg.optimizers.SGD
    assert L.LAYERS["Dense"] is sg.layers.Dense
