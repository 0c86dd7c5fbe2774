"""Reuters newswires, Keras style: 11,228 wires as lists of word indices, labelled with one of 46 topics,
split into train and test by `test_split` after Keras's shuffle. Keras's reuters.npz, checked by the
sha256 Keras checks and read without unpickling."""
import io

import numpy as np

from ._npz import load_npz
from ._sequences import limit, mark, object_array, shuffled
from ._source import Source, load_file

SOURCE = Source(name="Reuters", subdir="reuters",
                mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
                sha256={"reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"},
                hashed="file", files=("reuters.npz",))


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3, data_dir=None):
    """(x_train, y_train), (x_test, y_test) as keras.datasets.reuters.load_data gives them."""
    f = load_npz(io.BytesIO(load_file(SOURCE, "reuters.npz", data_dir)))
    xs, labels = shuffled(seed, f["x"], f["y"])
    xs, labels = mark(xs, labels, maxlen, start_char, index_from)
    xs = limit(xs, num_words, skip_top, oov_char)
    split = int(len(xs) * (1 - test_split))
    return (object_array(xs[:split]), np.asarray(labels[:split])), (object_array(xs[split:]), np.asarray(labels[split:]))
