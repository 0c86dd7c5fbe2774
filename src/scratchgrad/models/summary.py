"""Model.summary's table, laid out as Keras 3 lays out its own (keras/src/utils/summary_utils.py): the same
rows, columns, column widths and errors, drawn as plain text instead of rich's boxes."""
import numbers
import re
import shutil
import textwrap
from itertools import zip_longest

import numpy as np

# Keras's default line length and column ends (fractions of the line), by the number of columns before
# Trainable: three for a chain, four (with Connected to) for a graph
_DEFAULTS = {3: (88, (0.45, 0.80, 1.0)), 4: (108, (0.3, 0.56, 0.74, 1.0))}
_FIELDS = ("Layer (type)", "Output Shape", "Param #", "Connected to", "Trainable")  # a row's cells, in order
_ALIGN = {"Param #": ">", "Trainable": "^"}
_GAP = 2  # spaces closing each column, where Keras draws a border


def summary_text(model, line_length=None, positions=None, expand_nested=False, show_trainable=False,
                 layer_range=None):
    """The summary of `model` as one string (Model.summary's arguments)."""
    headers = ["Layer (type)", "Output Shape", "Param #"] + ["Connected to"] * (not model._sequential_like())
    ends = column_ends(len(headers), line_length, positions, show_trainable)
    headers += ["Trainable"] * bool(show_trainable)
    widths = _widths(headers, ends)
    start, stop = layer_index_range(model.layers, layer_range)
    line, thick = "_" * ends[-1], "=" * ends[-1]
    lines = [f'Model: "{model.name}"', line, *_row_lines(_shortened(headers, widths), headers, widths), thick]
    for layer, row in list(zip(model.layers, model._summary_rows()))[start:stop]:
        for cells in _expanded(layer, row, expand_nested):
            lines += _row_lines([cells[_FIELDS.index(h)] for h in headers], headers, widths)
    return "\n".join(lines + [thick, *_totals(model), line])


def column_ends(columns, line_length, positions, show_trainable):
    """Where each column ends, in characters, Trainable's last: Keras's default line length (capped by the
    terminal) and column ends, or those given. Positions all at most 1 are fractions of the line, as in
    Keras 3; larger ones are character counts, as Keras documents (tf.keras's reading; Keras 3 multiplies
    them by the line length all the same)."""
    _check_line_length(line_length)
    default_length, default_positions = _DEFAULTS[columns]
    positions = default_positions if positions is None else _checked_positions(positions, columns)
    room = 12 * bool(show_trainable)  # the characters Keras adds to its default line for Trainable
    if positions[-1] > 1:
        length = line_length or int(positions[-1]) + room
        if int(positions[-1]) > length:
            raise ValueError(f"positions end at {positions[-1]}, past line_length {length}")
        return [int(p) for p in positions] + [length] * bool(show_trainable)
    length = line_length or min(default_length + room, shutil.get_terminal_size().columns - 4)
    if show_trainable:  # Keras narrows the other columns by a tenth to make room
        positions = [p * 0.9 for p in positions] + [1.0]
    return [int(p * length) for p in positions]


def _check_line_length(line_length):
    if line_length is not None and (isinstance(line_length, bool) or not isinstance(line_length, numbers.Integral)
                                    or line_length < 1):
        raise ValueError(f"line_length must be a positive integer (characters per line), got {line_length!r}")


def _checked_positions(positions, columns):
    if not isinstance(positions, (list, tuple)) or len(positions) != columns or not all(
            isinstance(p, numbers.Real) and not isinstance(p, bool) and p > 0 for p in positions):
        raise ValueError(f"positions must be {columns} positive numbers, the end of each column (fractions of "
                         f"line_length, or characters when above 1), got {positions!r}")
    return list(positions)


def _widths(headers, ends):
    widths = [end - start for start, end in zip([0] + ends, ends)]
    for header, width in zip(headers, widths):
        if width < 4:  # Keras's message, then what made it
            raise ValueError(f"Insufficient console width to print summary: column {header!r} would be {width} "
                             f"characters wide (column ends {ends}); each needs at least 4")
    return widths


def layer_index_range(layers, layer_range):
    """[start, stop) of the layers to show, by Keras's rules: layer_range names the first and last layer
    (both shown) by regular expressions matched at the start of the name, from the first layer matching the
    first to the last matching the second (or, when that comes first, from the first matching the second to
    the last matching the first)."""
    if layer_range is None:
        return 0, len(layers)
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        length = f" of length {len(layer_range)}" if hasattr(layer_range, "__len__") else ""
        raise ValueError(f"layer_range must be a list or tuple of length 2. Received: layer_range = "
                         f"{layer_range!r}{length}")
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range!r}")
    first, last = ([i for i, layer in enumerate(layers) if re.match(pattern, layer.name)] for pattern in layer_range)
    if not first or not last:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: {layer_range!r}; "
                         f"the layers are {[layer.name for layer in layers]}")
    return (min(last), max(first) + 1) if min(first) > max(last) else (min(first), max(last) + 1)


def _expanded(layer, row, expand_nested, level=0):
    """The row of `layer`, then with expand_nested those of a nested model's layers, indented and marked as
    Keras marks them; their Connected to is "-" (the outer graph does not hold their links)."""
    name, *cells = row
    rows = [(("   " * level + "└ " if level else "") + name, *cells)]
    if expand_nested and hasattr(layer, "_summary_rows") and layer.layers:  # a nested model, not empty
        for sub, (sub_name, shape, params, _, trains) in zip(layer.layers, layer._summary_rows()):
            rows += _expanded(sub, (sub_name, shape, params, "-", trains), True, level + 1)
    return rows


def _shortened(headers, widths):
    """Headers cut to their columns with an ellipsis, as Keras cuts them: one line of headers."""
    return [h if len(h) <= width - _GAP else h[:width - _GAP - 1] + "…" for h, width in zip(headers, widths)]


def _row_lines(cells, headers, widths):
    """A row's text lines: a long cell wraps within its column, as in Keras."""
    wrapped = [textwrap.wrap(cell, width - _GAP) or [""] for cell, width in zip(cells, widths)]
    return ["".join(f"{part:{_ALIGN.get(header, '<')}{width - _GAP}}" + " " * _GAP
                    for part, header, width in zip(parts, headers, widths)).rstrip()
            for parts in zip_longest(*wrapped, fillvalue="")]


def _totals(model):
    total = model.count_params()
    trainable = sum(w.size for w in model.trainable_weights)
    itemsize = np.dtype(model.dtype).itemsize
    return [f"Total params: {total:,} ({_size(total * itemsize)})",
            f"Trainable params: {trainable:,} ({_size(trainable * itemsize)})",
            f"Non-trainable params: {total - trainable:,} ({_size((total - trainable) * itemsize)})"]


def _size(nbytes):
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
