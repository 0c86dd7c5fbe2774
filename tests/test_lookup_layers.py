"""StringLookup, IntegerLookup, Hashing, HashedCrossing (and TextVectorization, built on StringLookup) against
Keras 3.15.1 with TensorFlow: tests/keras_reference/lookup_layers.json holds Keras's vocabularies, indices, hashed
buckets, encodings and configs (made by make_lookup_reference.py), and TensorFlow's two string hashes
of texts of every length to 200 bytes."""
import json
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad.autograd import record
from scratchgrad.hashing import hash_bucket
from scratchgrad.models import Sequential
from scratchgrad.plan import StepPlan

REFERENCE = json.loads((Path(__file__).parent / "keras_reference" / "lookup_layers.json").read_text())
CASES = REFERENCE["cases"]
VOCABULARY = ["a", "b", "c", "d"]


def made(case):
    """The case's layer, from Keras's keyword arguments (as a config holds them), adapted or given as Keras's was."""
    layer = getattr(L, case["layer"]).from_config(case["kwargs"])
    setup = case["setup"]
    if "adapt" in setup:
        layer.adapt(np.array(setup["adapt"]))
    if "adapt_batches" in setup:  # a stream of 1-D batches: each batch one document
        layer.adapt(iter([np.array(batch) for batch in setup["adapt_batches"]]))
    if "set_vocabulary" in setup:
        layer.set_vocabulary(*setup["set_vocabulary"])
    return layer


def inputs_of(case):
    """The case's inputs: a list of features for HashedCrossing, else one array."""
    return [np.array(f) for f in case["inputs"]] if case["setup"].get("cross") else np.array(case["inputs"])


def case_id(case):
    return f"{case['layer']}-{json.dumps(case['kwargs'])}-{'+'.join(case['setup'])}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_outputs_and_vocabularies_equal_keras(case):
    layer = made(case)
    out = layer(inputs_of(case)).numpy()
    assert list(out.shape) == case["shape"]
    if out.dtype.kind == "U":  # an inverse StringLookup's terms
        assert out.reshape(-1).tolist() == case["output"]
    else:  # Keras's one_hot, multi_hot and count arrays are int64; ours are float32, as its symbolic output says
        np.testing.assert_allclose(out.reshape(-1), case["output"], rtol=1e-6)
        assert out.dtype == (np.int64 if case["dtype"] == "<dtype: 'int64'>" and "output_mode" not in
                             case["kwargs"] else out.dtype)
    if "vocabulary" in case:
        assert layer.get_vocabulary() == case["vocabulary"]
        assert layer.vocabulary_size() == case["vocabulary_size"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_configs_hold_keras_keys_and_values(case):
    ours, keras = made(case).get_config(), case["config"]
    assert set(keras) - {"dtype"} <= set(ours)
    for key in set(keras) - {"dtype", "vocabulary", "idf_weights", "ngrams"}:  # the vocabulary: below
        assert ours[key] == keras[key], key
    clone = type(made(case)).from_config(json.loads(json.dumps(ours)))  # as a saved file holds it
    np.testing.assert_array_equal(clone(inputs_of(case)).numpy(), made(case)(inputs_of(case)).numpy())


def test_our_config_keeps_a_learned_vocabulary_where_keras_writes_a_file():
    layer = L.StringLookup(output_mode="tf_idf")
    layer.adapt([["b", "a"], ["a", "a"]])  # two documents: idf log(1 + 2 / 3) for a, log(1 + 2 / 2) for b
    config = layer.get_config()
    assert config["vocabulary"] == ["[UNK]", "a", "b"] and config["vocabulary_size"] == 3
    idf = [np.log(5 / 3), np.log(2)]
    np.testing.assert_allclose(config["idf_weights"], [np.mean(idf)] + idf, rtol=1e-6)
    assert L.StringLookup.from_config(config).get_vocabulary() == ["[UNK]", "a", "b"]


def test_hashes_equal_tensorflows():
    hashes = REFERENCE["hashes"]
    buckets = 2**63 - 1
    assert [hash_bucket(text, buckets) for text in hashes["texts"]] == hashes["fast"]
    assert [hash_bucket(text, buckets, hashes["key"]) for text in hashes["texts"]] == hashes["strong"]


# ---- behaviour beyond the reference --------------------------------------------------------------
def test_inverse_lookup_undoes_the_lookup():
    forward = L.StringLookup(vocabulary=VOCABULARY)
    inverse = L.StringLookup(vocabulary=forward.get_vocabulary(), invert=True)
    texts = np.array([["a", "c"], ["z", "d"]])
    assert inverse(forward(texts)).numpy().tolist() == [["a", "c"], ["[UNK]", "d"]]
    integers = L.IntegerLookup(vocabulary=[7, 3, 9], mask_token=0)
    back = L.IntegerLookup(vocabulary=integers.get_vocabulary(), mask_token=0, invert=True)
    np.testing.assert_array_equal(back(integers([[7, 0, 5, 9]])).numpy(), [[7, 0, -1, 9]])


def test_one_value_gives_one_index_without_the_batch_axis():
    layer = L.StringLookup(vocabulary=VOCABULARY)
    assert layer("c").numpy() == 3 and layer("c").shape == ()
    np.testing.assert_array_equal(L.IntegerLookup(vocabulary=[5, 6], output_mode="multi_hot")(6).numpy(), [0, 0, 1])


def test_vocabulary_from_a_file(tmp_path):
    path = tmp_path / "vocabulary.txt"
    path.write_text("사과\nbanana\ncherry\n", encoding="utf-8")
    layer = L.StringLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == ["[UNK]", "사과", "banana", "cherry"]
    np.testing.assert_array_equal(layer(["cherry", "사과", "kiwi"]).numpy(), [3, 1, 0])
    with pytest.raises(ValueError, match="file path there is refused"):
        L.StringLookup.from_config({**layer.get_config(), "vocabulary": str(path)})


def test_values_as_keras_takes_them():
    """Found by a second read against Keras with TensorFlow: each of these is Keras's answer."""
    np.testing.assert_array_equal(L.IntegerLookup(vocabulary=[10, 20, 30])(np.array([10.7, 20.2, -3.5])).numpy(),
                                  [1, 2, 0])  # a float input (a float keras.Input) is truncated, as Keras casts it
    hashing = L.Hashing(7, mask_value="")
    np.testing.assert_array_equal(hashing(np.array([b"", b"a", b"b"])).numpy(), hashing(["", "a", "b"]).numpy())
    np.testing.assert_array_equal(hashing(np.array(["", "a"], dtype=object)).numpy(), hashing(["", "a"]).numpy())
    np.testing.assert_array_equal(L.Hashing(7)(np.array([True, False])).numpy(),  # TensorFlow's as_string
                                  L.Hashing(7)(["true", "false"]).numpy())
    np.testing.assert_array_equal(L.StringLookup(vocabulary=["a"], mask_token=b"")(["", "a", "b"]).numpy(), [0, 2, 1])
    layer = L.StringLookup(output_mode="tf_idf", max_tokens=5, pad_to_max_tokens=True)
    layer.adapt(["a", "b", "a"])  # Keras's idf_weights variable, padded: [UNK] gets the mean
    idf = [np.log(1 + 3 / 3), np.log(1 + 3 / 2)]
    np.testing.assert_allclose(layer.idf_weights.numpy(), [np.mean(idf), *idf, 0, 0], rtol=1e-6)


@pytest.mark.parametrize("mode, shape", [("int", (2, 0)), ("count", (2, 3)), ("tf_idf", (2, 3))])
def test_texts_without_a_token_give_empty_rows_or_zero_vectors(mode, shape):
    options = {"idf_weights": [1.0, 2.0]} if mode == "tf_idf" else {}
    out = L.TextVectorization(vocabulary=["a", "b"], output_mode=mode, **options)(np.array(["!!!", "  "])).numpy()
    assert out.shape == shape and not out.any()


def test_a_vocabulary_file_is_all_terms_and_integers_are_parsed(tmp_path):
    path = tmp_path / "terms.txt"
    path.write_text("[UNK]\na\n", encoding="utf-8")
    assert L.StringLookup(vocabulary=str(path)).get_vocabulary() == ["[UNK]", "[UNK]", "a"]  # as Keras reads one
    path.write_text("5\n6\n", encoding="utf-8")
    assert L.IntegerLookup(vocabulary=str(path)).get_vocabulary() == [-1, 5, 6]


def test_adapt_reads_a_stream_of_batches_up_to_steps():
    batches = [np.array(["a", "b"]), np.array(["b", "c"]), np.array(["c", "c", "d"])]
    layer = L.StringLookup()
    layer.adapt(iter(batches), steps=2)
    assert layer.get_vocabulary() == ["[UNK]", "b", "c", "a"]
    layer.adapt(iter(batches))  # adapting again learns afresh, as in Keras
    assert layer.get_vocabulary() == ["[UNK]", "c", "b", "d", "a"]


def test_a_vector_output_keeps_its_width():
    layer = L.IntegerLookup(vocabulary=[1, 2, 3], output_mode="count")
    with pytest.raises(RuntimeError, match="it was 4, the new one has 3"):
        layer.set_vocabulary([1, 2])
    layer.set_vocabulary([4, 5, 6])
    np.testing.assert_array_equal(layer([[4, 4, 9]]).numpy(), [[1, 2, 0, 0]])


@pytest.mark.parametrize("make, values, error, match", [
    (lambda: L.StringLookup(vocabulary=VOCABULARY, num_oov_indices=0), ["a", "zz"], ValueError,
     r"num_oov_indices=0.*\['zz'\]"),
    (lambda: L.IntegerLookup(vocabulary=[1, 2]), np.array(["1"]), TypeError, "integers.*<U1"),
    (lambda: L.IntegerLookup(vocabulary=[1, 2]), np.array([np.nan]), ValueError, "NaN"),
    (lambda: L.StringLookup(vocabulary=VOCABULARY), np.array([1.0]), TypeError, "strings.*float64"),
    (lambda: L.StringLookup(vocabulary=VOCABULARY, invert=True), ["a"], TypeError, "integers"),
    (lambda: L.StringLookup(output_mode="multi_hot"), ["a"], RuntimeError, "multi_hot mode needs its vocabulary"),
    (lambda: L.StringLookup(vocabulary=VOCABULARY, output_mode="count"), np.array([[["a"]]]), ValueError,
     r"shape \(1, 1, 1\)"),
    (lambda: L.Hashing(3), np.array([1 + 2j]), TypeError, "strings or numbers.*complex"),
    (lambda: L.Hashing(3, mask_value=2.0), np.array([1, 2]), ValueError, "mask_value 2.0.*integer values"),
    (lambda: L.Hashing(3, mask_value="1"), np.array([1, 2]), ValueError, "mask_value '1'.*integer values"),
])
def test_bad_inputs(make, values, error, match):
    with pytest.raises(error, match=match):
        make()(values)


@pytest.mark.parametrize("make, match", [
    (lambda: L.StringLookup(max_tokens=1), "max_tokens.*> 1"),
    (lambda: L.StringLookup(pad_to_max_tokens=True, output_mode="count"), "pad_to_max_tokens=True needs max_tokens"),
    (lambda: L.StringLookup(num_oov_indices=-1), "num_oov_indices.*-1"),
    (lambda: L.StringLookup(output_mode="one-hot"), "output_mode.*'one-hot'"),
    (lambda: L.StringLookup(invert=True, output_mode="count"), "invert=True.*'count'"),
    (lambda: L.StringLookup(sparse=True), "sparse=True"),
    (lambda: L.StringLookup(idf_weights=[1.0]), "tf_idf mode only"),
    (lambda: L.StringLookup(output_mode="tf_idf", vocabulary=["a"]), "idf_weights must be given exactly"),
    (lambda: L.StringLookup(output_mode="tf_idf", vocabulary=["a", "b"], idf_weights=[1.0]), r"shape \(2,\)"),
    (lambda: L.StringLookup(encoding="no-such-codec"), "encoding.*'no-such-codec'"),
    (lambda: L.StringLookup(vocabulary=["a", "b", "a"]), r"repeats terms \['a'\]"),
    (lambda: L.StringLookup(vocabulary=["a", "[M]"], mask_token="[M]"), "mask token '\\[M\\]' may only lead"),
    (lambda: L.StringLookup(vocabulary=["a", "[UNK]"], invert=True), "OOV token"),
    (lambda: L.StringLookup(vocabulary=VOCABULARY, max_tokens=4), "5 terms.*max_tokens=4"),
    (lambda: L.StringLookup(vocabulary=[]), "non-empty"),
    (lambda: L.StringLookup(oov_method="md5"), "oov_method.*'md5'"),
    (lambda: L.StringLookup(salt=[1, 2, 3]), r"salt.*\[1, 2, 3\]"),
    (lambda: L.IntegerLookup(salt=1), "salt seeds the hash of oov_method='farmhash'"),
    (lambda: L.IntegerLookup(vocabulary_dtype="int32"), "vocabulary_dtype must be 'int64'"),
    (lambda: L.StringLookup(mask_token=0), "mask_token must be a string or None, got 0"),
    (lambda: L.IntegerLookup(oov_token="x"), "oov_token must be an integer or None, got 'x'"),
    (lambda: L.StringLookup(vocabulary=["a"]).adapt(["b"]), "cannot be adapted"),
    (lambda: L.Hashing(0), "num_bins.*positive.*0"),
    (lambda: L.Hashing(3, output_mode="tf_idf"), "output_mode.*'tf_idf'"),
    (lambda: L.Hashing(3, dtype="float32"), "int32 or int64"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---- inside a model ------------------------------------------------------------------------------
def category_model():
    inputs = sg.Input(shape=(2,), dtype=str)
    colors = L.StringLookup(vocabulary=["red", "green", "blue"], output_mode="multi_hot")(inputs)
    return sg.Model(inputs, L.Dense(1, activation="sigmoid")(colors))


def test_a_model_trains_on_raw_strings_and_saves_its_vocabulary(tmp_path):
    model = category_model()
    assert model.layers[1].output.shape == (None, 4) and model.layers[1].output.dtype == np.float32
    x = np.array([["red", "blue"], ["green", "green"], ["pink", "red"], ["blue", "blue"]] * 8)
    y = np.array([1, 0, 1, 0] * 8, dtype=np.float32)
    model.compile("adam", "binary_crossentropy")
    losses = model.fit(x, y, epochs=20, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    for name in ("model.safetensors", "model.keras"):
        model.save(tmp_path / name)
        loaded = sg.models.load_model(tmp_path / name)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_a_recorded_step_looks_up_each_new_batch():
    """The trainer replays a recorded step on new arrays: the lookup must be redone in it, not baked in."""
    model = Sequential([L.IntegerLookup(vocabulary=[10, 20, 30], output_mode="count"), L.Dense(2)])
    first = sg.Tensor(np.array([[10, 10], [20, 99]]))
    with record() as recording:
        output = model(first)
    plan = StepPlan(recording, [first], [output], model.weights, model.trainable_weights)
    new = np.array([[30, 30], [99, 10]])
    np.testing.assert_allclose(plan.forward([new])[0], model(sg.Tensor(new)).numpy(), rtol=1e-6)


def test_hashing_buckets_integer_ids_into_an_embedding():
    model = Sequential([L.Hashing(16, mask_value=0), L.Embedding(16, 3, mask_zero=True), L.GlobalAveragePooling1D()])
    out = model(np.array([[5, 123456789, 0, 0]])).numpy()
    assert out.shape == (1, 3)
    buckets = L.Hashing(16, mask_value=0)(np.array([[5, 123456789, 0, 0]])).numpy()
    assert buckets[0, 2] == buckets[0, 3] == 0 and (buckets[0, :2] > 0).all()


def test_a_feature_cross_trains_in_a_two_input_model_and_saves(tmp_path):
    sg.set_seed(0)
    colors, sizes = sg.Input(shape=(), dtype="string"), sg.Input(shape=(), dtype="int64")
    crossed = L.HashedCrossing(16, output_mode="one_hot")([colors, sizes])
    model = sg.Model([colors, sizes], L.Dense(1, activation="sigmoid")(crossed))
    x = [np.array(["red", "red", "blue", "blue"] * 4), np.array([1, 2, 1, 2] * 4)]
    y = np.array([1, 0, 0, 1] * 4, dtype=np.float32)  # an exclusive or: no single feature predicts it
    model.compile(sg.optimizers.Adam(0.1), "binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=50, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] == 1.0
    for name, options in (("model.sg", {}), ("model.keras", {"format": "keras"})):
        model.save(tmp_path / name, **options)
        np.testing.assert_allclose(sg.models.load_model(tmp_path / name).predict(x, verbose=0),
                                   model.predict(x, verbose=0), rtol=1e-6)


def test_hashing_refuses_vector_outputs_of_rank_3_inputs():
    with pytest.raises(ValueError, match=r"multi_hot mode takes samples of shape \(n, values\).*\(2, 3, 5\)"):
        L.Hashing(4, output_mode="multi_hot")(np.zeros((2, 3, 5), np.int64))
