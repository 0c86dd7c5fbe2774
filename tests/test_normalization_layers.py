"""GroupNormalization, RMSNormalization and UnitNormalization against Keras 3's outputs and gradients
(tests/keras_reference/normalization_layers.npz, made by make_normalization_reference.py there), the
keras.ops they stand on, and their argument checks."""
import ast
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L

REFERENCE = np.load(Path(__file__).parent / "keras_reference" / "normalization_layers.npz")
CASES = sorted({key.rsplit("/", 1)[0] for key in REFERENCE.files if key.endswith("/y")})


@pytest.mark.parametrize("case", CASES)
def test_outputs_and_gradients_are_keras_s(case):
    name, kwargs = ast.literal_eval(case)
    layer = getattr(L, name)(**kwargs)
    x = sg.Tensor(REFERENCE["x"], requires_grad=True)
    layer.build(x.shape)
    for weight in layer.weights:
        weight.data[...] = REFERENCE[f"{case}/{weight.name.split('/')[-1]}"]
    y = layer(x)
    (y * REFERENCE["w"]).sum().backward()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), REFERENCE[f"{case}/y"], rtol=1e-5, atol=1e-5)
    keras_dx = REFERENCE[f"{case}/dx"]
    if name == "UnitNormalization" and kwargs.get("axis", -1) == -1:  # the zero row x[1, 0, 0]: Keras's is NaN
        assert np.isnan(keras_dx[1, 0, 0]).all()
        np.testing.assert_allclose(x.grad[1, 0, 0], REFERENCE["w"][1, 0, 0] * 1e12, rtol=1e-6)  # 1/epsilon
        keras_dx, x.grad[1, 0, 0] = keras_dx.copy(), np.nan
    np.testing.assert_allclose(x.grad, keras_dx, rtol=1e-4, atol=1e-4)
    for weight in layer.weights:
        np.testing.assert_allclose(weight.grad, REFERENCE[f"{case}/d{weight.name.split('/')[-1]}"], rtol=1e-4,
                                   atol=1e-4)


def test_group_normalization_is_layer_and_instance_normalization_at_the_ends(rng):
    x = rng.standard_normal((3, 4, 6)).astype(np.float64)
    one_group = L.GroupNormalization(groups=1, epsilon=1e-5, dtype="float64")(x).numpy()
    layer_norm = L.LayerNormalization(axis=[1, 2], epsilon=1e-5, dtype="float64")(x).numpy()
    np.testing.assert_allclose(one_group, layer_norm, rtol=1e-10, atol=1e-12)
    per_channel = L.GroupNormalization(groups=-1, epsilon=1e-5, dtype="float64")(x).numpy()
    expected = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(per_channel, expected, rtol=1e-10, atol=1e-12)


def test_arguments_are_checked():
    for bad in (0, -2, 2.0, True):
        with pytest.raises(ValueError, match="groups must be a positive int, or -1"):
            L.GroupNormalization(groups=bad)
    with pytest.raises(ValueError, match="6 channels cannot be split into 4 groups"):
        L.GroupNormalization(groups=4)(np.ones((2, 6), np.float32))
    with pytest.raises(ValueError, match="not the batch axis|other than the batch axis"):
        L.GroupNormalization(groups=1, axis=0)(np.ones((2, 6), np.float32))
    with pytest.raises(TypeError, match="axis must be an int or a list of ints"):
        L.RMSNormalization(axis="last")
    with pytest.raises(TypeError, match="axis must be an int or a list of ints"):
        L.UnitNormalization(axis=1.5)
    with pytest.raises(ValueError, match="order must be an int >= 1"):
        sg.ops.normalize(np.ones(3), order=0)


def test_keras_ops_normalize_and_rms_normalization():
    x = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    # Keras 3.15.1's docstring example and its outputs for order=1 and for rms_normalization
    np.testing.assert_allclose(sg.ops.normalize(x).numpy(), [[0.26726124, 0.5345225, 0.8017837],
                                                            [0.45584232, 0.5698029, 0.68376344]], rtol=1e-6)
    np.testing.assert_allclose(sg.ops.normalize(x, order=1).numpy(), x / x.sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(sg.ops.rms_normalization(x).numpy(),
                               x / np.sqrt((x * x).mean(axis=1, keepdims=True) + 1e-7), rtol=1e-6)
    assert float(sg.ops.normalize(np.zeros(3, np.float32)).numpy().sum()) == 0.0  # the floor: no NaN


def test_spectral_normalization_matches_keras_and_keeps_its_vector_between_calls():
    """Keras 3.15.1: SpectralNormalization(Dense(3), power_iterations=2) given these weights, in its weights'
    order (the kernel, vector_u, the bias), one training call, then inference."""
    layer = L.SpectralNormalization(L.Dense(3), power_iterations=2)
    x = np.arange(8, dtype=np.float32).reshape(2, 4) / 10
    layer(x)
    kernel = [[0.1257302165031433, -0.13210485875606537, 0.6404226422309875],
              [0.10490011423826218, -0.5356693863868713, 0.3615950644016266],
              [1.3040000200271606, 0.9470809698104858, -0.7037352323532104],
              [-1.2654215097427368, -0.6232744455337524, 0.04132597893476486]]
    u, bias = [[-2.32503080368042, -0.218791663646698, -1.2459110021591187]], [-0.7322673797607422, -0.5442590117454529,
                                                                              -0.3163001537322998]
    layer.set_weights([np.float32(kernel), np.float32(u), np.float32(bias)])
    expected = [[-0.7809581756591797, -0.567240297794342, -0.35773396492004395],
                [-0.7325607538223267, -0.6290774941444397, -0.2966804504394531]]
    np.testing.assert_allclose(layer(x, training=True).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(layer.weights[0].numpy()[0], [0.05650825425982475, -0.05937327817082405,
                                                             0.2878319025039673], rtol=1e-6)  # written back
    np.testing.assert_allclose(layer.weights[1].numpy(), [[-0.8068758845329285, -0.5256560444831848,
                                                           0.2695125937461853]], rtol=1e-6)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-6)  # inference uses the kernel as written
    assert len(layer.trainable_weights) == 2 and layer.count_params() == 18
    top = np.linalg.svd(layer.weights[0].numpy(), compute_uv=False)[0]
    for _ in range(20):  # the power iteration goes on across calls: the spectral norm settles at 1
        layer(x, training=True)
    np.testing.assert_allclose(np.linalg.svd(layer.weights[0].numpy(), compute_uv=False)[0], 1, rtol=1e-4)
    assert top != 1
    with pytest.raises(ValueError, match="power_iterations must be a positive integer"):
        L.SpectralNormalization(L.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="Flatten has no kernel nor embeddings"):
        L.SpectralNormalization(L.Flatten())(x)
