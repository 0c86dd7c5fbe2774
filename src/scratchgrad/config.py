"""keras.config: the global settings Keras code reads and sets."""
import warnings

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

_settings = {"traceback_filtering": True, "flash_attention": None}


def enable_traceback_filtering():
    """Keras hides its own frames in tracebacks; scratchgrad's tracebacks are whole (its frames are the
    textbook's code), so the traceback-filtering setting is only recorded."""
    _settings["traceback_filtering"] = True


def disable_traceback_filtering():
    _settings["traceback_filtering"] = False


def is_traceback_filtering_enabled():
    return _settings["traceback_filtering"]


def enable_flash_attention():
    """Recorded only: no flash-attention kernel runs on NumPy, and attention gives the same numbers either
    way. is_flash_attention_enabled() is None (Keras's "decide by the hardware") until one of these is called."""
    _settings["flash_attention"] = True


def disable_flash_attention():
    _settings["flash_attention"] = False


def is_flash_attention_enabled():
    return _settings["flash_attention"]


def is_nnx_enabled():
    """Flax NNX is a JAX backend's feature: never on here."""
    return False


def enable_unsafe_deserialization():
    """Keras lets a file's Lambda layers run their saved Python bytecode after this call. scratchgrad never
    runs code from a file (a model file is untrusted input), so this only warns: give the function a name
    and register it (keras.saving.register_keras_serializable) to load such a layer."""
    warnings.warn("scratchgrad never runs code from a model file, unsafe deserialization or not: a Lambda layer "
                  "saved as Python bytecode will not load; register its function by name instead", stacklevel=2)


def set_backend(name):
    """scratchgrad has one backend, NumPy (CuPy arrays on a GPU): "numpy" is accepted, any other refused."""
    if name != "numpy":
        raise ValueError(f"scratchgrad runs on NumPy (CuPy arrays on a GPU); backend {name!r} is not available")


class DTypePolicy:
    """A layer's dtypes, as Keras names them: here the variables and the computation share one float dtype."""

    def __init__(self, name):
        self.name = self.compute_dtype = self.variable_dtype = name

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


def dtype_policy():
    return DTypePolicy(floatx())


def set_dtype_policy(policy):
    """"float16", "float32" or "float64" (a DTypePolicy too) sets floatx. Mixed precision ("mixed_float16",
    float16 computation over float32 weights) speeds GPUs, not NumPy on a CPU, and is refused by name."""
    name = getattr(policy, "name", policy)
    if name not in ("float16", "float32", "float64"):
        raise ValueError(f"dtype policy {name!r} is not available: scratchgrad computes in one float dtype, "
                         f"'float16', 'float32' or 'float64' (no mixed precision, no quantized policies)")
    set_floatx(name)
