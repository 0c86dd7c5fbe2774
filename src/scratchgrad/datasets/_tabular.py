"""Small classic tables bundled with scikit-learn, so they load offline."""
import numpy as np


def load_iris():
    """(x, y): 150 iris flowers, 4 measurements (float32), 3 species (int64)."""
    return from_sklearn("load_iris")


def load_digits():
    """(x, y): 1797 8x8 handwritten digits as 64 pixel values 0-16 (float32), labels 0-9 (int64)."""
    return from_sklearn("load_digits")


def load_breast_cancer():
    """(x, y): 569 tumours, 30 features (float32), malignant 0 / benign 1 (int64)."""
    return from_sklearn("load_breast_cancer")


def from_sklearn(loader_name):
    try:
        from sklearn import datasets
    except ImportError:
        raise ImportError(
            f"{loader_name} needs scikit-learn, which is optional: pip install 'scratchgrad[datasets]'"
        ) from None
    x, y = getattr(datasets, loader_name)(return_X_y=True)
    return x.astype(np.float32), y.astype(np.int64)
