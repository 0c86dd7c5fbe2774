"""Conversions at the boundary: whatever the user hands in (lists, pandas, Tensors) becomes an array."""
import difflib
import functools
import json

import numpy as np

from .backend import (  # noqa: F401 (keras.utils names some of keras.backend's)
    clear_session,
    image_data_format,
    is_keras_tensor,
    standardize_dtype,
    to_numpy,
)
from .files import atomic_path
from .object_registration import (CustomObjectScope, custom_object_scope, get_custom_objects,  # noqa: F401
                                  get_registered_name, get_registered_object, register_keras_serializable)
from .progress import disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled  # noqa


def as_array(x, name="x"):
    """`x` as a NumPy array: accepts arrays, lists, pandas DataFrames/Series and Tensors."""
    from .tensor import Tensor

    if isinstance(x, Tensor):
        return to_numpy(x.data)
    if hasattr(x, "to_numpy"):  # pandas DataFrame / Series
        x = x.to_numpy()
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:
        raise TypeError(f"{name} must be array-like (ragged or non-numeric data cannot be used): {err}") from None
    if arr.dtype == object:
        raise TypeError(f"{name} must hold numbers, got an array of Python objects (ragged rows or strings?)")
    return arr


def to_categorical(y, num_classes=None, dtype="float32"):
    """Integer class labels -> one-hot rows, as keras.utils.to_categorical."""
    y = as_array(y, "y")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.size and (y.dtype.kind not in "iub" and not np.all(np.equal(np.mod(y, 1), 0))):
        raise ValueError("to_categorical needs integer class labels")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, got {y.min()}")
    n = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if y.size and y.max() >= n:
        raise ValueError(f"to_categorical: label {y.max()} does not fit num_classes={n}")
    out = np.zeros(y.shape + (n,), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


one_hot = to_categorical


def plot_model(model, to_file=None, **options):
    """keras.utils.plot_model: the model's layer graph as DOT text, drawn to `to_file` when given."""
    from .viz import plot_model as draw

    return draw(model, to_file=to_file, **options)


def set_random_seed(seed):
    """keras.utils.set_random_seed: seed scratchgrad's generator (weights, dropout, shuffling)."""
    from .random import set_seed

    set_seed(seed)


class PyDataset:
    """keras.utils.PyDataset: a sequence of batches. Subclass it with `__len__` (the number of batches)
    and `__getitem__(i)` (batch i: x, or (x, y), or (x, y, sample_weight)); fit/evaluate/predict take it
    as x. scratchgrad reads every batch once per call, in order (workers and multiprocessing are accepted
    and not used)."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers, self.use_multiprocessing, self.max_queue_size = workers, use_multiprocessing, max_queue_size

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError

    def on_epoch_end(self):
        pass

    def __iter__(self):
        """The batches in order, once (a `for` loop over the dataset stops at its end)."""
        for index in range(len(self)):
            yield self[index]


Sequence = PyDataset  # Keras 2's name, which Keras 3 keeps


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """What a train_step unpacks: x alone (x as a 1-tuple where x is itself a tuple or list), (x, y) or (x, y,
    sample_weight)."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """(x, y, sample_weight) from a batch as fit gives it to train_step, None for what it lacks."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if not 1 <= len(data) <= 3:
        raise ValueError(f"a batch is x, (x,), (x, y) or (x, y, sample_weight), got a tuple of {len(data)}")
    return data + (None,) * (3 - len(data))


def get_source_inputs(tensor):
    """The Input tensors a symbolic tensor is computed from, in the order first met (Keras's rule); a
    tensor that comes from no layer is its own source."""
    from . import tree
    from .layers import InputLayer
    from .symbolic import SymbolicTensor

    node = getattr(tensor, "node", None)
    if not isinstance(tensor, SymbolicTensor) or node is None or isinstance(node.layer, InputLayer):
        return [tensor]
    sources = []
    for leaf in tree.flatten(node.inputs):
        for source in get_source_inputs(leaf) if isinstance(leaf, SymbolicTensor) else []:
            if all(source is not s for s in sources):
                sources.append(source)
    return sources


def normalize(x, axis=-1, order=2):
    """keras.utils.normalize: x divided by its `order`-norm along `axis` (rows of zeros stay zeros)."""
    x = as_array(x).astype(np.float64) if not np.issubdtype(np.asarray(x).dtype, np.floating) else as_array(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """keras.utils.pad_sequences: lists of different lengths as one (n, maxlen) array, padded with
    `value` and cut to `maxlen` at the start ("pre") or the end ("post")."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(f"padding and truncating must be 'pre' or 'post', got {padding!r} and {truncating!r}")
    sequences = [list(s) for s in sequences]
    maxlen = maxlen if maxlen is not None else max((len(s) for s in sequences), default=0)
    out = np.full((len(sequences), maxlen), value, dtype=dtype)
    for i, s in enumerate(sequences):
        kept = (s[-maxlen:] if truncating == "pre" else s[:maxlen]) if maxlen else []
        if kept:
            if padding == "pre":
                out[i, maxlen - len(kept):] = kept
            else:
                out[i, :len(kept)] = kept
    return out


def get_file(fname=None, origin=None, file_hash=None, cache_subdir="datasets", hash_algorithm="auto",
             extract=False, cache_dir=None, **kwargs):
    """keras.utils.get_file: the path of `fname` in the cache (`cache_dir`/`cache_subdir`, by default the
    user's cache), downloaded from `origin` with pooch if absent. With `file_hash` (sha256, or md5 for a
    32-character hash) a cached or downloaded file that does not match is refused."""
    import hashlib
    from pathlib import Path

    if fname is None and origin is None:
        raise ValueError("get_file needs fname or origin")
    fname = fname or origin.rsplit("/", 1)[-1]
    if cache_dir is None:
        from .datasets._source import cache_dir as user_cache

        cache_dir = user_cache()
    path = Path(cache_dir) / cache_subdir / fname
    algorithm = "md5" if hash_algorithm == "md5" or (hash_algorithm == "auto" and file_hash and
                                                     len(file_hash) == 32) else "sha256"
    if not path.is_file():
        if origin is None:
            raise FileNotFoundError(f"{path} is not in the cache and no origin= says where to download it")
        import pooch

        path.parent.mkdir(parents=True, exist_ok=True)
        pooch.retrieve(origin, known_hash=f"{algorithm}:{file_hash}" if file_hash else None, fname=fname,
                       path=path.parent, progressbar=False)
    if file_hash and getattr(hashlib, algorithm)(path.read_bytes()).hexdigest() != file_hash:
        raise ValueError(f"{path}: its {algorithm} does not match {file_hash}; the file was not used")
    if extract:
        return str(_extract(path, path.parent / path.name.split(".")[0]))
    return str(path)


def _extract(archive, target):
    """Unpack a .zip or tar archive into `target`, refusing any member that would land outside it (an
    absolute path, '..', or a link): an archive is untrusted input."""
    import tarfile
    import zipfile
    from pathlib import Path

    target = Path(target).resolve()

    def inside(name):
        destination = (target / name).resolve()
        if destination != target and target not in destination.parents:
            raise ValueError(f"{archive}: member {name!r} would be written outside {target}; nothing was extracted")

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                inside(name)
            z.extractall(target)
        return target
    with tarfile.open(archive) as t:
        members = t.getmembers()
        for member in members:
            inside(member.name)
            if member.issym() or member.islnk() or member.isdev():
                raise ValueError(f"{archive}: member {member.name!r} is a link or device; nothing was extracted")
        t.extractall(target, members=members)
    return target


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """keras.utils.split_dataset on arrays (or a tuple of same-length arrays): two parts by fraction
    (float) or count (int); the other size defaults to the rest."""
    arrays = dataset if isinstance(dataset, tuple) else (dataset,)
    n = len(arrays[0])
    left = _split_size(left_size, n) if left_size is not None else None
    right = _split_size(right_size, n) if right_size is not None else None
    if left is None and right is None:
        raise ValueError("split_dataset needs left_size or right_size")
    left = n - right if left is None else left
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    parts = [tuple(np.asarray(a)[order[:left]] for a in arrays), tuple(np.asarray(a)[order[left:]] for a in arrays)]
    return tuple(p if isinstance(dataset, tuple) else p[0] for p in parts)


def _split_size(size, n):
    """A fraction (rounded, as Keras rounds it) or a count of n samples, checked to fit."""
    count = round(size * n) if isinstance(size, float) else int(size)
    if not 0 < count < n:
        raise ValueError(f"a split of {size!r} leaves an empty side of a dataset of {n} samples")
    return count


class Progbar:
    """keras.utils.Progbar: a progress bar for your own loops (`update(current, values)`, `add(n)`)."""

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step"):
        import sys

        from .progress import ProgressBar, is_live

        self.seen, self.verbose = 0, verbose
        self.bar = ProgressBar(target, verbose == 1 and is_live(sys.stdout), sys.stdout, refresh=interval)

    def update(self, current, values=None, finalize=None):
        self.seen = current
        if not self.verbose:
            return
        logs = dict(values or [])
        if finalize or current == self.bar.total:
            self.bar.finish(logs)
        else:
            self.bar.update(current, logs)

    def add(self, n, values=None):
        self.update(self.seen + n, values)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    """keras.utils.timeseries_dataset_from_array: windows of `sequence_length` steps (every
    `sampling_rate`-th step, a new window every `sequence_stride` steps) with, when `targets` is given,
    targets[i] for the window starting at i; as a PyDataset of batches that fit() takes."""
    data = np.asarray(data)
    start = start_index or 0
    end = len(data) if end_index is None else end_index
    span = (sequence_length - 1) * sampling_rate
    starts = np.arange(start, end - span, sequence_stride)
    if shuffle:
        np.random.default_rng(seed).shuffle(starts)
    offsets = np.arange(sequence_length) * sampling_rate
    return _Windows(data, None if targets is None else np.asarray(targets), starts, offsets, batch_size)


class _Windows(PyDataset):
    def __init__(self, data, targets, starts, offsets, batch_size):
        super().__init__()
        self.data, self.targets, self.starts, self.offsets, self.batch_size = data, targets, starts, offsets, batch_size

    def __len__(self):
        return -(-len(self.starts) // self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} of a dataset of {len(self)} batches")
        index %= len(self)
        starts = self.starts[index * self.batch_size:(index + 1) * self.batch_size]
        windows = self.data[starts[:, None] + self.offsets]
        return windows if self.targets is None else (windows, self.targets[starts])


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False,
             formats=None):
    """keras.utils.load_img: an image file as a PIL Image ("grayscale", "rgb" or "rgba"), resized to
    target_size=(height, width) when given. `formats` limits the Pillow decoders tried (None: any).
    Needs Pillow."""
    from PIL import Image

    modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ValueError(f"color_mode must be one of {', '.join(modes)}, got {color_mode!r}")
    with Image.open(path, formats=formats) as image:
        image = image.convert(modes[color_mode])
    if target_size is not None:
        resample = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[interpolation]
        image = image.resize((target_size[1], target_size[0]), resample)
    return image


def img_to_array(img, data_format=None, dtype="float32"):
    """A PIL image as a (height, width, channels) array (channels first with data_format; None: the
    config's image_data_format)."""
    array = np.asarray(img, dtype=dtype)
    array = array[..., None] if array.ndim == 2 else array
    return array.transpose(2, 0, 1) if (data_format or image_data_format()) == "channels_first" else array


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """An (height, width, channels) array as a PIL image; `scale` maps its range onto 0-255."""
    from PIL import Image

    x = np.asarray(x, dtype=np.float64)
    x = x.transpose(1, 2, 0) if (data_format or image_data_format()) == "channels_first" else x
    if scale:
        x = x - x.min()
        x = x / x.max() * 255 if x.max() > 0 else x
    x = x.astype(np.uint8)
    return Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    with atomic_path(path) as tmp:  # complete or absent; the temporary name keeps the suffix PIL reads
        array_to_img(x, data_format, scale).save(tmp, format=file_format, **kwargs)


IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
                                 subset=None, interpolation="bilinear", follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, verbose=True):
    """keras.utils.image_dataset_from_directory: the images under `directory` (one sub-directory per
    class, classes in alphanumeric order) as a PyDataset of (images, labels) batches that fit() takes.
    Images are float32 in 0-255, resized to image_size=(height, width) and read from disk batch by
    batch; `.class_names` and `.file_paths` (in the first epoch's order) are attributes. With
    validation_split, subset="training", "validation" or "both" (a pair) picks from the same seeded
    shuffle. Needs Pillow."""
    _require_pillow("image_dataset_from_directory")
    if color_mode not in ("grayscale", "rgb", "rgba"):
        raise ValueError(f"color_mode must be one of grayscale, rgb, rgba, got {color_mode!r}")
    size = (image_size, image_size) if isinstance(image_size, int) else image_size
    if not (isinstance(size, (list, tuple)) and len(size) == 2
            and all(isinstance(s, (int, np.integer)) and s > 0 for s in size)):
        raise ValueError(f"image_size must be (height, width), two positive integers, got {image_size!r}")
    interpolation = str(interpolation).lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {interpolation!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True")
    data_format = data_format or image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    load = functools.partial(_read_image, color_mode=color_mode, size=tuple(map(int, size)),
                             interpolation=interpolation, crop=crop_to_aspect_ratio, pad=pad_to_aspect_ratio,
                             data_format=data_format)
    return _directory_dataset(directory, IMAGE_FORMATS, "images", load, labels, label_mode, class_names, batch_size,
                              shuffle, seed, validation_split, subset, follow_links, verbose)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """keras.utils.text_dataset_from_directory: the .txt files under `directory` as a PyDataset whose
    batches are NumPy arrays of str (each cut to `max_length` characters), labelled as in
    image_dataset_from_directory."""
    if max_length is not None and (not isinstance(max_length, int) or max_length < 0):
        raise ValueError(f"max_length must be None or an integer >= 0, got {max_length!r}")
    load = functools.partial(_read_text, max_length=max_length)
    return _directory_dataset(directory, (".txt",), "text files", load, labels, label_mode, class_names, batch_size,
                              shuffle, seed, validation_split, subset, follow_links, verbose)


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                 sampling_rate=None, output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None, follow_links=False, verbose=True):
    """keras.utils.audio_dataset_from_directory: the .wav files under `directory` as a PyDataset of (audio,
    labels) batches, labelled as in image_dataset_from_directory. Audio is float32 (batch, samples, channels)
    in [-1, 1), as tf.audio.decode_wav scales it, read by Python's wave module (PCM of 8, 16, 24 or 32 bits);
    cut or zero-padded to output_sequence_length samples, else each batch padded to its longest file. A
    sampling_rate, when given, must be each file's own: Keras resamples with tensorflow-io, scratchgrad does
    not resample. ragged=True is refused: NumPy has no ragged arrays."""
    if ragged:
        raise ValueError("ragged=True is not supported: NumPy has no ragged arrays; batches are padded to their "
                         "longest file, or give output_sequence_length")
    for name, value in (("output_sequence_length", output_sequence_length), ("sampling_rate", sampling_rate)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"{name} must be None or a positive integer, got {value!r}")
    load = functools.partial(_read_wav, length=output_sequence_length, rate=sampling_rate)
    return _directory_dataset(directory, (".wav",), "audio files", load, labels, label_mode, class_names, batch_size,
                              shuffle, seed, validation_split, subset, follow_links, verbose, stack=_padded_stack)


def _read_wav(path, length, rate):
    """A PCM .wav file as float32 (samples, channels) in [-1, 1), cut or zero-padded to `length` samples."""
    import wave

    try:
        with wave.open(str(path), "rb") as f:
            channels, width, frame_rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
            data = f.readframes(f.getnframes())
    except (wave.Error, EOFError) as error:
        raise ValueError(f"{path} is not a PCM .wav file that Python's wave module reads: {error}") from None
    if rate is not None and frame_rate != rate:
        raise ValueError(f"{path} is sampled at {frame_rate} Hz, not at sampling_rate={rate}: scratchgrad does not "
                         f"resample")
    if width not in (1, 2, 3, 4):
        raise ValueError(f"{path} holds {8 * width}-bit samples; 8, 16, 24 or 32-bit PCM is read")
    raw = np.frombuffer(data[:len(data) - len(data) % (width * channels)], np.uint8).reshape(-1, width)
    if width == 1:  # 8-bit PCM is unsigned, centred on 128
        samples = (raw[:, 0].astype(np.float32) - 128) / 128
    else:  # little-endian signed integers of `width` bytes, as the top bytes of an int32
        padded = np.zeros((len(raw), 4), np.uint8)
        padded[:, 4 - width:] = raw
        samples = (padded.view("<i4")[:, 0] / 2.0**31).astype(np.float32)
    samples = samples.reshape(-1, channels)
    return samples if length is None else _padded_stack([samples[:length]], length)[0]


def _padded_stack(arrays, length=None):
    """(samples, channels) arrays stacked, each zero-padded at its end to `length` or the longest's."""
    length = max(len(a) for a in arrays) if length is None else length
    out = np.zeros((len(arrays), length) + arrays[0].shape[1:], np.float32)
    for row, a in zip(out, arrays):
        row[:len(a)] = a
    return out


def _require_pillow(caller):
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise ImportError(f"{caller} needs Pillow, which is optional: pip install 'scratchgrad[plot]'") from None


def _directory_dataset(directory, formats, what, load, labels, label_mode, class_names, batch_size, shuffle, seed,
                       validation_split, subset, follow_links, verbose, stack=np.stack):
    """The steps the *_dataset_from_directory functions share, in Keras's order: check the arguments,
    list and shuffle the files, encode the labels, split, wrap each part in a PyDataset whose batches
    `stack` makes from the loaded samples."""
    from .random import get_rng
    from .validation import check_batch_size

    labels, label_mode = _check_label_arguments(labels, label_mode, class_names)
    _check_split_arguments(validation_split, subset, shuffle, seed)
    batch_size = None if batch_size is None else check_batch_size(batch_size)
    # Keras draws a seed here too, so the first shuffle and the later per-epoch ones come from one number
    seed = int(get_rng().integers(1_000_000)) if seed is None else seed
    paths, labels, class_names = _index_directory(directory, labels, formats, class_names, shuffle, seed,
                                                  follow_links, verbose)
    if not paths:
        raise ValueError(f"No {what} found in directory {directory}. Allowed formats: {', '.join(formats)}")
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'label_mode="binary" needs exactly 2 classes, got {len(class_names)}: {class_names}')
    targets = None if labels is None else _encode_labels(labels, label_mode, len(class_names))

    def part(name, reshuffle):
        files, part_targets = _split_files(paths, targets, validation_split, name, verbose)
        return _FileDataset(files, part_targets, load, batch_size, reshuffle, seed, class_names, stack)

    if subset == "both":  # as in Keras, the validation part keeps one order
        return part("training", shuffle), part("validation", False)
    return part(subset, shuffle)


def _check_label_arguments(labels, label_mode, class_names):
    """(labels, label_mode), both None when either asks for no labels."""
    if labels is not None and not (isinstance(labels, str) and labels == "inferred"):
        if not isinstance(labels, (list, tuple)):
            raise ValueError('labels must be "inferred", None, or a list/tuple of integer labels (one per file, in '
                             f"the sorted order of the file paths), got {type(labels).__name__}")
        wrong = [label for label in labels if isinstance(label, bool) or not isinstance(label, (int, np.integer))]
        if wrong:
            raise ValueError(f"labels must be integers, got {wrong[0]!r} ({type(wrong[0]).__name__})")
    if class_names is not None and labels != "inferred":
        raise ValueError(f'class_names can only be given with labels="inferred", got labels={labels!r}')
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f'label_mode must be "int", "categorical", "binary" or None, got {label_mode!r}')
    return (None, None) if labels is None or label_mode is None else (labels, label_mode)


def _check_split_arguments(validation_split, subset, shuffle, seed):
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be between 0 and 1, got {validation_split!r}")
    if bool(validation_split) != bool(subset):
        raise ValueError(f"subset and validation_split go together: got subset={subset!r}, "
                         f"validation_split={validation_split!r}")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'subset must be "training", "validation" or "both", got {subset!r}')
    if validation_split and shuffle and seed is None:
        raise ValueError("validation_split with shuffle=True needs a seed, so that the training and validation "
                         "subsets (made by separate calls) are drawn from the same shuffle and do not overlap")


def _index_directory(directory, labels, formats, class_names, shuffle, seed, follow_links, verbose):
    """(file paths, integer labels or None, class names) as Keras's index_directory lists them: class by
    class, each walked in sorted order, then shuffled by np.random.RandomState(seed) when `shuffle`."""
    import os

    if not os.path.isdir(directory):
        raise FileNotFoundError(f"directory {directory!r} does not exist or is not a directory")
    if labels == "inferred":
        found = [d for d in sorted(os.listdir(directory))
                 if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None and not set(class_names) <= set(found):
            raise ValueError(f"class_names {list(class_names)} must be sub-directories of {directory}; "
                             f"found {found}")
        class_names = list(found if class_names is None else class_names)
    paths, indices = [], []
    for index, folder in enumerate(class_names if labels == "inferred" else [""]):
        top = os.path.join(directory, folder)
        for root, _, files in sorted(os.walk(top, followlinks=follow_links), key=lambda entry: entry[0]):
            kept = [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(formats)]
            paths += [os.path.join(directory, os.path.relpath(p, directory)) for p in kept]
            indices += [index] * len(kept)
    if labels not in ("inferred", None):
        if len(labels) != len(paths):
            raise ValueError(f"labels has {len(labels)} entries but {directory} holds {len(paths)} files")
        indices, class_names = list(labels), [str(label) for label in sorted(set(labels))]
    if verbose:
        classes = "" if labels is None else f" belonging to {len(class_names)} classes"
        print(f"Found {len(paths)} files{classes}.")
    order = np.arange(len(paths))
    if shuffle:
        np.random.RandomState(seed).shuffle(order)
    return ([paths[i] for i in order], None if labels is None else np.asarray(indices, dtype=np.int32)[order],
            None if labels is None else class_names)


def _encode_labels(labels, label_mode, num_classes):
    if label_mode == "categorical":
        return to_categorical(labels, num_classes)
    if label_mode == "binary":
        return labels.astype(np.float32)[:, None]
    return labels


def _split_files(paths, targets, validation_split, subset, verbose):
    """Keras's split: the last int(validation_split * n) files are for validation, the rest for training."""
    if not validation_split:
        return paths, targets
    count = int(validation_split * len(paths))
    if not 0 < count < len(paths):
        raise ValueError(f"validation_split={validation_split} of {len(paths)} files leaves no training or "
                         "no validation files")
    part = slice(None, -count) if subset == "training" else slice(-count, None)
    if verbose:
        print(f"Using {len(paths[part])} files for {subset}.")
    return paths[part], None if targets is None else targets[part]


class _FileDataset(PyDataset):
    """Samples read from files when their batch is asked for; with `reshuffle`, a new order every epoch
    (as Keras's shuffled datasets have), drawn from `seed`."""

    def __init__(self, file_paths, targets, load, batch_size, reshuffle, seed, class_names, stack=np.stack):
        super().__init__()
        self.file_paths, self.class_names, self.stack = file_paths, class_names, stack
        self.targets, self.load, self.batch_size, self.reshuffle = targets, load, batch_size, reshuffle
        self.order = np.arange(len(file_paths))
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return len(self.order) if self.batch_size is None else -(-len(self.order) // self.batch_size)

    def __getitem__(self, index):
        index = range(len(self))[index]  # IndexError past the end ends a for loop over the dataset
        if self.batch_size is None:
            picked = self.order[index]
            x = self.load(self.file_paths[picked])
        else:
            picked = self.order[index * self.batch_size:(index + 1) * self.batch_size]
            x = self.stack([self.load(self.file_paths[i]) for i in picked])
        return x if self.targets is None else (x, self.targets[picked])

    def on_epoch_end(self):
        if self.reshuffle:
            self.order = self.rng.permutation(len(self.order))


def _read_text(path, max_length):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text if max_length is None else text[:max_length]


def _read_image(path, color_mode, size, interpolation, crop, pad, data_format):
    # the decoders of the extensions listed, whatever a file's content claims (Pillow would try them all)
    image = img_to_array(load_img(path, color_mode, formats=["BMP", "GIF", "JPEG", "PNG"]))
    image = _resize(_to_aspect_ratio(image, size, crop, pad), size, interpolation)
    return image.transpose(2, 0, 1) if data_format == "channels_first" else image


def _to_aspect_ratio(image, size, crop, pad):
    """The centred crop (or the zero padding) that gives `image` the aspect ratio of `size`, computed as
    keras.ops.image.resize computes it."""
    height, width = image.shape[:2]
    fit_height, fit_width = int(width * size[0] / size[1]), int(height * size[1] / size[0])
    if crop:
        crop_height, crop_width = max(min(height, fit_height), 1), max(min(width, fit_width), 1)
        top, left = (height - crop_height) // 2, (width - crop_width) // 2
        return image[top:top + crop_height, left:left + crop_width]
    if pad:
        # Keras puts the same margin on both sides, so an odd difference comes out one row short
        top, left = (max(height, fit_height) - height) // 2, (max(width, fit_width) - width) // 2
        return np.pad(image, ((top, top), (left, left), (0, 0)))
    return image


def _resize(image, size, interpolation):
    """An (height, width, channels) image resized as Keras's NumPy backend does (no antialiasing). Each
    output pixel is a weighted sum of the few input pixels under the kernel: gathering those keeps a
    large photo cheap, where Keras's dense weight matrix costs a product over every input pixel."""
    for axis, new in enumerate(size):
        indices, weights = _resize_taps(image.shape[axis], new, interpolation)
        along = (-1, 1, 1)[:image.ndim - axis]  # the weights vary along `axis`
        image = sum(np.take(image, i, axis=axis) * w.reshape(along) for i, w in zip(indices, weights))
    return image.astype(np.float32)


def _resize_taps(old, new, interpolation):
    """(indices, weights), each (taps, new): output pixel j is the sum over k of
    weights[k, j] * input[indices[k, j]]."""
    if interpolation == "nearest":
        nearest = np.floor((np.arange(new, dtype=np.float32) + 0.5) * old / new).astype(int)
        return nearest[None], np.ones((1, new))
    radius, kernel = _RESIZE_KERNELS[interpolation]
    centres = (np.arange(new) + 0.5) * old / new - 0.5  # output pixel centres in input coordinates
    indices = np.floor(centres).astype(int) + np.arange(1 - radius, radius + 1)[:, None]
    # pixels past the edge count for nothing; normalizing the rest is Keras's edge handling
    weights = kernel(np.abs(centres - indices)) * ((indices >= 0) & (indices < old))
    return indices.clip(0, old - 1), weights / weights.sum(axis=0)


def _keys_cubic(x):
    return np.where(x >= 2, 0.0, np.where(x >= 1, ((-0.5 * x + 2.5) * x - 4) * x + 2, (1.5 * x - 2.5) * x * x + 1))


def _lanczos(radius):
    def kernel(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi * x) ** 2
        return np.where(x > radius, 0.0, np.where(x > 1e-3, y, 1.0))
    return (radius, kernel)


# interpolation: (radius, kernel) as Keras's NumPy backend defines them; "nearest" needs no kernel
_RESIZE_KERNELS = {"bilinear": (1, lambda x: np.maximum(0.0, 1 - x)), "bicubic": (2, _keys_cubic),
                   "lanczos3": _lanczos(3), "lanczos5": _lanczos(5)}
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def serialize_keras_object(obj):
    """keras.utils.serialize_keras_object (keras.saving's): see scratchgrad.serialization."""
    from .serialization import serialize_keras_object

    return serialize_keras_object(obj)


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """keras.utils.deserialize_keras_object (keras.saving's): see scratchgrad.serialization."""
    from .serialization import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects, safe_mode, **kwargs)


def __getattr__(name):
    if name == "FeatureSpace":  # keras.utils.FeatureSpace: made of layers, which import this module
        from .layers.feature_space import FeatureSpace

        return FeatureSpace
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Config:
    """keras.utils.Config: named values set and read as attributes or as keys (a dict that reads like an
    object), iterated in sorted order; freeze() makes it read-only (a change then raises ValueError),
    as_dict() and to_json() give its values."""

    def __init__(self, **values):
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self):
        return self._frozen

    def freeze(self):
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self):
        object.__setattr__(self, "_frozen", False)

    def _writable(self):
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")
        return self._values

    def __getattr__(self, name):  # only for names that are not the class's own
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        close = difflib.get_close_matches(name, list(values), n=1, cutoff=0.7)
        raise AttributeError(f"Unknown attribute: '{name}'." + (f" Did you mean '{close[0]}'?" if close else ""))

    def __setattr__(self, name, value):
        self._writable()[name] = value

    __setitem__ = __setattr__

    def __getitem__(self, key):
        return self._values[key]

    def __delitem__(self, key):
        del self._writable()[key]

    def pop(self, *args):
        return self._writable().pop(*args)

    def update(self, *args, **kwargs):
        self._writable().update(*args, **kwargs)

    def get(self, key, default=None):
        return self._values.get(key, default)

    def keys(self):
        return self._values.keys()

    def values(self):
        return self._values.values()

    def items(self):
        return self._values.items()

    def as_dict(self):
        return dict(self._values)

    def to_json(self):
        return json.dumps(self._values)

    def __iter__(self):
        return iter(sorted(self._values))

    def __len__(self):
        return len(self._values)

    def __contains__(self, key):
        return key in self._values

    def __repr__(self):
        return f"<Config {self._values}>"
