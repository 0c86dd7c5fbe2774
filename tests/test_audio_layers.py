"""Spectrogram layers (layers/audio_preprocessing.py): against NumPy's FFT, and against Keras 3.15.1's own
outputs for the same signals (KERAS_BACKEND=torch; pasted: the sum and four entries of each output)."""
import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L

rng = np.random.default_rng(0)
SIG1 = rng.standard_normal((2, 100, 1)).astype(np.float32)
SIG2 = rng.standard_normal((2, 101, 2)).astype(np.float32)
SIG3 = rng.standard_normal((2, 2, 64)).astype(np.float32)
AUDIO = rng.standard_normal((2, 400)).astype(np.float32)

# name -> (layer arguments, signal, Keras's (sum, entries at 0, n // 3, n // 2, n - 1 of the flattened output))
KERAS = {
    "STFTSpectrogram": {
        "log_valid": (dict(mode="log", frame_length=16, frame_step=8, fft_length=32), SIG1,
                      (-103.9522, [-0.9143376, -0.6425457, 0.2610403, -0.2713924])),
        "mag_same": (dict(mode="magnitude", frame_length=12, frame_step=5, window="hamming", periodic=True,
                          scaling="spectrum", padding="same"), SIG2,
                     (220.7459, [0.257678, 0.2785883, 0.65104, 0.5839598])),
        "psd_expand": (dict(mode="psd", frame_length=16, fft_length=16, expand_dims=True, scaling=None), SIG2,
                       (4003.656, [4.748854, 1.7786, 0.04326682, 13.12626])),
        "stft_first": (dict(mode="stft", frame_length=8, frame_step=4, data_format="channels_first"), SIG3,
                       (2.639076, [-0.2917427, 0.2464864, -1.838243, 6.528404e-08])),
        "real": (dict(mode="real", frame_length=16, window=None), SIG2,
                 (-2.091334, [-4.888553, -1.972977, -0.1918101, 6.804065])),
        "imag_expand_first": (dict(mode="imag", frame_length=8, frame_step=3, expand_dims=True,
                                   data_format="channels_first", window="bartlett"), SIG3,
                              (0.6802756, [0.0, -1.149768, 0.0, 9.520429e-08])),
    },
    "MelSpectrogram": {
        "db": (dict(fft_length=64, sequence_stride=16, num_mel_bins=10, sampling_rate=8000), AUDIO,
               (8677.651, [10.67298, 17.32166, 20.07104, 21.57535])),
        "linear": (dict(fft_length=64, sequence_stride=20, sequence_length=48, window="hamming", num_mel_bins=8,
                        power_to_db=False, mag_exp=1.0, min_freq=100.0, max_freq=3000.0), AUDIO,
                   (1658.209, [3.377258, 5.671162, 8.289007, 13.12311])),
        "one_signal": (dict(fft_length=32, sequence_stride=8, num_mel_bins=6, top_db=20.0, ref_power=2.0), AUDIO[0],
                       (2672.967, [5.086845, 15.25441, 8.601418, 15.90136])),
    },
}
KERAS_SHAPES = {"log_valid": (2, 11, 17), "mag_same": (2, 21, 18), "psd_expand": (2, 11, 9, 2),
                "stft_first": (2, 20, 15), "real": (2, 11, 18), "imag_expand_first": (2, 2, 19, 5),
                "db": (2, 10, 26), "linear": (2, 8, 21), "one_signal": (6, 51)}


@pytest.mark.parametrize("layer, case", [(layer, case) for layer, cases in KERAS.items() for case in cases])
def test_outputs_equal_keras(layer, case):
    arguments, signal, (total, entries) = KERAS[layer][case]
    out = getattr(L, layer)(**arguments)(signal).numpy()
    assert out.shape == KERAS_SHAPES[case] and out.dtype == np.float32
    flat = out.ravel().astype(np.float64)
    np.testing.assert_allclose(flat[[0, len(flat) // 3, len(flat) // 2, -1]], entries, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(flat.sum(), total, rtol=2e-5, atol=1e-3)


def test_weights_are_keras_kernels():
    layer = L.STFTSpectrogram(mode="log", frame_length=16, frame_step=8, fft_length=32)
    layer(SIG1)
    assert [(w.name.split("/")[-1], w.shape) for w in layer.weights] == [("real_kernel", (16, 1, 17)),
                                                                        ("imag_kernel", (16, 1, 17))]
    assert all(w.requires_grad for w in layer.weights)  # trainable, as Keras's
    only_imag = L.STFTSpectrogram(mode="imag", frame_length=8)
    only_imag(SIG1)
    assert [w.name.split("/")[-1] for w in only_imag.weights] == ["imag_kernel"]


def frames_rfft(signals, length, step, n, window, scale):
    """NumPy's rfft of each channel's frames (batch, time, channels) -> (batch, frames, channels, bins)."""
    count = (signals.shape[1] - length) // step + 1
    frames = np.stack([signals[:, i * step:i * step + length] for i in range(count)], axis=1)
    return np.fft.rfft(frames * window[:, None] / scale, n=n, axis=2).transpose(0, 1, 3, 2)


def test_stft_mode_is_numpys_fft_of_the_windowed_frames():
    x = SIG2.astype(np.float64)
    window = np.hanning(12)  # symmetric: periodic=False, Keras's default
    spectrum = frames_rfft(x, 12, 5, 16, window, np.sqrt(np.sum(window**2)))
    layer = L.STFTSpectrogram(mode="stft", frame_length=12, frame_step=5, fft_length=16, dtype="float64")
    out = layer(x).numpy().reshape(2, -1, 2, 18)  # channel 0's real and imaginary parts, then channel 1's
    np.testing.assert_allclose(out[..., :9], spectrum.real, atol=1e-12)
    np.testing.assert_allclose(out[..., 9:], spectrum.imag, atol=1e-12)
    log = L.STFTSpectrogram(frame_length=12, frame_step=5, fft_length=16, dtype="float64")(x).numpy()
    np.testing.assert_allclose(log.reshape(2, -1, 2, 9), np.log(np.abs(spectrum)), rtol=1e-10)


def test_mel_spectrogram_is_stft_power_through_the_mel_filters_in_decibels():
    x = AUDIO.astype(np.float64)
    n, stride, bins = 64, 16, 10
    padded = np.pad(x, [(0, 0), (n // 2, n // 2)], mode="reflect")
    frames = np.stack([padded[:, i:i + n] for i in range(0, padded.shape[1] - n + 1, stride)], axis=1)
    power = np.abs(np.fft.rfft(frames * np.hanning(n + 1)[:-1], axis=-1)) ** 2  # periodic Hann
    layer = L.MelSpectrogram(fft_length=n, sequence_stride=stride, num_mel_bins=bins, sampling_rate=8000,
                             dtype="float64")
    mel = power @ layer.linear_to_mel_weight_matrix(bins, n // 2 + 1, 8000, 20.0, 4000, dtype="float64")
    db = 10 * np.log10(np.maximum(mel, 1e-10))
    expected = np.maximum(db, db.max() - 80).transpose(0, 2, 1)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-9, atol=1e-9)


def test_mel_filters_are_keras_triangles():
    matrix = L.MelSpectrogram.linear_to_mel_weight_matrix()  # Keras's defaults: 20 bins over 129, 8 kHz
    assert matrix.shape == (129, 20) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix.sum(), 110.8008, rtol=1e-6)
    np.testing.assert_allclose(matrix[5:8, :3], [[0.4602309, 0, 0], [0.9039624, 0, 0], [0.6676622, 0.3323378, 0]],
                               atol=2e-6)
    assert np.all(matrix[0] == 0) and matrix.max() <= 1


@pytest.mark.parametrize("arguments, channels, shape", [  # Keras's docstring examples
    (dict(frame_length=256, frame_step=128, fft_length=512, trainable=False), 1, (3, 1249, 257)),
    (dict(frame_length=256, frame_step=128, fft_length=512, window="hamming", padding="same"), 2, (3, 1250, 514)),
    (dict(frame_length=256, frame_step=128, fft_length=512, padding="same", expand_dims=True), 3,
     (3, 1250, 257, 3)),
])
def test_keras_documented_shapes(arguments, channels, shape):
    signal = np.random.default_rng(1).random((3, 160000, channels), dtype=np.float32)
    layer = L.STFTSpectrogram(**arguments)
    assert layer(signal).shape == shape
    assert layer.compute_output_shape((None, 160000, channels)) == (None,) + shape[1:]


def test_keras_names_of_the_initializer_and_a_float16_mel_layer():
    assert type(sg.initializers.get("STFTInitializer")) is sg.initializers.STFT
    out = L.MelSpectrogram(fft_length=32, sequence_stride=8, num_mel_bins=4, dtype="float16")(AUDIO)
    assert out.dtype == np.float16  # computed in float32, answered in the layer's dtype, as Keras


def test_integer_audio_is_read_as_float32_by_the_mel_layer():
    pcm = (AUDIO * 1000).astype(np.int16)
    out = L.MelSpectrogram(fft_length=32, sequence_stride=8, num_mel_bins=4)(pcm)
    expected = L.MelSpectrogram(fft_length=32, sequence_stride=8, num_mel_bins=4)(pcm.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


def test_a_model_with_a_spectrogram_trains_and_reloads(tmp_path):
    model = sg.Sequential([L.Input((64, 1)), L.STFTSpectrogram(frame_length=16, frame_step=8, expand_dims=True),
                           L.Conv2D(2, 3), L.GlobalAveragePooling2D(), L.Dense(2, activation="softmax")])
    x = np.random.default_rng(2).standard_normal((8, 64, 1)).astype(np.float32)
    before = model.layers[0].real_kernel.numpy().copy()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, np.arange(8) % 2, epochs=2, verbose=0)
    assert not np.allclose(model.layers[0].real_kernel.numpy(), before)  # the transform itself learns
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(sg.load_model(tmp_path / "m.keras").predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("make, message", [
    (lambda: L.STFTSpectrogram(frame_length=8, frame_step=9), "frame_step must be"),
    (lambda: L.STFTSpectrogram(frame_length=8, fft_length=4), "fft_length must be at least"),
    (lambda: L.STFTSpectrogram(mode="power"), "mode must be one of"),
    (lambda: L.STFTSpectrogram(padding="causal"), "padding must be"),
    (lambda: L.STFTSpectrogram(window="kaiser"), "unknown window 'kaiser'"),
    (lambda: L.STFTSpectrogram(scaling="energy"), "scaling must be"),
    (lambda: L.STFTSpectrogram(frame_length=8, window=np.ones(5))(SIG1), "window has 5 samples"),
    (lambda: L.STFTSpectrogram(frame_length=8)(SIG1[..., 0]), "3 axes"),
    (lambda: L.STFTSpectrogram(frame_length=8)(SIG1.astype(np.int32)), "float16, float32 or float64"),
    (lambda: L.MelSpectrogram(fft_length=32, sequence_length=64), "must be at least sequence_length"),
    (lambda: sg.initializers.STFT(side="both"), "side must be"),
    (lambda: L.STFTSpectrogram(window=("tukey", 0.5)), "windows with parameters are not here"),
])
def test_bad_arguments_are_refused_by_name(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_fft_length_not_a_power_of_two_warns():
    with pytest.warns(UserWarning, match="power of two"):
        L.STFTSpectrogram(frame_length=8, fft_length=12)


@pytest.mark.parametrize("window, periodic", [("hann", False), ("hamming", True), ("blackman", False),
                                              ("bartlett", True), ("boxcar", False)])
def test_stft_initializer_windows_are_scipys(window, periodic):
    """scipy.signal.get_window(window, 9, fftbins=periodic), the windows Keras's initializer takes."""
    n = np.arange(10 if periodic else 9)
    m = len(n) - 1
    symmetric = {"hann": 0.5 - 0.5 * np.cos(2 * np.pi * n / m), "hamming": 0.54 - 0.46 * np.cos(2 * np.pi * n / m),
                 "blackman": 0.42 - 0.5 * np.cos(2 * np.pi * n / m) + 0.08 * np.cos(4 * np.pi * n / m),
                 "bartlett": 1 - np.abs(2 * n / m - 1), "boxcar": np.ones(len(n))}[window][:9]
    kernel = sg.initializers.STFT("real", window, scaling=None, periodic=periodic)((9, 1, 5), "float64")
    np.testing.assert_allclose(kernel[:, 0, 0], symmetric, atol=1e-12)  # frequency 0: the window itself
