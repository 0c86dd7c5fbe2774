"""keras.utils.image_dataset_from_directory, text_dataset_from_directory and audio_dataset_from_directory: file
order, labels, splits, resizing and errors as Keras 3 has them, on tiny folders written in tmp_path."""
import os
import sys

import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad import layers

COLOURS = {"a_red": (255, 0, 0), "b_blue": (0, 0, 255), "c_green": (0, 255, 0)}


def save_image(path, pixels):
    image = pytest.importorskip("PIL.Image")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.fromarray(np.asarray(pixels, np.uint8)).save(path)


def make_folder(root, counts, size=(6, 4)):
    """One sub-directory per class, each image filled with its class's colour."""
    for (name, colour), count in zip(COLOURS.items(), counts):
        for i in range(count):
            save_image(root / name / f"img_{i}.png", np.broadcast_to(colour, (*size, 3)))
    return root


def class_of(images):
    """The class index each image's colour says, for checking that labels travel with their images."""
    return np.argmax(images.mean(axis=(1, 2)) @ np.array(list(COLOURS.values())).T, axis=1)


def read_all(dataset):
    batches = [dataset[i] for i in range(len(dataset))]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def test_classes_come_from_sub_directories_in_alphanumeric_order(tmp_path, capsys):
    root = make_folder(tmp_path / "data", [3, 2])
    save_image(root / "b_blue" / "nested" / "deep.png", np.zeros((6, 4, 3)))  # sub-folders are walked too
    save_image(root / ".hidden" / "x.png", np.zeros((6, 4, 3)))
    (root / "a_red" / "notes.txt").write_text("not an image")
    (root / "a_red" / "photo.JPG").write_bytes((root / "a_red" / "img_0.png").read_bytes())  # case-blind suffix
    ds = keras.utils.image_dataset_from_directory(root, image_size=(5, 5), batch_size=4, shuffle=False)
    assert capsys.readouterr().out == "Found 7 files belonging to 2 classes.\n"
    assert ds.class_names == ["a_red", "b_blue"]
    relative = [os.path.relpath(p, root) for p in ds.file_paths]
    assert relative == ["a_red/img_0.png", "a_red/img_1.png", "a_red/img_2.png", "a_red/photo.JPG",
                        "b_blue/img_0.png", "b_blue/img_1.png", "b_blue/nested/deep.png"]
    assert len(ds) == 2
    x, y = ds[0]
    assert x.shape == (4, 5, 5, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert read_all(ds)[1].tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert [len(batch[0]) for batch in ds] == [4, 3]  # iteration stops at the end


def test_class_names_choose_and_order_the_classes(tmp_path):
    root = make_folder(tmp_path, [2, 1, 1])
    ds = keras.utils.image_dataset_from_directory(root, class_names=["c_green", "a_red"], image_size=(3, 3),
                                                  shuffle=False, verbose=False)
    images, labels = read_all(ds)
    assert ds.class_names == ["c_green", "a_red"] and labels.tolist() == [0, 1, 1]
    assert class_of(images).tolist() == [2, 0, 0]


def test_labels_given_as_a_list_follow_the_sorted_file_order(tmp_path, capsys):
    root = make_folder(tmp_path, [2, 2])
    ds = keras.utils.image_dataset_from_directory(root, labels=[1, 0, 1, 0], image_size=(3, 3), shuffle=False)
    assert "Found 4 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["0", "1"] and read_all(ds)[1].tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize("label_mode,dtype,expected", [
    ("int", np.int32, [0, 0, 1]),
    ("categorical", np.float32, [[1, 0], [1, 0], [0, 1]]),
    ("binary", np.float32, [[0], [0], [1]]),
])
def test_label_modes(tmp_path, label_mode, dtype, expected):
    root = make_folder(tmp_path, [2, 1])
    ds = keras.utils.image_dataset_from_directory(root, label_mode=label_mode, image_size=(3, 3), shuffle=False,
                                                  verbose=False)
    labels = ds[0][1]
    assert labels.dtype == dtype and labels.tolist() == expected


@pytest.mark.parametrize("arguments", [{"label_mode": None}, {"labels": None}])
def test_no_labels_gives_images_alone(tmp_path, capsys, arguments):
    root = make_folder(tmp_path, [2, 1])
    ds = keras.utils.image_dataset_from_directory(root, image_size=(3, 3), **arguments)
    assert isinstance(ds[0], np.ndarray) and ds[0].shape == (3, 3, 3, 3)
    if arguments.get("labels", "inferred") is None:
        assert ds.class_names is None and capsys.readouterr().out == "Found 3 files.\n"


@pytest.mark.parametrize("color_mode,pixel", [("grayscale", [76]), ("rgb", [255, 0, 0]), ("rgba", [255, 0, 0, 255])])
def test_color_modes(tmp_path, color_mode, pixel):
    root = make_folder(tmp_path, [1])
    ds = keras.utils.image_dataset_from_directory(root, color_mode=color_mode, image_size=(2, 3), verbose=False)
    images = ds[0][0]
    assert images.shape == (1, 2, 3, len(pixel))
    np.testing.assert_array_equal(images[0, 1, 2], pixel)  # Pillow's luma for pure red is 76


def one_image(tmp_path, pixels, **options):
    """The one grayscale image of a folder, as the dataset gives it."""
    save_image(tmp_path / "only" / "x.png", pixels)
    ds = keras.utils.image_dataset_from_directory(tmp_path, color_mode="grayscale", label_mode=None,
                                                  verbose=False, **options)
    return ds[0][0, ..., 0]


def test_resize_crop_and_pad(tmp_path):
    ramp = np.tile(np.arange(0, 80, 10), (4, 1))  # 4 rows of 0, 10, ..., 70
    squeezed = one_image(tmp_path, ramp, image_size=(4, 4))
    np.testing.assert_allclose(squeezed, np.tile([5, 25, 45, 65], (4, 1)))  # pairs averaged, no antialiasing
    cropped = one_image(tmp_path, ramp, image_size=(4, 4), crop_to_aspect_ratio=True)
    np.testing.assert_allclose(cropped, np.tile([20, 30, 40, 50], (4, 1)))  # the centred square
    padded = one_image(tmp_path, ramp, image_size=(8, 8), pad_to_aspect_ratio=True)
    np.testing.assert_allclose(padded[2:6], ramp)
    assert not padded[:2].any() and not padded[6:].any()


@pytest.mark.parametrize("interpolation,expected", [
    # the values keras.ops.image.resize gives (its NumPy backend, which TensorFlow's kernels match)
    ("bilinear", [0.0, 71.429, 185.714, 125.0, 55.0, 95.0, 120.0]),
    ("nearest", [0.0, 0.0, 200.0, 50.0, 50.0, 120.0, 120.0]),
    ("bicubic", [-15.865, 66.138, 195.555, 133.125, 48.56, 93.129, 125.553]),
    ("lanczos3", [-28.094, 71.373, 194.05, 143.571, 45.985, 85.214, 133.186]),
])
def test_interpolations_match_keras(tmp_path, interpolation, expected):
    row = one_image(tmp_path, [[0, 200, 50, 120]], image_size=(1, 7), interpolation=interpolation)
    np.testing.assert_allclose(row[0], expected, atol=2e-3)


def test_channels_first_and_unbatched(tmp_path):
    root = make_folder(tmp_path, [2, 1])
    first = keras.utils.image_dataset_from_directory(root, image_size=(5, 4), data_format="channels_first",
                                                     verbose=False)
    assert first[0][0].shape == (3, 3, 5, 4)
    single = keras.utils.image_dataset_from_directory(root, image_size=(5, 4), batch_size=None, shuffle=False,
                                                      verbose=False)
    image, label = single[2]
    assert len(single) == 3 and image.shape == (5, 4, 3) and label == 1


def test_images_are_read_when_their_batch_is(tmp_path):
    root = make_folder(tmp_path, [1])
    ds = keras.utils.image_dataset_from_directory(root, image_size=(2, 2), verbose=False)
    save_image(root / "a_red" / "img_0.png", np.zeros((6, 4, 3)))
    assert not ds[0][0].any()


def test_seeded_shuffle_is_keras_order_and_reproducible(tmp_path):
    root = make_folder(tmp_path, [5, 4, 3])
    kept = keras.utils.image_dataset_from_directory(root, image_size=(2, 2), shuffle=False, verbose=False)
    ds = keras.utils.image_dataset_from_directory(root, image_size=(2, 2), seed=7, verbose=False)
    expected = list(kept.file_paths)
    np.random.RandomState(7).shuffle(expected)  # Keras's index_directory shuffles the sorted paths so
    assert ds.file_paths == expected
    again = keras.utils.image_dataset_from_directory(root, image_size=(2, 2), seed=7, verbose=False)
    other = keras.utils.image_dataset_from_directory(root, image_size=(2, 2), seed=8, verbose=False)
    assert again.file_paths == expected and other.file_paths != expected
    images, labels = read_all(ds)
    assert (class_of(images) == labels).all()


def test_shuffled_dataset_reshuffles_each_epoch(tmp_path):
    root = make_folder(tmp_path, [5, 5])
    ds = keras.utils.image_dataset_from_directory(root, image_size=(2, 2), batch_size=3, seed=1, verbose=False)
    first = read_all(ds)
    ds.on_epoch_end()
    second = read_all(ds)
    assert first[1].tolist() != second[1].tolist() and sorted(first[1]) == sorted(second[1])
    assert (class_of(second[0]) == second[1]).all()
    unshuffled = keras.utils.image_dataset_from_directory(root, image_size=(2, 2), shuffle=False, verbose=False)
    _, validation = keras.utils.image_dataset_from_directory(root, image_size=(2, 2), validation_split=0.5,
                                                             subset="both", seed=1, verbose=False)
    for still in (unshuffled, validation):  # as in Keras, the validation half of "both" keeps its order
        before = read_all(still)[1].tolist()
        still.on_epoch_end()
        assert read_all(still)[1].tolist() == before


def test_validation_split_subsets_are_disjoint_and_agree_with_both(tmp_path, capsys):
    root = make_folder(tmp_path, [5, 5])
    options = {"image_size": (2, 2), "validation_split": 0.3, "seed": 42}
    train = keras.utils.image_dataset_from_directory(root, subset="training", **options)
    assert capsys.readouterr().out == "Found 10 files belonging to 2 classes.\nUsing 7 files for training.\n"
    val = keras.utils.image_dataset_from_directory(root, subset="validation", **options)
    assert capsys.readouterr().out.endswith("Using 3 files for validation.\n")
    assert len(train.file_paths) == 7 and len(val.file_paths) == 3
    assert set(train.file_paths).isdisjoint(val.file_paths)
    assert len(set(train.file_paths) | set(val.file_paths)) == 10
    both_train, both_val = keras.utils.image_dataset_from_directory(root, subset="both", verbose=False, **options)
    assert both_train.file_paths == train.file_paths and both_val.file_paths == val.file_paths
    assert both_train.class_names == both_val.class_names == ["a_red", "b_blue"]
    images, labels = read_all(both_val)
    assert (class_of(images) == labels).all()


@pytest.mark.parametrize("arguments,error,message", [
    ({"directory": "missing"}, FileNotFoundError, "does not exist"),
    ({"label_mode": "binary"}, ValueError, "exactly 2 classes, got 3"),
    ({"subset": "training"}, ValueError, "subset and validation_split go together"),
    ({"validation_split": 0.2}, ValueError, "subset and validation_split go together"),
    ({"validation_split": 0.2, "subset": "training"}, ValueError, "needs a seed"),
    ({"validation_split": 1.5, "subset": "training", "seed": 1}, ValueError, "between 0 and 1"),
    ({"validation_split": 0.2, "subset": "test", "seed": 1}, ValueError, "subset must be"),
    ({"validation_split": 0.01, "subset": "training", "seed": 1}, ValueError, "leaves no training or no validation"),
    ({"class_names": ["a_red", "zebra"]}, ValueError, "must be sub-directories"),
    ({"labels": [0, 1]}, ValueError, "labels has 2 entries but .* holds 6 files"),
    ({"labels": "folders"}, ValueError, "labels must be"),
    ({"labels": [0.5] * 6}, ValueError, "labels must be integers"),
    ({"labels": None, "class_names": ["a_red"]}, ValueError, "class_names can only be given"),
    ({"label_mode": "sparse"}, ValueError, "label_mode must be"),
    ({"color_mode": "cmyk"}, ValueError, "color_mode must be one of grayscale, rgb, rgba, got 'cmyk'"),
    ({"image_size": (4,)}, ValueError, r"image_size must be \(height, width\)"),
    ({"interpolation": "area"}, ValueError, "interpolation must be one of"),
    ({"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, ValueError, "only one of"),
    ({"data_format": "channels_middle"}, ValueError, "data_format must be"),
    ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1"),
])
def test_bad_arguments_say_what_was_expected(tmp_path, arguments, error, message):
    root = make_folder(tmp_path, [2, 2, 2])
    arguments = {"directory": root, **arguments}
    with pytest.raises(error, match=message):
        keras.utils.image_dataset_from_directory(**arguments, verbose=False)


def test_a_folder_without_images_is_refused(tmp_path):
    (tmp_path / "empty_class").mkdir()
    (tmp_path / "empty_class" / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match=r"No images found in directory .*\.png"):
        keras.utils.image_dataset_from_directory(tmp_path, verbose=False)


def test_missing_pillow_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"pip install 'scratchgrad\[plot\]'"):
        keras.utils.image_dataset_from_directory(tmp_path)


def test_a_small_cnn_fits_evaluates_and_predicts_on_it(tmp_path):
    root = make_folder(tmp_path, [6, 6], size=(10, 10))
    options = {"image_size": (8, 8), "batch_size": 4, "validation_split": 0.25, "seed": 0, "verbose": False}
    train, val = keras.utils.image_dataset_from_directory(root, subset="both", **options)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(8, 8, 3)), layers.Rescaling(1 / 255),
                              layers.Conv2D(4, 3, activation="tanh"), layers.Flatten(),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=20, verbose=0)
    assert history.history["loss"][-1] < min(0.05, history.history["loss"][0])
    assert history.history["val_accuracy"][-1] == 1.0
    assert model.evaluate(val, verbose=0)[1] == 1.0
    assert model.predict(val, verbose=0).shape == (3, 2)


def test_text_dataset_from_directory(tmp_path, capsys):
    for label, texts in {"neg": ["awful", "bad film"], "pos": ["great", "loved it", "superb acting"]}.items():
        (tmp_path / label).mkdir()
        for i, text in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "pos" / "cover.png").write_bytes(b"not text")
    ds = keras.utils.text_dataset_from_directory(tmp_path, batch_size=2, max_length=5, shuffle=False)
    assert capsys.readouterr().out == "Found 5 files belonging to 2 classes.\n"
    texts, labels = ds[0]
    assert isinstance(texts, np.ndarray) and texts.dtype.kind == "U"
    assert texts.tolist() == ["awful", "bad f"] and labels.tolist() == [0, 0] and len(ds) == 3
    train, val = keras.utils.text_dataset_from_directory(tmp_path, validation_split=0.4, subset="both", seed=3,
                                                         label_mode="binary", verbose=False)
    assert (len(train.file_paths), len(val.file_paths)) == (3, 2) and val.class_names == ["neg", "pos"]
    strings, binary = val[0]
    assert binary.shape == (2, 1) and binary.dtype == np.float32
    for text, label in zip(strings, binary[:, 0]):
        assert text in (["great", "loved it", "superb acting"] if label else ["awful", "bad film"])


def write_wav(path, samples, width=2, rate=8000):
    """Integer PCM samples (frames, channels) as a .wav file, by Python's wave module."""
    import wave

    path.parent.mkdir(parents=True, exist_ok=True)
    samples = np.asarray(samples)
    if width == 1:
        data = samples.astype(np.uint8).tobytes()
    else:  # little-endian, the low `width` bytes of each int32
        data = samples.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :width].tobytes()
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(data)


def test_audio_dataset_from_directory_reads_pcm_as_tf_decode_wav(tmp_path, capsys):
    """16-bit samples over 32768 (tf.audio.decode_wav's scale); each batch padded to its longest file."""
    write_wav(tmp_path / "no" / "a.wav", [[0], [16384], [-32768], [32767]])
    write_wav(tmp_path / "no" / "b.wav", [[100], [-100]])
    write_wav(tmp_path / "yes" / "c.wav", [[8192]] * 3)
    ds = keras.utils.audio_dataset_from_directory(tmp_path, batch_size=2, shuffle=False)
    assert capsys.readouterr().out == "Found 3 files belonging to 2 classes.\n"
    audio, labels = ds[0]
    assert audio.shape == (2, 4, 1) and audio.dtype == np.float32 and labels.tolist() == [0, 0]
    np.testing.assert_array_equal(audio[0, :, 0], [0, 0.5, -1, 32767 / 32768])
    np.testing.assert_array_equal(audio[1, :, 0], [100 / 32768, -100 / 32768, 0, 0])
    assert ds[1][0].shape == (1, 3, 1) and ds.class_names == ["no", "yes"]


@pytest.mark.parametrize("width, samples, expected", [
    (1, [[0, 255], [128, 192]], [[-1, 127 / 128], [0, 0.5]]),  # 8 bits: unsigned, centred on 128
    (3, [[-8388608, 4194304]], [[-1, 0.5]]),
    (4, [[-2**31, 2**30]], [[-1, 0.5]]),
])
def test_audio_of_other_widths_and_stereo(tmp_path, width, samples, expected):
    write_wav(tmp_path / "one" / "x.wav", samples, width=width)
    audio, _ = keras.utils.audio_dataset_from_directory(tmp_path, batch_size=None, verbose=False)[0]
    np.testing.assert_array_equal(audio, np.asarray(expected, np.float32))


def test_audio_cut_or_padded_to_the_sequence_length_and_split(tmp_path):
    for i in range(5):
        write_wav(tmp_path / ("a" if i < 3 else "b") / f"{i}.wav", np.full((i + 2, 1), 1000 * (i + 1)))
    train, val = keras.utils.audio_dataset_from_directory(tmp_path, output_sequence_length=3, validation_split=0.4,
                                                          subset="both", seed=1, verbose=False)
    audio, labels = train[0]
    assert audio.shape == (3, 3, 1) and len(val.file_paths) == 2
    for clip, label in zip(np.concatenate([audio, val[0][0]]), np.concatenate([labels, val[0][1]])):
        level = clip[0, 0] * 32768 / 1000  # the file's index + 1; file i has i + 2 samples
        assert np.all(clip[:min(int(level) + 1, 3), 0] == clip[0, 0]) and label == (level > 3)
        assert np.all(clip[int(level) + 1:, 0] == 0)


@pytest.mark.parametrize("call, message", [
    (lambda root: keras.utils.audio_dataset_from_directory(root, ragged=True), "NumPy has no ragged arrays"),
    (lambda root: keras.utils.audio_dataset_from_directory(root, output_sequence_length=0), "positive integer"),
    (lambda root: keras.utils.audio_dataset_from_directory(root, class_names=["one"], sampling_rate=16000,
                                                           verbose=False)[0],
     "sampled at 8000 Hz, not at sampling_rate=16000"),
    (lambda root: keras.utils.audio_dataset_from_directory(root / "bad", verbose=False, labels=None)[0],
     "not a PCM .wav file"),
])
def test_audio_refusals_name_what_was_expected(tmp_path, call, message):
    write_wav(tmp_path / "one" / "x.wav", [[1], [2]])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "noise.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(ValueError, match=message):
        call(tmp_path)
