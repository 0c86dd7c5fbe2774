"""The tape (fast path) and the autograd graph must train to the same numbers."""
import numpy as np
import pytest

import scratchgrad as sg
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
}


def targets(kind, rng, n=12):
    if kind == "labels":
        return rng.integers(0, 3, n)
    if kind == "onehot":
        return np.eye(3)[rng.integers(0, 3, n)]
    if kind == "binary":
        return rng.integers(0, 2, n).astype(float)
    return rng.standard_normal((n, 2))


def train(name, fast, x, y, weights):
    build, loss, _ = ARCHITECTURES[name]
    sg.set_seed(3)
    sg.set_floatx("float64")
    try:
        model = Sequential([L.Input(shape=(4,))] + build())
    finally:
        sg.set_floatx("float32")
    model.fast_path = fast
    model.compile(optimizer=sg.optimizers.Adam(0.05), loss=loss)
    sg.set_seed(11)  # the same dropout masks on both paths
    losses = [model.train_on_batch(x, y, sample_weight=weights) for _ in range(3)]
    return model, losses


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_tape_and_graph_agree(name, weighted, rng):
    x = rng.standard_normal((12, 4))
    y = targets(ARCHITECTURES[name][2], rng)
    weights = rng.uniform(0.5, 2.0, 12) if weighted else None
    fast, fast_losses = train(name, True, x, y, weights)
    slow, slow_losses = train(name, False, x, y, weights)
    assert fast.dtype == np.float64
    np.testing.assert_allclose(fast_losses, slow_losses, rtol=1e-12)
    for a, b in zip(fast.get_weights(), slow.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_tape_is_used_when_possible_and_the_graph_otherwise():
    model = Sequential([L.Input(shape=(4,)), L.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.train_on_batch(np.ones((2, 4)), np.array([0, 1]))
    assert model._use_tape and model._flat is not None
    bn = Sequential([L.Input(shape=(4,)), L.BatchNormalization(), L.Dense(3, activation="softmax")])
    bn.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert sg.models.tape.build(bn.layers, training=True) is None


def test_float32_training_step_never_touches_float64(rng, monkeypatch):
    """Every array a float32 training step produces, on either path, is float32."""
    seen = set()
    original = sg.autograd.Function.__call__

    def spy(self, *inputs):
        out = original(self, *inputs)
        seen.add(out.dtype)
        return out

    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    for fast in (True, False):
        model = Sequential([L.Input(shape=(4,)), L.Dense(8, activation="relu", kernel_regularizer="l2"),
                            L.Dropout(0.2), L.Dense(3, activation="softmax")])
        model.fast_path = fast
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        monkeypatch.setattr(sg.autograd.Function, "__call__", spy)
        original_forward = {}
        for cls in (sg.functional.Linear, sg.functional.ReLU, sg.functional.Dropout, sg.functional.SoftmaxCrossEntropy):
            original_forward[cls] = cls.forward

            def checked(self, *arrays, _cls=cls):
                out = original_forward[_cls](self, *arrays)
                seen.add(np.asarray(out).dtype)
                return out

            monkeypatch.setattr(cls, "forward", checked)
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        monkeypatch.undo()
        assert all(w.dtype == np.float32 for w in model.weights)
        assert all(a.dtype == np.float32 for a in model.optimizer.get_state()["slots"][0].values())
    assert seen == {np.dtype(np.float32)}
