"""Plots run headless and draw what they claim; the graph drawing is exact and fails clearly without Graphviz."""
import re
import shutil

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import scratchgrad as sg  # noqa: E402
from scratchgrad import datasets, plot, viz  # noqa: E402
from scratchgrad import functional as F  # noqa: E402
from scratchgrad.callbacks import Callback  # noqa: E402
from scratchgrad.layers import Dense, Dropout  # noqa: E402

PNG_MAGIC = b"\x89PNG"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def assert_png(path):
    data = path.read_bytes()
    assert data[:4] == PNG_MAGIC and len(data) > 1000


@pytest.fixture(scope="module")
def digits():
    x, y = datasets.load_digits()
    return x[:400] / 16, y[:400]


@pytest.fixture(scope="module")
def trained(digits):
    """A small digits classifier after 2 epochs, with its History (validation included)."""
    x, y = digits
    sg.set_seed(0)
    model = sg.Sequential([Dense(16, activation="relu"), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:300], y[:300], epochs=2, validation_data=(x[300:], y[300:]), verbose=0)
    return model, history


# ---- training curves -------------------------------------------------------------------------
def test_plot_history_takes_a_history_or_its_dict(trained, tmp_path):
    _, history = trained
    fig = plot.plot_history(history, save=tmp_path / "h.png")
    assert_png(tmp_path / "h.png")
    assert [a.get_title() for a in fig.axes] == ["loss", "accuracy"]
    assert all(len(a.lines) == 2 for a in fig.axes)  # training and validation
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), history.history["val_loss"])
    assert len(plot.plot_history(history.history, metrics=["loss"]).axes) == 1


def test_plot_history_draws_into_given_axes_and_labels_runs(trained):
    _, history = trained
    fig, axes = plt.subplots(1, 2)
    assert plot.plot_history(history, label="run a", ax=axes) is fig
    plot.plot_history(history, label="run b", ax=axes)
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [
        "run a", "run a (validation)", "run b", "run b (validation)"]
    with pytest.raises(ValueError, match="one Axes per panel"):
        plot.plot_history(history, ax=axes[0])


def visible_ticks(a):
    lo, hi = a.get_xlim()
    return [t for t in a.get_xticks() if lo <= t <= hi]


def test_plot_history_puts_ticks_on_whole_epochs(trained):
    _, history = trained  # 2 epochs: matplotlib's own ticks would be 1.0, 1.2, ..., 2.0
    fig = plot.plot_history(history)
    fig.canvas.draw()
    for a in fig.axes:
        ticks = visible_ticks(a)
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


# ---- activations -----------------------------------------------------------------------------
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


KNOWN_DERIVATIVES = {
    "step": lambda x: np.zeros_like(x),
    "sigmoid": lambda x: sigmoid(x) * (1 - sigmoid(x)),
    "tanh": lambda x: 1 - np.tanh(x) ** 2,
    "ReLU": lambda x: (x > 0).astype(float),
    "Leaky ReLU (α = 0.1)": lambda x: np.where(x > 0, 1.0, 0.1),
    "ELU": lambda x: np.where(x > 0, 1.0, np.exp(x)),
    "softplus": sigmoid,
}


def test_plotted_derivatives_match_the_known_ones(tmp_path):
    fig = plot.plot_activations(save=tmp_path / "a.png")
    assert_png(tmp_path / "a.png")
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles == list(KNOWN_DERIVATIVES)
    for a in fig.axes[:len(titles)]:
        x, dy = a.lines[1].get_xdata(), a.lines[1].get_ydata()
        np.testing.assert_allclose(dy, KNOWN_DERIVATIVES[a.get_title()](x), atol=1e-9, err_msg=a.get_title())


def test_derivative_curves_come_from_backward(monkeypatch):
    monkeypatch.setattr(F.Sigmoid, "backward", lambda self, gy: gy * 0 + 7)
    _, dy = plot.activation_curve(F.sigmoid, np.linspace(-1, 1, 5))
    assert np.all(dy == 7)


# ---- 2-D classifiers -------------------------------------------------------------------------
def test_class_ids_reads_labels_one_hot_softmax_and_sigmoid_outputs():
    np.testing.assert_array_equal(plot.class_ids([2, 0, 1]), [2, 0, 1])
    np.testing.assert_array_equal(plot.class_ids(np.eye(3)[[2, 0]]), [2, 0])
    np.testing.assert_array_equal(plot.class_ids(np.array([[0.2, 0.8], [0.9, 0.1]])), [1, 0])
    np.testing.assert_array_equal(plot.class_ids(np.array([[0.2], [0.7]], dtype=np.float32)), [0, 1])


@pytest.mark.parametrize("head", [Dense(2, activation="softmax"), Dense(1, activation="sigmoid")],
                         ids=["softmax", "sigmoid"])
def test_decision_boundary_for_softmax_and_sigmoid_models(head, tmp_path):
    x, y = datasets.make_moons(60, seed=0)
    model = sg.Sequential([Dense(8, activation="tanh"), head])
    fig = plot.plot_decision_boundary(model, x, y, resolution=40, save=tmp_path / "d.png")
    assert_png(tmp_path / "d.png")
    assert fig.axes[0].collections  # the shaded regions and the points


def test_decision_boundary_of_a_plain_function_splits_the_plane(tmp_path):
    x, y = datasets.logic_gate("and")
    perceptron = lambda points: (points @ np.array([0.5, 0.5]) - 0.7 > 0).astype(int)  # noqa: E731
    fig = plot.plot_decision_boundary(perceptron, x, y, resolution=30, save=tmp_path / "p.png")
    assert_png(tmp_path / "p.png")
    points = fig.axes[0].collections[-1]
    np.testing.assert_allclose(points.get_offsets(), x)


def test_decision_boundary_labels_its_axes_and_classes():
    x, y = datasets.logic_gate("or")
    gate = lambda points: (points @ np.array([0.5, 0.5]) - 0.2 > 0).astype(int)  # noqa: E731
    a = plot.plot_decision_boundary(gate, x, y, resolution=20).axes[0]
    assert (a.get_xlabel(), a.get_ylabel()) == ("x₁", "x₂")
    assert [t.get_text() for t in a.get_legend().get_texts()] == ["class 0", "class 1"]
    a = plot.plot_decision_boundary(gate, x, y, resolution=20, class_names=["off", "on"],
                                    feature_names=("left", "right")).axes[0]
    assert [t.get_text() for t in a.get_legend().get_texts()] == ["off", "on"]
    assert (a.get_xlabel(), a.get_ylabel()) == ("left", "right")
    colors = [h.get_markerfacecolor() for h in a.get_legend().legend_handles]
    dots = a.collections[-1].get_facecolors()[:, :3]  # the legend's colors are the dots' colors
    np.testing.assert_allclose(dots[np.argmax(y)], matplotlib.colors.to_rgb(colors[1]))
    np.testing.assert_allclose(dots[np.argmin(y)], matplotlib.colors.to_rgb(colors[0]))


# ---- optimizers ------------------------------------------------------------------------------
def test_optimizer_paths_start_together_and_head_for_the_minimum(tmp_path):
    fig = plot.plot_optimizer_paths(steps=30, save=tmp_path / "o.png")
    assert_png(tmp_path / "o.png")
    assert [a.get_title() for a in fig.axes if a.get_title()] == ["SGD", "Momentum", "AdaGrad", "RMSprop", "Adam"]
    for name, optimizer in plot.default_optimizers().items():
        path = plot.optimizer_path(optimizer, steps=30)
        assert path.shape == (31, 2)
        np.testing.assert_array_equal(path[0], [-7.0, 2.0])
        assert np.linalg.norm(path[-1]) < 1.5, name
    # one SGD step by hand: grad of x²/20 + y² at (-7, 2) is (x/10, 2y) = (-0.7, 4)
    first = plot.optimizer_path(sg.optimizers.SGD(0.95), steps=1)[1]
    np.testing.assert_allclose(first, [-7 + 0.95 * 0.7, 2 - 0.95 * 4])


# ---- statistics of deep nets -----------------------------------------------------------------
def test_activation_histograms_for_inits_and_for_a_model(tmp_path):
    sg.set_seed(0)
    x = np.random.default_rng(0).standard_normal((200, 30)).astype(np.float32)
    fig = plot.plot_activation_histograms(["small_random", "glorot_normal", "he_normal"], x=x, layers=3, units=30,
                                          save=tmp_path / "i.png")
    assert_png(tmp_path / "i.png")
    assert len(fig.axes) == 3 * 3
    assert [a.get_ylabel() for a in fig.axes[::3]] == ["0.01·randn", "Xavier", "He"]
    model = sg.Sequential([Dense(30, activation="relu"), Dense(30), Dense(10, activation="softmax")], name="mine")
    fig = plot.plot_activation_histograms(model, x=x, save=tmp_path / "m.png")
    assert_png(tmp_path / "m.png")
    assert len(fig.axes) == 2 and fig.axes[0].get_ylabel() == "mine"  # the linear Dense is not an activation


def histogram(a):
    """(bin centres, counts) of a histogram panel."""
    return (np.array([p.get_x() + p.get_width() / 2 for p in a.patches]),
            np.array([p.get_height() for p in a.patches]))


def test_activation_histograms_are_the_textbooks_rows():
    """Sigmoid: std 1 saturates at 0 and 1, std 0.01 collapses at 0.5, Xavier stays spread; ReLU: 0.01,
    Xavier, He. 1000 samples through 5 layers of 100 units, as in the textbook."""
    sg.set_seed(0)
    fig = plot.plot_activation_histograms(activation="sigmoid")
    assert len(fig.axes) == 3 * 5
    assert [a.get_ylabel() for a in fig.axes[::5]] == ["1·randn", "0.01·randn", "Xavier"]
    assert [a.get_title() for a in fig.axes[:5]] == [f"layer {i}" for i in range(1, 6)]
    for a in fig.axes:
        assert histogram(a)[1].sum() == 1000 * 100  # every activation of the layer is counted
    centres, counts = histogram(fig.axes[4])  # std 1, layer 5
    assert counts[(centres < 0.1) | (centres > 0.9)].sum() > 0.6 * counts.sum()
    centres, counts = histogram(fig.axes[9])  # std 0.01, layer 5
    assert counts[np.abs(centres - 0.5) < 0.05].sum() == counts.sum()
    centres, counts = histogram(fig.axes[14])  # Xavier, layer 5
    assert counts[np.abs(centres - 0.5) < 0.05].sum() < 0.6 * counts.sum()
    assert counts[(centres < 0.1) | (centres > 0.9)].sum() < 0.05 * counts.sum()
    sg.set_seed(0)
    fig = plot.plot_activation_histograms(activation="relu")
    assert [a.get_ylabel() for a in fig.axes[::5]] == ["0.01·randn", "Xavier", "He"]
    one = plot.plot_activation_histograms(sg.initializers.RandomNormal(stddev=1.0), layers=2, units=10)
    assert [a.get_ylabel() for a in one.axes] == ["1·randn", ""]


def test_small_random_init_collapses_sigmoid_activations():
    sg.set_seed(0)
    x = np.random.default_rng(0).standard_normal((200, 100)).astype(np.float32)
    spread = {}
    for init in ("small_random", "glorot_normal"):
        model = sg.Sequential([Dense(100, activation="sigmoid", kernel_initializer=init) for _ in range(5)])
        spread[init] = plot.activation_outputs(model, x)[-1].std()
    assert spread["small_random"] < 0.02 and spread["glorot_normal"] > 5 * spread["small_random"]


def test_gradient_flow_shows_sigmoid_gradients_vanishing(tmp_path):
    sg.set_seed(0)
    fig = plot.plot_gradient_flow(depth=6, units=16, save=tmp_path / "g.png")
    assert_png(tmp_path / "g.png")
    sigmoid_line, relu_line = fig.axes[0].lines
    s, r = sigmoid_line.get_ydata(), relu_line.get_ydata()
    assert len(s) == len(r) == 7
    # one tick per weight layer: the 6 hidden layers by number, then the output layer
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["1", "2", "3", "4", "5", "6", "output"]
    assert s[0] / s[-1] < 1e-2 < r[0] / r[-1]


def test_gradient_flow_leaves_the_models_gradients_alone(trained, digits):
    model, _ = trained
    x, y = digits
    flow = plot.gradient_flow(model, x[:50], y[:50])
    assert len(flow) == 2 and all(g > 0 for g in flow)
    assert all(w.grad is None for w in model.trainable_weights)
    with pytest.raises(ValueError, match="compile"):
        plot.gradient_flow(sg.Sequential([Dense(2)]), x[:5], y[:5])


# ---- sequences -------------------------------------------------------------------------------
def test_gradient_through_time_vanishes_for_simple_rnn_not_for_an_open_lstm(tmp_path):
    sg.set_seed(0)
    fig = plot.plot_gradient_through_time(steps=60, save=tmp_path / "t.png")
    assert_png(tmp_path / "t.png")
    rnn, lstm, open_lstm = (line.get_ydata() for line in fig.axes[0].lines)
    assert len(rnn) == len(lstm) == len(open_lstm) == 60
    decay = {name: g[0] / g[-1] for name, g in (("rnn", rnn), ("lstm", lstm), ("open", open_lstm))}
    assert decay["rnn"] < 1e-6  # step 1 gets a millionth of what step 60 gets
    assert decay["lstm"] > 100 * decay["rnn"]  # Keras's LSTM fades too, far more slowly
    assert decay["open"] > 0.05  # with the forget gate open, the first step still counts


def test_gradient_through_time_is_the_gradient_of_the_last_output():
    """Without recurrence (U = 0), h_T = tanh(x_T·W + b) depends on x_T alone: ∂(Σ h_T)/∂x_T = W·tanh'."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 5, 3)).astype(np.float32)
    rnn = sg.layers.SimpleRNN(4)
    rnn.build(x.shape)
    W = rng.standard_normal((3, 4)).astype(np.float32)
    rnn.set_weights([W, np.zeros((4, 4), np.float32), np.zeros(4, np.float32)])
    gradient = sg.analysis.gradient_through_time(rnn, x)
    np.testing.assert_array_equal(gradient[:-1], 0)
    expected = W @ (1 - np.tanh(x[0, -1] @ W) ** 2)
    np.testing.assert_allclose(gradient[-1], np.linalg.norm(expected), rtol=1e-5)


def test_plot_gradient_through_time_takes_its_own_layers_input_and_axes():
    x = np.random.default_rng(0).standard_normal((4, 12, 2)).astype(np.float32)
    fig, a = plt.subplots()
    assert plot.plot_gradient_through_time({"mine": sg.layers.GRU(3)}, x=x, ax=a) is fig
    (line,) = a.lines
    assert line.get_label() == "mine" and len(line.get_ydata()) == 12


def test_plot_attention_shows_the_given_matrix(tmp_path):
    scores = np.random.default_rng(0).dirichlet(np.ones(5), size=(3, 4))  # (heads, queries, keys)
    fig = plot.plot_attention(scores, x_labels=list("abcde"), y_labels=list("wxyz"), save=tmp_path / "a.png")
    assert_png(tmp_path / "a.png")
    a = fig.axes[0]
    np.testing.assert_allclose(a.images[0].get_array(), scores.mean(axis=0), rtol=1e-6)
    assert [t.get_text() for t in a.get_xticklabels()] == list("abcde")
    assert [t.get_text() for t in a.get_yticklabels()] == list("wxyz")
    assert a.get_title() == "attention weights, mean of 3 heads"
    np.testing.assert_allclose(plot.plot_attention(scores, head=1).axes[0].images[0].get_array(), scores[1],
                               rtol=1e-6)
    np.testing.assert_allclose(plot.plot_attention(scores[2]).axes[0].images[0].get_array(), scores[2], rtol=1e-6)


def test_plot_attention_of_multi_head_attention_scores_asks_for_one_sample():
    x = np.random.default_rng(0).standard_normal((2, 6, 8)).astype(np.float32)
    _, scores = sg.layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x, return_attention_scores=True)
    fig = plot.plot_attention(scores.numpy()[1])
    np.testing.assert_allclose(fig.axes[0].images[0].get_array().sum(axis=1), 1, rtol=1e-5)  # softmax rows
    with pytest.raises(ValueError, match=r"scores\[i\]"):
        plot.plot_attention(scores.numpy())


# ---- what a trained classifier does ----------------------------------------------------------
def image_shapes(fig):
    return [a.images[0].get_array().shape for a in fig.axes if a.images]


def test_plot_weights_dense_and_conv_kernels(trained, tmp_path):
    model, _ = trained
    fig = plot.plot_weights(model, save=tmp_path / "w.png")
    assert_png(tmp_path / "w.png")
    assert image_shapes(fig) == [(8, 8)] * 16  # 16 units over 64 inputs
    assert image_shapes(plot.plot_weights(np.ones((3, 3, 1, 4)), save=tmp_path / "c.png")) == [(3, 3)] * 4
    assert_png(tmp_path / "c.png")
    assert image_shapes(plot.plot_weights(np.ones((5, 5, 3, 2)))) == [(5, 5, 3)] * 2
    assert image_shapes(plot.plot_weights(np.ones((3, 3, 8, 2)))) == [(3, 3)] * 2  # channel mean
    with pytest.raises(ValueError, match="kernel"):
        plot.plot_weights(np.ones((2, 2, 2)))


def test_plot_weights_of_a_non_image_dense_layer_is_a_heat_map(tmp_path):
    model = sg.Sequential([sg.Input(shape=(4,)), Dense(30, activation="relu"), Dense(3, activation="softmax")])
    fig = plot.plot_weights(model, save=tmp_path / "iris.png")  # Iris: 4 measurements, not a picture
    assert_png(tmp_path / "iris.png")
    a = fig.axes[0]
    np.testing.assert_array_equal(a.images[0].get_array(), model.layers[0].kernel.numpy())
    assert (a.get_xlabel(), a.get_ylabel()) == ("unit", "input")
    assert len([ax for ax in fig.axes if ax.images]) == 1  # one matrix, and a colorbar
    hidden = plot.plot_weights(model.layers[1])  # 30 inputs: a heat map too
    assert image_shapes(hidden) == [(30, 3)]
    assert image_shapes(plot.plot_weights(np.ones((64, 5)), as_images=False)) == [(64, 5)]
    assert image_shapes(plot.plot_weights(np.ones((9, 2)), as_images=True)) == [(3, 3)] * 2


def test_confusion_matrix_counts_like_sklearn(tmp_path):
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 4, 100), rng.integers(0, 4, 100)
    np.testing.assert_array_equal(plot.confusion_matrix(t, p), confusion_matrix(t, p))
    probabilities = np.eye(4)[p] * 0.7 + 0.075
    fig = plot.plot_confusion_matrix(t, probabilities, save=tmp_path / "cm.png")
    assert_png(tmp_path / "cm.png")
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), confusion_matrix(t, p))


def test_plot_predictions_marks_mistakes_in_red(digits, tmp_path):
    x, y = digits
    always_zero = lambda images: np.zeros(len(images), dtype=int)  # noqa: E731
    fig = plot.plot_predictions(always_zero, x[:12], y[:12], save=tmp_path / "p.png")
    assert_png(tmp_path / "p.png")
    titles = [a.title for a in fig.axes if a.images]
    assert len(titles) == 12
    for title, label in zip(titles, y[:12]):
        wrong = label != 0
        assert (title.get_color() == "red") == wrong
        assert title.get_text() == (f"0 (true {label})" if wrong else "0")


# ---- live plot -------------------------------------------------------------------------------
class FileWatcher(Callback):
    def __init__(self, path):
        super().__init__()
        self.path, self.seen = path, []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(self.path.exists() and self.path.stat().st_size > 0)


def test_live_plot_saves_a_png_every_epoch(digits, tmp_path):
    x, y = digits
    path = tmp_path / "live.png"
    model = sg.Sequential([Dense(8, activation="relu"), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    live, watcher = plot.LivePlot(path), FileWatcher(path)
    open_before = plt.get_fignums()  # what other tests left open
    model.fit(x[:100], y[:100], epochs=2, verbose=0, callbacks=[live, watcher])
    assert watcher.seen == [True, True]
    assert_png(path)
    assert plot.PlotHistory is plot.LivePlot
    assert plt.get_fignums() == open_before  # its figure is not a pyplot figure: nothing for the user to close


def test_live_plot_replaces_the_figure_in_a_notebook(digits, monkeypatch):
    display = pytest.importorskip("IPython.display")
    calls = []

    class Handle:
        def update(self, image):
            calls.append(("update", type(image).__name__))

    def show(image, display_id=False):
        calls.append(("display", type(image).__name__, display_id))
        return Handle()

    monkeypatch.setattr(plot, "_in_notebook", lambda: True)
    monkeypatch.setattr(display, "display", show)
    x, y = digits
    model = sg.Sequential([Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x[:50], y[:50], epochs=3, verbose=0, callbacks=[plot.LivePlot()])
    # a PNG (an image even before pyplot is used), shown once and then updated in place
    assert calls == [("display", "Image", True), ("update", "Image"), ("update", "Image")]


def test_agg_is_chosen_only_without_a_screen(monkeypatch):
    monkeypatch.setattr(plot.sys, "platform", "linux")
    monkeypatch.setattr(plot, "_in_notebook", lambda: False)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND"):
        monkeypatch.delenv(name, raising=False)
    assert plot._headless()
    monkeypatch.setenv("DISPLAY", ":0")
    assert not plot._headless()


# ---- one call, one figure: in a script and in a Jupyter kernel -------------------------------------
def test_outside_a_notebook_figures_stay_in_pyplot(trained):
    """A script gets pyplot's behaviour: the figure is open until plt.show() or plt.close()."""
    _, history = trained
    fig = plot.plot_history(history)
    assert fig.number in plt.get_fignums()
    assert "_ipython_display_" not in vars(fig)


HISTORY = "h = {'loss': [1.0, 0.6, 0.4], 'accuracy': [0.5, 0.7, 0.8], 'val_loss': [1.1, 0.8, 0.7]}"
# (cell, the widths in inches of the images it must show, in order); narrow: one panel, wide: two
IN_A_KERNEL = [
    ("import scratchgrad as sg\n"  # LivePlot before pyplot was ever used in the kernel: still an image
     "from scratchgrad import datasets, plot\n"
     "from scratchgrad.layers import Dense\n"
     "x, y = datasets.load_digits()\n"
     "model = sg.Sequential([Dense(10, activation='softmax')])\n"
     "model.compile(optimizer='sgd', loss='sparse_categorical_crossentropy')\n"
     "history = model.fit(x[:50] / 16, y[:50], epochs=2, verbose=1, callbacks=[plot.LivePlot()])", [4]),
    (HISTORY + "\nimport matplotlib.pyplot as plt", []),
    ("plot.plot_history(h)", [8]),  # the last expression: shown once, not once more as the cell's result
    ("fig = plot.plot_history(h)", [8]),  # assigned: shown once, as pyplot shows a figure it made
    ("fig", [8]),  # asked for again in a later cell: shown again, as pyplot would
    ("fig = plot.plot_history(h, label='a')\nplot.plot_history(h, label='b', ax=fig.axes)", [8]),  # drawn twice
    ("fig = plot.plot_history(h, metrics=['loss'])\nfig.axes[0].set_yscale('log')", [4]),  # changed after
    ("plot.plot_history(h, metrics=['loss'])\nplot.plot_history(h)", [4, 8]),  # two figures, in order
    ("fig, ax = plt.subplots(figsize=(4, 3))\nplot.plot_history(h, metrics=['loss'], ax=ax)", [4]),  # ax= given
    ("plot.plot_history(h, save='h.png')", [8]),
    ("plot.plot_history(h)\nplt.show()", [8]),
    ("import os\nos.path.getsize('h.png') > 1000", []),
]


def png_width(output):
    import base64
    import struct

    png = base64.b64decode(output["data"]["image/png"])
    return struct.unpack(">I", png[16:20])[0]


@pytest.fixture(scope="module")
def executed_in_a_kernel(tmp_path_factory):
    """The cells above run in a real Jupyter kernel (nbclient and ipykernel), inline backend and all."""
    pytest.importorskip("ipykernel")
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    import os
    from pathlib import Path

    src = str(Path(plot.__file__).resolve().parent.parent)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"import sys\nsys.path.insert(0, {src!r})")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source, _ in IN_A_KERNEL]
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    folder = tmp_path_factory.mktemp("kernel")
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute(env=env)
    return nb


def test_one_call_one_figure_in_a_kernel(executed_in_a_kernel):
    cells = executed_in_a_kernel.cells[1:]
    wide = png_width(cells[2].outputs[0])  # plot_history(h): two panels, 8 inches
    for cell, (source, widths) in zip(cells, IN_A_KERNEL):
        assert not [o for o in cell.outputs if o.output_type == "error"], source
        images = [o for o in cell.outputs if any(kind.startswith("image/") for kind in o.get("data", {}))]
        assert all(o.output_type == "display_data" for o in images), source  # never also as the cell's result
        assert [8 if png_width(o) > 0.75 * wide else 4 for o in images] == widths, source
    assert cells[-1].outputs[0]["data"]["text/plain"] == "True"  # and save= wrote the file
    progress = [o for o in cells[0].outputs if list(o.get("data", {})) == ["text/plain"]]
    assert [o["data"]["text/plain"].startswith("Epoch") for o in progress] == [True, True]  # LivePlot kept them


def test_one_call_one_figure_in_the_html_export(executed_in_a_kernel):
    nbconvert = pytest.importorskip("nbconvert")
    html, _ = nbconvert.HTMLExporter().from_notebook_node(executed_in_a_kernel)
    assert html.count('src="data:image/png;base64,') == sum(len(widths) for _, widths in IN_A_KERNEL)


# ---- the computational graph -----------------------------------------------------------------
def small_graph():
    a = sg.Tensor([1.0, 2.0], requires_grad=True, name="a")
    b = sg.Tensor([3.0, 4.0], requires_grad=True, name="b")
    c = sg.Tensor([5.0, 6.0], name="c")
    return (a * b + c).sum()


def parse_dot(text):
    nodes = dict(re.findall(r"^\s*(\w+) \[(.*)\];$", text, re.M))
    nodes.pop("node")  # the default attributes, not a node
    edges = re.findall(r"^\s*(\w+) -> (\w+);$", text, re.M)
    return nodes, edges


def test_to_dot_draws_every_tensor_and_op_once_with_edges_forward():
    text = viz.to_dot(small_graph())
    assert text.startswith("digraph") and text.count("{") == text.count("}") == 1
    nodes, edges = parse_dot(text)
    tensors = [n for n, attrs in nodes.items() if "shape=ellipse" in attrs]
    ops = {n: re.search(r'label="(\w+)', attrs).group(1) for n, attrs in nodes.items() if "shape=box" in attrs}
    assert len(tensors) == 6  # a, b, c, a*b, a*b + c, the sum
    assert sorted(ops.values()) == ["Add", "Mul", "Sum"]
    assert len(edges) == 8
    assert all((src in tensors) == (dst in ops) for src, dst in edges)  # tensor -> op -> tensor only
    for op in ops:
        assert sum(dst == op for _, dst in edges) >= 1 and sum(src == op for src, _ in edges) == 1
    labels = {n: nodes[n] for n in tensors}
    mul = next(n for n, name in ops.items() if name == "Mul")
    into_mul = sorted(re.search(r'label="(\w)\\n', labels[src]).group(1) for src, dst in edges if dst == mul)
    assert into_mul == ["a", "b"]
    filled = [n for n in tensors if "filled" in labels[n]]
    assert len(filled) == 2  # the parameters a and b; c needs no gradient
    assert viz.to_dot(small_graph()) == text  # ids depend only on the graph


def apples():
    apple = sg.Tensor(100.0, requires_grad=True, name="apple")
    count = sg.Tensor(2.0, requires_grad=True, name="count")
    tax = sg.Tensor(1.1, requires_grad=True, name="tax")
    return (apple, count, tax), apple * count * tax


def labelled_edges(text):
    """{(src, dst): label} of the forward edges and of the backward (red) ones."""
    forward, backward = {}, {}
    for src, dst, attrs in re.findall(r"^\s*(\w+) -> (\w+) \[(.*)\];$", text, re.M):
        label = re.search(r'label="([^"]*)"', attrs).group(1)
        (backward if "dir=back" in attrs else forward)[(src, dst)] = label
    return forward, backward


def test_to_dot_draws_the_textbooks_apples_with_values_and_gradients():
    """price = apple · count · tax: 100 and 2 make 200, times 1.1 makes 220; back come 1, 1.1, and 2.2,
    110 and 200 for apple, count and tax (Deep Learning from Scratch, chapter 5)."""
    leaves, price = apples()
    text = viz.to_dot(price, values=True, grads=True)
    nodes = dict(re.findall(r"^\s*(\w+) \[(.*)\];$", text, re.M))
    names = {n: re.search(r'label="([^"]*)"', a).group(1) for n, a in nodes.items() if n not in ("node", "edge")}
    forward, backward = labelled_edges(text)
    named = {(names[s], names[d]): label for (s, d), label in forward.items()}
    assert named == {("apple", "Mul"): "100", ("count", "Mul"): "2", ("Mul", "Mul"): "200",
                     ("tax", "Mul"): "1.1", ("Mul", ""): "220"}
    named = {(names[s], names[d]): label for (s, d), label in backward.items()}
    assert named == {("apple", "Mul"): "2.2", ("count", "Mul"): "110", ("Mul", "Mul"): "1.1",
                     ("tax", "Mul"): "200", ("Mul", ""): "1"}
    assert "float32" not in text  # values, not `() float32`
    assert all(t.grad is None for t in leaves)  # nothing touched: backward still works afterwards
    price.backward()
    assert [t.grad for t in leaves] == pytest.approx([2.2, 110, 200])
    _, price = apples()
    values_only = viz.to_dot(price, values=True)
    assert labelled_edges(values_only)[1] == {} and "220" in values_only
    assert viz.to_dot(price) == viz.to_dot(apples()[1])  # the default drawing is unchanged
    price.backward()
    with pytest.raises(ValueError, match="retain_graph"):
        viz.to_dot(price, grads=True)


def test_to_dot_after_backward_draws_what_is_left():
    out = small_graph()
    out.backward()
    text = viz.to_dot(out)
    nodes, edges = parse_dot(text)
    assert "freed by backward" in text and len(nodes) == 2 and len(edges) == 1


def test_render_without_dot_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt install graphviz") as err:
        viz.render(small_graph(), tmp_path / "g.svg")
    assert "brew install graphviz" in str(err.value)
    monkeypatch.setitem(__import__("sys").modules, "graphviz", None)  # the Python package missing too
    with pytest.raises(RuntimeError, match="pip install graphviz"):
        viz.render(small_graph(), tmp_path / "g.svg")
    with pytest.raises(ValueError, match="suffix"):
        viz.render(small_graph(), tmp_path / "g.jpg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_writes_svg_and_png(tmp_path):
    pytest.importorskip("graphviz")
    viz.render(small_graph(), tmp_path / "g.svg")
    assert "<svg" in (tmp_path / "g.svg").read_text()
    viz.render(small_graph(), tmp_path / "g.png")
    assert_png(tmp_path / "g.png")


def test_plot_model_lists_every_layer():
    model = sg.Sequential([sg.Input(shape=(4,)), Dense(3, activation="relu", name="hidden"), Dropout(0.5, name="drop"),
                           Dense(2, name="out")])
    text = viz.plot_model(model)
    nodes, edges = parse_dot(text)
    assert text.count("{") == text.count("}") == 1
    for expected in ("hidden (Dense)", "output: (None, 3)", "params: 15", "drop (Dropout)", "out (Dense)",
                     "output: (None, 2)", "params: 8", "input (InputLayer)\\noutput: (None, 4)"):
        assert expected in text
    assert len(nodes) == 4 and edges == [("layer0", "layer1"), ("layer1", "layer2"), ("layer2", "layer3")]
    unbuilt = viz.plot_model(sg.Sequential([Dense(3, name="later")]))
    assert "later (Dense)\\noutput: ?" in unbuilt


def test_plot_model_draws_a_functional_graph_with_its_branches():
    a, b = sg.Input(shape=(4,), name="a"), sg.Input(shape=(3,), name="b")
    merged = sg.layers.concatenate([Dense(2, name="da")(a), b], name="cat")
    text = viz.plot_model(sg.Model([a, b], Dense(1, name="out")(merged)))
    nodes, edges = parse_dot(text)
    names = {node: re.search(r'label="(\w+)', attrs).group(1) for node, attrs in nodes.items()}
    named = sorted((names[x], names[y]) for x, y in edges)
    assert named == [("a", "da"), ("b", "cat"), ("cat", "out"), ("da", "cat")]


def test_plot_images_draws_a_titled_grid_of_a_batch():
    images = np.random.default_rng(0).random((6, 5, 5, 1)).astype(np.float32)
    fig = plot.plot_images(images, titles=list("abcdef"), max_images=4)
    titled = [ax.get_title() for ax in fig.axes if ax.get_images()]
    assert titled == list("abcd")
    untitled = plot.plot_images(images.reshape(6, 25))  # flat rows are shown as squares
    assert len([ax for ax in untitled.axes if ax.get_images()]) == 6
    assert all(ax.get_title() == "" for ax in untitled.axes)
