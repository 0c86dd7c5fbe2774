"""scratchgrad.sklearn: the estimators honour scikit-learn's contract and train real networks."""
import contextlib
import importlib.util
import pathlib

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from scratchgrad import random as framework_random
from scratchgrad import floatx, set_floatx, set_seed
from scratchgrad.sklearn import EXPECTED_FAILED_CHECKS, NeuralNetClassifier, NeuralNetRegressor

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "grid_search_dask.py"

# Default networks with fewer epochs (fast, yet enough for the checks' fit-quality floors), and a
# variant with dropout and an L2 penalty, whose determinism the checks test as well.
CHECKED = [
    NeuralNetClassifier(epochs=50),
    NeuralNetRegressor(epochs=50),
    NeuralNetClassifier(hidden_layer_sizes=(32, 16), dropout=0.1, l2=1e-4, learning_rate=0.01, epochs=30),
    NeuralNetRegressor(hidden_layer_sizes=(32, 16), dropout=0.1, l2=1e-4, learning_rate=0.01, epochs=30),
]


# Two checks compare two float32 fits, or a row predicted at two places in a batch, at rtol=1e-7: about one
# float32 ulp. Whether such sums round alike depends on the BLAS kernels (OpenBLAS's Haswell kernels on an AMD
# Zen 5 sum a row by its place in a block), not on the estimator, so these two run in float64, where what they
# test is the contract.
ROUNDING = {"check_sample_weight_equivalence_on_dense_data", "check_methods_sample_order_invariance"}


def expected_failures(estimator):
    """The checks that fail here (xfail is strict: one that passes fails the suite): with dropout, repeated
    samples draw masks of their own, so a fit with sample_weight is another fit, in any precision."""
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {}) if estimator.dropout else {}


@contextlib.contextmanager
def float64():
    previous = floatx()
    set_floatx("float64")
    try:
        yield
    finally:
        set_floatx(previous)


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failures)
def test_sklearn_contract(estimator, check):
    with float64() if check.func.__name__ in ROUNDING else contextlib.nullcontext():
        check(estimator)


def test_expected_failures_are_few_and_explained():
    assert set(EXPECTED_FAILED_CHECKS) == {"NeuralNetClassifier", "NeuralNetRegressor"}
    for failures in EXPECTED_FAILED_CHECKS.values():
        assert len(failures) <= 5
        assert all(hasattr(estimator_checks, name) and reason.strip() for name, reason in failures.items())


@pytest.mark.parametrize("estimator", CHECKED[2:], ids=lambda est: type(est).__name__)
def test_expected_failures_are_dropouts_alone(estimator):
    """Without dropout the listed checks pass, in float64 (in float32 they ask for one ulp; see ROUNDING)."""
    estimator = clone(estimator).set_params(dropout=0.0)
    with float64():
        for name in EXPECTED_FAILED_CHECKS[type(estimator).__name__]:
            getattr(estimator_checks, name)(type(estimator).__name__, estimator)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def iris_classifier(**params):
    classifier = NeuralNetClassifier(learning_rate=0.01, epochs=100, random_state=0, **params)
    return make_pipeline(StandardScaler(), classifier)


def test_pipeline_cross_validation_on_iris(iris):
    X, y = iris
    scores = cross_val_score(iris_classifier(), X, y, cv=3)
    assert scores.mean() > 0.9


def test_grid_search_prefers_training_over_none(iris):
    X, y = iris
    grid = {"neuralnetclassifier__epochs": [1, 100], "neuralnetclassifier__hidden_layer_sizes": [(16,), (64,)]}
    search = GridSearchCV(iris_classifier(), grid, cv=3).fit(X, y)
    assert search.best_params_["neuralnetclassifier__epochs"] == 100
    assert search.best_score_ > 0.9
    assert search.score(X, y) > 0.9


def test_string_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = iris_classifier().fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert clf.predict(X).dtype == names.dtype
    assert np.mean(clf.predict(X) == names) > 0.9


@pytest.mark.parametrize("n_classes", [2, 3])
def test_predict_proba_is_a_distribution_over_classes(iris, n_classes):
    X, y = iris
    keep = y < n_classes
    clf = iris_classifier().fit(X[keep], y[keep] + 10)  # labels 10, 11(, 12): columns follow classes_
    proba = clf.predict_proba(X[keep])
    assert proba.shape == (keep.sum(), n_classes) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert (proba >= 0).all()
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X[keep]))


def test_single_class_is_refused():
    with pytest.raises(ValueError, match="at least 2 classes"):
        NeuralNetClassifier(epochs=1).fit(np.ones((4, 2)), ["a"] * 4)


def test_partial_fit_keeps_training_the_same_network(iris):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    clf = NeuralNetClassifier(learning_rate=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    model = clf.model_
    for _ in range(30):
        clf.partial_fit(X, y)
    assert clf.model_ is model
    assert len(clf.loss_curve_) == 31
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[1]
    with pytest.raises(ValueError, match="unseen labels"):
        clf.partial_fit(X[:2], [0, 7])


def test_regressor_partial_fit_lowers_the_loss():
    X, y = make_regression(n_samples=100, n_features=4, noise=1.0, random_state=0)
    reg = NeuralNetRegressor(learning_rate=0.01, random_state=0)
    for _ in range(20):
        reg.partial_fit(X, y / y.std())
    assert reg.loss_curve_[-1] < 0.5 * reg.loss_curve_[0]


def test_random_state_makes_fits_identical_and_leaves_the_global_stream_alone(iris):
    X, y = iris
    set_seed(123)
    before = framework_random.get_state()
    first = NeuralNetClassifier(epochs=5, dropout=0.2, random_state=0).fit(X, y).predict_proba(X)
    assert framework_random.get_state() == before
    again = NeuralNetClassifier(epochs=5, dropout=0.2, random_state=0).fit(X, y).predict_proba(X)
    other = NeuralNetClassifier(epochs=5, dropout=0.2, random_state=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_without_random_state_the_framework_seed_governs(iris):
    X, y = iris
    runs = []
    for _ in range(2):
        set_seed(7)
        runs.append(NeuralNetClassifier(epochs=5).fit(X, y).predict_proba(X))
    np.testing.assert_array_equal(*runs)


def test_get_params_set_params_round_trip(iris):
    X, y = iris
    clf = NeuralNetClassifier(hidden_layer_sizes=(8,), dropout=0.1, l2=0.01, epochs=3, random_state=5)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (8,) and params["random_state"] == 5
    copy = NeuralNetClassifier().set_params(**params)
    assert copy.get_params() == params
    assert clone(clf).get_params() == params
    assert copy.set_params(hidden_layer_sizes=(5, 4)) is copy
    units = [layer.units for layer in copy.fit(X, y).model_.layers if hasattr(layer, "units")]
    assert units == [5, 4, 3]


def test_sample_weight_zero_equals_dropping_samples(iris):
    """Equal to float32 precision (the sklearn check asks for 1e-7, see EXPECTED_FAILED_CHECKS). Plain SGD,
    unlike Adam, is sensitive to the loss's scale, so this also checks that the weights are normalized."""
    X, y = iris
    weights = (np.arange(len(y)) % 3 != 0).astype(float)
    params = dict(optimizer="sgd", learning_rate=0.1, epochs=20, random_state=0)
    weighted = NeuralNetClassifier(**params).fit(X, y, sample_weight=weights)
    dropped = NeuralNetClassifier(**params).fit(X[weights > 0], y[weights > 0])
    np.testing.assert_allclose(weighted.predict_proba(X), dropped.predict_proba(X), atol=1e-5)


def test_regressor_output_shapes_follow_y():
    X, Y = make_regression(n_samples=120, n_features=5, n_targets=2, noise=0.1, random_state=0)
    Y = Y / Y.std(axis=0)
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)
    reg = NeuralNetRegressor(learning_rate=0.01, epochs=150, random_state=0)
    assert reg.fit(X_train, Y_train[:, 0]).predict(X_test).shape == (len(X_test),)
    assert reg.n_outputs_ == 1
    pred = reg.fit(X_train, Y_train).predict(X_test)
    assert pred.shape == Y_test.shape and reg.n_outputs_ == 2
    assert reg.score(X_test, Y_test) > 0.9


def test_dask_grid_search_example(capsys):
    pytest.importorskip("distributed")
    spec = importlib.util.spec_from_file_location("grid_search_dask", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    search = example.main(n_workers=1, threads_per_worker=1, processes=False, epochs=5)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.8
    assert "best parameters" in capsys.readouterr().out
