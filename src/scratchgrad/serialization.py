"""keras.saving.serialize_keras_object / deserialize_keras_object: any object a config holds (a layer or
model, a loss, metric, optimizer, schedule, initializer or regularizer, a function, arrays, plain values)
to JSON-able values and back, in Keras 3's layout ({"module", "class_name", "config", "registered_name"}).

Each kind is written by its own serializer (layers.serialize, losses.serialize, ...). Reading looks a
class or function up by name only: among the user's objects (custom_objects, custom_object_scope,
register_keras_serializable) and the built-in registries. "module" is at most a hint for which registry
to search first: nothing is imported, and a Lambda's bytecode (Keras's "__lambda__") is refused.
"""
import inspect
import types

import numpy as np

from .object_registration import (CustomObjectScope, _checked_objects, current_scope, function_name, lookup,
                                  registered_name_of, stands_for)

_PLAIN = (str, int, float, bool)
_FUNCTION = {"module": "builtins", "class_name": "function", "registered_name": "function"}


def _kinds():
    """(base class, Keras's module, {name: class}) of every kind a config can name, in lookup order."""
    from . import constraints, initializers, losses, metrics, optimizers, regularizers
    from .layers import LAYERS, Layer
    from .optimizers import schedules

    return [(Layer, "keras.layers", LAYERS), (losses.Loss, "keras.losses", losses.CLASSES),
            (metrics.Metric, "keras.metrics", metrics.CLASSES),
            (optimizers.Optimizer, "keras.optimizers", optimizers.CLASSES),
            (schedules.LearningRateSchedule, "keras.optimizers.schedules", schedules.SCHEDULES),
            (initializers.Initializer, "keras.initializers", initializers.CLASSES),
            (regularizers.Regularizer, "keras.regularizers", regularizers._CLASSES),
            (constraints.Constraint, "keras.constraints", constraints.CLASSES)]


def _builtin_function(name):
    """A built-in activation, loss or metric function by name, or None."""
    from . import activations, losses, metrics

    return activations.ACTIVATIONS.get(name.lower()) or losses.FUNCTIONS.get(name.lower()) or \
        metrics.FUNCTIONS.get(name)


def _function_name(fn):
    from . import activations, losses, metrics

    for registry in (activations.ACTIVATIONS, losses.FUNCTIONS, metrics.FUNCTIONS):
        name = next((n for n, f in registry.items() if f is fn), None)
        if name is not None:
            return name
    return function_name(fn, "function", lambda n: _builtin_function(n) is not None)


def serialize_keras_object(obj):
    """A JSON-able description of `obj` that deserialize_keras_object turns back into an equal object."""
    from . import initializers, losses, optimizers, regularizers
    from .layers import Layer, serialize
    from .tensor import Tensor

    if obj is None or isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, Tensor):
        obj = obj.numpy()
    if isinstance(obj, (np.ndarray, np.generic)):
        if isinstance(obj, np.ndarray) and obj.ndim > 0:
            return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
        return obj.item()
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return {**_FUNCTION, "config": _function_name(obj)}
    cls = type(obj)
    for base, module, _ in _kinds():
        if isinstance(obj, base):
            if base is Layer:
                spec = serialize(obj)
            elif base is losses.Loss:
                spec = losses.serialize(obj)
                if isinstance(spec, str):  # a custom function wrapped by compile(): saved as the function
                    return {**_FUNCTION, "config": spec}
            elif base is optimizers.Optimizer:
                spec = optimizers.serialize(obj)
            elif base is initializers.Initializer:
                spec = initializers.serialize(obj)
            elif base is regularizers.Regularizer:
                spec = regularizers.serialize(obj)
            else:
                spec = {"class_name": cls.__name__, "config": obj.get_config()}
            ours = cls.__module__.startswith("scratchgrad.")
            return {"module": module if ours else cls.__module__, "class_name": spec["class_name"],
                    "config": serialize_keras_object(spec["config"]),
                    "registered_name": None if ours else registered_name_of(cls) or cls.__name__}
    if hasattr(obj, "get_config"):
        return {"module": cls.__module__, "class_name": cls.__name__,
                "config": serialize_keras_object(obj.get_config()),
                "registered_name": registered_name_of(cls) or cls.__name__}
    raise TypeError(f"serialize_keras_object cannot describe a {cls.__module__}.{cls.__name__}: expected a layer, "
                    f"model, loss, metric, optimizer, schedule, initializer, regularizer, a function, an array, "
                    f"plain values (str, numbers, None) or lists and dicts of them, or an object with get_config()")


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object serialize_keras_object described. Classes and functions are found by name among
    `custom_objects` ({name: object}), the custom_object_scope's, the registered ones and the built-ins;
    nothing is imported. `safe_mode` is accepted for Keras's signature: a "__lambda__" (Python bytecode)
    is refused either way. `module_objects` (a keyword) gives more {name: object} for plain strings."""
    custom_objects = _checked_objects(custom_objects, "deserialize_keras_object")
    if not isinstance(safe_mode, bool):
        raise TypeError(f"deserialize_keras_object: safe_mode must be True or False, got {safe_mode!r}")
    unknown = set(kwargs) - {"module_objects", "printable_module_name"}
    if unknown:
        raise TypeError(f"deserialize_keras_object got unexpected keyword arguments {sorted(unknown)}")
    module_objects = kwargs.get("module_objects") or {}
    with CustomObjectScope({**current_scope(), **custom_objects}):
        return _deserialize(config, custom_objects, module_objects)


def _deserialize(config, custom_objects, module_objects):
    if config is None or isinstance(config, (int, float, bool)):
        return config
    if isinstance(config, str):
        found = lookup(config, custom_objects)
        return found if found is not None else module_objects.get(config, config)
    if isinstance(config, (list, tuple)):
        return [_deserialize(x, custom_objects, module_objects) for x in config]
    if not isinstance(config, dict):
        raise TypeError(f"deserialize_keras_object takes what serialize_keras_object returns (a dict, list or "
                        f"plain value), got {type(config).__name__}")
    if "class_name" not in config or "config" not in config:
        return {key: _deserialize(value, custom_objects, module_objects) for key, value in config.items()}
    class_name, inner = config["class_name"], config["config"]
    if class_name == "__lambda__":
        raise ValueError("the config holds a Python lambda (Keras's __lambda__, bytecode): scratchgrad never runs "
                         "code from a config, whatever safe_mode says; use a registered named function instead")
    if class_name in ("__numpy__", "__tensor__"):
        return _array(inner, class_name)
    if class_name == "__bytes__":
        value = inner.get("value") if isinstance(inner, dict) else None
        if not isinstance(value, str):
            raise ValueError(f"a __bytes__ config must hold {{'value': str}}, got {inner!r:.100}")
        return value.encode("utf-8")
    if class_name == "function":
        return _function(inner, custom_objects, config)
    return _instance(config, custom_objects)


def _array(inner, class_name):
    if not isinstance(inner, dict) or not isinstance(inner.get("dtype"), str) or "value" not in inner:
        raise ValueError(f"a {class_name} config must hold {{'value': [...], 'dtype': str}}, got {inner!r:.100}")
    try:
        dtype = np.dtype(inner["dtype"])
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biufc":
        raise ValueError(f"a {class_name} config's dtype must be a numeric or bool dtype, got {inner['dtype']!r}")
    return np.asarray(inner["value"], dtype=dtype)


def _function(name, custom_objects, config):
    fn = lookup(name, custom_objects) if isinstance(name, str) else None
    if fn is None and isinstance(name, str):
        fn = _builtin_function(name)
    if fn is None:
        raise TypeError(f"could not find the function {name!r} of config {config!r:.200}: decorate it with "
                        f"@keras.saving.register_keras_serializable() (and import its module), or pass it in "
                        f"custom_objects")
    if not stands_for(fn):
        raise TypeError(f"{name!r} names {fn!r:.80}, not a function")
    return fn


def _class(config, custom_objects):
    """The class a {"class_name", "registered_name", "module"} config names (see module docstring)."""
    class_name, registered = config.get("class_name"), config.get("registered_name")
    names = [n for n in (registered, class_name) if isinstance(n, str) and n and n != "function"]
    if not isinstance(class_name, str) or not names:
        raise TypeError(f"a config's class_name must be a string, got {class_name!r:.80}")
    for name in names:
        found = lookup(name, custom_objects)
        if found is not None:
            return found
    module = config.get("module") if isinstance(config.get("module"), str) else ""
    kinds = sorted(_kinds(), key=lambda kind: not (module == kind[1] or module.startswith(kind[1] + ".")))
    for _, _, registry in kinds:
        # a registered name ("package>Name") is never taken for its bare class name, which may be another class
        name = registered if isinstance(registered, str) and ">" in registered else class_name
        if name in registry:
            return registry[name]
    raise TypeError(f"could not find the class {names[0]!r} of config {config!r:.200}: a custom class must be "
                    f"defined (and, for a name a built-in has, decorated with "
                    f"@keras.saving.register_keras_serializable()) or passed in custom_objects")


def _instance(config, custom_objects):
    cls = _class(config, custom_objects)
    inner = config["config"]
    if not isinstance(cls, type):
        raise TypeError(f"{config['class_name']!r} names {cls!r:.80}, not a class")
    if not isinstance(inner, dict):
        raise TypeError(f"the config of {config['class_name']!r} must be a dict of its arguments, got "
                        f"{type(inner).__name__}")
    from_config = getattr(cls, "from_config", None)
    if from_config is None:
        return cls(**inner)
    if custom_objects and "custom_objects" in inspect.signature(from_config).parameters:
        return from_config(inner, custom_objects=custom_objects)
    return from_config(inner)
