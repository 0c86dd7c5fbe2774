"""conv2d and pooling: values against naive loops, gradients against central differences, shapes
against Keras's formula, and the errors bad input gets."""
import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import convolution as C
from scratchgrad.convolution import Conv2D

TOL = 1e-6


def tensor(values, requires_grad=True):
    return sg.Tensor(np.asarray(values, dtype=np.float64), dtype="float64", requires_grad=requires_grad)


def distinct(rng, shape):
    """Values at least 1/3 apart: no tied maxima, and no eps-perturbation changes which one wins."""
    return rng.permutation(np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape) / 3 - 5


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def keras_length(size, k, stride, padding):
    """keras conv_utils.conv_output_length, written as Keras writes it (not as the module does)."""
    length = size - k + 1 if padding == "valid" else size
    return (length + stride - 1) // stride


def keras_padded(x, size, strides, padding, fill):
    """x (N, H, W, C) padded as TensorFlow pads for "same": the smaller half on top/left."""
    if padding == "valid":
        return x
    pads = []
    for n, k, s in zip(x.shape[1:3], size, strides):
        total = max((keras_length(n, k, s, "same") - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=fill)


def naive_conv2d(x, kernel, bias, strides, padding):
    """channels_last convolution, one output pixel at a time."""
    kh, kw, _, filters = kernel.shape
    (sh, sw), (n, h, w, _) = strides, x.shape
    oh, ow = keras_length(h, kh, sh, padding), keras_length(w, kw, sw, padding)
    xp = keras_padded(x, (kh, kw), strides, padding, 0.0)
    y = np.zeros((n, oh, ow, filters))
    for r in range(oh):
        for c in range(ow):
            patch = xp[:, r * sh:r * sh + kh, c * sw:c * sw + kw, :]
            for f in range(filters):
                y[:, r, c, f] = (patch * kernel[..., f]).sum(axis=(1, 2, 3))
    return y if bias is None else y + bias


def naive_pool(x, size, strides, padding, kind):
    """channels_last pooling, one window at a time; "same" padding cells never count."""
    (ph, pw), (sh, sw), (n, h, w, ch) = size, strides, x.shape
    oh, ow = keras_length(h, ph, sh, padding), keras_length(w, pw, sw, padding)
    xp = keras_padded(x, size, strides, padding, np.nan)
    y = np.zeros((n, oh, ow, ch))
    for r in range(oh):
        for c in range(ow):
            window = xp[:, r * sh:r * sh + ph, c * sw:c * sw + pw, :]
            y[:, r, c, :] = np.nanmax(window, axis=(1, 2)) if kind == "max" else np.nanmean(window, axis=(1, 2))
    return y


def to_first(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


# ---- conv2d ----------------------------------------------------------------------------------
CONV_CASES = [
    # (N, H, W, C_in), (kh, kw, filters), strides, padding, bias
    ((2, 5, 5, 1), (3, 3, 1), 1, "valid", True),
    ((2, 5, 6, 2), (3, 3, 4), 1, "same", True),
    ((1, 6, 5, 3), (2, 2, 4), 1, "same", False),
    ((2, 6, 6, 1), (2, 3, 4), 2, "valid", True),
    ((2, 7, 6, 3), (3, 3, 1), 2, "same", True),
    ((1, 6, 7, 2), (4, 4, 1), 2, "same", False),
    ((2, 5, 7, 3), (3, 2, 4), (2, 1), "valid", True),
    ((1, 5, 5, 2), (1, 1, 4), 2, "same", True),
    ((2, 4, 4, 1), (4, 4, 4), 1, "valid", False),
    ((1, 8, 7, 2), (5, 3, 1), (3, 2), "same", True),
    ((2, 5, 5, 8), (3, 3, 16), 1, "same", True),  # 73 im2col columns × 16 filters: the one-product kernel gradient
]


def conv_inputs(rng, x_shape, k_shape, bias):
    kh, kw, filters = k_shape
    x = rng.standard_normal(x_shape)
    kernel = rng.standard_normal((kh, kw, x_shape[3], filters))
    return x, kernel, rng.standard_normal(filters) if bias else None


@pytest.mark.parametrize("x_shape, k_shape, strides, padding, bias", CONV_CASES)
def test_conv2d_matches_naive_loop(x_shape, k_shape, strides, padding, bias, rng):
    x, kernel, b = conv_inputs(rng, x_shape, k_shape, bias)
    y = C.conv2d(tensor(x), tensor(kernel), None if b is None else tensor(b), strides=strides, padding=padding)
    np.testing.assert_allclose(y.data, naive_conv2d(x, kernel, b, pair(strides), padding), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("x_shape, k_shape, strides, padding, bias", CONV_CASES)
def test_conv2d_gradcheck(x_shape, k_shape, strides, padding, bias, data_format, rng):
    x, kernel, b = conv_inputs(rng, x_shape, k_shape, bias)
    if data_format == "channels_first":
        x = to_first(x)
    inputs = [tensor(x), tensor(kernel)] + ([] if b is None else [tensor(b)])

    def f(x, kernel, b=None):
        return C.conv2d(x, kernel, b, strides=strides, padding=padding, data_format=data_format)

    assert sg.gradcheck(f, *inputs, tol=TOL)


@pytest.mark.parametrize("order", ["C", "F"])
def test_both_ways_of_the_kernel_gradient_agree(order, rng):
    """Conv2D's kernel gradient, colᵀ·gy, as one product (large gradients) and summed per sample (small)."""
    col = np.asarray(rng.standard_normal((3 * 20, 7)), order=order)  # im2col's layouts: F for one channel
    gy = rng.standard_normal((3 * 20, 5))
    assert col.shape[1] * gy.shape[1] <= C.SMALL_GRADIENT
    np.testing.assert_allclose(C.weight_gradient_per_sample(col, gy, 3), col.T @ gy, rtol=1e-12)
    np.testing.assert_allclose(C.weight_gradient_one_product(col, gy), col.T @ gy, rtol=1e-12)


def test_conv2d_of_an_empty_batch_has_a_zero_kernel_gradient(rng):
    kernel = tensor(rng.standard_normal((3, 3, 1, 4)))
    C.conv2d(tensor(np.zeros((0, 5, 5, 1))), kernel).sum().backward()
    np.testing.assert_array_equal(kernel.grad, np.zeros((3, 3, 1, 4)))


def test_conv2d_channels_first_is_a_transpose_of_channels_last(rng):
    x, kernel, b = conv_inputs(rng, (2, 6, 5, 3), (3, 2, 4), True)
    last = C.conv2d(tensor(x), tensor(kernel), tensor(b), strides=2, padding="same")
    first = C.conv2d(tensor(to_first(x)), tensor(kernel), tensor(b), strides=2, padding="same",
                     data_format="channels_first")
    assert first.shape == (2, 4, 3, 3)
    np.testing.assert_allclose(first.data, to_first(last.data), rtol=1e-12)


def test_same_padding_puts_the_smaller_half_on_top_and_left():
    # 4 pixels, kernel 2, stride 1: one pad row in total, which TensorFlow puts at the bottom.
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    y = C.conv2d(tensor(x), tensor(np.ones((2, 2, 1, 1))), padding="same")
    assert y.data[0, 0, 0, 0] == 0 + 1 + 4 + 5
    assert y.data[0, 3, 3, 0] == 15


def test_conv2d_skips_the_input_gradient_nobody_needs(rng, monkeypatch):
    x, kernel, b = conv_inputs(rng, (2, 5, 5, 2), (3, 3, 4), True)
    x, kernel, b = tensor(x, requires_grad=False), tensor(kernel), tensor(b)

    def fail(*_):
        raise AssertionError("input gradient computed for an input that does not require grad")

    monkeypatch.setattr(Conv2D, "input_grad_parts", fail)
    C.conv2d(x, kernel, b).sum().backward()
    assert x.grad is None and kernel.grad.shape == kernel.shape and b.grad.shape == b.shape


# ---- pooling ---------------------------------------------------------------------------------
POOL_CASES = [
    # (N, H, W, C), pool_size, strides, padding
    ((2, 4, 4, 2), 2, None, "valid"),
    ((2, 5, 5, 1), 2, None, "valid"),
    ((2, 5, 5, 2), 2, None, "same"),
    ((1, 7, 6, 3), 3, None, "same"),
    ((2, 6, 6, 1), 3, 1, "valid"),
    ((2, 6, 7, 2), 3, 2, "same"),
    ((1, 5, 6, 2), (2, 3), (1, 2), "same"),
    ((2, 6, 5, 1), 2, 3, "valid"),
    ((1, 7, 7, 2), (3, 2), (2, 3), "valid"),
]
POOLS = {"max": C.max_pool2d, "avg": C.avg_pool2d}


@pytest.mark.parametrize("kind", sorted(POOLS))
@pytest.mark.parametrize("x_shape, size, strides, padding", POOL_CASES)
def test_pool_matches_naive_loop(kind, x_shape, size, strides, padding, rng):
    x = distinct(rng, x_shape)
    y = POOLS[kind](tensor(x), size, strides, padding)
    expected = naive_pool(x, pair(size), pair(size if strides is None else strides), padding, kind)
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kind", sorted(POOLS))
@pytest.mark.parametrize("x_shape, size, strides, padding", POOL_CASES)
def test_pool_gradcheck(kind, x_shape, size, strides, padding, data_format, rng):
    x = distinct(rng, x_shape)
    if data_format == "channels_first":
        x = to_first(x)
    assert sg.gradcheck(lambda x: POOLS[kind](x, size, strides, padding, data_format), tensor(x), tol=TOL)


def test_max_pool_gives_a_tie_to_its_first_element_only():
    x = tensor(np.ones((1, 4, 4, 1)))
    C.max_pool2d(x).backward(np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1))
    expected = np.zeros((4, 4))
    expected[::2, ::2] = [[1, 2], [3, 4]]
    np.testing.assert_array_equal(x.grad[0, :, :, 0], expected)


def test_max_pool_tie_across_overlapping_windows_is_counted_once_per_window():
    x = tensor(np.ones((1, 3, 3, 1)))
    C.max_pool2d(x, pool_size=2, strides=1).sum().backward()
    # Every window's first element is its own top-left pixel.
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_avg_pool_same_averages_only_real_pixels():
    y = C.avg_pool2d(tensor(np.ones((1, 5, 5, 2))), pool_size=3, strides=2, padding="same")
    np.testing.assert_array_equal(y.data, 1.0)


@pytest.mark.parametrize("data_format, axes", [("channels_last", (1, 2)), ("channels_first", (2, 3))])
def test_global_avg_pool2d(data_format, axes, rng):
    x = tensor(rng.standard_normal((2, 3, 4, 5)))
    y = C.global_avg_pool2d(x, data_format)
    np.testing.assert_allclose(y.data, x.data.mean(axis=axes))
    assert sg.gradcheck(lambda x: C.global_avg_pool2d(x, data_format), x, tol=TOL)


# ---- shapes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2, 3, (1, 2), (3, 1)])
@pytest.mark.parametrize("k", [1, 2, 3, (2, 5)])
@pytest.mark.parametrize("hw", [(7, 7), (8, 5), (5, 9)])
def test_output_shapes_follow_keras(hw, k, strides, padding):
    (h, w), (kh, kw), (sh, sw) = hw, pair(k), pair(strides)
    expected_hw = (keras_length(h, kh, sh, padding), keras_length(w, kw, sw, padding))
    x = np.zeros((2, h, w, 3), dtype=np.float32)
    y = C.conv2d(x, np.zeros((kh, kw, 3, 4), dtype=np.float32), strides=strides, padding=padding)
    assert y.shape == (2, *expected_hw, 4)
    y = C.conv2d(to_first(x), np.zeros((kh, kw, 3, 4), dtype=np.float32), strides=strides, padding=padding,
                 data_format="channels_first")
    assert y.shape == (2, 4, *expected_hw)
    for pool in POOLS.values():
        assert pool(x, k, strides, padding).shape == (2, *expected_hw, 3)
        assert pool(to_first(x), k, strides, padding, "channels_first").shape == (2, 3, *expected_hw)


# ---- dtypes ----------------------------------------------------------------------------------
def test_float32_stays_float32(rng):
    x = sg.Tensor(rng.standard_normal((2, 6, 6, 3)).astype(np.float32), requires_grad=True)
    kernel = sg.Tensor(rng.standard_normal((3, 3, 3, 4)).astype(np.float32), requires_grad=True)
    bias = sg.Tensor(np.zeros(4, np.float32), requires_grad=True)
    h = C.conv2d(x, kernel, bias, padding="same")
    outputs = [h, C.max_pool2d(h, 3, 2, "same"), C.avg_pool2d(h, 3, 2, "same"), C.global_avg_pool2d(h)]
    assert all(y.dtype == np.float32 for y in outputs)
    sum(y.sum() for y in outputs).backward()
    assert x.grad.dtype == kernel.grad.dtype == bias.grad.dtype == np.float32


def test_mixed_dtypes_are_refused(rng):
    x = sg.Tensor(np.zeros((1, 4, 4, 1)), dtype="float64")
    with pytest.raises(TypeError, match="float64.*float32"):
        C.conv2d(x, sg.Tensor(np.zeros((2, 2, 1, 1), np.float32)))


# ---- bad input -------------------------------------------------------------------------------
X = np.zeros((2, 6, 6, 3), dtype=np.float32)
K = np.zeros((3, 3, 3, 4), dtype=np.float32)

BAD = {
    "x not 4-D": (lambda: C.conv2d(X[0], K), r"4-D .*\(6, 6, 3\)"),
    "kernel not 4-D": (lambda: C.conv2d(X, K[0]), r"kernel must be 4-D.*\(3, 3, 4\)"),
    "channels differ": (lambda: C.conv2d(X, K[:, :, :2]), r"3 channels .*\(2, 6, 6, 3\).*expects 2.*\(3, 3, 2, 4\)"),
    "channels_first channels": (lambda: C.conv2d(X, K, data_format="channels_first"),
                                r"6 channels .*\(2, 6, 6, 3\).*expects 3"),
    "kernel too large": (lambda: C.conv2d(X[:, :2], K), r"3x3 .*2x6 .*\(2, 2, 6, 3\)"),
    "bias shape": (lambda: C.conv2d(X, K, np.zeros(3, np.float32)), r"\(4,\).*\(3, 3, 3, 4\).*\(3,\)"),
    "strides zero": (lambda: C.conv2d(X, K, strides=0), r"strides .*0"),
    "strides pair": (lambda: C.conv2d(X, K, strides=(1, -1)), r"strides .*\(1, -1\)"),
    "conv padding": (lambda: C.conv2d(X, K, padding="full"), r"'full'.*valid, same"),
    "conv data_format": (lambda: C.conv2d(X, K, data_format="NHWC"), r"'NHWC'.*channels_last, channels_first"),
    "pool not 4-D": (lambda: C.max_pool2d(X[0]), r"4-D .*\(6, 6, 3\)"),
    "pool too large": (lambda: C.avg_pool2d(X, pool_size=7), r"7x7 .*6x6 .*\(2, 6, 6, 3\)"),
    "pool size zero": (lambda: C.max_pool2d(X, pool_size=0), r"pool_size .*0"),
    "pool strides": (lambda: C.avg_pool2d(X, strides=(0, 1)), r"strides .*\(0, 1\)"),
    "pool padding": (lambda: C.max_pool2d(X, padding="causal"), r"'causal'.*valid, same"),
    "pool data_format": (lambda: C.avg_pool2d(X, data_format="NCHW"), r"'NCHW'.*channels_last, channels_first"),
    "global not 4-D": (lambda: C.global_avg_pool2d(X[0]), r"4-D .*\(6, 6, 3\)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_raises_with_the_shapes(case):
    call, message = BAD[case]
    with pytest.raises(ValueError, match=message):
        call()


def test_same_padding_fits_any_kernel():
    assert C.conv2d(X[:, :2], K, padding="same").shape == (2, 2, 6, 4)
    assert C.max_pool2d(X, pool_size=7, padding="same").shape == (2, 1, 1, 3)
