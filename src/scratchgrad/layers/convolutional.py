"""Convolution and pooling layers, 1-D, 2-D and 3-D, on the im2col primitives of convolution.py (Keras
names and layouts). A 1-D layer is its 2-D counterpart run on one-row images: a batch of sequences (N, steps,
C) goes through conv2d and the pooling Functions as (N, 1, steps, C), so there is one im2col. A 3-D layer
runs its 2-D counterpart once per depth tap of its window, over every depth slice that tap meets as one
batch of images, and folds the taps' results (sums for a convolution, maxima or means for a pooling)."""
import numpy as np

from .. import activations
from .. import convolution as C
from ..backend import image_data_format
from .. import ops
from .base import Layer

_LAYOUTS = {(1, "channels_last"): "(batch, steps, channels)", (1, "channels_first"): "(batch, channels, steps)",
            (2, "channels_last"): "(batch, height, width, channels)",
            (2, "channels_first"): "(batch, channels, height, width)",
            (3, "channels_last"): "(batch, depth, height, width, channels)",
            (3, "channels_first"): "(batch, channels, depth, height, width)"}


def standard_data_format(data_format):
    """Keras's data_format argument: "channels_last" or "channels_first"; None: config.image_data_format(),
    read when the layer is made (channels_last unless set_image_data_format changed it)."""
    data_format = image_data_format() if data_format is None else data_format
    if data_format not in C.DATA_FORMATS:
        raise ValueError(f"unknown data_format {data_format!r}; expected one of {', '.join(C.DATA_FORMATS)}")
    return data_format


def _channels_axis(data_format):
    return 1 if standard_data_format(data_format) == "channels_first" else -1


def spatial_axes(data_format, rank):
    """The axes of the `rank` spatial dimensions of a batch in `data_format`."""
    return tuple(range(2, 2 + rank)) if data_format == "channels_first" else tuple(range(1, 1 + rank))


def _check_rank(layer, input_shape):
    if len(input_shape) != layer.rank + 2:
        raise ValueError(f"{layer.name} ({type(layer).__name__}) needs {layer.rank + 2}-D inputs "
                         f"{_LAYOUTS[layer.rank, layer.data_format]} for {layer.data_format}, got shape {input_shape}")


class _Spatial(Layer):
    """A layer over the `rank` spatial axes of sequences (1), images (2) or volumes (3), in `data_format`:
    it takes inputs of rank + 2 axes, as Keras's input spec."""

    rank = 2

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standard_data_format(data_format)

    def build(self, input_shape):
        _check_rank(self, input_shape)


def set_conv_options(layer, filters, kernel_size, strides, padding, data_format, dilation_rate,
                     paddings=C.PADDINGS):
    """A convolution's Keras arguments, checked, as the layer's attributes: filters, kernel_size, strides,
    dilation_rate (strides > 1 with dilation > 1 refused, as Keras), padding and data_format."""
    kind = type(layer).__name__
    if int(filters) != filters or filters < 1:
        raise ValueError(f"{kind} filters must be a positive integer, got {filters!r}")
    layer.filters = int(filters)
    layer.kernel_size = _sizes(kernel_size, layer.rank, f"{kind} kernel_size")
    layer.strides = _sizes(strides, layer.rank, f"{kind} strides")
    layer.dilation_rate = _sizes(dilation_rate, layer.rank, f"{kind} dilation_rate")
    if max(layer.strides) > 1 and max(layer.dilation_rate) > 1:
        raise ValueError(f"{kind} takes strides > 1 or dilation_rate > 1, not both: got strides={strides} and "
                         f"dilation_rate={dilation_rate}")
    _check_padding(layer, padding, paddings)
    layer.padding, layer.data_format = padding, standard_data_format(data_format)


def _sizes(value, rank, name, minimum=1):
    """Keras's size arguments (kernel_size, strides, ...): one int for every axis, or one per axis, each at
    least `minimum`."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank
    if len(values) != rank or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum
                                      for v in values):
        kind = "a positive integer" if minimum == 1 else f"an int >= {minimum}"
        many = {1: "(or a 1-tuple of one)", 2: "or a pair of them", 3: "or three of them"}[rank]
        raise ValueError(f"{name} must be {kind} {many}, got {value!r}")
    return tuple(int(v) for v in values)


def _check_padding(layer, padding, allowed=C.PADDINGS):
    if padding not in allowed:
        raise ValueError(f"{type(layer).__name__}: unknown padding {padding!r}; expected one of {', '.join(allowed)}")


def _through_images(layer, x, window, padding, fn, channels=None):
    """fn, which works on image batches, applied to a batch of sequences: a sequence is an image one row
    high, so (N, steps, C) goes in as (N, 1, steps, C) (channels_first: (N, C, steps) as (N, C, 1, steps))
    and its one row comes back out. The input is checked here, in the sequence's terms: its rank, that
    `window` (steps) fits and that it has `channels` channels (when given)."""
    if x.ndim != 3:
        raise ValueError(f"{layer.name} ({type(layer).__name__}) needs 3-D inputs "
                         f"{_LAYOUTS[1, layer.data_format]} for {layer.data_format}, got shape {x.shape}")
    axis = 2 if layer.data_format == "channels_first" else 1
    steps = x.shape[-1 if axis == 2 else 1]
    if channels is not None and x.shape[3 - axis] != channels:
        raise ValueError(f"{layer.name} ({type(layer).__name__}): input has {x.shape[3 - axis]} channels (shape "
                         f"{x.shape}, {layer.data_format}) but the layer expects {channels}")
    if padding == "valid" and window > steps:
        raise ValueError(f"{layer.name} ({type(layer).__name__}): its window of {window} steps is longer than the "
                         f"input's {steps} steps (input shape {x.shape}) with padding 'valid'")
    return ops.squeeze(fn(ops.expand_dims(x, axis)), axis)


def _through_depth(layer, x, size, stride, padding, per_tap, fold, fill=0.0, every=1, channels=None):
    """A 3-D window op from 2-D ones: the input (N, D, H, W, C) (channels_first: (N, C, D, H, W)) padded
    along its depth by Keras's rule (with `fill`), then for each depth tap d of a window of `size` (every
    `every`-th: a dilated kernel's others are zeros), the depth slices it meets (every `stride`-th from d)
    as one batch of images, through `per_tap(d, images)`; `fold(a, b)` folds the taps' results, which then
    go back to volumes. The input is checked here, in the volume's terms: its rank, that the window's depth
    fits and that it has `channels` channels (when given)."""
    kind, first = f"{layer.name} ({type(layer).__name__})", layer.data_format == "channels_first"
    if x.ndim != 5:
        raise ValueError(f"{kind} needs 5-D inputs {_LAYOUTS[3, layer.data_format]} for {layer.data_format}, "
                         f"got shape {x.shape}")
    if channels is not None and x.shape[1 if first else 4] != channels:
        raise ValueError(f"{kind}: input has {x.shape[1 if first else 4]} channels (shape {x.shape}, "
                         f"{layer.data_format}) but the layer expects {channels}")
    depth = x.shape[2 if first else 1]
    if padding == "valid" and size > depth:
        raise ValueError(f"{kind}: its window of depth {size} is deeper than the input's {depth} (input shape "
                         f"{x.shape}, {layer.data_format}) with padding 'valid'")
    x = ops.transpose(x, (0, 2, 3, 4, 1)) if first else x
    n = x.shape[0]
    out, depth_pads = C.padding_of(depth, size, stride, padding)
    if any(depth_pads):
        x = ops.pad(x, [(0, 0), depth_pads] + [(0, 0)] * 3, constant_values=fill)
    y = None
    for d in range(0, size, every):
        images = x[:, d:d + stride * (out - 1) + 1:stride].reshape((n * out,) + x.shape[2:])
        part = per_tap(d, images)
        y = part if y is None else fold(y, part)
    y = y.reshape((n, out) + y.shape[1:])
    return ops.transpose(y, (0, 4, 1, 2, 3)) if first else y


def convolve(layer, x, kernel, strides, padding, bias, groups=1, depth_dilation=1):
    """x convolved with a kernel in Keras's layout (already dilated, `depth_dilation` along a volume's depth),
    plus `bias` (or None), for a layer of `rank` 1, 2 or 3 in its data_format: sequences as one-row images,
    volumes as the sum of their depth taps' image convolutions."""
    rank, data_format = layer.rank, layer.data_format
    if rank == 2:
        return _grouped(x, kernel, bias, groups, strides, padding, data_format)
    if rank == 3:
        return _through_depth(layer, x, kernel.shape[0], strides[0], padding, lambda d, images: _grouped(
            images, kernel[d], bias if d == 0 else None, groups, strides[1:], padding, "channels_last"),
            lambda a, b: a + b, every=depth_dilation, channels=kernel.shape[3] * groups)
    image_kernel = kernel.reshape((1,) + kernel.shape)
    return _through_images(layer, x, kernel.shape[0], padding, lambda images: _grouped(
        images, image_kernel, bias, groups, (1,) + strides, padding, data_format), channels=kernel.shape[1] * groups)


class _Conv(Layer):
    """Convolution: `filters` kernels of `kernel_size` slide over the input (im2col + one matrix product).
    `kernel` has Keras's shape (*kernel_size, in_channels / groups, filters); `bias` (filters,).
    `dilation_rate` spaces the kernel's taps apart (a dilated kernel, zeros between its entries);
    `groups` splits the channels into independent convolutions. `rank` is 1 for sequences, 2 for images,
    3 for volumes (video, scans)."""

    rank, paddings = 2, C.PADDINGS
    _calls_convolution_op = False  # Keras's Conv2D (and 3D) run a subclass's convolution_op; the others do not

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.groups, self.use_bias = int(groups), use_bias
        if filters % self.groups:
            raise ValueError(f"{type(self).__name__} filters ({filters}) must be divisible by groups ({groups})")
        set_conv_options(self, filters, kernel_size, strides, padding, data_format, dilation_rate, self.paddings)
        self.channel_axis = _channels_axis(self.data_format)
        self.activation = activations.get(activation)
        self._set_weight_options(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                                 kernel_constraint, bias_constraint)
        self.kernel = self.bias = None

    def build(self, input_shape):
        _check_rank(self, input_shape)
        channels = input_shape[self.channel_axis]
        if channels % self.groups:
            raise ValueError(f"{self.name}: {channels} input channels are not divisible by groups={self.groups}")
        self._add_kernel_and_bias(self.kernel_size + (channels // self.groups, self.filters))

    def _add_kernel_and_bias(self, shape):
        self.kernel = self.add_weight(shape, self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._add_bias()

    def _add_bias(self):
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")

    @property
    def output_activation(self):
        return activations.name_of(self.activation)

    def _grouped_kernel(self):
        """The kernel as the convolution takes it: (*kernel_size, in_channels / groups, filters)."""
        return self.kernel

    def _kernel(self):
        """The kernel to convolve with: `_grouped_kernel`, dilated by dilation_rate."""
        return self._dilated(self._grouped_kernel())

    def _dilated(self, kernel):
        return ops.dilate(kernel, self.dilation_rate + (1, 1)) if max(self.dilation_rate) > 1 else kernel

    def _convolve(self, x, kernel, strides, padding, bias):
        return convolve(self, x, kernel, strides, padding, bias, self.groups, self.dilation_rate[0])

    def _conv(self, x, kernel, bias):
        """This layer's convolution (its strides and padding) with an already dilated kernel."""
        return self._convolve(x, kernel, self.strides, self.padding, bias)

    def convolution_op(self, inputs, kernel):
        """The convolution alone, no bias: Keras's hook. A subclass may override it (to standardize the kernel,
        say); the layer then adds the bias after it, instead of in the same product."""
        return self._conv(inputs, self._dilated(kernel), None)

    def call_without_activation(self, x, training=False):
        if self._calls_convolution_op and type(self).convolution_op is not _Conv.convolution_op:
            y = self.convolution_op(x, self._grouped_kernel())
            if self.bias is None:
                return y
            return y + (ops.reshape(self.bias, (-1,) + (1,) * self.rank) if self.channel_axis == 1 else self.bias)
        return self._conv(x, self._kernel(), self.bias)

    def call(self, x, training=False):
        return self.activation(self.call_without_activation(x, training))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **self._weight_options_config()}


def _grouped(x, kernel, bias, groups, strides, padding, data_format):
    """`groups` convolutions side by side: group g sees input channels g·c .. (g+1)·c and makes
    filters g·f .. (g+1)·f; their outputs are joined along the channels."""
    if groups == 1:
        return C.conv2d(x, kernel, bias, strides, padding, data_format)
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


class Conv2D(_Conv):
    """2-D convolution of images: kernel (kh, kw, in_channels / groups, filters)."""

    _calls_convolution_op = True


class Conv3D(_Conv):
    """3-D convolution of volumes (batch, depth, height, width, channels): kernel (kd, kh, kw,
    in_channels / groups, filters)."""

    rank, _calls_convolution_op = 3, True


class Conv1D(_Conv):
    """1-D convolution of sequences (batch, steps, channels): kernel (k, in_channels / groups, filters).
    padding="causal" pads dilation·(k − 1) zeros before the first step only, so that output step t
    sees input steps ≤ t (Keras's causal convolution, for autoregressive models)."""

    rank, paddings = 1, C.PADDINGS + ("causal",)

    def _conv(self, x, kernel, bias):
        if self.padding != "causal":
            return self._convolve(x, kernel, self.strides, self.padding, bias)
        widths = [(0, 0)] * x.ndim
        widths[2 if self.data_format == "channels_first" else 1] = (kernel.shape[0] - 1, 0)
        return self._convolve(ops.pad(x, widths), kernel, self.strides, "valid", bias)


class _DepthwiseConv(_Conv):
    """One kernel per input channel (depth_multiplier of them), no mixing across channels: output
    channel c·m + k is input channel c filtered by its k-th kernel. `depthwise_kernel` is (*kernel_size,
    channels, depth_multiplier), as in Keras."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, kernel_size, strides, padding, data_format, dilation_rate, 1, activation, use_bias,
                         depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)
        self.depth_multiplier = int(depth_multiplier)

    def build(self, input_shape):
        _check_rank(self, input_shape)
        channels = input_shape[self.channel_axis]
        self.filters, self.groups = channels * self.depth_multiplier, channels
        self.depthwise_kernel = self.add_weight(self.kernel_size + (channels, self.depth_multiplier),
                                                self.kernel_initializer,
                                                regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                                name="depthwise_kernel")
        self.kernel = None
        self._add_bias()

    def _grouped_kernel(self):
        *size, channels, multiplier = self.depthwise_kernel.shape
        return self.depthwise_kernel.reshape(tuple(size) + (1, channels * multiplier))  # group c: its m kernels

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups"):
            del config[key]
        for part in ("initializer", "regularizer", "constraint"):
            config[f"depthwise_{part}"] = config.pop(f"kernel_{part}")
        return {**config, "depth_multiplier": self.depth_multiplier}


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution: depthwise_kernel (kh, kw, channels, depth_multiplier)."""


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution: depthwise_kernel (k, channels, depth_multiplier)."""

    rank = 1


class _SeparableConv(Layer):
    """A depthwise convolution (each channel filtered alone) followed by a pointwise (size 1) convolution
    mixing the channels: far fewer weights than a full convolution. Keras's weights: depthwise_kernel
    (*kernel_size, channels, depth_multiplier), pointwise_kernel (1, ..., channels·depth_multiplier,
    filters), bias."""

    depthwise_class = pointwise_class = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.padding, self.data_format, self.dilation_rate = padding, standard_data_format(data_format), dilation_rate
        self.depth_multiplier, self.use_bias = depth_multiplier, use_bias
        self.activation = activations.get(activation)
        self.depthwise = self.depthwise_class(
            kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, use_bias=False,
            depthwise_initializer=depthwise_initializer, depthwise_regularizer=depthwise_regularizer,
            depthwise_constraint=depthwise_constraint, name=f"{self.name}_depthwise")
        self.pointwise = self.pointwise_class(
            filters, 1, data_format=data_format, use_bias=use_bias, kernel_initializer=pointwise_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=pointwise_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=pointwise_constraint, bias_constraint=bias_constraint,
            name=f"{self.name}_pointwise")

    def build(self, input_shape):
        self.depthwise.dtype = self.depthwise.dtype or self.dtype
        self.depthwise.build(input_shape)
        self.depthwise.built = True
        middle = list(input_shape)
        middle[_channels_axis(self.data_format)] = input_shape[_channels_axis(self.data_format)] * self.depth_multiplier
        self.pointwise.dtype = self.pointwise.dtype or self.dtype
        self.pointwise.build(tuple(middle))
        self.pointwise.built = True
        for w, name in zip(self.depthwise.weights + self.pointwise.weights, ("depthwise_kernel", "pointwise_kernel",
                                                                            "bias")):
            w.name = f"{self.name}/{name}"  # Keras's names: the weights are this layer's, the sublayers a means

    def call(self, x):
        return self.activation(self.pointwise(self.depthwise(x)))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "depth_multiplier": self.depth_multiplier,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **self._weight_options()}

    def _weight_options(self):
        """The sublayers' initializers, regularizers and constraints under Keras's names for this layer."""
        depthwise, pointwise = self.depthwise.get_config(), self.pointwise.get_config()
        options = {}
        for part in ("initializer", "regularizer", "constraint"):
            options[f"depthwise_{part}"] = depthwise[f"depthwise_{part}"]
            options[f"pointwise_{part}"] = pointwise[f"kernel_{part}"]
            options[f"bias_{part}"] = pointwise[f"bias_{part}"]
        return options


class SeparableConv2D(_SeparableConv):
    """Separable 2-D convolution: depthwise_kernel (kh, kw, channels, m), pointwise_kernel (1, 1, channels·m,
    filters)."""

    depthwise_class, pointwise_class = DepthwiseConv2D, Conv2D


class SeparableConv1D(_SeparableConv):
    """Separable 1-D convolution: depthwise_kernel (k, channels, m), pointwise_kernel (1, channels·m, filters)."""

    depthwise_class, pointwise_class = DepthwiseConv1D, Conv1D


class _ConvTranspose(_Conv):
    """The transposed convolution (sometimes called deconvolution): each input pixel stamps the kernel,
    scaled, onto a `strides` times larger output. Written as what it equals, a convolution: spread the
    input out with strides - 1 zeros between pixels, pad it by kernel - 1, and cross-correlate with
    the flipped kernel. `kernel` has Keras's shape (*kernel_size, filters, in_channels); a dilated
    kernel counts with its dilated size, as in Keras. `output_padding` (below strides) picks the output's
    length among those a stride maps to the same input length: (n - 1)·stride + kernel - 2·pad +
    output_padding, pad = kernel // 2 for "same" and 0 for "valid"."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        if kwargs.pop("groups", 1) != 1:  # configs saved before output_padding hold groups=1
            raise ValueError(f"{type(self).__name__} takes no groups")
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)
        kind = type(self).__name__
        self.output_padding = None if output_padding is None else \
            _sizes(output_padding, self.rank, f"{kind} output_padding", minimum=0)
        if self.output_padding is not None and any(p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{kind} output_padding {output_padding!r} must be smaller than strides "
                             f"{self.strides} on every axis")

    def build(self, input_shape):
        _check_rank(self, input_shape)
        self._add_kernel_and_bias(self.kernel_size + (self.filters, input_shape[self.channel_axis]))

    def call_without_activation(self, x, training=False):
        return transposed_convolution(x, self._kernel(), self.strides, self.padding, self.output_padding,
                                      self.data_format, lambda spread, flipped: self._convolve(
                                          spread, flipped, (1,) * self.rank, "valid", self.bias))

    def get_config(self):
        config = {**super().get_config(), "output_padding": None if self.output_padding is None else
                  list(self.output_padding)}
        del config["groups"]
        return config


def _transposed_pads(padding, extra, s, k):
    """The zeros before and after the stride-spread input along a spatial axis, for a kernel of (dilated)
    size k and the axis's output_padding `extra` (or None), that make the valid correlation with the flipped
    kernel Keras's output (its JAX rule)."""
    if padding == "valid":
        return k - 1, k - 1 + (max(k, s) - k if extra is None else extra)
    total = s + k - 2 if extra is None else k + k % 2 - 2 + extra
    before = min(total // 2 + total % 2, k - 1)
    return before, total - before


def transposed_convolution(x, kernel, strides, padding, output_padding, data_format, convolve):
    """The transposed convolution of x with a (dilated) kernel (*window, filters, in_channels), written as
    _ConvTranspose says: x spread out by strides and padded, then convolve(spread, flipped kernel) with
    stride 1 and valid padding (the layer's convolution, or keras.ops.conv)."""
    rank = kernel.ndim - 2
    first = data_format == "channels_first"
    spatial = range(2, x.ndim) if first else range(1, x.ndim - 1)
    factors, widths = [1] * x.ndim, [(0, 0)] * x.ndim
    for i, (axis, s, k) in enumerate(zip(spatial, strides, kernel.shape)):
        extra = None if output_padding is None else output_padding[i]
        factors[axis], widths[axis] = s, _transposed_pads(padding, extra, s, k)
    spread = ops.pad(ops.dilate(x, factors), widths)
    flipped = kernel[(slice(None, None, -1),) * rank].transpose(tuple(range(rank)) + (rank + 1, rank))
    return convolve(spread, flipped)  # flipped: (*kernel, in, filters)


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution: kernel (kh, kw, filters, in_channels)."""


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution: kernel (k, filters, in_channels)."""

    rank = 1


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution: kernel (kd, kh, kw, filters, in_channels). Keras's order of arguments
    puts data_format before output_padding here."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 output_padding=None, dilation_rate=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         activation, use_bias, **kwargs)


class _Pooling(_Spatial):
    """Shared by the max and average poolings; `op` is the pooling Function, `rank` 1 for sequences, 2
    for images."""

    op, rank = None, 2

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        name = type(self).__name__
        self.pool_size = _sizes(pool_size, self.rank, f"{name} pool_size")
        self.strides = self.pool_size if strides is None else _sizes(strides, self.rank, f"{name} strides")
        _check_padding(self, padding)
        self.padding = padding

    def _function(self):
        row = (1,) * (2 - self.rank)  # a sequence pools as a one-row image
        return self.op(row + self.pool_size, row + self.strides, self.padding, self.data_format == "channels_first")

    def _pool_volumes(self, x):
        """Each depth tap's slices pooled as images, the taps folded by `_fold` (a volume's window is its taps'
        image windows)."""
        def pooled(d, images):
            C._check_fits(images, self.pool_size[1:], self.padding, False, self.name, "pool window")
            return self.op(self.pool_size[1:], self.strides[1:], self.padding, False)(images)
        return _through_depth(self, x, self.pool_size[0], self.strides[0], self.padding, pooled, self._fold,
                              self._fill)

    def call(self, x, training=False):
        if self.rank == 1:
            return _through_images(self, x, self.pool_size[0], self.padding, self._function())
        if self.rank == 3:
            return self._pool_volumes(x)
        C._check_input(x, self.data_format, self.name)
        C._check_fits(x, self.pool_size, self.padding, self.data_format == "channels_first", self.name, "pool window")
        return self._function()(x)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class _MaxPooling(_Pooling):
    op = C.MaxPool2D
    _fill = -np.inf  # a volume's depth padding never wins

    @staticmethod
    def _fold(a, b):
        """The taps' maxima: b's where greater (or NaN, which a max passes on), else a's, so that a tie sends
        the gradient to the first maximum, as a pooling's window does."""
        return ops.where(ops.logical_or(ops.greater(b, a), ops.isnan(b)), b, a)


class _AveragePooling(_Pooling):
    op = C.AvgPool2D
    _fill = 0.0

    def _pool_volumes(self, x):
        """The taps' image means summed, over the number of real depth slices each window holds."""
        total = super()._pool_volumes(x)
        depth = x.shape[2 if self.data_format == "channels_first" else 1]
        counts = _real_counts(depth, self.pool_size[0], self.strides[0], self.padding).astype(x.dtype)
        return total / counts.reshape((-1, 1, 1) if self.data_format == "channels_first" else (-1, 1, 1, 1))

    @staticmethod
    def _fold(a, b):
        return a + b


def _real_counts(size, window, stride, padding):
    """How many of each window's positions along an axis of `size` are real, not padding (Keras's rule)."""
    out, (before, _) = C.padding_of(size, window, stride, padding)
    starts = np.arange(out) * stride - before
    return np.minimum(starts + window, size) - np.maximum(starts, 0)


class MaxPooling2D(_MaxPooling):
    """The max of each pool window (strides default to pool_size)."""


class AveragePooling2D(_AveragePooling):
    """The mean of each pool window (with "same" padding, of its real pixels only)."""


class MaxPooling3D(_MaxPooling):
    """The max of each pool window of a volume (strides default to pool_size)."""

    rank = 3


class AveragePooling3D(_AveragePooling):
    """The mean of each pool window of a volume (with "same" padding, of its real voxels only)."""

    rank = 3


class MaxPooling1D(_MaxPooling):
    """The max of each window of pool_size steps (strides default to pool_size)."""

    rank = 1


class AveragePooling1D(_AveragePooling):
    """The mean of each window of pool_size steps (with "same" padding, of its real steps only)."""

    rank = 1


class _GlobalPooling(Layer):
    """The mean (or max) of each channel over every spatial position: (batch, channels), or with
    `keepdims` the spatial axes kept as size 1. `rank` is 1 for sequences, 2 for images."""

    rank, reduce = 2, "mean"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format, self.keepdims = standard_data_format(data_format), keepdims
        self.axes = spatial_axes(self.data_format, self.rank)

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


class GlobalAveragePooling3D(_GlobalPooling):
    """The mean of each channel over the whole volume: (batch, channels)."""

    rank = 3


class GlobalMaxPooling3D(_GlobalPooling):
    """The largest value of each channel over the whole volume: (batch, channels)."""

    rank, reduce = 3, "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean of each feature over the time steps: (batch, steps, features) -> (batch, features);
    with a mask (from Embedding(mask_zero=True) or Masking), the mean over the real steps only."""

    rank = 1
    supports_masking = True

    def call(self, x, mask=None):
        if mask is None:
            return super().call(x)
        real = ops.expand_dims(ops.astype(mask, bool), -1 if self.axes == (1,) else 1)  # beside the features
        # where, not x·mask: a padded step then takes no gradient at all, not 0·NaN from a sample whose
        # every step is padded (its mean is 0/0), as in Keras
        total = ops.where(real, x, 0).sum(axis=self.axes, keepdims=self.keepdims)
        return total / ops.astype(real, x.dtype).sum(axis=self.axes, keepdims=self.keepdims)

    def compute_mask(self, inputs, previous_mask=None):
        return None


class GlobalMaxPooling1D(_GlobalPooling):
    rank, reduce = 1, "max"


class _AdaptivePooling(_Spatial):
    """Pools to a fixed `output_size` whatever the input's size (PyTorch's adaptive pooling, Keras 3.15's
    layers): along each spatial axis of length n, output i reduces the entries floor(i·n/out) up to
    ceil((i+1)·n/out), so windows differ by one at most. One axis after another, as Keras computes it (a
    window's mean or max is its rows' means or maxima reduced again); tied maxima share the gradient."""

    rank, reduce = 2, "mean"

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.output_size = _sizes(output_size, self.rank, f"{type(self).__name__} output_size")

    def call(self, x):
        return adaptive_pool(x, self.output_size, self.reduce, self.data_format)

    def get_config(self):
        return {**super().get_config(), "output_size": list(self.output_size), "data_format": self.data_format}


def adaptive_pool(x, output_size, reduce, data_format=None):
    """x (batch, *spatial, channels), or channels first, pooled by `reduce` ("mean" or "max") to output_size
    along each spatial axis (_AdaptivePooling's rule); keras.ops.adaptive_average_pool and adaptive_max_pool."""
    data_format = standard_data_format(data_format)
    rank = x.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"adaptive pooling takes 3-D, 4-D or 5-D inputs (batch, spatial axes, channels), got "
                         f"shape {x.shape}")
    for axis, out in zip(spatial_axes(data_format, rank), _sizes(output_size, rank, "adaptive pooling output_size")):
        size, parts = x.shape[axis], []
        for i in range(out):
            index = [slice(None)] * x.ndim
            index[axis] = slice(i * size // out, -(-(i + 1) * size // out))
            parts.append(getattr(x[tuple(index)], reduce)(axis=axis, keepdims=True))
        x = ops.concatenate(parts, axis=axis)
    return x


class AdaptiveAveragePooling1D(_AdaptivePooling):
    rank = 1


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """The mean of each of output_size[0] x output_size[1] windows that tile the image."""


class AdaptiveAveragePooling3D(_AdaptivePooling):
    rank = 3


class AdaptiveMaxPooling1D(_AdaptivePooling):
    rank, reduce = 1, "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """The max of each of output_size[0] x output_size[1] windows that tile the image."""

    reduce = "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    rank, reduce = 3, "max"


MaxPool2D, AvgPool2D, Convolution2D = MaxPooling2D, AveragePooling2D, Conv2D
MaxPool1D, AvgPool1D, Convolution1D = MaxPooling1D, AveragePooling1D, Conv1D
GlobalAvgPool2D, GlobalMaxPool2D, GlobalAvgPool1D, GlobalMaxPool1D = (GlobalAveragePooling2D, GlobalMaxPooling2D,
                                                                      GlobalAveragePooling1D, GlobalMaxPooling1D)
MaxPool3D, AvgPool3D, Convolution3D, Convolution3DTranspose = MaxPooling3D, AveragePooling3D, Conv3D, Conv3DTranspose
GlobalAvgPool3D, GlobalMaxPool3D = GlobalAveragePooling3D, GlobalMaxPooling3D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
