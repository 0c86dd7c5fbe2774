"""The recipes in examples/ run and reach their accuracy, on sizes small enough for every test run.

Each recipe's main() takes its sizes as parameters and returns its numbers. The MNIST recipes run when
$SCRATCHGRAD_DATA holds MNIST (CI's does): the seed's MLP in full (seconds), the CNN on a slice; the
CNN's full three epochs only with SCRATCHGRAD_SLOW=1.
"""
import importlib.util
import os
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def recipe(monkeypatch):
    """Load examples/<name>.py as a module (file names starting with digits cannot be imported by name)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the recipes share recipe_data.py

    def load(name):
        spec = importlib.util.spec_from_file_location(f"recipe_{name}", EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def test_perceptron_learns_and_or_nand_but_not_xor(recipe, capsys):
    results = recipe("01_perceptron").main(epochs=20)
    assert results["and"] == results["or"] == results["nand"] == 1.0
    assert results["xor"] < 1.0
    assert results["xor (two layers)"] == 1.0
    assert "not linearly separable" in capsys.readouterr().out


def test_two_layer_mlp_solves_xor(recipe):
    assert recipe("02_xor_mlp").main(epochs=150) == 1.0


def test_iris_recipe_is_accurate_and_reproducible(recipe):
    iris = recipe("03_iris")
    first = iris.main(epochs=20)
    assert first >= 0.9
    assert iris.main(epochs=20) == first


def test_low_level_deep_network_on_breast_cancer(recipe):
    results = recipe("05_deep_network_lowlevel").main(epochs=60)
    assert results["test_accuracy"] >= 0.93


def test_two_layer_net_gradient_check_and_training_on_digits(recipe):
    results = recipe("06_two_layer_net").main(dataset="digits", iterations=2000)
    assert results["gradcheck"] < 1e-6
    assert results["test_accuracy"] >= 0.85


def test_numerical_gradients_are_slower_and_agree_with_backprop(recipe):
    results = recipe("07_numerical_vs_backprop").main(hidden=8, batch_size=20)
    assert results["worst_difference"] < 1e-6
    assert results["ratio"] > 10


def test_overfitting_recipe_reports_a_gap_for_each_variant(recipe):
    results = recipe("08_overfitting").main(dataset="digits", train_size=100, epochs=40)
    assert set(results) == {"plain", "dropout", "L2"}
    assert results["plain"]["train"] > results["plain"]["test"]


def mnist_available():
    folder = os.environ.get("SCRATCHGRAD_DATA")
    return bool(folder) and (Path(folder) / "mnist" / "train-images-idx3-ubyte.gz").is_file()


needs_mnist = pytest.mark.skipif(not mnist_available(), reason="needs the MNIST files under $SCRATCHGRAD_DATA/mnist")


@needs_mnist
def test_mnist_recipe_reaches_98_percent(recipe):
    accuracy, _ = recipe("04_mnist").main(verbose=0)
    assert accuracy >= 0.98


@needs_mnist
def test_cnn_recipe_learns_quickly(recipe):
    accuracy, _ = recipe("09_mnist_cnn").main(epochs=1, samples=6000, verbose=0)
    assert accuracy >= 0.93


@needs_mnist
@pytest.mark.skipif(os.environ.get("SCRATCHGRAD_SLOW") != "1", reason="slow (3 epochs of a CNN on 60,000 images): "
                                                                      "set SCRATCHGRAD_SLOW=1")
def test_cnn_recipe_reaches_99_percent(recipe):
    accuracy, _ = recipe("09_mnist_cnn").main(verbose=0)
    assert accuracy >= 0.99
