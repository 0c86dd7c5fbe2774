"""Preprocessing and augmentation layers: scaling and cropping inside the model, so a saved model takes
raw data, and random flips that show the model more variety in training."""
import itertools

import numpy as np

from .. import ops
from ..autograd import Function
from ..backend import array_module, epsilon, float_dtype
from ..random import get_rng
from ..tensor import Tensor
from ..utils import as_array
from .base import Layer
from .image_preprocessing import _ImageLayer


class Rescaling(Layer):
    """x · scale + offset, e.g. Rescaling(1 / 255) for pixel values."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, x):
        return x * float(self.scale) + float(self.offset)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Normalization(Layer):
    """(x - mean) / √variance per feature (along `axis`), with the statistics given or learned from
    data by `adapt(data)` (they are non-trainable weights, saved with the model); `invert=True` undoes it."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization needs both mean and variance, or neither (then call adapt())")
        self.axis, self.invert = axis, invert
        self.given = None if mean is None else (np.asarray(mean, np.float64), np.asarray(variance, np.float64))

    def build(self, input_shape):
        shape = [1] * len(input_shape)
        shape[self.axis] = input_shape[self.axis]
        self.mean = self.add_weight(tuple(shape[1:]), "zeros", trainable=False, name="mean")
        self.variance = self.add_weight(tuple(shape[1:]), "ones", trainable=False, name="variance")
        if self.given is not None:
            self.mean.assign(np.broadcast_to(self.given[0], self.mean.shape))
            self.variance.assign(np.broadcast_to(self.given[1], self.variance.shape))

    def adapt(self, data):
        """Learn the mean and variance of each feature from `data` (an array of samples)."""
        data = as_array(data, "data").astype(np.float64)
        if not self.built:
            self._ensure_built(Layer._as_tensor(self, data[:1]))
        axes = tuple(i for i in range(data.ndim) if i != self.axis % data.ndim)
        self.mean.assign(data.mean(axis=axes).reshape(self.mean.shape))
        self.variance.assign(data.var(axis=axes).reshape(self.variance.shape))

    def call(self, x):
        std = ops.maximum(ops.sqrt(self.variance), epsilon())  # Keras's floor: a constant feature stays finite
        return x * std + self.mean if self.invert else (x - self.mean) / std

    def get_config(self):
        config = {**super().get_config(), "axis": self.axis, "invert": self.invert}
        if self.given is not None:
            config.update(mean=self.given[0].tolist(), variance=self.given[1].tolist())
        return config


class CenterCrop(_ImageLayer):
    """The central height × width of each image (channels_last); inputs smaller than that are refused."""

    def __init__(self, height, width, data_format=None, **kwargs):
        from .convolutional import standard_data_format

        super().__init__(**kwargs)
        self.height, self.width, self.data_format = height, width, standard_data_format(data_format)

    def _transform_images(self, x, training):
        if x.ndim == 3:  # one image, no batch axis
            return ops.squeeze(self._transform_images(ops.expand_dims(x, 0), training), 0)
        h_axis = 2 if self.data_format == "channels_first" else 1
        h, w = x.shape[h_axis], x.shape[h_axis + 1]
        if h < self.height or w < self.width:
            raise ValueError(f"{self.name}: images of {h}x{w} are smaller than the crop {self.height}x{self.width}")
        top, left = (h - self.height) // 2, (w - self.width) // 2
        index = [slice(None)] * 4
        index[h_axis], index[h_axis + 1] = slice(top, top + self.height), slice(left, left + self.width)
        return x[tuple(index)]

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}


class _Flip(Function):
    """Flip each image of the batch with probability ½ along the given axes (its own draw per image)."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        self.flips = [get_rng().random(x.shape[0]) < 0.5 for _ in self.axes]
        return self._apply(x)

    def _apply(self, a):
        xp = array_module(a)
        for axis, chosen in zip(self.axes, self.flips):
            mask = xp.asarray(chosen).reshape((-1,) + (1,) * (a.ndim - 1))
            a = xp.where(mask, xp.flip(a, axis=axis), a)
        return a

    def backward(self, gy):
        return self._apply(gy)  # each flip is its own inverse


class RandomFlip(_ImageLayer):
    """In training, flip each image left-right ("horizontal"), upside down ("vertical") or either, each
    with probability ½: the same object seen mirrored. The identity in inference. As Keras's image
    augmentations, called directly (training not given, by the call or an enclosing model's) it flips;
    fit trains with it and predict and evaluate pass training=False."""

    MODES = {"horizontal": (2,), "vertical": (1,), "horizontal_and_vertical": (1, 2)}  # axes, channels last

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        from .convolutional import standard_data_format

        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"RandomFlip mode must be one of {', '.join(self.MODES)}, got {mode!r}")
        self.mode, self.data_format = mode, standard_data_format(data_format)

    def _transform_images(self, x, training):
        if not training:
            return x
        axes = tuple(a + (self.data_format == "channels_first") for a in self.MODES[self.mode])
        if x.ndim == 3:  # one image, no batch axis
            return ops.squeeze(_Flip(axes)(ops.expand_dims(x, 0)), 0)
        return _Flip(axes)(x)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "data_format": self.data_format}


def adapt_batches(data, steps, owner, what):
    """The batches adapt() learns from: an array (or list) is one batch, whatever `steps` says (as in Keras);
    a PyDataset gives its batches by index, any other iterable in turn (at most `steps` of them)."""
    if one_batch(data):
        return [data]
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        count = len(data) if steps is None else min(steps, len(data))
        return (data[i] for i in range(count))
    if hasattr(data, "__iter__"):
        return itertools.islice(data, steps)
    raise TypeError(f"{owner}.adapt takes {what}, an array of them or an iterable of batches, got "
                    f"{type(data).__name__}")


def refuse_tensorflow_only(owner, **flags):
    """Keras's sparse=True (a SparseTensor) and ragged=True (a RaggedTensor) need TensorFlow: refused,
    saying what to pass instead."""
    kinds = {"sparse": "a SparseTensor", "ragged": "a RaggedTensor"}
    for option, flag in flags.items():
        if flag:
            raise ValueError(f"{owner}: {option}=True ({kinds[option]}) needs TensorFlow; scratchgrad outputs dense "
                             f"arrays, so pass {option}=False")


def one_batch(data):
    """Whether adapt() takes `data` as one batch (arrays, lists, pandas objects) rather than a stream of them."""
    return isinstance(data, (str, bytes, list, tuple, np.ndarray, Tensor)) or hasattr(data, "to_numpy")


def encode_categories(values, output_mode, depth, dtype, weights=None):
    """Integer categories in [0, depth) encoded as Keras encodes them: "one_hot" one row per value (a last
    axis of 1 is replaced), "multi_hot" 1 where a category occurs in a sample (along axis 1), "count" how
    often (times `weights`, of values' shape, when given)."""
    values = values.astype(np.int64).reshape(values.shape or (1,))
    if output_mode == "one_hot":
        return _one_hot(values[..., 0] if values.ndim > 1 and values.shape[-1] == 1 else values, depth, dtype)
    hits = _one_hot(values, depth, dtype if weights is None else weights.dtype)
    if weights is not None:
        hits *= weights.reshape(values.shape)[..., None]
    axis = 1 if values.ndim > 1 else 0
    return hits.max(axis=axis) if output_mode == "multi_hot" else hits.sum(axis=axis, dtype=hits.dtype)


def _one_hot(values, depth, dtype):
    out = array_module(values).zeros(values.shape + (depth,), dtype)  # values.size·depth: never depth²
    array_module(values).put_along_axis(out, values[..., None], 1, axis=-1)
    return out


def encoded_shape(input_shape, output_mode, depth):
    shape = tuple(input_shape)
    if output_mode == "int":
        return shape
    if output_mode == "one_hot":
        return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
    return shape[:1] + shape[2:] + (depth,) if len(shape) > 1 else (depth,)


class _Encode(Function):
    """Inputs (texts, categories, values to bin or cross) -> the layer's `_encode` of them, in forward, so a
    recorded step redoes it for each new batch; no gradient flows back to them."""

    differentiable = False

    def __init__(self, layer):
        self.layer = layer

    def forward(self, *values):
        return self.layer._encode(*values)


class _WeightedCount(Function):
    """CategoryEncoding's counts weighted by count_weights (an input of the step, so a replayed step takes
    each batch's); a weight's gradient is the output gradient at its category, as through Keras's
    one_hot · weights."""

    def __init__(self, layer):
        self.layer = layer

    def forward(self, values, weights):
        self.values, self.weights_shape = values.astype(np.int64).reshape(values.shape or (1,)), weights.shape
        return self.layer._encode(values, weights)

    def backward(self, gy):
        xp = array_module(gy)
        spread = xp.expand_dims(gy, 1 if self.values.ndim > 1 else 0)  # the gradient of each value's row of hits
        picked = xp.take_along_axis(spread, self.values[..., None], axis=-1)[..., 0]
        return None, picked.reshape(self.weights_shape)


class _DataLayer(Layer):
    """A layer that takes data as it comes: a list is one batch (not a structure of inputs), strings in an
    object array (a pandas column's values) become a str array, and the values keep their dtype
    (categories stay integers)."""

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, (list, tuple)):
            inputs = np.asarray(inputs)
        if isinstance(inputs, np.ndarray) and inputs.dtype == object:
            inputs = as_strings(inputs, "utf-8", owner=type(self).__name__)
        return super().__call__(inputs, *args, **kwargs)

    def _as_tensor(self, value):
        return value if value is None or isinstance(value, Tensor) else Tensor(np.asarray(value))


class CategoryEncoding(_DataLayer):
    """Integer categories in [0, num_tokens) to vectors of num_tokens (see encode_categories), counts
    weighted by `count_weights=` when given."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        output_mode = "multi_hot" if output_mode == "binary" else output_mode  # Keras's old name
        if output_mode not in ("one_hot", "multi_hot", "count"):
            raise ValueError(f"CategoryEncoding output_mode must be 'one_hot', 'multi_hot' or 'count', got "
                             f"{output_mode!r}")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, (int, np.integer)) or num_tokens < 1:
            raise ValueError(f"CategoryEncoding num_tokens must be a positive int (use IntegerLookup when the "
                             f"categories are not known in advance), got {num_tokens!r}")
        if sparse:
            raise NotImplementedError("CategoryEncoding(sparse=True): scratchgrad has no sparse tensors")
        self.num_tokens, self.output_mode = int(num_tokens), output_mode

    def call(self, inputs, count_weights=None):
        if count_weights is None:
            return _Encode(self)(inputs)
        if self.output_mode != "count":
            raise ValueError(f"CategoryEncoding takes count_weights in 'count' mode only, not {self.output_mode!r}")
        dtype = self.dtype or float_dtype()
        weights = count_weights if isinstance(count_weights, Tensor) else Tensor(np.asarray(count_weights), dtype=dtype)
        return _WeightedCount(self)(inputs, weights if weights.dtype == dtype else ops.cast(weights, dtype))

    def _encode(self, values, weights=None):
        if values.dtype.kind not in "iub" and not (values == array_module(values).round(values)).all():
            raise ValueError(f"{self.name} takes integer categories, got values of dtype {values.dtype}")
        if values.size and (values.min() < 0 or values.max() >= self.num_tokens):
            raise ValueError(f"{self.name} takes categories in [0, {self.num_tokens}), got values from "
                             f"{values.min()} to {values.max()}")
        return encode_categories(values, self.output_mode, self.num_tokens, self.dtype or float_dtype(), weights)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}


class Discretization(_DataLayer):
    """Real values to bins: bin i holds boundaries[i-1] <= x < boundaries[i], as an index ("int", int32) or
    encoded as CategoryEncoding does ("one_hot", "multi_hot", "count"). The boundaries are given, or
    adapt(data) learns num_bins bins of about equal counts (Keras's approximate quantiles, to `epsilon`)."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"Discretization output_mode must be 'int', 'one_hot', 'multi_hot' or 'count', got "
                             f"{output_mode!r}")
        if (bin_boundaries is None) == (num_bins is None):
            raise ValueError(f"Discretization takes bin_boundaries or num_bins (then call adapt()), one of them: got "
                             f"bin_boundaries={bin_boundaries!r}, num_bins={num_bins!r}")
        if num_bins is not None and (isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer))
                                     or num_bins < 0):
            raise ValueError(f"Discretization num_bins must be an int >= 0, got {num_bins!r}")
        if sparse:
            raise NotImplementedError("Discretization(sparse=True): scratchgrad has no sparse tensors")
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        if self.bin_boundaries is not None and self.bin_boundaries != sorted(self.bin_boundaries):
            raise ValueError(f"Discretization bin_boundaries must be sorted, got {bin_boundaries!r}")
        self.num_bins, self.epsilon, self.output_mode = num_bins, epsilon, output_mode

    def adapt(self, data, steps=None):
        """Learn num_bins - 1 boundaries from `data` (an array, or an iterable of batches): each batch is
        summarized by every (n·epsilon)-th sorted value, summaries are merged, and the boundaries are the
        merged summary's quantiles at 1/num_bins, 2/num_bins, ..."""
        if self.num_bins is None:
            raise ValueError("Discretization made with bin_boundaries cannot adapt(): make it with num_bins")
        summary = np.zeros((2, 0), np.float32)
        batches = itertools.islice(data, steps) if isinstance(data, (list, tuple)) else \
            adapt_batches(data, steps, "Discretization", "numbers")  # Keras: a list is a sequence of batches
        for batch in batches:
            batch_summary = _quantile_summary(np.asarray(as_array(batch), np.float32), self.epsilon)
            merged = np.concatenate([batch_summary, summary], axis=1)
            summary = _compressed(merged[:, np.argsort(merged[0])], self.epsilon)
        self.bin_boundaries = _compressed(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"{self.name} has no bin boundaries yet: call adapt(data) first")
        return _Encode(self)(inputs)

    def _encode(self, values, weights=None):
        xp = array_module(values)
        bins = xp.digitize(values, xp.asarray(self.bin_boundaries, dtype=np.float64)).astype(np.int32)
        if self.output_mode == "int":
            return bins
        return encode_categories(bins, self.output_mode, len(self.bin_boundaries) + 1, self.dtype or float_dtype())

    def compute_output_shape(self, input_shape):
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        return encoded_shape(input_shape, self.output_mode, depth)

    def _call_symbolic(self, inputs, args, training, kwargs):
        unadapted = self.bin_boundaries is None
        if unadapted:  # a model may be built before adapt(): num_bins gives the output's shape
            self.bin_boundaries = [0.0] * max(self.num_bins - 1, 0)
        try:
            return super()._call_symbolic(inputs, args, training, kwargs)
        finally:
            if unadapted:
                self.bin_boundaries = None

    def get_config(self):
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        """Keras's: a config with both (an adapted layer's) keeps the learned boundaries and num_bins."""
        config = dict(config)
        boundaries = config.pop("bin_boundaries") if config.get("num_bins") is not None else None
        layer = cls(**config) if boundaries is None else cls(**{**config, "bin_boundaries": None})
        if boundaries is not None:
            layer.bin_boundaries = [float(b) for b in boundaries]
        return layer


def _quantile_summary(values, epsilon):
    """Every step-th of the sorted values (step = n·epsilon, at least 1), each standing for step values."""
    values = np.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)  # Keras's arithmetic: int() then truncates alike
    points = values[int(step - 1)::int(step)]
    return np.stack([points, np.full_like(points, step)])


def _compressed(summary, epsilon):
    """A summary (sorted values; the count each stands for) cut to 1/epsilon points at the cumulative
    fractions epsilon, 2·epsilon, ..., 1, by linear interpolation (unchanged when already that small)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    points = np.interp(fractions, cumulative / cumulative[-1], summary[0])
    reached = np.interp(fractions, cumulative / cumulative[-1], cumulative)
    return np.stack([points, np.diff(reached, prepend=0)]).astype(np.float32)


def as_strings(value, encoding, what="inputs", owner="a layer"):
    """`value` (a str, a list of them, an array or Tensor of str or bytes) as a NumPy array of str."""
    try:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
    except ValueError as err:
        raise ValueError(f"{owner} {what} must be a string or a rectangular batch of them: {err}") from None
    if array.dtype.kind == "S":
        return np.char.decode(array, encoding)
    if array.size == 0:  # np.asarray([]) is float
        return array.astype(str)
    if array.dtype == object and all(isinstance(v, (str, bytes)) for v in array.flat):
        flat = [v.decode(encoding) if isinstance(v, bytes) else v for v in array.flat]
        return np.array(flat, dtype=str).reshape(array.shape)
    if array.dtype.kind != "U":
        raise TypeError(f"{owner} {what} must be strings (str or bytes), got an array of dtype {array.dtype}")
    return array
