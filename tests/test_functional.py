"""The functional API: keras.Input, calling layers on symbolic tensors, Model(inputs, outputs), merge
layers, several inputs and outputs, shared layers, nested models, configs and saving."""
import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad import layers


def mnist_like_model():
    inputs = keras.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def test_input_is_symbolic_and_layers_record_the_graph():
    inputs = keras.Input(shape=(784,), name="img")
    assert inputs.shape == (None, 784) and inputs.dtype == np.float32
    h = layers.Dense(64)(inputs)
    assert h.shape == (None, 64) and h.node.layer.name.startswith("dense")
    model = mnist_like_model()
    assert model.name == "mnist_model" and model.count_params() == 55_050  # Keras's guide prints 55,050
    assert isinstance(model.layers[0], layers.InputLayer) and len(model.layers) == 4
    assert model.input_shape == (None, 784) and model.output_shape == (None, 10)
    assert model.get_layer(index=1) is model.layers[1]
    assert model.get_layer(name=model.layers[2].name) is model.layers[2]


def test_summary_shows_connections():
    lines = []
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,), name="b")
    merged = layers.concatenate([layers.Dense(5, name="da")(a), layers.Dense(5, name="db")(b)], name="cat")
    keras.Model([a, b], layers.Dense(1, name="out")(merged)).summary(print_fn=lines.append)
    text = lines[0]
    assert "Connected to" in text and "da[0][0], db[0][0]" in text and "cat[0][0]" in text
    assert "(None, 10)" in text and "Total params: 56" in text


def test_a_declared_batch_size_shows_in_the_shapes_as_keras_keeps_it(rng):
    """Keras 3.15: Input(batch_shape=(8, 5)) gives (8, ...) shapes down the graph and in summary(); fit and
    predict still take batches of any size."""
    inputs = keras.Input(batch_shape=(8, 5))
    model = keras.Model(inputs, layers.Dense(1)(layers.Dense(3)(inputs)))
    assert model.inputs[0].shape == model.input_shape == (8, 5) and model.output_shape == (8, 1)
    lines = []
    model.summary(print_fn=lines.append)
    assert "(8, 3)" in lines[0] and "None" not in lines[0]
    model.compile("sgd", "mse")
    model.fit(rng.random((7, 5)), rng.random((7, 1)), batch_size=4, verbose=0)
    assert model.predict(rng.random((3, 5))).shape == (3, 1)
    assert keras.Input((5,), batch_size=8).shape == (8, 5)
    summed = layers.Lambda(lambda t: keras.ops.sum(t, axis=0, keepdims=True))(inputs)
    assert summed.shape == (1, 5)  # an axis that does not follow the batch keeps its own size
    assert layers.Add()([keras.Input((5,)), inputs]).shape == (8, 5)
    ids = keras.Input(batch_shape=(4, 6), dtype="int32")
    sequential = keras.Sequential([ids, layers.Embedding(10, 3, mask_zero=True), layers.Flatten()])
    assert sequential.input_shape == (4, 6) and sequential.output_shape == (4, 18)
    built = keras.Sequential([layers.Dense(2)])
    built.build((32, 5))
    assert built.inputs[0].shape == (32, 5) and built.output_shape == (32, 2)


def test_a_functional_model_trains_on_the_plan_like_sequential(rng):
    x, y = rng.random((256, 784)).astype(np.float32), rng.integers(0, 10, 256)
    model = mnist_like_model()
    model.compile(optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=64, epochs=2, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(model._plans) == 1  # 192 training samples: three full batches, replayed


def test_shape_errors_name_the_layer_and_the_shapes():
    a, b = keras.Input(shape=(4,)), keras.Input(shape=(5,))
    with pytest.raises(ValueError, match=r"'add_it' \(Add\).*\(None, 4\).*\(None, 5\)"):
        layers.Add(name="add_it")([a, b])
    dense = layers.Dense(3, name="d3")
    dense(a)
    with pytest.raises(ValueError, match=r"'d3' \(Dense\).*\(None, 5\)"):
        dense(b)


@pytest.mark.parametrize("merge,expected", [
    (layers.add, lambda a, b: a + b), (layers.subtract, lambda a, b: a - b), (layers.multiply, lambda a, b: a * b),
    (layers.average, lambda a, b: (a + b) / 2), (layers.maximum, np.maximum), (layers.minimum, np.minimum),
    (lambda ts: layers.concatenate(ts, axis=-1), lambda a, b: np.concatenate([a, b], axis=-1)),
    (lambda ts: layers.dot(ts, axes=1), lambda a, b: (a * b).sum(axis=1, keepdims=True)),
    (lambda ts: layers.dot(ts, axes=1, normalize=True),
     lambda a, b: (a * b).sum(1, keepdims=True) / np.linalg.norm(a, axis=1, keepdims=True)
     / np.linalg.norm(b, axis=1, keepdims=True)),
])
def test_merge_layers_compute_what_keras_documents(merge, expected, rng):
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    ia, ib = keras.Input(shape=(4,)), keras.Input(shape=(4,))
    model = keras.Model([ia, ib], merge([ia, ib]))
    np.testing.assert_allclose(model.predict([a, b]), expected(a, b), rtol=1e-5, atol=1e-6)


# Keras 3.15's outputs for two Embedding branches (a masks id 0; b too when `b_masked`) merged, then pooled or
# run through an LSTM: the numbers show which steps each merge's mask, and its values, let through
MASKED_MERGES = {
    ("concatenate", True, "pool"): [[0.5115435, 0.0931022, 0.0994275, 0.2992303, -0.2199037, 0.1825526],
                                    [-1.2654215, -0.6232744, 0.041326, 0.4116305, 1.0425134, -0.1285347]],
    ("concatenate", False, "pool"): [[0.4150901, 0.0368005, 0.2346763, 0.3273304, 0.0957006, 0.1047808],
                                     [-0.2220577, -0.2548973, 0.4906484, 0.4116305, 1.0425134, -0.1285347]],
    ("concatenate", True, "lstm"): [[-0.2181752, 0.0514808], [-0.2082921, -0.1004281]],
    ("concatenate_steps", True, "pool"): [[0.4613182, -0.0496599, 0.0411035], [-1.2654215, -0.6232744, 0.041326]],
    ("concatenate_steps", False, "lstm"): [[0.0189066, 0.0381546], [-0.0826697, 0.0215819]],
    ("add", True, "lstm"): [[0.1936982, 0.0819172], [-0.0917584, -0.0226828]],
    ("add", False, "pool"): [[0.7424204, 0.132501, 0.339457], [0.1895728, 0.7876161, 0.3621138]],
    ("multiply", True, "pool"): [[0.6552723, -0.1166154, 0.0146156], [-1.2654215, -0.6232744, 0.041326]],
    ("multiply", False, "pool"): [[0.5943619, 0.1731668, -0.021172], [0.1785014, 0.619442, -0.097729]],
    ("maximum", True, "pool"): [[0.9251211, 0.0242369, 0.3561593], [-1.2654215, -0.6232744, 0.041326]],
    ("maximum", False, "pool"): [[0.7967485, 0.278806, 0.2349858], [0.4116305, 1.0425134, -0.0860695]],
    ("minimum", True, "pool"): [[0.2992303, -0.328735, -0.1704834], [-1.2654215, -0.6232744, 0.041326]],
    ("minimum", False, "pool"): [[0.3273304, 0.0140771, -0.1599962], [-0.0076325, 0.6260664, -0.1285347]],
}
MERGES = {"concatenate": layers.Concatenate, "concatenate_steps": lambda: layers.Concatenate(axis=1),
          "add": layers.Add, "multiply": layers.Multiply, "maximum": layers.Maximum, "minimum": layers.Minimum}


@pytest.mark.parametrize("merge,b_masked,head", list(MASKED_MERGES))
def test_merge_layers_keep_and_honour_masks_as_keras(merge, b_masked, head):
    rng = np.random.default_rng(0)
    tables = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=(6, 3)).astype(np.float32)
    a, b = keras.Input((4,), dtype="int32"), keras.Input((4,), dtype="int32")
    embed_a, embed_b = layers.Embedding(6, 3, mask_zero=True), layers.Embedding(6, 3, mask_zero=b_masked)
    last = layers.GlobalAveragePooling1D() if head == "pool" else layers.LSTM(2)
    model = keras.Model([a, b], last(MERGES[merge]()([embed_a(a), embed_b(b)])))
    embed_a.set_weights([tables[0]])
    embed_b.set_weights([tables[1]])
    if head == "lstm":
        rng = np.random.default_rng(1)
        last.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in last.get_weights()])
    ids_a, ids_b = np.array([[1, 2, 0, 0], [3, 0, 0, 0]]), np.array([[4, 5, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(model.predict([ids_a, ids_b], verbose=0), MASKED_MERGES[merge, b_masked, head],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("merge", ["multiply", "maximum", "minimum"])
def test_masked_merges_train_by_the_step_plan_as_eagerly(merge):
    """Their masks choose values by where() on a mask computed from the batch: the step plan replays it (a
    condition baked into the op made every step dynamic, so never planned)."""
    ids = np.random.default_rng(0).integers(0, 6, (8, 4))
    y = np.linspace(-1, 1, 8, dtype=np.float32)[:, None]

    def losses(eager):
        keras.set_seed(0)
        a, b = keras.Input((4,), dtype="int32"), keras.Input((4,), dtype="int32")
        merged = MERGES[merge]()([layers.Embedding(6, 3, mask_zero=True)(a), layers.Embedding(6, 3, mask_zero=True)(b)])
        model = keras.Model([a, b], layers.Dense(1)(layers.GlobalAveragePooling1D()(merged)))
        model.compile("sgd", "mse", run_eagerly=eager)
        history = model.fit([ids, ids[::-1]], y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
        return history, model

    planned, model = losses(False)
    assert [plan.dynamic for plan in model._plans.values()] == [False]
    np.testing.assert_allclose(planned, losses(True)[0], rtol=1e-6)


def two_in_two_out():
    """The functional API guide's ticket model, small: two inputs, two named outputs."""
    title, body = keras.Input(shape=(6,), name="title"), keras.Input(shape=(5,), name="body")
    features = layers.concatenate([layers.Dense(8, activation="relu")(title), layers.Dense(8)(body)])
    priority = layers.Dense(1, activation="sigmoid", name="priority")(features)
    department = layers.Dense(3, activation="softmax", name="department")(features)
    return keras.Model(inputs=[title, body], outputs=[priority, department])


def test_several_inputs_and_outputs_with_losses_by_name(rng):
    n = 40
    x = {"title": rng.random((n, 6)), "body": rng.random((n, 5))}
    y = {"priority": rng.integers(0, 2, (n, 1)).astype(float), "department": rng.integers(0, 3, n)}
    model = two_in_two_out()
    assert model.output_names == ["priority", "department"]
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss={"priority": "binary_crossentropy", "department": "sparse_categorical_crossentropy"},
                  loss_weights={"priority": 1.0, "department": 0.2}, metrics={"department": ["accuracy"]})
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "priority_loss", "department_loss", "department_accuracy"}
    logs = model.evaluate([x["title"], x["body"]], [y["priority"], y["department"]], return_dict=True, verbose=0)
    assert logs["loss"] == pytest.approx(logs["priority_loss"] + 0.2 * logs["department_loss"], rel=1e-5)
    priority, department = model.predict(x)
    assert priority.shape == (n, 1) and department.shape == (n, 3)


def test_several_outputs_train_the_same_planned_and_eager(rng):
    n = 24
    x = [rng.random((n, 6)), rng.random((n, 5))]
    y = [rng.integers(0, 2, (n, 1)).astype(float), rng.integers(0, 3, n)]
    runs = []
    for eager in (False, True):
        keras.set_seed(0)
        keras.set_floatx("float64")
        try:
            model = two_in_two_out()
        finally:
            keras.set_floatx("float32")
        model.compile(optimizer="adam", loss=["binary_crossentropy", "sparse_categorical_crossentropy"],
                      loss_weights=[0.5, 1.0], run_eagerly=eager)
        keras.set_seed(1)
        runs.append((model.fit(x, y, epochs=2, batch_size=10, verbose=0).history, model.get_weights()))
    for key in runs[0][0]:
        np.testing.assert_allclose(runs[0][0][key], runs[1][0][key], rtol=1e-12)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_shared_layers_and_nested_models(rng):
    shared = layers.Dense(4, activation="tanh", name="shared")
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    encoder = keras.Model(a, shared(a), name="encoder")
    merged = layers.add([encoder(b), shared(b)])
    model = keras.Model(b, layers.Dense(1)(merged))
    assert len([w for w in model.weights if "shared" in w.name]) == 2  # one kernel, one bias
    x, y = rng.random((16, 3)), rng.random((16, 1))
    model.compile("sgd", "mse")
    before = shared.kernel.numpy().copy()
    model.fit(x, y, epochs=2, verbose=0)
    assert not np.array_equal(before, shared.kernel.numpy())
    np.testing.assert_allclose(model.predict(x), model(x).numpy(), rtol=1e-6)


def test_config_round_trip_and_saving(rng, tmp_path):
    model = two_in_two_out()
    x = [rng.random((5, 6)).astype(np.float32), rng.random((5, 5)).astype(np.float32)]
    for clone in (type(model).from_config(model.get_config()), keras.models.model_from_json(model.to_json())):
        assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
        assert clone.output_names == model.output_names
        clone.set_weights(model.get_weights())
        for a, b in zip(clone.predict(x), model.predict(x)):
            np.testing.assert_array_equal(a, b)
    model.compile("adam", ["binary_crossentropy", "sparse_categorical_crossentropy"])
    model.fit(x, [np.ones((5, 1)), np.zeros(5)], verbose=0)
    model.save(tmp_path / "two.keras")
    loaded = keras.load_model(tmp_path / "two.keras")
    for a, b in zip(loaded.predict(x), model.predict(x)):
        np.testing.assert_array_equal(a, b)
    fresh = keras.models.clone_model(model)
    assert fresh.count_params() == model.count_params()
    assert not np.array_equal(fresh.get_weights()[2], model.get_weights()[2])


def test_residual_connections_with_plus(rng):
    inputs = keras.Input(shape=(8,))
    x = layers.Dense(8, activation="relu")(inputs)
    block = layers.Dense(8)(x) + x  # x + y on symbolic tensors is an Add layer
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(block))
    assert any(isinstance(layer, layers.Add) for layer in model.layers)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(rng.random((20, 8)), rng.integers(0, 2, 20), verbose=0)


def test_graph_disconnected_is_refused():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    out = layers.add([a, b])
    with pytest.raises(ValueError, match="graph disconnected"):
        keras.Model(a, out)


def test_outputs_without_a_loss_need_no_targets(rng):
    """loss=[None, ...] or a dict naming some outputs: only those outputs need targets."""
    inputs = keras.Input(shape=(4,))
    features = layers.Dense(3, name="features")(inputs)
    label = layers.Dense(2, activation="softmax", name="label")(features)
    model = keras.Model(inputs, [features, label])
    x, y = rng.random((16, 4)), rng.integers(0, 2, 16)
    model.compile("adam", loss={"label": "sparse_categorical_crossentropy"}, metrics={"label": ["accuracy"]})
    history = model.fit(x, {"label": y}, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "label_accuracy"}  # one loss: no per-output loss, as in Keras
    model.compile("adam", loss=[None, "sparse_categorical_crossentropy"])
    model.fit(x, [None, y], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="no targets y for outputs \\['label'\\]"):
        model.fit(x, {"features": rng.random((16, 3))}, verbose=0)


def test_a_model_trained_on_its_own_add_loss_needs_no_y(rng):
    class Reconstruction(layers.Layer):
        def call(self, inputs):
            x, reconstructed = inputs
            self.add_loss(keras.ops.mean(keras.ops.square(x - reconstructed)))
            return reconstructed

    inputs = keras.Input(shape=(6,))
    decoded = layers.Dense(6)(layers.Dense(2, activation="tanh")(inputs))
    autoencoder = keras.Model(inputs, Reconstruction()([inputs, decoded]))
    autoencoder.compile(optimizer=keras.optimizers.Adam(0.05))
    x = rng.random((64, 6)).astype(np.float32)
    history = autoencoder.fit(x, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_weighted_metrics_use_the_sample_weights(rng):
    x, y = rng.random((20, 4)).astype(np.float32), rng.integers(0, 3, 20)
    w = rng.uniform(0, 2, 20)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    logs = model.evaluate(x, y, sample_weight=w, batch_size=20, return_dict=True, verbose=0)
    hits = (model.predict(x).argmax(axis=1) == y).astype(float)
    assert logs["accuracy"] == pytest.approx(hits.mean()) and logs["weighted_accuracy"] == pytest.approx(
        (hits * w).sum() / w.sum())


def test_metrics_take_bools_ints_and_tensors_with_or_without_weights():
    mean = keras.metrics.Mean()
    mean.update_state(np.array([True, False, True]))
    mean.update_state(keras.Tensor(np.array([4.0, 5.0], np.float32)))
    assert mean.result() == pytest.approx((1 + 0 + 1 + 4 + 5) / 5)
    mean.update_state(np.array([10, 20]), sample_weight=np.array([3.0, 1.0]))
    assert mean.result() == pytest.approx((11 + 30 + 20) / (5 + 4))
    total = keras.metrics.Sum()
    total.update_state(np.arange(4, dtype=np.int64))
    assert total.result() == 6 and isinstance(total.result(), float)
    accuracy = keras.metrics.SparseCategoricalAccuracy()
    accuracy.update_state(np.array([2, 0]), keras.Tensor(np.array([[0.1, 0.2, 0.7], [0.5, 0.4, 0.1]], np.float16)))
    accuracy.update_state(np.array([1]), np.array([[0, 0, 1]]))
    assert accuracy.result() == pytest.approx(2 / 3)


@pytest.mark.parametrize("size", [1, 3, 7, 8, 50])
def test_a_mean_metric_totals_float32_values_as_numpy_s_float64_sum(size):
    """Fewer than 8 values are added one after another (NumPy's own order there), more by NumPy: the same total."""
    rng = np.random.default_rng(size)
    batches = [(rng.standard_normal(size) * 10.0 ** rng.integers(-6, 6, size)).astype(np.float32) for _ in range(20)]
    mean = keras.metrics.Mean()
    expected = 0.0
    for values in batches:
        mean.update_state(values)
        expected += float(values.sum(dtype=np.float64))
    assert mean.result() == expected / (20 * size)


def test_numbers_and_indexing_on_symbolic_tensors_build_layers(rng, tmp_path):
    inputs = keras.Input(shape=(6,))
    h = layers.Dense(4)(inputs)
    out = (2.0 * h[:, :2] - 1.0) / 4.0 + (-h[:, 2:]) ** 2
    model = keras.Model(inputs, out)
    x = rng.random((3, 6)).astype(np.float32)
    raw = model.layers[1](x).numpy()  # the Dense layer's output, computed directly
    np.testing.assert_allclose(model.predict(x), (2 * raw[:, :2] - 1) / 4 + raw[:, 2:] ** 2, rtol=1e-5)
    model.compile("sgd", "mse")
    model.save(tmp_path / "ops.sg")
    np.testing.assert_allclose(keras.load_model(tmp_path / "ops.sg").predict(x), model.predict(x), rtol=1e-6)


def test_a_declared_batch_size_follows_the_batch_on_any_axis_as_keras():
    """Keras 3.15's shapes: the batch size lands wherever the batch axis goes, and an axis that only
    happens to equal a probe's row count keeps its size."""
    x = keras.Input(batch_shape=(8, 5))
    assert layers.Lambda(lambda t: keras.ops.transpose(t))(x).shape == (5, 8)
    assert layers.Lambda(lambda t: keras.ops.stack([t, t]))(x).shape == (2, 8, 5)
    two = keras.Input(batch_shape=(2, 5))
    assert layers.Lambda(lambda t: keras.ops.transpose(t))(layers.Dense(3)(two)).shape == (3, 2)
    assert layers.Lambda(lambda t: keras.ops.concatenate([t, t], axis=0))(x).shape == (16, 5)
    free = keras.Input((5,))  # no batch size: the axes that follow the batch are unknown, wherever they go
    assert layers.Lambda(lambda t: keras.ops.transpose(t))(free).shape == (5, None)
    assert layers.Lambda(lambda t: keras.ops.stack([t, t]))(free).shape == (2, None, 5)
    assert layers.Lambda(lambda t: keras.ops.sum(t, axis=0, keepdims=True))(free).shape == (1, 5)


@pytest.mark.parametrize("size", [-3, 2.5, "8", True])
def test_a_batch_size_that_is_no_whole_number_is_refused(size):
    with pytest.raises(ValueError, match=r"batch size must be None or a whole number >= 0, got"):
        keras.Input(batch_shape=(size, 5))
    with pytest.raises(ValueError, match="batch size"):
        keras.Input((5,), batch_size=size)


def test_a_model_from_a_layer_output_runs_the_layers_after_it():
    """Keras's rule: a layer's output as a model's input becomes a new Input ("<tensor>CLONE") and the calls
    after it are made again on it; the layers, and so the weights, are shared with the first model."""
    a, b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(1,), name="b")
    encoded = layers.Concatenate()([layers.Dense(3)(a), b])
    head = layers.Dense(1)
    full = keras.Model([a, b], head(layers.Activation("tanh")(encoded)))
    tail = keras.Model(encoded, full.output)
    assert tail.input_names == [f"{encoded.name}CLONE"] and [type(x).__name__ for x in tail.layers] == \
        ["InputLayer", "Activation", "Dense"]
    assert tail.layers[-1] is head
    x = [np.ones((4, 2), np.float32), np.full((4, 1), 0.5, np.float32)]
    inner = keras.Model([a, b], encoded).predict(x, verbose=0)
    np.testing.assert_allclose(tail.predict(inner, verbose=0), full.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("shape, given, used", [((1,), (4,), (4, 1)), ((3,), (4, 3, 1), (4, 3))])
def test_inputs_one_axis_short_or_over_by_a_size_of_one_are_fitted_as_in_keras(shape, given, used):
    inputs = keras.Input(shape=shape)
    model = keras.Model(inputs, layers.Lambda(lambda t: t * 2)(inputs))
    x = np.arange(np.prod(given), dtype=np.float32).reshape(given)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x.reshape(used) * 2)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 1\)"):
        keras.Model(i := keras.Input(shape=(1,)), layers.Dense(1)(i)).predict(np.ones((4, 2)), verbose=0)


def test_a_model_cut_from_a_graph_saves_and_loads(tmp_path):
    """Its config numbers each layer's calls within the model, as Keras's does, so it can be rebuilt."""
    a = keras.Input(shape=(4,))
    h = layers.Dense(3, name="d1")(a)
    cut = keras.Model(h, layers.Dense(2, name="d2")(layers.Dense(3, name="mid")(h)))
    x = np.ones((2, 3), np.float32)
    for name, options in (("cut.sg", {}), ("cut.keras", {"format": "keras"})):
        cut.save(tmp_path / name, **options)
        np.testing.assert_array_equal(keras.models.load_model(tmp_path / name).predict(x, verbose=0),
                                      cut.predict(x, verbose=0))
    shared = layers.Dense(2, name="shared")
    b, c = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    left, right = shared(b), shared(c)
    two = keras.Model([left, right], layers.Add()([left, right]))
    assert two.input_names == ["sharedCLONE", "sharedCLONE_1"]  # unique, as Keras's are


def test_a_direct_call_fits_the_rank_as_predict_does():
    inputs = keras.Input(shape=(1,))
    assert keras.Model(inputs, layers.Dense(2)(inputs))(np.arange(3.0)).shape == (3, 2)
    sequential = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(2)])
    assert sequential(np.ones((2, 3, 1))).shape == (2, 2)
    texts = keras.Input(shape=(1,), dtype="string")
    vectorize = layers.TextVectorization(vocabulary=["a", "b"])
    np.testing.assert_array_equal(keras.Model(texts, vectorize(texts))(np.array([["a b"], ["b"]])).numpy(),
                                  [[2, 3], [3, 0]])  # text given straight to a model stays text


def test_integers_given_to_a_float_input_take_its_dtype():
    """Found by a final read: uint8 pixels given straight to a model wrapped around (200 + 200 = 144)."""
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.Add()([inputs, inputs]))
    np.testing.assert_array_equal(model(np.full((1, 3), 200, np.uint8)).numpy(), 400)
    ids = keras.Input(shape=(2,), dtype="int64")
    assert keras.Model(ids, layers.Embedding(5, 2)(ids))(np.array([[1, 4]])).shape == (1, 2, 2)
