"""Keras 3's options on weights and outputs: any layer's `activity_regularizer`, the regularizers and
constraints of BatchNormalization, PReLU and the separable convolutions, and PReLU's `shared_axes`.
Training with them against Keras is checked by the `weight_options` fixture in test_keras_files.py."""
import inspect
from pathlib import Path

import numpy as np
import pytest
from test_saving_registry import make_weight_object_classes

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad import regularizers

# Keras 3.15.1's positional parameters, up to the one after activity_regularizer
KERAS_POSITIONS = {
    L.Dense: ["units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
              "bias_regularizer", "activity_regularizer", "kernel_constraint"],
    L.Conv2D: ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups", "activation",
               "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
               "activity_regularizer", "kernel_constraint"],
    L.DepthwiseConv2D: ["kernel_size", "strides", "padding", "depth_multiplier", "data_format", "dilation_rate",
                        "activation", "use_bias", "depthwise_initializer", "bias_initializer", "depthwise_regularizer",
                        "bias_regularizer", "activity_regularizer", "depthwise_constraint"],
    L.SeparableConv2D: ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                        "depth_multiplier", "activation", "use_bias", "depthwise_initializer", "pointwise_initializer",
                        "bias_initializer", "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
                        "activity_regularizer", "depthwise_constraint"],
    L.SimpleRNN: ["units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
                  "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer"],
    L.LSTM: ["units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
             "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
             "activity_regularizer"],
    L.MultiHeadAttention: ["num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape",
                           "attention_axes", "sliding_window", "flash_attention", "kernel_initializer",
                           "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                           "kernel_constraint", "bias_constraint", "use_gate", "seed"],
    L.Conv2DTranspose: ["filters", "kernel_size", "strides", "padding", "output_padding", "data_format",
                        "dilation_rate", "activation", "use_bias", "kernel_initializer", "bias_initializer",
                        "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint"],
    L.PReLU: ["alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"],
    L.BatchNormalization: ["axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
                           "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer",
                           "gamma_regularizer", "beta_constraint", "gamma_constraint"],
}


@pytest.mark.parametrize("cls", KERAS_POSITIONS, ids=lambda cls: cls.__name__)
def test_positional_parameters_are_keras_s(cls):
    """A positional call means what it means in Keras (up to where ours stop taking positions)."""
    ours = [name for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD]
    keras = KERAS_POSITIONS[cls]
    assert ours[:len(keras)] == keras[:len(ours)]
    assert "activity_regularizer" not in keras or "activity_regularizer" in ours


def test_activity_regularizer_adds_the_penalty_of_each_output_over_the_batch(rng):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    layer = L.Dense(3, activation="relu", activity_regularizer=regularizers.L1L2(0.01, 0.02))
    y = layer(x).numpy()
    expected = (0.01 * np.abs(y).sum() + 0.02 * (y * y).sum()) / 6
    [loss] = layer.losses
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)
    layer(x[:2])  # a new forward pass replaces the last one's
    assert len(layer.losses) == 1
    layer(x[:0])  # an empty batch adds 0, not NaN (Keras's divide_no_nan)
    assert float(layer.losses[0].numpy()) == 0.0
    lstm = L.LSTM(2, return_state=True, activity_regularizer="l2")
    lstm(rng.standard_normal((3, 4, 2)).astype(np.float32))
    assert len(lstm.losses) == 3  # Keras: one penalty per output tensor (the sequence's last output, h and c)


def test_activity_regularizer_in_configs_and_training(rng):
    dense = L.Dense(3, activity_regularizer="l2")
    assert dense.get_config()["activity_regularizer"] == {"class_name": "L2", "config": {"l2": 0.01}}
    assert "activity_regularizer" not in L.Dense(3).get_config()  # as Keras: only when there is one
    assert "activity_regularizer" not in L.ActivityRegularization(0.1).get_config()  # it is the layer's own
    assert type(L.Dense.from_config(dense.get_config()).activity_regularizer) is regularizers.L2
    inputs = sg.Input((4,))
    model = sg.Model(inputs, L.Dense(2, activity_regularizer=regularizers.L1(0.5))(inputs))
    assert model.layers[-1].losses == []  # building on symbolic inputs adds no loss
    model.compile("sgd", "mse")
    x, y = rng.standard_normal((8, 4)).astype(np.float32), np.zeros((8, 2), np.float32)
    out = model.predict(x, verbose=0)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(float((out ** 2).mean() + 0.5 * np.abs(out).sum() / 8),
                                                            rel=1e-5)


def test_prelu_shares_its_slope_along_shared_axes(rng):
    for axes, shape in (([1, 2], (1, 1, 3)), (1, (1, 6, 3)), (None, (5, 6, 3))):  # Keras 3.15.1's shapes
        layer = L.PReLU(shared_axes=axes)
        layer.build((None, 5, 6, 3))
        assert layer.alpha.shape == shape
    layer = L.PReLU(alpha_initializer="random_uniform", shared_axes=[1, 2])
    x = rng.standard_normal((2, 5, 6, 3)).astype(np.float32)
    y = layer(x).numpy()
    np.testing.assert_allclose(y, np.where(x > 0, x, layer.alpha.numpy() * x), rtol=1e-6)
    assert L.PReLU.from_config(layer.get_config()).shared_axes == [1, 2]
    for bad in ([0], [1.5], "1"):  # axis 0 is the batch: Keras's -1 index quirk is not copied
        with pytest.raises(ValueError, match="shared_axes"):
            L.PReLU(shared_axes=bad)
    with pytest.raises(ValueError, match="shared axis 3 is not an axis"):
        L.PReLU(shared_axes=[3])(x[:, :, 0])


def test_regularizers_and_constraints_of_batch_normalization_prelu_and_separable_convolutions(rng):
    nonneg = sg.constraints.NonNeg
    bn = L.BatchNormalization(beta_regularizer="l2", gamma_regularizer=regularizers.L1(0.5),
                              beta_constraint=nonneg(), gamma_constraint=sg.constraints.MaxNorm(1.5))
    prelu = L.PReLU(alpha_regularizer="l2", alpha_constraint=nonneg())
    separable = L.SeparableConv1D(2, 2, depthwise_initializer="ones", pointwise_initializer="zeros",
                                  bias_initializer="ones", depthwise_regularizer="l1", pointwise_regularizer="l2",
                                  bias_regularizer="l2", depthwise_constraint=nonneg(), pointwise_constraint=nonneg(),
                                  bias_constraint=nonneg())
    x = rng.standard_normal((4, 5, 3)).astype(np.float32)
    for layer in (bn, prelu, separable):
        layer(x)
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    assert len(bn.losses) == 2 and float(bn.losses[0].numpy()) == pytest.approx(0.5 * 3)  # gamma's: ones
    assert [type(w.constraint) for w in bn.trainable_weights] == [sg.constraints.MaxNorm, nonneg]
    assert len(prelu.losses) == 1 and type(prelu.alpha.constraint) is nonneg
    np.testing.assert_array_equal(separable.weights[0].numpy(), 1)
    np.testing.assert_array_equal(separable.weights[1].numpy(), 0)
    np.testing.assert_array_equal(separable.weights[2].numpy(), 1)
    assert len(separable.losses) == 3 and all(type(w.constraint) is nonneg for w in separable.weights)


def test_an_activity_regularizer_on_the_output_layer_stops_the_loss_fusing_with_its_activation():
    """A fused softmax + cross-entropy never makes the probabilities the regularizer takes (Keras 3.15.1
    gives 4.43194580078125 here)."""
    generator = np.random.default_rng(0)  # the inputs Keras was given
    x = generator.standard_normal((8, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[generator.integers(0, 3, 8)]
    inputs = sg.Input((4,))
    dense = L.Dense(3, activation="softmax", activity_regularizer=regularizers.L2(10.0), kernel_initializer="ones")
    model = sg.Model(inputs, dense(inputs))
    model.compile(sg.optimizers.SGD(0.1), "categorical_crossentropy")
    assert model.evaluate(x, y, verbose=0) == pytest.approx(4.43194580078125, rel=1e-6)
    model.predict(x * 3, verbose=0)  # another call's penalty does not leak into the next evaluation
    assert model.evaluate(x, y, verbose=0) == pytest.approx(4.43194580078125, rel=1e-6)


def test_multi_head_attention_regularizes_its_four_projections_as_keras():
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    layer = L.MultiHeadAttention(2, 2, activity_regularizer=regularizers.L1(1.0), kernel_initializer="ones")
    for scores in (False, True):  # the attention scores are not penalized
        layer(x, x, return_attention_scores=scores)
        np.testing.assert_allclose([float(loss.numpy()) for loss in layer.losses],
                                   [22.813777923583984] * 3 + [99.60697937011719], rtol=1e-6)  # Keras 3.15.1's
    assert layer.get_config()["activity_regularizer"] == {"class_name": "L1", "config": {"l1": 1.0}}


def test_time_distributed_runs_the_wrapped_layer_s_call_as_keras(rng):
    x = rng.standard_normal((4, 5, 3)).astype(np.float32)
    inner = L.TimeDistributed(L.Dense(2, activity_regularizer=regularizers.L1(1.0)))
    inner(x)
    assert inner.losses == []  # Keras calls the wrapped layer's call(): its activity regularizer does not act
    outer = L.TimeDistributed(L.Dense(2), activity_regularizer=regularizers.L1(1.0))
    y = outer(x).numpy()
    np.testing.assert_allclose(outer.losses[0].numpy(), np.abs(y).sum() / 4, rtol=1e-6)


def test_a_keras_file_with_a_custom_object_it_cannot_build_fails_naming_the_file(tmp_path):
    import json
    import zipfile

    from scratchgrad.keras_files import KerasFileError, load_keras

    source = Path(__file__).parent / "keras_reference" / "keras_files" / "custom_weight_objects.keras"
    with zipfile.ZipFile(source) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    config = json.loads(members["config.json"])
    dense, path = config["config"]["layers"][1]["config"], tmp_path / "bad.keras"

    def write():
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in {**members, "config.json": json.dumps(config).encode()}.items():
                archive.writestr(name, data)
        return path

    dense["kernel_initializer"]["registered_name"] = "Nowhere>ExampleRandomNormal"  # a class no process defined
    with pytest.raises(KerasFileError, match="bad.keras: kernel_initializer of layer 'dense': .* names the custom "
                                             "class 'Nowhere>ExampleRandomNormal', which is no Initializer"):
        load_keras(write())
    dense["kernel_initializer"]["registered_name"] = "Fixtures>ExampleRandomNormal"
    dense["kernel_regularizer"]["config"] = {"strength": 0.1, "extra": 1}
    center, regularizer, initializer = make_weight_object_classes()
    objects = {"Fixtures>CenterAround": center, "Fixtures>MyRegularizer": regularizer,
               "Fixtures>ExampleRandomNormal": initializer}
    with pytest.raises(KerasFileError, match="bad.keras: kernel_regularizer of layer 'dense': .*extra"):
        load_keras(write(), custom_objects=objects)


# Keras 3.15.1's Dense(3, activation="relu").get_config()
KERAS_DENSE_CONFIG = {'name': 'dense',
                      'trainable': True,
                      'dtype': {'module': 'keras',
                                'class_name': 'DTypePolicy',
                                'config': {'name': 'float32'},
                                'registered_name': None},
                      'units': 3,
                      'activation': 'relu',
                      'use_bias': True,
                      'kernel_initializer': {'module': 'keras.initializers',
                                             'class_name': 'GlorotUniform',
                                             'config': {'seed': None, 'input_axes': None, 'output_axes': None},
                                             'registered_name': None},
                      'bias_initializer': {'module': 'keras.initializers',
                                           'class_name': 'Zeros',
                                           'config': {},
                                           'registered_name': None},
                      'kernel_regularizer': None,
                      'bias_regularizer': None,
                      'kernel_constraint': None,
                      'bias_constraint': None,
                      'quantization_config': None}


def test_from_config_takes_a_keras_layer_s_own_config():
    """A DTypePolicy dict and Keras's LoRA/quantization defaults, as Keras's get_config() writes them."""
    dense = L.Dense.from_config(KERAS_DENSE_CONFIG)
    assert dense.dtype == np.float32 and dense.units == 3 and dense.activation is sg.activations.get("relu")
    assert L.Embedding(5, 2, quantization_config=None, lora_alpha=None).output_dim == 2
    with pytest.raises(NotImplementedError, match="quantized layers are not supported"):
        L.Dense(2, quantization_config={"mode": "int8"})
    with pytest.raises(NotImplementedError, match="LoRA adapters"):
        L.Embedding(5, 2, lora_rank=4)
    mixed = {"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}
    assert L.Dense(2, dtype=mixed).dtype == np.float32  # as the .keras reader reads a mixed policy
    with pytest.raises(ValueError, match="names its dtype under config.name"):
        L.Dense(2, dtype={"class_name": "DTypePolicy", "config": {}})
