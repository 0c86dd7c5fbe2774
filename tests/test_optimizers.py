"""Each optimizer against a plain NumPy transcription of its published (Keras 3) formula."""
import math

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import functional as F
from scratchgrad import optimizers


def reference(name, w, grads_fn, steps, lr, **h):
    """The formulas written out naively, one parameter, float64 arithmetic in the given dtype."""
    w = w.copy()
    s = {k: np.zeros_like(w) for k in ("m", "v", "a")}
    s["a"] += h.get("initial_accumulator_value", 0.1)
    for t in range(1, steps + 1):
        g = grads_fn(w)
        if name == "sgd":
            w = w - lr * g
        elif name in ("momentum", "nesterov"):
            mu = h.get("momentum", 0.9)
            s["m"] = mu * s["m"] - lr * g
            w = w + (mu * s["m"] - lr * g if name == "nesterov" else s["m"])
        elif name == "adagrad":
            s["a"] = s["a"] + g * g
            w = w - lr * g / np.sqrt(s["a"] + 1e-7)
        elif name == "rmsprop":
            s["v"] = 0.9 * s["v"] + 0.1 * g * g
            w = w - lr * g / np.sqrt(s["v"] + 1e-7)
        elif name in ("adam", "adamw"):
            if name == "adamw":
                w = w - w * 0.004 * lr
            s["m"] = s["m"] + (g - s["m"]) * 0.1
            s["v"] = s["v"] + (g * g - s["v"]) * 0.001
            alpha = lr * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            w = w - alpha * s["m"] / (np.sqrt(s["v"]) + 1e-7)
    return w


MAKE = {
    "sgd": lambda lr: optimizers.SGD(lr),
    "momentum": lambda lr: optimizers.Momentum(lr),
    "nesterov": lambda lr: optimizers.SGD(lr, momentum=0.9, nesterov=True),
    "adagrad": lambda lr: optimizers.Adagrad(lr),
    "rmsprop": lambda lr: optimizers.RMSprop(lr),
    "adam": lambda lr: optimizers.Adam(lr),
    "adamw": lambda lr: optimizers.AdamW(lr),
}
A = np.diag([0.5, 2.0, 1.0])


def quadratic_grad(w):
    return A @ w  # f(w) = ½ wᵀAw


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-6), ("float64", 1e-12)])
@pytest.mark.parametrize("name", sorted(MAKE))
def test_three_steps_on_a_quadratic(name, dtype, tol):
    w0 = np.array([1.0, -2.0, 0.5], dtype=dtype)
    p = sg.Tensor(w0.copy(), dtype=dtype, requires_grad=True)
    opt = MAKE[name](0.1)
    for _ in range(3):
        (0.5 * p * (p @ sg.Tensor(A, dtype=dtype))).sum().backward()  # ½ wᵀAw
        opt.step([p])
        opt.zero_grad([p])
    expected = reference(name, w0.astype(np.float64), quadratic_grad, 3, 0.1)
    np.testing.assert_allclose(p.data, expected, rtol=tol, atol=tol)
    assert p.data.dtype == np.dtype(dtype)


def small_net_loss(params, x, t):
    W1, b1, W2, b2 = params
    return F.cross_entropy(F.linear(F.tanh(F.linear(x, W1, b1)), W2, b2), t)


@pytest.mark.parametrize("name", sorted(MAKE))
def test_three_steps_on_a_small_net(name, rng):
    shapes = [(4, 5), (5,), (5, 3), (3,)]
    init = [rng.standard_normal(s) * 0.5 for s in shapes]
    x, t = sg.Tensor(rng.standard_normal((8, 4)), dtype="float64"), rng.integers(0, 3, 8)
    params = [sg.Tensor(a.copy(), dtype="float64", requires_grad=True) for a in init]
    opt = MAKE[name](0.05)
    trajectories = []
    for _ in range(3):
        small_net_loss(params, x, t).backward()
        grads = [p.grad.copy() for p in params]
        opt.step(params)
        opt.zero_grad(params)
        trajectories.append(grads)
    # replay the same gradients through the reference, one parameter at a time
    for i, a in enumerate(init):
        sequence = iter(step[i] for step in trajectories)
        expected = reference(name, a, lambda w: next(sequence), 3, 0.05)
        np.testing.assert_allclose(params[i].data, expected, rtol=1e-12, atol=1e-12)


def test_state_export_and_import_resume_identically(rng):
    def run(opt, p, steps):
        for _ in range(steps):
            (p * p * p).sum().backward()
            opt.step([p])
            opt.zero_grad([p])

    w0 = rng.standard_normal(5)
    a = sg.Tensor(w0.copy(), dtype="float64", requires_grad=True)
    run(optimizers.Adam(0.01), a, 6)

    b = sg.Tensor(w0.copy(), dtype="float64", requires_grad=True)
    first = optimizers.Adam(0.01)
    run(first, b, 3)
    state = first.get_state()
    resumed = optimizers.Adam(0.01)
    resumed.set_state(state)
    run(resumed, b, 3)
    np.testing.assert_array_equal(a.data, b.data)


def test_apply_gradients_keras_style():
    p = sg.Tensor([1.0, 2.0], requires_grad=True)
    opt = optimizers.SGD(learning_rate=0.5)
    opt.apply_gradients(zip([np.array([1.0, 1.0], dtype=np.float32)], [p]))
    np.testing.assert_allclose(p.data, [0.5, 1.5])
    opt.apply_gradients([(sg.Tensor([2.0, 0.0]), p)])
    np.testing.assert_allclose(p.data, [-0.5, 1.5])


def test_updates_are_in_place():
    p = sg.Tensor(np.ones(4), requires_grad=True)
    buffer = p.data
    opt = optimizers.Adam()
    for _ in range(2):
        (p * p).sum().backward()
        opt.step([p])
        opt.zero_grad([p])
    assert p.data is buffer and p.grad is None


def test_clipping():
    p = sg.Tensor([0.0, 0.0], dtype="float64", requires_grad=True)
    optimizers.SGD(1.0, clipnorm=1.0).apply_gradients([(np.array([3.0, 4.0]), p)])
    np.testing.assert_allclose(p.data, [-0.6, -0.8])
    q = sg.Tensor([0.0, 0.0], dtype="float64", requires_grad=True)
    optimizers.SGD(1.0, clipvalue=0.5).apply_gradients([(np.array([3.0, -0.2]), q)])
    np.testing.assert_allclose(q.data, [-0.5, 0.2])


def test_weight_decay_is_decoupled():
    p = sg.Tensor([2.0], dtype="float64", requires_grad=True)
    optimizers.SGD(0.1, weight_decay=0.5).apply_gradients([(np.array([1.0]), p)])
    np.testing.assert_allclose(p.data, [2.0 - 0.1 * 0.5 * 2.0 - 0.1])


@pytest.mark.parametrize("fused", [True, False])
def test_weights_excluded_from_weight_decay_take_the_update_only(fused):
    model = sg.Sequential([sg.layers.Input((2,)), sg.layers.Dense(3), sg.layers.Dense(1)])
    kernel, bias, kernel2, bias2 = model.trainable_weights
    before = [p.data.copy() for p in model.trainable_weights]
    opt = optimizers.SGD(0.1, weight_decay=0.5, fused=fused)
    opt.exclude_from_weight_decay(var_list=[kernel2], var_names=["bias"])
    grads = [np.full(p.shape, 0.25, np.float32) for p in model.trainable_weights]
    opt.apply_gradients(zip(grads, model.trainable_weights))
    np.testing.assert_allclose(kernel.data, before[0] * (1 - 0.1 * 0.5) - 0.1 * 0.25, rtol=1e-6)
    for p, w in zip((bias, kernel2, bias2), before[1:]):
        np.testing.assert_allclose(p.data, w - 0.1 * 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["kernel"])


def test_var_names_match_a_weight_s_own_name_and_unnamed_weights_decay():
    model = sg.Sequential([sg.layers.Input((2,)), sg.layers.Dense(3, name="dense")])
    loose = sg.Tensor(np.ones(2, np.float32), requires_grad=True)  # no name
    weights = [*model.trainable_weights, loose]
    before = [p.data.copy() for p in weights]
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["dense"])  # the layer's name: not the weights' own
    opt.apply_gradients((np.zeros(p.shape, np.float32), p) for p in weights)
    for p, w in zip(weights, before):
        np.testing.assert_allclose(p.data, w * (1 - 0.1 * 0.5), rtol=1e-6)


def test_only_one_clipping_option_at_a_time_as_in_keras():
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm.*clipvalue=0.1"):
        optimizers.SGD(clipnorm=0.5, clipvalue=0.1)


@pytest.mark.parametrize("schedule,expected", [
    (optimizers.ExponentialDecay(1.0, decay_steps=2, decay_rate=0.5), [1.0, 0.5**0.5, 0.5]),
    (optimizers.ExponentialDecay(1.0, decay_steps=2, decay_rate=0.5, staircase=True), [1.0, 1.0, 0.5]),
    (optimizers.StepDecay(1.0, step_size=2, gamma=0.1), [1.0, 1.0, 0.1]),
    (optimizers.CosineDecay(1.0, decay_steps=2), [1.0, 0.5, 0.0]),
    (lambda step: 1.0 / (step + 1), [1.0, 0.5, 1 / 3]),
])
def test_learning_rate_schedules_follow_the_step(schedule, expected):
    p = sg.Tensor([0.0], dtype="float64", requires_grad=True)
    opt = optimizers.SGD(learning_rate=schedule)
    seen = []
    for _ in range(3):
        seen.append(opt.learning_rate)
        opt.apply_gradients([(np.array([1.0]), p)])
    np.testing.assert_allclose(seen, expected, atol=1e-12)
    np.testing.assert_allclose(p.data, [-sum(expected)])


def test_names_and_bad_values():
    assert isinstance(optimizers.get("rmsprop"), optimizers.RMSprop)
    assert optimizers.get("momentum").momentum == 0.9
    with pytest.raises(ValueError, match="adadelta, adafactor, adagrad, adam, adamax, adamw, ftrl, lamb, lion, "
                                         "momentum, muon, nadam, rmsprop, schedulefreeadamw, sgd"):
        optimizers.get("adamaxx")
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="learning_rate"):
            optimizers.SGD(learning_rate=bad)
    with pytest.raises(TypeError, match="unexpected"):
        optimizers.Adam(lr=0.1)


def test_config_round_trip():
    opt = optimizers.RMSprop(learning_rate=optimizers.ExponentialDecay(0.1, 10, 0.9), rho=0.8, clipnorm=2.0)
    clone = optimizers.get(optimizers.serialize(opt))
    assert isinstance(clone, optimizers.RMSprop) and clone.rho == 0.8 and clone.clipnorm == 2.0
    assert clone.learning_rate == opt.learning_rate
