"""Subclassing: custom layers and models as Keras's guide writes them, GradientTape loops, train_step
overrides, keras.ops, saving registered custom classes."""
import collections

import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad import layers, ops


class Linear(keras.layers.Layer):
    """The guide's Linear layer: weights made in build(), call() without a training argument."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class ActivityRegularization(keras.layers.Layer):
    def __init__(self, rate=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


class MLPBlock(keras.layers.Layer):
    """Sublayers assigned as attributes are tracked: their weights are the block's."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.linear_1 = Linear(32)
        self.linears = [Linear(16), Linear(1)]
        self.regularizer = ActivityRegularization(1e-2)

    def call(self, inputs):
        x = ops.relu(self.linear_1(inputs))
        x = self.regularizer(ops.relu(self.linears[0](x)))
        return self.linears[1](x)


def test_custom_layer_weights_and_tracking():
    block = MLPBlock()
    y = block(ops.ones(shape=(3, 64)))
    assert y.shape == (3, 1)
    assert len(block.weights) == 6 and len(block.trainable_weights) == 6  # the guide prints 6 and 6
    assert len(block.losses) == 1  # the activity loss of the last call
    block.trainable = False
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == 6


def test_call_with_and_without_training_and_inheritance():
    seen = []

    class Recorder(keras.layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

    class Outer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = Recorder()

        def call(self, inputs):  # no training argument: the inner call inherits the outer one's
            return self.inner(inputs)

    outer = Outer()
    outer(np.ones((2, 2)), training=True)
    outer(np.ones((2, 2)))  # given by no call: the inner call's own default, None, as in Keras
    outer.train()
    outer(np.ones((2, 2)))
    outer.eval()
    outer(np.ones((2, 2)))
    assert seen == [True, None, True, False]
    assert outer.training is False and Recorder().training is False


class CustomModel(keras.Model):
    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.dense = layers.Dense(hidden, activation="relu")
        self.dropout = layers.Dropout(0.2)
        self.out = layers.Dense(3, activation="softmax")

    def call(self, inputs, training=None):
        return self.out(self.dropout(self.dense(inputs), training=training))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


def float64(make):
    keras.set_floatx("float64")
    try:
        return make()
    finally:
        keras.set_floatx("float32")


def test_a_subclassed_model_trains_on_the_plan_like_the_graph(rng):
    x, y = rng.random((20, 4)), rng.integers(0, 3, 20)
    runs = []
    for eager in (False, True):
        keras.set_seed(0)
        model = float64(CustomModel)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], run_eagerly=eager)
        keras.set_seed(1)
        runs.append((model.fit(x, y, epochs=3, batch_size=8, verbose=0).history["loss"], model.get_weights(), model))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-12)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    assert len(runs[0][2]._plans) == 2 and len(runs[0][2].layers) == 3


def test_data_dependent_control_flow_stays_correct(rng):
    class Branchy(keras.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = layers.Dense(2), layers.Dense(2)

        def call(self, inputs):
            return self.a(inputs) if float(ops.sum(inputs).item()) > 0 else self.b(inputs)

    x = np.concatenate([np.ones((4, 3)), -np.ones((4, 3))])
    y = rng.random((8, 2))
    runs = []
    for eager in (False, True):
        keras.set_seed(0)
        model = float64(Branchy)
        model.compile(keras.optimizers.SGD(0.1), "mse", run_eagerly=eager)
        runs.append([model.train_on_batch(x[i:i + 4], y[i:i + 4]) for i in (0, 4, 0, 4)] + model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_add_loss_is_part_of_the_training_loss(rng):
    inputs = keras.Input(shape=(4,))
    outputs = ActivityRegularization(rate=10.0)(layers.Dense(2)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "mse")
    x, y = rng.random((8, 4)).astype(np.float32), np.zeros((8, 2), np.float32)
    pred = model.predict(x)
    expected = np.mean((pred - y) ** 2) + 10.0 * pred.mean()
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_gradient_tape_training_loop(rng):
    """The seeds' training loop: GradientTape, tape.gradient, optimizer.apply_gradients."""
    x = rng.random((64, 4)).astype(np.float32)
    y = x[:, :3].argmax(axis=1)  # learnable labels: random ones made the loss's fall depend on the init
    keras.set_seed(0)  # the weights' init did not depend on the tests run before this one
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(16, activation="relu"), layers.Dense(3)])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(0.05)
    first = None
    for step in range(30):
        with keras.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        first = float(loss.data) if first is None else first
    assert float(loss.data) < 0.8 * first
    assert all(w.grad is None for w in model.trainable_weights)  # the tape leaves .grad alone


def test_gradient_tape_watch_persistent_and_several_targets():
    x = keras.Tensor([2.0, 3.0])
    with keras.GradientTape(persistent=True) as tape:
        tape.watch(x)
        square, triple = (x * x).sum(), (x * 3.0).sum()
    np.testing.assert_allclose(tape.gradient(square, x).numpy(), [4.0, 6.0])
    np.testing.assert_allclose(tape.gradient([square, triple], [x])[0].numpy(), [7.0, 9.0])
    unused = keras.Tensor([1.0], requires_grad=True)
    assert tape.gradient(square, [x, unused])[1] is None
    with keras.GradientTape() as once:
        once.watch(x)
        y = (x * x).sum()
    once.gradient(y, x)
    with pytest.raises(RuntimeError, match="persistent"):
        once.gradient(y, x)


class CustomFitModel(keras.Model):
    """Keras's guide 'Customizing what happens in fit()': train_step with a tape and compute_loss."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(1)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def call(self, inputs):
        return self.dense(inputs)

    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.loss_tracker.update_state(loss)
        for metric in self.metrics:
            metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), **{m.name: m.result() for m in self.metrics}}


def test_train_step_override_customizes_fit(rng):
    x = rng.random((100, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = CustomFitModel()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=20, verbose=0)
    assert set(history.history) == {"loss", "mae"}
    assert history.history["loss"][-1] < 0.25 * history.history["loss"][0]


def _described(value):
    """A structure of arrays as its types, keys (in order), shapes and dtypes."""
    if isinstance(value, dict):
        return {key: _described(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_described(item) for item in value)
    return value.shape, str(value.dtype)


class TrainSpy(keras.Model):
    """Records the y (and sample weights) each custom step gets."""

    def train_step(self, data):
        self.seen.append(("train",) + tuple(_described(part) for part in data[1:]))
        return {"loss": 0.0}


class StepSpy(TrainSpy):
    def test_step(self, data):
        self.seen.append(("test",) + tuple(_described(part) for part in data[1:]))
        return {"loss": 0.0}


def two_output_spy(spy=StepSpy):
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    joined = layers.Concatenate()([a, b])
    model = spy([a, b], [layers.Dense(1, name="p")(joined), layers.Dense(2, name="q")(joined)])
    model.compile("sgd", loss={"p": "mse", "q": "mse"})
    model.seen = []
    return model


@pytest.mark.parametrize("as_given", [lambda p, q: {"q": q, "p": p}, lambda p, q: (p, q), lambda p, q: [p, q]])
def test_custom_steps_get_y_as_given(as_given):
    """Keras 3.15 hands train_step and test_step y in the user's structure (a dict with its keys in the user's
    order, a tuple, a list), each array in its own shape and integer dtype, floats as float32."""
    x = [np.ones((4, 3)), np.ones((4, 2))]
    y = as_given(np.zeros(4, "int64"), np.ones((4, 2)))
    model = two_output_spy()
    model.fit(x, y, batch_size=4, verbose=0)
    model.evaluate(x, y, batch_size=4, verbose=0)
    model.test_on_batch(x, y)
    model.train_on_batch(x, y, sample_weight=np.ones(4))
    p, q = ((4,), "int64"), ((4, 2), "float32")
    given = as_given(p, q)
    assert model.seen == [("train", given), ("test", given), ("test", given), ("train", given, ((4,), "float32"))]
    assert [list(seen[1]) for seen in model.seen] == [list(given)] * 4  # dict keys in the user's order


def test_a_list_of_numbers_is_one_target_array_for_a_custom_step():
    inputs = keras.Input((2,))
    model = StepSpy(inputs, layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    model.seen = []
    for y in ([1.0, 2.0, 3.0, 4.0], list(np.ones(4))):  # NumPy scalars have a shape, (), but are no arrays
        model.fit(np.ones((4, 2)), y, verbose=0)
    assert model.seen == [("train", ((4,), "float32"))] * 2


class DataSpy(keras.Model):
    """Keeps what each custom train_step gets."""

    def train_step(self, data):
        self.data.append(data)
        return {"loss": 0.0}


def data_spy(inputs, loss=None):
    joined = layers.Concatenate()(inputs) if isinstance(inputs, list) else inputs
    outputs = [layers.Dense(1, name=name)(joined) for name in ("a", "b")]
    model = DataSpy(inputs, outputs)
    model.compile("sgd", loss)
    model.data = []
    return model


def test_a_custom_step_gets_x_alone_without_y_as_keras_packs_it():
    """Keras 3.15: x itself with no y (a VAE's train_step reads data as x), sample weights without y dropped
    (Keras's pack_x_y_sample_weight), and x of several inputs in a 1-tuple."""
    x = np.ones((4, 2), np.float32)
    model = data_spy(keras.Input((2,)))
    model.fit(x, batch_size=4, verbose=0)
    model.fit(x, sample_weight=np.ones(4), batch_size=4, verbose=0)
    for bare in model.data:
        assert isinstance(bare, np.ndarray) and bare.shape == (4, 2)
    a, b = keras.Input((2,)), keras.Input((3,))
    two_inputs = data_spy([a, b])
    two_inputs.fit([x, np.ones((4, 3))], batch_size=4, verbose=0)
    (packed,) = two_inputs.data
    assert isinstance(packed, tuple) and len(packed) == 1 and [v.shape for v in packed[0]] == [(4, 2), (4, 3)]


def test_a_namedtuple_y_reaches_a_custom_step_as_that_namedtuple():
    Targets = collections.namedtuple("Targets", "a b")
    model = data_spy(keras.Input((2,)), ["mse", "mse"])
    model.fit(np.ones((4, 2)), Targets(np.ones(4), np.zeros(4)), batch_size=4, verbose=0)
    y = model.data[0][1]
    assert type(y) is Targets and y.a.shape == (4,) and y.b.dtype == np.float32


def test_validation_split_gives_the_model_s_own_test_step_its_targets():
    """Only train_step is custom: the held-out part still reaches the built-in evaluation as targets per output."""
    model = two_output_spy(TrainSpy)
    history = model.fit([np.ones((8, 3)), np.ones((8, 2))], {"q": np.ones((8, 2)), "p": np.zeros(8)},
                        batch_size=4, validation_split=0.5, verbose=0)
    assert len(model.seen) == 1 and {"val_loss", "val_p_loss", "val_q_loss"} <= set(history.history)


def test_custom_classes_save_and_load_by_registered_name(rng, tmp_path):
    @keras.saving.register_keras_serializable(package="Tests")
    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs):
            return inputs * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, Linear(2)(Scale(3.0)(inputs)))
    x = rng.random((4, 3)).astype(np.float32)
    model.save(tmp_path / "custom.keras")
    config = model.get_config()
    assert any(spec.get("registered_name") == "Tests>Scale" for spec in config["layers"])
    loaded = keras.saving.load_model(tmp_path / "custom.keras")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    subclassed = CustomModel(hidden=5)
    subclassed(np.ones((1, 4)))
    clone = CustomModel.from_config(subclassed.get_config())
    assert clone.hidden == 5


def test_keras_ops_basics():
    x = ops.convert_to_tensor([[1.0, -2.0], [3.0, 4.0]])
    assert ops.shape(x) == (2, 2)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.relu(x)), [[1, 0], [3, 4]])
    np.testing.assert_allclose(ops.convert_to_numpy(ops.mean(ops.square(x))), 7.5)
    np.testing.assert_allclose(ops.softmax(x).numpy().sum(axis=-1), [1, 1], rtol=1e-6)
    assert ops.cast(x, "float64").dtype == np.float64 and ops.ones((2, 3)).shape == (2, 3)
    np.testing.assert_array_equal(ops.argmax(x, axis=-1).numpy(), [0, 1])
    assert ops.concatenate([x, x], axis=0).shape == (4, 2) and ops.reshape(x, (4,)).shape == (4,)


def test_callbacks_see_test_and_predict_hooks_in_order(rng):
    events = []

    class Spy(keras.callbacks.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                events.append(name)
            return super().__getattribute__(name)

    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = rng.random((4, 2)), rng.random((4, 1))
    model.fit(x, y, batch_size=4, validation_data=(x, y), callbacks=[Spy()], verbose=0)
    assert events == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_batch_begin",  # its alias
                      "on_train_batch_end", "on_batch_end", "on_test_begin", "on_test_batch_begin",
                      "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end"]
    events.clear()
    model.evaluate(x, y, batch_size=4, callbacks=[Spy()], verbose=0)
    model.predict(x, batch_size=4, callbacks=[Spy()])
    assert events == ["on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
                      "on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"]


def test_on_train_end_receives_the_final_logs(rng):
    final = {}
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(rng.random((4, 2)), rng.random((4, 1)), epochs=2, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_train_end=lambda logs: final.update(logs))])
    assert set(final) == {"loss"}


def test_a_model_subclass_called_with_inputs_and_outputs_is_functional(rng):
    """Keras's guide: class CustomModel(keras.Model) with a train_step, built as CustomModel(inputs, outputs)."""
    inputs = keras.Input(shape=(3,))

    steps = []

    class StepCounting(keras.Model):
        def train_step(self, data):
            steps.append(1)
            x, y = data
            with keras.GradientTape() as tape:
                loss = self.compute_loss(y=y, y_pred=self(x, training=True))
            self.optimizer.apply_gradients(zip(tape.gradient(loss, self.trainable_weights), self.trainable_weights))
            for metric in self.metrics:
                metric.update_state(loss) if metric.name == "loss" else None
            return {m.name: m.result() for m in self.metrics}

    model = StepCounting(inputs, layers.Dense(1)(inputs))
    assert isinstance(model, StepCounting) and len(model.layers) == 2
    model.compile("sgd", "mse")
    history = model.fit(rng.random((20, 3)), rng.random((20, 1)), batch_size=10, epochs=2, verbose=0)
    assert len(steps) == 4 and set(history.history) == {"loss"}


def test_sequential_has_symbolic_inputs_for_feature_extraction(rng):
    """Keras's guide: a model of the intermediate outputs of a Sequential model."""
    initial = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    extractor = keras.Model(inputs=initial.inputs, outputs=[layer.output for layer in initial.layers])
    x = rng.random((3, 6)).astype(np.float32)
    hidden, final = extractor.predict(x)
    np.testing.assert_allclose(final, initial.predict(x), rtol=1e-6)
    assert hidden.shape == (3, 4)


def test_from_config_takes_custom_objects(rng):
    class Doubler(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, Doubler(name="doubler")(inputs))
    config = model.get_config()
    config["layers"][1]["class_name"] = "Renamed"  # as if saved under another name
    rebuilt = keras.Model.from_config(config, custom_objects={"Renamed": Doubler})
    np.testing.assert_allclose(rebuilt.predict(np.ones((1, 2))), [[2.0, 2.0]])


def test_keras_random_in_a_layer_draws_anew_at_every_replayed_step(rng):
    """The VAE guide's Sampling layer: noise from keras.random inside call() must differ per step."""
    seen = []

    class Noisy(keras.layers.Layer):
        def call(self, inputs):
            noise = keras.random.normal(shape=(1, 2))
            return inputs + noise

    class Spy(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs["loss"])

    model = keras.Sequential([keras.Input(shape=(2,)), Noisy()])
    model.compile("sgd", "mse")
    x = np.zeros((8, 2), np.float32)
    model.fit(x, x, batch_size=2, epochs=1, shuffle=False, callbacks=[Spy()], verbose=0)
    losses = np.diff([0.0] + [v * (i + 1) for i, v in enumerate(seen)])  # each step's own loss
    assert len(set(np.round(losses, 6))) == len(losses) and len(model._plans) == 1


def test_ops_one_hot_and_lowercase_regularizers():
    np.testing.assert_array_equal(ops.one_hot(np.array([2, 0]), 3).numpy(), [[0, 0, 1], [1, 0, 0]])
    assert keras.regularizers.l2(1e-4).l2 == 1e-4


def test_model_checkpoint_every_n_batches(tmp_path, rng):
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    path = tmp_path / "ckpt.weights.sg"
    saved = []
    checkpoint = keras.callbacks.ModelCheckpoint(str(path), save_weights_only=True, save_freq=2)
    checkpoint._save = lambda epoch, logs: saved.append(epoch)
    model.fit(rng.random((8, 2)), rng.random((8, 1)), batch_size=2, epochs=2, callbacks=[checkpoint], verbose=0)
    assert saved == [0, 0, 1, 1]


def test_fit_and_evaluate_take_a_py_dataset(rng):
    x, y = rng.random((40, 3)).astype(np.float32), rng.random((40, 1)).astype(np.float32)

    class Batches(keras.utils.PyDataset):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[i * 10:(i + 1) * 10], y[i * 10:(i + 1) * 10]

    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(Batches(workers=2), epochs=2, verbose=0)
    assert model.evaluate(Batches(), verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
    assert model.predict(Batches()).shape == (40, 1)


def test_a_keras_style_custom_loss_with_call(rng):
    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
            reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(2)])
    model.compile("adam", loss=CustomMSE())
    x, y = rng.random((8, 3)).astype(np.float32), rng.random((8, 2)).astype(np.float32)
    pred = model.predict(x)
    expected = np.mean(np.mean((y - pred) ** 2, -1) + 0.1 * np.mean((0.5 - pred) ** 2, -1))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_more_keras_ops(rng):
    x = keras.Tensor(rng.normal(size=(3, 4)), dtype="float64", requires_grad=True)
    data = x.numpy()
    np.testing.assert_allclose(ops.cumsum(x, axis=1).numpy(), np.cumsum(data, axis=1))
    np.testing.assert_allclose(ops.std(x, axis=0).numpy(), data.std(axis=0))
    np.testing.assert_allclose(ops.logsumexp(x, axis=1).numpy(), np.log(np.exp(data).sum(axis=1)))
    np.testing.assert_allclose(ops.tile(x, (1, 2)).numpy(), np.tile(data, (1, 2)))
    for fn in (lambda t: ops.cumsum(t, axis=1), lambda t: ops.logsumexp(t, axis=0), lambda t: ops.std(t, axis=1),
               lambda t: ops.tile(t, 2)):
        assert keras.gradcheck(fn, x)
    assert ops.sign(x).numpy().tolist() == np.sign(data).tolist() and ops.argmin(x, axis=1).shape == (3,)


class PenalizedOutput(keras.Model):
    """Trained by add_loss alone."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)

    def call(self, x):
        y = self.dense(x)
        self.add_loss(keras.ops.mean(y ** 2))
        return y


def test_metrics_on_an_output_without_a_loss_are_refused_with_what_to_do(rng):
    x, y = rng.random((16, 3)).astype(np.float32), rng.random((16, 1)).astype(np.float32)
    model = PenalizedOutput()
    model.compile("sgd", metrics=["mae"])
    with pytest.raises(ValueError, match=r"metrics on outputs \['output'\], which have no loss.*loss_weights 0"):
        model.fit(x, y, verbose=0)  # it was a KeyError from inside fit
    model = PenalizedOutput()
    model.compile("sgd", loss="mse", loss_weights=0.0, metrics=["mae"])
    assert set(model.fit(x, y, verbose=0).history) == {"loss", "mae"}


# ---- InputSpec and Wrapper, as Keras's guide uses them -----------------------------------------------------
class Scale(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: 3})

    def call(self, x):
        return x * 2.0


def test_input_spec_checks_each_call_as_keras_words_it():
    layer = Scale(name="scale")
    assert layer(np.ones((2, 3), np.float32)).shape == (2, 3)
    with pytest.raises(ValueError, match='Input 0 of layer "scale" is incompatible with the layer: expected '
                                         r"min_ndim=2, found ndim=1. Full shape received: \(3,\)"):
        layer(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(keras.Input((5,)))  # also while a functional model is built
    assert layer(keras.Input((7, 3))).shape == (None, 7, 3)


@pytest.mark.parametrize("spec, shape, message", [
    ({"ndim": 3}, (2, 3), "expected ndim=3, found ndim=2"),
    ({"max_ndim": 2}, (1, 2, 3), "expected max_ndim=2, found ndim=3"),
    ({"shape": (None, 4)}, (2, 3), r"expected shape=\(None, 4\), found shape=\(2, 3\)"),
    ({"dtype": "int64"}, (2, 3), "expected dtype=int64, found dtype=float32"),
])
def test_input_spec_refusals(spec, shape, message):
    layer = layers.Identity()
    layer.input_spec = keras.layers.InputSpec(**spec)
    with pytest.raises(ValueError, match=message):
        layer(np.zeros(shape, np.float32))
    two = layers.Add()
    two.input_spec = [keras.layers.InputSpec(ndim=2)] * 3
    with pytest.raises(ValueError, match="expects 3 input\\(s\\), but it received 2 input tensors"):
        two([np.zeros((1, 2), np.float32)] * 2)
    assert keras.layers.InputSpec(ndim=2, allow_last_axis_squeeze=True).ndim == 2


class Doubled(keras.layers.Wrapper):
    """A user's wrapper: the wrapped layer's output, twice."""

    def call(self, x):
        return self.layer(x) * 2.0


def test_a_user_s_wrapper_builds_trains_and_saves_its_layer(rng):
    model = keras.Sequential([keras.Input((3,)), Doubled(layers.Dense(2), name="doubled")])
    x = rng.random((4, 3)).astype(np.float32)
    dense = model.layers[0].layer
    assert dense.built and len(model.trainable_weights) == 2
    np.testing.assert_allclose(model.predict(x, verbose=0), 2 * dense(x).numpy(), rtol=1e-6)
    with keras.saving.custom_object_scope({"Doubled": Doubled}):
        clone = keras.models.clone_model(model)
    assert isinstance(clone.layers[0].layer, layers.Dense) and clone.layers[0].layer.units == 2
    assert isinstance(layers.TimeDistributed(layers.Dense(2)), keras.layers.Wrapper)
    with pytest.raises(ValueError, match="Doubled wraps a Layer, got 3"):
        Doubled(3)


def test_input_spec_checks_inputs_as_the_layer_takes_them_and_takes_keras_s_specs():
    layer = layers.Identity()
    layer.input_spec = keras.layers.InputSpec(dtype="float32", axes={-1: 4})
    assert layer(np.ones((2, 5, 4))).dtype == np.float32  # float64 data becomes the layer's float32 first
    keras.layers.InputSpec(max_ndim=4, axes={-1: 3})  # Keras takes these
    keras.layers.InputSpec(min_ndim=2, axes={3: 3})
    with pytest.raises(ValueError, match="axis 4 is greater than the maximum allowed value: 3"):
        keras.layers.InputSpec(ndim=4, axes={4: 3})
    layer.input_spec = keras.layers.InputSpec(min_ndim=1, axes={3: 3})
    with pytest.raises(ValueError, match="expected axis 3 of input shape to have value 3"):
        layer(np.ones((2, 3), np.float32))
    layer.input_spec = keras.layers.InputSpec(shape=(None, 28, 28, 1), allow_last_axis_squeeze=True)
    assert layer(np.ones((2, 28, 28), np.float32)).shape == (2, 28, 28)
    with pytest.raises(ValueError, match="expected shape"):
        layer(np.ones((2, 28, 27), np.float32))
