"""Regenerate every figure of the guide into docs/figures/:

    python docs/make_figures.py            # the figures as in the guide (about a minute or two)
    python docs/make_figures.py --small    # tiny data, few epochs, rough layout: seconds (what the tests run)
    python docs/make_figures.py --out DIR  # somewhere else
    python docs/make_figures.py init_sigmoid.png overfitting.png   # only these

MNIST is used when it is available (a local copy, see scratchgrad.datasets, or a download); otherwise,
and always with --small, the 8x8 digits that ship with scikit-learn. The computational-graph picture
needs Graphviz (pip install graphviz, apt/brew install graphviz) and is skipped without it. The numbers
the chapters quote about these runs (test accuracies, the train/validation gaps) are printed as the
figures are drawn.
"""
import argparse
import functools
import sys
from pathlib import Path

import numpy as np

import scratchgrad as sg
from scratchgrad import datasets, plot, viz
from scratchgrad import functional as F
from scratchgrad.layers import Activation, BatchNormalization, Dense, Dropout

FIGURES_DIR = Path(__file__).resolve().parent / "figures"
DPI = 80  # keeps each PNG well under 200 KB


# ---- data and trained models shared by several figures ---------------------------------------
def digits():
    x, y = datasets.load_digits()
    return x / 16, y


@functools.cache
def mnist_or_digits(small):
    """(x_train, y_train), (x_test, y_test): MNIST if it can be had, else the 8x8 digits."""
    if not small:
        try:
            return datasets.load_mnist()
        except datasets.DatasetNotFoundError as err:
            print(f"MNIST is not available, using the 8x8 digits: {str(err).splitlines()[0]}", file=sys.stderr)
    x, y = digits()
    train = 500 if small else 1500
    return (x[:train], y[:train]), (x[1500:], y[1500:])


@functools.cache
def mnist_model(small):
    """The guide's MNIST classifier, trained: (model, history)."""
    (x_train, y_train), _ = mnist_or_digits(small)
    sg.set_seed(0)
    model = sg.Sequential([sg.Input(shape=x_train.shape[1:]), Dense(100, activation="relu"), Dropout(0.2),
                           Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=2 if small else 10, batch_size=100, validation_split=0.1,
                        verbose=0)
    _, (x_test, y_test) = mnist_or_digits(small)
    print(f"chapter 11's classifier, seed 0: test accuracy {model.evaluate(x_test, y_test, verbose=0)[1]:.4f}")
    return model, history


def gates():
    """The hand-set perceptrons of chapter 1, and XOR as two layers of them."""
    def perceptron(w, b):
        return lambda x: F.step(x @ np.array(w, dtype=np.float32) + b).numpy()

    nand, or_, and_ = perceptron([-0.5, -0.5], 0.7), perceptron([0.5, 0.5], -0.2), perceptron([0.5, 0.5], -0.7)
    return {"and": and_, "nand": nand, "or": or_, "xor": lambda x: and_(np.column_stack([nand(x), or_(x)]))}


# ---- one function per figure: each returns a matplotlib Figure -------------------------------
def perceptron_gates(small):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(13, 3.3), layout="constrained")
    for a, (name, gate) in zip(axes, gates().items()):
        x, y = datasets.logic_gate(name)
        plot.plot_decision_boundary(gate, x, y, resolution=100, class_names=["output 0", "output 1"], ax=a)
        a.set_title(name.upper() + (" = AND(NAND, OR), two layers" if name == "xor" else ""), fontsize=10)
    return fig


def xor_boundary(small):
    x, y = datasets.logic_gate("xor")
    sg.set_seed(1)
    model = sg.Sequential([sg.Input(shape=(2,)), Dense(8, activation="tanh"), Dense(1, activation="sigmoid")])
    model.compile(optimizer=sg.optimizers.Adam(0.05), loss="binary_crossentropy")
    model.fit(x, y, epochs=300, batch_size=4, verbose=0)
    return plot.plot_decision_boundary(model, x, y)


def spiral_boundary(small):
    x, y = datasets.spiral(100, classes=3, seed=0)
    sg.set_seed(0)
    model = sg.Sequential([Dense(64, activation="relu"), Dense(3, activation="softmax")])
    model.compile(optimizer=sg.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=20 if small else 200, verbose=0)
    return plot.plot_decision_boundary(model, x, y)


def activations(small):
    return plot.plot_activations()


def losses(small):
    """Loss of one prediction whose right answer is 1, against the probability p given to it."""
    import matplotlib.pyplot as plt

    p = np.linspace(0.01, 1, 200).astype(np.float32)
    ones = np.ones_like(p)
    fig, a = plt.subplots(figsize=(5, 3.5), layout="constrained")
    a.plot(p, F.binary_cross_entropy(p, ones, reduction="none").numpy(), label="cross-entropy: −log p")
    a.plot(p, F.mse(p, ones, reduction="none").numpy(), label="squared error: (1 − p)²")
    a.set_xlabel("probability given to the right answer")
    a.set_ylabel("loss")
    a.legend()
    a.grid(alpha=0.3)
    return fig


def gradient_flow(small):
    sg.set_seed(0)
    return plot.plot_gradient_flow(depth=5 if small else 10)


def optimizer_paths(small):
    return plot.plot_optimizer_paths()


def batch_sizes(small):
    x, y = digits()
    x, y = (x[:200], y[:200]) if small else (x, y)
    ax = None
    for batch_size in (8, 64, len(x)):
        sg.set_seed(0)
        model = sg.Sequential([Dense(50, activation="relu"), Dense(10, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        history = model.fit(x, y, batch_size=batch_size, epochs=2 if small else 20, verbose=0)
        fig = plot.plot_history(history, label=f"batch size {batch_size}", ax=ax)
        ax = fig.axes[0]
    return fig


def big_net(regularized):
    """Chapter 8's net: too big for 300 samples; optionally with dropout and an L2 penalty."""
    reg = sg.regularizers.L2(1e-3) if regularized else None
    layers = []
    for _ in range(3):
        layers += [Dense(100, activation="relu", kernel_regularizer=reg)] + ([Dropout(0.5)] if regularized else [])
    return layers + [Dense(10, activation="softmax")]


def overfitting(small):
    """Chapter 8: 150 epochs, long enough for the cures to show on the validation set (at 60 epochs the
    regularized net is still behind: it learns more slowly)."""
    import matplotlib.pyplot as plt

    x, y = digits()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3), layout="constrained", sharey=True)
    for a, regularized in zip(axes, (False, True)):
        sg.set_seed(0)
        model = sg.Sequential(big_net(regularized))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x[:300], y[:300], epochs=3 if small else 150, validation_data=(x[1000:], y[1000:]),
                            verbose=0)
        plot.plot_history(history, metrics=["accuracy"], ax=a)
        a.set_title("dropout 0.5 + L2(1e-3)" if regularized else "no regularization")
        train = model.evaluate(x[:300], y[:300], verbose=0)[1]  # dropout off, unlike the curve's training accuracy
        val = history.history["val_accuracy"][-1]
        print(f"chapter 8, {a.get_title()}, seed 0: training accuracy {train:.4f} (evaluated, dropout off), "
              f"validation {val:.4f}, gap {train - val:.4f}")
    return fig


def init_histograms(activation):
    """Chapter 9: the textbook's rows for the activation (sigmoid: std 1, std 0.01, Xavier; ReLU: std 0.01,
    Xavier, He), 1000 samples through 5 layers of 100 units."""
    def figure(small):
        sg.set_seed(0)
        return plot.plot_activation_histograms(activation=activation, layers=3 if small else 5)

    return figure


def batchnorm(small):
    x, y = digits()
    ax = None
    for normalized in (False, True):
        layers = []
        for _ in range(5):
            if normalized:
                layers += [Dense(100, kernel_initializer="small_random"), BatchNormalization(), Activation("sigmoid")]
            else:
                layers += [Dense(100, activation="sigmoid", kernel_initializer="small_random")]
        sg.set_seed(0)
        model = sg.Sequential(layers + [Dense(10, activation="softmax")])
        model.compile(optimizer=sg.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=2 if small else 15, batch_size=50, verbose=0)
        fig = plot.plot_history(history, metrics=["accuracy"], label="with batch norm" if normalized else "without",
                                ax=ax)
        ax = fig.axes[0]
    return fig


def mnist_history(small):
    return plot.plot_history(mnist_model(small)[1])


def mnist_weights(small):
    return plot.plot_weights(mnist_model(small)[0], max_images=36)


def mnist_confusion(small):
    _, (x_test, y_test) = mnist_or_digits(small)
    return plot.plot_confusion_matrix(y_test, mnist_model(small)[0].predict(x_test))


def mnist_predictions(small):
    """The first 20 test digits, then the first 5 mistakes (among the first 20 there may be none)."""
    _, (x_test, y_test) = mnist_or_digits(small)
    model = mnist_model(small)[0]
    wrong = np.flatnonzero(model.predict(x_test).argmax(axis=1) != y_test)[:5]
    shown = np.concatenate([np.arange(20), wrong])
    return plot.plot_predictions(model, x_test[shown], y_test[shown])


def cnn_filters(small):
    """Chapter 12: the first-layer kernels of a small CNN trained on the 8x8 digits."""
    from scratchgrad.layers import Conv2D, Flatten, MaxPooling2D

    x, y = digits()
    sg.set_seed(0)
    cnn = sg.Sequential([sg.Input(shape=(8, 8, 1)), Conv2D(16, 3, padding="same", activation="relu"),
                         MaxPooling2D(2), Flatten(), Dense(10, activation="softmax")])
    cnn.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    cnn.fit(x.reshape(-1, 8, 8, 1), y, epochs=2 if small else 10, batch_size=32, verbose=0)
    return plot.plot_weights(cnn.layers[0])


def augmented_digits(small):
    """Chapter 12: one digit as data augmentation shows it to the network, eight times over (the guide's code)."""
    from scratchgrad.layers import RandomRotation, RandomZoom

    x, _ = digits()
    sg.set_seed(0)
    data_augmentation = sg.Sequential([RandomRotation(0.1), RandomZoom(0.2)])
    return plot.plot_images(data_augmentation(np.repeat(x[:1].reshape(1, 8, 8, 1), 8, axis=0)))


def gradient_through_time(small):
    """Chapter 15: how much the last output of SimpleRNN and LSTM still feels each input step."""
    sg.set_seed(0)
    return plot.plot_gradient_through_time(steps=50 if small else 100)


def shifted_tokens(samples, steps=8, vocab=10):
    """Chapter 15's attention task: random tokens 1..9, each position to output the token one step
    before it (0 at the first). Inputs are the one-hot token followed by the one-hot position."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, vocab, (samples, steps))
    targets = np.concatenate([np.zeros((samples, 1), int), tokens[:, :-1]], axis=1)
    positions = np.broadcast_to(np.eye(steps, dtype=np.float32), (samples, steps, steps))
    return tokens, np.concatenate([np.eye(vocab, dtype=np.float32)[tokens], positions], axis=-1), targets


def attention(small):
    """Chapter 15: the attention weights of a MultiHeadAttention trained to look one step back."""
    from scratchgrad.layers import MultiHeadAttention

    tokens, x, targets = shifted_tokens(1000)
    sg.set_seed(0)
    inputs = sg.Input(shape=x.shape[1:])
    attend = MultiHeadAttention(num_heads=2, key_dim=8)
    model = sg.Model(inputs, Dense(10, activation="softmax")(attend(inputs, inputs)))
    model.compile(optimizer=sg.optimizers.Adam(0.01), loss="categorical_crossentropy")
    model.fit(x[:800], np.eye(10)[targets[:800]], epochs=3 if small else 10, batch_size=32, verbose=0)
    _, scores = attend(x[800:801], x[800:801], return_attention_scores=True)
    labels = [str(token) for token in tokens[800]]
    return plot.plot_attention(scores.numpy()[0], x_labels=labels, y_labels=labels)


FIGURES = {
    "perceptron_gates.png": perceptron_gates,
    "xor_boundary.png": xor_boundary,
    "spiral_boundary.png": spiral_boundary,
    "activations.png": activations,
    "losses.png": losses,
    "gradient_flow.png": gradient_flow,
    "optimizer_paths.png": optimizer_paths,
    "batch_sizes.png": batch_sizes,
    "overfitting.png": overfitting,
    "init_sigmoid.png": init_histograms("sigmoid"),
    "init_relu.png": init_histograms("relu"),
    "batchnorm.png": batchnorm,
    "mnist_history.png": mnist_history,
    "mnist_weights.png": mnist_weights,
    "mnist_confusion.png": mnist_confusion,
    "mnist_predictions.png": mnist_predictions,
    "cnn_filters.png": cnn_filters,
    "augmented_digits.png": augmented_digits,
    "gradient_through_time.png": gradient_through_time,
    "attention.png": attention,
}


GRAPH = "computational_graph.png"  # drawn by Graphviz, not matplotlib


def apple_graph():
    """Chapter 5's graph: price = apple · count · tax."""
    apple = sg.Tensor(100.0, requires_grad=True, name="apple")
    count = sg.Tensor(2.0, requires_grad=True, name="count")
    tax = sg.Tensor(1.1, requires_grad=True, name="tax")
    price = apple * count * tax
    price.name = "price"
    return price


def main(argv=None):
    parser = argparse.ArgumentParser(description="Regenerate the guide's figures.")
    parser.add_argument("--small", action="store_true", help="tiny data and few epochs: seconds, not minutes")
    parser.add_argument("--out", type=Path, default=FIGURES_DIR, help=f"output folder (default {FIGURES_DIR})")
    parser.add_argument("names", nargs="*", metavar="FIGURE",
                        help="draw only these (e.g. init_sigmoid.png); default: all of "
                             + ", ".join([*FIGURES, GRAPH]))
    args = parser.parse_args(argv)
    unknown = set(args.names) - {*FIGURES, GRAPH}
    if unknown:
        parser.error(f"no figure named {', '.join(sorted(unknown))}; the figures are {', '.join([*FIGURES, GRAPH])}")
    import matplotlib

    matplotlib.use("Agg")  # files only: no window opens
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    for name, make in FIGURES.items():
        if args.names and name not in args.names:
            continue
        fig = make(args.small)
        if args.small:
            fig.set_layout_engine("none")  # drafts: skipping the layout pass halves the drawing time
        plot.save_figure(fig, args.out / name, dpi=DPI)  # whole or not at all, if the run is stopped
        plt.close(fig)
        print(f"wrote {args.out / name}")
    if args.names and GRAPH not in args.names:
        return
    try:  # the textbook's picture: values forward (black), gradients backward (red)
        viz.render(viz.to_dot(apple_graph(), values=True, grads=True), args.out / GRAPH)
        print(f"wrote {args.out / GRAPH}")
    except RuntimeError as err:
        print(f"skipped {GRAPH}: {err}", file=sys.stderr)


if __name__ == "__main__":
    main()
