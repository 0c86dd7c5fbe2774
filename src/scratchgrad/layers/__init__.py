"""Layers: each maps a Tensor to a Tensor and owns its weights (Keras names and defaults)."""
import inspect

from .attention import AdditiveAttention, Attention, GroupQueryAttention, MultiHeadAttention
from .audio_preprocessing import MelSpectrogram, STFTSpectrogram
from .base import LAYERS, Layer, Wrapper
from .convolutional import (AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D,
                            AdaptiveMaxPooling1D, AdaptiveMaxPooling2D, AdaptiveMaxPooling3D, AveragePooling1D,
                            AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D, AvgPool3D, Conv1D,
                            Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose, Convolution1D,
                            Convolution1DTranspose, Convolution2D, Convolution2DTranspose, Convolution3D,
                            Convolution3DTranspose, DepthwiseConv1D, DepthwiseConv2D, GlobalAveragePooling1D,
                            GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalAvgPool1D, GlobalAvgPool2D,
                            GlobalAvgPool3D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D, GlobalMaxPooling1D,
                            GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPool1D, MaxPool2D, MaxPool3D, MaxPooling1D,
                            MaxPooling2D, MaxPooling3D, SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
                            SeparableConvolution2D)
from .conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from .core import (ELU, Activation, Dense, Dropout, Embedding, Flatten, Identity, Input, InputLayer, LeakyReLU,
                   Masking, PReLU, ReLU, Reshape, ReversibleEmbedding, Sigmoid, Softmax, Tanh)
from .image_augmentation import (AugMix, AutoContrast, ContrastLimitedAdaptiveHistogramEqualization, CutMix,
                                 Equalization, MixUp, Pipeline, RandAugment, RandomColorDegeneration, RandomColorJitter, RandomErasing, RandomGaussianBlur,
                                 RandomGrayscale, RandomHue, RandomInvert, RandomPosterization, RandomSaturation,
                                 RandomSharpness, Solarization)
from .image_preprocessing import (MaxNumBoundingBoxes, RandomBrightness, RandomContrast, RandomCrop,
                                  RandomElasticTransform, RandomPerspective, RandomRotation, RandomShear,
                                  RandomTranslation, RandomZoom, Resizing)
from .einsum_dense import EinsumDense
from .input_spec import InputSpec
from .hashing import HashedCrossing, Hashing
from .index_lookup import IntegerLookup, StringLookup
from .merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                      dot, maximum, minimum, multiply, subtract)
from .normalization import (BatchNormalization, GroupNormalization, LayerNormalization, RMSNormalization,
                            SpectralNormalization, UnitNormalization)
from .preprocessing import CategoryEncoding, CenterCrop, Discretization, Normalization, RandomFlip, Rescaling
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed
from .regularization import (ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D,
                             SpatialDropout2D, SpatialDropout3D)
from .reshaping import (Cropping1D, Cropping2D, Cropping3D, Permute, RepeatVector, UpSampling1D, UpSampling2D,
                        UpSampling3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)
from .rnn import RNN, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .tensor_op import Lambda, TensorOp
from .text_vectorization import TextVectorization


def register(cls):
    """Make a Layer class known to model loading under its class name (subclasses of Layer already
    are; this re-registers one whose name another class took)."""
    LAYERS[cls.__name__] = cls
    return cls


def layer_class(config, custom_objects=None, base=None):
    """The Layer (or Model) class a config's "registered_name" or "class_name" means: first among the
    user's objects (`custom_objects`, custom_object_scope, register_keras_serializable), then the layer
    registry; found by name only, never imported. Raises ValueError, naming what was expected, when the
    name is unknown or means something that is not a subclass of `base` (Layer by default)."""
    from ..object_registration import lookup

    base = base or Layer
    names = [n for n in (config.get("registered_name"), config.get("class_name")) if isinstance(n, str) and n]
    if not names:
        raise ValueError(f"a layer config must name its class: class_name must be a string, got "
                         f"{config.get('class_name')!r:.80}")
    cls = next((c for c in (lookup(n, custom_objects) for n in names) if c is not None), None)
    if cls is None:  # a registered name is never taken for its bare class name: that may be another class
        cls = LAYERS.get(names[0])
    what = "layer" if base is Layer else "model" if base.__name__ == "Model" else base.__name__
    if cls is None:
        known = sorted(name for name, c in LAYERS.items() if issubclass(c, base))
        raise ValueError(f"unknown {what} class {names[0]!r} in the model config: define it before loading (a name "
                         f"another class has: register it with keras.saving.register_keras_serializable), or pass "
                         f"it in custom_objects; known: {', '.join(known)}")
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"{names[0]!r} in the model config must name a {base.__name__} subclass, but means "
                         f"{cls!r:.80}")
    return cls


def deserialize(config, custom_objects=None):
    """A layer from {"class_name", "config"[, "registered_name"]}; classes are looked up by name (see
    layer_class: `custom_objects` {name: class}, the custom_object_scope, the registries), never imported."""
    cls = layer_class(config, custom_objects)
    if custom_objects and "custom_objects" in inspect.signature(cls.from_config).parameters:  # models' layers
        return cls.from_config(config["config"], custom_objects=custom_objects)
    return cls.from_config(config["config"])


def serialize(layer):
    cls = type(layer)
    config = {"class_name": cls.__name__, "config": layer.get_config()}
    if "_registered_name" in cls.__dict__:  # registered as "package>Name" (keras.saving)
        config["registered_name"] = cls._registered_name
    return config
