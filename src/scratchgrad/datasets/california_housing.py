"""California housing prices, Keras style: 20,640 census block groups of the 1990 census (600 in the
"small" version), 8 attributes each (median income, house age, rooms, bedrooms, population, households,
latitude, longitude), the median house value in dollars as target; split by `test_split` after Keras's
shuffle."""
import io

from ._npz import load_npz
from ._sequences import split_shuffled
from ._source import Source, load_file

SOURCE = Source(name="California housing", subdir="california_housing",
                mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
                sha256={"california_housing.npz": "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"},
                hashed="file", files=("california_housing.npz",))
SMALL = 600  # the rows of the "small" version: the file's first 600, a stand-in for Boston housing


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113, data_dir=None):
    """(x_train, y_train), (x_test, y_test) as keras.datasets.california_housing.load_data gives them.
    `path` names the file in Keras's download cache, read from there when found (see scratchgrad.datasets)."""
    if version not in ("small", "large"):
        raise ValueError(f"version must be 'small' or 'large', got {version!r}")
    f = load_npz(io.BytesIO(load_file(SOURCE, "california_housing.npz", data_dir, keras_path=path)))
    x, y = (f["x"][:SMALL], f["y"][:SMALL]) if version == "small" else (f["x"], f["y"])
    return split_shuffled(x, y, test_split, seed)
