"""keras.ops beyond the basics: values against NumPy (and a few against Keras 3.15's own results),
gradients against central differences in float64, float32 kept, no gradient through masks and indices,
clear errors on bad arguments, and a training step using them replayed exactly as the graph runs it."""
import math

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import ops

TOL = 1e-6


def tensor(values, requires_grad=True):
    return sg.Tensor(np.asarray(values, dtype=np.float64), dtype="float64", requires_grad=requires_grad)


def away_from_zero(rng, shape):
    return rng.uniform(0.2, 0.9, shape) * rng.choice([-1.0, 1.0], shape)


# ---- elementwise math ----------------------------------------------------------------------------
ELEMENTWISE = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
    "log1p": np.log1p, "expm1": np.expm1, "erf": np.frompyfunc(math.erf, 1, 1),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_values_gradients_and_float32(name, rng):
    data = away_from_zero(rng, (3, 4))  # |x| <= 0.9: inside tan's and log1p's domains
    fn = getattr(ops, name)
    expected = ELEMENTWISE[name](data).astype(np.float64)
    np.testing.assert_allclose(fn(tensor(data)).numpy(), expected, rtol=1e-12, atol=1e-15)
    assert sg.gradcheck(fn, tensor(data), tol=TOL)
    out = fn(data.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=2e-6, atol=1e-7)


def test_erf_matches_keras():
    # keras.ops.erf([-1, 0, 0.5, 2]) in Keras 3.15 (float32)
    got = ops.erf(np.array([-1.0, 0.0, 0.5, 2.0], np.float32)).numpy()
    np.testing.assert_allclose(got, [-0.8427007794380188, 0.0, 0.5204998850822449, 0.9953222870826721], rtol=1e-6)


def test_gelu_still_uses_erf(rng):
    x = away_from_zero(rng, (5,))
    expected = 0.5 * x * (1 + np.frompyfunc(math.erf, 1, 1)(x / np.sqrt(2)).astype(float))
    np.testing.assert_allclose(sg.activations.gelu(tensor(x)).numpy(), expected, rtol=1e-12)


def test_predicates_and_rounding():
    x = np.array([1.25, np.nan, np.inf, -np.inf, -2.5], np.float32)
    assert ops.isnan(x).numpy().tolist() == [False, True, False, False, False]
    assert ops.isinf(x).numpy().tolist() == [False, False, True, True, False]
    assert ops.isfinite(x).numpy().tolist() == [True, False, False, False, True]
    assert ops.isnan(x).dtype == bool
    np.testing.assert_allclose(ops.round(np.array([1.234, 2.567]), 1).numpy(), [1.2, 2.6], rtol=1e-6)
    assert ops.round(np.array([1.234], np.float32), 2).dtype == np.float32


# ---- comparisons and logic -----------------------------------------------------------------------
COMPARISONS = ["equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
               "logical_and", "logical_or", "logical_xor"]


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparisons_are_bool_masks_without_gradient(name, rng):
    a = tensor(rng.integers(-1, 2, (3, 4)))
    b = tensor(rng.integers(-1, 2, (4,)), requires_grad=False)  # broadcasts
    out = getattr(ops, name)(a, b)
    np.testing.assert_array_equal(out.numpy(), getattr(np, name)(a.numpy(), b.numpy()))
    assert out.dtype == bool and not out.requires_grad and out.creator is None
    assert getattr(ops, name)(a, 0.0).numpy().tolist() == getattr(np, name)(a.numpy(), 0.0).tolist()


def test_logic_and_reductions_match_keras():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    # Keras 3.15's results on the same inputs
    assert ops.logical_and(x, np.array([0, 1, 1, 0])).numpy().tolist() == [[False, True, True, False]] * 3
    assert ops.any(ops.greater(x, 7.0), axis=1).numpy().tolist() == [False, False, True]
    assert ops.all(x, axis=0, keepdims=True).numpy().tolist() == [[False, True, True, True]]
    assert ops.logical_not(np.array([0.0, 2.0])).numpy().tolist() == [True, False]
    assert ops.all(np.ones((2, 3))).numpy().item() is True
    assert ops.any(x, axis=[0, 1]).shape == ()


def test_not_equal_has_keras_signature_and_keeps_the_mask_dtype():
    x = sg.Tensor(np.array([0.0, 1.0, 2.0]), dtype="float32")
    assert ops.not_equal(x, 0).dtype == bool
    assert ops.not_equal(x, sg.Tensor(np.array([0.0, 0.0, 2.0]), dtype="float32")).numpy().tolist() == [False, True,
                                                                                                         False]
    mask = ops.not_equal(x, 0, "float32")
    assert mask.dtype == np.float32 and mask.numpy().tolist() == [0.0, 1.0, 1.0]


# ---- reductions and scans ------------------------------------------------------------------------
@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (-1, True), ((0, 2), False), ([0, 1], True)])
def test_prod(axis, keepdims, rng):
    data = away_from_zero(rng, (2, 3, 4))
    data[1, 2, 0] = 0.0  # a zero: d prod / d x must not divide by x
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    np.testing.assert_allclose(ops.prod(tensor(data), axis, keepdims).numpy(),
                               np.prod(data, axis=np_axis, keepdims=keepdims), rtol=1e-12)
    assert sg.gradcheck(lambda t: ops.prod(t, axis, keepdims), tensor(data), tol=TOL)


def test_prod_gradient_with_two_zeros():
    x = tensor([0.0, 2.0, 0.0, 3.0])
    ops.prod(x).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 0.0]
    y = tensor([0.0, 2.0, 5.0])
    ops.prod(y).backward()
    assert y.grad.tolist() == [10.0, 0.0, 0.0]


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumprod_and_cumsum(axis, rng):
    data = away_from_zero(rng, (3, 4))
    data[1, 1] = data[2, 0] = 0.0
    flat = data if axis is not None else data.reshape(-1)
    np.testing.assert_allclose(ops.cumprod(tensor(data), axis).numpy(), np.cumprod(flat, axis=axis or 0), rtol=1e-12)
    assert sg.gradcheck(lambda t: ops.cumprod(t, axis), tensor(data), tol=TOL)
    assert ops.cumprod(data.astype(np.float32), axis).dtype == np.float32
    assert ops.cumsum(np.arange(4), dtype="float32").dtype == np.float32


def test_cumprod_matches_keras():
    assert ops.cumprod(np.array([[1.0, 2.0], [3.0, 4.0]])).numpy().tolist() == [1.0, 2.0, 6.0, 24.0]


NORMS = [dict(), dict(axis=1), dict(axis=-1, keepdims=True), dict(axis=(0, 1)), dict(ord="fro"), dict(ord=2, axis=0),
         dict(ord=1, axis=1), dict(ord=np.inf, axis=1), dict(ord=-np.inf, axis=0), dict(ord=3, axis=1, keepdims=True),
         dict(ord=1.5, axis=0)]


@pytest.mark.parametrize("kwargs", NORMS, ids=str)
def test_norm(kwargs, rng):
    data = away_from_zero(rng, (3, 4))
    np.testing.assert_allclose(ops.norm(tensor(data), **kwargs).numpy(), np.linalg.norm(data, **kwargs), rtol=1e-12)
    assert sg.gradcheck(lambda t: ops.norm(t, **kwargs), tensor(data), tol=TOL)
    assert ops.norm(data.astype(np.float32), **kwargs).dtype == np.float32


def test_norm_matches_keras_and_has_a_zero_gradient_at_zero():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert ops.norm(x).numpy() == pytest.approx(22.494443893432617, rel=1e-6)
    np.testing.assert_allclose(ops.norm(x, axis=1).numpy(), [3.7416574954986572, 11.224971771240234,
                                                             19.131126403808594], rtol=1e-6)
    assert ops.norm(np.array([3, 4])).numpy() == 5.0 and ops.norm(np.array([3, 4])).dtype == np.float32
    zero = tensor(np.zeros(3))
    ops.norm(zero).backward()
    assert zero.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("axes, keepdims", [([0], False), ([0, 1], True), ((1, 2), False)])
def test_moments(axes, keepdims, rng):
    data = rng.standard_normal((3, 4, 2))
    mean, variance = ops.moments(tensor(data), axes, keepdims)
    np.testing.assert_allclose(mean.numpy(), data.mean(axis=tuple(axes), keepdims=keepdims), rtol=1e-12)
    np.testing.assert_allclose(variance.numpy(), data.var(axis=tuple(axes), keepdims=keepdims), rtol=1e-12)
    assert sg.gradcheck(lambda t: ops.moments(t, axes, keepdims)[1], tensor(data), tol=TOL)
    assert sg.gradcheck(lambda t: ops.moments(t, axes, keepdims)[0], tensor(data), tol=TOL)


def test_moments_match_keras():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    mean, variance = ops.moments(x, axes=[0])
    np.testing.assert_allclose(mean.numpy(), [4.0, 5.0, 6.0, 7.0])
    np.testing.assert_allclose(variance.numpy(), [10.666667] * 4, rtol=1e-6)
    assert variance.dtype == np.float32


# ---- clear errors -------------------------------------------------------------------------------
ERRORS = [
    (lambda: ops.norm(np.ones((3, 4)), ord=2), ValueError, "ord=2 for a matrix norm"),
    (lambda: ops.norm(np.ones(3), ord="nuc"), ValueError, "supports ord=None"),
    (lambda: ops.norm(np.ones(3), ord=0), ValueError, "supports ord=None"),
    (lambda: ops.norm(np.ones((2, 2, 2)), ord=2), ValueError, "needs a 1-D or 2-D x"),
    (lambda: ops.clip(np.ones(2)), ValueError, "x_min, x_max or both"),
    (lambda: ops.equal(sg.Tensor(np.ones(2), dtype="float32"), sg.Tensor(np.ones(2), dtype="float64")), TypeError,
     "never upcasts"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[m for _, _, m in ERRORS])
def test_bad_arguments_say_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_clip_takes_keras_argument_names():
    assert ops.clip(np.array([-2.0, 0.5, 3.0]), x_min=-1.0, x_max=1.0).numpy().tolist() == [-1.0, 0.5, 1.0]
