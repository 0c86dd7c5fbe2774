"""The benchmark script runs end to end (tiny sizes): it measures nothing here, it just cannot rot."""
import importlib.util
from pathlib import Path

import pytest


def test_benchmarks_run_quick(capsys):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
    spec = importlib.util.spec_from_file_location("benchmarks_run", path)
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    rows = run.main(["--quick", "--no-torch", "--parts", "1,2,3,5,6,7", "--profile", "5"])
    out = capsys.readouterr().out
    assert out.count("\n| ") >= len(rows) and "| workload |" in out
    assert [row[0][:2] for row in rows if row[0][0].isdigit()] == ["1.", "2.", "3.", "5.", "6.", "7."]
    mnist_row = rows[0]
    assert "acc" in mnist_row[1] and mnist_row[2] == "-"
    lstm = next(i for i, row in enumerate(rows) if row[0].startswith("7."))
    assert "LSTM" in rows[lstm][0] and "acc" in rows[lstm][1] and rows[lstm][2] == "-"
    assert rows[lstm + 1][1].endswith("µs")  # the time per recurrent step
    assert rows[lstm + 2][1].count(" s") == 3 and rows[lstm + 2][3].count("%") == 3  # forward / backward / rest
    assert "Part 7 profile" in out and "recurrent.py" in out  # --profile: where the LSTM epoch's time goes


@pytest.fixture(autouse=True)
def _restore_path():
    import sys

    saved = list(sys.path)
    yield
    sys.path[:] = saved
