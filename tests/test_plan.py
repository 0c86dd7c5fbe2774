"""The step plan: a recorded training step replayed on raw arrays must train exactly as the autograd
graph does (compile(run_eagerly=True)), for frozen layers, changing batch sizes, dropout and batch norm."""
import itertools

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import compiled
from scratchgrad import layers as L
from scratchgrad.models import Sequential

ARCHITECTURES = {
    "relu_softmax_sparse": (lambda: [L.Dense(6, activation="relu"), L.Dense(3, activation="softmax")],
                            "sparse_categorical_crossentropy", "labels"),
    "tanh_softmax_onehot": (lambda: [L.Dense(6, activation="tanh"), L.Dense(3, activation="softmax")],
                            "categorical_crossentropy", "onehot"),
    "sigmoid_binary": (lambda: [L.Dense(5, activation="elu"), L.Dense(1, activation="sigmoid")],
                       "binary_crossentropy", "binary"),
    "linear_mse": (lambda: [L.Dense(5, activation="softplus"), L.Dense(2)], "mse", "real"),
    "mae_sse": (lambda: [L.Dense(5, activation="sigmoid"), L.Dense(2)], "sse", "real"),
    "dropout_l2_prelu": (lambda: [L.Dense(6, kernel_regularizer=sg.regularizers.L1L2(0.01, 0.02)), L.PReLU(),
                                  L.Dropout(0.3), L.Dense(3), L.Softmax()], "sparse_categorical_crossentropy", "labels"),
    "reshape_flatten_leaky": (lambda: [L.Reshape((2, 2)), L.Flatten(), L.Dense(4), L.LeakyReLU(0.2), L.Dense(3),
                                       L.Activation("softmax")], "sparse_categorical_crossentropy", "labels"),
    "probabilities_not_fused": (lambda: [L.Dense(3, activation="softmax")],
                                sg.losses.CategoricalCrossentropy(), "onehot"),
    "batchnorm": (lambda: [L.Dense(6), L.BatchNormalization(), L.ReLU(), L.Dense(3, activation="softmax")],
                  "sparse_categorical_crossentropy", "labels"),
}


def targets(kind, rng, n=12):
    if kind == "labels":
        return rng.integers(0, 3, n)
    if kind == "onehot":
        return np.eye(3)[rng.integers(0, 3, n)]
    if kind == "binary":
        return rng.integers(0, 2, n).astype(float)
    return rng.standard_normal((n, 2))


def float64_model(layers):
    sg.set_seed(3)
    sg.set_floatx("float64")
    try:
        return Sequential([L.Input(shape=layers[0] if isinstance(layers[0], tuple) else (4,))]
                          + [layer for layer in layers if not isinstance(layer, tuple)])
    finally:
        sg.set_floatx("float32")


def train(build, loss, eager, x, y, weights=None, frozen=(), batch_size=5):
    model = float64_model(build())
    for i in frozen:
        model.layers[i].trainable = False
    model.compile(optimizer=sg.optimizers.Adam(0.05), loss=loss, run_eagerly=eager)
    sg.set_seed(11)  # the same shuffles and dropout masks on both paths
    history = model.fit(x, y, sample_weight=weights, epochs=3, batch_size=batch_size, verbose=0)
    return model, history.history["loss"]


def assert_same_training(a, b):
    (model_a, losses_a), (model_b, losses_b) = a, b
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-12)
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_plan_equals_eager(name, weighted, rng):
    """12 samples in batches of 5: two plans (5 and the last batch of 2), replayed over 3 epochs."""
    build, loss, kind = ARCHITECTURES[name]
    x, y = rng.standard_normal((12, 4)), targets(kind, rng)
    weights = rng.uniform(0.5, 2.0, 12) if weighted else None
    planned = train(build, loss, False, x, y, weights)
    assert planned[0].dtype == np.float64 and len(planned[0]._plans) == 2
    assert_same_training(planned, train(build, loss, True, x, y, weights))


@pytest.mark.parametrize("layers", [
    lambda: [L.Input((4,), dtype="float64"), L.Dense(3, dtype="float32")],
    lambda: [L.Input((4,)), L.Dense(5, dtype="float64"), L.Dense(3, dtype="float32")]],
    ids=["float64 input", "float64 layer first"])
def test_a_float32_layer_after_float64_values_trains_in_the_plan_as_in_eager_mode(layers, rng):
    """Its kernel gradient comes out float64 and is cast into the float32 buffer (np.dot cannot write it)."""
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 3))
    results = []
    for eager in (False, True):
        sg.set_seed(3)
        model = sg.models.Sequential(layers())
        model.compile(optimizer="sgd", loss="mse", run_eagerly=eager)
        results.append((model, model.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"]))
    assert_same_training(*results)


def test_the_frozen_middle_layer_program_trains(rng):
    """The issue's program: freezing a middle layer used to die in the second training engine."""
    x, y = rng.standard_normal((30, 4)).astype(np.float32), rng.integers(0, 3, 30)
    m = Sequential([L.Dense(8, activation="relu", input_shape=(4,)), L.Dense(8, activation="relu"),
                    L.Dense(3, activation="softmax")])
    m.layers[1].trainable = False
    frozen = [w.numpy().copy() for w in m.layers[1].weights]
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(x, y, verbose=0)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(frozen, m.layers[1].weights))


@pytest.mark.parametrize("frozen", [s for n in range(1, 4) for s in itertools.combinations(range(3), n)])
def test_every_combination_of_frozen_layers(frozen, rng):
    build = ARCHITECTURES["relu_softmax_sparse"][0]
    layers = lambda: build()[:1] + [L.Dense(5, activation="tanh")] + build()[1:]  # noqa: E731
    x, y = rng.standard_normal((12, 4)), rng.integers(0, 3, 12)
    before = float64_model(layers()).get_weights()
    planned = train(layers, "sparse_categorical_crossentropy", False, x, y, frozen=frozen)
    assert_same_training(planned, train(layers, "sparse_categorical_crossentropy", True, x, y, frozen=frozen))
    model = planned[0]
    for i, layer in enumerate(model.layers):
        changed = [not np.array_equal(a, b) for a, b in zip(before[2 * i:2 * i + 2], layer.get_weights())]
        assert changed == [i not in frozen] * 2


def test_toggling_trainable_records_a_new_plan_and_keeps_the_optimizer_state(rng):
    x, y = rng.standard_normal((12, 4)), rng.integers(0, 3, 12)
    runs = []
    for eager in (False, True):
        model = float64_model(ARCHITECTURES["relu_softmax_sparse"][0]())
        model.compile(optimizer=sg.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", run_eagerly=eager)
        sg.set_seed(1)
        model.fit(x, y, epochs=2, batch_size=4, verbose=0)
        model.layers[0].trainable = False
        frozen = model.layers[0].get_weights()
        model.fit(x, y, epochs=1, batch_size=4, verbose=0)
        model.layers[0].trainable = True
        model.fit(x, y, epochs=1, batch_size=4, verbose=0)
        assert not np.array_equal(frozen[0], model.layers[0].kernel.numpy())
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_steps_after_the_first_replay_the_plan(rng, monkeypatch):
    recorded = []
    original = sg.trainer.Trainer._record_step
    monkeypatch.setattr(sg.trainer.Trainer, "_record_step", lambda self, *a: recorded.append(1) or original(self, *a))
    model = float64_model(ARCHITECTURES["batchnorm"][0]())
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(rng.standard_normal((12, 4)), rng.integers(0, 3, 12), epochs=4, batch_size=5, verbose=0)
    assert len(recorded) == 2  # one per batch shape, 12 steps in all
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.train_on_batch(rng.standard_normal((5, 4)), rng.integers(0, 3, 5))
    assert len(recorded) == 3  # compile() again starts afresh


def test_weights_stay_the_arrays_the_user_holds(rng):
    model = float64_model(ARCHITECTURES["relu_softmax_sparse"][0]())
    kernel = model.layers[0].kernel.data
    before = kernel.copy()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(rng.standard_normal((12, 4)), rng.integers(0, 3, 12), epochs=2, verbose=0)
    assert model.layers[0].kernel.data is kernel and not np.array_equal(kernel, before)


class DataDependent(L.Layer):
    """A layer whose control flow depends on the values: a plan recorded on one batch would be wrong."""

    def call(self, x, training=False):
        return x * 2.0 if float(x.sum().item()) > 0 else -x


def test_a_step_that_reads_values_is_never_replayed(rng):
    x = np.concatenate([np.ones((4, 4)), -np.ones((4, 4))])
    y = rng.integers(0, 3, 8)
    runs = []
    for eager in (False, True):
        model = float64_model([DataDependent(), L.Dense(3, activation="softmax")])
        model.compile(optimizer=sg.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", run_eagerly=eager)
        losses = [model.train_on_batch(x[i:i + 4], y[i:i + 4]) for i in (0, 4, 0, 4)]
        runs.append((losses, model.get_weights()))
        if not eager:
            assert len(model._plans) == 0
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-12)


def test_jit_compile_false_records_every_step(rng):
    model = float64_model(ARCHITECTURES["relu_softmax_sparse"][0]())
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=False)
    model.fit(rng.standard_normal((12, 4)), rng.integers(0, 3, 12), epochs=2, verbose=0)
    assert len(model._plans) == 0


def test_float32_training_step_never_touches_float64(rng, monkeypatch):
    """Every array a float32 training step produces, recorded or replayed, is float32."""
    seen = set()
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    for cls in (sg.functional.Linear, sg.functional.ReLU, sg.functional.Dropout, sg.functional.SoftmaxCrossEntropy,
                sg.ops.Add, sg.ops.Mul, sg.ops.Sum):
        def checked(self, *arrays, _forward=cls.forward):
            out = _forward(self, *arrays)
            seen.add(np.asarray(out).dtype)
            return out

        monkeypatch.setattr(cls, "forward", checked)
    model = Sequential([L.Input(shape=(4,)), L.Dense(8, activation="relu", kernel_regularizer="l2"),
                        L.Dropout(0.2), L.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=8, sample_weight=np.ones(16), verbose=0)
    assert all(w.dtype == np.float32 for w in model.weights)
    assert all(a.dtype == np.float32 for s in model.optimizer.get_state()["slots"] for a in s.values())
    assert seen == {np.dtype(np.float32)}


# ---- ReLU then MaxPool2D replayed as one MaxPool2DReLU (the pool, then the ReLU) ------------------------
def conv_model(second_user, dtype, pool=lambda: L.MaxPooling2D(2, padding="same")):
    """Conv2D(relu) into MaxPooling2D; with `second_user` the ReLU's output also feeds a second branch."""
    sg.set_seed(3)
    inputs = L.Input(shape=(7, 7, 2), dtype=dtype)
    features = L.Conv2D(3, 3, activation="relu", padding="same", dtype=dtype)(inputs)
    pooled = L.Flatten()(pool()(features))  # 2×2 on 7×7 "same": the last windows padded
    if second_user:
        pooled = L.Concatenate()([pooled, L.Flatten()(features)])
    return sg.Model(inputs, L.Dense(3, activation="softmax", dtype=dtype)(pooled))


def train_conv(second_user, eager, dtype, **pool):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 7, 7, 2)).astype(dtype), rng.integers(0, 3, 12)
    return fit_small(conv_model(second_user, dtype, **pool), x, y, eager)


def fit_small(model, x, y, eager):
    """(model, losses) after 3 epochs of Adam(0.05) in batches of 5 (shuffled from seed 11)."""
    model.compile(optimizer=sg.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", run_eagerly=eager)
    sg.set_seed(11)
    return model, model.fit(x, y, epochs=3, batch_size=5, verbose=0).history["loss"]


def plan_ops(model, *types):
    """The names of the model's (first) plan's ops of these types, in order."""
    plan = next(iter(model._plans.values()))
    return [type(fn).__name__ for fn, *_ in plan.steps if type(fn) in types]


def assert_trained_alike(planned, eager):
    """(model, losses) pairs: the same losses and the same weights, bit for bit."""
    assert planned[1] == eager[1]
    for a, b in zip(planned[0].get_weights(), eager[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def op_order(model):
    from scratchgrad.convolution import MaxPool2D, MaxPool2DReLU
    from scratchgrad.functional import ReLU

    return plan_ops(model, ReLU, MaxPool2D, MaxPool2DReLU)


@pytest.mark.parametrize("kernels", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_relu_then_a_pool_is_replayed_as_one_fused_op_to_the_same_bits(dtype, kernels):
    if kernels and not compiled.enabled():
        pytest.skip("numba is not installed or kernels are off")
    with compiled.using(kernels):
        planned, eager = train_conv(False, False, dtype), train_conv(False, True, dtype)
    assert op_order(planned[0]) == ["MaxPool2DReLU"]
    assert_trained_alike(planned, eager)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_each_relu_pool_pair_of_a_convnet_is_fused_and_trains_as_the_eager_step(data_format):
    """Two pairs in one plan, the second pool with gaps between its windows (strides 2, size 1)."""
    def train(eager):
        sg.set_seed(4)
        rng = np.random.default_rng(1)
        shape = (9, 9, 2) if data_format == "channels_last" else (2, 9, 9)
        x, y = rng.standard_normal((12, *shape)).astype("float32"), rng.integers(0, 3, 12)
        model = Sequential([L.Input(shape=shape),
                            L.Conv2D(3, 3, activation="relu", padding="same", data_format=data_format),
                            L.MaxPooling2D(2, data_format=data_format),
                            L.Conv2D(4, 2, activation="relu", data_format=data_format),
                            L.MaxPooling2D(1, strides=2, data_format=data_format),
                            L.Flatten(), L.Dense(3, activation="softmax")])
        model.compile(optimizer=sg.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", run_eagerly=eager)
        model.fit(x, y, epochs=3, batch_size=5, verbose=0)
        return model
    planned, eager = train(False), train(True)
    assert op_order(planned) == ["MaxPool2DReLU", "MaxPool2DReLU"]
    for a, b in zip(planned.get_weights(), eager.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_relu_with_another_user_keeps_its_place():
    planned, eager = train_conv(True, False, "float64"), train_conv(True, True, "float64")
    assert op_order(planned[0]) == ["ReLU", "MaxPool2D"]
    for a, b in zip(planned[0].get_weights(), eager[0].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_overlapping_pools_keep_their_place_after_the_relu():
    """With overlapping windows a pixel's gradient sums several windows' and the two orders could give zeros of
    opposite signs: not rewritten."""
    overlapping = dict(pool=lambda: L.MaxPooling2D(3, strides=2))
    planned, eager = (train_conv(False, eager, "float64", **overlapping) for eager in (False, True))
    assert op_order(planned[0]) == ["ReLU", "MaxPool2D"]
    for a, b in zip(planned[0].get_weights(), eager[0].get_weights()):
        np.testing.assert_array_equal(a, b)


# ---- Dense(relu): Linear then ReLU replayed as one LinearReLU --------------------------------------------
def dense_relu_model(dtype, second_user=False):
    """Dense then ReLU into a Dense; with `second_user` the Dense's output also feeds the last layer."""
    sg.set_seed(3)
    inputs = L.Input(shape=(4,), dtype=dtype)
    hidden = L.Dense(6, dtype=dtype)(inputs)
    features = L.ReLU(dtype=dtype)(hidden)
    if second_user:
        features = L.Concatenate()([features, hidden])
    return sg.Model(inputs, L.Dense(3, activation="softmax", dtype=dtype)(features))


def train_dense(eager, dtype, second_user=False):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 4)).astype(dtype), rng.integers(0, 3, 12)
    return fit_small(dense_relu_model(dtype, second_user), x, y, eager)


def linear_ops(model):
    from scratchgrad.functional import Linear, LinearReLU, ReLU

    return plan_ops(model, Linear, LinearReLU, ReLU)


@pytest.mark.parametrize("kernels", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_linear_then_a_relu_is_replayed_as_one_fused_op_to_the_same_bits(dtype, kernels):
    if kernels and not compiled.enabled():
        pytest.skip("numba is not installed or kernels are off")
    with compiled.using(kernels):
        planned, eager = train_dense(False, dtype), train_dense(True, dtype)
    assert linear_ops(planned[0]) == ["LinearReLU", "Linear"]
    assert_trained_alike(planned, eager)


def test_a_linear_whose_output_has_another_user_keeps_its_relu_apart():
    planned, eager = train_dense(False, "float64", second_user=True), train_dense(True, "float64", second_user=True)
    assert linear_ops(planned[0]) == ["Linear", "ReLU", "Linear"]
    for a, b in zip(planned[0].get_weights(), eager[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_fused_op_writes_its_weights_gradients_straight_into_the_optimizer_s_buffers():
    """As every op that is a weight's one user (StepPlan._bind): fused after the recorded step was bound."""
    from scratchgrad.functional import LinearReLU

    model = train_dense(False, "float32")[0]
    fused = [fn for fn, *_ in next(iter(model._plans.values())).steps if type(fn) is LinearReLU]
    buffers = model.optimizer.gradient_buffers(model.trainable_weights)
    assert len(fused) == 1 and fused[0].grad_buffers[1] is buffers[0] and fused[0].grad_buffers[2] is buffers[1]


def test_a_function_whose_backward_returns_a_namedtuple_trains_in_the_plan_as_in_eager_mode(rng):
    import collections

    from scratchgrad.autograd import Function

    grads = collections.namedtuple("Grads", "gx gw")

    class Scale(Function):
        def forward(self, x, w):
            self.x, self.w = x, w
            return x * w

        def backward(self, gy):
            return grads(gy * self.w, (gy * self.x).sum(axis=0))

    class ScaleLayer(L.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return Scale()(x, self.w)

    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 3))
    trained = []
    for eager in (False, True):
        model = Sequential([L.Input(shape=(3,)), ScaleLayer()])
        model.compile(optimizer="sgd", loss="mse", run_eagerly=eager)
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)  # steps 2 and 3 replay the plan
        trained.append(model.get_weights()[0])
    np.testing.assert_array_equal(*trained)
    assert not np.allclose(trained[0], 1.0)
