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


def test_train_prints_a_header_before_training(iris_model):
    stdout = iris_model[1]
    lines = stdout.splitlines()
    header = lines[:lines.index(next(line for line in lines if line.startswith("Epoch 1/")))]
    assert "dataset: iris, 150 rows of 4 features, 3 classes (setosa, versicolor, virginica)" in header
    assert "split: 120 rows to train, 30 to test (20% held out, stratified, seed 1)" in header
    assert "model: 4 inputs -> Dense 32 relu -> Dense 16 relu -> Dense 3 softmax (initializer glorot_uniform)" in header
    assert "optimizer: adam, learning rate 0.001; 30 epochs, batch size 16" in header


def test_the_header_names_the_validation_rows_the_options_and_a_csv_target(tmp_path):
    from sklearn.datasets import load_iris

    load_iris(as_frame=True).frame.to_csv(tmp_path / "flowers.csv", index=False)
    result = run("train", tmp_path / "flowers.csv", "--target", "target", "--epochs", 1, "--hidden", "5",
                 "--activation", "tanh", "--optimizer", "sgd", "--lr", 0.2, "--dropout", 0.1,
                 "--validation-split", 0.25, "--early-stopping", 2)
    assert result.returncode == 0, result.stderr
    assert f"dataset: {tmp_path / 'flowers.csv'} (labels in column 'target'), 150 rows of 4 features" in result.stdout
    assert "; the last 30 training rows validate (--validation-split 0.25)" in result.stdout
    assert "model: 4 inputs -> Dense 5 tanh -> Dense 3 softmax (initializer glorot_uniform, dropout 0.1)" in \
        result.stdout
    assert "optimizer: sgd, learning rate 0.2; 1 epoch, batch size 16; early stopping after 2 epochs without a " \
           "better val_loss" in result.stdout


def test_early_stopping_says_when_it_ended_training_and_which_weights_it_restored():
    result = run("train", "--epochs", 300, "--lr", 0.05, "--validation-split", 0.3, "--early-stopping", 3)
    assert result.returncode == 0, result.stderr
    match = re.search(r"^early stopping: val_loss did not improve for 3 epochs, training stopped after epoch (\d+) "
                      r"of 300; restored the best weights, of epoch (\d+) \(val_loss \d\.\d{4}\)$",
                      result.stdout, re.MULTILINE)
    assert match, result.stdout
    stopped, best = int(match.group(1)), int(match.group(2))
    assert f"Epoch {stopped}/300" in result.stdout and f"Epoch {stopped + 1}/300" not in result.stdout
    assert best == stopped - 3
    assert result.stdout.index("early stopping:") < result.stdout.index("test accuracy:")
    # training that runs all its epochs still ends with the best epoch's weights, and says so
    result = run("train", "--epochs", 40, "--lr", 0.05, "--validation-split", 0.3, "--early-stopping", 100)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^early stopping: ran all 40 epochs; restored the best weights, of epoch ([1-9]|[1-3]\d) "
                     r"\(val_loss \d\.\d{4}\)$", result.stdout, re.MULTILINE), result.stdout


def test_train_help_shows_the_defaults():
    text = " ".join(run("train", "--help").stdout.split())
    option = {name: text[text.index(f"{name} N "):] for name in ("--epochs", "--batch-size")}
    assert option["--epochs"].startswith("--epochs N passes over the training rows (default: 100 for iris, "
                                         "breast-cancer, moons and CSV files; 30 for digits; 300 for xor; 200 for "
                                         "spiral; 5 for mnist and fashion- mnist)")
    assert option["--batch-size"].startswith("--batch-size N rows per gradient step (default: 16 for iris")
    for default in ("(default: relu)", "(default: adam)", "(default: glorot_uniform)", "(default: 0)",
                    "0.001 for adam", "(default: off)"):
        assert default in text


def test_the_hidden_activation_is_one_a_hidden_layer_can_use():
    line = assert_one_error_line(run("train", "--activation", "softmax"), 2)
    assert "'softmax' is an output activation: the output layer is always softmax" in line
    choices = line.split("a hidden layer takes one of: ")[1].split(" (see:")[0].split(", ")
    assert {"relu", "tanh", "sigmoid", "gelu"} <= set(choices)
    assert not {"softmax", "log_softmax", "sparsemax", "glu"} & set(choices)
    help_text = " ".join(run("train", "--help").stdout.split())
    assert "softmax" not in help_text[help_text.index("--activation NAME"):help_text.index("--optimizer NAME")]


def test_input_shape_may_be_an_int_as_in_keras():
    layer = Dense(3, input_shape=4)
    assert layer.input_shape == (4,)
    model = scratchgrad.Sequential([layer])
    assert model.input_shape == (None, 4) and model.predict(np.ones((2, 4), np.float32)).shape == (2, 3)
    assert Dense(3, input_shape=np.int64(4)).input_shape == (4,)


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


@pytest.fixture(scope="module")
def flower_tables(tmp_path_factory):
    """Iris as a comma-, a tab- and a semicolon-separated file (the last with decimal commas)."""
    from sklearn.datasets import load_iris

    folder = tmp_path_factory.mktemp("tables")
    frame = load_iris(as_frame=True).frame
    frame.to_csv(folder / "comma.csv", index=False)
    frame.to_csv(folder / "tabs.tsv", sep="\t", index=False)
    frame.to_csv(folder / "semicolons.csv", sep=";", decimal=",", index=False)
    return folder


def test_tab_and_semicolon_separated_files_are_detected(flower_tables, tmp_path):
    accuracies = []
    for name in ("comma.csv", "tabs.tsv", "semicolons.csv"):
        result = run("train", flower_tables / name, "--target", "target", "--epochs", 20, "--quiet",
                     "--save", tmp_path / f"{name}.sg")
        assert result.returncode == 0, result.stderr
        accuracies.append(reported_accuracy(result.stdout))
    assert accuracies[0] == accuracies[1] == accuracies[2] >= 0.7  # the same rows, read the same way
    (tmp_path / "rows.tsv").write_text("sepal length (cm)\tsepal width (cm)\tpetal length (cm)\tpetal width (cm)\n"
                                       "5.1\t3.5\t1.4\t0.2\n")
    predicted = run("predict", tmp_path / "tabs.tsv.sg", tmp_path / "rows.tsv")
    assert predicted.returncode == 0 and predicted.stdout.startswith("row 0: 0 "), predicted.stderr


def test_a_table_that_cannot_be_split_into_columns_is_named_in_the_error(tmp_path):
    (tmp_path / "ragged.csv").write_text("a,b,y\n1,2,0\n3,4,5,1\n1,2,0\n")
    line = assert_one_error_line(run("train", tmp_path / "ragged.csv", "--target", "y"))
    assert f"cannot read {tmp_path / 'ragged.csv'} as a comma-separated file" in line and "line 3" in line
    (tmp_path / "pipes.csv").write_text("a|b|y\n1|2|0\n3|4|1\n")
    line = assert_one_error_line(run("train", tmp_path / "pipes.csv", "--target", "y"))
    assert "read as one column ('a|b|y')" in line and "commas, tabs or semicolons" in line


def test_missing_values_are_reported_with_their_row_and_column(flower_tables, tmp_path):
    import pandas as pd

    frame = pd.read_csv(flower_tables / "comma.csv")
    frame.iloc[4, 1] = frame.iloc[9, 2] = None  # rows 6 and 11 of the file, counting the header as row 1
    frame.to_csv(tmp_path / "holes.csv", index=False)
    frame.to_csv(tmp_path / "no-header.csv", index=False, header=False)
    line = assert_one_error_line(run("train", tmp_path / "holes.csv", "--target", "target"))
    assert line.endswith("holes.csv: row 6, column 'sepal width (cm)' is empty or missing (2 missing values in all): "
                         "fill in or drop such rows")
    line = assert_one_error_line(run("train", tmp_path / "no-header.csv", "--target", 4))
    assert "row 5, column 1 (counting from 0) is empty or missing" in line
    labels = pd.read_csv(flower_tables / "comma.csv").astype({"target": object})
    labels.iloc[6, 4] = None
    labels.to_csv(tmp_path / "unlabelled.csv", index=False)
    line = assert_one_error_line(run("train", tmp_path / "unlabelled.csv", "--target", "target"))
    assert line.endswith("unlabelled.csv: row 8 has no label in column 'target'")
    frame = pd.read_csv(flower_tables / "comma.csv").astype({"petal width (cm)": object})
    frame.iloc[2, 3] = "?"
    frame.to_csv(tmp_path / "question.csv", index=False)
    line = assert_one_error_line(run("train", tmp_path / "question.csv", "--target", "target"))
    assert "column 'petal width (cm)' is not numeric (features must be numbers): row 4 holds '?'" in line


def test_export_writes_onnx_that_predicts_as_the_model_and_notes_the_sidecar(iris_model, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    result = run("export", iris_model[0], tmp_path / "iris.onnx")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"exported {iris_model[0]} to {tmp_path / 'iris.onnx'} (ONNX, opset 17)\n"
    assert result.stderr.startswith(f"note: {iris_model[0]}.json is not part of {tmp_path / 'iris.onnx'}")
    assert "standardized" in result.stderr and "setosa, versicolor, virginica" in result.stderr
    model = scratchgrad.models.load_model(iris_model[0])
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / "iris.onnx"))
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(onnx_out, model.predict(x), atol=1e-5)
    assert run("export", iris_model[0], tmp_path / "old.onnx", "--opset", 18).returncode == 0
    import onnx

    assert [o.version for o in onnx.load(tmp_path / "old.onnx").opset_import if o.domain in ("", "ai.onnx")] == [18]


def test_export_writes_a_keras_file(iris_model, tmp_path):
    import zipfile

    pytest.importorskip("h5py")
    result = run("export", iris_model[0], tmp_path / "iris.keras")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"exported {iris_model[0]} to {tmp_path / 'iris.keras'} (Keras 3)\n"
    assert "is not part of" in result.stderr
    names = set(zipfile.ZipFile(tmp_path / "iris.keras").namelist())
    assert {"config.json", "metadata.json", "model.weights.h5"} <= names
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(scratchgrad.models.load_model(tmp_path / "iris.keras").predict(x),
                               scratchgrad.models.load_model(iris_model[0]).predict(x), atol=1e-6)


def test_export_help_says_the_sidecar_stays_behind():
    text = " ".join(run("export", "--help").stdout.split())
    assert "MODEL.json" in text and "is not part of the exported model" in text and "(default: 17)" in text


def test_export_of_a_model_without_a_sidecar_prints_no_note(bad_inputs, tmp_path):
    pytest.importorskip("onnx")
    result = run("export", bad_inputs / "pixels.sg", tmp_path / "pixels.onnx")
    assert result.returncode == 0 and result.stderr == "", result.stderr


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
    "output activation": (["train", "--activation", "softmax"], 2, "a hidden layer takes one of: celu, elu"),
    "unknown activation": (["train", "--activation", "relu7"], 2, "unknown activation 'relu7'"),
    "export suffix": (["export", "{d}/pixels.sg", "{d}/pixels.h5"], 2,
                      "cannot export to {d}/pixels.h5: OUTPUT must end in .onnx (ONNX) or .keras (Keras 3)"),
    "opset for keras": (["export", "{d}/pixels.sg", "{d}/pixels.keras", "--opset", "17"], 2, "--opset is for ONNX"),
    "export missing model": (["export", "{d}/nothing.sg", "{d}/out.onnx"], 1, "no model file"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_one_line_without_traceback(case, bad_inputs):
    args, status, words = ERRORS[case]
    line = assert_one_error_line(run(*(a.format(d=bad_inputs) for a in args)), status)
    assert words.format(d=bad_inputs) in line


def test_an_image_for_a_table_model_is_refused(iris_model, bad_inputs):
    line = assert_one_error_line(run("predict", iris_model[0], bad_inputs / "not-an-image.png"))
    assert "takes 4 features" in line


def test_debug_shows_the_traceback():
    result = run("--debug", "train", "no-such-set")
    assert result.returncode == 2
    assert "Traceback" in result.stderr and result.stderr.rstrip().splitlines()[-1].startswith("error: ")
