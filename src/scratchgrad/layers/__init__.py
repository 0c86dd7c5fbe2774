"""Layers: each maps a Tensor to a Tensor and owns its weights (Keras names and defaults)."""
import inspect

from .attention import AdditiveAttention, Attention, MultiHeadAttention
from .base import LAYERS, Layer
from .convolutional import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, Conv1D, Conv1DTranspose, Conv2D,
                            Conv2DTranspose, Convolution1D, Convolution2D, DepthwiseConv1D, DepthwiseConv2D,
                            GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAvgPool1D, GlobalAvgPool2D,
                            GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D,
                            MaxPool2D, MaxPooling1D, MaxPooling2D, SeparableConv1D, SeparableConv2D)
from .core import (ELU, Activation, Dense, Dropout, Embedding, Flatten, Input, InputLayer, LeakyReLU, Masking, PReLU,
                   ReLU, Reshape, Sigmoid, Softmax, Tanh)
from .image_preprocessing import RandomRotation, RandomTranslation, RandomZoom, Resizing
from .merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                      dot, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization
from .preprocessing import CenterCrop, Normalization, RandomFlip, Rescaling
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed
from .regularization import ActivityRegularization, GaussianNoise, SpatialDropout2D
from .reshaping import (Cropping1D, Cropping2D, Permute, RepeatVector, UpSampling1D, UpSampling2D, ZeroPadding1D,
                        ZeroPadding2D)
from .tensor_op import Lambda, TensorOp
from .text_vectorization import TextVectorization


def register(cls):
    """Make a Layer class known to model loading under its class name (subclasses of Layer already
    are; this re-registers one whose name another class took)."""
    LAYERS[cls.__name__] = cls
    return cls


def deserialize(config, custom_objects=None):
    """A layer from {"class_name", "config"[, "registered_name"]}; classes are looked up in the registry
    (or `custom_objects`, {name: class}) by name, never imported."""
    name = config.get("registered_name") or config["class_name"]
    cls = (custom_objects or {}).get(name) or (custom_objects or {}).get(config["class_name"]) or LAYERS.get(name)
    if cls is None:
        raise ValueError(f"unknown layer class {name!r} in the model config: define it (and, for a name "
                         f"another class has, register it with keras.saving.register_keras_serializable) "
                         f"before loading; known: {', '.join(sorted(LAYERS))}")
    if custom_objects and "custom_objects" in inspect.signature(cls.from_config).parameters:  # models' layers
        return cls.from_config(config["config"], custom_objects=custom_objects)
    return cls.from_config(config["config"])


def serialize(layer):
    cls = type(layer)
    config = {"class_name": cls.__name__, "config": layer.get_config()}
    if "_registered_name" in cls.__dict__:  # registered as "package>Name" (keras.saving)
        config["registered_name"] = cls._registered_name
    return config
