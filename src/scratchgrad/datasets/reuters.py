"""Reuters newswires, Keras style: 11,228 wires as lists of word indices, labelled with one of 46 topics,
split into train and test by `test_split` after Keras's shuffle. Keras's reuters.npz, checked by the
sha256 Keras checks and read without unpickling. `get_word_index()` reads Keras's reuters_word_index.json
(from the same folder, the cache or Keras's mirror; checked by the MD5 Keras pins, it publishes no sha256),
`get_label_names()` names the 46 topics."""
import io

import numpy as np

from ._keras_files import load_word_index
from ._npz import load_npz
from ._sequences import limit, mark, object_array, shuffled
from ._source import Source, load_file

SOURCE = Source(name="Reuters", subdir="reuters",
                mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
                sha256={"reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"},
                hashed="file", files=("reuters.npz",))
WORD_INDEX = Source(name="Reuters", subdir="reuters", mirrors=SOURCE.mirrors, sha256={}, hashed="file",
                    files=("reuters_word_index.json",))
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"
LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3, data_dir=None):
    """(x_train, y_train), (x_test, y_test) as keras.datasets.reuters.load_data gives them. `path` names
    the file in Keras's download cache, read from there when found (see scratchgrad.datasets)."""
    f = load_npz(io.BytesIO(load_file(SOURCE, "reuters.npz", data_dir, keras_path=path)))
    xs, labels = shuffled(seed, f["x"], f["y"])
    xs, labels = mark(xs, labels, maxlen, start_char, index_from)
    xs = limit(xs, num_words, skip_top, oov_char)
    split = int(len(xs) * (1 - test_split))
    return (object_array(xs[:split]), np.asarray(labels[:split])), (object_array(xs[split:]), np.asarray(labels[split:]))


def get_word_index(path="reuters_word_index.json", data_dir=None):
    """{word: index} as keras.datasets.reuters.get_word_index gives it: 1 is the most frequent word; in
    load_data's sequences a word's index is shifted by `index_from` (3 by default)."""
    if path != "reuters_word_index.json":
        raise ValueError(f"get_word_index reads Keras's reuters_word_index.json (path= names Keras's cache file); got path={path!r}")
    return load_word_index(WORD_INDEX, WORD_INDEX_MD5, data_dir)


def get_label_names():
    """The 46 topic names, indexed as load_data's labels (a tuple, as Keras returns)."""
    return LABEL_NAMES
