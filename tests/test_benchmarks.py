"""The benchmark script runs end to end (tiny sizes): it measures nothing here, it just cannot rot."""
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchgrad import compiled
from scratchgrad.recurrent import LSTMLoop

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
TIME_AND_ACCURACY = r"\d+\.\d+ s, acc \d\.\d{4}"


def load_run():
    spec = importlib.util.spec_from_file_location("benchmarks_run", BENCHMARKS / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    return run


def test_benchmarks_run_quick(capsys):
    # The peers are off: their imports and JAX's compiling would be most of the time. JAX has its own test.
    peer_rows, reference_rows = load_run().main(["--quick", "--no-torch", "--no-jax", "--no-keras", "--parts",
                                                 "1,2,3,5,6,7,8", "--seeds-cnn", "--profile", "5"])
    out = capsys.readouterr().out
    assert "| workload | scratchgrad | PyTorch | JAX | Keras | ratio to fastest peer | target |" in out
    assert "| workload | scratchgrad | reference | ratio | target |" in out
    assert out.count("\n| ") == len(peer_rows) + len(reference_rows) + 2
    assert re.search(r"GEMM peak \d+ GFLOP/s", out.splitlines()[0])
    assert ("compiled kernels by numba" in out.splitlines()[0]) == compiled.enabled()
    numpy_only = [row[0][:5] for row in peer_rows if "NumPy alone" in row[0]]
    assert len(numpy_only) == 3 * compiled.enabled()  # parts 1, 2 and 6 again with the kernels off
    hand = [row for row in peer_rows if "written by hand" in row[0]]
    assert len(hand) == 1 and re.fullmatch(r"\d+ µs/step", hand[0][1])  # part 2's NumPy floor
    numbered = lambda rows: [row[0][:2] for row in rows if row[0][0].isdigit()]  # noqa: E731
    assert numbered(peer_rows) == ["1.", "2.", "6.", "7.", "8."] and numbered(reference_rows) == ["3.", "5."]
    assert all(len(row) == 7 for row in peer_rows) and all(len(row) == 5 for row in reference_rows)
    mnist, cnn = peer_rows[0], next(row for row in peer_rows if row[0].startswith("6."))
    assert re.fullmatch(TIME_AND_ACCURACY + r", \d+ GFLOP/s = \d+ % of peak", mnist[1])
    assert re.fullmatch(r"\d+\.\d s, \d+ GFLOP/s = \d+ % of peak", cnn[1])
    assert mnist[2:6] == ("-", "-", "-", "-")  # no peer ran, so no ratio either
    lstm = next(i for i, row in enumerate(peer_rows) if row[0].startswith("7."))
    assert "LSTM" in peer_rows[lstm][0] and re.fullmatch(TIME_AND_ACCURACY + r", \d+ GFLOP/s = \d+ % of peak",
                                                          peer_rows[lstm][1])
    whole = int(LSTMLoop().cuts_batch())  # the batch whole again, where the loop cuts it among threads
    if whole:
        assert "batch whole" in peer_rows[lstm + 1][0]
        assert re.fullmatch(TIME_AND_ACCURACY, peer_rows[lstm + 1][1])
    lstm += whole
    assert peer_rows[lstm + 1][1].endswith("µs")  # the time per recurrent step
    split, products = peer_rows[lstm + 2:lstm + 4]  # no PyTorch here: no row for its unfused LSTM
    assert split[1].count(" s") == 3 and split[5].count("%") == 3  # forward / backward / rest
    assert "matrix products alone" in products[0] and re.fullmatch(r"\d+\.\d s", products[1])
    seeds = peer_rows[lstm + 4:]
    assert [row[0][:30] for row in seeds] == ["8. Accuracy over seeds 0–1: MN", "   the same seeds: part 6's CN"]
    assert all(re.fullmatch(r"acc (\d\.\d{4}) ± \d\.\d{4} \((\d\.\d{4})–(\d\.\d{4})\)", row[1]) for row in seeds)
    assert "Part 7 profile" in out and "recurrent.py" in out  # --profile: where the LSTM epoch's time goes


def test_the_hand_written_iris_training_is_fit_s():
    """Part 2's NumPy floor trains as scratchgrad's fit does: the benchmark's model, shuffled in the same
    order, gives the same weights and the same summed accuracy."""
    import copy

    from scratchgrad.random import get_rng

    run, rng = load_run(), np.random.default_rng(0)
    x, y = rng.standard_normal((12, 4)).astype(np.float32), rng.integers(0, 3, 12)
    model = run.w.sg_mlp([4, 6, 5, 3], "relu")
    params = [p.numpy().copy() for p in model.weights]
    order = copy.deepcopy(get_rng())  # fit draws each epoch's order from it
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=1, epochs=3, verbose=0).history
    total, correct = run.numpy_iris_fit(params, x, y, 3, rng=order)
    for mine, fits in zip(params, model.get_weights()):
        np.testing.assert_allclose(mine, fits, rtol=1e-5, atol=1e-6)
    assert correct == round(sum(history["accuracy"]) * 12)  # per epoch, the fraction of 12 right
    assert total / 36 == pytest.approx(np.mean(history["loss"]), rel=1e-4)


def test_benchmarks_jax_peer(capsys):
    pytest.importorskip("jax")
    (mnist, *numpy_only), _ = load_run().main(["--quick", "--no-torch", "--no-keras", "--parts", "1"])
    assert re.fullmatch(TIME_AND_ACCURACY, mnist[3]) and mnist[2] == "-"
    assert len(numpy_only) == compiled.enabled()  # with numba: the run with its kernels off, against JAX too
    for row in numpy_only:
        assert "NumPy alone" in row[0] and re.fullmatch(TIME_AND_ACCURACY, row[1]) and row[3] == mnist[3]
        assert re.fullmatch(r"\d+\.\d\d× JAX", row[5])
    assert re.fullmatch(r"\d+\.\d\d× JAX", mnist[5])
    assert re.search(r"JAX \d+\.\d+", capsys.readouterr().out.splitlines()[0])


def test_median_runs_alternates_and_takes_medians(monkeypatch):
    run, calls = load_run(), []
    monkeypatch.setattr(run.time, "sleep", lambda seconds: calls.append(f"idle {seconds}"))

    def runner(name, times):
        times = iter(times)

        def run_once():
            calls.append(name)
            return next(times), name
        return run_once

    results = run.median_runs({"scratchgrad": runner("sg", [3, 1, 2]), "PyTorch": None,
                               "JAX": runner("jax", [5, 4, 9])}, 3, 0.5)
    assert calls == ["idle 0.5", "sg", "idle 0.5", "jax"] * 3  # each run after the idle time
    assert results == {"scratchgrad": (2, "sg"), "JAX": (5, "jax")}
    assert run.ratio_to_fastest(dict(results, PyTorch=(4, None))) == "0.50× PyTorch"


def test_keras_peer():
    """The Keras child process on a tiny MLP; skipped where Keras or a backend other than torch is missing."""
    sys.path.insert(0, str(BENCHMARKS))
    import workloads

    backend = workloads.keras_backend()
    if backend is None:
        pytest.skip("no Keras with a TensorFlow or JAX backend")
    rng = np.random.default_rng(0)
    x, y = rng.random((256, 784), dtype=np.float32), rng.integers(0, 10, 256)
    seconds, accuracy = workloads.keras_train("mlp", backend, x, y, x[:64], y[:64], 1)
    assert seconds > 0 and 0 <= accuracy <= 1


@pytest.fixture(autouse=True)
def _restore_path():
    saved = list(sys.path)
    yield
    sys.path[:] = saved


@pytest.mark.skipif(not compiled.enabled(), reason="compiled kernels are off (numba missing or SCRATCHGRAD_COMPILED=0)")
def test_kernel_benchmark_runs_quick():
    spec = importlib.util.spec_from_file_location("benchmarks_kernels", BENCHMARKS / "kernels.py")
    kernels = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kernels)
    rows = kernels.main(["--quick"])
    assert compiled.enabled()  # the switch as it was
    assert [row[0].split(",")[0] for row in rows[:3]] == ["Adam apply", "RMSprop apply", "Adam apply"]
    assert all(re.fullmatch(r"\d+\.\d+ (µs|ms)", cell) for row in rows[:-1] for cell in row[1:3])
    assert re.fullmatch(r"\d\.\d\d s / \d\.\d\d s", rows[-1][2])


def test_phases_runs_quick(capsys):
    pytest.importorskip("threadpoolctl")
    spec = importlib.util.spec_from_file_location("benchmarks_phases", BENCHMARKS / "phases.py")
    phases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(phases)
    series = phases.main(["--seconds", "0", "--lstm"])
    out = capsys.readouterr().out
    assert re.search(r"NumPy \(.+, \d+ threads\): \d+ ms", out)
    assert len(series) == 1 and all(value > 0 for value in series[0].values())
    assert "scratchgrad LSTM step (ms)" in series[0] and re.search(r"\d of 1 intervals slow", out)
    assert re.search(r"\| scratchgrad LSTM step \(ms\) \| (\d+\.\d|-) \| (\d+\.\d|-) \|", out)
