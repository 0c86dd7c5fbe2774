"""Audio as images: spectrograms, so that sound can be fed to the convolutional nets of the image chapters.

A spectrogram cuts the signal into short overlapping frames, weighs each by a window and takes its Fourier
transform: how much of each frequency there is at each moment. STFTSpectrogram does the transform as a 1-D
convolution whose kernels are the cosines and sines (trainable, as in Keras); MelSpectrogram uses ops.stft
and then pools the frequencies onto the mel scale, which follows the ear, in decibels.
"""
import math
import warnings

import numpy as np

from .. import initializers, ops
from ..backend import epsilon
from ..tensor import as_tensor
from .base import Layer
from .convolutional import standard_data_format

MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
_MEL_BREAK_HZ, _MEL_HIGH_Q = 700.0, 1127.0  # the HTK mel scale: mel(f) = 1127 · ln(1 + f / 700)


def _check_float(inputs, name):
    if inputs.dtype.kind != "f":
        raise TypeError(f"{name} takes float16, float32 or float64 signals, got {inputs.dtype}")


class STFTSpectrogram(Layer):
    """The short-time Fourier transform of signals (batch, time, channels) (channels_first: (batch, channels,
    time)): frames of `frame_length` samples every `frame_step` (default half a frame), each channel alone,
    convolved with a cosine and a sine kernel per frequency of an `fft_length` transform (default the next power
    of two), windowed and scaled as initializers.STFT. `mode`: "log" (log of the magnitude, default),
    "magnitude", "psd" (power, doubled but for the first and last frequencies), "real", "imag", "angle", or
    "stft" (real then imaginary parts). Output (batch, frames, channels · frequencies), or with
    expand_dims=True (batch, frames, frequencies, channels), an image; frequencies = fft_length // 2 + 1.
    Keras's layer: names, defaults, weights ("real_kernel", "imag_kernel" of (frame_length, 1, frequencies))."""

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None, window="hann",
                 periodic=False, scaling="density", padding="valid", expand_dims=False, data_format=None, **kwargs):
        if frame_step is not None and not 1 <= frame_step <= frame_length:
            raise ValueError(f"frame_step must be a positive integer not greater than frame_length "
                             f"({frame_length}), got {frame_step}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"fft_length must be at least frame_length ({frame_length}), got {fft_length}")
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(f"fft_length is best a power of two, got {fft_length}", stacklevel=2)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
        initializers.STFT("real", window, scaling, periodic)  # refuses a bad window or scaling by name
        super().__init__(**kwargs)
        self.mode, self.frame_length, self.frame_step, self.fft_length = mode, frame_length, frame_step, fft_length
        self.window, self.periodic, self.scaling, self.padding = window, periodic, scaling, padding
        self.expand_dims, self.data_format = expand_dims, standard_data_format(data_format)
        self._step = frame_step or frame_length // 2
        self._fft_length = fft_length or 2 ** math.ceil(math.log2(frame_length))

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name} takes signals of 3 axes (batch, time, channels), got shape {input_shape}")
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        for side in ("real", "imag"):
            if self.mode != {"real": "imag", "imag": "real"}.get(side):
                kernel = initializers.STFT(side, self.window, self.scaling, self.periodic)
                setattr(self, f"{side}_kernel", self.add_weight(shape, kernel, name=f"{side}_kernel"))

    def call(self, inputs):
        _check_float(inputs, self.name)
        if self.data_format == "channels_first":
            inputs = ops.swapaxes(inputs, 1, 2)
        _, time, channels = inputs.shape
        signals = ops.reshape(ops.swapaxes(inputs, 1, 2), (-1, time, 1))  # each channel a signal of its own

        def transform(kernel):  # (batch, channels, frames, frequencies)
            out = ops.conv(signals, ops.cast(kernel, inputs.dtype), strides=self._step, padding=self.padding,
                           data_format="channels_last")
            return ops.reshape(out, (-1, channels) + tuple(out.shape[1:]))

        return self._arrange(self._spectrum(transform))

    def _spectrum(self, transform):
        if self.mode in ("real", "imag"):
            return transform(getattr(self, f"{self.mode}_kernel"))
        real, imag = transform(self.real_kernel), transform(self.imag_kernel)
        if self.mode == "angle":
            return ops.arctan2(imag, real)
        if self.mode == "stft":
            return ops.concatenate([real, imag], axis=-1)
        power = ops.square(real) + ops.square(imag)
        if self.mode == "psd":  # one-sided: the mirrored frequencies' power added, all but the first and last
            return power + ops.pad(power[..., 1:-1], [(0, 0)] * 3 + [(1, 1)])
        magnitude = ops.sqrt(ops.maximum(power, epsilon()))
        return magnitude if self.mode == "magnitude" else ops.log(ops.maximum(magnitude, epsilon()))

    def _arrange(self, out):
        """(batch, channels, frames, frequencies) into the layer's output layout."""
        if self.expand_dims:
            return out if self.data_format == "channels_first" else ops.transpose(out, (0, 2, 3, 1))
        _, channels, frames, frequencies = out.shape
        if self.data_format == "channels_first":
            return ops.reshape(ops.swapaxes(out, 2, 3), (-1, channels * frequencies, frames))
        return ops.reshape(ops.swapaxes(out, 1, 2), (-1, frames, channels * frequencies))

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}


class MelSpectrogram(Layer):
    """The mel spectrogram of signals (batch, samples) or one signal (samples,): ops.stft's frames of
    `sequence_length` samples (default fft_length) every `sequence_stride`, centred (the signal padded by
    reflection), their magnitude to the power `mag_exp` (2: power), pooled by `num_mel_bins` triangular filters
    evenly spaced on the mel scale from min_freq to max_freq (default sampling_rate / 2), then, with
    power_to_db=True, in decibels relative to ref_power, floored at min_power and at top_db under the
    loudest value in the batch. Output (batch, num_mel_bins, frames). Keras's layer, no weights."""

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None, window="hann",
                 sampling_rate=16000, num_mel_bins=128, min_freq=20.0, max_freq=None, power_to_db=True,
                 top_db=80.0, mag_exp=2.0, min_power=1e-10, ref_power=1.0, **kwargs):
        sequence_length = sequence_length or fft_length
        if fft_length < sequence_length:
            raise ValueError(f"fft_length ({fft_length}) must be at least sequence_length ({sequence_length})")
        super().__init__(**kwargs)
        self.fft_length, self.sequence_stride, self.sequence_length = fft_length, sequence_stride, sequence_length
        self.window, self.sampling_rate, self.num_mel_bins = window, sampling_rate, num_mel_bins
        self.min_freq, self.max_freq = min_freq, max_freq or int(sampling_rate / 2)
        self.power_to_db, self.top_db, self.mag_exp = power_to_db, top_db, mag_exp
        self.min_power, self.ref_power = min_power, ref_power

    def call(self, inputs):
        signals = ops.cast(inputs, self.dtype if self.dtype == np.float64 else np.float32)
        real, imag = ops.stft(signals, self.sequence_length, self.sequence_stride, self.fft_length, self.window,
                              center=True)
        power = ops.square(real) + ops.square(imag)
        spectrum = power if self.mag_exp == 2 else power ** (self.mag_exp / 2)
        weights = self.linear_to_mel_weight_matrix(self.num_mel_bins, real.shape[-1], self.sampling_rate,
                                                   self.min_freq, self.max_freq, dtype=signals.dtype)
        mel = ops.tensordot(spectrum, as_tensor(weights, like=spectrum), axes=1)
        out = ops.swapaxes(self._decibels(mel) if self.power_to_db else mel, -1, -2)
        return ops.cast(out, self.dtype)  # float16 layers compute in float32, as Keras, and answer in float16

    def _decibels(self, mel):
        floor = 10 * math.log10(max(abs(self.ref_power), self.min_power))
        db = 10 * ops.log10(ops.maximum(mel, self.min_power)) - floor
        return ops.maximum(db, ops.max(db) - self.top_db)  # the loudest of the whole batch, as Keras

    @staticmethod
    def linear_to_mel_weight_matrix(num_mel_bins=20, num_spectrogram_bins=129, sampling_rate=8000,
                                    lower_edge_hertz=125.0, upper_edge_hertz=3800.0, dtype="float32"):
        """(num_spectrogram_bins, num_mel_bins): column m is a triangle over the linear frequencies 0 ...
        sampling_rate / 2, rising from mel edge m to m + 1 and falling to m + 2, the num_mel_bins + 2 edges
        evenly spaced in mels from lower_edge_hertz to upper_edge_hertz; the first row (0 Hz) is zero, as HTK."""
        def mel(hertz):
            return _MEL_HIGH_Q * np.log1p(np.asarray(hertz, np.float64) / _MEL_BREAK_HZ)

        bins = mel(np.linspace(0, sampling_rate / 2, num_spectrogram_bins)[1:])[:, None]
        edges = np.linspace(mel(lower_edge_hertz), mel(upper_edge_hertz), num_mel_bins + 2)
        lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
        rising, falling = (bins - lower) / (center - lower), (upper - bins) / (upper - center)
        weights = np.maximum(0, np.minimum(rising, falling))
        return np.pad(weights, [(1, 0), (0, 0)]).astype(dtype)

    def get_config(self):
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window,
                "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins,
                "min_freq": self.min_freq, "max_freq": self.max_freq, "power_to_db": self.power_to_db,
                "top_db": self.top_db, "mag_exp": self.mag_exp, "min_power": self.min_power,
                "ref_power": self.ref_power}
