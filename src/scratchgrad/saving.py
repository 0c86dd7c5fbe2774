"""keras.saving: save and load whole models, and register custom classes and functions so that files can
name them.

A saved file names every class (and custom function) by its registered name and is rebuilt from the
registries alone: nothing is imported or unpickled from it. Defining a Layer, Loss or Optimizer subclass
registers it under its class name; `register_keras_serializable(package)` adds "package>Name", as Keras
does, for a class whose plain name is taken, and for functions (a custom activation, loss or metric).
`load_model(path, custom_objects={...})` and `custom_object_scope({...})` map the names a file uses to
objects the caller passes.
"""
from .models.saving import ModelFileError, load_model
from .models.saving import save_model as _save_model
from .object_registration import (CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
                                  get_registered_object, register_keras_serializable)
from .serialization import deserialize_keras_object, serialize_keras_object


def save_model(model, filepath):
    _save_model(model, filepath)


def save_weights(model, filepath, overwrite=True):
    """model.save_weights(filepath); overwrite=False refuses a file that is there."""
    import os

    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False")
    model.save_weights(filepath)


def load_weights(model, filepath, skip_mismatch=False):
    """model.load_weights(filepath)."""
    if skip_mismatch:
        raise NotImplementedError("load_weights skip_mismatch=True is not supported here: every weight must match")
    model.load_weights(filepath)


__all__ = ["save_model", "load_model", "save_weights", "load_weights", "register_keras_serializable",
           "get_registered_name", "get_registered_object", "get_custom_objects", "CustomObjectScope",
           "custom_object_scope", "serialize_keras_object", "deserialize_keras_object", "ModelFileError"]
