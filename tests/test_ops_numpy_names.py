"""More of keras.ops by Keras's names: the activations (ops.celu ... ops.threshold), NumPy's names (arctan2, diff,
kron, cross, the nan-reductions, bit operations, window functions, ...) and nn/math helpers (depth_to_space,
space_to_depth, psnr, cdist, extract_sequences, correlate). Values against NumPy, or against Keras 3.15.1's
own results (torch backend, pasted below); gradients against central differences in float64; a training
step using them replayed exactly as the graph runs it."""
import numpy as np
import pytest
from layer_checks import assert_trains_the_same_planned_and_eager

import scratchgrad as sg
from scratchgrad import activations, ops
from scratchgrad import layers as L

TOL = 1e-6
D = np.arange(32, dtype=np.float32)


def tensor(values):
    return sg.Tensor(np.asarray(values, dtype=np.float64), dtype="float64", requires_grad=True)


def f32(values):
    return np.asarray(values, np.float32)


ACTIVATIONS = ["celu", "glu", "hard_shrink", "hard_silu", "hard_swish", "hard_tanh", "log_sigmoid", "soft_shrink",
               "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh_shrink"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_the_activations_are_ops_too(name, rng):
    x = f32(rng.standard_normal((3, 4)))
    np.testing.assert_array_equal(getattr(ops, name)(x).numpy(), getattr(activations, name)(x).numpy())
    np.testing.assert_array_equal(ops.threshold(x, 0.2, -1.0).numpy(), np.where(x > 0.2, x, -1.0))


# ---- against Keras's own results (dtype, value) ---------------------------------------------------------
KERAS = {
    "depth_to_space": (lambda: ops.depth_to_space(D.reshape(1, 2, 2, 8), 2), "float32", [[
        [[0, 1], [2, 3], [8, 9], [10, 11]], [[4, 5], [6, 7], [12, 13], [14, 15]],
        [[16, 17], [18, 19], [24, 25], [26, 27]], [[20, 21], [22, 23], [28, 29], [30, 31]]]]),
    "depth_to_space_cf": (lambda: ops.depth_to_space(D.reshape(1, 8, 2, 2), 2, "channels_first"), "float32", [[
        [[0, 4, 1, 5], [8, 12, 9, 13], [2, 6, 3, 7], [10, 14, 11, 15]],
        [[16, 20, 17, 21], [24, 28, 25, 29], [18, 22, 19, 23], [26, 30, 27, 31]]]]),
    "space_to_depth": (lambda: ops.space_to_depth(D.reshape(1, 4, 4, 2), 2), "float32", [[
        [[0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]],
        [[16, 17, 18, 19, 24, 25, 26, 27], [20, 21, 22, 23, 28, 29, 30, 31]]]]),
    "space_to_depth_cf": (lambda: ops.space_to_depth(D.reshape(1, 2, 4, 4), 2, "channels_first"), "float32", [[
        [[0, 2], [8, 10]], [[1, 3], [9, 11]], [[4, 6], [12, 14]], [[5, 7], [13, 15]],
        [[16, 18], [24, 26]], [[17, 19], [25, 27]], [[20, 22], [28, 30]], [[21, 23], [29, 31]]]]),
    "psnr": (lambda: ops.psnr(f32([[0.1, 0.5], [0.9, 0.3]]), f32([[0.2, 0.4], [1.0, 0.1]]), 1.0), "float32",
             17.56962013244629),
    "cdist": (lambda: ops.cdist(f32([[0, 0], [1, 1]]), f32([[1, 0], [0, 1], [3, 4]])), "float32",
              [[1.0, 1.0, 5.0], [1.0, 1.0, 3.605551242828369]]),
    "saturate_uint8": (lambda: ops.saturate_cast(f32([-5, 3.7, 255.5, 300]), "uint8"), "uint8", [0, 3, 255, 255]),
    "saturate_int8": (lambda: ops.saturate_cast(np.array([-200, 5, 300], np.int32), "int8"), "int8", [-128, 5, 127]),
    "correlate_valid": (lambda: ops.correlate(f32([1, 2, 3, 4, 5]), f32([0.5, 1, -1])), "float32", [-0.5, 0, 0.5]),
    "correlate_same": (lambda: ops.correlate(f32([1, 2, 3, 4, 5]), f32([0.5, 1, -1, 2]), "same"), "float32",
                       [3.0, 5.0, 7.5, 10.0, 0.5]),
    "correlate_full": (lambda: ops.correlate(f32([0.5, 1, -1]), f32([1, 2, 3, 4, 5]), "full"), "float32",
                       [2.5, 7.0, 0.5, 0.0, -0.5, -1.0, -1.0]),
    "heaviside": (lambda: ops.heaviside(f32([-1, 0, 2]), f32([0.5, 0.25, 0.5])), "float32", [0.0, 0.25, 1.0]),
    "sinc": (lambda: ops.sinc(f32([0, 0.5, -1.5, 2.25])), "float32",
             [1.0, 0.6366197466850281, -0.21220658719539642, 0.10003514587879181]),
    "extract_sequences": (lambda: ops.extract_sequences(np.arange(7, dtype=np.float32), 3, 2), "float32",
                          [[0, 1, 2], [2, 3, 4], [4, 5, 6]]),
    "digitize": (lambda: ops.digitize(f32([-2, 0, 0.5, 3]), f32([-1, 0, 1])), "int32", [0, 2, 2, 3]),
    "searchsorted": (lambda: ops.searchsorted(f32([1, 2, 3]), f32([0, 2, 2.5, 9])), "int32", [0, 1, 2, 3]),
    "nanargmax": (lambda: ops.nanargmax(f32([[np.nan, 2, 1], [3, np.nan, 4]]), axis=1), "int32", [1, 2]),
    "corrcoef": (lambda: ops.corrcoef(f32([[1, 2, 4], [2, 1, 0.5]])), "float32",
                 [[1.0, -0.9285712838172913], [-0.9285712838172913, 1.0]]),
    "average": (lambda: ops.average(f32([[1, 2], [3, 5]]), axis=1, weights=f32([1, 3])), "float32", [1.75, 4.5]),
    "trapezoid": (lambda: ops.trapezoid(f32([1, 2, 4]), x=f32([0, 1, 3])), "float32", 7.5),
    "cholesky_inverse": (lambda: ops.cholesky_inverse(f32([[2, 0], [1, 3]])), "float32",
                         [[0.2777777910232544, -0.055555559694767], [-0.055555559694767, 0.111111119389534]]),
    "angle": (lambda: ops.angle(f32([-2, 0, 3])), "float32", [3.1415927410125732, 0.0, 0.0]),
    "logaddexp2": (lambda: ops.logaddexp2(f32([1, 100]), f32([1, 100])), "float32", [2.0, 101.0]),
}


@pytest.mark.parametrize("name", sorted(KERAS))
def test_values_match_keras(name):
    make, dtype, expected = KERAS[name]
    got = make()
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got.numpy(), expected, rtol=2e-6, atol=1e-7)


def test_saturate_cast_stays_inside_a_type_float32_cannot_reach_exactly():
    """int32's largest is not a float32: clipped to the float below 2³¹ (Keras 3.15.1 on torch clips to 2³¹ and
    the cast wraps it to -2³¹)."""
    got = ops.saturate_cast(f32([-3e9, 7.9, 3e9]), "int32").numpy()
    np.testing.assert_array_equal(got, [-2 ** 31, 7, 2 ** 31 - 128])


# ---- against NumPy (float64 data, NumPy's function of the same name unless given) -------------------------
A, B = np.random.default_rng(0).standard_normal((2, 3, 4))
NAN = A.copy()
NAN[0, 1], NAN[2] = np.nan, np.nan
INTS, INTS2 = np.array([[1, 2, 3], [4, 5, 6]]), np.array([[3, 1, 2], [2, 7, 1]])

NUMPY = {
    "arctan2": (lambda: ops.arctan2(A, B), lambda: np.arctan2(A, B)),
    "fmod": (lambda: ops.fmod(3 * A, B), lambda: np.fmod(3 * A, B)),
    "fmax": (lambda: ops.fmax(NAN, B), lambda: np.fmax(NAN, B)),
    "fmin": (lambda: ops.fmin(B, NAN), lambda: np.fmin(B, NAN)),
    "i0": (lambda: ops.i0(A), lambda: np.i0(A)),
    "ldexp": (lambda: ops.ldexp(A, INTS[:1, :1]), lambda: np.ldexp(A, INTS[:1, :1])),
    "diff": (lambda: ops.diff(A, 2), lambda: np.diff(A, 2)),
    "diff_axis0": (lambda: ops.diff(A, axis=0), lambda: np.diff(A, axis=0)),
    "append": (lambda: ops.append(A, B), lambda: np.append(A, B)),
    "append_axis1": (lambda: ops.append(A, B, axis=1), lambda: np.append(A, B, axis=1)),
    "diagflat": (lambda: ops.diagflat(A[:2, :2], 1), lambda: np.diagflat(A[:2, :2], 1)),
    "vdot": (lambda: ops.vdot(A, B), lambda: np.vdot(A, B)),
    "kron": (lambda: ops.kron(A[:2, :3], B[:3, :2]), lambda: np.kron(A[:2, :3], B[:3, :2])),
    "kron_ranks": (lambda: ops.kron(A[0, :2], A[:2]), lambda: np.kron(A[0, :2], A[:2])),
    "cross": (lambda: ops.cross(A[:, :3], B[:, :3]), lambda: np.cross(A[:, :3], B[:, :3])),
    # NumPy 2 deprecates 2-vectors in cross, but still takes them so: as 3-vectors whose z is 0
    "cross_2_and_3": (lambda: ops.cross(A[:, :2], B[:, :3]), lambda: np.cross(A[:, :3] * [1, 1, 0], B[:, :3])),
    "cross_2_and_2": (lambda: ops.cross(A[:, :2], B[:, :2]), lambda: A[:, 0] * B[:, 1] - A[:, 1] * B[:, 0]),
    "cross_axis0": (lambda: ops.cross(A, B, axis=0), lambda: np.cross(A, B, axis=0)),
    "average": (lambda: ops.average(A, axis=0, weights=np.abs(B[:, 0])),
                lambda: np.average(A, axis=0, weights=np.abs(B[:, 0]))),
    "average_full_weights": (lambda: ops.average(A, axis=1, weights=np.abs(B)),
                             lambda: np.average(A, axis=1, weights=np.abs(B))),
    "trapezoid": (lambda: ops.trapezoid(A, dx=0.5), lambda: np.trapezoid(A, dx=0.5)),
    "trapezoid_axis0": (lambda: ops.trapezoid(A, x=B[:, 0], axis=0), lambda: np.trapezoid(A, x=B[:, 0], axis=0)),
    "vander": (lambda: ops.vander(A[0], 3), lambda: np.vander(A[0], 3)),
    "vander_increasing": (lambda: ops.vander(A[0], increasing=True), lambda: np.vander(A[0], increasing=True)),
    "select": (lambda: ops.select([A > 0.5, A < -0.5], [A, B], 7.0),
               lambda: np.select([A > 0.5, A < -0.5], [A, B], 7.0)),
    "nansum": (lambda: ops.nansum(NAN, axis=1), lambda: np.nansum(NAN, axis=1)),
    "nanprod": (lambda: ops.nanprod(NAN, axis=0, keepdims=True), lambda: np.nanprod(NAN, axis=0, keepdims=True)),
    "nanmax": (lambda: ops.nanmax(NAN[:2], axis=1), lambda: np.nanmax(NAN[:2], axis=1)),
    "nanmin": (lambda: ops.nanmin(NAN), lambda: np.nanmin(NAN)),
    "nanmean": (lambda: ops.nanmean(NAN, axis=0), lambda: np.nanmean(NAN, axis=0)),
    "nanvar": (lambda: ops.nanvar(NAN[:2], axis=1, keepdims=True), lambda: np.nanvar(NAN[:2], axis=1, keepdims=True)),
    "nanstd": (lambda: ops.nanstd(NAN), lambda: np.nanstd(NAN)),
    "nancumsum": (lambda: ops.nancumsum(NAN, axis=1), lambda: np.nancumsum(NAN, axis=1)),
    "nancumprod": (lambda: ops.nancumprod(NAN, axis=0), lambda: np.nancumprod(NAN, axis=0)),
    "nanargmin": (lambda: ops.nanargmin(NAN[:2], axis=1), lambda: np.nanargmin(NAN[:2], axis=1)),
    "nanmedian": (lambda: ops.nanmedian(NAN, axis=0), lambda: np.nanmedian(NAN, axis=0)),
    "nanquantile": (lambda: ops.nanquantile(NAN[:2], [0.2, 0.9], axis=1, method="nearest"),
                    lambda: np.nanquantile(NAN[:2], [0.2, 0.9], axis=1, method="nearest")),
    "nanpercentile": (lambda: ops.nanpercentile(NAN, 30), lambda: np.nanpercentile(NAN, 30)),
    "isclose": (lambda: ops.isclose(A, A + 2e-5 * (A > 0)), lambda: np.isclose(A, A + 2e-5 * (A > 0))),
    "isin": (lambda: ops.isin(INTS, INTS2), lambda: np.isin(INTS, INTS2)),
    "isin_invert": (lambda: ops.isin(INTS, INTS2, invert=True), lambda: np.isin(INTS, INTS2, invert=True)),
    "bitwise_and": (lambda: ops.bitwise_and(INTS, INTS2), lambda: INTS & INTS2),
    "bitwise_or": (lambda: ops.bitwise_or(INTS, INTS2), lambda: INTS | INTS2),
    "bitwise_xor": (lambda: ops.bitwise_xor(INTS, INTS2), lambda: INTS ^ INTS2),
    "bitwise_not": (lambda: ops.bitwise_not(INTS), lambda: ~INTS),
    "left_shift": (lambda: ops.left_shift(INTS, INTS2), lambda: INTS << INTS2),
    "right_shift": (lambda: ops.bitwise_right_shift(INTS * 64, INTS2), lambda: (INTS * 64) >> INTS2),
    "gcd": (lambda: ops.gcd(INTS * 6, INTS2 * 4), lambda: np.gcd(INTS * 6, INTS2 * 4)),
    "lcm": (lambda: ops.lcm(INTS, INTS2), lambda: np.lcm(INTS, INTS2)),
    "nextafter": (lambda: ops.nextafter(A, B), lambda: np.nextafter(A, B)),
    "bincount": (lambda: ops.bincount(np.array([0, 1, 1, 3])), lambda: np.bincount([0, 1, 1, 3])),
    "bincount_weighted": (lambda: ops.bincount(np.array([0, 1, 1, 3]), weights=A[0], minlength=6),
                          lambda: np.bincount([0, 1, 1, 3], weights=A[0], minlength=6)),
    "bincount_rows": (lambda: ops.bincount(np.array([[0, 1], [2, 2]])), lambda: [[1, 1, 0], [0, 0, 2]]),
    "histogram_counts": (lambda: ops.histogram(A.ravel(), bins=4)[0], lambda: np.histogram(A.ravel(), bins=4)[0]),
    "histogram_edges": (lambda: ops.histogram(A.ravel(), 3, (-1, 2))[1], lambda: np.histogram(A, 3, (-1, 2))[1]),
    "array_split": (lambda: ops.array_split(A.ravel(), 5)[1], lambda: np.array_split(A.ravel(), 5)[1]),
    "hsplit": (lambda: ops.hsplit(A, 2)[1], lambda: np.hsplit(A, 2)[1]),
    "vsplit": (lambda: ops.vsplit(A[:2], 2)[1], lambda: np.vsplit(A[:2], 2)[1]),
    "dsplit": (lambda: ops.dsplit(A.reshape(1, 3, 4), [1])[1], lambda: np.dsplit(A.reshape(1, 3, 4), [1])[1]),
    "argpartition": (lambda: ops.argpartition(A[0], 1)[:2], lambda: np.sort(np.argsort(A[0])[:2])),
    "nonzero": (lambda: ops.nonzero(INTS - 3)[1], lambda: np.nonzero(INTS - 3)[1]),
    "unravel_index": (lambda: ops.unravel_index(np.array([5, 7]), (3, 4))[1], lambda: [1, 3]),
    "bartlett": (lambda: ops.bartlett(5), lambda: np.bartlett(5)),
    "blackman": (lambda: ops.blackman(6), lambda: np.blackman(6)),
    "hamming": (lambda: ops.hamming(5), lambda: np.hamming(5)),
    "hanning": (lambda: ops.hanning(7), lambda: np.hanning(7)),
    "kaiser": (lambda: ops.kaiser(5, 2.0), lambda: np.kaiser(5, 2.0)),
    "logspace": (lambda: ops.logspace(0, 2, 5), lambda: np.logspace(0, 2, 5)),
    "geomspace": (lambda: ops.geomspace(1, 16, 5), lambda: np.geomspace(1, 16, 5)),
    "real": (lambda: ops.real(A), lambda: np.real(A)),
    "imag": (lambda: ops.imag(A), lambda: np.imag(A)),
    "conjugate": (lambda: ops.conjugate(A), lambda: np.conjugate(A)),
    "isreal": (lambda: ops.isreal(A), lambda: np.isreal(A)),
    "get_item": (lambda: ops.get_item(A, (1, slice(None, 2))), lambda: A[1, :2]),
    "view": (lambda: ops.view(f32([1.0, -2.0]), "int32"), lambda: f32([1.0, -2.0]).view(np.int32)),
}


@pytest.fixture
def float64():
    sg.set_floatx("float64")  # NumPy's float64 arrays stay float64, to compare at 1e-12
    yield
    sg.set_floatx("float32")


@pytest.mark.parametrize("name", sorted(NUMPY))
def test_values_match_numpy(name, float64):
    ours, theirs = NUMPY[name]
    got, expected = ours(), np.asarray(theirs())
    if name == "argpartition":
        got = np.sort(got.numpy())
    np.testing.assert_allclose(np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64),
                               expected.astype(np.float64), rtol=1e-12, atol=1e-15, equal_nan=True)


def test_float32_in_float32_out(rng):
    x, y = f32(rng.standard_normal((3, 4))), f32(rng.standard_normal((3, 4)))
    for out in (ops.arctan2(x, y), ops.diff(x), ops.kron(x, y), ops.average(x, 1), ops.nanmean(x),
                ops.nanquantile(x, 0.5), ops.nanpercentile(x, [10.0, 50.0]), ops.sinc(x), ops.cdist(x, y),
                ops.corrcoef(x), ops.trapezoid(x), ops.hamming(4), ops.logspace(0, 1, 3), ops.psnr(x, y, 1.0)):
        assert out.dtype == np.float32
    assert ops.empty((2, 3)).shape == (2, 3) and ops.empty_like(x).shape == x.shape
    assert bool(ops.allclose(x, x + 1e-7)) and not bool(ops.allclose(x, x + 1e-3))


# ---- gradients (float64, against central differences) ----------------------------------------------------
def _points(rng, shape=(3, 4)):
    return tensor(rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape))


GRADIENTS = {
    "arctan2": (lambda a, b: ops.arctan2(a, b), 2),
    "fmod": (lambda a, b: ops.fmod(a * 3, b), 2),
    "fmax": (lambda a, b: ops.fmax(a, b), 2),
    "logaddexp2": (lambda a, b: ops.logaddexp2(a, b), 2),
    "heaviside_at_zero": (lambda a, b: ops.heaviside(a * ops.convert_to_tensor(np.eye(3, 4)) * 0, b), 2),
    "ldexp": (lambda a: ops.ldexp(a, np.array([[1, -2, 0, 3]])), 1),
    "sinc": (lambda a: ops.sinc(a * ops.convert_to_tensor(np.eye(3, 4) == 0)), 1),
    "diff": (lambda a: ops.diff(a, 2, axis=1), 1),
    "append": (lambda a, b: ops.append(a, b, axis=0), 2),
    "kron": (lambda a, b: ops.kron(a[:2, :2], b[:2, :3]), 2),
    "cross": (lambda a, b: ops.cross(a[:, :3], b[:, :2]), 2),
    "average": (lambda a, b: ops.average(a, axis=1, weights=b * b), 2),
    "trapezoid": (lambda a, b: ops.trapezoid(a, x=ops.cumsum(b * b, axis=1), axis=1), 2),
    "vander": (lambda a: ops.vander(a[0], 3), 1),
    "select": (lambda a, b: ops.select([a > 1.0, b < 0], [a, b * 2], 0.5), 2),
    "nan_reductions": (lambda a: ops.nansum(a, 0) + ops.nanmean(a, 0) + ops.nanmax(a, 0) + ops.nanvar(a, 0)
                       + ops.nanmin(a, 0) + ops.nanstd(a, 0) + ops.nanprod(a, 0) + ops.nancumsum(a, 1)[0], 1),
    "vdot": (lambda a, b: ops.vdot(a, b), 2),
    "correlate": (lambda a, b: ops.correlate(a[0], b[1, :3], "same"), 2),
    "corrcoef": (lambda a: ops.corrcoef(a), 1),
    "cdist": (lambda a, b: ops.cdist(a, b[:2]), 2),
    "cholesky_inverse": (lambda a: ops.cholesky_inverse(ops.tril(a[:3, :3]) + 3 * np.eye(3)), 1),
    "psnr": (lambda a, b: ops.psnr(a, b, 2.0), 2),
    "depth_to_space": (lambda a: ops.depth_to_space(ops.reshape(a, (1, 1, 3, 4)), 2), 1),
    "space_to_depth": (lambda a: ops.space_to_depth(ops.reshape(a[:2], (1, 2, 2, 2)), 2, "channels_first"), 1),
    "extract_sequences": (lambda a: ops.extract_sequences(a, 2, 1), 1),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradients(name, rng):
    fn, count = GRADIENTS[name]
    assert sg.gradcheck(fn, *(_points(rng) for _ in range(count)), tol=TOL)


def test_nan_entries_take_no_gradient_and_the_rest_the_reduction_s():
    x = tensor([[1.0, np.nan, 3.0], [2.0, 5.0, np.nan]])
    (ops.nansum(x) + ops.nanmean(x, axis=1).sum() + ops.nanmax(x)).backward()
    np.testing.assert_allclose(x.grad, [[1.5, 0, 1.5], [1.5, 2.5, 0]])


# ---- at the boundary ------------------------------------------------------------------------------------------
ERRORS = [
    (lambda: ops.diff(np.zeros(3), -1), ValueError, "non-negative"),
    (lambda: ops.cross(np.zeros(4), np.zeros(3)), ValueError, "2 or 3 components"),
    (lambda: ops.bincount(np.array([1, -1])), ValueError, "non-negative integers"),
    (lambda: ops.bincount(np.array([1]), sparse=True), NotImplementedError, "sparse"),
    (lambda: ops.correlate(np.zeros((2, 2)), np.zeros(2)), ValueError, "two 1-D"),
    (lambda: ops.correlate(np.zeros(3), np.zeros(2), "wide"), ValueError, "'valid', 'same' or 'full'"),
    (lambda: ops.depth_to_space(np.zeros((1, 2, 2, 6)), 2), ValueError, "multiple of block_size"),
    (lambda: ops.space_to_depth(np.zeros((1, 3, 2, 1)), 2), ValueError, "multiples of block_size"),
    (lambda: ops.depth_to_space(np.zeros((2, 2, 4)), 2), ValueError, "4-D images"),
    (lambda: ops.space_to_depth(np.zeros((1, 2, 2, 1)), 2, "nhwc"), ValueError, "data_format"),
    (lambda: ops.extract_sequences(np.zeros(3), 4, 1), ValueError, "sequence_length"),
    (lambda: ops.searchsorted(np.arange(3.0), 1.0, side="middle"), ValueError, "'left' or 'right'"),
    (lambda: ops.ldexp(np.ones(2), np.ones(2)), TypeError, "integer exponents"),
    (lambda: ops.cdist(np.zeros((2, 3)), np.zeros((2, 2))), ValueError, "vectors of one length"),
    (lambda: ops.select([np.array([True])], [], 0), ValueError, "as many conditions as choices"),
    (lambda: ops.average(np.ones((2, 3)), weights=np.ones(3)), ValueError, "one integer axis"),
    (lambda: ops.array_split(np.ones(3), 0), ValueError, "positive number"),
    (lambda: ops.vander(np.ones((2, 2))), ValueError, "1-D x"),
    (lambda: ops.psnr(np.ones(2), np.ones(3), 1.0), ValueError, "one shape"),
]


# ---- a training step built from them replays as the graph runs it ----------------------------------------
class PixelShuffle(L.Layer):
    """Sub-pixel upsampling (keras.io's super-resolution example) and distances to fixed prototypes."""

    def call(self, x):
        image = ops.depth_to_space(ops.reshape(x, (-1, 2, 2, 4)), 2)
        frames = ops.extract_sequences(ops.reshape(image, (-1, 16)), 4, 4)
        near = ops.cdist(frames, ops.convert_to_tensor(np.linspace(-1, 1, 8).reshape(2, 4)))
        return ops.concatenate([ops.reshape(near, (-1, 8)), ops.arctan2(x[:, :4], x[:, 4:8] + 3.0),
                                ops.nanmean(ops.reshape(x, (-1, 4, 4)), axis=1)], axis=-1)


def test_a_step_of_these_ops_replays_like_the_graph(rng):
    assert_trains_the_same_planned_and_eager((16,), lambda: [L.Dense(16), PixelShuffle(),
                                                             L.Dense(3, activation="softmax")],
                                             "sparse_categorical_crossentropy", rng.standard_normal((6, 16)),
                                             rng.integers(0, 3, 6))


def test_the_namespaces_reach_them():
    assert ops.nn.depth_to_space is ops.depth_to_space and ops.numpy.kron is ops.kron
    assert ops.math.extract_sequences is ops.extract_sequences and ops.linalg.cholesky_inverse is ops.cholesky_inverse
    assert ops.nn.psnr is ops.psnr and ops.nn.glu is ops.glu


# ---- segments, spectra, unique, adaptive pooling, padding modes --------------------------------------------
SEGMENT_DATA, SEGMENT_IDS = f32([[1, -2], [3, 4], [-5, 6], [7, 0.5], [2, 2]]), np.array([0, 0, 2, 2, 5])
SIGNAL = f32([0.3, -1.2, 0.8, 2.0, -0.5, 0.1, 1.5, -0.7, 0.4, 0.9, -1.1, 0.6])
KERAS_MORE = {  # Keras 3.15.1's results; segment 5 is out of range (dropped), segments 1 and 3 empty
    "segment_max": (lambda: ops.segment_max(SEGMENT_DATA, SEGMENT_IDS, num_segments=4),
                    [[3, 4], [-np.inf, -np.inf], [7, 6], [-np.inf, -np.inf]]),
    "segment_min": (lambda: ops.segment_min(SEGMENT_DATA, SEGMENT_IDS, num_segments=4),
                    [[1, -2], [np.inf, np.inf], [-5, 0.5], [np.inf, np.inf]]),
    "segment_prod": (lambda: ops.segment_prod(SEGMENT_DATA, SEGMENT_IDS, num_segments=4),
                     [[3, -8], [1, 1], [-35, 3], [1, 1]]),
    "segment_max_int": (lambda: ops.segment_max(np.array([1, 2, 10, 20], np.int32), np.array([0, 0, 2, 2])),
                        [2, -2 ** 31, 20]),
    "stft_real": (lambda: ops.stft(SIGNAL, 4, 2, 6)[0], [
        [-0.9, 0.3, 0.9, -1.5], [1.2, -1.0, 0.6, -0.4], [0.55, -0.025, -1.025, 1.55], [1.2, -1.35, 1.65, -1.8],
        [0.5, -0.45, 0.35, -0.3], [-0.35, 0.725, -1.475, 1.85], [-0.35, 0.725, -1.475, 1.85]]),
    "stft_imag": (lambda: ops.stft(SIGNAL, 4, 2, 6)[1], [
        [0, 0, 0, 0], [0, 1.3856406, -1.3856406, 0], [0, -0.8227241, 0.8227241, 0], [0, -0.3464102, 0.3464102, 0],
        [0, 0.6928202, -0.6928202, 0], [0, -0.1299038, 0.1299038, 0], [0, 0.1299038, -0.1299038, 0]]),
    "stft_hamming": (lambda: ops.stft(SIGNAL, 5, 3, 5, window="hamming", center=False)[1],
                     [[0, 0.9082425, -0.8773087], [0, 0.67493, -1.2612761], [0, 0.1167216, -0.5272926]]),
}


@pytest.mark.parametrize("name", sorted(KERAS_MORE))
def test_segments_and_stft_match_keras(name):
    make, expected = KERAS_MORE[name]
    np.testing.assert_allclose(make().numpy(), expected, rtol=2e-6, atol=2e-7)


def _spectra(x, y):
    z = x + 1j * y
    return {"fft": (ops.fft((x, y)), np.fft.fft(z)), "fft2": (ops.fft2((x, y)), np.fft.fft2(z)),
            "ifft2": (ops.ifft2((x, y)), np.fft.ifft2(z)), "rfft": (ops.rfft(x), np.fft.rfft(x)),
            "rfft_cut": (ops.rfft(x, 5), np.fft.rfft(x, 5)), "rfft_padded": (ops.rfft(x, 11), np.fft.rfft(x, 11))}


def test_spectra_are_numpy_s_and_irfft_undoes_rfft(rng, float64):
    x, y = rng.standard_normal((2, 3, 8))
    for name, ((real, imag), expected) in _spectra(x, y).items():
        np.testing.assert_allclose(real.numpy(), expected.real, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(imag.numpy(), expected.imag, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(ops.irfft(ops.rfft(x)).numpy(), x, atol=1e-12)
    np.testing.assert_allclose(ops.irfft((x, y), 9).numpy(), np.fft.irfft(x + 1j * y, 9), atol=1e-12)
    assert ops.rfft(f32(x))[0].dtype == np.float32 and ops.stft(f32(x), 4, 2, 4)[1].dtype == np.float32


SPECTRUM_GRADIENTS = {
    "fft": lambda a, b: ops.fft((a, b))[0] * ops.fft((a, b))[1],
    "fft2": lambda a, b: ops.fft2((a, b))[1] + ops.fft2((a, b))[0] ** 2,
    "ifft2": lambda a, b: ops.ifft2((a, b))[0] * ops.ifft2((a, b))[1],
    "rfft": lambda a, b: ops.rfft(a)[0] * b[:, :3] + ops.rfft(a)[1] ** 2,
    "rfft_cut_odd": lambda a, b: ops.rfft(a, 3)[1] * b[:, :2] + ops.rfft(a, 3)[0],
    "rfft_padded_even": lambda a, b: ops.rfft(a, 6)[0] * ops.rfft(a, 6)[1] + b[:, :4],
    "irfft": lambda a, b: ops.irfft((a, b)) ** 2,
    "irfft_odd": lambda a, b: ops.irfft((a, b), 5) * ops.irfft((b, a), 5),
    "irfft_cut": lambda a, b: ops.irfft((a, b), 4) ** 2,
    "irfft_padded": lambda a, b: ops.irfft((a, b), 10) ** 2,
    "stft": lambda a, b: ops.stft(a, 3, 1, 4)[0] * ops.stft(b, 3, 1, 4)[1],
    "stft_window": lambda a, b: ops.stft(a, 4, 2, 4, window=b[0], center=False)[0] ** 2,
}


@pytest.mark.parametrize("name", sorted(SPECTRUM_GRADIENTS))
def test_spectrum_gradients(name, rng):
    assert sg.gradcheck(SPECTRUM_GRADIENTS[name], *(_points(rng) for _ in range(2)), tol=TOL)


def test_segment_gradients_share_ties_and_skip_zeros(rng):
    ids = np.array([0, 0, 1, 1, 1, 2])
    assert sg.gradcheck(lambda d: ops.segment_max(d, ids) + ops.segment_min(d, ids) + ops.segment_prod(d, ids),
                        _points(rng, (6, 2)), tol=TOL)
    tied = tensor([[2.0], [2.0], [1.0]])
    ops.segment_max(tied, np.array([0, 0, 0])).sum().backward()
    np.testing.assert_array_equal(tied.grad, [[0.5], [0.5], [0.0]])
    for data, expected in (([3.0, 0.0, 2.0], [0.0, 6.0, 0.0]), ([3.0, 0.0, 0.0], [0.0, 0.0, 0.0])):
        x = tensor(data)
        ops.segment_prod(x, np.array([0, 0, 0])).sum().backward()
        np.testing.assert_array_equal(x.grad, expected)


def test_unique_as_numpy_with_its_extras():
    x = np.array([3, 1, 3, 2, 1, 3], np.int32)
    values, index, inverse, counts = ops.unique(x, return_index=True, return_inverse=True, return_counts=True)
    for got, want in zip((values, index, inverse, counts), np.unique(x, True, True, True)):
        np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(ops.unique(x, sorted=False).numpy(), [3, 1, 2])
    first, rebuild = ops.unique(x, sorted=False, return_inverse=True)
    np.testing.assert_array_equal(first.numpy()[rebuild.numpy()], x)
    np.testing.assert_array_equal(ops.unique(x, size=5, fill_value=-1).numpy(), [1, 2, 3, -1, -1])
    np.testing.assert_array_equal(ops.unique(np.array([[1, 2], [1, 2], [0, 5]]), axis=0).numpy(), [[0, 5], [1, 2]])


def test_adaptive_pool_ops_are_the_layers(rng):
    x = f32(rng.standard_normal((2, 7, 5, 3)))
    np.testing.assert_array_equal(ops.adaptive_average_pool(x, (3, 2)).numpy(),
                                  L.AdaptiveAveragePooling2D((3, 2))(x).numpy())
    np.testing.assert_array_equal(ops.adaptive_max_pool(x[:, :, 0], 4).numpy(),
                                  L.AdaptiveMaxPooling1D(4)(x[:, :, 0]).numpy())
    np.testing.assert_array_equal(ops.adaptive_max_pool(x, 2, data_format="channels_first").numpy(),
                                  L.AdaptiveMaxPooling2D(2, data_format="channels_first")(x).numpy())


@pytest.mark.parametrize("mode, widths", [("reflect", ((1, 2), (3, 2))), ("symmetric", ((2, 1), (4, 0))),
                                          ("edge", ((0, 3), (2, 1))), ("wrap", ((2, 2), (1, 4))),
                                          ("constant", 1), ("constant", (2, 1)), ("symmetric", ((0, 1), (1, 0))),
                                          ("reflect", ((0, 2), (0, 0))), ("wrap", ((0, 1), (3, 0)))])
def test_pad_modes_are_numpy_s_with_gradients(mode, widths, rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(ops.pad(tensor(x), widths, mode=mode).numpy(), np.pad(x, widths, mode=mode))
    assert sg.gradcheck(lambda a: ops.pad(a, widths, mode=mode) ** 2, tensor(x), tol=TOL)


ERRORS += [
    (lambda: ops.pad(np.zeros((2, 2)), ((2, 0), (0, 0)), mode="reflect"), ValueError, "at most 1"),
    (lambda: ops.pad(np.zeros((2, 2)), ((1, 0),) * 3), ValueError, "one \\(before, after\\) pair per axis"),
    (lambda: ops.pad(np.zeros(2), 1, mode="mean"), ValueError, "'reflect', 'symmetric', 'edge' or 'wrap'"),
    (lambda: ops.pad(np.zeros(3), -1, mode="reflect"), ValueError, "must not be negative"),
    (lambda: ops.pad(np.zeros(3), 1, mode="reflect", constant_values=2), ValueError, "mode 'constant' only"),
    (lambda: ops.fft(np.zeros(4)), ValueError, "pair \\(real, imaginary\\)"),
    (lambda: ops.fft((np.zeros(4), np.zeros(3))), ValueError, "differ in shape"),
    (lambda: ops.stft(np.zeros(8, np.int32), 4, 2, 4), TypeError, "float signals"),
    (lambda: ops.stft(np.zeros(8), 4, 2, 3), ValueError, "at least sequence_length"),
    (lambda: ops.stft(np.zeros(8), 4, 2, 4, window="blackman"), ValueError, "'hann', 'hamming'"),
    (lambda: ops.stft(np.zeros(8), 4, 2, 4, window=np.ones(3)), ValueError, "shape \\(4,\\)"),
    (lambda: ops.segment_max(np.zeros((3, 2)), np.array([0, 1])), ValueError, "one segment id per row"),
    (lambda: ops.segment_prod(np.zeros(2), np.array([0.0, 1.0])), TypeError, "integer indices"),
    (lambda: ops.adaptive_average_pool(np.zeros((2, 3)), 2), ValueError, "3-D, 4-D or 5-D"),
    (lambda: ops.depthwise_conv(np.ones((1, 5, 5, 4)), np.ones((3, 3, 2, 2))), ValueError, "has 4 channels"),
    (lambda: ops.conv_transpose(np.ones((1, 5, 5, 4)), np.ones((3, 3, 3, 2)), 2), ValueError, "expects 2"),
    (lambda: ops.separable_conv(np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 2)), np.ones((1, 1, 3, 5))), ValueError,
     "pointwise kernel"),
    (lambda: ops.conv(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 2))), ValueError, "not a multiple"),
    (lambda: ops.conv(np.ones((1, 5, 5, 4)), np.ones((3, 3, 2, 3))), ValueError, "do not divide the kernel's 3"),
    (lambda: ops.conv(np.ones((1, 2, 5, 5, 1)), np.ones((3, 3, 3, 1, 1))), ValueError, "deeper than the input's 2"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[m for _, _, m in ERRORS])
def test_bad_arguments_say_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()


class Spectrogram(L.Layer):
    """A magnitude spectrogram of each row, its segments' maxima and a reflected padding, as audio models do."""

    def call(self, x):
        real, imag = ops.stft(x, 4, 2, 4)
        power = ops.reshape(real * real + imag * imag, (-1, 27))
        peaks = ops.transpose(ops.segment_max(ops.transpose(power), np.arange(27) // 9, num_segments=3))
        return ops.concatenate([power, peaks, ops.pad(x, ((0, 0), (2, 2)), mode="reflect")], axis=-1)


def test_a_step_of_the_spectral_ops_replays_like_the_graph(rng):
    assert_trains_the_same_planned_and_eager((16,), lambda: [L.Dense(16), Spectrogram(),
                                                             L.Dense(3, activation="softmax")],
                                             "sparse_categorical_crossentropy", rng.standard_normal((6, 16)),
                                             rng.integers(0, 3, 6))


# ---- custom_gradient ------------------------------------------------------------------------------------------
@ops.custom_gradient
def log1pexp(x):
    """Keras's documented example: log(1 + eˣ) with the gradient written stably."""
    e = ops.exp(x)

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

    return ops.log(1 + e), grad


@ops.custom_gradient
def reverse_gradient(x):
    """A gradient reversal layer's op (domain-adversarial training): the identity, its gradient negated."""
    return x, lambda dy: -dy


def test_custom_gradient_gives_its_own_gradient():
    x = tensor([0.0, 1.0, 40.0])
    y = log1pexp(x)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), np.log1p(np.exp([0.0, 1.0, 40.0])), rtol=1e-15)
    np.testing.assert_allclose(x.grad, [0.5, 1 / (1 + np.exp(-1.0)), 1.0], rtol=1e-15)
    z = tensor([1.0, -2.0])
    (reverse_gradient(z) * tensor([3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(z.grad, [-3.0, -4.0])


def test_custom_gradient_takes_each_backend_s_grad_signature():
    @ops.custom_gradient
    def scaled(x, w):
        def grad(x, w, upstream):  # Keras's torch backend: the inputs, then upstream by name
            return upstream * w * 2, None
        return x * w, grad

    x, w = tensor([1.0, 2.0]), tensor([3.0, 5.0])
    scaled(x, w).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 10.0])
    assert w.grad is None


def test_custom_gradient_is_refused_what_it_cannot_use():
    with pytest.raises(TypeError, match="returns \\(value, grad function\\)"):
        ops.custom_gradient(lambda x: (x, 1.0))(tensor([1.0]))
    with pytest.raises(ValueError, match="2 gradients for 1 tensor inputs"):
        ops.custom_gradient(lambda x: (x * 2, lambda dy: (dy, dy)))(tensor([1.0])).sum().backward()


class SoftClipped(L.Layer):
    """A clipped activation whose gradient passes straight through (a custom gradient in a layer)."""

    def call(self, x):
        @ops.custom_gradient
        def straight_through_clip(v):
            return ops.clip(v, -0.5, 0.5), lambda dy: dy * 0.5
        return straight_through_clip(x) + reverse_gradient(x) * 0.1 + log1pexp(x)


def test_a_step_with_custom_gradients_replays_like_the_graph(rng):
    assert_trains_the_same_planned_and_eager((4,), lambda: [L.Dense(5), SoftClipped(),
                                                            L.Dense(3, activation="softmax")],
                                             "sparse_categorical_crossentropy", rng.standard_normal((6, 4)),
                                             rng.integers(0, 3, 6))


# ---- the convolution variants, as the layers compute them ------------------------------------------------------
def _layer_output(layer, x, *weights):
    layer.build(x.shape)
    layer.set_weights(list(weights) + [np.zeros(w.shape, np.float32) for w in layer.get_weights()[len(weights):]])
    return layer(x).numpy()


@pytest.mark.parametrize("strides, padding, output_padding, dilation", [
    (2, "valid", None, 1), (2, "same", None, 1), ((2, 3), "valid", (1, 2), 1), (2, "same", 1, 1),
    (1, "same", None, 2)])
def test_conv_transpose_is_the_layer_s(strides, padding, output_padding, dilation, rng):
    x, kernel = f32(rng.standard_normal((2, 7, 6, 3))), f32(rng.standard_normal((3, 3, 4, 3)))
    layer = L.Conv2DTranspose(4, 3, strides, padding, output_padding=output_padding, dilation_rate=dilation)
    np.testing.assert_allclose(ops.conv_transpose(x, kernel, strides, padding, output_padding,
                                                  dilation_rate=dilation).numpy(),
                               _layer_output(layer, x, kernel), rtol=1e-6, atol=1e-6)


def test_depthwise_and_separable_convolutions_are_the_layers(rng):
    x = f32(rng.standard_normal((2, 7, 6, 3)))
    depthwise, pointwise = f32(rng.standard_normal((3, 3, 3, 2))), f32(rng.standard_normal((1, 1, 6, 5)))
    np.testing.assert_allclose(ops.depthwise_conv(x, depthwise, 2, "same").numpy(),
                               _layer_output(L.DepthwiseConv2D(3, 2, "same", depth_multiplier=2), x, depthwise),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ops.separable_conv(x, depthwise, pointwise).numpy(),
                               _layer_output(L.SeparableConv2D(5, 3, depth_multiplier=2), x, depthwise, pointwise),
                               rtol=1e-6, atol=1e-6)
    sequence = f32(rng.standard_normal((2, 9, 3)))
    np.testing.assert_allclose(ops.conv_transpose(sequence, depthwise[0, :, :, :2].transpose(0, 2, 1), 3, "same")
                               .numpy(), _layer_output(L.Conv1DTranspose(2, 3, 3, "same"), sequence,
                                                       depthwise[0, :, :, :2].transpose(0, 2, 1)),
                               rtol=1e-6, atol=1e-6)


def test_convolution_variants_pass_gradients(rng):
    x, kernel = (tensor(rng.standard_normal(s)) for s in ((1, 4, 4, 2), (3, 3, 3, 2)))
    assert sg.gradcheck(lambda a, k: ops.conv_transpose(a, k, 2, "same", output_padding=1), x, kernel, tol=TOL)
    depthwise, pointwise = (tensor(rng.standard_normal(s)) for s in ((2, 2, 2, 2), (1, 1, 4, 3)))
    assert sg.gradcheck(lambda a, d, p: ops.separable_conv(a, d, p, padding="same"), x, depthwise, pointwise, tol=TOL)
    with pytest.raises(ValueError, match="'valid' or 'same'"):
        ops.conv_transpose(np.zeros((1, 4, 4, 2)), np.zeros((3, 3, 3, 2)), padding="causal")
    with pytest.raises(ValueError, match="1-D, 2-D or 3-D windows"):
        ops.conv_transpose(np.zeros((1, 4, 4, 4, 4, 2)), np.zeros((3, 3, 3, 3, 3, 2)))


# Keras 3.15.1's results (torch backend) for volumes: the output's shape, its sum, and its entries at
# 0, n // 3, n // 2 and n - 1 of the flattened output
VOLUME_CASES = {
    "conv_valid": ("conv", "K", {}, ((2, 4, 4, 6, 3), -127.0324, [13.82619, 1.407724, -4.148943, 6.356617])),
    "conv_same_strides": ("conv", "K", dict(strides=2, padding="same"),
                          ((2, 3, 3, 4, 3), 23.91952, [13.82619, -2.71898, -4.148943, 1.951013])),
    "conv_dilated_grouped": ("conv", "KG", dict(dilation_rate=(2, 1, 2)),
                             ((2, 3, 5, 3, 4), 53.60932, [0.761704, -1.985875, 4.005097, -3.16437])),
    "conv_first": ("conv", "K", dict(strides=(1, 2, 1), data_format="channels_first"),
                   ((2, 3, 4, 2, 6), 9.768504, [13.82619, 2.091334, -4.148943, 1.340404])),
    "transpose_valid": ("conv_transpose", "KT", dict(strides=2),
                        ((2, 10, 13, 14, 3), 220.1499, [2.046505, -5.482728, -0.8144647, -6.461066])),
    "transpose_same": ("conv_transpose", "KT", dict(strides=(1, 2, 2), padding="same"),
                       ((2, 5, 12, 14, 3), 67.42342, [2.046505, 3.373277, -0.8144647, -0.4000166])),
}


@pytest.mark.parametrize("name", sorted(VOLUME_CASES))
def test_volume_convolutions_equal_keras(name):
    draw = np.random.default_rng(9)
    x = draw.standard_normal((2, 5, 6, 7, 4)).astype(np.float32)
    kernels = {k: draw.standard_normal(s).astype(np.float32)
               for k, s in (("K", (2, 3, 2, 4, 3)), ("KG", (2, 2, 3, 2, 4)), ("KT", (2, 3, 2, 3, 4)))}
    op, kernel, options, (shape, total, entries) = VOLUME_CASES[name]
    if options.get("data_format") == "channels_first":
        x = np.moveaxis(x, -1, 1)
    out = getattr(ops, op)(x, kernels[kernel], **options).numpy().astype(np.float64)
    flat = out.ravel()
    assert out.shape == shape
    np.testing.assert_allclose(flat[[0, len(flat) // 3, len(flat) // 2, -1]], entries, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(flat.sum(), total, rtol=1e-5, atol=1e-3)


def test_volume_convolutions_pass_gradients(rng):
    x, kernel = (tensor(rng.standard_normal(s)) for s in ((1, 3, 4, 3, 2), (2, 2, 2, 2, 3)))
    assert sg.gradcheck(lambda a, k: ops.conv(a, k, (1, 2, 1), "same", dilation_rate=(1, 1, 2)), x, kernel, tol=TOL)
    transposed = tensor(rng.standard_normal((2, 2, 1, 3, 2)))
    assert sg.gradcheck(lambda a, k: ops.conv_transpose(a, k, 2, "same"), x, transposed, tol=TOL)



# ---- what a second read found (each was wrong before) ----------------------------------------------------------
def test_nan_variance_passes_no_nan_back_and_integers_stay_integers():
    x = tensor([1.0, np.nan, 3.0, 4.0])
    ops.nanvar(x).backward()
    np.testing.assert_allclose(x.grad, [-10 / 9, 0, 2 / 9, 8 / 9])  # Keras's (torch)
    big = np.array([16777217])  # not a float32
    assert ops.nanmax(big).numpy() == 16777217 and ops.nansum(big).dtype == np.int64
    assert ops.nancumsum(np.array([1, 2])).dtype == np.int64 and ops.nanmin(np.array([[3, 1]]), axis=1).numpy() == 1
    assert np.array_equal(ops.pad(np.zeros((0, 2)), ((0, 0), (1, 1)), mode="reflect").shape, (0, 4))


def test_integer_pairs_promote_as_numpy_before_the_bit_operation():
    assert ops.bitwise_or(np.array([1], np.int16), np.array([2 ** 40])).numpy()[0] == 2 ** 40 + 1
    assert ops.left_shift(np.int8(1), np.int64(10)).numpy() == 1024
    assert ops.lcm(np.array([6], np.int8), np.array([1000])).numpy()[0] == 3000


def test_host_computed_results_keep_their_dtype():
    assert ops.unique(np.array([1.5, 2.5])).dtype == np.float64
    assert ops.bincount(np.array([0, 1]), weights=np.array([0.5, 1.0])).dtype == np.float64
    assert ops.histogram(np.array([1.0, 2.0]))[1].dtype == np.float64
    assert ops.logspace(0, 1, 3, dtype="float64").dtype == ops.geomspace(1, 2, 3, dtype="float64").dtype == np.float64
    assert ops.view(np.array([1], np.int64), "float64").dtype == np.float64


def test_unique_pads_slices_along_an_axis_with_zeros_by_default():
    np.testing.assert_array_equal(ops.unique(np.array([[3, 1, 3], [0, 2, 0]]), axis=1, size=3).numpy(),
                                  [[1, 3, 0], [2, 0, 0]])
    np.testing.assert_array_equal(ops.unique(np.array([3, 1, 3, 2, 1]), size=6).numpy(), [1, 2, 3, 0, 0, 0])


def test_custom_gradient_passes_other_arguments_as_they_are():
    @ops.custom_gradient
    def scaled(x, s, power=1):
        return x * s ** power, lambda dy: (dy * s ** power, None)  # one gradient per argument

    x = tensor([1.0, 2.0])
    y = scaled(x, 2.0, power=2)
    y.sum().backward()
    assert y.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])


def test_edge_cases_numpy_and_keras_take():
    assert ops.corrcoef(f32([1, 2, 4])).numpy() == 1.0
    np.testing.assert_allclose(ops.average(np.ones((2, 3)), axis=(1,), weights=f32([1, 2, 3])).numpy(), [1, 1])
    np.testing.assert_array_equal(ops.saturate_cast(np.array([100000, -100000], np.int32), "float16").numpy(),
                                  [65504, -65504])
    np.testing.assert_array_equal(ops.heaviside(f32([np.nan, 0.0, -1.0]), f32([0.5, 0.5, 0.5])).numpy(),
                                  [np.nan, 0.5, 0.0])


class SignBit(L.Layer):
    """Reads the bytes of its input (a sign bit) each step: a replayed step must read the new ones."""

    def call(self, x):
        negative = ops.astype(ops.less(ops.view(x, "int64"), 0), x.dtype)
        return x * (1.0 + negative)


def test_a_step_reading_bytes_replays_like_the_graph(rng):
    assert_trains_the_same_planned_and_eager((4,), lambda: [L.Dense(4), SignBit(), L.Dense(3, activation="softmax")],
                                             "sparse_categorical_crossentropy", rng.standard_normal((6, 4)),
                                             rng.integers(0, 3, 6), steps=5)



# ---- istft and associative_scan -----------------------------------------------------------------------------
SPECTRUM = (f32([[0.5, -1.0, 0.25], [1.5, 0.0, -0.5], [-0.75, 0.5, 1.0]]),
            f32([[0.0, 0.5, 0.0], [0.0, -1.0, 0.0], [0.0, 0.25, 0.0]]))


def test_istft_matches_keras_and_undoes_stft(rng):
    """Keras 3.15.1's values on its NumPy backend (scipy's istft; its torch backend's torch.istft differs at
    the edges, where the windows' sum is small)."""
    np.testing.assert_allclose(ops.istft(SPECTRUM, 3, 2, 4).numpy(), [0.9166667, 1.3333334, 0.3333334, -0.75],
                               rtol=2e-6, atol=2e-7)
    np.testing.assert_allclose(ops.istft(SPECTRUM, 4, 2, 4, window=None, center=False).numpy(),
                               [-0.625, -0.375, 0.9375, 1.3125, 0.5625, -0.5625, -0.375, -0.625], rtol=2e-6)
    signal = rng.standard_normal((2, 40))
    for length, stride, n, window in ((8, 4, 8, "hann"), (8, 2, 10, "hann"), (6, 3, 8, "hamming")):
        rebuilt = ops.istft(ops.stft(signal, length, stride, n, window), length, stride, n, window=window, length=40)
        np.testing.assert_allclose(rebuilt.numpy(), signal, atol=1e-5)
    assert sg.gradcheck(lambda a, b: ops.istft((a, b), 3, 1, 4, length=4) ** 2,
                        *(_points(rng, (3, 3)) for _ in range(2)), tol=TOL)


def test_associative_scan_runs_f_along_the_axis_either_way(rng):
    x = f32([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(ops.associative_scan(ops.add, x, axis=1).numpy(), [[1, 3, 6], [4, 9, 15]])
    np.testing.assert_array_equal(ops.associative_scan(ops.multiply, x, reverse=True, axis=1).numpy(),
                                  [[6, 6, 3], [120, 30, 6]])  # Keras's
    both = ops.associative_scan(lambda a, b: {"s": a["s"] + b["s"], "m": ops.maximum(a["m"], b["m"])},
                                {"s": f32([1, 2, 3]), "m": f32([2, 1, 5])})
    np.testing.assert_array_equal(both["s"].numpy(), [1, 3, 6])
    np.testing.assert_array_equal(both["m"].numpy(), [2, 2, 5])
    assert sg.gradcheck(lambda a: ops.associative_scan(ops.multiply, a, axis=1), _points(rng), tol=TOL)
    with pytest.raises(ValueError, match="one length along axis 0"):
        ops.associative_scan(lambda a, b: a, [np.zeros(2), np.zeros(3)])



@pytest.mark.parametrize("pattern, lengths, shape", [
    ("b h w c -> b c h w", {}, (4, 3, 6, 8)), ("b h w c -> (b h) w c", {}, (24, 8, 3)),
    ("b h w c -> b (c h w)", {}, (4, 144)), ("b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 2}, (16, 3, 4, 3)),
    ("b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 2}, (4, 3, 4, 12))])
def test_rearrange_is_numpy_s_reshape_and_transpose(pattern, lengths, shape, rng):
    """keras.io's examples of keras.ops.rearrange (the shapes its docstring gives), against the same moves
    written in NumPy."""
    images = rng.standard_normal((4, 6, 8, 3))
    by_hand = {
        "b h w c -> b c h w": lambda a: a.transpose(0, 3, 1, 2),
        "b h w c -> (b h) w c": lambda a: a.reshape(24, 8, 3),
        "b h w c -> b (c h w)": lambda a: a.transpose(0, 3, 1, 2).reshape(4, -1),
        "b (h1 h) (w1 w) c -> (b h1 w1) h w c":
            lambda a: a.reshape(4, 2, 3, 2, 4, 3).transpose(0, 1, 3, 2, 4, 5).reshape(16, 3, 4, 3),
        "b (h h1) (w w1) c -> b h w (c h1 w1)":
            lambda a: a.reshape(4, 3, 2, 4, 2, 3).transpose(0, 1, 3, 5, 2, 4).reshape(4, 3, 4, 12)}[pattern]
    got = ops.rearrange(tensor(images), pattern, **lengths)
    assert got.shape == shape
    np.testing.assert_array_equal(got.numpy(), by_hand(images))
    assert sg.gradcheck(lambda a: ops.rearrange(a, pattern, **lengths) ** 2, tensor(images), tol=TOL)


@pytest.mark.parametrize("pattern, lengths, message", [
    ("b h w c", {}, "'input axes -> output axes'"), ("b h -> b h", {}, "names 2 axes, the tensor has 4"),
    ("b h w c -> b h w", {}, "each axis once"), ("b (h k) w c -> b h k w c", {"k": 4}, "cannot split an axis of 6")])
def test_rearrange_refuses_a_pattern_that_does_not_fit(pattern, lengths, message):
    with pytest.raises(ValueError, match=message):
        ops.rearrange(np.zeros((4, 6, 8, 3)), pattern, **lengths)



def test_unfold_and_fold_match_keras_and_are_adjoint(rng):
    np.testing.assert_array_equal(
        ops.unfold(np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4), 2, padding=(0, 1), stride=(1, 2)).numpy(),
        [[[0, 1, 3, 0, 5, 7], [0, 2, 0, 4, 6, 0], [0, 5, 7, 0, 9, 11], [4, 6, 0, 8, 10, 0]]])  # Keras's
    np.testing.assert_array_equal(ops.fold(np.arange(24, dtype=np.float32).reshape(1, 4, 6), (3, 4), 2).numpy(),
                                  [[[[0, 7, 9, 8], [15, 44, 48, 31], [15, 37, 39, 23]]]])
    assert ops.unfold(np.ones((1, 2, 4, 4), np.float32), 2, stride=2).shape == (1, 8, 4)  # Keras's docstring
    x = rng.standard_normal((2, 3, 7, 6))
    np.testing.assert_array_equal(ops.fold(ops.unfold(tensor(x), 2, stride=2), (7, 6), 2, stride=2).numpy()[:, :, :6],
                                  x[:, :, :6])  # side by side: fold undoes unfold (row 7 is in no block)
    options = {"kernel_size": (3, 2), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}
    blocks = rng.standard_normal(ops.unfold(x, **options).shape)
    np.testing.assert_allclose(np.sum(ops.unfold(tensor(x), **options).numpy() * blocks),
                               np.sum(x * ops.fold(tensor(blocks), (7, 6), **options).numpy()), rtol=1e-12)
    assert sg.gradcheck(lambda a: ops.unfold(a, 2, padding=1) ** 2, tensor(x[:1, :2, :4, :3].copy()), tol=TOL)
    with pytest.raises(ValueError, match="channels-first images"):
        ops.unfold(np.zeros((2, 3, 4)), 2)
    with pytest.raises(ValueError, match="fold takes blocks"):
        ops.fold(np.zeros((1, 5, 6)), (3, 4), 2)



def test_sobel_edges_match_keras_s_numpy_backend(rng):
    """scipy's ndimage.sobel, which Keras 3.15.1's NumPy backend calls (its torch backend differs)."""
    image = f32([[1, 2, 4], [0, 3, 1], [2, 2, 5]]).reshape(1, 3, 3, 1)
    edges = ops.image.sobel_edges(image).numpy()
    assert edges.shape == (1, 3, 3, 1, 2)
    np.testing.assert_array_equal(edges[0, :, :, 0, 0], [[-2, -2, -8], [3, 2, 3], [5, 4, 11]])
    np.testing.assert_array_equal(edges[0, :, :, 0, 1], [[6, 10, 4], [7, 8, 1], [3, 10, 7]])
    images = rng.random((2, 5, 6, 3))
    first = ops.image.sobel_edges(tensor(images.transpose(0, 3, 1, 2).copy()), data_format="channels_first")
    np.testing.assert_allclose(first.numpy(), ops.image.sobel_edges(tensor(images)).numpy().transpose(0, 3, 1, 2, 4))
    assert sg.gradcheck(lambda a: ops.image.sobel_edges(a) ** 2, tensor(images[:1, :4, :4, :1].copy()), tol=TOL)



def test_gaussian_blur_matches_keras_s_numpy_backend(rng):
    """Keras 3.15.1's NumPy backend (scipy's convolve2d; its torch backend changes the image's shape)."""
    image = f32([[1, 2, 4, 0], [0, 3, 1, 2], [2, 2, 5, 1]]).reshape(1, 3, 4, 1)
    np.testing.assert_allclose(ops.image.gaussian_blur(image, (3, 3), (1.0, 0.5)).numpy()[0, :, :, 0], [
        [0.8745567, 1.9632298, 2.0478926, 0.988196], [0.908205, 1.8253058, 2.0131402, 1.2377459],
        [1.2301663, 2.3946064, 2.6191902, 1.5594938]], rtol=2e-6)
    images = rng.random((2, 7, 6, 3))
    first = ops.image.gaussian_blur(tensor(images.transpose(0, 3, 1, 2).copy()), (4, 2), (1.0, 1.5),
                                    "channels_first")
    last = ops.image.gaussian_blur(tensor(images), (4, 2), (1.0, 1.5))
    np.testing.assert_allclose(first.numpy(), last.numpy().transpose(0, 3, 1, 2))
    assert sg.gradcheck(lambda a: ops.image.gaussian_blur(a, (3, 5), (0.8, 1.3)) ** 2,
                        tensor(images[:1, :4, :5, :2].copy()), tol=TOL)



# ---- what a second read of the later ops found (each was wrong before) -------------------------------------
class Convolutions(L.Layer):
    """The convolution ops with the layer's own kernels: a step using them must be recorded once and replayed."""

    def build(self, input_shape):
        self.up = self.add_weight((3, 3, 2, 4), name="up")
        self.depthwise = self.add_weight((2, 2, 2, 2), name="depthwise")
        self.pointwise = self.add_weight((1, 1, 4, 3), name="pointwise")

    def call(self, x):
        image = ops.conv_transpose(ops.reshape(x, (-1, 2, 2, 4)), self.up, 2, "same", dilation_rate=1)
        return ops.reshape(ops.separable_conv(image, self.depthwise, self.pointwise, padding="same"), (-1, 48))


def test_a_step_of_the_convolution_ops_is_recorded_once_and_replayed(rng):
    assert_trains_the_same_planned_and_eager((16,), lambda: [Convolutions(), L.Dense(3, activation="softmax")],
                                             "sparse_categorical_crossentropy", rng.standard_normal((6, 16)),
                                             rng.integers(0, 3, 6))


def test_istft_s_window_takes_a_gradient_and_any_float_dtype(rng):
    real, imag = _points(rng, (3, 3)), _points(rng, (3, 3))
    assert sg.gradcheck(lambda w: ops.istft((real, imag), 4, 2, 4, window=w) ** 2, _points(rng, (4,)), tol=TOL)
    signal = rng.standard_normal(30)
    assert ops.stft(signal, 12, 4, 16, window=ops.hanning(12))[0].dtype == np.float32  # floatx, as the signal
    assert ops.stft(tensor(signal), 12, 4, 16, window=ops.hanning(12))[0].dtype == np.float64
    spectrum = (f32([[0.5, -1, 0.25, 0.1, 0.2], [1.5, 0, -0.5, 0.3, -0.2], [-0.75, 0.5, 1, 0, 0.4]]),
                f32([[0, 0.5, 0, 0.2, 0], [0, -1, 0, 0.1, 0], [0, 0.25, 0, -0.3, 0]]))
    np.testing.assert_allclose(ops.istft(spectrum, 4, 2, 8, window=None).numpy(),  # ones over fft_length, Keras's
                               [1.691667, 0.97841, -0.491667, -0.2001020], rtol=1e-5)
