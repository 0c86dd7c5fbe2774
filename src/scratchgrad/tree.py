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


def map_structure(fn, *structures, none_is_leaf=True, is_leaf=None):
    """The structure with fn applied to each leaf; given several structures of one shape, fn takes their
    leaves side by side (Keras's keras.tree.map_structure). none_is_leaf=False keeps None as it is."""
    if not structures:
        raise TypeError("map_structure needs at least one structure")
    for other in structures[1:]:
        assert_same_structure(structures[0], other)
    return _mapped(fn, structures, none_is_leaf, is_leaf)


def _mapped(fn, structures, none_is_leaf, is_leaf):
    first = structures[0]
    if not none_is_leaf and any(s is None for s in structures):
        if all(s is None for s in structures):
            return None
        raise ValueError("map_structure with none_is_leaf=False: some arguments are None, others are not")
    if _is_leaf(first, is_leaf):
        return fn(*structures)
    if isinstance(first, dict):
        return {key: _mapped(fn, [s[key] for s in structures], none_is_leaf, is_leaf) for key in first}
    return rebuilt(first, [_mapped(fn, items, none_is_leaf, is_leaf) for items in zip(*structures)])


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


# ---- the rest of keras.tree --------------------------------------------------------------------------------
class MAP_TO_NONE:
    """What a traverse function returns to put None in a node's place (returning None means: go on)."""


def assert_same_structure(a, b, check_types=None):
    """Raise ValueError where a and b differ in nesting: node types (a list is not a tuple), lengths or dict
    keys; leaves may differ."""
    if _is_leaf(a, None) and _is_leaf(b, None):
        return
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):  # an OrderedDict is a dict
        raise ValueError(f"Node type mismatch; expected {type(a)}, but got {type(b)}.")
    if isinstance(a, dict):
        if set(a) != set(b):
            raise ValueError(f"Node keys mismatch; missing key(s): {set(a) - set(b)}; extra key(s): "
                             f"{set(b) - set(a)}.")
        for key in a:
            assert_same_structure(a[key], b[key])
        return
    if len(a) != len(b):
        raise ValueError(f"Node arity mismatch; expected {len(a)}, but got {len(b)}.")
    for x, y in zip(a, b):
        assert_same_structure(x, y)


def flatten_with_path(structure):
    """(path, leaf) pairs in flatten's order: a path is the tuple of indices and dict keys leading to it."""
    if _is_leaf(structure, None):
        return [((), structure)]
    keys = sorted(structure) if isinstance(structure, dict) else range(len(structure))
    return [((key,) + path, leaf) for key in keys for path, leaf in flatten_with_path(structure[key])]


def assert_same_paths(a, b):
    """Raise ValueError unless a and b have leaves at the same paths (node types may differ)."""
    paths_a, paths_b = ({path for path, _ in flatten_with_path(s)} for s in (a, b))
    if paths_a != paths_b:
        raise ValueError(f"`a` and `b` don't have the same paths.\nPaths in `a` missing in `b`:\n{paths_a - paths_b}"
                         f"\nPaths in `b` missing in `a`:\n{paths_b - paths_a}")


def pack_sequence_as(structure, flat_sequence):
    """flat_sequence's items put in structure's places (flatten's order), checking there are as many."""
    leaves = len(flatten(structure))
    if len(flat_sequence) != leaves:
        raise ValueError(f"pack_sequence_as: the structure holds {leaves} leaves, got {len(flat_sequence)} items")
    return pack_like(structure, list(flat_sequence))


def map_structure_up_to(shallow_structure, func, *structures):
    """func applied, at each leaf of shallow_structure, to what the structures hold there (which may be
    nested further)."""
    if _is_leaf(shallow_structure, None):
        return func(*structures)
    keys = list(shallow_structure) if isinstance(shallow_structure, dict) else range(len(shallow_structure))
    for s in structures:
        if type(s) is not type(shallow_structure) or (isinstance(s, dict) and set(keys) != set(s)) or \
                (not isinstance(s, dict) and len(s) != len(shallow_structure)):
            raise ValueError(f"map_structure_up_to: a structure does not follow the shallow structure: "
                             f"{type(shallow_structure).__name__} {shallow_structure!r} against {s!r}")
    parts = [map_structure_up_to(shallow_structure[k], func, *(s[k] for s in structures)) for k in keys]
    return dict(zip(keys, parts)) if isinstance(shallow_structure, dict) else rebuilt(shallow_structure, parts)


def traverse(func, structure, top_down=True):
    """func on every node, leaves and containers. Top down: a result other than None replaces the node (its
    inside is not visited), None visits its inside, MAP_TO_NONE puts None there. Bottom up: the inside
    first, then func on the rebuilt node; None keeps it."""
    def visit(node):
        if top_down:
            result = func(node)
            if result is MAP_TO_NONE:
                return None
            if result is not None or _is_leaf(node, None):
                return node if result is None else result
            return _children_mapped(node, visit)
        node = node if _is_leaf(node, None) else _children_mapped(node, visit)
        result = func(node)
        return None if result is MAP_TO_NONE else node if result is None else result

    return visit(structure)


def _children_mapped(node, fn):
    if isinstance(node, dict):
        return {key: fn(value) for key, value in node.items()}
    return rebuilt(node, [fn(item) for item in node])


def lists_to_tuples(structure):
    """Every list in the structure made a tuple."""
    if _is_leaf(structure, None):
        return structure
    inside = _children_mapped(structure, lists_to_tuples)
    return tuple(inside) if isinstance(inside, list) else inside


def _is_shape(value):
    return isinstance(value, (list, tuple)) and all(d is None or isinstance(d, int) for d in value)


def map_shape_structure(func, structure):
    """map_structure with shapes (tuples or lists of ints and None) taken as leaves."""
    return map_structure(func, structure, is_leaf=_is_shape)
