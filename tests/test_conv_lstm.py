"""ConvLSTM1D/2D/3D against Keras 3.15.1 (torch backend): outputs and states with Keras's weights, shapes and
parameter counts (tests/keras_reference/conv_lstm.npz, made by make_conv_lstm_reference.py), configs, gradients
through time, training in the step plan, .keras files and the refusals."""
import numpy as np
import pytest
from layer_checks import assert_config_round_trip, assert_trains_the_same_planned_and_eager, keras_reference

import scratchgrad as sg
from scratchgrad import layers as L

REFERENCE, CASES = keras_reference("conv_lstm.npz")
IDS = [f"{name}-{shape}-{kwargs}" for name, shape, kwargs in CASES]


def split_case(i):
    """(layer class name, input shape, layer arguments, mask or None): a case's "mask" is a call argument."""
    name, shape, kwargs = CASES[i]
    kwargs = dict(kwargs)
    mask = kwargs.pop("mask", None)
    return name, shape, kwargs, None if mask is None else np.array(mask, bool)


def reference(i, what):
    count = sum(key.startswith(f"{i}_{what}") for key in REFERENCE.files)
    return [REFERENCE[f"{i}_{what}{j}"] for j in range(count)]


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_layer_matches_keras(i):
    name, shape, kwargs, mask = split_case(i)
    layer = getattr(L, name)(**kwargs)
    expected_shape = tuple(None if d < 0 else int(d) for d in REFERENCE[f"{i}_shape"])
    shapes = layer.compute_output_shape((None,) + shape)
    assert (shapes[0] if kwargs.get("return_state") else shapes) == expected_shape
    assert layer.count_params() == int(REFERENCE[f"{i}_params"])
    layer.set_weights(reference(i, "w"))
    outputs = layer(REFERENCE[f"{i}_x"], mask=mask)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    expected = reference(i, "y")
    assert len(outputs) == len(expected)
    for y, keras_y in zip(outputs, expected):
        assert y.dtype == np.float32 and y.shape == keras_y.shape
        np.testing.assert_allclose(y.numpy(), keras_y, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_config_round_trip(i):
    name, _, kwargs, _ = split_case(i)
    assert_config_round_trip(getattr(L, name)(**kwargs), REFERENCE[f"{i}_x"])


def test_keras_config_keys_weights_and_forget_bias():
    layer = L.ConvLSTM2D(3, 2)
    layer.build((None, 4, 6, 6, 2))
    assert [w.shape for w in layer.weights] == [(2, 2, 2, 12), (2, 2, 3, 12), (12,)]
    np.testing.assert_array_equal(layer.bias.numpy(), [0] * 3 + [1] * 3 + [0] * 6)  # unit_forget_bias
    config = layer.get_config()
    assert (config["kernel_size"], config["strides"], config["unit_forget_bias"]) == ([2, 2], [1, 1], True)
    assert config["return_sequences"] is False and config["stateful"] is False and config["dropout"] == 0.0


@pytest.mark.parametrize("make,shape", [
    (lambda: L.ConvLSTM2D(2, 2, padding="same", return_sequences=True), (1, 3, 4, 4, 2)),
    (lambda: L.ConvLSTM1D(2, 2, strides=2, go_backwards=True), (2, 3, 5, 2)),
    (lambda: L.ConvLSTM3D(1, 2, data_format="channels_first"), (1, 2, 1, 3, 3, 3)),
], ids=["2d", "1d", "3d"])
def test_gradients_through_time(make, shape):
    sg.set_floatx("float64")
    try:
        sg.set_seed(2)
        layer = make()
        x = sg.Tensor(np.random.default_rng(0).standard_normal(shape), dtype="float64", requires_grad=True)
        layer(x)
        assert sg.gradcheck(lambda x, *weights: layer(x), x, *layer.trainable_weights, tol=1e-6)
    finally:
        sg.set_floatx("float32")


def test_initial_state_is_where_the_loop_starts(rng):
    layer = L.ConvLSTM2D(2, 3, padding="same", return_state=True)
    x = rng.standard_normal((2, 3, 4, 4, 1)).astype(np.float32)
    _, h, c = layer(x[:, :2])
    whole, h_all, c_all = layer(x)
    resumed, h_end, c_end = layer(x[:, 2:], initial_state=[h, c])
    # float32 sums in another order (the products' blocking differs with the batch): a few ulps of a unit value
    np.testing.assert_allclose(h_end.numpy(), h_all.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(c_end.numpy(), c_all.numpy(), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match=r"initial_state must be \[h, c\], two states of shape \(2, 4, 4, 2\)"):
        layer(x, initial_state=[h])


def test_next_frame_model_trains_the_same_planned_and_eager(rng):
    """keras.io's next-frame prediction model, small: ConvLSTM2D, BatchNormalization, Conv3D."""
    assert_trains_the_same_planned_and_eager(
        (None, 6, 6, 1), lambda: [L.ConvLSTM2D(4, 3, padding="same", return_sequences=True, activation="relu"),
                                  L.BatchNormalization(),
                                  L.ConvLSTM2D(4, 1, padding="same", return_sequences=True, activation="relu"),
                                  L.Conv3D(1, 3, activation="sigmoid", padding="same")],
        "binary_crossentropy", rng.random((4, 3, 6, 6, 1)), rng.random((4, 3, 6, 6, 1)))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_dropout_drops_each_gate_s_input_and_state_with_masks_of_its_own_kept_through_time(rng, monkeypatch):
    """Keras's ConvLSTM cell: four input masks and four state masks, one per gate, drawn once per call. With
    1-wide kernels each pixel is a plain LSTM, written out here in NumPy with the masks the layer drew."""
    drawn = []
    forward = sg.functional.Dropout.forward

    def keep(self, x):
        out = forward(self, x)
        drawn.append(self.scaled_mask)
        return out

    monkeypatch.setattr(sg.functional.Dropout, "forward", keep)
    layer = L.ConvLSTM1D(3, 1, dropout=0.4, recurrent_dropout=0.3, return_sequences=True, seed=5)
    x = rng.standard_normal((2, 4, 5, 2)).astype(np.float32)
    out = layer(x, training=True).numpy()
    assert [m.shape for m in drawn] == [(2, 1, 5, 2)] * 4 + [(2, 5, 3)] * 4  # the same at every step
    assert all(set(np.unique(m)) == {0, np.float32(1 / (1 - rate))} for m, rate in zip(drawn, [0.4] * 4 + [0.3] * 4))
    kernel, recurrent, bias = (w.numpy() for w in layer.weights)
    gates = [slice(k * 3, (k + 1) * 3) for k in range(4)]
    h = c = np.zeros((2, 5, 3), np.float32)
    for t in range(4):
        i, f, g, o = ((x[:, t] * drawn[k][:, 0]) @ kernel[0][:, gates[k]] + bias[gates[k]]
                      + (h * drawn[4 + k]) @ recurrent[0][:, gates[k]] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        np.testing.assert_allclose(out[:, t], h, rtol=1e-5, atol=1e-6)
    drawn.clear()
    plain = L.ConvLSTM1D(3, 1, return_sequences=True)
    plain(x)
    plain.set_weights(layer.get_weights())
    np.testing.assert_array_equal(layer(x).numpy(), plain(x).numpy())
    assert not drawn  # in inference nothing drops


def test_dropout_gradients_and_plan():
    """With its masks fixed (the layer's generator set back before each call), a dropped ConvLSTM's gradients
    are the numerical ones; a model with one trains the same by plan as eagerly, the plan drawing anew."""
    sg.set_floatx("float64")
    try:
        layer = L.ConvLSTM2D(2, 2, padding="same", dropout=0.3, recurrent_dropout=0.4, return_sequences=True)
        x = sg.Tensor(np.random.default_rng(0).standard_normal((2, 3, 3, 3, 1)), dtype="float64", requires_grad=True)
        layer(x)

        def dropped(x, *weights):
            layer._seed_generator = sg.random.SeedGenerator(4)
            return layer(x, training=True)

        assert sg.gradcheck(dropped, x, *layer.trainable_weights, tol=1e-6)
    finally:
        sg.set_floatx("float32")
    rng = np.random.default_rng(1)
    assert_trains_the_same_planned_and_eager(
        (None, 5, 5, 1), lambda: [L.ConvLSTM2D(2, 3, padding="same", dropout=0.3, recurrent_dropout=0.3),
                                  L.Flatten(), L.Dense(1)], "mse", rng.random((4, 3, 5, 5, 1)), rng.random((4, 1)))


@pytest.mark.parametrize("make,error,message", [
    (lambda: L.ConvLSTM2D(2, 3, dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
    (lambda: L.ConvLSTM2D(2, 3, recurrent_dropout=-0.1), ValueError, r"recurrent_dropout must be in \[0, 1\)"),
    (lambda: L.ConvLSTM2D(2, 3, stateful=True), NotImplementedError, r"\(stateful=True\) is not supported"),
    (lambda: L.ConvLSTM2D(2, 3, strides=2, dilation_rate=2), ValueError, r"strides > 1 or dilation_rate > 1"),
    (lambda: L.ConvLSTM2D(2, 3, padding="causal"), ValueError, r"unknown padding 'causal'"),
    (lambda: L.ConvLSTM2D(0, 3), ValueError, r"filters must be a positive integer"),
])
def test_bad_arguments_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("x,message", [
    (np.zeros((2, 6, 6, 1), np.float32), r"needs 5-D inputs \(batch, steps, 2 spatial axes and channels\)"),
    (np.zeros((2, 3, 6, 6, 2), np.float32), r"input has 2 channels \(shape \(2, 3, 6, 6, 2\), channels_last\) but "
                                            r"the layer expects 1"),
    (np.zeros((2, 0, 6, 6, 1), np.float32), r"needs at least one step"),
])
def test_frames_the_layer_cannot_take_are_refused_in_the_sequence_s_terms(x, message):
    layer = L.ConvLSTM2D(2, 3)
    layer(np.zeros((2, 3, 6, 6, 1), np.float32))
    with pytest.raises(ValueError, match=message):
        layer(x)


def test_a_mask_passes_on_with_the_sequence_and_a_pixel_mask_is_refused(rng):
    frames = rng.standard_normal((2, 4, 5, 5, 1)).astype(np.float32)
    frames[0, 2:] = 0
    inputs = sg.Input(shape=(4, 5, 5, 1))
    with pytest.raises(ValueError, match=r"mask of whole steps, shape \(batch, steps\).*a mask per pixel"):
        L.ConvLSTM2D(2, 3, padding="same")(L.Masking(0.0)(inputs))  # Masking's mask: one per pixel
    layer = L.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    steps = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    out = layer(frames, mask=steps)
    np.testing.assert_array_equal(out.numpy()[0, 2], out.numpy()[0, 1])  # a padded step keeps the state
    np.testing.assert_array_equal(layer.compute_mask(frames, sg.Tensor(steps)).numpy(), steps)
