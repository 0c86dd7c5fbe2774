"""3-D convolution, pooling and reshaping layers against Keras 3.15.1 (TensorFlow backend): shapes, parameter
counts and outputs with Keras's weights (tests/keras_reference/conv3d_layers.npz, made by
make_conv3d_reference.py), configs, gradients through the depth taps, and the errors."""
import numpy as np
import pytest
from layer_checks import (
    assert_config_round_trip,
    assert_matches_keras_reference,
    assert_trains_the_same_planned_and_eager,
    keras_reference,
)

import scratchgrad as sg
from scratchgrad import layers as L

REFERENCE, CASES = keras_reference("conv3d_layers.npz")
IDS = [f"{name}-{shape}-{kwargs}" for name, shape, kwargs in CASES]


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_layer_matches_keras(i):
    assert_matches_keras_reference(L, REFERENCE, i, CASES[i])


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_config_round_trip(i):
    name, _, kwargs = CASES[i]
    assert_config_round_trip(getattr(L, name)(**kwargs), REFERENCE[f"{i}_x"])


@pytest.mark.parametrize("make", [
    lambda: L.Conv3D(3, (2, 3, 2), strides=(2, 1, 2), padding="same"),
    lambda: L.Conv3D(4, 2, dilation_rate=(2, 1, 1), groups=2, data_format="channels_first"),
    lambda: L.Conv3DTranspose(2, 2, strides=2, padding="same"),
    lambda: L.MaxPooling3D(3, 2, padding="same"),
    lambda: L.AveragePooling3D((3, 2, 2), (2, 1, 2), padding="same", data_format="channels_first"),
], ids=["conv", "conv_dilated_grouped_channels_first", "transpose", "max_pool", "average_pool"])
def test_gradients_through_the_depth_taps(make):
    """Input and weight gradients against central differences, in float64 (distinct values: no ties in the
    pools)."""
    sg.set_floatx("float64")
    try:
        sg.set_seed(1)
        layer = make()
        x = sg.Tensor(np.random.default_rng(0).permutation(4 * 5 * 4 * 4).reshape(1, 4, 5, 4, 4) / 40.0,
                      dtype="float64", requires_grad=True)
        layer(x)
        assert sg.gradcheck(lambda x, *weights: layer(x), x, *layer.trainable_weights, tol=1e-6)
    finally:
        sg.set_floatx("float32")


def test_a_tie_between_depth_slices_sends_the_gradient_to_the_first_maximum():
    """As a pooling window does (Keras's and PyTorch's max pooling): the first maximum in (depth, row, column)
    order takes all of it."""
    x = sg.Tensor(np.ones((1, 2, 2, 2, 1), np.float32), requires_grad=True)
    L.MaxPooling3D()(x).sum().backward()
    expected = np.zeros((1, 2, 2, 2, 1), np.float32)
    expected[0, 0, 0, 0, 0] = 1
    np.testing.assert_array_equal(x.grad, expected)


def test_a_nan_in_a_later_depth_slice_comes_out_of_the_max():
    x = np.zeros((1, 2, 2, 2, 1), np.float32)
    x[0, 1, 1, 1, 0] = np.nan
    assert np.isnan(L.MaxPooling3D()(x).numpy()).all()


def test_a_3d_cnn_trains_the_same_planned_and_eager(rng):
    """keras.io's 3-D image classification model, small: conv, pool, normalize, global pool."""
    assert_trains_the_same_planned_and_eager(
        (6, 8, 8, 1), lambda: [L.Conv3D(4, 3, activation="relu"), L.MaxPool3D(2), L.BatchNormalization(),
                               L.Conv3D(3, 2, padding="same", activation="relu"), L.AveragePooling3D(2, padding="same"),
                               L.GlobalAveragePooling3D(), L.Dense(1, activation="sigmoid")],
        "binary_crossentropy", rng.standard_normal((6, 6, 8, 8, 1)), rng.integers(0, 2, 6))


def test_keras_config_keys_and_aliases():
    config = L.Conv3D(4, 3).get_config()
    assert (config["kernel_size"], config["strides"], config["dilation_rate"]) == ([3, 3, 3], [1, 1, 1], [1, 1, 1])
    assert L.Conv3DTranspose(2, 3).get_config()["output_padding"] is None
    assert L.MaxPooling3D().get_config()["pool_size"] == [2, 2, 2]
    assert L.UpSampling3D().get_config()["size"] == [2, 2, 2]
    assert L.ZeroPadding3D().get_config()["padding"] == [[1, 1], [1, 1], [1, 1]]
    assert L.Cropping3D().get_config()["cropping"] == [[1, 1], [1, 1], [1, 1]]
    assert (L.MaxPool3D, L.AvgPool3D, L.Convolution3D, L.GlobalAvgPool3D, L.GlobalMaxPool3D) == (
        L.MaxPooling3D, L.AveragePooling3D, L.Conv3D, L.GlobalAveragePooling3D, L.GlobalMaxPooling3D)
    # Keras's order: data_format before output_padding
    assert L.Conv3DTranspose(2, 3, 2, "same", "channels_first", (1, 1, 1)).output_padding == (1, 1, 1)


@pytest.mark.parametrize("make,message", [
    (lambda: L.Conv3D(2, (3, 3)), r"kernel_size must be a positive integer or three of them.*\(3, 3\)"),
    (lambda: L.Conv3D(2, 3, strides=(1, 0, 1)), r"strides must be a positive integer or three of them"),
    (lambda: L.MaxPooling3D(2, padding="causal"), r"unknown padding 'causal'"),
    (lambda: L.UpSampling3D((2, 2)), r"size must be a positive integer or three of them"),
    (lambda: L.ZeroPadding3D((1, 2)), r"3 \(before, after\) pairs of non-negative integers"),
])
def test_bad_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make,shape,message", [
    (lambda: L.Conv3D(2, 3), (2, 5, 4, 1), r"5-D inputs \(batch, depth, height, width, channels\)"),
    (lambda: L.Conv3D(2, 3), (2, 2, 5, 5, 1), r"window of depth 3 is deeper than the input's 2"),
    (lambda: L.Conv3D(2, 3), (2, 5, 2, 5, 1), r"kernel 3x3 is larger than the input's 2x5 image"),
    (lambda: L.MaxPooling3D(3), (2, 5, 5, 2, 1), r"pool window 3x3 is larger than the input's 5x2 image"),
    (lambda: L.AveragePooling3D(data_format="channels_first"), (2, 3, 4, 4),
     r"\(batch, channels, depth, height, width\)"),
])
def test_bad_inputs_name_the_shapes(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(np.zeros(shape, dtype=np.float32))


def test_a_depth_dilated_kernel_reads_only_its_own_slices():
    """Its dilation's zeros are never multiplied in: an infinite slice between its taps leaves the output finite,
    as in Keras (0·inf would be NaN)."""
    conv = L.Conv3D(1, (2, 1, 1), dilation_rate=(2, 1, 1), use_bias=False)
    x = np.ones((1, 3, 1, 1, 1), np.float32)
    x[0, 1] = np.inf
    conv(x)
    conv.set_weights([np.ones((2, 1, 1, 1, 1), np.float32)])
    np.testing.assert_array_equal(conv(x).numpy().ravel(), [2.0])
