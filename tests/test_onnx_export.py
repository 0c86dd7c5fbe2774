"""ONNX export (scratchgrad.onnx_export): every exportable layer, alone with small random weights, and the
recipes' models give in ONNX Runtime what model.predict gives (float32, ~1e-5), at two batch sizes of one
exported file (the batch dimension is dynamic); layers without an ONNX form are refused by name; the
file is written through a temporary file."""
import os

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad.models import Model, Sequential

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from scratchgrad.onnx_export import OnnxExportError, export_onnx, to_onnx

BATCHES = (1, 6)


def randomize(model, seed=0):
    """Small random weights everywhere (variances positive), so no weight is a trivial zero or one."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if "variance" in w.name:
            w.data[...] = rng.uniform(0.5, 1.5, w.shape)
        else:
            w.data[...] = rng.normal(0.0, 0.4, w.shape)
    return model


def normal(*shape):
    def make(batch, rng):
        return rng.normal(size=(batch,) + shape).astype("float32")
    return make


def ids(*shape, high=20):
    def make(batch, rng):
        return rng.integers(0, high, size=(batch,) + shape).astype("int64")
    return make


def ort_outputs(path, inputs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: x for i, x in zip(session.get_inputs(), inputs)})


def check_export(model, makers, tmp_path, atol=1e-5, rtol=1e-5):
    """Export once; at each batch size, ONNX Runtime's outputs equal model.predict's."""
    path = tmp_path / "model.onnx"
    assert model.export(path, format="onnx") == str(path)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 17
    assert all(i.type.tensor_type.shape.dim[0].dim_param == "batch" for i in proto.graph.input)
    rng = np.random.default_rng(1)
    for batch in BATCHES:
        inputs = [make(batch, rng) for make in makers]
        expected = model.predict(inputs if len(inputs) > 1 else inputs[0], batch_size=batch)
        expected = [expected[k] for k in sorted(expected)] if isinstance(expected, dict) else expected  # flat order
        expected = expected if isinstance(expected, list) else [expected]
        got = ort_outputs(path, inputs)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
    return proto


def sequential(shape, *layers, dtype=None):
    return Sequential([L.Input(shape=shape, dtype=dtype), *layers])


# ---- every exportable layer, alone --------------------------------------------------------------------
EXPORTABLE_ACTIVATIONS = ["celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
                          "hard_swish", "hard_tanh", "identity", "leaky_relu", "linear", "log_sigmoid", "log_softmax",
                          "mish", "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
                          "softsign", "sparse_plus", "sparse_sigmoid", "squareplus", "step", "swish", "tanh",
                          "tanh_shrink"]


@pytest.mark.parametrize("name", EXPORTABLE_ACTIVATIONS)
def test_every_activation(name, tmp_path):
    model = randomize(sequential((6,), L.Dense(8, activation=name)))
    check_export(model, [lambda batch, rng: rng.normal(0, 2, (batch, 6)).astype("float32")], tmp_path)


def test_every_registered_activation_is_exported_or_refused():
    from scratchgrad.functional import ACTIVATIONS

    assert set(ACTIVATIONS) == set(EXPORTABLE_ACTIVATIONS) | {"sparsemax"}


LAYER_CASES = {
    # core
    "dense": (lambda: sequential((5,), L.Dense(4)), [normal(5)]),
    "dense-no-bias": (lambda: sequential((5,), L.Dense(4, use_bias=False, activation="tanh")), [normal(5)]),
    "dense-3d": (lambda: sequential((3, 5), L.Dense(4, activation="relu")), [normal(3, 5)]),
    "dense-4d": (lambda: sequential((2, 3, 5), L.Dense(4)), [normal(2, 3, 5)]),
    "activation-softmax-3d": (lambda: sequential((3, 5), L.Activation("softmax")), [normal(3, 5)]),
    "relu": (lambda: sequential((6,), L.ReLU()), [normal(6)]),
    "relu-max": (lambda: sequential((6,), L.ReLU(max_value=0.5)), [normal(6)]),
    "relu-options": (lambda: sequential((6,), L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2)),
                     [normal(6)]),
    "leaky-relu": (lambda: sequential((6,), L.LeakyReLU(negative_slope=0.05)), [normal(6)]),
    "elu": (lambda: sequential((6,), L.ELU(alpha=0.7)), [normal(6)]),
    "prelu": (lambda: sequential((3, 4), L.PReLU()), [normal(3, 4)]),
    "sigmoid": (lambda: sequential((6,), L.Sigmoid()), [normal(6)]),
    "tanh": (lambda: sequential((6,), L.Tanh()), [normal(6)]),
    "softmax": (lambda: sequential((6,), L.Softmax()), [normal(6)]),
    "softmax-axis": (lambda: sequential((3, 4), L.Softmax(axis=1)), [normal(3, 4)]),
    "embedding": (lambda: sequential((7,), L.Embedding(20, 3), dtype="int64"), [ids(7)]),
    # identity in inference
    "dropout": (lambda: sequential((6,), L.Dropout(0.5), L.Dense(3)), [normal(6)]),
    "gaussian-noise": (lambda: sequential((6,), L.GaussianNoise(1.0)), [normal(6)]),
    "spatial-dropout": (lambda: sequential((4, 4, 2), L.SpatialDropout2D(0.5)), [normal(4, 4, 2)]),
    "unit-normalization": (lambda: sequential((3, 4), L.UnitNormalization(axis=[1, 2])), [normal(3, 4)]),
    "rms-normalization": (lambda: sequential((3, 4), L.RMSNormalization()), [normal(3, 4)]),
    "group-normalization": (lambda: sequential((3, 6), L.GroupNormalization(groups=3, epsilon=0.1)), [normal(3, 6)]),
    "group-normalization-any-length": (lambda: sequential((None, 6), L.GroupNormalization(groups=3)), [normal(5, 6)]),
    "group-normalization-axis": (lambda: sequential((4, 5, 2), L.GroupNormalization(groups=2, axis=1,
                                                                                      center=False)),
                                 [normal(4, 5, 2)]),
    "other-dropouts": (lambda: sequential((5, 2), L.SpatialDropout1D(0.5), L.AlphaDropout(0.2), L.GaussianDropout(0.3)),
                       [normal(5, 2)]),
    "spatial-dropout-3d": (lambda: sequential((2, 3, 3, 2), L.SpatialDropout3D(0.5)), [normal(2, 3, 3, 2)]),
    "activity-regularization": (lambda: sequential((6,), L.ActivityRegularization(l1=0.1)), [normal(6)]),
    "random-flip": (lambda: sequential((5, 5, 2), L.RandomFlip()), [normal(5, 5, 2)]),
    "random-rotation": (lambda: sequential((5, 5, 2), L.RandomRotation(0.2)), [normal(5, 5, 2)]),
    "random-zoom": (lambda: sequential((5, 5, 2), L.RandomZoom(0.2)), [normal(5, 5, 2)]),
    "random-color": (lambda: sequential((5, 5, 2), L.RandomBrightness(0.2), L.RandomContrast(0.3)), [normal(5, 5, 2)]),
    "random-translation": (lambda: sequential((5, 5, 2), L.RandomTranslation(0.2, 0.2)), [normal(5, 5, 2)]),
    "augmentations": (lambda: sequential((5, 5, 3), L.RandomGrayscale(), L.RandomInvert(), L.Solarization(),
                                         L.RandomPosterization(4), L.RandomColorDegeneration(0.3), L.RandomErasing(),
                                         L.MixUp(), L.CutMix(), L.RandomShear(0.2), L.RandomPerspective(),
                                         L.RandomElasticTransform(), L.RandomSharpness(0.5), L.RandomSaturation(0.3),
                                         L.RandomHue(0.2), L.RandomGaussianBlur(),
                                         L.RandomColorJitter(brightness_factor=0.1), L.RandAugment(), L.AugMix()),
                       [normal(5, 5, 3)]),
    # reshaping
    "flatten": (lambda: sequential((3, 4, 2), L.Flatten()), [normal(3, 4, 2)]),
    "flatten-channels-first": (lambda: sequential((3, 4, 2), L.Flatten(data_format="channels_first")),
                               [normal(3, 4, 2)]),
    "reshape": (lambda: sequential((12,), L.Reshape((3, 4))), [normal(12)]),
    "reshape-unknown": (lambda: sequential((12,), L.Reshape((-1, 2))), [normal(12)]),
    "permute": (lambda: sequential((2, 3, 4), L.Permute((3, 1, 2))), [normal(2, 3, 4)]),
    "repeat-vector": (lambda: sequential((4,), L.RepeatVector(3)), [normal(4)]),
    "zero-padding-1d": (lambda: sequential((5, 2), L.ZeroPadding1D((1, 2))), [normal(5, 2)]),
    "zero-padding-2d": (lambda: sequential((4, 5, 2), L.ZeroPadding2D(((1, 0), (2, 1)))), [normal(4, 5, 2)]),
    "cropping-1d": (lambda: sequential((7, 2), L.Cropping1D((2, 1))), [normal(7, 2)]),
    "cropping-2d": (lambda: sequential((6, 7, 2), L.Cropping2D(((1, 2), (0, 3)))), [normal(6, 7, 2)]),
    "upsampling-1d": (lambda: sequential((4, 3), L.UpSampling1D(3)), [normal(4, 3)]),
    "upsampling-2d": (lambda: sequential((3, 4, 2), L.UpSampling2D((2, 3))), [normal(3, 4, 2)]),
    "center-crop": (lambda: sequential((7, 8, 2), L.CenterCrop(4, 5)), [normal(7, 8, 2)]),
    # preprocessing
    "rescaling": (lambda: sequential((4, 4, 1), L.Rescaling(1 / 255, offset=-0.5)), [normal(4, 4, 1)]),
    "normalization": (lambda: sequential((3,), L.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 0.25])),
                      [normal(3)]),
    "normalization-invert": (lambda: sequential((3,), L.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0],
                                                                      invert=True)), [normal(3)]),
    "normalization-images": (lambda: sequential((4, 4, 3), L.Normalization(mean=[0.1, 0.2, 0.3],
                                                                           variance=[1.0, 2.0, 3.0])),
                             [normal(4, 4, 3)]),
    # normalization
    "batch-norm": (lambda: sequential((6,), L.BatchNormalization()), [normal(6)]),
    "batch-norm-images": (lambda: sequential((5, 5, 3), L.BatchNormalization()), [normal(5, 5, 3)]),
    "batch-norm-axis-1": (lambda: sequential((3, 4, 5), L.BatchNormalization(axis=1)), [normal(3, 4, 5)]),
    "batch-norm-no-scale": (lambda: sequential((6,), L.BatchNormalization(center=False, scale=False)), [normal(6)]),
    "layer-norm": (lambda: sequential((3, 6), L.LayerNormalization()), [normal(3, 6)]),
    "layer-norm-trailing-axes": (lambda: sequential((3, 6), L.LayerNormalization(
        axis=[1, 2], gamma_initializer="he_normal", beta_initializer="he_normal")), [normal(3, 6)]),
    # convolutions
    "conv2d": (lambda: sequential((7, 7, 3), L.Conv2D(4, 3)), [normal(7, 7, 3)]),
    "conv2d-same-stride": (lambda: sequential((8, 7, 3), L.Conv2D(4, (3, 2), strides=2, padding="same",
                                                                  activation="relu")), [normal(8, 7, 3)]),
    "conv2d-dilated": (lambda: sequential((9, 9, 2), L.Conv2D(3, 3, dilation_rate=2, padding="same")),
                       [normal(9, 9, 2)]),
    "conv2d-groups": (lambda: sequential((6, 6, 4), L.Conv2D(6, 3, groups=2, use_bias=False)), [normal(6, 6, 4)]),
    "conv2d-channels-first": (lambda: sequential((3, 6, 5), L.Conv2D(4, 3, padding="same", strides=(2, 1),
                                                                     data_format="channels_first")),
                              [normal(3, 6, 5)]),
    "conv2d-softmax": (lambda: sequential((5, 5, 2), L.Conv2D(4, 3, activation="softmax")), [normal(5, 5, 2)]),
    "conv1d": (lambda: sequential((10, 3), L.Conv1D(4, 3, activation="tanh")), [normal(10, 3)]),
    "conv1d-same-stride": (lambda: sequential((11, 3), L.Conv1D(4, 4, strides=2, padding="same")), [normal(11, 3)]),
    "conv1d-causal-dilated": (lambda: sequential((10, 3), L.Conv1D(4, 3, padding="causal", dilation_rate=2)),
                              [normal(10, 3)]),
    "conv1d-groups": (lambda: sequential((9, 4), L.Conv1D(4, 2, groups=4)), [normal(9, 4)]),
    "depthwise-conv2d": (lambda: sequential((7, 7, 3), L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")),
                         [normal(7, 7, 3)]),
    "depthwise-conv1d": (lambda: sequential((9, 3), L.DepthwiseConv1D(3, strides=2)), [normal(9, 3)]),
    "separable-conv2d": (lambda: sequential((7, 7, 3), L.SeparableConv2D(5, 3, depth_multiplier=2,
                                                                         activation="relu")), [normal(7, 7, 3)]),
    "separable-conv1d": (lambda: sequential((9, 3), L.SeparableConv1D(4, 3, padding="same")), [normal(9, 3)]),
    "conv2d-transpose": (lambda: sequential((4, 5, 3), L.Conv2DTranspose(2, 3, strides=2)), [normal(4, 5, 3)]),
    "conv2d-transpose-same": (lambda: sequential((4, 5, 3), L.Conv2DTranspose(2, (3, 4), strides=2, padding="same",
                                                                              activation="relu")), [normal(4, 5, 3)]),
    "conv2d-transpose-small-kernel": (lambda: sequential((4, 4, 2), L.Conv2DTranspose(2, 2, strides=3)),
                                      [normal(4, 4, 2)]),
    "conv2d-transpose-same-small-kernel": (lambda: sequential((4, 4, 2), L.Conv2DTranspose(2, 2, strides=3,
                                                                                           padding="same")),
                                           [normal(4, 4, 2)]),
    "conv2d-transpose-output-padding": (lambda: sequential((4, 5, 3), L.Conv2DTranspose(2, (3, 4), strides=(2, 3),
                                                                                        padding="same",
                                                                                        output_padding=(1, 2))),
                                        [normal(4, 5, 3)]),
    "conv1d-transpose-output-padding": (lambda: sequential((5, 3), L.Conv1DTranspose(2, 3, strides=3,
                                                                                      output_padding=1)),
                                        [normal(5, 3)]),
    "conv1d-transpose": (lambda: sequential((5, 3), L.Conv1DTranspose(2, 3, strides=2, padding="same")),
                         [normal(5, 3)]),
    # pooling
    "max-pool-2d": (lambda: sequential((7, 7, 3), L.MaxPooling2D()), [normal(7, 7, 3)]),
    "max-pool-2d-same": (lambda: sequential((7, 6, 3), L.MaxPooling2D(3, strides=2, padding="same")),
                         [normal(7, 6, 3)]),
    "avg-pool-2d": (lambda: sequential((7, 7, 3), L.AveragePooling2D((2, 3))), [normal(7, 7, 3)]),
    "avg-pool-2d-same": (lambda: sequential((7, 6, 3), L.AveragePooling2D(3, strides=2, padding="same")),
                         [normal(7, 6, 3)]),
    "avg-pool-2d-channels-first": (lambda: sequential((3, 6, 6), L.AveragePooling2D(data_format="channels_first")),
                                   [normal(3, 6, 6)]),
    "max-pool-1d": (lambda: sequential((9, 3), L.MaxPooling1D(3, strides=2, padding="same")), [normal(9, 3)]),
    "avg-pool-1d": (lambda: sequential((9, 3), L.AveragePooling1D(2, padding="same")), [normal(9, 3)]),
    "global-avg-2d": (lambda: sequential((5, 5, 3), L.GlobalAveragePooling2D()), [normal(5, 5, 3)]),
    "global-max-2d-keepdims": (lambda: sequential((5, 5, 3), L.GlobalMaxPooling2D(keepdims=True)), [normal(5, 5, 3)]),
    "global-avg-1d": (lambda: sequential((6, 3), L.GlobalAveragePooling1D()), [normal(6, 3)]),
    "global-max-1d": (lambda: sequential((6, 3), L.GlobalMaxPooling1D()), [normal(6, 3)]),
    # volumes
    "conv3d-same-strided": (lambda: sequential((5, 6, 5, 2), L.Conv3D(3, (2, 3, 3), strides=2, padding="same",
                                                                     activation="relu")), [normal(5, 6, 5, 2)]),
    "conv3d-dilated-groups": (lambda: sequential((6, 6, 6, 4), L.Conv3D(4, 2, dilation_rate=2, groups=2)),
                              [normal(6, 6, 6, 4)]),
    "conv3d-transpose": (lambda: sequential((3, 4, 4, 2), L.Conv3DTranspose(2, 3, strides=2, padding="same")),
                         [normal(3, 4, 4, 2)]),
    "max-pool-3d-same": (lambda: sequential((5, 6, 5, 2), L.MaxPooling3D(3, strides=2, padding="same")),
                         [normal(5, 6, 5, 2)]),
    "avg-pool-3d-same": (lambda: sequential((5, 6, 5, 2), L.AveragePooling3D((3, 2, 2), padding="same")),
                         [normal(5, 6, 5, 2)]),
    "global-avg-3d": (lambda: sequential((3, 4, 4, 2), L.GlobalAveragePooling3D()), [normal(3, 4, 4, 2)]),
    "global-max-3d-keepdims": (lambda: sequential((3, 4, 4, 2), L.GlobalMaxPooling3D(keepdims=True)),
                               [normal(3, 4, 4, 2)]),
    "padding-cropping-upsampling-3d": (lambda: sequential((3, 4, 4, 2), L.ZeroPadding3D(((1, 0), (0, 2), (1, 1))),
                                                          L.Cropping3D(((0, 1), (1, 1), (2, 0))),
                                                          L.UpSampling3D((2, 1, 3))), [normal(3, 4, 4, 2)]),
    # recurrent
    "simple-rnn": (lambda: sequential((5, 3), L.SimpleRNN(4)), [normal(5, 3)]),
    "simple-rnn-relu-sequences": (lambda: sequential((5, 3), L.SimpleRNN(4, activation="relu",
                                                                          return_sequences=True)), [normal(5, 3)]),
    "simple-rnn-linear-backwards": (lambda: sequential((5, 3), L.SimpleRNN(4, activation=None, go_backwards=True,
                                                                            return_sequences=True)), [normal(5, 3)]),
    "lstm": (lambda: sequential((6, 3), L.LSTM(4)), [normal(6, 3)]),
    "lstm-sequences": (lambda: sequential((6, 3), L.LSTM(4, return_sequences=True)), [normal(6, 3)]),
    "lstm-backwards": (lambda: sequential((6, 3), L.LSTM(4, go_backwards=True)), [normal(6, 3)]),
    "lstm-backwards-sequences": (lambda: sequential((6, 3), L.LSTM(4, go_backwards=True, return_sequences=True)),
                                 [normal(6, 3)]),
    "lstm-no-bias": (lambda: sequential((6, 3), L.LSTM(4, use_bias=False)), [normal(6, 3)]),
    "lstm-activations": (lambda: sequential((6, 3), L.LSTM(4, activation="softsign", recurrent_activation="relu")),
                         [normal(6, 3)]),
    "lstm-elu": (lambda: sequential((6, 3), L.LSTM(4, activation="elu")), [normal(6, 3)]),
    "lstm-linear": (lambda: sequential((6, 3), L.LSTM(4, activation="linear")), [normal(6, 3)]),
    "gru": (lambda: sequential((6, 3), L.GRU(4)), [normal(6, 3)]),
    "gru-reset-before": (lambda: sequential((6, 3), L.GRU(4, reset_after=False, return_sequences=True)),
                         [normal(6, 3)]),
    "gru-backwards": (lambda: sequential((6, 3), L.GRU(4, go_backwards=True, return_sequences=True)),
                      [normal(6, 3)]),
    "gru-no-bias": (lambda: sequential((6, 3), L.GRU(4, use_bias=False)), [normal(6, 3)]),
    "stacked-lstm-gru": (lambda: sequential((6, 3), L.LSTM(5, return_sequences=True), L.GRU(4)), [normal(6, 3)]),
    "bidirectional-concat": (lambda: sequential((6, 3), L.Bidirectional(L.LSTM(4))), [normal(6, 3)]),
    "bidirectional-sum-sequences": (lambda: sequential((6, 3), L.Bidirectional(L.GRU(4, return_sequences=True),
                                                                              merge_mode="sum")), [normal(6, 3)]),
    "bidirectional-ave": (lambda: sequential((6, 3), L.Bidirectional(L.SimpleRNN(4, return_sequences=True),
                                                                    merge_mode="ave")), [normal(6, 3)]),
    "bidirectional-mul": (lambda: sequential((6, 3), L.Bidirectional(L.LSTM(4), merge_mode="mul")), [normal(6, 3)]),
    "time-distributed": (lambda: sequential((5, 3), L.TimeDistributed(L.Dense(2, activation="relu"))),
                         [normal(5, 3)]),
    "time-distributed-conv": (lambda: sequential((3, 6, 6, 2), L.TimeDistributed(L.Conv2D(3, 3))),
                              [normal(3, 6, 6, 2)]),
}


@pytest.mark.parametrize("case", LAYER_CASES)
def test_every_exportable_layer(case, tmp_path):
    build, makers = LAYER_CASES[case]
    check_export(randomize(build()), makers, tmp_path)


# ---- functional models: merges, several inputs and outputs, states, nested models -------------------
def two_inputs(merge, shape=(4,)):
    a, b = sg.Input(shape=shape), sg.Input(shape=shape)
    return Model([a, b], merge([a, b]))


MERGE_CASES = {
    "add": lambda: two_inputs(L.Add()),
    "subtract": lambda: two_inputs(L.Subtract()),
    "multiply": lambda: two_inputs(L.Multiply()),
    "average": lambda: two_inputs(L.Average()),
    "maximum": lambda: two_inputs(L.Maximum()),
    "minimum": lambda: two_inputs(L.Minimum()),
    "concatenate": lambda: two_inputs(L.Concatenate()),
    "concatenate-axis-1": lambda: two_inputs(L.Concatenate(axis=1), (3, 4)),
    "dot": lambda: two_inputs(L.Dot(axes=1)),
    "dot-normalize": lambda: two_inputs(L.Dot(axes=1, normalize=True)),
    "dot-3d": lambda: two_inputs(L.Dot(axes=(2, 2)), (3, 4)),
    "dot-3d-axes-1": lambda: two_inputs(L.Dot(axes=1), (3, 4)),
}


@pytest.mark.parametrize("case", MERGE_CASES)
def test_merge_layers(case, tmp_path):
    model = MERGE_CASES[case]()
    shape = model.inputs[0].shape[1:]
    check_export(model, [normal(*shape), normal(*shape)], tmp_path)


def test_three_way_merges_and_merges_of_convolutions(tmp_path):
    inputs = sg.Input(shape=(6, 6, 2))
    a = L.Conv2D(3, 3, padding="same", activation="relu")(inputs)
    b = L.Conv2D(3, 1)(inputs)
    c = L.Conv2D(3, 3, padding="same")(inputs)
    x = L.Add()([a, b, c])
    x = L.BatchNormalization()(x)
    y = L.Concatenate()([x, L.Maximum()([a, b, c]), L.Average()([a, c])])
    z = L.GlobalAveragePooling2D()(L.Conv2D(4, 3)(y))
    model = randomize(Model(inputs, L.Dense(2, activation="softmax")(z)))
    proto = check_export(model, [normal(6, 6, 2)], tmp_path)
    assert sum(n.op_type == "Transpose" for n in proto.graph.node) == 1  # one into channels first, none back


def test_several_outputs_and_return_state(tmp_path):
    inputs = sg.Input(shape=(5, 3))
    sequence, h, c = L.LSTM(4, return_sequences=True, return_state=True)(inputs)
    output, h2 = L.GRU(3, return_state=True, go_backwards=True)(sequence)
    model = randomize(Model(inputs, [L.Dense(2)(h), c, output, h2, L.Flatten()(sequence)]))
    check_export(model, [normal(5, 3)], tmp_path)


def test_initial_state(tmp_path):
    x, h0, c0 = sg.Input(shape=(5, 3)), sg.Input(shape=(4,)), sg.Input(shape=(4,))
    output = L.LSTM(4, return_sequences=True)(x, initial_state=[h0, c0])
    g0 = sg.Input(shape=(2,))
    model = randomize(Model([x, h0, c0, g0], [output, L.GRU(2)(output, initial_state=g0)]))
    check_export(model, [normal(5, 3), normal(4), normal(4), normal(2)], tmp_path)


def test_bidirectional_return_state(tmp_path):
    inputs = sg.Input(shape=(5, 3))
    merged, *states = L.Bidirectional(L.LSTM(4, return_sequences=True, return_state=True))(inputs)
    model = randomize(Model(inputs, [merged, *states]))
    check_export(model, [normal(5, 3)], tmp_path)


def test_nested_models_and_tensor_ops(tmp_path):
    block = Sequential([sg.Input(shape=(6,)), L.Dense(6, activation="relu"), L.Dense(6)])
    inputs = sg.Input(shape=(6,))
    x = block(inputs) * 2.0 + 1.0
    x = 3.0 - (-x) / 4.0
    x = L.Concatenate()([x[:, 1:5], x[:, ::2] ** 2, x[:, -1:]])
    y = x[:, None, 2]
    model = randomize(Model(inputs, [L.Dense(3)(x), y]))
    check_export(model, [normal(6)], tmp_path)


def test_dict_outputs(tmp_path):
    inputs = sg.Input(shape=(4,))
    model = randomize(Model(inputs, {"b": L.Dense(2)(inputs), "a": L.Dense(3, activation="sigmoid")(inputs)}))
    proto = check_export(model, [normal(4)], tmp_path)
    assert [o.name for o in proto.graph.output] == ["a", "b"]


def test_a_shared_layer_is_exported_once(tmp_path):
    shared = L.Dense(5, activation="tanh")
    a, b = sg.Input(shape=(4,)), sg.Input(shape=(4,))
    model = randomize(Model([a, b], L.Subtract()([shared(a), shared(b)])))
    proto = check_export(model, [normal(4), normal(4)], tmp_path)
    assert sum(len(t.dims) == 2 and tuple(t.dims) == (4, 5) for t in proto.graph.initializer) == 1


def test_a_saved_and_loaded_model_exports(tmp_path):
    from scratchgrad.models import load_model

    model = randomize(Sequential([sg.Input(shape=(6, 6, 1)), L.Conv2D(3, 3, activation="relu"),
                                  L.BatchNormalization(), L.Flatten(), L.Dense(4, activation="softmax")]))
    model.save(tmp_path / "model.sg")
    loaded = load_model(tmp_path / "model.sg")
    (tmp_path / "model.sg").unlink()
    check_export(loaded, [normal(6, 6, 1)], tmp_path)


# ---- the recipes' models --------------------------------------------------------------------------
def test_mnist_mlp(tmp_path):
    from scratchgrad.models.mlp import mlp

    model = mlp(784, [512], 10, dropout=0.2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64), epochs=1, verbose=0)
    check_export(model, [lambda batch, rng: rng.random((batch, 784), dtype=np.float32)], tmp_path)


def test_mnist_cnn(tmp_path):
    model = Sequential([sg.Input(shape=(28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D(),
                        L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(), L.Flatten(), L.Dropout(0.5),
                        L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((32, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 32), epochs=1, verbose=0)
    proto = check_export(model, [lambda batch, rng: rng.random((batch, 28, 28, 1), dtype=np.float32)], tmp_path)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Transpose") == 2  # into channels first, and back before Flatten (Keras's order)


def test_lstm_classifier(tmp_path):
    model = Sequential([sg.Input(shape=(28, 28)), L.LSTM(32), L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((32, 28, 28), dtype=np.float32), rng.integers(0, 10, 32), epochs=1, verbose=0)
    check_export(model, [lambda batch, rng: rng.random((batch, 28, 28), dtype=np.float32)], tmp_path)


def test_text_classifier(tmp_path):
    model = randomize(Sequential([sg.Input(shape=(12,), dtype="int32"), L.Embedding(50, 8),
                                  L.Bidirectional(L.GRU(6, return_sequences=True)), L.Conv1D(4, 3, activation="relu"),
                                  L.GlobalMaxPooling1D(), L.Dense(1, activation="sigmoid")]))
    check_export(model, [lambda batch, rng: rng.integers(0, 50, (batch, 12)).astype("int32")], tmp_path)


def test_timeseries_models(tmp_path):
    conv = Sequential([sg.Input(shape=(48, 3)), L.Conv1D(16, 12, activation="relu"), L.MaxPooling1D(2),
                       L.Conv1D(16, 6, activation="relu"), L.GlobalAveragePooling1D(), L.Dense(1)])
    check_export(randomize(conv), [normal(48, 3)], tmp_path)
    gru = Sequential([sg.Input(shape=(48, 3)), L.GRU(8), L.Dense(1)])
    check_export(randomize(gru), [normal(48, 3)], tmp_path)


def test_unknown_sequence_length(tmp_path):
    model = randomize(Sequential([sg.Input(shape=(None, 3)), L.Conv1D(4, 3, padding="same"), L.LSTM(5),
                                  L.Dense(2)]))
    path = tmp_path / "m.onnx"
    model.export(path)
    for steps in (4, 9):
        x = np.random.default_rng(steps).normal(size=(3, steps, 3)).astype("float32")
        np.testing.assert_allclose(ort_outputs(path, [x])[0], model.predict(x), rtol=1e-5, atol=1e-5)


# ---- refusals -----------------------------------------------------------------------------------------
def refused(model, tmp_path, *words):
    path = tmp_path / "refused.onnx"
    with pytest.raises(OnnxExportError) as info:
        model.export(path)
    for word in words:
        assert word in str(info.value)
    assert not path.exists() and os.listdir(tmp_path) == []
    return str(info.value)


def test_lambda_is_refused_by_name(tmp_path):
    model = Sequential([sg.Input(shape=(4,)), L.Dense(3), L.Lambda(lambda x: x * x, name="square")])
    refused(model, tmp_path, "'square'", "Lambda", "cannot be exported to ONNX")


def test_masks_are_refused(tmp_path):
    masking = Sequential([sg.Input(shape=(5, 3)), L.Masking(), L.LSTM(4)])
    refused(masking, tmp_path, "Masking", "mask")
    embedding = Sequential([sg.Input(shape=(5,), dtype="int64"), L.Embedding(10, 3, mask_zero=True), L.LSTM(4)])
    refused(embedding, tmp_path, "Embedding", "mask_zero")


def test_rnn_of_a_cell_is_refused(tmp_path):
    refused(Sequential([sg.Input(shape=(5, 3)), L.RNN(L.LSTMCell(4))]), tmp_path, "RNN", "no ONNX form")
    both = Sequential([sg.Input(shape=(5, 3)), L.Bidirectional(L.RNN(L.GRUCell(4)))])
    refused(both, tmp_path, "Bidirectional", "not an RNN(cell)")


def test_attention_and_unmapped_activations_are_refused(tmp_path):
    inputs = sg.Input(shape=(5, 4))
    attention = Model(inputs, L.MultiHeadAttention(2, 3, name="mha")(inputs, inputs))
    refused(attention, tmp_path, "'mha'", "MultiHeadAttention")
    refused(Sequential([sg.Input(shape=(4,)), L.Dense(3, activation="sparsemax")]), tmp_path, "sparsemax")
    refused(Sequential([sg.Input(shape=(3, 6)), L.LayerNormalization(axis=1)]), tmp_path, "not trailing")
    refused(Sequential([sg.Input(shape=(4,)), L.Dense(3, activation=lambda x: x)]), tmp_path, "custom function")


@pytest.fixture
def layer_registry():
    """The test's own Layer subclasses register themselves by class name: forget them afterwards."""
    from scratchgrad.layers.base import LAYERS

    saved = dict(LAYERS)
    yield
    LAYERS.clear()
    LAYERS.update(saved)


def test_subclassed_and_unbuilt_models_are_refused(tmp_path, layer_registry):
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(np.zeros((1, 3), np.float32))
    refused(net, tmp_path, "subclassed")
    refused(Sequential([L.Dense(2)]), tmp_path, "not built")


def test_a_custom_subclass_of_an_exportable_layer_is_refused(tmp_path, layer_registry):
    class Doubled(L.Dense):
        def call(self, x, training=False):
            return super().call(x) * 2

    refused(Sequential([sg.Input(shape=(3,)), Doubled(2)]), tmp_path, "Doubled")


def test_unknown_format_and_opset(tmp_path):
    model = Sequential([sg.Input(shape=(3,)), L.Dense(2)])
    with pytest.raises(ValueError, match="unknown export format"):
        model.export(tmp_path / "m.onnx", format="tflite")
    with pytest.raises(ValueError, match="opset"):
        model.export(tmp_path / "m.onnx", opset=11)
    assert to_onnx(model, opset=18).opset_import[0].version == 18


def test_newer_opset_runs(tmp_path):
    model = randomize(Sequential([sg.Input(shape=(5, 5, 2)), L.Conv2D(3, 3), L.GlobalAveragePooling2D(),
                                  L.Dense(2)]))
    path = tmp_path / "m.onnx"
    model.export(path, opset=18)
    x = np.random.default_rng(0).normal(size=(3, 5, 5, 2)).astype("float32")
    np.testing.assert_allclose(ort_outputs(path, [x])[0], model.predict(x), rtol=1e-5, atol=1e-5)


# ---- writing the file ---------------------------------------------------------------------------------
def test_the_file_is_replaced_atomically(tmp_path, monkeypatch):
    model = Sequential([sg.Input(shape=(3,)), L.Dense(2)])
    path = tmp_path / "m.onnx"
    path.write_bytes(b"the previous file")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        export_onnx(model, path)
    assert path.read_bytes() == b"the previous file"
    assert os.listdir(tmp_path) == ["m.onnx"]  # the temporary file is gone
    monkeypatch.undo()
    export_onnx(model, path)
    onnx.checker.check_model(onnx.load(path))
    assert os.listdir(tmp_path) == ["m.onnx"]
