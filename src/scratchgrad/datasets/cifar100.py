"""CIFAR-100, Keras style: 50,000 training and 10,000 test colour images, 32x32, labelled with one of 100
fine classes and one of 20 coarse superclasses.

Files, in `<data_dir or $SCRATCHGRAD_DATA>/cifar100/`: the folder the tarball unpacks to, cifar-100-python/
(train, test; each checked by its MD5), or the tarball cifar-100-python.tar.gz itself; else the tarball from
the cache or Keras's origin, checked by the sha256 Keras checks. Read as cifar10 is (see _keras_files.py).
"""
import numpy as np

from ._keras_files import Batches, load_cifar
from ._source import Source

BATCHES = Batches(
    source=Source(name="CIFAR-100", subdir="cifar100", mirrors=("https://www.cs.toronto.edu/~kriz/",),
                  sha256={"cifar-100-python.tar.gz":
                          "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"},
                  hashed="file", files=("cifar-100-python.tar.gz",)),
    folder="cifar-100-python",
    md5={"train": "16019d7e3df5f24257cddd939b257f8d", "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"},  # torchvision's
    train=("train",),
    test=("test",),
)
CLASSES = {"fine": 100, "coarse": 20}


def load_data(label_mode="fine", data_dir=None):
    """(x_train, y_train), (x_test, y_test) as keras.datasets.cifar100.load_data gives them: uint8 images
    (50000, 32, 32, 3) / (10000, 32, 32, 3) (channels first where config.image_data_format() says so),
    labels of shape (N, 1): fine (0-99) or coarse
    (0-19) by `label_mode`. Keras's labels here are int64 (it reshapes the pickled lists), so are these."""
    if label_mode not in CLASSES:
        raise ValueError(f'label_mode must be "fine" or "coarse", got {label_mode!r}')
    return load_cifar(BATCHES, f"{label_mode}_labels", CLASSES[label_mode], np.int64, data_dir)
