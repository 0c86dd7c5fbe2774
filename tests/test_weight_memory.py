"""Small trainable weights lie end to end in shared blocks (weight_memory.py), so that an optimizer updates a
small model's weights in one pass; each weight stays its own array, and anything else falls back."""
import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import weight_memory
from scratchgrad.layers import BatchNormalization, Dense, Input
from scratchgrad.models import Sequential


def mlp(*units, dtype=None):
    sg.set_seed(0)
    hidden = [Dense(n, activation="relu", dtype=dtype) for n in units[:-1]]
    return Sequential([Input(shape=(4,)), *hidden, Dense(units[-1], activation="softmax", dtype=dtype)])


def arrays(weights):
    return [w.data for w in weights]


def test_a_small_model_s_trainable_weights_lie_end_to_end_in_their_order():
    model = mlp(30, 16, 3)
    run = weight_memory.run(arrays(model.trainable_weights))
    assert run is not None and run.size == model.count_params() == 4 * 30 + 30 + 30 * 16 + 16 + 16 * 3 + 3
    np.testing.assert_array_equal(run, np.concatenate([w.data.ravel() for w in model.trainable_weights]))
    kernel = model.layers[0].kernel.data
    assert kernel.shape == (4, 30) and kernel.flags.c_contiguous and kernel.flags.writeable
    run[0] = 7.0  # the run is the weights' memory itself
    assert kernel[0, 0] == 7.0


def test_placed_weights_are_drawn_as_unplaced_ones(monkeypatch):
    placed = [w.copy() for w in arrays(mlp(30, 3, dtype="float64").weights)]
    monkeypatch.setattr(weight_memory, "place", lambda array: array)
    for a, b in zip(placed, arrays(mlp(30, 3, dtype="float64").weights)):
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_array_equal(a, b)


def test_large_non_trainable_and_integer_arrays_keep_memory_of_their_own():
    assert weight_memory.place(np.zeros(weight_memory.LARGEST + 1, np.float32)).base is None
    assert weight_memory.place(np.zeros(weight_memory.LARGEST, np.float32)).base is not None
    assert weight_memory.place(np.zeros(3, np.int64)).base is None
    assert weight_memory.place(np.zeros(0, np.float32)).base is None
    sg.set_seed(0)
    model = Sequential([Input(shape=(4,)), Dense(5), BatchNormalization()])
    bn = model.layers[1]
    assert all(w.data.base is None for w in bn.non_trainable_weights)
    assert weight_memory.run(arrays(model.trainable_weights)) is not None


def test_a_kept_weight_keeps_at_most_256_kib_alive():
    # the block a weight lives in holds other models' weights too, dropped or not
    assert weight_memory.place(np.zeros(3, np.float32)).base.nbytes <= 256 * 1024


def test_a_full_block_starts_another(monkeypatch):
    monkeypatch.setattr(weight_memory, "_blocks", {})
    monkeypatch.setattr(weight_memory, "BLOCK", 64)
    monkeypatch.setattr(weight_memory, "LARGEST", 16)
    quarter = [weight_memory.place(np.full(16, i, np.float32)) for i in range(5)]
    assert all(a.base is quarter[0].base for a in quarter[:4]) and quarter[4].base is not quarter[0].base
    assert weight_memory.run(quarter[:4]).size == 64
    assert weight_memory.run(quarter[3:]) is None
    assert [a[0] for a in quarter] == [0, 1, 2, 3, 4]


def test_no_run_where_the_weights_are_not_end_to_end_in_order():
    model = mlp(30, 16)
    weights = arrays(model.trainable_weights)
    assert weight_memory.run(weights[::-1]) is None
    assert weight_memory.run(weights[:1] + weights[2:]) is None  # a gap
    replaced = weights[:1] + [weights[1].copy()] + weights[2:]
    assert weight_memory.run(replaced) is None
    reinterpreted = weights[0].base.view(np.int32)[:4]  # the same memory, another dtype
    assert weight_memory.run([reinterpreted]) is None


def train(model, epochs):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((24, 4)).astype(np.float32), rng.integers(0, 3, 24)
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_freezing_unfreezing_or_replacing_a_weight_trains_as_with_memory_of_their_own(optimizer, monkeypatch):
    """The one pass falls back to the weight-by-weight update wherever the weights stop being end to end, and
    comes back when they are again: the numbers are those of weights that never shared memory."""

    def run():
        model = mlp(8, 3)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        train(model, 1)
        model.layers[1].trainable = False  # the first layer's weights: still a run
        train(model, 1)
        model.layers[1].trainable = True
        train(model, 1)
        model.layers[0].bias.data = model.layers[0].bias.data.copy()  # no longer in the run
        train(model, 1)
        return model.get_weights()

    shared = run()
    monkeypatch.setattr(weight_memory, "place", lambda array: array)
    for a, b in zip(shared, run()):
        np.testing.assert_array_equal(a, b)


def test_a_weight_made_read_only_is_refused_end_to_end_too():
    model = mlp(8, 3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    train(model, 1)
    model.layers[1].kernel.data.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        train(model, 1)
