"""Keras 3's optimizer options (use_ema, gradient_accumulation_steps, loss_scale_factor), Adafactor and the
SwapEMAWeights callback: against numbers Keras computed and against Keras's formulas written out."""
import json
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import optimizers
from scratchgrad.callbacks import Callback, SwapEMAWeights
from scratchgrad.layers import Dense
from scratchgrad.models import Sequential, load_model


def inputs(shape, steps, dtype=np.float32):
    """A weight and `steps` gradients of `shape` from exact formulas (the Keras numbers below used these)."""
    i = np.arange(int(np.prod(shape)))
    w = ((i % 7 - 3) / 3).astype(dtype).reshape(shape)
    return w, [(((i * (k + 2) + k) % 9 - 4) / 5).astype(dtype).reshape(shape) for k in range(steps)]


def apply_steps(opt, shapes, steps, dtype=np.float32):
    """`steps` apply_gradients calls on one weight of each shape at once; returns the weights."""
    data = [inputs(shape, steps, dtype) for shape in shapes]
    params = [sg.Tensor(w, dtype=dtype, requires_grad=True) for w, _ in data]
    for k in range(steps):
        opt.apply_gradients([(grads[k], p) for (_, grads), p in zip(data, params)])
    return params


def ema_by_hand(weights, momentum):
    """Keras's moving average of a sequence of weights: the first is copied (momentum 0 at step 0)."""
    average = weights[0]
    for w in weights[1:]:
        average = [momentum * a + (1 - momentum) * b for a, b in zip(average, w)]
    return average


@pytest.fixture
def data(rng):
    return rng.standard_normal((40, 4)).astype(np.float32), rng.integers(0, 3, 40)


def dense_model(optimizer, run_eagerly=False):
    sg.set_seed(0)
    model = Sequential([sg.Input(shape=(4,)), Dense(5, activation="tanh"), Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", run_eagerly=run_eagerly)
    return model


# ---- Adafactor ---------------------------------------------------------------------------------------
SHAPES = [(5,), (3, 4), (2, 3, 2, 3)]
# Keras 3.15.1 (torch backend): the weights after 5 apply_gradients calls on inputs(shape, 5) of SHAPES together
KERAS_ADAFACTOR = {
    "defaults": ({}, [
        [-0.99829894, -0.66703552, -0.33415204, 0.00061322091, 0.33386707],
        [-0.99803036, -0.66699517, -0.33419523, 0.00062735449, 0.33394337, 0.66655481, 0.99996984, -0.99875271,
         -0.66966748, -0.3311716, 0.00023651362, 0.33260033],
        [-0.9975661, -0.66699898, -0.3341479, 0.00093352003, 0.33399805, 0.66685516, 0.99967021, -0.99854147,
         -0.67079991, -0.33117256, -0.00070156442, 0.33256409, 0.66735381, 1.0008361, -1.0000597, -0.66664809,
         -0.33184975, -0.0039032768, 0.33576721, 0.66633439, 0.9991855, -0.99906641, -0.66600192, -0.33314487,
         -0.0003297138, 0.3347919, 0.66253346, 1.0021609, -1.0007017, -0.667436, -0.33264622, 0.00083613035,
         0.33327359, 0.66668528, 1.0014836, -1.0039033]]),
    "options": ({"learning_rate": 0.3, "clip_threshold": 0.5, "beta_2_decay": -0.5}, [
        [-0.71793008, -0.68459558, -0.47200021, 0.076247141, 0.3926183],
        [-0.68623567, -0.72603065, -0.46281847, 0.079224914, 0.43894333, 0.63865721, 1.001969, -0.81293452,
         -1.1594771, 0.013502732, 0.040542781, 0.2321662],
        [-0.60097164, -0.70924592, -0.48347309, 0.16705945, 0.45442849, 0.67383033, 0.95324528, -0.78033841,
         -1.3304623, 0.022264849, -0.097159922, 0.18503587, 0.78846532, 1.1508564, -1.0387388, -0.65141404,
         -0.080325544, -0.63763118, 0.73236173, 0.62408745, 0.84986031, -0.83294064, -0.54557157, -0.3261697,
         -0.046754643, 0.55299497, 0.0028710514, 1.3555982, -1.09716, -0.81496418, -0.21153469, 0.15085638,
         0.29459462, 0.68191934, 1.2530079, -1.6376311]]),
}


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("case", sorted(KERAS_ADAFACTOR))
def test_adafactor_matches_keras_on_rank_1_2_and_4_weights(case, fused):
    kwargs, expected = KERAS_ADAFACTOR[case]
    for p, keras_weight in zip(apply_steps(optimizers.Adafactor(fused=fused, **kwargs), SHAPES, 5), expected):
        assert p.numpy().dtype == np.float32
        np.testing.assert_allclose(p.numpy().ravel(), keras_weight, rtol=1e-6, atol=2e-7)


MUON = dict(np.load(Path(__file__).parent / "keras_reference" / "muon.npz"))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("case", sorted(json.loads(str(MUON["cases"]))))
def test_muon_takes_keras_s_steps(case, fused):
    """Three steps of Keras 3.15's Muon on an Embedding (AdamW: its name, unless exclude_embeddings=False), a
    Conv1D's 3-D kernel and bias (AdamW), and a tall and a wide Dense kernel (Muon, unless exclude_layers
    names one)."""
    names = [str(n) for n in MUON["names"]]
    params = [sg.Tensor(MUON[f"{case}/before/{i}"].copy()) for i in range(len(names))]
    for p, name in zip(params, names):
        p.name = name
    optimizer = optimizers.Muon(fused=fused, **json.loads(str(MUON["cases"]))[case])
    for k in range(3):
        optimizer.apply_gradients(zip([MUON[f"{case}/grad{k}/{i}"] for i in range(len(names))], params))
    for i, p in enumerate(params):
        np.testing.assert_allclose(p.numpy(), MUON[f"{case}/after/{i}"], rtol=1e-5, atol=1e-6, err_msg=names[i])
    plain = case == "plain"  # embeddings included, "broad" excluded
    assert [optimizer.uses_adamw(p) for p in params] == [not plain, True, True, False, True, plain, True]


def schedule_free_by_the_paper(y, grads, lr, beta_1, beta_2, epsilon, warmup_steps):
    """Defazio et al.'s AdamW, as their reference code writes it: y is the weight; from it x is recovered
    with z before its step (y -> x), z steps, x averages z with weight 1/t, and y is made again (x -> y)."""
    z, v = y.copy(), np.zeros_like(y)
    for t, g in enumerate(grads, 1):
        rate = lr * min(t / warmup_steps, 1.0) if warmup_steps else lr
        x = y + (1 - 1 / beta_1) * (z - y)
        v = beta_2 * v + (1 - beta_2) * g * g
        z = z - rate * g / (np.sqrt(v / (1 - beta_2 ** t)) + epsilon)
        x = x + (z - x) / t
        y = x + (1 - beta_1) * (z - x)
    return y


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("warmup_steps", [0, 3])
def test_schedule_free_adamw_follows_the_paper(warmup_steps, fused, rng):
    """Keras 3.15's code recovers x with z after its step (its copy of z aliases the variable, on the torch and
    TensorFlow backends alike), a different sequence; this is the paper's."""
    y0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(5)]
    weight = sg.Tensor(y0.copy(), dtype="float64")
    optimizer = optimizers.ScheduleFreeAdamW(learning_rate=0.05, warmup_steps=warmup_steps, fused=fused)
    for g in grads:
        optimizer.apply_gradients([(g, weight)])
    expected = schedule_free_by_the_paper(y0, grads, 0.05, 0.9, 0.999, 1e-8, warmup_steps)
    np.testing.assert_allclose(weight.numpy(), expected, rtol=1e-12)


def test_adafactor_keeps_factored_moments_with_keras_defaults():
    opt = optimizers.get("adafactor")
    assert isinstance(opt, optimizers.Adafactor)
    keras_defaults = {"learning_rate": 0.001, "beta_2_decay": -0.8, "epsilon_1": 1e-30, "epsilon_2": 1e-3,
                      "clip_threshold": 1.0, "relative_step": True}
    assert {k: opt.get_config()[k] for k in keras_defaults} == keras_defaults
    apply_steps(opt, SHAPES, 1)
    shapes = [{k: a.shape for k, a in slots.items()} for slots in opt.get_state()["slots"]]
    assert shapes == [{"r": (0,), "c": (0,), "velocity": (5,)}, {"r": (3,), "c": (4,), "velocity": (3, 4)},
                      {"r": (2, 3, 2), "c": (2, 3, 3), "velocity": (2, 3, 2, 3)}]


# ---- use_ema -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("frequency", [None, 3])
def test_ema_follows_keras_formula(frequency, fused):
    lr, momentum = 0.1, 0.9
    w, grads = inputs((2, 3), 7, np.float64)
    p = sg.Tensor(w.copy(), dtype="float64", requires_grad=True)
    opt = optimizers.SGD(lr, use_ema=True, ema_momentum=momentum, ema_overwrite_frequency=frequency, fused=fused)
    average = None
    for t, g in enumerate(grads, 1):
        opt.apply_gradients([(g, p)])
        w = w - lr * g
        average = w if average is None else momentum * average + (1 - momentum) * w
        if frequency and t % frequency == 0:
            w = average  # every `frequency`-th step the weights take their averages
        np.testing.assert_allclose(p.numpy(), w, rtol=1e-13, atol=1e-15)
        [(_, got)] = opt.moving_averages([p])
        np.testing.assert_allclose(got, average, rtol=1e-13, atol=1e-15)


def test_ema_with_gradient_accumulation_matches_keras():
    opt = optimizers.Adam(0.01, gradient_accumulation_steps=2, use_ema=True, ema_momentum=0.8,
                          ema_overwrite_frequency=2)
    [p] = apply_steps(opt, [(2, 3)], 6)
    # Keras 3.15.1 (torch): the average moves at every call, the overwrite counts updates
    np.testing.assert_allclose(p.numpy().ravel(), [-0.98204708, -0.65746748, -0.34282109, 0.011221137, 0.3237316,
                                                   0.66770315], rtol=1e-5, atol=2e-7)
    np.testing.assert_allclose(opt.moving_averages([p])[0][1].ravel(), [-0.98695499, -0.65761781, -0.34314656,
                               0.011712341, 0.32327023, 0.66806459], rtol=1e-5, atol=2e-7)


class WeightsSeen(Callback):
    """Records the model's weights at each hook it is called at (after each batch: the trained weights)."""

    def __init__(self):
        super().__init__()
        self.batches, self.seen = [], {}

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(self.model.get_weights())

    def on_epoch_begin(self, epoch, logs=None):
        self.seen[f"begin {epoch}"] = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        self.seen[f"end {epoch}"] = self.model.get_weights()

    def on_test_batch_end(self, batch, logs=None):
        self.seen["test"] = self.model.get_weights()

    def on_predict_batch_end(self, batch, logs=None):
        self.seen["predict"] = self.model.get_weights()


def assert_weights_close(a, b, **tolerance):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, **tolerance)


def test_fit_ends_with_the_moving_averages_in_the_weights(data):
    model = dense_model(optimizers.SGD(0.1, use_ema=True, ema_momentum=0.8))
    seen = WeightsSeen()
    model.fit(*data, epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=[seen])
    assert_weights_close(model.get_weights(), ema_by_hand(seen.batches, 0.8), rtol=1e-5, atol=1e-7)
    assert not np.allclose(model.get_weights()[0], seen.batches[-1][0])


# ---- gradient_accumulation_steps ---------------------------------------------------------------------
@pytest.mark.parametrize("fused", [True, False])
def test_gradient_accumulation_applies_the_mean_every_n_calls(fused):
    w, grads = inputs((2, 3), 7, np.float64)
    p = sg.Tensor(w.copy(), dtype="float64", requires_grad=True)
    opt = optimizers.SGD(optimizers.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5),
                         gradient_accumulation_steps=3, fused=fused)
    total = 0
    for call, g in enumerate(grads):
        lr = 0.1 * 0.5 ** call  # the schedule sees every call, as Keras's
        assert opt.learning_rate == pytest.approx(lr, rel=1e-12)
        opt.apply_gradients([(g, p)])
        total = total + g
        if (call + 1) % 3 == 0:
            w, total = w - lr * (total / 3), 0
        np.testing.assert_allclose(p.numpy(), w, rtol=1e-13, atol=1e-15)
        assert opt.iterations == (call + 1) // 3  # the rules count updates
    assert opt.get_state()["iterations"] == 7


# the optimizers with an update rule of their own (LossScaleOptimizer and MultiOptimizer wrap others: tested apart)
RULES = sorted(name for name, cls in optimizers.CLASSES.items() if not cls.__dict__.get("wraps_another"))


@pytest.mark.parametrize("name", RULES)
def test_an_accumulated_rule_equals_the_rule_on_the_mean_gradients(name):
    """For every optimizer: the accumulator starts at zero whatever the rule's own slots start at
    (Adagrad's at initial_accumulator_value), and bias corrections count the 3 updates, not the 6 calls."""
    w, grads = inputs((2, 3), 6, np.float64)
    accumulated, plain = (sg.Tensor(w.copy(), dtype="float64", requires_grad=True) for _ in range(2))
    opt = optimizers.CLASSES[name](0.01, gradient_accumulation_steps=2)
    for g in grads:
        opt.apply_gradients([(g, accumulated)])
    reference = optimizers.CLASSES[name](0.01)
    for a, b in zip(grads[::2], grads[1::2]):
        reference.apply_gradients([((a + b) / 2, plain)])
    np.testing.assert_allclose(accumulated.numpy(), plain.numpy(), rtol=1e-13, atol=1e-15)


# ---- loss_scale_factor -------------------------------------------------------------------------------
@pytest.mark.parametrize("eager", [False, True])
def test_loss_scale_factor_trains_the_same_and_logs_the_unscaled_loss(eager, data):
    runs = []
    for factor in (None, 1000.0):
        model = dense_model(optimizers.SGD(0.1, loss_scale_factor=factor), run_eagerly=eager)
        history = model.fit(*data, epochs=2, batch_size=8, shuffle=False, verbose=0)
        runs.append((model.get_weights(), history.history["loss"]))
    (plain_weights, plain_loss), (scaled_weights, scaled_loss) = runs
    assert_weights_close(scaled_weights, plain_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scaled_loss, plain_loss, rtol=1e-6)


def test_the_optimizer_divides_the_gradients_by_the_loss_scale():
    p = sg.Tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    opt = optimizers.SGD(0.5, loss_scale_factor=4.0)
    assert opt.scale_loss(3.0) == 12.0
    opt.apply_gradients([(np.array([8.0, -4.0]), p)])
    np.testing.assert_allclose(p.numpy(), [0.0, -1.5])


# ---- SwapEMAWeights ----------------------------------------------------------------------------------
def trained_ema_model(data):
    """A model whose weights and moving averages differ (train_on_batch does not finalize)."""
    model = dense_model(optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5))
    for _ in range(3):
        model.train_on_batch(*data)
    averages = [a.copy() for _, a in model.optimizer.moving_averages(model.trainable_weights)]
    assert not np.allclose(model.get_weights()[0], averages[0])
    return model, averages


def test_swap_ema_weights_evaluates_and_predicts_with_the_averages_and_swaps_back(data):
    model, averages = trained_ema_model(data)
    trained, seen = model.get_weights(), WeightsSeen()
    model.evaluate(*data, callbacks=[SwapEMAWeights(), seen], verbose=0)
    predictions = model.predict(data[0], callbacks=[SwapEMAWeights(), seen])
    assert_weights_close(seen.seen["test"], averages, rtol=0, atol=0)
    assert_weights_close(seen.seen["predict"], averages, rtol=0, atol=0)
    assert_weights_close(model.get_weights(), trained, rtol=0, atol=0)
    assert_weights_close([a for _, a in model.optimizer.moving_averages()], averages, rtol=0, atol=0)
    model.set_weights(averages)
    np.testing.assert_array_equal(predictions, model.predict(data[0]))


def test_swap_on_epoch_shows_later_callbacks_the_averages_and_fit_ends_with_them(data):
    model = dense_model(optimizers.SGD(0.1, use_ema=True, ema_momentum=0.8))
    before, after = WeightsSeen(), WeightsSeen()
    model.fit(*data, epochs=2, batch_size=8, shuffle=False, verbose=0, validation_data=data,
              callbacks=[before, SwapEMAWeights(swap_on_epoch=True), after])
    first_epoch_average = ema_by_hand(before.batches[:5], 0.8)
    assert_weights_close(after.seen["end 0"], first_epoch_average, rtol=1e-5, atol=1e-7)
    assert_weights_close(before.seen["end 0"], before.batches[4], rtol=0, atol=0)  # the trained weights, before it
    assert_weights_close(after.seen["begin 1"], before.batches[4], rtol=0, atol=0)  # swapped back to train on
    assert_weights_close(model.get_weights(), ema_by_hand(before.batches, 0.8), rtol=1e-5, atol=1e-7)


def test_swap_ema_weights_needs_an_optimizer_with_use_ema(data):
    model = dense_model(optimizers.SGD(0.1))
    model.train_on_batch(*data)
    with pytest.raises(ValueError, match="use_ema=True"):
        model.evaluate(*data, callbacks=[SwapEMAWeights()], verbose=0)


# ---- saving, config, checks --------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: optimizers.Adam(0.01, use_ema=True, ema_overwrite_frequency=4, gradient_accumulation_steps=3),
    lambda: optimizers.Adafactor(0.01, use_ema=True),
], ids=["adam-ema-accumulation", "adafactor-ema"])
def test_state_round_trips_through_save_and_load(make, data, tmp_path):
    model = dense_model(make())
    model.fit(*data, epochs=1, batch_size=8, shuffle=False, verbose=0)  # 5 calls: 2 gradients left in the sum
    state = model.get_optimizer_state()
    model.save(tmp_path / "m.sg")
    loaded = load_model(tmp_path / "m.sg")
    restored = loaded.get_optimizer_state()
    assert restored["iterations"] == state["iterations"] == 5
    assert "average" in state["slots"][0] and restored["slots"][0].keys() == state["slots"][0].keys()
    for a, b in zip(state["slots"], restored["slots"], strict=True):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for m in (model, loaded):
        m.fit(*data, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert_weights_close(loaded.get_weights(), model.get_weights(), rtol=0, atol=0)


def test_keras_options_in_the_config():
    opt = optimizers.Adam(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=5, loss_scale_factor=2.0,
                          gradient_accumulation_steps=4)
    clone = optimizers.get(optimizers.serialize(opt))
    assert clone.get_config() == opt.get_config()
    assert {k: opt.get_config()[k] for k in ("use_ema", "ema_momentum", "ema_overwrite_frequency",
                                             "loss_scale_factor", "gradient_accumulation_steps")} == {
        "use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 5, "loss_scale_factor": 2.0,
        "gradient_accumulation_steps": 4}


@pytest.mark.parametrize("kwargs,message", [
    ({"gradient_accumulation_steps": 1}, r"gradient_accumulation_steps must be an integer >= 2 or None, got 1"),
    ({"gradient_accumulation_steps": 2.5}, r"integer >= 2 or None, got 2.5"),
    ({"use_ema": True, "ema_momentum": 1.5}, r"ema_momentum must be in \[0, 1\], got 1.5"),
    ({"use_ema": True, "ema_overwrite_frequency": 2.5}, r"ema_overwrite_frequency must be an integer >= 1 or None"),
    ({"loss_scale_factor": 0}, r"loss_scale_factor must be a positive number or None, got 0"),
])
def test_bad_keras_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optimizers.Adam(**kwargs)


def test_loss_scaling_trains_as_its_inner_optimizer_and_saves_its_scale(tmp_path, rng):
    """Scaling by powers of two is exact: the same weights as Adam alone; the scale and its counter travel
    in the model file."""
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x.sum(axis=1, keepdims=True) > 0).astype(np.float32)
    runs = []
    for optimizer in (optimizers.Adam(0.01), optimizers.LossScaleOptimizer(optimizers.Adam(0.01),
                                                                            dynamic_growth_steps=5)):
        sg.set_seed(0)
        model = Sequential([sg.Input(shape=(4,)), Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
        model.compile(optimizer, "binary_crossentropy")
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        runs.append(model)
    for a, b in zip(runs[0].get_weights(), runs[1].get_weights()):
        np.testing.assert_array_equal(a, b)
    scaled = runs[1].optimizer
    assert (scaled.iterations, scaled.dynamic_scale, scaled.step_counter) == (12, 2.0**17, 2)  # 2 doublings in 12
    runs[1].save(tmp_path / "m.sg")
    loaded = load_model(tmp_path / "m.sg").optimizer
    assert (type(loaded).__name__, loaded.iterations, loaded.dynamic_scale, loaded.step_counter) == \
        ("LossScaleOptimizer", 12, 2.0**17, 2)


def test_loss_scaling_skips_a_step_with_non_finite_gradients_and_halves_the_scale():
    """Keras's rule: an inf or NaN gradient skips the update and halves the scale; dynamic_growth_steps
    updates in a row double it."""
    w = sg.Tensor(np.ones(3, np.float32))
    optimizer = optimizers.LossScaleOptimizer(optimizers.SGD(0.5), initial_scale=8.0, dynamic_growth_steps=2)
    optimizer.apply_gradients([(np.array([8.0, np.inf, 8.0], np.float32), w)])
    np.testing.assert_array_equal(w.numpy(), 1.0)
    assert (optimizer.dynamic_scale, optimizer.step_counter, optimizer.iterations) == (4.0, 0, 0)
    optimizer.apply_gradients([(np.full(3, 4.0, np.float32), w)])  # a gradient of 1, unscaled
    np.testing.assert_array_equal(w.numpy(), 0.5)
    optimizer.apply_gradients([(np.full(3, 4.0, np.float32), w)])
    assert (optimizer.dynamic_scale, optimizer.step_counter, optimizer.iterations) == (8.0, 0, 2)
    assert optimizers.get(optimizers.serialize(optimizer)).get_config() == optimizer.get_config()
    with pytest.raises(ValueError, match="give it to the inner optimizer"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), clipnorm=1.0)


@pytest.mark.parametrize("make, error, match", [
    (lambda: optimizers.ScheduleFreeAdamW(beta_1=0.0), ValueError, "0 < beta_1 < 1"),
    (lambda: optimizers.LossScaleOptimizer(optimizers.LossScaleOptimizer(optimizers.SGD())), ValueError,
     "not another LossScaleOptimizer"),
    (lambda: optimizers.get({"class_name": "Bogus", "config": {}}), ValueError, "optimizer config is.*Bogus"),
    (lambda: optimizers.LossScaleOptimizer(optimizers.SGD()).set_state(
        {"iterations": 0, "slots": [], "dynamic_scale": 0}), ValueError, "dynamic_scale must be a positive number"),
])
def test_the_newer_optimizers_refuse_what_they_cannot_take(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_muon_takes_one_pattern_as_a_string():
    optimizer = optimizers.Muon(exclude_layers="dense")
    kernel = sg.Tensor(np.zeros((3, 2), np.float32))
    kernel.name = "dense/kernel"
    other = sg.Tensor(np.zeros((3, 2), np.float32))
    other.name = "conv_proj/kernel"
    assert optimizer.uses_adamw(kernel) and not optimizer.uses_adamw(other)  # not the letters d, e, n, s
