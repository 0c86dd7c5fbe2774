"""Generate Keras 3's outputs of StringLookup, IntegerLookup, Hashing, HashedCrossing and TextVectorization
(vocabularies, indices, hashed buckets, encodings, inverse lookups, configs), for tests/test_lookup_layers.py.

Not run in CI: these layers need TensorFlow in Keras, so run it by hand where Keras 3 and TensorFlow are
installed; it writes ``lookup_layers.json`` next to itself. Each case names the layer, its keyword
arguments, what it was adapted on or given (``adapt``, ``adapt_batches``, ``set_vocabulary``; ``cross``:
the inputs are a list of features), the inputs, and Keras's output (strings decoded from UTF-8),
vocabulary and config; ``hashes`` holds TensorFlow's two string hashes of texts of every length up to
200 bytes, ``feature_space`` a FeatureSpace of every feature type and its encoding of ten rows.

Usage::

    KERAS_BACKEND=tensorflow python make_lookup_reference.py
"""
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "고양이", "개", "naïve", "", "x" * 70, "y" * 40]
OOV_WORDS = ["m", "z", "q", "zebra", "lion", "고래", "w" * 100, "unknown", "cow", "hen", "owl", "yak"]
DOCS = [["the", "cat", "sat"], ["the", "dog", "ran"], ["a", "cat", "the"], ["mat", "mat", "on"]]
CORPUS = ["The cat sat.", "The cat ran!", "A dog sat", "고양이가 앉았다. 고양이!", "the the THE cat"]
TEXTS = ["The cat sat on a mat.", "dog ran", "고양이 cat"]
IDS = [[12, 1138, 42], [42, 1000, 36], [7, 42, 12]]

CASES = [
    ("StringLookup", {"vocabulary": ["a", "b", "c", "d"]}, {}, [["a", "c", "d"], ["d", "z", "b"]]),
    ("StringLookup", {}, {"adapt": DOCS}, [["the", "cat"], ["zebra", "on"]]),
    ("StringLookup", {"max_tokens": 4}, {"adapt": DOCS}, [["the", "cat"], ["dog", "mat"]]),
    ("StringLookup", {"vocabulary": WORDS[:8], "num_oov_indices": 3}, {}, [OOV_WORDS + WORDS[:2]]),
    ("StringLookup", {"vocabulary": WORDS[:8], "num_oov_indices": 5, "salt": 7}, {}, [OOV_WORDS]),
    ("StringLookup", {"vocabulary": WORDS[:8], "num_oov_indices": 4, "salt": [1, 2**40]}, {}, [OOV_WORDS]),
    ("StringLookup", {"vocabulary": ["a", "b"], "mask_token": ""}, {}, [["a", "", "b", "c"]]),
    ("StringLookup", {"vocabulary": ["a", "b"], "mask_token": "[MASK]", "output_mode": "multi_hot"}, {},
     [["a", "[MASK]", "c", "c"], ["[MASK]", "[MASK]", "b", "a"]]),
    ("StringLookup", {"vocabulary": ["a", "b"], "mask_token": "[MASK]", "output_mode": "count"}, {},
     [["a", "[MASK]", "c", "c"]]),
    ("StringLookup", {"vocabulary": ["a", "b", "c"], "output_mode": "one_hot"}, {}, ["a", "z", "c"]),
    ("StringLookup", {"vocabulary": ["a", "b", "c"], "output_mode": "one_hot"}, {}, [["a"], ["z"], ["c"]]),
    ("StringLookup", {"vocabulary": ["a", "b", "c"], "output_mode": "one_hot"}, {}, [["a", "b"], ["z", "c"]]),
    ("StringLookup", {"vocabulary": ["a", "b", "c"], "output_mode": "multi_hot"}, {}, ["a", "z", "a"]),
    ("StringLookup", {"vocabulary": ["a", "b", "c"], "output_mode": "count"}, {}, ["a", "z", "a"]),
    ("StringLookup", {"vocabulary": ["a", "b", "c"], "output_mode": "count", "num_oov_indices": 2}, {},
     [["a", "z", "q"], ["m", "b", "b"]]),
    ("StringLookup", {"output_mode": "tf_idf"}, {"adapt": DOCS}, [["the", "cat", "cat", "zebra"]]),
    ("StringLookup", {"output_mode": "tf_idf"}, {"adapt_batches": DOCS}, [["the", "cat", "cat", "zebra"]]),
    ("StringLookup", {"output_mode": "tf_idf", "max_tokens": 8, "pad_to_max_tokens": True}, {"adapt": DOCS},
     [["the", "cat", "on", "zebra"]]),
    ("StringLookup", {"output_mode": "multi_hot", "max_tokens": 8, "pad_to_max_tokens": True}, {"adapt": DOCS},
     [["the", "cat", "on", "zebra"]]),
    ("StringLookup", {"output_mode": "tf_idf"}, {"set_vocabulary": (["a", "b", "c"], [0.5, 1.5, 2.5])},
     [["a", "c", "c", "z"]]),
    ("StringLookup", {"output_mode": "multi_hot"}, {"adapt": ["the", "cat", "the"]}, [["cat", "the", "dog"]]),
    ("StringLookup", {"num_oov_indices": 0}, {"adapt": DOCS}, [["the", "mat"]]),
    ("StringLookup", {"num_oov_indices": 2, "mask_token": "", "max_tokens": 6}, {"adapt": DOCS}, [["the", "", "on"]]),
    ("StringLookup", {"vocabulary": ["a", "b", "c"], "invert": True}, {}, [[1, 3, 0], [2, 7, -1]]),
    ("StringLookup", {"vocabulary": ["a", "b", "c"], "invert": True, "mask_token": "[M]"}, {}, [[1, 3, 0, 4, 5]]),
    ("StringLookup", {"vocabulary": ["[UNK]", "a", "b"]}, {}, [["a", "b", "c"]]),
    ("StringLookup", {"vocabulary": WORDS}, {}, [WORDS[::-1]]),
    ("IntegerLookup", {"vocabulary": [12, 36, 1138, 42]}, {}, [[12, 1138, 42], [42, 1000, 36]]),
    ("IntegerLookup", {}, {"adapt": IDS}, [[12, 7, 5]]),
    ("IntegerLookup", {"vocabulary": [12, 36], "num_oov_indices": 3}, {}, [[5, 6, 7, -8, 12, 100]]),
    ("IntegerLookup", {"vocabulary": [12, 36], "num_oov_indices": 3, "oov_method": "farmhash"}, {},
     [[5, 6, 7, -8, 12, 100]]),
    ("IntegerLookup", {"vocabulary": [12, 36], "num_oov_indices": 3, "oov_method": "farmhash", "salt": 3}, {},
     [[5, 6, 7, -8, 12, 100]]),
    ("IntegerLookup", {"vocabulary": [12, 36], "mask_token": 0}, {}, [[12, 0, 36, 5]]),
    ("IntegerLookup", {"vocabulary": [12, 36], "mask_token": 0, "output_mode": "multi_hot"}, {}, [[12, 0, 0, 5]]),
    ("IntegerLookup", {"vocabulary": [12, 36], "invert": True}, {}, [[1, 2, 0, 9]]),
    ("IntegerLookup", {"output_mode": "tf_idf"}, {"adapt": IDS}, [[42, 42, 12, 9]]),
    ("Hashing", {"num_bins": 3}, {}, [["A"], ["B"], ["C"], ["D"], ["E"]]),
    ("Hashing", {"num_bins": 7}, {}, [WORDS]),
    ("Hashing", {"num_bins": 5, "salt": 133}, {}, [WORDS]),
    ("Hashing", {"num_bins": 5, "salt": [1, 2]}, {}, [WORDS]),
    ("Hashing", {"num_bins": 3, "mask_value": ""}, {}, [["A", "", "C", "D"]]),
    ("Hashing", {"num_bins": 4}, {}, [[1, 2, -3, 10**12]]),
    ("Hashing", {"num_bins": 4, "mask_value": 0}, {}, [[0, 1, 2, 0]]),
    ("Hashing", {"num_bins": 4}, {}, [[1.5, -2.7, 3.0]]),
    ("Hashing", {"num_bins": 1}, {}, [["a", "b"]]),
    ("Hashing", {"num_bins": 3, "output_mode": "one_hot"}, {}, [["A"], ["B"], ["C"], ["D"]]),
    ("Hashing", {"num_bins": 3, "output_mode": "one_hot"}, {}, ["A", "B", "C"]),
    ("Hashing", {"num_bins": 3, "output_mode": "multi_hot"}, {}, [["A", "B"], ["C", "D"]]),
    ("Hashing", {"num_bins": 3, "output_mode": "count"}, {}, [["A", "B", "A"], ["C", "D", "D"]]),
    ("HashedCrossing", {"num_bins": 5}, {"cross": True},
     [["A", "B", "C", "héllo", "x" * 70], ["x", "yy", "", "w", "v"]]),
    ("HashedCrossing", {"num_bins": 1000}, {"cross": True}, [[[3], [-7], [2**40]], [["x"], ["y"], ["z"]]]),
    ("HashedCrossing", {"num_bins": 4, "output_mode": "one_hot"}, {"cross": True}, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
    ("HashedCrossing", {"num_bins": 4, "output_mode": "one_hot"}, {"cross": True}, [[[1], [2]], [["a"], ["b"]]]),
    ("HashedCrossing", {"num_bins": 3}, {"cross": True}, ["a", 7]),
    ("TextVectorization", {}, {"adapt": CORPUS}, TEXTS),
    ("TextVectorization", {"output_sequence_length": 4, "max_tokens": 6}, {"adapt": CORPUS}, TEXTS),
    ("TextVectorization", {"output_mode": "multi_hot", "ngrams": 2}, {"adapt": CORPUS}, TEXTS),
    ("TextVectorization", {"output_mode": "count", "max_tokens": 12, "pad_to_max_tokens": True}, {"adapt": CORPUS},
     TEXTS),
    ("TextVectorization", {"output_mode": "tf_idf", "ngrams": (1, 3)}, {"adapt": CORPUS}, TEXTS),
    ("TextVectorization", {"output_mode": "tf_idf"}, {"adapt_batches": [CORPUS[:2], CORPUS[2:]]}, TEXTS),
    ("TextVectorization", {"split": "character", "standardize": "lower"}, {"adapt": CORPUS}, TEXTS),
]


def plain(value):
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind == "S":
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in array.reshape(-1).tolist()], array.shape
    return array.reshape(-1).tolist(), array.shape


def run(name, kwargs, setup, inputs):
    layer = getattr(keras.layers, name)(**kwargs)
    if "adapt" in setup:
        layer.adapt(np.array(setup["adapt"]))
    if "adapt_batches" in setup:  # a stream of 1-D batches: each batch is one document
        layer.adapt(iter([np.array(batch) for batch in setup["adapt_batches"]]))
    if "set_vocabulary" in setup:
        layer.set_vocabulary(*setup["set_vocabulary"])
    output = layer([np.array(feature) for feature in inputs] if setup.get("cross") else np.array(inputs))
    values, shape = plain(output if not isinstance(output, list) else np.array(output, dtype=object))
    case = {"layer": name, "kwargs": kwargs, "setup": setup, "inputs": inputs, "output": values,
            "shape": list(shape), "dtype": str(getattr(output, "dtype", "str")),
            "config": {k: v for k, v in layer.get_config().items() if k != "name"}}
    if hasattr(layer, "get_vocabulary"):
        case["vocabulary"] = [v.item() if isinstance(v, np.generic) else v for v in layer.get_vocabulary()]
        case["vocabulary_size"] = int(layer.vocabulary_size())
    return case


def hashes():
    """TensorFlow's FarmHash64 and keyed SipHash64 buckets (of 2**63 - 1) of texts of every length to 200
    bytes: each of the hash's length classes and the 64-byte rounds."""
    import tensorflow as tf

    texts = ["".join(chr(33 + (7 * i + n) % 94) for i in range(n)) for n in range(201)] + WORDS + OOV_WORDS
    buckets = 2**63 - 1
    return {"texts": texts, "fast": tf.strings.to_hash_bucket_fast(texts, buckets).numpy().tolist(),
            "key": KEY, "strong": tf.strings.to_hash_bucket_strong(texts, buckets, key=KEY).numpy().tolist()}


def feature_space():
    """keras.utils.FeatureSpace adapted on a table of every feature type, and its encoding of ten rows."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    n = 100
    data = {"age": rng.normal(50, 10, n).round(1), "fare": rng.exponential(30, n).round(2),
            "sex": rng.integers(0, 2, n), "city": rng.choice(["seoul", "busan", "daegu", "incheon"], n),
            "code": rng.integers(0, 1000, n), "tag": rng.choice(["x", "y", "z"], n), "w": rng.normal(0, 1, n).round(3),
            "fee": rng.integers(0, 50, n)}
    space = keras.utils.FeatureSpace(features=FEATURES, crosses=[("sex", "city"), ("age", "sex")],
                                     num_discretization_bins=5, hashing_dim=8, crossing_dim=16)
    space.adapt(tf.data.Dataset.from_tensor_slices(data))
    rows = {name: column[:10] for name, column in data.items()}
    column = rng.normal(0, 1, (300, 1)).round(4)  # a column of rows: Keras adapts it a row at a time
    by_rows = keras.utils.FeatureSpace({"x": keras.utils.FeatureSpace.float_discretized(num_bins=10)})
    by_rows.adapt(tf.data.Dataset.from_tensor_slices({"x": column}))
    return {"data": {name: column.tolist() for name, column in data.items()},
            "concat": np.asarray(space(rows)).tolist(),
            "bin_boundaries": [float(b) for b in space.preprocessors["age"].bin_boundaries],
            "city_vocabulary": space.preprocessors["city"].get_vocabulary(),
            "column_of_rows": column.tolist(),
            "column_of_rows_bin_boundaries": [float(b) for b in by_rows.preprocessors["x"].bin_boundaries]}


FEATURES = {"age": "float_discretized", "fare": "float_normalized", "sex": "integer_categorical",
            "city": "string_categorical", "code": "integer_hashed", "tag": "string_hashed", "w": "float",
            "fee": "float_rescaled"}
KEY = [2**62 + 12345, -7]  # SipHash's two key halves, as signed 64-bit integers (TensorFlow's attribute)


def main():
    cases = [run(*case) for case in CASES]
    path = Path(__file__).with_name("lookup_layers.json")
    path.write_text(json.dumps({"keras": keras.__version__, "cases": cases, "hashes": hashes(),
                                "feature_space": feature_space()}, indent=1, ensure_ascii=False, default=str) + "\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
