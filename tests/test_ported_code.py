"""Code as keras.io's guides and Deep Learning with Python write it, run with only the imports changed:
each test is a pattern that failed or differed from Keras before, checked against what Keras 3 gives."""
import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad import callbacks, layers, ops


@pytest.fixture
def data(rng):
    x = rng.standard_normal((64, 3)).astype(np.float32)
    return x, (x.sum(axis=1) > 0).astype(np.int64)


def classifier(metrics=()):
    keras.set_seed(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(8, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


class TruePositives(keras.metrics.Metric):
    """The training guide's CategoricalTruePositives: result() returns the state variable itself."""

    def __init__(self, name="ctp", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        hits = ops.cast(ops.argmax(y_pred, axis=1) == ops.cast(y_true, "int64"), "float32")
        self.true_positives.assign_add(ops.sum(hits))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)


def test_custom_metric_is_logged_as_each_epochs_float(data):
    class AtEpochEnd(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.metrics[-1].true_positives.numpy().item())

    seen = []
    history = classifier([TruePositives()]).fit(*data, epochs=3, batch_size=16, verbose=0, callbacks=[AtEpochEnd()])
    values = history.history["ctp"]
    assert all(type(v) is float for v in values)
    assert values == seen and len(set(values)) > 1  # each epoch's count, not the live state read at the end


def test_old_batch_hook_names_are_called(data):
    class LossHistory(callbacks.Callback):  # Deep Learning with Python's per-batch loss recorder
        def on_train_begin(self, logs=None):
            self.per_batch_losses, self.begun = [], 0

        def on_batch_begin(self, batch, logs=None):
            self.begun += 1

        def on_batch_end(self, batch, logs=None):
            self.per_batch_losses.append(logs.get("loss"))

    recorder = LossHistory()
    classifier().fit(*data, epochs=1, batch_size=16, verbose=0, callbacks=[recorder])
    assert recorder.begun == 4 and len(recorder.per_batch_losses) == 4
    assert all(isinstance(v, float) for v in recorder.per_batch_losses)


def test_reduce_lr_on_plateau_logs_the_epochs_learning_rate(data):
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    history = classifier().fit(*data, epochs=3, batch_size=16, verbose=0, callbacks=[reduce])
    assert history.history["learning_rate"] == pytest.approx([0.001, 0.001, 0.0005])  # the rate each epoch ran with


def test_loss_reduction_none_and_mean_as_keras_takes_them(rng):
    y, p = rng.random((4, 3)).astype(np.float32), rng.random((4, 3)).astype(np.float32)
    per_sample = ((y - p) ** 2).mean(axis=1)
    assert np.allclose(keras.losses.MeanSquaredError(reduction=None)(y, p).numpy(), per_sample)
    assert keras.losses.MeanSquaredError(reduction=None).get_config()["reduction"] == "none"
    assert float(keras.losses.MeanSquaredError(reduction="mean")(y, p)) == pytest.approx(per_sample.mean())
    with pytest.raises(ValueError, match="reduction must be one of"):
        keras.losses.MeanSquaredError(reduction="average")


def branching_graphs():
    """Three functional graphs and model.layers as Keras 3.15 lists them (printed by Keras itself)."""
    def two_branches():
        inp = keras.Input((5, 4), name="in")
        longer = layers.GRU(3, name="c")(layers.LSTM(3, return_sequences=True, name="b")(inp))
        return keras.Model(inp, layers.Concatenate(name="cat")([layers.LSTM(3, name="a")(inp), longer]))

    def unequal_inputs():
        i1, i2, unused = keras.Input((4,), name="i1"), keras.Input((4,), name="i2"), keras.Input((4,), name="unused")
        x = layers.Dense(4, name="d3")(layers.Dense(4, name="d2")(layers.Dense(4, name="d1")(i1)))
        s = layers.Add(name="add")([x, layers.Dense(4, name="e1")(i2)])
        return keras.Model([i1, i2, unused], [s, layers.Dense(2, name="head")(s)])

    def shared_layer():
        i, shared = keras.Input((4,), name="i"), layers.Dense(4, name="shared")
        b = shared(layers.Dense(4, name="pre")(i))
        return keras.Model(i, layers.Add(name="add")([shared(i), layers.Dense(4, name="post")(b)]))

    return [(two_branches, ["in", "b", "a", "c", "cat"]),
            (unequal_inputs, ["i1", "d1", "d2", "i2", "d3", "e1", "add", "unused", "head"]),
            (shared_layer, ["i", "pre", "shared", "post", "add"])]


@pytest.mark.parametrize("build, keras_order", branching_graphs())
def test_functional_layers_in_keras_order(build, keras_order):
    """model.layers, and so get_weights/set_weights, in Keras's order: Keras weights load into the right layers."""
    model = build()
    assert [layer.name for layer in model.layers] == keras_order
    assert [id(w) for layer in model.layers for w in layer.weights] == [id(w) for w in model.weights]


@pytest.mark.parametrize("make, input_shape, keras_shape", [
    (lambda: layers.LSTM(3, return_state=True), (None, 5, 4), ((None, 3), (None, 3), (None, 3))),
    (lambda: layers.GRU(3, return_sequences=True), (None, None, 4), (None, None, 3)),
    (lambda: layers.Dense(3), (8, 4), (8, 3)),
    (lambda: layers.Concatenate(), [(None, 3), (None, 4)], (None, 7)),
    (lambda: layers.Bidirectional(layers.LSTM(3, return_state=True)), (None, 5, 4),
     ((None, 6), (None, 3), (None, 3), (None, 3), (None, 3))),
    (lambda: layers.TimeDistributed(layers.Dense(2)), (None, None, 4), (None, None, 2)),
])
def test_compute_output_shape_as_keras(make, input_shape, keras_shape):
    """Keras 3.15's answers: several outputs give a tuple of shapes, unknown sizes stay None."""
    assert make().compute_output_shape(input_shape) == keras_shape


@pytest.mark.parametrize("make", [lambda: layers.AveragePooling1D(2), lambda: layers.MaxPooling1D(4),
                                  lambda: layers.Conv1D(3, 2, strides=2), lambda: layers.Conv1D(3, 3, strides=3)])
def test_strided_layers_keep_an_unknown_length_unknown(make):
    """A downsampled unknown length is unknown (the two trial lengths once fell to one size under stride 2)."""
    x = keras.Input((None, 6))
    assert make()(x).shape[:2] == (None, None)
    with pytest.raises(ValueError, match="cannot take inputs"):
        keras.Model(x, layers.Dense(1)(layers.Flatten()(make()(x))))


def test_wrappers_build_their_layers_as_keras_does():
    bidirectional, distributed = layers.Bidirectional(layers.LSTM(3)), layers.TimeDistributed(layers.Dense(2))
    bidirectional.build((None, 5, 4))
    distributed.build((None, 5, 4))
    assert (bidirectional.count_params(), len(bidirectional.get_weights())) == (192, 6)  # Keras 3.15's numbers
    assert distributed.count_params() == 10


def test_bidirectional_leaves_the_layer_given_as_it_was():
    inner = layers.LSTM(3, name="mylstm")
    wrapped = layers.Bidirectional(inner)
    assert inner.name == "mylstm" and wrapped.forward_layer is not inner
    assert wrapped.get_config()["layer"]["config"]["name"] == "forward_mylstm"  # as Keras writes it
    clone = layers.Bidirectional.from_config(wrapped.get_config())
    assert (clone.forward_layer.name, clone.backward_layer.name) == ("forward_mylstm", "backward_mylstm")


@pytest.mark.parametrize("make, message", [
    (lambda: layers.Bidirectional(layers.LSTM(3, go_backwards=True)), "opposite directions"),
    (lambda: layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(3)), "opposite directions"),
    (lambda: layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(3, go_backwards=True,
                                                                             return_sequences=True)),
     "same return_sequences"),
])
def test_bidirectional_refuses_what_keras_refuses(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_attention_output_keeps_the_query_mask():
    """Embedding(mask_zero) -> Attention -> GlobalAveragePooling1D averages the real query steps only;
    the numbers are Keras 3.15's for this model."""
    embed, attend = layers.Embedding(8, 3, mask_zero=True), layers.Attention()
    queries, values = keras.Input((4,)), keras.Input((5,))
    model = keras.Model([queries, values], layers.GlobalAveragePooling1D()(attend([embed(queries), embed(values)])))
    embed.set_weights([np.arange(24, dtype="float32").reshape(8, 3) / 10])
    out = model.predict([np.array([[3, 5, 2, 0]]), np.array([[4, 1, 0, 0, 0]])], verbose=0)
    np.testing.assert_allclose(out, [[1.1378, 1.2378, 1.3378]], atol=1e-4)


def test_multi_head_attention_row_with_nothing_to_attend_to(rng):
    """Keras's fused path (no dropout, no scores returned) attends to every value alike there; its masked-softmax
    path (scores returned) gives that row no weight at all."""
    q = rng.standard_normal((1, 3, 4)).astype("float32")
    mha = layers.MultiHeadAttention(2, 3)
    nothing_in_row_1 = np.array([[[1, 1, 0], [0, 0, 0], [1, 1, 1]]], bool)
    out = mha(q, q, attention_mask=nothing_in_row_1).numpy()
    v = q[0] @ mha.value_kernel.numpy().reshape(4, -1) + mha.value_bias.numpy().reshape(-1)
    uniform = v.mean(axis=0) @ mha.output_kernel.numpy().reshape(-1, 4) + mha.output_bias.numpy()
    np.testing.assert_allclose(out[0, 1], uniform, rtol=1e-5, atol=1e-6)
    out, scores = mha(q, q, attention_mask=nothing_in_row_1, return_attention_scores=True)
    assert not scores.numpy()[0, :, 1].any()
    np.testing.assert_allclose(out.numpy()[0, 1], mha.output_bias.numpy(), rtol=1e-6)


@pytest.mark.parametrize("make", [lambda: layers.Conv1D(4, 3, strides=2, dilation_rate=2),
                                  lambda: layers.Conv2D(4, 3, strides=(1, 2), dilation_rate=(2, 1))])
def test_strides_and_dilation_together_are_refused_as_in_keras(make):
    with pytest.raises(ValueError, match="not both"):
        make()


@pytest.mark.parametrize("make, shape", [(lambda: layers.Cropping1D((3, 3)), (2, 5, 4)),
                                         (lambda: layers.Cropping1D((2, 3)), (2, 5, 4)),
                                         (lambda: layers.Cropping2D(((1, 1), (2, 2))), (1, 6, 4, 1))])
def test_cropping_everything_is_refused_as_in_keras(make, shape):
    with pytest.raises(ValueError, match="must leave something"):
        make()(np.zeros(shape, "float32"))


@pytest.mark.parametrize("name, keras_value", [("huber", 0.10908994823694229),
                                               ("mean_squared_error", 0.21817989647388458),
                                               ("binary_crossentropy", 1.1151360273361206)])
def test_losses_on_sequences_reduce_the_last_axis_as_keras(name, keras_value):
    """A (N, T, C) output has N·T loss values, as in Keras (the VAE examples sum them over T); weights may be
    per value (N, T) or per sample (N,). Keras 3.15's values for these arrays."""
    rng = np.random.default_rng(0)
    y, p = rng.random((4, 5, 6)).astype("float32"), rng.random((4, 5, 6)).astype("float32")
    loss = keras.losses.get(name)
    assert loss(y, p).shape == (4, 5)
    instance = keras.losses.resolve(name)  # the Loss class compile() takes for this name
    for weights in (None, np.ones(4, "float32"), np.ones((4, 5), "float32")):
        assert float(instance(y, p, sample_weight=weights)) == pytest.approx(keras_value, rel=1e-6)
    summed = keras.losses.get(type(instance).__name__)  # a new instance of the class
    summed.reduction = "sum"
    assert float(summed(y, p)) == pytest.approx(keras_value * 20, rel=1e-5)  # 4·5 values, as Keras sums them
    halved = np.ones((4, 5), "float32")
    halved[:2] = 0.5
    assert float(instance(y, p, sample_weight=halved)) == pytest.approx(
        float((loss(y, p).numpy() * halved).mean()), rel=1e-6)


def test_custom_train_step_gets_y_when_compiled_without_a_loss(rng):
    """The customizing-fit guide's "going lower-level": compile(optimizer=...) only; train_step reads y."""
    seen = []

    class CustomModel(keras.Model):
        def train_step(self, data):
            x, y = data
            seen.append(y.shape)
            with keras.GradientTape() as tape:
                loss = keras.losses.mean_squared_error(y, self(x, training=True)).mean()
            self.optimizer.apply(tape.gradient(loss, self.trainable_weights), self.trainable_weights)
            return {"loss": loss}

    inputs = keras.Input(shape=(8,))
    model = CustomModel(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer="adam")
    x, y = rng.random((64, 8)).astype("float32"), rng.random((64, 1)).astype("float32")
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert seen == [(32, 1), (32, 1)] and np.isfinite(history.history["loss"][0])
    with pytest.raises(ValueError, match="x and y have different lengths"):
        model.fit(x, y[:10], verbose=0)


def test_a_custom_layer_sees_the_mask_while_the_graph_is_built():
    """The masking guide's TemporalSoftmax asserts it gets a mask when called on keras.Input tensors."""
    calls = []

    class Probe(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            calls.append(None if mask is None else tuple(mask.shape))
            return inputs

    inputs = keras.Input(shape=(None,), dtype="int32")
    embedded = layers.Embedding(input_dim=10, output_dim=4, mask_zero=True)(inputs)
    assert embedded._keras_mask.shape == (None, None) and embedded._keras_mask.dtype == bool
    model = keras.Model(inputs, Probe()(layers.Dense(2)(embedded)))
    assert calls and None not in calls
    out = model(np.array([[3, 1, 0, 0]]))
    assert calls[-1] == (1, 4) and out._keras_mask.numpy().tolist() == [[True, True, False, False]]


@pytest.mark.parametrize("axis, axes", [(-1, (2,)), (2, (2,)), ([2], (2,)), ((1, 2), (1, 2)), (1, (1,)), ([-2], (1,))])
def test_layer_normalization_over_the_axes_keras_takes(axis, axes, rng):
    """Keras 3.15 (numpy backend) gives these numbers; its weights are shaped like the axes normalized."""
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    norm = layers.LayerNormalization(axis=axis, beta_regularizer="l2")
    norm.build(x.shape)
    shape = tuple(x.shape[a] for a in axes)
    gamma, beta = rng.standard_normal(shape).astype("float32"), rng.standard_normal(shape).astype("float32")
    norm.set_weights([gamma, beta])
    broadcast = tuple(x.shape[a] if a in axes else 1 for a in range(1, 3))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma.reshape(broadcast) + beta.reshape(broadcast)
    out = norm(x)
    assert out.dtype == np.float32 and len(norm.losses) == 1
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert layers.LayerNormalization.from_config(norm.get_config()).get_config() == norm.get_config()


@pytest.mark.parametrize("axis, error", [(0, ValueError), ([1, 5], ValueError), ("last", TypeError), ([], TypeError)])
def test_layer_normalization_refuses_axes_it_cannot_take(axis, error):
    with pytest.raises(error, match="axis"):
        layers.LayerNormalization(axis=axis)(np.zeros((2, 3, 4), "float32"))


def test_history_keys_in_keras_order_and_keras_2_arguments_taken(data):
    x, y = data
    history = classifier(["accuracy"]).fit(x, y, validation_split=0.25, epochs=1, verbose=0)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]  # as Keras 3.15 prints them
    old_style, plain = layers.LSTM(3, implementation=1).get_config(), layers.LSTM(3).get_config()
    assert {k: v for k, v in old_style.items() if k != "name"} == {k: v for k, v in plain.items() if k != "name"}


def test_control_flow_ops_run_as_python_and_keep_gradients():
    x = keras.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    assert ops.cond(ops.sum(x) > 5, lambda: "big", lambda: "small") == "big"
    assert ops.fori_loop(0, 4, lambda i, total: total + i, 10) == 16
    assert ops.while_loop(lambda a, b: a < 3, lambda a, b: (a + 1, b * 2), (0, 1)) == (3, 8)
    assert ops.while_loop(lambda a: a < 100, lambda a: a + 1, 0, maximum_iterations=5) == 5
    squares = ops.vectorized_map(lambda row: row * row, x)
    ops.sum(squares).backward()
    np.testing.assert_array_equal(squares.numpy(), x.numpy() ** 2)
    np.testing.assert_array_equal(x.grad, 2 * x.numpy())


def test_constructors_as_keras_ops():
    assert ops.full((2, 3), 7).dtype == np.float32 and ops.full((2, 3), 7).numpy().tolist() == [[7] * 3] * 2
    np.testing.assert_array_equal(ops.full_like(ops.zeros((2,), dtype="int32"), 4).numpy(), [4, 4])
    np.testing.assert_array_equal(ops.identity(3).numpy(), np.eye(3))
    np.testing.assert_allclose(ops.leaky_relu(ops.convert_to_tensor([-1.0, 2.0])).numpy(), [-0.2, 2.0])


def test_summary_wraps_long_names_and_shows_links_of_graphs_only(capsys):
    keras.Sequential([keras.Input((5, 4)), layers.SimpleRNN(2, return_sequences=True),
                      layers.GlobalAveragePooling1D(name="global_average_pooling1d")]).summary()
    chain_input = keras.Input((4,))
    keras.Model(chain_input, layers.Dense(2)(layers.Dense(3)(chain_input))).summary()
    printed = capsys.readouterr().out
    assert "global_average_pooling1d   " in printed and "\n(GlobalAveragePooling1D)\n" in printed
    assert "Connected to" not in printed  # a chain, as Keras judges it
    graph_input = keras.Input((4,))
    hidden = layers.Dense(3)(graph_input)
    keras.Model(graph_input, layers.Add()([hidden, layers.Dense(3)(hidden)])).summary()
    assert "Connected to" in capsys.readouterr().out


def test_unknown_lengths_meet_layers_that_limit_them():
    """A positional embedding of 20 steps takes an unknown length (the translation example's decoder);
    a cropping after one gives an unknown length (Keras: (None, None, 5)) and crops real data."""
    class PositionalEmbedding(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.positions = layers.Embedding(20, 4)

        def call(self, x):
            return x + self.positions(ops.arange(0, x.shape[1]))

    ids = keras.Input((None,), dtype="int32")
    assert PositionalEmbedding()(layers.Embedding(50, 4)(ids)).shape == (None, None, 4)
    steps = keras.Input((None, 5))
    cropped = layers.Cropping1D((10, 10))(steps)
    assert cropped.shape == (None, None, 5)
    assert keras.Model(steps, cropped).predict(np.zeros((1, 40, 5), "float32"), verbose=0).shape == (1, 20, 5)


def test_compute_output_shape_of_one_shape_given_as_a_list():
    assert layers.Dense(3).compute_output_shape([None, 5]) == (None, 3)
    assert layers.Dense(3).compute_output_shape([32, 5]) == (32, 3)
    assert layers.Add().compute_output_shape([(5, 3), (None, 3)]) == (5, 3)  # Keras 3.15's answers


@pytest.mark.parametrize("name", ["erf", "sin", "arctan", "exp", "log", "sqrt"])
def test_float_math_on_integers_gives_floatx_as_keras(name):
    out = getattr(ops, name)(np.array([1, 2], "int32"))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), getattr(ops, name)(np.array([1.0, 2.0], "float32")).numpy())


def test_lambda_callback_takes_every_hook(data):
    seen = []
    recorder = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: seen.append(("batch", logs["loss"])),
                                        on_test_end=lambda logs: seen.append(("test", logs["loss"])))
    classifier().fit(*data, batch_size=32, validation_split=0.5, verbose=0, callbacks=[recorder])
    assert [kind for kind, _ in seen] == ["batch", "test"]
    with pytest.raises(TypeError, match="unknown hooks"):
        callbacks.LambdaCallback(on_epoch_finish=print)


def test_fit_takes_a_weight_per_time_step():
    """Sample weights shaped (samples, steps) weigh each step's loss and the weighted metrics; the numbers
    are Keras 3.15's for this model, data and weights (SGD, two epochs, no shuffling)."""
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 4, 3)).astype("float32"), rng.random((6, 4, 2)).astype("float32")
    w = rng.integers(0, 2, (6, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4, 3)), layers.Dense(2)])
    model.set_weights([np.arange(6, dtype="float32").reshape(3, 2) / 10, np.array([0.1, -0.2], "float32")])
    model.compile("sgd", "mse", metrics=["mae"], weighted_metrics=["mae"])
    assert model.evaluate(x, y, sample_weight=w, verbose=0, batch_size=6)[0] == pytest.approx(0.08903917, rel=1e-6)
    history = model.fit(x, y, sample_weight=w, epochs=2, batch_size=3, shuffle=False, verbose=0).history
    assert history["loss"] == pytest.approx([0.088888, 0.087998], abs=1e-6)
    assert history["weighted_mae"] == pytest.approx([0.385457, 0.383116], abs=1e-6)
    np.testing.assert_allclose(model.get_weights()[0], [[0.001439, 0.102742], [0.201964, 0.30204],
                                                        [0.401165, 0.50212]], atol=1e-6)
    with pytest.raises(ValueError, match="one per sample and time step"):
        model.fit(x, y, sample_weight=w[:5], verbose=0)


def test_sequence_targets_for_an_output_of_unknown_length():
    """keras.io's lstm_seq2seq: one-hot targets (samples, steps, classes) for an output (None, None, classes)."""
    inputs = keras.Input((None, 5))
    model = keras.Model(inputs, layers.Dense(3, activation="softmax")(inputs))
    model.compile("rmsprop", "categorical_crossentropy")
    history = model.fit(np.zeros((8, 4, 5), "float32"), np.eye(3)[np.zeros((8, 4), int)], verbose=0).history
    assert history["loss"][0] == pytest.approx(np.log(3), rel=1e-6)
    with pytest.raises(ValueError, match="do not fit the model's output"):
        model.fit(np.zeros((8, 4, 5), "float32"), np.zeros((8, 4, 2), "float32"), verbose=0)


def test_tutorial_one_liners():
    """Lines from keras.io examples: inference on one logit, a causal mask tiled by a computed count,
    attention called by keyword, and Keras's older namespaces."""
    assert float(ops.sigmoid(np.float32(0.5))) == pytest.approx(0.6224593)
    assert float(keras.activations.sigmoid(0.0)) == 0.5
    repeats = ops.concatenate([ops.expand_dims(ops.convert_to_tensor(2), -1), ops.convert_to_tensor([1, 1])], 0)
    assert ops.tile(np.ones((1, 3, 3), "float32"), repeats).shape == (2, 3, 3)
    x = np.random.default_rng(0).random((2, 5, 4)).astype("float32")
    attention = layers.MultiHeadAttention(2, 4)
    np.testing.assert_array_equal(attention(query=x, value=x, key=x).numpy(), attention(x, x, x).numpy())
    symbolic = keras.Input((5, 4))
    assert layers.MultiHeadAttention(2, 4)(query=symbolic, value=symbolic).shape == (None, 5, 4)
    with pytest.raises(TypeError, match="needs its first argument"):
        layers.MultiHeadAttention(2, 4)(value=x)
    from scratchgrad.preprocessing.sequence import pad_sequences
    assert pad_sequences([[1, 2], [3]]).tolist() == keras.preprocessing.sequence.pad_sequences([[1, 2], [3]]).tolist()
    assert keras.preprocessing.image.img_to_array is keras.utils.img_to_array
    assert (keras.config.floatx(), keras.config.backend(), keras.backend.epsilon()) == ("float32", "numpy", 1e-7)
    keras.backend.clear_session()
    assert layers.Dense(1).name == "dense" and keras.version() == keras.__version__
    np.testing.assert_array_equal(layers.Identity()(x).numpy(), x)


def test_floatx_is_a_name_in_keras_backend_and_config():
    """Keras 3.15: keras.backend.floatx() and keras.config.floatx() both give the dtype's name, a str."""
    assert keras.backend.floatx() == keras.config.floatx() == "float32"
    assert type(keras.backend.floatx()) is str
    keras.backend.set_floatx("float64")
    try:
        assert keras.backend.floatx() == keras.config.floatx() == "float64"
        assert layers.Dense(1)(np.ones((1, 2), "int64")).dtype == np.float64  # new weights follow it
        assert keras.ops.ones((2,)).dtype == np.float64
    finally:
        keras.backend.set_floatx("float32")


def test_floor_divide_and_mod_as_numpy_and_keras():
    a, b = np.array([7.0, -7.0, 5.5], "float32"), np.array([3.0, 3.0, -2.0], "float32")
    np.testing.assert_array_equal(ops.floor_divide(a, b).numpy(), np.floor_divide(a, b))
    np.testing.assert_array_equal(ops.mod(a, b).numpy(), np.mod(a, b))
    ints = ops.floor_divide(np.array([7, -7], "int32"), np.array(2, "int32"))
    assert ints.dtype == np.int32 and ints.numpy().tolist() == [3, -4]
    x = keras.Tensor(np.array([7.0, -7.0]), requires_grad=True)
    y = keras.Tensor(np.array([3.0, 3.0]), requires_grad=True)
    ops.sum(ops.mod(x, y)).backward()
    np.testing.assert_array_equal(x.grad, [1, 1])
    np.testing.assert_array_equal(y.grad, [-2, 3])


def test_summary_takes_keras_arguments_and_shows_what_trains(capsys):
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dropout(0.1), layers.Dense(2)])
    model.layers[0].trainable = False
    model.summary(line_length=100, expand_nested=True, show_trainable=True)
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if "(Dense)" in line or "(Dropout)" in line]
    assert [row[-1] for row in rows] == ["N", "-", "Y"]


def test_a_model_with_one_loss_among_its_outputs_takes_one_y():
    """The miniature GPT's compile(loss=[loss_fn, None]) with one y; Keras 3.15 logs loss and out_mae only."""
    inputs = keras.Input((4,))
    hidden = layers.Dense(3, name="h")(inputs)
    model = keras.Model(inputs, [layers.Dense(2, name="out")(hidden), hidden])
    model.compile("adam", loss=["mse", None], metrics=[["mae"], None])
    x, y = np.zeros((8, 4), "float32"), np.zeros((8, 2), "float32")
    assert sorted(model.fit(x, y, verbose=0).history) == ["loss", "out_mae"]
    assert model.evaluate(x, y, verbose=0) == [0.0, 0.0]


def test_a_subclassed_model_called_on_a_dict():
    """keras.io's endpoint layer pattern: call(inputs) reads inputs["..."]; fit, evaluate and predict pass
    the dict as given, and (n, 1) sample weights weigh (n,) metric values as Keras squeezes them."""
    class TwoInputs(keras.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = layers.Dense(1), layers.Dense(1)

        def call(self, inputs):
            return self.a(inputs["a"]) + self.b(inputs["b"])

    x = {"a": np.zeros((8, 3), "float32"), "b": np.ones((8, 2), "float32")}
    model = TwoInputs()
    assert model.predict(x, verbose=0).shape == (8, 1)
    model.compile("sgd", "mse", metrics=["mae"])
    model.fit(x, np.zeros((8, 1)), verbose=0)
    expected = np.abs(model.predict(x, verbose=0)).mean()
    assert model.evaluate(x, np.zeros((8, 1)), verbose=0)[1] == pytest.approx(expected, rel=1e-5)
    accuracy = keras.metrics.BinaryAccuracy()
    accuracy.update_state(np.array([[1.0], [0.0]]), np.array([[0.9], [0.9]]), np.array([[1.0], [0.0]]))
    assert accuracy.result() == 1.0


def test_a_convolution_subclass_standardizing_its_kernel():
    """keras.io's subclassing_conv_layers recipe, both ways: convolution_op overridden (it was silently
    ignored), and called from call(); plus ops.conv on sequences. The numbers are Keras 3.15's."""
    class WithOverride(layers.Conv2D):
        def convolution_op(self, inputs, kernel):
            mean, var = ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
            return ops.conv(inputs, (kernel - mean) / ops.sqrt(var + 1e-10), padding="valid",
                            strides=list(self.strides), dilation_rate=list(self.dilation_rate))

    class WithCall(layers.Conv2D):
        def call(self, inputs):
            mean, var = ops.moments(self.kernel, axes=[0, 1, 2], keepdims=True)
            return self.convolution_op(inputs, (self.kernel - mean) / ops.sqrt(var + 1e-10)) + self.bias

    rng = np.random.default_rng(0)
    x = rng.random((2, 6, 6, 3)).astype("float32")
    for cls, keras_row in ((WithOverride, [-2.8191, 2.2192, 3.9847, 2.4107]),
                           (WithCall, [0.1314, 1.7983, 2.3953, 2.7559])):
        conv = cls(4, 3)
        conv.build(x.shape)
        conv.set_weights([rng.standard_normal((3, 3, 3, 4)).astype("float32"), np.arange(4, dtype="float32")])
        np.testing.assert_allclose(conv(x).numpy()[0, 0, 0], keras_row, atol=1e-4)
    kernel, steps = rng.standard_normal((3, 2, 5)).astype("float32"), rng.random((2, 9, 2)).astype("float32")
    np.testing.assert_allclose(ops.conv(steps, kernel, strides=2, padding="same").numpy()[0, :, 0],
                               [0.8193, 0.6836, 2.0071, 1.3797, 1.3869], atol=1e-4)
    np.testing.assert_allclose(ops.conv(steps, kernel, dilation_rate=2).numpy()[1, :, 1],
                               [1.9578, 1.9871, 2.517, 2.1972, 2.1827], atol=1e-4)


def test_random_distributions_keras_code_samples_from():
    """Mixup's Beta weights, gamma and binomial draws, and categorical sampling from logits."""
    beta = keras.random.beta((20000,), 0.4, 0.4, seed=1).numpy()
    assert beta.dtype == np.float32 and 0 <= beta.min() and beta.max() <= 1 and abs(beta.mean() - 0.5) < 0.02
    assert abs(keras.random.gamma((20000,), 2.0, seed=1).numpy().mean() - 2.0) < 0.05
    assert set(keras.random.binomial((100,), 3, 0.5, seed=1).numpy().tolist()) <= {0, 1, 2, 3}
    draws = keras.random.categorical(np.log([[0.1, 0.9], [0.7, 0.3]]), 20000, seed=3).numpy()
    assert draws.dtype == np.int32 and draws.shape == (2, 20000)
    np.testing.assert_allclose(draws.mean(axis=1), [0.9, 0.3], atol=0.02)
    np.testing.assert_array_equal(keras.random.categorical([[0.0, 1.0]], 5, seed=7).numpy(),
                                  keras.random.categorical([[0.0, 1.0]], 5, seed=7).numpy())  # an int seed repeats


def test_a_model_that_takes_raw_strings():
    """Deep Learning with Python's inference model: keras.Input(shape=(1,), dtype="string") into
    TextVectorization."""
    vectorize = layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorize.adapt(["the cat sat", "a dog ran fast"])
    text = keras.Input(shape=(1,), dtype="string")
    model = keras.Model(text, layers.Dense(1)(layers.Flatten()(layers.Embedding(20, 2)(vectorize(text)))))
    assert model.predict(np.array([["the cat"], ["a dog"]]), verbose=0).shape == (2, 1)
    assert model.get_config()["layers"][0]["config"]["dtype"] == "string"  # as Keras writes it
    assert keras.Model.from_config(model.get_config()).inputs[0].dtype.kind == "U"


def test_third_read_mends():
    """compute_loss and metrics_names follow fit's routing for one loss among outputs; a dict x keeps its
    order and nesting; class_weight refuses per-step targets; mod near exact multiples; a grouped ops.conv."""
    inputs = keras.Input((4,))
    hidden = layers.Dense(3, name="h")(inputs)
    model = keras.Model(inputs, [hidden, layers.Dense(2, name="o")(hidden)])
    model.compile("sgd", loss=[None, "mse"], metrics=[None, ["mae"]])
    x, y = np.random.default_rng(1).random((8, 4)).astype("float32"), np.zeros((8, 2), "float32")
    model.fit(x, y, verbose=0)
    assert model.metrics_names == ["loss", "o_mae"]
    assert float(model.compute_loss(x, y, model(x))) == pytest.approx(float((model(x)[1].numpy() ** 2).mean()))

    def leaves(d):
        for value in d.values():
            yield from leaves(value) if isinstance(value, dict) else [value]

    class Joined(keras.Model):
        def call(self, inputs):
            return ops.concatenate(list(leaves(inputs)), -1)

    out = Joined().predict({"b": np.ones((2, 1)), "a": {"d": np.full((2, 1), 2.0), "c": np.zeros((2, 2))}}, verbose=0)
    assert out[0].tolist() == [1, 2, 0, 0]  # the user's key order, nesting kept, as Keras passes it
    classifier_ = keras.Sequential([keras.Input((4, 3)), layers.Dense(2, activation="softmax")])
    classifier_.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="class_weight needs one class per sample"):
        classifier_.fit(np.zeros((3, 4, 3), "float32"), np.zeros((3, 4), int), class_weight={0: 1, 1: 2}, verbose=0)
    a, b = np.array([1.0, 0.3, 7.0], "float32"), np.array([0.1, 0.1, 0.7], "float32")
    np.testing.assert_array_equal(ops.mod(a, b).numpy(), np.mod(a, b))
    rng = np.random.default_rng(2)
    images, kernel = rng.random((1, 5, 5, 4)).astype("float32"), rng.random((3, 3, 2, 4)).astype("float32")
    grouped = layers.Conv2D(4, 3, groups=2)
    grouped.build(images.shape)
    grouped.set_weights([kernel, np.zeros(4, "float32")])
    np.testing.assert_allclose(ops.conv(images, kernel).numpy(), grouped(images).numpy(), rtol=1e-6)
