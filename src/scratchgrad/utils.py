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
