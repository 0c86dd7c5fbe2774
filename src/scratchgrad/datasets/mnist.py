"""MNIST handwritten digits, Keras style: `load_data()` gives the raw uint8 arrays.

Files: the four IDX .gz files in `<data_dir or $SCRATCHGRAD_DATA>/mnist/`, else the download cache, else the
mirrors below (see `scratchgrad.datasets` for the order). Keras's own copy, mnist.npz in its download cache, is
read where no IDX files are given. Each is verified by the sha256 of its decompressed
IDX bytes, so an archive re-compressed by a mirror is still accepted while any change to the digits is not.
"""
import io
import os
from pathlib import Path

from ._npz import load_npz
from ._source import FILES, Source, env_folders, keras_file, load_file, load_source

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


KERAS_SOURCE = Source(name="MNIST (Keras's mnist.npz)", subdir="mnist",
                      mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
                      sha256={"mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"},
                      hashed="file", files=("mnist.npz",))


def load_data(path="mnist.npz", data_dir=None):
    """(x_train, y_train), (x_test, y_test): uint8 images (60000, 28, 28) / (10000, 28, 28), uint8 labels 0-9.

    As keras.datasets.mnist.load_data: `path` names the mnist.npz Keras downloaded, under $KERAS_HOME/datasets
    (~/.keras/datasets), or the file itself when absolute. It is read (checked by its sha256; the same digits)
    where no data_dir is given and $SCRATCHGRAD_DATA holds no IDX files. `data_dir` names the folder holding
    `mnist/`, the only place then looked in. Where the npz would be read, a `path` other than the default
    that names no file is refused (Keras would download to it; scratchgrad downloads the IDX files to its
    own cache, so such a name is more likely a folder's typo).
    """
    if keras_file(path).is_dir() or Path(path).is_dir():  # scratchgrad's load_data(folder), before path= came
        raise ValueError(f"path names Keras's mnist.npz, got the folder {path}: "
                         f"give a folder of IDX files as data_dir=")
    if data_dir is None and not _idx_in_env():
        if keras_file(path).is_file():
            f = load_npz(io.BytesIO(load_file(KERAS_SOURCE, "mnist.npz", keras_path=path)))
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        if os.fspath(path) != "mnist.npz":
            raise FileNotFoundError(f"path names an existing mnist.npz (as Keras downloaded it), got {path}, "
                                    f"which is not a file: give a folder of IDX files as data_dir=, or leave "
                                    f"path out to download them")
    return load_source(SOURCE, data_dir)


def _idx_in_env():
    return any((folder / name).is_file() for folder in env_folders(SOURCE) for name in FILES)
