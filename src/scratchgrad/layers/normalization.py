"""Normalization layers: BatchNormalization (over the batch, per feature) and LayerNormalization (per sample)."""
import numpy as np

from .. import functional as F
from .. import ops
from .base import Layer, serialize_initializer


class LayerNormalization(Layer):
    """Normalize each sample over its last axis (its features), then scale by gamma and shift by beta:
    unlike batch normalization, independent of the batch (so the same in training and inference)."""

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1,):
            raise NotImplementedError("LayerNormalization over the last axis (axis=-1) only")
        self.axis, self.epsilon, self.center, self.scale = axis, epsilon, center, scale
        self.initializers = {"beta": beta_initializer, "gamma": gamma_initializer}

    def build(self, input_shape):
        n = (input_shape[-1],)
        self.gamma = self.add_weight(n, self.initializers["gamma"], name="gamma") if self.scale else None
        self.beta = self.add_weight(n, self.initializers["beta"], name="beta") if self.center else None

    def call(self, x):
        mean = x.mean(axis=-1, keepdims=True)
        centered = x - mean
        y = centered / ops.sqrt((centered * centered).mean(axis=-1, keepdims=True) + self.epsilon)
        y = y * self.gamma if self.gamma is not None else y
        return y + self.beta if self.beta is not None else y

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, **{f"{k}_initializer": serialize_initializer(v)
                                        for k, v in self.initializers.items()}}


class BatchNormalization(Layer):
    """Normalize each feature with the batch's mean and variance in training and with running
    averages of them in evaluation, then scale by gamma and shift by beta (both learned).

    Running statistics: moving ← momentum·moving + (1 - momentum)·batch (Keras's rule and defaults).
    Works on (batch, features) and on images; `axis` is the feature axis (1 for channels_first).
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if epsilon <= 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.center, self.scale = center, scale
        self.initializers = {"beta": beta_initializer, "gamma": gamma_initializer,
                             "moving_mean": moving_mean_initializer, "moving_variance": moving_variance_initializer}

    def build(self, input_shape):
        self._axis = self.axis % len(input_shape)
        n, init = (input_shape[self._axis],), self.initializers
        # Keras's layout: gamma only with scale, beta only with center, then the moving statistics
        self.gamma = self.add_weight(n, init["gamma"], name="gamma") if self.scale else None
        self.beta = self.add_weight(n, init["beta"], name="beta") if self.center else None
        self.moving_mean = self.add_weight(n, init["moving_mean"], trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(n, init["moving_variance"], trainable=False, name="moving_variance")

    def call(self, x, training=False):
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
                **{f"{k}_initializer": serialize_initializer(v) for k, v in self.initializers.items()}}
