"""See it learn: training curves, activations, decision regions, optimizer paths, activation and gradient
statistics, the gradient through time, attention weights, learned weights, confusion matrices, and a live
plot that redraws while fit() runs.

matplotlib is optional (pip install 'scratchgrad[plot]'): it is imported when something is drawn, not
when scratchgrad is. Every function returns its matplotlib Figure; `ax=` draws into Axes you own (one
Axes, or a sequence with one Axes per panel for the plots with several panels) and `save=` writes the
figure to that path (PNG by its suffix). Figures are made with pyplot, so `plt.show()` shows them; in a
script none is ever closed here, so close your own (`plt.close(fig)`) when you make many in a loop. In a
Jupyter notebook each call shows its figure once, when the cell ends, as pyplot shows its own: as the cell's
last line, assigned (`fig = plot_history(h)`), or drawn into twice with `ax=`; `fig` in a later cell shows
it again.
"""
import functools
import io
import math
import os
import sys

import numpy as np

from .analysis import (ACTIVATIONS, activation_curve, activation_outputs, class_ids,
                       confusion_matrix, deep_classifier, deep_stack, default_optimizers,
                       default_recurrent_layers, function_to_minimize, gradient_flow, gradient_through_time,
                       histogram_inits, init_title, optimizer_path)
from .callbacks import Callback
from .files import atomic_write
from .random import get_rng

# ---- matplotlib plumbing ---------------------------------------------------------------------
def _in_notebook():
    """True inside a Jupyter kernel (where figures can be displayed and replaced in place)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def _headless():
    return (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY") and "MPLBACKEND" not in os.environ and not _in_notebook())


def _pyplot():
    """pyplot, after choosing the file-only Agg backend when there is no screen to draw on.

    Decided once, before pyplot's first import: a backend the user picked (or pyplot already in use)
    is never overridden.
    """
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib, which is optional: pip install 'scratchgrad[plot]'") from None
    if "matplotlib.pyplot" not in sys.modules and _headless():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _panels(n, ax=None, ncols=None, size=(4.0, 3.0)):
    """(figure, list of n Axes): the Axes given in `ax`, or a new grid of n panels."""
    if ax is not None:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != n:
            raise ValueError(f"this plot draws {n} panel(s); ax= must give one Axes per panel, got {len(axes)}")
        return axes[0].figure, axes
    ncols = min(n, ncols or n)
    nrows = math.ceil(n / ncols)
    fig, grid = _pyplot().subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False,
                                   layout="constrained")
    grid = list(grid.ravel())
    for spare in grid[n:]:
        spare.set_axis_off()
    return fig, grid[:n]


def save_figure(fig, path, **savefig_args):
    """`fig.savefig(path, ...)`, written whole or not at all: an image viewer, or a run killed mid-write, never
    leaves half a PNG. The format comes from the suffix (PNG when there is none; the name is kept as given)."""
    savefig_args.setdefault("format", os.path.splitext(os.fspath(path))[1][1:].lower() or None)
    with atomic_write(path) as f:
        fig.savefig(f, **savefig_args)


def _finish(fig, save):
    if save is not None:
        save_figure(fig, save)
    if _in_notebook():
        fig._ipython_display_ = functools.partial(_display_once, fig)
    return fig


# ---- one call, one figure in a notebook ---------------------------------------------------------
# In a Jupyter kernel the inline backend shows every pyplot figure when the cell ends; a figure that is
# also the cell's value would be shown a second time as its result. So a figure returned here, when
# IPython displays it, shows the figures still waiting for the end of the cell (as plt.show() does: in
# the order they were made, then closed), itself among them, and nothing else: `plot_x(...)` as the
# last line, `fig = plot_x(...)`, and several calls drawing into one figure each give one image.
_flushing = False


def _inline_backend():
    """matplotlib_inline's backend module when it is the backend in use, else None."""
    backend = sys.modules.get("matplotlib_inline.backend_inline")
    matplotlib = sys.modules.get("matplotlib")
    if backend is None or matplotlib is None:
        return None
    return backend if matplotlib.get_backend() in ("inline", "module://matplotlib_inline.backend_inline") else None


def _shown_when_the_cell_ends(fig, backend):
    """Whether the inline backend's end-of-cell flush would display `fig` (False while it is displaying)."""
    from matplotlib._pylab_helpers import Gcf

    show = backend.show
    showing = {getattr(show, "__code__", None), getattr(backend.flush_figures, "__code__", None)}
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code in showing:
            return False
        frame = frame.f_back
    if not getattr(show, "_draw_called", False):
        return False
    if not any(manager.canvas.figure is fig for manager in Gcf.get_all_fig_managers()):
        return False
    return backend.InlineBackend.instance().close_figures or fig in getattr(show, "_to_draw", ())


def _display_once(fig):
    """A returned figure's `_ipython_display_`: see the comment above."""
    global _flushing
    backend = _inline_backend()
    try:
        pending = not _flushing and backend is not None and _shown_when_the_cell_ends(fig, backend)
    except Exception:  # matplotlib_inline's internals changed: show it, at worst twice
        pending = False
    if pending:
        _flushing = True
        try:
            backend.flush_figures()
        finally:
            _flushing = False
        return
    from IPython.display import display

    metadata = getattr(backend, "_fetch_figure_metadata", lambda fig: None)(fig) if backend else None
    hook = fig.__dict__.pop("_ipython_display_", None)  # display the plain Figure, not this hook again
    try:
        display(fig, metadata=metadata)
    finally:
        if hook is not None:
            fig._ipython_display_ = hook


# ---- arrays in, classes and images out -------------------------------------------------------
def _predict(model, x):
    """Outputs of a Keras-style model (anything with predict) or of a plain function of the inputs."""
    if hasattr(model, "predict"):
        return np.asarray(model.predict(x, batch_size=4096))
    return np.asarray(model(x))


def _as_image(a):
    """A sample as something imshow takes: a flat row becomes a square, a single channel is dropped."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 1:
        side = math.isqrt(a.size)
        if side * side != a.size:
            raise ValueError(f"cannot show {a.size} values as a square image; reshape the images first")
        return a.reshape(side, side)
    if a.ndim == 3 and a.shape[-1] == 1:
        return a[..., 0]
    if a.ndim == 3 and a.shape[-1] == 3:
        return (a - a.min()) / max(float(a.max() - a.min()), 1e-12)  # imshow wants RGB in [0, 1]
    if a.ndim == 2:
        return a
    raise ValueError(f"cannot show an array of shape {a.shape} as an image")


def _image_grid(images, titles=None, colors=None, cmap="gray", centered=False, ax=None):
    """One small panel per image; `centered` puts 0 at the middle of the colormap (for weights)."""
    fig, axes = _panels(len(images), ax, ncols=math.ceil(math.sqrt(len(images))), size=(1.3, 1.4))
    for i, (a, image) in enumerate(zip(axes, images)):
        picture = _as_image(image)
        bounds = {}
        if centered:  # symmetric limits: equally strong positive and negative weights get equally deep colors
            limit = float(np.abs(picture).max()) or 1.0
            bounds = {"vmin": -limit, "vmax": limit}
        a.imshow(picture, cmap=cmap, **bounds)
        a.set_xticks([])
        a.set_yticks([])
        if titles is not None:
            a.set_title(titles[i], color=colors[i] if colors else "black", fontsize=9)
    return fig


# ---- training curves -------------------------------------------------------------------------
def _integer_ticks():
    """A tick locator that puts ticks on whole numbers only (epochs, layers)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _history_names(logs, metrics):
    """The panels: those asked for, or every training quantity with the loss first."""
    training = [k for k in logs if not k.startswith("val_")]
    return list(metrics) if metrics else sorted(training, key=lambda k: k != "loss")


def plot_history(history, metrics=None, label=None, ax=None, save=None):
    """Loss and each metric per epoch, training and validation in the same panel.

    Where the validation curve leaves the training curve, the model has started to memorize
    (overfitting). `history` is fit()'s History or its `.history` dict; `metrics` picks the panels
    (default: every logged quantity). `label` names the run, so several runs can be drawn into the same
    Axes and told apart (e.g. batch sizes, or with and without batch norm).
    """
    logs = getattr(history, "history", history)
    names = _history_names(logs, metrics)
    missing = [name for name in names if name not in logs]
    if missing:
        raise ValueError(f"{missing} not in the history, which has {sorted(logs)}")
    fig, axes = _panels(len(names), ax)
    for a, name in zip(axes, names):
        values = logs[name]
        epochs = np.arange(1, len(values) + 1)
        a.plot(epochs, values, "o-", ms=3, label=label or "training")
        val = logs.get("val_" + name)
        if val:
            every = max(len(values) // len(val), 1)  # validation_freq > 1 logs every `every` epochs
            a.plot(every * np.arange(1, len(val) + 1), val, "s--", ms=3,
                   label=f"{label} (validation)" if label else "validation")
        a.set_title(name)
        a.set_xlabel("epoch")
        a.xaxis.set_major_locator(_integer_ticks())  # epochs are whole numbers: no tick at 1.5
        a.legend()
        a.grid(alpha=0.3)
    return _finish(fig, save)


# ---- activations -----------------------------------------------------------------------------
def plot_activations(names=None, x=None, ax=None, save=None):
    """Each activation (solid) and its derivative (dashed): where the derivative is ~0, learning stalls.

    `names` are keys of ACTIVATIONS (default all); `x` the inputs (default -5..5).
    """
    names = list(names or ACTIVATIONS)
    x = np.linspace(-5, 5, 501) if x is None else np.asarray(x, dtype=np.float64)
    fig, axes = _panels(len(names), ax, ncols=4, size=(3.2, 2.6))
    for a, name in zip(axes, names):
        title, fn = ACTIVATIONS[name]
        y, dy = activation_curve(fn, x)
        a.plot(x, y, label="f(x)")
        a.plot(x, dy, "--", label="f'(x) by backward")
        a.axhline(0, color="gray", lw=0.5)
        a.axvline(0, color="gray", lw=0.5)
        a.set_title(title)
        a.legend(fontsize=7)
    return _finish(fig, save)


# ---- 2-D classifiers -------------------------------------------------------------------------
def plot_decision_boundary(model, x, y, resolution=200, margin=0.5, class_names=None, feature_names=("x₁", "x₂"),
                           ax=None, save=None):
    """The class each point of the plane gets (shaded) and the data points (dots) of 2-D data.

    `model` is a Keras-style model (its predict gives softmax rows or one sigmoid output) or any
    function from an (N, 2) array to outputs or class numbers, e.g. a hand-set perceptron.
    `class_names` name the classes in the legend (default "class 0", "class 1", ...); `feature_names`
    label the two axes.
    """
    x = np.asarray(x, dtype=np.float32)
    labels = class_ids(y)
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)
    regions = class_ids(_predict(model, grid)).reshape(gx.shape)
    n_classes = int(max(labels.max(), regions.max())) + 1
    fig, (a,) = _panels(1, ax, size=(4.5, 4.0))
    from matplotlib import colormaps

    colors = colormaps["tab10"].colors[:n_classes]
    a.contourf(gx, gy, regions, levels=np.arange(n_classes + 1) - 0.5, colors=colors, alpha=0.3)
    a.scatter(x[:, 0], x[:, 1], c=[colors[k] for k in labels], edgecolors="black", linewidths=0.5, s=25)
    a.set_xlim(lo[0], hi[0])
    a.set_ylim(lo[1], hi[1])
    a.set_xlabel(feature_names[0])
    a.set_ylabel(feature_names[1])
    from matplotlib.lines import Line2D

    names = list(class_names) if class_names is not None else [f"class {k}" for k in range(n_classes)]
    a.legend([Line2D([], [], ls="", marker="o", mfc=colors[k], mec="black", mew=0.5) for k in range(n_classes)],
             names[:n_classes], fontsize=8, framealpha=0.9)  # dot and region share the class's color
    return _finish(fig, save)


# ---- optimizers ------------------------------------------------------------------------------
def plot_optimizer_paths(optimizers=None, f=None, start=(-7.0, 2.0), steps=30, ax=None, save=None):
    """Paths of several optimizers from the same start over the contours of f (one panel each).

    `optimizers` maps a title to a fresh Optimizer (default: `default_optimizers()`); `f(x, y)` must work
    on NumPy arrays (for the contours) and on Tensors (for the gradients), as plain arithmetic does.
    """
    optimizers = optimizers or default_optimizers()
    f = f or function_to_minimize
    paths = {name: optimizer_path(o, f, start, steps) for name, o in optimizers.items()}
    points = np.concatenate(list(paths.values()))
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = 0.25 * (hi - lo) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 200),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], 200))
    heights = f(gx, gy)
    fig, axes = _panels(len(paths), ax, ncols=3, size=(3.6, 3.0))
    for a, (name, path) in zip(axes, paths.items()):
        a.contour(gx, gy, heights, levels=15, colors="gray", linewidths=0.5)
        a.plot(path[:, 0], path[:, 1], "o-", color="red", ms=3, lw=1)
        a.plot(*path[0], "ks", ms=5)
        a.set_title(name)
    return _finish(fig, save)


# ---- statistics of deep nets -----------------------------------------------------------------
def plot_activation_histograms(model_or_inits=None, x=None, activation="sigmoid", layers=5, units=100, bins=30,
                               ax=None, save=None):
    """Histograms of every hidden layer's activations: one row per initialization (or model).

    The textbook's experiment: 1000 random inputs through `layers` Dense layers of `units` units, no
    biases. By default its rows for the activation: for sigmoid, std 1 (1·randn: the outputs pile up
    at 0 and 1, where the sigmoid is flat and the gradient vanishes), std 0.01 (they all crowd at 0.5:
    every unit says the same) and Xavier (they stay spread out through the depth); for ReLU, std 0.01,
    Xavier and He. `model_or_inits` is a model, or a list of initializers (names such as
    "small_random", or objects such as `RandomNormal(stddev=1.0)`) and models. Exact zeros (units a
    ReLU switched off, about half of them) are left out: their spike would flatten the spread of the
    others, which is what tells the inits apart.
    """
    if model_or_inits is None:
        model_or_inits = histogram_inits(activation)
    single = isinstance(model_or_inits, str) or hasattr(model_or_inits, "layers") or callable(model_or_inits)
    rows = [model_or_inits] if single else list(model_or_inits)
    x = get_rng().standard_normal((1000, units)).astype(np.float32) if x is None else x
    titles, outputs = [], []
    for row in rows:
        is_model = hasattr(row, "layers")
        model = row if is_model else deep_stack(activation, row, layers, units)
        titles.append(row.name if is_model else init_title(row))
        outputs.append([o[o != 0] for o in activation_outputs(model, x)])
    everything = np.concatenate([o for row in outputs for o in row])
    value_range = (float(everything.min()), float(everything.max()))
    ncols = max(len(row) for row in outputs)
    fig, axes = _panels(len(rows) * ncols, ax, ncols=ncols, size=(2.2, 1.8))
    for r, (title, row) in enumerate(zip(titles, outputs)):
        for c in range(ncols):
            a = axes[r * ncols + c]
            if c >= len(row):
                a.set_axis_off()
                continue
            a.hist(row[c], bins=bins, range=value_range)
            a.set_yticks([])
            if r == 0:
                a.set_title(f"layer {c + 1}")
            if c == 0:
                a.set_ylabel(title)
    return _finish(fig, save)


def plot_gradient_flow(model=None, x=None, y=None, depth=10, units=64, classes=10, ax=None, save=None):
    """Mean |gradient| of each weight layer's kernel, first layer on the left, on a log scale: the
    vanishing gradient. There is one point per layer with weights: the hidden layers numbered 1, 2, ...
    and the last one labelled "output".

    Without a model, two nets of `depth` hidden layers (depth + 1 points with the output layer) are
    compared on random data: sigmoid (with its Xavier init) and ReLU (with He). Backprop multiplies by sigmoid' ≤ 0.25 at every layer, so the first
    layers of the sigmoid net get gradients orders of magnitude smaller than the last, while ReLU's
    derivative is 1 wherever a unit is on.
    Given a compiled model, its own x and y are used.
    """
    if model is None:
        models = [deep_classifier("sigmoid", "glorot_normal", depth, units, classes),
                  deep_classifier("relu", "he_normal", depth, units, classes)]
        x = get_rng().standard_normal((256, units)).astype(np.float32) if x is None else x
        y = get_rng().integers(0, classes, len(x)) if y is None else y
    else:
        models = [model]
    fig, (a,) = _panels(1, ax, size=(5.0, 3.5))
    for m in models:
        flow = gradient_flow(m, x, y)
        a.semilogy(np.arange(1, len(flow) + 1), flow, "o-", label=m.name)
    # one tick per weight layer: the hidden layers by number, then the output layer
    layers = max(len(line.get_xdata()) for line in a.lines)
    every = math.ceil(layers / 16)  # at most about 16 labels
    a.set_xticks(range(1, layers + 1), [("output" if i == layers else str(i)) if i % every == 0 or i == layers
                                        else "" for i in range(1, layers + 1)])
    a.set_xlabel("weight layer (input → output)")
    a.set_ylabel("mean |dL/dW|")
    a.legend()
    a.grid(alpha=0.3, which="both")
    return _finish(fig, save)


# ---- sequences -------------------------------------------------------------------------------
def plot_gradient_through_time(layers=None, x=None, steps=100, features=8, units=16, ax=None, save=None):
    """How much the last output of a recurrent layer still feels each input step, on a log scale: the
    vanishing gradient through time.

    Backpropagation through time multiplies the gradient by one Jacobian per step. A SimpleRNN's is
    diag(tanh')·Uᵀ, and the gradient reaching early steps shrinks geometrically. An LSTM's memory is
    multiplied only by its forget gate f: with Keras's initial forget bias (f ≈ σ(1) ≈ 0.73) it still
    fades, more slowly; with the gate open (bias 3, f ≈ 0.95, as training can set it where a memory must
    last) it crosses all the steps. `layers` maps a label to a fresh recurrent layer (default:
    `default_recurrent_layers(units)`); `x` is the input (default: `steps` standard-normal steps of
    `features` features, 32 sequences).
    """
    layers = layers or default_recurrent_layers(units)
    x = get_rng().standard_normal((32, steps, features)).astype(np.float32) if x is None else x
    fig, (a,) = _panels(1, ax, size=(5.5, 3.5))
    for label, layer in layers.items():
        gradient = gradient_through_time(layer, x)
        a.semilogy(np.arange(1, len(gradient) + 1), gradient, label=label)
    a.set_xlabel("input step t (the output is read after the last)")
    a.set_ylabel("‖∂h_T/∂x_t‖")
    a.legend(fontsize=8)
    a.grid(alpha=0.3, which="both")
    return _finish(fig, save)


def _attention_matrix(scores, head):
    """A (queries, keys) matrix from one sample's scores: (queries, keys) or (heads, queries, keys)."""
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim == 2:
        return scores, "attention weights"
    if scores.ndim != 3:
        raise ValueError(f"plot_attention takes one sample's scores, (queries, keys) or (heads, queries, keys); "
                         f"got shape {scores.shape} (for a batch, pass scores[i])")
    if head is None:
        return scores.mean(axis=0), f"attention weights, mean of {len(scores)} heads"
    return scores[head], f"attention weights, head {head}"


def plot_attention(scores, x_labels=None, y_labels=None, head=None, ax=None, save=None):
    """Attention weights as a heat map: row i is how query position i spreads its attention over the
    key positions (the columns); each row of a softmax sums to 1.

    `scores` is one sample's weights: a (queries, keys) matrix, or MultiHeadAttention's
    (heads, queries, keys) (the layer's `return_attention_scores=True` gives a batch: pass scores[i]),
    shown as the mean over the heads or as head number `head`. `x_labels` name the keys (columns),
    `y_labels` the queries (rows), e.g. the tokens.
    """
    matrix, title = _attention_matrix(scores, head)
    fig, (a,) = _panels(1, ax, size=(4.8, 4.0))
    image = a.imshow(matrix, cmap="viridis", vmin=0)
    queries, keys = matrix.shape
    if x_labels is not None:
        a.set_xticks(range(keys), x_labels, rotation=90)  # upright words side by side would overlap
    if y_labels is not None:
        a.set_yticks(range(queries), y_labels)
    a.set_xlabel("key (attended to)")
    a.set_ylabel("query")
    a.set_title(title)
    fig.colorbar(image, ax=a)
    return _finish(fig, save)


# ---- what a trained classifier does ----------------------------------------------------------
def _kernel_images(kernel):
    """One image per unit of a Dense kernel (n_in, units) or per filter of a conv kernel
    (kh, kw, in, filters); a filter over other than 1 or 3 channels is shown as its channel mean."""
    w = np.asarray(kernel, dtype=np.float32)
    if w.ndim == 2:
        return list(w.T)
    if w.ndim == 4:
        filters = w.transpose(3, 0, 1, 2)
        return list(filters if filters.shape[-1] == 3 else filters.mean(axis=-1))
    raise ValueError(f"plot_weights takes a Dense (2-D) or conv (4-D) kernel, got shape {w.shape}")


def _looks_like_pixels(n_inputs):
    """A Dense layer whose inputs can be shown as a square picture of at least 4×4 (8×8 digits, MNIST)."""
    side = math.isqrt(n_inputs)
    return side * side == n_inputs and side >= 4


def _weight_matrix(w, ax=None):
    """A Dense kernel (n_in, units) as one heat map: row i is input i, column j unit j."""
    fig, (a,) = _panels(1, ax, size=(5.0, 4.0))
    limit = float(np.abs(w).max()) or 1.0
    image = a.imshow(w, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    a.set_xlabel("unit")
    a.set_ylabel("input")
    a.set_title(f"kernel: {w.shape[0]} inputs × {w.shape[1]} units")
    fig.colorbar(image, ax=a)
    return fig


def plot_weights(layer, max_images=64, as_images=None, ax=None, save=None):
    """The first layer's weights: what each unit (or filter) responds to, red for inputs that push it
    up, blue for those that push it down.

    `layer` is a layer with a `kernel`, a model (its first such layer), or a kernel array. A conv filter
    is drawn as a kh×kw image; a Dense unit over pixels as an image too (784 inputs as 28×28). A Dense
    kernel whose inputs are not a square picture (Iris's 4 measurements, a hidden layer's 100 units) is
    drawn whole as one heat map, inputs down and units across. `as_images` forces one way or the other
    for a Dense kernel (default: images when the inputs make a square of at least 4×4).
    """
    if hasattr(layer, "layers"):
        layer = next(lay for lay in layer.layers if getattr(lay, "kernel", None) is not None)
    kernel = getattr(layer, "kernel", layer)
    w = np.asarray(getattr(kernel, "data", kernel), dtype=np.float32)
    if w.ndim == 2 and not (_looks_like_pixels(w.shape[0]) if as_images is None else as_images):
        return _finish(_weight_matrix(w, ax), save)
    images = _kernel_images(w)[:max_images]
    return _finish(_image_grid(images, cmap="RdBu_r", centered=True, ax=ax), save)


def plot_confusion_matrix(y_true, y_pred, class_names=None, normalize=False, ax=None, save=None):
    """Which classes are mistaken for which: rows are true classes, columns predictions.

    `y_pred` may be class numbers or the model's output rows; `normalize` shows each row as fractions.
    """
    counts = confusion_matrix(y_true, y_pred, len(class_names) if class_names else None)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    n = len(counts)
    names = class_names or [str(i) for i in range(n)]
    fig, (a,) = _panels(1, ax, size=(5.0, 4.3))
    image = a.imshow(shown, cmap="Blues")
    if n <= 20:
        for (i, j), value in np.ndenumerate(shown):
            a.text(j, i, f"{value:.2f}" if normalize else str(value), ha="center", va="center", fontsize=7,
                   color="white" if value > shown.max() / 2 else "black")
    a.set_xticks(range(n), names)
    a.set_yticks(range(n), names)
    a.set_xlabel("predicted")
    a.set_ylabel("true")
    fig.colorbar(image, ax=a)
    return _finish(fig, save)


def plot_images(images, titles=None, max_images=25, ax=None, save=None):
    """A grid of images (batch first: flat rows shown as squares, one or three channels), titled with
    `titles` where given: a batch of data, or what an augmentation made of it."""
    images = np.asarray(images.numpy() if hasattr(images, "numpy") else images)[:max_images]
    titles = None if titles is None else [str(t) for t in list(titles)[:max_images]]
    return _finish(_image_grid(list(images), titles, cmap="gray_r", ax=ax), save)


def plot_predictions(model, images, labels, max_images=25, ax=None, save=None):
    """A grid of images titled with the model's prediction; mistakes in red, with the true label.

    `images` are what the model takes (flat rows are shown as squares).
    """
    images = np.asarray(images)[:max_images]
    truth = class_ids(np.asarray(labels)[:max_images])
    predicted = class_ids(_predict(model, images))
    titles = [f"{p}" if p == t else f"{p} (true {t})" for p, t in zip(predicted, truth)]
    colors = ["black" if p == t else "red" for p, t in zip(predicted, truth)]
    return _finish(_image_grid(list(images), titles, colors, cmap="gray_r", ax=ax), save)


# ---- live training plot ----------------------------------------------------------------------
class LivePlot(Callback):
    """Redraw loss and metrics after every epoch while fit() runs.

    In a Jupyter notebook the figure is replaced in place (one image, among the other outputs of the cell,
    such as fit's progress lines, which stay); in a script it is written to `path`
    (default "training.png") after every epoch, whole each time (see save_figure), so an image viewer
    that reloads shows training as it goes. A path given in a notebook is written too.
    """

    def __init__(self, path=None, metrics=None):
        super().__init__()
        self.path, self.metrics = path, metrics
        self.figure = None

    def on_train_begin(self, logs=None):
        self.logs, self.figure, self.shown = {}, None, None

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.logs.setdefault(key, []).append(value)
        self.draw()

    def draw(self):
        # a Figure outside pyplot: a notebook shows it only through display(), never once more at the end
        from matplotlib.figure import Figure

        names = _history_names(self.logs, self.metrics)
        if self.figure is None:
            self.figure = Figure(figsize=(4.0 * len(names), 3.0), layout="constrained")
            self.axes = self.figure.subplots(1, len(names), squeeze=False)[0]
        for a in self.axes:
            a.clear()
        plot_history(self.logs, names, ax=self.axes)
        notebook = _in_notebook()
        if notebook:
            from IPython.display import Image, display

            png = io.BytesIO()  # a PNG, not the Figure: IPython shows a Figure as an image only once pyplot drew one
            self.figure.savefig(png, format="png", bbox_inches="tight")
            image = Image(png.getvalue(), format="png")
            if self.shown is None:  # a display handle: updated in place, where clear_output would wipe the cell
                self.shown = display(image, display_id=True)
            else:
                self.shown.update(image)
        if self.path or not notebook:
            save_figure(self.figure, self.path or "training.png")


PlotHistory = LivePlot
