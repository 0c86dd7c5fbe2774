"""Looking inside a network: activation curves and statistics, gradient flow (through layers and through
time), optimizer paths, confusion counts, and the textbook's demonstration networks. plot.py draws what
these compute."""
import numpy as np

from . import functional as F
from . import initializers
from . import optimizers as opt
from .autograd import no_grad
from .layers import LSTM, SimpleRNN
from .models.mlp import mlp
from .tensor import Tensor

# name -> (title, function); Leaky ReLU's slope is 0.1 here (not the default 0.01) so it can be seen
ACTIVATIONS = {
    "step": ("step", F.step),
    "sigmoid": ("sigmoid", F.sigmoid),
    "tanh": ("tanh", F.tanh),
    "relu": ("ReLU", F.relu),
    "leaky_relu": ("Leaky ReLU (α = 0.1)", lambda x: F.leaky_relu(x, 0.1)),
    "elu": ("ELU", F.elu),
    "softplus": ("softplus", F.softplus),
}

# the textbook's weight scales: 1·randn, 0.01·randn, Xavier (σ = √(1/n) for n in = n out), He (σ = √(2/n))
INITS = ("small_random", "glorot_normal", "he_normal")
INIT_TITLES = {"small_random": "0.01·randn", "glorot_normal": "Xavier", "xavier_normal": "Xavier",
               "he_normal": "He", "textbook_he_normal": "He"}


def histogram_inits(activation):
    """The rows of the textbook's activation-histogram experiment for an activation: for sigmoid (and
    tanh) std 1 (outputs saturate at 0 and 1), std 0.01 (all at 0.5) and Xavier; for ReLU-like ones
    std 0.01, Xavier and He."""
    if activation in ("sigmoid", "tanh", "hard_sigmoid", "softsign"):
        return (initializers.RandomNormal(stddev=1.0), "small_random", "glorot_normal")
    return INITS


def init_title(init):
    """A short name for an initializer: "Xavier", "He", "0.01·randn", "1·randn" (a zero-mean RandomNormal)."""
    if isinstance(init, str):
        return INIT_TITLES.get(init, init)
    if isinstance(init, initializers.RandomNormal) and init.mean == 0:
        return f"{init.stddev:g}·randn"
    return type(init).__name__


def function_to_minimize(x, y):
    """The textbook's optimizer test: a long, flat valley along x, where plain SGD zigzags."""
    return x**2 / 20 + y**2


def default_optimizers():
    """The textbook's comparison: learning rates picked so that each optimizer's character shows."""
    return {
        "SGD": opt.SGD(0.95),
        "Momentum": opt.Momentum(0.1),
        "AdaGrad": opt.Adagrad(1.5),
        "RMSprop": opt.RMSprop(0.3),
        "Adam": opt.Adam(0.3),
    }


def class_ids(a):
    """Class numbers from labels, one-hot rows, softmax rows or single sigmoid outputs (threshold 0.5)."""
    a = np.asarray(a)
    if a.ndim > 1 and a.shape[-1] > 1:
        return a.argmax(axis=-1)
    a = a.reshape(len(a))
    if a.dtype.kind == "f" and np.any(a % 1):
        return (a > 0.5).astype(np.int64)
    return a.astype(np.int64)


def activation_curve(fn, x):
    """(f(x), f'(x)) for an activation, f' read from the framework's own backward pass.

    Nothing is typed twice: if a Function's backward were wrong, its plotted derivative would be too.
    """
    t = Tensor(x, dtype="float64", requires_grad=True)
    y = fn(t)
    y.backward(np.ones_like(y.data))
    return y.numpy(), t.grad


def optimizer_path(optimizer, f=function_to_minimize, start=(-7.0, 2.0), steps=30):
    """The (steps + 1, 2) points an optimizer visits while minimizing f(x, y), gradients by backprop."""
    p = Tensor(start, dtype="float64", requires_grad=True)
    points = [p.numpy().copy()]
    for _ in range(steps):
        p.grad = None
        f(p[0], p[1]).backward()
        optimizer.step([p])
        points.append(p.numpy().copy())
    return np.array(points)


def activation_outputs(model, x):
    """The output of each layer of `model` that applies an activation, for inputs x (no graph kept)."""
    outputs, h = [], x
    with no_grad():
        for layer in model.layers:
            h = layer(h, training=False)
            if getattr(layer, "activation", F.identity) is not F.identity:
                outputs.append(h.numpy().ravel())
    if not outputs:
        raise ValueError(f"model {model.name!r} has no layer with an activation to show")
    return outputs


def gradient_flow(model, x, y):
    """Mean |dL/dW| of each kernel after one backward pass on (x, y), with the model's compiled loss.

    The forward pass runs in inference mode (dropout off, batch norm on its running statistics) and the
    model's own gradients are put back afterwards: the model is left exactly as it was, so this can look
    at it between training steps.
    """
    if model.loss is None:
        raise ValueError("gradient_flow needs the model's loss: call model.compile(...) first")
    weights = model.trainable_weights
    saved = [w.grad for w in weights]
    for w in weights:
        w.grad = None
    model.loss(y, model(x, training=False)).backward()
    kernels = [layer.kernel for layer in model.layers if getattr(layer, "kernel", None) is not None]
    flow = [float(np.abs(k.grad).mean()) if k.grad is not None else 0.0 for k in kernels]
    for w, g in zip(weights, saved):
        w.grad = g
    return flow


def deep_classifier(activation, init, depth=10, units=64, classes=10):
    """The textbook's deep net for the vanishing-gradient experiment, compiled with SGD."""
    model = mlp(None, [units] * depth, classes, activation, kernel_initializer=init,
                name=f"{activation} ({init_title(init)})")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def deep_stack(activation, init, depth=5, units=100):
    """The textbook's activation-histogram net: `depth` Dense layers of `units`, no biases, no output."""
    return mlp(None, [units] * depth, None, activation, kernel_initializer=init, use_bias=False)


def confusion_matrix(y_true, y_pred, num_classes=None):
    """counts[i, j] = how many samples of class i were predicted as class j."""
    t, p = class_ids(y_true), class_ids(y_pred)
    n = num_classes or int(max(t.max(), p.max())) + 1
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    return counts


def gradient_through_time(layer, x):
    """‖∂(Σ h_T)/∂x_t‖ for every step t, the root mean square over the batch: (steps,).

    `layer` is a recurrent layer returning its last output h_T (return_sequences=False) and `x` its
    input (batch, steps, features); the gradient comes from backpropagation through time (the autograd).
    """
    x = Tensor(np.asarray(x, dtype=np.float32), requires_grad=True)
    layer(x).sum().backward()
    return np.sqrt((x.grad ** 2).sum(axis=-1).mean(axis=0))


def _forget_bias(units, value):
    """An LSTM bias initializer: zeros, and `value` on the forget gate (Keras's unit_forget_bias sets 1)."""
    def initializer(shape, dtype):
        bias = np.zeros(shape, dtype)
        bias[units:2 * units] = value
        return bias
    return initializer


def default_recurrent_layers(units=16):
    """The three layers plot_gradient_through_time compares, fresh: label -> layer."""
    return {"SimpleRNN": SimpleRNN(units),
            "LSTM (Keras's init: forget bias 1)": LSTM(units),
            "LSTM, forget gate open (bias 3)": LSTM(units, unit_forget_bias=False,
                                                    bias_initializer=_forget_bias(units, 3.0))}
