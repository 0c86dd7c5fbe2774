"""The rest of keras.ops that Keras code reaches for: NumPy's names (elementwise math, shapes, diagonals,
grids), writes into tensors (scatter, scatter_update, slice_update, segment_sum) and the nn namespace
(cross-entropies, normalizations, dot_product_attention, pooling, in_top_k, multi_hot). Values against
NumPy, or against Keras 3.15.1's own results (torch backend, pasted below), gradients against central
differences in float64, float32 kept, and a training step using them replayed exactly as the graph runs it."""
import numpy as np
import pytest
from layer_checks import assert_trains_the_same_planned_and_eager

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad import ops

TOL = 1e-6


def tensor(values):
    return sg.Tensor(np.asarray(values, dtype=np.float64), dtype="float64", requires_grad=True)


def f32(values):
    return np.asarray(values, np.float32)


# ---- elementwise: (NumPy's function, the interval the test draws from) -------------------------------
ELEMENTWISE = {
    "arcsin": (np.arcsin, (-0.9, 0.9)), "arccos": (np.arccos, (-0.9, 0.9)), "arcsinh": (np.arcsinh, (-2, 2)),
    "arccosh": (np.arccosh, (1.2, 3)), "arctanh": (np.arctanh, (-0.9, 0.9)), "log2": (np.log2, (0.2, 3)),
    "log10": (np.log10, (0.2, 3)), "exp2": (np.exp2, (-2, 2)), "cbrt": (np.cbrt, (0.2, 3)),
    "reciprocal": (np.reciprocal, (0.2, 3)), "deg2rad": (np.deg2rad, (-90, 90)), "rad2deg": (np.rad2deg, (-2, 2)),
    "absolute": (np.abs, (0.2, 3)), "fabs": (np.fabs, (0.2, 3)),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_values_gradients_and_float32(name, rng):
    reference, (low, high) = ELEMENTWISE[name]
    data = rng.uniform(low, high, (3, 4))
    if name in ("cbrt", "reciprocal", "absolute", "fabs"):
        data *= rng.choice([-1.0, 1.0], data.shape)  # both signs, away from zero
    fn = getattr(ops, name)
    np.testing.assert_allclose(fn(tensor(data)).numpy(), reference(data), rtol=1e-12, atol=1e-15)
    assert sg.gradcheck(fn, tensor(data), tol=TOL)
    out = fn(data.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), reference(data), rtol=2e-6, atol=1e-6)


def test_two_argument_math(rng):
    a, b = rng.uniform(-3, 3, (2, 3)), rng.uniform(-3, 3, (3,))
    np.testing.assert_allclose(ops.hypot(tensor(a), tensor(b)).numpy(), np.hypot(a, b), rtol=1e-12)
    np.testing.assert_allclose(ops.logaddexp(tensor(a), tensor(b)).numpy(), np.logaddexp(a, b), rtol=1e-12)
    assert sg.gradcheck(ops.hypot, tensor(a), tensor(b), tol=TOL)
    assert sg.gradcheck(ops.logaddexp, tensor(a), tensor(b), tol=TOL)
    big = ops.logaddexp(f32([1000.0, 0.0]), f32([1000.0, 1.0])).numpy()
    np.testing.assert_allclose(big, [1000.6931762695312, 1.3132617473602295], rtol=1e-7)  # Keras's; no overflow
    np.testing.assert_array_equal(ops.true_divide(f32([3.0]), f32([2.0])).numpy(), [1.5])


def test_predicates_rounding_and_counts():
    x = f32([-1.5, -0.0, 0.7, np.inf, -np.inf, np.nan])
    assert ops.trunc(x).numpy().tolist()[:3] == [-1.0, 0.0, 0.0]
    assert ops.signbit(x).numpy().tolist()[:3] == [True, True, False]
    assert ops.isposinf(x).numpy().tolist() == [False, False, False, True, False, False]
    assert ops.isneginf(x).numpy().tolist() == [False, False, False, False, True, False]
    assert ops.count_nonzero(np.array([[0, 1], [2, 0]]), axis=0).numpy().tolist() == [1, 1]  # Keras's
    assert int(ops.count_nonzero(np.array([[0, 1], [2, 3]]))) == 3
    m = f32([[1.0, 5.0, -2.0], [0.5, 0.5, 0.5]])
    assert ops.ptp(m, axis=1).numpy().tolist() == [7.0, 0.0]
    assert ops.amax(m, axis=0).numpy().tolist() == [1.0, 5.0, 0.5] and float(ops.amin(m)) == -2.0
    t = tensor(m)
    assert sg.gradcheck(lambda t: ops.ptp(t, axis=1), t, tol=TOL)


def test_nan_to_num_matches_keras_and_passes_the_gradient_where_finite():
    got = ops.nan_to_num(f32([np.nan, np.inf, -np.inf, 1.0]), nan=1.5, posinf=9.0).numpy()
    assert got.tolist() == [1.5, 9.0, -3.4028234663852886e+38, 1.0]
    x = sg.Tensor(np.array([np.nan, 2.0, np.inf]), dtype="float64", requires_grad=True)
    ops.sum(ops.nan_to_num(x) * 0.5).backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.0]


# ---- shapes (the ones with a NumPy twin are in test_ops_more.py's SHAPE_OPS) ----------------------------
def test_diag_trace_tri_outer_inner(rng):
    v, m, cube = rng.standard_normal(3), rng.standard_normal((3, 4)), rng.standard_normal((2, 3, 4))
    for k in (0, 1, -2):
        np.testing.assert_array_equal(ops.diag(tensor(v), k).numpy(), np.diag(v, k))
        np.testing.assert_array_equal(ops.diag(tensor(m), k).numpy(), np.diag(m, k))
    assert sg.gradcheck(lambda t: ops.diag(t, 1), tensor(v), tol=TOL)
    np.testing.assert_allclose(ops.trace(tensor(cube), 1, 0, 2).numpy(), np.trace(cube, 1, 0, 2), rtol=1e-12)
    assert sg.gradcheck(lambda t: ops.trace(t, axis1=1, axis2=2), tensor(cube), tol=TOL)
    np.testing.assert_array_equal(ops.tri(3, 4, 1).numpy(), np.tri(3, 4, 1, np.float32))
    np.testing.assert_allclose(ops.outer(tensor(v), tensor(m)).numpy(), np.outer(v, m), rtol=1e-12)
    np.testing.assert_allclose(ops.inner(tensor(cube), tensor(m)).numpy(), np.inner(cube, m), rtol=1e-12)
    assert sg.gradcheck(ops.outer, tensor(v), tensor(m), tol=TOL)
    assert sg.gradcheck(ops.inner, tensor(cube), tensor(m), tol=TOL)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
def test_meshgrid(indexing):
    xs = [np.arange(n, dtype=np.float32) for n in (2, 3, 4)]
    for got, expected in zip(ops.meshgrid(*xs, indexing=indexing), np.meshgrid(*xs, indexing=indexing)):
        np.testing.assert_array_equal(got.numpy(), expected)


def test_what_a_tensor_is():
    x = np.zeros((2, 3))
    assert (ops.size(x), ops.ndim(x), ops.dtype(x)) == (6, 2, "float64")  # Keras's dtype for this array
    assert ops.dtype(ops.ones(2)) == "float32" and ops.dtype(np.zeros(2, bool)) == "bool"
    assert ops.is_tensor(ops.ones(2)) and not ops.is_tensor(x)
    assert ops.array([1.0, 2.0]).dtype == np.float32 and ops.array(x, "float16").dtype == np.float16


# ---- writes into tensors -----------------------------------------------------------------------------
def test_scatter_adds_repeats_as_keras_and_its_gradient_reads_back(rng):
    indices = np.array([[0, 1], [0, 1], [2, 0]])
    got = ops.scatter(indices, f32([1.0, 2.0, 3.0]), (3, 2)).numpy()
    assert got.tolist() == [[0.0, 3.0], [0.0, 0.0], [3.0, 0.0]]  # Keras's
    rows = ops.scatter(np.array([[1], [0]]), f32([[1, 2], [3, 4]]), (3, 2)).numpy()
    assert rows.tolist() == [[3, 4], [1, 2], [0, 0]]
    weights = tensor(rng.standard_normal((3, 2)))
    assert sg.gradcheck(lambda v: ops.scatter(indices, v, (3, 2)) * weights, tensor([1.0, 2.0, 3.0]), tol=TOL)


def test_scatter_update_and_slice_update(rng):
    base, updates, corner = rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    expected = base.copy()
    expected[[3, 1]] = updates
    np.testing.assert_array_equal(ops.scatter_update(tensor(base), np.array([[3], [1]]), tensor(updates)).numpy(),
                                  expected)
    assert sg.gradcheck(lambda b, u: ops.scatter_update(b, np.array([[3], [1]]), u) ** 2, tensor(base),
                        tensor(updates), tol=TOL)
    entries = ops.scatter_update(f32(np.zeros((2, 2))), np.array([[0, 1], [1, 0]]), f32([5, 6])).numpy()
    assert entries.tolist() == [[0, 5], [6, 0]]
    block = base.copy()
    block[1:3, 1:3] = corner
    np.testing.assert_array_equal(ops.slice_update(tensor(base), (1, 1), tensor(corner)).numpy(), block)
    assert sg.gradcheck(lambda b, u: ops.slice_update(b, (1, 1), u) ** 2, tensor(base), tensor(corner), tol=TOL)


def test_segment_sum_matches_keras_and_drops_nothing_it_should_keep(rng):
    data = np.arange(8, dtype=np.float32).reshape(4, 2)
    got = ops.segment_sum(data, np.array([0, 0, 2, 1]), num_segments=3).numpy()
    assert got.tolist() == [[2.0, 4.0], [6.0, 7.0], [4.0, 5.0]]  # Keras's
    assert ops.segment_sum(data, np.array([0, 0, 2, 1])).shape == (3, 2)
    assert sg.gradcheck(lambda d: ops.segment_sum(d, np.array([1, 0, 1]), 2), tensor(rng.standard_normal((3, 2))),
                        tol=TOL)


# ---- the nn namespace, against Keras 3.15.1 -------------------------------------------------------------
X = f32([[0.5, -1.0, 2.0], [3.0, 0.25, -0.5]])
TARGETS = f32([[0, 1, 0], [1, 0, 0]])
PROBABILITIES = f32([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])

KERAS_NN = {
    "bce": (lambda: ops.binary_crossentropy(TARGETS, PROBABILITIES),
            [[0.2231435626745224, 0.3566749691963196, 0.10536051541566849],
             [0.5108255743980408, 0.3566749691963196, 0.10536051541566849]]),
    "bce_logits": (lambda: ops.binary_crossentropy(TARGETS, X, from_logits=True),
                   [[0.9740769863128662, 1.3132617473602295, 2.1269280910491943],
                    [0.04858735203742981, 0.825939416885376, 0.4740769863128662]]),
    "cce": (lambda: ops.categorical_crossentropy(TARGETS, PROBABILITIES), [0.3566749691963196, 0.5108255743980408]),
    "cce_logits": (lambda: ops.categorical_crossentropy(TARGETS, X, from_logits=True),
                   [3.2413113117218018, 0.08995520323514938]),
    "scce": (lambda: ops.sparse_categorical_crossentropy(np.array([1, 0]), PROBABILITIES),
             [0.3566749691963196, 0.5108255743980408]),
    "scce_logits": (lambda: ops.sparse_categorical_crossentropy(np.array([1, 0]), X, from_logits=True),
                    [3.2413113117218018, 0.08995520323514938]),
    "layer_normalization": (lambda: ops.layer_normalization(X, gamma=f32([1, 2, 0.5]), beta=f32([0, 1, -1])),
                            [[0.0, -1.4494895935058594, -0.38762760162353516],
                             [1.3846218585968018, 0.11384201049804688, -1.4707714319229126]]),
    "batch_normalization": (lambda: ops.batch_normalization(X, f32([1, 0, 0.5]), f32([2, 1, 4]), axis=1,
                                                            offset=f32([0.1, 0.2, 0.3]), scale=f32([1, 2, 3])),
                            [[-0.25346505641937256, -1.7990007400512695, 2.5497188568115234],
                             [1.5138602256774902, 0.6997501850128174, -1.199812650680542]]),
    "in_top_k": (lambda: ops.in_top_k(np.array([0, 1]), f32([[0.1, 0.9, 0.0], [0.5, 0.5, 0.1]]), 1),
                 [False, True]),
    "multi_hot": (lambda: ops.multi_hot(np.array([[0, 2], [1, 1]]), 4), [[1, 0, 1, 0], [0, 1, 0, 0]]),
    "max_pool_1d": (lambda: ops.max_pool(np.arange(12, dtype=np.float32).reshape(1, 6, 2), 2),
                    [[[2.0, 3.0], [6.0, 7.0], [10.0, 11.0]]]),
    "average_pool_same": (lambda: ops.average_pool(np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1), 3, 1,
                                                   "same")[0, ..., 0],
                          [[2.5, 3.0, 4.0, 4.5], [4.5, 5.0, 6.0, 6.5], [8.5, 9.0, 10.0, 10.5],
                           [10.5, 11.0, 12.0, 12.5]]),
}


@pytest.mark.parametrize("name", sorted(KERAS_NN))
def test_nn_ops_match_keras(name):
    make, expected = KERAS_NN[name]
    np.testing.assert_allclose(make().numpy(), expected, rtol=2e-6, atol=1e-7)


def attention_inputs():
    """Keras's test inputs: a query of two heads sharing one key and value head (grouped-query attention)."""
    q = f32([[[[0.1257302165031433, -0.13210485875606537], [0.6404226422309875, 0.10490011423826218]],
              [[-0.5356693863868713, 0.3615950644016266], [1.3040000200271606, 0.9470809698104858]],
              [[-0.7037352323532104, -1.2654215097427368], [-0.6232744455337524, 0.04132597893476486]]]])
    k = f32([[[[-2.32503080368042, -0.218791663646698]], [[-1.2459110021591187, -0.7322673797607422]],
              [[-0.5442590117454529, -0.3163001537322998]], [[0.4116305410861969, 1.042513370513916]]]])
    v = f32([[[[-0.12853465974330902, 1.3664634227752686]], [[-0.6651946902275085, 0.35151007771492004]],
              [[0.9034701585769653, 0.0940122976899147]], [[-0.7434992790222168, -0.9217253923416138]]]])
    return q, k, v


def test_dot_product_attention_matches_keras_with_a_mask_a_causal_mask_and_shared_heads():
    q, k, v = attention_inputs()
    masked = ops.dot_product_attention(q, k, v, mask=np.array([True, True, False, True])[None, None, None, :])
    np.testing.assert_allclose(masked.numpy(), [
        [[[-0.5289953947067261, 0.22120460867881775], [-0.6275056004524231, -0.2479075789451599]],
         [[-0.424736350774765, 0.5404358506202698], [-0.719543993473053, -0.7736376523971558]],
         [[-0.40120118856430054, 0.804353654384613], [-0.39874884486198425, 0.6736788749694824]]]], rtol=2e-6)
    causal = ops.dot_product_attention(q, k, v, is_causal=True, scale=0.5)
    np.testing.assert_allclose(causal.numpy(), [
        [[[-0.12853465974330902, 1.3664634227752686], [-0.12853465974330902, 1.3664634227752686]],
         [[-0.3462459146976471, 0.9547190070152283], [-0.4575701951980591, 0.744178056716919]],
         [[-0.09729133546352386, 0.6968637108802795], [-0.03557586669921875, 0.7319889664649963]]]], rtol=2e-6)
    assert sg.gradcheck(lambda q, k, v: ops.dot_product_attention(q, k, v, is_causal=True),
                        *(tensor(a) for a in (q, k, v)), tol=TOL)


def test_nn_gradients(rng):
    logits, labels = tensor(rng.standard_normal((3, 4))), rng.integers(0, 4, 3)
    assert sg.gradcheck(lambda z: ops.sparse_categorical_crossentropy(labels, z, from_logits=True), logits, tol=TOL)
    soft = tensor(rng.dirichlet(np.ones(4), 3))
    assert sg.gradcheck(lambda p: ops.categorical_crossentropy(np.eye(4)[labels], p), soft, tol=TOL)
    assert sg.gradcheck(lambda z: ops.binary_crossentropy(np.eye(4)[labels], z, from_logits=True), logits, tol=TOL)
    assert sg.gradcheck(lambda x, g: ops.layer_normalization(x, g, axis=-1), logits,
                        tensor(rng.standard_normal(4)), tol=TOL)


# ---- quantiles and linear algebra -------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("q, axis, keepdims", [(0.3, None, False), ([0.0, 0.25, 0.5, 1.0], 1, False),
                                               (0.75, (0, 2), True), ([0.1, 0.9], -1, True)], ids=str)
def test_quantile_as_numpy(method, q, axis, keepdims, rng):
    x = rng.standard_normal((3, 5, 4))
    expected = np.quantile(x, q, axis=axis, method=method, keepdims=keepdims)
    got = ops.quantile(tensor(x), q, axis=axis, method=method, keepdims=keepdims)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert sg.gradcheck(lambda t: ops.quantile(t, q, axis=axis, method=method, keepdims=keepdims), tensor(x),
                        tol=TOL)


def test_median_and_percentile_and_keras_s_shape(rng):
    x = rng.standard_normal((4, 6))
    np.testing.assert_allclose(ops.median(tensor(x), axis=0).numpy(), np.median(x, axis=0), rtol=1e-12)
    np.testing.assert_allclose(ops.percentile(tensor(x), [10, 90], axis=1).numpy(), np.percentile(x, [10, 90], axis=1),
                               rtol=1e-12)
    values = np.arange(10, dtype=np.float32).reshape(2, 5)
    assert ops.quantile(values, [0.25, 0.5], axis=1, keepdims=True).shape == (2, 2, 1)  # Keras's
    with pytest.raises(ValueError, match="q in \\[0, 1\\]"):
        ops.quantile(values, 1.5)


def square_matrices(rng, batch=(2,), n=3):
    return rng.standard_normal(batch + (n, n)) + 3 * np.eye(n)  # well away from singular


def test_inverse_solve_and_determinants_with_gradients(rng):
    a, b, v = square_matrices(rng), rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3))
    np.testing.assert_allclose(ops.inv(tensor(a)).numpy(), np.linalg.inv(a), rtol=1e-10)
    np.testing.assert_allclose(ops.solve(tensor(a), tensor(b)).numpy(), np.linalg.solve(a, b), rtol=1e-10)
    np.testing.assert_allclose(ops.solve(tensor(a), tensor(v)).numpy(), np.linalg.solve(a, v[..., None])[..., 0],
                               rtol=1e-10)
    np.testing.assert_allclose(ops.det(tensor(a)).numpy(), np.linalg.det(a), rtol=1e-10)
    sign, logabs = ops.slogdet(tensor(a))
    np.testing.assert_allclose(sign.numpy() * np.exp(logabs.numpy()), np.linalg.det(a), rtol=1e-10)
    for fn, inputs in ((ops.inv, [a]), (ops.solve, [a, b]), (ops.solve, [a, v]), (ops.det, [a]),
                       (lambda t: ops.slogdet(t)[1], [a]), (ops.logdet, [a @ np.swapaxes(a, -1, -2)])):
        assert sg.gradcheck(fn, *(tensor(i) for i in inputs), tol=TOL)


def test_logdet_and_slogdet_match_keras():
    m = np.float32([[1, 2], [3, 4]])
    sign, logabs = ops.slogdet(m)
    assert float(sign) == -1.0 and abs(float(logabs) - 0.6931) < 1e-4  # Keras's
    assert np.isnan(float(ops.logdet(m)))  # a negative determinant, as Keras's


def test_decompositions_give_numpy_s_values_and_refuse_a_gradient(rng):
    a = square_matrices(rng, (), 4)
    spd = a @ a.T
    np.testing.assert_allclose(ops.cholesky(spd).numpy(), np.linalg.cholesky(spd.astype(np.float32)), rtol=1e-5)
    np.testing.assert_allclose(ops.cholesky(spd, upper=True).numpy(), np.linalg.cholesky(spd.astype(np.float32)).T,
                               rtol=1e-5)
    q, r = ops.qr(tensor(a))
    np.testing.assert_allclose(q.numpy() @ r.numpy(), a, atol=1e-12)
    u, s, vh = ops.svd(tensor(a))
    np.testing.assert_allclose((u.numpy() * s.numpy()) @ vh.numpy(), a, atol=1e-12)
    np.testing.assert_allclose(ops.svd(tensor(a), compute_uv=False).numpy(), np.linalg.svd(a, compute_uv=False))
    w, vectors = ops.eigh(tensor(spd))
    np.testing.assert_allclose(spd @ vectors.numpy(), vectors.numpy() * w.numpy(), atol=1e-9)
    np.testing.assert_allclose(ops.pinv(tensor(a)).numpy(), np.linalg.pinv(a), rtol=1e-9)
    assert int(ops.matrix_rank(np.float32([[1, 2], [2, 4]]))) == 1
    b = rng.standard_normal((4, 2))
    np.testing.assert_allclose(ops.lstsq(tensor(a), tensor(b)).numpy(), np.linalg.solve(a, b), rtol=1e-9)
    np.testing.assert_allclose(ops.solve_triangular(tensor(a), tensor(b), lower=True).numpy(),
                               np.linalg.solve(np.tril(a), b), rtol=1e-10)
    with pytest.raises(NotImplementedError, match="ops.svd passes no gradient"):
        ops.sum(ops.svd(tensor(a))[1]).backward()
    with pytest.raises(ValueError, match="square matrices in the last two axes"):
        ops.inv(np.ones((2, 3)))


# ---- control flow -------------------------------------------------------------------------------------
def test_switch_scan_and_map():
    assert ops.switch(5, [lambda a: a, lambda a: -a], 3.0) == -3.0  # the index clamped into range, as Keras
    assert ops.switch(-1, [lambda a: a, lambda a: -a], 3.0) == 3.0
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 1.0, f32([1, 2, 3]))
    assert float(carry) == 7.0 and ys.numpy().tolist() == [1.0, 4.0, 12.0]
    carry, ys = ops.scan(lambda c, x: (c + x, c), 0.0, f32([1, 2, 3]), reverse=True)
    assert float(carry) == 6.0 and ys.numpy().tolist() == [5.0, 3.0, 0.0]  # ys in the input's order, as JAX's
    carry, ys = ops.scan(lambda c, _: (c * 2, None), 1.0, length=3)
    assert carry == 8.0 and ys is None
    assert ops.map(lambda row: ops.sum(row), f32([[1, 2], [3, 4]])).numpy().tolist() == [3.0, 7.0]


ERRORS = [
    (lambda: ops.slice_update(np.zeros((3, 3)), (2, 2), np.ones((2, 2))), ValueError, "do not fit"),
    (lambda: ops.scatter_update(np.zeros(3), np.array([[0]]), np.ones(1), reduction="add"), NotImplementedError,
     "reduction='add'"),
    (lambda: ops.diag(np.zeros((2, 2, 2))), ValueError, "1-D or 2-D tensor"),
    (lambda: ops.diagonal(np.zeros(3)), ValueError, "at least 2 dimensions"),
    (lambda: ops.meshgrid(np.zeros(2), indexing="yx"), ValueError, "'xy' or 'ij'"),
    (lambda: ops.max_pool(np.zeros((1, 2, 2, 2, 1)), 2), ValueError, "sequences \\(3-D\\) or images \\(4-D\\)"),
    (lambda: ops.scatter(np.array([[0.5]]), np.ones(1), (2,)), TypeError, "integer indices"),
    (lambda: ops.dot_product_attention(*attention_inputs(), flash_attention=True), ValueError, "flash_attention"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[m for _, _, m in ERRORS])
def test_bad_arguments_say_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- a training step built from them replays as the graph runs it -------------------------------------
class MoreOps(L.Layer):
    """Updates, rolls and attention recomputed per batch: a replayed step must not bake them in."""

    def call(self, x):
        rolled = ops.roll(x, 1, axis=1)
        updated = ops.slice_update(rolled, (0, 0), ops.reshape(ops.logaddexp(x[:, :1], x[:, 1:2]), (-1, 1)))
        heads = ops.reshape(ops.concatenate([x, updated], axis=-1), (-1, 4, 2, 1))
        attended = ops.reshape(ops.dot_product_attention(heads, heads, heads, is_causal=True), (-1, 8))
        return ops.concatenate([attended, ops.layer_normalization(x), ops.nan_to_num(x)], axis=-1)


def test_a_step_of_these_ops_replays_like_the_graph(rng):
    assert_trains_the_same_planned_and_eager((4,), lambda: [L.Dense(4), MoreOps(), L.Dense(3, activation="softmax")],
                                             "sparse_categorical_crossentropy", rng.standard_normal((6, 4)),
                                             rng.integers(0, 3, 6))


# ---- ops.image, and the namespaces Keras code names ------------------------------------------------------
PIXELS = np.arange(2 * 4 * 6 * 2, dtype=np.float32).reshape(2, 4, 6, 2)

KERAS_IMAGE = {  # (ours, the part of Keras's result compared, Keras's shape)
    "patches_side_by_side": (lambda: ops.image.extract_patches(PIXELS, 2), lambda p: p[0, 0, 0],
                             [0, 1, 2, 3, 12, 13, 14, 15], (2, 2, 3, 8)),
    "patches_overlapping": (lambda: ops.image.extract_patches(PIXELS, (2, 3), strides=1), lambda p: p[1, 1, 2],
                            [64, 65, 66, 67, 68, 69, 76, 77, 78, 79, 80, 81], (2, 3, 4, 12)),
    "patches_same": (lambda: ops.image.extract_patches(PIXELS, 3, strides=2, padding="same"), lambda p: p[0, 1, 2],
                     [32, 33, 34, 35, 0, 0, 44, 45, 46, 47] + [0] * 8, (2, 2, 3, 18)),
    "resize": (lambda: ops.image.resize(PIXELS, (3, 4)), lambda r: r[0, :, :, 0],
               [[2.5, 5.5, 8.5, 11.5], [18.5, 21.5, 24.5, 27.5], [34.5, 37.5, 40.5, 43.5]], (2, 3, 4, 2)),
    "grayscale": (lambda: ops.image.rgb_to_grayscale(np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)),
                  lambda g: g, [[[[0.8149999976158142], [3.81469988822937]]]], (1, 1, 2, 1)),
    "pad": (lambda: ops.image.pad_images(np.ones((1, 2, 2, 1), np.float32), 1, 0, target_height=4, target_width=3),
            lambda p: p[0, ..., 0], [[0, 0, 0], [1, 1, 0], [1, 1, 0], [0, 0, 0]], (1, 4, 3, 1)),
    "crop": (lambda: ops.image.crop_images(PIXELS, 1, 2, target_height=2, target_width=3), lambda c: c[0, ..., 0],
             [[16, 18, 20], [28, 30, 32]], (2, 2, 3, 2)),
}


@pytest.mark.parametrize("name", sorted(KERAS_IMAGE))
def test_image_ops_match_keras(name):
    make, part, expected, shape = KERAS_IMAGE[name]
    out = make()
    assert out.shape == shape and out.dtype == np.float32
    np.testing.assert_allclose(part(out.numpy()), expected, rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{"size": 2}, {"size": (2, 3), "strides": 1}, {"size": 2, "padding": "same",
                                                                                   "strides": (1, 2)}], ids=str)
def test_patches_pass_gradients_back_and_take_one_image_or_channels_first(kwargs, rng):
    x = rng.standard_normal((2, 4, 5, 3))
    assert sg.gradcheck(lambda t: ops.image.extract_patches(t, **kwargs), tensor(x), tol=TOL)
    whole = ops.image.extract_patches(x.astype(np.float32), **kwargs).numpy()
    np.testing.assert_array_equal(ops.image.extract_patches(x[0].astype(np.float32), **kwargs).numpy(), whole[0])
    first = ops.image.extract_patches(x.transpose(0, 3, 1, 2).astype(np.float32), data_format="channels_first",
                                      **kwargs).numpy()
    np.testing.assert_array_equal(first, whole.transpose(0, 3, 1, 2))


def test_padding_and_cropping_need_two_of_each_axis_s_edges_and_size():
    with pytest.raises(ValueError, match="exactly two of the height's two edges and its target size"):
        ops.image.pad_images(np.ones((1, 2, 2, 1)), 1, 1, 1, 1, target_height=5)
    with pytest.raises(ValueError, match="edges come out negative"):
        ops.image.crop_images(np.ones((1, 2, 2, 1)), 1, 0, target_height=3, right_cropping=0)


def test_keras_s_namespaces_reach_the_same_functions():
    assert ops.nn.relu is ops.relu and ops.nn.dot_product_attention is ops.dot_product_attention
    assert ops.numpy.sum is ops.sum and ops.linalg.norm is ops.norm and ops.image.resize is not None
    assert ops.linalg.inv is ops.inv
    with pytest.raises(AttributeError, match="no attribute 'eig'"):
        ops.linalg.eig


# ---- what a review found -------------------------------------------------------------------------------
def test_ops_math_is_keras_s_namespace_not_python_s():
    assert ops.math.segment_sum is ops.segment_sum and ops.math.logsumexp is ops.logsumexp


def test_solve_broadcasts_its_batch_and_takes_vectors_by_pytorch_s_rule(rng):
    a, b = square_matrices(rng, ()), rng.standard_normal((2, 3, 3))
    np.testing.assert_allclose(ops.solve(tensor(a), tensor(b)).numpy(), np.linalg.solve(a, b), rtol=1e-10)
    assert sg.gradcheck(ops.solve, tensor(a), tensor(b), tol=TOL)
    batch, columns = square_matrices(rng), rng.standard_normal((3, 2))  # b (3, 2) is a matrix: (2,) ≠ a's (2, 3)
    np.testing.assert_allclose(ops.solve(tensor(batch), tensor(columns)).numpy(), np.linalg.solve(batch, columns),
                               rtol=1e-10)


def test_log_determinants_of_large_matrices_do_not_underflow():
    """det(0.1·I₄₀₀) is 1e-400, 0 in float64; Keras gives log det = 400·log 0.1 and sign 1."""
    m = 0.1 * np.eye(400)
    sign, logabs = ops.slogdet(tensor(m))
    assert float(sign) == 1.0
    np.testing.assert_allclose(float(logabs), 400 * np.log(0.1), rtol=1e-12)
    np.testing.assert_allclose(float(ops.logdet(tensor(m))), 400 * np.log(0.1), rtol=1e-12)


def test_updates_of_another_float_dtype_are_refused():
    with pytest.raises(TypeError, match="never upcasts"):
        ops.slice_update(ops.zeros((3, 3)), (0, 0), tensor(np.ones((2, 2))))
    with pytest.raises(TypeError, match="never upcasts"):
        ops.scatter_update(ops.zeros((3, 2)), np.array([[0]]), tensor(np.ones((1, 2))))


def test_ids_out_of_range_are_dropped_as_keras_drops_them():
    data = np.arange(8, dtype=np.float32).reshape(4, 2)
    got = ops.segment_sum(data, np.array([0, -1, 1, 5]), num_segments=2).numpy()
    assert got.tolist() == [[0.0, 1.0], [4.0, 5.0]]
    assert ops.multi_hot(np.array([[0, -1]]), 4).numpy().tolist() == [[1, 0, 0, 0]]
    assert ops.multi_hot(np.zeros((1, 3, 2), np.int64), 4).shape == (1, 2, 4)  # Keras reduces the second axis


def test_scan_takes_and_gives_structures():
    carry, (sums, products) = ops.scan(lambda c, xy: (c + xy[0] * xy[1], (xy[0] + xy[1], xy[0] * xy[1])), 0.0,
                                       (f32([1, 2, 3]), f32([4, 5, 6])))
    assert float(carry) == 32.0 and sums.numpy().tolist() == [5, 7, 9] and products.numpy().tolist() == [4, 10, 18]


def test_layer_normalization_over_other_axes(rng):
    x, gamma = rng.standard_normal((2, 3, 4)), rng.standard_normal(3)
    mean, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma[None, :, None]
    np.testing.assert_allclose(ops.layer_normalization(tensor(x), tensor(gamma), axis=1, epsilon=1e-3).numpy(),
                               expected, rtol=1e-10)
    both = ops.layer_normalization(tensor(x), axis=[1, 2], epsilon=1e-3).numpy()
    np.testing.assert_allclose(both, (x - x.mean((1, 2), keepdims=True)) / np.sqrt(x.var((1, 2), keepdims=True)
                                                                                  + 1e-3), rtol=1e-10)
    with pytest.raises(NotImplementedError, match="rms_scaling"):
        ops.layer_normalization(x, rms_scaling=True)


def test_cross_entropies_want_one_shape_and_attention_masks_follow_the_inputs(rng):
    with pytest.raises(ValueError, match="same shape"):
        ops.categorical_crossentropy(f32([0, 1, 2]), f32(np.full((3, 3), 1 / 3)))
    q, k, v = attention_inputs()
    as_list = ops.dot_product_attention(q, k, v, mask=[[[[True, True, False, True]]]]).numpy()
    np.testing.assert_array_equal(as_list, ops.dot_product_attention(
        q, k, v, mask=np.array([True, True, False, True])[None, None, None, :]).numpy())


def test_integer_images_are_resized_and_grayed_as_keras_and_keep_their_dtype():
    pixels = (np.arange(2 * 4 * 6 * 3).reshape(2, 4, 6, 3) % 256).astype(np.uint8)
    resized = ops.image.resize(pixels, (3, 4))
    assert resized.dtype == np.uint8 and resized.numpy()[0, :, :, 0].tolist() == [[4, 8, 13, 17], [28, 32, 37, 41],
                                                                                  [52, 56, 61, 65]]  # Keras's
    gray = ops.image.rgb_to_grayscale(pixels)
    assert gray.dtype == np.uint8 and gray.numpy()[0, 0, :3, 0].tolist() == [0, 3, 6]  # Keras's: cut, not rounded
    assert L.Resizing(300, 300)(pixels).shape == (2, 300, 300, 3)  # the coordinates no longer overflow uint8


def test_hsv_conversions_match_keras_and_go_there_and_back(rng):
    """Keras 3.15.1's rgb_to_hsv and hsv_to_rgb of the same two pixels."""
    pixels = f32([[[[0.6369616985321045, 0.2697867155075073, 0.04097352549433708],
                    [0.016527635976672173, 0.8132702112197876, 0.91275554895401]]]])
    np.testing.assert_allclose(ops.image.rgb_to_hsv(pixels).numpy()[0, 0], [
        [0.06398706138134003, 0.9356734752655029, 0.6369616985321045],
        [0.518500804901123, 0.9818925857543945, 0.91275554895401]], rtol=1e-6)
    np.testing.assert_allclose(ops.image.hsv_to_rgb(pixels).numpy()[0, 0], [
        [0.02991941198706627, 0.03188958391547203, 0.04097352549433708],
        [0.91275554895401, 0.24405111372470856, 0.17043864727020264]], rtol=1e-6)
    images = rng.random((2, 3, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(ops.image.hsv_to_rgb(ops.image.rgb_to_hsv(images)).numpy(), images, atol=1e-6)
    first = ops.image.rgb_to_hsv(images.transpose(0, 3, 1, 2), data_format="channels_first").numpy()
    np.testing.assert_allclose(first, ops.image.rgb_to_hsv(images).numpy().transpose(0, 3, 1, 2), rtol=1e-6)
    with pytest.raises(TypeError, match="float images"):
        ops.image.rgb_to_hsv(np.zeros((1, 2, 2, 3), np.uint8))
