"""Boston housing prices, Keras style: 506 districts, 13 attributes each, the median home value (k$) as
target, split by `test_split` after Keras's shuffle. (The data include a variable that presumes racial
self-segregation affects prices; Keras discourages using it outside lessons on such problems.)"""
import io

from ._npz import load_npz
from ._sequences import split_shuffled
from ._source import Source, load_file

SOURCE = Source(name="Boston housing", subdir="boston_housing",
                mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
                sha256={"boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"},
                hashed="file", files=("boston_housing.npz",))


def load_data(path="boston_housing.npz", test_split=0.2, seed=113, data_dir=None):
    """(x_train, y_train), (x_test, y_test) as keras.datasets.boston_housing.load_data gives them. `path`
    names the file in Keras's download cache, read from there when found (see scratchgrad.datasets)."""
    f = load_npz(io.BytesIO(load_file(SOURCE, "boston_housing.npz", data_dir, keras_path=path)))
    return split_shuffled(f["x"], f["y"], test_split, seed)
