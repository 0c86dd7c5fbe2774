"""Normalization layers: BatchNormalization (over the batch, per feature) and LayerNormalization (per sample)."""
import numpy as np

from .. import constraints, ops, regularizers
from .. import functional as F
from ..tensor import as_operand
from .base import Layer, serialize_initializer, serialize_regularizer


class LayerNormalization(Layer):
    """Normalize each sample over `axis` (its features: the last axis, or a list of axes), then scale by
    gamma and shift by beta, each shaped like those axes: unlike batch normalization, independent of the
    batch (so the same in training and inference)."""

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not (isinstance(axis, int) or isinstance(axis, (list, tuple)) and axis
                and all(isinstance(a, int) for a in axis)):
            raise TypeError(f"LayerNormalization axis must be an int or a list of ints, got {axis!r}")
        self.axis, self.epsilon, self.center, self.scale = axis, epsilon, center, scale
        self.initializers = {"beta": beta_initializer, "gamma": gamma_initializer}
        self.regularizers = {"beta": regularizers.get(beta_regularizer), "gamma": regularizers.get(gamma_regularizer)}
        self.constraints = {"beta": constraints.get(beta_constraint), "gamma": constraints.get(gamma_constraint)}

    def build(self, input_shape):
        ndim = len(input_shape)
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        if any(not 0 < a % ndim if -ndim <= a < ndim else True for a in axes):
            raise ValueError(f"{self.name}: axis {self.axis} must name axes of the input, not the batch axis "
                             f"(input shape {tuple(input_shape)})")
        self._axes = tuple(sorted({a % ndim for a in axes}))
        # gamma and beta broadcast over the other axes
        self._weight_shape = tuple(input_shape[a] if a in self._axes else 1 for a in range(1, ndim))
        n = tuple(input_shape[a] for a in self._axes)
        self.gamma, self.beta = (self.add_weight(n, self.initializers[k], regularizer=self.regularizers[k],
                                                 constraint=self.constraints[k], name=k)
                                 if wanted else None for k, wanted in (("gamma", self.scale), ("beta", self.center)))

    def call(self, x):
        mean = x.mean(axis=self._axes, keepdims=True)
        centered = x - mean
        y = centered / ops.sqrt((centered * centered).mean(axis=self._axes, keepdims=True) + self.epsilon)
        y = y * ops.reshape(self.gamma, self._weight_shape) if self.gamma is not None else y
        return y + ops.reshape(self.beta, self._weight_shape) if self.beta is not None else y

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, **{f"{k}_initializer": serialize_initializer(v)
                                        for k, v in self.initializers.items()},
                **{f"{k}_regularizer": serialize_regularizer(v) for k, v in self.regularizers.items()},
                **{f"{k}_constraint": constraints.serialize(v) for k, v in self.constraints.items()}}


class BatchNormalization(Layer):
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
        self.center, self.scale = center, scale
        self.initializers = {"beta": beta_initializer, "gamma": gamma_initializer,
                             "moving_mean": moving_mean_initializer, "moving_variance": moving_variance_initializer}
        self.regularizers = {"beta": regularizers.get(beta_regularizer), "gamma": regularizers.get(gamma_regularizer)}
        self.constraints = {"beta": constraints.get(beta_constraint), "gamma": constraints.get(gamma_constraint)}

    def build(self, input_shape):
        self._axis = self.axis % len(input_shape)
        n, init = (input_shape[self._axis],), self.initializers
        # Keras's layout: gamma only with scale, beta only with center, then the moving statistics
        self.gamma = self._learned("gamma", n) if self.scale else None
        self.beta = self._learned("beta", n) if self.center else None
        self.moving_mean = self.add_weight(n, init["moving_mean"], trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(n, init["moving_variance"], trainable=False, name="moving_variance")

    def _learned(self, name, shape):
        return self.add_weight(shape, self.initializers[name], regularizer=self.regularizers[name],
                               constraint=self.constraints[name], name=name)

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
        gamma = self.gamma if self.gamma is not None else np.ones(n, x.dtype)
        beta = self.beta if self.beta is not None else np.zeros(n, x.dtype)
        if training and self.trainable:  # Keras: a frozen BatchNormalization runs in inference mode
            y = F.batch_norm(x, gamma, beta, self.epsilon, moving=(self.moving_mean, self.moving_variance),
                             momentum=self.momentum)
        else:
            y = F.batch_norm(x, gamma, beta, self.epsilon, self.moving_mean, self.moving_variance)
        return y if last else y.transpose(list(np.argsort(order)))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                **{f"{k}_initializer": serialize_initializer(v) for k, v in self.initializers.items()},
                **{f"{k}_regularizer": regularizers.serialize(v) for k, v in self.regularizers.items()},
                **{f"{k}_constraint": constraints.serialize(v) for k, v in self.constraints.items()}}
