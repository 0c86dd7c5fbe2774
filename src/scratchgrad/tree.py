"""Nested structures of tensors (a tensor, or lists, tuples and dicts of them), as models with several
inputs and outputs take and return them."""


def _is_leaf(structure, is_leaf):
    return not isinstance(structure, (list, tuple, dict)) or (is_leaf is not None and is_leaf(structure))


def flatten(structure, is_leaf=None):
    """The leaves in order (dicts by sorted key, as Keras orders them); `is_leaf` can stop the descent
    (e.g. at shape tuples)."""
    if _is_leaf(structure, is_leaf):
        return [structure]
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key], is_leaf)]
    return [leaf for item in structure for leaf in flatten(item, is_leaf)]


def map_structure(fn, structure, is_leaf=None):
    """The same structure with `fn` applied to each leaf."""
    if _is_leaf(structure, is_leaf):
        return fn(structure)
    if isinstance(structure, dict):
        return {key: map_structure(fn, value, is_leaf) for key, value in structure.items()}
    return rebuilt(structure, [map_structure(fn, item, is_leaf) for item in structure])


def pack_like(structure, leaves, is_leaf=None):
    """Put `leaves` (in flatten's order) back into `structure`'s shape."""
    return _pack(structure, iter(leaves), is_leaf)


def _pack(structure, it, is_leaf):
    if _is_leaf(structure, is_leaf):
        return next(it)
    if isinstance(structure, dict):
        values = {key: _pack(structure[key], it, is_leaf) for key in sorted(structure)}
        return {key: values[key] for key in structure}
    return rebuilt(structure, [_pack(item, it, is_leaf) for item in structure])


def rebuilt(sequence, items):
    """A list or tuple of `sequence`'s type holding `items` (a namedtuple takes them as its fields)."""
    return type(sequence)(*items) if hasattr(sequence, "_fields") else type(sequence)(items)


def is_nested(structure):
    return isinstance(structure, (list, tuple, dict))
