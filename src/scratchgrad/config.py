"""keras.config: the global settings Keras code reads and sets."""
from .backend import backend, epsilon, image_data_format, set_floatx  # noqa: F401
from .backend import floatx as _floatx


def floatx():
    """The default float dtype's name ("float32"), as keras.config.floatx() gives it."""
    return _floatx().name
