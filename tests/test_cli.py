"""The `scratchgrad` command line, run as users run it: `python -m scratchgrad ...` in a subprocess."""
import re
import subprocess
import sys

import numpy as np
import pytest

import scratchgrad
from scratchgrad.layers import Dense, Input


def run(*args):
    return subprocess.run([sys.executable, "-m", "scratchgrad", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def reported_accuracy(stdout):
    """The accuracy on the `test accuracy: A  test loss: L` line every train and evaluate ends with."""
    match = re.search(r"^test accuracy: (\d\.\d{4})  test loss: (\d+\.\d{4})$", stdout, re.MULTILINE)
    assert match, stdout
    return float(match.group(1))


def assert_one_error_line(result, status=1):
    assert result.returncode == status, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("iris")
    result = run("train", "--epochs", 30, "--seed", 1, "--save", folder / "iris.sg")
    assert result.returncode == 0, result.stderr
    return folder / "iris.sg", result.stdout


def test_train_prints_summary_progress_and_test_metrics(iris_model):
    path, stdout = iris_model
    assert "Total params: 739" in stdout and "Epoch 30/30" in stdout
    assert reported_accuracy(stdout) >= 0.8
    assert path.exists() and path.with_name("iris.sg.json").exists()


def test_evaluate_repeats_the_training_split_and_scaling(iris_model):
    path, stdout = iris_model
    result = run("evaluate", path)
    assert result.returncode == 0, result.stderr
    assert reported_accuracy(result.stdout) == reported_accuracy(stdout)


def test_predict_prints_the_top_three_classes_of_each_csv_row(iris_model, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    result = run("predict", iris_model[0], rows)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("row 0: setosa") and lines[1].startswith("row 1: virginica")
    assert all(len(re.findall(r"\w+ \d\.\d{4}", line)) == 3 for line in lines)


def test_train_evaluate_predict_on_a_csv_with_string_labels(tmp_path):
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame["species"] = frame.pop("target").map({0: "setosa", 1: "versicolor", 2: "virginica"})
    frame.to_csv(tmp_path / "flowers.csv", index=False)
    frame.drop(columns="species").iloc[[0]].to_csv(tmp_path / "one.csv", index=False)
    trained = run("train", tmp_path / "flowers.csv", "--target", "species", "--quiet", "--save", tmp_path / "m.sg")
    assert trained.returncode == 0, trained.stderr
    assert "Epoch" not in trained.stdout and "Total params" not in trained.stdout
    evaluated = run("evaluate", tmp_path / "m.sg")
    assert reported_accuracy(evaluated.stdout) == reported_accuracy(trained.stdout) >= 0.9
    predicted = run("predict", tmp_path / "m.sg", tmp_path / "one.csv")
    assert predicted.stdout.startswith("row 0: setosa"), predicted.stderr


def test_train_options_and_plot(tmp_path):
    pytest.importorskip("scratchgrad.plot")
    result = run("train", "moons", "--epochs", 3, "--hidden", "8,4", "--activation", "tanh", "--optimizer", "sgd",
                 "--lr", 0.1, "--batch-size", 8, "--dropout", 0.1, "--l2", 0.001, "--init", "he_normal",
                 "--validation-split", 0.2, "--early-stopping", 1, "--plot", tmp_path / "history.png", "--quiet")
    assert result.returncode == 0, result.stderr
    reported_accuracy(result.stdout)
    assert (tmp_path / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gradcheck_checks_every_parameter():
    result = run("gradcheck")
    assert result.returncode == 0, result.stdout
    rows = [line for line in result.stdout.splitlines() if line.endswith(" yes")]
    assert len(rows) == 8 and "all gradients match" in result.stdout


def test_info_reports_versions_and_the_data_folder():
    result = run("info")
    assert result.returncode == 0, result.stderr
    for expected in (f"scratchgrad {scratchgrad.__version__}", f"numpy {np.__version__}", "BLAS", "data folder"):
        assert expected in result.stdout


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    """Files for the error cases: a corrupt model, a 784-input model (no sidecar), an unreadable image."""
    folder = tmp_path_factory.mktemp("bad")
    (folder / "corrupt.sg").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    (folder / "labels.csv").write_text("a,b,label\n1,x,0\n2,y,1\n3,z,0\n4,w,1\n5,v,0\n")
    (folder / "not-an-image.png").write_text("hello")
    model = scratchgrad.Sequential([Input(shape=(784,)), Dense(10, activation="softmax")])
    model.save(folder / "pixels.sg")
    (folder / "empty").mkdir()
    return folder


ERRORS = {  # name: (arguments with {d} for the bad_inputs folder, exit status, words the message must hold)
    "unknown dataset": (["train", "no-such-set"], 2, "unknown dataset"),
    "bad option value": (["train", "--epochs", "0"], 2, "--epochs"),
    "missing csv": (["train", "{d}/missing.csv", "--target", "y"], 1, "no such file"),
    "csv without target": (["train", "{d}/labels.csv"], 2, "--target"),
    "missing column": (["train", "{d}/labels.csv", "--target", "species"], 1, "column 'species' is not in"),
    "non-numeric feature": (["train", "{d}/labels.csv", "--target", "label"], 1, "not numeric"),
    "model not found": (["evaluate", "{d}/nothing.sg", "--dataset", "iris"], 1, "no model file"),
    "corrupt model": (["predict", "{d}/corrupt.sg", "{d}/labels.csv"], 1, "corrupt"),
    "unreadable image": (["predict", "{d}/pixels.sg", "{d}/not-an-image.png"], 1, "cannot read image"),
    "mnist absent": (["train", "mnist", "--data-dir", "{d}/empty"], 1, "mnist files were not found"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_one_line_without_traceback(case, bad_inputs):
    args, status, words = ERRORS[case]
    line = assert_one_error_line(run(*(a.format(d=bad_inputs) for a in args)), status)
    assert words in line


def test_an_image_for_a_table_model_is_refused(iris_model, bad_inputs):
    line = assert_one_error_line(run("predict", iris_model[0], bad_inputs / "not-an-image.png"))
    assert "takes 4 features" in line


def test_debug_shows_the_traceback():
    result = run("--debug", "train", "no-such-set")
    assert result.returncode == 2
    assert "Traceback" in result.stderr and result.stderr.rstrip().splitlines()[-1].startswith("error: ")
