"""The multi-layer perceptron, built one way for everyone: the command line, the scikit-learn estimators,
the plots' demonstration networks, and you."""
from .. import layers as L
from ..regularizers import L2
from .sequential import Sequential


def mlp(n_inputs, hidden, n_outputs=None, activation="relu", output_activation="softmax",
        kernel_initializer="glorot_uniform", l2=0.0, dropout=0.0, use_bias=True, name=None):
    """Input(n_inputs) → for each size in `hidden`: Dense(size, activation) [→ Dropout(dropout)] →
    Dense(n_outputs, output_activation).

    `n_inputs=None` leaves the input size to the first batch; `n_outputs=None` ends at the last hidden
    layer. `l2` puts the textbook's weight decay (λ·ΣW²) on every kernel, the output layer's included.
    """
    penalty = L2(l2) if l2 else None
    dense = dict(kernel_initializer=kernel_initializer, kernel_regularizer=penalty, use_bias=use_bias)
    layers = [] if n_inputs is None else [L.Input(shape=(n_inputs,))]
    for units in hidden:
        layers.append(L.Dense(units, activation=activation, **dense))
        if dropout:
            layers.append(L.Dropout(dropout))
    if n_outputs is not None:
        layers.append(L.Dense(n_outputs, activation=output_activation, **dense))
    return Sequential(layers, name=name)
