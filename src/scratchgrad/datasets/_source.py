"""Where MNIST-style files come from and how they are checked.

Order of search: the `data_dir=` argument (that folder only, nothing downloaded), else the folder named by
$SCRATCHGRAD_DATA, then, for a loader given Keras's `path=`, the file Keras downloaded ($KERAS_HOME/datasets,
~/.keras/datasets by default), then the download cache, then each mirror in turn. Every file is located before any is
parsed, and verified before its bytes are trusted, so a failure never leaves a partial result behind.
"""
import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._errors import CorruptDatasetError, DatasetNotFoundError
from ._idx import decompress, parse_idx

ENV_VAR = "SCRATCHGRAD_DATA"
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class Source:
    """One MNIST-style dataset: display name, subfolder, mirror base URLs and the sha256 of each file.

    `hashed` says what `sha256` covers: "content" (the decompressed IDX bytes, so any faithful re-compression
    is accepted) or "archive" (the .gz as published, used where no content hashes are known).
    """

    name: str
    subdir: str
    mirrors: tuple
    sha256: dict
    hashed: str = "content"  # or "archive", or "file" (a file used as it is, e.g. Keras's .npz)
    files: tuple = FILES


def data_dir():
    """The folder datasets are looked for in first: $SCRATCHGRAD_DATA if set, else the download cache.

    None when neither exists: the variable is unset and pooch (which the cache needs) is not installed.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    try:
        return cache_dir()
    except ImportError:
        return None


def cache_dir():
    """The per-user cache downloads go to (pooch knows each platform's convention)."""
    import pooch

    return Path(pooch.os_cache("scratchgrad"))


def load_source(source, data_dir=None):
    """`source`'s four files as uint8 arrays: (x_train, y_train), (x_test, y_test)."""
    found = [locate(source, name, data_dir) for name in FILES]
    x_train, y_train, x_test, y_test = (read(source, name, path, owned) for name, (path, owned) in zip(FILES, found))
    check_counts(source, FILES[0], x_train, FILES[1], y_train)
    check_counts(source, FILES[2], x_test, FILES[3], y_test)
    return (x_train, y_train), (x_test, y_test)


def locate(source, name, data_dir, keras_path=None):
    """(path, owned) of file `name`; owned means it sits in our cache, so we may delete it if it proves bad.
    `keras_path`: a loader's Keras `path=` argument, where Keras keeps the file (keras_file)."""
    folders = [Path(data_dir) / source.subdir] if data_dir is not None else env_folders(source)
    for folder in folders:
        if (folder / name).is_file():
            return folder / name, False
    if data_dir is not None:
        raise not_found(source, name, folders, "Nothing is downloaded when data_dir= is given.")
    kept = None if keras_path is None else keras_file(keras_path)
    if kept is not None and kept.is_file():
        return kept, False  # Keras's download: checked as any, never deleted
    try:
        cache = cache_dir() / source.subdir
    except ImportError:
        raise not_found(
            source, name, folders, "pooch is not installed, so nothing can be downloaded "
            "(pip install 'scratchgrad[datasets]')."
        ) from None
    if (cache / name).is_file():
        return cache / name, True
    return fetch(source, name, cache, folders + [cache]), True


def keras_file(path):
    """Where Keras's get_file keeps a dataset file named `path`: under $KERAS_HOME/datasets (~/.keras/datasets),
    or `path` itself when it is absolute, as Keras joins them."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home, "datasets", os.fspath(path))


def env_folders(source):
    env = os.environ.get(ENV_VAR)
    return [Path(env) / source.subdir] if env else []


def fetch(source, name, folder, looked_in):
    """Download `name` into `folder` from the first mirror that serves a file passing verification."""
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in source.mirrors:
        url = mirror + name
        handle, part = tempfile.mkstemp(dir=folder, prefix=name + ".", suffix=".part")
        os.close(handle)
        part = Path(part)
        try:
            print(f"Downloading {url}", file=sys.stderr)
            _download(url, part)
            verified_content(source, name, part)
            os.replace(part, folder / name)
            return folder / name
        except (OSError, CorruptDatasetError) as err:
            failures.append(f"  {url}: {err}")
        finally:
            part.unlink(missing_ok=True)  # a failed or rejected download never stays on disk
    raise not_found(source, name, looked_in, "Downloading it failed:\n" + "\n".join(failures))


def _download(url, path):
    """Write `url` to `path`; network failures surface as OSError (requests' exceptions derive from it)."""
    import pooch

    pooch.HTTPDownloader(progressbar=False, timeout=DOWNLOAD_TIMEOUT_S)(url, str(path), None)


def not_found(source, name, folders, reason):
    looked = "\n".join(f"  {folder}" for folder in folders) or f"  (no folder: ${ENV_VAR} is unset)"
    return DatasetNotFoundError(
        f"{source.name} file {name} was not found. Looked in:\n{looked}\n{reason}\n"
        f"To use local copies, put {', '.join(source.files)} in a folder named '{source.subdir}' and pass the folder "
        f"that contains it as data_dir=, or set {ENV_VAR} to it "
        f"(e.g. {ENV_VAR}=/data with the files in /data/{source.subdir}/)."
    )


def read(source, name, path, owned):
    """The verified array in `path`; a bad file of ours is deleted so the next call downloads it afresh."""
    try:
        return parse_idx(verified_content(source, name, path), path, ndim=3 if "images" in name else 1)
    except CorruptDatasetError:
        if owned:
            path.unlink(missing_ok=True)
        raise


def load_file(source, name, data_dir=None, keras_path=None):
    """The verified bytes of one file of `source` (found or downloaded as any dataset file)."""
    path, owned = locate(source, name, data_dir, keras_path)
    try:
        return verified_content(source, name, path)
    except CorruptDatasetError:
        if owned:
            path.unlink(missing_ok=True)
        raise


def verified_content(source, name, path):
    """The decompressed IDX bytes of `path` (its bytes as they are for hashed="file"), after its sha256
    matched the one recorded for `name`."""
    raw = path.read_bytes()
    if source.hashed == "file":
        check_hash(source, name, path, raw, "file")
        return raw
    if source.hashed == "archive":
        check_hash(source, name, path, raw, "gzip file")
        return decompress(raw, path)
    content = decompress(raw, path)
    check_hash(source, name, path, content, "decompressed content")
    return content


def check_hash(source, name, path, blob, what):
    got = hashlib.sha256(blob).hexdigest()
    expected = source.sha256[name]
    if got != expected:
        raise CorruptDatasetError(
            f"{path}: sha256 of its {what} is {got}, expected {expected} for {source.name} {name}; "
            "the file is damaged or not the official one, so it was not used"
        )


def check_counts(source, images_name, images, labels_name, labels):
    if len(images) != len(labels):
        raise CorruptDatasetError(
            f"{source.name}: {images_name} holds {len(images)} images but {labels_name} holds {len(labels)} labels"
        )
