"""scratchgrad's compiled kernels (numba) against the NumPy code they stand beside, op by op.

    python benchmarks/kernels.py           # needs numba: pip install scratchgrad[fast]
    python benchmarks/kernels.py --quick   # fewer repeats: checks that it runs, not how fast

Each row times one operation both ways, alternating, median of the rounds. The last rows are why some
things are not compiled (see scratchgrad/compiled.py) and what the first use of a kernel costs. A second
table times the two NumPy ways of a convolution's kernel gradient that convolution._weight_gradient
chooses between, on the benchmark CNN's two layers. A third times the compiled Adam update over MLPs of
several sizes: on the weights as a model makes them, once over them where they lie end to end in memory
(weight_memory), and on weights with memory of their own, once per weight and once over the whole pack
(optimizers.base.SMALL_PACK chooses). A fourth
times the LSTM loop with its work arrays kept
from call to call (Function.scratch) and made anew, with the page faults each way costs.
"""
import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workloads as w  # noqa: E402
from scratchgrad import compiled, convolution, optimizers, threads, weight_memory  # noqa: E402
from scratchgrad.optimizers import base  # noqa: E402


def per_call(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def numpy_and_compiled(fn, calls, rounds):
    """Median seconds per call of fn() with the kernels off, then on, alternating rounds."""
    times = {False: [], True: []}
    for _ in range(rounds):
        for on in (False, True):
            with compiled.using(on):
                fn()  # warm: a first call compiles or loads the kernel
                times[on].append(per_call(fn, calls))
    return statistics.median(times[False]), statistics.median(times[True])


def mlp_weights(sizes):
    return [p for layer in w.sg_mlp(sizes, "relu").layers for p in layer.trainable_weights]


def optimizer_apply(name, sizes):
    """One apply() of optimizer `name` over the weights of sg_mlp(sizes), gradients in place."""
    params = mlp_weights(sizes)
    opt = optimizers.get(name)
    buffers = opt.gradient_buffers(params)
    for b in buffers:
        b[...] = 1e-3

    def apply():
        opt.apply(buffers, params)

    apply.params = params
    return apply


def cross_entropy(batch, classes):
    """Softmax cross-entropy on logits with integer labels (the fused SoftmaxCrossEntropy), forward and
    backward, one op replayed as a step plan replays it (it keeps its work arrays from one step to the next)."""
    from scratchgrad import functional as F

    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((batch, classes), dtype=np.float32), rng.integers(0, classes, batch)
    gy, op = np.asarray(1, np.float32), F.SoftmaxCrossEntropy()

    def run():
        op.forward(x, t)
        op.backward(gy)

    return run


def bias_gradient(batch, units):
    """A Dense layer's bias gradient, the sum of the rows of its output's gradient (functional.sum_rows)."""
    from scratchgrad import functional as F

    gy, out = np.random.default_rng(0).standard_normal((batch, units), dtype=np.float32), np.empty(units, np.float32)
    return lambda: F.sum_rows(gy, out)


def dense_relu(batch, features, units):
    """A Dense(relu) layer forward and backward as a step plan runs it: one LinearReLU, its weights'
    gradients written into the optimizer's buffers."""
    from scratchgrad import functional as F

    rng = np.random.default_rng(0)
    x, W = (rng.standard_normal(shape, dtype=np.float32) for shape in ((batch, features), (features, units)))
    gy, b = rng.standard_normal((batch, units), dtype=np.float32), np.zeros(units, np.float32)

    def run():
        op = F.LinearReLU()
        op.needs_grad, op.grad_buffers = (True, True, True), (None, np.empty_like(W), np.empty_like(b))
        op.forward(x, W, b)
        op.backward(gy)

    return run


def sparse_accuracy(batch, classes):
    """One update of the accuracy metric fit() keeps for integer labels (sparse_categorical_accuracy)."""
    from scratchgrad import metrics

    rng = np.random.default_rng(0)
    y_pred, y = rng.standard_normal((batch, classes), dtype=np.float32), rng.integers(0, classes, batch)
    metric = metrics.SparseCategoricalAccuracy()
    return lambda: metric.update_state(y, y_pred)


def max_pool(backward, fused=False):
    """2×2 max pooling of the CNN's first feature map (batch 128): MaxPool2D after a ReLU, or fused, the
    MaxPool2DReLU that the CNN's step plan replays the ReLU and the pool as, on the convolution's output; the
    forward, or forward and backward."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 26, 26, 32), dtype=np.float32)
    x = x if fused else np.maximum(x, 0)  # after ReLU: many ties
    gy = rng.standard_normal((128, 13, 13, 32), dtype=np.float32)

    def run():
        op = convolution.MaxPool2DReLU() if fused else convolution.MaxPool2D()
        op.forward(x)
        if backward:
            op.backward(gy)

    return run


def relu():
    """ReLU forward and backward on the MNIST MLP's hidden layer (batch 128, 512 units)."""
    from scratchgrad import functional as F

    x, gy = np.random.default_rng(0).standard_normal((2, 128, 512), dtype=np.float32)

    def run():
        op = F.ReLU()
        op.forward(x)
        op.backward(gy)

    return run


def lstm_cell_backward():
    """One step of an LSTM's backward through time (batch 128, 128 units, as in benchmark part 7): from the
    step's gradients of h and c to the gradient of its gates, without the product dz·Uᵀ that follows."""
    from scratchgrad.recurrent import LSTMLoop

    rng = np.random.default_rng(0)
    x, b = rng.standard_normal((28, 128, 28), dtype=np.float32), rng.standard_normal(512, dtype=np.float32)
    W, U = (rng.standard_normal((k, 512), dtype=np.float32) * 0.1 for k in (28, 128))
    zeros = np.zeros((128, 128), np.float32)
    loops = {}
    for on in (False, True):  # each way's forward keeps what its own backward reads, the batch whole
        with compiled.using(on), threads.using(False):
            loops[on] = LSTMLoop()
            loops[on].forward(x, zeros, zeros, W, U, b)
    dh, dc = rng.standard_normal((2, 128, 128), dtype=np.float32)
    gz = np.empty((128, 512), np.float32)

    def run():
        loop = loops[compiled.enabled()]
        cell = loop._compiled_cell_backward if loop.uses_kernels else loop._cell_backward
        cell(loop.runs[0][1][14], dh, dc.copy(), gz)  # step 14 of the one part; the kernel updates dc in place

    return run


def lstm_cell_forward():
    """One step of an LSTM's forward (batch 128, 128 units): from its product z = [h_{t-1}, x_t, 1]·[U; W; b]
    to h_t and c_t."""
    from scratchgrad.recurrent import LSTMLoop

    rng = np.random.default_rng(0)
    z = rng.standard_normal((128, 512), dtype=np.float32)
    c, h_new, c_new = rng.standard_normal((3, 128, 128), dtype=np.float32)
    tz, memory = np.empty((128, 512), np.float32), np.empty((128, 128), np.float32)
    loop = LSTMLoop()

    def run():
        if compiled.enabled():
            loop._compiled_cell(z, c, h_new, c_new, tz, memory)
        else:
            loop._cell(z, c, h_new, c_new)

    return run


def lstm_u_transposed():
    """The copy of Uᵀ that an LSTM's backward multiplies by (128 units, once a training step): the compiled
    tile-by-tile copy against NumPy's copy of the transposed view."""
    from scratchgrad.recurrent import _transpose

    U = np.random.default_rng(0).standard_normal((128, 512), dtype=np.float32)
    out = np.empty((512, 128), np.float32)

    def run():
        if compiled.enabled():
            _transpose(U, out)
        else:
            out[...] = U.T

    return run


def lstm_gates_compiled():
    """The rejected alternative: an LSTM step's gate functions (σ on three blocks, tanh on one and on the
    new memory) as one numba loop, batch 128, 128 units, against scratchgrad's NumPy ones."""
    import numba

    from scratchgrad import functional as F
    from scratchgrad.recurrent import GateSigmoid

    @numba.njit(error_model="numpy")
    def gates(z, c, h, c_new):
        n = c.shape[1]
        for b in range(z.shape[0]):
            for j in range(n):
                i = 1 / (1 + np.exp(-z[b, j]))
                f = 1 / (1 + np.exp(-z[b, n + j]))
                g = np.tanh(z[b, 2 * n + j])
                o = 1 / (1 + np.exp(-z[b, 3 * n + j]))
                c_new[b, j] = f * c[b, j] + i * g
                h[b, j] = o * np.tanh(c_new[b, j])

    def numpy_gates(z, c):
        n = c.shape[1]
        sig = GateSigmoid().forward(z)
        c_new = sig[:, n:2 * n] * c + sig[:, :n] * F.Tanh().forward(z[:, 2 * n:3 * n])
        return sig[:, 3 * n:] * F.Tanh().forward(c_new), c_new

    rng = np.random.default_rng(0)
    z, c = rng.standard_normal((128, 512), dtype=np.float32), rng.standard_normal((128, 128), dtype=np.float32)
    h, c_new = np.empty_like(c), np.empty_like(c)
    gates(z, c, h, c_new)
    return (lambda: numpy_gates(z, c)), (lambda: gates(z, c, h, c_new))


FIRST_USE = """
import time
start = time.perf_counter()
import numba
imported = time.perf_counter()
import numpy as np
from scratchgrad.optimizers import adam
w = np.zeros(10, np.float32)
adam._adam_step(w, w, w, w, *(np.float32(0.1),) * 4)
print(imported - start, time.perf_counter() - imported)
"""


def first_use():
    """(seconds to import numba, seconds to compile one kernel) in a fresh process with an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", FIRST_USE], capture_output=True, text=True, env=env, check=True)
    return tuple(float(v) for v in out.stdout.split())


SCRATCH = """
import resource, sys, time
import numpy as np
from scratchgrad.recurrent import LSTMLoop
rng = np.random.default_rng(0)
x, b = rng.standard_normal((28, 128, 28), dtype=np.float32), rng.standard_normal(512, dtype=np.float32)
W, U = (rng.standard_normal((k, 512), dtype=np.float32) * 0.1 for k in (28, 128))
zeros, gy = np.zeros((128, 128), np.float32), rng.standard_normal((2, 128, 128), dtype=np.float32)
kept, calls = sys.argv[1] == "kept", int(sys.argv[2])
loop = LSTMLoop(sequences=False)
def step(loop):
    loop.needs_grad = (False, False, False, True, True, True)  # as in part 7: x and the zero states take none
    loop.forward(x, zeros, zeros, W, U, b)
    loop.backward(gy)
for _ in range(3):
    step(loop if kept else LSTMLoop(sequences=False))
faults, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
for _ in range(calls):
    step(loop if kept else LSTMLoop(sequences=False))
print((time.perf_counter() - start) / calls, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / calls)
"""


def scratch_ways(calls, rounds):
    """The LSTM loop of benchmark part 7 (28 steps, batch 128, 128 units), forward and backward: its work
    arrays kept from call to call (Function.scratch, as a step plan replays one op) or made anew (a new op
    each call, as eager mode runs). Each way runs in a fresh process, alternating: malloc's state is the
    process's. Returns rows of (way, median seconds per call, page faults per call)."""
    if importlib.util.find_spec("resource") is None:  # Unix only
        return []
    times = {"kept": [], "anew": []}
    for _ in range(rounds):
        for way, spent in times.items():
            out = subprocess.run([sys.executable, "-c", SCRATCH, way, str(calls)], capture_output=True, text=True,
                                 check=True)
            spent.append(tuple(float(v) for v in out.stdout.split()))
    return [(way, micro(statistics.median(t for t, _ in spent)), f"{statistics.median(f for _, f in spent):,.0f}")
            for way, spent in times.items()]


def micro(seconds):
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few calls and rounds: a smoke test")
    args = parser.parse_args(argv)
    if not compiled.enabled():
        sys.exit("compiled kernels are off: install numba (pip install scratchgrad[fast]) and leave "
                 "SCRATCHGRAD_COMPILED unset")
    rounds, scale = (1, 0.02) if args.quick else (5, 1)
    calls = lambda n: max(1, int(n * scale))  # noqa: E731
    rows, mlp, iris = [], [784, 512, 10], [4, 30, 16, 3]
    count = lambda sizes: f"{sum(p.data.size for p in mlp_weights(sizes)):,} weights"  # noqa: E731
    for label, fn, n in (
            (f"Adam apply, MNIST MLP 784-512-10 ({count(mlp)})", optimizer_apply("adam", mlp), 300),
            (f"RMSprop apply, MNIST MLP 784-512-10 ({count(mlp)})", optimizer_apply("rmsprop", mlp), 300),
            (f"Adam apply, Iris 4-30-16-3 ({count(iris)})", optimizer_apply("adam", iris), 20000),
            ("ReLU forward + backward, (128, 512): the MNIST MLP's hidden layer", relu(), 2000),
            ("softmax cross-entropy forward + backward, (1, 3): Iris's output at batch 1", cross_entropy(1, 3), 20000),
            ("softmax cross-entropy forward + backward, (128, 10): the MNIST MLP's output", cross_entropy(128, 10),
             20000),
            ("bias gradient (sum of rows), (1, 30): Iris's first layer at batch 1", bias_gradient(1, 30), 20000),
            ("bias gradient (sum of rows), (128, 512): the MNIST MLP's hidden layer", bias_gradient(128, 512), 5000),
            ("Dense(relu) forward + backward as a plan runs it (LinearReLU), 4 → 30: Iris's first layer at batch 1",
             dense_relu(1, 4, 30), 20000),
            ("Dense(relu) forward + backward, the same, 784 → 512 at batch 128: the MNIST MLP's hidden layer",
             dense_relu(128, 784, 512), 300),
            ("accuracy metric update (integer labels), (1, 3): Iris at batch 1", sparse_accuracy(1, 3), 20000),
            ("accuracy metric update (integer labels), (128, 10): the MNIST MLP", sparse_accuracy(128, 10), 5000),
            ("max pooling 2×2 forward, (128, 26, 26, 32) after ReLU", max_pool(False), 30),
            ("max pooling 2×2 forward + backward, the same", max_pool(True), 30),
            ("the ReLU and the pool fused (MaxPool2DReLU, as the CNN's plan runs them), forward + backward",
             max_pool(True, fused=True), 30),
            ("LSTM cell forward after its product, one step, batch 128, 128 units", lstm_cell_forward(), 2000),
            ("LSTM cell backward, one step, batch 128, 128 units", lstm_cell_backward(), 2000),
            ("LSTM backward's copy of Uᵀ, 128 units (once a training step)", lstm_u_transposed(), 2000)):
        numpy_time, compiled_time = numpy_and_compiled(fn, calls(n), rounds)
        rows.append((label, micro(numpy_time), micro(compiled_time), f"{numpy_time / compiled_time:.1f}×"))
    numpy_gates, compiled_gates = lstm_gates_compiled()
    times = [statistics.median(per_call(f, calls(2000)) for _ in range(rounds)) for f in (numpy_gates, compiled_gates)]
    rows.append(("not compiled: an LSTM step's gate functions (exp, tanh), batch 128, 128 units", micro(times[0]),
                 micro(times[1]), f"{times[0] / times[1]:.2f}×"))
    imported, compiling = first_use()
    rows.append(("first use in a process: import numba / compile one kernel (empty cache)", "-",
                 f"{imported:.2f} s / {compiling:.2f} s", "-"))
    print("| operation | NumPy | compiled (numba) | speed-up |\n|---|---|---|---|")
    print("\n".join("| " + " | ".join(row) + " |" for row in rows))
    print("\n| kernel gradient, batch 128 | one product | one per sample, summed | chosen |\n|---|---|---|---|")
    for row in weight_gradient_ways(calls(20), rounds):
        print("| " + " | ".join(row) + " |")
    print("\n| compiled Adam apply | weights as a model makes them | own memory: one call per weight "
          "| own memory: one over the pack, then added | chosen |\n|---|---|---|---|---|")
    for row in pack_ways(calls(20000), rounds):
        print("| " + " | ".join(row) + " |")
    print("\n| LSTM loop forward + backward, part 7's shapes: work arrays | time a call | page faults a call |\n"
          "|---|---|---|")
    for row in scratch_ways(calls(30), rounds):
        print("| " + " | ".join(row) + " |")
    return rows


def weight_gradient_ways(calls, rounds):
    """The benchmark CNN's kernel gradients, colᵀ·gy, each way convolution._weight_gradient can take."""
    rng = np.random.default_rng(0)
    rows = []
    for label, positions, width, filters, order in (
            ("conv 1 (26×26 positions, 3×3×1 + bias, 32 filters)", 676, 10, 32, "F"),
            ("conv 2 (11×11 positions, 3×3×32 + bias, 64 filters)", 121, 289, 64, "C")):
        col = np.asarray(rng.random((128 * positions, width), dtype=np.float32), order=order)  # as im2col lays it
        gy = rng.random((128 * positions, filters), dtype=np.float32)
        ways = (lambda: convolution.weight_gradient_one_product(col, gy),
                lambda: convolution.weight_gradient_per_sample(col, gy, 128))
        times = [[], []]
        for _ in range(rounds):
            for way, spent in zip(ways, times):
                spent.append(per_call(way, calls))
        chosen = "one per sample" if width * filters <= convolution.SMALL_GRADIENT else "one product"
        rows.append((label, *(micro(statistics.median(spent)) for spent in times), chosen))
    return rows


def pack_ways(calls, rounds):
    """Adam's compiled apply over the weights of MLPs of several sizes: once over them where they lie end to end
    in memory (weight_memory: a model's weights of up to weight_memory.LARGEST numbers each do), and, where each has
    memory of its own, once per weight or once over the flat scratch (optimizers.base.SMALL_PACK chooses)."""
    rows, chosen = [], base.SMALL_PACK
    for sizes in ([4, 30, 16, 3], [16, 128, 64, 10], [32, 128, 64, 10], [64, 256, 64, 10], [128, 256, 128, 10]):
        place, weight_memory.place = weight_memory.place, lambda array: array  # each weight its own memory
        apart = optimizer_apply("adam", sizes)
        weight_memory.place = place
        made = optimizer_apply("adam", sizes)
        end_to_end = weight_memory.run([p.data for p in made.params]) is not None
        size = sum(p.data.size for p in made.params)
        ways = [(made, chosen), (apart, 0), (apart, size + 1)]
        times = [[] for _ in ways]
        for _ in range(rounds):
            for (apply, small), spent in zip(ways, times):
                base.SMALL_PACK = small
                apply()
                spent.append(per_call(apply, calls))
        base.SMALL_PACK = chosen
        way = "end to end" if end_to_end else "over the pack" if size < chosen else "per weight"
        rows.append((f"MLP {'-'.join(map(str, sizes))} ({size:,} weights)",
                     *(micro(statistics.median(spent)) for spent in times), way))
    return rows


if __name__ == "__main__":
    main()
