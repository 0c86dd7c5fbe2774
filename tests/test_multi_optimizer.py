"""MultiOptimizer and OptimizerMap (Keras 3's): each weight updated by the optimizer its path chooses."""
import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import optimizers
from scratchgrad.layers import Dense
from scratchgrad.optimizers import SGD, Adam, LossScaleOptimizer, MultiOptimizer, OptimizerMap, RMSprop


def test_optimizer_map_takes_a_path_itself_then_one_whole_match_then_the_default():
    """Keras's docstring example."""
    adam, sgd, rmsprop = Adam(), SGD(), RMSprop()
    mapping = OptimizerMap(default_optimizer=rmsprop)
    mapping["encoder/layer_0/dense"] = adam
    mapping["encoder/.*"] = sgd
    mapping["decoder"] = adam
    assert mapping["decoder"] is adam
    assert mapping["encoder/layer_0/dense"] is adam
    assert mapping["encoder/layer_0/attention/query"] is sgd
    assert mapping["decoder/layer_0/dense"] is rmsprop  # "decoder" must match the whole path
    mapping[".*/query"] = Adam()
    with pytest.raises(ValueError, match="more than one pattern"):
        mapping["encoder/layer_0/attention/query"]


@pytest.mark.parametrize("key, value, message", [
    (3, Adam(), "a weight path or a pattern"),
    ("a", "adam", "must be an Optimizer instance"),
    ("b", LossScaleOptimizer(Adam()), "cannot be a LossScaleOptimizer"),
])
def test_optimizer_map_refuses_what_keras_refuses(key, value, message):
    mapping = OptimizerMap(SGD(), {"b/.*": SGD()})
    with pytest.raises(ValueError, match=message):
        mapping[key] = value
    with pytest.raises(ValueError, match="already in the OptimizerMap"):
        mapping["b/.*"] = SGD()


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return [sg.Tensor(rng.standard_normal(shape), dtype="float32", requires_grad=True, name=name)
            for name, shape in (("encoder/kernel", (3, 4)), ("encoder/bias", (4,)), ("head/kernel", (4, 2)))]


def test_each_weight_takes_its_own_optimizer_s_step():
    """Three updates through MultiOptimizer equal the same updates by Adam on the encoder's weights and SGD
    on the head's, each optimizer with its own step count."""
    multi = MultiOptimizer(OptimizerMap(SGD(0.1, momentum=0.9), {"encoder/.*": Adam(0.01)}))
    params, encoder, head = weights(), weights()[:2], weights()[2:]
    alone = {"encoder": Adam(0.01), "head": SGD(0.1, momentum=0.9)}
    rng = np.random.default_rng(1)
    for _ in range(3):
        grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
        multi.apply(grads, params)
        alone["encoder"].apply(grads[:2], encoder)
        alone["head"].apply(grads[2:], head)
    for a, b in zip(params, encoder + head):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert multi.iterations == 3 and [o.iterations for o in multi.optimizers] == [3, 3]
    with pytest.raises(AttributeError, match="no learning rate of its own"):
        multi.learning_rate


def mlp():
    """A functional model around a Sequential encoder: the encoder's weights' paths are "encoder/<layer>/...",
    as in Keras."""
    sg.set_seed(0)
    encoder = sg.Sequential([sg.Input((4,)), Dense(8, activation="relu", name="hidden")], name="encoder")
    inputs = sg.Input((4,))
    return sg.Model(inputs, Dense(3, name="head")(encoder(inputs)))


def data():
    rng = np.random.default_rng(2)
    return rng.standard_normal((32, 4)).astype(np.float32), rng.integers(0, 3, 32)


def test_fit_with_one_optimizer_in_the_map_trains_as_that_optimizer():
    x, y = data()
    runs = []
    for optimizer in (Adam(0.01), MultiOptimizer(OptimizerMap(Adam(0.01)))):
        model = mlp()
        model.compile(optimizer, "sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_a_function_may_choose_and_only_the_chosen_weights_move_fast():
    """A function of the weight chooses (Keras's callable form): the encoder with a learning rate too small
    to move it visibly, the head with a large one."""
    x, y = data()
    model = mlp()
    slow, fast = SGD(1e-9), SGD(0.5)
    model.compile(MultiOptimizer(lambda w: slow if "encoder" in w.path else fast), "sparse_categorical_crossentropy")
    before = model.get_weights()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    after = model.get_weights()
    assert all(np.abs(a - b).max() < 1e-6 for a, b in zip(before[:2], after[:2]))
    assert all(np.abs(a - b).max() > 1e-2 for a, b in zip(before[2:], after[2:]))
    assert slow.iterations == fast.iterations == 4
    with pytest.raises(ValueError, match="cannot be saved; use an OptimizerMap"):
        model.optimizer.get_config()


def test_a_saved_model_resumes_exactly_with_each_optimizer_s_state(tmp_path):
    x, y = data()
    model = mlp()
    model.compile(MultiOptimizer(OptimizerMap(SGD(0.05, momentum=0.9), {"encoder/.*": Adam(0.01)})),
                  "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.sg")
    loaded = sg.load_model(tmp_path / "m.sg")
    inner = loaded.optimizer.optimizers
    assert [type(o).__name__ for o in inner] == ["Adam", "SGD"] and inner[0].learning_rate == 0.01
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [o.iterations for o in loaded.optimizer.optimizers] == [8, 8]


def test_config_round_trip_and_loss_scale_factor_passed_on():
    multi = MultiOptimizer(OptimizerMap(SGD(0.1), {"encoder/.*": Adam(0.002)}), loss_scale_factor=4.0)
    assert [o.loss_scale_factor for o in multi.optimizers] == [4.0, 4.0]
    again = optimizers.deserialize(optimizers.serialize(multi))
    assert again.get_config() == multi.get_config()
    assert again.optimizer_map["encoder/x"].learning_rate == 0.002 and again.loss_scale_factor == 4.0


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="an OptimizerMap or a function"):
        MultiOptimizer({"encoder/.*": Adam()})
    with pytest.raises(TypeError, match="default_optimizer must be an Optimizer"):
        OptimizerMap("adam")
    multi = MultiOptimizer(lambda w: MultiOptimizer(OptimizerMap(Adam())))
    with pytest.raises(ValueError, match="cannot be a MultiOptimizer"):
        multi.apply([np.zeros((3, 4), np.float32)], weights()[:1])


def test_weight_paths_are_keras_s():
    """Keras 3.15.1's variable paths for the same models: a Sequential and a subclassed model name their
    layers' weights under their own name, a functional model does not, a nested model built when made (an
    Input) keeps its own, one built later takes its holder's too; a layer's sublayers come under it."""
    from scratchgrad.layers import MultiHeadAttention

    def paths(model):
        model._set_weight_paths()
        return [w.path for w in model.trainable_weights]

    encoder = sg.Sequential([sg.Input((4,)), Dense(8, name="d1")], name="encoder")
    inputs = sg.Input((4,))
    assert paths(sg.Model(inputs, Dense(3, name="head")(encoder(inputs)))) == [
        "encoder/d1/kernel", "encoder/d1/bias", "head/kernel", "head/bias"]
    assert paths(sg.Sequential([sg.Input((4,)), Dense(8, name="a")], name="seq")) == ["seq/a/kernel", "seq/a/bias"]
    built = sg.Sequential([sg.Input((4,)), Dense(8, name="e1")], name="enc2")
    assert paths(sg.Sequential([sg.Input((4,)), built, Dense(2, name="c")], name="outer_seq")) == [
        "enc2/e1/kernel", "enc2/e1/bias", "outer_seq/c/kernel", "outer_seq/c/bias"]
    lazy = sg.Sequential([Dense(3, name="q")], name="inner_lazy")
    assert paths(sg.Sequential([sg.Input((4,)), lazy], name="outer")) == ["outer/inner_lazy/q/kernel",
                                                                          "outer/inner_lazy/q/bias"]
    inputs = sg.Input((5, 8))
    attention = sg.Model(inputs, MultiHeadAttention(2, 4, name="mha")(inputs, inputs))
    assert paths(attention)[:2] == ["mha/query/kernel", "mha/query/bias"]

    class Mine(sg.Model):
        def __init__(self):
            super().__init__(name="mine")
            self.a = Dense(3, name="a")

        def call(self, x):
            return self.a(x)

    mine = Mine()
    mine(np.zeros((1, 4), np.float32))
    assert paths(mine) == ["mine/a/kernel", "mine/a/bias"]


def test_each_weight_s_optimizer_is_chosen_once():
    """A function returning a new optimizer at each call (Keras's docstring form) is asked once per weight:
    later fits, the state and the moving averages at fit's end reach the same optimizers."""
    x, y = data()
    model = mlp()
    model.compile(MultiOptimizer(lambda w: Adam(0.01, use_ema=True) if "encoder" in w.path else SGD(0.1)),
                  "sparse_categorical_crossentropy")
    for _ in range(2):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    inner = model.optimizer.optimizers
    assert len(inner) == 4 and [o.iterations for o in inner] == [8, 8, 8, 8]  # a kernel and a bias each
    assert model.get_optimizer_state()["slots"][0]["momentum"].any()


def test_a_model_with_many_optimizers_saves_and_loads(tmp_path):
    """One optimizer per weight and more (each one's step count is saved beside the slots)."""
    x, y = data()
    model = mlp()
    mapping = {f"{path}": Adam(0.001 * (k + 1)) for k, path in enumerate(["encoder/hidden/kernel",
                                                                         "encoder/hidden/bias", "head/kernel"])}
    mapping.update({f"unused_{k}": SGD() for k in range(20)})
    model.compile(MultiOptimizer(OptimizerMap(SGD(0.05), mapping)), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.sg")
    loaded = sg.load_model(tmp_path / "m.sg")
    assert [o.iterations for o in loaded.optimizer.optimizers] == [o.iterations for o in model.optimizer.optimizers]
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
