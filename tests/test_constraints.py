"""Weight constraints: Keras's numbers, configs, and the weights they hold after each update."""
import os

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import constraints as C
from scratchgrad import layers as L

REFERENCE = np.load(os.path.join(os.path.dirname(__file__), "keras_reference", "constraints.npz"))
CASES = {  # as tests/keras_reference/make_constraints_reference.py made Keras's
    "max_norm": (C.MaxNorm(2.0, axis=0), "w"),
    "max_norm_filters": (C.MaxNorm(1.5, axis=[0, 1, 2]), "w4"),
    "min_max_norm": (C.MinMaxNorm(0.5, 1.5, rate=0.7, axis=0), "w"),
    "non_neg": (C.NonNeg(), "w"),
    "unit_norm": (C.UnitNorm(axis=1), "w"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_constraint_gives_keras_s_numbers(name):
    constraint, weight = CASES[name]
    out = constraint(REFERENCE[weight])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, REFERENCE[name], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("cls", [cls for cls in C.CLASSES.values() if cls is not C.Constraint])
def test_a_constraint_s_config_round_trips_and_names_find_it(cls):
    constraint = cls.from_config(cls().get_config())
    assert type(constraint) is cls and constraint.get_config() == cls().get_config()
    again = C.get(C.serialize(constraint))
    assert type(again) is cls and again.get_config() == constraint.get_config()
    assert type(C.get(cls.__name__)) is cls
    snake = {v: k for k, v in C.CONSTRAINTS.items()}[cls]
    assert type(C.get(snake)) is cls


def test_an_unknown_constraint_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="MaxNorm.*max_norm"):
        C.get("maxnorm2")


def constrained_model():
    return sg.models.Sequential([
        L.Input((6,)), L.Dense(8, activation="relu", kernel_constraint=C.MaxNorm(0.5), bias_constraint="non_neg"),
        L.LayerNormalization(gamma_constraint=C.UnitNorm()), L.Dense(3, kernel_constraint="non_neg")])


@pytest.mark.parametrize("eager", [False, True])
def test_constrained_weights_hold_their_constraint_after_every_update(eager):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 6)).astype("float32") * 5, rng.integers(0, 3, 64)
    model = constrained_model()
    model.compile(optimizer=sg.optimizers.Adam(0.1), loss=sg.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=eager)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    kernel, bias, gamma, _, kernel2, _ = model.get_weights()
    assert np.sqrt((kernel ** 2).sum(axis=0)).max() <= 0.5 + 1e-6  # each unit's incoming weights
    assert bias.min() >= 0 and kernel2.min() >= 0
    np.testing.assert_allclose(np.linalg.norm(gamma), 1, rtol=1e-5)


def test_the_plan_and_the_eager_step_apply_constraints_alike():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((32, 6)).astype("float32") * 5, rng.integers(0, 3, 32)
    weights = []
    for eager in (False, True):
        sg.set_seed(2)
        model = constrained_model()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=eager)
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


LAYERS = {
    "Dense": (lambda c: L.Dense(3, kernel_constraint=c, bias_constraint=c), (2, 4), ("kernel", "bias")),
    "Conv2D": (lambda c: L.Conv2D(2, 3, kernel_constraint=c, bias_constraint=c), (2, 5, 5, 1), ("kernel", "bias")),
    "DepthwiseConv2D": (lambda c: L.DepthwiseConv2D(3, depthwise_constraint=c, bias_constraint=c), (2, 5, 5, 2),
                        ("depthwise", "bias")),
    "Embedding": (lambda c: L.Embedding(10, 3, embeddings_constraint=c), (2, 4), ("embeddings",)),
    "LSTM": (lambda c: L.LSTM(2, kernel_constraint=c, recurrent_constraint=c, bias_constraint=c), (2, 3, 4),
             ("kernel", "recurrent", "bias")),
    "LayerNormalization": (lambda c: L.LayerNormalization(beta_constraint=c, gamma_constraint=c), (2, 4),
                           ("beta", "gamma")),
}


@pytest.mark.parametrize("name", LAYERS)
def test_a_layer_keeps_its_constraints_in_its_config_and_on_its_weights(name):
    make, shape, roles = LAYERS[name]
    layer = make(C.MaxNorm(1.5))
    layer(np.ones(shape, np.int64 if name == "Embedding" else np.float32))
    config = layer.get_config()
    assert all(config[f"{role}_constraint"] == {"class_name": "MaxNorm", "config": {"max_value": 1.5, "axis": 0}}
               for role in roles)
    rebuilt = type(layer).from_config(config)
    rebuilt(np.ones(shape, np.int64 if name == "Embedding" else np.float32))
    for w in rebuilt.trainable_weights:
        assert isinstance(w.constraint, C.MaxNorm) and w.constraint.max_value == 1.5


def test_multi_head_attention_constrains_every_projection():
    mha = L.MultiHeadAttention(2, 3, kernel_constraint="non_neg")
    x = np.ones((1, 4, 5), np.float32)
    mha(x, x)
    kernels = [w for w in mha.trainable_weights if w.name.endswith("kernel")]
    assert len(kernels) == 4 and all(isinstance(w.constraint, C.NonNeg) for w in kernels)
    assert L.MultiHeadAttention.from_config(mha.get_config()).kernel_constraint.get_config() == {}


def test_a_constraint_class_is_made_an_instance_as_keras_does():
    layer = L.Dense(2, kernel_constraint=C.NonNeg)
    assert isinstance(layer.kernel_constraint, C.NonNeg)
    assert layer.get_config()["kernel_constraint"] == {"class_name": "NonNeg", "config": {}}
    assert isinstance(C.get({"class_name": "max_norm"}), C.MaxNorm)


def test_constraints_apply_at_every_call_after_the_moving_averages_as_keras_s_optimizers():
    """Keras constrains at each apply() (accumulating calls too) and after the EMA overwrite."""
    w = sg.layers.Dense(3, kernel_constraint=C.UnitNorm())
    w.build((None, 4))
    kernel = w.kernel
    kernel.data[...] = np.arange(12, dtype=np.float32).reshape(4, 3)  # far from unit columns
    opt = sg.optimizers.SGD(0.1, gradient_accumulation_steps=2)
    opt.apply([np.ones((4, 3), np.float32)], [kernel])  # accumulates only
    np.testing.assert_allclose(np.linalg.norm(kernel.data, axis=0), 1, rtol=1e-6)
    opt = sg.optimizers.SGD(0.1, use_ema=True, ema_overwrite_frequency=2)
    for _ in range(2):
        opt.apply([np.ones((4, 3), np.float32)], [kernel])
    np.testing.assert_allclose(np.linalg.norm(kernel.data, axis=0), 1, rtol=1e-6)  # the overwrite, constrained
