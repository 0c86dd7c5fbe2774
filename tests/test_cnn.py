"""Convolutional layers: Keras's shapes and parameter counts, plan = graph, bad input, a CNN that learns."""
import numpy as np
import pytest
from layer_checks import assert_trains_the_same_planned_and_eager

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad.models import Sequential


def classic_cnn():
    return Sequential([sg.Input(shape=(28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
                       L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Flatten(), L.Dropout(0.5),
                       L.Dense(10, activation="softmax")])


def test_summary_matches_keras(capsys):
    sg.utils.clear_session()
    model = classic_cnn()
    model.summary()
    out = capsys.readouterr().out
    for row in ["conv2d (Conv2D)", "(None, 26, 26, 32)", "320", "max_pooling2d (MaxPooling2D)", "(None, 13, 13, 32)",
                "conv2d_1 (Conv2D)", "(None, 11, 11, 64)", "18,496", "(None, 5, 5, 64)", "(None, 1600)", "16,010",
                "Total params: 34,826"]:
        assert row in out


@pytest.mark.parametrize("layer,shape,expected", [
    (L.Conv2D(4, 3, strides=2, padding="same"), (None, 9, 7, 3), (None, 5, 4, 4)),
    (L.Conv2D(4, (2, 3), padding="valid"), (None, 9, 7, 3), (None, 8, 5, 4)),
    (L.Conv2D(4, 3, data_format="channels_first"), (None, 3, 9, 7), (None, 4, 7, 5)),
    (L.MaxPooling2D(3, strides=2, padding="same"), (None, 9, 7, 3), (None, 5, 4, 3)),
    (L.AveragePooling2D(2), (None, 9, 7, 3), (None, 4, 3, 3)),
    (L.GlobalAveragePooling2D(), (None, 9, 7, 3), (None, 3)),
])
def test_output_shapes(layer, shape, expected):
    assert layer.compute_output_shape(shape) == expected


def test_conv_layer_gradcheck(rng):
    layer = L.Conv2D(3, 3, strides=2, padding="same", activation="tanh", dtype="float64")
    x = sg.Tensor(rng.standard_normal((2, 5, 5, 2)), dtype="float64", requires_grad=True)
    layer(x)
    assert sg.gradcheck(lambda x, k, b: layer(x), x, layer.kernel, layer.bias)


def test_batchnorm_on_images_gradcheck(rng):
    bn = L.BatchNormalization(dtype="float64")
    x = sg.Tensor(rng.standard_normal((3, 4, 4, 2)), dtype="float64", requires_grad=True)
    bn(x, training=True)
    assert sg.gradcheck(lambda x, g, b: bn(x, training=True), x, bn.gamma, bn.beta)


def test_plan_and_graph_agree_on_a_cnn(rng):
    assert_trains_the_same_planned_and_eager(
        (8, 8, 2), lambda: [L.Conv2D(3, 3, padding="same", activation="relu"), L.AveragePooling2D(2),
                            L.Conv2D(4, 2, strides=2), L.MaxPooling2D(2, padding="same"), L.Flatten(),
                            L.Dense(3, activation="softmax")],
        "sparse_categorical_crossentropy", rng.standard_normal((6, 8, 8, 2)), rng.integers(0, 3, 6))


@pytest.mark.parametrize("make,shape,message", [
    (lambda: L.Conv2D(4, 3), (2, 8, 8), r"4-D.*\(None, 8, 8\)"),
    (lambda: L.Conv2D(4, 5), (2, 3, 3, 1), r"5x5 is larger than the input's 3x3"),
    (lambda: L.MaxPooling2D(4), (2, 3, 3, 1), r"4x4 is larger than the input's 3x3"),
])
def test_bad_input_names_the_shapes(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(np.zeros(shape, dtype=np.float32))


def test_channel_mismatch_and_bad_strides():
    conv = L.Conv2D(2, 3)
    conv(np.zeros((1, 5, 5, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"4 channels.*expects 3"):
        conv(np.zeros((1, 5, 5, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="strides"):
        L.Conv2D(2, 3, strides=0)


def bars_and_crosses(n, rng):
    """8x8 images: a vertical or horizontal bar (class 0) or a cross (class 1), at random places."""
    x = np.zeros((n, 8, 8, 1), dtype=np.float32)
    y = rng.integers(0, 2, n)
    for img, label in zip(x, y):
        r, c = rng.integers(1, 7, 2)
        if label == 1:
            img[r, :, 0] = img[:, c, 0] = 1
        elif rng.random() < 0.5:
            img[r, :, 0] = 1
        else:
            img[:, c, 0] = 1
    return x + 0.05 * rng.standard_normal(x.shape).astype(np.float32), y


def test_small_cnn_learns_bars_vs_crosses(rng):
    x, y = bars_and_crosses(400, rng)
    sg.set_seed(0)
    model = Sequential([sg.Input(shape=(8, 8, 1)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(2),
                        L.Flatten(), L.Dense(2, activation="softmax")])
    model.compile(optimizer=sg.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:300], y[:300], epochs=15, batch_size=32, verbose=0)
    assert model.evaluate(x[300:], y[300:], verbose=0)[1] == 1.0


def test_cnn_save_and_load(tmp_path, rng):
    model = classic_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "cnn.sg")
    loaded = sg.load_model(tmp_path / "cnn.sg")
    x = rng.random((2, 28, 28, 1)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
