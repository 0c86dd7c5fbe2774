"""Benchmarks: scratchgrad against its peers (PyTorch-CPU, JAX and Keras, each where installed) in one
table, and against hand-written NumPy and its own targets in another.

    python benchmarks/run.py            # parts 1-7 (MNIST from SCRATCHGRAD_DATA if set)
    python benchmarks/run.py --quick    # tiny sizes: checks that everything runs, not how fast
    python benchmarks/run.py --parts 7 --profile   # one part, then where scratchgrad's time goes
    python benchmarks/run.py --parts 8 --seeds-cnn # accuracy over seeds, MLP and CNN (minutes)
    python benchmarks/run.py --no-torch --no-jax --no-keras   # scratchgrad alone

Runs alternate between frameworks and the median of the repeats is reported, so a slow phase of the
machine does not favour one side. Keras runs in a process of its own, on TensorFlow if installed, else JAX.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scratchgrad as sg  # noqa: E402
import workloads as w  # noqa: E402
from scratchgrad import blas, compiled, threads  # noqa: E402
from scratchgrad.recurrent import LSTMLoop  # noqa: E402


def mnist(quick):
    """MNIST flattened to float32 in [0, 1]; a synthetic stand-in of the same shape if absent."""
    if not quick:
        try:
            (x, y), (xt, yt) = sg.datasets.mnist.load_data()
            prep = lambda a: np.divide(a.reshape(len(a), 784), 255, dtype=np.float32)  # noqa: E731  one copy
            return prep(x), y.astype(np.int64), prep(xt), yt.astype(np.int64), "MNIST"
        except sg.datasets.DatasetNotFoundError:
            pass
    n = 2000 if quick else 60000
    rng = np.random.default_rng(0)
    proto = rng.random((10, 784))
    y = rng.integers(0, 10, n + n // 6)
    x = np.clip(proto[y] + 0.3 * rng.standard_normal((len(y), 784)), 0, 1).astype(np.float32)
    return x[:n], y[:n], x[n:], y[n:], "synthetic MNIST-shaped data"


MLP = [784, 512, 10]
PEERS = ("PyTorch", "JAX", "Keras")
SEEDS = 5  # part 8: seeds 0..4, enough to see the spread of one run's accuracy, few enough for minutes
PEER_PARTS = {1, 2, 6, 7, 8}  # the others compare against hand-written NumPy or a target alone
REFERENCE_HEAD = ("workload", "scratchgrad", "reference", "ratio", "target")


IDLE = 0.5  # seconds before each run: OpenBLAS's threads spin about 0.1 s after a product (benchmarks/phases.py)


def median_runs(runners, repeats, idle):
    """Run `runners` (name → function returning (seconds, extra); None skips one) in turn, `repeats` rounds,
    so that a slow phase of the machine hits each alike, each after `idle` seconds so that it does not share
    the cores with the threads of the run before. Returns name → (median seconds, last round's extra)."""
    runners = {name: run for name, run in runners.items() if run}
    times, extras = {name: [] for name in runners}, {}
    for _ in range(repeats):
        for name, run in runners.items():
            time.sleep(idle)
            t, extras[name] = run()
            times[name].append(t)
    return {name: (statistics.median(ts), extras[name]) for name, ts in times.items()}


def peer_row(workload, results, cell, target, sg_note="", ratio=None):
    """A row of the peers table: `cell(seconds, extra)` for each framework in `results` ("-" for the others),
    `sg_note` after scratchgrad's, then scratchgrad's time over the fastest peer's (or `ratio`) and the target."""
    cells = [cell(*results[name]) if name in results else "-" for name in ("scratchgrad",) + PEERS]
    cells[0] += sg_note
    return (workload, *cells, ratio or ratio_to_fastest(results), target)


def fastest_peer(results):
    """(name, median seconds) of the fastest peer in `results`; None when scratchgrad ran alone."""
    peers = [(t, name) for name, (t, _) in results.items() if name != "scratchgrad"]
    if not peers:
        return None
    t, name = min(peers)
    return name, t


def ratio_to_fastest(results):
    fastest = fastest_peer(results)
    return f"{results['scratchgrad'][0] / fastest[1]:.2f}× {fastest[0]}" if fastest else "-"


def gflops(flops, seconds, peak):
    """scratchgrad's achieved rate and its share of this run's GEMM peak, to append to its cell."""
    rate = flops / seconds / 1e9
    return f", {rate:.0f} GFLOP/s = {100 * rate / peak:.0f} % of peak"


def numpy_only(run):
    """`run` with scratchgrad's compiled kernels off (numba's, where installed); None where they are off anyway."""
    if not compiled.enabled():
        return None

    def run_numpy():
        with compiled.using(False):
            return run()

    return run_numpy


NUMPY_ONLY = "   scratchgrad on NumPy alone: its compiled kernels off (SCRATCHGRAD_COMPILED=0)"


def numpy_only_rows(results, cell, ratio=ratio_to_fastest):
    """The row of scratchgrad's NumPy-only run (popped from `results`) against the same peers, its ratio by
    `ratio`; none if it did not run."""
    if "NumPy only" not in results:
        return []
    numpy_run = results.pop("NumPy only")
    numpy_results = {**results, "scratchgrad": numpy_run}
    return [peer_row(NUMPY_ONLY, numpy_results, cell, "-", ratio=ratio(numpy_results))]


def keras_runner(args, recipe, x, y, xt, yt, epochs, seed=0):
    """A runner for median_runs training `recipe` in Keras; None when Keras does not run."""
    if not args.keras:
        return None
    return lambda: w.keras_train(recipe, args.keras, x, y, xt, yt, epochs, seed)


def part_mnist(data, args):
    x, y, xt, yt, source = data
    epochs = 1 if args.quick else 5

    def run_sg():
        model = w.sg_mlp(MLP, "relu")
        t = w.sg_train(model, "rmsprop", "sparse_categorical_crossentropy", x, y, 128, epochs)
        return t, w.sg_accuracy(model, xt, yt)

    def run_torch():
        model = w.torch_mlp(MLP, "relu")
        return w.torch_train(model, "rmsprop", x, y, 128, epochs), w.torch_accuracy(model, xt, yt)

    def run_jax():
        t, predict = w.jax_mlp_train(MLP, x, y, 128, epochs)
        return t, float((predict(xt).argmax(axis=1) == yt).mean())

    results = median_runs({"scratchgrad": run_sg, "NumPy only": numpy_only(run_sg),
                           "PyTorch": run_torch if args.torch else None, "JAX": run_jax if args.jax else None,
                           "Keras": keras_runner(args, "mlp", x, y, xt, yt, epochs)}, args.repeats, args.idle)
    cell = lambda t, acc: f"{t:.2f} s, acc {acc:.4f}"  # noqa: E731
    numpy_rows = numpy_only_rows(results, cell)
    rate = gflops(w.mlp_flops(MLP) * len(x) * epochs, results["scratchgrad"][0], args.peak)
    return [peer_row(f"1. MNIST 784-512-10, rmsprop, batch 128, {epochs} epoch{'s' * (epochs > 1)} ({source})",
                     results, cell, "≤ 0.9× JAX, acc ≥ 0.98", sg_note=rate), *numpy_rows]


def part_iris(args):
    from sklearn.model_selection import train_test_split

    x, y = sg.datasets.load_iris()
    x_train, _, y_train, _ = train_test_split(x, y, random_state=417)  # the seed's split: 112 samples
    epochs = 2 if args.quick else 100
    steps = len(x_train) * epochs

    def run_sg():
        model = w.sg_mlp([4, 30, 16, 3], "relu")
        return w.sg_train(model, "adam", "sparse_categorical_crossentropy", x_train, y_train, 1, epochs), None

    def run_torch():
        return w.torch_train(w.torch_mlp([4, 30, 16, 3], "relu"), "adam", x_train, y_train, 1, epochs), None

    def run_numpy():
        params = [p.numpy().copy() for p in w.sg_mlp([4, 30, 16, 3], "relu").weights]
        return w.timed(lambda: numpy_iris_fit(params, x_train, y_train, epochs))[0], None

    results = median_runs({"scratchgrad": run_sg, "NumPy only": numpy_only(run_sg), "by hand": run_numpy,
                           "PyTorch": run_torch if args.torch else None}, args.repeats, args.idle)
    cell = lambda t, _: f"{t / steps * 1e6:.0f} µs/step"  # noqa: E731
    hand = results.pop("by hand")
    numpy_rows = numpy_only_rows(results, cell, speedup)
    hand_results = {**results, "scratchgrad": hand}
    return [peer_row(f"2. Iris 4-30-16-3, adam, batch 1 ({steps} steps)", results, cell, "≥ 8× faster than PyTorch",
                     ratio=speedup(results)), *numpy_rows,
            peer_row(HAND_IRIS, hand_results, cell, "-", ratio=speedup(hand_results))]


HAND_IRIS = ("   the same training written by hand in NumPy (the textbook's layers and per-weight Adam, loss and "
             "accuracy summed as fit does): NumPy's own per-call cost")


def numpy_iris_fit(params, x, y, epochs, rng=None, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Batch-1 training of a ReLU MLP with softmax cross-entropy and Adam, each step as the textbook writes
    it, the samples of each epoch in the order of `rng.permutation`: the floor NumPy's per-call cost sets
    for a framework at this size."""
    rng = rng or np.random.default_rng(0)
    state, f = [(np.zeros_like(p), np.zeros_like(p)) for p in params], x.dtype.type
    total, correct, t = 0.0, 0, 0
    for _ in range(epochs):
        for i in rng.permutation(len(x)):
            xb, label, t = x[i:i + 1], y[i], t + 1
            activations = [xb]
            for W, b in zip(params[:-2:2], params[1:-2:2]):
                activations.append(np.maximum(activations[-1] @ W + b, f(0)))
            logits = activations[-1] @ params[-2] + params[-1]
            e = np.exp(logits - logits.max())
            g = e / e.sum()
            total += float(-np.log(g[0, label]))
            correct += int(g.argmax() == label)
            g[0, label] -= 1
            grads = []
            for k in range(len(params) // 2 - 1, -1, -1):
                grads[:0] = [activations[k].T @ g, g.sum(axis=0)]
                g = (g @ params[2 * k].T) * (activations[k] > 0) if k else None
            alpha = f(lr * (1 - beta_2 ** t) ** 0.5 / (1 - beta_1 ** t))
            for p, grad, (m, v) in zip(params, grads, state):
                m += (1 - beta_1) * (grad - m)
                v += (1 - beta_2) * (grad * grad - v)
                p -= alpha * m / (np.sqrt(v) + f(epsilon))
    return total, correct


def speedup(results):
    fastest = fastest_peer(results)
    return f"{fastest[1] / results['scratchgrad'][0]:.1f}× faster than {fastest[0]}" if fastest else "-"


def numpy_two_layer_step(params, x, t, lr=0.1):
    """The textbook's TwoLayerNet step written by hand: the floor for framework overhead. Like the
    textbook's SoftmaxWithLoss (and like fit, which reports it) it computes the loss value too."""
    W1, b1, W2, b2 = params
    z1 = 1 / (1 + np.exp(-(x @ W1 + b1)))
    a2 = z1 @ W2 + b2
    e = np.exp(a2 - a2.max(axis=1, keepdims=True))
    dy = e / e.sum(axis=1, keepdims=True)
    rows = np.arange(len(t))
    loss = -np.log(dy[rows, t] + 1e-7).mean()
    dy[rows, t] -= 1
    dy /= len(t)
    dz1 = dy @ W2.T
    da1 = dz1 * z1 * (1 - z1)
    for p, g in zip(params, (x.T @ da1, da1.sum(axis=0), z1.T @ dy, dy.sum(axis=0))):
        p -= lr * g
    return float(loss)


def part_overhead(data, args):
    x, y = data[0], data[1]
    n = min(len(x), 6000 if args.quick else 60000)
    x, y = x[:n], y[:n]
    steps = n // 100

    def run_sg():
        model = w.sg_mlp([784, 50, 10], "sigmoid")
        model.compile(optimizer=sg.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        return w.timed(lambda: model.fit(x, y, batch_size=100, epochs=1, verbose=0))[0], model

    def run_numpy():
        model = w.sg_mlp([784, 50, 10], "sigmoid")
        params = [p.numpy().copy() for p in model.weights]
        order = np.random.default_rng(0).permutation(n)

        def loop():
            for start in range(0, n, 100):
                idx = order[start:start + 100]
                numpy_two_layer_step(params, x[idx], y[idx])

        return w.timed(loop)[0], None

    results = median_runs({"scratchgrad": run_sg, "NumPy": run_numpy}, args.repeats, args.idle)
    (t_sg, model), (t_np, _) = results["scratchgrad"], results["NumPy"]
    rows = [("3. One step 784-50-10 sigmoid, SGD, batch 100", f"{t_sg / steps * 1e3:.2f} ms",
             f"{t_np / steps * 1e3:.2f} ms (NumPy by hand)", f"{t_sg / t_np:.2f}×", "≤ 1.2×")]
    t_num = numerical_step_time(model, x[:100], y[:100], 50 if args.quick else 400)
    rows.append(("   numerical-gradient step, same net and batch (timed on 400 parameters, scaled)",
                 f"{t_num:.1f} s", "-",
                 f"backprop {t_num / (t_sg / steps):,.0f}× faster", "-"))
    return rows


def numerical_step_time(model, x, y, samples=400):
    """Seconds for one step's gradients by central differences (two forward passes per parameter),
    timed on `samples` parameters and scaled to all of them: the full step takes minutes."""
    def loss():
        return float(sg.functional.cross_entropy(model(x), y).data)

    params = model.trainable_weights
    sizes = np.array([p.size for p in params])
    picks = np.random.default_rng(0).integers(0, sizes.sum(), samples)
    owners = np.searchsorted(np.cumsum(sizes), picks, side="right")
    start = time.perf_counter()
    with sg.no_grad():
        for owner, flat_index in zip(owners, picks - np.concatenate([[0], np.cumsum(sizes)])[owners]):
            values = params[owner].data.reshape(-1)
            original = values[flat_index]
            values[flat_index] = original + 1e-4
            loss()
            values[flat_index] = original - 1e-4
            loss()
            values[flat_index] = original
    return (time.perf_counter() - start) * sizes.sum() / samples


def part_import_and_memory(args):
    code = "import time; t = time.perf_counter(); import scratchgrad; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as users import it: from .pyc
    subprocess.check_output([sys.executable, "-c", code], env=env)  # the first run writes the bytecode cache
    times = [float(subprocess.check_output([sys.executable, "-c", code], env=env)) for _ in range(5)]
    rows = [("4. import scratchgrad (median of 5, numpy's import included)", f"{statistics.median(times) * 1e3:.0f} ms",
             "-", "-", "≤ 150 ms")]
    mem_sg = peak_memory("scratchgrad", args)
    mem_torch = peak_memory("torch", args) if args.torch else None
    rows.append(("   peak memory of the MNIST benchmark process", f"{mem_sg:.0f} MiB",
                 f"{mem_torch:.0f} MiB (PyTorch)" if mem_torch else "-", "-", "≤ 400 MiB"))
    return rows


def peak_memory(framework, args):
    flags = ["--child", framework] + (["--quick"] if args.quick else [])
    out = subprocess.check_output([sys.executable, os.path.abspath(__file__)] + flags)
    return float(out.decode().split()[-1])


def peak_rss_mib():
    """This process's peak resident memory. /proc's VmHWM starts afresh at exec; getrusage's ru_maxrss
    does not (it would report the benchmark parent's peak as the child's)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(framework, quick):
    """Run one MNIST training in this process and print its peak resident memory in MiB."""
    x, y, xt, yt, _ = mnist(quick)
    if framework == "torch":
        w.torch_train(w.torch_mlp([784, 512, 10], "relu"), "rmsprop", x, y, 128, 1)
    else:
        w.sg_train(w.sg_mlp([784, 512, 10], "relu"), "rmsprop", "sparse_categorical_crossentropy", x, y, 128, 1)
    print(peak_rss_mib())


def gemm_peak():
    """GFLOP/s of NumPy's float32 1024² matrix product, the best of 5: the ceiling for scratchgrad's rates."""
    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    a @ a
    t = min(w.timed(lambda: a @ a)[0] for _ in range(5))
    return 2 * 1024**3 / t / 1e9


def part_scaling(data, args):
    x, y = data[0], data[1]
    rows = [(f"5. Scaling (GEMM peak measured: {args.peak:.0f} GFLOP/s)", "time / epoch", "GFLOP/s", "% of peak", "-")]
    widths = [64, 256] if args.quick else [64, 256, 1024, 4096]
    batches = [1, 128] if args.quick else [1, 8, 32, 128, 1024]
    configs = [(h, 128) for h in widths] + [(512, b) for b in batches]
    for hidden, batch in configs:
        n = min(len(x), (200 if args.quick else 1000) if batch == 1 else (2000 if args.quick else 10000))
        model = w.sg_mlp([784, hidden, 10], "relu")
        t = w.sg_train(model, "rmsprop", "sparse_categorical_crossentropy", x[:n], y[:n], batch, 1)
        rate = w.mlp_flops([784, hidden, 10]) * n / t / 1e9
        per_epoch = t * 60000 / n
        rows.append((f"   hidden {hidden}, batch {batch}", f"{per_epoch:.1f} s (60k samples)", f"{rate:.0f}",
                     f"{100 * rate / args.peak:.0f} %", "-"))
    return rows


def part_cnn(data, args):
    """The classic small CNN (issue 8): one epoch of MNIST, batch 128, Adam, side by side."""
    x, y, xt, yt = data[0].reshape(-1, 28, 28, 1), data[1], data[2].reshape(-1, 28, 28, 1), data[3]
    n = 1280 if args.quick else len(x)

    def run_sg():
        return w.sg_train(w.sg_cnn(), "adam", "sparse_categorical_crossentropy", x[:n], y[:n], 128, 1), None

    def run_torch(onednn=True):
        with w.torch_onednn(onednn):
            return w.torch_train(w.torch_cnn(), "adam", x[:n].transpose(0, 3, 1, 2).copy(), y[:n], 128, 1), None

    results = median_runs({"scratchgrad": run_sg, "NumPy only": numpy_only(run_sg),
                           "PyTorch": run_torch if args.torch else None,
                           "Keras": keras_runner(args, "cnn", x[:n], y[:n], xt, yt, 1),
                           "native": (lambda: run_torch(onednn=False)) if args.torch else None},
                          args.repeats, args.idle)
    native = {"PyTorch": results.pop("native")} if args.torch else {}
    scale = len(x) / n
    seconds = lambda t, _: f"{t * scale:.1f} s"  # noqa: E731
    numpy_rows = numpy_only_rows(results, seconds)
    rate = gflops(w.cnn_flops() * n, results["scratchgrad"][0], args.peak)
    rows = [peer_row("6. CNN conv32-pool-conv64-pool-dropout-dense, adam, batch 128, 1 epoch", results, seconds,
                     "≤ 0.9× PyTorch", sg_note=rate), *numpy_rows]
    if native:
        rows.append(peer_row("   PyTorch with oneDNN off (torch.backends.mkldnn): its native convolution kernels",
                             {"scratchgrad": results["scratchgrad"], **native}, seconds, "-"))
    return rows


def part_lstm(data, args):
    """Issue 14: MNIST read row by row (28 steps of 28 features) by LSTM(128) + Dense(10), one epoch of
    adam at batch 128, against nn.LSTM + Linear on the same data. Also the time per recurrent step and
    where scratchgrad's time goes: its LSTM loop Function's forward and backward (timed by wrapping them
    in the benchmark) and the rest (the input and output products, loss, optimizer, batching)."""
    x, y, xt, yt, source = data
    x, xt = x.reshape(-1, 28, 28), xt.reshape(-1, 28, 28)
    n = 512 if args.quick else len(x)
    batches, splits = -(-n // 128), []

    def run_sg():
        model = w.sg_lstm(128)
        with w.lstm_loop_timing() as loop:
            t = w.sg_train(model, "adam", "sparse_categorical_crossentropy", x[:n], y[:n], 128, 1)
        splits.append((loop["forward"], loop["backward"], t - loop["forward"] - loop["backward"]))
        return t, w.sg_accuracy(model, xt, yt)

    def run_torch(fused=True):
        model = w.torch_lstm(128)
        with w.torch_onednn(fused):
            return w.torch_train(model, "adam", x[:n], y[:n], 128, 1), w.torch_accuracy(model, xt, yt)

    def run_sg_whole():
        with threads.using(False):
            model = w.sg_lstm(128)
            t = w.sg_train(model, "adam", "sparse_categorical_crossentropy", x[:n], y[:n], 128, 1)
            return t, w.sg_accuracy(model, xt, yt)

    results = median_runs({"scratchgrad": run_sg, "PyTorch": run_torch if args.torch else None,
                           "op by op": (lambda: run_torch(fused=False)) if args.torch else None,
                           "whole": run_sg_whole if LSTMLoop().cuts_batch() else None},
                          args.repeats, args.idle)
    op_by_op = {"PyTorch": results.pop("op by op")} if args.torch else {}
    whole = {"scratchgrad": results.pop("whole")} if "whole" in results else {}
    scale = len(x) / n
    rate = gflops(w.lstm_flops(128) * n, results["scratchgrad"][0], args.peak)
    forward, backward, rest = (statistics.median(part) for part in zip(*splits))
    total = forward + backward + rest
    rows = [peer_row(f"7. MNIST row by row: LSTM(128)-Dense(10), 28 steps × 28 features, adam, batch 128, 1 epoch "
                     f"({source})", results, lambda t, acc: f"{t * scale:.1f} s, acc {acc:.4f}", "≤ 1× PyTorch",
                     sg_note=rate),
            peer_row(f"   per time step: a training step ({batches} per epoch) / 28", results,
                     lambda t, _: f"{t / batches / 28 * 1e6:.0f} µs", "-"),
            ("   scratchgrad's time: LSTM loop forward / backward / the rest",
             " / ".join(f"{t * scale:.1f} s" for t in (forward, backward, rest)), *("-" for _ in PEERS),
             " / ".join(f"{100 * t / total:.0f} %" for t in (forward, backward, rest)), "-"),
            ("   of which the loop's matrix products alone (NumPy's, timed apart: [h, x, 1]·[U; W; b] forward, "
             "dz·Uᵀ backward per step, then the kernel-gradient product, each part of the batch on a core "
             "of its own)",
             f"{w.lstm_loop_products(128) * batches * scale:.1f} s",
             *("-" for _ in PEERS), "-", "-")]
    if op_by_op:
        rows.insert(2, peer_row("   PyTorch op by op: its fused oneDNN LSTM kernel off (torch.backends.mkldnn), each "
                                "step's products and gate functions as separate ops, as scratchgrad runs them",
                                {"scratchgrad": results["scratchgrad"], **op_by_op},
                                lambda t, _: f"{t * scale:.1f} s", "-"))
    if whole:
        rows.insert(1, peer_row("   scratchgrad with its batch whole: one thread runs the loop, BLAS's threads share "
                                "each product (SCRATCHGRAD_THREADS=0)", {**results, **whole},
                                lambda t, acc: f"{t * scale:.1f} s, acc {acc:.4f}", "-"))
    if args.profile:
        args.notes.append(profile_lstm(x[:n], y[:n], args.profile))
    return rows


def profile_lstm(x, y, top):
    """One more scratchgrad epoch of part 7 under cProfile: the `top` functions by own time. cProfile's
    own cost inflates the many small calls (the per-step activation Functions) a little."""
    import cProfile
    import io
    import pstats

    model = w.sg_lstm(128)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    profiler = cProfile.Profile()
    profiler.runcall(model.fit, x, y, batch_size=128, epochs=1, verbose=0)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    return "Part 7 profile, one scratchgrad epoch (cProfile, by own time):\n" + text[text.index("ncalls") - 3:]


def part_seeds(data, args):
    """Accuracy over seeds: the spread of one run's test accuracy, in scratchgrad and (where it runs) in
    Keras, for part 1's recipe and, with --seeds-cnn, part 6's. One run per seed: nothing timed."""
    x, y, xt, yt, source = data
    seeds = range(2 if args.quick else SEEDS)
    epochs = 1 if args.quick else 5
    rows = [seeds_row(f"8. Accuracy over seeds 0–{seeds[-1]}: MNIST 784-512-10, rmsprop, batch 128, {epochs} epochs "
                      f"({source})", "mlp", lambda seed: w.sg_mlp(MLP, "relu", seed=seed), x, y, xt, yt, epochs,
                      seeds, args)]
    if args.seeds_cnn:
        n = 256 if args.quick else len(x)
        images = lambda a: a.reshape(-1, 28, 28, 1)  # noqa: E731
        rows.append(seeds_row("   the same seeds: part 6's CNN, adam, batch 128, 1 epoch", "cnn", w.sg_cnn,
                              images(x[:n]), y[:n], images(xt), yt, 1, seeds, args))
    return rows


def seeds_row(workload, recipe, build, x, y, xt, yt, epochs, seeds, args):
    """A peers-table row of test accuracies over `seeds`: scratchgrad's (`build(seed)` trained) and Keras's."""
    def sg_accuracy(seed):
        model = build(seed)
        w.sg_train(model, w.RECIPE_OPTIMIZERS[recipe], "sparse_categorical_crossentropy", x, y, 128, epochs)
        return w.sg_accuracy(model, xt, yt)

    accuracies = {"scratchgrad": ([sg_accuracy(seed) for seed in seeds], None)}
    if args.keras:
        accuracies["Keras"] = ([w.keras_train(recipe, args.keras, x, y, xt, yt, epochs, seed)[1] for seed in seeds],
                               None)
    return peer_row(workload, accuracies, spread, "-", ratio="-")


def spread(accuracies, _):
    return (f"acc {statistics.mean(accuracies):.4f} ± {statistics.stdev(accuracies):.4f} "
            f"({min(accuracies):.4f}–{max(accuracies):.4f})")


def peer_head(args):
    keras = {"tensorflow": "Keras-TF", "jax": "Keras-JAX"}.get(args.keras, "Keras")
    return ("workload", "scratchgrad", "PyTorch", "JAX", keras, "ratio to fastest peer", "target")


def table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a measurement")
    parser.add_argument("--repeats", type=int, default=None, help="runs per framework (default 3; 1 with --quick)")
    parser.add_argument("--parts", default="1,2,3,4,5,6,7",
                        help="which parts to run, e.g. 1,2; part 8 (accuracy over seeds: minutes) only when named")
    parser.add_argument("--seeds-cnn", action="store_true", help="part 8 also trains the CNN on each seed")
    parser.add_argument("--profile", type=int, nargs="?", const=15, default=0, metavar="TOP",
                        help="after the table, profile one more scratchgrad epoch of part 7 (LSTM) and print "
                             "its TOP functions by own time (default 15)")
    parser.add_argument("--no-torch", dest="torch", action="store_false", help="skip PyTorch even if installed")
    parser.add_argument("--no-jax", dest="jax", action="store_false", help="skip JAX even if installed")
    parser.add_argument("--no-keras", dest="keras", action="store_false", help="skip Keras even if installed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.quick)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.idle = 0 if args.quick else IDLE
    args.torch = args.torch and w.installed("torch")
    args.jax = args.jax and w.installed("jax")
    args.keras = w.keras_backend() if args.keras else None
    parts = {int(p) for p in args.parts.split(",")}
    args.notes = []
    args.peak = gemm_peak() if parts & {1, 5, 6, 7} else None  # once, before the parts load the machine
    data = mnist(args.quick) if parts & {1, 3, 5, 6, 7, 8} else None
    peer_rows, reference_rows = [], []
    for number, run in ((1, lambda: part_mnist(data, args)), (2, lambda: part_iris(args)),
                        (3, lambda: part_overhead(data, args)), (4, lambda: part_import_and_memory(args)),
                        (5, lambda: part_scaling(data, args)), (6, lambda: part_cnn(data, args)),
                        (7, lambda: part_lstm(data, args)), (8, lambda: part_seeds(data, args))):
        if number in parts:
            (peer_rows if number in PEER_PARTS else reference_rows).extend(run())
    print(machine_description(args))
    if peer_rows:
        print("\nscratchgrad and its peers:\n" + table(peer_head(args), peer_rows))
    if reference_rows:
        print("\nscratchgrad against references and targets:\n" + table(REFERENCE_HEAD, reference_rows))
    for note in args.notes + [openblas_note()]:
        if note:
            print("\n" + note)
    return peer_rows, reference_rows


def machine_description(args):
    import platform

    peers = ""
    if args.torch:
        import torch

        peers += f", PyTorch {torch.__version__} ({torch.get_num_threads()} threads)"
    if args.jax:
        import jax

        peers += f", JAX {jax.__version__}"
    if args.keras:
        from importlib.metadata import version

        peers += f", Keras {version('keras')} on {args.keras}"
    peak = f"; NumPy float32 GEMM peak {args.peak:.0f} GFLOP/s" if args.peak else ""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()}, NumPy {np.__version__}{openblas()}, "
            f"scratchgrad {sg.__version__} ({kernels()}){peers}{peak}")


def openblas():
    """Which of OpenBLAS's kernels NumPy runs on, and the setting that chose them, when threadpoolctl can tell."""
    core = blas.openblas_kernels()
    setting = os.environ.get("OPENBLAS_CORETYPE")
    return f" (OpenBLAS's {core} kernels{f', OPENBLAS_CORETYPE={setting}' if setting else ''})" if core else ""


def openblas_note():
    note = blas.unused_avx512(blas.openblas_kernels(), blas.read_cpuinfo(), os.environ)
    return note and f"Note: {note}."


def kernels():
    if not compiled.enabled():
        return "NumPy alone: numba not installed or SCRATCHGRAD_COMPILED=0"
    from importlib.metadata import version

    return f"compiled kernels by numba {version('numba')}"


if __name__ == "__main__":
    main()
