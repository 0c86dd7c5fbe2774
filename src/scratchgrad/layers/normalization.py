"""Normalization layers: BatchNormalization (over the batch, per feature), LayerNormalization and
RMSNormalization (per sample), GroupNormalization (per sample and group of channels) and
UnitNormalization (each sample scaled to length 1)."""
import numpy as np

from .. import constraints, initializers, ops, regularizers
from .. import functional as F
from ..autograd import Function
from ..backend import array_module, epsilon
from ..tensor import as_operand
from .base import Layer, Wrapper, serialize_initializer, serialize_regularizer


def _checked_axis(owner, axis):
    if not (isinstance(axis, int) or isinstance(axis, (list, tuple)) and axis
            and all(isinstance(a, int) for a in axis)):
        raise TypeError(f"{owner} axis must be an int or a list of ints, got {axis!r}")
    return axis


def _sample_axes(layer, input_shape):
    """The axes `layer.axis` names (sorted, not negative, never the batch axis), and the shape a weight over
    them takes to broadcast over the others."""
    ndim = len(input_shape)
    axes = [layer.axis] if isinstance(layer.axis, int) else list(layer.axis)
    if any(not 0 < a % ndim if -ndim <= a < ndim else True for a in axes):
        raise ValueError(f"{layer.name}: axis {layer.axis} must name axes of the input, not the batch axis "
                         f"(input shape {tuple(input_shape)})")
    axes = tuple(sorted({a % ndim for a in axes}))
    return axes, tuple(input_shape[a] if a in axes else 1 for a in range(1, ndim))


class _Affine(Layer):
    """A normalization followed by a learned scale gamma (with `scale`) and offset beta (with `center`),
    each with Keras's initializer, regularizer and constraint options."""

    def _affine_options(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                        gamma_regularizer, beta_constraint, gamma_constraint):
        self.center, self.scale = center, scale
        self.initializers = {"beta": beta_initializer, "gamma": gamma_initializer}
        self.regularizers = {"beta": regularizers.get(beta_regularizer), "gamma": regularizers.get(gamma_regularizer)}
        self.constraints = {"beta": constraints.get(beta_constraint), "gamma": constraints.get(gamma_constraint)}

    def _affine_weights(self, shape):
        """gamma and beta of `shape`, in Keras's order; None for the ones not wanted."""
        self.gamma = self._learned("gamma", shape) if self.scale else None
        self.beta = self._learned("beta", shape) if self.center else None

    def _learned(self, name, shape):
        return self.add_weight(shape, self.initializers[name], regularizer=self.regularizers[name],
                               constraint=self.constraints[name], name=name)

    def get_config(self):
        return {**super().get_config(), "center": self.center, "scale": self.scale,
                **{f"{k}_initializer": serialize_initializer(v) for k, v in self.initializers.items()},
                **{f"{k}_regularizer": serialize_regularizer(v) for k, v in self.regularizers.items()},
                **{f"{k}_constraint": constraints.serialize(v) for k, v in self.constraints.items()}}


class LayerNormalization(_Affine):
    """Normalize each sample over `axis` (its features: the last axis, or a list of axes), then scale by
    gamma and shift by beta, each shaped like those axes: unlike batch normalization, independent of the
    batch (so the same in training and inference)."""

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon = _checked_axis("LayerNormalization", axis), epsilon
        self._affine_options(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                             beta_constraint, gamma_constraint)

    def build(self, input_shape):
        self._axes, self._weight_shape = _sample_axes(self, input_shape)  # gamma and beta broadcast over the rest
        self._affine_weights(tuple(input_shape[a] for a in self._axes))

    def call(self, x):
        return ops.layer_normalization(x, self.gamma, self.beta, self._axes, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


class BatchNormalization(_Affine):
    """Normalize each feature with the batch's mean and variance in training and with running
    averages of them in evaluation, then scale by gamma and shift by beta (both learned).

    Running statistics: moving ← momentum·moving + (1 - momentum)·batch (Keras's rule and defaults).
    Works on (batch, features) and on images; `axis` is the feature axis (1 for channels_first).
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if epsilon <= 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self._affine_options(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                             beta_constraint, gamma_constraint)
        self.initializers.update(moving_mean=moving_mean_initializer, moving_variance=moving_variance_initializer)

    def build(self, input_shape):
        self._axis = self.axis % len(input_shape)
        n, init = (input_shape[self._axis],), self.initializers
        self._affine_weights(n)  # Keras's layout: gamma, beta, then the moving statistics
        self.moving_mean = self.add_weight(n, init["moving_mean"], trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(n, init["moving_variance"], trainable=False, name="moving_variance")

    def call(self, x, training=False):
        x = as_operand(x, like=self.moving_mean)  # integers are normalized as floats of the layer's dtype
        if x.shape[self._axis] != self.moving_mean.shape[0]:
            raise ValueError(f"{self.name} was built for {self.moving_mean.shape[0]} features on axis {self.axis}, "
                             f"got input shape {x.shape}")
        last = self._axis == x.ndim - 1
        order = [a for a in range(x.ndim) if a != self._axis] + [self._axis]
        if not last:  # normalize along another axis (channels_first): move it last and back
            x = x.transpose(order)
        n = self.moving_mean.shape
        xp = array_module(x.data)
        gamma = self.gamma if self.gamma is not None else xp.ones(n, x.dtype)
        beta = self.beta if self.beta is not None else xp.zeros(n, x.dtype)
        if training and self.trainable:  # Keras: a frozen BatchNormalization runs in inference mode
            y = F.batch_norm(x, gamma, beta, self.epsilon, moving=(self.moving_mean, self.moving_variance),
                             momentum=self.momentum)
        else:
            y = F.batch_norm(x, gamma, beta, self.epsilon, self.moving_mean, self.moving_variance)
        return y if last else y.transpose(list(np.argsort(order)))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon}


class GroupNormalization(_Affine):
    """Normalize each sample over groups of channels: the channels (`axis`) are split into `groups` groups,
    and each group is normalized over its channels and every other axis but the batch, then scaled by
    gamma and shifted by beta per channel. groups=1 is layer normalization over all axes, groups=-1 (one
    channel a group) instance normalization; independent of the batch, as Wu and He (2018) meant it."""

    supports_masking = True

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(groups, bool) or not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise ValueError(f"GroupNormalization groups must be a positive int, or -1 for instance normalization, "
                             f"got {groups!r}")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"GroupNormalization axis must be an int, got {axis!r}")
        self.groups, self.axis, self.epsilon = groups, axis, epsilon
        self._affine_options(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                             beta_constraint, gamma_constraint)

    def build(self, input_shape):
        if not 0 < self.axis % len(input_shape) if -len(input_shape) <= self.axis < len(input_shape) else True:
            raise ValueError(f"{self.name}: axis {self.axis} must name an axis of the input other than the batch "
                             f"axis (input shape {tuple(input_shape)})")
        self._axis = self.axis % len(input_shape)
        channels = input_shape[self._axis]
        groups = channels if self.groups == -1 else self.groups
        if channels % groups:
            raise ValueError(f"{self.name}: {channels} channels cannot be split into {groups} groups of one size")
        self._groups = groups
        self._affine_weights((channels,))

    def call(self, x):
        axis, groups = self._axis, self._groups
        shape = x.shape
        grouped_shape = shape[:axis] + (groups, shape[axis] // groups) + shape[axis + 1:]
        grouped = x.reshape(grouped_shape)
        over = tuple(a for a in range(1, grouped.ndim) if a != axis)  # all but the batch and the group
        mean, variance = ops.moments(grouped, over, keepdims=True)
        per_channel = tuple(n if a in (axis, axis + 1) else 1 for a, n in enumerate(grouped_shape))
        inverse = ops.rsqrt(variance + self.epsilon)  # Keras's order of operations: x·inv + (β - mean·inv)
        if self.gamma is not None:
            inverse = inverse * self.gamma.reshape(per_channel)
        offset = -mean * inverse
        if self.beta is not None:
            offset = offset + self.beta.reshape(per_channel)
        return (grouped * inverse + offset).reshape(shape)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon}


class RMSNormalization(Layer):
    """Root mean square normalization (Zhang and Sennrich, 2019): x / √(mean(x²) + ε) over `axis`, times a
    learned `scale`. Layer normalization without the centering: cheaper, and as good in transformers."""

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon = _checked_axis("RMSNormalization", axis), epsilon

    def build(self, input_shape):
        self._axes, self._scale_shape = _sample_axes(self, input_shape)
        self.scale = self.add_weight(tuple(input_shape[a] for a in self._axes), "ones", name="scale")

    def call(self, x):
        return ops.rms_normalization(x, self.scale.reshape(self._scale_shape), self._axes, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


class UnitNormalization(Layer):
    """Scale each sample to Euclidean length 1 over `axis` (x / ‖x‖, with ‖x‖ at least 1e-12)."""

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axis = _checked_axis("UnitNormalization", axis)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis

    def call(self, x):
        return ops.normalize(x, self.axis, order=2, epsilon=1e-12)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class _SpectralStep(Function):
    """A training step of SpectralNormalization on raw arrays: `iterations` rounds of power iteration from
    u estimate the kernel's largest singular value σ; the kernel divided by σ and the new u are written back
    in place (Keras assigns both), and the kernel is returned. Its gradient passes to the kernel as it is:
    Keras differentiates with respect to the kernel as assigned. An all-zero kernel is left alone."""

    def __init__(self, iterations):
        self.iterations = iterations

    def forward(self, kernel, u):
        if kernel.any():
            w, tiny = kernel.reshape(-1, kernel.shape[-1]), kernel.dtype.type(epsilon())
            unit = lambda a: a / array_module(a).sqrt(array_module(a).maximum((a * a).sum(), tiny))  # noqa: E731
            for _ in range(self.iterations):
                v = unit(u @ w.T)
                u[...] = unit(v @ w)
            kernel /= (v @ w) @ u.T
        return kernel.copy()

    def backward(self, gy):
        return gy, None


class SpectralNormalization(Wrapper):
    """Keeps a layer's kernel (or embeddings) at spectral norm 1 (Miyato et al. 2018, for GAN
    discriminators): in training, each call first divides it by its largest singular value, estimated by
    `power_iterations` rounds of power iteration from a vector kept between calls (`vector_u`, not trained).
    Keras's arguments, weights (in its order: the kernel, vector_u, then the layer's others) and numbers."""

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, (int, np.integer)) or \
                power_iterations < 1:
            raise ValueError(f"SpectralNormalization power_iterations must be a positive integer, got "
                             f"{power_iterations!r}")
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        super().build(input_shape)
        self._name_of_kernel = next((n for n in ("kernel", "embeddings") if hasattr(self.layer, n)), None)
        if self._name_of_kernel is None:
            raise ValueError(f"SpectralNormalization: {type(self.layer).__name__} has no kernel nor embeddings")
        kernel = getattr(self.layer, self._name_of_kernel)
        self._weights.append(kernel)  # Keras tracks the layer's kernel as the wrapper's own: its weights' order
        self._made_trainable.append(True)
        self.vector_u = self.add_weight((1, kernel.shape[-1]), initializers.TruncatedNormal(stddev=0.02),
                                        trainable=False, name="vector_u")

    def call(self, inputs, training=False):
        if not training:
            return self.layer(inputs)
        name = self._name_of_kernel
        kernel = getattr(self.layer, name)
        normalized = _SpectralStep(self.power_iterations)(kernel, self.vector_u)
        object.__setattr__(self.layer, name, normalized)  # the layer's call reads it: the step's graph runs through
        try:
            return self.layer(inputs, training=training)
        finally:
            object.__setattr__(self.layer, name, kernel)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}
