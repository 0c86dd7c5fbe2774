"""keras.saving: save and load whole models, and register custom classes so that files can name them.

A saved file names every class by its registered name and is rebuilt from the registries alone:
nothing is imported or unpickled from it. Defining a Layer, Loss or Optimizer subclass registers it
under its class name; `register_keras_serializable(package)` adds "package>Name", as Keras does, for a
class whose plain name is taken.
"""
from . import losses, optimizers
from .layers import LAYERS, Layer
from .models.saving import ModelFileError, load_model
from .models.saving import save_model as _save_model


def save_model(model, filepath):
    _save_model(model, filepath)


def register_keras_serializable(package="Custom", name=None):
    """Class decorator: register a custom Layer (or Model), Loss or Optimizer under "package>name"."""
    def register(cls):
        key = f"{package}>{name or cls.__name__}"
        registries = [(Layer, LAYERS), (losses.Loss, losses.CLASSES), (optimizers.Optimizer, optimizers.CLASSES)]
        registry = next((r for base, r in registries if issubclass(cls, base)), None)
        if registry is None:
            raise TypeError(f"register_keras_serializable takes a Layer, Model, Loss or Optimizer subclass, "
                            f"got {cls.__name__}")
        registry[key] = cls
        cls._registered_name = key
        return cls
    return register


def get_registered_name(cls):
    return cls.__dict__.get("_registered_name", cls.__name__)


__all__ = ["save_model", "load_model", "register_keras_serializable", "get_registered_name", "ModelFileError"]
