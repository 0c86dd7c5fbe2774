"""Sequence layers: Embedding, SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed, Masking, and the
masks that flow between them.

Keras's numbers come from tests/keras_reference/sequence_layers.npz (made by make_sequence_reference.py
there, whose CASES table the one below mirrors): the same models with Keras's weights set must give
Keras's outputs. Gradients are checked in float64 against numerical ones, masks and directions included.
"""
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import compiled
from scratchgrad import layers as L
from scratchgrad import recurrent as R
from scratchgrad.gradcheck import gradcheck
from scratchgrad.models import Model, Sequential
from scratchgrad.tensor import Tensor

REFERENCE = np.load(Path(__file__).parent / "keras_reference" / "sequence_layers.npz")

CASES = {
    "simple_rnn": lambda: [L.SimpleRNN(4)],
    "simple_rnn_relu_seq": lambda: [L.SimpleRNN(4, activation="relu", return_sequences=True)],
    "lstm": lambda: [L.LSTM(5)],
    "lstm_seq_state": lambda: [L.LSTM(5, return_sequences=True, return_state=True)],
    "lstm_backwards_seq": lambda: [L.LSTM(5, go_backwards=True, return_sequences=True)],
    "gru": lambda: [L.GRU(4)],
    "gru_before_seq_state": lambda: [L.GRU(4, reset_after=False, return_sequences=True, return_state=True)],
    "masking_lstm": lambda: [L.Masking(), L.LSTM(5, return_sequences=True)],
    "masking_gru_last": lambda: [L.Masking(), L.GRU(4, go_backwards=True)],
    "embedding": lambda: [L.Embedding(10, 3)],
    "embedding_mask_rnn": lambda: [L.Embedding(10, 3, mask_zero=True), L.SimpleRNN(4)],
    "embedding_mask_lstm_stack": lambda: [L.Embedding(10, 3, mask_zero=True), L.LSTM(5, return_sequences=True),
                                          L.LSTM(4)],
    "embedding_mask_pool": lambda: [L.Embedding(10, 3, mask_zero=True), L.GlobalAveragePooling1D()],
    "bidirectional_concat": lambda: [L.Embedding(10, 3, mask_zero=True),
                                     L.Bidirectional(L.LSTM(4, return_sequences=True))],
    "bidirectional_sum_last": lambda: [L.Bidirectional(L.GRU(3), merge_mode="sum")],
    "bidirectional_state": lambda: [L.Bidirectional(L.LSTM(3, return_state=True), merge_mode="ave")],
    "time_distributed": lambda: [L.TimeDistributed(L.Dense(2, activation="tanh"))],
}


def reference(name, key):
    return [REFERENCE[k] for k in sorted((k for k in REFERENCE.files if k.startswith(f"{name}/{key}")),
                                         key=lambda k: int(k.rsplit("/", 1)[1][1:]))]


def build(name, x):
    inputs = sg.Input(shape=x.shape[1:], dtype="int64" if x.dtype.kind == "i" else "float32")
    y = inputs
    for layer in CASES[name]():
        y = layer(y)
    return Model(inputs, y)


@pytest.mark.parametrize("name", CASES)
def test_outputs_equal_keras_with_keras_weights(name):
    x = REFERENCE[f"{name}/x"]
    model = build(name, x)
    model.set_weights(reference(name, "w"))
    outputs = model(x)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    expected = reference(name, "y")
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_reference_table_covers_every_case():
    stored = {k.split("/")[0] for k in REFERENCE.files}
    assert stored == set(CASES)


@pytest.mark.parametrize("layer, shapes", [
    (lambda: L.SimpleRNN(4), [(3, 4), (4, 4), (4,)]),
    (lambda: L.LSTM(5), [(3, 20), (5, 20), (20,)]),
    (lambda: L.GRU(4), [(3, 12), (4, 12), (2, 12)]),
    (lambda: L.GRU(4, reset_after=False), [(3, 12), (4, 12), (12,)]),
    (lambda: L.GRU(4, use_bias=False), [(3, 12), (4, 12)]),
    (lambda: L.Embedding(10, 3), [(10, 3)]),
])
def test_weight_layouts_are_keras(layer, shapes):
    layer = layer()
    layer(np.zeros((2, 6, 3), "int64" if isinstance(layer, L.Embedding) else "float32"))
    assert [w.shape for w in layer.weights] == shapes


def test_lstm_forget_gate_bias_starts_at_one():
    layer = L.LSTM(3)
    layer(np.zeros((1, 2, 2), "float32"))
    np.testing.assert_array_equal(layer.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    layer = L.LSTM(3, unit_forget_bias=False)
    layer(np.zeros((1, 2, 2), "float32"))
    assert not layer.bias.numpy().any()


def test_parameter_counts_are_keras():
    model = Sequential([sg.Input(shape=(None,), dtype="int64"), L.Embedding(1000, 16, mask_zero=True),
                        L.Bidirectional(L.LSTM(32)), L.Dense(1, activation="sigmoid")])
    assert model.count_params() == 16000 + 2 * 4 * (32 * (16 + 32) + 32) + 65


# ---- gradients ---------------------------------------------------------------------------------------
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 1]], bool)  # (batch, steps)


def _loop_inputs(rng, blocks, states, lstm):
    """A loop's inputs, time-major (5 steps, batch 3, 4 units): the projection x·W + b and the initial
    states and U, or for the LSTM x itself (2 features), the states, W, U and b."""
    t = lambda *shape: Tensor(rng.normal(size=shape), dtype=np.float64, requires_grad=True)
    if lstm:
        return [t(5, 3, 2), t(3, 4), t(3, 4), t(2, 16), t(4, 16), t(16)]
    return [t(5, 3, blocks * 4)] + [t(3, 4) for _ in range(states)] + [t(4, blocks * 4)]


LOOPS = [  # (make(activation), blocks, initial states, whether a recurrent bias follows)
    pytest.param(lambda a: R.SimpleRNNLoop(a), 1, 1, False, id="simple_rnn"),
    pytest.param(lambda a: R.LSTMLoop(a), 4, 2, False, id="lstm"),
    pytest.param(lambda a: R.LSTMLoop(a, sequences=False), 4, 2, False, id="lstm_last_states"),
    pytest.param(lambda a: R.GRULoop(True, activation=a), 3, 1, True, id="gru"),
    pytest.param(lambda a: R.GRULoop(False, activation=a), 3, 1, True, id="gru_reset_before"),
    pytest.param(lambda a: R.LSTMLoop(a, recurrent_dropout=0.3, seed=5), 4, 2, False, id="lstm_recurrent_dropout"),
    pytest.param(lambda a: R.GRULoop(True, activation=a, recurrent_dropout=0.3, seed=5), 3, 1, True,
                 id="gru_recurrent_dropout"),
]


def _all_loop_inputs(rng, blocks, states, extra):
    inputs = _loop_inputs(rng, blocks, states, lstm=states == 2)
    if extra:  # GRU's recurrent bias
        inputs.append(Tensor(rng.normal(size=blocks * 4), dtype=np.float64, requires_grad=True))
    return inputs


@pytest.mark.parametrize("mask", [None, MASK], ids=["unmasked", "masked"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("make, blocks, states, extra", LOOPS)
def test_loops_backpropagate_through_time(make, blocks, states, extra, activation, mask):
    inputs = _all_loop_inputs(np.random.default_rng(3), blocks, states, extra)
    tail = () if mask is None else (Tensor(mask),)
    gradcheck(lambda *xs: make(activation)(*xs, *tail), *inputs)


@pytest.mark.parametrize("mask", [None, MASK], ids=["unmasked", "masked"])
@pytest.mark.parametrize("make, blocks, states, extra", [p for p in LOOPS if "dropout" not in p.id])
def test_initial_states_that_take_no_gradient_get_none_and_change_no_other_gradient(make, blocks, states, extra,
                                                                                      mask):
    """Keras's zero initial states take no gradient: the loop's backward then stops after step 0's cell
    (its product for dh would reach only h_0) and gives the other inputs the same gradients."""
    arrays = [t.data for t in _all_loop_inputs(np.random.default_rng(6), blocks, states, extra)]
    arrays += [] if mask is None else [mask]
    wanted, skipped = make("tanh"), make("tanh")
    wanted.needs_grad = (True,) * len(arrays)
    skipped.needs_grad = tuple(not 1 <= i <= states for i in range(len(arrays)))
    out = wanted.forward(*arrays)
    np.testing.assert_array_equal(skipped.forward(*arrays), out)
    gy = np.random.default_rng(7).normal(size=out.shape)
    for i, (a, b) in enumerate(zip(wanted.backward(gy), skipped.backward(gy))):
        if 1 <= i <= states:
            assert a is not None and b is None
        elif a is not None:
            np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("make", [
    lambda: L.SimpleRNN(3, return_sequences=True, go_backwards=True),
    lambda: L.LSTM(3, return_state=True),
    lambda: L.GRU(3, dropout=0.2, recurrent_dropout=0.3),
    lambda: L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode="mul"),
    lambda: L.TimeDistributed(L.Dense(2)),
], ids=["simple_rnn_backwards", "lstm_states", "gru_dropout", "bidirectional", "time_distributed"])
def test_layers_gradcheck_through_weights_and_inputs(make):
    layer = make()
    layer.dtype = np.dtype("float64")
    x = Tensor(np.random.default_rng(0).normal(size=(2, 4, 3)), dtype=np.float64, requires_grad=True)
    layer(x)

    def f(x, *weights):
        sg.set_seed(5)  # the same dropout masks at every evaluation
        out = layer(x, training=True)
        return sum((o * o).sum() for o in out) if isinstance(out, list) else out

    gradcheck(f, x, *layer.trainable_weights)


def test_embedding_backward_adds_repeated_rows():
    table = Tensor(np.arange(12.0).reshape(4, 3), dtype=np.float64, requires_grad=True)
    out = sg.functional.embedding(np.array([[1, 1, 3]]), table)
    out.sum().backward()
    np.testing.assert_array_equal(table.grad, [[0, 0, 0], [2, 2, 2], [0, 0, 0], [1, 1, 1]])
    gradcheck(lambda t: sg.functional.embedding(np.array([[0, 2, 2], [3, 0, 1]]), t), table)


def test_reversible_embedding_maps_vectors_back_to_logits_as_keras(rng):
    """Keras 3.15.1: ReversibleEmbedding(5, 3, tie_weights=False, logit_soft_cap=2.0) with these weights."""
    layer = L.ReversibleEmbedding(5, 3, tie_weights=False, logit_soft_cap=2.0)
    layer(np.array([[1, 0, 4]]))
    weights = [np.arange(15, dtype=np.float32).reshape(5, 3) / 10,
               (np.arange(15, dtype=np.float32).reshape(3, 5) - 7) / 10]
    layer.set_weights(weights)
    assert [w.name.split("/")[-1] for w in layer.weights] == ["embeddings", "reverse_embeddings"]  # Keras's
    x = np.float32([[[0.5, -1.0, 2.0]]])
    np.testing.assert_allclose(layer(x, reverse=True).numpy(), [[[0.4425569772720337, 0.5826252698898315,
                                                                 0.7167147994041443, 0.843798041343689,
                                                                 0.9630995392799377]]], rtol=1e-6)
    assert layer.compute_output_shape((2, 7, 3), reverse=True) == (2, 7, 5)
    assert layer.compute_output_shape((2, 7)) == (2, 7, 3)
    tied = L.ReversibleEmbedding(5, 3, mask_zero=True)
    ids = np.array([[1, 0, 4]])
    vectors = tied(ids)
    assert len(tied.weights) == 1 and tied.compute_mask(ids).numpy().tolist() == [[True, False, True]]
    np.testing.assert_allclose(tied(vectors, reverse=True).numpy(), vectors.numpy() @ tied.embeddings.numpy().T,
                               rtol=1e-6)
    assert tied.compute_mask(vectors) is None  # vectors, not ids: no padding to mark
    clone = L.ReversibleEmbedding.from_config(layer.get_config())
    assert (clone.tie_weights, clone.logit_soft_cap, clone.reverse_dtype) == (False, 2.0, None)


def test_a_tied_embedding_trains_as_a_language_model_s_input_and_output(rng):
    """Both directions' gradients reach the one table: the plan replays the same as the graph runs."""
    def model():
        ids = sg.Input((4,), dtype="int64")
        table = L.ReversibleEmbedding(6, 3)
        return sg.Model(ids, L.Activation("softmax")(table(L.Dense(3)(table(ids)), reverse=True)))

    x, y = rng.integers(0, 6, (8, 4)), rng.integers(0, 6, (8, 4))
    losses = []
    for eager in (False, True):
        sg.set_seed(0)
        m = model()
        m.compile("adam", "sparse_categorical_crossentropy", run_eagerly=eager)
        losses.append(m.fit(x, y, epochs=3, batch_size=4, verbose=0, shuffle=False).history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)
    assert losses[0][-1] < losses[0][0]


def test_embedding_refuses_ids_out_of_range():
    layer = L.Embedding(5, 2)
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        layer(np.array([[1, 5]]))
    with pytest.raises(IndexError):
        layer(np.array([[-1, 2]]))


# ---- masks -------------------------------------------------------------------------------------------
def test_padding_changes_nothing():
    """A padded sequence through Embedding(mask_zero) + LSTM gives what the unpadded one gives."""
    embed, lstm = L.Embedding(10, 4, mask_zero=True), L.LSTM(3)
    short = np.array([[3, 1, 4]])
    padded = np.array([[3, 1, 4, 0, 0]])
    np.testing.assert_allclose(lstm(embed(padded)).numpy(), lstm(embed(short)).numpy(), rtol=1e-6)


def test_masks_reach_the_layers_that_use_them():
    x = np.array([[1, 2, 0, 0]])
    e = L.Embedding(5, 2, mask_zero=True)(x)
    np.testing.assert_array_equal(e._keras_mask.numpy(), [[True, True, False, False]])
    dense = L.Dense(3)(e)  # Dense passes the mask on
    np.testing.assert_array_equal(dense._keras_mask.numpy(), e._keras_mask.numpy())
    assert L.LSTM(2)(dense)._keras_mask is None  # the last state is no sequence
    assert L.LSTM(2, return_sequences=True)(dense)._keras_mask is not None
    assert L.Flatten()(dense)._keras_mask is None  # a layer that does not support masking drops it


def test_masking_marks_steps_whose_features_all_equal_the_value():
    x = np.array([[[1.0, 2.0], [-1.0, -1.0], [0.0, -1.0]]], "float32")
    out = L.Masking(mask_value=-1.0)(x)
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, True]])
    np.testing.assert_array_equal(out.numpy(), [[[1, 2], [0, 0], [0, -1]]])


def test_explicit_mask_and_initial_state():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    layer = L.GRU(3)
    h0 = rng.normal(size=(2, 3)).astype("float32")
    full = layer(x, initial_state=[h0]).numpy()
    masked = layer(x, mask=np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool), initial_state=h0).numpy()
    np.testing.assert_allclose(masked[0], full[0], rtol=1e-6)
    np.testing.assert_allclose(masked[1], layer(x[1:, :2], initial_state=h0[1:]).numpy()[0], rtol=1e-6)
    with pytest.raises(ValueError, match="initial state"):
        L.LSTM(3)(x, initial_state=[h0])


# ---- models ------------------------------------------------------------------------------------------
def test_encoder_decoder_passes_states_by_keyword():
    encoder_in, decoder_in = sg.Input(shape=(5, 3)), sg.Input(shape=(4, 2))
    _, h, c = L.LSTM(6, return_state=True)(encoder_in)
    decoded = L.LSTM(6, return_sequences=True)(decoder_in, initial_state=[h, c])
    model = Model([encoder_in, decoder_in], L.TimeDistributed(L.Dense(2))(decoded))
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(8, 5, 3)).astype("float32"), rng.normal(size=(8, 4, 2)).astype("float32")]
    model.compile("adam", "mse")
    before = model.predict(xs, verbose=0)
    assert before.shape == (8, 4, 2)
    history = model.fit(xs, rng.normal(size=(8, 4, 2)).astype("float32"), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    clone = Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(xs, verbose=0), model.predict(xs, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("layer", [L.SimpleRNN, L.LSTM, L.GRU])
def test_an_encoder_trains_through_the_decoder_s_initial_states_in_a_replayed_step(layer):
    """The decoder's initial states need a gradient here (they are the encoder's states, its only way to the
    loss), so its loop takes step 0's product for dh: the encoder trains, in the replayed plan exactly as in
    the eager graph."""
    def train(eager):
        sg.set_seed(2)
        encoder_in, decoder_in = sg.Input(shape=(5, 3)), sg.Input(shape=(4, 2))
        encoder = layer(6, return_state=True)
        _, *states = encoder(encoder_in)
        decoded = layer(6, return_sequences=True)(decoder_in, initial_state=states)
        model = Model([encoder_in, decoder_in], L.TimeDistributed(L.Dense(2))(decoded))
        model.compile("adam", "mse", run_eagerly=eager)
        rng = np.random.default_rng(0)
        xs = [rng.normal(size=(8, 5, 3)).astype("float32"), rng.normal(size=(8, 4, 2)).astype("float32")]
        initial = [w.copy() for w in encoder.get_weights()]
        model.fit(xs, rng.normal(size=(8, 4, 2)).astype("float32"), batch_size=4, epochs=2, verbose=0)
        assert all(not np.array_equal(a, b) for a, b in zip(initial, encoder.get_weights()))
        return model
    planned, eager = train(False), train(True)
    assert planned._plans and not eager._plans
    for a, b in zip(planned.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make", [
    lambda: L.SimpleRNN(4, return_sequences=True, go_backwards=True, dropout=0.1),
    lambda: L.LSTM(4, recurrent_dropout=0.2, unit_forget_bias=False),
    lambda: L.GRU(4, reset_after=False, return_state=True),
    lambda: L.Bidirectional(L.GRU(3), merge_mode=None),
    lambda: L.TimeDistributed(L.Dense(2)),
    lambda: L.Embedding(7, 3, mask_zero=True),
    lambda: L.Masking(0.5),
])
def test_config_round_trip(make):
    layer = make()
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_stateful_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="stateful"):
        L.LSTM(3, stateful=True)


def test_activation_the_loop_cannot_run_is_refused_at_construction():
    with pytest.raises(ValueError, match="recurrent_activation='gelu'"):
        L.LSTM(3, recurrent_activation="gelu")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_cell_s_sigmoid_by_tanh_is_the_logistic_function(dtype):
    """GateSigmoid's (1 + tanh(z/2))/2 against 1/(1 + exp(-z)): within an ulp of 1 everywhere, to rounding
    where σ ≥ 1/2; its backward is σ(1 - σ)."""
    z = np.linspace(-60, 60, 2001).astype(dtype)
    gate = R.GateSigmoid()
    y = gate.forward(z)
    exact = 1 / (1 + np.exp(-z.astype(np.float64)))
    eps = np.finfo(dtype).eps
    assert y.dtype == z.dtype
    assert np.abs(y - exact).max() <= eps
    np.testing.assert_allclose(y[z >= 0], exact[z >= 0], rtol=2 * eps)  # the float64 reference rounds too
    assert 0 <= y.min() and y.max() <= 1
    np.testing.assert_array_equal(gate.backward(np.ones_like(z)), y * (1 - y))


def test_embedding_lstm_trains_the_same_planned_and_eager():
    """The registry's plan == eager check, for a model that starts from integer ids (with padding)."""
    rng = np.random.default_rng(2)
    x = rng.integers(0, 9, size=(12, 5))
    x[::3, 3:] = 0
    y = rng.integers(0, 2, 12)
    runs = []
    for eager in (False, True):
        sg.set_floatx("float64")
        try:
            sg.set_seed(3)
            model = Sequential([sg.Input(shape=(5,), dtype="int64"), L.Embedding(9, 4, mask_zero=True),
                                L.LSTM(3, dropout=0.2, return_sequences=True), L.GlobalAveragePooling1D(),
                                L.Dense(2, activation="softmax")])
        finally:
            sg.set_floatx("float32")
        model.compile("adam", "sparse_categorical_crossentropy", run_eagerly=eager)
        sg.set_seed(11)
        runs.append((model.fit(x, y, epochs=3, batch_size=5, verbose=0).history["loss"], model.get_weights(), model))
    (la, wa, planned), (lb, wb, _) = runs
    assert len(planned._plans) == 2
    np.testing.assert_allclose(la, lb, rtol=1e-12)
    for a, b in zip(wa, wb):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_integer_inputs_stay_integers_and_targets_stay_floats():
    """An Input of int64 ids keeps them ints, and the model (and its targets) stay float32."""
    ids = sg.Input(shape=(5,), dtype="int64")
    model = Model(ids, L.Dense(1)(L.LSTM(3)(L.Embedding(9, 4)(ids))))
    assert model.dtype == np.float32 and model.input_dtypes == [np.int64]
    rng = np.random.default_rng(0)
    model.compile("sgd", "mse")
    y = rng.uniform(0.2, 0.8, size=(20, 1))
    before = model.evaluate(rng.integers(0, 9, (20, 5)), y, verbose=0)
    assert before > 0.01  # targets kept as floats (cast to int64 they would all be 0)


def test_sequences_of_unknown_length_build_and_train():
    """Input(shape=(None, features)): output lengths that follow the input's stay unknown."""
    inputs = sg.Input(shape=(None, 4))
    conv = L.Conv1D(3, 3, activation="relu")(inputs)
    assert conv.shape == (None, None, 3)
    assert L.LSTM(5, return_sequences=True)(conv).shape == (None, None, 5)
    model = Model(inputs, L.Dense(1)(L.GRU(2)(L.MaxPooling1D()(conv))))
    assert model.output_shape == (None, 1)
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    for steps in (9, 14):  # any length trains
        model.fit(rng.normal(size=(4, steps, 4)).astype("float32"), np.ones((4, 1), "float32"), verbose=0)


def test_a_seeded_layer_draws_a_new_dropout_mask_every_step():
    """seed= gives a reproducible sequence of masks (Keras's SeedGenerator), not one mask repeated."""
    x = np.ones((2, 3, 4), "float32")
    for make in (lambda: L.LSTM(3, dropout=0.5, seed=1), lambda: L.GRU(3, recurrent_dropout=0.5, seed=1),
                 lambda: L.GaussianNoise(1.0, seed=1)):
        layer = make()
        first, second = layer(x, training=True).numpy(), layer(x, training=True).numpy()
        assert not np.allclose(first, second)
        again = make()
        again(x)  # built in inference: no mask drawn yet
        again.set_weights(layer.get_weights())
        np.testing.assert_allclose(again(x, training=True).numpy(), first, rtol=1e-6)  # the same sequence


def test_a_float_mask_trains_like_a_bool_one():
    """A mask fed as a model input is float32 (Keras casts it): 0/1 values work in fit."""
    x_in, m_in = sg.Input(shape=(4, 2)), sg.Input(shape=(4,))
    model = Model([x_in, m_in], L.Dense(1)(L.SimpleRNN(3)(x_in, mask=m_in)))
    model.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]] * 2, "float32")
    model.fit([rng.normal(size=(4, 4, 2)).astype("float32"), mask], np.ones((4, 1)), verbose=0)
    padded = rng.normal(size=(1, 4, 2)).astype("float32")
    changed = padded.copy()
    changed[0, 2:] = 9.0
    same = [model.predict([p, mask[:1]]) for p in (padded, changed)]
    np.testing.assert_allclose(same[0], same[1], rtol=1e-6)  # padded steps change nothing


def test_attention_keeps_the_query_mask_for_pooling():
    ids = np.array([[3, 1, 2, 0, 0]])
    embedded = L.Embedding(5, 4, mask_zero=True)(ids)
    attended = L.MultiHeadAttention(2, 2)(embedded, embedded)
    np.testing.assert_array_equal(attended._keras_mask.numpy(), [[True, True, True, False, False]])
    pooled = L.GlobalAveragePooling1D()(attended)
    np.testing.assert_allclose(pooled.numpy(), attended.numpy()[:, :3].mean(axis=1), rtol=1e-6)


def test_zero_output_for_mask_zeroes_a_padded_last_output():
    x = np.random.default_rng(0).normal(size=(2, 3, 2)).astype("float32")
    mask = np.array([[True, True, False], [True, True, True]])
    out = L.GRU(2, zero_output_for_mask=True)(x, mask=mask).numpy()
    assert not out[0].any() and out[1].all()


def test_sparse_labels_per_time_step():
    """Labels (n, steps) for outputs (n, steps, classes): the loss is the mean over every step, as Keras."""
    model = Sequential([sg.Input(shape=(5, 3)), L.LSTM(4, return_sequences=True), L.Dense(6, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 5, 3)).astype("float32"), rng.integers(0, 6, (8, 5))
    p = model.predict(x)
    expected = -np.log(np.take_along_axis(p, y[..., None], axis=-1)).mean()
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(expected, rel=1e-5)
    assert accuracy == pytest.approx((p.argmax(-1) == y).mean())
    assert model.evaluate(x, y[..., None], verbose=0)[0] == pytest.approx(loss)
    model.fit(x, y, epochs=2, verbose=0)
    with pytest.raises(ValueError, match=r"shape \(None, 5\)"):
        model.fit(x, y[:, :4], verbose=0)


@pytest.mark.parametrize("input_dtype", ["int64", "bool", "float16"])
def test_an_lstm_s_states_take_x_w_s_dtype(input_dtype):
    """Integer or bool steps into a float32 layer give float32 states, and so do float16 steps: x·W's
    dtype, which the LSTM's loop makes itself, as GRU's projection does."""
    x = (np.arange(24).reshape(2, 4, 3) % 2).astype(input_dtype)
    for layer in (L.LSTM(3, return_state=True, dtype="float32"), L.GRU(3, return_state=True, dtype="float32")):
        inputs = sg.Input(shape=(4, 3), dtype=input_dtype)
        outputs = Model(inputs, layer(inputs))(x)
        assert [o.dtype for o in outputs] == [np.float32] * len(outputs)
        assert np.isfinite(outputs[0].numpy()).all() and np.abs(outputs[0].numpy()).sum() > 0


@pytest.mark.parametrize("mask", [None, MASK], ids=["unmasked", "masked"])
def test_an_lstm_loop_returning_its_last_states_is_the_full_loop_sliced(mask):
    """LSTMLoop(sequences=False), which a layer returning no sequence runs: the same last states as the full
    loop's, and the same gradients as the full loop's given zeros at every earlier step."""
    rng = np.random.default_rng(4)
    arrays = [t.data for t in _loop_inputs(rng, 4, 2, lstm=True)] + ([] if mask is None else [mask])
    gy_last = rng.normal(size=(2, 3, 4))
    gy_full = np.zeros((2, 6, 3, 4))
    gy_full[:, -1] = gy_last
    full, last = R.LSTMLoop(), R.LSTMLoop(sequences=False)
    for loop in (full, last):
        loop.needs_grad = (True,) * len(arrays)
    np.testing.assert_array_equal(last.forward(*arrays), full.forward(*arrays)[:, -1])
    for a, b in zip(last.backward(gy_last), full.backward(gy_full)):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kernels", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("mask", [None, MASK], ids=["unmasked", "masked"])
@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last states"])
def test_an_lstm_loop_called_again_reuses_its_work_arrays_but_not_what_it_returned(sequences, mask, kernels):
    """A step plan calls the same LSTMLoop at every step, and the loop keeps its work arrays from call to
    call (Function.scratch): the second call gives a fresh loop's numbers, and what the first call returned,
    forward and backward, is left as it was."""
    if kernels and not compiled.enabled():
        pytest.skip("numba is not installed or kernels are off")
    rng = np.random.default_rng(5)
    first, second = ([t.data for t in _loop_inputs(rng, 4, 2, lstm=True)] + ([] if mask is None else [mask])
                     for _ in range(2))
    replayed, fresh = (R.LSTMLoop(sequences=sequences, recurrent_dropout=0.3, seed=1) for _ in range(2))
    for loop in (replayed, fresh):
        loop.needs_grad = (True,) * len(first)
    with compiled.using(kernels):
        out = replayed.forward(*first)
        gy = rng.normal(size=out.shape)
        grads = [g for g in replayed.backward(gy) if g is not None]
        kept = [a.copy() for a in (out, *grads)]
        work = replayed.runs[0][0]  # the first part's [h, x, 1] rows
        np.testing.assert_array_equal(replayed.forward(*second), fresh.forward(*second))
        for a, b in zip(replayed.backward(gy), fresh.backward(gy)):
            np.testing.assert_array_equal(a, b)
    assert replayed.uses_kernels == kernels
    assert replayed.runs[0][0] is work  # kept, not made anew
    for a, b in zip((out, *grads), kept):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kernels", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("shape", [(3, 0, 2), (0, 4, 2)], ids=["zero steps", "empty batch"])
def test_an_lstm_gives_its_input_a_gradient_of_zero_steps_or_rows(shape, kernels):
    if kernels and not compiled.enabled():
        pytest.skip("numba is not installed or kernels are off")
    x = Tensor(np.zeros(shape, np.float32), requires_grad=True)
    with compiled.using(kernels):
        L.LSTM(4)(x).sum().backward()
    assert x.grad.shape == shape


def test_an_lstm_loop_called_outside_a_graph_gives_every_gradient():
    """needs_grad unset (no graph recorded the call): every input is taken to want its gradient."""
    inputs = [t.data for t in _loop_inputs(np.random.default_rng(0), 4, 2, lstm=True)]
    loop = R.LSTMLoop()
    out = loop.forward(*inputs)
    grads = loop.backward(np.ones_like(out))
    assert [g.shape for g in grads] == [a.shape for a in inputs]


def test_a_fully_padded_sample_gives_no_gradient_to_the_embeddings():
    """Its mean is 0/0 (NaN, as in Keras), but its padded steps take no gradient: a loss on the other
    samples leaves the padding row's gradient 0, not 0·NaN."""
    ids = np.array([[3, 5, 2, 0, 0], [0, 0, 0, 0, 0]])
    embed, pool = L.Embedding(10, 4, mask_zero=True), L.GlobalAveragePooling1D()
    with np.errstate(invalid="ignore"):
        out = pool(embed(ids))
        out[0:1].sum().backward()
    assert np.isnan(out.data[1]).all() and np.isfinite(out.data[0]).all()
    grad = embed.embeddings.grad
    np.testing.assert_array_equal(grad[0], 0)
    np.testing.assert_allclose(grad[[3, 5, 2]], 1 / 3)
