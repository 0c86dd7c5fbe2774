"""The ops on CuPy arrays give NumPy's numbers: every op family, forward values and the gradients of
sum(out · g), in float64 (the suite gradchecks the NumPy path). Runs where CuPy and a GPU are present;
skipped elsewhere."""
import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import convolution as C
from scratchgrad import functional as F
from scratchgrad import ops
from scratchgrad import recurrent as R


@pytest.fixture(scope="module")
def cp():
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no GPU")
    except cupy.cuda.runtime.CUDARuntimeError:
        pytest.skip("no GPU")
    return cupy


def normal(*shape):
    return np.random.default_rng(len(shape) + sum(shape)).standard_normal(shape)


def positive(*shape):
    return np.abs(normal(*shape)) + 0.5


MASK = np.random.default_rng(7).random((3, 4)) > 0.3  # (batch, steps)


LABELS = np.random.default_rng(3).integers(0, 4, 6)
# name: (function of Tensors, inputs that get gradients, other arguments (arrays move to the device too))
CASES = {
    "exp": (ops.exp, [normal(3, 4)], []),
    "log_sqrt": (lambda x: ops.log(x) + ops.sqrt(x), [positive(3, 4)], []),
    "abs": (ops.abs, [normal(3, 4)], []),
    "sigmoid_tanh": (lambda x: F.sigmoid(x) * F.tanh(x), [normal(3, 4)], []),
    "relu_leaky_elu": (lambda x: F.relu(x) + F.leaky_relu(x, 0.1) + F.elu(x), [normal(3, 4)], []),
    "softplus": (F.softplus, [normal(3, 4)], []),
    "softmax_log_softmax": (lambda x: F.softmax(x) + F.log_softmax(x, axis=0), [normal(3, 4)], []),
    "reductions": (lambda x: x.sum(axis=0) + x.mean(axis=0) + x.max(axis=0), [normal(3, 4)], []),
    "getitem": (lambda x: x[::2, 1:], [normal(5, 4)], []),
    "matmul": (lambda a, b: a @ b, [normal(2, 3, 4), normal(4, 5)], []),
    "broadcasting": (lambda a, b: a * b + a / (b * b + 1) - ops.maximum(a, b), [normal(3, 4), normal(4)], []),
    "concatenate": (lambda a, b: ops.concatenate([a, b], axis=1), [normal(3, 2), normal(3, 4)], []),
    "linear": (F.linear, [normal(5, 3), normal(3, 4), normal(4)], []),
    "linear_sequence": (F.linear, [normal(2, 5, 3), normal(3, 4), normal(4)], []),
    "dropout_fixed_mask": (lambda x, m: F.dropout(x, 0.5, mask=m), [normal(3, 4)], [normal(3, 4) > 0]),
    "cross_entropy_labels": (F.cross_entropy, [normal(6, 4)], [LABELS]),
    "cross_entropy_probabilities": (F.cross_entropy, [normal(6, 4)], [np.eye(4)[LABELS] * 0.8 + 0.05]),
    "binary_cross_entropy_logits": (F.binary_cross_entropy_with_logits, [normal(6, 4)], [1.0 * (normal(6, 4) > 0)]),
    "mse_mae": (lambda x, t: F.mse(x, t) + F.mae(x, t), [normal(6, 4)], [normal(4, 6).T]),
    "conv2d_same_strided": (lambda x, k, b: C.Conv2D((2, 2), "same")(x, k, b),
                            [normal(2, 9, 9, 3), normal(3, 3, 3, 4), normal(4)], []),
    "conv2d_one_channel": (lambda x, k, b: C.Conv2D()(x, k, b),
                           [normal(2, 9, 9, 1), normal(3, 3, 1, 4), normal(4)], []),
    "conv2d_channels_first": (lambda x, k: C.Conv2D(channels_first=True)(x, k),
                              [normal(2, 3, 7, 7), normal(3, 3, 3, 4)], []),
    "max_pool": (lambda x: C.MaxPool2D()(x), [normal(2, 8, 8, 3)], []),
    "max_pool_overlapping_same": (lambda x: C.MaxPool2D((3, 3), (2, 2), "same")(x), [normal(2, 7, 7, 3)], []),
    "max_pool_relu_fused": (lambda x: C.MaxPool2DReLU((2, 2), (2, 2), "same")(x), [normal(2, 7, 7, 3)], []),
    "average_pool_same": (lambda x: C.AvgPool2D((2, 2), (2, 2), "same")(x), [normal(2, 7, 7, 3)], []),
    "simple_rnn_loop": (lambda xw, h0, U: R.SimpleRNNLoop()(xw, h0, U),
                        [normal(4, 3, 5), normal(3, 5), normal(5, 5)], []),
    "gru_loop_masked": (lambda xw, h0, U, b, m: R.GRULoop(True)(xw, h0, U, b, sg.Tensor(m)),
                        [normal(4, 3, 15), normal(3, 5), normal(5, 15), normal(15)], [MASK]),
    "lstm_loop": (lambda x, h0, c0, W, U, b: R.LSTMLoop()(x, h0, c0, W, U, b),
                  [normal(4, 3, 2), normal(3, 5), normal(3, 5), normal(2, 20), normal(5, 20), normal(20)], []),
    "lstm_loop_masked_dropout": (lambda x, h0, c0, W, U, b, m: R.LSTMLoop(recurrent_dropout=0.3, seed=1)(
        x, h0, c0, W, U, b, sg.Tensor(m)),
        [normal(4, 3, 2), normal(3, 5), normal(3, 5), normal(2, 20), normal(5, 20), normal(20)], [MASK]),
    "embedding": (lambda table, ids: F.embedding(ids, table), [normal(10, 3)],
                  [np.random.default_rng(5).integers(0, 10, (4, 5))]),
}


def values_and_gradients(xp, fn, inputs, others):
    tensors = [sg.Tensor(xp.asarray(a), dtype="float64", requires_grad=True) for a in inputs]
    out = fn(*tensors, *[xp.asarray(a) for a in others])
    g = sg.Tensor(xp.asarray(np.random.default_rng(1).standard_normal(out.shape)), dtype="float64")
    (out * g).sum().backward()
    return [out.data] + [t.grad for t in tensors]


@pytest.mark.parametrize("name", sorted(CASES))
def test_cupy_arrays_give_numpy_s_numbers(cp, name):
    fn, inputs, others = CASES[name]
    on_gpu = values_and_gradients(cp, fn, inputs, others)
    assert all(type(a) is cp.ndarray for a in on_gpu)
    for a, b in zip(values_and_gradients(np, fn, inputs, others), on_gpu):
        np.testing.assert_allclose(cp.asnumpy(b), a, rtol=1e-10, atol=1e-12)
