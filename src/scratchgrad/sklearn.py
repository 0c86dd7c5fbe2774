"""scikit-learn estimators backed by scratchgrad networks: NeuralNetClassifier and NeuralNetRegressor.

They follow scikit-learn's estimator contract, so a scratchgrad multilayer perceptron drops into
Pipeline, GridSearchCV, cross_val_score and joblib's parallel (or Dask) backends:

    from scratchgrad.sklearn import NeuralNetClassifier
    clf = NeuralNetClassifier(hidden_layer_sizes=(64,), epochs=50, random_state=0).fit(X, y)
    clf.predict_proba(X_test)

Parameters (both estimators; the names follow MLPClassifier where it has one):

    hidden_layer_sizes  units of each hidden Dense layer, e.g. (64, 32); () gives a linear model
    activation          the hidden layers' activation, by name ("relu", "tanh", ...)
    optimizer           a scratchgrad optimizer name ("adam", "sgd", "rmsprop", ...)
    learning_rate       the optimizer's learning rate (a number or a schedule)
    epochs              passes over the data in fit; partial_fit runs one
    batch_size          samples per step; "auto" is min(200, n_samples) as in MLPClassifier
    dropout             Dropout rate after each hidden layer (0 adds none)
    l2                  L2 penalty on every kernel, Keras's L2(l2) (0 adds none)
    random_state        None, an int or a RandomState: seeds weights, shuffling and dropout
    verbose             Sequential.fit's verbose: 0 silent, 1 progress bar, 2 a line per epoch

The fitted network is `model_`, a plain `Sequential`: summary(), save() and the rest work on it;
`loss_curve_` holds the training loss of every epoch run so far.

Fits use the framework's process-wide state (its random generator and grad mode), so run parallel
searches in processes (joblib's default backend, Dask workers), not in threads.
"""
import numbers
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_array, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import random as framework_random
from .backend import float_dtype
from .models import mlp
from .optimizers import get as get_optimizer

# Checks of sklearn.utils.estimator_checks these estimators cannot pass, with the reason; hand it to
# parametrize_with_checks(..., expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(...)).
# float32 rounding (~1e-7 relative) is the reason: without dropout, under set_floatx("float64"), all pass.
_WEIGHTS = ("float32 training: fits with integer sample_weight and with repeated samples agree to float32 round-off "
            "(with dropout, repeated rows also draw their own masks); the check asks rtol=1e-7")
EXPECTED_FAILED_CHECKS = {name: {"check_sample_weight_equivalence_on_dense_data": _WEIGHTS}
                          for name in ("NeuralNetClassifier", "NeuralNetRegressor")}


class _NeuralNet(BaseEstimator):
    """What the classifier and the regressor share: parameters, the network, training and seeding.

    Subclasses say how targets are checked and encoded (`_target_checks`, `_start_targets`,
    `_encode`) and what the network ends in (`_output_units`, `_output_activation`, `_loss`).
    """

    _loss = None
    _output_activation = None
    _target_checks = {}  # validate_data's options for y

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", optimizer="adam", learning_rate=0.001,
                 epochs=200, batch_size="auto", dropout=0.0, l2=0.0, random_state=None, verbose=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.dropout = dropout
        self.l2 = l2
        self.random_state = random_state
        self.verbose = verbose

    # ---- training ----------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train a new network for `epochs` epochs; refitting starts from fresh weights."""
        X, y = validate_data(self, X, y, dtype=float_dtype(), **self._target_checks)
        self._start_targets(y)
        return self._train(X, y, sample_weight, self.epochs, restart=True)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        first = not hasattr(self, "model_")
        X, y = validate_data(self, X, y, dtype=float_dtype(), reset=first, **self._target_checks)
        if first:
            self._start_targets(y, classes)
        return self._train(X, y, sample_weight, epochs=1, restart=first)

    def _train(self, X, y, sample_weight, epochs, restart):
        targets = self._encode(y)
        weights = _mean_one_weights(sample_weight, len(X))
        if restart:
            self._rng_state = _seeded_state(self.random_state)
        with self._own_random_stream():
            if restart:
                self.model_ = self._build(X.shape[1])
                self.loss_curve_ = []
            history = self.model_.fit(X, targets, batch_size=self._batch_size(len(X)), epochs=epochs,
                                      verbose=self.verbose, sample_weight=weights)
        self.loss_curve_ = self.loss_curve_ + history.history["loss"]
        return self

    def _build(self, n_features):
        """An MLP: Dense hidden layers (each followed by Dropout when asked) and the output layer."""
        if not isinstance(self.optimizer, str):  # an instance would carry its state from fit to fit
            raise TypeError(f"optimizer must be a name such as 'adam' or 'sgd', got {self.optimizer!r}")
        sizes = (self.hidden_layer_sizes,) if isinstance(self.hidden_layer_sizes, numbers.Integral) \
            else tuple(self.hidden_layer_sizes)
        model = mlp(n_features, sizes, self._output_units(), self.activation, self._output_activation,
                    l2=self.l2, dropout=self.dropout)
        optimizer = get_optimizer(self.optimizer)
        optimizer.learning_rate = self.learning_rate
        model.compile(optimizer=optimizer, loss=self._loss)
        return model

    def _batch_size(self, n_samples):
        """'auto' is MLPClassifier's min(200, n_samples): full batches on small data, which trains steadily."""
        return min(200, n_samples) if self.batch_size == "auto" else self.batch_size

    @contextmanager
    def _own_random_stream(self):
        """Draw weights, shuffles and dropout masks from this estimator's own generator state, so a
        seeded estimator is reproducible and the caller's framework stream stays where it was.
        With random_state=None the framework's global stream is used, so scratchgrad.set_seed governs it."""
        if self._rng_state is None:
            yield
            return
        saved = framework_random.get_state()
        framework_random.set_state(self._rng_state)
        try:
            yield
        finally:
            self._rng_state = framework_random.get_state()
            framework_random.set_state(saved)

    def _predict_raw(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=float_dtype(), reset=False)
        return self.model_.predict(X).astype(np.float64)


def _seeded_state(random_state):
    """The framework generator state a fit starts from: None (the global stream) or one seeded from
    random_state, which may be an int or a numpy RandomState as everywhere in scikit-learn."""
    if random_state is None:
        return None
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed).bit_generator.state


def _mean_one_weights(sample_weight, n_samples):
    """sample_weight validated and scaled to mean 1. The framework divides a batch's weighted loss by
    the batch size, so with mean-1 weights an integer weight acts like repeating the sample."""
    if sample_weight is None:
        return None
    weights = check_array(sample_weight, ensure_2d=False, dtype=np.float64, input_name="sample_weight")
    if weights.shape != (n_samples,):
        raise ValueError(f"sample_weight has shape {weights.shape}; expected ({n_samples},)")
    if (weights < 0).any():
        raise ValueError("sample_weight must not contain negative weights")
    total = weights.sum()
    if total == 0:
        raise ValueError("sample_weight must contain at least one non-zero weight")
    return weights * (n_samples / total)


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    """A multilayer perceptron classifier: softmax output over `classes_`, trained with cross-entropy.

    Labels may be any values LabelEncoder takes (strings included); two classes use a 2-unit softmax,
    so binary and multiclass problems share one code path.
    """

    _loss = "sparse_categorical_crossentropy"
    _output_activation = "softmax"

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch on (X, y), continuing the current network; the first call needs `classes`
        (every label the data will ever hold), because the output layer is sized from it."""
        if not hasattr(self, "model_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._partial_fit(X, y, sample_weight, classes)

    def predict_proba(self, X):
        """Class probabilities, one column per entry of `classes_`; rows sum to 1."""
        proba = self._predict_raw(X)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The most probable class of each row, as a label from `classes_`."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def _start_targets(self, y, classes=None):
        check_classification_targets(y)
        self._encoder = LabelEncoder().fit(y if classes is None else classes)
        if len(self._encoder.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; "
                             f"got only one class: {self._encoder.classes_[0]!r}")
        self.classes_ = self._encoder.classes_

    def _encode(self, y):
        return self._encoder.transform(y)

    def _output_units(self):
        return len(self.classes_)


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    """A multilayer perceptron regressor: linear output trained with mean squared error.

    1-D y gives 1-D predictions; y of shape (n, k) trains k outputs at once (`n_outputs_`).
    """

    _loss = "mse"
    _target_checks = {"multi_output": True, "y_numeric": True}

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on (X, y), continuing the current network (or starting one on the first call)."""
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X):
        pred = self._predict_raw(X)
        return pred.ravel() if self.n_outputs_ == 1 else pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _start_targets(self, y, classes=None):
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]

    def _encode(self, y):
        return y.reshape(len(y), -1)

    def _output_units(self):
        return self.n_outputs_
