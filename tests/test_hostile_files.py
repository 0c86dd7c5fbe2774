"""A model file is untrusted input: whatever its bytes say, loading costs time and memory in proportion to
what the file holds, raises ModelFileError naming the file and the field at fault, and never imports or
calls anything the registries do not name. The loads that would exhaust memory or time on a weaker
reader run in a child process with an address-space limit and a per-file alarm."""
import json
import os
import pathlib
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad.layers import Dense
from scratchgrad.models import ModelFileError, Sequential, load_model

CODES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64"}


def read(path):
    """(metadata, {name: array}) of a safetensors file, parsed here as a stranger would."""
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__")
    dtypes = {code: dtype for dtype, code in CODES.items()}
    return metadata, {name: np.frombuffer(raw[8 + n + e["data_offsets"][0]:8 + n + e["data_offsets"][1]],
                                          dtypes[e["dtype"]]).reshape(e["shape"]) for name, e in header.items()}


def write(path, metadata, tensors, entries=None):
    """A safetensors file as anyone could write it: `tensors` laid out as the format says, then header
    entries replaced or added from `entries` (any JSON)."""
    path = pathlib.Path(path)
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, a in tensors.items():
        header[name] = {"dtype": CODES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    header.update(entries or {})
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


@pytest.fixture
def saved(tmp_path):
    """The metadata and tensors of a small trained model's file."""
    keras.set_seed(0)
    model = Sequential([keras.Input(shape=(3,)), Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    model.save(tmp_path / "good.sg")
    return read(tmp_path / "good.sg")


def compile_section(change):
    def edit(metadata, tensors, entries):
        settings = json.loads(metadata["compile"])
        change(settings)
        metadata["compile"] = json.dumps(settings)
    return edit


def config_section(change):
    def edit(metadata, tensors, entries):
        config = json.loads(metadata["config"])
        change(config)
        metadata["config"] = json.dumps(config)
    return edit


def metadata_field(key, value):
    def edit(metadata, tensors, entries):
        if value is None:
            del metadata[key]
        else:
            metadata[key] = value
    return edit


def tensor(name, value=None, entry=None):
    def edit(metadata, tensors, entries):
        if value is not None:
            tensors[name] = value
        if entry is not None:
            entries[name] = entry
    return edit


def first_layer(key, value):
    def change(config):
        config["config"]["layers"][0]["config"][key] = value
    return config_section(change)


def other_random_state(metadata, tensors, entries):
    state = json.loads(metadata["random_state"])
    state["global"]["bit_generator"] = "MT19937"
    metadata["random_state"] = json.dumps(state)


MALFORMED = {  # what is changed in the file -> what the error must say (besides the file's path)
    "unknown optimizer class": (compile_section(lambda s: s["optimizer"].update(class_name="subprocess.Popen")),
                                r"'compile\.optimizer' names an unknown optimizer class 'subprocess\.Popen'"),
    "unknown loss class": (compile_section(lambda s: s.update(loss={"class_name": "Nope", "config": {}})),
                           r"'compile\.loss' names an unknown loss 'Nope'"),
    "unknown loss name": (compile_section(lambda s: s.update(loss="os.system")), r"'compile\.loss'.*'os\.system'"),
    "unknown schedule class": (compile_section(lambda s: s["optimizer"]["config"].update(
        learning_rate={"class_name": "Nope", "config": {}})), r"'compile\.optimizer\.learning_rate'.*'Nope'"),
    "optimizer option it does not take": (compile_section(lambda s: s["optimizer"]["config"].update(shell="ls")),
                                          r"'compile\.optimizer' cannot be used: TypeError.*shell"),
    "metrics that are not names": (compile_section(lambda s: s.update(metrics=[{"class_name": "X"}])),
                                   r"'compile\.metrics' must name registered metrics"),
    "unknown metric name": (compile_section(lambda s: s.update(metrics=["accuracy", "os.system"])),
                            r"'compile\.metrics' must name registered metrics.*os\.system"),
    "compile section not JSON": (metadata_field("compile", "{oops"), r"'compile' is not readable JSON"),
    "compile section a list": (metadata_field("compile", "[]"), r"'compile' must be a JSON object"),
    "config a list": (metadata_field("config", "[1, 2]"), r"'config' must be a JSON object, got list"),
    "unknown model class": (config_section(lambda c: c.update(class_name="os.system")),
                            r"unknown model class 'os\.system'"),
    "units a string": (first_layer("units", "2"), r"'config' does not describe a model.*units"),
    "missing optimizer_iterations": (metadata_field("optimizer_iterations", None), r"'optimizer_iterations' must"),
    "negative optimizer_iterations": (metadata_field("optimizer_iterations", "-3"), r"'optimizer_iterations' must"),
    "optimizer_scalars not JSON": (metadata_field("optimizer_scalars", "{"), r"'optimizer_scalars' must be a JSON"),
    "optimizer_scalars not numbers": (metadata_field("optimizer_scalars", '{"dynamic_scale": "x"}'),
                                      r"'optimizer_scalars' must be a JSON object of at most 256 finite numbers"),
    "too many optimizer_scalars": (metadata_field("optimizer_scalars", json.dumps({f"s{k}": 1 for k in range(257)})),
                                   r"'optimizer_scalars' must be a JSON object of at most 256"),
    "optimizer_scalars infinite": (metadata_field("optimizer_scalars", '{"dynamic_scale": 1e999}'),
                                   r"'optimizer_scalars' must be"),
    "optimizer_scalars overriding the step count": (metadata_field("optimizer_scalars", '{"iterations": 1e15}'),
                                                    r"'optimizer_scalars' must be.*not the step count"),
    "unknown slot name": (tensor("optimizer/0000/bogus", np.zeros((3, 2), np.float32)),
                          r"'optimizer/0000/bogus' is not a slot of this optimizer"),
    "malformed slot key": (tensor("optimizer/x", np.zeros(2, np.float32)), r"'optimizer/x' is not a slot"),
    "slot key with a huge index": (tensor("optimizer/" + "9" * 5000 + "/momentum", np.zeros(2, np.float32)),
                                   r"'optimizer/9+/momentum' is not a slot"),
    "slot key with another index spelling": (tensor("optimizer/0/momentum", np.zeros((3, 2), np.float32)),
                                             r"'optimizer/0/momentum' is not a slot"),
    "slot of another shape": (tensor("optimizer/0000/momentum", np.zeros(9, np.float32)),
                              r"'optimizer/0000/momentum' is float32 \(9,\); the optimizer keeps it float32 \(3, 2\)"),
    "weight of another dtype": (tensor("weights/0000", np.zeros((3, 2), np.float64)),
                                r"weight \S+/kernel float32, but the file stores it as float64"),
    "tensor that is neither": (tensor("payload", np.zeros(1, np.float32)), r"'payload' is neither"),
    "tensor past the end": (tensor("weights/0001", entry={"dtype": "F32", "shape": [2],
                                                          "data_offsets": [10**6, 10**6 + 8]}),
                            r"truncated: tensor 'weights/0001' ends at byte"),
    "tensor of an unknown dtype": (tensor("weights/0001", entry={"dtype": "PICKLE", "shape": [2],
                                                                 "data_offsets": [0, 8]}),
                                   r"'weights/0001' has dtype 'PICKLE'"),
    "tensor size unlike its shape": (tensor("weights/0001", entry={"dtype": "F32", "shape": [5],
                                                                   "data_offsets": [0, 8]}),
                                     r"'weights/0001' of shape \[5\] \(float32\) needs 20 bytes"),
    "random state of another generator": (other_random_state, r"'random_state' cannot be used.*MT19937"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_metadata_is_a_model_file_error_naming_file_and_field(case, saved, tmp_path):
    edit, message = MALFORMED[case]
    metadata, tensors = saved
    metadata, tensors, entries = dict(metadata), dict(tensors), {}
    edit(metadata, tensors, entries)
    path = tmp_path / "bad.sg"
    write(path, metadata, tensors, entries)
    with pytest.raises(ModelFileError, match=message) as error:
        load_model(path)
    assert str(path) in str(error.value)


JUNK = [None, True, -1, 0, 2**70, 1.5, "", "os.system", [], {}, [None, 3], {"class_name": "X"}]


def mutated(value, rng):
    """`value` (JSON) with one entry somewhere in it replaced, removed or, for a string of JSON, mutated inside."""
    if isinstance(value, str) and value[:1] in "{[":
        return json.dumps(mutated(json.loads(value), rng))
    if not isinstance(value, (dict, list)) or not value or rng.random() < 0.2:
        return json.loads(json.dumps(JUNK[rng.integers(len(JUNK))]))
    key = list(value)[rng.integers(len(value))] if isinstance(value, dict) else int(rng.integers(len(value)))
    if isinstance(value, dict) and rng.random() < 0.1:
        del value[key]
    else:
        value[key] = mutated(value[key], rng)
    return value


def test_any_mutation_of_the_metadata_loads_or_is_a_model_file_error(saved, tmp_path):
    """300 files (5000 with SCRATCHGRAD_SLOW=1), each with its metadata (config, compile section, random
    state, ...) changed at random: none gives another error than ModelFileError (or loads)."""
    rng, path = np.random.default_rng(0), tmp_path / "bad.sg"
    raw = []
    for _ in range(5000 if os.environ.get("SCRATCHGRAD_SLOW") == "1" else 300):
        metadata = json.loads(json.dumps(saved[0]))
        key = sorted(metadata)[rng.integers(len(metadata))]
        metadata[key] = mutated(metadata[key], rng)
        write(path, {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}, saved[1])
        try:
            with warnings.catch_warnings():  # a changed optimizer (amsgrad, use_ema) warns of slots it lacks
                warnings.simplefilter("ignore", UserWarning)
                load_model(path)
        except ModelFileError:
            pass
        except Exception as err:  # any other error is the finding
            raw.append(f"{key}: {type(err).__name__}: {err}")
    assert raw == []


def test_the_sidecar_by_mistake_says_what_to_load(tmp_path, saved):
    model = tmp_path / "m.sg"
    write(model, *saved)
    (tmp_path / "m.sg.json").write_text(json.dumps({"dataset": "iris", "classes": ["a", "b"]}))
    with pytest.raises(ModelFileError, match=rf"JSON text file.*load the model file {model}$"):
        load_model(tmp_path / "m.sg.json")


# ---- loads bounded in memory and time, each in a child process --------------------------------------------
CHILD = """
import json, resource, signal, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB: far below what the hostile files claim
from scratchgrad.models import ModelFileError, load_model

def timeout(*_):
    raise TimeoutError("took more than 20 s")

signal.signal(signal.SIGALRM, timeout)
for path in sys.argv[1:]:
    signal.alarm(20)
    try:
        load_model(path, compile=False)
        result = "loaded"
    except ModelFileError as err:
        result = f"ModelFileError: {err}"
    except BaseException as err:  # what a weaker reader does: MemoryError, RecursionError, TimeoutError
        result = f"{type(err).__name__}: {err}"
    signal.alarm(0)
    print(json.dumps([path, result[:500]]), flush=True)
"""


def model_metadata(config):
    return {"format": "scratchgrad", "version": "1", "kind": "model", "config": json.dumps(config)}


def dense_config(units, inputs):
    return {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": units}}], "input_shape": [inputs]}}


def nested(depth):
    """A Sequential nested `depth` times around one Dense(2) on 3 inputs, and its two weights."""
    config = dense_config(2, 3)
    for i in range(depth):
        config = {"class_name": "Sequential", "config": {"name": f"s{i}", "layers": [config]}}
    return config, {"weights/0000": np.zeros((3, 2), np.float32), "weights/0001": np.zeros(2, np.float32)}


def huge_junk(path):
    """6 GB (sparse: no disk used) whose first bytes are no header."""
    with open(path, "wb") as f:
        f.write(np.random.default_rng(0).bytes(64))
        f.truncate(6 << 30)


def huge_header(path):
    """6 GB whose first bytes declare a 5 GB header, as a big file's would."""
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 5 << 30) + b"{")
        f.truncate(6 << 30)


def dense_claim(path):
    """6 KB claiming Dense(100000) on 100000 inputs: 37 GB of weights it does not hold."""
    write(path, model_metadata(dense_config(100_000, 100_000)), {"weights/0000": np.zeros(1500, np.float32)})


def deep_config(path):
    """A config nested 100 000 deep, in a 2 MB header."""
    text = '{"class_name": "Sequential", "config": {"layers": [' * 100_000 + "]}}" * 100_000
    write(path, {**model_metadata({}), "config": text}, {})


def nested_40(path):
    config, tensors = nested(40)
    write(path, model_metadata(config), tensors)


def nested_70(path):
    config, tensors = nested(70)
    write(path, model_metadata(config), tensors)


BOUNDED = {  # file -> what loading it must end in, within 1 GiB and 20 s
    "6 GB of junk": (huge_junk, r"ModelFileError: .*truncated or not a safetensors file"),
    "6 GB declaring a 5 GB header": (huge_header, r"ModelFileError: .*declares a header of 5368709120 bytes"),
    "Dense(100000) on 100000 inputs in 6 KB": (dense_claim, r"ModelFileError: .*which the file does not hold"),
    "a config 100000 deep": (deep_config, r"ModelFileError: .*'config' is not readable JSON"),
    "40 nested Sequentials": (nested_40, r"^loaded$"),
    "70 nested Sequentials": (nested_70, r"ModelFileError: .*'config' is nested deeper than 200 levels"),
}


@pytest.fixture(scope="module")
def bounded_loads(tmp_path_factory):
    pytest.importorskip("resource")  # POSIX: the child limits its own address space
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for case, (make, _) in BOUNDED.items():
        paths[case] = str(folder / f"{len(paths)}.sg")
        make(paths[case])
    source = os.path.dirname(os.path.dirname(keras.__file__))  # the scratchgrad tested here
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]),
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # BLAS threads reserve address space
    done = subprocess.run([sys.executable, "-c", CHILD, *paths.values()], env=env, capture_output=True, text=True,
                          timeout=300)
    results = dict(json.loads(line) for line in done.stdout.splitlines())
    yield {case: results.get(path, f"no result: {done.stderr[-500:]}") for case, path in paths.items()}
    for path in paths.values():
        os.remove(path)


@pytest.mark.parametrize("case", list(BOUNDED))
def test_hostile_files_cost_what_they_hold(case, bounded_loads):
    import re

    assert re.search(BOUNDED[case][1], bounded_loads[case]), bounded_loads[case]


# ---- no header field runs anything --------------------------------------------------------------------------
AUDIT = """
import json, sys
from scratchgrad.models import ModelFileError, load_model

load_model(sys.argv[1])  # everything a load imports lazily is imported now
WATCHED = ("import", "exec", "compile", "os.system", "subprocess.Popen", "os.posix_spawn", "os.exec", "os.fork",
           "ctypes.dlopen", "pickle.find_class", "marshal.loads", "open")
seen, watching = [], [None]

def hook(event, args):
    if watching[0] and event in WATCHED and not (event == "open" and args[0] == watching[0]):
        seen.append(f"{event} {str(args)[:100]}")

sys.addaudithook(hook)
for path in sys.argv[2:]:
    watching[0] = path
    try:
        load_model(path)
        outcome = "loaded"
    except ModelFileError:
        outcome = "refused"
    watching[0] = None
    print(json.dumps([path, outcome, seen]), flush=True)
    seen.clear()
"""

DANGEROUS_NAMES = ["os.system", "builtins.eval", "subprocess>Popen", "__import__", "pickle.loads", "Custom>os.system"]


def dangerous_edits():
    """Every place a header names something, naming something dangerous."""
    for name in DANGEROUS_NAMES:
        yield config_section(lambda c, n=name: c.update(class_name=n, module=n, registered_name=n))
        yield first_layer("activation", name)
        yield first_layer("kernel_initializer", {"class_name": name, "module": name, "config": {}})
        yield config_section(lambda c, n=name: c["config"]["layers"][0].update(class_name=n, registered_name=n))
        yield config_section(lambda c, n=name: c["config"]["layers"].append(
            {"class_name": "Lambda", "config": {"function": n}}))
        yield compile_section(lambda s, n=name: s.update(loss=n))
        yield compile_section(lambda s, n=name: s.update(loss={"class_name": n, "module": n, "config": {}}))
        yield compile_section(lambda s, n=name: s.update(metrics=[n]))
        yield compile_section(lambda s, n=name: s["optimizer"].update(class_name=n, module=n))
        yield compile_section(lambda s, n=name: s["optimizer"]["config"].update(
            learning_rate={"class_name": n, "module": n, "config": {}}))


def test_no_header_field_imports_or_calls_anything(saved, tmp_path):
    """An audit hook in a child process sees every import, exec, compile, process start and file opened
    while the hostile files load: there must be none (this held before; the test keeps it so)."""
    paths = []
    for i, edit in enumerate(dangerous_edits()):
        metadata, tensors, entries = dict(saved[0]), dict(saved[1]), {}
        edit(metadata, tensors, entries)
        paths.append(str(tmp_path / f"{i}.sg"))
        write(tmp_path / f"{i}.sg", metadata, tensors, entries)
    write(tmp_path / "good.sg", *saved)
    source = os.path.dirname(os.path.dirname(keras.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", AUDIT, str(tmp_path / "good.sg"), *paths], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(paths)
    assert [r for r in results if r[2]] == []  # nothing imported, compiled, run or opened
    assert all(outcome == "refused" for _, outcome, _ in results), [r for r in results if r[1] != "refused"]
