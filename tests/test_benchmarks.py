"""The benchmark script runs end to end (tiny sizes): it measures nothing here, it just cannot rot."""
import importlib.util
from pathlib import Path

import pytest


def test_benchmarks_run_quick(capsys):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
    spec = importlib.util.spec_from_file_location("benchmarks_run", path)
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    rows = run.main(["--quick", "--no-torch", "--parts", "1,2,3,5,6"])
    out = capsys.readouterr().out
    assert out.count("\n| ") >= len(rows) and "| workload |" in out
    assert [row[0][:2] for row in rows if row[0][0].isdigit()] == ["1.", "2.", "3.", "5.", "6."]
    mnist_row = rows[0]
    assert "acc" in mnist_row[1] and mnist_row[2] == "-"


@pytest.fixture(autouse=True)
def _restore_path():
    import sys

    saved = list(sys.path)
    yield
    sys.path[:] = saved
