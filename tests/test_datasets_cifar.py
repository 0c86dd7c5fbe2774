"""CIFAR-10/100 and the word indexes, on small files made in the real formats; no network."""
import dataclasses
import hashlib
import io
import json
import os
import pickle
import shlex
import struct
import tarfile

import numpy as np
import pytest

from scratchgrad.datasets import (
    CorruptDatasetError,
    DatasetNotFoundError,
    _keras_files,
    _source,
    cifar10,
    cifar100,
    imdb,
    reuters,
)


def no_network(*args, **kwargs):
    raise ConnectionError("no network in tests")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("SCRATCHGRAD_DATA", raising=False)
    monkeypatch.setattr(_source, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(_source, "_download", no_network)
    try:
        import pooch
    except ImportError:  # then nothing can be downloaded anyway
        return
    monkeypatch.setattr(pooch, "retrieve", no_network)


# ---- files in the real formats ---------------------------------------------------------------------------------


class Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 wrote its str (BINSTRING): the CIFAR files were made under Python 2."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_str(self, obj):
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_str


def dumps(obj, flavour):
    """`obj` pickled as the CIFAR files are ("python2": also naming numpy 1's module, numpy.core) or at a protocol."""
    if flavour == "python2":
        out = io.BytesIO()
        Python2Pickler(out, protocol=2).dump(obj)
        return out.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    return pickle.dumps(obj, protocol=flavour)


FLAVOURS = ["python2", 2, None, 5]  # None: this Python's default protocol


def batch(rng, n, flavour="python2", **labels):
    """(images, labels, pickled bytes) of a batch: bytes keys as Python 2 wrote them, str keys otherwise."""
    images = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    key = (lambda k: k.encode()) if flavour == "python2" else str
    content = {key("batch_label"): key("training batch"), key("data"): images, key("filenames"): [key("a.png")] * n}
    content.update({key(name): values for name, values in labels.items()})
    return images, labels, dumps(content, flavour)


def as_images(rows):
    """What Keras makes of (N, 3072) rows: channels_last images."""
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def write_folder(monkeypatch, module, root, blobs):
    """The extracted layout, root/<subdir>/<folder>/<batch>, with `module` trusting these files."""
    folder = root / module.BATCHES.source.subdir / module.BATCHES.folder
    folder.mkdir(parents=True)
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)
    md5 = {name: hashlib.md5(blob).hexdigest() for name, blob in blobs.items()}
    monkeypatch.setattr(module, "BATCHES", dataclasses.replace(module.BATCHES, md5=md5))
    return folder


def tarball(members):
    """A .tar.gz of {name: bytes}, or of TarInfo objects given as {name: TarInfo}."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, content in members.items():
            if isinstance(content, tarfile.TarInfo):
                tar.addfile(content)
            else:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def write_tarball(monkeypatch, module, folder, blob):
    """The tarball in `folder`, with `module` trusting its sha256; returns its path."""
    source = module.BATCHES.source
    name = source.files[0]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(blob)
    trusted = dataclasses.replace(source, sha256={name: hashlib.sha256(blob).hexdigest()})
    monkeypatch.setattr(module, "BATCHES", dataclasses.replace(module.BATCHES, source=trusted))
    return folder / name


def cifar10_set(rng, flavour="python2", sizes=(2, 3, 1, 2, 2, 3)):
    names = cifar10.BATCHES.train + cifar10.BATCHES.test
    made = {name: batch(rng, n, flavour, labels=rng.integers(0, 10, n).tolist()) for name, n in zip(names, sizes)}
    images = {name: m[0] for name, m in made.items()}
    labels = {name: m[1]["labels"] for name, m in made.items()}
    return images, labels, {name: m[2] for name, m in made.items()}


# ---- CIFAR-10 --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS, ids=["python2", "protocol2", "default", "protocol5"])
def test_cifar10_from_the_extracted_folder_is_what_keras_gives(tmp_path, monkeypatch, flavour):
    images, labels, blobs = cifar10_set(np.random.default_rng(0), flavour)
    write_folder(monkeypatch, cifar10, tmp_path, blobs)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(data_dir=tmp_path)

    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert y_train.shape == (10, 1) and y_test.shape == (3, 1)
    assert x_train.dtype == x_test.dtype == y_train.dtype == y_test.dtype == np.uint8
    train = cifar10.BATCHES.train  # batches 1 to 5, in that order
    np.testing.assert_array_equal(x_train, as_images(np.concatenate([images[name] for name in train])))
    assert y_train.ravel().tolist() == [label for name in train for label in labels[name]]
    np.testing.assert_array_equal(x_test, as_images(images["test_batch"]))
    assert y_test.ravel().tolist() == labels["test_batch"]
    # channels_last: pixel (row 0, column 1) of image 0 holds bytes 1, 1025 and 2049 of its row (R, G, B planes)
    assert x_train[0, 0, 1].tolist() == images["data_batch_1"][0, [1, 1025, 2049]].tolist()


def test_cifar10_from_the_tarball_reads_it_in_memory(tmp_path, monkeypatch):
    images, labels, blobs = cifar10_set(np.random.default_rng(1))
    folder = tarfile.TarInfo("cifar-10-batches-py")
    folder.type = tarfile.DIRTYPE
    archive = tarball({folder.name: folder} | {  # members in another order than Keras reads them
        f"{folder.name}/{name}": blob for name, blob in reversed(blobs.items())})
    data = tmp_path / "data"
    write_tarball(monkeypatch, cifar10, data / "cifar10", archive)
    monkeypatch.setenv("SCRATCHGRAD_DATA", str(data))
    before = sorted(tmp_path.rglob("*"))

    (x_train, _), (_, y_test) = cifar10.load_data()

    assert sorted(tmp_path.rglob("*")) == before  # nothing extracted, nothing downloaded
    np.testing.assert_array_equal(x_train, as_images(np.concatenate([images[n] for n in cifar10.BATCHES.train])))
    assert y_test.ravel().tolist() == labels["test_batch"]


def test_cifar10_downloads_keras_tarball_into_the_cache(tmp_path, monkeypatch):
    _, labels, blobs = cifar10_set(np.random.default_rng(2))
    archive = tarball({f"cifar-10-batches-py/{name}": blob for name, blob in blobs.items()})
    urls = []

    def serve(url, path):
        urls.append(url)
        path.write_bytes(archive)

    monkeypatch.setattr(_source, "_download", serve)
    trusted = dataclasses.replace(cifar10.BATCHES.source,
                                  sha256={"cifar-10-python.tar.gz": hashlib.sha256(archive).hexdigest()})
    monkeypatch.setattr(cifar10, "BATCHES", dataclasses.replace(cifar10.BATCHES, source=trusted))

    (_, y_train), _ = cifar10.load_data()

    assert urls == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    assert (tmp_path / "cache" / "cifar10" / "cifar-10-python.tar.gz").read_bytes() == archive
    assert y_train.ravel().tolist() == [label for name in cifar10.BATCHES.train for label in labels[name]]


def test_cifar10_nothing_found_names_the_folder_and_the_files(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"(?s)cifar10.*cifar-10-python\.tar\.gz"):
        cifar10.load_data(data_dir=tmp_path)


def test_a_changed_batch_or_tarball_fails_its_hash(tmp_path, monkeypatch):
    _, _, blobs = cifar10_set(np.random.default_rng(3))
    folder = write_folder(monkeypatch, cifar10, tmp_path / "a", blobs)
    (folder / "data_batch_3").write_bytes(blobs["data_batch_3"] + b"\0")
    with pytest.raises(CorruptDatasetError, match="md5 of its file"):
        cifar10.load_data(data_dir=tmp_path / "a")
    (folder / "data_batch_3").write_bytes(blobs["data_batch_3"])
    (folder / "test_batch").unlink()
    with pytest.raises(DatasetNotFoundError, match="test_batch"):
        cifar10.load_data(data_dir=tmp_path / "a")

    path = write_tarball(monkeypatch, cifar10, tmp_path / "b" / "cifar10", tarball({}))
    path.write_bytes(tarball({"x": b"1"}))
    with pytest.raises(CorruptDatasetError, match="sha256"):
        cifar10.load_data(data_dir=tmp_path / "b")


# ---- CIFAR-100 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS, ids=["python2", "protocol2", "default", "protocol5"])
def test_cifar100_label_modes(tmp_path, monkeypatch, flavour):
    rng = np.random.default_rng(4)
    made = {name: batch(rng, n, flavour, fine_labels=rng.integers(0, 100, n).tolist(),
                        coarse_labels=rng.integers(0, 20, n).tolist()) for name, n in (("train", 5), ("test", 2))}
    write_folder(monkeypatch, cifar100, tmp_path, {name: m[2] for name, m in made.items()})

    for mode in ("fine", "coarse"):
        (x_train, y_train), (x_test, y_test) = cifar100.load_data(mode, data_dir=tmp_path)
        assert x_train.shape == (5, 32, 32, 3) and x_train.dtype == np.uint8
        np.testing.assert_array_equal(x_test, as_images(made["test"][0]))
        assert y_train.shape == (5, 1) and y_test.shape == (2, 1)
        assert y_train.dtype == np.int64  # Keras reshapes the pickled list, so its labels are int64 here
        assert y_train.ravel().tolist() == made["train"][1][f"{mode}_labels"]
        assert y_test.ravel().tolist() == made["test"][1][f"{mode}_labels"]
    with pytest.raises(ValueError, match="label_mode.*'medium'"):
        cifar100.load_data("medium", data_dir=tmp_path)


# ---- hostile and malformed files --------------------------------------------------------------------------------


class Payload:
    """Unpickled by a trusting reader, calls `call(argument)`: here, creating the marker file."""

    def __init__(self, call, argument):
        self.call, self.argument = call, argument

    def __reduce__(self):
        return self.call, (self.argument,)


def payloads(marker):
    return {
        "os.system": Payload(os.system, f"touch {shlex.quote(str(marker))}"),
        "builtins.eval": Payload(eval, f"open({str(marker)!r}, 'w').close()"),
        "builtins.exec": Payload(exec, f"open({str(marker)!r}, 'w').close()"),
    }


@pytest.mark.parametrize("call", ["os.system", "builtins.eval", "builtins.exec"])
@pytest.mark.parametrize("where", ["data", "labels", "in an object array"])
@pytest.mark.parametrize("flavour", ["python2", None])
def test_a_hostile_pickle_is_refused_without_running_anything(tmp_path, monkeypatch, call, where, flavour):
    marker = tmp_path / "ran"
    payload = payloads(marker)[call]
    rng = np.random.default_rng(5)
    images, labels, _ = batch(rng, 2, labels=[1, 2])
    content = {"data": images, "labels": labels}
    if where == "in an object array":
        evil = np.empty(2, dtype=object)
        evil[:] = [payload, 1]
        content["data"] = evil
    else:
        content[where] = payload
    blob = dumps(content, flavour)
    _, _, blobs = cifar10_set(rng)
    write_folder(monkeypatch, cifar10, tmp_path / "data", blobs | {"data_batch_2": blob})

    refused = r"data_batch_2.*(posix|nt|os|builtins|__builtin__)\.(system|eval|exec) is not allowed"
    with pytest.raises(CorruptDatasetError, match=refused):
        cifar10.load_data(data_dir=tmp_path / "data")
    assert not marker.exists()
    pickle.loads(blob, encoding="bytes")  # the payload is live: a trusting reader runs it
    assert marker.exists()


class ArrayState:
    """Pickles as numpy pickles an array, but with the state given (to describe arrays numpy would not make)."""

    def __init__(self, shape, dtype, raw):
        self.state = (1, shape, dtype, False, raw)

    def __reduce__(self):
        return np.zeros(0).__reduce__()[0], (np.ndarray, (0,), b"b"), self.state


@pytest.mark.parametrize("content, message", [
    ([1, 2], "should hold a dict, got list"),
    ({"data": np.zeros((1, 3072), np.uint8)}, "should hold 'data' and 'labels'"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [1]}, "list of 2 integers in"),
    ({"data": np.zeros((1, 3072), np.uint8), "labels": [10]}, r"integers in \[0, 10\)"),
    ({"data": np.zeros((1, 3072), np.uint8), "labels": [True]}, "integers"),
    ({"data": np.zeros((1, 3072), np.float32), "labels": [1]}, r"uint8 images of shape \(N, 3072\), got float32"),
    ({"data": np.zeros((1, 1000), np.uint8), "labels": [1]}, r"got uint8 \(1, 1000\)"),
    ({"data": np.array([b"x" * 3072], dtype="S3072"), "labels": [1]}, "plain numbers.*'S3072'"),
    ({"data": np.zeros(1, dtype=[("a", "u1")]), "labels": [1]}, "plain numbers"),
    ({"data": np.array([1, 2], dtype=object), "labels": [1]}, "plain numbers.*'O8'"),
    ({"data": np.ma.masked_array(np.zeros((1, 3072), np.uint8)), "labels": [1]}, "numpy.ma.core._mareconstruct is"),
    ({"data": ArrayState((1, 3072), np.dtype(np.uint8), b"\0" * 100), "labels": [1]}, "needs 3,072 bytes, got 100"),
    ({"data": ArrayState((10**12, 3072), np.dtype(np.uint8), b"\0"), "labels": [1]}, "needs 3,072,000,000,000,000"),
    ({"data": ArrayState((1, -3072), np.dtype(np.uint8), b"\0"), "labels": [1]}, "shape should be a tuple of sizes"),
    ({"data": ArrayState((1, 3072), np.dtype(np.uint8), "text"), "labels": [1]}, "needs 3,072 bytes, got str"),
], ids=["list", "no-labels", "label-count", "label-range", "bool-label", "float-images", "wrong-width", "bytes-dtype",
        "record-dtype", "object-array", "ndarray-subclass", "short-bytes", "huge-shape", "negative-shape", "text-data"])
def test_a_malformed_batch_is_refused_clearly(tmp_path, monkeypatch, content, message):
    _, _, blobs = cifar10_set(np.random.default_rng(6))
    write_folder(monkeypatch, cifar10, tmp_path, blobs | {"test_batch": pickle.dumps(content, protocol=2)})
    with pytest.raises(CorruptDatasetError, match=f"(?s)test_batch.*{message}"):
        cifar10.load_data(data_dir=tmp_path)


@pytest.mark.parametrize("blob, message", [
    (b"\x80\x02cnumpy\ndtype\nq\x00X\x02\x00\x00\x00u1q\x01\x85q\x02Rq\x03.", "should hold a dict, got _DType"),
    (b"\x80\x02cnumpy._core.multiarray\n_reconstruct\nq\x00cbuiltins\ndict\nq\x01\x85q\x02Rq\x03.",
     "builtins.dict is not allowed"),
    (b"\x80\x02cnumpy._core.multiarray\n_reconstruct\nq\x00cnumpy\ndtype\nq\x01K\x00\x85C\x01b\x87R.",
     "_reconstruct may only make a numpy.ndarray"),
    (b"\x80\x02c_codecs\nencode\nq\x00X\x01\x00\x00\x00xX\x05\x00\x00\x00rot13\x86q\x01Rq\x02.", "latin-1"),
    (b"\x80\x02}q\x00(X\x04\x00\x00\x00dataq\x01", "not a CIFAR batch"),
], ids=["dtype-alone", "reconstruct-a-dict", "reconstruct-a-dtype", "codecs-rot13", "truncated"])
def test_stand_ins_do_only_what_an_array_needs(tmp_path, monkeypatch, blob, message):
    _, _, blobs = cifar10_set(np.random.default_rng(7))
    write_folder(monkeypatch, cifar10, tmp_path, blobs | {"test_batch": blob})
    with pytest.raises(CorruptDatasetError, match=message):
        cifar10.load_data(data_dir=tmp_path)


def link(name, target):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


@pytest.mark.parametrize("members, message", [
    ({"/etc/cifar-10-batches-py": b"x"}, "points outside the archive"),
    ({"cifar-10-batches-py/../../x": b"x"}, "points outside the archive"),
    ({"cifar-10-batches-py/data_batch_1": link("cifar-10-batches-py/data_batch_1", "/etc/passwd")}, "is a link"),
    ({"cifar-10-batches-py/readme": b"x"}, "lacks cifar-10-batches-py/data_batch_1"),
], ids=["absolute", "dot-dot", "symlink", "missing"])
def test_a_tarball_with_unexpected_members_is_refused(tmp_path, monkeypatch, members, message):
    write_tarball(monkeypatch, cifar10, tmp_path / "cifar10", tarball(members))
    with pytest.raises(CorruptDatasetError, match=message):
        cifar10.load_data(data_dir=tmp_path)


def test_a_tarball_member_is_size_checked_before_it_is_read(tmp_path, monkeypatch):
    _, _, blobs = cifar10_set(np.random.default_rng(8))
    write_tarball(monkeypatch, cifar10, tmp_path / "cifar10",
                  tarball({f"cifar-10-batches-py/{name}": blob for name, blob in blobs.items()}))
    monkeypatch.setattr(_keras_files, "MAX_MEMBER_BYTES", min(map(len, blobs.values())) - 1)
    monkeypatch.setattr(tarfile.ExFileObject, "read", no_network)  # reading a member now fails loudly
    with pytest.raises(CorruptDatasetError, match="declares .* bytes, more than a dataset file holds"):
        cifar10.load_data(data_dir=tmp_path)


def test_a_damaged_tarball_is_refused(tmp_path, monkeypatch):
    write_tarball(monkeypatch, cifar10, tmp_path / "cifar10", b"\x1f\x8b not really gzip")
    with pytest.raises(CorruptDatasetError, match="not a readable .tar.gz"):
        cifar10.load_data(data_dir=tmp_path)


# ---- word indexes ----------------------------------------------------------------------------------------------


WORDS = {"the": 1, "and": 2, "a": 3, "élan": 88584}


def trust_word_index(monkeypatch, module, blob):
    monkeypatch.setattr(module, "WORD_INDEX_MD5", hashlib.md5(blob).hexdigest())


@pytest.mark.parametrize("module", [imdb, reuters], ids=["imdb", "reuters"])
def test_word_index_from_the_data_folder(tmp_path, monkeypatch, module):
    blob = json.dumps(WORDS).encode()
    name = module.WORD_INDEX.files[0]
    (tmp_path / module.WORD_INDEX.subdir).mkdir()
    (tmp_path / module.WORD_INDEX.subdir / name).write_bytes(blob)
    trust_word_index(monkeypatch, module, blob)
    assert module.get_word_index(data_dir=tmp_path) == WORDS
    monkeypatch.setenv("SCRATCHGRAD_DATA", str(tmp_path))
    assert module.get_word_index() == WORDS

    (tmp_path / module.WORD_INDEX.subdir / name).write_bytes(blob + b" ")
    with pytest.raises(CorruptDatasetError, match="md5 of its file"):
        module.get_word_index()
    with pytest.raises(DatasetNotFoundError, match=name):
        module.get_word_index(data_dir=tmp_path / "elsewhere")


@pytest.mark.parametrize("module, url, md5", [
    (imdb, "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json",
     "bfafd718b763782e994055a2d397834f"),
    (reuters, "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters_word_index.json",
     "4d44cc38712099c9e383dc6e5f11a921"),
], ids=["imdb", "reuters"])
def test_word_index_is_downloaded_with_keras_url_and_md5(tmp_path, monkeypatch, module, url, md5):
    pooch = pytest.importorskip("pooch")
    blob = json.dumps(WORDS).encode()
    asked = []

    def retrieve(address, known_hash, fname, path, progressbar):
        asked.append((address, known_hash))
        path.mkdir(parents=True, exist_ok=True)
        (path / fname).write_bytes(blob)
        return str(path / fname)

    monkeypatch.setattr(pooch, "retrieve", retrieve)
    with pytest.raises(CorruptDatasetError, match=f"expected {md5}"):  # Keras's pin refuses our small file
        module.get_word_index()
    assert asked == [(url, f"md5:{md5}")]
    assert (tmp_path / "cache" / module.WORD_INDEX.subdir / module.WORD_INDEX.files[0]).is_file()

    trust_word_index(monkeypatch, module, blob)
    assert module.get_word_index() == WORDS


def test_word_index_download_failure_says_so(tmp_path):
    pytest.importorskip("pooch")
    with pytest.raises(DatasetNotFoundError, match="(?s)Downloading it failed: no network in tests"):
        imdb.get_word_index()


@pytest.mark.parametrize("blob, message", [
    (b'["the", "and"]', "should map words to indices, got a JSON list"),
    (b'{"the": 1, "and": "2"}', "word 'and' maps to '2'; expected an integer index"),
    (b'{"the": 1, "and": 2.0}', "word 'and' maps to 2.0"),
    (b'{"the": true}', "word 'the' maps to True"),
    (b'{"the": 1', "is not a JSON file"),
    (b"\xff\xfe\x00", "is not a JSON file"),
    (b"[" * 100_000, "is not a JSON file"),
], ids=["list", "str-index", "float-index", "bool-index", "truncated", "not-text", "deeply-nested"])
def test_a_malformed_word_index_is_refused(tmp_path, monkeypatch, blob, message):
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb" / "imdb_word_index.json").write_bytes(blob)
    trust_word_index(monkeypatch, imdb, blob)
    with pytest.raises(CorruptDatasetError, match=message):
        imdb.get_word_index(data_dir=tmp_path)


def test_reuters_label_names_are_keras_46_topics():
    names = reuters.get_label_names()
    assert isinstance(names, tuple) and len(names) == len(set(names)) == 46
    assert names[:5] == ("cocoa", "grain", "veg-oil", "earn", "acq") and names[-1] == "lead"


def test_the_loaders_are_exported():
    from scratchgrad import datasets

    assert {"cifar10", "cifar100"} <= set(datasets.__all__)
    assert datasets.cifar10.load_data is cifar10.load_data and datasets.cifar100.load_data is cifar100.load_data
