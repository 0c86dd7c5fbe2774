"""Keras 3 `.keras` files, both ways: `load_keras(path)` rebuilds a model Keras saved, `save_keras(model,
path)` writes one Keras loads.

A `.keras` file is a zip of `config.json` (the architecture and compile settings, Keras's serialization),
`metadata.json` and `model.weights.h5` (HDF5: each layer's variables under `layers/<name>/vars/<i>`, where
`<name>` is the snake_case class name made unique within its model in the order of `model.layers`, and
the optimizer's under `optimizer/vars/<i>`), and, for an adapted StringLookup, IntegerLookup or
TextVectorization, `assets/<its path>/vocabulary.txt` (one term per line; its tf_idf weights are the
variable `idf_weights`). Weights are read and written with h5py (the `keras` extra).

Such a file is untrusted input, read with the rules of our own format (models/saving.py):
- nothing is unpickled, imported or called by name: every class is looked up in our registries (layers,
  losses, metrics, optimizers, initializers, regularizers, constraints) or in `custom_objects`. A `Lambda` layer holds
  Python bytecode and is refused; so is any keras.ops operation in a functional graph, but those that
  record the mask of an Embedding(mask_zero=True) or a Masking layer, which our layers make themselves.
- sizes are checked before reading: the zip's members (declared and actual sizes, compression ratio), the
  JSON's nesting depth, every integer in a layer config, and each HDF5 dataset's dtype (plain numbers) and
  shape (the weight it fills) before its bytes are read. HDF5 links to other files, external storage and
  virtual datasets are refused, so a file can never make us read another file.
- the whole model is built and every array is checked before any is assigned.
"""
import datetime
import inspect
import io
import json
import os
import re
import warnings
import zipfile

import numpy as np

from . import constraints, losses, metrics, optimizers, tree
from .backend import dtype_name
from .files import atomic_write
from .models.saving import ModelFileError, checked_metric_config, saveable_metrics, user_objects
from .object_registration import (
    CustomObjectScope,
    _checked_objects,
    builtin_class,
    current_scope,
    custom_instance,
    lookup,
)

KERAS_VERSION = "3.15.1"  # the Keras whose layout save_keras writes (metadata.json)
MAX_MEMBER_BYTES = 4 << 30  # model.weights.h5
MAX_JSON_BYTES = 64 << 20  # config.json, metadata.json
MAX_RATIO = 200  # uncompressed / compressed size of a deflated member (a zip bomb is far above)
MAX_DEPTH = 32  # nested models / wrapped layers
MAX_JSON_DEPTH = 200
MAX_INT = 1 << 24  # any integer in a layer config (units, filters, shapes): a config cannot ask for petabytes
MAX_MEMBERS = 1000
MAX_VARS = 10_000  # datasets in one `vars` group
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# options of ours Keras's class does not take, left out of the files we write when they hold these values
_NOT_IN_KERAS = {"SpatialDropout1D": {"trainable": True}, "SpatialDropout2D": {"trainable": True},
                 "SpatialDropout3D": {"trainable": True}, "Discretization": {"trainable": True}}

# Keras options our layers do not take, dropped when they hold these harmless values
_IGNORED_OPTIONS = {"seed", "autocast", "ragged", "optional", "sparse", "quantization_config", "lora_alpha",
                    "use_cudnn", "unroll", "input_length"}
# layers whose variables Keras keeps in sublayers ours do not have: the groups, in Keras's weight order
_SUBGROUPS = {"LSTM": ("cell",), "GRU": ("cell",), "SimpleRNN": ("cell",), "ConvLSTM1D": ("cell",),
              "ConvLSTM2D": ("cell",), "ConvLSTM3D": ("cell",), "SeparableConv1D": ("",),
              "SeparableConv2D": ("",),
              "MultiHeadAttention": ("query_dense", "key_dense", "value_dense", "output_dense"),
              "GroupQueryAttention": ("_query_dense", "_key_dense", "_value_dense", "_output_dense")}
# Keras's classes exported under another name: model.weights.h5 names a layer by its class's own name
_CLASS_BEHIND = {"GroupQueryAttention": "GroupedQueryAttention"}
# Keras's optimizer variables after `iterations` and `learning_rate`: groups of slot names, each group
# interleaved weight by weight (Adam: m₀ v₀ m₁ v₁ ...; RMSprop: all velocities, then all momentums)
_OPTIMIZER_LAYOUT = {
    "SGD": [["momentum"]], "Momentum": [["momentum"]], "Adagrad": [["accumulator"]], "Lion": [["momentum"]],
    "Adam": [["momentum", "velocity"], ["velocity_hat"]], "AdamW": [["momentum", "velocity"], ["velocity_hat"]],
    "Adadelta": [["accumulated_grad", "accumulated_delta_var"]], "Adafactor": [["r", "c", "velocity"]],
    "Adamax": [["momentum", "norm"]], "Ftrl": [["accumulator", "linear"]], "Lamb": [["momentum", "velocity"]],
    "Nadam": [["momentum", "velocity"]], "ScheduleFreeAdamW": [["momentum", "velocity"]],
    "RMSprop": [["velocity"], ["momentum"], ["average_gradient"]],
}


class KerasFileError(ModelFileError):
    """A file that is not a readable Keras 3 `.keras` model, or holds something scratchgrad cannot rebuild."""


def is_keras_file(path):
    """Whether `path` looks like a `.keras` zip (its first bytes), for load_model to dispatch on."""
    try:
        with open(path, "rb") as f:
            return f.read(4) in _ZIP_MAGIC
    except OSError:
        return False


# ======================================================================================================
# reading
# ======================================================================================================
def load_keras(path, compile=True, custom_objects=None):
    """A scratchgrad model from a `.keras` file saved by Keras 3 (`model.save("x.keras")`): the
    architecture, the weights and, when it was compiled (and `compile`), loss, metrics and optimizer with
    its state. Custom layers must be defined (registered) first, or given as `custom_objects`."""
    path = os.fspath(path)
    members = _read_zip(path)
    config = _parse_json(members["config.json"], path, "config.json")
    custom_objects = _checked_objects(custom_objects, "load_keras")
    with CustomObjectScope({**current_scope(), **custom_objects}):  # what every name in the file is looked up in
        return _load(path, members, config, compile, custom_objects)


def _load(path, members, config, compile, custom_objects):
    from .random import get_state, set_state

    rng = get_state()
    try:  # building draws initial weights; loading must not move the user's random stream
        model = model_from_keras_config(config, custom_objects, path)
    finally:
        set_state(rng)
    with _open_h5(members["model.weights.h5"], path) as h5:
        assignments = _weight_assignments(model, config, h5, path)
        _load_vocabularies(model, config, members["assets"], h5, path)
        state = _optimizer_from_file(model, config, h5, path) if compile and config.get("compile_config") else None
    for tensor, array in assignments:
        tensor.data[...] = array
    if state is not None:
        _compile(model, config["compile_config"], path)
        optimizer_state, learning_rate = state
        model.set_optimizer_state(optimizer_state)
        if learning_rate is not None and not callable(model.optimizer._learning_rate):
            model.optimizer.learning_rate = learning_rate
    elif compile and config.get("compile_config"):
        _compile(model, config["compile_config"], path)
    return model


def model_from_keras_config(config, custom_objects=None, where="the model config"):
    """A model with fresh weights from Keras 3's description of one (config.json of a `.keras` file, or
    Keras's `model.to_json()`): its layers, dtype policies and options translated as for a file."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise KerasFileError(f"{where}: a Keras model config is an object with class_name and config, got "
                             f"{_short(config)}")
    custom_objects = _checked_objects(custom_objects, "load_keras")
    with CustomObjectScope({**current_scope(), **custom_objects}):  # what initializers & co. look names up in
        return _build_model(_translate_spec(config, custom_objects, where, 0), config, custom_objects, where)


def _read_zip(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"no Keras file at {path}")
    if not is_keras_file(path):
        raise KerasFileError(f"{path} is not a Keras .keras file: it is not a zip archive")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise KerasFileError(f"{path} is not a readable zip archive: {err}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise KerasFileError(f"{path} holds {len(infos)} zip members; a .keras file has a handful")
        names = {info.filename: info for info in infos}
        if "model.weights.json" in names:
            raise KerasFileError(f"{path} holds sharded weights (model.weights.json); save it unsharded")
        missing = [n for n in ("config.json", "model.weights.h5") if n not in names]
        if missing:
            raise KerasFileError(f"{path} is a zip but not a Keras .keras file: it has no {', '.join(missing)}")
        assets = [n for n in names if n.startswith("assets/") and not n.endswith("/")]
        others = [n for n in assets if not n.endswith("/vocabulary.txt")]
        if others:
            raise KerasFileError(f"{path} holds assets other than lookup vocabularies ({_short(others)}), which "
                                 f"scratchgrad does not read from .keras files")
        out = {"assets": {n: _read_member(archive, names[n], MAX_JSON_BYTES, path) for n in assets}}
        for name, limit in (("config.json", MAX_JSON_BYTES), ("metadata.json", MAX_JSON_BYTES),
                            ("model.weights.h5", MAX_MEMBER_BYTES)):
            if name in names:
                out[name] = _read_member(archive, names[name], limit, path)
        return out


def _read_member(archive, info, limit, path):
    if info.flag_bits & 0x1:
        raise KerasFileError(f"{path}: {info.filename} is encrypted")
    if info.file_size > limit:
        raise KerasFileError(f"{path}: {info.filename} declares {info.file_size:,} bytes, more than the "
                             f"{limit:,} allowed")
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > max(1 << 20, MAX_RATIO * info.compress_size):
        raise KerasFileError(f"{path}: {info.filename} expands {info.file_size:,} bytes from "
                             f"{info.compress_size:,}: refused as a zip bomb")
    try:
        with archive.open(info) as f:
            data = f.read(info.file_size + 1)  # never more than declared (+1 to notice a lie)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as err:
        raise KerasFileError(f"{path}: {info.filename} cannot be read: {err}") from None
    if len(data) != info.file_size:
        raise KerasFileError(f"{path}: {info.filename} holds {len(data)} bytes but declares {info.file_size}")
    return data


def _parse_json(raw, path, what):
    try:
        value = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise KerasFileError(f"{path}: {what} is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise KerasFileError(f"{path}: {what} is not valid JSON: {err}") from None
    _check_depth(value, path, what)
    return value


def _check_depth(value, path, what):
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise KerasFileError(f"{path}: {what} is nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]


# ---- config: Keras's -> ours -------------------------------------------------------------------------
def _layer_class(spec, custom_objects, path):
    from .layers import LAYERS, Layer

    class_name, registered = spec.get("class_name"), spec.get("registered_name")
    if not isinstance(class_name, str) or (registered is not None and not isinstance(registered, str)):
        raise KerasFileError(f"{path}: a layer config has no class name: {_short(spec)}")
    module = spec.get("module") or ""
    if class_name == "Lambda" or registered == "Lambda":
        raise KerasFileError(f"{path} holds a Lambda layer ({_name_in(spec)}): Keras stores its Python bytecode, "
                             f"which scratchgrad never runs from a file. Rebuild the model in code, or replace "
                             f"the Lambda by a registered custom layer")
    if not isinstance(module, str) or _is_operation(spec):
        raise KerasFileError(f"{path}: the functional graph calls the Keras operation {class_name!r} "
                             f"({module}); scratchgrad reads Keras graphs made of layers only")
    # the user's objects first (custom_objects, custom_object_scope, register_keras_serializable), by name only
    cls = lookup(registered, custom_objects) or lookup(class_name, custom_objects) or \
        (LAYERS.get(registered) if registered else None)
    if cls is None and (not registered or registered == class_name or _is_keras_module(module)):
        cls = LAYERS.get(class_name)
    if cls is None:
        known = ", ".join(sorted(k for k in LAYERS if ">" not in k))
        raise KerasFileError(f"{path}: unknown layer class {registered or class_name!r}: define (register) it "
                             f"before loading, or pass it in custom_objects; known: {known}")
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise KerasFileError(f"{path}: layer class {registered or class_name!r} must mean a Layer subclass, but "
                             f"means {cls!r:.80}")
    return cls


def _is_keras_module(module):
    return module == "keras" or module.startswith("keras.")


def _name_in(spec):
    config = spec.get("config")
    return repr(config.get("name")) if isinstance(config, dict) else "unnamed"


def _short(value):
    text = json.dumps(value)[:120] if not isinstance(value, str) else value[:120]
    return text


def _translate_spec(spec, custom_objects, path, depth):
    """A layer (or model) spec of a Keras config in the form our `from_config` takes."""
    from .layers import InputLayer
    from .models import Functional, Sequential

    if depth > MAX_DEPTH:
        raise KerasFileError(f"{path}: layers are nested more than {MAX_DEPTH} levels deep")
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise KerasFileError(f"{path}: a layer config must be an object with class_name and config, got "
                             f"{_short(spec)}")
    cls = _layer_class(spec, custom_objects, path)
    config = spec["config"]
    if issubclass(cls, Sequential):
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise KerasFileError(f"{path}: the Sequential config {_name_in(spec)} has no list of layers")
        out = {"name": config.get("name"), "trainable": bool(config.get("trainable", True)),
               "layers": [_translate_spec(s, custom_objects, path, depth + 1) for s in layers]}
        shape = config.get("build_input_shape") or (spec.get("build_config") or {}).get("input_shape")
        if _is_shape_list(shape) and not (layers and layers[0].get("class_name") == "InputLayer"):
            out["input_shape"] = shape[1:]
        _check_ints(out, path)
    elif issubclass(cls, Functional) or "input_layers" in config:
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise KerasFileError(f"{path}: the functional config {_name_in(spec)} has no list of layers")
        layers = _without_mask_ops(layers, config.get("output_layers"), path)
        translated = []
        for s in layers:
            t = _translate_spec(s, custom_objects, path, depth + 1)
            if not isinstance(s.get("name"), str) or not isinstance(s.get("inbound_nodes", []), list):
                raise KerasFileError(f"{path}: a functional layer entry has no name or inbound nodes")
            nodes = [_node_kwargs(node, t["_class"], path) for node in s.get("inbound_nodes", [])]
            translated.append({**t, "name": s["name"], "inbound_nodes": nodes})
        # Keras counts a nested functional model's own construction as its node 0: ours has no such node
        nested = {t["name"] for t in translated if "input_layers" in t["config"]}
        for t in translated:
            t["inbound_nodes"] = _shift_history(t["inbound_nodes"], nested, -1, path)
        out = {"name": config.get("name"), "trainable": bool(config.get("trainable", True)), "layers": translated,
               "input_layers": _shift_history(_history(config.get("input_layers"), path), nested, -1, path),
               "output_layers": _shift_history(_history(config.get("output_layers"), path), nested, -1, path)}
    elif issubclass(cls, InputLayer):
        out = _filter_options(cls, _translate_values(config, custom_objects, path, depth), path, spec)
        _check_ints(out, path)
    else:
        _check_wrapped(cls, config, path, spec)
        values = _translate_values(config, custom_objects, path, depth)
        if isinstance(values.get("axis"), list) and len(values["axis"]) == 1 and spec["class_name"] in (
                "LayerNormalization", "Normalization", "BatchNormalization"):
            values["axis"] = _last_axis(values["axis"][0], spec.get("build_config"))
        out = _filter_options(cls, values, path, spec)
        _check_ints(out, path)
    result = {"class_name": spec["class_name"], "config": out}
    if spec.get("registered_name") and spec["registered_name"] != spec["class_name"]:
        result["registered_name"] = spec["registered_name"]
    result["_class"] = cls
    if isinstance(spec.get("build_config"), dict):
        result["build_config"] = spec["build_config"]
    return result


def _without_mask_ops(layers, outputs, path):
    """A functional graph's layers without the keras.ops nodes that only compute masks, and without the
    `mask=` arguments that pass them on. Keras records the masks of Embedding(mask_zero=True) (NotEqual
    of its input and 0) and of Masking (NotEqual of its input and mask_value, then Any over the last
    axis) as operations handed as `mask=` to the layers after it; our layers pass those masks on
    themselves. An operation whose result is data (a layer's input, a model output, or what such an
    operation reads) stays, and _layer_class refuses it as any other; a mask= that is not the mask the
    called layer's input carries (a mask made by hand, or by another layer) is refused here."""
    specs = [s for s in layers if isinstance(s, dict) and isinstance(s.get("name"), str)]
    ops = {s["name"]: s for s in specs if _is_operation(s)}
    if not ops:
        return layers
    outputs = _history(outputs, path)
    data = {t[0] for t in (outputs.values() if isinstance(outputs, dict) else outputs)}
    for s in specs:
        if s["name"] not in ops:
            data |= _named_tensors([_without_mask(node) for node in _nodes(s)])
    pending = data & ops.keys()
    while pending:  # what a data operation reads is data too
        pending = _named_tensors([_nodes(ops[name]) for name in pending]) & ops.keys() - data
        data |= pending
    mask_only = ops.keys() - data
    _check_carried(specs, ops, mask_only, path)
    dropped = {id(s) for s in specs if s["name"] in mask_only}
    return [{**s, "inbound_nodes": [_without_mask(n, mask_only) for n in _nodes(s)]} if isinstance(s, dict) else s
            for s in layers if id(s) not in dropped]


def _check_carried(specs, ops, mask_only, path):
    """Refuse unless each mask= made by the operations `mask_only` is the mask its layer's input carries:
    the output of the Embedding or Masking that the operations record, or of a layer that was itself
    called with that mask on an input that carried it (Keras passes masks along unchanged)."""
    carried, used = {}, set()  # (layer, node) whose output carries a mask -> the operation; operations used
    records = _mask_records(ops)
    for s in specs:
        if s["name"] in ops:
            continue
        for i, node in enumerate(_nodes(s)):
            args = node.get("args") if isinstance(node, dict) else None
            first = [_key(h[:2]) for h in _histories(args[0])] if isinstance(args, list) and args else []
            mask = _own_mask(s, first, records)
            kwargs = node.get("kwargs") if isinstance(node, dict) else None
            given = _named_tensors(kwargs.get("mask")) & mask_only if isinstance(kwargs, dict) else set()
            if given:
                if len(given) != 1 or len(first) != 1 or carried.get(first[0]) not in given:
                    name = sorted(given)[0]
                    raise KerasFileError(f"{path}: layer {s['name']!r} is called with a mask made by the Keras "
                                         f"operation {ops[name].get('class_name')!r} ({name!r}), which is not the mask "
                                         f"of an Embedding(mask_zero=True) or a Masking layer before it; scratchgrad "
                                         f"reads Keras graphs made of layers only")
                mask = carried[first[0]]
            if mask is not None:
                carried[_key([s["name"], i])] = mask
                used |= {mask} | _named_tensors(_nodes(ops[mask]))
    unused = sorted(mask_only - used)
    if unused:
        raise KerasFileError(f"{path}: the functional graph computes a mask with the Keras operation "
                             f"{ops[unused[0]].get('class_name')!r} ({unused[0]!r}), which is not the mask of an "
                             f"Embedding(mask_zero=True) or a Masking layer; scratchgrad reads Keras graphs made of "
                             f"layers only")


def _own_mask(spec, first, records):
    """The operation recording the mask an Embedding(mask_zero=True) or Masking call makes of its input
    (`first`, the input's [layer, node] keys), or None. `records` is _mask_records's."""
    config = spec.get("config") if isinstance(spec.get("config"), dict) else {}
    if spec.get("class_name") == "Embedding" and config.get("mask_zero") is True:
        value, wrapped = 0, False
    elif spec.get("class_name") == "Masking":
        value, wrapped = config.get("mask_value", 0.0), True
    else:
        return None
    not_equals, anys = records
    for name, compared in not_equals.get(first[0], ()) if len(first) == 1 else ():
        if compared == value:
            return anys.get(name) if wrapped else name
    return None


def _mask_records(ops):
    """The operations that can record a mask, indexed once: {input key: [(NotEqual, the value compared)]}
    and {NotEqual: the Any(axis=-1) that reads only it}."""
    not_equals, anys = {}, {}
    for name, op in ops.items():
        args, config = _only_args(op), op.get("config") if isinstance(op.get("config"), dict) else {}
        if op.get("class_name") == "NotEqual" and args and len(args) == 2 and isinstance(args[1], (int, float)) \
                and not isinstance(args[1], bool):
            read = [_key(h[:2]) for h in _histories(args[0])]
            if len(read) == 1:
                not_equals.setdefault(read[0], []).append((name, args[1]))
        elif op.get("class_name") == "Any" and config.get("axis") == -1 and not config.get("keepdims") and args \
                and len(args) == 1:
            read = [h[0] for h in _histories(args[0])]
            if len(read) == 1:
                anys[read[0]] = name
    return not_equals, anys


def _only_args(spec):
    """The positional arguments of an operation called once, None otherwise."""
    nodes = _nodes(spec)
    args = nodes[0].get("args") if len(nodes) == 1 and isinstance(nodes[0], dict) else None
    return args if isinstance(args, list) else None


def _key(history):
    return json.dumps(history)


def _nodes(spec):
    nodes = spec.get("inbound_nodes")
    return nodes if isinstance(nodes, list) else []


def _without_mask(node, made_by=None):
    """A call's recorded arguments without its mask= (only one made by the operations `made_by`, if given)."""
    kwargs = node.get("kwargs") if isinstance(node, dict) else None
    if not isinstance(kwargs, dict) or "mask" not in kwargs or (
            made_by is not None and not _named_tensors(kwargs["mask"]) & made_by):
        return node
    return {**node, "kwargs": {k: v for k, v in kwargs.items() if k != "mask"}}


def _is_operation(spec):
    module = spec.get("module")
    return isinstance(module, str) and module.startswith(("keras.src.ops", "keras.ops"))


def _named_tensors(value):
    """The layer names of the tensors a node's arguments refer to."""
    return {leaf[0] for leaf in _histories(value)}


def _histories(value, depth=0):
    if depth > MAX_JSON_DEPTH:
        return
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__" and isinstance(value.get("config"), dict):
            history = value["config"].get("keras_history")
            if isinstance(history, list) and history and isinstance(history[0], str):
                yield history
            return
        for v in value.values():
            yield from _histories(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from _histories(v, depth + 1)


def _shift_history(value, names, delta, path, depth=0):
    """`value` with the node index of every [layer, node, tensor] reference to a layer in `names` moved
    by `delta` (tensor references in inbound nodes, and the model's input/output triples)."""
    if depth > MAX_JSON_DEPTH:
        raise KerasFileError(f"{path}: the functional config is nested too deeply")
    if not names:
        return value
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__" and isinstance(value.get("config"), dict):
            history = value["config"].get("keras_history")
            return {**value, "config": {**value["config"], "keras_history": _shift_history(
                history, names, delta, path, depth + 1)}}
        return {k: _shift_history(v, names, delta, path, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) == 3 and isinstance(value[0], str) and isinstance(value[1], int) and value[0] in names:
            if value[1] + delta < 0:
                raise KerasFileError(f"{path}: a reference to {value[0]!r} names node {value[1]}")
            return [value[0], value[1] + delta, value[2]]
        return [_shift_history(v, names, delta, path, depth + 1) for v in value]
    return value


def _last_axis(axis, build_config):
    """-1 for the last axis however Keras wrote it (LayerNormalization's [2] on (None, 3, 4), say)."""
    shape = (build_config or {}).get("input_shape")
    if isinstance(axis, int) and _is_shape_list(shape) and axis == len(shape) - 1:
        return -1
    return axis


def _node_kwargs(node, cls, path):
    """A call's recorded options, without the `mask=None` Keras records for calls that take none."""
    if not isinstance(node, dict) or not isinstance(node.get("kwargs", {}), dict):
        raise KerasFileError(f"{path}: an inbound node is not an object with args and kwargs")
    params = getattr(cls, "_call_params", ())
    # Keras records a call's default training=True, but the model's own `training` overrides it
    kwargs = {k: v for k, v in node.get("kwargs", {}).items() if (v is not None or k in params) and k != "training"}
    return {**node, "kwargs": kwargs}


def _history(spec, path):
    """input_layers / output_layers: one [name, node, tensor] triple, a list of them, or a dict of them."""
    def triple(t):
        if not (isinstance(t, list) and len(t) == 3 and isinstance(t[0], str) and all(
                isinstance(i, int) and 0 <= i < MAX_INT for i in t[1:])):
            raise KerasFileError(f"{path}: a model input or output is not [layer, node, tensor]: {_short(t)}")
        return t
    if isinstance(spec, dict):
        return {str(k): triple(v) for k, v in spec.items()}
    if isinstance(spec, list) and spec and isinstance(spec[0], str):
        return [triple(spec)]
    if isinstance(spec, list) and spec:
        return [triple(t) for t in spec]
    raise KerasFileError(f"{path}: the functional config names no model inputs or outputs")


def _is_shape_list(shape):
    return isinstance(shape, list) and len(shape) >= 1 and all(d is None or isinstance(d, int) for d in shape)


def _check_ints(value, path):
    for leaf in _leaves(value, skip=_VALUES):
        if isinstance(leaf, (int, float)) and not isinstance(leaf, bool) and abs(leaf) > MAX_INT \
                and float(leaf).is_integer():
            raise KerasFileError(f"{path}: a layer config holds the size {leaf:,}, above the {MAX_INT:,} allowed")


# options that hold values, not sizes: a seed (Keras writes one drawn at random, about 10⁹, for its image
# augmentation layers), a hash salt, the terms of a vocabulary (ids), bin boundaries, statistics
_VALUES = {"seed", "salt", "vocabulary", "mask_token", "oov_token", "mask_value", "bin_boundaries", "idf_weights",
           "mean", "variance"}


def _leaves(value, skip=()):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += [v for k, v in item.items() if k != "_class" and k not in skip]
        elif isinstance(item, (list, tuple)):
            stack += list(item)
        else:
            yield item


def _check_wrapped(cls, config, path, spec):
    """The layers a wrapper's config holds must be layer configs (a list of them for StackedRNNCells'
    cells): anything else would reach from_config and fail there with an AttributeError naming no file."""
    from .layers import RNN, Bidirectional, StackedRNNCells, TimeDistributed

    wrapped = {RNN: ("cell",), Bidirectional: ("layer", "backward_layer"), TimeDistributed: ("layer",)}
    for wrapper, keys in wrapped.items():
        for key in keys if issubclass(cls, wrapper) else ():
            value = config.get(key)
            if not isinstance(value, dict) and not (key == "backward_layer" and value is None):
                raise KerasFileError(f"{path}: the {key} of {cls.__name__} {_name_in(spec)} must be a layer config "
                                     f"(an object with class_name and config), got {_short(value)}")
    if issubclass(cls, StackedRNNCells) and not isinstance(config.get("cells"), list):
        raise KerasFileError(f"{path}: the cells of StackedRNNCells {_name_in(spec)} must be a list of layer "
                             f"configs, got {_short(config.get('cells'))}")


def _translate_values(config, custom_objects, path, depth):
    """A layer's options: dtype policies to dtype names, initializer/regularizer/activation dicts to
    ours, wrapped layers (Bidirectional, TimeDistributed) translated in turn."""
    out = {}
    for key, value in config.items():
        if key == "dtype":
            value = _dtype_name(value, path)
        elif key in ("layer", "backward_layer", "cell") and isinstance(value, dict):
            value = _wrapped_spec(value, custom_objects, path, depth)
        elif key == "cells" and isinstance(value, list):  # StackedRNNCells
            value = [_wrapped_spec(cell, custom_objects, path, depth) for cell in value]
        elif key.endswith("activation") and isinstance(value, dict):
            value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
        elif key.endswith(("_initializer", "_regularizer", "_constraint")) and isinstance(value, dict):
            value = _object_dict(value, key, path, config)
        out[key] = value
    return out


def _wrapped_spec(spec, custom_objects, path, depth):
    """A layer inside a layer's config (Bidirectional's layer, RNN's cell) in our form."""
    spec = _translate_spec(spec, custom_objects, path, depth + 1)
    spec.pop("_class", None)
    return spec


def _dtype_name(value, path):
    if isinstance(value, dict):
        inner = value.get("config")
        value = inner.get("name") if isinstance(inner, dict) else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise KerasFileError(f"{path}: a dtype must be a name, got {_short(value)}")
    if value.startswith("mixed_"):
        return "float32"  # the policy's variables are float32; we compute in float32 too
    if value == "string":
        return "str"  # Keras's text: NumPy's str arrays here
    if value not in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"):
        raise KerasFileError(f"{path}: dtype {value!r} is not supported")
    return value


def _object_dict(value, key, path, layer_config):
    """An initializer, regularizer or constraint dict as ours ({"class_name", "config"}), options we lack
    removed; a custom class (registered, or in custom_objects) built from its config. A constraint we
    cannot build is dropped with a warning: the weights in the file are what it made."""
    from . import initializers, regularizers

    kind = key.split("_")[-1]
    base, registry = {"initializer": (initializers.Initializer, initializers.CLASSES),
                      "regularizer": (regularizers.Regularizer, regularizers._CLASSES),
                      "constraint": (constraints.Constraint, constraints.CLASSES)}[kind]
    try:
        custom = custom_instance(value, base, kind)
    except (TypeError, ValueError) as err:  # a custom class or function we lack, or its config refused
        if kind == "constraint":
            return _drop_constraint(path, key, layer_config, str(err))
        raise KerasFileError(f"{path}: {key} of layer {layer_config.get('name')!r}: {err}") from None
    if custom is not None:
        return custom
    name = value.get("class_name")
    cls = registry.get(name) if isinstance(name, str) else None
    if cls is None and kind == "constraint":
        return _drop_constraint(path, key, layer_config, f"scratchgrad has no constraint {_short(name)}")
    if cls is None:
        raise KerasFileError(f"{path}: unknown {kind} {name!r}: a custom {kind} class must be registered with "
                             f"keras.saving.register_keras_serializable or passed in custom_objects")
    config = value.get("config") if isinstance(value.get("config"), dict) else {}
    options = {k: v for k, v in _filter_options(cls, config, path, value).items() if v is not None}
    # by name when it has no options: names survive every layer's get_config/from_config round trip
    if key.endswith("_initializer"):
        try:
            defaults = {k: v for k, v in cls().get_config().items() if v is not None}
        except TypeError:
            defaults = None
        if not options or options == defaults:
            return name
    return cls.from_config(options)


def _accepted(cls):
    from .layers import Layer

    params = set()
    for klass in cls.__mro__:  # each __init__ passing **kwargs on to its base's
        if "__init__" not in klass.__dict__ or klass is object:
            continue
        try:
            signature = inspect.signature(klass.__dict__["__init__"])
        except (TypeError, ValueError):
            break
        var_kw = False
        for p in list(signature.parameters.values())[1:]:
            if p.kind is p.VAR_KEYWORD:
                var_kw = True
            elif p.kind is not p.VAR_POSITIONAL:
                params.add(p.name)
        if not var_kw:
            break
    if issubclass(cls, Layer):
        params |= {"batch_input_shape", "input_length"}
    return params


def _harmless(key, value, config):
    """Whether dropping a Keras option we lack leaves the loaded model the same."""
    if key == "quantization_config":
        return value is None
    if value is None or value is False or value == {} or value == [] or key in _IGNORED_OPTIONS:
        return True
    if key.endswith("_initializer"):
        return True  # only fresh weights use it; every weight comes from the file
    if key == "data_format":
        return value == "channels_last"
    if key == "renorm_momentum":
        return not config.get("renorm")
    return False


def _drop_constraint(path, key, config, why):
    """Warns that a layer's constraint is dropped; None (no constraint) stands in its place."""
    warnings.warn(f"{path}: the weight constraint {key} of layer {config.get('name')!r} is dropped ({why}; "
                  f"predictions are the same, further training is unconstrained)", stacklevel=4)


def _filter_options(cls, config, path, spec):
    """The options `cls` takes; a Keras option it lacks is dropped when it holds a harmless value (None,
    False, a seed), and refused otherwise, naming it."""
    accepted = _accepted(cls)
    out = {}
    for key, value in config.items():
        if key in accepted:
            out[key] = value
        elif _harmless(key, value, config):
            continue
        elif key.endswith("_constraint"):
            _drop_constraint(path, key, config, f"scratchgrad's {cls.__name__} takes no {key}")
        else:
            raise KerasFileError(f"{path}: {spec.get('class_name')} {_name_in(spec)} has the Keras option "
                                 f"{key}={_short(value)}, which scratchgrad's {cls.__name__} does not support")
    return out


def _build_model(model_config, raw, custom_objects, path):
    from .models import Model

    cls = model_config.pop("_class")
    _strip_classes(model_config)
    if not issubclass(cls, Model):
        raise KerasFileError(f"{path}: config.json holds a {raw.get('class_name')!r}, not a model")
    try:
        model = cls.from_config(model_config["config"], custom_objects=custom_objects) \
            if "custom_objects" in inspect.signature(cls.from_config).parameters else cls.from_config(
                model_config["config"])
        if not model.built:
            shape = (raw.get("build_config") or {}).get("input_shape")
            if shape is None:
                raise KerasFileError(f"{path}: the model has no input shape to build it from")
            model.build(tuple(shape) if _is_shape_list(shape) else [tuple(s) for s in shape])
    except KerasFileError:
        raise
    # AttributeError too: a value of the wrong type (a string where a flag belongs) can fail deep in building
    except (KeyError, TypeError, ValueError, IndexError, NotImplementedError, AttributeError) as err:
        raise KerasFileError(f"{path}: the model config cannot be rebuilt: {type(err).__name__}: {err}") from None
    return model


def _strip_classes(value):
    for item in _dicts(value):
        item.pop("_class", None)


def _dicts(value):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack += list(item.values())
        elif isinstance(item, list):
            stack += item


# ---- weights -------------------------------------------------------------------------------------------
class _H5:
    def __init__(self, raw, path):
        import h5py

        self.path = path
        try:
            self.file = h5py.File(io.BytesIO(raw), "r")
        except (OSError, ValueError) as err:
            raise KerasFileError(f"{path}: model.weights.h5 is not a readable HDF5 file: {err}") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def group(self, where):
        """The group at `where` (hard links only), or None when there is none."""
        import h5py

        node = self.file
        for part in where.split("/"):
            link = node.get(part, getlink=True)
            if link is None:
                return None
            if not isinstance(link, h5py.HardLink):
                raise KerasFileError(f"{self.path}: model.weights.h5 links {where} elsewhere "
                                     f"({type(link).__name__}); refused")
            node = node[part]
            if not isinstance(node, h5py.Group):
                raise KerasFileError(f"{self.path}: model.weights.h5 has a dataset where group {where} belongs")
        return node

    def arrays(self, where, shapes):
        """The datasets 0..n-1 of group `where`/vars, checked against `shapes` before they are read."""
        group = self.group(f"{where}/vars" if where else "vars")
        names = [] if group is None else list(group.keys())
        if len(names) > MAX_VARS:
            raise KerasFileError(f"{self.path}: {where}/vars holds {len(names)} entries")
        if sorted(names) != sorted(str(i) for i in range(len(shapes))):
            raise KerasFileError(f"{self.path}: model.weights.h5 holds {len(names)} variables under {where}/vars; "
                                 f"the layer has {len(shapes)}")
        return [self.dataset(group, f"{where}/vars", str(i), shape) for i, shape in enumerate(shapes)]

    def dataset(self, group, where, name, shape):
        """The dataset `name` of `group` (at `where`), of `shape`; a link or anything but plain numbers is refused."""
        import h5py

        link = None if group is None else group.get(name, getlink=True)  # checked before it is followed
        if link is None:
            raise KerasFileError(f"{self.path}: model.weights.h5 has no {where}/{name}")
        if not isinstance(link, h5py.HardLink):
            raise KerasFileError(f"{self.path}: {where}/{name} links elsewhere ({type(link).__name__}); refused")
        ds = group[name]
        if not isinstance(ds, h5py.Dataset):
            raise KerasFileError(f"{self.path}: {where}/{name} is not a plain dataset")
        return self.read(ds, f"{where}/{name}", shape)

    def read(self, ds, where, shape):
        if ds.is_virtual or ds.external:
            raise KerasFileError(f"{self.path}: {where} keeps its data outside the file; refused")
        dtype = ds.dtype
        if dtype.kind not in "fiub" or dtype.itemsize > 8 or dtype.fields is not None or dtype.subdtype:
            raise KerasFileError(f"{self.path}: {where} has dtype {dtype}; weights are plain numbers")
        if tuple(ds.shape) != tuple(shape):
            raise KerasFileError(f"{self.path}: {where} has shape {tuple(ds.shape)}; the model's weight is "
                                 f"{tuple(shape)}")
        if ds.attrs.get("dtype") == "bfloat16":
            raise KerasFileError(f"{self.path}: {where} is bfloat16, which scratchgrad does not read")
        try:
            value = ds[()]
        except (OSError, ValueError, TypeError) as err:
            raise KerasFileError(f"{self.path}: {where} cannot be read: {err}") from None
        return np.asarray(value)


def _open_h5(raw, path):
    return _H5(raw, path)


def _keras_children(model, config=None):
    """(path name, layer, its model config or None) for a model's layers, as Keras names them in
    model.weights.h5: by class name, in Keras's order (a file's config's, else Keras's rule)."""
    from .layers import InputLayer
    from .models import Functional, Sequential

    if isinstance(model, Sequential):
        layers = [layer for layer in model.layers if not isinstance(layer, InputLayer)]
        specs = None if config is None else [s for s in config["layers"] if s.get("class_name") != "InputLayer"]
    elif isinstance(model, Functional):
        specs = None if config is None else [s for s in config["layers"] if not _is_operation(s)]  # mask ops
        layers = keras_layer_order(model) if specs is None else [model.get_layer(s["name"]) for s in specs]
    else:
        raise KerasFileError(f"{type(model).__name__}: only Sequential and functional models travel as .keras")
    if specs is not None and len(specs) != len(layers):
        raise KerasFileError(f"the config of model {model.name!r} lists {len(specs)} layers; it has {len(layers)}")
    used, out = {}, []
    for i, layer in enumerate(layers):
        spec = specs[i] if specs is not None else None
        class_name = spec["class_name"] if spec is not None else _keras_class_name(layer)
        sub = spec["config"] if spec is not None and "layers" in spec["config"] else None
        out.append((_unique(_snake_case(_CLASS_BEHIND.get(class_name, class_name)), used), layer, sub))
    return out


def _keras_class_name(layer):
    from .models import Functional

    cls = type(layer)
    cls = cls.__dict__.get("_functional_variant_of", cls)
    registered = cls.__dict__.get("_registered_name")
    if registered:  # "package>Name": Keras makes its class registered under that name, named Name
        return registered.split(">")[-1]
    if isinstance(layer, Functional) and cls.__name__ in ("Functional", "Model"):
        return "Functional"
    return cls.__name__


def _snake_case(name):
    """Keras's naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _own_weights(layer):
    return [w for w, t in zip(layer._weights, layer._made_trainable) if t] + \
        [w for w, t in zip(layer._weights, layer._made_trainable) if not t]


def _groups(layer, where, config=None, depth=0):
    """[(h5 group path, [our weight Tensors])] for a layer, in the order Keras lists its weights."""
    from .layers import Layer
    from .models import Functional, Sequential

    if depth > MAX_DEPTH:
        raise KerasFileError(f"layers are nested more than {MAX_DEPTH} levels deep")
    if _has_vocabulary(layer):
        return []  # no weights: its vocabulary and idf weights are read and written on their own, below
    if isinstance(layer, (Sequential, Functional)):
        out = []
        for name, sub, sub_config in _keras_children(layer, config):
            out += _groups(sub, f"{where}/layers/{name}", sub_config, depth + 1)
        return out
    cls = _keras_class_name(layer)
    if cls in _SUBGROUPS:
        parts = _SUBGROUPS[cls]
        weights = layer.weights
        if cls in ("MultiHeadAttention", "GroupQueryAttention"):  # a kernel, then a bias where used, per part
            per = 2 if layer.use_bias else 1
            return [(f"{where}/{p}", weights[i * per:(i + 1) * per]) for i, p in enumerate(parts)]
        return [(f"{where}/{parts[0]}" if parts[0] else where, weights)]
    if cls == "Normalization":  # Keras keeps no variables for a given mean and variance; adapted: and a count
        if layer.given is not None:
            return [(where, [_Kept(layer.mean), _Kept(layer.variance)])]
        return [(where, [_Reshaped(layer.mean, (layer.mean.shape[layer.axis],)),
                         _Reshaped(layer.variance, (layer.variance.shape[layer.axis],)), _Extra((), 0)])]
    out = [(where, _own_weights(layer))]
    attributes = sorted((k for k in vars(layer) if not k.startswith("__")), key=lambda k: "~" + k if k.startswith("_")
                        else k)
    seen = {id(layer)}
    for attr in attributes:
        value = getattr(layer, attr)
        if isinstance(value, Layer) and id(value) not in seen:
            seen.add(id(value))
            out += _groups(value, f"{where}/{attr}", None, depth + 1)
        elif isinstance(value, (list, tuple, dict)):
            items = list(value.values()) if isinstance(value, dict) else list(value)
            used = {}
            for item in items:
                if isinstance(item, Layer) and id(item) not in seen:
                    seen.add(id(item))
                    out += _groups(item, f"{where}/{attr}/{_unique(_snake_case(type(item).__name__), used)}", None,
                                   depth + 1)
    return out


class _Reshaped:
    """One of our weights that Keras keeps in another shape of the same size."""

    def __init__(self, tensor, shape):
        self.tensor, self.shape = tensor, tuple(shape)


class _Extra:
    """A Keras variable we have no weight for (Normalization's count): skipped on reading, written as `value`."""

    def __init__(self, shape, value):
        self.shape, self.value = tuple(shape), value


class _Kept:
    """One of our weights Keras rebuilds from the config (a given Normalization mean): not in the file."""

    def __init__(self, tensor):
        self.tensor = tensor


def _in_file(entries):
    return [e for e in entries if not isinstance(e, _Kept)]


def _entry_tensor(entry):
    return entry.tensor if isinstance(entry, (_Reshaped, _Kept)) else None if isinstance(entry, _Extra) else entry


def _entry_value(entry):
    """What save_keras writes for an entry."""
    if isinstance(entry, _Extra):
        return np.asarray(entry.value, dtype=np.float32).reshape(entry.shape)
    if isinstance(entry, _Reshaped):
        return entry.tensor.numpy().reshape(entry.shape)
    return entry.numpy()


def _weight_assignments(model, config, h5, path):
    """(weight Tensor, array) for every weight of the model, all read and checked first."""
    groups = _groups(model, "", config["config"])
    pairs, covered = [], set()
    for where, entries in groups:
        where = where.lstrip("/")
        covered.update(id(e.tensor) for e in entries if isinstance(e, _Kept))
        weights = _in_file(entries)
        arrays = h5.arrays(where, [w.shape for w in weights]) if weights or h5.group(where) is not None else []
        for entry, a in zip(weights, arrays):
            w = _entry_tensor(entry)
            if w is not None:
                pairs.append((w, a.astype(w.dtype, copy=False).reshape(w.shape)))
                covered.add(id(w))
    left = [w.name for w in model.weights if id(w) not in covered]
    if left:
        raise KerasFileError(f"{path}: model.weights.h5 has no values for {left}")
    return pairs


# ---- vocabularies: StringLookup, IntegerLookup, TextVectorization ---------------------------------------
def _has_vocabulary(layer):
    from .layers.index_lookup import IndexLookup
    from .layers.text_vectorization import TextVectorization

    return isinstance(layer, (IndexLookup, TextVectorization))


def _vocabulary_layers(model, config=None, where=""):
    """(path in the file, layer) for each layer with a vocabulary, in the model and the models in it."""
    from .models import Functional, Sequential

    for name, layer, sub in _keras_children(model, config):
        path = f"{where}/layers/{name}".lstrip("/")
        if isinstance(layer, (Sequential, Functional)):
            yield from _vocabulary_layers(layer, sub, path)
        elif _has_vocabulary(layer):
            yield path, layer


def _lookup_of(layer):
    return getattr(layer, "_lookup_layer", layer)  # a TextVectorization's StringLookup, or the lookup itself


def _load_vocabularies(model, config, assets, h5, path):
    """Keras keeps a learned vocabulary in assets/<layer path>/vocabulary.txt, one term per line, and a
    tf_idf layer's weights in <layer path>/vars/idf_weights; a given vocabulary is in the config."""
    from .layers import IntegerLookup

    for where, layer in _vocabulary_layers(model, config["config"]):
        raw = assets.get(f"assets/{where}/vocabulary.txt")
        if raw is None:
            continue
        try:
            terms = raw.decode("utf-8").splitlines()
            while terms and terms[-1] == "":
                terms.pop()
            terms = [int(term) for term in terms] if isinstance(layer, IntegerLookup) else terms
        except (UnicodeDecodeError, ValueError) as err:
            raise KerasFileError(f"{path}: the vocabulary of layer {layer.name!r} cannot be read: {err}") from None
        lookup, idf = _lookup_of(layer), None
        if lookup.output_mode == "tf_idf":
            size = lookup.max_tokens if lookup.pad_to_max_tokens else len(terms)
            idf = h5.dataset(h5.group(f"{where}/vars"), f"{where}/vars", "idf_weights", (size,))[:len(terms)]
        try:
            layer.set_vocabulary(terms, idf)
        except (ValueError, RuntimeError, TypeError) as err:
            raise KerasFileError(f"{path}: the vocabulary of layer {layer.name!r}: {err}") from None


def _write_vocabularies(model, h5):
    """Each vocabulary travels in its layer's config; a tf_idf layer's weights also as the variable Keras
    restores them from (a TextVectorization's in its lookup layer too)."""
    for where, layer in _vocabulary_layers(model):
        lookup = _lookup_of(layer)
        for place in [where] + ([f"{where}/_lookup_layer"] if lookup is not layer else []):
            group = h5.require_group(f"{place}/vars")
            if lookup.output_mode == "tf_idf" and lookup._idf is not None:
                group.create_dataset("idf_weights", data=lookup.idf_weights.numpy())


# ---- compile settings and optimizer state --------------------------------------------------------------
def _compile(model, compile_config, path):
    if not isinstance(compile_config, dict):
        raise KerasFileError(f"{path}: compile_config must be an object")
    try:
        optimizer = _optimizer(compile_config.get("optimizer"), path)
        loss = _map_nested(compile_config.get("loss"), lambda v: _loss(v, path))
        # a custom metric's name becomes its object now: metrics are made after load_model's scope has ended
        metric_list = user_objects(_map_nested(compile_config.get("metrics"), lambda v: _metric(v, path)))
        weighted = user_objects(_map_nested(compile_config.get("weighted_metrics"), lambda v: _metric(v, path)))
        model.compile(optimizer=optimizer, loss=loss, metrics=metric_list, weighted_metrics=weighted,
                      loss_weights=compile_config.get("loss_weights"))
    except KerasFileError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise KerasFileError(f"{path}: the compile settings cannot be restored: {err}") from None


def _map_nested(value, fn, depth=0):
    if depth > MAX_DEPTH:
        raise KerasFileError("compile settings are nested too deeply")
    if value is None:
        return None
    if isinstance(value, list):
        return [_map_nested(v, fn, depth + 1) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _map_nested(v, fn, depth + 1) for k, v in value.items()}
    return fn(value)


def _optimizer(spec, path):
    if isinstance(spec, str):
        return optimizers.get(spec)
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise KerasFileError(f"{path}: the optimizer config is not an object with a class_name")
    name = spec["class_name"]
    cls = optimizers.CLASSES.get(spec.get("registered_name") or "") or optimizers.CLASSES.get(name)
    if cls is None:
        raise KerasFileError(f"{path}: unknown optimizer {name!r}; known: {', '.join(sorted(optimizers.CLASSES))}")
    if not isinstance(spec.get("config") or {}, dict):
        raise KerasFileError(f"{path}: the config of optimizer {name!r} must be an object, got "
                             f"{_short(spec.get('config'))}")
    config = dict(spec.get("config") or {})
    lr = config.get("learning_rate")
    if isinstance(lr, dict):
        schedule = optimizers.schedules.SCHEDULES.get(lr.get("class_name"))
        if schedule is None:
            raise KerasFileError(f"{path}: unknown learning rate schedule {lr.get('class_name')!r}")
        if not isinstance(lr.get("config") or {}, dict):
            raise KerasFileError(f"{path}: the config of learning rate schedule {lr['class_name']!r} must be an "
                                 f"object, got {_short(lr.get('config'))}")
        config["learning_rate"] = schedule.from_config(_filter_options(schedule, lr.get("config") or {}, path, lr))
    if cls is optimizers.MultiOptimizer:
        config["optimizer_map"] = _optimizer_map(config.get("optimizer_map"), path)
    config = _filter_options(cls, config, path, spec)
    return cls(**config)


def _optimizer_map(spec, path):
    """A MultiOptimizer's OptimizerMap from its Keras config, each optimizer read as _optimizer reads one."""
    config = spec.get("config") if isinstance(spec, dict) and spec.get("class_name") == "OptimizerMap" else None
    if not isinstance(config, dict) or not isinstance(config.get("optimizer_map") or {}, dict):
        raise KerasFileError(f"{path}: a MultiOptimizer's optimizer_map must be an OptimizerMap's config, got "
                             f"{_short(spec)}")
    mapping = {key: _optimizer(value, path) for key, value in (config.get("optimizer_map") or {}).items()}
    return optimizers.OptimizerMap(_optimizer(config.get("default_optimizer"), path), mapping)


def _function_spec(spec):
    """The name in Keras's description of a function ({"class_name": "function", "config": name}), else None:
    compile() looks it up (a registered or custom_objects function, or a built-in's name)."""
    if isinstance(spec, dict) and spec.get("class_name") == "function" and isinstance(spec.get("config"), str):
        return spec["config"]
    return None


def _loss(spec, path):
    if isinstance(spec, str) or _function_spec(spec):
        return _function_spec(spec) or spec
    if isinstance(spec, dict):
        return _object(spec, losses.Loss, losses.CLASSES, "loss", path)
    raise KerasFileError(f"{path}: a loss must be a name or an object, got {_short(spec)}")


def _metric(spec, path):
    custom = lookup(spec)
    if custom is not None and not metrics.is_metric_like(custom):
        raise KerasFileError(f"{path}: metric {spec!r} names {type(custom).__name__} {custom!r:.60}, which is "
                             f"neither a Metric nor a function")
    if isinstance(spec, str) or _function_spec(spec):
        return _function_spec(spec) or spec
    if isinstance(spec, dict):
        try:
            checked_metric_config(spec)
        except ValueError as err:
            raise KerasFileError(f"{path}: {err}") from None
        return _object(spec, metrics.Metric, metrics.CLASSES, "metric", path)
    raise KerasFileError(f"{path}: a metric must be a name or an object, got {_short(spec)}")


def _object(spec, base, registry, kind, path):
    """A loss or metric object from its Keras config: a user's class by Keras's rules (object_registration),
    else one of scratchgrad's built-ins."""
    try:
        custom = custom_instance(spec, base, kind)
        return custom if custom is not None else _instance(builtin_class(spec, registry, kind), spec, path)
    except (TypeError, ValueError) as err:
        raise KerasFileError(f"{path}: {err}") from None


def _instance(cls, spec, path):
    """A loss or metric from its Keras config: with every option (some of ours pass options on to a
    function, unseen by their signature), else with those we know to take."""
    config = spec.get("config") if isinstance(spec.get("config"), dict) else {}
    config = {k: v for k, v in config.items() if k != "dtype"}
    try:
        return cls(**config)
    except TypeError:
        pass
    try:
        return cls(**_filter_options(cls, config, path, spec))
    except TypeError as err:
        raise KerasFileError(f"{path}: {spec.get('class_name')} cannot be made from its Keras config: {err}") from None


def _keras_trainable(model, config=None):
    """Our trainable weights in the order Keras's optimizer holds them (model.trainable_variables)."""
    if not model.trainable:
        return []
    out = []
    for _, weights in _groups(model, "", config):
        out += [w for w in map(_entry_tensor, _in_file(weights)) if w is not None and w.requires_grad]
    # Keras: each layer's own trainable weights, then its sublayers', layer by layer; _groups is that order
    seen, ordered = set(), []
    for w in out:
        if id(w) not in seen:
            seen.add(id(w))
            ordered.append(w)
    return ordered


def _slot_layout(optimizer):
    """The slot names, in Keras's variable order: [(names interleaved weight by weight)] groups."""
    name = type(optimizer).__name__
    if name not in _OPTIMIZER_LAYOUT:
        return None
    state_names = optimizer._state_names()
    groups = [["average"]] if "average" in state_names else []
    groups += [["gradient_accumulator"]] if "gradient_accumulator" in state_names else []
    for group in _OPTIMIZER_LAYOUT[name]:
        kept = [n for n in group if n in optimizer.slot_names]
        if kept:
            groups.append(kept)
    return groups


def _optimizer_from_file(model, config, h5, path):
    """(optimizer state for set_optimizer_state, learning rate) from the file, or None without one."""
    compile_config = config["compile_config"]
    if not isinstance(compile_config, dict) or compile_config.get("optimizer") is None:
        return None
    group = h5.group("optimizer/vars")
    if group is None:
        return None
    try:  # the optimizer's options are the file's: a wrong one is the file's error, as in _compile
        optimizer = _optimizer(compile_config["optimizer"], path)
    except (KeyError, TypeError, ValueError) as err:
        raise KerasFileError(f"{path}: the optimizer cannot be restored: {err}") from None
    layout = _slot_layout(optimizer)
    if layout is None:
        warnings.warn(f"{path}: the optimizer state of {type(optimizer).__name__} is not read; it starts fresh")
        return None
    weights = _keras_trainable(model, config["config"])
    has_lr = not isinstance((compile_config["optimizer"].get("config") or {}).get("learning_rate"), dict) \
        if isinstance(compile_config["optimizer"], dict) else True
    fresh = [optimizer._fresh_state(_Probe(w)) for w in weights]
    shapes, keys = [()] + ([()] if has_lr else []), [None] + (["lr"] if has_lr else [])
    for names in layout:
        for i, w in enumerate(weights):
            for n in names:
                shapes.append(_keras_slot_shape(fresh[i][n]))
                keys.append((i, n))
    if type(optimizer).__name__ == "Nadam":
        shapes.append(())
        keys.append("u_product")
    prefix = 2 if has_lr else 1
    if len(group.keys()) == prefix:  # compiled, never trained: Keras built no slots yet
        shapes, keys = shapes[:prefix], keys[:prefix]
    try:
        arrays = h5.arrays("optimizer", shapes)
    except KerasFileError as err:
        raise KerasFileError(f"{err} (the optimizer state does not fit the model's trainable weights)") from None
    slots = [{k: v for k, v in s.items() if k != "scratch"} for s in fresh]
    for key, array in zip(keys, arrays):
        if isinstance(key, tuple):
            i, n = key
            target = slots[i][n]
            slots[i][n] = array.astype(target.dtype).reshape(target.shape) if target.size else target
    iterations = int(arrays[0])
    lr = float(arrays[1]) if has_lr else None
    order = {id(w): i for i, w in enumerate(weights)}
    state = {"iterations": iterations, "slots": [slots[order[id(w)]] for w in model.trainable_weights
                                                  if id(w) in order]}
    return state, lr


class _Probe:
    """A stand-in weight for _fresh_state (it reads `.data`)."""

    def __init__(self, w):
        self.data = np.zeros(w.shape, w.dtype)


def _keras_slot_shape(slot):
    return () if slot.size == 0 else slot.shape  # Adafactor's r and c of a vector: Keras keeps a scalar


# ======================================================================================================
# writing
# ======================================================================================================
def save_keras(model, path, include_optimizer=True):
    """Write `model` (Sequential or functional) as a Keras 3 `.keras` file that keras.saving.load_model
    reads: the architecture, the weights and, when compiled, the compile settings and the optimizer state
    (where Keras has the same optimizer)."""
    import h5py

    from .models import Functional, Sequential

    if not isinstance(model, (Sequential, Functional)):
        raise TypeError(f"save_keras takes a Sequential or functional model, got {type(model).__name__}: a "
                        f"subclassed model's code cannot travel in a file")
    if not model.built:
        raise ValueError("the model has no weights yet: build it (Input(shape), input_shape=, or one call) first")
    config = _keras_model_spec(model)
    if model.input_shape is not None:
        config["build_config"] = {"input_shape": _jsonable_shape(model.input_shape)}
    compiled = getattr(model, "loss", None) is not None and getattr(model, "optimizer", None) is not None
    if compiled:
        config["compile_config"] = _keras_compile_config(model)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_group("vars").attrs["name"] = model.name
        for where, weights in _groups(model, ""):
            group = h5.require_group(where.lstrip("/") + "/vars")
            for i, entry in enumerate(_in_file(weights)):
                group.create_dataset(str(i), data=np.asarray(_entry_value(entry), order="C"))
        _write_vocabularies(model, h5)
        if compiled and include_optimizer:
            _write_optimizer(model, h5)
    metadata = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "saved_by": "scratchgrad"}
    _write_zip_atomic(path, {"metadata.json": json.dumps(metadata).encode(), "config.json": json.dumps(config).encode(),
                             "model.weights.h5": buffer.getvalue()})


def _write_zip_atomic(path, members):
    with atomic_write(path) as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _jsonable_shape(shape):
    return json.loads(json.dumps(shape))


def keras_layer_order(model):
    """A functional model's layers in Keras's order (ops/function.py map_graph): by depth from the
    outputs, deepest first, ties in the order a depth-first walk from the outputs first meets them."""
    from .symbolic import SymbolicTensor

    inputs, outputs = model._flat_inputs, model._flat_outputs
    finished, order, op_index = set(), [], {}

    def visit(tensor):
        node = tensor.node
        if id(node) in finished:
            return
        op_index.setdefault(id(node.layer), len(op_index))
        for t in tree.flatten(node.inputs):
            if isinstance(t, SymbolicTensor):
                visit(t)
        finished.add(id(node))
        order.append(node)

    for t in outputs:
        visit(t)
    in_graph = {id(n) for n in order}
    node_depth, layer_depth = {}, {}
    for node in reversed(order):
        depth = node_depth.setdefault(id(node), 0)
        depth = max(depth, layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for t in tree.flatten(node.inputs):
            if isinstance(t, SymbolicTensor) and id(t.node) in in_graph:
                node_depth[id(t.node)] = max(depth + 1, node_depth.get(id(t.node), 0))
    layers = {id(n.layer): n.layer for n in order}
    for t in inputs:
        if id(t.node.layer) not in layer_depth:
            layer_depth[id(t.node.layer)], op_index[id(t.node.layer)] = 0, -1
            layers[id(t.node.layer)] = t.node.layer
    ids = sorted(layer_depth, key=lambda k: (-layer_depth[k], op_index[k]))
    return [layers[k] for k in ids]


def _keras_model_spec(model, depth=0):
    from .models import Sequential

    if depth > MAX_DEPTH:
        raise ValueError(f"models are nested more than {MAX_DEPTH} levels deep")
    cls = _keras_class_name(model)
    registered = type(model).__dict__.get("_registered_name")
    if isinstance(model, Sequential):
        layers = []
        if model.input_shape is not None:  # with its batch size when one was declared or built, as Keras writes
            layers.append({"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                           "config": {"batch_shape": _jsonable_shape(model.input_shape),
                                      "dtype": dtype_name(model.input_dtypes[0]), "sparse": False,
                                      "ragged": False, "name": f"{model.name}_input"}})
        layers += [_keras_layer_spec(layer, depth + 1) for layer in model.layers]
        config = {"name": model.name, "trainable": model.trainable, "layers": layers}
        if model.input_shape is not None:
            config["build_input_shape"] = _jsonable_shape(model.input_shape)
        return {"module": "keras", "class_name": "Sequential", "config": config,
                "registered_name": registered, **({"build_config": {"input_shape": _jsonable_shape(
                    model.input_shape)}} if model.input_shape is not None else {})}
    ours = model.get_config()
    by_name = {spec["name"]: spec for spec in ours["layers"]}
    layers = []
    for layer in keras_layer_order(model):
        spec = by_name[layer.name]
        entry = _keras_layer_spec(layer, depth + 1)
        entry["name"] = layer.name
        entry["inbound_nodes"] = spec["inbound_nodes"]
        layers.append(entry)
    nested = {entry["name"] for entry in layers if "input_layers" in entry["config"]}
    for entry in layers:
        entry["inbound_nodes"] = _shift_history(entry["inbound_nodes"], nested, 1, "")
    config = {"name": model.name, "trainable": model.trainable, "layers": layers,
              "input_layers": _shift_history(ours["input_layers"], nested, 1, ""),
              "output_layers": _shift_history(ours["output_layers"], nested, 1, "")}
    module = "keras.src.models.functional" if cls == "Functional" else type(model).__module__
    return {"module": module, "class_name": cls, "config": config, "registered_name": registered}


def _keras_layer_spec(layer, depth):
    from .layers import InputLayer, serialize
    from .models import Functional, Sequential

    if isinstance(layer, (Sequential, Functional)):
        spec = _keras_model_spec(layer, depth)
    else:
        ours = serialize(layer)
        name = ours["class_name"]
        if name == "Lambda":
            raise ValueError(f"layer {layer.name!r} is a Lambda: its Python function cannot be written to a "
                             f".keras file; use a registered custom layer")
        if name == "TensorOp":
            raise ValueError(f"layer {layer.name!r} is an operation on symbolic tensors ({layer.name}), which "
                             f"save_keras does not write yet; use a merge layer (Add, Multiply, ...) instead")
        config = _keras_values(ours["config"], depth)
        if name == "LeakyReLU" and "alpha" in config:
            config["negative_slope"] = config.pop("alpha")  # Keras 3's name
        for key, default in _NOT_IN_KERAS.get(name, {}).items():
            if config.get(key) == default:
                del config[key]
        if isinstance(layer, InputLayer):
            config.pop("input_shape", None)
            config.setdefault("ragged", False)
        registered = ours.get("registered_name")
        module = "keras.layers" if type(layer).__module__.startswith("scratchgrad.") else type(layer).__module__
        spec = {"module": module, "class_name": name, "config": config, "registered_name": registered}
    return spec  # no build_config: Keras builds each layer by calling it on the model's inputs


def _is_symbolic(value):
    from .symbolic import SymbolicTensor

    return isinstance(value, SymbolicTensor)


def _keras_values(config, depth):
    from .activations import ACTIVATIONS

    out = {}
    for key, value in config.items():
        if key == "input_shape":
            continue  # our layers' own input_shape; Keras learns shapes from build_config
        if key.endswith("activation") and isinstance(value, str) and value.lower() not in ACTIVATIONS:
            value = _keras_function(value)  # a custom function: as Keras describes one
        if key == "cells" and isinstance(value, list):  # StackedRNNCells
            value = [_keras_object(cell, depth) for cell in value]
        kind = key.rsplit("_", 1)[-1]
        out[key] = _keras_weight_object(value, kind) if kind in _WEIGHT_OBJECTS else _keras_object(value, depth)
    return out


_WEIGHT_OBJECTS = ("initializer", "regularizer", "constraint")


def _keras_weight_object(value, kind):
    """An initializer, regularizer or constraint dict of ours in Keras's form. A custom class is named by its
    registered name, else by its class name (Keras then needs it in custom_objects, as for its own files)."""
    from . import initializers, regularizers

    if not (isinstance(value, dict) and "class_name" in value):
        return value
    registry = {"initializer": initializers.CLASSES, "regularizer": regularizers._CLASSES,
                "constraint": constraints.CLASSES}[kind]
    builtin = registry.get(value["class_name"])
    if value.get("registered_name") or builtin is None or not builtin.__module__.startswith("scratchgrad."):
        return {"module": None, **value, "registered_name": value.get("registered_name") or value["class_name"]}
    return {"module": f"keras.{kind}s", **value, "registered_name": None}


def _keras_object(value, depth):
    """A layer config of ours (Bidirectional's layer, an RNN's cell) in Keras's form; anything else as it is."""
    from .layers import LAYERS, Layer

    if not (isinstance(value, dict) and "class_name" in value and "config" in value):
        return value
    cls = LAYERS.get(value.get("registered_name") or value["class_name"])
    if cls is not None and issubclass(cls, Layer):
        value = _keras_layer_spec(cls.from_config(value["config"]), depth + 1)
        value.pop("build_config", None)
    return value


def _keras_compile_config(model):
    loss = tree.map_structure(_keras_loss, model.loss, is_leaf=lambda v: not isinstance(v, (list, tuple, dict)))
    return {"optimizer": _keras_optimizer(model.optimizer), "loss": loss,
            "loss_weights": model._loss_weights, "metrics": _keras_metrics(saveable_metrics(model._metric_ids)),
            "weighted_metrics": _keras_metrics(saveable_metrics(model._weighted_metric_ids)), "run_eagerly": False,
            "steps_per_execution": 1, "jit_compile": False}


def _keras_metrics(value):
    """Compile's saved metrics with each metric object's config in Keras's form."""
    if isinstance(value, dict) and "class_name" in value:
        custom = "registered_name" in value
        return {"module": None if custom else "keras.metrics", **value, "registered_name": value.get("registered_name")}
    if isinstance(value, dict):
        return {k: _keras_metrics(v) for k, v in value.items()}
    return [_keras_metrics(v) for v in value] if isinstance(value, list) else value


def _keras_function(name):
    """Keras's description of a custom function by its (registered) name, as its serialize_keras_object gives."""
    return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}


def _keras_loss(loss):
    if isinstance(loss, str):
        return loss
    if isinstance(loss, losses.FunctionLoss):
        return _keras_function(losses.serialize(loss))
    if isinstance(loss, losses.Loss):
        spec = losses.serialize(loss)  # a custom class's holds the registered_name Keras finds it by
        return {"module": None if "registered_name" in spec else "keras.losses", **spec,
                "registered_name": spec.get("registered_name")}
    name = getattr(loss, "__name__", None)
    if name and name.lower() in losses.FUNCTIONS:
        return name
    raise ValueError(f"the loss {loss!r} cannot be written to a .keras file")


def _keras_optimizer(optimizer):
    name = type(optimizer).__name__
    config = optimizer.get_config()
    config.pop("fused", None)
    if name == "Momentum":
        name = "SGD"
    lr = config.get("learning_rate")
    if isinstance(lr, dict):
        config["learning_rate"] = {"module": "keras.optimizers.schedules", **lr, "registered_name": None}
    if name == "LossScaleOptimizer":  # its inner optimizer, as Keras serializes one
        config["inner_optimizer"] = _keras_optimizer(optimizer.inner_optimizer)
    if name == "MultiOptimizer":  # its optimizers, as Keras serializes an OptimizerMap
        mapping = optimizer.optimizer_map
        config["optimizer_map"] = {
            "module": "keras.optimizers", "class_name": "OptimizerMap", "registered_name": None,
            "config": {"default_optimizer": _keras_optimizer(mapping.default_optimizer),
                       "optimizer_map": {key: _keras_optimizer(value) for key, value in mapping.items()}}}
    return {"module": "keras.optimizers", "class_name": name, "config": config, "registered_name": None}


def _write_optimizer(model, h5):
    optimizer = model.optimizer
    layout = _slot_layout(optimizer)
    if layout is None:
        warnings.warn(f"the state of optimizer {type(optimizer).__name__} is not written (its variables are not "
                      f"laid out as Keras's here): Keras starts it afresh")
        return
    weights = _keras_trainable(model)
    state = model.get_optimizer_state()
    by_id = {id(w): s for w, s in zip(model.trainable_weights, state["slots"])}
    group = h5.require_group("optimizer/vars")
    group.attrs["name"] = optimizer.name
    values = [np.asarray(state["iterations"], dtype=np.int64)]
    if not callable(optimizer._learning_rate):
        values.append(np.asarray(optimizer.learning_rate, dtype=np.float32))
    for names in layout:
        for w in weights:
            for n in names:
                slot = by_id[id(w)][n]
                values.append(np.zeros((), slot.dtype) if slot.size == 0 else slot)
    if type(optimizer).__name__ == "Nadam":
        values.append(np.asarray(optimizer._product(optimizer.iterations), dtype=np.float32))
    for i, value in enumerate(values):
        group.create_dataset(str(i), data=np.asarray(value, order="C"))
