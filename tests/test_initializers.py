import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import initializers, regularizers

N_IN, N_OUT = 400, 200


@pytest.mark.parametrize("name,mean,std", [
    ("lecun_uniform", 0, np.sqrt(1 / N_IN)),
    ("lecun_normal", 0, np.sqrt(1 / N_IN)),
    ("glorot_uniform", 0, np.sqrt(2 / (N_IN + N_OUT))),
    ("glorot_normal", 0, np.sqrt(2 / (N_IN + N_OUT))),
    ("he_uniform", 0, np.sqrt(2 / N_IN)),
    ("he_normal", 0, np.sqrt(2 / N_IN)),
    ("small_random", 0, 0.01),
    ("random_normal", 0, 0.05),
    ("random_uniform", 0, 0.1 / np.sqrt(12)),
])
def test_moments_match_the_formula(name, mean, std):
    sg.set_seed(0)
    w = initializers.get(name)((N_IN, N_OUT))
    assert w.dtype == np.float32 and w.shape == (N_IN, N_OUT)
    # 80 000 draws: the sample std is within ~1 % of sigma
    assert abs(w.mean() - mean) < 0.01 * std + 1e-4
    assert w.std() == pytest.approx(std, rel=0.02)


@pytest.mark.parametrize("name,limit", [("lecun_uniform", np.sqrt(3 / N_IN)),
                                        ("glorot_uniform", np.sqrt(6 / (N_IN + N_OUT))),
                                        ("he_uniform", np.sqrt(6 / N_IN))])
def test_uniform_limits_are_the_textbooks(name, limit):
    w = initializers.get(name)((N_IN, N_OUT))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit


def test_conv_kernel_fans():
    assert initializers.compute_fans((3, 3, 8, 16)) == (72, 144)


def test_same_seed_same_weights():
    sg.set_seed(7)
    a = initializers.get("he_normal")((5, 5))
    sg.set_seed(7)
    b = initializers.get("he_normal")((5, 5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, initializers.get("he_normal")((5, 5)))


RANDOM = [name for name, cls in initializers.CLASSES.items() if issubclass(cls, initializers._Random)]


@pytest.mark.parametrize("name", RANDOM)
def test_an_int_seed_repeats_the_draw_at_every_call_as_in_keras(name):
    seeded = initializers.CLASSES[name](seed=3)
    first = seeded((6, 4))
    sg.set_seed(0)  # the framework generator plays no part
    np.testing.assert_array_equal(seeded((6, 4)), first)
    np.testing.assert_array_equal(initializers.CLASSES[name](seed=3)((6, 4)), first)
    assert not np.array_equal(initializers.CLASSES[name](seed=4)((6, 4)), first)
    assert not np.array_equal(initializers.CLASSES[name]()((6, 4)), initializers.CLASSES[name]()((6, 4)))


@pytest.mark.parametrize("name", RANDOM)
def test_a_random_initializer_s_config_round_trips_with_its_seed(name):
    cls = initializers.CLASSES[name]
    config = cls(seed=5).get_config()
    assert config["seed"] == 5
    np.testing.assert_array_equal(cls.from_config(config)((3, 3)), cls(seed=5)((3, 3)))


def test_a_seed_generator_advances_and_cannot_be_saved():
    init = initializers.GlorotUniform(seed=sg.random.SeedGenerator(1))
    assert not np.array_equal(init((3, 3)), init((3, 3)))
    with pytest.raises(ValueError, match="int seed"):
        init.get_config()
    with pytest.raises(TypeError, match="seed must be"):
        initializers.HeNormal(seed="1")


def test_keras_s_config_with_fan_axes_loads_and_sets_the_fans():
    config = {"seed": None, "scale": 1.0, "mode": "fan_in", "distribution": "uniform", "input_axes": [0, 1],
              "output_axes": [2]}
    w = initializers.VarianceScaling.from_config(config)((5, 4, 300))
    limit = np.sqrt(3 / 20)  # fan_in 5·4, not the conv kernel's 300·5
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
    assert initializers.compute_fans((5, 4, 300), [0], [1, 2]) == (5, 1200)
    with pytest.raises(ValueError, match="positive"):
        initializers.VarianceScaling(scale=0)


def test_constants_and_float64():
    assert (initializers.get("ones")((2, 2), "float64") == 1).all()
    assert initializers.Constant(3.0)((2,)).tolist() == [3.0, 3.0]
    assert initializers.get("glorot_uniform")((3, 3), "float64").dtype == np.float64


def test_unknown_initializer_lists_valid_names():
    with pytest.raises(ValueError, match="he_normal"):
        initializers.get("kaiming")


def test_regularizer_penalties():
    w = sg.Tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    assert regularizers.L2(0.1)(w).item() == pytest.approx(0.5)
    assert regularizers.L1(0.1)(w).item() == pytest.approx(0.3)
    penalty = regularizers.L1L2(l1=0.1, l2=0.1)(w)
    assert penalty.item() == pytest.approx(0.8)
    penalty.backward()
    np.testing.assert_allclose(w.grad, [0.1 + 0.2, -0.1 - 0.4])
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    with pytest.raises(ValueError):
        regularizers.L2(-1)
