"""MultiHeadAttention, Attention and AdditiveAttention against Keras 3: shapes, parameter counts, outputs
and attention scores with every kind of mask (Keras's numbers in keras_reference/attention_reference.npz,
made by make_attention_reference.py), gradients, dropout, configs and training in a functional model."""
import json
from pathlib import Path

import numpy as np
import pytest
from test_registries import assert_plan_equals_eager, float64

import scratchgrad as sg
from scratchgrad import layers as L

REFERENCE = np.load(Path(__file__).parent / "keras_reference" / "attention_reference.npz")
CASES = json.loads(str(REFERENCE["spec"]))["cases"]


def call_case(layer, arrays, flags):
    """Call `layer` as the reference script called Keras's: MultiHeadAttention with tensors and masks as
    arguments, the others on [query, value(, key)] with mask=[query_mask, value_mask]."""
    masks = {k: v for k, v in arrays.items() if k.endswith("_mask")}
    if isinstance(layer, L.MultiHeadAttention):
        return layer(arrays["query"], arrays["value"], key=arrays.get("key"), **masks, **flags)
    inputs = [arrays[k] for k in ("query", "value", "key") if k in arrays]
    return layer(inputs, mask=[masks.get("query_mask"), masks.get("value_mask")] if masks else None, **flags)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_scores_match_keras(case):
    spec = CASES[case]
    arrays = {k.split("/")[-1]: REFERENCE[k] for k in REFERENCE.files if k.startswith(f"{case}/in/")}
    weights = [REFERENCE[f"{case}/w{i}"] for i in range(sum(k.startswith(f"{case}/w") for k in REFERENCE.files))]
    layer = getattr(L, spec["layer"])(**spec["config"])
    call_case(layer, arrays, spec["call"])
    layer.set_weights(weights)  # shapes and order as Keras's get_weights(), or this raises
    result = call_case(layer, arrays, spec["call"])
    output, scores = result if spec["call"].get("return_attention_scores") else (result, None)
    np.testing.assert_allclose(output.numpy(), REFERENCE[f"{case}/output"], rtol=1e-5, atol=1e-5)
    if scores is not None:
        np.testing.assert_allclose(scores.numpy(), REFERENCE[f"{case}/scores"], rtol=1e-5, atol=1e-6)


def test_reference_covers_every_mask_and_the_causal_mask():
    given = {k.split("/")[-1] for k in REFERENCE.files if "/in/" in k}
    assert {"query_mask", "value_mask", "key_mask", "attention_mask"} <= given
    assert any(spec["call"].get("use_causal_mask") for spec in CASES.values())


def test_a_fully_masked_row_attends_to_nothing_in_multi_head_attention_and_uniformly_in_attention():
    """Keras: MultiHeadAttention zeroes masked probabilities (the output is then the output bias);
    Attention only lowers masked scores, so a row with nothing to attend to is uniform."""
    mha, attention = REFERENCE["mha_value_mask/scores"][1], REFERENCE["attention_masks/scores"][1]
    np.testing.assert_array_equal(mha, 0)
    np.testing.assert_allclose(attention, 1 / attention.shape[-1], rtol=1e-6)


# ---- shapes and parameter counts ---------------------------------------------------------------------
def test_multi_head_attention_shapes_and_parameter_count_as_keras(rng):
    layer = L.MultiHeadAttention(num_heads=4, key_dim=8)
    x = rng.standard_normal((2, 10, 16)).astype(np.float32)
    out, scores = layer(x, x, return_attention_scores=True)
    assert out.shape == (2, 10, 16) and scores.shape == (2, 4, 10, 10)
    assert layer.count_params() == 2160  # Keras's
    assert out.dtype == np.float32 and scores.dtype == np.float32


def test_value_dim_output_shape_key_and_lengths(rng):
    layer = L.MultiHeadAttention(2, 3, value_dim=5, output_shape=(2, 3), use_bias=False)
    query, value, key = (rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 6), (2, 7, 4), (2, 7, 2)))
    out, scores = layer(query, value, key, return_attention_scores=True)
    assert out.shape == (2, 4, 2, 3) and scores.shape == (2, 2, 4, 7)
    assert [w.shape for w in layer.weights] == [(6, 2, 3), (2, 2, 3), (4, 2, 5), (2, 5, 2, 3)]
    assert layer.count_params() == 148  # Keras's
    assert layer.compute_output_shape((None, 4, 6), (None, 7, 4)) == (None, 4, 2, 3)
    assert L.MultiHeadAttention(2, 3, output_shape=5)(query, value).shape == (2, 4, 5)


def test_attention_layers_shapes_and_weights(rng):
    query, value = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 6, 4))
    dot = L.Attention()
    out, scores = dot([query, value], return_attention_scores=True)
    assert out.shape == (2, 3, 4) and scores.shape == (2, 3, 6) and dot.weights == []
    concat = L.Attention(use_scale=True, score_mode="concat")
    concat([query, value])
    assert [w.name.split("/")[-1] for w in concat.weights] == ["scale", "concat_score_weight"]  # Keras's order
    additive = L.AdditiveAttention()
    assert additive([query, value, value]).shape == (2, 3, 4) and additive.count_params() == 4


# ---- gradients, dropout ------------------------------------------------------------------------------
def test_multi_head_attention_gradients_with_masks_and_dropout(rng):
    layer = float64(lambda: L.MultiHeadAttention(2, 2, value_dim=3, dropout=0.3, output_shape=2))
    query, value = (sg.Tensor(rng.standard_normal(s), dtype="float64", requires_grad=True) for s in ((2, 3, 4),
                                                                                                     (2, 4, 3)))
    value_mask = np.array([[1, 1, 0, 1], [0, 0, 0, 0]], bool)
    attention_mask = rng.random((2, 3, 4)) < 0.8

    def forward(q, v, *weights):
        sg.set_seed(5)  # the same dropout mask at every evaluation
        return layer(q, v, value_mask=value_mask, attention_mask=attention_mask, use_causal_mask=True,
                     training=True)

    forward(query, value)
    # the key bias adds the same q·b to a query's every score, which softmax ignores: its gradient is 0
    # (in Keras too), and a numerical 0 is all rounding noise, so it is checked apart
    weights = [w for w in layer.trainable_weights if w is not layer.key_bias]
    assert sg.gradcheck(forward, query, value, *weights)
    forward(query, value).sum().backward()
    np.testing.assert_allclose(layer.key_bias.grad, 0, atol=1e-12)


@pytest.mark.parametrize("make", [lambda: L.Attention(use_scale=True, score_mode="concat", dropout=0.2),
                                  lambda: L.AdditiveAttention()], ids=["Attention", "AdditiveAttention"])
def test_attention_gradients_with_masks(make, rng):
    layer = float64(make)
    query, value, key = (sg.Tensor(rng.standard_normal((2, 3, 4)), dtype="float64", requires_grad=True)
                         for _ in range(3))
    # no row fully masked: there Keras's scores - 1e9 keeps them only to float64's rounding at 1e9
    mask = [np.array([[1, 0, 1], [1, 1, 1]]), np.array([[1, 1, 0], [1, 0, 1]])]

    def forward(q, v, k, *weights):
        sg.set_seed(5)
        return layer([q, v, k], mask=mask, use_causal_mask=True, training=True)

    forward(query, value, key)
    assert sg.gradcheck(forward, query, value, key, *layer.trainable_weights)


def test_dropout_acts_on_the_probabilities_only_in_training(rng):
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    layer, plain = L.MultiHeadAttention(2, 3, dropout=0.5), L.MultiHeadAttention(2, 3)
    plain(x, x)
    layer(x, x)
    layer.set_weights(plain.get_weights())
    np.testing.assert_array_equal(layer(x, x, training=False).numpy(), plain(x, x).numpy())
    out, scores = layer(x, x, training=True, return_attention_scores=True)
    assert not np.allclose(out.numpy(), plain(x, x).numpy())
    np.testing.assert_allclose(scores.numpy().sum(-1), 1, rtol=1e-6)  # Keras returns them before dropout
    attention = L.Attention(dropout=0.5)
    np.testing.assert_array_equal(attention([x, x], training=False).numpy(), L.Attention()([x, x]).numpy())
    _, dropped = attention([x, x], training=True, return_attention_scores=True)
    assert np.any(dropped.numpy() == 0)  # Keras returns Attention's weights after dropout


def test_a_seed_gives_a_reproducible_sequence_of_dropout_masks(rng):
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    runs = []
    for _ in range(2):
        layer = L.Attention(dropout=0.5, seed=7)
        runs.append([layer([x, x], training=True).numpy() for _ in range(2)])
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert not np.array_equal(runs[0][0], runs[0][1])


# ---- configs and arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: L.MultiHeadAttention(2, 3, value_dim=4, dropout=0.1, output_shape=(5,), use_bias=False,
                                 kernel_initializer="he_normal", kernel_regularizer="l2", sliding_window=2),
    lambda: L.Attention(use_scale=True, score_mode="concat", dropout=0.2, seed=3),
    lambda: L.AdditiveAttention(use_scale=False)])
def test_config_round_trip(make, rng):
    layer = make()
    x = rng.standard_normal((2, 3, 5)).astype(np.float32)
    call = (lambda m: m(x, x)) if isinstance(layer, L.MultiHeadAttention) else (lambda m: m([x, x]))
    expected = call(layer).numpy()
    clone = type(layer).from_config(json.loads(json.dumps(layer.get_config())))  # as saved to a file
    call(clone)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(call(clone).numpy(), expected)


def test_keras_config_values_are_accepted():
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=[1], use_gate=False, sliding_window=None)
    assert layer.get_config()["attention_axes"] == (1,)
    assert "score_mode" not in L.AdditiveAttention().get_config()


def test_group_query_attention_takes_keras_s_config_and_shares_each_key_and_value_head(rng):
    """Keras 3.15's config of GroupQueryAttention(2, 4, 2), and its parameter count on 4 features: query 4·4·2
    + 4·2, key and value 4·2·2 + 2·2 each, output 4·2·4 + 4 (twice the key and value heads: 4 more each)."""
    config = {"name": "gqa", "trainable": True, "dtype": "float32", "head_dim": 2, "num_query_heads": 4,
              "num_key_value_heads": 2, "use_bias": True, "use_gate": False, "sliding_window": None,
              "dropout": 0.0, "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
              "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None, "seed": None}
    layer = L.GroupQueryAttention.from_config(config)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    layer(x, x)
    assert layer.count_params() == 40 + 20 + 20 + 36
    assert [w.shape for w in layer.weights][2:4] == [(4, 2, 2), (2, 2)]
    for key, value in layer.get_config().items():
        assert config[key] == value
    shared = L.MultiHeadAttention(4, 2)  # the same attention, each key and value head given twice
    shared(x, x)
    weights = layer.get_weights()
    shared.set_weights([w if i not in (2, 3, 4, 5) else np.repeat(w, 2, axis=-2) for i, w in enumerate(weights)])
    np.testing.assert_allclose(shared(x, x).numpy(), layer(x, x).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="num_query_heads must be a multiple of num_key_value_heads"):
        L.GroupQueryAttention(2, 3, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_heads": 0, "key_dim": 2}, "num_heads must be a positive integer"),
    ({"num_heads": 2, "key_dim": 2.5}, "key_dim must be a positive integer"),
    ({"num_heads": 2, "key_dim": 2, "dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"num_heads": 2, "key_dim": 2, "value_dim": 0}, "value_dim must be a positive integer, got 0"),
    ({"num_heads": 2, "key_dim": 2, "sliding_window": 0}, "sliding_window must be a positive integer, got 0"),
])
def test_multi_head_attention_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        L.MultiHeadAttention(**kwargs)


def test_unsupported_options_are_refused_clearly():
    with pytest.raises(NotImplementedError, match="attention_axes must be None or"):
        L.MultiHeadAttention(2, 3, attention_axes=(1, 2))
    with pytest.raises(NotImplementedError, match="use_gate"):
        L.MultiHeadAttention(2, 3, use_gate=True)
    with pytest.raises(ValueError, match="score_mode must be 'dot' or 'concat'"):
        L.Attention(score_mode="general")


def test_an_attention_mask_with_a_length_of_one_broadcasts_as_in_keras(rng):
    layer = L.MultiHeadAttention(2, 3)
    query, value = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))
    padding = rng.random((2, 1, 5)) < 0.6  # (batch, 1, Tv): the same value positions for every query
    padding[:, :, 0] = True
    broadcast = layer(query, value, attention_mask=padding, return_attention_scores=True)
    full = layer(query, value, attention_mask=np.broadcast_to(padding, (2, 4, 5)), return_attention_scores=True)
    for a, b in zip(broadcast, full):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert (broadcast[1].numpy()[~np.broadcast_to(padding[:, None], (2, 2, 4, 5))] == 0).all()


def test_bad_inputs_and_masks_are_named(rng):
    layer = L.MultiHeadAttention(2, 3)
    query, value = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))
    with pytest.raises(ValueError, match=r"key and value must have the same length"):
        layer(query, value, rng.standard_normal((2, 6, 3)))
    with pytest.raises(ValueError, match=r"value_mask must have shape \(2, 5\).*got \(2, 4\)"):
        layer(query, value, value_mask=np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"attention_mask must end in .* \(4, 5\) .*got shape \(2, 5, 4\)"):
        layer(query, value, attention_mask=np.ones((2, 5, 4)))
    with pytest.raises(ValueError, match=r"query must have shape \(batch, length, 3\), got \(2, 4, 2\)"):
        layer(query[..., :2], value)
    with pytest.raises(ValueError, match=r"takes a list \[query, value\].*got a single input"):
        L.Attention()(query)
    with pytest.raises(ValueError, match=r"takes mask=\[query_mask, value_mask\]"):
        L.Attention()([query, value], mask=np.ones((2, 5)))


# ---- in a functional model ---------------------------------------------------------------------------
def attention_model():
    """Cross-attention from a query sequence to a value sequence whose padding mask is a model input,
    then self-attention with the causal mask: the masks change with every batch of a replayed step."""
    query, value, value_mask = sg.Input(shape=(4, 3)), sg.Input(shape=(5, 3)), sg.Input(shape=(5,))
    h = L.MultiHeadAttention(2, 2, dropout=0.2)(query, value, None, None, value_mask)
    h = L.Attention(use_scale=True)([h, h], use_causal_mask=True)
    h = L.AdditiveAttention()([h, L.LayerNormalization()(h)])
    return sg.Model([query, value, value_mask], L.Dense(3, activation="softmax")(L.Flatten()(h)))


def model_data(rng, n=12):
    """The class is the largest feature of the value steps the mask keeps, summed: attention can learn it."""
    x = [rng.standard_normal((n, 4, 3)), rng.standard_normal((n, 5, 3)), (rng.random((n, 5)) < 0.7) * 1.0]
    return x, (x[1] * x[2][..., None]).sum(axis=1).argmax(axis=1)


def test_trains_the_same_planned_and_eager_in_a_functional_model(rng):
    x, y = model_data(rng)
    assert_plan_equals_eager(attention_model, "sparse_categorical_crossentropy", x, y)


def test_learns_in_a_functional_model_and_round_trips_its_config(rng):
    sg.set_seed(0)
    model = attention_model()
    x, y = model_data(rng, 64)
    model.compile(optimizer=sg.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]
    clone = sg.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
