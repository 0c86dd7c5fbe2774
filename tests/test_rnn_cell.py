"""keras.layers.RNN(cell) and the cell classes: Keras 3.15's numbers, shapes and conventions, RNN(cell)
against the matching built-in layer, gradients, users' own cells (the "Working with RNNs" guide's),
stacking, and saving."""
import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad import ops
from scratchgrad.models import Sequential, load_model


def keras_weights(layer):
    """The weights the Keras reference run set (same formula, same shapes and order)."""
    return [(np.sin(np.arange(w.size) * 0.7 + k).reshape(w.shape) * 0.5).astype(w.dtype)
            for k, w in enumerate(layer.get_weights())]


X = (np.cos(np.arange(12) * 1.3).reshape(2, 3, 2) * 0.8).astype(np.float32)
MASK = np.array([[True, True, False], [False, True, True]])

# Printed by Keras 3.15.1 (torch backend): RNN(cell, return_sequences=True, return_state=True) after
# set_weights(keras_weights(...)) on X, without and with MASK: (sequence, states)
KERAS = {
    "simple": (lambda: L.SimpleRNNCell(2),
               ([[[0.5080452, 0.5107471], [0.504071, 0.004752], [0.7830804, 0.7266789]],
                 [[0.0808987, -0.0993109], [0.6109368, 0.3192246], [0.6384789, 0.6050724]]],
                [[[0.7830804, 0.7266789], [0.6384789, 0.6050724]]]),
               ([[[0.5080452, 0.5107471], [0.504071, 0.004752], [0.504071, 0.004752]],
                 [[0.0, 0.0], [0.6106255, 0.2846511], [0.631432, 0.6045186]]],
                [[[0.504071, 0.004752], [0.631432, 0.6045186]]])),
    "lstm": (lambda: L.LSTMCell(2),
             ([[[-0.0619649, -0.116485], [-0.2792778, -0.1352272], [-0.1235981, -0.0745945]],
               [[-0.2184981, -0.1571736], [-0.1823599, -0.0690546], [-0.1667772, -0.1346525]]],
              [[[-0.1235981, -0.0745945], [-0.1667772, -0.1346525]],
               [[-0.2751422, -0.1606704], [-0.3936896, -0.2685018]]]),
             ([[[-0.0619649, -0.116485], [-0.2792778, -0.1352272], [-0.2792778, -0.1352272]],
               [[0.0, 0.0], [-0.0983587, -0.0556918], [-0.1406488, -0.1421114]]],
              [[[-0.2792778, -0.1352272], [-0.1406488, -0.1421114]],
               [[-0.4943848, -0.1900986], [-0.3357503, -0.2873452]]])),
    "gru": (lambda: L.GRUCell(2),
            ([[[-0.0654696, -0.1492992], [-0.2482144, -0.285807], [-0.1786419, -0.1958464]],
              [[-0.1744463, -0.1941774], [-0.2377665, -0.1331614], [-0.2512693, -0.261932]]],
             [[[-0.1786419, -0.1958464], [-0.2512693, -0.261932]]]),
            ([[[-0.0654696, -0.1492992], [-0.2482144, -0.285807], [-0.2482144, -0.285807]],
              [[0.0, 0.0], [-0.1326763, -0.0383268], [-0.1830708, -0.1976022]]],
             [[[-0.2482144, -0.285807], [-0.1830708, -0.1976022]]])),
    "gru_reset_before": (lambda: L.GRUCell(2, reset_after=False),
                         ([[[-0.1172818, -0.1511157], [-0.297902, -0.2913541], [-0.2503726, -0.1413251]],
                           [[-0.197051, -0.2218434], [-0.2842602, -0.1024626], [-0.3203558, -0.2428936]]],
                          [[[-0.2503726, -0.1413251], [-0.3203558, -0.2428936]]]),
                         ([[[-0.1172818, -0.1511157], [-0.297902, -0.2913541], [-0.297902, -0.2913541]],
                           [[0.0, 0.0], [-0.1694896, -0.009876], [-0.2492904, -0.188198]]],
                          [[[-0.297902, -0.2913541], [-0.2492904, -0.188198]]])),
}


def with_keras_weights(layer, x=X):
    layer(x)
    layer.set_weights(keras_weights(layer))
    return layer


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("name", sorted(KERAS))
def test_outputs_and_states_match_keras(name, masked):
    make, unmasked_expected, masked_expected = KERAS[name]
    rnn = with_keras_weights(L.RNN(make(), return_sequences=True, return_state=True))
    sequence, *states = rnn(X, mask=MASK if masked else None)
    expected_sequence, expected_states = masked_expected if masked else unmasked_expected
    np.testing.assert_allclose(sequence.numpy(), expected_sequence, atol=2e-6)
    assert len(states) == len(expected_states)
    for state, expected in zip(states, expected_states):
        np.testing.assert_allclose(state.numpy(), expected, atol=2e-6)
    assert sequence.dtype == np.float32 and all(s.dtype == np.float32 for s in states)


def test_go_backwards_with_zero_output_for_mask_matches_keras():
    rnn = with_keras_weights(L.RNN(L.LSTMCell(2), return_sequences=True, go_backwards=True,
                                   zero_output_for_mask=True))
    expected = [[[0.0, 0.0], [-0.2517424, -0.1095307], [-0.1500675, -0.1145748]],
                [[-0.1033106, -0.1367468], [-0.149125, -0.0944475], [0.0, 0.0]]]  # in processing order, as Keras
    np.testing.assert_allclose(rnn(X, mask=MASK).numpy(), expected, atol=2e-6)


def test_a_cell_called_alone_returns_output_and_states_as_keras():
    cell = L.LSTMCell(2)
    states = [np.full((2, 2), 0.5, np.float32), np.full((2, 2), -0.25, np.float32)]
    cell(X[:, 0], states)
    cell.set_weights(keras_weights(cell))
    output, new_states = cell(X[:, 0], states)
    assert isinstance(new_states, list) and len(new_states) == 2 and new_states[0] is output
    np.testing.assert_allclose(output.numpy(), [[-0.1181819, -0.2114604], [-0.236728, -0.2900419]], atol=2e-6)
    np.testing.assert_allclose(new_states[1].numpy(), [[-0.4326735, -0.6382123], [-0.6708009, -0.5590209]],
                               atol=2e-6)
    gru, h = L.GRUCell(2), np.zeros((2, 2), np.float32)
    assert isinstance(gru(X[:, 0], h)[1], sg.Tensor)  # a state given alone comes back alone, in a list as a list
    assert isinstance(gru(X[:, 0], [h])[1], list)


def test_state_and_output_sizes_as_keras():
    assert (L.SimpleRNNCell(3).state_size, L.GRUCell(3).state_size, L.LSTMCell(3).state_size) == (3, 3, [3, 3])
    assert all(c.output_size == 3 for c in (L.SimpleRNNCell(3), L.GRUCell(3), L.LSTMCell(3)))
    stacked = L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)])
    assert stacked.state_size == [[3, 3], 2] and stacked.output_size == 2
    assert L.RNN([L.LSTMCell(3), L.GRUCell(2)]).state_size == [[3, 3], 2]


# Keras: the functional model Input((5, 3)) -> RNN(cell, return_sequences=True): output shape, count_params,
# weight shapes
SHAPES = [
    (lambda: L.SimpleRNNCell(4), (None, 5, 4), 32, [(3, 4), (4, 4), (4,)]),
    (lambda: L.LSTMCell(4), (None, 5, 4), 128, [(3, 16), (4, 16), (16,)]),
    (lambda: L.GRUCell(4), (None, 5, 4), 108, [(3, 12), (4, 12), (2, 12)]),
    (lambda: L.GRUCell(4, reset_after=False), (None, 5, 4), 96, [(3, 12), (4, 12), (12,)]),
    (lambda: [L.LSTMCell(3), L.GRUCell(2)], (None, 5, 2), 126, [(3, 12), (3, 12), (12,), (3, 6), (2, 6), (2, 6)]),
]


@pytest.mark.parametrize("make, shape, params, weight_shapes", SHAPES)
def test_shapes_and_parameter_counts_match_keras(make, shape, params, weight_shapes):
    inputs = sg.Input((5, 3))
    model = sg.Model(inputs, L.RNN(make(), return_sequences=True)(inputs))
    assert model.output.shape == shape and model.count_params() == params
    assert [w.shape for w in model.get_weights()] == weight_shapes


def test_stacked_cells_match_keras_with_nested_states():
    stacked = with_keras_weights(L.RNN([L.LSTMCell(3), L.GRUCell(2)], return_state=True))
    output, (h1, c1), (h2,) = stacked(X, mask=MASK)  # one list of states per cell, as Keras returns them
    np.testing.assert_allclose(output.numpy(), [[0.3278624, 0.3594478], [0.3282949, 0.3490959]], atol=2e-6)
    np.testing.assert_allclose(h1.numpy(), [[0.0326832, 0.076783, 0.0891315], [-0.0787092, 0.0530751, 0.1201235]],
                               atol=2e-6)
    np.testing.assert_allclose(c1.numpy(), [[0.0624759, 0.1714046, 0.2241713], [-0.1328816, 0.0892472, 0.2211767]],
                               atol=2e-6)
    np.testing.assert_array_equal(h2.numpy(), output.numpy())


# ---- RNN(cell) is the built-in layer -----------------------------------------------------------------
PAIRS = {
    "SimpleRNN": (lambda: L.SimpleRNNCell(4, activation="relu"), lambda **o: L.SimpleRNN(4, activation="relu", **o)),
    "LSTM": (lambda: L.LSTMCell(4), lambda **o: L.LSTM(4, **o)),
    "GRU": (lambda: L.GRUCell(4), lambda **o: L.GRU(4, **o)),
    "GRU reset before": (lambda: L.GRUCell(4, reset_after=False), lambda **o: L.GRU(4, reset_after=False, **o)),
    "LSTM without bias": (lambda: L.LSTMCell(4, use_bias=False), lambda **o: L.LSTM(4, use_bias=False, **o)),
}
OPTIONS = [dict(return_sequences=True, return_state=True), dict(return_state=True, go_backwards=True),
           dict(return_sequences=True, go_backwards=True, zero_output_for_mask=True), dict()]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "defaults")
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_rnn_of_a_cell_equals_the_layer(kind, masked, options, rng):
    make_cell, make_layer = PAIRS[kind]
    x = rng.standard_normal((3, 6, 5)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 0, 0], [0, 1, 1, 1, 1, 1], [1, 1, 0, 1, 1, 1]], bool) if masked else None
    layer, rnn = make_layer(**options), L.RNN(make_cell(), **options)
    layer(x), rnn(x)
    rnn.set_weights(layer.get_weights())
    ours, theirs = rnn(x, mask=mask), layer(x, mask=mask)
    ours, theirs = (ours, theirs) if isinstance(ours, list) else ([ours], [theirs])
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_bidirectional_around_an_rnn_of_a_cell_matches_keras():
    both = with_keras_weights(L.Bidirectional(L.RNN(L.GRUCell(2), return_sequences=True, return_state=True)))
    sequence, forward, backward = both(X, mask=MASK)
    np.testing.assert_allclose(sequence.numpy(), [
        [[-0.0654696, -0.1492992, 0.261759, 0.3879119], [-0.2482144, -0.285807, 0.3973416, 0.3660883], [0, 0, 0, 0]],
        [[0, 0, 0, 0], [-0.1326763, -0.0383268, 0.2157733, 0.2210282], [-0.1830708, -0.1976022, 0.1626703, 0.3488651]]],
        atol=2e-6)
    np.testing.assert_allclose(forward.numpy(), [[-0.2482144, -0.285807], [-0.1830708, -0.1976022]], atol=2e-6)
    np.testing.assert_allclose(backward.numpy(), [[0.261759, 0.3879119], [0.2157733, 0.2210282]], atol=2e-6)
    assert both.compute_mask(X, sg.Tensor(MASK))[1:] == [None, None]


def test_initial_state_and_embedding_mask_in_a_functional_model(rng):
    ids, h, c = sg.Input((None,), dtype="int64"), sg.Input((4,)), sg.Input((4,))
    embedded = L.Embedding(10, 3, mask_zero=True)(ids)
    rnn, lstm = L.RNN(L.LSTMCell(4), return_sequences=True), L.LSTM(4, return_sequences=True)
    model = sg.Model([ids, h, c], [rnn(embedded, initial_state=[h, c]), lstm(embedded, initial_state=[h, c])])
    lstm.set_weights(rnn.get_weights())
    tokens = np.array([[3, 4, 0, 0, 0], [1, 2, 3, 4, 5]])
    states = [rng.standard_normal((2, 4)).astype(np.float32) for _ in range(2)]
    ours, theirs = model.predict([tokens, *states], verbose=0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours[0, 2:], ours[0, [1, 1, 1]])  # padding repeats the last real output
    assert model.outputs[0]._keras_mask is not None  # the returned sequence keeps the mask


def test_leading_padding_outputs_zeros_and_keeps_the_initial_state(rng):
    """Keras's rule (unlike SimpleRNN/LSTM/GRU here, see the README): before the first real step the
    output is zeros, whatever the initial state; the state waits for the first real step."""
    rnn = L.RNN(L.LSTMCell(3), return_sequences=True, return_state=True)
    x = rng.standard_normal((1, 4, 2)).astype(np.float32)
    states = [rng.standard_normal((1, 3)).astype(np.float32) for _ in range(2)]
    padded, *_ = rnn(x, initial_state=states, mask=np.array([[False, False, True, True]]))
    unpadded, *_ = rnn(x[:, 2:], initial_state=states)
    np.testing.assert_array_equal(padded.numpy()[0, :2], np.zeros((2, 3)))
    np.testing.assert_allclose(padded.numpy()[0, 2:], unpadded.numpy()[0], rtol=1e-6)


def test_gradients_through_steps_masks_and_initial_states_float64(rng):
    sg.set_floatx("float64")
    try:
        rnn = L.RNN([L.LSTMCell(3), L.GRUCell(2, reset_after=False)], return_sequences=True, return_state=True)
    finally:
        sg.set_floatx("float32")
    x = sg.Tensor(rng.standard_normal((2, 4, 3)), dtype="float64", requires_grad=True)
    h0, c0, g0 = (sg.Tensor(rng.standard_normal((2, n)), dtype="float64", requires_grad=True) for n in (3, 3, 2))
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], bool)
    rnn(x)

    def forward(x, h0, c0, g0, *weights):
        sequence, (h, c), (g,) = rnn(x, initial_state=[[h0, c0], g0], mask=mask)
        return ops.concatenate([sequence.reshape((2, -1)), h, c, g], axis=1)

    assert sg.gradcheck(forward, x, h0, c0, g0, *rnn.trainable_weights)


def test_dropout_keeps_one_mask_for_all_steps_of_a_call():
    sg.set_seed(1)
    rnn = L.RNN(L.SimpleRNNCell(50, dropout=0.5, activation="linear", recurrent_initializer="zeros", use_bias=False),
                return_sequences=True)
    x = np.ones((2, 4, 50), np.float32)
    rnn(x)
    rnn.set_weights([np.eye(50, dtype=np.float32), np.zeros((50, 50), np.float32)])
    first, second = rnn(x, training=True).numpy(), rnn(x, training=True).numpy()
    for out in (first, second):  # the same input at every step, the same units dropped: the same output
        np.testing.assert_array_equal(out, np.repeat(out[:, :1], 4, axis=1))
        assert set(np.unique(out)) == {0.0, 2.0}
    assert not np.array_equal(first, second)  # a new call draws a new mask
    np.testing.assert_array_equal(rnn(x).numpy(), np.ones((2, 4, 50)))  # inference drops nothing


# ---- users' cells (keras.io, "Working with RNNs" and the RNN docstring) -------------------------------
class MinimalRNNCell(L.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        prev_output = states[0]
        h = ops.matmul(inputs, self.kernel)
        output = h + ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class PeepholeSumCell(L.Layer):
    """Two states of different sizes, the new states returned as a tuple."""

    state_size = [3, 2]
    output_size = 2

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 3), name="kernel")
        self.out = self.add_weight(shape=(3, 2), name="out")

    def call(self, inputs, states, training=None):
        memory, total = states
        memory = ops.tanh(ops.matmul(inputs, self.kernel) + memory)
        output = ops.matmul(memory, self.out)
        return output, (memory, total + output)


def test_the_guides_minimal_cell_builds_stacks_and_trains(rng):
    x = sg.Input((None, 5))
    assert L.RNN(MinimalRNNCell(32))(x).shape == (None, 32)
    assert L.RNN([MinimalRNNCell(32), MinimalRNNCell(64)])(x).shape == (None, 64)
    inputs = rng.standard_normal((64, 6, 5)).astype(np.float32)
    targets = inputs.sum(axis=(1, 2))[:, None] * 0.1
    model = Sequential([sg.Input((None, 5)), L.RNN([MinimalRNNCell(8), MinimalRNNCell(4)]), L.Dense(1)])
    model.compile(optimizer=sg.optimizers.Adam(0.01), loss="mse")
    losses = model.fit(inputs, targets, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert len(model._plans) == 1  # every step after the first replayed the recorded plan


def test_a_users_cell_with_two_states_trains_the_same_planned_and_eager(rng):
    tokens = rng.integers(1, 8, (20, 5))
    tokens[::3, 3:] = 0  # padded
    labels = (tokens[:, 0] > 4).astype(int)
    runs = []
    for eager in (False, True):
        sg.set_seed(2)
        ids = sg.Input((None,), dtype="int64")
        output, _, total = L.RNN(PeepholeSumCell(), return_state=True, go_backwards=True)(
            L.Embedding(8, 4, mask_zero=True)(ids))
        model = sg.Model(ids, L.Dense(2, activation="softmax")(output + total))
        model.compile(optimizer=sg.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", run_eagerly=eager)
        runs.append((model.fit(tokens, labels, epochs=4, batch_size=10, verbose=0).history["loss"], model))
    (planned, model), (eager, _) = runs
    np.testing.assert_allclose(planned, eager, rtol=1e-5)
    assert planned[-1] < planned[0] and model._plans


# ---- saving ------------------------------------------------------------------------------------------
def test_a_model_with_rnn_cells_saves_and_loads(tmp_path, rng):
    model = Sequential([sg.Input((None,), dtype="int64"), L.Embedding(10, 3, mask_zero=True),
                        L.RNN(L.LSTMCell(4, recurrent_dropout=0.1, unit_forget_bias=False), return_sequences=True),
                        L.RNN([L.GRUCell(3, reset_after=False), MinimalRNNCell(2)], go_backwards=True)])
    model.compile(optimizer="adam", loss="mse")
    tokens = np.array([[1, 2, 3, 0], [4, 5, 6, 7]])
    path = tmp_path / "rnn.sgm"
    model.save(path)
    loaded = load_model(path, custom_objects={"MinimalRNNCell": MinimalRNNCell})
    np.testing.assert_array_equal(loaded.predict(tokens, verbose=0), model.predict(tokens, verbose=0))
    cell = loaded.layers[1].cell
    assert type(cell) is L.LSTMCell and (cell.recurrent_dropout, cell.unit_forget_bias) == (0.1, False)
    assert [type(c) for c in loaded.layers[2].cell.cells] == [L.GRUCell, MinimalRNNCell]
    assert loaded.layers[2].get_config() == model.layers[2].get_config()


@pytest.mark.parametrize("make", [lambda: L.SimpleRNNCell(3, activation="relu", dropout=0.2),
                                  lambda: L.LSTMCell(3, recurrent_activation="hard_sigmoid", use_bias=False),
                                  lambda: L.GRUCell(3, reset_after=False, kernel_regularizer="l2")])
def test_cell_config_round_trip(make):
    cell = make()
    clone = type(cell).from_config(cell.get_config())
    assert clone.get_config() == cell.get_config()


INITS = ("ones", "zeros", "ones")
NO_REGULARIZERS = (None, None, None)
# Every argument given by position, in Keras's order; the config Keras 3.15.1 gives for the same call
# (initializers as Ones/Zeros/Ones; SimpleRNN(Cell) has no recurrent_activation, GRUCell its reset_after
# before seed, LSTM(Cell) its unit_forget_bias after the initializers)
POSITIONAL = {
    "SimpleRNNCell": (lambda: L.SimpleRNNCell(4, "relu", False, *INITS, *NO_REGULARIZERS, None, None, None,
                                              0.1, 0.2, 7),
                      dict(activation="relu", use_bias=False, dropout=0.1, recurrent_dropout=0.2, seed=7)),
    "LSTMCell": (lambda: L.LSTMCell(4, "relu", "softsign", False, *INITS, False, *NO_REGULARIZERS, None, None, None,
                                    0.1, 0.2, 7),
                 dict(activation="relu", recurrent_activation="softsign", use_bias=False, unit_forget_bias=False,
                      dropout=0.1, recurrent_dropout=0.2, seed=7)),
    "GRUCell": (lambda: L.GRUCell(4, "relu", "softsign", False, *INITS, *NO_REGULARIZERS, None, None, None,
                                  0.1, 0.2, False, 7),
                dict(activation="relu", recurrent_activation="softsign", use_bias=False, reset_after=False,
                     dropout=0.1, recurrent_dropout=0.2, seed=7)),
    "SimpleRNN": (lambda: L.SimpleRNN(4, "relu", False, *INITS, *NO_REGULARIZERS),
                  dict(activation="relu", use_bias=False)),
    "LSTM": (lambda: L.LSTM(4, "relu", "softsign", False, *INITS, False, *NO_REGULARIZERS),
             dict(activation="relu", recurrent_activation="softsign", use_bias=False, unit_forget_bias=False)),
    "GRU": (lambda: L.GRU(4, "relu", "softsign", False, *INITS, *NO_REGULARIZERS),
            dict(activation="relu", recurrent_activation="softsign", use_bias=False, reset_after=True)),
}


@pytest.mark.parametrize("name", sorted(POSITIONAL))
def test_positional_arguments_land_where_keras_puts_them(name):
    make, expected = POSITIONAL[name]
    config = make().get_config()
    assert {key: config[key] for key in expected} == expected
    initializers = [config[f"{role}_initializer"] for role in ("kernel", "recurrent", "bias")]
    assert initializers == list(INITS)


@pytest.mark.parametrize("make", [lambda: L.GRUCell(4, "relu"), lambda: L.GRU(4, "relu"),
                                  lambda: L.LSTMCell(4, "relu"), lambda: L.LSTM(4, "relu"),
                                  lambda: L.SimpleRNNCell(4, "relu"), lambda: L.SimpleRNN(4, "relu")])
def test_the_second_positional_argument_is_the_activation_as_in_keras(make):
    layer = make()
    assert layer.get_config()["activation"] == "relu"
    assert getattr(layer, "reset_after", True) is True and getattr(layer, "unit_forget_bias", True) is True


def test_a_layer_refuses_positional_arguments_past_activity_regularizer():
    # Keras's order as far as activity_regularizer; the rest are keywords only: refused rather than misread
    assert L.SimpleRNN(4, "relu", False, *INITS, *NO_REGULARIZERS, "l2").activity_regularizer is not None
    with pytest.raises(TypeError, match="positional"):
        L.SimpleRNN(4, "relu", False, *INITS, *NO_REGULARIZERS, None, None)
    with pytest.raises(TypeError, match="positional"):
        L.LSTM(4, "relu", "softsign", False, *INITS, False, *NO_REGULARIZERS, None, None)
    with pytest.raises(TypeError, match="positional"):
        L.GRU(4, "relu", "softsign", False, *INITS, *NO_REGULARIZERS, None, None)


# ---- what is refused ---------------------------------------------------------------------------------
def test_what_rnn_refuses_and_why():
    with pytest.raises(NotImplementedError, match="stateful=True"):
        L.RNN(L.LSTMCell(2), stateful=True)
    with pytest.raises(ValueError, match="state_size"):
        L.RNN(L.Dense(2))
    with pytest.raises(ValueError, match="must be a Layer"):
        L.RNN(object())
    with pytest.raises(ValueError, match="units must be a positive integer"):
        L.LSTMCell(0)
    with pytest.raises(ValueError, match=r"initial_state must be 2 tensor\(s\) of shape\(s\) \(2, 4\), \(2, 4\)"):
        L.RNN(L.LSTMCell(4))(X, initial_state=[np.zeros((2, 4), np.float32)])
    with pytest.raises(ValueError, match="expects one tensor of sequences"):
        L.RNN(L.GRUCell(2))(X[:, 0])
    with pytest.raises(ValueError, match="0 steps"):
        L.RNN(L.GRUCell(2))(X[:, :0])

    class OneStateTooMany(MinimalRNNCell):
        def call(self, inputs, states):
            output, _ = super().call(inputs, states)
            return output, [output, output]

    with pytest.raises(ValueError, match=r"returned 2 state tensor\(s\) for the 1 it was given"):
        L.RNN(OneStateTooMany(2))(X)


def test_what_a_cell_computes_on_a_padded_step_never_reaches_the_output():
    """A padded step keeps the previous output and states even where the cell's result there is not finite
    (Keras selects with where(); selecting by arithmetic, 0·inf leaked a NaN)."""
    class Reciprocal(L.Layer):
        state_size = 1

        def call(self, x, states):
            return 1 / x, [states[0] + 1]

    with np.errstate(divide="ignore"):  # building the model runs the cell on zeros too
        inputs = sg.Input((3, 1))
        model = sg.Model(inputs, L.RNN(Reciprocal(), return_sequences=True, return_state=True)(
            L.Masking(0.0)(inputs)))
        sequence, state = model.predict(np.array([[[2.0], [0.0], [4.0]]], np.float32), verbose=0)
    np.testing.assert_array_equal(sequence[0, :, 0], [0.5, 0.5, 0.25])
    np.testing.assert_array_equal(state, [[2.0]])
