"""Saving and loading: one safetensors file, the architecture and compile settings as JSON in its
metadata, the weights and optimizer slots as tensors. No pickle: loading a stranger's file reads
numbers and JSON, never code.

Writes go to a temporary file in the same folder that is then renamed over the target, so a crash
mid-save leaves the previous file intact. Loads check everything (format, config, every shape) before
anything is assigned, so a bad file never leaves a model half-loaded.

A file is untrusted input. It is read in this order, each step checked before the next costs anything:
the first bytes (the format, the header's size against the file's), the header (every tensor's dtype,
shape and extent inside the file), the architecture (its nesting depth, then built with each weight it
creates checked against the file's tensors before it is allocated), and only then the tensors, each
read from its declared offset. Classes are found in the registries by name; nothing is imported.

A compiled model's file also holds what training continues from: the optimizer's step count and every
slot (moving averages and summed gradients too), and the random state shuffling and dropout draw from
next, so that load_model + fit(initial_epoch=k) in a fresh process is the run that never stopped.
"""
import inspect
import json
import math
import os
import struct
import warnings
from collections import Counter

import numpy as np

from .. import losses, optimizers, tree
from .. import metrics as metrics_module
from .. import random as framework_random
from ..files import atomic_write
from ..layers import serialize
from ..layers.base import weight_check
from ..object_registration import lookup
from ..optimizers import schedules
from .functional import Functional

FORMAT = "scratchgrad"
VERSION = "2"  # 2: a functional model's weights in Keras's layer order (1: in the order its graph was walked)
READS = ("1", "2")
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}  # safetensors' names
_MAX_HEADER = 100 << 20  # safetensors' own limit: the header is JSON, read and parsed whole
_MAX_NESTING = 200  # levels of JSON in a config (3 per nested Sequential): building recurses once per level
# what our registered classes raise on values they cannot take: from a file, the file's fault
_CONFIG_ERRORS = (ArithmeticError, AttributeError, LookupError, NotImplementedError, RecursionError, TypeError,
                  ValueError)


# the optimizer's numbers besides its step count and slots (a loss scale, a MultiOptimizer's step counts) a file
# may hold: a bound on what loading reads
MAX_OPTIMIZER_SCALARS = 256


class ModelFileError(ValueError):
    """A file that is not a readable scratchgrad model or weights file, or does not fit the model."""


def _write_atomic(path, tensors, metadata):
    from safetensors.numpy import save

    # np.require, not np.ascontiguousarray, which makes a 0-d weight (Attention's scale) 1-d: unloadable
    payload = save({k: np.require(v, requirements="C") for k, v in tensors.items()}, metadata=metadata)
    if os.fspath(path).lower().endswith((".h5", ".hdf5")):
        warnings.warn(f"{os.fspath(path)}: this is scratchgrad's model format (safetensors), not HDF5; Keras reads "
                      f"model.save('model.keras', format='keras')", stacklevel=3)
    with atomic_write(path) as f:
        f.write(payload)


class _File:
    """An open scratchgrad file. Opening checks the format from the first bytes and then the whole header:
    every tensor's dtype, shape and byte range inside the file. Tensors are read one at a time, from their
    declared offsets, when asked: nothing beyond the header is read before it is needed and checked. The
    file stays open while loading, so a save replacing it meanwhile is not mixed in."""

    def __init__(self, path, kind):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"no {kind} file at {self.path}")
        self._file = open(self.path, "rb")
        try:
            self.metadata, self.tensors, self._start = _header(self.path, self._file, kind)
        except BaseException:
            self._file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()

    def error(self, field, message):
        return ModelFileError(f"{self.path}: field {field!r} {message}")

    def json(self, field, kind):
        """A metadata field's JSON value, which must be of type `kind` (a config object, say)."""
        try:
            value = json.loads(self.metadata[field])
        except KeyError:
            raise self.error(field, "is missing") from None
        except (ValueError, RecursionError) as err:  # RecursionError: nested too deep for the parser
            raise self.error(field, f"is not readable JSON: {err}") from None
        if not isinstance(value, kind):
            raise self.error(field, f"must be a JSON {'object' if kind is dict else kind.__name__}, "
                                    f"got {type(value).__name__}")
        _check_nesting(self, field, value)
        return value

    def read(self, name):
        shape, dtype, begin = self.tensors[name]
        out = np.empty(shape, dtype)
        self._file.seek(self._start + begin)
        if self._file.readinto(out.reshape(-1).view(np.uint8)) != out.nbytes:
            raise ModelFileError(f"{self.path} is truncated: tensor {name!r} ends past the end of the file")
        return out


def _header(path, f, kind):
    """(metadata, {tensor name: (shape, dtype, offset)}, where the data starts) of an open file."""
    size = os.fstat(f.fileno()).st_size
    head = f.read(9)
    length = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else None
    if len(head) < 9 or length > size - 8 or head[8:9] != b"{":
        raise ModelFileError(_not_ours(path, head, size, length, kind))
    if length > _MAX_HEADER:
        raise ModelFileError(f"{path} declares a header of {length} bytes; a scratchgrad file's is at most "
                             f"{_MAX_HEADER}")
    f.seek(8)
    try:
        header = json.loads(f.read(length))
    except (ValueError, RecursionError) as err:
        raise ModelFileError(f"{path} is corrupted: its header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path} is corrupted: its header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    _check_metadata(path, metadata, kind)
    tensors = {name: _tensor_entry(path, name, entry, size - 8 - length) for name, entry in header.items()}
    return metadata, tensors, 8 + length


def _not_ours(path, head, size, length, kind):
    """What a file whose first bytes are not a safetensors header is, as far as they tell."""
    if head[:1] == b"{":  # JSON text: the first byte of a length would rarely be "{" and then fail the checks
        model = path[:-len(".json")] if path.endswith(".json") else None
        which = f": load the model file {model}" if model and os.path.isfile(model) else ""
        return (f"{path} is a JSON text file, not a scratchgrad {kind} file (the command line keeps a model's "
                f"preprocessing in such a file beside it, MODEL.json){which}")
    if len(head) < 9:
        return f"{path} is not a scratchgrad {kind} file: only {size} bytes"
    return (f"{path} is truncated or not a safetensors file (its first bytes declare a header of {length} bytes; "
            f"the file has {size - 8} after them)")


def _check_metadata(path, metadata, kind):
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{path}: field '__metadata__' must map names to strings")
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path} is a safetensors file but not one scratchgrad wrote (no scratchgrad metadata)")
    if metadata.get("version") not in READS:
        raise ModelFileError(f"{path} has format version {metadata.get('version')}; this scratchgrad reads "
                             f"{' and '.join(READS)}")
    if metadata.get("kind") != kind and not (kind == "weights" and metadata.get("kind") == "model"):
        raise ModelFileError(f"{path} holds a {metadata.get('kind')}, not a {kind}")


def _tensor_entry(path, name, entry, data_size):
    """(shape, dtype, offset) of a header's tensor entry, checked: a known dtype, a shape of whole numbers,
    and a byte range inside the data that is exactly the shape's size."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{path}: tensor {name!r} must have exactly dtype, shape and data_offsets")
    dtype, shape, offsets = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None, \
        entry["shape"], entry["data_offsets"]
    if dtype is None:
        raise ModelFileError(f"{path}: tensor {name!r} has dtype {entry['dtype']!r}, not one of {sorted(_DTYPES)}")
    if not isinstance(shape, list) or len(shape) > 32 or not all(_is_count(d) for d in shape):
        raise ModelFileError(f"{path}: tensor {name!r} has shape {shape!r}, not a list of sizes")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets) or \
            offsets[0] > offsets[1]:
        raise ModelFileError(f"{path}: tensor {name!r} has data_offsets {offsets!r}, not [begin, end]")
    dtype = np.dtype(dtype)
    if offsets[1] > data_size:
        raise ModelFileError(f"{path} is truncated: tensor {name!r} ends at byte {offsets[1]} of the data, "
                             f"which has {data_size}")
    size = math.prod(shape) * dtype.itemsize
    if offsets[1] - offsets[0] != size:
        raise ModelFileError(f"{path}: tensor {name!r} of shape {shape} ({dtype.name}) needs {size} bytes; its "
                             f"data_offsets give {offsets[1] - offsets[0]}")
    return tuple(shape), dtype, offsets[0]


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_nesting(file, field, value):
    """Refuse JSON nested deeper than _MAX_NESTING before building (which recurses once per level) walks it."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_NESTING:
            raise file.error(field, f"is nested deeper than {_MAX_NESTING} levels")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)


def _weight_tensors(model):
    return {f"weights/{i:04d}": w.numpy() for i, w in enumerate(model.weights)}


def _check_built(model):
    if not model.built:
        raise ValueError("the model has no weights yet: build it (Input(shape), input_shape=, or one call) before saving")


def _weight_arrays(model, file):
    """The file's weights in model order, each shape and dtype checked against the model's before any is read."""
    weights, path = model.weights, file.path
    if file.metadata["version"] == "1" and not _ordered_as_in_version_1(model):
        raise ModelFileError(f"{path} was saved by an earlier scratchgrad, which listed this model's weights in "
                             f"another order (a branching functional model): load it with that version and save "
                             f"it again, or with format='keras', whose weights are named by layer")
    names = [f"weights/{i:04d}" for i in range(len(weights))]
    stored = sum(1 for k in file.tensors if k.startswith("weights/"))
    if stored != len(weights) or any(n not in file.tensors for n in names):
        raise ModelFileError(f"{path} holds {stored} weight arrays; the model has {len(weights)}")
    for w, name in zip(weights, names):
        shape, dtype, _ = file.tensors[name]
        if shape != w.shape:
            raise ModelFileError(f"{path}: weight {w.name} has shape {w.shape} in the model but {shape} in the file")
        if dtype != w.dtype:
            raise ModelFileError(f"{path}: weight {w.name} is {w.dtype.name} in the model but {dtype.name} in the "
                                 f"file ({name}): refused rather than cast")
    return [file.read(name) for name in names]


def _ordered_as_in_version_1(model):
    """Whether every functional graph in `model` lists its layers in the order version 1 files used: the
    order its graph was walked from the inputs (functional.py's node order), now Keras's."""
    stack = [model]
    while stack:
        layer = stack.pop()
        if isinstance(layer, Functional):
            walked = []
            for node in layer._nodes:
                if all(node.layer is not seen for seen in walked):
                    walked.append(node.layer)
            if len(walked) != len(layer.layers) or any(a is not b for a, b in zip(walked, layer.layers)):
                return False
        stack.extend(layer._sublayers())
    return True


def save_weights(model, path):
    _check_built(model)
    _write_atomic(path, _weight_tensors(model), {"format": FORMAT, "version": VERSION, "kind": "weights"})


def load_weights(model, path):
    """Load weights saved by save_weights (or a whole saved model) into a model of the same shape."""
    _check_built(model)
    with _File(path, "weights") as file:
        model.set_weights(_weight_arrays(model, file))


def save_model(model, filepath):
    _check_built(model)
    metadata = {"format": FORMAT, "version": VERSION, "kind": "model",
                "config": json.dumps(serialize(model))}
    if model.input_shape is not None:  # a subclassed model is rebuilt by calling it on this shape
        metadata["build_input_shape"] = json.dumps(model.input_shape)
    tensors = _weight_tensors(model)
    if model.optimizer is not None:  # compiled: what training continues from goes along
        compile_config = {"loss": tree.map_structure(_serialize_loss, model.loss),
                          "metrics": saveable_metrics(model._metric_ids), "loss_weights": model._loss_weights,
                          "weighted_metrics": saveable_metrics(model._weighted_metric_ids),
                          "optimizer": optimizers.serialize(model.optimizer)}
        metadata["compile"] = json.dumps(compile_config)
        state = model.get_optimizer_state()  # every trainable weight's slots, fresh ones for weights not updated yet
        metadata["optimizer_iterations"] = str(state["iterations"])
        scalars = {k: v for k, v in state.items() if k not in ("iterations", "slots")}  # a loss scale, say
        if len(scalars) > MAX_OPTIMIZER_SCALARS:
            raise ValueError(f"the optimizer keeps {len(scalars)} numbers besides its slots; a model file holds at "
                             f"most {MAX_OPTIMIZER_SCALARS}")
        if scalars:
            metadata["optimizer_scalars"] = json.dumps(scalars)
        for i, slots in enumerate(state["slots"]):
            tensors.update({f"optimizer/{i:04d}/{name}": value for name, value in slots.items()})
        metadata["random_state"] = json.dumps({"global": framework_random.get_state(), "seed_generators": [
            g.generator.bit_generator.state for g in seed_generators(model)]})
    _write_atomic(filepath, tensors, metadata)


def _serialize_loss(loss):
    return None if loss is None else losses.serialize(loss)  # compiled without a loss: one added by the layers


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model saved with model.save(filepath): architecture, weights, and (if it was compiled)
    loss, metrics and optimizer with its state, so training continues exactly where it stopped. The
    framework's random generator is set to the state saved with a compiled model (and each seeded
    layer's to its own): shuffling and dropout then draw what the stopped run would have drawn. A Keras 3
    `.keras` file (a zip) is read by scratchgrad.keras_files.

    `custom_objects` ({name: class or function}) says what the names of custom layers, activations, losses
    and metrics in the file mean, in addition to the registered ones and those of the enclosing
    custom_object_scope. `safe_mode` is Keras's: scratchgrad never runs code from a file (a Keras Lambda
    layer's bytecode is refused either way), so both values load the same."""
    from ..keras_files import is_keras_file, load_keras
    from ..object_registration import CustomObjectScope, _checked_objects, current_scope

    custom_objects = _checked_objects(custom_objects, "load_model")
    if not isinstance(compile, bool) or not isinstance(safe_mode, bool):
        raise TypeError(f"load_model: compile and safe_mode must be True or False, got compile={compile!r}, "
                        f"safe_mode={safe_mode!r}")
    with CustomObjectScope({**current_scope(), **custom_objects}):
        if is_keras_file(filepath):
            return load_keras(filepath, compile=compile, custom_objects=custom_objects)
        with _File(filepath, "model") as file:
            unknown = [k for k in file.tensors if not k.startswith(("weights/", "optimizer/"))]
            if unknown:
                raise ModelFileError(f"{file.path}: tensor {unknown[0]!r} is neither a weight nor an optimizer slot")
            model = _build(file, file.json("config", dict), custom_objects)
            model.set_weights(_weight_arrays(model, file))
            if compile and "compile" in file.metadata:
                _compile(model, file)
                _restore_training_state(model, file)
    return model


def _build(file, config, custom_objects=None):
    """The config's model, built with each weight it creates checked against the file's tensors before it
    is allocated. Building draws initial weights: the user's random stream is left where it was."""
    rng = framework_random.get_state()
    token = weight_check.set(_WeightBudget(file))
    try:
        model = _model_from_config(config, file.path, custom_objects)
        if not model.built and "build_input_shape" in file.metadata:
            model.build(_input_shape(file))
    except ModelFileError:
        raise
    except _CONFIG_ERRORS as err:
        raise file.error("config", f"does not describe a model that can be built: {err}") from None
    finally:
        weight_check.reset(token)
        framework_random.set_state(rng)
    return model


class _WeightBudget:
    """The weights a file holds, counted by (shape, dtype). Each weight the config's layers create claims
    one before it is allocated (layers/base.py asks), so a header claiming Dense(100000) on 100000 inputs
    is refused at once, not after allocating 37 GB the file does not hold."""

    def __init__(self, file):
        self.path = file.path
        self.left = Counter((shape, dtype) for name, (shape, dtype, _) in file.tensors.items()
                            if name.startswith("weights/"))

    def __call__(self, name, shape, dtype):
        key = (shape, np.dtype(dtype))
        if self.left[key] > 0:
            self.left[key] -= 1
            return
        stored = sorted({d.name for (s, d), n in self.left.items() if s == shape and n})
        if stored:
            raise ModelFileError(f"{self.path}: the config makes weight {name} {key[1].name}, but the file stores "
                                 f"it as {stored[0]}: refused rather than cast")
        raise ModelFileError(f"{self.path}: the config makes weight {name} of shape {shape} ({key[1].name}), "
                             f"which the file does not hold (refused before allocating it)")


def _input_shape(file):
    shape = file.json("build_input_shape", list)
    if _is_shape(shape):
        return tuple(shape)
    if shape and all(_is_shape(s) for s in shape):
        return [tuple(s) for s in shape]
    raise file.error("build_input_shape", f"must be a shape or a list of shapes, got {shape!r}")


def _is_shape(value):
    return isinstance(value, list) and all(d is None or _is_count(d) for d in value)


def _model_from_config(config, path, custom_objects=None):
    from ..layers import layer_class
    from .model import Model

    if not isinstance(config.get("config"), dict):
        raise ModelFileError(f"{path}: field 'config' must be {{\"class_name\": ..., \"config\": {{...}}}}")
    try:
        cls = layer_class(config, custom_objects, base=Model)
    except ValueError as err:
        raise ModelFileError(f"{path}: {err}") from None
    if custom_objects and "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(config["config"], custom_objects=custom_objects)
    return cls.from_config(config["config"])  # custom_objects reach its layers through the scope


def _compile(model, file):
    """Compile the model as the file's compile section says, each part checked and named when it is wrong."""
    settings = file.json("compile", dict)
    optimizer = _made(file, "compile.optimizer", optimizers.get, _optimizer_config(file, settings.get("optimizer")))
    loss = _made(file, "compile.loss", tree.map_structure, lambda x: _loss(file, x), settings.get("loss"),
                 is_leaf=_is_loss_config)
    metrics = {key: settings.get(key) for key in ("metrics", "weighted_metrics")}
    for key, value in metrics.items():
        if not _names_metrics(value):
            raise file.error(f"compile.{key}", f"must name registered metrics, got {value!r:.200}")
    metrics = {key: _made(file, f"compile.{key}", user_objects, value) for key, value in metrics.items()}
    weights = settings.get("loss_weights")
    if not all(w is None or isinstance(w, (int, float)) and not isinstance(w, bool) for w in tree.flatten(weights)):
        raise file.error("compile.loss_weights", f"must be numbers, got {weights!r}")
    _made(file, "compile", model.compile, optimizer, loss, weights, **metrics)


def _names_metrics(value, top=True):
    """Whether a compile section's metrics are registered metrics' names, as compile() takes them: one, a
    list (of lists, one per output), or a dict by output name."""
    if isinstance(value, str):
        return value in ("accuracy", "acc") or value in metrics_module.FUNCTIONS or value in metrics_module.CLASSES \
            or metrics_module.is_metric_like(lookup(value))  # a user's layer class is no metric: never called
    if value is None or _is_metric_config(value):
        return True  # a metric object's config: built (and checked) by user_objects
    if isinstance(value, dict) and top:
        return all(_names_metrics(v, False) for v in value.values())
    return isinstance(value, list) and all(_names_metrics(v, False) for v in value)


def _plain(value):
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"a metric's config holds {type(value).__name__} {value!r:.60}, which a file cannot hold")


METRIC_SIZE_LIMIT = 10_000  # thresholds, classes, ... a metric from a file may hold, before it is built


def checked_metric_config(spec):
    """A metric config from a file, refused before anything is allocated when a number or a list in it is
    larger than METRIC_SIZE_LIMIT (AUC's num_thresholds, MeanIoU's num_classes squared, ...)."""
    for key, value in (spec.get("config") or {}).items():
        size = len(value) if isinstance(value, (list, tuple)) else value
        if isinstance(size, (int, float)) and not isinstance(size, bool) and abs(size) > METRIC_SIZE_LIMIT:
            raise ValueError(f"the metric {spec.get('class_name')!r:.60} has {key}={value!r:.40}: a metric from a "
                             f"file holds no number or list above {METRIC_SIZE_LIMIT}")
    return spec


def _is_metric_config(value):
    return isinstance(value, dict) and isinstance(value.get("class_name"), str) and isinstance(value.get("config"),
                                                                                                dict)


def user_objects(metrics):
    """Compile's metrics with each name the user's objects give (custom_objects, scope, registered) replaced
    by its object: metrics are made at the first fit or evaluate, after load_model's scope has ended."""
    if _is_metric_config(metrics):
        return metrics_module.get(checked_metric_config(metrics))  # built now, while the user's objects are in scope
    if isinstance(metrics, dict):
        return {k: user_objects(v) for k, v in metrics.items()}
    if isinstance(metrics, list):
        return [user_objects(m) for m in metrics]
    custom = lookup(metrics)
    return custom if metrics_module.is_metric_like(custom) else metrics


def _made(file, field, make, *args, **kwargs):
    """make(...) on values from the file: what our code raises on values it cannot take is the file's fault."""
    try:
        return make(*args, **kwargs)
    except ModelFileError:
        raise
    except _CONFIG_ERRORS as err:
        raise file.error(field, f"cannot be used: {type(err).__name__}: {err}") from None


def _optimizer_config(file, config):
    """The compile section's optimizer, its class (and its schedule's) checked to be registered ones."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise file.error("compile.optimizer", "must be {\"class_name\": ..., \"config\": {...}}")
    name = config.get("class_name")
    if not isinstance(name, str) or name not in optimizers.CLASSES:
        raise file.error("compile.optimizer", f"names an unknown optimizer class {name!r}; known: "
                                              f"{', '.join(sorted(optimizers.CLASSES))}")
    rate = config["config"].get("learning_rate")
    if isinstance(rate, dict):
        schedule = rate.get("class_name")
        known = isinstance(schedule, str) and schedule in schedules.SCHEDULES
        if not known or not isinstance(rate.get("config"), dict):
            raise file.error("compile.optimizer.learning_rate", f"names an unknown schedule {schedule!r}; known: "
                                                                f"{', '.join(sorted(schedules.SCHEDULES))}")
    return config


def _loss(file, value):
    """A loss from the file: a built-in's name or config, or a user's class or function by its name (looked up
    among the user's objects only)."""
    if value is None:
        return None
    name = value.get("class_name") if isinstance(value, dict) else value
    if not isinstance(name, str):
        raise file.error("compile.loss", f"names an unknown loss {name!r}")
    try:
        return losses.get(value)
    except ValueError as err:
        raise file.error("compile.loss", f"names an unknown loss {name!r}: {err}") from None


def _optimizer_scalars(file):
    """The optimizer's numbers besides its step count and slots (LossScaleOptimizer's scale and counter):
    a JSON object of names to finite numbers, or nothing."""
    raw = file.metadata.get("optimizer_scalars")
    if raw is None:
        return {}
    try:
        scalars = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise file.error("optimizer_scalars", "must be a JSON object of numbers") from None
    if not (isinstance(scalars, dict) and len(scalars) <= MAX_OPTIMIZER_SCALARS
            and not {"iterations", "slots"} & set(scalars) and all(
                isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for k, v in scalars.items())):
        raise file.error("optimizer_scalars", f"must be a JSON object of at most {MAX_OPTIMIZER_SCALARS} finite "
                                              f"numbers (not the step count or slots, which have their own places), "
                                              f"got {raw[:80]!r}")
    return scalars


def _restore_training_state(model, file):
    """Give the compiled model the optimizer state and the random state saved with it, checked whole
    before any is set; warn, naming it, about any part the file lacks (that part starts afresh)."""
    iterations = file.metadata.get("optimizer_iterations")
    if iterations is None or not (iterations.isascii() and iterations.isdigit()) or len(iterations) > 18:
        raise file.error("optimizer_iterations", f"must be the optimizer's step count (a whole number), got "
                                                 f"{iterations!r}")
    slots, reset = _optimizer_slots(model, file)
    random_states = _random_states(model, file)
    scalars = _optimizer_scalars(file)
    _made(file, "optimizer state", model.set_optimizer_state,
          {**scalars, "iterations": int(iterations), "slots": slots})
    lacking = []
    if reset:
        shown = ", ".join(reset[:6]) + (f" and {len(reset) - 6} more" if len(reset) > 6 else "")
        lacking.append(f"optimizer slots missing, reset to their initial values: {shown}")
    if random_states is None:
        lacking.append("no random state: shuffling and dropout continue from this process's generator")
    else:
        framework_random.set_state(random_states[0])
        for generator, state in zip(seed_generators(model), random_states[1:]):
            generator.generator.bit_generator.state = state
    if lacking:
        warnings.warn(f"{file.path}: training will not resume exactly where it stopped: {'; '.join(lacking)}",
                      UserWarning, stacklevel=3)


def _optimizer_slots(model, file):
    """The file's optimizer slots, one dict per trainable weight, each checked against the slot the model's
    optimizer keeps before it is read; and the "<slot> of <weight>" the file lacks (kept at their start)."""
    expected = model.get_optimizer_state()["slots"]  # the fresh optimizer's: every slot's name, shape and dtype
    weights, found = model.trainable_weights, {}
    for key, (shape, dtype, _) in file.tensors.items():
        if not key.startswith("optimizer/"):
            continue
        parts = key.split("/")
        spelled = len(parts) == 3 and parts[1].isascii() and parts[1].isdigit() and len(parts[1]) < 10
        index = int(parts[1]) if spelled else -1
        if not 0 <= index < len(expected) or key != f"optimizer/{index:04d}/{parts[2]}" or \
                parts[2] not in expected[index]:
            names = sorted({name for slots in expected for name in slots})
            raise ModelFileError(f"{file.path}: tensor {key!r} is not a slot of this optimizer: expected "
                                 f"optimizer/<trainable weight, 0000 to {len(expected) - 1:04d}>/<one of {names}>")
        want = expected[index][parts[2]]
        if shape != want.shape or dtype != want.dtype:
            raise ModelFileError(f"{file.path}: tensor {key!r} is {dtype.name} {shape}; the optimizer keeps it "
                                 f"{want.dtype.name} {want.shape} for weight {weights[index].name}")
        found[index, parts[2]] = key
    slots = [{name: file.read(found[i, name]) if (i, name) in found else fresh for name, fresh in s.items()}
             for i, s in enumerate(expected)]
    reset = [f"{name} of {weights[i].name}" for i, s in enumerate(expected) for name in s if (i, name) not in found]
    return slots, reset


def _random_states(model, file):
    """[the global generator's state, each SeedGenerator's] saved with the model, checked; None if absent."""
    if "random_state" not in file.metadata:
        return None
    saved = file.json("random_state", dict)
    generators, states = seed_generators(model), saved.get("seed_generators")
    if not isinstance(states, list) or len(states) != len(generators):
        raise file.error("random_state", f"must hold one state per SeedGenerator of the model ({len(generators)}), "
                                         f"got {states!r:.200}")
    for state in [saved.get("global"), *states]:
        _made(file, "random_state", framework_random.check_state, state)
    return [saved["global"], *states]


def seed_generators(model):
    """The SeedGenerators the model's layers draw from, in a fixed order (layers depth first, each one's
    attributes in assignment order) that a model rebuilt from the same config repeats."""
    found, seen, stack = [], set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        found += [v for v in vars(layer).values()
                  if isinstance(v, framework_random.SeedGenerator) and all(v is not f for f in found)]
        stack.extend(reversed(layer._sublayers()))
    return found


def _is_loss_config(value):
    return isinstance(value, dict) and "class_name" in value


def saveable_metrics(metrics):
    """The metrics given to compile() as a file names them: strings, custom metric functions by name
    (metrics.saveable_name), and metric objects by their config (a custom class's with the registered_name
    it is found by). Objects without a config, and functions no name can stand for (a lambda, a built-in's
    name), are left out."""
    if isinstance(metrics, dict):
        return {k: saveable_metrics(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [m for m in map(saveable_metrics, metrics) if m is not None]
    if isinstance(metrics, str):
        return metrics
    if type(metrics) is metrics_module.MeanMetricWrapper:
        return None  # a wrapper around the user's function: no config holds the function
    if isinstance(metrics, metrics_module.Metric):
        try:
            spec = metrics_module.serialize(metrics)
        except (NotImplementedError, TypeError, ValueError):
            return None
        # the name the user gave, not the one a multi-output model's compile prefixed; NumPy numbers as JSON's
        config = {**spec["config"], "name": metrics.__dict__.get("base_name", metrics.name)}
        return {**spec, "config": json.loads(json.dumps(config, default=_plain))}
    if callable(metrics) and not isinstance(metrics, type):
        try:
            return metrics_module.saveable_name(metrics)
        except ValueError:
            return None
    return None
