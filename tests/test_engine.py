"""The autograd engine: graph building and release, accumulation, dtypes, stability, bad input."""
import gc
import time
import weakref

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import functional as F


def test_grad_accumulates_until_cleared():
    x = sg.Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6, 6])
    x.zero_grad()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2, 4])


def test_shared_input_gets_both_paths():
    x = sg.Tensor(3.0, requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == pytest.approx(7.0)


def test_explicit_upstream_gradient():
    x = sg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * 2).backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2, 0, -2])


def test_no_grad_builds_no_graph():
    w = sg.Tensor([1.0, 2.0], requires_grad=True)
    with sg.no_grad():
        y = (w * 2).sum()
    assert y.creator is None and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_graph_is_freed_after_backward():
    x = sg.Tensor(np.ones((100, 100)), requires_grad=True)
    h = F.relu(x * 2)
    op = weakref.ref(h.creator)
    saved = weakref.ref(h)  # the intermediate tensor is referenced only by the graph after this
    loss = h.sum()
    del h
    loss.backward()
    gc.collect()
    assert saved() is None
    assert op() is None or op().inputs is None


def test_backward_twice_through_freed_graph_raises():
    x = sg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = sg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [4, 8])


def test_long_chain_has_no_recursion_limit():
    x = sg.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**10_000, rel=1e-3)


def test_wide_graph_backprops_in_linear_time():
    x = sg.Tensor(np.ones(4), requires_grad=True)
    terms = [x * float(i) for i in range(4000)]  # 4000 muls + 4000 adds = 8000 ops
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    loss = total.sum()
    start = time.perf_counter()
    loss.backward()
    elapsed = time.perf_counter() - start
    np.testing.assert_allclose(x.grad, sum(range(4000)))
    assert elapsed < 0.1, f"backward over 8000 ops took {elapsed * 1000:.0f} ms"


def test_non_scalar_backward_needs_gradient():
    x = sg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        (x * 2).backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        sg.Tensor([1, 2, 3], requires_grad=True)


def test_matmul_mismatch_names_both_shapes():
    a, b = sg.Tensor(np.ones((2, 3))), sg.Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3\) @ \(4, 5\)"):
        a @ b


def test_unknown_reduction_lists_valid_ones():
    with pytest.raises(ValueError, match="mean, sum, none"):
        F.mse(sg.Tensor([1.0]), [1.0], reduction="avg")


def test_mixed_float_dtypes_refuse_to_upcast():
    a = sg.Tensor([1.0], dtype="float32")
    b = sg.Tensor([1.0], dtype="float64")
    with pytest.raises(TypeError, match="astype"):
        a + b


def test_dtype_rule():
    assert sg.Tensor(1.5).dtype == np.float32
    assert sg.Tensor([1.0, 2.0]).dtype == np.float32
    assert sg.Tensor(np.zeros(3)).dtype == np.float32  # float64 arrays become float32 unless asked
    assert sg.Tensor(np.zeros(3), dtype="float64").dtype == np.float64
    assert sg.Tensor(np.zeros(3, dtype=np.float16)).dtype == np.float16
    assert sg.Tensor([1, 2]).dtype.kind == "i"
    x = sg.Tensor([1.0], dtype="float32")
    for y in (x * 2.5, x + np.float64(1), x - np.ones(1), 1.0 / x, x ** 2):
        assert y.dtype == np.float32


PROMOTING = {  # layer, an input shape, the output dtype for integer inputs (Keras's; average pooling as means)
    "Dense": (lambda: sg.layers.Dense(3), (2, 4), "float32"),
    "Dense float64": (lambda: sg.layers.Dense(3, dtype="float64"), (2, 4), "float64"),
    "Conv2D": (lambda: sg.layers.Conv2D(2, 3), (2, 5, 5, 1), "float32"),
    "Conv1D": (lambda: sg.layers.Conv1D(2, 3), (2, 5, 1), "float32"),
    "LayerNormalization": (lambda: sg.layers.LayerNormalization(), (2, 4), "float32"),
    "BatchNormalization": (lambda: sg.layers.BatchNormalization(), (2, 4), "float32"),
    "GlobalAveragePooling2D": (lambda: sg.layers.GlobalAveragePooling2D(), (2, 5, 5, 1), "float32"),
    "AveragePooling2D": (lambda: sg.layers.AveragePooling2D(2, padding="same"), (2, 5, 5, 1), "float32"),
    "AveragePooling1D": (lambda: sg.layers.AveragePooling1D(2), (2, 5, 1), "float32"),
}


@pytest.mark.parametrize("name", PROMOTING)
@pytest.mark.parametrize("integer", ["int64", "int32", "bool"])
def test_a_float_layer_promotes_integer_inputs_to_its_float_dtype_as_keras_does(name, integer):
    make, shape, dtype = PROMOTING[name]
    layer = make()
    ints = np.random.default_rng(0).integers(0, 3, shape).astype(integer)
    for call in (lambda: layer(ints), lambda: layer(sg.Tensor(ints))):  # before and after the layer is built
        y = call()
        assert y.dtype == dtype  # NumPy's int64 with float32 would give float64
        np.testing.assert_array_equal(y.numpy(), layer(ints.astype(dtype)).numpy())
    if layer.trainable_weights:
        (layer(ints) ** 2).sum().backward()
        assert all(w.grad is not None and w.grad.dtype == dtype for w in layer.trainable_weights)


FLOAT32_OPS = [
    lambda x: F.sigmoid(x), lambda x: F.tanh(x), lambda x: F.relu(x), lambda x: F.elu(x),
    lambda x: F.softplus(x), lambda x: F.softmax(x), lambda x: F.log_softmax(x),
    lambda x: F.leaky_relu(x), lambda x: x.mean(axis=0), lambda x: x.max(axis=1), lambda x: x.clip(0, 1),
    lambda x: (x * x + 1).sqrt(), lambda x: x.exp().log(), lambda x: x[0], lambda x: x @ x.T,
    lambda x: F.cross_entropy(x, np.array([0, 1, 2])), lambda x: F.binary_cross_entropy_with_logits(x, np.ones((3, 4))),
    lambda x: F.mse(x, np.zeros((3, 4))), lambda x: F.binary_cross_entropy(F.sigmoid(x), np.ones((3, 4))),
]


@pytest.mark.parametrize("fn", FLOAT32_OPS)
def test_float32_in_float32_out(fn, rng):
    x = sg.Tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


def test_softmax_stable_for_huge_inputs():
    x = sg.Tensor([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1, -1e4]], dtype="float64")
    np.testing.assert_allclose(F.softmax(x).data[0], [1, 0, 0], atol=1e-6)
    e = np.exp([0, 1, 0])
    np.testing.assert_allclose(F.softmax(x).data[1], e / e.sum(), atol=1e-6)
    np.testing.assert_allclose(F.log_softmax(x).data[1], np.log(e / e.sum()), atol=1e-6)
    assert np.isfinite(F.log_softmax(x).data).all()


def test_sigmoid_stable_at_1000():
    y = F.sigmoid(sg.Tensor([-1000.0, 1000.0], dtype="float64"))
    np.testing.assert_allclose(y.data, [0, 1], atol=1e-6)
    assert np.isfinite(y.data).all()


def test_cross_entropy_with_zero_probability_is_finite():
    logits = sg.Tensor([[1e4, 0.0, -1e4]], dtype="float64", requires_grad=True)
    loss = F.cross_entropy(logits, np.array([2]))
    assert loss.item() == pytest.approx(2e4, rel=1e-6)
    loss.backward()
    assert np.isfinite(logits.grad).all()
    np.testing.assert_allclose(logits.grad, [[1, 0, -1]], atol=1e-6)


def test_cross_entropy_backward_is_y_minus_t_over_n(rng):
    x = sg.Tensor(rng.standard_normal((5, 3)), dtype="float64", requires_grad=True)
    t = np.eye(3)[rng.integers(0, 3, 5)]
    F.cross_entropy(x, t).backward()
    y = np.exp(x.data) / np.exp(x.data).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad, (y - t) / 5, atol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_on_sequences_with_uint8_labels(reduction, rng):
    """(N, T, C) logits and (N, T) labels as small unsigned ints (MNIST's dtype): the fused loss works on
    the transposed logits, so the labels' positions there (up to 6·72 + 71, past uint8's range), and the
    per-sample losses' order, are checked."""
    x = sg.Tensor(rng.standard_normal((8, 9, 7)), dtype="float64", requires_grad=True)
    t = rng.integers(0, 7, (8, 9)).astype(np.uint8)
    loss = F.cross_entropy(x, t, reduction=reduction)
    log_y = x.data - np.log(np.exp(x.data).sum(-1, keepdims=True))
    per_sample = -np.take_along_axis(log_y, t[..., None].astype(int), -1)[..., 0]
    expected = {"none": per_sample, "sum": per_sample.sum(), "mean": per_sample.mean()}[reduction]
    np.testing.assert_allclose(loss.data, expected, atol=1e-12)
    upstream = rng.standard_normal(per_sample.shape) if reduction == "none" else 1.0
    (loss * upstream).sum().backward()
    scale = upstream[..., None] if reduction == "none" else 1 / per_sample.size if reduction == "mean" else 1
    np.testing.assert_allclose(x.grad, (np.exp(log_y) - np.eye(7)[t]) * scale, atol=1e-12)


@pytest.mark.parametrize("labels", ["integers", "probabilities"])
def test_cross_entropy_keeps_float32(labels, rng):
    x = sg.Tensor(rng.standard_normal((6, 10)).astype(np.float32), requires_grad=True)
    t = rng.integers(0, 10, 6) if labels == "integers" else np.eye(10, dtype=np.float32)[rng.integers(0, 10, 6)]
    loss = F.cross_entropy(x, t, reduction="none")
    (loss * np.arange(6.0)).sum().backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


def test_cross_entropy_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.cross_entropy(sg.Tensor(np.zeros((2, 3))), np.array([0, 3]))


def test_comparisons_are_not_differentiable():
    x = sg.Tensor([1.0, 2.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == bool and not mask.requires_grad


def test_reflected_ops_with_arrays():
    x = sg.Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x + np.array([1.0, 1.0])
    assert isinstance(y, sg.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 4])


def test_getitem_repeated_indices_accumulate():
    x = sg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 0, 1])


def test_tensor_basics():
    x = sg.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.size == 4 and len(x) == 2
    assert isinstance(x.numpy(), np.ndarray) and x.sum().item() == 10.0
    assert "requires_grad=True" in repr(x) and "grad_fn=Mul" in repr(x * 2)
    d = (x * 2).detach()
    assert d.creator is None and not d.requires_grad


def test_numerical_gradient_restores_values(rng):
    w = rng.standard_normal((3, 2))
    before = w.copy()
    g = sg.numerical_gradient(lambda _: (w**2).sum(), w)
    np.testing.assert_allclose(g, 2 * w, rtol=1e-6)
    np.testing.assert_array_equal(w, before)


def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(sg.autograd.Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, gy):
            return gy * self.x  # should be 2x

    x = sg.Tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    result = sg.gradcheck(lambda x: WrongSquare()(x), x, raise_exception=False)
    assert not result.ok and result.worst > 0.4
    with pytest.raises(AssertionError):
        sg.gradcheck(lambda x: WrongSquare()(x), x)


def test_relu_gives_positive_zero():
    y = F.relu(sg.Tensor([-2.0, 3.0])).numpy()
    assert not np.signbit(y).any()


def test_a_functions_scratch_array_is_kept_for_the_same_shape_and_dtype_and_made_anew_for_others():
    op = sg.autograd.Function()
    work = op.scratch("work", (3, 4), np.float32, np)
    assert op.scratch("work", (3, 4), np.float32, np) is work
    assert op.scratch("other", (3, 4), np.float32, np) is not work
    for shape, dtype in [((4, 3), np.float32), ((3, 4), np.float64)]:
        changed = op.scratch("work", shape, dtype, np)
        assert (changed.shape, changed.dtype) == (shape, dtype) and changed is not work
        work = changed
