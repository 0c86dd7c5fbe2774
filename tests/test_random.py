"""keras.random: Keras's seed semantics, and the draws' distributions and gradients."""
import numpy as np
import pytest

import scratchgrad as keras


def test_an_int_seed_gives_the_same_values_at_every_call():
    first, again = (keras.random.normal((5,), seed=7).data for _ in range(2))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, keras.random.normal((5,), seed=8).data)


def test_a_seed_generator_gives_a_new_draw_per_call_and_the_same_sequence_when_remade():
    generator = keras.random.SeedGenerator(3)
    draws = [keras.random.uniform((4,), seed=generator).data for _ in range(2)]
    assert not np.array_equal(*draws)
    remade = keras.random.SeedGenerator(3)
    np.testing.assert_array_equal(keras.random.uniform((4,), seed=remade).data, draws[0])


def test_unseeded_draws_follow_set_seed():
    keras.random.set_seed(1)
    first = keras.random.randint((6,), 0, 100).data
    keras.random.set_seed(1)
    np.testing.assert_array_equal(keras.random.randint((6,), 0, 100).data, first)
    assert first.dtype == np.int32


@pytest.mark.parametrize("seed", ["1", 1.5, True])
def test_a_seed_that_is_not_an_int_or_a_generator_is_refused(seed):
    with pytest.raises(TypeError, match="seed must be"):
        keras.random.normal((2,), seed=seed)


def test_truncated_normal_stays_within_two_standard_deviations():
    draw = keras.random.truncated_normal((20000,), mean=1.0, stddev=0.5, seed=0).data
    assert draw.dtype == np.float32
    assert draw.min() >= 0.0 and draw.max() <= 2.0
    # a standard normal cut at ±2 keeps a standard deviation of 0.8796
    assert abs(draw.mean() - 1.0) < 0.01 and abs(draw.std() - 0.5 * 0.8796) < 0.01


def test_dropout_shares_its_mask_along_the_noise_shapes_unit_axes_and_its_gradient_is_the_mask():
    x = keras.Tensor(np.ones((200, 3)), requires_grad=True)
    y = keras.random.dropout(x, 0.25, noise_shape=(None, 1), seed=0)
    y.sum().backward()
    rows = y.data[:, 0]
    assert y.data.dtype == np.float32 and set(np.unique(y.data)) <= {0.0, np.float32(1 / 0.75)}
    np.testing.assert_array_equal(y.data, np.repeat(rows[:, None], 3, axis=1))
    assert 0.1 < np.mean(rows == 0) < 0.4
    np.testing.assert_array_equal(x.grad, y.data)


def test_shuffle_permutes_one_axis_and_sends_each_gradient_back_to_its_entry():
    data = np.arange(12.0).reshape(3, 4)
    x = keras.Tensor(data, requires_grad=True)
    y = keras.random.shuffle(x, axis=1, seed=5)
    order = y.data[0].astype(int)
    assert sorted(order) == [0, 1, 2, 3] and list(order) != [0, 1, 2, 3]
    np.testing.assert_array_equal(y.data, data[:, order])
    weights = np.arange(12.0).reshape(3, 4) + 1
    (y * weights).sum().backward()
    expected = np.empty_like(weights)
    expected[:, order] = weights
    np.testing.assert_array_equal(x.grad, expected)
