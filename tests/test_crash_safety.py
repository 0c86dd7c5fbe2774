"""Every file scratchgrad writes is complete or absent, whenever the writer is killed; leftovers of killed writes
are cleaned up and never break a later one; files get the umask's permissions; logs and checkpoints stay usable.

The kill test forks writers from a helper process that has imported and warmed up everything once (a fresh
interpreter per kill would cost seconds), kills each with SIGKILL at a random moment and checks what is on disk.
SCRATCHGRAD_SLOW=1 kills each kind of writer 25 times instead of 6.
"""
import csv
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad import callbacks, cli
from scratchgrad.layers import Dense

pytest.importorskip("matplotlib")
if not hasattr(os, "fork"):
    pytest.skip("the kill test forks its writers", allow_module_level=True)

KILLS = 25 if os.environ.get("SCRATCHGRAD_SLOW") == "1" else 6
SCALES = 30_000  # a sidecar of this many means takes many writes (a large model's does)


def tiny_model(units=8, inputs=3):
    keras.set_seed(0)
    model = keras.Sequential([keras.Input(shape=(inputs,)), Dense(units, activation="relu"),
                              Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def tiny_data(inputs=3):
    x = np.random.default_rng(0).standard_normal((32, inputs)).astype(np.float32)
    return x, (x.sum(axis=1) > 0).astype(np.int64)


# ---- writers: generators that write their kind of file over and over, yielding after each round ------------------
def sidecars(folder):
    model = keras.Sequential([keras.Input(shape=(4,)), Dense(16)])
    weights = model.get_weights()
    for i in itertools.count():
        weights[-1][0] = i  # the model says which round wrote it; so does its sidecar
        model.set_weights(weights)
        cli.save_with_sidecar(model, os.path.join(folder, "m.sg"), {"round": i, "mean": [i + 0.5] * SCALES})
        yield


def csv_logs(folder):
    model, (x, y) = tiny_model(), tiny_data()
    logger = callbacks.CSVLogger(os.path.join(folder, "log.csv"), append=True)
    while True:
        model.fit(x, y, epochs=10, validation_data=(x, y), validation_freq=2, verbose=0, callbacks=[logger])
        yield


def live_plots(folder):
    from scratchgrad.plot import LivePlot

    model, (x, y) = tiny_model(), tiny_data()
    while True:
        model.fit(x, y, epochs=2, verbose=0, callbacks=[LivePlot(os.path.join(folder, "training.svg"), metrics=["loss"])])
        yield


def figures(folder):
    import matplotlib.pyplot as plt

    from scratchgrad.plot import plot_history

    logs = {"loss": list(np.linspace(1, 0, 2000)), "val_loss": list(np.linspace(1.1, 0.2, 2000))}
    while True:
        plt.close(plot_history(logs, save=os.path.join(folder, "history.pdf")))
        yield


def checkpoints(folder):
    model, (x, y) = tiny_model(units=256, inputs=256), tiny_data(inputs=256)
    while True:
        model.fit(x, y, epochs=5, verbose=0, callbacks=[callbacks.ModelCheckpoint(os.path.join(folder, "c.sg"))])
        yield


def backups(folder):
    model, (x, y) = tiny_model(units=256, inputs=256), tiny_data(inputs=256)
    backup = callbacks.BackupAndRestore(os.path.join(folder, "backup"), delete_checkpoint=False)
    for rounds in itertools.count(1):
        model.fit(x, y, epochs=5 * rounds, verbose=0, callbacks=[backup])  # resumes after the last backup
        yield


# ---- what must hold on disk after a kill ---------------------------------------------------------------------------
def check_sidecars(folder):
    model_path, sidecar = folder / "m.sg", folder / "m.sg.json"
    if sidecar.exists():
        json.loads(sidecar.read_text())
    if not (model_path.exists() and sidecar.exists()):
        return
    round_written = keras.load_model(model_path).get_weights()[-1][0]
    try:
        info = cli.read_sidecar(model_path)
    except cli.CLIError as err:  # a kill between the two writes: the pair is refused, never mixed
        assert "belongs to another version" in str(err)
        return
    assert info["round"] == round_written and info["mean"][0] == round_written + 0.5


def check_csv_logs(folder):
    import pandas as pd

    path = folder / "log.csv"
    if not path.exists():
        return
    with path.open(newline="") as f:
        header, *rows = list(csv.reader(f))
    assert all(len(row) == len(header) for row in rows), "a row is cut short or has cells without a column"
    assert all(row[header.index("loss")] for row in rows)
    assert len(pd.read_csv(path)) == len(rows)


def check_live_plots(folder):
    path = folder / "training.svg"
    if path.exists():
        ET.parse(path)


def check_figures(folder):
    path = folder / "history.pdf"
    if path.exists():
        pdf = path.read_bytes()
        assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF"), "a PDF without its end"


def check_checkpoints(folder):
    if (folder / "c.sg").exists():
        keras.load_model(folder / "c.sg")


def check_backups(folder):
    for path in (folder / "backup").glob("epoch-*.sg") if (folder / "backup").exists() else []:
        keras.load_model(path)


WRITERS = {"sidecar": (sidecars, check_sidecars), "csv_log": (csv_logs, check_csv_logs),
           "live_plot": (live_plots, check_live_plots), "figure": (figures, check_figures),
           "checkpoint": (checkpoints, check_checkpoints), "backup": (backups, check_backups)}

FORK_SERVER = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import test_crash_safety as t
rounds = {}
for kind, (writer, _) in t.WRITERS.items():  # imports, first draws and plans, once rather than in every child
    os.makedirs(os.path.join(sys.argv[2], kind))
    rounds_of_kind = writer(os.path.join(sys.argv[2], kind))
    next(rounds_of_kind)
    start = time.perf_counter()
    next(rounds_of_kind)
    rounds[kind] = time.perf_counter() - start
print(json.dumps(rounds), flush=True)
for line in sys.stdin:
    kind, folder = line.rstrip("\n").split(" ", 1)
    pid = os.fork()
    if pid == 0:
        try:
            for _ in t.WRITERS[kind][0](folder):
                pass
        finally:
            os._exit(1)
    print(pid, flush=True)
    print(os.waitpid(pid, 0)[1], flush=True)
"""


@pytest.fixture(scope="module")
def fork_server(tmp_path_factory):
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-c", FORK_SERVER, str(Path(__file__).parent),
                               str(tmp_path_factory.mktemp("warm-up"))], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    rounds = json.loads(server.stdout.readline())  # seconds per round of each writer, once warm
    yield server, rounds
    server.stdin.close()
    server.wait(timeout=30)


@pytest.mark.parametrize("kind", WRITERS)
def test_a_kill_at_any_moment_leaves_every_file_complete_or_absent(kind, fork_server, tmp_path):
    fork_server, rounds = fork_server
    delays = []
    for _ in range(KILLS):
        fork_server.stdin.write(f"{kind} {tmp_path}\n")
        fork_server.stdin.flush()
        pid = int(fork_server.stdout.readline())
        delays.append(random.uniform(0.01, 2 * rounds[kind]))  # anywhere in the first two rounds
        time.sleep(delays[-1])
        os.kill(pid, signal.SIGKILL)
        status = int(fork_server.stdout.readline())
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the writer died before the kill"
        try:
            WRITERS[kind][1](tmp_path)
        except Exception as err:
            raise AssertionError(f"after kills at {[round(d, 3) for d in delays]} s: {err!r}") from err


# ---- leftovers, permissions, a failing write ------------------------------------------------------------------------
def write_with_atomic_write(folder):
    from scratchgrad.files import atomic_write

    with atomic_write(folder / "data.bin") as f:
        f.write(b"new")
    return ["data.bin"]


def write_with_cli(folder):
    assert cli.main(["train", "xor", "--epochs", "1", "--quiet", "--save", str(folder / "m.sg")]) == 0
    return ["m.sg", "m.sg.json"]


def write_csv_log(folder):
    model, (x, y) = tiny_model(), tiny_data()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(folder / "log.csv")])
    return ["log.csv"]


def write_figure(folder):
    import matplotlib.pyplot as plt

    from scratchgrad.plot import plot_history

    plt.close(plot_history({"loss": [1.0, 0.5]}, save=folder / "history.png"))
    return ["history.png"]


def write_model(folder):
    model, (x, y) = tiny_model(), tiny_data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(folder / "m.sg")
    return ["m.sg"]


def write_image(folder):
    pytest.importorskip("PIL")
    from scratchgrad.utils import save_img

    save_img(folder / "history.png", np.zeros((4, 4, 3), "float32"))
    return ["history.png"]


SAVES = {"atomic_write": write_with_atomic_write, "cli": write_with_cli, "csv_log": write_csv_log,
         "figure": write_figure, "model_save": write_model, "save_img": write_image}


@pytest.mark.parametrize("save", SAVES)
def test_leftovers_of_killed_writes_are_removed_by_the_next_and_never_break_it(save, tmp_path, capsys):
    names = ["m.sg", "m.sg.json", "data.bin", "log.csv", "history.png"]
    for name in names:
        (tmp_path / f".tmp-k1ll3d00{name}").write_bytes(b"\0" * 100_000)  # a write killed midway
        (tmp_path / f".tmp-abcd1234.tmp-k1ll3d00{name}").write_bytes(b"\0")  # model.save's own, of a temporary path
        (tmp_path / f".tmp-d1rd1rd1{name}").mkdir()  # not removable, and in nobody's way
    (tmp_path / ".tmp-k1ll3d00other.sg").write_bytes(b"keep")  # another file's
    written = SAVES[save](tmp_path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(written + [f".tmp-d1rd1rd1{n}" for n in names] + [".tmp-k1ll3d00other.sg"]
                          + [f".tmp-{p}k1ll3d00{n}" for n in set(names) - set(written) for p in ("", "abcd1234.tmp-")])


def test_a_write_in_progress_keeps_its_temporary_file_from_another_write(tmp_path):
    from scratchgrad.files import atomic_path, atomic_write

    with atomic_path(tmp_path / "data.bin") as first:
        Path(first).write_bytes(b"first")
        with atomic_write(tmp_path / "data.bin") as f:
            f.write(b"second")
    assert (tmp_path / "data.bin").read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"]


@pytest.mark.parametrize("save", SAVES)
def test_files_get_the_permissions_the_umask_gives(save, tmp_path, capsys):
    old = os.umask(0o027)
    try:
        written = SAVES[save](tmp_path)
    finally:
        os.umask(old)
    assert {name: oct(os.stat(tmp_path / name).st_mode & 0o777) for name in written} == \
        {name: oct(0o640) for name in written}


def test_a_failed_write_leaves_the_old_file_and_nothing_else(tmp_path):
    import matplotlib.pyplot as plt

    from scratchgrad.files import atomic_write
    from scratchgrad.plot import plot_history

    (tmp_path / "data.bin").write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(tmp_path / "data.bin") as f:
        f.write(b"half")
        raise RuntimeError("the writer failed")
    (tmp_path / "history.nosuchformat").write_bytes(b"old")
    with pytest.raises(ValueError, match="not supported"):
        plot_history({"loss": [1.0, 0.5]}, save=tmp_path / "history.nosuchformat")
    plt.close("all")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin", "history.nosuchformat"]
    assert (tmp_path / "data.bin").read_bytes() == (tmp_path / "history.nosuchformat").read_bytes() == b"old"


# ---- a sidecar, a CSV log and a checkpoint that stay usable ---------------------------------------------------------
def test_a_sidecar_beside_another_model_is_refused(tmp_path, capsys):
    write_with_cli(tmp_path)
    tiny_model(inputs=2).save(tmp_path / "m.sg")  # the model replaced, its sidecar left from the first
    capsys.readouterr()
    assert cli.main(["evaluate", str(tmp_path / "m.sg")]) == 1
    assert "m.sg.json belongs to another version of" in capsys.readouterr().err


def test_csv_logger_header_covers_the_validation_columns_that_appear_later(tmp_path):
    import pandas as pd

    model, (x, y) = tiny_model(), tiny_data()
    model.fit(x, y, epochs=4, validation_data=(x, y), validation_freq=2, verbose=0,
              callbacks=[callbacks.CSVLogger(tmp_path / "log.csv")])
    log = pd.read_csv(tmp_path / "log.csv")
    assert list(log.columns) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert list(log["epoch"]) == [0, 1, 2, 3] and list(log["val_loss"].isna()) == [True, False, True, False]


def test_csv_logger_appending_rows_with_new_columns_keeps_every_row_readable(tmp_path):
    import pandas as pd

    model, (x, y) = tiny_model(), tiny_data()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(tmp_path / "log.csv")])
    model.fit(x, y, epochs=2, validation_data=(x, y), verbose=0,
              callbacks=[callbacks.CSVLogger(tmp_path / "log.csv", append=True)])
    log = pd.read_csv(tmp_path / "log.csv")
    assert list(log["epoch"]) == [0, 1, 0, 1] and list(log["val_loss"].isna()) == [True, True, False, False]


def test_checkpoint_keeps_the_last_good_weights_when_they_turn_nan(tmp_path):
    model, (x, y) = tiny_model(), tiny_data()
    saved = {}

    def poison(epoch, logs):
        if epoch == 1:
            model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])

    spy = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: saved.setdefault(epoch, model.get_weights()))
    with pytest.warns(UserWarning, match="after epoch 2 are NaN or infinite"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.LambdaCallback(on_epoch_end=poison),
                                                        callbacks.ModelCheckpoint(tmp_path / "c.sg"), spy])
    for kept, good in zip(keras.load_model(tmp_path / "c.sg").get_weights(), saved[0]):
        np.testing.assert_array_equal(kept, good)
