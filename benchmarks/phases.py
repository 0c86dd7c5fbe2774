"""Why timings swing on a small shared machine: the BLAS threads' spinning, and the machine's speed phases.

    python benchmarks/phases.py                        # about a minute
    python benchmarks/phases.py --lstm --seconds 150   # and part 7's LSTM step in each framework

Needs threadpoolctl (scikit-learn brings it). First, how long each library's worker threads keep a core
busy after its last matrix product: the CPU time the process uses during one second of idle right after
a burst of products (NumPy's BLAS, and PyTorch where installed). A run that starts within that time
shares the cores with the spinning threads, so `run.py` waits longer than this before each run.

Then a time series, one line per interval: GFLOP/s of the LSTM's per-step product, (128×157)·(157×512)
in float32, by NumPy's BLAS with two threads and with one; with --lstm, ten training steps of run.py's
part 7 (LSTM(128) on 28 rows of 28, batch 128, adam) in scratchgrad and in PyTorch, right after; then
the small product by PyTorch with two threads, and NumPy's product of the LSTM's kernel-gradient shape,
(157×3584)·(3584×512). An interval counts as slow where the second thread added less than a fifth to
NumPy's small product. The summary gives each figure's median in fast and in slow intervals and, with
--lstm, the median of scratchgrad's step over PyTorch's in the same interval.
"""
import argparse
import importlib.util
import os
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SMALL, LARGE = (128, 157, 512), (157, 3584, 512)
# between measurements: past OpenBLAS's spin (about 0.1 s), yet short, so that intervals follow the phases
SETTLE = 0.15
SG_STEP, TORCH_STEP = "scratchgrad LSTM step (ms)", "PyTorch LSTM step (ms)"
RATIO = "scratchgrad's step / PyTorch's, interval by interval"


def spin_after(product, burst=200):
    """CPU seconds this process uses in one idle second right after `burst` products."""
    for _ in range(burst):
        product()
    start = time.process_time()
    time.sleep(1.0)
    return time.process_time() - start


def operands(shape, seed=0):
    m, k, n = shape
    rng = np.random.default_rng(seed)
    return rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32), np.empty((m, n), np.float32)


def rate(product, shape, seconds=0.25):
    """GFLOP/s of `product` (one (m×k)·(k×n) product per call) over about `seconds`."""
    product()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        product()
        calls += 1
    m, k, n = shape
    return 2 * m * k * n * calls / (time.perf_counter() - start) / 1e9


def numpy_product(shape):
    a, b, out = operands(shape)
    return lambda: np.matmul(a, b, out=out)


def torch_product(shape):
    import torch

    torch.set_num_threads(2)
    a, b, out = (torch.from_numpy(t) for t in operands(shape))
    return lambda: torch.matmul(a, b, out=out)


def product_rate(product, shape, threads):
    """A measure: `product`'s GFLOP/s with NumPy's BLAS limited to `threads`."""
    def measure():
        with threadpool_limits(threads, user_api="blas"):
            return rate(product, shape)
    return measure


def step_ms(train_block, steps):
    """A measure: milliseconds per training step of `train_block()`, which trains `steps` steps."""
    def measure():
        start = time.perf_counter()
        train_block()
        return (time.perf_counter() - start) / steps * 1e3
    return measure


def lstm_measures(has_torch, steps=10):
    """Part 7's LSTM trained `steps` steps of batch 128 on random rows (its speed does not depend on the
    values), by scratchgrad and by PyTorch. Each block is one call as run.py makes it (PyTorch's makes its
    optimizer anew), so a block's time includes that call's setup."""
    import workloads as w

    rng = np.random.default_rng(0)
    x, y = rng.random((steps * 128, 28, 28), dtype=np.float32), rng.integers(0, 10, steps * 128)
    model = w.sg_lstm(128)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    blocks = {SG_STEP: lambda: model.fit(x, y, batch_size=128, epochs=1, verbose=0)}
    if has_torch:
        net = w.torch_lstm(128)
        blocks[TORCH_STEP] = lambda: w.torch_train(net, "adam", x, y, 128, 1)
    for train in blocks.values():
        train()  # the first call records scratchgrad's plan and loads its compiled kernels
    return {name: step_ms(train, steps) for name, train in blocks.items()}


def interval(measures):
    """One reading of each measure, `SETTLE` seconds apart: name -> value."""
    values = {}
    for name, measure in measures.items():
        time.sleep(SETTLE)
        values[name] = measure()
    return values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="length of the time series (default 60)")
    parser.add_argument("--lstm", action="store_true",
                        help="each interval also times ten training steps of part 7's LSTM in each framework")
    args = parser.parse_args(argv)
    has_torch = importlib.util.find_spec("torch") is not None
    small = numpy_product(SMALL)
    print("CPU time used in one idle second after 200 products (128×157)·(157×512):")
    print(f"  NumPy ({blas_name()}): {spin_after(small) * 1e3:.0f} ms")
    if has_torch:
        print(f"  PyTorch: {spin_after(torch_product(SMALL)) * 1e3:.0f} ms")

    measures = {"NumPy, 2 threads (GFLOP/s)": product_rate(small, SMALL, 2),
                "NumPy, 1 thread (GFLOP/s)": product_rate(small, SMALL, 1)}
    if args.lstm:  # right after the two readings that classify the interval
        measures.update(lstm_measures(has_torch))
    if has_torch:
        measures["PyTorch, 2 threads (GFLOP/s)"] = product_rate(torch_product(SMALL), SMALL, 2)
    measures["NumPy kernel-gradient shape, 2 threads (GFLOP/s)"] = product_rate(numpy_product(LARGE), LARGE, 2)
    names = list(measures)
    print("\nOne line per interval (the small product unless named otherwise):")
    print("  t (s) | " + " | ".join(names))
    series, start = [], time.perf_counter()
    while not series or time.perf_counter() - start < args.seconds:  # one interval at least
        values = interval(measures)
        series.append(values)
        print(f"  {time.perf_counter() - start:5.1f} | " + " | ".join(figure(n, values[n]) for n in names),
              flush=True)
    summarize(series, names)
    return series


def figure(name, value):
    return f"{value:.2f}" if name == RATIO else f"{value:.1f}" if "(ms)" in name else f"{value:.0f}"


def summarize(series, names):
    slow = [v["NumPy, 2 threads (GFLOP/s)"] < 1.2 * v["NumPy, 1 thread (GFLOP/s)"] for v in series]
    print(f"\n{sum(slow)} of {len(series)} intervals slow (the second thread added under a fifth to the small product)")
    print("| median | fast intervals | slow intervals |\n|---|---|---|")
    columns = {name: [v[name] for v in series] for name in names}
    if TORCH_STEP in columns:  # the two frameworks compared within each interval
        columns[RATIO] = [a / b for a, b in zip(columns[SG_STEP], columns[TORCH_STEP])]
    for name, column in columns.items():
        cells = []
        for want in (False, True):
            values = [x for x, s in zip(column, slow) if s == want]
            cells.append(figure(name, statistics.median(values)) if values else "-")
        print(f"| {name} | " + " | ".join(cells) + " |")


def blas_name():
    """NumPy's BLAS library and its thread count, as threadpoolctl finds them."""
    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return f"{blas[0]['internal_api']}, {blas[0]['num_threads']} threads" if blas else "BLAS not found"


if __name__ == "__main__":
    main()
