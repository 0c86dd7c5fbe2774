"""Adaptive pooling (Keras 3.15's AdaptiveAverage/MaxPooling1D/2D/3D): outputs against Keras's
(tests/keras_reference/adaptive_pooling.npz, made by make_adaptive_pooling_reference.py), the windows, configs
and gradients."""
import ast
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L

REFERENCE = np.load(Path(__file__).parent / "keras_reference" / "adaptive_pooling.npz")
CASES = [ast.literal_eval(str(case)) for case in REFERENCE["cases"]]


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{name}-{shape}-{kwargs}" for name, shape, kwargs in CASES])
def test_layer_matches_keras(i):
    name, shape, kwargs = CASES[i]
    layer = getattr(L, name)(**kwargs)
    y = layer(REFERENCE[f"{i}_x"])
    assert layer.compute_output_shape((None,) + shape) == (None,) + REFERENCE[f"{i}_y"].shape[1:]
    np.testing.assert_allclose(y.numpy(), REFERENCE[f"{i}_y"], rtol=1e-6, atol=1e-6)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(clone(REFERENCE[f"{i}_x"]).numpy(), y.numpy())


def test_windows_tile_the_axis_and_differ_by_one_at_most():
    """Ten steps to four: windows [0, 3), [2, 5), [5, 8), [7, 10), as PyTorch's adaptive pooling."""
    x = np.arange(10, dtype=np.float32).reshape(1, 10, 1)
    np.testing.assert_allclose(L.AdaptiveAveragePooling1D(4)(x).numpy().ravel(), [1, 3, 6, 8])
    np.testing.assert_array_equal(L.AdaptiveMaxPooling1D(4)(x).numpy().ravel(), [2, 4, 7, 9])


@pytest.mark.parametrize("make", [lambda: L.AdaptiveAveragePooling2D((2, 3)),
                                  lambda: L.AdaptiveMaxPooling3D(2, data_format="channels_first")],
                         ids=["average_2d", "max_3d_channels_first"])
def test_gradients(make):
    layer = make()
    values = np.random.default_rng(1).permutation(2 * 5 * 4 * 5) / 10.0  # distinct: no tied maxima
    x = sg.Tensor(values.reshape((2, 5, 4, 5) if layer.rank == 2 else (1, 2, 5, 4, 5)), dtype="float64",
                  requires_grad=True)
    assert sg.gradcheck(lambda x: layer(x), x, tol=1e-6)


def test_bad_output_sizes_are_refused():
    with pytest.raises(ValueError, match="output_size must be a positive integer or a pair of them"):
        L.AdaptiveAveragePooling2D((2, 2, 2))
