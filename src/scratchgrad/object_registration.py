"""Names for custom objects (Keras 3's keras.saving object registration): which class or function a name
in a config or a saved file means.

`register_keras_serializable(package, name)` registers a class or a function under "package>name"; a
registered Layer, Loss, Optimizer, Metric, Initializer or schedule class also goes into that kind's own
registry (layers.LAYERS, losses.CLASSES, ...), which loading looks in. `custom_object_scope({...})` and
`load_model(..., custom_objects={...})` map names to objects for a while. A name from a file is only ever
looked up in these dictionaries and in the built-in registries: nothing is imported or called by name.

This module imports nothing of scratchgrad at load time, so that activations, layers and losses can use it.
"""
import contextvars
import types
from collections.abc import Mapping

_CUSTOM_OBJECTS = {}  # "package>name" -> the registered class or function (get_custom_objects())
_CUSTOM_NAMES = {}  # the registered object -> "package>name"
_SCOPE = contextvars.ContextVar("scratchgrad_custom_object_scope", default={})


def _checked_objects(custom_objects, caller):
    """custom_objects as a dict, checked: None or a mapping of names (str) to objects."""
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, Mapping):
        raise TypeError(f"{caller}: custom_objects must be a dict of names to classes or functions, got "
                        f"{type(custom_objects).__name__}")
    bad = [k for k in custom_objects if not isinstance(k, str)]
    if bad:
        raise TypeError(f"{caller}: custom_objects' keys must be the names (str) used in the config or file, "
                        f"got {bad[0]!r} ({type(bad[0]).__name__})")
    return dict(custom_objects)


class CustomObjectScope:
    """`with custom_object_scope({"MyLayer": MyLayer, "my_fn": my_fn}):` ... inside the block, configs and
    files that name "MyLayer" or "my_fn" get these objects (as Keras 3: an inner scope replaces an outer
    one's dictionary for its duration; load_model's custom_objects add to the enclosing scope's)."""

    def __init__(self, custom_objects):
        self.custom_objects = _checked_objects(custom_objects, "custom_object_scope")
        self._tokens = []

    def __enter__(self):
        self._tokens.append(_SCOPE.set(dict(self.custom_objects)))
        return self

    def __exit__(self, *exc):
        _SCOPE.reset(self._tokens.pop())


custom_object_scope = CustomObjectScope


def deserializer(get, kind):
    """keras.<kind>.deserialize: what a config (or a name) stands for, by that kind's `get`, with
    `custom_objects` in scope."""
    def deserialize(config, custom_objects=None):
        with CustomObjectScope({**current_scope(), **_checked_objects(custom_objects, f"{kind}.deserialize")}):
            return get(config)

    return deserialize


def current_scope():
    """The dictionary of the innermost custom_object_scope (empty outside any)."""
    return _SCOPE.get()


def get_custom_objects():
    """The live dictionary of registered objects ("package>name" -> object); not the scopes' objects."""
    return _CUSTOM_OBJECTS


def register_keras_serializable(package="Custom", name=None):
    """Decorator: register a class (which must have get_config) or a function under "package>name" (name:
    its __name__ by default), so that configs and saved files can name it."""
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a non-empty name without '>', got "
                         f"{package!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"register_keras_serializable: name must be a non-empty string or None, got {name!r}")

    def register(obj):
        if not callable(obj):
            raise TypeError(f"register_keras_serializable decorates a class or a function, got "
                            f"{type(obj).__name__} {obj!r:.80}")
        own = name if name is not None else getattr(obj, "__name__", None)
        if not isinstance(own, str) or own == "<lambda>":
            raise ValueError(f"register_keras_serializable: {obj!r:.80} has no usable __name__; pass name=...")
        key = f"{package}>{own}"
        if isinstance(obj, type):
            if not hasattr(obj, "get_config"):
                raise ValueError(f"cannot register class {obj.__name__}: it has no get_config() method, which "
                                 f"saving needs to write its arguments")
            registry = _kind_registry(obj)
            if registry is not None:
                registry[key] = obj
            obj._registered_name = key  # read by layers.serialize and keras_files for the registered_name field
        _CUSTOM_OBJECTS[key] = obj
        _CUSTOM_NAMES[obj] = key
        return obj
    return register


def _kind_registry(cls):
    """The kind's own registry a registered class also goes into (looked up by name when loading)."""
    from . import initializers, losses, metrics, optimizers
    from .layers import LAYERS, Layer
    from .optimizers import schedules

    kinds = [(Layer, LAYERS), (losses.Loss, losses.CLASSES), (optimizers.Optimizer, optimizers.CLASSES),
             (metrics.Metric, metrics.CLASSES), (initializers.Initializer, initializers.CLASSES),
             (schedules.LearningRateSchedule, schedules.SCHEDULES)]
    return next((registry for base, registry in kinds if issubclass(cls, base)), None)


def registered_name_of(obj):
    """The "package>name" obj was registered under, or None."""
    try:
        return _CUSTOM_NAMES.get(obj)
    except TypeError:  # unhashable: never registered
        return None


def get_registered_name(obj):
    """The name obj was registered under, else its __name__ (Keras's rule)."""
    key = registered_name_of(obj)
    if key is not None:
        return key
    name = getattr(obj, "__name__", None)
    if not isinstance(name, str):
        raise TypeError(f"get_registered_name takes a class or a function, got {type(obj).__name__} {obj!r:.80}")
    return name


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object `name` means: from the innermost custom_object_scope, the registered objects,
    `custom_objects`, then `module_objects` (Keras's order); None when none has it."""
    scope = current_scope()
    if name in scope:
        return scope[name]
    if name in _CUSTOM_OBJECTS:
        return _CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def lookup(name, custom_objects=None):
    """What a name from a config or file means among the user's objects (custom_objects given here, the
    scope's, the registered ones), or None: the caller falls back to the built-in registry of its kind."""
    if not isinstance(name, str):
        return None
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get_registered_object(name)


def custom_instance(identifier, base, kind):
    """What a name or a config dict means among the user's objects (custom_objects, custom_object_scope,
    registered), looked up as Keras does: a name, or a config's "registered_name" (its class name when the
    key is absent), means a `base` subclass, built from the config; {"class_name": "function", "config":
    name} means a function. None when the identifier names no user's object and may name a built-in: a
    name, a config whose registered_name is None (a built-in's, as Keras writes it) or absent; the caller
    then looks among its built-ins. A registered name that no user's object has is a ValueError: it never
    loads as the built-in of the same class name."""
    if isinstance(identifier, str):
        found = lookup(identifier)
        return found.from_config({}) if _subclass(found, base) else None
    if not isinstance(identifier, dict):
        return None
    config = identifier.get("config")
    registered = identifier.get("registered_name", identifier.get("class_name"))  # Keras's default
    if identifier.get("class_name") == "function":
        found = lookup(config) if isinstance(config, str) else None
        if not callable(found) or isinstance(found, type):
            raise ValueError(f"the {kind} function {config!r:.80} is neither registered (decorate it with "
                             f"@keras.saving.register_keras_serializable()) nor in custom_objects")
        return found
    if not registered:
        return None
    cls = lookup(registered)
    module = identifier.get("module")
    keras_module = isinstance(module, str) and (module == "keras" or module.startswith("keras."))
    if not _subclass(cls, base):
        if "registered_name" not in identifier or keras_module and registered == identifier.get("class_name"):
            return None  # a bare class name, or Keras's own class by its name: perhaps a built-in's
        raise ValueError(f"the {kind} {identifier.get('class_name')!r:.80} names the custom class "
                         f"{registered!r:.80}, which is no {base.__name__} subclass registered "
                         f"(keras.saving.register_keras_serializable) or in custom_objects")
    if config is not None and not isinstance(config, dict):
        raise ValueError(f"the {kind} {identifier!r:.100} must hold a dict of arguments under 'config', got "
                         f"{type(config).__name__}")
    return cls.from_config(config or {})


def builtin_class(identifier, registry, kind):
    """The built-in class (one of scratchgrad's in `registry`) a config dict names by its class name; what
    custom_instance did not find. A ValueError names anything else."""
    cls = registry.get(identifier.get("class_name"))
    if cls is None or not cls.__module__.startswith("scratchgrad."):
        raise ValueError(f"unknown {kind} class {identifier.get('class_name')!r:.80}: a custom one must be registered "
                         f"(keras.saving.register_keras_serializable) or passed in custom_objects")
    return cls


def _subclass(obj, base):
    return isinstance(obj, type) and issubclass(obj, base)


def object_config(obj, base, builtins, kind):
    """An initializer's, regularizer's, constraint's, loss's or metric's config dict in Keras's layout: a built-in's
    {"class_name", "config"}; a custom class's with the "registered_name" it is found by (its registered
    name, else its class name, which loading then needs in custom_objects); a named function's
    {"class_name": "function", "config": its name}."""
    if isinstance(obj, types.FunctionType):
        return {"module": "builtins", "class_name": "function", "config": function_name(obj, kind, lambda _: False),
                "registered_name": "function"}
    if not isinstance(obj, base):
        raise ValueError(f"{kind} {obj!r:.80} is not a {base.__name__} or a named function, and cannot be saved in "
                         f"a config")
    cls = type(obj)
    spec = {"class_name": cls.__name__, "config": obj.get_config()}
    if builtins.get(cls.__name__) is not cls or not cls.__module__.startswith("scratchgrad."):
        spec["registered_name"] = registered_name_of(cls) or cls.__name__
    return spec


def stands_for(obj, base=None):
    """Whether a name's object may stand where a `base` (Loss, Metric) goes: a function or an instance (a
    callable that is not a class), or a subclass of `base`; with no base, a function only."""
    if isinstance(obj, type):
        return base is not None and issubclass(obj, base)
    return callable(obj)


def function_name(fn, kind, builtins):
    """The name a config saves a custom function under: its registered name, else its __name__ (loading then
    needs it in custom_objects, as in Keras). Refused: a lambda, and a name that means a built-in
    (`builtins(name)` true), which would load as the built-in."""
    key = registered_name_of(fn)
    if key is not None:
        return key
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str) or name == "<lambda>":
        raise ValueError(f"the {kind} {fn!r:.80} cannot be saved in a config: it has no name (a lambda?); define "
                         f"it with def and decorate it with @keras.saving.register_keras_serializable()")
    if builtins(name):
        raise ValueError(f"the custom {kind} {name!r} has the name of a built-in one, which a saved config would "
                         f"load instead; decorate it with @keras.saving.register_keras_serializable() (it is then "
                         f"saved as 'Custom>{name}') or rename it")
    return name


__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects", "register_keras_serializable",
           "get_registered_name", "get_registered_object"]
