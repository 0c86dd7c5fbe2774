"""The 1-D convolution, pooling and reshaping layers against Keras 3: output shapes, parameter counts and
outputs with Keras's weights (tests/keras_reference/conv1d_layers.npz, made by make_conv1d_reference.py),
configs, and arguments Keras refuses."""
import numpy as np
import pytest
from layer_checks import (
    assert_config_round_trip,
    assert_matches_keras_reference,
    assert_trains_the_same_planned_and_eager,
    keras_reference,
)

from scratchgrad import layers as L

REFERENCE, CASES = keras_reference("conv1d_layers.npz")


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{name}-{shape}-{kwargs}" for name, shape, kwargs in CASES])
def test_layer_matches_keras(i):
    assert_matches_keras_reference(L, REFERENCE, i, CASES[i])


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{name}-{shape}-{kwargs}" for name, shape, kwargs in CASES])
def test_config_round_trip(i):
    name, _, kwargs = CASES[i]
    assert_config_round_trip(getattr(L, name)(**kwargs), REFERENCE[f"{i}_x"])


def test_average_pooling_same_averages_the_real_steps_only():
    """Padded 1 step before and 2 after, a window averages the steps it covers. Keras's TensorFlow and JAX
    backends do so; its torch backend (the reference file's) instead averages in copies of the edge steps
    here, e.g. (1 + 1 + 2 + 3) / 4 first, so this case is checked by hand."""
    x = np.arange(1, 8, dtype=np.float32).reshape(1, 7, 1)
    y = L.AveragePooling1D(4, strides=1, padding="same")(x).numpy()[0, :, 0]
    np.testing.assert_allclose(y, [2, 2.5, 3.5, 4.5, 5.5, 6, 6.5])


def test_keras_config_keys_and_weight_names():
    conv = L.Conv1D(4, 3, padding="causal")
    config = conv.get_config()
    assert (config["kernel_size"], config["strides"], config["dilation_rate"]) == ([3], [1], [1])
    assert L.ZeroPadding1D(2).get_config()["padding"] == [2, 2]
    assert L.Cropping1D(2).get_config()["cropping"] == [2, 2] and "data_format" not in L.Cropping1D().get_config()
    assert L.MaxPooling1D().get_config()["pool_size"] == [2] and L.UpSampling1D().get_config()["size"] == 2
    separable = L.SeparableConv1D(5, 3, depth_multiplier=2)
    separable.build((None, 9, 3))
    assert [w.shape for w in separable.weights] == [(3, 3, 2), (1, 6, 5), (5,)]
    assert L.MaxPool1D is L.MaxPooling1D and L.AvgPool1D is L.AveragePooling1D and L.Convolution1D is L.Conv1D


def test_causal_output_never_sees_the_future(rng):
    conv = L.Conv1D(2, 3, dilation_rate=2, padding="causal")
    x = rng.standard_normal((1, 10, 3)).astype(np.float32)
    changed = x.copy()
    changed[:, 6:] += 1.0
    before, after = conv(x).numpy(), conv(changed).numpy()
    np.testing.assert_array_equal(before[:, :6], after[:, :6])
    assert not np.allclose(before[:, 6:], after[:, 6:])


def test_a_1d_cnn_trains_the_same_planned_and_eager(rng):
    assert_trains_the_same_planned_and_eager(
        (12, 2), lambda: [L.Conv1D(4, 3, padding="causal", activation="relu"), L.MaxPooling1D(2),
                          L.SeparableConv1D(3, 2, strides=2, padding="same"), L.UpSampling1D(2),
                          L.AveragePooling1D(3, padding="same"), L.Flatten(), L.Dense(3, activation="softmax")],
        "sparse_categorical_crossentropy", rng.standard_normal((10, 12, 2)), rng.integers(0, 3, 10))


@pytest.mark.parametrize("make,message", [
    (lambda: L.Conv1D(2, (3, 3)), r"kernel_size must be a positive integer.*\(3, 3\)"),
    (lambda: L.Conv1D(2, 3, strides=0), r"strides must be a positive integer.*0"),
    (lambda: L.Conv1D(2, 3, padding="full"), r"unknown padding 'full'; expected one of valid, same, causal"),
    (lambda: L.DepthwiseConv1D(3, padding="causal"), r"unknown padding 'causal'; expected one of valid, same"),
    (lambda: L.MaxPooling1D(2, padding="causal"), r"unknown padding 'causal'"),
    (lambda: L.ZeroPadding1D((1, 2, 3)), r"1 \(before, after\) pair of non-negative integers.*\(1, 2, 3\)"),
    (lambda: L.ZeroPadding1D(-1), r"non-negative"),
    (lambda: L.UpSampling1D(0), r"size must be a positive integer, got 0"),
])
def test_bad_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make,shape,message", [
    (lambda: L.Conv1D(2, 3), (2, 5, 4, 1), r"3-D inputs \(batch, steps, channels\).*\(None, 5, 4, 1\)"),
    (lambda: L.Conv1D(2, 5), (2, 3, 1), r"window of 5 steps is longer than the input's 3 steps"),
    (lambda: L.Conv1D(2, 3, dilation_rate=2), (2, 4, 1), r"window of 5 steps is longer than the input's 4"),
    (lambda: L.MaxPooling1D(4), (2, 3, 1), r"window of 4 steps is longer than the input's 3 steps"),
    (lambda: L.AveragePooling1D(2, data_format="channels_first"), (2, 3), r"\(batch, channels, steps\)"),
])
def test_bad_inputs_name_the_shapes(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(np.zeros(shape, dtype=np.float32))


def test_channel_mismatch_names_the_sequence_shape():
    conv = L.Conv1D(2, 3, groups=2)
    conv(np.zeros((1, 5, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"has 6 channels \(shape \(1, 5, 6\), channels_last\) but the layer expects 4"):
        conv(np.zeros((1, 5, 6), dtype=np.float32))


def test_a_causal_convolution_fits_any_length():
    assert L.Conv1D(2, 5, dilation_rate=3, padding="causal")(np.zeros((1, 2, 1), np.float32)).shape == (1, 2, 2)
