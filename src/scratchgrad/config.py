"""keras.config: the global settings Keras code reads and sets."""
from .backend import (  # noqa: F401
    backend,
    epsilon,
    floatx,
    image_data_format,
    max_epochs,
    max_steps_per_epoch,
    set_epsilon,
    set_floatx,
    set_image_data_format,
    set_max_epochs,
    set_max_steps_per_epoch,
)
from .progress import disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled  # noqa: F401
