"""keras.config: the global settings Keras code reads and sets."""
from .backend import backend, epsilon, floatx, image_data_format, set_floatx  # noqa: F401
from .progress import disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled  # noqa: F401
