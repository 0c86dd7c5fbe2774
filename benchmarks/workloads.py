"""The benchmark workloads, each written once for scratchgrad and once for each peer that has it (PyTorch,
JAX, Keras) with the same hyper-parameters and initialization scheme (and, PyTorch, the same data order),
so their times compare like for like; and the FLOP counts behind scratchgrad's GFLOP/s."""
import contextlib
import functools
import io
import json
import os
import subprocess
import sys
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


def sg_cnn(seed=0):
    from scratchgrad.layers import Conv2D, Dropout, Flatten, MaxPooling2D

    sg.set_seed(seed)
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


def lstm_loop_products(units=128, batch=128, steps=28, features=28, repeats=5):
    """Seconds per batch of the matrix products an LSTM loop cannot avoid, in NumPy, as scratchgrad's loop
    makes them: [h, x_t, 1]·[U; W; b] at each step forward, dz·Uᵀ at each step backward, and the
    kernel-gradient product over all steps (the best of `repeats`); each part of the batch on its own
    thread where the loop cuts it (threads.py), its kernel-gradient product too. What the loop costs beyond
    this is its gate functions and bookkeeping."""
    from scratchgrad import threads
    from scratchgrad.recurrent import LSTMLoop

    rng = np.random.default_rng(0)
    width = units + features + 1
    kernel = rng.standard_normal((width, 4 * units), dtype=np.float32)
    U_T = np.ascontiguousarray(kernel[:units].T)
    parts = threads.batch_parts(batch) if LSTMLoop().cuts_batch() else [slice(None)]
    rows = [len(range(batch)[part]) for part in parts]
    hx = [rng.standard_normal((steps, k, width), dtype=np.float32) for k in rows]
    gates = [np.empty((steps, k, 4 * units), np.float32) for k in rows]

    def part_products(hx, gates):
        dh = np.empty((hx.shape[1], units), np.float32)
        for t in range(steps):
            np.matmul(hx[t], kernel, out=gates[t])
        for t in range(steps):
            np.matmul(gates[t], U_T, out=dh)
        return hx.reshape(-1, width).T @ gates.reshape(-1, 4 * units)

    def products():
        return sum(threads.each(part_products, hx, gates))

    products()
    return min(timed(products)[0] for _ in range(repeats))


def sg_train(model, optimizer, loss, x, y, batch_size, epochs):
    """fit() as a user calls it, with the accuracy metric the recipes compile."""
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return timed(lambda: model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0))[0]


def sg_accuracy(model, x, y):
    return float((model.predict(x, batch_size=1000).argmax(axis=1) == y).mean())


# ---- FLOPs: the matrix products of one training sample, forward and backward -----------------------
def matmul_flops(m, k, n):
    """An (m, k) by (k, n) product: m·n dot products of length k, a multiply and an add per term."""
    return 2 * m * k * n


def mlp_flops(sizes):
    """sg_mlp(sizes) per sample: each Dense layer's forward product and its kernel gradient (the same size),
    and the gradient to its input for all layers but the first (the data needs none)."""
    layers = [matmul_flops(1, k, n) for k, n in zip(sizes[:-1], sizes[1:])]
    return 2 * sum(layers) + sum(layers[1:])


def cnn_flops():
    """sg_cnn per sample, a convolution as one product over its output positions: conv1 at 26·26 positions
    of a 3·3·1 patch to 32 channels, conv2 at 11·11 positions (on the 13×13 pooled map) of a 3·3·32 patch
    to 64 channels, the dense 1600 → 10. Forward, kernel gradients, and input gradients but conv1's."""
    conv1 = matmul_flops(26 * 26, 3 * 3 * 1, 32)
    conv2 = matmul_flops(11 * 11, 3 * 3 * 32, 64)
    dense = matmul_flops(1, 1600, 10)
    return 2 * conv1 + 3 * (conv2 + dense)


def lstm_flops(units=128, steps=28, features=28):
    """sg_lstm per sample, the products of all steps as one: the input projection features → 4·units gates
    and the recurrent one units → 4·units, forward and kernel gradients, plus the gradient to the previous
    state through the recurrent kernel (the data needs none); the Dense(10) on the last state with its
    forward, kernel and input gradient products."""
    inputs = matmul_flops(steps, features, 4 * units)
    recurrent = matmul_flops(steps, units, 4 * units)
    dense = matmul_flops(1, units, 10)
    return 2 * inputs + 3 * (recurrent + dense)


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


@contextlib.contextmanager
def torch_onednn(enabled):
    """PyTorch's CPU convolutions and LSTM run oneDNN's kernels (the LSTM a fused RNN kernel) unless
    torch.backends.mkldnn is off; off, PyTorch runs its native ops (an LSTM step's products and gate
    functions as separate ops)."""
    import torch

    saved = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = saved


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


# ---- JAX: a hand-written jit step, as a JAX user writes one ----------------------------------------
def jax_mlp_train(sizes, x, y, batch_size, epochs, seed=0, lr=0.001, rho=0.9, eps=1e-7):
    """The MLP with ReLU hidden layers and softmax cross-entropy, trained by RMSprop with Keras's formula
    in one `jax.jit` step (forward, `jax.grad`, update), tracking loss and accuracy as fit() does.
    Returns (seconds, test-ready predict function). The step is compiled for both batch shapes before
    the clock starts: only training is timed."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6 / (n_in + n_out))  # glorot_uniform, as Keras and scratchgrad
        params.append((jnp.asarray(rng.uniform(-limit, limit, (n_in, n_out)).astype(np.float32)),
                       jnp.zeros(n_out, jnp.float32)))
    velocity = jax.tree_util.tree_map(jnp.zeros_like, params)

    def logits(params, xb):
        for W, b in params[:-1]:
            xb = jax.nn.relu(xb @ W + b)
        W, b = params[-1]
        return xb @ W + b

    def loss_fn(params, xb, yb):
        out = logits(params, xb)
        loss = -jnp.take_along_axis(jax.nn.log_softmax(out), yb[:, None], axis=1).mean()
        return loss, (out.argmax(axis=1) == yb).sum()

    @jax.jit
    def step(params, velocity, totals, xb, yb):
        (loss, correct), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, xb, yb)
        velocity = jax.tree_util.tree_map(lambda v, g: rho * v + (1 - rho) * g * g, velocity, grads)
        params = jax.tree_util.tree_map(lambda p, g, v: p - lr * g / jnp.sqrt(v + eps), params, grads, velocity)
        return params, velocity, totals + jnp.stack([loss * len(yb), correct])  # running loss and hits, as fit

    zero = jnp.zeros(2, jnp.float32)
    for size in {batch_size, len(x) % batch_size or batch_size}:
        jax.block_until_ready(step(params, velocity, zero, x[:size], y[:size]))

    def run():
        nonlocal params, velocity
        for _ in range(epochs):
            order, totals = rng.permutation(len(x)), zero
            for start in range(0, len(x), batch_size):
                idx = order[start:start + batch_size]
                params, velocity, totals = step(params, velocity, totals, x[idx], y[idx])
            jax.block_until_ready(totals)
        return params

    seconds = timed(run)[0]
    predict = jax.jit(logits)
    return seconds, lambda xs: np.asarray(predict(params, xs))


def installed(package):
    """Whether `package` can be imported, looked up without importing it."""
    from importlib.util import find_spec

    return find_spec(package) is not None


# ---- Keras: the same recipes in a process of their own ----------------------------------------------
RECIPE_OPTIMIZERS = {"mlp": "rmsprop", "cnn": "adam"}  # the recipes trained by name: Keras's, part 8's


def keras_backend():
    """The backend for the Keras peer: TensorFlow if installed, else JAX; None without Keras or either (Keras
    on PyTorch would measure PyTorch twice). Looked up, not imported: importing Keras fixes its backend."""
    if not installed("keras"):
        return None
    return next((name for name in ("tensorflow", "jax") if installed(name)), None)


def keras_train(recipe, backend, x, y, xt, yt, epochs, seed=0):
    """Train `recipe` ("mlp" or "cnn") in Keras on `backend` in a fresh Python, as KERAS_BACKEND must be set
    before Keras is imported and its threads should not share a process with the other frameworks. The
    arrays go through a pipe. Returns (seconds of fit, test accuracy)."""
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y, xt=xt, yt=yt)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")  # TensorFlow's start-up chatter off
    out = subprocess.run([sys.executable, os.path.abspath(__file__), recipe, str(epochs), str(seed)],
                         input=buffer.getvalue(), stdout=subprocess.PIPE, env=env, check=True).stdout
    result = json.loads(out.decode().splitlines()[-1])
    return result["seconds"], result["accuracy"]


def keras_model(recipe):
    """sg_mlp([784, 512, 10], "relu") or sg_cnn in Keras, whose defaults (glorot_uniform kernels, zero
    biases) scratchgrad's Dense and Conv2D share."""
    import keras
    from keras import layers

    if recipe == "mlp":
        body = [keras.Input((784,)), layers.Dense(512, activation="relu")]
    else:
        body = [keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                layers.Dropout(0.5)]
    return keras.Sequential(body + [layers.Dense(10, activation="softmax")])


def keras_child(recipe, epochs, seed):
    """keras_train's process: the arrays from stdin, fit timed (its tracing and compiling included, as a
    user waits for them), and {"seconds", "accuracy"} as JSON on the last line of stdout."""
    import keras

    data = np.load(io.BytesIO(sys.stdin.buffer.read()))
    keras.utils.set_random_seed(int(seed))
    model = keras_model(recipe)
    model.compile(optimizer=RECIPE_OPTIMIZERS[recipe], loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    seconds = timed(lambda: model.fit(data["x"], data["y"], batch_size=128, epochs=int(epochs), verbose=0))[0]
    predicted = model.predict(data["xt"], batch_size=1000, verbose=0).argmax(axis=1)
    print(json.dumps({"seconds": seconds, "accuracy": float((predicted == data["yt"]).mean())}))


if __name__ == "__main__":  # keras_train's child: RECIPE EPOCHS SEED, the arrays on stdin
    keras_child(*sys.argv[1:])
