"""Conversions at the boundary: whatever the user hands in (lists, pandas, Tensors) becomes an array."""
import numpy as np

from .backend import to_numpy


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


def clear_session():
    """Restart layer naming (dense, dense_1, ... begin again), as keras.utils.clear_session does."""
    from .layers.base import _name_counts

    _name_counts.clear()


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
        starts = self.starts[index * self.batch_size:(index + 1) * self.batch_size]
        windows = self.data[starts[:, None] + self.offsets]
        return windows if self.targets is None else (windows, self.targets[starts])


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """keras.utils.load_img: an image file as a PIL Image ("grayscale", "rgb" or "rgba"), resized to
    target_size=(height, width) when given. Needs Pillow."""
    from PIL import Image

    modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ValueError(f"color_mode must be one of {', '.join(modes)}, got {color_mode!r}")
    with Image.open(path) as image:
        image = image.convert(modes[color_mode])
    if target_size is not None:
        resample = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[interpolation]
        image = image.resize((target_size[1], target_size[0]), resample)
    return image


def img_to_array(img, data_format="channels_last", dtype="float32"):
    """A PIL image as a (height, width, channels) array (channels first with data_format)."""
    array = np.asarray(img, dtype=dtype)
    array = array[..., None] if array.ndim == 2 else array
    return array.transpose(2, 0, 1) if data_format == "channels_first" else array


def array_to_img(x, data_format="channels_last", scale=True, dtype=None):
    """An (height, width, channels) array as a PIL image; `scale` maps its range onto 0-255."""
    from PIL import Image

    x = np.asarray(x, dtype=np.float64)
    x = x.transpose(1, 2, 0) if data_format == "channels_first" else x
    if scale:
        x = x - x.min()
        x = x / x.max() * 255 if x.max() > 0 else x
    x = x.astype(np.uint8)
    return Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)


def save_img(path, x, data_format="channels_last", file_format=None, scale=True, **kwargs):
    array_to_img(x, data_format, scale).save(path, format=file_format, **kwargs)
