"""The Keras-compatible model API: the seeds' programs, return types, validation, progress output."""
import io
import re
import sys
import types

import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad.callbacks import ProgbarLogger
from scratchgrad.layers import Dense
from scratchgrad.models import Sequential


def blobs(rng, n=240, classes=3, features=4):
    centers = rng.standard_normal((classes, features)) * 3
    y = rng.integers(0, classes, n)
    return (centers[y] + rng.standard_normal((n, features))).astype(np.float32), y


def test_seed_mnist_program_runs_with_imports_changed(rng):
    # the seed's Keras program: Dense(512, relu) -> Dense(10, softmax), rmsprop, sparse CE
    prototypes = rng.random((10, 784))
    y = rng.integers(0, 10, 256).astype(np.uint8)
    x = np.clip(prototypes[y] + 0.3 * rng.standard_normal((256, 784)), 0, 1).astype(np.float32)
    keras.set_seed(0)
    model = Sequential([Dense(512, activation="relu"), Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=128, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss"] and len(history.history["loss"]) == 5
    assert history.history["loss"][-1] < history.history["loss"][0]
    test_loss, test_acc = model.evaluate(x, y, verbose=0)
    assert isinstance(test_loss, float) and test_acc > 0.9
    probs = model.predict(x[:7])
    assert probs.shape == (7, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_seed_iris_program(rng):
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelEncoder

    x, y = load_iris(return_X_y=True)
    y = keras.utils.to_categorical(LabelEncoder().fit_transform(y))
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=417)
    keras.set_seed(0)
    model = keras.Sequential()
    model.add(keras.layers.Dense(30, input_dim=4, activation="relu"))
    model.add(keras.layers.Dense(16, activation="relu"))
    model.add(keras.layers.Dense(3, activation="softmax"))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=30, batch_size=1, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] >= 0.9


def test_input_builds_the_model_and_summary_matches_keras(capsys):
    model = keras.Sequential([keras.Input(shape=(784,)), Dense(512, activation="relu"), Dense(10, activation="softmax")])
    assert model.built and model.count_params() == 407_050
    model.summary()
    out = capsys.readouterr().out
    assert "(None, 512)" in out and "401,920" in out and "Total params: 407,050" in out
    assert "Non-trainable params: 0" in out


def nested_models():
    """Keras's own run of these models gave the rows, columns and errors the summary tests expect."""
    inner = keras.Sequential([keras.Input((4,)), Dense(3, name="d1"), Dense(2, name="d2")], name="inner")
    x = keras.Input((4,), name="inp")
    chain = keras.Model(x, Dense(1, name="post")(inner(Dense(4, name="pre")(x))), name="outer")
    fin = keras.Input((4,), name="fin")
    middle = keras.Sequential([keras.Input((4,)), Dense(4, name="s1"),
                               keras.Model(fin, Dense(3, name="fd")(fin), name="finner"), Dense(2, name="s2")],
                              name="seqmid")
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    graph = keras.Model([a, b], keras.layers.Add(name="add")([middle(a), Dense(2, name="db")(b)]), name="top")
    return chain, middle, graph


def summary_of(model, **kwargs):
    printed = []
    model.summary(print_fn=printed.append, **kwargs)
    return printed[0]


def table_rows(text):
    """The table's rows, each as its cells (split where two spaces part them)."""
    lines = text.splitlines()  # the title, a rule, the headers, a thick rule, the rows, a thick rule, ...
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in lines[4:lines.index(lines[3], 4)]]


def test_summary_layer_range_picks_rows_by_name_as_keras(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # Keras's default width is capped by the terminal's
    chain, middle, _ = nested_models()
    both_ways = [table_rows(summary_of(chain, layer_range=ends)) for ends in [("pre", "inner"), ("inner", "pre")]]
    assert both_ways == [[["pre (Dense)", "(None, 4)", "20"], ["inner (Sequential)", "(None, 2)", "23"]]] * 2
    # regular expressions matched at the start of names: the first match of one end to the last of the other
    assert [row[0] for row in table_rows(summary_of(middle, layer_range=["fin", "s."]))] == ["finner (Functional)",
                                                                                           "s2 (Dense)"]
    for bad, message in [(("pre",), "layer_range must be a list or tuple of length 2. Received: layer_range = "
                                    "('pre',) of length 1"),
                         (("pre", 3), "layer_range should contain string type only. Received: ('pre', 3)"),
                         (("nope", "inner"), "Passed layer_names do not match the layer names in the model. "
                                             "Received: ('nope', 'inner'); the layers are ['inp', 'pre'")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            chain.summary(layer_range=bad)


def test_summary_expand_nested_lists_nested_layers_under_their_model(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    _, middle, graph = nested_models()
    rows = table_rows(summary_of(graph, expand_nested=True, show_trainable=True))
    assert rows == [["a (InputLayer)", "(None, 4)", "0", "-", "-"], ["b (InputLayer)", "(None, 4)", "0", "-", "-"],
                    ["seqmid (Sequential)", "(None, 2)", "43", "a[0][0]", "Y"],
                    ["└ s1 (Dense)", "(None, 4)", "20", "-", "Y"],
                    ["└ finner (Functional)", "(None, 3)", "15", "-", "Y"],
                    ["└ fin (InputLayer)", "(None, 4)", "0", "-", "-"], ["└ fd (Dense)", "(None, 3)", "15", "-", "Y"],
                    ["└ s2 (Dense)", "(None, 2)", "8", "-", "Y"], ["db (Dense)", "(None, 2)", "10", "b[0][0]", "Y"],
                    ["add (Add)", "(None, 2)", "0", "seqmid[0][0], db[0][0]", "-"]]
    names = [line.split("(")[0] for line in summary_of(graph, expand_nested=True).splitlines() if "└" in line]
    assert names == ["   └ s1 ", "   └ finner ", "      └ fin ", "      └ fd ", "   └ s2 "]  # 3 spaces a level
    # layer_range picks the model's own layers; each brings its nested rows
    assert [row[0] for row in table_rows(summary_of(middle, expand_nested=True, layer_range=("s", "fin")))] == [
        "s1 (Dense)", "finner (Functional)", "└ fin (InputLayer)", "└ fd (Dense)"]


def column_starts(text):
    """Where each left-aligned header begins, where the right-aligned Param # ends, and the rules' length."""
    lines = text.splitlines()
    header = lines[2]
    words = [word for word in ["Output Shape", "Connected to", "Trainable"] if word in header]
    return [header.index(word) for word in words], header.index("Param #") + len("Param #"), len(lines[1])


def test_summary_line_length_and_positions_set_keras_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # Keras caps its default at the terminal's width less 4
    chain, _, graph = nested_models()
    assert column_starts(summary_of(chain)) == ([39], 86, 88)  # Keras: 88 wide, columns at 0.45, 0.8 and 1
    assert column_starts(summary_of(graph)) == ([32, 79], 77, 108)  # 108 wide, at 0.3, 0.56, 0.74, 1
    assert column_starts(summary_of(graph, show_trainable=True)) == ([32, 79, 108], 77, 120)
    monkeypatch.setenv("COLUMNS", "80")
    assert column_starts(summary_of(chain)) == ([34], 74, 76)
    assert column_starts(summary_of(chain, line_length=60)) == ([27], 58, 60)
    assert column_starts(summary_of(chain, positions=[0.5, 0.8, 1.0])) == ([38], 74, 76)
    # show_trainable narrows the given columns by a tenth and adds one to the end, its header cut as Keras's
    header = summary_of(chain, positions=[0.3, 0.6, 1.0], line_length=70, show_trainable=True).splitlines()[2]
    assert [header.index(word) for word in ["Output", "Param #", "Trai…"]] == [18, 54, 63]
    # positions above 1 are character counts, as Keras documents them
    assert column_starts(summary_of(chain, positions=[30, 50, 60])) == ([30], 58, 60)
    assert column_starts(summary_of(chain, positions=[30, 50, 60], show_trainable=True)) == ([30, 60], 58, 72)


@pytest.mark.parametrize("kwargs,message", [
    ({"line_length": 10}, "Insufficient console width to print summary: column 'Param #' would be 2 characters"),
    ({"positions": [0.5, 0.52, 1.0]}, "column 'Output Shape' would be 1 characters wide (column ends [38, 39, 76])"),
    ({"positions": [0.5, 1.0]}, "positions must be 3 positive numbers, the end of each column"),
    ({"positions": "0.5"}, "positions must be 3 positive numbers"),
    ({"positions": [30, 50, 90], "line_length": 80}, "positions end at 90, past line_length 80"),
    ({"line_length": "80"}, "line_length must be a positive integer (characters per line), got '80'"),
    ({"line_length": -5}, "line_length must be a positive integer"),
])
def test_summary_refuses_layouts_that_do_not_fit(kwargs, message, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(ValueError, match=re.escape(message)):
        nested_models()[0].summary(**kwargs)


def test_summary_calls_print_fn_once_with_the_text_as_keras(capsys, monkeypatch):
    """Keras calls print_fn(text) once, text ending in a newline, so that a file's write takes it whole;
    without print_fn it prints the same text."""
    monkeypatch.setenv("COLUMNS", "80")
    calls = []  # a list, not a StringIO: joined text would hide a second call
    model = nested_models()[0]
    model.summary(print_fn=lambda *args, **kwargs: calls.append((args, kwargs)))
    model.summary()
    assert len(calls) == 1 and len(calls[0][0]) == 1 and not calls[0][1]
    text = calls[0][0][0]
    assert text == capsys.readouterr().out
    assert text.startswith('Model: "outer"\n') and text.endswith("_\n")


def test_evaluate_returns_scalar_without_metrics(rng):
    x, y = blobs(rng)
    model = Sequential([Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    assert isinstance(model.train_on_batch(x[:8], y[:8]), float)
    assert model.predict_on_batch(x[:8]).shape == (8, 3)


def test_fused_path_matches_the_plain_loss(rng):
    x, y = blobs(rng, n=32)
    keras.set_seed(1)
    model = Sequential([Dense(3, activation="softmax", input_dim=4)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    fused = model.evaluate(x, y, verbose=0)
    probs = model.predict(x)
    plain = -np.log(probs[np.arange(len(y)), y]).mean()
    assert fused == pytest.approx(plain, rel=1e-5)


def test_last_short_batch_is_used(rng):
    x, y = blobs(rng, n=10)
    seen = []
    model = Sequential([Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[cb])
    assert seen == [0, 1, 2]


@pytest.mark.parametrize("batch_size", [1, 5])
def test_a_small_dataset_shuffled_whole_trains_as_batch_by_batch(batch_size, monkeypatch):
    """Up to trainer._SHUFFLED_COPY_BYTES the epoch's permutation is applied to the data at once and batches
    are slices: the same batches, so the same training, as taking each batch's rows (larger data)."""
    from scratchgrad import trainer

    def train():
        keras.set_seed(3)
        model = Sequential([keras.Input(shape=(4,)), Dense(5, activation="relu"), Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        rng = np.random.default_rng(0)
        x, y, w = rng.standard_normal((23, 4)), rng.integers(0, 3, 23), rng.uniform(0.5, 2, 23)
        history = model.fit(x, y, sample_weight=w, batch_size=batch_size, epochs=3, verbose=0).history
        return history, model.get_weights()

    whole = train()
    monkeypatch.setattr(trainer, "_SHUFFLED_COPY_BYTES", 0)
    by_batch = train()
    assert whole[0] == by_batch[0]
    for a, b in zip(whole[1], by_batch[1]):
        np.testing.assert_array_equal(a, b)


def test_validation_split_and_data_add_val_keys(rng):
    x, y = blobs(rng)
    model = Sequential([Dense(8, activation="relu"), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert sorted(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    h = model.fit(x, y, epochs=1, validation_data=(x[:10], y[:10]), verbose=0)
    assert "val_loss" in h.history


def test_lists_and_tensors_are_accepted(rng):
    x, y = blobs(rng, n=20)
    trained = []
    for inputs, targets in [(x, y), (x.tolist(), y.tolist()), (keras.Tensor(x), keras.Tensor(y))]:
        keras.random.set_seed(0)
        model = Sequential([Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(inputs, targets, shuffle=False, verbose=0)
        trained.append(model.get_weights())
    for weights in trained[1:]:
        for got, want in zip(weights, trained[0]):
            np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("loss,metric_name", [("binary_crossentropy", "binary"), ("mse", "binary")])
def test_binary_output_accuracy(loss, metric_name, rng):
    x = rng.standard_normal((200, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    keras.set_seed(0)
    model = Sequential([Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss, metrics=["accuracy"])
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


def test_regularization_adds_to_the_loss(rng):
    x, y = blobs(rng, n=16)
    keras.set_seed(0)
    plain = Sequential([Dense(3, activation="softmax", input_dim=4)])
    keras.set_seed(0)
    reg = Sequential([Dense(3, activation="softmax", input_dim=4, kernel_regularizer=keras.regularizers.L2(0.5))])
    for m in (plain, reg):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    penalty = 0.5 * (reg.layers[0].kernel.data.astype(np.float64) ** 2).sum()
    assert reg.evaluate(x, y, verbose=0) == pytest.approx(plain.evaluate(x, y, verbose=0) + penalty, rel=1e-5)


def test_class_and_sample_weights_change_the_loss(rng):
    x, y = blobs(rng, n=32)
    model = Sequential([Dense(3, activation="softmax", input_dim=4)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    base = model.evaluate(x, y, verbose=0)
    assert model.evaluate(x, y, sample_weight=np.full(32, 2.0), verbose=0) == pytest.approx(2 * base, rel=1e-5)
    model.fit(x, y, class_weight={0: 1.0, 1: 5.0, 2: 1.0}, verbose=0)


# ---- bad input, checked before training ---------------------------------------------------------------
def compiled(loss="sparse_categorical_crossentropy", units=3, **kw):
    model = Sequential([Dense(units, activation="softmax", input_dim=4, **kw)])
    model.compile(optimizer="sgd", loss=loss)
    return model


@pytest.mark.parametrize("x,y,loss,units,message", [
    (np.ones((5, 4)), np.zeros(4), "sparse_categorical_crossentropy", 3, "5 samples in x, 4 in y"),
    (np.ones((5, 3)), np.zeros(5), "sparse_categorical_crossentropy", 3, r"\(None, 4\).*\(5, 3\)"),
    (np.ones((5, 4)), np.array([0, 1, 2, 3, 0]), "sparse_categorical_crossentropy", 3, r"\[0, 3\)"),
    (np.ones((5, 4)), np.array([0, 1, 0.5, 1, 0]), "sparse_categorical_crossentropy", 3, "integer"),
    (np.ones((5, 4)), np.ones((5, 4)), "categorical_crossentropy", 3, r"\(5, 4\).*\(None, 3\)"),
    (np.ones((5, 4)), np.array([0, 1, 2, 1, 0]), "categorical_crossentropy", 3, "one-hot"),
    (np.full((5, 4), np.nan), np.zeros(5), "sparse_categorical_crossentropy", 3, "NaN"),
    (np.ones((5, 4)), np.array([0.0, 1, np.inf, 1, 0]), "mse", 1, "NaN or infinite"),
    (np.ones((0, 4)), np.zeros(0), "sparse_categorical_crossentropy", 3, "empty"),
    (np.ones((5, 4)), np.zeros(5), "binary_crossentropy", 10, "sparse_categorical_crossentropy"),
])
def test_bad_input_is_rejected_with_expected_vs_actual(x, y, loss, units, message):
    model = compiled(loss, units)
    weights = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], weights[0])


def test_bad_batch_size_and_uncompiled_model():
    model = compiled()
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(np.ones((4, 4)), np.zeros(4), batch_size=0, verbose=0)
    with pytest.raises(RuntimeError, match="compile"):
        Sequential([Dense(2)]).fit(np.ones((4, 4)), np.zeros(4), verbose=0)


# ---- progress output ----------------------------------------------------------------------------------
def run_with_progress(verbose, rng, capsys, epochs=3):
    x, y = blobs(rng, n=64)
    model = compiled()
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=verbose)
    return capsys.readouterr().out


def test_piped_progress_is_one_plain_line_per_epoch(rng, capsys):
    out = run_with_progress(1, rng, capsys)
    lines = out.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"Epoch {i + 1}/3 - 8/8 ") and " - loss: " in line for i, line in enumerate(lines))
    assert "\r" not in out and "\b" not in out and "\x1b" not in out


def test_verbose_2_and_0(rng, capsys):
    assert len(run_with_progress(2, rng, capsys).splitlines()) == 3
    assert run_with_progress(0, rng, capsys) == ""


def test_live_progress_redraws_in_place_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = ProgbarLogger(verbose=1, stream=stream)
    bar.set_params({"epochs": 1, "steps": 4})
    bar.on_epoch_begin(0)
    bar.bar.refresh = 0
    for step in range(4):
        bar.on_train_batch_end(step, {"loss": 0.5})
    bar.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.98})
    out = stream.getvalue()
    assert out.startswith("Epoch 1/1\n") and "\r" in out and "━" * 20 in out
    assert out.rstrip("\n").split("\r")[-1].startswith("4/4 ━━━━━━━━━━━━━━━━━━━━ ")
    assert "accuracy: 0.9800 - loss: 0.5000" in out


def test_notebook_progress_is_one_display_per_epoch_updated_in_place(rng, monkeypatch, capsys):
    """In a Jupyter kernel the bar is one display per epoch, replaced at each update: a saved notebook
    keeps one line per epoch, with no carriage returns or ANSI codes in any output."""
    IPython_display = pytest.importorskip("IPython.display")
    displays = []

    class Handle:
        def __init__(self, data):
            self.texts = [data["text/plain"]]
            displays.append(self)

        def update(self, data, raw):
            self.texts.append(data["text/plain"])

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setattr(IPython_display, "display", lambda data, raw, display_id: Handle(data))
    run_with_progress(1, rng, capsys, epochs=2)
    assert capsys.readouterr().out == ""  # nothing written to the stream itself
    assert len(displays) == 2
    for epoch, handle in enumerate(displays, 1):
        header, line = handle.texts[-1].split("\n")
        assert header == f"Epoch {epoch}/2" and line.startswith("8/8 ━━━━━━━━━━━━━━━━━━━━ ") and "loss: " in line
        assert not any(c in text for text in handle.texts for c in "\r\b\x1b")


@pytest.fixture
def quiet_overflow():
    with np.errstate(all="ignore"):  # the overflow is the point; our own warning is what is checked
        yield


def test_nan_loss_warns_and_terminate_on_nan_stops(rng, capsys, quiet_overflow):
    x, y = blobs(rng, n=32)
    model = compiled()
    model.optimizer = keras.optimizers.SGD(1e30)
    x = x * 1e20
    with pytest.warns(RuntimeWarning, match="epoch 1, batch"):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model = compiled()
    model.optimizer = keras.optimizers.SGD(1e30)
    history = model.fit(x, y, batch_size=4, epochs=5, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()])
    assert "terminating training" in capsys.readouterr().out
    assert len(history.history["loss"]) == 1


def test_low_level_loop_is_possible(rng):
    x, y = blobs(rng, n=64)
    keras.set_seed(0)
    model = Sequential([Dense(16, activation="relu"), Dense(3)])
    opt = keras.optimizers.SGD(0.1)
    F = keras.functional
    first = None
    for epoch in range(20):
        for start in range(0, 64, 16):
            loss = F.cross_entropy(model(x[start:start + 16]), y[start:start + 16])
            loss.backward()
            opt.step(model.parameters())
            opt.zero_grad(model.parameters())
            first = first if first is not None else loss.item()
    assert loss.item() < first / 2


def test_regression_metrics_match_numpy(rng):
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = rng.standard_normal((40, 2)).astype(np.float32)
    model = Sequential([Dense(2, input_dim=3)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    loss, mae, mse = model.evaluate(x, y, batch_size=16, verbose=0)
    pred = model.predict(x)
    assert mae == pytest.approx(np.abs(pred - y).mean(), rel=1e-5)
    assert mse == pytest.approx(((pred - y) ** 2).mean(), rel=1e-5) == pytest.approx(loss, rel=1e-5)


def test_steps_per_epoch_limits_the_batches(rng):
    x, y = blobs(rng, n=100)
    seen = []
    model = Sequential([Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    model.fit(x, y, batch_size=10, epochs=2, steps_per_epoch=3, verbose=0, callbacks=[cb])
    assert seen == [0, 1, 2, 0, 1, 2]
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(x, y, steps_per_epoch=0, verbose=0)
