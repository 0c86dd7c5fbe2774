"""Reading the IDX format of MNIST-style files: a gzip stream holding a big-endian header and raw bytes."""
import gzip
import zlib

import numpy as np

from ._errors import CorruptDatasetError

_UBYTE = 0x08  # the IDX type code for unsigned bytes, the only one MNIST-style files use


def decompress(raw, path):
    """The bytes inside gzip `raw`, read from `path`; a truncated or damaged archive names the file."""
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise CorruptDatasetError(f"{path} is not a complete gzip file ({err}); delete it and fetch it again") from None


def parse_idx(data, path, ndim):
    """The uint8 array stored in IDX bytes `data`, checked to have `ndim` dimensions and exactly their payload."""
    if len(data) < 4:
        raise CorruptDatasetError(f"{path}: {len(data)} bytes is too short for an IDX header")
    zero, dtype_code, file_ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or dtype_code != _UBYTE or file_ndim != ndim:
        raise CorruptDatasetError(
            f"{path}: IDX magic number {data[:4].hex()} does not describe a {ndim}-d unsigned-byte array "
            f"(expected 0000{_UBYTE:02x}{ndim:02x})"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptDatasetError(f"{path}: the IDX header needs {header} bytes, the file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    payload = len(data) - header
    if payload != int(np.prod(shape)):
        raise CorruptDatasetError(
            f"{path}: the header announces shape {shape} = {int(np.prod(shape))} bytes but the payload has {payload}"
        )
    # copy: frombuffer over `bytes` is read-only, and callers expect arrays they can modify like Keras's
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()
