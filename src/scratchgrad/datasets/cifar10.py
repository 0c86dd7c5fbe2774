"""CIFAR-10, Keras style: 50,000 training and 10,000 test colour images, 32x32, in 10 classes (airplane,
automobile, bird, cat, deer, dog, frog, horse, ship, truck).

Files, in `<data_dir or $SCRATCHGRAD_DATA>/cifar10/`: the folder the tarball unpacks to, cifar-10-batches-py/
(data_batch_1 ... data_batch_5, test_batch; each checked by its MD5), or the tarball cifar-10-python.tar.gz
itself; else the tarball from the cache or Keras's origin. The tarball is checked by the sha256 Keras checks.
Batches are pickled; they are read without running anything they name (see _keras_files.py).
"""
import numpy as np

from ._keras_files import Batches, load_cifar
from ._source import Source

BATCHES = Batches(
    source=Source(name="CIFAR-10", subdir="cifar10", mirrors=("https://www.cs.toronto.edu/~kriz/",),
                  sha256={"cifar-10-python.tar.gz":
                          "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"},
                  hashed="file", files=("cifar-10-python.tar.gz",)),
    folder="cifar-10-batches-py",
    md5={  # as torchvision pins them: the files' publisher gives MD5s of the tarballs only
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
    },
    train=("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"),
    test=("test_batch",),
)


def load_data(data_dir=None):
    """(x_train, y_train), (x_test, y_test) as keras.datasets.cifar10.load_data gives them: uint8 images
    (50000, 32, 32, 3) / (10000, 32, 32, 3) (channels first where config.image_data_format() says so), uint8
    labels 0-9 of shape (N, 1)."""
    return load_cifar(BATCHES, "labels", 10, np.uint8, data_dir)
