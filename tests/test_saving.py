"""model.save / load_model / save_weights: identical predictions, exact resumption, bad files refused."""
import json
import os
import struct

import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad.layers import BatchNormalization, Dense, Dropout
from scratchgrad.models import ModelFileError, Sequential, load_model


@pytest.fixture
def data(rng):
    x = rng.standard_normal((96, 5)).astype(np.float32)
    y = (x[:, 0] > x[:, 1]).astype(np.int64) + (x[:, 2] > 0.5)
    return x, y


def make_model(seed=0):
    keras.set_seed(seed)
    model = Sequential([keras.Input(shape=(5,)), Dense(16, activation="relu", kernel_regularizer="l2"),
                        BatchNormalization(), Dropout(0.2), Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_save_load_predicts_identically(tmp_path, data):
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.sg")
    loaded = load_model(tmp_path / "m.sg")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [type(a) for a in loaded.layers] == [type(a) for a in model.layers]
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_stop_and_resume_equals_uninterrupted(tmp_path, data):
    x, y = data
    whole = make_model()
    keras.set_seed(5)
    whole.fit(x, y, epochs=4, batch_size=16, verbose=0)

    first = make_model()
    keras.set_seed(5)
    first.fit(x, y, epochs=2, batch_size=16, verbose=0)
    first.save(tmp_path / "half.sg")
    resumed = load_model(tmp_path / "half.sg")
    resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, verbose=0)
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_only_round_trip(tmp_path, data):
    model = make_model()
    model.fit(*data, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.sg")
    other = make_model(seed=3)
    other.load_weights(tmp_path / "w.sg")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_is_atomic(tmp_path, data, monkeypatch):
    model = make_model()
    path = tmp_path / "m.sg"
    model.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.sg"]


def corrupt(path, how):
    raw = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    elif how == "flipped":
        header_len = struct.unpack("<Q", raw[:8])[0]
        raw[8 + header_len // 2] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif how == "foreign":
        from safetensors.numpy import save_file

        save_file({"w": np.zeros(3, dtype=np.float32)}, str(path))


@pytest.mark.parametrize("how,message", [("truncated", "truncated|corrupted"), ("garbage", "truncated|not a"),
                                         ("flipped", "corrupted|not one scratchgrad"),
                                         ("foreign", "not one scratchgrad wrote")])
def test_damaged_or_foreign_files_are_refused(tmp_path, how, message):
    path = tmp_path / "m.sg"
    make_model().save(path)
    corrupt(path, how)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_mismatched_weights_leave_the_model_untouched(tmp_path, data):
    small = Sequential([keras.Input(shape=(5,)), Dense(4), Dense(3)])
    small.save_weights(tmp_path / "small.sg")
    model = make_model()
    before = model.get_weights()
    with pytest.raises(ModelFileError, match="weight"):
        model.load_weights(tmp_path / "small.sg")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unknown_layer_and_missing_file(tmp_path):
    path = tmp_path / "m.sg"
    make_model().save(path)
    from safetensors.numpy import load_file, save_file
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata()
    config = json.loads(metadata["config"])
    config["config"]["layers"][0]["class_name"] = "Mystery"
    metadata["config"] = json.dumps(config)
    save_file(load_file(str(path)), str(path), metadata=metadata)
    with pytest.raises(ValueError, match="unknown layer class 'Mystery'"):
        load_model(path)
    with pytest.raises(FileNotFoundError, match="no model file"):
        load_model(tmp_path / "absent.sg")


def test_no_pickle_in_the_file(tmp_path):
    path = tmp_path / "m.sg"
    make_model().save(path)
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    header = json.loads(path.read_bytes()[8:8 + header_len])
    assert header["__metadata__"]["format"] == "scratchgrad"
    assert b"\x80\x04\x95" not in path.read_bytes()  # no pickle protocol-4 frame


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_copies_keep_training_exactly(how, data):
    """A pickled or deep-copied model (joblib and Dask do this) continues with the optimizer's state."""
    import copy
    import pickle

    x, y = data
    model = make_model()
    model.fit(x, y, epochs=2, shuffle=False, verbose=0)
    twin = pickle.loads(pickle.dumps(model)) if how == "pickle" else copy.deepcopy(model)
    keras.set_seed(9)
    model.fit(x, y, epochs=1, shuffle=False, verbose=0)
    keras.set_seed(9)
    twin.fit(x, y, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(twin.optimizer.get_state()["slots"]) == len(twin.trainable_weights)  # one state per weight


def test_grad_mode_is_per_thread():
    import threading

    from scratchgrad.autograd import is_grad_enabled, no_grad

    def toggle():
        for _ in range(20_000):
            with no_grad():
                pass

    threads = [threading.Thread(target=toggle) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert is_grad_enabled()


def test_a_model_compiled_without_a_loss_keeps_its_optimizer(tmp_path, rng):
    """A model trained on what its layers add (add_loss) is compiled too: its optimizer state is saved."""
    keras.set_seed(0)
    model = Sequential([keras.Input(shape=(4,)), Dense(3), keras.layers.ActivityRegularization(l2=0.1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.fit(rng.random((16, 4)).astype(np.float32), epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.sg")
    loaded = load_model(tmp_path / "m.sg")
    assert loaded.optimizer.iterations == model.optimizer.iterations == 4
    for a, b in zip(model.get_optimizer_state()["slots"], loaded.get_optimizer_state()["slots"]):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_a_weight_with_no_axes_round_trips(tmp_path):
    """Attention(use_scale=True)'s scale is a 0-d weight; it is saved as one, not as a 1-element array."""
    layer = keras.layers.Attention(use_scale=True)
    inputs = [keras.Input(shape=(3, 2)), keras.Input(shape=(4, 2))]
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "m.sg")
    assert [w.shape for w in load_model(tmp_path / "m.sg").weights] == [()]


def test_weights_of_another_dtype_are_refused_not_cast(tmp_path):
    keras.set_floatx("float64")
    try:
        wide = Sequential([keras.Input(shape=(5,)), Dense(3)])
    finally:
        keras.set_floatx("float32")
    wide.save_weights(tmp_path / "w.sg")
    narrow = Sequential([keras.Input(shape=(5,)), Dense(3)])
    with pytest.raises(ModelFileError, match=r"kernel is float32 in the model but float64 in the file"):
        narrow.load_weights(tmp_path / "w.sg")


def _as_version_1(path):
    """The file rewritten as format version 1 wrote it (the same bytes but the version)."""
    import re

    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = re.sub(rb'("version":\s*")2(")', rb"\g<1>1\g<2>", raw[8:8 + n])
    assert len(header) == n and header != raw[8:8 + n]
    open(path, "wb").write(raw[:8] + header + raw[8 + n:])


def test_version_1_files_load_where_the_layer_order_is_the_same(tmp_path):
    """Version 1 listed a functional model's weights in graph-walk order; where that differs from Keras's
    order (now used), its file is refused rather than loaded into the wrong layers."""
    from scratchgrad.layers import Add

    a = keras.Input((4,))
    x1 = Dense(4, name="x1")(a)
    branching = keras.Model(a, Add()([Dense(4, name="x2")(a), Dense(4, name="b1")(x1)]))
    chain = Sequential([keras.Input((4,)), Dense(2)])
    for model in (branching, chain):
        model.save_weights(tmp_path / "w.weights")
        _as_version_1(tmp_path / "w.weights")
        if model is chain:
            model.load_weights(tmp_path / "w.weights")
        else:
            with pytest.raises(ModelFileError, match="another order"):
                model.load_weights(tmp_path / "w.weights")
