import csv

import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad import callbacks
from scratchgrad.layers import Dense
from scratchgrad.models import Sequential


@pytest.fixture
def data(rng):
    x = rng.standard_normal((64, 3)).astype(np.float32)
    return x, (x.sum(axis=1) > 0).astype(np.int64)


def model_for(lr=0.05):
    keras.set_seed(0)
    model = Sequential([Dense(8, activation="relu", input_dim=3), Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Scripted(callbacks.Callback):
    """Feeds a fixed sequence of val_loss values into the logs, to drive monitors deterministically."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_history_keys_and_hooks_order(data):
    events = []
    hooks = {name: (lambda name: lambda *args: events.append(name))(name) for name in callbacks.LambdaCallback.HOOKS}
    history = model_for().fit(*data, epochs=2, batch_size=32, verbose=0, callbacks=[callbacks.LambdaCallback(**hooks)])
    assert history.epoch == [0, 1] and set(history.history) == {"loss", "accuracy"}
    assert events[:4] == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end"]
    assert events[-1] == "on_train_end" and events.count("on_epoch_end") == 2


def test_a_hook_a_callback_sets_during_fit_is_called(data):
    """fit skips the base class's no-op hooks of its own callbacks only: a user's callback may set a hook at
    any time, and Keras looks each up at every call."""
    seen = []

    class Late(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.on_epoch_begin = lambda e, logs=None: seen.append(e)

    model_for().fit(*data, epochs=3, batch_size=32, verbose=0, callbacks=[Late()])
    assert seen == [1, 2]


def test_early_stopping_patience_and_restore(data):
    model = model_for()
    snapshots = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(*data, epochs=10, verbose=0, callbacks=[Scripted([5, 3, 4, 4, 1, 0, 0, 0, 0, 0]), record, stop])
    assert len(history.history["loss"]) == 4  # best at epoch 2 (index 1), two epochs without improvement
    for a, b in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_best_only(tmp_path, data):
    path = str(tmp_path / "ckpt-{epoch:02d}.sg")
    cb = callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    model_for().fit(*data, epochs=4, verbose=0, callbacks=[Scripted([3, 2, 5, 1]), cb])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01.sg", "ckpt-02.sg", "ckpt-04.sg"]
    assert keras.load_model(tmp_path / "ckpt-04.sg").count_params() == 50


def test_learning_rate_scheduler_sets_the_rate(data):
    model = model_for(lr=0.1)
    seen = []
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    spy = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(model.optimizer.learning_rate))
    history = model.fit(*data, epochs=3, verbose=0, callbacks=[sched, spy])
    assert seen == pytest.approx([0.05, 0.025, 0.0125])
    assert history.history["learning_rate"] == pytest.approx(seen)


def test_reduce_lr_on_plateau(data):
    model = model_for(lr=0.1)
    cb = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.02)
    model.fit(*data, epochs=6, verbose=0, callbacks=[Scripted([1, 1, 1, 1, 1, 1]), cb])
    assert model.optimizer.learning_rate == pytest.approx(0.025)  # halved at epochs 3 and 5


def test_csv_logger(tmp_path, data):
    path = tmp_path / "log.csv"
    model_for().fit(*data, epochs=3, verbose=0, callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.DictReader(path.open()))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"] and set(rows[0]) == {"epoch", "accuracy", "loss"}


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError, match="on_epoch_end"):
        callbacks.LambdaCallback(on_epoch_finish=print)


def test_tensorboard_writes_event_files_tensorboard_reads(tmp_path, rng):
    """Keras's layout: log_dir/train and log_dir/validation with epoch_<name> scalars; the records are
    read back with TensorBoard's own Event protobuf (tensorboardX ships it)."""
    import struct

    event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")

    def scalars(folder):
        found = {}
        for path in folder.iterdir():
            data = path.read_bytes()
            while data:
                (length,) = struct.unpack("<Q", data[:8])
                event = event_pb2.Event.FromString(data[12:12 + length])
                for value in event.summary.value:
                    found.setdefault(value.tag, []).append((event.step, value.simple_value))
                data = data[12 + length + 4:]
        return found

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = rng.random((20, 3)), rng.integers(0, 2, 20)
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0,
                        callbacks=[keras.callbacks.TensorBoard(tmp_path, histogram_freq=1)])
    train, validation = scalars(tmp_path / "train"), scalars(tmp_path / "validation")
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(train)
    assert [step for step, _ in train["epoch_loss"]] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in validation["epoch_loss"]], history.history["val_loss"], rtol=1e-6)
    # a MultiOptimizer has no rate of its own: each of its optimizers' is logged, as Keras's TensorBoard does
    optimizers = keras.optimizers
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD(0.1), {".*/bias": optimizers.Adam()}))
    model.compile(multi, "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.TensorBoard(tmp_path / "multi")])
    assert {"epoch_learning_rate_sgd", "epoch_learning_rate_adam"} <= set(scalars(tmp_path / "multi" / "train"))


@pytest.mark.parametrize("optimizer", [
    lambda: keras.optimizers.Adam(0.05),
    lambda: keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        keras.optimizers.Adam(0.05), {".*/bias": keras.optimizers.SGD(0.1, momentum=0.9)})),
], ids=["Adam", "MultiOptimizer"])
def test_backup_and_restore_resumes_an_interrupted_fit_exactly(tmp_path, rng, optimizer):
    x, y = rng.random((32, 3)), rng.integers(0, 2, 32)

    def model():
        keras.set_seed(0)
        m = keras.Sequential([keras.Input(shape=(3,)), keras.layers.GaussianNoise(0.3, seed=3),  # a seeded layer
                              keras.layers.Dropout(0.3), keras.layers.Dense(2, activation="softmax")])
        m.compile(optimizer(), "sparse_categorical_crossentropy")
        return m

    class Crash(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    keras.set_seed(1)
    reference = model()
    reference.fit(x, y, epochs=4, verbose=0)  # shuffled, with dropout: the random state must resume too
    interrupted = model()
    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(x, y, epochs=4, verbose=0, callbacks=[backup, Crash()])
    resumed = model()  # a fresh process would start like this
    history = resumed.fit(x, y, epochs=4, verbose=0, callbacks=[backup])
    assert history.epoch == [2, 3]
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not list((tmp_path / "backup").iterdir())  # deleted once training finished


def test_batch_logs_reach_the_callbacks_that_read_them(data):
    """fit builds a batch's running logs only for callbacks with a batch hook; those get the same keys."""
    seen = {}

    class Reader(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.setdefault("subclass", []).append(dict(logs))

    lam = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.setdefault("lambda", []).append(logs))
    model_for().fit(*data, batch_size=16, epochs=1, verbose=0, callbacks=[Reader(), lam])
    assert len(seen["subclass"]) == 4 and seen["subclass"][0].keys() == {"loss", "accuracy"}
    assert seen["lambda"][-1] == seen["subclass"][-1]
    quiet = callbacks.CallbackList([callbacks.History(), callbacks.ProgbarLogger(verbose=2)], None, {})
    assert not quiet.implements("on_train_batch_end")  # nobody would read them: none are built
    assert callbacks.CallbackList([Reader()], None, {}).implements("on_train_batch_end")
    assert callbacks.CallbackList([lam], None, {}).implements("on_train_batch_end")


def test_what_callbacks_add_to_a_custom_train_steps_logs_reaches_the_epoch(data):
    class Custom(Sequential):
        def train_step(self, batch):
            return {"foo": 1.5}

    class Adds(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            logs["extra"] = batch  # Keras hands the callbacks the dict train_step returned

    model = Custom([Dense(2, input_dim=3)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(*data, batch_size=16, epochs=1, verbose=0, callbacks=[Adds()])
    assert history.history == {"foo": [1.5], "extra": [3]}


def test_remote_monitor_posts_each_epochs_logs(rng):
    """To a server on this machine, as a form field (Keras's default) and as a JSON body."""
    import http.server
    import json
    import threading
    import urllib.parse

    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((self.path, self.headers["Content-Type"], self.headers.get("X-Run"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{server.server_port}"
    try:
        model = Sequential([keras.layers.Input((3,)), Dense(1)])
        model.compile("sgd", "mse")
        x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
        model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.RemoteMonitor(root, headers={"X-Run": "a"})])
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.RemoteMonitor(root, "/json", send_as_json=True)])
    finally:
        server.shutdown()
    (path, kind, run, body), second, (json_path, json_kind, _, json_body) = received
    assert path == "/publish/epoch/end/" and kind == "application/x-www-form-urlencoded" and run == "a"
    sent = json.loads(urllib.parse.parse_qs(body)["data"][0])
    assert sent["epoch"] == 0 and isinstance(sent["loss"], float)
    assert json_path == "/json" and json_kind == "application/json" and set(json.loads(json_body)) == {"epoch", "loss"}
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
        callbacks.RemoteMonitor(root).on_epoch_end(0, {"loss": 1.0})  # the server is gone
