"""Saving and loading: one safetensors file, the architecture and compile settings as JSON in its
metadata, the weights and optimizer slots as tensors. No pickle: loading a stranger's file reads
numbers and JSON, never code.

Writes go to a temporary file in the same folder that is then renamed over the target, so a crash
mid-save leaves the previous file intact. Loads check everything (format, config, every shape) before
anything is assigned, so a bad file never leaves a model half-loaded.
"""
import json
import os
import struct
import tempfile

import numpy as np

from .. import losses, optimizers, tree
from ..layers import serialize

FORMAT = "scratchgrad"
VERSION = "1"


class ModelFileError(ValueError):
    """A file that is not a readable scratchgrad model or weights file, or does not fit the model."""


def _write_atomic(path, tensors, metadata):
    from safetensors.numpy import save

    payload = save({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata=metadata)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _read(path, kind):
    """(metadata, tensors) of a scratchgrad file, or a ModelFileError that says what is wrong."""
    from safetensors.numpy import load

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no {kind} file at {path}")
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ModelFileError(f"{path} is not a scratchgrad {kind} file: only {len(raw)} bytes")
    (header_len,) = struct.unpack("<Q", raw[:8])
    if header_len > len(raw) - 8:
        raise ModelFileError(f"{path} is truncated or not a safetensors file (header says {header_len} bytes, "
                             f"the file has {len(raw) - 8})")
    try:
        header = json.loads(raw[8:8 + header_len])
        tensors = load(raw)
    except Exception as err:  # safetensors and json raise several types for damaged bytes
        raise ModelFileError(f"{path} is corrupted: {err}") from None
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path} is a safetensors file but not one scratchgrad wrote (no scratchgrad metadata)")
    if metadata.get("version") != VERSION:
        raise ModelFileError(f"{path} has format version {metadata.get('version')}; this scratchgrad reads {VERSION}")
    if metadata.get("kind") != kind and not (kind == "weights" and metadata.get("kind") == "model"):
        raise ModelFileError(f"{path} holds a {metadata.get('kind')}, not a {kind}")
    return metadata, tensors


def _weight_tensors(model):
    return {f"weights/{i:04d}": w.numpy() for i, w in enumerate(model.weights)}


def _check_built(model):
    if not model.built:
        raise ValueError("the model has no weights yet: build it (Input(shape), input_shape=, or one call) before saving")


def _weight_arrays(model, tensors, path):
    """The file's weights in model order, each shape checked against the model's."""
    weights = model.weights
    arrays = [tensors.get(f"weights/{i:04d}") for i in range(len(weights))]
    stored = sum(1 for k in tensors if k.startswith("weights/"))
    if stored != len(weights) or any(a is None for a in arrays):
        raise ModelFileError(f"{path} holds {stored} weight arrays; the model has {len(weights)}")
    for w, a in zip(weights, arrays):
        if a.shape != w.shape:
            raise ModelFileError(f"{path}: weight {w.name} has shape {w.shape} in the model but {a.shape} in the file")
    return arrays


def save_weights(model, path):
    _check_built(model)
    _write_atomic(path, _weight_tensors(model), {"format": FORMAT, "version": VERSION, "kind": "weights"})


def load_weights(model, path):
    """Load weights saved by save_weights (or a whole saved model) into a model of the same shape."""
    _check_built(model)
    _, tensors = _read(path, "weights")
    model.set_weights(_weight_arrays(model, tensors, path))


def save_model(model, path):
    _check_built(model)
    metadata = {"format": FORMAT, "version": VERSION, "kind": "model",
                "config": json.dumps(serialize(model))}
    if model.input_shape is not None:  # a subclassed model is rebuilt by calling it on this shape
        metadata["build_input_shape"] = json.dumps(model.input_shape)
    tensors = _weight_tensors(model)
    if model.loss is not None:
        compile_config = {"loss": tree.map_structure(losses.serialize, model.loss),
                          "metrics": _saveable_metrics(model._metric_ids), "loss_weights": model._loss_weights,
                          "weighted_metrics": _saveable_metrics(model._weighted_metric_ids),
                          "optimizer": optimizers.serialize(model.optimizer)}
        metadata["compile"] = json.dumps(compile_config)
        state = model.get_optimizer_state()
        metadata["optimizer_iterations"] = str(state["iterations"])
        for i, slots in enumerate(state["slots"]):
            tensors.update({f"optimizer/{i:04d}/{name}": value for name, value in slots.items()})
    _write_atomic(path, tensors, metadata)


def load_model(path, compile=True):
    """Rebuild a model saved with model.save(path): architecture, weights, and (if it was compiled)
    loss, metrics and optimizer with its state, so training continues exactly where it stopped."""
    from ..random import get_state, set_state

    metadata, tensors = _read(path, "model")
    try:
        config = json.loads(metadata["config"])
    except (KeyError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} has no readable model config: {err}") from None
    rng = get_state()
    try:  # building draws initial weights; loading must not move the user's random stream
        model = _model_from_config(config)
        if not model.built and "build_input_shape" in metadata:
            shape = json.loads(metadata["build_input_shape"])
            model.build(tuple(shape) if shape and not isinstance(shape[0], list) else [tuple(s) for s in shape])
    except (KeyError, TypeError) as err:
        raise ModelFileError(f"{path} has an invalid model config: {err}") from None
    finally:
        set_state(rng)
    model.set_weights(_weight_arrays(model, tensors, path))
    if compile and "compile" in metadata:
        settings = json.loads(metadata["compile"])
        model.compile(optimizer=optimizers.get(settings["optimizer"]),
                      loss=tree.map_structure(losses.get, settings["loss"], is_leaf=_is_loss_config),
                      metrics=settings["metrics"], loss_weights=settings.get("loss_weights"),
                      weighted_metrics=settings.get("weighted_metrics"))
        slots = _optimizer_slots(tensors)
        if "optimizer_iterations" in metadata:  # SGD without momentum has no slots, but its step count matters
            try:
                model.set_optimizer_state({"iterations": int(metadata["optimizer_iterations"]), "slots": slots})
            except ValueError as err:
                raise ModelFileError(f"{path}: {err}") from None
    return model


def _model_from_config(config):
    from ..layers import LAYERS
    from .model import Model

    cls = LAYERS.get(config.get("registered_name")) or LAYERS.get(config.get("class_name"))
    if cls is None or not issubclass(cls, Model):
        raise ModelFileError(f"unknown model class {config.get('class_name')!r}; a custom model class must be "
                             f"defined (and so registered) before loading")
    return cls.from_config(config["config"])


def _is_loss_config(value):
    return isinstance(value, dict) and "class_name" in value


def _saveable_metrics(metrics):
    """The metrics given to compile() that a file can name (strings; custom callables are not saved)."""
    if isinstance(metrics, dict):
        return {k: _saveable_metrics(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [_saveable_metrics(m) for m in metrics if isinstance(m, (str, list, tuple, dict))]
    return metrics if isinstance(metrics, str) else None


def _optimizer_slots(tensors):
    slots = {}
    for key, value in tensors.items():
        if key.startswith("optimizer/"):
            _, index, name = key.split("/")
            slots.setdefault(int(index), {})[name] = value
    return [slots[i] for i in sorted(slots)]
