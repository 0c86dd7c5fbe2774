"""Why timings swing on a small shared machine: the BLAS threads' spinning, and the machine's speed phases.

    python benchmarks/phases.py                # about a minute
    python benchmarks/phases.py --seconds 20

First, how long each library's worker threads keep a core busy after its last matrix product: the CPU
time the process uses during one second of idle right after a burst of products (OpenBLAS's, for NumPy,
and PyTorch's, where installed). A run that starts within that time shares the cores with the spinning
threads, so `run.py` waits longer than this before each run.

Then a time series, one line per interval: GFLOP/s of the LSTM's per-step product, (128×157)·(157×512)
in float32, by NumPy with its two threads and with one (and by PyTorch with two, where installed), and of
a product 28 times larger, (3584×157)·(157×512), by NumPy with two threads. An interval counts as slow
where the second thread added less than a fifth to the small product; the summary gives the share of
slow intervals and each rate's median in fast and in slow ones.
"""
import argparse
import resource
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

SMALL, LARGE = (128, 157, 512), (3584, 157, 512)
SETTLE = 0.15  # seconds between measurements, longer than OpenBLAS's spin


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def spin_after(product, burst=200):
    """CPU seconds this process uses in one idle second right after `burst` products."""
    for _ in range(burst):
        product()
    start = cpu_seconds()
    time.sleep(1.0)
    return cpu_seconds() - start


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


def interval(products):
    """One measurement of each product, `SETTLE` seconds apart: name -> GFLOP/s. A product named with
    "1 thread" runs with NumPy's BLAS limited to one thread."""
    rates = {}
    for name, (product, shape) in products.items():
        time.sleep(SETTLE)
        with threadpool_limits(1 if "1 thread" in name else None, user_api="blas"):
            rates[name] = rate(product, shape)
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="length of the time series (default 60)")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
        has_torch = True
    except ImportError:
        has_torch = False

    small = numpy_product(SMALL)
    print("CPU time used in one idle second after 200 products (128×157)·(157×512):")
    print(f"  NumPy (OpenBLAS, {threadpool_info()}): {spin_after(small) * 1e3:.0f} ms")
    if has_torch:
        print(f"  PyTorch: {spin_after(torch_product(SMALL)) * 1e3:.0f} ms")

    products = {"NumPy, 2 threads": (small, SMALL), "NumPy, 1 thread": (small, SMALL)}
    if has_torch:
        products["PyTorch, 2 threads"] = (torch_product(SMALL), SMALL)
    products["NumPy large, 2 threads"] = (numpy_product(LARGE), LARGE)
    names = list(products)
    print("\nGFLOP/s, one line per interval (small product unless named large):")
    print("  t (s) | " + " | ".join(names))
    series, start = [], time.perf_counter()
    while not series or time.perf_counter() - start < args.seconds:  # one interval at least
        rates = interval(products)
        series.append(rates)
        print(f"  {time.perf_counter() - start:5.1f} | " + " | ".join(f"{rates[n]:.0f}" for n in names), flush=True)
    summarize(series, names)
    return series


def summarize(series, names):
    slow = [r["NumPy, 2 threads"] < 1.2 * r["NumPy, 1 thread"] for r in series]
    print(f"\n{sum(slow)} of {len(series)} intervals slow (the second thread added under a fifth to the small product)")
    print("| rate (GFLOP/s), median | fast intervals | slow intervals |\n|---|---|---|")
    for name in names:
        cells = []
        for want in (False, True):
            values = [r[name] for r, s in zip(series, slow) if s == want]
            cells.append(f"{statistics.median(values):.0f}" if values else "-")
        print(f"| {name} | " + " | ".join(cells) + " |")


def threadpool_info():
    from threadpoolctl import threadpool_info as info

    blas = [p for p in info() if p.get("user_api") == "blas"]
    return f"{blas[0]['num_threads']} threads" if blas else "threads unknown"


if __name__ == "__main__":
    main()
