"""Datasets: classic tables, MNIST-style images, toy problems, and a mini-batch DataLoader.

MNIST / Fashion-MNIST files are looked for in this order, and verified by sha256 before use:
1. `data_dir=` if given: the folder that holds `mnist/` (or `fashion-mnist/`) with the four IDX .gz files
   train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz;
   nothing else is tried.
2. else `$SCRATCHGRAD_DATA/mnist/` (or `fashion-mnist/`) when that variable is set;
   (MNIST only: else Keras's own mnist.npz, where `mnist.load_data(path=)` names it as below;)
3. the download cache (`pooch.os_cache("scratchgrad")`), filled from the public mirrors on first use.
Keras's own .npz files (imdb, reuters, boston_housing, california_housing) are looked for the same way, with one
more place before the cache: the file Keras downloaded, named by the loader's `path=` as in Keras (under
`$KERAS_HOME/datasets`, `~/.keras/datasets` by default, or the path itself when absolute), checked by the
same sha256 and never deleted.
scikit-learn and pooch are optional: they are imported only by the functions that need them.
"""
from . import boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters
from ._errors import CorruptDatasetError, DatasetNotFoundError
from ._loader import DataLoader
from ._source import data_dir
from ._tabular import load_breast_cancer, load_digits, load_iris
from ._toy import logic_gate, make_moons, spiral
from ._vision import load_fashion_mnist, load_mnist

__all__ = [
    "CorruptDatasetError",
    "boston_housing",
    "california_housing",
    "cifar10",
    "cifar100",
    "imdb",
    "reuters",
    "DataLoader",
    "DatasetNotFoundError",
    "data_dir",
    "fashion_mnist",
    "load_breast_cancer",
    "load_digits",
    "load_fashion_mnist",
    "load_iris",
    "load_mnist",
    "logic_gate",
    "make_moons",
    "mnist",
    "spiral",
]
