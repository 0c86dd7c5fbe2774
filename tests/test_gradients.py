"""Every primitive and loss: backprop against central differences in float64, on random shapes."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import scratchgrad as sg
from scratchgrad import functional as F

TOL = 1e-6


def tensor(values, requires_grad=True):
    return sg.Tensor(np.asarray(values, dtype=np.float64), dtype="float64", requires_grad=requires_grad)


def away_from_zero(rng, shape, low=0.2, high=2.0):
    """Values with |x| in [low, high]: no kinks of relu/abs/max within eps."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)

UNARY = {
    "neg": (lambda x: -x, "any"),
    "exp": (sg.ops.exp, "any"),
    "log": (sg.ops.log, "positive"),
    "sqrt": (sg.ops.sqrt, "positive"),
    "abs": (sg.ops.abs, "any"),
    "clip": (lambda x: x.clip(-1.0, 1.0), "any"),
    "sigmoid": (F.sigmoid, "any"),
    "tanh": (F.tanh, "any"),
    "relu": (F.relu, "any"),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), "any"),
    "elu": (F.elu, "any"),
    "softplus": (F.softplus, "any"),
    "softmax": (F.softmax, "any"),
    "log_softmax": (F.log_softmax, "any"),
    "softmax_axis0": (lambda x: F.softmax(x, axis=0), "any"),
    "astype": (lambda x: x.astype("float64") * 2, "any"),
    "pow_scalar": (lambda x: x**3, "any"),
    "rpow": (lambda x: 2.0**x, "any"),
    "reshape": (lambda x: x.reshape(-1) * sg.Tensor(np.arange(x.size, dtype=np.float64), dtype="float64"), "any"),
    "transpose": (lambda x: x.T, "any"),
    "flatten": (lambda x: x.flatten(), "any"),
    "expand_squeeze": (lambda x: x.expand_dims(0).squeeze(0), "any"),
    "sum": (lambda x: x.sum(), "any"),
    "sum_axis": (lambda x: x.sum(axis=-1, keepdims=True), "any"),
    "mean": (lambda x: x.mean(axis=0), "any"),
    "max": (lambda x: x.max(axis=-1), "distinct"),
    "min_all": (lambda x: x.min(), "distinct"),
    "max_keepdims": (lambda x: x.max(axis=0, keepdims=True), "distinct"),
    "getitem_slice": (lambda x: x[::2], "any"),
    "getitem_repeat": (lambda x: x[np.array([0, 0, -1])], "any"),
    "getitem_mask": (lambda x: x[x.data > 0], "any"),
    "sin": (sg.ops.sin, "any"),
    "cos": (sg.ops.cos, "any"),
    "arctan": (sg.ops.arctan, "any"),
    "sinh": (sg.ops.sinh, "any"),
    "cosh": (sg.ops.cosh, "any"),
    "erf": (sg.ops.erf, "any"),
    "erfc": (sg.ops.erfc, "any"),
    "erfinv": (sg.ops.erfinv, "unit"),
    "expm1": (sg.ops.expm1, "any"),
    "log1p": (sg.ops.log1p, "positive"),
    "prod": (lambda x: sg.ops.prod(x, axis=0), "any"),
    "cumprod": (lambda x: sg.ops.cumprod(x, axis=-1), "any"),
    "norm": (lambda x: sg.ops.norm(x, axis=-1), "any"),
    "flip": (sg.ops.flip, "any"),
    "sort": (lambda x: sg.ops.sort(x, axis=0), "distinct"),
    "moveaxis": (lambda x: sg.ops.moveaxis(x, 0, -1), "any"),
}


def values_for(kind, shape, rng):
    if kind == "unit":
        return rng.uniform(-0.9, 0.9, shape)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "distinct":
        return rng.permutation(np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape) / 3 + 0.1
    return away_from_zero(rng, shape)


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_unary(name, shape, seed):
    fn, kind = UNARY[name]
    x = tensor(values_for(kind, shape, np.random.default_rng(seed)))
    assert sg.gradcheck(fn, x, tol=TOL)


BINARY = {
    "add": (lambda a, b: a + b, "any"),
    "sub": (lambda a, b: a - b, "any"),
    "mul": (lambda a, b: a * b, "any"),
    "div": (lambda a, b: a / b, "any"),
    "pow": (lambda a, b: a**b, "positive"),
    "maximum": (sg.ops.maximum, "any"),
    "minimum": (sg.ops.minimum, "any"),
    "where": (lambda a, b: sg.where(a.data > 0, a, b), "any"),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=pairs, seed=st.integers(0, 2**16))
def test_binary_broadcasting(name, shapes, seed):
    fn, kind = BINARY[name]
    rng = np.random.default_rng(seed)
    a, b = (tensor(values_for(kind, s, rng)) for s in shapes.input_shapes)
    result = sg.gradcheck(fn, a, b, tol=TOL)
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    assert result


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                    ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2))])
def test_matmul(shapes, rng):
    a, b = (tensor(rng.standard_normal(s)) for s in shapes)
    assert sg.gradcheck(lambda a, b: a @ b, a, b, tol=TOL)


def test_concatenate_stack(rng):
    a, b = tensor(rng.standard_normal((2, 3))), tensor(rng.standard_normal((4, 3)))
    assert sg.gradcheck(lambda a, b: sg.concatenate([a, b], axis=0), a, b, tol=TOL)
    c = tensor(rng.standard_normal((2, 3)))
    assert sg.gradcheck(lambda a, c: sg.stack([a, c], axis=1), a, c, tol=TOL)


def test_prelu_alpha_is_learnable(rng):
    x = tensor(away_from_zero(rng, (5, 3)))
    alpha = tensor(np.full(3, 0.25))
    assert sg.gradcheck(F.prelu, x, alpha, tol=TOL)
    assert np.any(alpha.grad != 0)


def test_linear(rng):
    x, W, b = tensor(rng.standard_normal((4, 5))), tensor(rng.standard_normal((5, 3))), tensor(rng.standard_normal(3))
    assert sg.gradcheck(F.linear, x, W, b, tol=TOL)
    assert sg.gradcheck(lambda x, W: F.linear(x, W), x, W, tol=TOL)


def test_step_passes_no_gradient():
    x = tensor([-1.0, 2.0, 3.0])
    y = F.step(x)
    np.testing.assert_array_equal(y.data, [0, 1, 1])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, 0)


LOSSES = {
    "cross_entropy_labels": (F.cross_entropy, "labels"),
    "cross_entropy_probs": (F.cross_entropy, "probs"),
    "cross_entropy_unnormalized_rows": (F.cross_entropy, "soft"),
    "binary_cross_entropy": (F.binary_cross_entropy, "binary_probs"),
    "binary_cross_entropy_with_logits": (F.binary_cross_entropy_with_logits, "binary"),
    "mse": (F.mse, "real"),
    "sse": (F.sse, "real"),
    "mae": (F.mae, "real"),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses(name, reduction, rng):
    fn, kind = LOSSES[name]
    shape = (6, 4)
    x = tensor(rng.standard_normal(shape))
    if kind == "labels":
        target = rng.integers(0, 4, 6)
    elif kind == "probs":
        target = rng.dirichlet(np.ones(4), 6)
    elif kind == "soft":
        target = rng.uniform(0.1, 1.0, shape)  # rows need not sum to 1: the gradient is y·Σt - t
    elif kind.startswith("binary"):
        target = rng.integers(0, 2, shape).astype(np.float64)
        if kind == "binary_probs":
            x = tensor(rng.uniform(0.05, 0.95, shape))
    else:
        target = away_from_zero(rng, shape) + x.data
    assert sg.gradcheck(lambda x: fn(x, target, reduction=reduction), x, tol=TOL)


def test_dropout_with_fixed_mask(rng):
    x = tensor(rng.standard_normal((4, 5)))
    mask = rng.random((4, 5)) > 0.3
    assert sg.gradcheck(lambda x: F.dropout(x, 0.3, mask=mask), x, tol=TOL)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 3, 2)])
def test_batch_norm_training_and_eval(shape, rng):
    x = tensor(rng.standard_normal(shape) * 2 + 1)
    gamma, beta = tensor(rng.uniform(0.5, 1.5, shape[-1])), tensor(rng.standard_normal(shape[-1]))
    assert sg.gradcheck(lambda x, g, b: F.batch_norm(x, g, b), x, gamma, beta, tol=TOL)
    mean, var = rng.standard_normal(shape[-1]), rng.uniform(0.5, 2, shape[-1])
    assert sg.gradcheck(lambda x, g, b: F.batch_norm(x, g, b, mean=mean, var=var), x, gamma, beta, tol=TOL)
