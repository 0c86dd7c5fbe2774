"""Keras 3 `.keras` files, both ways (scratchgrad.keras_files): fixtures Keras made load and predict what
Keras predicted, the loaded optimizer state takes the step Keras took, our files round-trip, and hostile
files are refused with clear errors. The fixtures are made by tests/keras_reference/make_keras_files.py;
the tests need h5py (the `keras` extra), not Keras, except the last, which runs only where Keras is."""
import io
import json
import os
import warnings
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from test_saving_registry import make_weight_object_classes

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad.keras_files import KerasFileError, load_keras, save_keras
from scratchgrad.models import ModelFileError

HERE = os.path.join(os.path.dirname(__file__), "keras_reference", "keras_files")
FIXTURES = ["mlp", "cnn", "two_inputs", "lstm", "bn_dropout", "rnn_cells", "functional_masks", "constrained",
            "custom_weight_objects", "weight_options", "normalizations", "lookups", "volumes", "attention",
            "audio"]


# made with TensorFlow, whose Adam takes an Embedding's gradient as IndexedSlices (one slice per use of a row)
# and steps it otherwise; given the same gradient dense, its step equals ours (checked by hand, to 1e-6)
SPARSE_STEPS = {"lookups": {"embedding/embeddings"}}


@sg.saving.register_keras_serializable("Fixtures")
class Scale(L.Layer):
    """The fixtures' custom layer (make_keras_files.py has Keras's twin): y = x * w + b per feature."""

    def build(self, input_shape):
        self.w = self.add_weight((input_shape[-1],), "random_normal", name="w")
        self.b = self.add_weight((input_shape[-1],), "zeros", name="b")

    def call(self, x):
        return x * self.w + self.b


# keras.io's custom initializer, regularizer and constraint, registered as the twins of the fixtures'
CenterAround, MyRegularizer, ExampleRandomNormal = (sg.saving.register_keras_serializable("Fixtures")(cls)
                                                    for cls in make_weight_object_classes())


def reference(name):
    with np.load(os.path.join(HERE, f"{name}.npz")) as f:
        return {k: f[k] for k in f.files}


def inputs(ref, prefix="x"):
    xs = [ref[f"{prefix}{i}"] for i in range(10) if f"{prefix}{i}" in ref]
    return xs if len(xs) > 1 else xs[0]


def as_list(y):
    return [np.asarray(a) for a in (y if isinstance(y, (list, tuple)) else [y])]


@pytest.mark.parametrize("name", FIXTURES)
def test_keras_fixture_predicts_what_keras_predicted(name):
    ref = reference(name)
    model = load_keras(os.path.join(HERE, f"{name}.keras"))
    predicted = as_list(model.predict(inputs(ref), verbose=0))
    expected = [ref[f"y{i}"] for i in range(len(predicted))]
    assert len(expected) == len([k for k in ref if k.startswith("y")])
    for got, want in zip(predicted, expected):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", [n for n in FIXTURES if n != "bn_dropout"])
def test_loaded_optimizer_state_takes_the_step_keras_took(name):
    ref = reference(name)
    model = load_keras(os.path.join(HERE, f"{name}.keras"))
    assert model.optimizer is not None and model.optimizer.iterations > 0
    model.train_on_batch(inputs(ref, "batch_x"), inputs(ref, "batch_y"))
    after = [ref[f"after_{i:04d}"] for i in range(len(ref["after_names"]))]
    by_name = {n: a for n, a in zip((str(n) for n in ref["after_names"]), after) if n not in SPARSE_STEPS.get(name, ())}
    ours = {w.name: w.numpy() for w in model.weights}
    for keras_name, value in by_name.items():
        np.testing.assert_allclose(ours[_our_name(keras_name, ours)], value, rtol=1e-4, atol=1e-5,
                                   err_msg=keras_name)


def _our_name(keras_path, ours):
    """Keras's variable path (mlp/dense/kernel, lstm/lstm_cell/kernel, attention/query/kernel) -> our weight
    name (dense/kernel, lstm/kernel, attention/query/kernel)."""
    parts = keras_path.split("/")
    candidates = ["/".join(parts[i:]) for i in range(len(parts) - 2)]
    candidates += [f"{part}/{parts[-1]}" for part in reversed(parts[:-1])]
    match = [c for c in candidates if c in ours]
    assert match, (keras_path, sorted(ours))
    return match[0]


def test_loaded_models_structure_and_compile_settings():
    model = load_keras(os.path.join(HERE, "two_inputs.keras"))
    assert isinstance(model.get_layer("scale"), Scale)
    assert model.input_names == ["a", "b"] and len(model.outputs) == 2
    assert len(model.get_layer("shared")._inbound_nodes) == 2  # the shared layer is called twice
    assert type(model.optimizer).__name__ == "RMSprop" and model.optimizer.momentum == 0.5
    lstm = load_keras(os.path.join(HERE, "lstm.keras"), compile=False)
    assert [type(layer).__name__ for layer in lstm.layers] == ["Embedding", "LSTM", "Dense"]
    assert getattr(lstm, "optimizer", None) is None
    cells = load_keras(os.path.join(HERE, "rnn_cells.keras"))
    assert [type(layer).__name__ for layer in cells.layers] == ["Embedding", "RNN", "RNN", "Dense"]
    assert type(cells.layers[1].cell) is L.LSTMCell and cells.layers[2].go_backwards
    assert [type(c) for c in cells.layers[2].cell.cells] == [L.GRUCell, L.SimpleRNNCell]
    assert not cells.layers[2].cell.cells[0].reset_after


@pytest.mark.parametrize("name", FIXTURES)
def test_model_from_json_reads_keras_s_to_json(name):
    """config.json is what Keras's model.to_json() gives: the same model, with fresh weights."""
    with zipfile.ZipFile(os.path.join(HERE, f"{name}.keras")) as archive:
        text = archive.read("config.json").decode()
    state = sg.random.get_state()
    model = sg.models.model_from_json(text)
    loaded = load_keras(os.path.join(HERE, f"{name}.keras"), compile=False)
    assert [type(layer) for layer in model.layers] == [type(layer) for layer in loaded.layers]
    assert [w.shape for w in model.weights] == [w.shape for w in loaded.weights]
    assert getattr(model, "optimizer", None) is None  # as Keras: the architecture only
    model.set_weights(loaded.get_weights())
    x = inputs(reference(name))
    if name == "lookups":  # to_json() holds no learned vocabulary: Keras keeps it beside the config, in assets/
        with pytest.raises(RuntimeError, match="tf_idf mode needs its vocabulary"):
            model.predict(x, verbose=0)
        return
    for got, want in zip(as_list(model.predict(x, verbose=0)), as_list(loaded.predict(x, verbose=0))):
        np.testing.assert_array_equal(got, want)
    assert sg.random.get_state() != state  # fresh weights were drawn, as Keras's model_from_json draws them


def test_model_from_json_takes_custom_objects():
    with zipfile.ZipFile(os.path.join(HERE, "custom_weight_objects.keras")) as archive:
        config = json.loads(archive.read("config.json"))
    dense = config["config"]["layers"][1]["config"]
    dense["kernel_constraint"]["registered_name"] = "CenterAround"  # as Keras writes an unregistered class
    del dense["kernel_regularizer"], config["compile_config"]
    center = make_weight_object_classes()[0]
    model = sg.models.model_from_json(json.dumps(config), custom_objects={"CenterAround": center})
    assert type(model.layers[0].kernel_constraint) is center
    with pytest.raises(TypeError, match="custom_objects must be a dict"):
        sg.models.model_from_json(json.dumps(config), custom_objects=[center])
    with pytest.raises(KerasFileError, match="model_from_json: a Keras model config is an object"):
        sg.models.model_from_json(json.dumps({"module": "keras", "class_name": "Sequential", "config": 3}))


def test_custom_initializers_regularizers_and_constraints_load_as_the_registered_classes(tmp_path):
    model = load_keras(os.path.join(HERE, "custom_weight_objects.keras"))
    first, second = model.layers
    assert type(first.kernel_initializer) is ExampleRandomNormal and first.kernel_initializer.stddev == 0.4
    assert type(first.kernel_regularizer) is MyRegularizer and first.kernel_regularizer.strength == 0.01
    assert type(first.kernel_constraint) is CenterAround and first.kernel_constraint.ref_value == 0.1
    assert type(second.bias_regularizer) is MyRegularizer and second.bias_regularizer.strength == 0.1
    np.testing.assert_allclose(first.kernel.numpy().mean(), 0.1, atol=1e-6)  # what Keras's constraint left
    save_keras(model, tmp_path / "again.keras")
    with zipfile.ZipFile(tmp_path / "again.keras") as archive:
        dense = json.loads(archive.read("config.json"))["config"]["layers"][1]["config"]
    assert dense["kernel_constraint"] == {"module": None, "class_name": "CenterAround", "config": {"ref_value": 0.1},
                                          "registered_name": "Fixtures>CenterAround"}  # as Keras writes it


@pytest.mark.parametrize("name", FIXTURES)
def test_round_trip_through_keras_files(tmp_path, name):
    ref = reference(name)
    model = load_keras(os.path.join(HERE, f"{name}.keras"))
    save_keras(model, tmp_path / "again.keras")
    again = load_keras(tmp_path / "again.keras")
    x = inputs(ref)
    for got, want in zip(as_list(again.predict(x, verbose=0)), as_list(model.predict(x, verbose=0))):
        np.testing.assert_array_equal(got, want)
    a, b = model.get_optimizer_state(), again.get_optimizer_state()
    assert a["iterations"] == b["iterations"]
    for sa, sb in zip(a["slots"], b["slots"]):
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k])


def test_round_trip_of_a_model_made_here(tmp_path, rng):
    sg.set_seed(0)
    inp = sg.Input(shape=(5, 3))
    seq = sg.Sequential([L.Dense(4, activation="relu"), L.LayerNormalization()], name="block")
    h = L.Bidirectional(L.GRU(3, return_sequences=True))(seq(inp))
    h = L.MultiHeadAttention(2, 2)(h, h)
    out = L.Dense(2)(L.GlobalAveragePooling1D()(h))
    model = sg.Model(inp, out)
    model.compile(optimizer=sg.optimizers.Adam(0.01, amsgrad=True), loss="mse", metrics=["mae"])
    x, y = rng.standard_normal((8, 5, 3)).astype(np.float32), rng.standard_normal((8, 2)).astype(np.float32)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    save_keras(model, tmp_path / "m.keras")
    loaded = load_keras(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
    model.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def declared_batch_models():
    inputs = sg.Input(batch_shape=(4, 6))
    return {"sequential": sg.Sequential([sg.Input(batch_shape=(4, 6)), L.Dense(2)]),
            "functional": sg.Model(inputs, L.Dense(2)(inputs)),
            "no batch": sg.Sequential([sg.Input((6,)), L.Dense(2)])}


@pytest.mark.parametrize("kind, batch_shape", [("sequential", [4, 6]), ("functional", [4, 6]),
                                               ("no batch", [None, 6])])
def test_a_declared_batch_size_is_saved_and_loaded_as_keras_writes_it(tmp_path, kind, batch_shape):
    # Keras 3.15.1 writes the InputLayer's batch_shape [4, 6] for Input(batch_shape=(4, 6)), in both kinds
    model = declared_batch_models()[kind]
    save_keras(model, tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        written = json.loads(archive.read("config.json"))["config"]["layers"][0]
    assert (written["class_name"], written["config"]["batch_shape"]) == ("InputLayer", batch_shape)
    assert load_keras(tmp_path / "m.keras").input_shape == tuple(batch_shape)


def test_model_save_with_format_keras(tmp_path, rng):
    from scratchgrad.keras_files import is_keras_file

    model = sg.Sequential([sg.Input(shape=(3,)), L.Dense(2, activation="relu"), L.Dense(1)])
    model.save(tmp_path / "m.keras", format="keras")
    assert is_keras_file(tmp_path / "m.keras")
    x = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(load_keras(tmp_path / "m.keras").predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="unknown format"):
        model.save(tmp_path / "m.x", format="onnx-ish")


@pytest.mark.parametrize("make, kept", [(lambda: sg.optimizers.ScheduleFreeAdamW(0.01), True),
                                        (lambda: sg.optimizers.Muon(0.01), False)])
def test_the_newer_optimizers_state_travels_where_keras_lays_it_out_alike(tmp_path, rng, make, kept):
    """ScheduleFreeAdamW's z and v are Keras's momentum and velocity, weight by weight; Muon's velocities exist
    for some weights only in Keras, so its state is not written (with a warning) and starts afresh."""
    model = sg.Sequential([sg.Input(shape=(4,)), L.Dense(3), L.Dense(2)])
    model.compile(make(), "mse")
    model.fit(rng.standard_normal((8, 4)).astype(np.float32), np.zeros((8, 2)), epochs=2, verbose=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.save(tmp_path / "m.keras", format="keras")
    assert bool(caught) != kept
    state = load_keras(tmp_path / "m.keras").get_optimizer_state()
    assert state["iterations"] == (2 if kept else 0)
    if kept:
        for ours, theirs in zip(model.get_optimizer_state()["slots"], state["slots"]):
            np.testing.assert_array_equal(ours["momentum"], theirs["momentum"])


# ---- hostile files --------------------------------------------------------------------------------------
def rewrite(path, out, **members):
    """`path`'s members, some replaced (bytes, or a JSON value) or removed (None)."""
    with zipfile.ZipFile(path) as archive:
        data = {info.filename: archive.read(info) for info in archive.infolist()}
    for name, value in members.items():
        name = name.replace("__", ".")
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value if isinstance(value, bytes) else json.dumps(value).encode()
    with zipfile.ZipFile(out, "w") as archive:
        for name, value in data.items():
            archive.writestr(name, value)
    return out


def fixture_config(name="mlp"):
    with zipfile.ZipFile(os.path.join(HERE, f"{name}.keras")) as archive:
        return json.loads(archive.read("config.json"))


def test_a_lambda_layer_is_refused(tmp_path):
    config = fixture_config()
    config["config"]["layers"].insert(2, {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                                          "config": {"name": "lambda", "function": {"class_name": "__lambda__",
                                                                                    "config": {"code": "4wEAAA=="}}}})
    path = rewrite(os.path.join(HERE, "mlp.keras"), tmp_path / "l.keras", config__json=config)
    with pytest.raises(KerasFileError, match="Lambda layer.*bytecode"):
        load_keras(path)


def test_an_unknown_class_is_refused_by_name(tmp_path):
    config = fixture_config()
    config["config"]["layers"][1]["class_name"] = "os.system"
    path = rewrite(os.path.join(HERE, "mlp.keras"), tmp_path / "u.keras", config__json=config)
    with pytest.raises(KerasFileError, match="unknown layer class 'os.system'"):
        load_keras(path)


def test_a_keras_operation_in_the_graph_is_refused(tmp_path):
    config = fixture_config("two_inputs")
    add = next(s for s in config["config"]["layers"] if s["class_name"] == "Add")
    add["module"] = "keras.src.ops.numpy"
    path = rewrite(os.path.join(HERE, "two_inputs.keras"), tmp_path / "o.keras", config__json=config)
    with pytest.raises(KerasFileError, match="Keras operation 'Add'"):
        load_keras(path)


def test_mask_operations_are_dropped_but_one_read_as_data_is_refused(tmp_path):
    config = fixture_config("functional_masks")
    names = [s["class_name"] for s in config["config"]["layers"]]
    assert "NotEqual" in names and "Any" in names  # Keras records the masks as operations
    model = load_keras(os.path.join(HERE, "functional_masks.keras"))
    assert all(isinstance(layer, L.Layer) for layer in model.layers)
    mask = next(s for s in config["config"]["layers"] if s["class_name"] == "Any")["name"]
    concat = next(s for s in config["config"]["layers"] if s["class_name"] == "Concatenate")
    concat["inbound_nodes"][0]["args"][0].append({"class_name": "__keras_tensor__", "config": {
        "shape": [None, 6], "dtype": "bool", "keras_history": [mask, 0, 0]}})
    path = rewrite(os.path.join(HERE, "functional_masks.keras"), tmp_path / "m.keras", config__json=config)
    with pytest.raises(KerasFileError, match="Keras operation 'NotEqual'"):  # Any reads it: data too
        load_keras(path)


@pytest.mark.parametrize("change", ["another value", "another operation", "a layer's name not a string",
                                    "a mask by hand"])
def test_a_mask_our_layers_do_not_make_is_refused_not_dropped(tmp_path, change):
    config = fixture_config("functional_masks")
    by_class = {s["class_name"]: s for s in config["config"]["layers"]}
    if change == "another value":  # NotEqual(ids, 1) is not Embedding(mask_zero=True)'s mask
        by_class["NotEqual"]["inbound_nodes"][0]["args"][1] = 1
    elif change == "another operation":
        by_class["NotEqual"]["class_name"] = "Greater"
    elif change == "a mask by hand":  # the GRU reads the raw series but keeps the Masking's mask=
        gru = by_class["GRU"]["inbound_nodes"][0]["args"][0]["config"]
        gru["keras_history"] = by_class["Masking"]["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
    else:
        by_class["Dense"]["name"] = ["dense"]
    path = rewrite(os.path.join(HERE, "functional_masks.keras"), tmp_path / "m.keras", config__json=config)
    message = "no name" if change.startswith("a layer") else "mask made by the Keras operation"
    with pytest.raises(KerasFileError, match=message):
        load_keras(path)


def rnn_layers(config):
    """The RNN layers of the rnn_cells fixture's config: RNN(LSTMCell), then RNN of stacked cells."""
    return [spec["config"] for spec in config["config"]["layers"] if spec["class_name"] == "RNN"]


def wrapper(config, class_name):
    return next(spec["config"] for spec in config["config"]["layers"] if spec["class_name"] == class_name)


def source_file(name, tmp_path):
    """A Keras fixture, or ("wrappers") a file saved here of Bidirectional and TimeDistributed layers."""
    if name != "wrappers":
        return os.path.join(HERE, f"{name}.keras")
    model = sg.Sequential([L.Input((3, 2)), L.Bidirectional(L.LSTM(2, return_sequences=True)),
                           L.TimeDistributed(L.Dense(1))])
    save_keras(model, tmp_path / "wrappers.keras")
    return tmp_path / "wrappers.keras"


@pytest.mark.parametrize("name, edit, message", [
    ("rnn_cells", lambda c: rnn_layers(c)[0].update(cell="LSTMCell"), "the cell of RNN 'rnn' must be a layer config"),
    ("rnn_cells", lambda c: rnn_layers(c)[0].update(cell=None), "the cell of RNN 'rnn' must be .*got null"),
    ("rnn_cells", lambda c: rnn_layers(c)[1]["cell"]["config"].update(cells={"a": 1}),
     r"the cells of StackedRNNCells .* must be a list of layer configs, got \{"),
    ("rnn_cells", lambda c: rnn_layers(c)[1]["cell"]["config"].update(cells="GRUCell"),
     "must be a list of layer configs, got GRUCell"),
    ("wrappers", lambda c: wrapper(c, "Bidirectional").update(layer="LSTM"),
     "the layer of Bidirectional .* must be a layer config"),
    ("wrappers", lambda c: wrapper(c, "Bidirectional").update(backward_layer=[1]),
     r"the backward_layer of Bidirectional .* got \[1\]"),
    ("wrappers", lambda c: wrapper(c, "TimeDistributed").update(layer=None),
     "the layer of TimeDistributed .* must be a layer config"),
    # a flag of the wrong type fails deep in building, with an AttributeError: still the file's fault
    ("rnn_cells", lambda c: rnn_layers(c)[0].update(return_state="x"), "cannot be rebuilt: AttributeError"),
])
def test_a_malformed_wrapped_layer_is_a_keras_file_error(tmp_path, name, edit, message):
    source = source_file(name, tmp_path)
    with zipfile.ZipFile(source) as archive:
        config = json.loads(archive.read("config.json"))
    edit(config)
    path = rewrite(source, tmp_path / "w.keras", config__json=config)
    with pytest.raises(KerasFileError, match=message):
        load_keras(path)


def optimizer_spec(config):
    return config["compile_config"]["optimizer"]


@pytest.mark.parametrize("edit, message", [
    (lambda c: optimizer_spec(c)["config"].update(clipnorm=[]), "the optimizer cannot be restored: '<='"),
    (lambda c: optimizer_spec(c)["config"].update(beta_1=3), r"beta_1 must be in \[0, 1\), got 3"),
    (lambda c: optimizer_spec(c).update(registered_name=[1]), "unhashable type: 'list'"),
    (lambda c: optimizer_spec(c).update(config="x"), "the config of optimizer 'Adam' must be an object, got x"),
    (lambda c: optimizer_spec(c)["config"].update(learning_rate={"class_name": "ExponentialDecay", "config": [1]}),
     "the config of learning rate schedule 'ExponentialDecay' must be an object"),
])
def test_a_malformed_optimizer_with_saved_state_is_a_keras_file_error(tmp_path, edit, message):
    # the optimizer of a file with optimizer state is rebuilt before compile(), which refused these already
    config = fixture_config("rnn_cells")
    edit(config)
    path = rewrite(os.path.join(HERE, "rnn_cells.keras"), tmp_path / "o.keras", config__json=config)
    with pytest.raises(KerasFileError, match=message):
        load_keras(path)


@pytest.mark.parametrize("config", [[1, 2, 3], "model", {"class_name": "Sequential"}, b"null"])
def test_a_config_that_is_not_a_model_is_refused(tmp_path, config):
    path = rewrite(os.path.join(HERE, "mlp.keras"), tmp_path / "c.keras", config__json=config)
    with pytest.raises(KerasFileError, match="c.keras: a Keras model config is an object with class_name"):
        load_keras(path)


def test_a_deeply_nested_config_is_refused(tmp_path):
    deep = b"[" * 100_000 + b"]" * 100_000
    path = rewrite(os.path.join(HERE, "mlp.keras"), tmp_path / "d.keras", config__json=deep)
    with pytest.raises(KerasFileError, match="nested"):
        load_keras(path)


def test_a_huge_size_in_the_config_is_refused_before_building(tmp_path):
    config = fixture_config()
    config["config"]["layers"][1]["config"]["units"] = 10**12
    path = rewrite(os.path.join(HERE, "mlp.keras"), tmp_path / "h.keras", config__json=config)
    with pytest.raises(KerasFileError, match="above the"):
        load_keras(path)


def _h5(build):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        build(f)
    return buffer.getvalue()


def test_a_huge_declared_dataset_is_refused_before_reading(tmp_path):
    def build(f):
        for name, shape in (("dense", (8, 16)), ("dense_1", (16, 3))):
            g = f.create_group(f"layers/{name}/vars")
            # a chunked, compressed dataset declaring 2**40 elements: a few bytes in the file
            g.create_dataset("0", shape=(2**20, 2**20), dtype="f4", chunks=(1, 1024), compression="gzip")
            g.create_dataset("1", data=np.zeros(shape[1], "f4"))
    path = rewrite(os.path.join(HERE, "mlp.keras"), tmp_path / "big.keras", model__weights__h5=_h5(build))
    with pytest.raises(KerasFileError, match=r"shape \(1048576, 1048576\)"):
        load_keras(path)


def test_links_to_other_files_and_odd_dtypes_are_refused(tmp_path):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["x"] = np.ones((8, 16), "f4")

    def external(f):
        g = f.create_group("layers/dense/vars")
        g["0"] = h5py.ExternalLink(str(secret), "/x")
        g.create_dataset("1", data=np.zeros(16, "f4"))
    path = rewrite(os.path.join(HERE, "mlp.keras"), tmp_path / "ext.keras", model__weights__h5=_h5(external))
    with pytest.raises(KerasFileError, match="links elsewhere"):
        load_keras(path)

    def strings(f):
        g = f.create_group("layers/dense/vars")
        g.create_dataset("0", data=np.array([b"x"] * 128).reshape(8, 16))
        g.create_dataset("1", data=np.zeros(16, "f4"))
    path = rewrite(os.path.join(HERE, "mlp.keras"), tmp_path / "str.keras", model__weights__h5=_h5(strings))
    with pytest.raises(KerasFileError, match="plain numbers"):
        load_keras(path)


def test_a_non_zip_and_a_zip_without_keras_members_are_refused(tmp_path):
    (tmp_path / "x.keras").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(KerasFileError, match="not a zip"):
        load_keras(tmp_path / "x.keras")
    with zipfile.ZipFile(tmp_path / "y.keras", "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(KerasFileError, match="no config.json, model.weights.h5"):
        load_keras(tmp_path / "y.keras")
    assert issubclass(KerasFileError, ModelFileError)
    with pytest.raises(FileNotFoundError):
        load_keras(tmp_path / "missing.keras")


def test_a_zip_bomb_is_refused_without_inflating_it(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b"{}")
        with archive.open("model.weights.h5", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(300):  # 300 MB of zeros: ~300 KB deflated
                f.write(chunk)
    with pytest.raises(KerasFileError, match="zip bomb"):
        load_keras(path)


def test_a_lying_declared_size_is_refused(tmp_path):
    path = tmp_path / "lie.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(fixture_config()))
        archive.writestr("model.weights.h5", b"\0" * 64)
    raw = bytearray(path.read_bytes())
    # the central directory's uncompressed size of config.json: declare it 2**31
    central = raw.rfind(b"PK\x01\x02", 0, raw.rfind(b"PK\x01\x02"))
    raw[central + 24:central + 28] = (2**31).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(KerasFileError, match="declares"):
        load_keras(path)


def test_weights_that_do_not_fit_are_refused_and_nothing_is_half_loaded(tmp_path):
    def build(f):
        g = f.create_group("layers/dense/vars")
        g.create_dataset("0", data=np.zeros((8, 16), "f4"))
        g.create_dataset("1", data=np.zeros(16, "f4"))
        g = f.create_group("layers/dense_1/vars")
        g.create_dataset("0", data=np.zeros((16, 4), "f4"))  # the model's is (16, 3)
        g.create_dataset("1", data=np.zeros(3, "f4"))
    path = rewrite(os.path.join(HERE, "mlp.keras"), tmp_path / "w.keras", model__weights__h5=_h5(build))
    with pytest.raises(KerasFileError, match=r"layers/dense_1/vars/0 has shape \(16, 4\)"):
        load_keras(path)


def test_save_keras_refuses_what_keras_could_not_rebuild(tmp_path):
    model = sg.Sequential([sg.Input(shape=(3,)), L.Lambda(lambda x: x * 2)])
    with pytest.raises(ValueError, match="Lambda"):
        save_keras(model, tmp_path / "l.keras")


# ---- development check: Keras itself reads what we write ------------------------------------------------
@pytest.mark.parametrize("dropout", [True, False])
def test_keras_loads_our_file_and_predicts_the_same(tmp_path, rng, dropout):
    keras = pytest.importorskip("keras")
    sg.set_seed(1)
    a, b = sg.Input(shape=(6, 3), name="seq"), sg.Input(shape=(4,), name="vec")
    h = L.LSTM(5)(L.Conv1D(4, 2, padding="same", activation="relu")(a))
    v = L.BatchNormalization()(L.Dense(5, activation="tanh")(b))
    h = L.Concatenate()([h, v])
    out = L.Dense(2, activation="softmax")(L.Dropout(0.2)(h) if dropout else h)
    model = sg.Model([a, b], out)
    model.compile(optimizer=sg.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    xs = [rng.standard_normal((16, 6, 3)).astype(np.float32), rng.standard_normal((16, 4)).astype(np.float32)]
    y = rng.integers(0, 2, 16)
    model.fit(xs, y, epochs=2, batch_size=8, verbose=0)
    save_keras(model, tmp_path / "ours.keras")
    theirs = keras.saving.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(np.asarray(theirs.predict(xs, verbose=0)), model.predict(xs, verbose=0),
                               rtol=1e-5, atol=1e-5)
    if not dropout:  # the optimizer state travelled: one more step is the same step (dropout's masks would differ)
        model.train_on_batch([x[:8] for x in xs], y[:8])
        theirs.train_on_batch([x[:8] for x in xs], y[:8])
        np.testing.assert_allclose(np.asarray(theirs.predict(xs, verbose=0)), model.predict(xs, verbose=0),
                                   rtol=1e-4, atol=1e-5)


def test_load_model_opens_a_keras_file_too(tmp_path):
    """scratchgrad.models.load_model reads a .keras zip (by its first bytes) as keras.saving.load_model does."""
    model = sg.models.Sequential([sg.Input(shape=(3,)), sg.layers.Dense(2, kernel_initializer={
        "class_name": "RandomNormal", "config": {"stddev": 0.5}})])  # an initializer given as a config dict
    model.save(tmp_path / "m.keras", format="keras")
    loaded = sg.models.load_model(tmp_path / "m.keras")
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)


@pytest.mark.parametrize("case", ["a layer that takes none", "a constraint we lack"])
def test_a_constraint_that_cannot_be_kept_is_dropped_with_a_warning(case, tmp_path):
    """As Keras files loaded before there were constraints: the predictions do not depend on them."""
    name = "two_inputs" if case == "a layer that takes none" else "mlp"
    config = fixture_config(name)
    layers = config["config"]["layers"]
    if case == "a layer that takes none":  # the custom Scale layer, whose constructor takes no constraint
        layer = next(layer for layer in layers if layer["class_name"] == "Scale")
        constraint = {"module": "keras.constraints", "class_name": "NonNeg", "config": {}, "registered_name": None}
    else:
        layer = next(layer for layer in layers if layer["class_name"] == "Dense")
        constraint = {"module": None, "class_name": "Clip", "config": {"c": 1.0}, "registered_name": "my>Clip"}
    layer["config"]["kernel_constraint"] = constraint
    path = rewrite(os.path.join(HERE, f"{name}.keras"), tmp_path / "c.keras", config__json=config)
    with pytest.warns(UserWarning, match="constraint kernel_constraint .* is dropped"):
        model = load_keras(path)
    ref = reference(name)
    for got, want in zip(as_list(model.predict(inputs(ref), verbose=0)), [ref[k] for k in sorted(ref) if k[0] == "y"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
