import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L


def f64(a, grad=True):
    return sg.Tensor(np.asarray(a, dtype=np.float64), dtype="float64", requires_grad=grad)


def test_dense_builds_lazily_with_keras_shapes(rng):
    d = L.Dense(3, activation="relu")
    assert not d.built
    y = d(rng.standard_normal((5, 4)).astype(np.float32))
    assert d.built and d.kernel.shape == (4, 3) and d.bias.shape == (3,)
    assert y.shape == (5, 3) and y.dtype == np.float32
    assert d.count_params() == 15
    assert [w.shape for w in d.get_weights()] == [(4, 3), (3,)]


def test_dense_passes_gradcheck(rng):
    d = L.Dense(3, activation="tanh", dtype="float64")
    x = f64(rng.standard_normal((4, 5)))
    d(x)
    assert sg.gradcheck(lambda x, k, b: d(x), x, d.kernel, d.bias)


def test_dense_rejects_a_different_feature_count():
    d = L.Dense(2, input_dim=4)
    d(np.ones((1, 4)))
    with pytest.raises(ValueError, match="4 features.*got 5"):
        d(np.ones((1, 5)))


def test_prelu_passes_gradcheck(rng):
    layer = L.PReLU(alpha_initializer=sg.initializers.Constant(0.2), dtype="float64")
    x = f64(rng.uniform(0.2, 1.0, (4, 3)) * rng.choice([-1, 1], (4, 3)))
    layer(x)
    assert layer.alpha.shape == (3,)
    assert sg.gradcheck(lambda x, a: layer(x), x, layer.alpha)


def test_batchnorm_gradcheck_and_running_statistics(rng):
    bn = L.BatchNormalization(momentum=0.5, dtype="float64")
    x = f64(rng.standard_normal((16, 3)) * 3 + 2)
    bn(x, training=True)
    assert sg.gradcheck(lambda x, g, b: bn(x, training=True), x, bn.gamma, bn.beta)
    bn2 = L.BatchNormalization(momentum=0.5)
    batch = (rng.standard_normal((64, 3)) * 3 + 2).astype(np.float32)
    out = bn2(batch, training=True).data
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(bn2.moving_mean.data, 0.5 * batch.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn2.moving_variance.data, 0.5 + 0.5 * batch.var(0), rtol=1e-5)
    evaluated = bn2(batch, training=False).data
    expected = (batch - bn2.moving_mean.data) / np.sqrt(bn2.moving_variance.data + 1e-3)
    np.testing.assert_allclose(evaluated, expected, rtol=1e-5)
    assert len(bn2.trainable_weights) == 2 and len(bn2.non_trainable_weights) == 2


def test_dropout_scales_in_training_and_is_identity_in_eval():
    sg.set_seed(0)
    layer = L.Dropout(0.25)
    x = np.ones((200, 100), dtype=np.float32)
    y = layer(x, training=True).data
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert y.mean() == pytest.approx(1.0, abs=0.02)
    assert (y == 0).mean() == pytest.approx(0.25, abs=0.02)
    np.testing.assert_array_equal(layer(x, training=False).data, x)


def test_dropout_layer_takes_keras_s_noise_shape_and_seed():
    x = np.ones((3, 5, 4), dtype=np.float32)
    layer = L.Dropout(0.5, noise_shape=(None, 1, 4), seed=3)
    y = layer(x, training=True).data
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1], y.shape))  # one draw per sample and feature
    assert 0 < (y == 0).mean() < 1
    again = L.Dropout.from_config(layer.get_config())
    assert again.get_config()["noise_shape"] == (None, 1, 4) and again.get_config()["seed"] == 3
    np.testing.assert_array_equal(again(x, training=True).data, y)  # the same seed, the same sequence
    assert not np.array_equal(layer(x, training=True).data, y)  # a sequence, not one mask repeated
    with pytest.raises(ValueError, match="does not broadcast"):
        L.Dropout(0.5, noise_shape=(None, 2, 4))(x, training=True)
    with pytest.raises(TypeError, match="seed must be"):
        L.Dropout(0.5, seed="3")
    with pytest.raises(ValueError, match="int seed"):
        L.Dropout(0.5, seed=sg.random.SeedGenerator(3)).get_config()


def test_dropout_rate_is_validated():
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            L.Dropout(bad)


def test_activation_layers(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    for layer, fn in [(L.ReLU(), sg.functional.relu), (L.Sigmoid(), sg.functional.sigmoid),
                      (L.Tanh(), sg.functional.tanh), (L.Softmax(), sg.functional.softmax),
                      (L.ELU(), sg.functional.elu), (L.Activation("relu"), sg.functional.relu)]:
        np.testing.assert_allclose(layer(x).data, fn(x).data)
    np.testing.assert_allclose(L.LeakyReLU(alpha=0.1)(x).data, np.where(x > 0, x, 0.1 * x), rtol=1e-6)


def test_unknown_activation_lists_names():
    with pytest.raises(ValueError, match="relu"):
        L.Dense(3, activation="swishy")


def test_flatten_reshape_keep_the_batch_axis():
    x = np.zeros((2, 3, 4), dtype=np.float32)
    assert L.Flatten()(x).shape == (2, 12)
    assert L.Reshape((4, 3))(x).shape == (2, 4, 3)


def test_config_round_trip_rebuilds_the_same_layer():
    d = L.Dense(7, activation="sigmoid", kernel_initializer="he_normal", kernel_regularizer=sg.regularizers.L2(0.1),
                input_shape=(3,))
    clone = L.deserialize(L.serialize(d))
    assert isinstance(clone, L.Dense) and clone.units == 7 and clone.activation is sg.functional.sigmoid
    assert clone.kernel_regularizer.l2 == 0.1 and clone.input_shape == (3,)


def test_set_weights_checks_every_shape_first():
    d = L.Dense(2, input_dim=3)
    d(np.ones((1, 3)))
    before = d.get_weights()
    with pytest.raises(ValueError, match=r"\(2,\)"):
        d.set_weights([np.ones((3, 2)), np.ones(5)])
    np.testing.assert_array_equal(d.get_weights()[0], before[0])


def test_trainable_false_freezes_weights():
    d = L.Dense(2, input_dim=3)
    d(np.ones((1, 3)))
    d.trainable = False
    assert d.trainable_weights == [] and len(d.non_trainable_weights) == 2


@pytest.mark.parametrize("make,shape", [
    (lambda f: L.Conv2D(2, 3, data_format=f), (2, 5, 5, 3)),
    (lambda f: L.SeparableConv1D(2, 3, data_format=f), (2, 6, 3)),
    (lambda f: L.Conv3DTranspose(2, 2, data_format=f), (1, 3, 3, 3, 2)),
    (lambda f: L.MaxPooling2D(data_format=f), (2, 4, 4, 3)),
    (lambda f: L.GlobalAveragePooling3D(data_format=f), (2, 3, 3, 3, 2)),
    (lambda f: L.ZeroPadding2D(data_format=f), (2, 3, 3, 2)),
    (lambda f: L.UpSampling3D(data_format=f), (1, 2, 2, 2, 2)),
    (lambda f: L.ConvLSTM2D(2, 3, data_format=f), (1, 2, 4, 4, 1)),
], ids=["Conv2D", "SeparableConv1D", "Conv3DTranspose", "MaxPooling2D", "GlobalAveragePooling3D", "ZeroPadding2D",
        "UpSampling3D", "ConvLSTM2D"])
def test_data_format_none_is_channels_last_as_in_keras(make, shape):
    """Keras's layers default to data_format=None, its image_data_format: channels_last."""
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    sg.set_seed(0)
    expected = make("channels_last")(x).numpy()
    sg.set_seed(0)
    layer = make(None)
    np.testing.assert_array_equal(layer(x).numpy(), expected)
    assert layer.get_config()["data_format"] == "channels_last"
    with pytest.raises(ValueError, match="unknown data_format 'channels_middle'"):
        make("channels_middle")


def test_flatten_center_crop_and_random_flip_take_keras_s_data_format():
    """Keras's Flatten puts the channels last before flattening channels_first maps; its configs carry
    data_format, which these layers read (and None is channels_last)."""
    x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    np.testing.assert_array_equal(L.Flatten(data_format="channels_first")(x).numpy(), [[0, 4, 1, 5, 2, 6, 3, 7]])
    np.testing.assert_array_equal(L.Flatten()(x).numpy(), [np.arange(8)])
    for layer in (L.Flatten(), L.CenterCrop(2, 2, data_format=None), L.RandomFlip()):
        assert layer.get_config()["data_format"] == "channels_last"
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    images = np.arange(2 * 3 * 3 * 1, dtype=np.float32).reshape(2, 1, 3, 3)  # channels first
    sg.set_seed(3)
    flipped = L.RandomFlip("horizontal", data_format="channels_first")(images, training=True).numpy()
    assert all(np.array_equal(f, i) or np.array_equal(f, i[:, :, ::-1]) for f, i in zip(flipped, images))
