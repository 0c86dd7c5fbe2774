"""Layers: each maps a Tensor to a Tensor and owns its weights (Keras names and defaults)."""
from .base import LAYERS, Layer
from .convolutional import (AveragePooling2D, AvgPool2D, Conv2D, Convolution2D, GlobalAveragePooling2D, MaxPool2D,
                            MaxPooling2D)
from .core import (ELU, Activation, Dense, Dropout, Flatten, Input, InputLayer, LeakyReLU, PReLU, ReLU, Reshape,
                   Sigmoid, Softmax, Tanh)
from .merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                      dot, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization


def register(cls):
    """Make a Layer class known to model loading under its class name (subclasses of Layer already
    are; this re-registers one whose name another class took)."""
    LAYERS[cls.__name__] = cls
    return cls


def deserialize(config):
    name = config["class_name"]
    if name not in LAYERS:
        raise ValueError(f"unknown layer class {name!r} in the model config; known: {', '.join(sorted(LAYERS))}")
    return LAYERS[name].from_config(config["config"])


def serialize(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}
