"""Benchmarks: scratchgrad against PyTorch-CPU (when installed) and hand-written NumPy, one table.

    python benchmarks/run.py            # every part (MNIST from SCRATCHGRAD_DATA if set)
    python benchmarks/run.py --quick    # tiny sizes: checks that everything runs, not how fast
    python benchmarks/run.py --parts 7 --profile   # one part, then where scratchgrad's time goes

Runs alternate between frameworks and the median of the repeats is reported, so a slow phase of the
machine does not favour one side.
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


def median_pair(sg_run, torch_run, repeats):
    """Alternate scratchgrad and PyTorch runs; return the median time (and last extra) of each."""
    sg_times, torch_times, sg_extra, torch_extra = [], [], None, None
    for _ in range(repeats):
        t, sg_extra = sg_run()
        sg_times.append(t)
        if torch_run:
            t, torch_extra = torch_run()
            torch_times.append(t)
    median = lambda ts: statistics.median(ts) if ts else None  # noqa: E731
    return median(sg_times), sg_extra, median(torch_times), torch_extra


def part_mnist(data, args):
    x, y, xt, yt, source = data
    epochs = 1 if args.quick else 5

    def run_sg():
        model = w.sg_mlp([784, 512, 10], "relu")
        t = w.sg_train(model, "rmsprop", "sparse_categorical_crossentropy", x, y, 128, epochs)
        return t, w.sg_accuracy(model, xt, yt)

    def run_torch():
        model = w.torch_mlp([784, 512, 10], "relu")
        return w.torch_train(model, "rmsprop", x, y, 128, epochs), w.torch_accuracy(model, xt, yt)

    t_sg, acc_sg, t_torch, acc_torch = median_pair(run_sg, run_torch if args.torch else None, args.repeats)
    return [("1. MNIST 784-512-10, rmsprop, batch 128, "
             f"{epochs} epochs ({source})", f"{t_sg:.2f} s, acc {acc_sg:.4f}",
             f"{t_torch:.2f} s, acc {acc_torch:.4f}" if t_torch else "-", _ratio(t_sg, t_torch), "≤ 0.9, acc ≥ 0.98")]


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

    t_sg, _, t_torch, _ = median_pair(run_sg, run_torch if args.torch else None, args.repeats)
    per = lambda t: f"{t / steps * 1e6:.0f} µs/step" if t else "-"  # noqa: E731
    speedup = f"{t_torch / t_sg:.1f}× faster" if t_torch else "-"
    return [(f"2. Iris 4-30-16-3, adam, batch 1 ({steps} steps)", per(t_sg), per(t_torch), speedup, "≥ 5× faster")]


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

    t_sg, model, t_np, _ = median_pair(run_sg, run_numpy, args.repeats)
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
                 f"{mem_torch:.0f} MiB" if mem_torch else "-", "-", "≤ 400 MiB"))
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
    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    a @ a
    t = min(w.timed(lambda: a @ a)[0] for _ in range(5))
    return 2 * 1024**3 / t / 1e9


def part_scaling(data, args):
    x, y = data[0], data[1]
    peak = gemm_peak()
    rows = [(f"5. Scaling (GEMM peak measured: {peak:.0f} GFLOP/s)", "time / epoch", "GFLOP/s", "% of peak", "-")]
    widths = [64, 256] if args.quick else [64, 256, 1024, 4096]
    batches = [1, 128] if args.quick else [1, 8, 32, 128, 1024]
    configs = [(h, 128) for h in widths] + [(512, b) for b in batches]
    for hidden, batch in configs:
        n = min(len(x), (200 if args.quick else 1000) if batch == 1 else (2000 if args.quick else 10000))
        model = w.sg_mlp([784, hidden, 10], "relu")
        t = w.sg_train(model, "rmsprop", "sparse_categorical_crossentropy", x[:n], y[:n], batch, 1)
        flops = n * (2 * 2 * 784 * hidden + 3 * 2 * hidden * 10)  # forward + weight grads (+ hidden grad)
        rate = flops / t / 1e9
        per_epoch = t * 60000 / n
        rows.append((f"   hidden {hidden}, batch {batch}", f"{per_epoch:.1f} s (60k samples)", f"{rate:.0f}",
                     f"{100 * rate / peak:.0f} %", "-"))
    return rows


def part_cnn(data, args):
    """The classic small CNN (issue 8): one epoch of MNIST, batch 128, Adam, side by side."""
    x, y = data[0].reshape(-1, 28, 28, 1), data[1]
    n = 1280 if args.quick else len(x)

    def run_sg():
        sg.set_seed(0)
        model = w.sg_cnn()
        return w.sg_train(model, "adam", "sparse_categorical_crossentropy", x[:n], y[:n], 128, 1), None

    def run_torch():
        return w.torch_train(w.torch_cnn(), "adam", x[:n].transpose(0, 3, 1, 2).copy(), y[:n], 128, 1), None

    t_sg, _, t_torch, _ = median_pair(run_sg, run_torch if args.torch else None, args.repeats)
    scale = len(x) / n
    return [("6. CNN conv32-pool-conv64-pool-dropout-dense, adam, batch 128, 1 epoch",
             f"{t_sg * scale:.1f} s", f"{t_torch * scale:.1f} s" if t_torch else "-", _ratio(t_sg, t_torch), "≤ 1.5×")]


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

    def run_torch():
        model = w.torch_lstm(128)
        return w.torch_train(model, "adam", x[:n], y[:n], 128, 1), w.torch_accuracy(model, xt, yt)

    t_sg, acc_sg, t_torch, acc_torch = median_pair(run_sg, run_torch if args.torch else None, args.repeats)
    scale = len(x) / n
    per_step = lambda t: f"{t / batches / 28 * 1e6:.0f} µs" if t else "-"  # noqa: E731
    forward, backward, rest = (statistics.median(part) for part in zip(*splits))
    total = forward + backward + rest
    rows = [(f"7. MNIST row by row: LSTM(128)-Dense(10), 28 steps × 28 features, adam, batch 128, 1 epoch ({source})",
             f"{t_sg * scale:.1f} s, acc {acc_sg:.4f}",
             f"{t_torch * scale:.1f} s, acc {acc_torch:.4f}" if t_torch else "-", _ratio(t_sg, t_torch), "-"),
            (f"   per time step: a training step ({batches} per epoch) / 28", per_step(t_sg), per_step(t_torch),
             _ratio(t_sg, t_torch), "-"),
            ("   scratchgrad's time: LSTM loop forward / backward / the rest",
             " / ".join(f"{t * scale:.1f} s" for t in (forward, backward, rest)), "-",
             " / ".join(f"{100 * t / total:.0f} %" for t in (forward, backward, rest)), "-")]
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


def _ratio(a, b):
    return f"{a / b:.2f}×" if b else "-"


def table(rows):
    head = ("workload", "scratchgrad", "reference", "ratio", "target")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a measurement")
    parser.add_argument("--repeats", type=int, default=None, help="runs per framework (default 3; 1 with --quick)")
    parser.add_argument("--parts", default="1,2,3,4,5,6,7", help="which parts to run, e.g. 1,2")
    parser.add_argument("--profile", type=int, nargs="?", const=15, default=0, metavar="TOP",
                        help="after the table, profile one more scratchgrad epoch of part 7 (LSTM) and print "
                             "its TOP functions by own time (default 15)")
    parser.add_argument("--no-torch", dest="torch", action="store_false", help="skip PyTorch even if installed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.quick)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.torch = args.torch and w.torch_available()
    parts = {int(p) for p in args.parts.split(",")}
    args.notes = []
    data = mnist(args.quick) if parts & {1, 3, 5, 6, 7} else None
    rows = []
    for number, run in ((1, lambda: part_mnist(data, args)), (2, lambda: part_iris(args)),
                        (3, lambda: part_overhead(data, args)), (4, lambda: part_import_and_memory(args)),
                        (5, lambda: part_scaling(data, args)), (6, lambda: part_cnn(data, args)),
                        (7, lambda: part_lstm(data, args))):
        if number in parts:
            rows += run()
    print(machine_description(args))
    print(table(rows))
    for note in args.notes:
        print("\n" + note)
    return rows


def machine_description(args):
    import platform

    torch = ""
    if args.torch:
        import torch as t

        torch = f", PyTorch {t.__version__} ({t.get_num_threads()} threads)"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"NumPy {np.__version__}, scratchgrad {sg.__version__}{torch}")


if __name__ == "__main__":
    main()
