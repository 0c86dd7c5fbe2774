"""keras.config: the global settings Keras code reads and sets."""
from .backend import backend, epsilon, floatx, image_data_format, set_floatx  # noqa: F401
