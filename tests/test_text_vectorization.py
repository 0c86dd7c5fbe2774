"""TextVectorization against Keras's rules (its source, keras/src/layers/preprocessing/text_vectorization.py
and index_lookup.py), with the expected numbers derived by hand below; tests/test_lookup_layers.py checks
more cases against Keras's own outputs (made with TensorFlow, which Keras's layer needs).

The corpus: "The cat sat.", "The cat ran!", "A dog sat" standardize to "the cat sat", "the cat ran",
"a dog sat". Counts: the, cat, sat 2 each; ran, dog, a 1 each. Keras orders by descending count, ties
by descending string (np.lexsort((tokens, counts))[::-1]): the, sat, cat, ran, dog, a. In int mode
index 0 is "" and 1 is "[UNK]", so the=2 sat=3 cat=4 ran=5 dog=6 a=7; in the other modes "[UNK]" is 0
and the=1 ... a=6. Idf = log(1 + 3 documents / (1 + documents with the token)): log 2 for the, sat,
cat; log 2.5 for ran, dog, a; "[UNK]" gets their mean, (log 2 + log 2.5) / 2 = log(5) / 2.
"""
import json

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad.autograd import record
from scratchgrad.models import Sequential
from scratchgrad.plan import StepPlan
from scratchgrad.utils import PyDataset

CORPUS = ["The cat sat.", "The cat ran!", "A dog sat"]
INT_VOCABULARY = ["", "[UNK]", "the", "sat", "cat", "ran", "dog", "a"]


def adapted(**options):
    layer = L.TextVectorization(**options)
    layer.adapt(CORPUS)
    return layer


def out(layer, texts):
    return layer(texts).numpy()


# ---- the vocabulary -------------------------------------------------------------------------------
def test_adapt_orders_by_count_then_reverse_string():
    assert adapted().get_vocabulary() == INT_VOCABULARY
    assert adapted(output_mode="count").get_vocabulary() == ["[UNK]"] + INT_VOCABULARY[2:]
    assert adapted().get_vocabulary(include_special_tokens=False) == INT_VOCABULARY[2:]
    assert adapted().vocabulary_size() == 8 and adapted(output_mode="multi_hot").vocabulary_size() == 7


def test_keras_adapt_example():
    """Keras's own test_adapt_flow: counts bar, baz 2; foo, bada, boom 1."""
    layer = L.TextVectorization(max_tokens=5000, output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert layer.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]
    np.testing.assert_array_equal(out(layer, [["foo qux bar"], ["qux baz"]]), [[4, 1, 3, 0], [1, 2, 0, 0]])


@pytest.mark.parametrize("mode, kept", [("int", ["", "[UNK]", "the", "sat", "cat"]),
                                        ("multi_hot", ["[UNK]", "the", "sat", "cat", "ran"])])
def test_max_tokens_counts_the_reserved_tokens(mode, kept):
    assert adapted(max_tokens=5, output_mode=mode).get_vocabulary() == kept


def test_adapt_leaves_out_the_reserved_tokens_and_keeps_the_vocabulary_when_nothing_is_seen():
    layer = L.TextVectorization(standardize=None, split=None)
    layer.adapt(["", "[UNK]", "x", "x", "y"])
    assert layer.get_vocabulary() == ["", "[UNK]", "x", "y"]
    layer.adapt([""])
    assert layer.get_vocabulary() == ["", "[UNK]", "x", "y"]


class Batches(PyDataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return np.array([["b b"], ["a"]]) if i == 0 else np.array([["c c c"]])


@pytest.mark.parametrize("data, steps, expected", [
    ("b a b", None, ["b", "a"]),
    (np.array([b"b a", b"b"]), None, ["b", "a"]),
    (np.array([["b a"], ["b"]]), 1, ["b", "a"]),  # arrays are one batch: steps does not apply
    (Batches(), None, ["c", "b", "a"]),
    (Batches(), 1, ["b", "a"]),
    ((batch for batch in (["a"], ["b b"], ["c c c"])), 2, ["b", "a"]),
])
def test_adapt_takes_texts_arrays_and_batches(data, steps, expected):
    layer = L.TextVectorization()
    layer.adapt(data, steps=steps)
    assert layer.get_vocabulary(include_special_tokens=False) == expected


def test_set_vocabulary_with_or_without_the_reserved_tokens():
    layer = L.TextVectorization(vocabulary=["", "[UNK]", "x", "y"])
    assert layer.get_vocabulary() == ["", "[UNK]", "x", "y"]
    layer.set_vocabulary(np.array([b"y", b"x", b"[UNK]"]))  # "[UNK]" past the start is a term, as in Keras
    assert layer.get_vocabulary() == ["", "[UNK]", "y", "x", "[UNK]"]
    hot = L.TextVectorization(output_mode="multi_hot", vocabulary=["[UNK]", "x"])
    assert hot.get_vocabulary() == ["[UNK]", "x"]


def test_vocabulary_file(tmp_path):
    path = tmp_path / "vocabulary.txt"
    path.write_text("foo\nbar\nbaz\n")
    np.testing.assert_array_equal(out(L.TextVectorization(vocabulary=str(path)), ["foo bar baz unknown"]),
                                  [[2, 3, 4, 1]])


# ---- standardize, split, ngrams -------------------------------------------------------------------
@pytest.mark.parametrize("standardize, expected", [
    # Keras's regex strips ASCII punctuation only; tf.strings.lower lowers ASCII letters only
    ("lower_and_strip_punctuation", ["dont", "stop—¿qué", "email", "École"]),
    ("lower", ["don't", "stop—¿qué?", "e-mail", "École"]),
    ("strip_punctuation", ["Dont", "STOP—¿Qué", "email", "ÉCOLE"]),
    (None, ["Don't", "STOP—¿Qué?", "e-mail", "ÉCOLE"]),
    (lambda texts: np.char.upper(texts), ["DON'T", "STOP—¿QUÉ?", "E-MAIL", "ÉCOLE"]),  # a NumPy array, as Keras
])
def test_standardize(standardize, expected):
    layer = L.TextVectorization(standardize=standardize, vocabulary=expected)
    np.testing.assert_array_equal(out(layer, ["Don't STOP—¿Qué? e-mail ÉCOLE"]), [[2, 3, 4, 5]])


def test_keras_standardize_examples():
    text = ["Hello, World!. This is just a nice test!"]
    strip = L.TextVectorization(vocabulary=["hello", "world", "this", "is", "nice", "test"])
    lower = L.TextVectorization(standardize="lower",
                                vocabulary=["hello,", "hello", "world", "this", "is", "nice", "test"])
    np.testing.assert_array_equal(out(strip, text), [[2, 3, 4, 5, 1, 1, 6, 7]])
    np.testing.assert_array_equal(out(lower, text), [[2, 1, 5, 6, 1, 1, 7, 1]])


@pytest.mark.parametrize("split, text, tokens", [
    ("whitespace", "  a\tb\n\nc \u00a0d ", ["a", "b", "c", "\u00a0d"]),  # ASCII whitespace, as TensorFlow
    ("character", "ab c", ["a", "b", " ", "c"]),
    (None, "a b", ["a b"]),
    (lambda text: text.split("|"), "a|b c", ["a", "b c"]),
])
def test_split(split, text, tokens):
    layer = L.TextVectorization(standardize=None, split=split, vocabulary=tokens)
    np.testing.assert_array_equal(out(layer, [[text]]), [list(range(2, 2 + len(tokens)))])


def test_split_none_takes_a_row_of_given_tokens_and_maps_empty_to_padding():
    layer = L.TextVectorization(split=None, vocabulary=["a", "b"])
    np.testing.assert_array_equal(out(layer, [["a", "B"], ["", "z"]]), [[2, 3], [0, 1]])


@pytest.mark.parametrize("ngrams, tokens", [
    (2, ["a", "b", "c", "a b", "b c"]),
    ((2, 3), ["a b", "b c", "a b c"]),  # each width in turn; none longer than the text
    ((4,), []),
])
def test_ngrams(ngrams, tokens):
    layer = L.TextVectorization(ngrams=ngrams, vocabulary=["x"] + tokens, output_sequence_length=6)
    np.testing.assert_array_equal(out(layer, "a b c"), [i + 3 for i in range(len(tokens))] + [0] * (6 - len(tokens)))


def test_adapt_learns_ngrams():
    layer = L.TextVectorization(ngrams=(1, 3))
    layer.adapt(["foo bar baz"])
    assert layer.get_vocabulary(include_special_tokens=False) == ["foo bar baz", "foo", "baz", "bar"]


# ---- output modes -------------------------------------------------------------------------------
def test_int_pads_to_the_longest_text_or_to_output_sequence_length():
    texts = ["the cat flew", "A dog", ""]
    free = out(adapted(), texts)
    assert free.dtype == np.int64
    np.testing.assert_array_equal(free, [[2, 4, 1], [7, 6, 0], [0, 0, 0]])
    np.testing.assert_array_equal(out(adapted(output_sequence_length=4), texts), [[2, 4, 1, 0], [7, 6, 0, 0],
                                                                                  [0, 0, 0, 0]])
    np.testing.assert_array_equal(out(adapted(output_sequence_length=2), texts), [[2, 4], [7, 6], [0, 0]])


def test_an_unadapted_int_layer_maps_every_token_to_oov():
    np.testing.assert_array_equal(out(L.TextVectorization(), ["a b", "c"]), [[1, 1], [1, 0]])


def test_multi_hot_and_count():
    texts = ["the cat cat flew", "a"]  # flew is out of vocabulary: index 0
    hot, count = out(adapted(output_mode="multi_hot"), texts), out(adapted(output_mode="count"), texts)
    assert hot.dtype == count.dtype == np.float32
    np.testing.assert_array_equal(hot, [[1, 1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1]])
    np.testing.assert_array_equal(count, [[1, 1, 0, 2, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1]])


def test_tf_idf():
    layer = adapted(output_mode="tf_idf")
    log2, log25 = np.log(2), np.log(2.5)
    np.testing.assert_allclose(layer.get_config()["idf_weights"],
                               [np.log(5) / 2, log2, log2, log2, log25, log25, log25])
    np.testing.assert_allclose(out(layer, ["the cat cat flew", "dog"]),
                               [[np.log(5) / 2, log2, 0, 2 * log2, 0, 0, 0], [0, 0, 0, 0, 0, log25, 0]], rtol=1e-6)


def test_idf_counts_documents_not_occurrences():
    """"a a b", "b": a and b are both seen twice (b first: ties in reverse order), a in 1 document of 2."""
    layer = L.TextVectorization(output_mode="tf_idf")
    layer.adapt(["a a b", "b"])
    assert layer.get_vocabulary() == ["[UNK]", "b", "a"]
    b, a = np.log(1 + 2 / 3), np.log(1 + 2 / 2)
    np.testing.assert_allclose(layer.get_config()["idf_weights"], [(a + b) / 2, b, a])


def test_given_idf_weights_get_their_mean_for_oov_and_zeros_when_padded():
    layer = L.TextVectorization(output_mode="tf_idf", vocabulary=["x", "y"], idf_weights=[1.0, 3.0],
                                max_tokens=5, pad_to_max_tokens=True)
    np.testing.assert_allclose(out(layer, ["x y y q"]), [[2, 1, 6, 0, 0]])


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
def test_pad_to_max_tokens_sets_the_width(mode):
    assert out(adapted(output_mode=mode, max_tokens=10, pad_to_max_tokens=True), ["the cat"]).shape == (1, 10)


# ---- input forms --------------------------------------------------------------------------------
@pytest.mark.parametrize("texts", [
    ["the cat", "a dog"],
    np.array(["the cat", "a dog"]),
    np.array([["the cat"], ["a dog"]]),
    np.array([b"the cat", b"a dog"]),
    np.array(["the cat", b"a dog"], dtype=object),
    sg.Tensor(np.array(["the cat", "a dog"])),
])
def test_input_forms(texts):
    np.testing.assert_array_equal(out(adapted(), texts), [[2, 4], [7, 6]])


def test_one_text_gives_one_row_without_the_batch_axis():
    np.testing.assert_array_equal(out(adapted(), "the cat"), [2, 4])
    np.testing.assert_array_equal(out(adapted(output_mode="count"), "cat cat"), [0, 0, 0, 2, 0, 0, 0])


@pytest.mark.parametrize("texts, error, match", [
    (np.array([1.0, 2.0]), TypeError, "strings.*float64"),
    (np.array([["a", "b"]]), ValueError, r"\(n,\) or \(n, 1\).*\(1, 2\)"),
    (np.array([[["a"]]]), ValueError, r"\(1, 1, 1\)"),
    ([["a"], ["b", "c"]], ValueError, "rectangular"),
])
def test_bad_inputs(texts, error, match):
    with pytest.raises(error, match=match):
        adapted()(texts)


# ---- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, match", [
    (dict(sparse=True), "sparse=True.*sparse=False"),
    (dict(ragged=True), "ragged=True.*ragged=False"),
    (dict(standardize="upper"), "standardize must be one of.*'upper'"),
    (dict(split="comma"), "split must be one of.*'comma'"),
    (dict(output_mode="one_hot"), "output_mode.*'one_hot'.*multi_hot"),
    (dict(ngrams="2"), "ngrams.*'2'"),
    (dict(ngrams=(1, 0)), r"ngrams.*\(1, 0\)"),
    (dict(output_mode="count", output_sequence_length=5), "output_sequence_length.*int mode only.*5"),
    (dict(output_sequence_length=0), "output_sequence_length.*positive.*0"),
    (dict(max_tokens=1), "max_tokens.*> 1.*1"),
    (dict(output_mode="count", pad_to_max_tokens=True), "pad_to_max_tokens=True needs max_tokens"),
    (dict(encoding="no-such-codec"), "encoding.*'no-such-codec'"),
    (dict(vocabulary=["a", "b", "a"]), r"repeats terms \['a'\]"),
    (dict(vocabulary=["a", ""]), "mask token .. may only lead the vocabulary"),
    (dict(vocabulary=["a", "b", "c", "d"], max_tokens=5), "6 terms.*max_tokens=5"),
    (dict(vocabulary=[]), "non-empty"),
    (dict(output_mode="tf_idf", vocabulary=["a"]), "idf_weights must be given exactly in tf_idf mode"),
    (dict(vocabulary=["a"], idf_weights=[1.0]), "idf_weights must be given exactly in tf_idf mode"),
    (dict(output_mode="tf_idf", vocabulary=["a", "b"], idf_weights=[1.0]), r"shape \(2,\).*\(1,\)"),
    (dict(output_mode="tf_idf", idf_weights=[1.0]), "no vocabulary"),
])
def test_bad_arguments(options, match):
    with pytest.raises(ValueError, match=match):
        L.TextVectorization(**options)


@pytest.mark.parametrize("mode", ["multi_hot", "tf_idf"])
def test_a_bag_of_words_needs_its_vocabulary_before_a_call(mode):
    with pytest.raises(RuntimeError, match=f"{mode} mode needs its vocabulary"):
        L.TextVectorization(output_mode=mode)(["a"])


def test_a_bag_of_words_keeps_its_width():
    layer = adapted(output_mode="multi_hot")
    with pytest.raises(RuntimeError, match="it was 7, the new one has 3"):
        layer.set_vocabulary(["x", "y"])
    assert layer.vocabulary_size() == 7


def test_a_given_vocabulary_is_not_adapted():
    with pytest.raises(ValueError, match="cannot be adapted"):
        L.TextVectorization(vocabulary=["a"]).adapt(["b"])


# ---- config and saving --------------------------------------------------------------------------
@pytest.mark.parametrize("options", [dict(ngrams=(1, 2), output_sequence_length=5),
                                     dict(output_mode="tf_idf", max_tokens=9, pad_to_max_tokens=True),
                                     dict(standardize=None, split="character", output_mode="count")])
def test_config_round_trip_keeps_the_vocabulary(options):
    layer = adapted(**options)
    texts = ["the cat sat on a dog", "A Cat"]
    expected = out(layer, texts)
    config = json.loads(json.dumps(layer.get_config()))  # as a saved file holds it: data only
    clone = L.TextVectorization.from_config(config)
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(out(clone, texts), expected)


def test_a_reloaded_adapted_layer_can_adapt_again():
    """As in Keras, where an adapted vocabulary is saved apart from the constructor's vocabulary=."""
    clone = L.TextVectorization.from_config(adapted().get_config())
    clone.adapt(["new words"])
    assert clone.get_vocabulary() == ["", "[UNK]", "words", "new"]


def test_functions_and_vocabulary_files_stay_out_of_configs():
    with pytest.raises(ValueError, match="standardize function cannot be saved"):
        L.TextVectorization(standardize=str.lower).get_config()
    config = adapted().get_config()
    with pytest.raises(ValueError, match="file path there is refused"):
        L.TextVectorization.from_config({**config, "vocabulary": "/etc/hostname"})


def test_a_model_starting_with_text_vectorization_saves_and_loads(tmp_path):
    texts = sg.Tensor(np.array(["the cat", "a dog sat", "flew"]))  # a Tensor: a model casts arrays to float
    model = Sequential([adapted(output_mode="tf_idf"), L.Dense(2)])
    model.build((None,))
    assert model.layers[1].kernel.shape == (7, 2)  # built on the vocabulary's width
    model.save(tmp_path / "model.safetensors")
    loaded = sg.models.load_model(tmp_path / "model.safetensors")
    assert loaded.layers[0].get_vocabulary() == ["[UNK]"] + INT_VOCABULARY[2:]
    np.testing.assert_allclose(loaded(texts).numpy(), model(texts).numpy())


# ---- inside a model -------------------------------------------------------------------------------
def test_symbolic_shapes_follow_the_settings():
    inputs = sg.Input(shape=(1,), dtype=str)
    assert adapted()(inputs).shape == (None, None)
    assert adapted(output_sequence_length=3)(inputs).shape == (None, 3)
    hot = adapted(output_mode="multi_hot")(inputs)
    assert hot.shape == (None, 7) and hot.dtype == np.float32
    model = sg.Model(inputs, L.Dense(2)(hot))
    assert model(sg.Tensor(np.array([["the cat"]]))).shape == (1, 2)


def test_a_recorded_step_vectorizes_each_new_batch():
    """The trainer replays a recorded step on new arrays: the texts must be vectorized in it, not baked in."""
    model = Sequential([adapted(output_mode="count"), L.Dense(2)])
    first = sg.Tensor(np.array(["the cat", "a dog"]))
    with record() as recording:
        output = model(first)
    plan = StepPlan(recording, [first], [output], model.weights, model.trainable_weights)
    new = np.array(["sat sat ran", "the"])
    np.testing.assert_allclose(plan.forward([new])[0], model(sg.Tensor(new)).numpy())


def test_a_model_trains_on_texts_with_a_gradient_tape():
    sg.set_seed(0)
    texts = np.array(["the cat", "a dog", "cat cat", "dog sat"])
    labels = np.array([0, 1, 0, 1])
    model = Sequential([adapted(output_mode="multi_hot"), L.Dense(2)])
    loss_fn, optimizer = sg.losses.SparseCategoricalCrossentropy(from_logits=True), sg.optimizers.SGD(0.5)
    losses = []
    for _ in range(20):
        with sg.GradientTape() as tape:
            loss = loss_fn(labels, model(sg.Tensor(texts)))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
        losses.append(float(loss.numpy()))
    assert losses[-1] < 0.5 * losses[0]
    assert model.layers[0].weights == []  # nothing of the vectorizer trains


def test_fit_trains_a_model_on_an_array_of_texts():
    texts, labels = np.array(["the cat", "a dog", "cat cat", "dog sat"] * 3), np.array([0, 1, 0, 1] * 3)
    model = Sequential([adapted(output_mode="multi_hot"), L.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(texts, labels, epochs=3, batch_size=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_without_split_a_1d_batch_is_one_sample_as_in_keras():
    """Keras 3.15 (with TensorFlow): split=None looks each string up as a token, keeping the input's shape, so
    a 1-D batch is one sample (its counts add up); adapt still takes each string of an array as a document."""
    layer = L.TextVectorization(split=None, vocabulary=["a", "b c"])
    np.testing.assert_array_equal(out(layer, np.array(["a", "b c", "z"])), [2, 3, 1])
    np.testing.assert_array_equal(out(layer, np.array([["a"], ["b c"]])), [[2], [3]])
    counts = L.TextVectorization(split=None, vocabulary=["a", "b c"], output_mode="count")
    np.testing.assert_array_equal(out(counts, np.array(["a", "b c", "z"])), [1, 1, 1])
    tf_idf = L.TextVectorization(split=None, output_mode="tf_idf")
    tf_idf.adapt(np.array(["a", "b", "a"]))  # three documents: a in two, b in one
    np.testing.assert_allclose(tf_idf._lookup_layer._idf[1:], [np.log(2), np.log(2.5)], rtol=1e-6)
