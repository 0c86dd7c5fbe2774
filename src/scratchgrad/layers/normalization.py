"""BatchNormalization over the last (feature / channel) axis."""
from .. import functional as F
from .. import ops
from .base import Layer, serialize_initializer


class LayerNormalization(Layer):
    """Normalize each sample over its last axis (its features), then scale by gamma and shift by beta:
    unlike batch normalization, independent of the batch (so the same in training and inference)."""

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
    Works on (batch, features) and on images (batch, height, width, channels).
    """

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
        if self.axis not in (-1, len(input_shape) - 1):
            raise ValueError(f"BatchNormalization normalizes the last axis (channels_last); got axis={self.axis} "
                             f"for inputs of shape {input_shape}")
        n, init = (input_shape[-1],), self.initializers
        self.gamma = self.add_weight(n, init["gamma"] if self.scale else "ones", trainable=self.scale, name="gamma")
        self.beta = self.add_weight(n, init["beta"] if self.center else "zeros", trainable=self.center, name="beta")
        self.moving_mean = self.add_weight(n, init["moving_mean"], trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(n, init["moving_variance"], trainable=False, name="moving_variance")

    def call(self, x, training=False):
        if x.shape[-1] != self.gamma.shape[0]:
            raise ValueError(f"{self.name} was built for {self.gamma.shape[0]} features, got input shape {x.shape}")
        if training:
            return F.batch_norm(x, self.gamma, self.beta, self.epsilon,
                                moving=(self.moving_mean, self.moving_variance), momentum=self.momentum)
        return F.batch_norm(x, self.gamma, self.beta, self.epsilon, self.moving_mean, self.moving_variance)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                **{f"{k}_initializer": serialize_initializer(v) for k, v in self.initializers.items()}}
