"""Hashing: categories to one of num_bins buckets by a hash of their text, with no vocabulary to learn
or keep; for categories too many, or too new, to list. Different categories may share a bucket.
HashedCrossing: a bucket for each combination of several categorical features (a feature cross)."""
import numpy as np

from ..backend import float_dtype
from ..hashing import cross_bucket, hash_bucket
from ..tensor import Tensor
from .base import Layer
from .index_lookup import _salt, positive_int, symbolic_output
from .preprocessing import _DataLayer, _Encode, as_strings, encode_categories, encoded_shape, refuse_tensorflow_only


class Hashing(_DataLayer):
    """Each value's bucket in [0, num_bins): FarmHash64 of its text (integers as decimal text; floats
    truncated to integers first), or SipHash64 keyed by `salt`, modulo num_bins, as TensorFlow computes
    them, so buckets equal Keras's. With `mask_value`, that value gets bucket 0 and the others the buckets
    1 to num_bins - 1. The buckets are int64 ("int"), or encoded as CategoryEncoding does ("one_hot",
    "multi_hot", "count") as float vectors of num_bins."""

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, dtype=None, **kwargs):
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"Hashing output_mode must be 'int', 'one_hot', 'multi_hot' or 'count', got "
                             f"{output_mode!r}")
        dtype = dtype or ("int64" if output_mode == "int" else float_dtype())
        super().__init__(dtype=dtype, **kwargs)
        if not positive_int(num_bins):
            raise ValueError(f"Hashing num_bins must be a positive integer, got {num_bins!r}")
        if output_mode == "int" and self.dtype.name not in ("int32", "int64"):
            raise ValueError(f"Hashing in int mode outputs int32 or int64 buckets; got dtype={self.dtype.name!r}")
        refuse_tensorflow_only("Hashing", sparse=sparse)
        self.num_bins, self.mask_value, self.output_mode = int(num_bins), mask_value, output_mode
        self.salt = _salt(salt)

    def call(self, inputs):
        return _Encode(self)(inputs)  # redone for each new batch in a replayed step

    def _call_symbolic(self, inputs, args, training, kwargs):
        return symbolic_output(self, inputs, self.dtype, training, kwargs)

    def _encode(self, values):
        values = np.asarray(values.data if isinstance(values, Tensor) else values)
        if self.output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            values = values[..., 0]
        if self.output_mode in ("multi_hot", "count") and values.ndim > 2:
            raise ValueError(f"{self.name} in {self.output_mode} mode takes samples of shape (n, values) or (values,); "
                             f"got shape {values.shape}")
        buckets = self._buckets(values)
        if self.output_mode == "int":
            return buckets.astype(self.dtype)
        return encode_categories(buckets, self.output_mode, self.num_bins, self.dtype)

    def _buckets(self, values):
        texts = _texts(values)
        masked = None
        bins = self.num_bins
        if self.mask_value is not None and bins > 1:  # bucket 0 is the mask's
            masked, bins = self._masked(values, texts), bins - 1
        buckets = np.array([hash_bucket(t, bins, self.salt) for t in texts.reshape(-1).tolist()], dtype=np.int64)
        buckets = buckets.reshape(values.shape)
        return buckets if masked is None else np.where(masked, 0, buckets + 1)

    def _masked(self, values, texts):
        """Where the values equal mask_value, which must be of their kind (Keras's rule): text for strings,
        an integer for integers, a number for floats."""
        mask = self.mask_value.decode() if isinstance(self.mask_value, bytes) else self.mask_value
        kind = "string" if values.dtype.kind in "US" else "integer" if values.dtype.kind in "iub" else "float"
        fits = isinstance(mask, str) if kind == "string" else \
            isinstance(mask, (int, np.integer)) if kind == "integer" else isinstance(mask, (int, float, np.number))
        if not fits or isinstance(mask, bool):
            raise ValueError(f"{self.name}: mask_value {self.mask_value!r} cannot be compared with {kind} values")
        return texts == mask if kind == "string" else values == mask

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": False}


def _texts(values):
    """The text each value is hashed as (TensorFlow's as_string): strings as they are (bytes decoded),
    integers in decimal, floats truncated toward zero first, booleans as "true" and "false"."""
    if values.dtype.kind == "b":
        return np.where(values, "true", "false")
    if values.dtype.kind == "f":
        values = values.astype(np.int64)
    if values.dtype.kind in "iu":
        return values.astype(np.int64).astype(str)
    if values.dtype.kind in "US":
        return as_strings(values, "utf-8", owner="Hashing")
    raise TypeError(f"Hashing takes strings or numbers, got an array of dtype {values.dtype}")


class HashedCrossing(_DataLayer):
    """A list of two or more categorical features (integers or strings, each of shape (), (n,) or (n, 1),
    all alike) -> each sample's combination hashed to a bucket in [0, num_bins), as Keras's layer (TensorFlow's
    tf.sparse.cross_hashed) computes it, so ("red", "small") and ("red", "large") get buckets of their own
    for a linear model to weigh. Buckets are int64, of the features' shape ("int"), or one-hot float
    vectors of num_bins ("one_hot")."""

    __call__ = Layer.__call__  # takes a list of features, not a list as one batch

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None, **kwargs):
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"HashedCrossing output_mode must be 'int' or 'one_hot', got {output_mode!r}")
        super().__init__(name=name, dtype=dtype or ("int64" if output_mode == "int" else float_dtype()), **kwargs)
        if not positive_int(num_bins):
            raise ValueError(f"HashedCrossing num_bins must be a positive integer, got {num_bins!r}")
        refuse_tensorflow_only("HashedCrossing", sparse=sparse)
        self.num_bins, self.output_mode = int(num_bins), output_mode

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"HashedCrossing takes a list of two or more features, got "
                             f"{type(inputs).__name__ if not isinstance(inputs, (list, tuple)) else len(inputs)}")
        return _Encode(self)(*inputs)

    def _encode(self, *features):
        features = [np.asarray(f) for f in features]
        shape = features[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1) or any(f.shape != shape for f in features):
            raise ValueError(f"HashedCrossing features must share one shape, (), (n,) or (n, 1); got shapes "
                             f"{[f.shape for f in features]}")
        if not all(f.dtype.kind in "iuUS" or f.dtype == object for f in features):
            raise TypeError(f"HashedCrossing features must be integers or strings, got dtypes "
                            f"{[str(f.dtype) for f in features]}")
        rows = zip(*[f.reshape(-1).tolist() for f in features])
        buckets = np.array([cross_bucket(row, self.num_bins) for row in rows], dtype=np.int64).reshape(shape)
        if self.output_mode == "int":
            return buckets.astype(self.dtype)
        return encode_categories(buckets, "one_hot", self.num_bins, self.dtype)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape[0], self.output_mode, self.num_bins)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": False}
