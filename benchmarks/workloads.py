"""The benchmark workloads, each written once for scratchgrad and once for PyTorch with the same
hyper-parameters, initialization scheme and data order, so their times compare like for like."""
import contextlib
import functools
import time

import numpy as np

import scratchgrad as sg
from scratchgrad.layers import Dense
from scratchgrad.models import Sequential


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


# ---- scratchgrad -------------------------------------------------------------------------------
def sg_mlp(sizes, activation, out_activation="softmax", seed=0):
    sg.set_seed(seed)
    layers = [sg.Input(shape=(sizes[0],))]
    layers += [Dense(n, activation=activation) for n in sizes[1:-1]]
    layers += [Dense(sizes[-1], activation=out_activation)]
    return Sequential(layers)


def sg_cnn():
    from scratchgrad.layers import Conv2D, Dropout, Flatten, MaxPooling2D

    return Sequential([sg.Input(shape=(28, 28, 1)), Conv2D(32, 3, activation="relu"), MaxPooling2D(2),
                       Conv2D(64, 3, activation="relu"), MaxPooling2D(2), Flatten(), Dropout(0.5),
                       Dense(10, activation="softmax")])


def sg_lstm(units=128, seed=0):
    """MNIST read row by row: 28 steps of 28 features, the last state classified."""
    from scratchgrad.layers import LSTM

    sg.set_seed(seed)
    return Sequential([sg.Input(shape=(28, 28)), LSTM(units), Dense(10, activation="softmax")])


@contextlib.contextmanager
def lstm_loop_timing():
    """Time scratchgrad's LSTM loop Function (forward and backward through time) while the block runs,
    by wrapping its methods here, in the benchmark, only: yields a dict of summed seconds."""
    from scratchgrad.recurrent import LSTMLoop

    seconds = {"forward": 0.0, "backward": 0.0}
    originals = {name: LSTMLoop.__dict__[name] for name in seconds}

    def timing(name, method):
        @functools.wraps(method)
        def timed_method(self, *args):
            start = time.perf_counter()
            try:
                return method(self, *args)
            finally:
                seconds[name] += time.perf_counter() - start
        return timed_method

    for name, method in originals.items():
        setattr(LSTMLoop, name, timing(name, method))
    try:
        yield seconds
    finally:
        for name, method in originals.items():
            setattr(LSTMLoop, name, method)


def sg_train(model, optimizer, loss, x, y, batch_size, epochs):
    """fit() as a user calls it, with the accuracy metric the recipes compile."""
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return timed(lambda: model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0))[0]


def sg_accuracy(model, x, y):
    return float((model.predict(x, batch_size=1000).argmax(axis=1) == y).mean())


# ---- PyTorch -----------------------------------------------------------------------------------
def torch_mlp(sizes, activation, seed=0):
    import torch

    torch.manual_seed(seed)
    act = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[activation]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = torch.nn.Linear(n_in, n_out)
        torch.nn.init.xavier_uniform_(linear.weight)  # Keras's glorot_uniform, as scratchgrad's Dense
        torch.nn.init.zeros_(linear.bias)
        layers += [linear] + ([act()] if i < len(sizes) - 2 else [])
    return torch.nn.Sequential(*layers)


def torch_cnn(seed=0):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))


def torch_lstm(units=128, seed=0):
    """nn.LSTM(28, units, batch_first=True) and a Linear on its last state, initialized as Keras's LSTM and
    Dense: glorot-uniform input kernel, orthogonal recurrent kernel, zero biases but the forget gate's at 1
    (PyTorch's gate order i, f, g, o is Keras's i, f, c, o)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class RowLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, units, batch_first=True)
            self.dense = nn.Linear(units, 10)
            nn.init.xavier_uniform_(self.lstm.weight_ih_l0)
            nn.init.orthogonal_(self.lstm.weight_hh_l0)
            with torch.no_grad():
                self.lstm.bias_ih_l0.zero_()
                self.lstm.bias_ih_l0[units:2 * units] = 1
                self.lstm.bias_hh_l0.zero_()
            nn.init.xavier_uniform_(self.dense.weight)
            nn.init.zeros_(self.dense.bias)

        def forward(self, x):
            return self.dense(self.lstm(x)[1][0][-1])  # h_n of the one layer: the last step's state

    return RowLSTM()


def torch_optimizer(name, params):
    import torch

    if name == "rmsprop":  # Keras's defaults: lr 0.001, rho 0.9, eps 1e-7
        return torch.optim.RMSprop(params, lr=0.001, alpha=0.9, eps=1e-7)
    if name == "adam":
        return torch.optim.Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-7)
    return torch.optim.SGD(params, lr=0.1)


def torch_train(model, optimizer_name, x, y, batch_size, epochs, seed=0):
    """The standard PyTorch loop, tracking the running loss and accuracy as fit() reports them."""
    import torch

    x, y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    opt = torch_optimizer(optimizer_name, model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)

    def run():
        model.train()
        for _ in range(epochs):
            total, correct = 0.0, 0
            for idx in torch.randperm(len(x), generator=generator).split(batch_size):
                xb, yb = x[idx], y[idx]
                opt.zero_grad()
                out = model(xb)
                loss = loss_fn(out, yb)
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                correct += (out.argmax(1) == yb).sum().item()
        return total, correct

    return timed(run)[0]


def torch_accuracy(model, x, y):
    import torch

    model.eval()
    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True
