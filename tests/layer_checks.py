"""Checks several test files share: a layer's config rebuilds it, a model trains the same through the
step plan as through the autograd graph (compile(run_eagerly=True)), and a layer gives Keras's shapes,
parameter counts and outputs from a reference file of tests/keras_reference/."""
import ast
from pathlib import Path

import numpy as np

import scratchgrad as sg
from scratchgrad.models import Sequential


def keras_reference(name):
    """A file of tests/keras_reference/ and its cases, each (layer class name, input shape, keyword arguments)."""
    reference = np.load(Path(__file__).parent / "keras_reference" / name)
    return reference, [ast.literal_eval(str(case)) for case in reference["cases"]]


def assert_matches_keras_reference(layers, reference, i, case):
    """Case i of `reference`: the layer's output shape and parameter count are Keras's, and with Keras's
    weights ({i}_w0, {i}_w1, ...) its float32 output on {i}_x is Keras's {i}_y."""
    name, shape, kwargs = case
    layer = getattr(layers, name)(**kwargs)
    expected_shape = tuple(None if d < 0 else int(d) for d in reference[f"{i}_shape"])
    assert layer.compute_output_shape((None,) + shape) == expected_shape
    assert layer.count_params() == int(reference[f"{i}_params"])
    count = sum(key.startswith(f"{i}_w") for key in reference.files)
    layer.set_weights([reference[f"{i}_w{j}"] for j in range(count)])
    y = layer(reference[f"{i}_x"])
    assert y.dtype == np.float32 and y.shape == reference[f"{i}_y"].shape
    np.testing.assert_allclose(y.numpy(), reference[f"{i}_y"], rtol=1e-5, atol=1e-5)


def assert_config_round_trip(layer, x):
    """from_config(get_config()) makes the same layer: the same config and, with the same weights, the same
    output(s) on x."""
    expected = layer(x)
    clone = type(layer).from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == layer.get_config()
    got = clone(x)
    for a, b in zip(got if isinstance(got, list) else [got], expected if isinstance(expected, list) else [expected]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def assert_trains_the_same_planned_and_eager(input_shape, make_layers, loss, x, y, steps=3):
    """A float64 Sequential of `make_layers()` on inputs of `input_shape`, trained `steps` train_on_batch steps
    with Adam(0.01) each way from the same seed: one plan recorded, the same losses and weights."""
    def train(eager):
        sg.set_seed(0)
        sg.set_floatx("float64")
        try:
            model = Sequential([sg.Input(shape=input_shape), *make_layers()])
        finally:
            sg.set_floatx("float32")
        model.compile(optimizer=sg.optimizers.Adam(0.01), loss=loss, run_eagerly=eager)
        return model, [model.train_on_batch(x, y) for _ in range(steps)]

    (fast, fast_losses), (slow, slow_losses) = train(False), train(True)
    assert len(fast._plans) == 1
    np.testing.assert_allclose(fast_losses, slow_losses, rtol=1e-12)
    for a, b in zip(fast.get_weights(), slow.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def run_lstm_loop(dtype, masked=False, recurrent_dropout=0.0, sequences=True, batch=5, units=4, activation="tanh"):
    """LSTMLoop's forward and backward through 6 steps, every input taking a gradient and c0 a strided view:
    [its output, then the gradients of x, h0, c0, W, U and b], and the loop (which tells how it ran)."""
    from scratchgrad.recurrent import LSTMLoop

    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, batch, 3)).astype(dtype)
    h0, c0 = (rng.standard_normal((batch, units)).astype(dtype) for _ in range(2))
    W, U = ((rng.standard_normal((k, 4 * units)) * 0.5).astype(dtype) for k in (3, units))
    b = rng.standard_normal(4 * units).astype(dtype)
    mask = (rng.random((batch, 6)) > 0.3,) if masked else ()
    loop = LSTMLoop(activation=activation, recurrent_dropout=recurrent_dropout, seed=2, sequences=sequences)
    loop.needs_grad = (True,) * 6
    out = loop.forward(x, h0, c0[:, ::-1], W, U, b, *mask)
    gy = rng.standard_normal(out.shape).astype(dtype)  # every state's gradient (with sequences, the initial too)
    return [out] + [g for g in loop.backward(gy) if g is not None], loop
