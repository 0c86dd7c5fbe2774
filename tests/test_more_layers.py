"""Keras layers beyond the curriculum's: shapes and values as Keras documents them."""
import ast
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_registries import assert_plan_equals_eager

import scratchgrad as keras
from scratchgrad import layers


@pytest.mark.parametrize("layer,shape,expected", [
    (lambda: layers.ZeroPadding2D(2), (2, 5, 6, 3), (2, 9, 10, 3)),
    (lambda: layers.ZeroPadding2D(((1, 0), (2, 1))), (2, 5, 6, 3), (2, 6, 9, 3)),
    (lambda: layers.Cropping2D(((1, 1), (2, 0))), (2, 5, 6, 3), (2, 3, 4, 3)),
    (lambda: layers.UpSampling2D(2), (2, 5, 6, 3), (2, 10, 12, 3)),
    (lambda: layers.Permute((2, 1)), (2, 5, 6), (2, 6, 5)),
    (lambda: layers.RepeatVector(4), (2, 3), (2, 4, 3)),
    (lambda: layers.GlobalMaxPooling2D(keepdims=True), (2, 5, 6, 3), (2, 1, 1, 3)),
    (lambda: layers.GlobalAveragePooling1D(), (2, 5, 6), (2, 6)),
])
def test_output_shapes(layer, shape, expected):
    assert layer()(np.ones(shape, np.float32)).shape == expected
    assert layer()(keras.Input(shape=shape[1:])).shape == (None,) + expected[1:]


def test_upsampling_repeats_rows_and_columns():
    x = np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(layers.UpSampling2D(2)(x).numpy()[0, :, :, 0],
                                  [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])


def test_normalization_adapts_to_the_data_and_inverts(rng):
    data = rng.normal([1.0, -2.0, 5.0], [0.5, 2.0, 3.0], (500, 3)).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(data)
    out = norm(data).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-4)
    undo = layers.Normalization(mean=norm.mean.numpy(), variance=norm.variance.numpy(), invert=True)
    np.testing.assert_allclose(undo(out).numpy(), data, rtol=1e-4, atol=1e-4)
    assert norm.trainable_weights == [] and len(norm.weights) == 2  # saved with the model, never trained


def test_rescaling_and_layer_normalization(rng):
    assert layers.Rescaling(1 / 255)(np.full((1, 2), 255.0)).numpy().tolist() == [[1.0, 1.0]]
    x = rng.normal(3, 2, (4, 6)).astype(np.float32)
    out = layers.LayerNormalization(epsilon=0.0)(x).numpy()
    np.testing.assert_allclose(out.mean(axis=-1), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=-1), 1, atol=1e-4)


def test_activity_regularization_adds_its_penalty_over_the_batch(rng):
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.ActivityRegularization(l1=0.1, l2=0.2)(inputs))
    model.compile("sgd", "mse")
    x = rng.normal(size=(8, 3)).astype(np.float32)
    penalty = (0.1 * np.abs(x).sum() + 0.2 * (x * x).sum()) / 8
    assert model.evaluate(x, x, verbose=0) == pytest.approx(penalty, rel=1e-5)


def test_noise_and_spatial_dropout_act_only_in_training(rng):
    x = np.ones((2, 4, 4, 3), np.float32)
    for layer in (layers.GaussianNoise(0.5), layers.SpatialDropout2D(0.5)):
        np.testing.assert_array_equal(layer(x).numpy(), x)
        assert not np.array_equal(layer(x, training=True).numpy(), x)
    keras.set_seed(1)
    dropped = layers.SpatialDropout2D(0.5)(x, training=True).numpy()
    per_channel = dropped.reshape(2, 16, 3)
    assert all(len(set(per_channel[i, :, c])) == 1 for i in range(2) for c in range(3))  # whole maps


@pytest.mark.parametrize("make,shape,noise", [
    (lambda: layers.SpatialDropout1D(0.5, seed=3), (2, 5, 3), (2, 1, 3)),
    (lambda: layers.SpatialDropout2D(0.5, "channels_first", seed=3), (2, 3, 4, 4), (2, 3, 1, 1)),
    (lambda: layers.SpatialDropout3D(0.5, seed=3), (2, 2, 3, 3, 4), (2, 1, 1, 1, 4))])
def test_spatial_dropout_drops_whole_channels(make, shape, noise):
    layer = make()
    x = np.ones(shape, np.float32)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    y = layer(x, training=True).numpy()
    assert set(np.unique(y)) == {0.0, 2.0}  # dropped, or kept and scaled by 1/(1 - 0.5)
    np.testing.assert_array_equal(y, np.broadcast_to(y.max(axis=tuple(i for i, n in enumerate(noise) if n == 1),
                                                     keepdims=True), shape))  # one value per sample and channel
    again = make()
    np.testing.assert_array_equal(again(x, training=True).numpy(), y)  # seed: the same sequence of masks
    config = layer.get_config()
    assert "noise_shape" not in config and config["seed"] == 3 and type(layer).from_config(config).rate == 0.5
    with pytest.raises(ValueError, match=f"takes {len(shape)}-D inputs"):
        layer(np.ones(shape[:-1], np.float32), training=True)


def test_dropout_arguments_are_checked_where_given(tmp_path):
    with pytest.raises(TypeError, match="data_format"):
        layers.SpatialDropout1D(0.5, data_format="channels_first")  # Keras's 1-D version takes none
    with pytest.raises(TypeError, match="noise_shape"):
        layers.SpatialDropout2D(0.5, noise_shape=(1, 1, 1, 1))  # the layer's own
    with pytest.raises(ValueError, match=r"spatial_dropout2d\w* takes 4-D inputs"):
        keras.Sequential([keras.Input((5, 3)), layers.SpatialDropout2D(0.1)])  # when built, not at the first step
    with pytest.raises(TypeError, match="seed must be"):
        layers.GaussianDropout(0.5, seed="a")
    with pytest.raises(ValueError, match="AlphaDropout rate must be in"):
        layers.AlphaDropout(1.5)
    pytest.importorskip("h5py")
    model = keras.Sequential([keras.Input((4, 4, 2, 3)), layers.SpatialDropout3D(0.2), layers.Reshape((32, 3)),
                              layers.SpatialDropout1D(0.2)])
    model.save(tmp_path / "m.keras", format="keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        specs = json.loads(archive.read("config.json"))["config"]["layers"]
    # Keras's spatial dropouts take rate, seed, name and dtype only: "trainable" would make Keras refuse the file
    assert all("trainable" not in spec["config"] for spec in specs if spec["class_name"].startswith("Spatial"))


def test_alpha_and_gaussian_dropout_keep_mean_and_variance(rng):
    x = rng.standard_normal((500, 200)).astype(np.float32)  # SELU's fixed point: mean 0, variance 1
    alpha = layers.AlphaDropout(0.2, seed=1)
    y = alpha(x, training=True).numpy()
    assert y.dtype == np.float32 and abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01
    saturated = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * saturated ** 2)) ** -0.5  # Keras's affine correction
    dropped = ~np.isclose(y, a * x - a * saturated * 0.2, atol=1e-5)
    np.testing.assert_allclose(y[dropped], a * saturated - a * saturated * 0.2, rtol=1e-5)
    assert abs(dropped.mean() - 0.2) < 0.01
    gaussian = layers.GaussianDropout(0.3, seed=1)
    noise = gaussian(np.ones((500, 200), np.float32), training=True).numpy()
    assert abs(noise.mean() - 1) < 0.01 and abs(noise.std() - (0.3 / 0.7) ** 0.5) < 0.01
    for layer in (alpha, gaussian):
        np.testing.assert_array_equal(layer(x).numpy(), x)  # the identity in inference
    assert gaussian.get_config()["rate"] == 0.3 and alpha.get_config()["noise_shape"] is None
    for cls in (layers.AlphaDropout, layers.GaussianDropout):
        with pytest.raises(ValueError, match="rate must be in"):
            cls(1.0)


def test_orthogonal_regularizer_matches_keras():
    """Keras 3.15.1 (torch backend) gives 0.021459 (rows) and 0.039936 (columns) for this kernel."""
    w = keras.Tensor(np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32))
    assert float(keras.regularizers.OrthogonalRegularizer(0.1, "rows")(w).item()) == pytest.approx(0.0214590, rel=1e-5)
    assert float(keras.regularizers.OrthogonalRegularizer(0.1, "columns")(w).item()) == pytest.approx(0.0399365,
                                                                                                        rel=1e-5)
    q = np.linalg.qr(np.random.default_rng(1).normal(size=(5, 5)))[0].astype(np.float32)
    assert float(keras.regularizers.OrthogonalRegularizer(1.0)(keras.Tensor(q)).item()) == pytest.approx(0, abs=1e-6)


def test_pad_sequences_and_normalize_as_keras():
    seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]
    assert keras.utils.pad_sequences(seqs, maxlen=4).tolist() == [[0, 1, 2, 3], [0, 0, 4, 5], [7, 8, 9, 10]]
    assert keras.utils.pad_sequences(seqs, maxlen=4, padding="post", truncating="post").tolist() == \
        [[1, 2, 3, 0], [4, 5, 0, 0], [6, 7, 8, 9]]
    assert keras.utils.pad_sequences(seqs).shape == (3, 5)
    np.testing.assert_allclose(keras.utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]])), [[0.6, 0.8], [0, 0]])


@pytest.mark.parametrize("kernel,stride", [(3, 2), (2, 2), (3, 1), (4, 3)])
def test_conv2d_transpose_is_the_adjoint_of_conv2d(kernel, stride, rng):
    """<conv(x), g> = <x, conv_transpose(g)> with the same kernel: the definition of the transposed
    convolution. (In a development check its outputs also equalled Keras 3.15's to 4e-7 for these
    kernels and strides, padding valid and same.)"""
    size = (3 - 1) * stride + kernel  # an input that the strided windows cover exactly
    x = rng.normal(size=(2, size, size, 3))
    k = rng.normal(size=(kernel, kernel, 3, 5))
    y = keras.convolution.conv2d(keras.Tensor(x, dtype="float64"), keras.Tensor(k, dtype="float64"), strides=stride)
    g = rng.normal(size=y.shape)
    layer = layers.Conv2DTranspose(3, kernel, strides=stride, use_bias=False, dtype="float64")
    layer(g)
    layer.set_weights([k])
    np.testing.assert_allclose((y.numpy() * g).sum(), (x * layer(g).numpy()).sum(), rtol=1e-10)
    same = layers.Conv2DTranspose(4, kernel, strides=stride, padding="same")(np.ones((1, 5, 4, 3), np.float32))
    assert same.shape == (1, 5 * stride, 4 * stride, 4)


CONV_TRANSPOSE = np.load(Path(__file__).parent / "keras_reference" / "conv_transpose.npz")


@pytest.mark.parametrize("case", sorted({k.rsplit("/", 1)[0] for k in CONV_TRANSPOSE.files if k.endswith("/y")}))
def test_conv_transpose_with_and_without_output_padding_gives_keras_s_outputs(case):
    name, args = ast.literal_eval(case)
    x = CONV_TRANSPOSE["x"] if name == "Conv2DTranspose" else CONV_TRANSPOSE["x"][:, :, 0]
    layer = getattr(layers, name)(*args)  # Keras's positional order, output_padding fifth
    layer(x)
    layer.set_weights([CONV_TRANSPOSE[f"{case}/kernel"], CONV_TRANSPOSE[f"{case}/bias"]])
    np.testing.assert_allclose(layer(x).numpy(), CONV_TRANSPOSE[f"{case}/y"], rtol=1e-5, atol=1e-5)
    assert layer.get_config()["output_padding"] == (None if args[-1] is None else
                                                    list(np.broadcast_to(args[-1], (layer.rank,))))


def test_conv_transpose_configs_saved_before_output_padding_still_load():
    config = layers.Conv2DTranspose(2, 3, strides=2).get_config()
    assert "groups" not in config and layers.Conv2DTranspose.from_config({**config, "groups": 1}).strides == (2, 2)
    with pytest.raises(ValueError, match="takes no groups"):
        layers.Conv1DTranspose(2, 3, groups=2)


def test_conv_transpose_output_padding_is_checked():
    with pytest.raises(ValueError, match="output_padding .* must be smaller than strides"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="output_padding must be an int >= 0 or a pair of them"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=(1, 1, 1))


CATEGORIES = {"flat": [3, 2, 0, 1], "pairs": [[0, 1], [0, 0], [1, 2], [3, 1]], "column": [[1], [3]],
              "cube": [[[0, 1], [2, 2]], [[3, 3], [1, 0]]]}
KERAS_ENCODINGS = {  # Keras 3.15.1's CategoryEncoding(4, mode) of CATEGORIES (one_hot: np.eye's rows, as Keras's)
    ("multi_hot", "flat"): [1, 1, 1, 1], ("count", "flat"): [1, 1, 1, 1],
    ("multi_hot", "pairs"): [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]],
    ("count", "pairs"): [[1, 1, 0, 0], [2, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]],
    ("multi_hot", "column"): [[0, 1, 0, 0], [0, 0, 0, 1]], ("count", "column"): [[0, 1, 0, 0], [0, 0, 0, 1]],
    ("multi_hot", "cube"): [[[1, 0, 1, 0], [0, 1, 1, 0]], [[0, 1, 0, 1], [1, 0, 0, 1]]],
    ("count", "cube"): [[[1, 0, 1, 0], [0, 1, 1, 0]], [[0, 1, 0, 1], [1, 0, 0, 1]]],
    ("one_hot", "flat"): np.eye(4)[CATEGORIES["flat"]], ("one_hot", "pairs"): np.eye(4)[CATEGORIES["pairs"]],
    ("one_hot", "column"): np.eye(4)[[1, 3]], ("one_hot", "cube"): np.eye(4)[CATEGORIES["cube"]]}


@pytest.mark.parametrize("mode,case", sorted(KERAS_ENCODINGS))
def test_category_encoding_gives_keras_s_outputs(mode, case):
    layer = layers.CategoryEncoding(4, mode)
    y = layer(np.array(CATEGORIES[case]))
    assert y.dtype == np.float32 and y.shape == layer.compute_output_shape(np.shape(CATEGORIES[case]))
    np.testing.assert_array_equal(y.numpy(), KERAS_ENCODINGS[mode, case])


def test_category_encoding_weights_checks_and_training(rng):
    counts = layers.CategoryEncoding(4, "count")
    weighted = counts(np.array([[0, 1, 1], [2, 2, 3]]), count_weights=np.array([[0.5, 1, 2], [1, 1, 3]]))
    np.testing.assert_array_equal(weighted.numpy(), [[0.5, 3, 0, 0], [0, 0, 2, 3]])  # Keras 3.15.1's
    with pytest.raises(ValueError, match=r"takes categories in \[0, 4\), got values from 1 to 5"):
        layers.CategoryEncoding(4)(np.array([[5, 1]]))
    with pytest.raises(ValueError, match="count_weights in 'count' mode only"):
        layers.CategoryEncoding(4)(np.array([[1]]), count_weights=np.ones((1, 1)))
    for bad in (0, None, 2.5):
        with pytest.raises(ValueError, match="num_tokens must be a positive int"):
            layers.CategoryEncoding(bad)
    assert layers.CategoryEncoding(3, "binary").output_mode == "multi_hot"  # Keras's old name
    def build():
        inputs = keras.Input(shape=(3,), dtype="int64")
        return keras.Model(inputs, layers.Dense(2, activation="softmax")(layers.CategoryEncoding(5, "count")(inputs)))

    # each new batch is encoded afresh in the replayed step: training gives the eager numbers
    assert_plan_equals_eager(build, "sparse_categorical_crossentropy", rng.integers(0, 5, (12, 3)),
                             rng.integers(0, 2, 12))
    clone = layers.CategoryEncoding.from_config(layers.CategoryEncoding(5, "count").get_config())
    assert (clone.num_tokens, clone.output_mode) == (5, "count")


def test_discretization_bins_as_keras():
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    bins = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])(x)
    assert bins.dtype == np.int32
    np.testing.assert_array_equal(bins.numpy(), [[0, 2, 3, 1], [1, 3, 2, 1]])  # Keras 3.15.1's
    counts = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode="count")(x)
    np.testing.assert_array_equal(counts.numpy(), [[1, 1, 1, 1], [0, 2, 1, 1]])


def test_discretization_adapt_learns_keras_s_approximate_quantiles():
    generator = np.random.default_rng(0)
    batches = [generator.standard_normal((200, 3)).astype(np.float32),
               generator.exponential(size=(57,)).astype(np.float32),
               generator.integers(0, 5, (300,)).astype(np.float32)]
    # Keras 3.15.1's summarize/merge_summaries/get_bin_boundaries on the same batches (its adapt needs TF here)
    expected = {(4, 0.01): [-0.3035258948802948, 0.38424068689346313, 1.4218688011169434],
                (7, 0.05): [-0.755922257900238, -0.07834048569202423, 0.20053218305110931, 0.7734372615814209,
                            1.511977195739746, 3.016423463821411],
                (3, 0.5): [2.0]}
    for (num_bins, epsilon), boundaries in expected.items():
        layer = layers.Discretization(num_bins=num_bins, epsilon=epsilon)
        layer.adapt(iter(batches))
        assert layer.bin_boundaries == boundaries
    clone = layers.Discretization.from_config(layer.get_config())
    assert (clone.bin_boundaries, clone.num_bins) == ([2.0], 3)  # an adapted layer's config keeps both


def test_category_encoding_count_weights_are_an_input_of_the_step_with_a_gradient(rng):
    losses = []
    for eager in (False, True):  # the replayed step takes each batch's weights, as eager calls do
        ids, weights = keras.Input((3,), dtype="int32"), keras.Input((3,))
        counts = layers.CategoryEncoding(5, "count")(ids, count_weights=weights)
        model = keras.Model([ids, weights], layers.Dense(1, kernel_initializer="ones", use_bias=False)(counts))
        model.compile(keras.optimizers.SGD(1e-9), "mse", run_eagerly=eager)
        losses.append([model.train_on_batch([np.array([[1, 2, 3]]), np.full((1, 3), w, np.float32)], np.zeros((1, 1)))
                       for w in (1, 0, 0, 1)])
    assert losses == [[9, 0, 0, 9]] * 2
    weights = keras.Tensor(np.array([[0.5, 1, 2], [1, 1, 3]], np.float32), requires_grad=True)
    counted = layers.CategoryEncoding(4, "count")(np.array([[0, 1, 1], [2, 2, 3]]), count_weights=weights)
    (counted * np.arange(8, dtype=np.float32).reshape(2, 4)).sum().backward()
    np.testing.assert_array_equal(weights.grad, [[0, 1, 1], [6, 6, 7]])  # the output gradient at each category
    assert layers.CategoryEncoding(4, "count", dtype="int32")(np.array([[1, 2]])).dtype == np.int32  # as Keras
    np.testing.assert_array_equal(layers.CategoryEncoding(3)([[1, 2], [0, 0]]).numpy(), [[0, 1, 1], [1, 0, 0]])


def test_discretization_before_adapt_and_adapting_on_a_list_of_batches(tmp_path):
    inputs = keras.Input((3,))
    assert layers.Discretization(num_bins=4, output_mode="multi_hot")(inputs).shape == (None, 4)  # Keras's width
    x = np.random.default_rng(0).normal(size=500)
    layer = layers.Discretization(num_bins=4, epsilon=0.03)
    layer.adapt(x)
    # Keras 3.15.1's summarize/merge_summaries/get_bin_boundaries on the same data
    assert layer.bin_boundaries == [-0.7227416634559631, -0.08998871594667435, 0.6463289856910706]
    layer.adapt([np.arange(10.0), np.arange(5.0)])  # a list is a sequence of batches, as in Keras
    assert layer.bin_boundaries == [1.0, 3.0, 5.25]
    pytest.importorskip("h5py")
    model = keras.Sequential([keras.Input((3,)), layers.Discretization(bin_boundaries=[0.0, 1.0])])
    model.save(tmp_path / "d.keras", format="keras")
    with zipfile.ZipFile(tmp_path / "d.keras") as archive:
        config = json.loads(archive.read("config.json"))["config"]["layers"][0]["config"]
    assert "trainable" not in config  # Keras's Discretization takes no trainable: it would refuse the file


def test_discretization_checks_and_training(rng):
    for kwargs in ({}, {"bin_boundaries": [0.0], "num_bins": 2}):
        with pytest.raises(ValueError, match="takes bin_boundaries or num_bins"):
            layers.Discretization(**kwargs)
    with pytest.raises(ValueError, match="must be sorted"):
        layers.Discretization(bin_boundaries=[1.0, 0.0])
    with pytest.raises(ValueError, match="cannot adapt"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(np.ones(3))
    with pytest.raises(ValueError, match="no bin boundaries yet: call adapt"):
        layers.Discretization(num_bins=2)(np.ones((2, 1)))

    def build():
        inputs = keras.Input(shape=(3,))
        binned = layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5], output_mode="multi_hot")(inputs)
        return keras.Model(inputs, layers.Dense(2, activation="softmax")(binned))

    # each new batch is binned afresh in the replayed step: training gives the eager numbers
    assert_plan_equals_eager(build, "sparse_categorical_crossentropy", rng.normal(size=(12, 3)), rng.integers(0, 2, 12))


def test_center_crop_and_random_flip(rng):
    x = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5, 1)
    np.testing.assert_array_equal(layers.CenterCrop(2, 3)(x).numpy(), x[:, 1:3, 1:4])
    flip = layers.RandomFlip("horizontal")
    np.testing.assert_array_equal(flip(x, training=False).numpy(), x)  # inference: unchanged
    keras.set_seed(3)
    out = flip(np.repeat(x, 8, axis=0), training=True).numpy()
    mirrored = [np.array_equal(img, np.repeat(x, 8, axis=0)[i][:, ::-1]) for i, img in enumerate(out)]
    kept = [np.array_equal(img, np.repeat(x, 8, axis=0)[i]) for i, img in enumerate(out)]
    assert all(m or k for m, k in zip(mirrored, kept)) and any(mirrored) and any(kept)


def test_batch_normalization_axis_and_keras_weight_layout(rng):
    """Keras's layout: gamma (with scale), beta (with center), moving_mean, moving_variance; axis=1 for
    channels_first normalizes each channel like axis=-1 on the transposed images."""
    bn = layers.BatchNormalization(center=False)
    bn(np.ones((2, 3), np.float32))
    assert [w.name.split("/")[-1] for w in bn.weights] == ["gamma", "moving_mean", "moving_variance"]
    x = rng.normal(2, 3, (4, 3, 5, 5)).astype(np.float32)
    first = layers.BatchNormalization(axis=1)(x, training=True).numpy()
    last = layers.BatchNormalization(axis=-1)(x.transpose(0, 2, 3, 1), training=True).numpy()
    np.testing.assert_allclose(first, last.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)


def test_get_file_split_dataset_and_progbar(tmp_path, capsys):
    import hashlib

    folder = tmp_path / "datasets"
    folder.mkdir()
    (folder / "data.bin").write_bytes(b"scratchgrad")
    digest = hashlib.sha256(b"scratchgrad").hexdigest()
    assert keras.utils.get_file("data.bin", file_hash=digest, cache_dir=tmp_path) == str(folder / "data.bin")
    with pytest.raises(ValueError, match="does not match"):
        keras.utils.get_file("data.bin", file_hash="0" * 64, cache_dir=tmp_path)
    x, y = np.arange(10), np.arange(10) * 2
    (xl, yl), (xr, yr) = keras.utils.split_dataset((x, y), left_size=0.8)
    assert len(xl) == 8 and len(xr) == 2 and (yl == 2 * xl).all()
    bar = keras.utils.Progbar(3, verbose=2)
    for i in range(3):
        bar.update(i + 1, [("loss", 0.5)])
    assert "loss" in capsys.readouterr().out


def test_dilated_grouped_depthwise_and_separable_convolutions():
    """Keras's weight shapes and parameter counts (their outputs equalled Keras 3.15's in a development
    check: dilated, grouped, depthwise with depth_multiplier 2, separable)."""
    x = np.ones((1, 7, 6, 4), np.float32)
    dilated = layers.Conv2D(5, 3, dilation_rate=2)
    assert dilated(x).shape == (1, 3, 2, 5)  # the 3x3 kernel spans 5x5
    grouped = layers.Conv2D(6, 3, groups=2)
    grouped(x)
    assert grouped.kernel.shape == (3, 3, 2, 6)
    depthwise = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    assert depthwise(x).shape == (1, 7, 6, 8) and depthwise.count_params() == 3 * 3 * 4 * 2 + 8
    separable = layers.SeparableConv2D(5, 3, depth_multiplier=2)
    assert separable(x).shape == (1, 5, 4, 5) and separable.count_params() == 72 + 40 + 5
    assert [w.name for w in separable.weights] == [f"{separable.name}/{n}" for n in ("depthwise_kernel",
                                                                                   "pointwise_kernel", "bias")]


def test_lambda_layers_save_only_named_functions(tmp_path):
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.Lambda(keras.ops.square)(inputs))
    model.compile("sgd", "mse")
    model.save(tmp_path / "square.sg")
    np.testing.assert_allclose(keras.load_model(tmp_path / "square.sg").predict(np.full((1, 3), 3.0)), [[9, 9, 9]])
    anonymous = keras.Model(inputs, layers.Lambda(lambda x: x * 2.0)(inputs))
    anonymous.compile("sgd", "mse")
    with pytest.raises(ValueError, match="cannot be saved"):
        anonymous.save(tmp_path / "code.sg")
    assert not (tmp_path / "code.sg").exists()
    with pytest.raises(ValueError, match="not a keras.ops function"):
        layers.Lambda.from_config({"function": "os:system"})


def test_timeseries_windows_and_image_helpers(tmp_path):
    data = np.arange(10)
    batches = keras.utils.timeseries_dataset_from_array(data, data * 10, sequence_length=3, sampling_rate=2,
                                                        batch_size=2)
    x, y = batches[0]
    assert x.tolist() == [[0, 2, 4], [1, 3, 5]] and y.tolist() == [0, 10]  # Keras's windows and targets
    assert sum(len(batches[i][0]) for i in range(len(batches))) == 10 - 4
    assert [len(x) for x, _ in batches] == [2, 2, 2]  # a for loop stops at the end
    assert batches[-1][1].tolist() == batches[2][1].tolist()
    with pytest.raises(IndexError, match="batch 3 of a dataset of 3 batches"):
        batches[3]
    pytest.importorskip("PIL")
    image = np.linspace(0, 255, 4 * 6 * 3).reshape(4, 6, 3).astype(np.uint8)
    keras.utils.save_img(tmp_path / "x.png", image, scale=False)
    loaded = keras.utils.img_to_array(keras.utils.load_img(tmp_path / "x.png"))
    np.testing.assert_array_equal(loaded, image)
    assert keras.utils.img_to_array(keras.utils.load_img(tmp_path / "x.png", "grayscale", (2, 3))).shape == (2, 3, 1)
