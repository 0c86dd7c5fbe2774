"""Reading Keras's .npz dataset files without trusting them.

IMDB's and Reuters' sequences have different lengths, so Keras stores them as object arrays, which NumPy
writes as pickle streams. np.load(allow_pickle=True) would run whatever a tampered file asks; here a
restricted unpickler rebuilds only NumPy arrays and dtypes (lists and ints need no class), and the result
must be an array of integer lists or it is refused. Plain arrays are read with allow_pickle=False.
"""
import io
import pickle
import zipfile

import numpy as np

from ._errors import CorruptDatasetError

_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype")}
MAX_MEMBER_BYTES = 1 << 30  # no Keras dataset member comes near 1 GiB uncompressed
INT64 = np.iinfo(np.int64)


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a dataset file")
        return super().find_class(module, name)


def load_npz(path):
    """{name: array} of an .npz file; object arrays must be arrays of lists of integers."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.file_size > MAX_MEMBER_BYTES:  # checked before anything is decompressed
                    raise CorruptDatasetError(f"{path}: member {info.filename} would unpack to {info.file_size:,} "
                                              f"bytes, more than a dataset file holds")
            return {member[:-4]: _read_npy(archive.read(member), path, member)
                    for member in archive.namelist() if member.endswith(".npy")}
    except (zipfile.BadZipFile, OSError) as err:
        raise CorruptDatasetError(f"{path} is not a readable .npz file: {err}") from None


def _read_npy(blob, path, member):
    stream = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
        if dtype != object:
            if int(np.prod(shape)) * dtype.itemsize > len(blob) - stream.tell():  # before allocating
                raise ValueError(f"its header declares {shape} {dtype} but the file is {len(blob)} bytes")
            stream.seek(0)
            return np.lib.format.read_array(stream, allow_pickle=False)
        array = _ArraysOnly(stream).load()
    except (ValueError, pickle.UnpicklingError, EOFError) as err:
        raise CorruptDatasetError(f"{path} ({member}) is not an array file this loader accepts: {err}") from None
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape) or not all(
            isinstance(row, list) and all(type(v) is int and INT64.min <= v <= INT64.max for v in row)
            for row in array.ravel()):
        raise CorruptDatasetError(f"{path} ({member}) should hold lists of integers")
    return array
