"""Make the `.keras` fixtures of tests/test_keras_files.py with the real Keras 3.

Not run in CI: run by hand where Keras 3 and a backend are installed, from the repository root:

    KERAS_BACKEND=torch python tests/keras_reference/make_keras_files.py
    KERAS_BACKEND=tensorflow python tests/keras_reference/make_keras_files.py tests/keras_reference/keras_files lookups

It writes, into tests/keras_reference/keras_files/, for each model NAME:
- NAME.keras: the model as Keras saves it (`model.save`), compiled and trained a few steps, so the file holds
  compile settings and optimizer state;
- NAME.npz: `x*` the inputs, `y*` Keras's predictions on them; and, for models without randomness in
  training, `batch_x*`/`batch_y*` a batch and `after*` every weight (in `model.weights` order of the
  Keras model, named `after_0000`, ...) after one more `train_on_batch` on it: the loaded optimizer
  state must give the same step.

The files are small (a few KB each: the zip members are re-deflated, their bytes unchanged). Everything
is seeded; Keras 3.15.1 with the torch backend made the committed ones. The custom layer, initializer,
regularizer and constraint are defined here and, identically, in the tests (registered as "Fixtures>Scale",
...; the last three are keras.io's examples of custom ones).
"""
import os
import sys

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
from keras import layers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_files")


@keras.saving.register_keras_serializable("Fixtures")
class Scale(layers.Layer):
    """y = x * w + b, one w and b per feature (a custom layer with its own weights)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="w")
        self.b = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="b")

    def call(self, x):
        return x * self.w + self.b


def mlp():
    model = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"),
                              layers.Dense(3, activation="softmax")], name="mlp")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(1)
    return model, [rng.standard_normal((16, 8)).astype("float32")], [rng.integers(0, 3, 16)], True


def cnn():
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Conv2D(4, 3, padding="same", activation="tanh"),
                              layers.GlobalAveragePooling2D(), layers.Dense(2)], name="cnn")
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    rng = np.random.default_rng(2)
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, 16)]
    return model, [rng.standard_normal((16, 8, 8, 1)).astype("float32")], [y], True


def two_inputs():
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    shared = layers.Dense(5, activation="tanh", name="shared")
    ha, hb = shared(layers.Dense(5, name="proj_a")(a)), shared(layers.Dense(5, name="proj_b")(b))
    h = layers.Concatenate()([ha, hb])
    h = Scale(name="scale")(h)
    out1 = layers.Dense(1, name="regression")(h)
    out2 = layers.Dense(3, activation="softmax", name="classes")(layers.Add()([ha, hb]))
    model = keras.Model([a, b], [out1, out2], name="two_inputs")
    model.compile(optimizer=keras.optimizers.RMSprop(0.01, momentum=0.5), loss=["mse", "categorical_crossentropy"],
                  loss_weights=[1.0, 0.5])
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((16, 4)).astype("float32"), rng.standard_normal((16, 3)).astype("float32")]
    ys = [rng.standard_normal((16, 1)).astype("float32"), np.eye(3, dtype="float32")[rng.integers(0, 3, 16)]]
    return model, xs, ys, True


def lstm():
    model = keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(20, 4, mask_zero=True),
                              layers.LSTM(5), layers.Dense(1, activation="sigmoid")], name="lstm")
    model.compile(optimizer=keras.optimizers.Nadam(0.01), loss="binary_crossentropy")
    rng = np.random.default_rng(4)
    x = rng.integers(1, 20, (16, 6)).astype("int32")
    x[:4, 3:] = 0  # padding, masked
    return model, [x], [rng.integers(0, 2, (16, 1)).astype("float32")], True


def rnn_cells():
    keras.utils.set_random_seed(6)  # its own seed: the fixture can be made alone, main(names=["rnn_cells"])
    model = keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(20, 4, mask_zero=True),
                              layers.RNN(layers.LSTMCell(4), return_sequences=True),
                              layers.RNN([layers.GRUCell(3, reset_after=False), layers.SimpleRNNCell(2)],
                                         go_backwards=True),
                              layers.Dense(1, activation="sigmoid")], name="rnn_cells")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    rng = np.random.default_rng(6)
    x = rng.integers(1, 20, (16, 6)).astype("int32")
    x[:4, 4:] = 0  # padding, masked
    return model, [x], [rng.integers(0, 2, (16, 1)).astype("float32")], True


def functional_masks():
    """Masks in a functional graph, which Keras's file records as operations (NotEqual, Any) passed on as
    mask=: Embedding(mask_zero=True) into an LSTM and a masked mean, Masking into a GRU."""
    keras.utils.set_random_seed(7)
    ids, series = keras.Input((6,), dtype="int32"), keras.Input((6, 3))
    words = layers.GlobalAveragePooling1D()(layers.LSTM(4, return_sequences=True)(
        layers.Embedding(20, 4, mask_zero=True)(ids)))
    steps = layers.GRU(3)(layers.Masking(0.0)(series))
    out = layers.Dense(1, activation="sigmoid")(layers.Concatenate()([words, steps]))
    model = keras.Model([ids, series], out, name="functional_masks")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    rng = np.random.default_rng(7)
    x = rng.integers(1, 20, (16, 6)).astype("int32")
    x[:4, 3:] = 0  # padding, masked
    z = rng.standard_normal((16, 6, 3)).astype("float32")
    z[1:3, :2] = 0  # leading padding, masked
    return model, [x, z], [rng.integers(0, 2, (16, 1)).astype("float32")], True


def bn_dropout():
    model = keras.Sequential([keras.Input((6,)), layers.Dense(8), layers.BatchNormalization(),
                              layers.Activation("relu"), layers.Dropout(0.3), layers.Dense(1)], name="bn_dropout")
    model.compile(optimizer=keras.optimizers.AdamW(0.01), loss="mse", metrics=["mae"])
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((32, 6)) * 3 + 1).astype("float32")
    return model, [x], [rng.standard_normal((32, 1)).astype("float32")], False


def constrained():
    c = keras.constraints
    model = keras.Sequential([keras.Input((6,)),
                              layers.Dense(8, activation="relu", kernel_constraint=c.MaxNorm(0.6),
                                           bias_constraint=c.NonNeg()),
                              layers.LayerNormalization(gamma_constraint=c.MinMaxNorm(0.5, 1.5, rate=0.7, axis=0)),
                              layers.Dense(3, kernel_constraint=c.UnitNorm(axis=0))], name="constrained")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(6)
    return model, [(rng.standard_normal((16, 6)) * 2).astype("float32")], [rng.integers(0, 3, 16)], True


@keras.saving.register_keras_serializable("Fixtures")
class ExampleRandomNormal(keras.initializers.Initializer):
    def __init__(self, mean, stddev):
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None, **kwargs):
        return keras.random.normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


@keras.saving.register_keras_serializable("Fixtures")
class MyRegularizer(keras.regularizers.Regularizer):
    def __init__(self, strength):
        self.strength = strength

    def __call__(self, x):
        return self.strength * keras.ops.sum(keras.ops.square(x))

    def get_config(self):
        return {"strength": self.strength}


@keras.saving.register_keras_serializable("Fixtures")
class CenterAround(keras.constraints.Constraint):
    def __init__(self, ref_value):
        self.ref_value = ref_value

    def __call__(self, w):
        return w - keras.ops.mean(w) + self.ref_value

    def get_config(self):
        return {"ref_value": self.ref_value}


def custom_weight_objects():
    model = keras.Sequential([keras.Input((5,)),
                              layers.Dense(6, activation="tanh", kernel_initializer=ExampleRandomNormal(0.0, 0.4),
                                           kernel_regularizer=MyRegularizer(0.01), kernel_constraint=CenterAround(0.1)),
                              layers.Dense(2, bias_regularizer=MyRegularizer(0.1))], name="custom_weight_objects")
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5), loss="mse")
    rng = np.random.default_rng(7)
    return model, [rng.standard_normal((16, 5)).astype("float32")], [rng.standard_normal((16, 2)).astype("float32")], \
        True


def weight_options():
    """Every weight option of the layers that took none before: SeparableConv2D's initializers,
    regularizers and constraints, BatchNormalization's and PReLU's (with shared_axes), and any layer's
    activity_regularizer."""
    c, r = keras.constraints, keras.regularizers
    model = keras.Sequential([
        keras.Input((6, 6, 2)),
        layers.SeparableConv2D(4, 3, depth_multiplier=2, depthwise_initializer="he_normal",
                               pointwise_initializer="lecun_normal", bias_initializer="ones",
                               depthwise_regularizer=r.L2(0.01), pointwise_regularizer=r.L1(0.01),
                               bias_regularizer=r.L2(0.1), activity_regularizer=r.L2(0.001),
                               depthwise_constraint=c.MaxNorm(1.0, axis=[0, 1]),
                               pointwise_constraint=c.UnitNorm(axis=[0, 1, 2]), bias_constraint=c.NonNeg()),
        layers.BatchNormalization(beta_regularizer=r.L2(0.1), gamma_regularizer=r.L1(0.05), beta_constraint=c.NonNeg(),
                                  gamma_constraint=c.MaxNorm(1.5)),
        layers.PReLU(alpha_initializer=keras.initializers.Constant(0.2), alpha_regularizer=r.L2(0.1),
                     alpha_constraint=c.NonNeg(), shared_axes=[1, 2]),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3, activity_regularizer=r.L1L2(0.01, 0.02))], name="weight_options")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(8)
    return model, [rng.standard_normal((16, 6, 6, 2)).astype("float32")], [rng.integers(0, 3, 16)], True


def normalizations():
    model = keras.Sequential([keras.Input((7, 3)), layers.Conv1D(4, 3, padding="same"),
                              layers.GroupNormalization(groups=2, gamma_regularizer=keras.regularizers.L2(0.1)),
                              layers.SpatialDropout1D(0.0), layers.RMSNormalization(), layers.UnitNormalization(),
                              layers.GlobalAveragePooling1D(), layers.GaussianDropout(0.0), layers.AlphaDropout(0.0),
                              layers.Dense(2)], name="normalizations")  # dropouts at rate 0: a step to compare
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((16, 7, 3)).astype("float32"), rng.standard_normal((16, 2)).astype("float32")
    return model, [x], [y], True


def lookups():
    """Adapted TextVectorization (tf_idf), StringLookup and IntegerLookup: Keras keeps their vocabularies in
    the archive's assets/ and the idf weights as a variable. Needs the TensorFlow backend (KERAS_BACKEND=
    tensorflow; only this fixture)."""
    import tensorflow as tf  # Keras's fit takes strings as TensorFlow tensors only (the .npz keeps them as str)

    texts = np.array(["the cat sat", "a dog ran", "the dog sat on the mat", "고양이 cat"] * 4)
    colors = np.array([["red", "blue"], ["green", "red"], ["blue", "blue"], ["pink", "green"]] * 4)
    ids = np.array([[3, 1, 4], [1, 5, 9], [2, 6, 5], [3, 5, 8]] * 4, dtype="int64")
    vectorize = layers.TextVectorization(output_mode="tf_idf", max_tokens=12, pad_to_max_tokens=True)
    vectorize.adapt(texts)
    color_lookup = layers.StringLookup(output_mode="multi_hot", num_oov_indices=2)
    color_lookup.adapt(colors[:8])
    id_lookup = layers.IntegerLookup(max_tokens=6)
    id_lookup.adapt(ids[:8])
    # texts of shape (n,): Keras 3.15's symbolic output for (n, 1) in tf_idf mode is (n, 1, 12), its eager one (n, 12)
    inputs = [keras.Input((), dtype="string"), keras.Input((2,), dtype="string"), keras.Input((3,), dtype="int64")]
    ids_embedded = layers.Flatten()(layers.Embedding(6, 2)(id_lookup(inputs[2])))
    merged = layers.Concatenate()([layers.Dense(4)(vectorize(inputs[0])), color_lookup(inputs[1]), ids_embedded])
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(merged), name="lookups")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    y = np.array([1, 0, 1, 0] * 4, dtype="float32")
    return model, [tf.constant(texts), tf.constant(colors), ids], [y], True


def volumes():
    """Sequences of frames and volumes: ConvLSTM2D (backwards, returning its sequence), the 3-D convolutions,
    poolings, padding, cropping and upsampling."""
    model = keras.Sequential([keras.Input((3, 6, 6, 1)),
                              layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, go_backwards=True),
                              layers.BatchNormalization(), layers.Conv3D(4, 2, padding="same", activation="relu"),
                              layers.MaxPooling3D((1, 2, 2)), layers.ZeroPadding3D(1),
                              layers.Conv3DTranspose(2, 2, strides=(1, 2, 2)),
                              layers.Cropping3D(((1, 0), (1, 1), (0, 1))),
                              layers.UpSampling3D((2, 1, 1)), layers.AveragePooling3D(2, padding="same"),
                              layers.GlobalMaxPooling3D(), layers.Dense(2)], name="volumes")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    rng = np.random.default_rng(10)
    x, y = rng.random((16, 3, 6, 6, 1)).astype("float32"), rng.standard_normal((16, 2)).astype("float32")
    return model, [x], [y], True


def attention():
    """A tied language-model head around grouped-query attention: ReversibleEmbedding (its reverse call the
    output layer), GroupQueryAttention, and a Dense under SpectralNormalization (its vector_u assigned in
    training)."""
    ids = keras.Input((6,), dtype="int32")
    embedding = layers.ReversibleEmbedding(20, 8)
    h = embedding(ids)
    h = layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)(h, h)
    h = layers.SpectralNormalization(layers.Dense(8, activation="tanh"))(h)
    model = keras.Model(ids, embedding(h, reverse=True), name="attention")
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(11)
    return model, [rng.integers(0, 20, (16, 6)).astype("int32")], [rng.integers(0, 20, (16, 6))], True


def audio():
    """Sound as images: a trainable STFTSpectrogram (Hamming window, expand_dims for the image layers) under
    a Conv2D, and a MelSpectrogram beside it, both read by Dense heads."""
    signal = keras.Input((64, 1))
    image = layers.STFTSpectrogram(frame_length=16, frame_step=8, window="hamming", expand_dims=True)(signal)
    image = layers.GlobalAveragePooling2D()(layers.Conv2D(3, 3, activation="relu")(image))
    mel = layers.MelSpectrogram(fft_length=16, sequence_stride=8, num_mel_bins=4, sampling_rate=800)(
        layers.Reshape((64,))(signal))
    outputs = layers.Dense(2)(layers.Concatenate()([image, layers.Flatten()(mel)]))
    model = keras.Model(signal, outputs, name="audio")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    rng = np.random.default_rng(12)
    x, y = rng.standard_normal((16, 64, 1)).astype("float32"), rng.standard_normal((16, 2)).astype("float32")
    return model, [x], [y], True


def _deflate(path):
    """Re-zip Keras's stored (uncompressed) members deflated: the same bytes, a fifth of the size."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members:
            archive.writestr(name, data)


def _plain(x):
    """`x` as NumPy: TensorFlow's strings (bytes) as str, so the .npz needs no pickle."""
    x = x.numpy() if hasattr(x, "numpy") else x
    return np.char.decode(x.astype(bytes), "utf-8") if x.dtype == object else x


def main(out=OUT, names=None):
    """Make the fixtures named (all by default)."""
    keras.utils.set_random_seed(0)
    os.makedirs(out, exist_ok=True)
    for make in (mlp, cnn, two_inputs, lstm, bn_dropout, rnn_cells, functional_masks, constrained,
                 custom_weight_objects, weight_options, normalizations, lookups, volumes, attention, audio):
        if names and make.__name__ not in names:
            continue
        model, xs, ys, deterministic = make()
        model.fit(xs if len(xs) > 1 else xs[0], ys if len(ys) > 1 else ys[0], batch_size=8, epochs=2, verbose=0)
        path = os.path.join(out, f"{make.__name__}.keras")
        model.save(path)
        _deflate(path)
        arrays = {}
        preds = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        for i, p in enumerate(preds if isinstance(preds, list) else [preds]):
            arrays[f"y{i}"] = np.asarray(p)[:4]
        for i, x in enumerate(xs):
            arrays[f"x{i}"] = _plain(x[:4])
        if deterministic:
            batch = slice(0, 8)
            arrays.update({f"batch_x{i}": _plain(x[batch]) for i, x in enumerate(xs)})
            arrays.update({f"batch_y{i}": y[batch] for i, y in enumerate(ys)})
            model.train_on_batch([x[batch] for x in xs] if len(xs) > 1 else xs[0][batch],
                                 [y[batch] for y in ys] if len(ys) > 1 else ys[0][batch])
            arrays.update({f"after_{i:04d}": np.asarray(w.numpy()) for i, w in enumerate(model.weights)})
            arrays["after_names"] = np.array([w.path for w in model.weights])
        np.savez_compressed(os.path.join(out, f"{make.__name__}.npz"), **arrays)
        print(f"wrote {path} ({os.path.getsize(path):,} bytes)")


if __name__ == "__main__":
    main(*sys.argv[1:])
