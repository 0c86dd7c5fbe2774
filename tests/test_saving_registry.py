"""keras.saving's object registration as Keras 3 has it: load_model(custom_objects=...), registered
functions (as activations, losses, metrics), custom_object_scope, get_registered_object/name and
serialize/deserialize_keras_object. Names in a file only ever map to objects the caller registered or
passed: a file naming anything else fails cleanly, importing nothing."""
import json
import sys
import zipfile

import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad import object_registration
from scratchgrad.layers import LAYERS
from scratchgrad.models import ModelFileError

FORMATS = ["scratchgrad", "keras"]


@pytest.fixture(autouse=True)
def clean_registries():
    """Each test's registrations and classes are forgotten after it (a fresh process forgets them too)."""
    registries = (object_registration._CUSTOM_OBJECTS, object_registration._CUSTOM_NAMES, LAYERS,
                  keras.initializers.CLASSES, keras.initializers.INITIALIZERS)
    saved = [dict(registry) for registry in registries]
    yield
    for live, old in zip(registries, saved):
        live.clear()
        live.update(old)


def save(model, tmp_path, fmt, name="model"):
    if fmt == "keras":
        pytest.importorskip("h5py")
        path = tmp_path / f"{name}.keras"
        model.save(path, format="keras")
    else:
        path = tmp_path / f"{name}.sg"
        model.save(path)
    return path


def forget(cls):
    """As in a fresh process that has not defined the class: it is in no registry."""
    del LAYERS[cls.__name__]


def make_encoder_class():
    class TransformerEncoder(keras.layers.Layer):  # the book's custom layer: weights and a config
        def __init__(self, units=4, scale=1.5, **kwargs):
            super().__init__(**kwargs)
            self.units, self.scale = units, scale
            self.dense = keras.layers.Dense(units, activation="relu")

        def call(self, inputs):
            return self.dense(inputs) * self.scale

        def get_config(self):
            return {**super().get_config(), "units": self.units, "scale": self.scale}
    return TransformerEncoder


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_model_takes_custom_objects_for_an_unregistered_layer(fmt, tmp_path, rng):
    encoder = make_encoder_class()
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(encoder(units=5, scale=0.5)(inputs)))
    x = rng.normal(size=(4, 3)).astype(np.float32)
    path = save(model, tmp_path, fmt)
    forget(encoder)
    with pytest.raises(ModelFileError, match="unknown layer class 'TransformerEncoder'"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"TransformerEncoder": encoder})
    assert type(loaded.layers[1]) is encoder and loaded.layers[1].units == 5 and loaded.layers[1].scale == 0.5
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # Keras 3's signature, keywords and positions both; safe_mode changes nothing (no code is run from a file)
    again = keras.saving.load_model(path, {"TransformerEncoder": encoder}, False, safe_mode=False)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_load_model_checks_its_arguments(tmp_path):
    path = save(keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)]), tmp_path, "scratchgrad")
    with pytest.raises(TypeError, match="custom_objects must be a dict.*got list"):
        keras.models.load_model(path, custom_objects=[make_encoder_class()])
    with pytest.raises(TypeError, match=r"keys must be the names \(str\).*got 3"):
        keras.models.load_model(path, custom_objects={3: make_encoder_class()})
    with pytest.raises(TypeError, match="safe_mode"):
        keras.models.load_model(path, safe_mode="no")


def test_a_custom_object_of_the_wrong_kind_is_refused(tmp_path):
    encoder = make_encoder_class()
    model = keras.Sequential([keras.Input(shape=(3,)), encoder()])
    path = save(model, tmp_path, "scratchgrad")
    forget(encoder)
    with pytest.raises(ModelFileError, match="'TransformerEncoder' .* must name a Layer subclass"):
        keras.models.load_model(path, custom_objects={"TransformerEncoder": np.tanh})


def test_register_keras_serializable_takes_functions():
    @keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x * 2

    @keras.saving.register_keras_serializable()
    def other(x):
        return x

    assert keras.saving.get_registered_name(custom_fn) == "my_package>custom_fn"
    assert keras.saving.get_registered_object("my_package>custom_fn") is custom_fn
    assert keras.saving.get_registered_name(other) == "Custom>other"
    assert keras.saving.get_custom_objects()["Custom>other"] is other
    assert keras.utils.get_registered_object("my_package>custom_fn") is custom_fn  # keras.utils has them too
    assert keras.utils.register_keras_serializable is keras.saving.register_keras_serializable


def test_get_registered_name_and_object_as_keras():
    def plain(x):
        return x

    assert keras.saving.get_registered_name(plain) == "plain"  # not registered: its __name__
    assert keras.saving.get_registered_name(keras.layers.Dense) == "Dense"
    assert keras.saving.get_registered_object("plain") is None
    assert keras.saving.get_registered_object("plain", custom_objects={"plain": plain}) is plain
    assert keras.saving.get_registered_object("plain", module_objects={"plain": plain}) is plain

    @keras.saving.register_keras_serializable("pkg")
    class Custom(keras.layers.Layer):
        pass

    assert keras.saving.get_registered_name(Custom) == "pkg>Custom"
    assert keras.saving.get_registered_object("pkg>Custom") is Custom
    with pytest.raises(TypeError, match="a class or a function, got int"):
        keras.saving.get_registered_name(3)


def test_register_keras_serializable_checks_what_it_is_given():
    with pytest.raises(TypeError, match="a class or a function, got int"):
        keras.saving.register_keras_serializable()(3)

    class NoConfig:
        pass

    with pytest.raises(ValueError, match="no get_config"):
        keras.saving.register_keras_serializable()(NoConfig)
    with pytest.raises(ValueError, match="package"):
        keras.saving.register_keras_serializable(package="a>b")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_registered_function_as_activation_saves_and_loads(fmt, tmp_path, rng):
    @keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return keras.ops.tanh(x) * 2

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4, activation=custom_fn),
                              keras.layers.Activation(custom_fn)])
    assert model.layers[1].get_config()["activation"] == "my_package>custom_fn"
    x = rng.normal(size=(5, 3)).astype(np.float32)
    loaded = keras.models.load_model(save(model, tmp_path, fmt))
    assert loaded.layers[0].activation is custom_fn and loaded.layers[1].activation is custom_fn
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unregistered_function_is_saved_by_name_and_needs_custom_objects(fmt, tmp_path, rng):
    def halve(x):
        return x * 0.5

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2), keras.layers.Activation(halve)])
    path = save(model, tmp_path, fmt)
    with pytest.raises(ModelFileError, match="unknown activation 'halve'"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"halve": halve})
    x = rng.normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_functions_no_name_can_stand_for_are_refused_at_save(tmp_path):
    def relu(x):  # a built-in's name: the file would load the built-in
        return x

    for fn, message in ((lambda x: x, "lambda"), (relu, "name of a built-in")):
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Activation(fn)])
        with pytest.raises(ValueError, match=message):
            model.save(tmp_path / "refused.sg")
    assert not (tmp_path / "refused.sg").exists()


def test_a_custom_loss_and_metric_function_save_and_load(tmp_path, rng):
    @keras.saving.register_keras_serializable(package="my_package")
    def scaled_mse(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1) * 3.0

    def worst(y_true, y_pred):  # unregistered: needs custom_objects
        return keras.ops.max(keras.ops.abs(y_true - y_pred), axis=-1)

    x, y = rng.normal(size=(16, 3)).astype(np.float32), rng.normal(size=(16, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=scaled_mse, metrics=[worst, "mae"])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.sg")
    with pytest.raises(ModelFileError, match="worst"):
        keras.models.load_model(tmp_path / "m.sg")
    loaded = keras.models.load_model(tmp_path / "m.sg", custom_objects={"worst": worst})
    assert loaded.loss.fn is scaled_mse
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(loaded.fit(x, y, epochs=1, verbose=0).history) == {"loss", "worst", "mae"}


def test_custom_object_scope(tmp_path, rng):
    encoder = make_encoder_class()
    model = keras.Sequential([keras.Input(shape=(3,)), encoder(units=2)])
    path = save(model, tmp_path, "scratchgrad")
    forget(encoder)
    x = rng.normal(size=(2, 3)).astype(np.float32)
    with keras.saving.custom_object_scope({"TransformerEncoder": encoder}) as scope:
        assert isinstance(scope, keras.saving.CustomObjectScope)
        assert keras.saving.get_registered_object("TransformerEncoder") is encoder
        np.testing.assert_array_equal(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))
        with keras.utils.custom_object_scope({"other": np.tanh}):  # Keras 3: an inner scope replaces the outer
            assert keras.saving.get_registered_object("TransformerEncoder") is None
            # load_model's own custom_objects add to the enclosing scope's
            keras.models.load_model(path, custom_objects={"TransformerEncoder": encoder})
        assert keras.saving.get_registered_object("TransformerEncoder") is encoder
    assert keras.saving.get_registered_object("TransformerEncoder") is None
    with pytest.raises(ModelFileError, match="unknown layer class"):
        keras.models.load_model(path)
    with pytest.raises(RuntimeError), keras.utils.CustomObjectScope({"TransformerEncoder": encoder}):
        raise RuntimeError
    assert keras.saving.get_registered_object("TransformerEncoder") is None  # left on an exception too
    with pytest.raises(TypeError, match="custom_objects must be a dict"):
        keras.saving.custom_object_scope([encoder])


def round_trip(obj, **kwargs):
    config = keras.saving.serialize_keras_object(obj)
    json.dumps(config)  # JSON-able
    return config, keras.saving.deserialize_keras_object(config, **kwargs)


def test_serialize_and_deserialize_keras_object_round_trip():
    layer = keras.layers.Dense(3, activation="relu", name="d")
    config, back = round_trip(layer)
    assert config["class_name"] == "Dense" and config["module"] == "keras.layers" and config["registered_name"] is None
    assert type(back) is keras.layers.Dense and back.get_config() == layer.get_config()
    for obj in (keras.losses.Huber(delta=2.0), keras.optimizers.Adam(learning_rate=0.01),
                keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5), keras.initializers.HeNormal(),
                keras.regularizers.L2(0.25), keras.metrics.MeanSquaredError(name="m")):
        _, back = round_trip(obj)
        assert type(back) is type(obj) and back.get_config() == obj.get_config()
    _, metric = round_trip(keras.metrics.MeanSquaredError())  # the module tells the metric from the loss
    assert isinstance(metric, keras.metrics.MeanSquaredError)
    assert round_trip(keras.activations.relu)[1] is keras.activations.relu
    values = {"a": [1, 2.5, None, "x"], "b": True}
    assert round_trip(values)[1] == values
    config, array = round_trip(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert config["class_name"] == "__numpy__" and array.dtype == np.float32 and array.shape == (2, 3)
    assert round_trip(b"ab")[1] == b"ab"
    assert keras.utils.deserialize_keras_object(keras.utils.serialize_keras_object(layer)).units == 3


def test_serialize_and_deserialize_custom_objects():
    @keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x * 2

    config, back = round_trip(custom_fn)
    assert config == {"module": "builtins", "class_name": "function", "config": "my_package>custom_fn",
                      "registered_name": "function"}  # what Keras 3 writes
    assert back is custom_fn
    encoder = make_encoder_class()
    config, back = round_trip(encoder(units=7))
    assert config["registered_name"] == "TransformerEncoder" and back.units == 7
    forget(encoder)
    with pytest.raises(TypeError, match="could not find the class 'TransformerEncoder'"):
        keras.saving.deserialize_keras_object(config)
    assert keras.saving.deserialize_keras_object(config, custom_objects={"TransformerEncoder": encoder}).units == 7
    with keras.saving.custom_object_scope({"TransformerEncoder": encoder}):
        assert keras.saving.deserialize_keras_object(config).units == 7
    with pytest.raises(ValueError, match="never runs code"):
        keras.saving.deserialize_keras_object({"class_name": "__lambda__", "config": {"value": "..."}},
                                              safe_mode=False)
    with pytest.raises(ValueError, match="lambda"):
        keras.saving.serialize_keras_object(lambda x: x)


def make_weight_object_classes():
    """keras.io's custom constraint, regularizer and initializer (Keras's subclasses with a config), unregistered
    (test_keras_files registers them as the twins of its fixture's)."""
    class CenterAround(keras.constraints.Constraint):
        def __init__(self, ref_value):
            self.ref_value = ref_value

        def __call__(self, w):
            return w - w.mean() + w.dtype.type(self.ref_value)

        def get_config(self):
            return {"ref_value": self.ref_value}

    class MyRegularizer(keras.regularizers.Regularizer):
        def __init__(self, strength):
            self.strength = strength

        def __call__(self, x):
            return self.strength * keras.ops.sum(keras.ops.square(x))

        def get_config(self):
            return {"strength": self.strength}

    class ExampleRandomNormal(keras.initializers.Initializer):
        def __init__(self, mean, stddev):
            self.mean, self.stddev = mean, stddev

        def __call__(self, shape, dtype="float32"):
            return keras.initializers.RandomNormal(self.mean, self.stddev)(shape, dtype)

        def get_config(self):
            return {"mean": self.mean, "stddev": self.stddev}
    return CenterAround, MyRegularizer, ExampleRandomNormal


def weight_objects_model(center, regularizer, initializer):
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(
        4, kernel_initializer=initializer, kernel_regularizer=regularizer(0.05), kernel_constraint=center(0.2),
        bias_regularizer=regularizer(0.5))])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


@pytest.mark.parametrize("fmt", FORMATS)
def test_registered_initializer_regularizer_and_constraint_classes_save_load_and_train_on(fmt, tmp_path, rng):
    classes = [keras.saving.register_keras_serializable("my")(cls) for cls in make_weight_object_classes()]
    model = weight_objects_model(*classes[:2], classes[2](0.0, 0.4))
    config = model.layers[0].get_config()
    assert config["kernel_constraint"] == {"class_name": "CenterAround", "config": {"ref_value": 0.2},
                                           "registered_name": "my>CenterAround"}
    assert config["kernel_initializer"]["registered_name"] == "my>ExampleRandomNormal"
    x, y = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 4)).astype(np.float32)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    loaded = keras.models.load_model(save(model, tmp_path, fmt))
    dense = loaded.layers[0]
    assert [type(o) for o in (dense.kernel_constraint, dense.kernel_regularizer, dense.kernel_initializer)] == \
        [classes[0], classes[1], classes[2]]
    assert dense.kernel_regularizer.strength == 0.05 and dense.bias_regularizer.strength == 0.5
    assert dense.kernel_initializer.get_config() == {"mean": 0.0, "stddev": 0.4}
    for m in (model, loaded):  # the loaded model's regularizers and constraint act on its next step as before
        m.train_on_batch(x, y)
    np.testing.assert_array_equal(loaded.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())
    np.testing.assert_allclose(loaded.layers[0].kernel.numpy().mean(), 0.2, atol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unregistered_regularizer_and_constraint_classes_need_custom_objects(fmt, tmp_path):
    center, regularizer, _ = make_weight_object_classes()
    path = save(weight_objects_model(center, regularizer, keras.initializers.Ones()), tmp_path, fmt)
    with pytest.raises(ModelFileError, match="MyRegularizer"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"CenterAround": center, "MyRegularizer": regularizer})
    assert type(loaded.layers[0].kernel_constraint) is center and loaded.layers[0].kernel_constraint.ref_value == 0.2
    with keras.saving.custom_object_scope({"MyRegularizer": regularizer, "CenterAround": center}):
        assert type(keras.models.load_model(path).layers[0].bias_regularizer) is regularizer


def test_weight_object_configs_are_checked():
    for module, kind in ((keras.initializers, "initializer"), (keras.regularizers, "regularizer"),
                         (keras.constraints, "constraint")):
        with pytest.raises(ValueError, match=f"unknown {kind} .*'Nope'.*register_keras_serializable"):
            module.get({"class_name": "Nope", "config": {}})
    center, regularizer, _ = make_weight_object_classes()
    with keras.saving.custom_object_scope({"CenterAround": center, "L2": np.tanh}):
        with pytest.raises(ValueError, match="must hold a dict of arguments under 'config', got list"):
            keras.constraints.get({"class_name": "CenterAround", "config": [1], "registered_name": "CenterAround"})
        assert type(keras.regularizers.get("L2")) is keras.regularizers.L2  # a name of another kind is not taken


def test_a_custom_class_never_loads_as_the_built_in_of_its_name():
    """Keras's rule: a config's registered_name is looked up among the user's objects only, and a built-in's
    config (no registered name) among the built-ins only."""
    impostor = type("L2", (keras.regularizers.L2,), {})  # a user's L2, unregistered
    config = keras.regularizers.serialize(impostor(0.1))
    assert config == {"class_name": "L2", "config": {"l2": 0.1}, "registered_name": "L2"}
    with pytest.raises(ValueError, match="names the custom class 'L2', which is no Regularizer subclass registered"):
        keras.regularizers.get(config)
    with keras.saving.custom_object_scope({"L2": impostor}):
        assert type(keras.regularizers.get(config)) is impostor
        keras_builtin = {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.1},
                         "registered_name": None}  # as Keras writes a built-in: never a user's class
        assert type(keras.regularizers.get(keras_builtin)) is keras.regularizers.L2
        bare = {"class_name": "L2", "config": {"l2": 0.1}}  # no registered_name: Keras takes the class name
        assert type(keras.regularizers.get(bare)) is impostor
    named = {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.1}, "registered_name": "L2"}
    assert type(keras.regularizers.get(named)) is keras.regularizers.L2  # Keras's own class by its own name
    registered = keras.saving.register_keras_serializable("pk")(type("MaxNorm", (keras.constraints.MaxNorm,), {}))
    config = keras.constraints.serialize(registered(2.0))
    object_registration._CUSTOM_OBJECTS.pop("pk>MaxNorm")  # as in a process that has not registered it
    with pytest.raises(ValueError, match="'pk>MaxNorm'"):
        keras.constraints.get(config)


def test_classes_and_registered_functions_as_weight_options(tmp_path, rng):
    assert type(keras.regularizers.get(keras.regularizers.L2)) is keras.regularizers.L2  # a class: its default
    assert type(keras.initializers.get(keras.initializers.HeNormal)) is keras.initializers.HeNormal
    for layer, key in ((keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform), "kernel"),
                       (keras.layers.LayerNormalization(gamma_initializer=keras.initializers.Ones), "gamma")):
        assert layer.get_config()[f"{key}_initializer"]["class_name"] in ("GlorotUniform", "Ones")  # savable

    class Ones(keras.initializers.Initializer):  # a user's class named like a built-in replaces nothing
        def __call__(self, shape, dtype="float32"):
            return np.full(shape, 7, dtype)

    dense = keras.layers.Dense(2, kernel_initializer="ones")
    dense(np.ones((1, 2), np.float32))
    np.testing.assert_array_equal(dense.kernel.numpy(), 1)

    @keras.saving.register_keras_serializable("pk")
    def small_weights(w):
        return 0.5 * keras.ops.sum(keras.ops.square(w))

    dense = keras.layers.Dense(2, kernel_regularizer=small_weights)
    config = dense.get_config()["kernel_regularizer"]
    assert config == {"module": "builtins", "class_name": "function", "config": "pk>small_weights",
                      "registered_name": "function"}  # as Keras writes a function
    assert keras.layers.Dense.from_config(dense.get_config()).kernel_regularizer is small_weights
    model = keras.Sequential([keras.Input(shape=(3,)), dense])
    model.compile("sgd", "mse")
    x = rng.normal(size=(4, 3)).astype(np.float32)
    for fmt in FORMATS:
        loaded = keras.models.load_model(save(model, tmp_path, fmt, name=f"f_{fmt}"))
        assert loaded.layers[0].kernel_regularizer is small_weights
        assert loaded.evaluate(x, np.zeros((4, 2)), verbose=0) == pytest.approx(model.evaluate(x, np.zeros((4, 2)),
                                                                                               verbose=0))
    with pytest.raises(ValueError, match="'nowhere' is neither registered"):
        keras.regularizers.get({"class_name": "function", "config": "nowhere"})


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_custom_loss_class_in_compile_saves_and_loads(fmt, tmp_path, rng):
    class ScaledError(keras.losses.Loss):
        def __init__(self, scale=1.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    x, y = rng.normal(size=(4, 3)).astype(np.float32), np.zeros((4, 2), np.float32)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile("sgd", ScaledError(2.0))
    path = save(model, tmp_path, fmt)
    with pytest.raises(ModelFileError, match="names the custom class 'ScaledError'"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"ScaledError": ScaledError})
    assert type(loaded.loss) is ScaledError and loaded.loss.scale == 2.0
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    registered = keras.saving.register_keras_serializable("pk")(ScaledError)
    model.compile("sgd", registered(3.0))
    assert type(keras.models.load_model(save(model, tmp_path, fmt, name="r")).loss) is registered


@pytest.mark.parametrize("fmt", FORMATS)
def test_metric_objects_in_compile_save_and_load(fmt, tmp_path, rng):
    class MeanGap(keras.metrics.Mean):
        def __init__(self, name="mean_gap", **kwargs):
            super().__init__(name=name, **kwargs)

        def update_state(self, y_true, y_pred, sample_weight=None):
            return super().update_state(keras.ops.abs(y_true - y_pred))

    x, y = rng.normal(size=(4, 3)).astype(np.float32), np.zeros((4, 2), np.float32)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse", metrics=[MeanGap(), keras.metrics.MeanAbsoluteError(name="mae2"), "mae"])
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(expected) == ["loss", "mae", "mae2", "mean_gap"]
    path = save(model, tmp_path, fmt)
    with pytest.raises(ModelFileError, match="names the custom class 'MeanGap'"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"MeanGap": MeanGap})
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == expected  # none of them is left out


@pytest.mark.parametrize("fmt", FORMATS)
def test_metric_objects_keep_their_names_and_odd_ones_still_save(fmt, tmp_path, rng):
    inputs = keras.Input((4,))
    a = keras.layers.Dense(3, activation="softmax", name="a")(inputs)
    b = keras.layers.Dense(1, activation="sigmoid", name="b")(inputs)
    model = keras.Model(inputs, [a, b])
    model.compile("adam", {"a": "sparse_categorical_crossentropy", "b": "binary_crossentropy"},
                  metrics={"a": keras.metrics.SparseCategoricalAccuracy(name="acc_a"),
                           "b": [keras.metrics.BinaryAccuracy(threshold=np.float32(0.4), name="bin_b"),
                                 keras.metrics.MeanMetricWrapper(keras.metrics.mean_absolute_error, name="w")]})
    x, ys = rng.normal(size=(6, 4)).astype(np.float32), [rng.integers(0, 3, 6), rng.integers(0, 2, (6, 1))]
    keys = sorted(model.evaluate(x, ys, verbose=0, return_dict=True))
    assert "a_acc_a" in keys and "b_bin_b" in keys
    again = keras.models.load_model(save(keras.models.load_model(save(model, tmp_path, fmt)), tmp_path, fmt, "m2"))
    # the names the user gave are saved (not the output-prefixed ones), NumPy numbers as plain ones, and the
    # wrapper around a function, which no config can hold, is left out
    assert sorted(again.evaluate(x, ys, verbose=0, return_dict=True)) == [k for k in keys if k != "b_w"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_keras_style_custom_loss_without_from_logits_loads(fmt, tmp_path):
    @keras.saving.register_keras_serializable("pk")
    class KStyle(keras.losses.Loss):
        def __init__(self, delta=1.0, name="kstyle", reduction="sum_over_batch_size"):
            super().__init__(name=name, reduction=reduction)
            self.delta = delta

        def call(self, y_true, y_pred):
            return self.delta * keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)

        def get_config(self):
            return {"name": self.name, "reduction": self.reduction, "delta": self.delta}

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile("sgd", KStyle(0.5))
    assert keras.models.load_model(save(model, tmp_path, fmt)).loss.delta == 0.5


def test_keras_s_sparse_categorical_crossentropy_metric_config_takes_its_axis():
    y_true, y_pred = np.array([0, 2]), np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], np.float32)
    plain = keras.metrics.SparseCategoricalCrossentropy()
    plain.update_state(y_true, y_pred)
    keras_config = keras.metrics.SparseCategoricalCrossentropy(axis=-1)  # Keras's config always holds axis=-1
    keras_config.update_state(y_true, y_pred)
    assert float(keras_config.result()) == pytest.approx(float(plain.result()))
    with pytest.raises(NotImplementedError, match="axis other than the last"):
        keras.metrics.SparseCategoricalCrossentropy(axis=0).update_state(y_true, y_pred)


def test_a_mean_metric_wrapper_config_names_its_function_as_keras_writes_it():
    # Keras 3.15.1's compile_config entry for MeanMetricWrapper(keras.metrics.mean_absolute_error, name="w")
    config = {"module": "keras.metrics", "class_name": "MeanMetricWrapper", "registered_name": None,
              "config": {"name": "w", "dtype": "float32", "fn": {"module": "builtins", "class_name": "function",
                                                                 "config": "mean_absolute_error",
                                                                 "registered_name": "function"}}}
    wrapper = keras.metrics.get(config)
    wrapper.update_state(np.zeros((2, 2)), np.ones((2, 2)))
    assert wrapper.name == "w" and float(wrapper.result()) == 1.0
    for hostile in ({"class_name": "function", "config": "print"}, "print"):  # only registered or built-in names
        with pytest.raises(TypeError, match="MeanMetricWrapper takes a function"):
            keras.metrics.MeanMetricWrapper(hostile)
    with pytest.raises(TypeError, match="a metric's name must be a string, got 5"):
        keras.metrics.Mean(name=5)


def test_a_file_s_metric_and_loss_configs_are_checked_before_anything_is_built(tmp_path):
    pytest.importorskip("h5py")
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse", metrics=[keras.metrics.AUC(num_thresholds=20)])
    path = save(model, tmp_path, "keras")
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    config = json.loads(members["config.json"])
    config["compile_config"]["metrics"][0]["config"]["num_thresholds"] = 10 ** 9  # 8 GB of state
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in {**members, "config.json": json.dumps(config).encode()}.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="num_thresholds=1000000000: a metric from a file holds no number"):
        keras.models.load_model(path)
    type("Secret", (keras.losses.Loss,), {"name": "secret"})  # a user's class: neither registered nor given
    with pytest.raises(ValueError, match="unknown loss class 'Secret'"):
        keras.losses.get({"class_name": "Secret", "config": {}})


@pytest.fixture
def bait(tmp_path, monkeypatch):
    """A module that leaves a mark if anything imports it: a file naming it must not."""
    mark = tmp_path / "imported"
    (tmp_path / "sg_bait_module.py").write_text(f"open({str(mark)!r}, 'w').close()\n"
                                                f"class Payload:\n    pass\n"
                                                f"def payload(*a, **k):\n    return 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield mark
    assert not mark.exists() and "sg_bait_module" not in sys.modules


def test_a_hostile_file_naming_unknown_objects_fails_cleanly_and_imports_nothing(bait, tmp_path):
    import struct

    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.save(tmp_path / "good.sg")
    raw = (tmp_path / "good.sg").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])

    def variant(name, edit):
        config = json.loads(header["__metadata__"]["config"])
        edit(config)
        changed = {**header, "__metadata__": {**header["__metadata__"], "config": json.dumps(config)}}
        text = json.dumps(changed).encode()
        (tmp_path / name).write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n:])
        return tmp_path / name

    def layer_class(config):
        config["config"]["layers"][0].update(class_name="Payload", registered_name="sg_bait_module>Payload",
                                             module="sg_bait_module")

    def activation(config):
        config["config"]["layers"][0]["config"]["activation"] = "sg_bait_module.payload"

    for path, message in ((variant("layer.sg", layer_class), "unknown layer class 'sg_bait_module>Payload'"),
                          (variant("activation.sg", activation), "unknown activation 'sg_bait_module.payload'")):
        with pytest.raises(ModelFileError, match=message):
            keras.models.load_model(path, custom_objects={"unrelated": np.tanh},
                                    safe_mode=False)
    with pytest.raises(TypeError, match="could not find the class 'sg_bait_module>Payload'"):
        keras.saving.deserialize_keras_object({"module": "sg_bait_module", "class_name": "Payload", "config": {},
                                               "registered_name": "sg_bait_module>Payload"}, safe_mode=False)
    with pytest.raises(TypeError, match="could not find the function 'sg_bait_module.payload'"):
        keras.saving.deserialize_keras_object({"module": "sg_bait_module", "class_name": "function",
                                               "config": "sg_bait_module.payload", "registered_name": "function"})


def test_a_hostile_keras_file_naming_an_unknown_class_fails_cleanly(bait, tmp_path):
    pytest.importorskip("h5py")
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.save(tmp_path / "good.keras", format="keras")
    with zipfile.ZipFile(tmp_path / "good.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1].update(class_name="Payload", registered_name="sg_bait_module>Payload",
                                         module="sg_bait_module")
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="unknown layer class 'sg_bait_module>Payload'"):
        keras.models.load_model(tmp_path / "bad.keras", custom_objects={"unrelated": np.tanh})


def test_a_file_naming_a_layer_class_as_a_metric_is_refused_and_nothing_is_called(tmp_path):
    """A registered class that is no Metric must never be called as one (on y_true, y_pred) from a file."""
    import struct

    from scratchgrad.keras_files import KerasFileError, _metric

    called = []

    @keras.saving.register_keras_serializable("Custom")
    class Boom(keras.layers.Layer):
        def __init__(self, *args, **kwargs):
            called.append(args)
            super().__init__()

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    path = save(model, tmp_path, "sg")
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    compile_config = json.loads(header["__metadata__"]["compile"])
    header["__metadata__"]["compile"] = json.dumps({**compile_config, "metrics": ["Custom>Boom"]})
    body = json.dumps(header).encode()
    body += b" " * (-len(body) % 8)
    path.write_bytes(struct.pack("<Q", len(body)) + body + raw[8 + n:])
    with pytest.raises(ModelFileError, match="compile.metrics"):
        keras.models.load_model(path)
    with pytest.raises(KerasFileError, match="neither a Metric nor a function"):
        _metric("Custom>Boom", "model.keras")
    assert called == []
