"""The textbook's `load_mnist` interface on top of the Keras-style raw loaders."""
import numpy as np

from ..utils import to_categorical
from . import fashion_mnist, mnist

NUM_CLASSES = 10


def load_mnist(data_dir=None, normalize=True, flatten=True, one_hot=False):
    """MNIST ready for a network: (x_train, y_train), (x_test, y_test).

    normalize: float32 pixels in [0, 1] (else the raw uint8 0-255).
    flatten: images as (N, 784) rows (else (N, 28, 28), Keras's layout rather than the textbook's (N, 1, 28, 28)).
    one_hot: float32 one-hot label rows (N, 10) (else uint8 class numbers, as Keras's load_data).
    """
    return prepare(mnist.load_data(data_dir=data_dir), normalize, flatten, one_hot)


def load_fashion_mnist(data_dir=None, normalize=True, flatten=True, one_hot=False):
    """Fashion-MNIST with the same options and layout as `load_mnist`."""
    return prepare(fashion_mnist.load_data(data_dir), normalize, flatten, one_hot)


def prepare(splits, normalize, flatten, one_hot):
    return tuple((prepare_images(x, normalize, flatten), prepare_labels(y, one_hot)) for x, y in splits)


def prepare_images(x, normalize, flatten):
    if normalize:
        x = x.astype(np.float32)
        x /= 255.0  # in place: the float copy of the training images alone is 188 MB
    return x.reshape(len(x), -1) if flatten else x


def prepare_labels(y, one_hot):
    return to_categorical(y, NUM_CLASSES) if one_hot else y
