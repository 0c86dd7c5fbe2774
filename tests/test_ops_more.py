"""keras.ops beyond the basics: values against NumPy (and a few against Keras 3.15's own results),
gradients against central differences in float64, float32 kept, no gradient through masks and indices,
clear errors on bad arguments, and a training step using them replayed exactly as the graph runs it."""
import math
import sys

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L
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
         dict(ord=1.5, axis=0), dict(ord=1), dict(ord=-1, keepdims=True), dict(ord=np.inf), dict(ord=-np.inf),
         dict(ord=2), dict(ord=-2), dict(ord="nuc", keepdims=True)]  # the last seven: matrix norms


@pytest.mark.parametrize("ord", [1, -1, np.inf, -np.inf, 2, -2, "nuc", "fro"])
@pytest.mark.parametrize("axis", [(1, 2), (2, 0), (-1, -2)])
def test_matrix_norms_over_any_pair_of_axes(ord, axis, rng):
    data = away_from_zero(rng, (3, 4, 5))
    for keepdims in (False, True):
        out = ops.norm(tensor(data), ord, axis, keepdims).numpy()
        np.testing.assert_allclose(out, np.linalg.norm(data, ord, axis, keepdims), rtol=1e-12)
    assert sg.gradcheck(lambda t: ops.norm(t, ord, axis), tensor(data), tol=TOL)


@pytest.mark.parametrize("scipy", [True, False], ids=["scipy", "python"])
def test_erfc_and_erfinv_are_scipys(scipy, monkeypatch):
    special = pytest.importorskip("scipy.special")
    if not scipy:
        monkeypatch.setitem(sys.modules, "scipy.special", None)  # its import fails: Python's math computes them
    x = np.array([-3.0, -0.5, 0.0, 1e-9, 0.7, 5.0, 10.0])
    np.testing.assert_allclose(ops.erfc(tensor(x)).numpy(), special.erfc(x), rtol=1e-12, atol=0)
    y = np.array([-1.0, -0.999, -0.3, 0.0, 1e-9, 2e-6, 0.5, 0.9999, 1 - 1e-12, 1 - 1e-15, 1.0, 1.5])
    np.testing.assert_allclose(ops.erfinv(tensor(y)).numpy(), special.erfinv(y), rtol=1e-12, atol=0)
    assert ops.erfc(np.float32(10)).numpy() > 0  # 1 - erf(10) would be 0
    assert ops.erfinv(np.array([0.5], np.float32)).dtype == np.float32


def test_singular_values_pass_their_gradient(rng):
    data = tensor(rng.standard_normal((2, 4, 3)))
    assert sg.gradcheck(lambda t: ops.svd(t, compute_uv=False), data, tol=TOL)


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


# ---- indexing and sorting ------------------------------------------------------------------------
def test_take(rng):
    data = rng.standard_normal((3, 4))
    for indices, axis in [([0, 5, -1, 5], None), (np.array([[0, 3], [3, 3]]), 1), ([2, 0, 2], 0), ([1], -1)]:
        got = ops.take(tensor(data), indices, axis=axis)
        np.testing.assert_allclose(got.numpy(), np.take(data, indices, axis=axis))
        assert sg.gradcheck(lambda t: ops.take(t, indices, axis=axis), tensor(data), tol=TOL)
    x = tensor(data)
    ops.take(x, [2, 2, 2], axis=0).sum().backward()
    assert x.grad[2].tolist() == [3.0] * 4 and x.grad[:2].tolist() == [[0.0] * 4] * 2
    indices = sg.Tensor(np.array([1, 0]))
    assert not ops.take(x, indices, axis=1).creator.needs_grad[1]


def test_take_along_axis(rng):
    data = rng.standard_normal((3, 4))
    cases = [(np.array([[0], [3], [1]]), 1), (np.array([[0, 0, 2, 2]]), 0), (np.array([0, 11, 11]), None),
             (np.array([[3, 3, 0]]), -1)]  # the last broadcasts over rows, and repeats an index
    for indices, axis in cases:
        got = ops.take_along_axis(tensor(data), indices, axis=axis)
        source = data.reshape(-1) if axis is None else data
        np.testing.assert_allclose(got.numpy(), np.take_along_axis(source, indices, axis=axis or 0))
        assert sg.gradcheck(lambda t: ops.take_along_axis(t, indices, axis=axis), tensor(data), tol=TOL)
    # Keras 3.15: take_along_axis(arange(12).reshape(3, 4), [[0], [3], [1]], axis=1) = [[0], [7], [9]]
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert ops.take_along_axis(x, np.array([[0], [3], [1]]), axis=1).numpy().tolist() == [[0.0], [7.0], [9.0]]


@pytest.mark.parametrize("axis", [-1, 0])
def test_sort_and_argsort(axis, rng):
    data = rng.permutation(12).reshape(3, 4) / 3.0
    np.testing.assert_allclose(ops.sort(tensor(data), axis).numpy(), np.sort(data, axis=axis))
    np.testing.assert_array_equal(ops.argsort(tensor(data), axis).numpy(), np.argsort(data, axis=axis))
    assert sg.gradcheck(lambda t: ops.sort(t, axis), tensor(data), tol=TOL)
    order = ops.argsort(tensor(data), axis)
    assert order.dtype.kind == "i" and not order.requires_grad
    assert ops.argsort(np.array([1.0, 0.0, 1.0, 0.0])).numpy().tolist() == [1, 3, 0, 2]  # stable


def test_top_k(rng):
    data = rng.permutation(24).reshape(2, 3, 4) / 5.0
    values, indices = ops.top_k(tensor(data), 3)
    expected = np.argsort(-data, axis=-1)[..., :3]
    np.testing.assert_array_equal(indices.numpy(), expected)
    np.testing.assert_allclose(values.numpy(), np.take_along_axis(data, expected, -1))
    assert not indices.requires_grad and values.requires_grad
    assert sg.gradcheck(lambda t: ops.top_k(t, 3)[0], tensor(data), tol=TOL)
    # Keras 3.15: top_k([1, 3, 2, 3], 2) = ([3, 3], [1, 3]): ties in index order
    values, indices = ops.top_k(np.array([1.0, 3.0, 2.0, 3.0], np.float32), 2)
    assert values.numpy().tolist() == [3.0, 3.0] and indices.numpy().tolist() == [1, 3]
    assert values.dtype == np.float32
    assert ops.top_k(np.array([1.0, np.nan, 2.0]), 1)[1].numpy().tolist() == [1]  # NaN counts as largest


def test_split_unstack_slice(rng):
    data = rng.standard_normal((3, 6))
    for pieces, expected in [(ops.split(tensor(data), 3, axis=1), np.split(data, 3, axis=1)),
                             (ops.split(tensor(data), [1, 4], axis=-1), np.split(data, [1, 4], axis=-1)),
                             (ops.unstack(tensor(data), axis=1), list(np.moveaxis(data, 1, 0))),
                             (ops.unstack(tensor(data), num=3), list(data))]:
        assert len(pieces) == len(expected)
        for got, want in zip(pieces, expected):
            np.testing.assert_array_equal(got.numpy(), want)
    def pieces_weighted(t):
        first, middle, last = ops.split(t, [1, 4], axis=1)
        return ops.concatenate([first * 3.0, middle * -2.0, last] + ops.split(t, 3, axis=1), axis=1)

    assert sg.gradcheck(pieces_weighted, tensor(data), tol=TOL)
    assert sg.gradcheck(lambda t: ops.unstack(t, axis=1)[2] * 2.0 - ops.unstack(t)[0][:3], tensor(data), tol=TOL)
    got = ops.slice(tensor(data), (1, 2), (2, 3))
    np.testing.assert_array_equal(got.numpy(), data[1:3, 2:5])
    assert sg.gradcheck(lambda t: ops.slice(t, [1, 2], [2, 3]), tensor(data), tol=TOL)
    # Keras 3.15: slice(arange(12).reshape(3, 4), (1, 1), (2, 2)) = [[5, 6], [9, 10]]
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert ops.slice(x, (1, 1), (2, 2)).numpy().tolist() == [[5.0, 6.0], [9.0, 10.0]]


def test_stop_gradient(rng):
    x = tensor(rng.standard_normal(3))
    y = ops.stop_gradient(x * 2.0)
    assert not y.requires_grad
    (ops.stop_gradient(x) * x).sum().backward()
    np.testing.assert_array_equal(x.grad, x.numpy())  # only the second factor passes a gradient


# ---- shapes -------------------------------------------------------------------------------------
SHAPE_OPS = {
    "flip_all": (lambda t: ops.flip(t), lambda a: np.flip(a)),
    "flip_axis": (lambda t: ops.flip(t, axis=1), lambda a: np.flip(a, 1)),
    "flip_axes": (lambda t: ops.flip(t, axis=[0, 2]), lambda a: np.flip(a, (0, 2))),
    "tril": (lambda t: ops.tril(t), np.tril),
    "tril_k": (lambda t: ops.tril(t, -1), lambda a: np.tril(a, -1)),
    "triu": (lambda t: ops.triu(t), np.triu),
    "triu_k": (lambda t: ops.triu(t, 2), lambda a: np.triu(a, 2)),
    "swapaxes": (lambda t: ops.swapaxes(t, 0, -1), lambda a: np.swapaxes(a, 0, -1)),
    "moveaxis": (lambda t: ops.moveaxis(t, 0, -1), lambda a: np.moveaxis(a, 0, -1)),
    "moveaxis_many": (lambda t: ops.moveaxis(t, [0, 1], [-1, -2]), lambda a: np.moveaxis(a, [0, 1], [-1, -2])),
    "roll": (lambda t: ops.roll(t, 1, 1), lambda a: np.roll(a, 1, 1)),
    "roll_back": (lambda t: ops.roll(t, -5, 2), lambda a: np.roll(a, -5, 2)),
    "roll_axes": (lambda t: ops.roll(t, (1, -2), (0, 2)), lambda a: np.roll(a, (1, -2), (0, 2))),
    "roll_flat": (lambda t: ops.roll(t, 7), lambda a: np.roll(a, 7)),
    "rot90": (lambda t: ops.rot90(t), np.rot90),
    "rot90_2": (lambda t: ops.rot90(t, 2), lambda a: np.rot90(a, 2)),
    "rot90_3_axes": (lambda t: ops.rot90(t, 3, (1, 2)), lambda a: np.rot90(a, 3, (1, 2))),
    "rot90_back": (lambda t: ops.rot90(t, -1, (2, 0)), lambda a: np.rot90(a, -1, (2, 0))),
    "fliplr": (ops.fliplr, np.fliplr), "flipud": (ops.flipud, np.flipud),
    "ravel": (ops.ravel, np.ravel), "copy": (ops.copy, np.copy),
    "diagonal": (lambda t: ops.diagonal(t, 1, 1, 2), lambda a: np.diagonal(a, 1, 1, 2)),
    "diagonal_below": (lambda t: ops.diagonal(t, -1, 2, 1), lambda a: np.diagonal(a, -1, 2, 1)),
    "broadcast_to": (lambda t: ops.broadcast_to(t[:, :1], (3, 2, 3, 4)),
                     lambda a: np.broadcast_to(a[:, :1], (3, 2, 3, 4))),
    "hstack": (lambda t: ops.hstack([t, t[:, :1]]), lambda a: np.hstack([a, a[:, :1]])),
    "vstack": (lambda t: ops.vstack([t[0, 0], t[1, 2]]), lambda a: np.vstack([a[0, 0], a[1, 2]])),
    "dstack": (lambda t: ops.dstack([t[0], t[1]]), lambda a: np.dstack([a[0], a[1]])),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(name, rng):
    fn, reference = SHAPE_OPS[name]
    data = rng.standard_normal((2, 3, 4))
    np.testing.assert_array_equal(fn(tensor(data)).numpy(), reference(data))
    assert sg.gradcheck(fn, tensor(data), tol=TOL)
    assert fn(data.astype(np.float32)).dtype == np.float32


# ---- contractions -------------------------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ij,kj", [(3, 4), (2, 4)]),  # implicit output: ik
    ("ba", [(3, 4)]),  # implicit output: the transpose
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->j", [(3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("...j,j->...", [(2, 3, 4), (4,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),  # ellipses of different lengths
    ("ij,ij->ij", [(3, 1), (1, 4)]),  # NumPy broadcasts named axes of size 1
    ("ij,jk->i", [(3, 4), (4, 5)]),  # k is summed out of the second operand alone
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
]


@pytest.mark.parametrize("subscripts, shapes", EINSUMS, ids=[s for s, _ in EINSUMS])
def test_einsum(subscripts, shapes, rng):
    data = [rng.standard_normal(s) for s in shapes]
    np.testing.assert_allclose(ops.einsum(subscripts, *[tensor(d) for d in data]).numpy(),
                               np.einsum(subscripts, *data), rtol=1e-12, atol=1e-12)
    assert sg.gradcheck(lambda *ts: ops.einsum(subscripts, *ts), *[tensor(d) for d in data], tol=TOL)
    assert ops.einsum(subscripts, *[d.astype(np.float32) for d in data]).dtype == np.float32


def test_einsum_matches_keras():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert ops.einsum("ij,kj->ik", x, x).numpy().tolist() == [[14, 38, 62], [38, 126, 214], [62, 214, 366]]
    assert ops.einsum("...j,j->...", x, np.ones(4, np.float32)).numpy().tolist() == [6.0, 22.0, 38.0]


DOTS = [[(), (3,)], [(4,), (4,)], [(3, 4), (4,)], [(3, 4), (4, 2)], [(2, 3, 4), (4,)], [(2, 3, 4), (5, 4, 2)],
        [(4,), (4, 2)]]


@pytest.mark.parametrize("shapes", DOTS, ids=str)
def test_dot(shapes, rng):
    a, b = (rng.standard_normal(s) for s in shapes)
    np.testing.assert_allclose(ops.dot(tensor(a), tensor(b)).numpy(), np.dot(a, b), rtol=1e-12)
    assert sg.gradcheck(ops.dot, tensor(a), tensor(b), tol=TOL)


TENSORDOTS = [(2, (3, 4, 2), (4, 2, 5)), (1, (3, 4, 2), (2, 5)), (0, (3, 2), (4,)), (([1], [0]), (3, 4, 2), (4, 5)),
              (([0, 2], [1, 0]), (3, 4, 2), (2, 3, 5)), ((2, 1), (3, 4, 2), (3, 2, 5))]


@pytest.mark.parametrize("axes, shape_a, shape_b", TENSORDOTS, ids=str)
def test_tensordot(axes, shape_a, shape_b, rng):
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    np.testing.assert_allclose(ops.tensordot(tensor(a), tensor(b), axes).numpy(), np.tensordot(a, b, axes), rtol=1e-12)
    assert sg.gradcheck(lambda x, y: ops.tensordot(x, y, axes), tensor(a), tensor(b), tol=TOL)


# ---- clear errors -------------------------------------------------------------------------------
ERRORS = [
    (lambda: ops.split(np.ones((3, 4)), 3, axis=1), ValueError, "size 4 cannot be split into 3"),
    (lambda: ops.split(np.ones((3, 4)), 2, axis=2), ValueError, "axis 2 is out of range"),
    (lambda: ops.take(np.ones(3), np.array([0.0, 1.0])), TypeError, "integer indices, got dtype float"),
    (lambda: ops.take_along_axis(np.ones((3, 4)), np.array([0, 1]), axis=1), ValueError, "as many axes as x"),
    (lambda: ops.slice(np.ones((3, 4)), (2, 0), (2, 4)), ValueError, "does not fit"),
    (lambda: ops.slice(np.ones((3, 4)), (0,), (2,)), ValueError, "one start index and one size per axis"),
    (lambda: ops.norm(np.ones((3, 4)), ord=3), ValueError, "ord=3 for a matrix norm"),
    (lambda: ops.norm(np.ones(3), ord="nuc"), ValueError, "supports ord=None"),
    (lambda: ops.norm(np.ones(3), ord=0), ValueError, "supports ord=None"),
    (lambda: ops.norm(np.ones((2, 2, 2)), ord=2), ValueError, "needs a 1-D or 2-D x"),
    (lambda: ops.einsum("ij,jk->ik", np.ones((2, 2))), ValueError, "name 2 operands, got 1"),
    (lambda: ops.einsum("ii->i", np.ones((2, 2))), ValueError, "repeated letters"),
    (lambda: ops.einsum("ijk", np.ones((2, 2))), ValueError, "has 2 dimensions"),
    (lambda: ops.top_k(np.ones(3), 4), ValueError, "k between 0 and the last axis's size, got k=4"),
    (lambda: ops.tril(np.ones(3)), ValueError, "at least 2 dimensions"),
    (lambda: ops.moveaxis(np.ones((2, 3)), [0, 1], [1]), ValueError, "as many destinations as sources"),
    (lambda: ops.tensordot(np.ones((2, 3)), np.ones((2, 3)), 1), ValueError, "differ in size"),
    (lambda: ops.unstack(np.ones((2, 3)), num=3), ValueError, "num=3 but axis 0 has size 2"),
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


# ---- a training step built from them replays as the graph runs it ----------------------------------
class NewOps(L.Layer):
    """Masks, indices and sorted values recomputed per batch: a replayed step must not bake them in."""

    def call(self, x, training=False):
        top, indices = ops.top_k(x, 2)
        mask = ops.astype(ops.greater(x, 0.0), x.dtype)
        picked = ops.take_along_axis(x, indices, axis=-1)
        first, second = ops.split(x, 2, axis=-1)
        scores = ops.einsum("bi,bi->b", first, ops.flip(second, axis=1))
        columns = [top, picked * 0.5, ops.sin(x) * mask, ops.cumprod(ops.tanh(x), axis=1),
                   ops.expand_dims(ops.norm(x, axis=-1), -1), ops.expand_dims(scores, -1),
                   ops.take(x, sg.Tensor(np.array([3, 0])), axis=1)]
        return ops.concatenate(columns, axis=-1)


def test_a_step_of_new_ops_replays_like_the_graph(rng):
    x, y = rng.standard_normal((12, 4)), rng.integers(0, 3, 12)
    runs = []
    for eager in (False, True):
        sg.set_seed(3)
        sg.set_floatx("float64")
        try:
            model = sg.Sequential([L.Input(shape=(4,)), L.Dense(4), NewOps(), L.Dense(3, activation="softmax")])
        finally:
            sg.set_floatx("float32")
        model.compile(optimizer=sg.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", run_eagerly=eager)
        losses = [model.train_on_batch(x[i:i + 4], y[i:i + 4]) for i in (0, 4, 8, 0)]
        if not eager:
            assert len(model._plans) == 1  # the later steps were replays of one recorded plan
        runs.append((losses, model.get_weights()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-12)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def f64():
    return ops.convert_to_tensor(np.ones((2, 3)), "float64")


# Keras 3.15.1 gives float64 for each: the dtype asked for, or (the _like forms) the input's
CONSTRUCTORS_KEEP_FLOAT64 = {
    "zeros": lambda: ops.zeros((2, 3), "float64"), "ones": lambda: ops.ones((2, 3), "float64"),
    "eye": lambda: ops.eye(3, dtype="float64"), "full": lambda: ops.full((2, 3), 0.5, "float64"),
    "zeros_like": lambda: ops.zeros_like(f64()),
    "ones_like": lambda: ops.ones_like(f64()),
    "full_like": lambda: ops.full_like(f64(), 0.5),
    "zeros_like asked": lambda: ops.zeros_like(ops.ones((2, 3)), dtype="float64"),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS_KEEP_FLOAT64))
def test_constructors_keep_a_requested_or_inherited_float64(name):
    # the Tensor constructor turns float64 into floatx unless told the dtype: these were float32
    assert ops.convert_to_numpy(CONSTRUCTORS_KEEP_FLOAT64[name]()).dtype == np.float64


def test_convert_to_tensor_keeps_an_array_s_dtype_as_keras():
    """Keras 3.15: a float64 or int64 NumPy array keeps its dtype; Python floats become float32."""
    assert ops.convert_to_tensor(np.ones(2)).dtype == np.float64
    assert ops.convert_to_tensor(np.ones(2, np.int64)).dtype == np.int64
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == np.float32
    assert ops.convert_to_tensor(np.ones(2), "float32").dtype == np.float32


def test_a_mask_made_by_convert_to_tensor_is_replayed_by_the_step_plan():
    """convert_to_tensor(t, dtype) on a Tensor is a recorded cast: the plan recomputes the where() condition
    from each batch (a new unrecorded Tensor was baked into the plan as the first batch's), and the
    gradient flows through the cast."""
    class PositivePart(L.Layer):
        def call(self, x):
            keep = ops.convert_to_tensor(ops.greater(x, 0.0), "bool")
            return ops.where(keep, ops.convert_to_tensor(x, "float32"), 0.0)

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)).astype(np.float32), rng.standard_normal((16, 1)).astype(np.float32)

    def losses(eager):
        sg.set_seed(0)
        inputs = sg.Input((3,))
        model = sg.Model(inputs, L.Dense(1)(PositivePart()(L.Dense(4)(inputs))))
        model.compile("sgd", "mse", run_eagerly=eager)
        return model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]

    np.testing.assert_allclose(losses(False), losses(True), rtol=1e-6)


def test_pad_takes_keras_s_arguments_and_passes_the_gradient_back():
    x = sg.Tensor(np.array([[1.0, 2.0]]), dtype="float64", requires_grad=True)
    np.testing.assert_array_equal(sg.ops.pad(x, [(0, 0), (1, 1)], "constant").numpy(), [[0, 1, 2, 0]])
    np.testing.assert_array_equal(sg.ops.pad(x, [(0, 0), (1, 1)], constant_values=None).numpy(), [[0, 1, 2, 0]])
    padded = sg.ops.pad(x, [(1, 0), (0, 2)], constant_values=-np.inf)
    np.testing.assert_array_equal(padded.numpy(), [[-np.inf] * 4, [1, 2, -np.inf, -np.inf]])
    sg.ops.pad(x, [(1, 0), (0, 2)], constant_values=-1.5).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 1]])
    with pytest.raises(ValueError, match="'constant', 'reflect', 'symmetric', 'edge' or 'wrap', got 'mean'"):
        sg.ops.pad(x, [(0, 0), (1, 1)], mode="mean")


def test_vectorize_is_numpys_for_tensors(rng):
    def branchy(a, b):  # Python's own `if`: why vectorize exists
        return a + b if a > b else a - b

    a, b = rng.standard_normal(3), rng.standard_normal((2, 1))
    np.testing.assert_allclose(ops.vectorize(branchy)(tensor(a), tensor(b)).numpy(), np.vectorize(branchy)(a, b))
    dot = ops.vectorize(lambda u, v: ops.sum(u * v), signature="(n),(n)->()")
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(dot(tensor(x), tensor(y)).numpy(), x @ y, rtol=1e-12)
    matvec = ops.vectorize(ops.matmul, signature="(m,n),(n)->(m)")
    assert matvec(tensor(x), tensor(y)).shape == (2, 3)
    halves = ops.vectorize(lambda v, scale: (v * scale, v + scale), excluded={1})(tensor(y), 2.0)
    np.testing.assert_allclose([h.numpy() for h in halves], [y * 2, y + 2])
    assert sg.gradcheck(lambda u: dot(u, tensor(y)), tensor(x), tol=TOL)
    with pytest.raises(ValueError, match="names 2 inputs, got 1"):
        dot(tensor(y))
    with pytest.raises(ValueError, match="fewer axes than its core"):
        ops.vectorize(ops.sum, signature="(m,n)->()")(tensor(y))
    with pytest.raises(ValueError, match="core dimension 'n' is 4 in one input and 3 in input 1"):
        dot(tensor(x), tensor(y[:3]))
    with pytest.raises(ValueError, match="not a signature"):
        ops.vectorize(dot, signature="(n)")


@pytest.mark.parametrize("shape", [(4, 4), (3, 5, 5), (6, 4), (4, 6)])
def test_lu_factor_is_scipys(shape, rng):
    linalg = pytest.importorskip("scipy.linalg")
    a = rng.standard_normal(shape)
    lu, pivots = ops.linalg.lu_factor(tensor(a))
    for k, matrix in enumerate(a.reshape((-1,) + shape[-2:])):
        expected_lu, expected_pivots = linalg.lu_factor(matrix)
        np.testing.assert_allclose(lu.numpy().reshape((-1,) + shape[-2:])[k], expected_lu, atol=1e-12)
        np.testing.assert_array_equal(pivots.numpy().reshape(-1, min(shape[-2:]))[k], expected_pivots)
    assert pivots.dtype == np.int32 and ops.lu_factor(a.astype(np.float32))[0].dtype == np.float32
    singular = ops.lu_factor(np.array([[1.0, 2.0], [2.0, 4.0]]))[0].numpy()
    np.testing.assert_array_equal(singular, [[2.0, 4.0], [0.5, 0.0]])  # a zero pivot divides nothing


def test_cholesky_and_eigh_pass_their_gradients(rng):
    """The gradient with respect to the entries LAPACK reads (the lower triangle), so central differences of
    each entry agree; an eigenvector's sign is fixed by its first entry (numpy may flip it)."""
    b = rng.standard_normal((2, 4, 4))
    a = tensor(b @ b.swapaxes(-1, -2) + 4 * np.eye(4))
    weights = tensor(rng.standard_normal((2, 4, 4)))
    assert sg.gradcheck(lambda x: ops.cholesky(x) * weights, a, tol=TOL)
    assert sg.gradcheck(lambda x: ops.cholesky(x, upper=True) * weights, a, tol=TOL)
    assert sg.gradcheck(lambda x: ops.eigh(x)[0], a, tol=TOL)
    assert sg.gradcheck(lambda x: ops.eigh(x)[1] * ops.sign(ops.eigh(x)[1][..., :1, :]), a, tol=TOL)
    x = tensor(b[0] @ b[0].T + 4 * np.eye(4))
    ops.sum(ops.eigh(x)[0] * np.arange(4.0)).backward()
    assert np.all(x.grad[np.triu_indices(4, 1)] == 0)  # entries LAPACK does not read: no gradient reaches them


@pytest.mark.parametrize("shape, mode", [((5, 3), "reduced"), ((2, 4, 4), "complete"), ((4, 4), "reduced")])
def test_qr_passes_its_gradient_where_r_is_square(shape, mode, rng):
    a, weights = tensor(rng.standard_normal(shape)), rng.standard_normal(shape)
    q_weights = tensor(weights if mode == "reduced" or shape[-2] == shape[-1] else rng.standard_normal(shape))
    r_weights = tensor(rng.standard_normal(shape[:-2] + (shape[-1], shape[-1])))
    assert sg.gradcheck(lambda x: ops.sum(ops.qr(x, mode)[0] * q_weights) + ops.sum(ops.qr(x, mode)[1] * r_weights),
                        a, tol=TOL)
    wide = tensor(rng.standard_normal((3, 5)))
    with pytest.raises(NotImplementedError, match="only where R is square"):
        ops.sum(ops.qr(wide)[1]).backward()
