"""Every registered layer, loss, activation, optimizer, initializer and metric, checked the same way.

A new entry is picked up from its registry: layers, losses and activations are gradient-checked in
float64, round-tripped through their config, and trained with the step plan and with the autograd graph
(compile(run_eagerly=True)) to the same numbers; optimizers' fused and single-tensor paths must agree.
The tables below give each layer and loss an example; a registered entry without one fails the
completeness test, so nothing registered goes unchecked.
"""
import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import activations, initializers, losses, metrics, optimizers
from scratchgrad import layers as L
from scratchgrad.models import Sequential

# class name -> (make the layer, input shape without the batch axis)
LAYER_EXAMPLES = {
    "Dense": (lambda: L.Dense(3, activation="tanh", activity_regularizer="l2"), (4,)),
    "Activation": (lambda: L.Activation("softplus"), (4,)),
    "Identity": (lambda: L.Identity(), (2, 3)),
    "ReLU": (lambda: L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2), (4,)),
    "Sigmoid": (lambda: L.Sigmoid(), (4,)),
    "Tanh": (lambda: L.Tanh(), (4,)),
    "Softmax": (lambda: L.Softmax(), (4,)),
    "LeakyReLU": (lambda: L.LeakyReLU(0.2), (4,)),
    "ELU": (lambda: L.ELU(0.7), (4,)),
    "PReLU": (lambda: L.PReLU(alpha_initializer="random_uniform", alpha_regularizer="l2", shared_axes=[1]), (3, 4)),
    "Dropout": (lambda: L.Dropout(0.4), (4,)),
    "RandomBrightness": (lambda: L.RandomBrightness(0.3, value_range=(-20, 20)), (3, 4, 2)),
    "RandomContrast": (lambda: L.RandomContrast((0.2, 0.4), value_range=(-20, 20)), (3, 4, 2)),
    "AlphaDropout": (lambda: L.AlphaDropout(0.3, noise_shape=(None, 1, 4)), (3, 4)),
    "GaussianDropout": (lambda: L.GaussianDropout(0.4), (4,)),
    "SpatialDropout1D": (lambda: L.SpatialDropout1D(0.4), (3, 4)),
    "SpatialDropout3D": (lambda: L.SpatialDropout3D(0.4, data_format="channels_first"), (2, 2, 2, 3)),
    "GroupNormalization": (lambda: L.GroupNormalization(groups=2, gamma_regularizer="l2"), (3, 4)),
    "RMSNormalization": (lambda: L.RMSNormalization(axis=[1, 2]), (3, 4)),
    "UnitNormalization": (lambda: L.UnitNormalization(), (4,)),
    "Flatten": (lambda: L.Flatten(), (2, 3)),
    "Reshape": (lambda: L.Reshape((3, 2)), (6,)),
    "InputLayer": (lambda: L.InputLayer(shape=(4,)), (4,)),
    "BatchNormalization": (lambda: L.BatchNormalization(momentum=0.9, axis=1, center=False, gamma_regularizer="l1",
                                                        gamma_constraint=sg.constraints.NonNeg()), (3, 4, 2)),
    "Conv2D": (lambda: L.Conv2D(4, 3, padding="same", dilation_rate=2, groups=2, activation="relu"), (5, 5, 2)),
    "DepthwiseConv2D": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), (4, 4, 2)),
    "SeparableConv2D": (lambda: L.SeparableConv2D(3, 2, depth_multiplier=2, activation="relu",
                                                  depthwise_regularizer="l2", activity_regularizer="l1",
                                                  pointwise_constraint=sg.constraints.MaxNorm(1.0, axis=[0, 1, 2])),
                        (4, 4, 2)),
    "Conv2DTranspose": (lambda: L.Conv2DTranspose(2, 3, strides=2, padding="same", activation="tanh"), (3, 3, 2)),
    "MaxPooling2D": (lambda: L.MaxPooling2D(2, padding="same"), (5, 5, 2)),
    "AveragePooling2D": (lambda: L.AveragePooling2D(2), (4, 4, 2)),
    "GlobalAveragePooling2D": (lambda: L.GlobalAveragePooling2D(), (3, 3, 2)),
    "GlobalMaxPooling2D": (lambda: L.GlobalMaxPooling2D(keepdims=True), (3, 3, 2)),
    "GlobalAveragePooling1D": (lambda: L.GlobalAveragePooling1D(), (5, 3)),
    "GlobalMaxPooling1D": (lambda: L.GlobalMaxPooling1D(), (5, 3)),
    "Conv1D": (lambda: L.Conv1D(4, 3, padding="causal", dilation_rate=2, groups=2, activation="relu"), (6, 2)),
    "DepthwiseConv1D": (lambda: L.DepthwiseConv1D(3, strides=2, depth_multiplier=2, padding="same"), (5, 2)),
    "SeparableConv1D": (lambda: L.SeparableConv1D(3, 2, depth_multiplier=2, activation="tanh"), (5, 2)),
    "STFTSpectrogram": (lambda: L.STFTSpectrogram(frame_length=8, frame_step=3, fft_length=8, padding="same"), (20, 2)),
    "MelSpectrogram": (lambda: L.MelSpectrogram(fft_length=16, sequence_stride=8, num_mel_bins=4, sampling_rate=800),
                       (64,)),
    "Conv1DTranspose": (lambda: L.Conv1DTranspose(2, 3, strides=2, padding="same", activation="tanh"), (3, 2)),
    "MaxPooling1D": (lambda: L.MaxPooling1D(3, strides=2, padding="same"), (6, 2)),
    "AveragePooling1D": (lambda: L.AveragePooling1D(4, strides=1, padding="same"), (5, 2)),
    "ConvLSTM1D": (lambda: L.ConvLSTM1D(2, 2, padding="same", return_sequences=True), (3, 4, 2)),
    "ConvLSTM2D": (lambda: L.ConvLSTM2D(2, 2, strides=2, go_backwards=True, kernel_regularizer="l2"), (3, 4, 4, 1)),
    "ConvLSTM3D": (lambda: L.ConvLSTM3D(1, 2, data_format="channels_first"), (2, 1, 3, 3, 3)),
    "AdaptiveAveragePooling1D": (lambda: L.AdaptiveAveragePooling1D(3), (7, 2)),
    "AdaptiveAveragePooling2D": (lambda: L.AdaptiveAveragePooling2D((2, 3)), (5, 4, 2)),
    "AdaptiveAveragePooling3D": (lambda: L.AdaptiveAveragePooling3D(2, data_format="channels_first"), (2, 3, 3, 3)),
    "AdaptiveMaxPooling1D": (lambda: L.AdaptiveMaxPooling1D(3), (7, 2)),
    "AdaptiveMaxPooling2D": (lambda: L.AdaptiveMaxPooling2D(2), (5, 4, 2)),
    "AdaptiveMaxPooling3D": (lambda: L.AdaptiveMaxPooling3D((2, 1, 2)), (3, 3, 3, 2)),
    "Conv3D": (lambda: L.Conv3D(4, 2, padding="same", groups=2, activation="relu"), (3, 3, 3, 2)),
    "Conv3DTranspose": (lambda: L.Conv3DTranspose(2, 2, strides=2, padding="same", activation="tanh"), (2, 2, 2, 2)),
    "MaxPooling3D": (lambda: L.MaxPooling3D(2, padding="same"), (3, 3, 3, 2)),
    "AveragePooling3D": (lambda: L.AveragePooling3D(2, strides=1, padding="same"), (3, 3, 2, 2)),
    "GlobalAveragePooling3D": (lambda: L.GlobalAveragePooling3D(), (2, 3, 3, 2)),
    "GlobalMaxPooling3D": (lambda: L.GlobalMaxPooling3D(keepdims=True), (2, 3, 3, 2)),
    "ZeroPadding3D": (lambda: L.ZeroPadding3D(((1, 0), (2, 1), (0, 1))), (2, 3, 2, 2)),
    "Cropping3D": (lambda: L.Cropping3D(((1, 0), (0, 1), (1, 1))), (3, 3, 4, 2)),
    "UpSampling3D": (lambda: L.UpSampling3D((1, 2, 3)), (2, 2, 2, 2)),
    "Sequential": (lambda: Sequential([L.Dense(5, activation="sigmoid", input_shape=(4,)), L.Dense(2)]), (4,)),
    "Functional": (lambda: functional_block(), (4,)),
    "LayerNormalization": (lambda: L.LayerNormalization(beta_initializer="random_normal",
                                                        gamma_initializer="random_uniform"), (3, 4)),
    "Rescaling": (lambda: L.Rescaling(1 / 255, offset=-0.5), (4,)),
    "CenterCrop": (lambda: L.CenterCrop(2, 3), (4, 5, 2)),
    "EinsumDense": (lambda: L.EinsumDense("abc,cde->abde", (None, 2, 3), bias_axes="de", activation="tanh"), (4, 5)),
    "RandomCrop": (lambda: L.RandomCrop(2, 3), (4, 5, 2)),
    "RandomFlip": (lambda: L.RandomFlip(), (3, 3, 2)),
    "AutoContrast": (lambda: L.AutoContrast(value_range=(-3, 3)), (4, 5, 2)),
    "RandomGrayscale": (lambda: L.RandomGrayscale(0.5), (3, 4, 3)),
    "RandomInvert": (lambda: L.RandomInvert(0.8, value_range=(-3, 3)), (3, 4, 2)),
    "Solarization": (lambda: L.Solarization(0.2, 0.6, value_range=(-3, 3)), (3, 4, 2)),
    "RandomPosterization": (lambda: L.RandomPosterization((2, 6), value_range=(-3, 3)), (3, 4, 2)),
    "RandomColorDegeneration": (lambda: L.RandomColorDegeneration(0.5, value_range=(-3, 3)), (3, 4, 3)),
    "RandomErasing": (lambda: L.RandomErasing(0.8, fill_value=0.5, value_range=(-3, 3)), (5, 6, 2)),
    "MixUp": (lambda: L.MixUp(0.4), (3, 4, 2)),
    "CutMix": (lambda: L.CutMix(), (5, 6, 2)),
    "Pipeline": (lambda: L.Pipeline([L.RandomInvert(0.5, value_range=(-3, 3)), L.MixUp()]), (3, 4, 2)),
    "RandomShear": (lambda: L.RandomShear(0.3, (0.1, 0.2), fill_mode="constant"), (4, 5, 2)),
    "RandomPerspective": (lambda: L.RandomPerspective(0.8, 0.5, fill_value=0.3), (4, 5, 2)),
    "RandomElasticTransform": (lambda: L.RandomElasticTransform(0.8, value_range=(-5, 5)), (8, 9, 2)),
    "RandomSharpness": (lambda: L.RandomSharpness(0.8, value_range=(-3, 3)), (4, 5, 2)),
    "Equalization": (lambda: L.Equalization(value_range=(-3, 3), bins=16), (4, 5, 2)),
    "MaxNumBoundingBoxes": (lambda: L.MaxNumBoundingBoxes(4, fill_value=0), (3, 4, 2)),  # images pass as they are
    "ContrastLimitedAdaptiveHistogramEqualization": (
        lambda: L.ContrastLimitedAdaptiveHistogramEqualization(value_range=(-3, 3), tile_grid_size=(2, 2)), (4, 5, 2)),
    "RandAugment": (lambda: L.RandAugment(value_range=(-3, 3), factor=0.3), (4, 5, 3)),
    # chains of depth 0: its candidates are checked on their own (posterization's and equalization's steps in
    # a chain would meet a numerical gradient), the Dirichlet mix and the blend here
    "AugMix": (lambda: L.AugMix(value_range=(-3, 3), num_chains=2, chain_depth=0), (4, 5, 3)),
    "RandomSaturation": (lambda: L.RandomSaturation(0.6, value_range=(-3, 3)), (3, 4, 3)),
    "RandomHue": (lambda: L.RandomHue(0.4, value_range=(-3, 3)), (3, 4, 3)),
    "RandomColorJitter": (lambda: L.RandomColorJitter((-3, 3), 0.2, 0.3, 0.4, 0.2), (3, 4, 3)),
    "RandomGaussianBlur": (lambda: L.RandomGaussianBlur(0.7, (3, 5), (0.3, 0.8), value_range=(-3, 3)), (5, 6, 2)),
    "Resizing": (lambda: L.Resizing(3, 5, crop_to_aspect_ratio=True), (4, 5, 2)),
    "RandomRotation": (lambda: L.RandomRotation(0.2, fill_mode="constant", fill_value=0.5), (4, 5, 2)),
    "RandomZoom": (lambda: L.RandomZoom((-0.3, 0.4), 0.2, interpolation="nearest"), (4, 5, 2)),
    "RandomTranslation": (lambda: L.RandomTranslation(0.3, 0.2, fill_mode="wrap"), (4, 5, 2)),
    "Normalization": (lambda: L.Normalization(mean=[0.5, 1.0, -1.0, 2.0], variance=[1.0, 4.0, 0.25, 2.0]), (4,)),
    "ActivityRegularization": (lambda: L.ActivityRegularization(l1=0.01, l2=0.02), (4,)),
    "GaussianNoise": (lambda: L.GaussianNoise(0.1), (4,)),
    "SpatialDropout2D": (lambda: L.SpatialDropout2D(0.3), (4, 4, 3)),
    "ZeroPadding2D": (lambda: L.ZeroPadding2D(((1, 0), (2, 1))), (3, 3, 2)),
    "Cropping2D": (lambda: L.Cropping2D(((1, 0), (0, 1))), (4, 4, 2)),
    "UpSampling2D": (lambda: L.UpSampling2D((2, 3)), (2, 2, 2)),
    "ZeroPadding1D": (lambda: L.ZeroPadding1D((2, 1)), (3, 2)),
    "Cropping1D": (lambda: L.Cropping1D((1, 2)), (5, 2)),
    "UpSampling1D": (lambda: L.UpSampling1D(3), (2, 2)),
    "Permute": (lambda: L.Permute((2, 1)), (3, 4)),
    "Lambda": (lambda: L.Lambda(sg.ops.square), (4,)),
    "TensorOp": (lambda: L.TensorOp("getitem", (slice(None), slice(1, None, 2), Ellipsis)), (4, 3)),
    "RepeatVector": (lambda: L.RepeatVector(3), (4,)),
    "Add": (lambda: L.Add(), [(4,), (4,), (4,)]),
    "Subtract": (lambda: L.Subtract(), [(4,), (4,)]),
    "Multiply": (lambda: L.Multiply(), [(4,), (4,)]),
    "Average": (lambda: L.Average(), [(4,), (4,)]),
    "Maximum": (lambda: L.Maximum(), [(4,), (4,)]),
    "Minimum": (lambda: L.Minimum(), [(4,), (4,)]),
    "Concatenate": (lambda: L.Concatenate(axis=1), [(2, 3), (4, 3)]),
    "Dot": (lambda: L.Dot(axes=(2, 2)), [(2, 3), (4, 3)]),
    "Attention": (lambda: L.Attention(use_scale=True, score_mode="concat", dropout=0.3), [(3, 2), (4, 2), (4, 2)]),
    "AdditiveAttention": (lambda: L.AdditiveAttention(dropout=0.3), [(3, 2), (4, 2)]),
    # MultiHeadAttention takes query and value as two arguments, not a list: checked inside a model of
    # two inputs; no biases, as the key bias's gradient is 0 (softmax ignores it), below what gradcheck resolves
    "MultiHeadAttention": (lambda: sg.Model(xs := [L.Input(shape=(3, 4)), L.Input(shape=(5, 2))], L.MultiHeadAttention(
        2, 2, value_dim=3, dropout=0.3, use_bias=False)(*xs, use_causal_mask=True)), [(3, 4), (5, 2)]),
    "SpectralNormalization": (lambda: L.SpectralNormalization(L.Dense(3), power_iterations=2), (4,)),
    "GroupQueryAttention": (lambda: sg.Model(xs := [L.Input(shape=(3, 4)), L.Input(shape=(5, 2))],
                                             L.GroupQueryAttention(2, 4, 2, dropout=0.3, use_bias=False)(
                                                 *xs, use_causal_mask=True)), [(3, 4), (5, 2)]),
    "SimpleRNN": (lambda: L.SimpleRNN(3, return_sequences=True, go_backwards=True, dropout=0.2), (4, 3)),
    "LSTM": (lambda: L.LSTM(3, recurrent_dropout=0.2), (4, 3)),
    "GRU": (lambda: L.GRU(3, reset_after=False, return_sequences=True), (4, 3)),
    "Bidirectional": (lambda: L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode="ave"), (4, 3)),
    "TimeDistributed": (lambda: L.TimeDistributed(L.Dense(2, activation="tanh")), (4, 3)),
    "RNN": (lambda: L.RNN(L.LSTMCell(3, dropout=0.2), return_sequences=True, go_backwards=True), (4, 3)),
    # a cell computes one step: its example runs it over the sequence in an RNN
    "SimpleRNNCell": (lambda: L.RNN(L.SimpleRNNCell(3, recurrent_dropout=0.2)), (4, 3)),
    "LSTMCell": (lambda: L.RNN(L.LSTMCell(3, recurrent_dropout=0.2, unit_forget_bias=False)), (4, 3)),
    "GRUCell": (lambda: L.RNN(L.GRUCell(3, reset_after=False, dropout=0.2), return_sequences=True), (4, 3)),
    "StackedRNNCells": (lambda: L.RNN(L.StackedRNNCells([L.GRUCell(2), L.SimpleRNNCell(3)])), (4, 3)),
    "Masking": (lambda: L.Masking(0.1), (4, 3)),
}
ABSTRACT = {"Model", "IndexLookup", "Wrapper"}  # bases that only subclasses instantiate
# layers that take strings: no gradient to check and no float input to train on; each has its own tests
STRING_LAYERS = {"TextVectorization": "tests/test_text_vectorization.py", "StringLookup": "tests/test_lookup_layers.py",
                 "Hashing": "tests/test_lookup_layers.py", "HashedCrossing": "tests/test_lookup_layers.py",
                 "FeatureSpace": "tests/test_feature_space.py"}  # a table's columns, by name
# layers that take integer ids: checked (gradient, plan == eager, Keras's numbers) in their own tests
INTEGER_LAYERS = {"Embedding": "tests/test_sequences.py", "ReversibleEmbedding": "tests/test_sequences.py",
                  "CategoryEncoding": "tests/test_more_layers.py",
                  "IntegerLookup": "tests/test_lookup_layers.py"}
# layers whose outputs are bins, with no gradient to check: checked (plan == eager, Keras's numbers) in their own
BINNING_LAYERS = {"Discretization": "tests/test_more_layers.py"}


def functional_block():
    """A two-branch functional model: Dense and a residual path added back, then merged."""
    inputs = sg.Input(shape=(4,))
    h = L.Dense(4, activation="tanh")(inputs)
    return sg.Model(inputs, L.Dense(2)(h + inputs))

# losses whose targets are not shaped like the output: checked in their own tests
SEQUENCE_LOSSES = {"CTC": "tests/test_ctc.py", "Circle": "tests/test_keras_reference.py"}  # and of class ids
# loss class name -> (output units, output activation, target kind)
LOSS_EXAMPLES = {
    "CategoricalCrossentropy": (3, "softmax", "onehot"),
    "SparseCategoricalCrossentropy": (3, "softmax", "labels"),
    "BinaryCrossentropy": (2, "sigmoid", "binary"),
    "MeanSquaredError": (2, None, "real"),
    "MeanAbsoluteError": (2, None, "real"),
    "SumSquaredError": (2, "tanh", "real"),
    "MeanAbsolutePercentageError": (2, None, "real"),
    "MeanSquaredLogarithmicError": (2, "softplus", "positive"),
    "Huber": (2, None, "real"),
    "LogCosh": (2, None, "real"),
    "CosineSimilarity": (3, None, "real"),
    "KLDivergence": (3, "softmax", "probabilities"),
    "Poisson": (2, "softplus", "positive"),
    "Hinge": (2, "tanh", "binary"),
    "SquaredHinge": (2, "tanh", "binary"),
    "CategoricalHinge": (3, None, "onehot"),
    "BinaryFocalCrossentropy": (2, "sigmoid", "binary"),
    "CategoricalFocalCrossentropy": (3, "softmax", "onehot"),
    "Dice": (2, "sigmoid", "binary"),
    "Tversky": (2, "sigmoid", "binary"),
    "CategoricalGeneralizedCrossEntropy": (3, "softmax", "labels"),
}


def ours(registry):
    """The registry's entries that scratchgrad itself defines (tests may register their own)."""
    return sorted(name for name, cls in registry.items() if cls.__module__.startswith("scratchgrad."))


def test_every_registered_layer_and_loss_has_an_example():
    assert set(ours(L.LAYERS)) - ABSTRACT - set(STRING_LAYERS) - set(INTEGER_LAYERS) - set(BINNING_LAYERS) == \
        set(LAYER_EXAMPLES)
    assert set(ours(losses.CLASSES)) - set(SEQUENCE_LOSSES) == set(LOSS_EXAMPLES)


def float64(make):
    sg.set_floatx("float64")
    try:
        return make()
    finally:
        sg.set_floatx("float32")


def targets(kind, rng, n, units):
    if kind == "labels":
        return rng.integers(0, units, n)
    if kind == "onehot":
        return np.eye(units)[rng.integers(0, units, n)]
    if kind == "binary":
        return rng.integers(0, 2, (n, units)).astype(float)
    if kind == "positive":
        return np.abs(rng.standard_normal((n, units)))
    if kind == "probabilities":
        e = np.exp(rng.standard_normal((n, units)))
        return e / e.sum(axis=1, keepdims=True)
    return rng.standard_normal((n, units))


def assert_plan_equals_eager(build, loss, x, y, optimizer=lambda: sg.optimizers.Adam(0.05), replayed=True):
    """Train the same float64 model both ways over 3 epochs of batches of 5 (a short last batch); with
    replayed=False, a model whose steps are recorded anew each time (Python choices in the step)."""
    runs = []
    for eager in (False, True):
        sg.set_seed(3)
        model = float64(build)
        model.compile(optimizer=optimizer(), loss=loss, run_eagerly=eager)
        sg.set_seed(11)
        losses_seen = model.fit(x, y, epochs=3, batch_size=5, verbose=0).history["loss"]
        runs.append((losses_seen, model.get_weights(), model))
    (la, wa, planned), (lb, wb, _) = runs
    assert len(planned._plans) == (2 if replayed else 0)  # replayed, not recorded at every step
    np.testing.assert_allclose(la, lb, rtol=1e-12)
    for a, b in zip(wa, wb):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


# ---- layers ------------------------------------------------------------------------------------------
def several(shape):
    return isinstance(shape, list)


def inputs_for(shape, rng, n, dtype=np.float32):
    """One array of `shape` (batch of n), or a list of arrays for a merge layer's list of shapes."""
    shapes = shape if several(shape) else [shape]
    arrays = [(rng.standard_normal((n,) + s) + 0.1).astype(dtype) for s in shapes]
    return arrays if several(shape) else arrays[0]


RECORDED_EACH_STEP = {"AugMix"}  # its chains are Python's choices, as Keras's
# steps of values: a derivative of 0 where it has one
PIECEWISE_CONSTANT = {"RandomPosterization", "Equalization", "ContrastLimitedAdaptiveHistogramEqualization"}
# writes its normalized kernel back at each training call: checked in inference, where the kernel passes its
# gradient as the training call passes it (Keras differentiates with respect to the kernel as written)
ASSIGNS_IN_TRAINING = {"SpectralNormalization"}


@pytest.mark.parametrize("name", sorted(LAYER_EXAMPLES))
def test_layer_gradients(name, rng):
    make, shape = LAYER_EXAMPLES[name]
    layer = float64(make)
    arrays = inputs_for(shape, rng, 3, np.float64)
    xs = [sg.Tensor(a, dtype="float64", requires_grad=True) for a in (arrays if several(shape) else [arrays])]
    count = len(xs)

    def forward(*tensors):
        sg.set_seed(5)  # a fixed dropout mask for every evaluation
        return layer(list(tensors[:count]) if several(shape) else tensors[0], training=name not in ASSIGNS_IN_TRAINING)

    out = forward(*xs)
    if name in PIECEWISE_CONSTANT:
        assert not out.requires_grad  # no gradient passes, rather than a wrong one
        return
    assert sg.gradcheck(forward, *xs, *layer.trainable_weights)


@pytest.mark.parametrize("name", sorted(LAYER_EXAMPLES))
def test_layer_config_round_trip(name, rng):
    make, shape = LAYER_EXAMPLES[name]
    layer = make()
    x = inputs_for(shape, rng, 2)
    expected = layer(x, training=False).numpy()
    clone = type(layer).from_config(layer.get_config())
    clone(x, training=False)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(clone(x, training=False).numpy(), expected)


def model_around(make, shape):
    """The layer between Input(s) and a softmax head: a Sequential, or a functional model for a merge."""
    if not several(shape):
        return Sequential([L.Input(shape=shape), make(), L.Flatten(), L.Dense(3, activation="softmax")])
    inputs = [L.Input(shape=s) for s in shape]
    return sg.Model(inputs, L.Dense(3, activation="softmax")(L.Flatten()(make()(inputs))))


@pytest.mark.parametrize("name", sorted(set(LAYER_EXAMPLES) - {"InputLayer"}))  # an Input only starts a model
def test_layer_trains_the_same_planned_and_eager(name, rng):
    make, shape = LAYER_EXAMPLES[name]
    x, y = inputs_for(shape, rng, 12, np.float64), rng.integers(0, 3, 12)
    assert_plan_equals_eager(lambda: model_around(make, shape), "sparse_categorical_crossentropy", x, y,
                             replayed=name not in RECORDED_EACH_STEP)


# ---- losses ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(LOSS_EXAMPLES))
def test_loss_gradients_and_config(name, rng):
    units, activation, kind = LOSS_EXAMPLES[name]
    loss = losses.CLASSES[name]()
    logits = rng.standard_normal((6, units))
    y_pred = sg.Tensor(activations.get(activation)(logits).numpy(), dtype="float64", requires_grad=True)
    y_true = targets(kind, rng, 6, units)
    weights = rng.uniform(0.5, 2, 6)
    assert sg.gradcheck(lambda p: loss(y_true, p, sample_weight=weights), y_pred)
    clone = losses.get(losses.serialize(loss))
    assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    assert float(clone(y_true, y_pred).data) == float(loss(y_true, y_pred).data)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("name", sorted(LOSS_EXAMPLES))
def test_loss_trains_the_same_planned_and_eager(name, from_logits, rng):
    units, activation, kind = LOSS_EXAMPLES[name]
    if from_logits and losses.CLASSES[name].fused_activation is None:
        pytest.skip("a regression loss has no logits form")
    loss = (lambda: losses.CLASSES[name](from_logits=True)) if from_logits else losses.CLASSES[name]
    x, y = rng.standard_normal((12, 4)), targets(kind, rng, 12, units)
    head = None if from_logits else activation
    build = lambda: Sequential([L.Input(shape=(4,)), L.Dense(5, activation="relu"), L.Dense(units, activation=head)])  # noqa
    assert_plan_equals_eager(build, loss(), x, y)


# ---- activations -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
def test_activation_gradient_config_and_training(name, rng):
    fn = activations.get(name)
    x = sg.Tensor(rng.standard_normal((4, 6)) * 2, dtype="float64", requires_grad=True)  # even: glu halves it
    assert sg.gradcheck(fn, x)
    assert activations.get(activations.serialize(fn)) is fn
    build = lambda: Sequential([L.Input(shape=(4,)), L.Dense(6, activation=name), L.Dense(3, activation="softmax")])  # noqa
    assert_plan_equals_eager(build, "sparse_categorical_crossentropy", rng.standard_normal((12, 4)),
                             rng.integers(0, 3, 12))


# ---- optimizers --------------------------------------------------------------------------------------
OPTIMIZER_OPTIONS = [{}, {"clipnorm": 0.05}, {"global_clipnorm": 0.05, "weight_decay": 0.1}, {"clipvalue": 0.01}]


# the optimizers with an update rule of their own (LossScaleOptimizer and MultiOptimizer wrap others: tested apart)
RULES = sorted(name for name, cls in optimizers.CLASSES.items() if not cls.__dict__.get("wraps_another"))


@pytest.mark.parametrize("options", OPTIMIZER_OPTIONS, ids=lambda o: ",".join(o) or "plain")
@pytest.mark.parametrize("name", RULES)
def test_optimizer_fused_path_equals_the_single_tensor_path(name, options, rng):
    """The fused update over the flat buffers and the per-weight loop must give the same weights."""
    x, y = rng.standard_normal((12, 4)), rng.integers(0, 3, 12)
    runs = []
    for fused in (True, False):
        sg.set_seed(3)
        model = float64(lambda: Sequential([L.Input(shape=(4,)), L.Dense(5, activation="relu"),
                                            L.Dense(3, activation="softmax")]))
        model.compile(optimizer=optimizers.CLASSES[name](fused=fused, **options),
                      loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
        runs.append(model.get_weights() + [a for s in model.get_optimizer_state()["slots"] for a in s.values()])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", RULES)
def test_optimizer_config_round_trip_and_plan(name, rng):
    opt = optimizers.CLASSES[name](learning_rate=0.02)
    clone = optimizers.get(optimizers.serialize(opt))
    assert type(clone) is type(opt) and clone.get_config() == opt.get_config()
    build = lambda: Sequential([L.Input(shape=(4,)), L.Dense(5, activation="tanh"), L.Dense(3, activation="softmax")])  # noqa
    assert_plan_equals_eager(build, "sparse_categorical_crossentropy", rng.standard_normal((12, 4)),
                             rng.integers(0, 3, 12), optimizer=lambda: optimizers.CLASSES[name](0.02))


# ---- initializers and metrics ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ours(initializers.INITIALIZERS))
def test_initializer_by_name_and_config(name):
    init = initializers.get(name)
    for dtype in ("float32", "float64"):
        sg.set_seed(0)
        a = init((30, 20), dtype)
        assert a.shape == (30, 20) and a.dtype == dtype and np.all(np.isfinite(a))
    clone = initializers.get(initializers.serialize(init))
    sg.set_seed(0)
    b = clone((30, 20), "float64")
    assert type(clone) is type(init)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(set(metrics.FUNCTIONS) - {"accuracy"}))  # compile resolves "accuracy"
def test_metric_is_logged_under_its_name_with_its_value(name, rng):
    x, labels = rng.standard_normal((12, 4)).astype(np.float32), rng.integers(0, 3, 12)
    if name.startswith("sparse_"):
        units, y, loss = 3, labels, "sparse_categorical_crossentropy"
    elif name in ("binary_accuracy", "binary_crossentropy", "hinge", "squared_hinge"):
        units, y, loss = 1, (labels > 0).astype(np.float32)[:, None], "binary_crossentropy"
    else:
        units, y, loss = 3, np.eye(3, dtype=np.float32)[labels], "categorical_crossentropy"
    model = Sequential([L.Input(shape=(4,)), L.Dense(units, activation="sigmoid" if units == 1 else "softmax")])
    model.compile(optimizer="sgd", loss=loss, metrics=[name])
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    expected = metrics.FUNCTIONS[name](y, model.predict(x).astype(np.float64)).mean()
    assert logs[name] == pytest.approx(float(expected), rel=1e-5, abs=1e-7)
