"""Keras's other names for what scratchgrad has: each kind's `deserialize`, the lowercase initializer
classes, `activations.linear`, the loss functions in `keras.metrics`, `models.save_model`,
`saving.save_weights`/`load_weights` and the small `keras.utils` helpers, as Keras 3.15 names them."""
import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L


@pytest.mark.parametrize("module, class_name, setting, value", [
    ("losses", "Huber", "delta", 2.0), ("metrics", "AUC", "num_thresholds", 50),
    ("initializers", "HeNormal", "seed", 3), ("regularizers", "L2", "l2", 0.5),
    ("constraints", "MaxNorm", "max_value", 3.0), ("optimizers", "Adam", "learning_rate", 0.1),
])
def test_each_kind_deserializes_a_config_as_keras(module, class_name, setting, value):
    kind = getattr(sg, module)
    made = kind.deserialize({"class_name": class_name, "config": {setting: value}})
    assert type(made).__name__ == class_name and made.get_config()[setting] == value
    assert kind.deserialize(kind.serialize(made)).get_config() == made.get_config()


def test_deserialize_takes_names():
    assert sg.losses.deserialize("mse") is sg.losses.mean_squared_error
    assert sg.activations.deserialize("relu") is sg.activations.relu


def test_deserialize_takes_custom_objects():
    class Doubling(sg.constraints.Constraint):
        def __call__(self, w):
            return w * 2

    made = sg.constraints.deserialize({"class_name": "Doubling", "config": {}}, custom_objects={"Doubling": Doubling})
    assert isinstance(made, Doubling)
    with pytest.raises(ValueError, match="Doubling"):
        sg.constraints.deserialize({"class_name": "Doubling", "config": {}})


def test_lowercase_initializers_are_the_classes_and_linear_is_the_identity():
    assert sg.initializers.glorot_uniform is sg.initializers.GlorotUniform
    assert sg.initializers.orthogonal is sg.initializers.OrthogonalInitializer is sg.initializers.Orthogonal
    assert sg.initializers.identity is sg.initializers.IdentityInitializer is sg.initializers.Identity
    assert sg.initializers.he_normal(seed=1)((3, 2)).shape == (3, 2)
    x = np.float32([-1.0, 2.0])
    np.testing.assert_array_equal(sg.activations.linear(x).numpy(), x)
    assert sg.activations.serialize(sg.activations.linear) == "linear"


def test_the_loss_functions_are_metrics_too(rng):
    assert sg.metrics.huber is sg.losses.huber and sg.metrics.poisson is sg.losses.poisson
    y, p = rng.random((4, 3)).astype(np.float32), rng.random((4, 3)).astype(np.float32)
    np.testing.assert_allclose(sg.metrics.kl_divergence(y, p).numpy(), sg.losses.kl_divergence(y, p).numpy())


def test_saving_functions_take_the_model(tmp_path, rng):
    model = sg.Sequential([L.Input((3,)), L.Dense(2)])
    path = str(tmp_path / "w.weights")
    sg.saving.save_weights(model, path)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        sg.saving.save_weights(model, path, overwrite=False)
    other = sg.Sequential([L.Input((3,)), L.Dense(2)])
    sg.saving.load_weights(other, path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    sg.models.save_model(model, str(tmp_path / "m.sg"))
    x = rng.random((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(sg.models.load_model(str(tmp_path / "m.sg")).predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_utils_helpers_as_keras():
    u = sg.utils
    assert u.pack_x_y_sample_weight(1) == 1 and u.pack_x_y_sample_weight((1, 2)) == ((1, 2),)
    assert u.pack_x_y_sample_weight(1, 2) == (1, 2) and u.pack_x_y_sample_weight(1, 2, 3) == (1, 2, 3)
    assert u.unpack_x_y_sample_weight([1, 2]) == (1, 2, None) and u.unpack_x_y_sample_weight(5) == (5, None, None)
    with pytest.raises(ValueError, match="a tuple of 4"):
        u.unpack_x_y_sample_weight((1, 2, 3, 4))
    assert [u.standardize_dtype(d) for d in (None, "float64", np.int32, bool, float, int)] == [
        "float32", "float64", "int32", "bool", "float32", "int64"]
    assert u.is_keras_tensor(sg.Input((3,))) and not u.is_keras_tensor(np.zeros(3))
    assert u.Sequence is u.PyDataset


def test_keras_s_serialized_activation_and_save_model_s_keyword(tmp_path):
    keras_form = {"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "relu"}
    assert sg.activations.deserialize(keras_form) is sg.activations.relu
    sg.models.save_model(sg.Sequential([L.Input((2,)), L.Dense(1)]), filepath=str(tmp_path / "m.sg"))
    assert (tmp_path / "m.sg").exists()


def test_get_source_inputs_walks_back_to_the_inputs():
    a, b = sg.Input((3,)), sg.Input((2,))
    joined = L.Concatenate()([L.Dense(2)(a), b])
    out = L.Dense(1)(L.Add()([joined, joined]))
    sources = sg.utils.get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is a and sources[1] is b  # each once, in the order first met
    assert sg.utils.get_source_inputs(a)[0] is a


def test_interactive_logging_switch_turns_the_live_bar_into_lines():
    from scratchgrad import progress

    class Terminal:
        def isatty(self):
            return True

    assert progress.is_live(Terminal())
    sg.config.disable_interactive_logging()
    try:
        assert not sg.utils.is_interactive_logging_enabled() and not progress.is_live(Terminal())
    finally:
        sg.utils.enable_interactive_logging()
    assert sg.config.is_interactive_logging_enabled() and progress.is_live(Terminal())


# ---- keras.config's setters and keras.backend's helpers ----------------------------------------------------
@pytest.fixture
def restored_config():
    yield
    sg.config.set_image_data_format("channels_last")
    sg.config.set_epsilon(1e-7)
    sg.config.set_max_epochs(None)
    sg.config.set_max_steps_per_epoch(None)


def test_set_image_data_format_is_what_layers_made_after_it_take(restored_config):
    sg.config.set_image_data_format("channels_first")
    assert sg.config.image_data_format() == "channels_first"
    made = [L.Conv2D(4, 3), L.MaxPooling2D(), L.UpSampling2D(), L.ZeroPadding2D(), L.SpatialDropout2D(0.1),
            L.GlobalAveragePooling2D(), L.ConvLSTM2D(2, 3), L.Resizing(4, 4)]
    assert {layer.get_config()["data_format"] for layer in made} == {"channels_first"}
    assert L.Conv2D(4, 3, data_format="channels_last").data_format == "channels_last"  # given, kept
    assert L.Conv2D(4, 3)(np.zeros((2, 3, 8, 8), np.float32)).shape == (2, 4, 6, 6)
    assert sg.utils.img_to_array(np.zeros((5, 4, 3))).shape == (3, 5, 4)
    assert sg.ops.conv(np.zeros((1, 3, 5, 5), np.float32), np.zeros((3, 3, 3, 2), np.float32)).shape == (1, 2, 3, 3)
    sg.config.set_image_data_format("channels_last")
    assert L.Conv2D(4, 3).data_format == "channels_last"
    with pytest.raises(ValueError, match="'channels_last' or 'channels_first', got 'nhwc'"):
        sg.config.set_image_data_format("nhwc")


def test_set_epsilon_is_what_losses_clip_to(restored_config):
    sure_and_wrong = (np.array([[1.0]]), np.array([[0.0]]))
    assert float(sg.losses.BinaryCrossentropy()(*sure_and_wrong)) == pytest.approx(-np.log(1e-7), rel=1e-6)
    sg.config.set_epsilon(1e-3)
    assert sg.config.epsilon() == sg.backend.epsilon() == 1e-3
    assert float(sg.losses.BinaryCrossentropy()(*sure_and_wrong)) == pytest.approx(-np.log(1e-3), rel=1e-6)
    assert float(sg.losses.CategoricalCrossentropy()(np.eye(2)[:1], np.array([[0.0, 1.0]]))) == \
        pytest.approx(-np.log(1e-3), rel=1e-6)
    with pytest.raises(ValueError, match="small non-negative"):
        sg.config.set_epsilon(-1)
    sg.config.set_epsilon(0.5)
    norm = L.Normalization()
    norm.adapt(np.array([[1.0, 0.0], [1.0, 2.0]]))
    np.testing.assert_allclose(norm(np.array([[2.0, 1.0]])).numpy(), [[2.0, 0.0]])  # Keras's: σ floored at ε


def test_max_epochs_and_steps_cap_every_fit_with_keras_s_warnings(restored_config):
    model = sg.Sequential([sg.Input((3,)), L.Dense(2)])
    model.compile("sgd", "mse")
    sg.config.set_max_epochs(2)
    sg.config.set_max_steps_per_epoch(3)
    with pytest.warns(UserWarning) as caught:
        history = model.fit(np.zeros((100, 3)), np.zeros((100, 2)), batch_size=10, epochs=5, verbose=0)
    assert [str(w.message) for w in caught] == ["Limiting epochs to 2", "Limiting steps_per_epoch to 3"]
    assert caught[0].filename == __file__  # the warning points at the fit call
    assert len(history.history["loss"]) == 2 and model.optimizer.iterations == 6
    sg.config.set_max_epochs(None)
    sg.config.set_max_steps_per_epoch(None)
    assert len(model.fit(np.zeros((20, 3)), np.zeros((20, 2)), epochs=3, verbose=0).history["loss"]) == 3
    sg.config.set_max_steps_per_epoch(2)  # Keras caps evaluate's and predict's epochs too
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 2"):
        assert model.predict(np.zeros((100, 3)), batch_size=10, verbose=0).shape == (20, 2)


def test_backend_dtype_helpers_and_uids_as_keras():
    b = sg.backend
    assert b.result_type("int64", "float32") == "float32" and b.result_type("int8", "uint8") == "int16"
    assert b.result_type("float16", "float32", "bool") == "float32"
    assert b.result_type("float16", float) == "float16" and b.result_type("int8", int) == "int8"  # weak
    assert b.result_type("uint64", "int64") == "float32"
    assert b.is_float_dtype("float16") and b.is_int_dtype("uint8") and not b.is_int_dtype(float)
    assert b.standardize_dtype(float) == "float32" and b.is_keras_tensor(sg.Input((2,)))
    b.clear_session()
    assert (b.get_uid("foo"), b.get_uid("foo")) == (1, 2)
    assert L.Dense(2).name == "dense" and b.get_uid("dense") == 2 and L.Dense(2).name == "dense_2"  # Keras's


# ---- keras.tree (Keras 3.15.1's results for the same calls) -------------------------------------------------
def test_tree_functions_as_keras():
    t = sg.tree
    nested = {"b": [1, (2, 3)], "a": 4}
    assert t.flatten_with_path(nested) == [(("a",), 4), (("b", 0), 1), (("b", 1, 0), 2), (("b", 1, 1), 3)]
    assert t.pack_sequence_as(nested, [10, 20, 30, 40]) == {"a": 10, "b": [20, (30, 40)]}
    assert t.map_structure(lambda x, y: x + y, [1, (2, 3)], [10, (20, 30)]) == [11, (22, 33)]
    assert t.map_structure(lambda x: 0 if x is None else 2 * x, [1, None]) == [2, 0]
    assert t.map_structure(lambda x: 2 * x, [1, None], none_is_leaf=False) == [2, None]
    assert t.map_structure_up_to([1, 2], lambda a, b: (a, b), [[1, 2], 3], [4, {"x": 5}]) == \
        [([1, 2], 4), (3, {"x": 5})]
    assert t.lists_to_tuples([1, [2, {"a": [3]}]]) == (1, (2, {"a": (3,)}))
    assert t.map_shape_structure(len, {"a": (None, 3), "b": [(2,), (4, 5)]}) == {"a": 2, "b": [1, 2]}
    assert t.traverse(lambda x: 10 * x if isinstance(x, int) else None, [1, [2, 3]]) == [10, [20, 30]]
    assert t.traverse(lambda x: t.MAP_TO_NONE if x == 2 else None, [1, [2, 3]]) == [1, [None, 3]]
    assert t.traverse(lambda x: [0] if isinstance(x, list) else None, [1, [2, 3]]) == [0]
    assert t.traverse(lambda x: len(x) if isinstance(x, list) else None, [1, [2, 3]], top_down=False) == 2
    t.assert_same_structure({"a": 1, "b": [2]}, {"b": [5], "a": 0})
    t.assert_same_paths([1, 2], (3, 4))


@pytest.mark.parametrize("a, b, message", [
    ([1, 2], (1, 2), "Node type mismatch"), ({"a": 1}, {"b": 1}, "Node keys mismatch"),
    ([1, [2]], [1, 2], "Node type mismatch"), ([1, 2], [1, 2, 3], "Node arity mismatch")])
def test_tree_structures_that_differ_are_refused_as_keras_refuses_them(a, b, message):
    with pytest.raises(ValueError, match=message):
        sg.tree.assert_same_structure(a, b)
    with pytest.raises(ValueError, match=message):
        sg.tree.map_structure(lambda x, y: x, a, b)


def test_tree_refuses_a_flat_sequence_of_another_length_and_other_paths():
    with pytest.raises(ValueError, match="holds 2 leaves, got 1"):
        sg.tree.pack_sequence_as([1, 2], [1])
    with pytest.raises(ValueError, match="don't have the same paths"):
        sg.tree.assert_same_paths({"a": 1}, {"b": 1})


def test_tree_edge_cases_as_keras():
    import collections

    sg.tree.assert_same_structure(collections.OrderedDict(a=1), {"a": 1})  # an OrderedDict is a dict
    with pytest.raises(ValueError, match="some arguments are None, others are not"):
        sg.tree.map_structure(lambda a, b: a, [1, None], [None, 2], none_is_leaf=False)
    with pytest.raises(ValueError, match="does not follow the shallow structure"):
        sg.tree.map_structure_up_to({"a": 1}, lambda x: x, {"a": [1, 2], "b": 3})


SCHEDULE_ARGUMENTS = {
    "ExponentialDecay": dict(initial_learning_rate=0.1, decay_steps=30, decay_rate=0.5, staircase=True),
    "InverseTimeDecay": dict(initial_learning_rate=0.1, decay_steps=30, decay_rate=0.5),
    "PolynomialDecay": dict(initial_learning_rate=0.1, decay_steps=30, end_learning_rate=0.01, power=2.0),
    "PiecewiseConstantDecay": dict(boundaries=[10, 20], values=[0.1, 0.05, 0.01]),
    "CosineDecay": dict(initial_learning_rate=0.1, decay_steps=50, warmup_target=0.2, warmup_steps=5),
    "CosineDecayRestarts": dict(initial_learning_rate=0.1, first_decay_steps=20),
    "StepDecay": dict(initial_learning_rate=0.1, step_size=15),
}


@pytest.mark.parametrize("name", sorted(sg.optimizers.schedules.SCHEDULES))
def test_schedules_serialize_and_deserialize_as_keras(name):
    cls = sg.optimizers.schedules.SCHEDULES[name]
    schedule = cls(**SCHEDULE_ARGUMENTS[name])
    config = sg.optimizers.schedules.serialize(schedule)
    assert config["class_name"] == name
    clone = sg.optimizers.schedules.deserialize(config)
    assert type(clone) is cls and [clone(s) for s in (0, 7, 40)] == [schedule(s) for s in (0, 7, 40)]


def test_a_registered_schedule_travels_in_an_optimizer_config():
    @sg.saving.register_keras_serializable("Tests")
    class Halving(sg.optimizers.schedules.LearningRateSchedule):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, step):
            return self.rate / 2 ** step

    config = sg.optimizers.Adam(Halving(0.4)).get_config()
    config["learning_rate"]["registered_name"] = "Tests>Halving"  # as Keras writes a registered class
    restored = sg.optimizers.Adam.from_config(config)
    assert restored.learning_rate == pytest.approx(0.4)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'Doubling'"):
        sg.optimizers.schedules.deserialize({"class_name": "Doubling", "config": {}})


def test_keras_config_settings_scratchgrad_records_or_refuses():
    config = sg.config
    assert config.is_traceback_filtering_enabled() and config.is_flash_attention_enabled() is None
    config.disable_traceback_filtering()
    config.enable_flash_attention()
    try:
        assert not config.is_traceback_filtering_enabled() and config.is_flash_attention_enabled()
    finally:
        config.enable_traceback_filtering()
        config._settings["flash_attention"] = None
    assert config.is_nnx_enabled() is False
    with pytest.warns(UserWarning, match="never runs code from a model file"):
        config.enable_unsafe_deserialization()
    config.set_backend("numpy")
    with pytest.raises(ValueError, match="backend 'jax' is not available"):
        config.set_backend("jax")
    assert config.dtype_policy().name == "float32"
    config.set_dtype_policy("float64")
    try:
        assert sg.floatx() == "float64" and config.dtype_policy().compute_dtype == "float64"
    finally:
        config.set_dtype_policy(config.DTypePolicy("float32"))
    for name in ("mixed_float16", "int8_from_float32", "float8_e4m3fn"):
        with pytest.raises(ValueError, match=f"'{name}' is not available"):
            config.set_dtype_policy(name)


def test_utils_config_is_keras_s_attribute_dict():
    config = sg.utils.Config(learning_rate=0.1, momentum=0.9)
    config.use_ema = True
    config["seed"] = 123
    assert config.seed == 123 and config["learning_rate"] == 0.1 and config.get("absent", 5) == 5
    assert list(config) == ["learning_rate", "momentum", "seed", "use_ema"] and len(config) == 4 and "seed" in config
    assert config.as_dict() == {"learning_rate": 0.1, "momentum": 0.9, "use_ema": True, "seed": 123}
    assert config.to_json() == '{"learning_rate": 0.1, "momentum": 0.9, "use_ema": true, "seed": 123}'
    with pytest.raises(AttributeError, match="Did you mean 'momentum'"):
        config.momentun
    config.freeze()
    for change in (lambda: setattr(config, "foo", 1), lambda: config.update(a=1), lambda: config.pop("seed")):
        with pytest.raises(ValueError, match="frozen"):
            change()
    config.unfreeze()
    assert config.pop("seed") == 123 and not config.frozen
