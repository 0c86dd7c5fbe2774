"""Conv2D and the pooling layers, on the im2col primitives of convolution.py (Keras names and layouts)."""
from .. import activations, initializers, regularizers
from .. import convolution as C
from .. import ops
from .base import Layer, serialize_initializer, serialize_regularizer


def _channels_axis(data_format):
    if data_format not in C.DATA_FORMATS:
        raise ValueError(f"unknown data_format {data_format!r}; expected one of {', '.join(C.DATA_FORMATS)}")
    return 1 if data_format == "channels_first" else -1


def _check_rank(layer, input_shape):
    if len(input_shape) != 4:
        raise ValueError(f"{layer.name} ({type(layer).__name__}) needs 4-D inputs (batch, height, width, channels) "
                         f"for {layer.data_format}, got shape {input_shape}")


class Conv2D(Layer):
    """2-D convolution: `filters` kernels of `kernel_size` slide over the image (im2col + one matrix
    product). `kernel` has Keras's shape (kh, kw, in_channels / groups, filters); `bias` (filters,).
    `dilation_rate` spaces the kernel's taps apart (a dilated kernel, zeros between its entries);
    `groups` splits the channels into independent convolutions."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.dilation_rate, self.groups = C._pair(dilation_rate, "Conv2D dilation_rate"), int(groups)
        if filters % self.groups:
            raise ValueError(f"Conv2D filters ({filters}) must be divisible by groups ({groups})")
        if int(filters) != filters or filters < 1:
            raise ValueError(f"Conv2D filters must be a positive integer, got {filters!r}")
        self.filters, self.use_bias = int(filters), use_bias
        self.kernel_size = C._pair(kernel_size, "Conv2D kernel_size")
        self.strides = C._pair(strides, "Conv2D strides")
        C._check_padding(padding, "Conv2D")
        self.padding, self.data_format = padding, data_format
        self.channel_axis = _channels_axis(data_format)
        self.activation = activations.get(activation)
        self._init_names = (kernel_initializer, bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel = self.bias = None

    def build(self, input_shape):
        _check_rank(self, input_shape)
        channels = input_shape[self.channel_axis]
        if channels % self.groups:
            raise ValueError(f"{self.name}: {channels} input channels are not divisible by groups={self.groups}")
        shape = self.kernel_size + (channels // self.groups, self.filters)
        self.kernel = self.add_weight(shape, initializers.get(self._init_names[0]), regularizer=self.kernel_regularizer,
                                      name="kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), initializers.get(self._init_names[1]),
                                        regularizer=self.bias_regularizer, name="bias")

    @property
    def output_activation(self):
        return activations.name_of(self.activation)

    def call_without_activation(self, x, training=False):
        kernel = self.kernel
        if self.dilation_rate != (1, 1):
            kernel = ops.dilate(kernel, self.dilation_rate + (1, 1))
        if self.groups == 1:
            return C.conv2d(x, kernel, self.bias, self.strides, self.padding, self.data_format)
        return _grouped(x, kernel, self.bias, self.groups, self.strides, self.padding, self.data_format)

    def call(self, x, training=False):
        return self.activation(self.call_without_activation(x, training))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize_initializer(self._init_names[0]),
                "bias_initializer": serialize_initializer(self._init_names[1]),
                "kernel_regularizer": serialize_regularizer(self.kernel_regularizer),
                "bias_regularizer": serialize_regularizer(self.bias_regularizer)}


def _grouped(x, kernel, bias, groups, strides, padding, data_format):
    """`groups` convolutions side by side: group g sees input channels g·c .. (g+1)·c and makes
    filters g·f .. (g+1)·f; their outputs are joined along the channels."""
    axis = 1 if data_format == "channels_first" else 3
    cin, cout = kernel.shape[2], kernel.shape[3] // groups
    parts = []
    for g in range(groups):
        index = [slice(None)] * 4
        index[axis] = slice(g * cin, (g + 1) * cin)
        part_bias = None if bias is None else bias[g * cout:(g + 1) * cout]
        parts.append(C.conv2d(x[tuple(index)], kernel[:, :, :, g * cout:(g + 1) * cout], part_bias, strides, padding,
                              data_format))
    return ops.concatenate(parts, axis=axis)


class DepthwiseConv2D(Conv2D):
    """One kernel per input channel (depth_multiplier of them), no mixing across channels: output
    channel c·m + k is input channel c filtered by its k-th kernel. `depthwise_kernel` is (kh, kw,
    channels, depth_multiplier), as in Keras."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format="channels_last",
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(1, kernel_size, strides, padding, data_format, dilation_rate, 1, activation, use_bias,
                         depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer, **kwargs)
        self.depth_multiplier = int(depth_multiplier)

    def build(self, input_shape):
        _check_rank(self, input_shape)
        channels = input_shape[self.channel_axis]
        self.filters, self.groups = channels * self.depth_multiplier, channels
        self.depthwise_kernel = self.add_weight(self.kernel_size + (channels, self.depth_multiplier),
                                                initializers.get(self._init_names[0]),
                                                regularizer=self.kernel_regularizer, name="depthwise_kernel")
        self.kernel = None
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), initializers.get(self._init_names[1]),
                                        regularizer=self.bias_regularizer, name="bias")

    def call_without_activation(self, x, training=False):
        kh, kw, channels, multiplier = self.depthwise_kernel.shape
        kernel = self.depthwise_kernel.reshape(kh, kw, 1, channels * multiplier)  # group c: its m kernels
        if self.dilation_rate != (1, 1):
            kernel = ops.dilate(kernel, self.dilation_rate + (1, 1))
        return _grouped(x, kernel, self.bias, channels, self.strides, self.padding, self.data_format)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups"):
            del config[key]
        for part in ("initializer", "regularizer"):
            config[f"depthwise_{part}"] = config.pop(f"kernel_{part}")
        return {**config, "depth_multiplier": self.depth_multiplier}


class SeparableConv2D(Layer):
    """A depthwise convolution (each channel filtered alone) followed by a 1×1 convolution mixing the
    channels: far fewer weights than a full Conv2D. Keras's weights: depthwise_kernel (kh, kw,
    channels, depth_multiplier), pointwise_kernel (1, 1, channels·depth_multiplier, filters), bias."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.padding, self.data_format, self.dilation_rate = padding, data_format, dilation_rate
        self.depth_multiplier, self.use_bias = depth_multiplier, use_bias
        self.activation = activations.get(activation)
        self.depthwise = DepthwiseConv2D(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate,
                                         use_bias=False, name=f"{self.name}_depthwise")
        self.pointwise = Conv2D(filters, 1, data_format=data_format, use_bias=use_bias, name=f"{self.name}_pointwise")

    def build(self, input_shape):
        self.depthwise.dtype = self.depthwise.dtype or self.dtype
        self.depthwise.build(input_shape)
        self.depthwise.built = True
        middle = list(input_shape)
        middle[_channels_axis(self.data_format)] = input_shape[_channels_axis(self.data_format)] * self.depth_multiplier
        self.pointwise.dtype = self.pointwise.dtype or self.dtype
        self.pointwise.build(tuple(middle))
        self.pointwise.built = True

    def call(self, x):
        return self.activation(self.pointwise(self.depthwise(x)))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "depth_multiplier": self.depth_multiplier,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias}


class Conv2DTranspose(Conv2D):
    """The transposed convolution (sometimes called deconvolution): each input pixel stamps the kernel,
    scaled, onto a `strides` times larger output. Written as what it equals, a convolution: spread the
    input out with strides - 1 zeros between pixels, pad it by kernel - 1, and cross-correlate with
    the flipped kernel. `kernel` has Keras's shape (kh, kw, filters, in_channels)."""

    def build(self, input_shape):
        _check_rank(self, input_shape)
        shape = self.kernel_size + (self.filters, input_shape[self.channel_axis])
        self.kernel = self.add_weight(shape, initializers.get(self._init_names[0]), regularizer=self.kernel_regularizer,
                                      name="kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), initializers.get(self._init_names[1]),
                                        regularizer=self.bias_regularizer, name="bias")

    def call_without_activation(self, x, training=False):
        first = self.data_format == "channels_first"
        spatial = (2, 3) if first else (1, 2)
        factors = [1] * 4
        widths = [(0, 0)] * 4
        for axis, s, k in zip(spatial, self.strides, self.kernel_size):
            factors[axis] = s
            n = x.shape[axis]
            target = n * s if self.padding == "same" else (n - 1) * s + max(k, s)  # Keras's output length
            before = k - 1 - (max(k - s, 0) // 2 if self.padding == "same" else 0)
            widths[axis] = (before, target - (n - 1) * s + k - 2 - before)
        x = ops.pad(ops.dilate(x, factors), widths)
        flipped = self.kernel[::-1, ::-1].transpose(0, 1, 3, 2)  # (kh, kw, in_channels, filters)
        return C.conv2d(x, flipped, self.bias, 1, "valid", self.data_format)


class _Pooling2D(Layer):
    """Shared by MaxPooling2D and AveragePooling2D; `op` is the pooling Function."""

    op = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.pool_size = C._pair(pool_size, f"{name} pool_size")
        self.strides = self.pool_size if strides is None else C._pair(strides, f"{name} strides")
        C._check_padding(padding, name)
        self.padding, self.data_format = padding, data_format
        _channels_axis(data_format)

    def build(self, input_shape):
        _check_rank(self, input_shape)

    def _function(self):
        return self.op(self.pool_size, self.strides, self.padding, self.data_format == "channels_first")

    def call(self, x, training=False):
        C._check_input(x, self.data_format, self.name)
        C._check_fits(x, self.pool_size, self.padding, self.data_format == "channels_first", self.name, "pool window")
        return self._function()(x)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    """The max of each pool window (strides default to pool_size)."""

    op = C.MaxPool2D


class AveragePooling2D(_Pooling2D):
    """The mean of each pool window (with "same" padding, of its real pixels only)."""

    op = C.AvgPool2D


class _GlobalPooling(Layer):
    """The mean (or max) of each channel over every spatial position: (batch, channels), or with
    `keepdims` the spatial axes kept as size 1. `rank` is 1 for sequences, 2 for images."""

    rank, reduce = 2, "mean"

    def __init__(self, data_format="channels_last", keepdims=False, **kwargs):
        super().__init__(**kwargs)
        first = _channels_axis(data_format) == 1
        self.data_format, self.keepdims = data_format, keepdims
        self.axes = tuple(range(2, 2 + self.rank)) if first else tuple(range(1, 1 + self.rank))

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self.name} ({type(self).__name__}) needs {self.rank + 2}-D inputs, got shape "
                             f"{input_shape}")

    def call(self, x):
        return getattr(x, self.reduce)(axis=self.axes, keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean of each channel over the whole image: (batch, channels)."""


class GlobalMaxPooling2D(_GlobalPooling):
    """The largest value of each channel over the whole image: (batch, channels)."""

    reduce = "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean of each feature over the time steps: (batch, steps, features) -> (batch, features)."""

    rank = 1


class GlobalMaxPooling1D(_GlobalPooling):
    rank, reduce = 1, "max"


MaxPool2D, AvgPool2D, Convolution2D = MaxPooling2D, AveragePooling2D, Conv2D
GlobalAvgPool2D, GlobalMaxPool2D, GlobalAvgPool1D, GlobalMaxPool1D = (GlobalAveragePooling2D, GlobalMaxPooling2D,
                                                                      GlobalAveragePooling1D, GlobalMaxPooling1D)
