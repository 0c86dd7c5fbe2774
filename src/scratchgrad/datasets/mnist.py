"""MNIST handwritten digits, Keras style: `load_data()` gives the raw uint8 arrays.

Files: the four IDX .gz files in `<data_dir or $SCRATCHGRAD_DATA>/mnist/`, else the download cache, else the
mirrors below (see `scratchgrad.datasets` for the order). Each is verified by the sha256 of its decompressed
IDX bytes, so an archive re-compressed by a mirror is still accepted while any change to the digits is not.
"""
from ._source import Source, load_source

SOURCE = Source(
    name="MNIST",
    subdir="mnist",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    sha256={
        "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    hashed="content",
)


def load_data(data_dir=None):
    """(x_train, y_train), (x_test, y_test): uint8 images (60000, 28, 28) / (10000, 28, 28), uint8 labels 0-9.

    As keras.datasets.mnist.load_data, except that `data_dir` names the folder holding `mnist/`.
    """
    return load_source(SOURCE, data_dir)
