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
        sg.losses.get("mse")(y, model(x)).mean().backward()  # a user's backward() leaves .grad behind
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

    assert type(sg.losses.resolve("mse")) is sg.losses.MeanSquaredError
    assert type(sg.losses.get("mse_variant")) is MeanSquaredErrorVariant
    assert type(sg.optimizers.get("sgd")) is sg.optimizers.SGD
    assert L.LAYERS["Dense"] is sg.layers.Dense


# ---- found in review of keras.Model and the vocabulary -----------------------------------------------------
def test_a_frozen_batch_norm_runs_in_inference_mode(rng):
    model = Sequential([L.Input(shape=(3,)), L.BatchNormalization(), L.Dense(1)])
    model.layers[0].trainable = False
    model.compile("sgd", "mse")
    model.fit(rng.normal(size=(16, 3)), rng.normal(size=(16, 1)), verbose=0)
    assert not model.layers[0].moving_mean.numpy().any()  # Keras: frozen BN keeps its statistics


def test_class_weight_with_several_outputs_is_refused(rng):
    inputs = L.Input(shape=(2,))
    model = sg.Model(inputs, [L.Dense(2, activation="softmax")(inputs), L.Dense(1)(inputs)])
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"])
    with pytest.raises(ValueError, match="single output"):
        model.fit(rng.normal(size=(8, 2)), [rng.integers(0, 2, 8), rng.normal(size=(8, 1))],
                  class_weight={0: 1.0, 1: 2.0}, verbose=0)


def weighted_binary_model():
    inputs = L.Input(shape=(2,))
    dense = L.Dense(1, activation="sigmoid")
    model = sg.Model(inputs, dense(inputs))
    dense.set_weights([np.array([[0.3], [-0.2]], np.float32), np.zeros(1, np.float32)])
    model.compile("sgd", "binary_crossentropy")
    return model


WEIGHTED = np.arange(12, dtype=np.float32).reshape(6, 2) / 10, np.array([0, 1, 1, 0, 1, 0], np.float32)


def test_class_weight_and_sample_weight_together_are_refused_as_in_keras():
    """Keras 3.15 refuses the two together in fit and train_on_batch (it multiplied them here)."""
    x, y = WEIGHTED
    model = weighted_binary_model()
    for fit in (model.fit, model.train_on_batch):
        with pytest.raises(ValueError, match="class_weight and sample_weight cannot be given together"):
            fit(x, y, class_weight={0: 2.0, 1: 0.5}, sample_weight=np.ones(6))


def test_class_weight_weights_every_epoch_of_a_dataset():
    """A PyDataset's batches are read again each epoch; the class weights applied to the first epoch only.
    Keras 3.15 gives the arrays' losses for both."""
    x, y = WEIGHTED

    class Batches(sg.utils.PyDataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            return x, y

    keras_losses = [0.8801589, 0.8775492, 0.8749685]
    for given in ((x, y), (Batches(),)):  # one batch of all 6 samples either way
        history = weighted_binary_model().fit(*given, epochs=3, shuffle=False, verbose=0, class_weight={0: 2.0, 1: 0.5})
        np.testing.assert_allclose(history.history["loss"], keras_losses, rtol=1e-6)


def test_a_py_dataset_is_read_every_epoch(rng):
    calls = []
    x, y = rng.normal(size=(8, 2)).astype(np.float32), rng.normal(size=(8, 1)).astype(np.float32)

    class Data(sg.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            calls.append(i)
            return x[4 * i:4 * i + 4], y[4 * i:4 * i + 4]

    model = Sequential([L.Input(shape=(2,)), L.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(Data(), epochs=3, verbose=0)
    assert len(calls) == 6


def test_fit_takes_a_generator_with_steps_per_epoch_as_keras(rng):
    """An endless generator gives steps_per_epoch batches per epoch and trains exactly as those arrays."""
    x, y = rng.normal(size=(24, 2)).astype(np.float32), rng.normal(size=(24, 1)).astype(np.float32)

    def batches():
        while True:
            for i in range(0, 24, 8):
                yield x[i:i + 8], y[i:i + 8]

    runs = []
    for data in ((batches(),), (x, y)):
        sg.set_seed(0)
        model = Sequential([L.Input(shape=(2,)), L.Dense(1)])
        model.compile("sgd", "mse")
        kwargs = {"steps_per_epoch": 3} if len(data) == 1 else {"batch_size": 8, "shuffle": False}
        runs.append(model.fit(*data, epochs=2, verbose=0, **kwargs).history["loss"])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-6)


def test_an_exhausted_generator_ends_training_with_keras_warning(rng):
    x, y = rng.normal(size=(8, 2)).astype(np.float32), rng.normal(size=(8, 1)).astype(np.float32)
    model = Sequential([L.Input(shape=(2,)), L.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(((x[i:i + 4], y[i:i + 4]) for i in (0, 4)), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1
    with pytest.raises(ValueError, match="no batches"):
        model.evaluate(iter([]), verbose=0)


def test_fit_evaluate_predict_take_a_torch_data_loader(rng):
    torch = pytest.importorskip("torch")
    x, y = rng.normal(size=(12, 2)).astype(np.float32), rng.normal(size=(12, 1)).astype(np.float32)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=4)  # yields lists [x, y]: taken as (x, y), as Keras does
    model = Sequential([L.Input(shape=(2,)), L.Dense(1)])
    model.compile("sgd", "mse")
    assert len(model.fit(loader, epochs=2, verbose=0).history["loss"]) == 2  # a fresh pass every epoch
    assert model.evaluate(loader, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
    np.testing.assert_allclose(model.predict(loader), model.predict(x), rtol=1e-6)


def test_a_shared_layer_adds_its_loss_at_every_call(rng):
    class Penalty(L.Layer):
        def call(self, inputs):
            self.add_loss(sg.ops.mean(inputs))
            return inputs

    shared = Penalty()
    a = L.Input(shape=(2,))
    model = sg.Model(a, L.add([shared(a), shared(L.Dense(2)(a))]))
    model(np.ones((1, 2), np.float32))
    assert len(model.losses) == 2


def test_dict_outputs_are_named_by_their_keys(rng):
    inputs = L.Input(shape=(3,))
    model = sg.Model(inputs, {"price": L.Dense(1)(inputs), "score": L.Dense(1)(inputs)})
    model.compile("sgd", {"price": "mse", "score": "mae"})
    history = model.fit(rng.normal(size=(8, 3)), {"price": rng.normal(size=(8, 1)), "score": rng.normal(size=(8, 1))},
                        verbose=0)
    assert set(history.history) == {"loss", "price_loss", "score_loss"}


def test_a_saved_subclassed_model_loads(rng, tmp_path):
    @sg.saving.register_keras_serializable(package="Regressions")
    class Tiny(sg.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units, self.dense = units, L.Dense(units)

        def call(self, inputs):
            return self.dense(inputs)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    model = Tiny(4)
    model.compile("adam", "mse")
    x = rng.normal(size=(6, 2)).astype(np.float32)
    model.fit(x, rng.normal(size=(6, 4)), verbose=0)
    model.save(tmp_path / "tiny.sg")
    np.testing.assert_array_equal(sg.load_model(tmp_path / "tiny.sg").predict(x), model.predict(x))


def test_keras_ops_take_plain_arrays():
    np.testing.assert_allclose(sg.ops.matmul(np.eye(2), np.ones((2, 2))).numpy(), np.ones((2, 2)))
    assert sg.ops.stack([np.ones(2), np.zeros(2)]).shape == (2, 2)


def test_weighted_metric_names_follow_keras_with_several_outputs(rng):
    inputs = L.Input(shape=(2,))
    model = sg.Model(inputs, [L.Dense(2, activation="softmax", name="c")(inputs), L.Dense(1, name="r")(inputs)])
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"], metrics=[["accuracy"], []],
                  weighted_metrics=[["accuracy"], []])
    logs = model.evaluate(rng.normal(size=(8, 2)), [rng.integers(0, 2, 8), rng.normal(size=(8, 1))],
                          sample_weight=np.ones(8), return_dict=True, verbose=0)
    assert {"c_accuracy", "c_weighted_accuracy"} <= set(logs)
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"], metrics=[["accuracy"], []])
    assert "c_accuracy" in model.evaluate(rng.normal(size=(8, 2)), [rng.integers(0, 2, 8), rng.normal(size=(8, 1))],
                                          return_dict=True, verbose=0)


# ---- found in review of the latest additions ---------------------------------------------------------------
def test_get_file_refuses_archives_that_escape_their_folder(tmp_path):
    import io
    import tarfile

    folder = tmp_path / "datasets"
    folder.mkdir()
    with tarfile.open(folder / "evil.tar.gz", "w:gz") as archive:
        data = b"escaped"
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises(ValueError, match="outside"):
        sg.utils.get_file("evil.tar.gz", cache_dir=tmp_path, extract=True)
    assert not (tmp_path / "escaped.txt").exists()


def test_conv2d_transpose_when_the_kernel_is_smaller_than_the_stride():
    x = np.ones((2, 5, 6, 3), np.float32)
    assert L.Conv2DTranspose(4, 1, strides=2, padding="same")(x).shape == (2, 10, 12, 4)  # Keras's shapes
    assert L.Conv2DTranspose(4, 2, strides=3)(x).shape == (2, 15, 18, 4)


def test_center_crop_and_random_flip_take_one_image(rng):
    image = rng.random((7, 6, 1)).astype(np.float32)
    assert L.CenterCrop(4, 3)(image).shape == (4, 3, 1)
    flipped = L.RandomFlip("horizontal")(image, training=True).numpy()
    assert np.array_equal(flipped, image) or np.array_equal(flipped, image[:, ::-1])


def test_backup_restores_a_learning_rate_a_callback_changed(tmp_path, rng):
    x, y = rng.random((16, 2)), rng.random((16, 1))

    def model():
        sg.set_seed(0)
        m = Sequential([L.Input(shape=(2,)), L.Dense(1)])
        m.compile(sg.optimizers.SGD(0.1), "mse")
        return m

    halve = sg.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)

    class Crash(sg.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    reference = model()
    reference.fit(x, y, epochs=5, shuffle=False, callbacks=[halve], verbose=0)
    backup = sg.callbacks.BackupAndRestore(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        model().fit(x, y, epochs=5, shuffle=False, callbacks=[halve, backup, Crash()], verbose=0)
    resumed = model()
    resumed.fit(x, y, epochs=5, shuffle=False, callbacks=[halve, backup], verbose=0)
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_logsumexp_tile_and_numpy_constants_on_symbolic_tensors(tmp_path):
    assert sg.ops.logsumexp(np.array([-np.inf, -np.inf])).item() == -np.inf
    assert sg.ops.logsumexp(np.array([np.inf, 1.0])).item() == np.inf
    assert sg.ops.tile(np.ones((2, 3)), (2, 1, 2)).shape == (2, 2, 6)
    assert sg.ops.tile(np.ones((2, 3)), (0, 1)).shape == (0, 3)
    inputs = L.Input(shape=(3,))
    model = sg.Model(inputs, inputs * np.float32(1.5) + np.array([1.0, 2.0, 3.0]))
    model.compile("sgd", "mse")
    model.save(tmp_path / "constants.sg")
    np.testing.assert_allclose(sg.load_model(tmp_path / "constants.sg").predict(np.ones((1, 3))), [[2.5, 3.5, 4.5]])


def test_split_dataset_rounds_and_checks_sizes():
    left, right = sg.utils.split_dataset(np.arange(10), left_size=0.29)
    assert len(left) == 3 and len(right) == 7  # Keras rounds
    with pytest.raises(ValueError, match="empty"):
        sg.utils.split_dataset(np.arange(10), left_size=12)


def test_npz_reader_checks_sizes_before_allocating(tmp_path):
    import io
    import zipfile

    from scratchgrad.datasets import CorruptDatasetError
    from scratchgrad.datasets._npz import load_npz

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**9,)})
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", header.getvalue() + b"\0" * 16)
    with pytest.raises(CorruptDatasetError, match="declares"):
        load_npz(path)
    flags = np.empty(1, dtype=object)
    flags[0] = [True, False]  # booleans are not word indices
    np.savez(tmp_path / "bools.npz", x=flags)
    with pytest.raises(CorruptDatasetError, match="lists of integers"):
        load_npz(tmp_path / "bools.npz")


def test_calling_build_yourself_builds_the_layer():
    dense = L.Dense(3)
    dense.build((None, 4))
    kernel = dense.kernel
    dense(np.ones((2, 4), np.float32))
    assert dense.built and dense.kernel is kernel


def test_losses_get_gives_keras_functions_and_classes():
    """keras.losses.get("huber") is the per-sample function, get("Huber") a Loss; compile takes either and
    still fuses a function's class with the output activation."""
    y_true, y_pred = np.array([[0.0, 2.0], [1.0, 1.0]], "float32"), np.array([[0.5, 0.0], [1.0, 3.0]], "float32")
    huber = sg.losses.get("huber")
    assert huber is sg.losses.huber and huber.__name__ == "huber"
    np.testing.assert_allclose(huber(y_true, y_pred).numpy(), [(0.125 + 1.5) / 2, 1.5 / 2])  # one per sample
    assert isinstance(sg.losses.get("Huber"), sg.losses.Huber)
    assert sg.losses.get("mse") is sg.losses.mean_squared_error is sg.losses.mse
    np.testing.assert_allclose(sg.losses.mean_squared_error(y_true, y_pred).numpy(), [(0.25 + 4) / 2, 2])
    assert sg.losses.categorical_crossentropy(np.eye(2), np.array([[4.0, 1.0], [0.0, 2.0]]),
                                              from_logits=True).shape == (2,)
    model = Sequential([L.Input(shape=(2,)), L.Dense(3, activation="softmax")])
    model.compile("sgd", sg.losses.get("sparse_categorical_crossentropy"))
    assert isinstance(model.loss, sg.losses.SparseCategoricalCrossentropy)  # fused, not a wrapped callable
