"""Validation and conversion of what users pass to fit/evaluate/predict: checked once, up front."""
import numpy as np

from .utils import as_array


def features(x, dtype, input_shape=None):
    """x as an array of the input's dtype (floats, or integer ids for an Embedding), checked for
    emptiness, NaN/inf and feature shape; texts stay strings (for a TextVectorization layer)."""
    x = as_array(x, "x")
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x is empty (shape {x.shape}); expected at least one sample")
    if x.dtype.kind not in "biufUS":
        raise TypeError(f"x must hold numbers or strings, got dtype {x.dtype}")
    if x.dtype.kind not in "US":
        x = np.ascontiguousarray(x, dtype=dtype)
    if x.dtype.kind == "f" and not all_finite(x):
        raise ValueError(f"x contains NaN or infinite values ({np.count_nonzero(~np.isfinite(x))} of them)")
    if input_shape is not None:
        x = _adjusted_rank(x, input_shape)
    if input_shape is not None and (len(x.shape) != len(input_shape) or any(
            want is not None and got != want for got, want in zip(x.shape[1:], input_shape[1:]))):
        raise ValueError(f"the model expects inputs of shape {show_shape(input_shape)}, got x of shape {x.shape}")
    return x


def rank_change(x_shape, input_shape):
    """Keras's rule for what a model is given: +1 where x is one axis short of an input whose last size is 1
    ((n,) for (None, 1)), -1 where x has one axis more, of size 1; 0 otherwise."""
    if input_shape and len(x_shape) == len(input_shape) - 1 and input_shape[-1] == 1:
        return 1
    if len(x_shape) == len(input_shape) + 1 and x_shape and x_shape[-1] == 1:
        return -1
    return 0


def _adjusted_rank(x, input_shape):
    change = rank_change(x.shape, input_shape)
    return x[..., None] if change > 0 else x[..., 0] if change < 0 else x


def all_finite(a, chunk=1 << 20):
    """np.isfinite(a).all() without a mask as large as `a` (47 MB for MNIST's training images)."""
    flat = a.reshape(-1)
    return all(np.isfinite(flat[i:i + chunk]).all() for i in range(0, flat.size, chunk))


def as_samples(a, n, name):
    """An array given beside x, as an array of one entry per sample."""
    a = as_array(a, name)
    if a.ndim == 0 or len(a) != n:
        raise ValueError(f"x and {name} have different lengths: {n} samples in x, {len(a) if a.ndim else 0} in {name}")
    return a


def targets(y, n, loss, output_shape, dtype):
    """y checked against the loss and the model's output: label range, widths, values, length."""
    y = as_samples(y, n, "y")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"y must hold numbers, got dtype {y.dtype}; encode labels with LabelEncoder first")
    if y.dtype.kind == "f" and not all_finite(y):
        raise ValueError("y contains NaN or infinite values")
    units = output_shape[-1]
    if getattr(loss, "label_sequences", False):
        return _label_sequences(y, units, loss.name)
    if getattr(loss, "class_ids", False):
        return _class_ids(y, loss.name)
    if loss.sparse_targets:
        return _sparse_labels(y, units, loss.name, output_shape)
    name = loss.name
    if name == "categorical_crossentropy" and y.ndim == 1:
        raise ValueError(f"{name} needs one-hot targets of shape (n, {units}), got integer labels of shape "
                         f"{y.shape}; use sparse_categorical_crossentropy or to_categorical(y)")
    fits = len(y.shape) == len(output_shape) and all(want is None or got == want  # None: any length
                                                     for got, want in zip(y.shape[1:], output_shape[1:]))
    if not fits and not (y.ndim == 1 and tuple(output_shape[1:]) == (1,)):
        hint = f"; for {units} classes use sparse_categorical_crossentropy" if name == "binary_crossentropy" \
            and y.ndim == 1 else ""
        raise ValueError(f"{name}: targets of shape {y.shape} do not fit the model's output "
                         f"{show_shape(output_shape)}{hint}")
    if name in ("binary_crossentropy", "categorical_crossentropy") and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"{name} needs targets in [0, 1], got values in [{y.min()}, {y.max()}]")
    return np.ascontiguousarray(y if fits else y.reshape((n,) + tuple(output_shape[1:])), dtype=dtype)


def _class_ids(y, name):
    """One class id per sample, (n,) (or a column of them), of any integer value."""
    y = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1 or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise ValueError(f"{name} needs one integer class id per sample, shape (n,), got y of shape {y.shape} and "
                         f"dtype {y.dtype}")
    return y.astype(np.int64)


def _label_sequences(y, units, name):
    """Each sample's labels, (n, labels) class ids in [0, units) (0, the blank, pads them)."""
    if y.ndim != 2 or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise ValueError(f"{name} needs label sequences: integers of shape (n, labels), got y of shape {y.shape} "
                         f"and dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= units):
        raise ValueError(f"{name}: labels must lie in [0, {units}) for a {units}-unit output (0 is the blank), "
                         f"got labels in [{y.min():g}, {y.max():g}]")
    return y.astype(np.int64)


def _sparse_labels(y, units, name, output_shape):
    """One class label per output row: (n,) for (n, classes) outputs, (n, steps) for a sequence's."""
    per_sample = tuple(output_shape[1:-1])
    if y.ndim == len(per_sample) + 2 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.ndim != len(per_sample) + 1 or any(want is not None and got != want
                                            for got, want in zip(y.shape[1:], per_sample)):
        raise ValueError(f"{name} needs integer class labels of shape {show_shape((None,) + per_sample)}, got y "
                         f"of shape {y.shape}; for one-hot targets use categorical_crossentropy")
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise ValueError(f"{name} needs integer class labels, got non-integer values such as {y[y != np.round(y)][0]}")
    if units < 2:
        raise ValueError(f"{name} needs an output with one unit per class (>= 2), the model has {units}")
    if y.min() < 0 or y.max() >= units:
        raise ValueError(f"{name}: labels must lie in [0, {units}) for a {units}-unit output, "
                         f"got labels in [{y.min():g}, {y.max():g}]")
    return y.astype(np.int64)


def sample_weights(sample_weight, class_weight, y, n, sparse=False):
    """Per-sample weights from sample_weight or class_weight ({class: weight}), or None."""
    if sample_weight is not None and class_weight is not None:
        raise ValueError("class_weight and sample_weight cannot be given together (Keras refuses them too): "
                         "multiply each sample's weight by its class's weight and give that as sample_weight")
    weights = None
    if sample_weight is not None:
        weights = as_array(sample_weight, "sample_weight").astype(np.float64)
        if weights.ndim < 2 or weights.shape[0] != n or weights.shape[1] == 1:  # else one weight per time step
            weights = weights.reshape(-1)
        if len(weights) != n:
            raise ValueError(f"sample_weight has {len(weights)} entries for {n} samples (give one per sample, "
                             f"or one per sample and time step: shape ({n}, steps))")
    if class_weight:
        table = class_weights(class_weight)
        labels = y if sparse or y.ndim == 1 else y.argmax(axis=-1) if y.shape[-1] > 1 else y[..., 0].round()
        if labels.ndim != 1:
            raise ValueError(f"class_weight needs one class per sample; these targets have one per sample and time "
                             f"step (shape {y.shape}): weigh the steps with sample_weight of shape ({n}, steps)")
        weights = np.array([table.get(int(c), 1.0) for c in labels], dtype=np.float64)
    return weights


def class_weights(class_weight):
    """{class number: weight}. Keys may be integers or integral strings, as json.load gives them ({"0": 1.0});
    any other key is refused, since it would match no label and be ignored without a word."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class: weight}}, got {type(class_weight).__name__}")
    table = {}
    for key, weight in class_weight.items():
        number = _class_number(key)
        if number in table:
            raise ValueError(f"class_weight names class {number} twice (the last time as {key!r})")
        table[number] = float(weight)
    return table


def _class_number(key):
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool) or \
            isinstance(key, (float, np.floating)) and float(key).is_integer():
        return int(key)
    if isinstance(key, str) and key.isascii() and key.strip().lstrip("-").isdigit():
        return int(key)
    raise ValueError(f"class_weight keys must be class numbers (integers, or strings of them such as \"0\"), "
                     f"got {key!r}")


def check_batch_size(batch_size):
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return int(batch_size)


def show_shape(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")
