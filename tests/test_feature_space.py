"""FeatureSpace (keras.utils.FeatureSpace) against Keras 3.15.1 with TensorFlow (tests/keras_reference/
lookup_layers.json, made by make_lookup_reference.py), and as keras.io's structured-data example uses it."""
import json
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L

FeatureSpace = sg.utils.FeatureSpace
REFERENCE = json.loads((Path(__file__).parent / "keras_reference" / "lookup_layers.json").read_text())["feature_space"]
DATA = {name: np.array(column) for name, column in REFERENCE["data"].items()}
FEATURES = {"age": "float_discretized", "fare": "float_normalized", "sex": "integer_categorical",
            "city": "string_categorical", "code": "integer_hashed", "tag": "string_hashed", "w": "float",
            "fee": "float_rescaled"}


def adapted(**options):
    space = FeatureSpace(FEATURES, crosses=[("sex", "city"), ("age", "sex")], num_discretization_bins=5,
                         hashing_dim=8, crossing_dim=16, **options)
    space.adapt(DATA)
    return space


def test_adapt_and_encoding_equal_keras():
    space = adapted()
    assert space.preprocessors["age"].bin_boundaries == REFERENCE["bin_boundaries"]  # Keras's batches of 32
    assert space.preprocessors["city"].get_vocabulary() == REFERENCE["city_vocabulary"]
    out = space({name: column[:10] for name, column in DATA.items()}).numpy()
    np.testing.assert_allclose(out, REFERENCE["concat"], atol=1e-6)  # Normalization's rounding: 5e-7 apart


def test_keras_io_structured_data_recipe():
    """keras.io's "Structured data classification with FeatureSpace": a training model on the encoded
    features, and an inference model from raw columns, through the same layers."""
    sg.set_seed(0)
    space = adapted()
    inputs, encoded = space.get_inputs(), space.get_encoded_features()
    hidden = L.Dropout(0.5)(L.Dense(32, activation="relu")(encoded))
    predictions = L.Dense(1, activation="sigmoid")(hidden)
    training_model = sg.Model(encoded, predictions)  # its input: the encoded features (a layer's output)
    inference_model = sg.Model(inputs, predictions)
    training_model.compile(sg.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    x = space(DATA)
    y = (DATA["fare"] > np.median(DATA["fare"])).astype(np.float32)
    history = training_model.fit(x, y, epochs=30, batch_size=16, verbose=0).history
    assert history["accuracy"][-1] > 0.9
    raw = {name: column[:5] for name, column in DATA.items()}  # 1-D columns for inputs of shape (1,), as Keras
    np.testing.assert_allclose(inference_model.predict(raw, verbose=0), training_model.predict(x[:5], verbose=0),
                               rtol=1e-5)
    one = {name: column[0] for name, column in DATA.items()}
    assert space(one).shape == (x.shape[1],)  # one row of scalars: one vector


def test_dict_mode_with_integer_codes():
    space = FeatureSpace({"s": FeatureSpace.string_categorical(output_mode="int"),
                          "i": FeatureSpace.integer_categorical(output_mode="int", num_oov_indices=0)},
                         crosses=[FeatureSpace.cross(("s", "i"), crossing_dim=32, output_mode="int")],
                         output_mode="dict")
    space.adapt({"s": ["a", "b", "b"], "i": [1, 2, 2]})
    out = space({"s": ["b", "z"], "i": [2, 1]})
    assert sorted(out) == ["i", "s", "s_X_i"]
    np.testing.assert_array_equal(out["s"].numpy(), [[1], [0]])  # b is the most frequent; z is out of vocabulary
    np.testing.assert_array_equal(out["i"].numpy(), [[0], [1]])
    assert out["s_X_i"].dtype == np.int64 and ((0 <= out["s_X_i"].numpy()) & (out["s_X_i"].numpy() < 32)).all()


def test_a_layer_of_ones_own_and_given_statistics():
    space = FeatureSpace({"x": FeatureSpace.feature("float32", L.Normalization(mean=2.0, variance=4.0), "float"),
                          "t": FeatureSpace.feature("string", L.TextVectorization(output_mode="tf_idf"), "float")})
    space.adapt({"x": [0.0, 1.0], "t": ["a b", "a"]})  # the Normalization keeps the statistics it was given
    np.testing.assert_allclose(space({"x": [4.0], "t": ["b"]}).numpy()[:, -1:], [[1.0]])  # sorted: t, then x


@pytest.mark.parametrize("make, match", [
    (lambda: FeatureSpace({}), "needs its features"),
    (lambda: FeatureSpace({"a": "float_categorical"}), "unknown feature type 'float_categorical'"),
    (lambda: FeatureSpace({"a": "float"}, crosses=[("a", "b")]), r"names features \['b'\]"),
    (lambda: FeatureSpace({"a": "float"}, output_mode="list"), "output_mode.*'list'"),
    (lambda: FeatureSpace({"a": "string_categorical"}).get_encoded_features(), "adapt"),
    (lambda: FeatureSpace({"a": "string_categorical"}).adapt({"b": ["x"]}), r"no column 'a'"),
    (lambda: FeatureSpace({"a": FeatureSpace.string_categorical(output_mode="int")}).adapt({"a": ["x"]}),
     "cannot concatenate feature 'a'"),
    (lambda: FeatureSpace({"a": "float"}).adapt([1.0]), "dict of columns"),
])
def test_errors_name_what_is_wrong(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_a_pandas_dataframe_is_a_table():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({name: DATA[name] for name in FEATURES})
    space = adapted()
    np.testing.assert_array_equal(space(frame.head(10)).numpy(), space({n: c[:10] for n, c in DATA.items()}).numpy())


def test_one_feature_large_ids_and_columns_of_rows_as_in_keras():
    """Found by a second read against Keras with TensorFlow; each number is Keras's."""
    single = FeatureSpace({"f": "float_normalized"})
    single.adapt({"f": np.arange(5.0)})
    assert single({"f": np.arange(7.0)}).shape == (7, 1) and single.built
    ids = np.array([3000000001, 3000000002, 5, 3000000001, 2**40 + 7])  # int64 ids stay whole
    space = FeatureSpace({"i": "integer_categorical", "h": FeatureSpace.integer_hashed(1000, output_mode="int")},
                         output_mode="dict")
    space.adapt({"i": ids, "h": ids})
    assert space.preprocessors["i"].get_vocabulary() == [-1, 3000000001, 1099511627783, 3000000002, 5]
    np.testing.assert_array_equal(space({"i": ids, "h": ids})["h"].numpy().ravel(), [285, 727, 971, 285, 574])
    rows = FeatureSpace({"x": FeatureSpace.float_discretized(num_bins=10)})
    rows.adapt({"x": np.array(REFERENCE["column_of_rows"])})  # (300, 1): Keras adapts it a row at a time
    np.testing.assert_allclose(rows.preprocessors["x"].bin_boundaries, REFERENCE["column_of_rows_bin_boundaries"],
                               rtol=1e-6)
    scalars = FeatureSpace({"x": FeatureSpace.float_discretized(num_bins=10)})
    scalars.adapt({"x": np.array(REFERENCE["column_of_rows"])[:, 0]})  # 32 at a time: other bins
    assert scalars.preprocessors["x"].bin_boundaries != rows.preprocessors["x"].bin_boundaries
