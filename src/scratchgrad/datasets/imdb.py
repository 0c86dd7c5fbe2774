"""IMDB movie reviews, Keras style: 25,000 training and 25,000 test reviews as lists of word indices
(most frequent word = 1 before the shift by `index_from`), labels 1 positive / 0 negative.

The file is Keras's imdb.npz, from `<data_dir or $SCRATCHGRAD_DATA>/imdb/`, the cache or Keras's mirror,
checked against the sha256 Keras's own loader checks, and read without unpickling (see _npz.py).
`get_word_index()` reads Keras's imdb_word_index.json from the same folder, the cache or Keras's mirror,
checked by the MD5 Keras pins (it publishes no sha256 of it).
"""
import io

import numpy as np

from ._keras_files import load_word_index
from ._npz import load_npz
from ._sequences import limit, mark, object_array, shuffled
from ._source import Source, load_file

SOURCE = Source(name="IMDB", subdir="imdb", mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
                sha256={"imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"},
                hashed="file", files=("imdb.npz",))
WORD_INDEX = Source(name="IMDB", subdir="imdb", mirrors=SOURCE.mirrors, sha256={}, hashed="file",
                    files=("imdb_word_index.json",))
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, data_dir=None):
    """(x_train, y_train), (x_test, y_test) as keras.datasets.imdb.load_data gives them: x are object
    arrays of integer lists (pad them with keras.utils.pad_sequences), y integer labels. `path` names the
    file in Keras's download cache, read from there when found (see scratchgrad.datasets)."""
    f = load_npz(io.BytesIO(load_file(SOURCE, "imdb.npz", data_dir, keras_path=path)))
    rng = np.random.RandomState(seed)
    x_train, y_train = shuffled(rng, f["x_train"], f["y_train"])
    x_test, y_test = shuffled(rng, f["x_test"], f["y_test"])
    x_train, y_train = mark(x_train, y_train, maxlen, start_char, index_from)
    x_test, y_test = mark(x_test, y_test, maxlen, start_char, index_from)
    words = limit(x_train + x_test, num_words, skip_top, oov_char)
    split = len(x_train)
    return (object_array(words[:split]), np.asarray(y_train)), (object_array(words[split:]), np.asarray(y_test))


def get_word_index(path="imdb_word_index.json", data_dir=None):
    """{word: index} as keras.datasets.imdb.get_word_index gives it: 1 is the most frequent word; in
    load_data's sequences a word's index is shifted by `index_from` (3 by default)."""
    if path != "imdb_word_index.json":
        raise ValueError(f"get_word_index reads Keras's imdb_word_index.json (path= names Keras's cache file); got path={path!r}")
    return load_word_index(WORD_INDEX, WORD_INDEX_MD5, data_dir)
