import dataclasses
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from scratchgrad import Tensor
from scratchgrad.datasets import (
    CorruptDatasetError,
    DataLoader,
    DatasetNotFoundError,
    data_dir,
    fashion_mnist,
    load_breast_cancer,
    load_digits,
    load_fashion_mnist,
    load_iris,
    load_mnist,
    logic_gate,
    make_moons,
    mnist,
    spiral,
)
from scratchgrad.datasets import _source
from scratchgrad.random import set_seed

FILES = _source.FILES
REAL_DATA = os.environ.get("SCRATCHGRAD_DATA")  # read before the autouse fixture hides it from the loaders
N_TRAIN, N_TEST = 6, 4


# ---- generated IDX files --------------------------------------------------------------------------------------


def idx_bytes(array):
    """An IDX file for a uint8 array: zero, type code 0x08, ndim, big-endian dims, then the raw bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def generated_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {
        FILES[0]: rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        FILES[1]: rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        FILES[2]: rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        FILES[3]: rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }


def write_set(folder, arrays, compresslevel=9):
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        (folder / name).write_bytes(gzip.compress(idx_bytes(array), compresslevel=compresslevel, mtime=0))


def trust(monkeypatch, module, folder):
    """Point `module`'s hash table at the files in `folder`, hashed the way that module verifies them."""
    for name in FILES:
        raw = (folder / name).read_bytes()
        blob = gzip.decompress(raw) if module.SOURCE.hashed == "content" else raw
        monkeypatch.setitem(module.SOURCE.sha256, name, hashlib.sha256(blob).hexdigest())


def no_network(url, path):
    raise ConnectionError(f"no network in tests ({url})")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No test reads the user's environment, cache or network unless it says so."""
    monkeypatch.delenv("SCRATCHGRAD_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))  # Keras's own downloads are not looked at
    monkeypatch.setattr(_source, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(_source, "_download", no_network)


@pytest.fixture(params=[mnist, fashion_mnist], ids=["mnist", "fashion_mnist"])
def module(request):
    return request.param


@pytest.fixture
def trusted_set(tmp_path, monkeypatch, module):
    """(root, arrays): generated files in root/<subdir>/ that `module` accepts."""
    root = tmp_path / "data"
    arrays = generated_arrays()
    write_set(root / module.SOURCE.subdir, arrays)
    trust(monkeypatch, module, root / module.SOURCE.subdir)
    return root, arrays


# ---- loading ---------------------------------------------------------------------------------------------------


def test_load_data_returns_the_raw_uint8_arrays(module, trusted_set):
    root, arrays = trusted_set
    (x_train, y_train), (x_test, y_test) = module.load_data(data_dir=root)
    for got, name in zip((x_train, y_train, x_test, y_test), FILES):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[name])
    assert x_train.shape == (N_TRAIN, 28, 28) and x_test.shape == (N_TEST, 28, 28)
    x_train[0, 0, 0] = 1  # writable, like Keras's arrays


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("flatten", [True, False])
@pytest.mark.parametrize("one_hot", [True, False])
def test_load_mnist_options(tmp_path, monkeypatch, normalize, flatten, one_hot):
    arrays = generated_arrays()
    write_set(tmp_path / "mnist", arrays)
    trust(monkeypatch, mnist, tmp_path / "mnist")
    (x, y), (x_test, _) = load_mnist(tmp_path, normalize=normalize, flatten=flatten, one_hot=one_hot)
    raw = arrays[FILES[0]]
    assert x.shape == ((N_TRAIN, 784) if flatten else (N_TRAIN, 28, 28))
    assert x_test.shape[0] == N_TEST
    if normalize:
        assert x.dtype == np.float32
        np.testing.assert_allclose(x.reshape(raw.shape), raw / 255.0, rtol=1e-6)
    else:
        assert x.dtype == np.uint8
        np.testing.assert_array_equal(x.reshape(raw.shape), raw)
    if one_hot:
        assert y.dtype == np.float32 and y.shape == (N_TRAIN, 10)
        np.testing.assert_array_equal(y.argmax(axis=1), arrays[FILES[1]])
        np.testing.assert_array_equal(y.sum(axis=1), 1.0)
    else:
        assert y.dtype == np.uint8
        np.testing.assert_array_equal(y, arrays[FILES[1]])


def test_load_fashion_mnist_reads_the_fashion_subfolder(tmp_path, monkeypatch):
    arrays = generated_arrays(seed=1)
    write_set(tmp_path / "fashion-mnist", arrays)
    trust(monkeypatch, fashion_mnist, tmp_path / "fashion-mnist")
    (x, y), _ = load_fashion_mnist(tmp_path, normalize=False, flatten=False)
    np.testing.assert_array_equal(x, arrays[FILES[0]])
    np.testing.assert_array_equal(y, arrays[FILES[1]])


def test_env_var_folder_is_used_without_network(module, trusted_set, monkeypatch):
    root, arrays = trusted_set
    monkeypatch.setenv("SCRATCHGRAD_DATA", str(root))
    (x_train, _), _ = module.load_data()
    np.testing.assert_array_equal(x_train, arrays[FILES[0]])
    assert data_dir() == root


def test_data_dir_argument_wins_over_the_env_var(module, trusted_set, monkeypatch, tmp_path):
    root, arrays = trusted_set
    write_set(tmp_path / "other" / module.SOURCE.subdir, generated_arrays(seed=5))  # untrusted hashes
    monkeypatch.setenv("SCRATCHGRAD_DATA", str(tmp_path / "other"))
    (x_train, _), _ = module.load_data(data_dir=root)
    np.testing.assert_array_equal(x_train, arrays[FILES[0]])


def test_data_dir_helper_falls_back_to_the_cache(tmp_path):
    assert data_dir() == tmp_path / "cache"


# ---- verification ----------------------------------------------------------------------------------------------


def test_wrong_hash_is_rejected_and_the_users_file_kept(module, trusted_set, monkeypatch):
    root, _ = trusted_set
    monkeypatch.setitem(module.SOURCE.sha256, FILES[2], "0" * 64)
    with pytest.raises(CorruptDatasetError, match=rf"(?s){FILES[2]}.*sha256.*{'0' * 64}"):
        module.load_data(data_dir=root)
    assert (root / module.SOURCE.subdir / FILES[2]).exists()


def test_mnist_accepts_a_recompressed_copy_fashion_does_not(tmp_path, monkeypatch):
    """MNIST is hashed on its IDX content, Fashion-MNIST on the published archive bytes."""
    arrays = generated_arrays()
    for module in (mnist, fashion_mnist):
        write_set(tmp_path / module.SOURCE.subdir, arrays, compresslevel=9)
        trust(monkeypatch, module, tmp_path / module.SOURCE.subdir)
        write_set(tmp_path / module.SOURCE.subdir, arrays, compresslevel=1)
    (x_train, _), _ = mnist.load_data(data_dir=tmp_path)
    np.testing.assert_array_equal(x_train, arrays[FILES[0]])
    with pytest.raises(CorruptDatasetError, match="sha256 of its gzip file"):
        fashion_mnist.load_data(data_dir=tmp_path)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_gzip_is_rejected_naming_the_file(tmp_path, damage):
    write_set(tmp_path / "mnist", generated_arrays())
    path = tmp_path / "mnist" / FILES[0]
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptDatasetError, match=f"{FILES[0]}.*gzip"):
        mnist.load_data(data_dir=tmp_path)


@pytest.mark.parametrize(
    "idx, message",
    [
        (bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + bytes(3), "magic number"),  # labels where images belong
        (bytes([0, 0, 0x0D, 3]) + b"".join(d.to_bytes(4, "big") for d in (1, 28, 28)) + bytes(784), "magic"),
        (bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in (2, 28, 28)) + bytes(784), "payload"),
        (bytes([0, 0, 0x08, 3]) + (2).to_bytes(4, "big"), "header"),
    ],
    ids=["wrong-ndim", "wrong-type", "short-payload", "short-header"],
)
def test_malformed_idx_is_rejected(tmp_path, monkeypatch, idx, message):
    write_set(tmp_path / "mnist", generated_arrays())
    (tmp_path / "mnist" / FILES[0]).write_bytes(gzip.compress(idx))
    trust(monkeypatch, mnist, tmp_path / "mnist")
    with pytest.raises(CorruptDatasetError, match=message):
        mnist.load_data(data_dir=tmp_path)


def test_image_and_label_counts_must_agree(tmp_path, monkeypatch):
    arrays = generated_arrays()
    arrays[FILES[1]] = arrays[FILES[1]][:-1]
    write_set(tmp_path / "mnist", arrays)
    trust(monkeypatch, mnist, tmp_path / "mnist")
    with pytest.raises(CorruptDatasetError, match=f"{N_TRAIN} images but .* {N_TRAIN - 1} labels"):
        mnist.load_data(data_dir=tmp_path)


# ---- missing files and downloads -------------------------------------------------------------------------------


def test_offline_and_missing_gives_one_message_naming_the_folders(module, tmp_path, monkeypatch):
    tried = []
    monkeypatch.setattr(_source, "_download", lambda url, path: tried.append(url) or no_network(url, path))
    monkeypatch.setenv("SCRATCHGRAD_DATA", str(tmp_path / "local"))
    with pytest.raises(DatasetNotFoundError) as caught:
        module.load_data()
    message = str(caught.value)
    subdir = module.SOURCE.subdir
    for expected in (str(tmp_path / "local" / subdir), str(tmp_path / "cache" / subdir), "SCRATCHGRAD_DATA",
                     "data_dir=", f"'{subdir}'", *FILES, "no network"):
        assert expected in message
    assert isinstance(caught.value, FileNotFoundError)
    assert tried == [mirror + FILES[0] for mirror in module.SOURCE.mirrors]
    assert list((tmp_path / "cache" / subdir).iterdir()) == []


def test_explicit_data_dir_never_downloads(module, tmp_path, monkeypatch):
    tried = []
    monkeypatch.setattr(_source, "_download", lambda url, path: tried.append(url))
    with pytest.raises(DatasetNotFoundError, match=f"(?s){tmp_path / 'absent' / module.SOURCE.subdir}.*data_dir="):
        module.load_data(data_dir=tmp_path / "absent")
    assert tried == []


def test_download_skips_a_bad_mirror_and_caches_the_verified_file(module, tmp_path, monkeypatch):
    served = tmp_path / "served"
    arrays = generated_arrays()
    write_set(served, arrays)
    trust(monkeypatch, module, served)
    bad_mirror, good_mirror = module.SOURCE.mirrors[:2]
    tried = []

    def fake_download(url, path):
        tried.append(url)
        name = url.rsplit("/", 1)[-1]
        Path(path).write_bytes(b"garbage" if url.startswith(bad_mirror) else (served / name).read_bytes())

    monkeypatch.setattr(_source, "_download", fake_download)
    (x_train, y_train), _ = module.load_data()
    np.testing.assert_array_equal(x_train, arrays[FILES[0]])
    np.testing.assert_array_equal(y_train, arrays[FILES[1]])
    cache = tmp_path / "cache" / module.SOURCE.subdir
    assert sorted(os.listdir(cache)) == sorted(FILES)  # no rejected download or .part left behind
    assert tried == [mirror + name for name in FILES for mirror in (bad_mirror, good_mirror)]

    monkeypatch.setattr(_source, "_download", no_network)
    (x_again, _), _ = module.load_data()  # second call: served from the cache
    np.testing.assert_array_equal(x_again, arrays[FILES[0]])


def test_a_bad_file_in_the_cache_is_deleted(module, tmp_path, monkeypatch):
    cache = tmp_path / "cache" / module.SOURCE.subdir
    write_set(cache, generated_arrays())
    trust(monkeypatch, module, cache)
    monkeypatch.setitem(module.SOURCE.sha256, FILES[3], "f" * 64)
    with pytest.raises(CorruptDatasetError, match=FILES[3]):
        module.load_data()
    assert not (cache / FILES[3]).exists()
    assert (cache / FILES[0]).exists()


# ---- the real MNIST --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_mnist_root():
    if not REAL_DATA:
        pytest.skip("SCRATCHGRAD_DATA is not set")
    root = Path(REAL_DATA)
    if not all((root / "mnist" / name).is_file() for name in FILES):
        pytest.skip(f"the MNIST files are not in {root / 'mnist'}")
    return root


def test_real_mnist_loads_verified(real_mnist_root):
    (x_train, y_train), (x_test, y_test) = mnist.load_data(data_dir=real_mnist_root)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_hard_coded_mnist_hashes_match_the_published_list(real_mnist_root):
    sums = real_mnist_root / "mnist" / "SHA256SUMS"
    if not sums.is_file():
        pytest.skip(f"no {sums}")
    published = dict(line.split()[::-1] for line in sums.read_text().splitlines() if line and line[0] != "#")
    assert published == mnist.SOURCE.sha256


# ---- DataLoader ------------------------------------------------------------------------------------------------


def seen_once(batches, n):
    """True when the first column of the batches lists 0..n-1 each exactly once."""
    seen = np.concatenate([xb[:, 0] for xb, _ in batches])
    return sorted(seen.tolist()) == list(range(n))


def numbered(n):
    x = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    return x, np.arange(n)


@pytest.mark.parametrize("shuffle", [False, True])
def test_loader_covers_every_sample_once_with_a_short_last_batch(shuffle):
    x, y = numbered(10)
    loader = DataLoader(x, y, batch_size=4, shuffle=shuffle, seed=0)
    batches = list(loader)
    assert len(loader) == 3 and [len(xb) for xb, _ in batches] == [4, 4, 2]
    assert seen_once(batches, 10)
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb)  # rows and labels stay paired
    if not shuffle:
        np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)


def test_loader_drop_last_drops_only_the_short_batch():
    x, y = numbered(10)
    loader = DataLoader(x, y, batch_size=4, drop_last=True, shuffle=True, seed=1)
    batches = list(loader)
    assert len(loader) == 2 and [len(xb) for xb, _ in batches] == [4, 4]
    assert len(set(np.concatenate([yb for _, yb in batches]).tolist())) == 8
    assert len(DataLoader(x, y, batch_size=5, drop_last=True)) == 2


def test_loader_reshuffles_each_epoch_and_is_reproducible_with_a_seed():
    x, y = numbered(50)
    epochs = lambda loader: [np.concatenate([yb for _, yb in loader]) for _ in range(3)]  # noqa: E731
    first = epochs(DataLoader(x, y, batch_size=8, shuffle=True, seed=3))
    again = epochs(DataLoader(x, y, batch_size=8, shuffle=True, seed=3))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    assert not np.array_equal(first[0], y)


def test_loader_without_seed_follows_the_framework_seed():
    x, y = numbered(30)
    orders = []
    for _ in range(2):
        set_seed(11)
        orders.append(np.concatenate([yb for _, yb in DataLoader(x, y, batch_size=7, shuffle=True)]))
    np.testing.assert_array_equal(orders[0], orders[1])
    assert sorted(orders[0].tolist()) == list(range(30))


def test_loader_accepts_lists_and_tensors_and_x_alone():
    batches = list(DataLoader(Tensor(np.arange(6.0).reshape(3, 2)), [0, 1, 2], batch_size=2))
    assert all(isinstance(xb, np.ndarray) and isinstance(yb, np.ndarray) for xb, yb in batches)
    np.testing.assert_array_equal(batches[1][0], [[4.0, 5.0]])
    x_only = list(DataLoader([[1, 2], [3, 4], [5, 6]], batch_size=2))
    assert [xb.tolist() for xb in x_only] == [[[1, 2], [3, 4]], [[5, 6]]]


def test_loader_validates_its_inputs():
    with pytest.raises(ValueError, match="x: 3 samples, y: 2 samples"):
        DataLoader(np.zeros((3, 2)), np.zeros(2))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(np.zeros((3, 2)), batch_size=bad)
    with pytest.raises(TypeError, match="x must"):
        DataLoader([[1, 2], [3]])


# ---- toy and tabular sets --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gate, outputs", [("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]), ("nand", [1, 1, 1, 0]), ("XOR", [0, 1, 1, 0])]
)
def test_logic_gates(gate, outputs):
    x, y = logic_gate(gate)
    assert x.dtype == np.float32 and x.shape == (4, 2) and y.dtype == np.int64
    np.testing.assert_array_equal(x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, outputs)


def test_unknown_gate_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'and', 'nand', 'or', 'xor'"):
        logic_gate("nor")


def test_spiral_shapes_classes_and_seed():
    x, y = spiral(n=50, classes=4, seed=0)
    assert x.shape == (200, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50] * 4
    assert np.abs(x).max() <= 1.0
    np.testing.assert_array_equal(x, spiral(n=50, classes=4, seed=0)[0])
    assert not np.array_equal(x, spiral(n=50, classes=4, seed=1)[0])
    with pytest.raises(ValueError, match="classes must be an integer >= 1, got 0"):
        spiral(classes=0)


def test_make_moons_shapes_and_seed():
    x, y = make_moons(n_samples=60, noise=0.05, seed=2)
    assert x.shape == (60, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [30, 30]
    np.testing.assert_array_equal(x, make_moons(n_samples=60, noise=0.05, seed=2)[0])
    set_seed(4)
    unseeded = make_moons(n_samples=60)[0]
    set_seed(4)
    np.testing.assert_array_equal(unseeded, make_moons(n_samples=60)[0])


@pytest.mark.parametrize(
    "loader, shape, n_classes",
    [(load_iris, (150, 4), 3), (load_digits, (1797, 64), 10), (load_breast_cancer, (569, 30), 2)],
)
def test_sklearn_tables(loader, shape, n_classes):
    pytest.importorskip("sklearn")
    x, y = loader()
    assert x.shape == shape and x.dtype == np.float32
    assert y.shape == (shape[0],) and y.dtype == np.int64
    assert sorted(set(y.tolist())) == list(range(n_classes))


# ---- Keras's .npz datasets: IMDB, Reuters, Boston housing ------------------------------------------------
def _keras_npz(path, **arrays):
    """A file in Keras's format (object arrays of integer lists are pickled by NumPy, as Keras's are)."""
    np.savez(path, **arrays)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ragged(rows):
    out = np.empty(len(rows), dtype=object)
    out[:] = [list(r) for r in rows]
    return out


def _use(monkeypatch, module, folder, name, digest):
    import dataclasses

    monkeypatch.setattr(module, "SOURCE", dataclasses.replace(module.SOURCE, sha256={name: digest}))


def test_imdb_and_reuters_follow_keras_conventions(tmp_path, monkeypatch):
    from scratchgrad.datasets import imdb, reuters

    (tmp_path / "imdb").mkdir()
    rows = [[1, 5, 9], [2, 3], [7, 8, 9, 10, 11], [4]]
    digest = _keras_npz(tmp_path / "imdb" / "imdb.npz", x_train=_ragged(rows), y_train=np.array([1, 0, 1, 0]),
                        x_test=_ragged(rows[:2]), y_test=np.array([0, 1]))
    _use(monkeypatch, imdb, tmp_path, "imdb.npz", digest)
    (x_train, y_train), (x_test, y_test) = imdb.load_data(data_dir=tmp_path, num_words=10, maxlen=5)
    rng, order, test_order = np.random.RandomState(113), np.arange(4), np.arange(2)
    rng.shuffle(order)
    rng.shuffle(test_order)  # Keras shuffles the test set with the same generator, after the training set
    kept = [i for i in order if len(rows[i]) + 1 < 5]  # the start marker counts, as in Keras
    assert [list(s) for s in x_train] == [[1] + [w + 3 if w + 3 < 10 else 2 for w in rows[i]] for i in kept]
    assert list(y_train) == [[1, 0, 1, 0][i] for i in kept]
    assert list(y_test) == [[0, 1][i] for i in test_order]

    (tmp_path / "reuters").mkdir()
    digest = _keras_npz(tmp_path / "reuters" / "reuters.npz", x=_ragged(rows * 5), y=np.arange(20) % 3)
    _use(monkeypatch, reuters, tmp_path, "reuters.npz", digest)
    (x_train, _), (x_test, _) = reuters.load_data(data_dir=tmp_path, test_split=0.25, start_char=None, index_from=0)
    assert len(x_train) == 15 and len(x_test) == 5 and sorted(map(len, list(x_train) + list(x_test))) == sorted(
        len(r) for r in rows * 5)


def test_boston_housing_and_hostile_files(tmp_path, monkeypatch):
    import collections

    from scratchgrad.datasets import CorruptDatasetError, boston_housing, california_housing, imdb

    (tmp_path / "boston_housing").mkdir()
    x, y = np.arange(50 * 13, dtype=float).reshape(50, 13), np.arange(50, dtype=float)
    digest = _keras_npz(tmp_path / "boston_housing" / "boston_housing.npz", x=x, y=y)
    _use(monkeypatch, boston_housing, tmp_path, "boston_housing.npz", digest)
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(data_dir=tmp_path)
    assert x_train.shape == (40, 13) and x_test.shape == (10, 13)
    np.testing.assert_array_equal(x_train[:, 0] / 13, y_train)  # rows and targets shuffled together

    (tmp_path / "california_housing").mkdir()
    x, y = np.arange(700 * 8, dtype=float).reshape(700, 8), np.arange(700, dtype=float)
    digest = _keras_npz(tmp_path / "california_housing" / "california_housing.npz", x=x, y=y)
    _use(monkeypatch, california_housing, tmp_path, "california_housing.npz", digest)
    (x_train, y_train), (x_test, y_test) = california_housing.load_data("small", data_dir=tmp_path, test_split=0.25)
    assert x_train.shape == (450, 8) and x_test.shape == (150, 8) and y_train.max() < 600  # the first 600 rows
    order = np.arange(600)
    np.random.RandomState(113).shuffle(order)  # Keras's shuffle
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), order)
    assert california_housing.load_data(data_dir=tmp_path)[0][0].shape == (560, 8)
    with pytest.raises(ValueError, match="test_split must be in"):
        california_housing.load_data(data_dir=tmp_path, test_split=1.0)

    (tmp_path / "imdb").mkdir()
    evil = np.empty(1, dtype=object)
    evil[0] = collections.OrderedDict(a=1)  # any class but NumPy's arrays must be refused, never built
    digest = _keras_npz(tmp_path / "imdb" / "imdb.npz", x_train=evil, y_train=np.array([1]), x_test=evil,
                        y_test=np.array([0]))
    _use(monkeypatch, imdb, tmp_path, "imdb.npz", digest)
    with pytest.raises(CorruptDatasetError, match="not allowed"):
        imdb.load_data(data_dir=tmp_path)
    _use(monkeypatch, imdb, tmp_path, "imdb.npz", "0" * 64)
    with pytest.raises(CorruptDatasetError, match="sha256"):
        imdb.load_data(data_dir=tmp_path)


def test_npz_loaders_read_the_file_keras_downloaded_named_by_path(tmp_path, monkeypatch):
    """Keras's `path=`: the file's name under $KERAS_HOME/datasets, or an absolute path; data_dir= still rules."""
    from scratchgrad.datasets import DatasetNotFoundError, _source, boston_housing

    keras_home, elsewhere = tmp_path / "keras", tmp_path / "elsewhere"
    (keras_home / "datasets").mkdir(parents=True)
    elsewhere.mkdir()
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    digest = _keras_npz(keras_home / "datasets" / "boston_housing.npz", x=x, y=y)
    _keras_npz(elsewhere / "mine.npz", x=x, y=y)
    _use(monkeypatch, boston_housing, tmp_path, "boston_housing.npz", digest)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.delenv("SCRATCHGRAD_DATA", raising=False)
    monkeypatch.setattr(_source, "cache_dir", lambda: tmp_path / "empty-cache")
    downloads = []

    def fetch(source, name, *args):
        downloads.append(name)
        raise DatasetNotFoundError("offline")

    monkeypatch.setattr(_source, "fetch", fetch)
    (x_train, _), (x_test, _) = boston_housing.load_data(test_split=0.2)
    assert len(x_train) == 8 and len(x_test) == 2 and sorted(np.concatenate([x_train, x_test])[:, 0]) == list(x[:, 0])
    (keras_home / "datasets" / "boston_housing.npz").unlink()
    boston_housing.load_data(path=str(elsewhere / "mine.npz"))  # absolute: that file (the same bytes)
    assert downloads == []
    with pytest.raises(DatasetNotFoundError):  # neither Keras's file nor ours: the download is tried
        boston_housing.load_data()
    assert downloads == ["boston_housing.npz"]
    with pytest.raises(DatasetNotFoundError):  # data_dir= names the only folder looked in
        boston_housing.load_data(data_dir=elsewhere)
    with pytest.raises(TypeError):
        boston_housing.load_data(path=3)


def test_mnist_reads_the_npz_keras_downloaded_named_by_path(tmp_path, monkeypatch):
    """Keras's mnist.load_data(path=): its mnist.npz where no IDX files are given; IDX files and data_dir= first."""
    from scratchgrad.datasets import mnist

    keras_home = tmp_path / "keras"
    (keras_home / "datasets").mkdir(parents=True)
    arrays = dict(zip(("x_train", "y_train", "x_test", "y_test"), generated_arrays(1).values()))
    digest = _keras_npz(keras_home / "datasets" / "mnist.npz", **arrays)
    monkeypatch.setattr(mnist, "KERAS_SOURCE", dataclasses.replace(mnist.KERAS_SOURCE, sha256={"mnist.npz": digest}))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.delenv("SCRATCHGRAD_DATA", raising=False)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    for got, name in zip((x_train, y_train, x_test, y_test), ("x_train", "y_train", "x_test", "y_test")):
        np.testing.assert_array_equal(got, arrays[name])
        assert got.dtype == arrays[name].dtype
    mnist.load_data(path=str(keras_home / "datasets" / "mnist.npz"))  # absolute: that file
    idx = generated_arrays(2)
    write_set(tmp_path / "mnist", idx)
    trust(monkeypatch, mnist, tmp_path / "mnist")
    monkeypatch.setenv("SCRATCHGRAD_DATA", str(tmp_path))
    np.testing.assert_array_equal(mnist.load_data()[0][0], idx[FILES[0]])  # IDX files in $SCRATCHGRAD_DATA: first
    monkeypatch.delenv("SCRATCHGRAD_DATA")
    np.testing.assert_array_equal(mnist.load_data(data_dir=tmp_path)[0][0], idx[FILES[0]])
    for path in ("other.npz", Path("mnist.npz")):  # no npz is read where IDX files are given: path is not checked
        np.testing.assert_array_equal(mnist.load_data(path, data_dir=tmp_path)[0][0], idx[FILES[0]])
    monkeypatch.chdir(tmp_path)
    for folder in (tmp_path, "mnist"):  # the old positional folder, absolute or relative, is not taken for a file
        with pytest.raises(ValueError, match="data_dir="):
            mnist.load_data(folder)
    with pytest.raises(FileNotFoundError, match="mnsit, which is not a file"):  # a typo: no download
        mnist.load_data(str(tmp_path / "mnsit"))
    monkeypatch.setattr(mnist, "KERAS_SOURCE", dataclasses.replace(mnist.KERAS_SOURCE, sha256={"mnist.npz": "0" * 64}))
    with pytest.raises(CorruptDatasetError, match="sha256"):
        mnist.load_data()
