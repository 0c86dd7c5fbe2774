"""The ops on CuPy arrays give NumPy's numbers: every op family, forward values and the gradients of
sum(out · g), in float64 (the suite gradchecks the NumPy path). The GPU cases run where CuPy and a GPU are
present and are skipped elsewhere; the cases themselves run on NumPy everywhere, so a broken case shows
before a GPU is at hand. The gradient registries' unary and binary ops join in, at one shape each."""
import numpy as np
import pytest
from test_gradients import BINARY, UNARY, values_for

import scratchgrad as sg
from scratchgrad import activations as A
from scratchgrad import convolution as C
from scratchgrad import functional as F
from scratchgrad import layers, ops
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
    "spectra_and_padding": (lambda x: ops.rfft(ops.pad(x, ((0, 0), (2, 1)), mode="reflect"))[0]
                            + ops.fft((x, x))[1][:, :5], [normal(3, 6)], []),
    "segments": (lambda x, ids: ops.segment_max(x, ids, 3) + ops.segment_prod(x, ids, 3), [positive(5, 2)],
                 [np.array([0, 2, 2, 1, 0])]),
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
    "einsum": (lambda a, b: ops.einsum("abc,cd->abd", a, b), [normal(2, 3, 4), normal(4, 5)], []),
    "cumsum_tril_triu": (lambda x: ops.cumsum(x, axis=1) + ops.tril(x) - 2 * ops.triu(x, 1), [normal(4, 4)], []),
    "pad_dilate": (lambda x: ops.pad(ops.dilate(x, (2, 1)), ((1, 0), (0, 2))), [normal(3, 4)], []),
    "repeat_tile": (lambda x: ops.repeat(x, 2, axis=0) + ops.tile(x, (2, 1)), [normal(3, 4)], []),
    "take_take_along_axis": (lambda x, i, j: ops.take(x, i, axis=0).sum() + ops.take_along_axis(x, j, axis=1),
                             [normal(3, 4)], [np.array([2, 0, 2]), np.random.default_rng(2).integers(0, 4, (3, 2))]),
    "mod": (lambda x: ops.mod(x, 0.7), [normal(3, 4)], []),
    "keras_activations": (lambda x: A.gelu(x) + A.gelu(x, approximate=True) + A.selu(x) + A.silu(x) + A.mish(x)
                          + A.celu(x) + A.log_sigmoid(x) + A.squareplus(x) + A.softsign(x) + A.sparse_plus(x)
                          + A.hard_sigmoid(x) + A.hard_silu(x) + A.hard_tanh(x) + A.hard_shrink(x)
                          + A.soft_shrink(x) + A.tanh_shrink(x) + A.relu6(x) + A.threshold(x, 0.3, -1.0)
                          + A.sparse_sigmoid(x) + A.sparsemax(x), [normal(3, 4) * 2], []),
    "glu": (A.glu, [normal(3, 4)], []),
    "prelu": (F.prelu, [normal(3, 4), positive(4) / 4], []),
    "batch_norm": (F.batch_norm, [normal(6, 4) * 2 + 1, positive(4), normal(4)], []),
    "binary_cross_entropy_sse": (lambda p, t: F.binary_cross_entropy(p, t) + F.sse(p, t),
                                 [positive(6, 4) / 3], [1.0 * (normal(6, 4) > 0)]),
    "ctc_loss": (lambda x, labels, label_lengths, logit_lengths: ops.ctc_loss(labels, x, label_lengths, logit_lengths),
                 [normal(2, 7, 5)], [np.array([[1, 1, 3], [2, 4, 0]]), np.array([3, 2]), np.array([7, 5])]),
    "resizing_bilinear": (lambda x: layers.Resizing(5, 7, interpolation="bilinear")(x), [normal(2, 4, 3, 2)], []),
}
CASES.update({f"unary_{name}": (fn, [values_for(kind, (3, 4), np.random.default_rng(4))], [])
              for name, (fn, kind) in UNARY.items() if name != "reshape"})  # reshape's case makes a NumPy Tensor
CASES.update({f"binary_{name}": (fn, [values_for(kind, shape, np.random.default_rng(5)) for shape in ((3, 4), (4,))],
                                 []) for name, (fn, kind) in BINARY.items()})


def values_and_gradients(xp, fn, inputs, others):
    tensors = [sg.Tensor(xp.asarray(a), dtype="float64", requires_grad=True) for a in inputs]
    out = fn(*tensors, *[xp.asarray(a) for a in others])
    g = sg.Tensor(xp.asarray(np.random.default_rng(1).standard_normal(out.shape)), dtype="float64")
    (out * g).sum().backward()
    return [out.data] + [t.grad for t in tensors]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_runs_on_numpy_with_a_gradient(name):
    fn, inputs, others = CASES[name]
    out, *grads = values_and_gradients(np, fn, inputs, others)
    assert all(g is not None and g.shape == a.shape for g, a in zip(grads, inputs)) and np.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(CASES))
def test_cupy_arrays_give_numpy_s_numbers(cp, name):
    fn, inputs, others = CASES[name]
    on_gpu = values_and_gradients(cp, fn, inputs, others)
    assert all(type(a) is cp.ndarray for a in on_gpu)
    for a, b in zip(values_and_gradients(np, fn, inputs, others), on_gpu):
        np.testing.assert_allclose(cp.asnumpy(b), a, rtol=1e-10, atol=1e-12)


def test_ctc_decode_on_cupy_gives_numpy_s_labels(cp):
    logits, lengths = normal(3, 6, 4), np.array([6, 4, 0])
    on_cpu = ops.ctc_decode(logits, lengths)
    on_gpu = ops.ctc_decode(cp.asarray(logits), cp.asarray(lengths))
    for a, b in zip(on_cpu, on_gpu):
        assert type(b.data) is cp.ndarray
        np.testing.assert_allclose(cp.asnumpy(b.data), a.data, rtol=1e-12)


def _models():
    """Models whose layers make arrays of their own (states, stand-in biases, masks, positions)."""
    keras, L = sg, sg.layers
    tokens = keras.Input((6,), dtype="int64")
    embedded = L.Embedding(12, 8, mask_zero=True)(tokens)
    attended = L.MultiHeadAttention(2, 4)(embedded, embedded, use_causal_mask=True)
    encoder = keras.Model(tokens, L.GlobalAveragePooling1D()(L.LayerNormalization()(attended + embedded)))
    return {
        "mlp": (keras.Sequential([keras.Input((5,)), L.Dense(8, activation="relu"), L.BatchNormalization(),
                                  L.BatchNormalization(center=False, scale=False),
                                  L.Dense(3, activation="softmax")]), (4, 5)),
        "cnn": (keras.Sequential([keras.Input((8, 8, 2)), L.Conv2D(4, 3, padding="same", activation="relu"),
                                  L.MaxPooling2D(), L.Conv2DTranspose(3, 2, strides=2), L.Flatten(), L.Dense(2)]),
                (2, 8, 8, 2)),
        "conv1d_rnns": (keras.Sequential([keras.Input((7, 3)), L.Conv1D(4, 2, padding="causal", dilation_rate=2),
                                          L.LSTM(5, return_sequences=True), L.GRU(4, return_sequences=True),
                                          L.Bidirectional(L.SimpleRNN(3)), L.Dense(2)]), (2, 7, 3)),
        "volumes": (keras.Sequential([keras.Input((4, 6, 6, 2)), L.Conv3D(3, 2, padding="same", activation="relu"),
                                      L.MaxPooling3D(2, padding="same"), L.AveragePooling3D(2, 1, padding="same"),
                                      L.Conv3DTranspose(2, 2, strides=2), L.GlobalMaxPooling3D(), L.Dense(2)]),
                    (2, 4, 6, 6, 2)),
        "conv_lstm": (keras.Sequential([keras.Input((3, 5, 5, 1)), L.ConvLSTM2D(2, 3, padding="same",
                                                                             return_sequences=True, go_backwards=True),
                                        L.Conv3D(1, 2), L.GlobalAveragePooling3D(), L.Dense(2)]), (2, 3, 5, 5, 1)),
        "lstm_without_bias": (keras.Sequential([keras.Input((4, 3)), L.LSTM(5, use_bias=False),
                                                L.Dense(2)]), (3, 4, 3)),
        "embedding_attention": (encoder, "tokens"),
    }


def _fresh_model(name):
    """Model `name` of _models, with the same initial weights at each call, and its input's shape."""
    sg.set_seed(0)
    return _models()[name]


def _move(model, xp):
    """The model's weights onto xp's device, by hand (fit itself keeps NumPy arrays)."""
    for w in model.weights:
        w.data = xp.asarray(sg.backend.to_numpy(w.data))


def _on_device(xp, model, x):
    """The model's output and the gradients of sum(out · g) for its weights, with weights and input on xp's
    device (weights moved by hand: fit itself keeps NumPy arrays)."""
    _move(model, xp)
    model.set_weights(model.get_weights())  # NumPy arrays in, each onto its weight's device
    with sg.GradientTape() as tape:
        out = model(xp.asarray(x), training=True)
        g = sg.Tensor(xp.asarray(np.random.default_rng(1).standard_normal(out.shape)), dtype=out.dtype)
        loss = (out * g).sum()
    return [out.data] + [g.data for g in tape.gradient(loss, model.trainable_weights)]


@pytest.mark.parametrize("name", sorted(_models()))
def test_models_with_weights_on_the_gpu_give_numpy_s_numbers(cp, name):
    sg.backend.set_floatx("float64")
    try:
        shape = _fresh_model(name)[1]
        x = np.random.default_rng(2).integers(0, 12, (3, 6)) if shape == "tokens" else normal(*shape)
        on_cpu, on_gpu = (_on_device(xp, _fresh_model(name)[0], x) for xp in (np, cp))
    finally:
        sg.backend.set_floatx("float32")
    assert all(type(a) is cp.ndarray for a in on_gpu)
    for a, b in zip(on_cpu, on_gpu):
        np.testing.assert_allclose(cp.asnumpy(b), a, rtol=1e-9, atol=1e-11)


def _trained(xp, model, x, y, steps=3):
    """The weights after a custom training loop (GradientTape, Adam) on xp's device."""
    _move(model, xp)
    optimizer, loss_fn = sg.optimizers.Adam(0.01), sg.losses.SparseCategoricalCrossentropy(from_logits=True)
    for _ in range(steps):
        with sg.GradientTape() as tape:
            loss = loss_fn(xp.asarray(y), model(xp.asarray(x), training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
    return [w.data for w in model.weights]


@pytest.mark.parametrize("name", ["mlp", "conv1d_rnns"])
def test_a_custom_training_loop_on_the_gpu_gives_numpy_s_weights(cp, name):
    sg.backend.set_floatx("float64")
    try:
        shape = _fresh_model(name)[1]
        x, y = normal(*shape), np.random.default_rng(3).integers(0, 2, shape[0])
        on_cpu, on_gpu = (_trained(xp, _fresh_model(name)[0], x, y) for xp in (np, cp))
    finally:
        sg.backend.set_floatx("float32")
    assert all(type(a) is cp.ndarray for a in on_gpu)
    for a, b in zip(on_cpu, on_gpu):
        np.testing.assert_allclose(cp.asnumpy(b), a, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", sorted(_models()))
def test_each_model_case_runs_on_numpy(name):
    """The GPU model cases' own code, on NumPy everywhere: a broken case shows before a GPU is at hand."""
    model, shape = _fresh_model(name)
    x = np.random.default_rng(2).integers(0, 12, (3, 6)) if shape == "tokens" else normal(*shape)
    out, *grads = _on_device(np, model, x)
    assert np.isfinite(out).all() and len(grads) == len(model.trainable_weights)
    if shape != "tokens":
        before = [w.numpy().copy() for w in model.weights]
        after = _trained(np, model, x, np.random.default_rng(3).integers(0, 2, shape[0]), steps=1)
        assert any(not np.array_equal(a, b) for a, b in zip(before, after))
