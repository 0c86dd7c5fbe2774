"""Keras's CIFAR batches and word indexes, read without trusting them.

CIFAR's "python version" batches are pickled dicts holding a NumPy array, and a pickle may name any function
for the unpickler to call. Here the unpickler knows only the names that rebuild a numeric array, and each maps
to a stand-in of ours that merely records what it is given: no function a file names is ever called. The
array is then made with np.frombuffer, after its dtype, shape and byte count are checked. A tarball is read
member by member in memory, never extracted.

Keras pins the tarballs by sha256, so they are found, downloaded and verified like any dataset file. The
extracted batches (pinned by torchvision) and the word indexes (pinned by Keras) have only published MD5s, so
they are checked by MD5; safety never rests on the hash, only on the reading.
"""
import hashlib
import io
import json
import math
import pickle
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from . import _source
from ._errors import CorruptDatasetError, DatasetNotFoundError
from ._npz import MAX_MEMBER_BYTES

PIXELS = 3 * 32 * 32
_NUMERIC = re.compile(r"[biufc][0-9]{1,2}")  # a dtype name such as u1, i8, f4: no object, text or record


@dataclass(frozen=True)
class Batches:
    """One CIFAR set: its tarball (a Source pinned by Keras's sha256), the folder the tarball unpacks to, the
    MD5 of each extracted batch, and which batches make the training and the test set, in Keras's order."""

    source: _source.Source
    folder: str
    md5: dict
    train: tuple
    test: tuple


def load_cifar(batches, label_key, classes, label_dtype, data_dir=None):
    """(x_train, y_train), (x_test, y_test) with x (N, 32, 32, 3) uint8 (channels first, (N, 3, 32, 32), where
    config.image_data_format() says so, as Keras's) and y (N, 1) of `label_dtype`."""
    blobs = _batch_blobs(batches, data_dir)
    read = [_read_batch(blob, where, label_key, classes) for where, blob in blobs]
    split = len(batches.train)
    return _stack(read[:split], label_dtype), _stack(read[split:], label_dtype)


def _stack(read, label_dtype):
    from ..backend import image_data_format

    images = np.concatenate([images for images, _ in read]).reshape(-1, 3, 32, 32)  # the files' layout
    labels = np.array([label for _, labels in read for label in labels], dtype=label_dtype)
    if image_data_format() == "channels_last":
        images = np.ascontiguousarray(images.transpose(0, 2, 3, 1))
    return images, labels.reshape(-1, 1)


def _batch_blobs(batches, data_dir):
    """[(where, bytes)] of every batch, train then test: from an extracted folder if there is one, else from
    the tarball (found in the data folder, the cache or downloaded, and verified by `_source`)."""
    names = batches.train + batches.test
    folder = _extracted_folder(batches, data_dir)
    if folder is not None:
        return [(folder / name, _md5_checked(batches, name, folder / name)) for name in names]
    archive = batches.source.files[0]
    members = _tar_members(_source.load_file(batches.source, archive, data_dir), archive,
                           [f"{batches.folder}/{name}" for name in names])
    return [(f"{archive} ({member})", blob) for member, blob in members]


def _folders(source, data_dir):
    return [Path(data_dir) / source.subdir] if data_dir is not None else _source.env_folders(source)


def _extracted_folder(batches, data_dir):
    found = [folder / batches.folder for folder in _folders(batches.source, data_dir)]
    return next((folder for folder in found if folder.is_dir()), None)


def _md5_checked(batches, name, path):
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} is missing: {path.parent} should hold "
                                   f"{', '.join(batches.train + batches.test)}")
    blob = path.read_bytes()
    _check_md5(f"{batches.source.name} {name}", path, blob, batches.md5[name])
    return blob


def _check_md5(what, path, blob, expected):
    got = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    if got != expected:
        raise CorruptDatasetError(f"{path}: md5 of its file is {got}, expected {expected} for {what}; the file is "
                                  "damaged or not the official one, so it was not used")


def _tar_members(blob, archive, wanted):
    """[(name, bytes)] of the members `wanted`, in that order, read from the .tar.gz bytes `blob`."""
    found = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            for member in tar:
                _check_member(archive, member)
                if member.name in wanted:
                    found[member.name] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise CorruptDatasetError(f"{archive} is not a readable .tar.gz file: {err}") from None
    missing = [name for name in wanted if name not in found]
    if missing:
        raise CorruptDatasetError(f"{archive} lacks {', '.join(missing)}")
    return [(name, found[name]) for name in wanted]


def _check_member(archive, member):
    # Nothing is written to disk, but an archive naming paths outside itself is not the one Keras publishes.
    if member.name.startswith("/") or ".." in PurePosixPath(member.name).parts:
        raise CorruptDatasetError(f"{archive}: member {member.name!r} points outside the archive")
    if not member.isfile() and not member.isdir():
        raise CorruptDatasetError(f"{archive}: member {member.name!r} is a link or device, not a file")
    if member.size > MAX_MEMBER_BYTES:  # before reading it
        raise CorruptDatasetError(f"{archive}: member {member.name!r} declares {member.size:,} bytes, more than a "
                                  "dataset file holds")


# ---- pickled batches ------------------------------------------------------------------------------------------


class _Array:
    """Stands in for numpy.ndarray: keeps the state the pickle gives, for _to_array to check."""

    def __setstate__(self, state):
        self.state = state


class _DType:
    """Stands in for numpy.dtype: keeps its name (e.g. 'u1') and byte order."""

    def __init__(self, name, align=False, copy=True):  # numpy pickles np.dtype('u1', False, True)
        self.name, self.order = name, "|"

    def __setstate__(self, state):
        self.order = state[1]


def _reconstruct(cls, shape, typecode):
    if cls is not _Array:
        raise pickle.UnpicklingError("_reconstruct may only make a numpy.ndarray")
    return _Array()


def _frombuffer(buffer, dtype, shape, order):
    """What pickle protocol 5 calls for an array (the default protocol from Python 3.14 on)."""
    array = _Array()
    array.state = (shape, dtype, order == "F", buffer)
    return array


def _latin1(text, encoding):
    """Python 3 writes bytes at pickle protocol 2 as _codecs.encode(text, 'latin1'); only that call is done."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("_codecs.encode is only accepted as latin-1 encoding of text")
    return text.encode("latin1")


_STAND_INS = {
    ("numpy", "ndarray"): _Array,
    ("numpy", "dtype"): _DType,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _latin1,
}


class _StandInUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _STAND_INS[module, name]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a dataset file") from None


def _read_batch(blob, where, label_key, classes):
    """(images (N, 3072) uint8, labels) of one pickled batch; keys may be bytes (Python 2 pickles) or str."""
    try:
        batch = _StandInUnpickler(io.BytesIO(blob), encoding="bytes").load()
    except Exception as err:  # a damaged or hostile stream can fail in any way; each means "not a batch"
        raise CorruptDatasetError(f"{where} is not a CIFAR batch this loader accepts: {err}") from None
    if not isinstance(batch, dict):
        raise CorruptDatasetError(f"{where} should hold a dict, got {type(batch).__name__}")
    batch = {_text(key): value for key, value in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise CorruptDatasetError(f"{where} should hold 'data' and {label_key!r}, got keys {sorted(map(str, batch))}")
    images = _to_array(batch["data"], f"{where} 'data'")
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != PIXELS:
        raise CorruptDatasetError(f"{where}: 'data' should be uint8 images of shape (N, {PIXELS}), "
                                  f"got {images.dtype} {images.shape}")
    labels = batch[label_key]
    if not isinstance(labels, list) or len(labels) != len(images) or not all(
            type(label) is int and 0 <= label < classes for label in labels):
        raise CorruptDatasetError(f"{where}: {label_key!r} should be a list of {len(images)} integers in "
                                  f"[0, {classes})")
    return images, labels


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _to_array(obj, where):
    """The array a stand-in describes, built once its dtype is a plain number type and its bytes fill its shape."""
    state = getattr(obj, "state", None)
    if not isinstance(obj, _Array) or not isinstance(state, tuple) or len(state) not in (4, 5):
        raise CorruptDatasetError(f"{where} should be a NumPy array, got {type(obj).__name__}")
    shape, dtype, fortran, raw = state[-4:]  # a 5-tuple starts with numpy's state version
    name, order = (_text(dtype.name), _text(dtype.order)) if isinstance(dtype, _DType) else (None, None)
    if not (isinstance(name, str) and _NUMERIC.fullmatch(name) and order in ("<", ">", "|", "=")):
        raise CorruptDatasetError(f"{where}: only arrays of plain numbers are accepted, got dtype {name!r}")
    if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
        raise CorruptDatasetError(f"{where}: the array's shape should be a tuple of sizes, got {shape!r}")
    try:
        dtype = np.dtype(order + name)
    except TypeError:
        raise CorruptDatasetError(f"{where}: {name!r} is not a NumPy number type") from None
    expected = math.prod(shape) * dtype.itemsize
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != expected:
        got = f"{len(raw):,} bytes" if isinstance(raw, (bytes, bytearray)) else type(raw).__name__
        raise CorruptDatasetError(f"{where}: a {dtype} array of shape {shape} needs {expected:,} bytes, got {got}")
    return np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran is True else "C")


# ---- word indexes -------------------------------------------------------------------------------------------


def load_word_index(source, md5, data_dir=None):
    """{word: index} from Keras's JSON file `source.files[0]`: from the data folder, else the cache, else
    downloaded; checked by the MD5 Keras pins and by its content."""
    name = source.files[0]
    folders = _folders(source, data_dir)
    path = next((folder / name for folder in folders if (folder / name).is_file()), None)
    if path is None and data_dir is not None:
        raise _source.not_found(source, name, folders, "Nothing is downloaded when data_dir= is given.")
    path = path or _download(source, name, md5, folders)
    blob = path.read_bytes()
    _check_md5(f"{source.name} {name}", path, blob, md5)
    return _word_index(blob, path)


def _download(source, name, md5, folders):
    """The cached copy, fetched first if need be; pooch re-fetches a cached copy whose MD5 is wrong."""
    try:
        import pooch

        cache = _source.cache_dir() / source.subdir
    except ImportError:
        raise _source.not_found(source, name, folders, "pooch is not installed, so nothing can be downloaded "
                                "(pip install 'scratchgrad[datasets]').") from None
    try:
        return Path(pooch.retrieve(source.mirrors[0] + name, known_hash=f"md5:{md5}", fname=name, path=cache,
                                   progressbar=False))
    except (OSError, ValueError) as err:  # network failures are OSErrors; a wrong hash is a ValueError
        raise _source.not_found(source, name, folders + [cache], f"Downloading it failed: {err}") from None


def _word_index(blob, path):
    try:
        index = json.loads(blob)
    except (ValueError, RecursionError) as err:
        raise CorruptDatasetError(f"{path} is not a JSON file: {err}") from None
    if not isinstance(index, dict):
        raise CorruptDatasetError(f"{path} should map words to indices, got a JSON {type(index).__name__}")
    bad = next(((word, i) for word, i in index.items() if type(i) is not int), None)
    if bad is not None:
        raise CorruptDatasetError(f"{path}: word {bad[0]!r} maps to {bad[1]!r}; expected an integer index")
    return index
