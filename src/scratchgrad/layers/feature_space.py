"""FeatureSpace (keras.utils.FeatureSpace): a table's columns (numbers, integer or string categories) to
one vector per row, each column by the preprocessing layer its type names, all adapted to the data in
one call. Crosses of columns are hashed into buckets of their own (HashedCrossing).

    space = FeatureSpace({"age": "float_normalized", "sex": "integer_categorical",
                          "thal": "string_categorical"}, crosses=[("sex", "age")])
    space.adapt(dict(train_df))          # a dict of columns (or a pandas DataFrame)
    x = space(dict(train_df))            # one float vector per row: Normalization's, then one-hot codes
    inputs, encoded = space.get_inputs(), space.get_encoded_features()   # the same, in a functional model

The layers are Keras's: Normalization, Rescaling, Discretization, IntegerLookup, StringLookup, Hashing,
HashedCrossing, then CategoryEncoding for one-hot codes; the vector holds the features by name, then
the crosses by name, as Keras concatenates them."""
import itertools

import numpy as np

from ..tensor import Tensor
from .base import Layer
from .core import Identity
from .hashing import HashedCrossing, Hashing
from .index_lookup import IntegerLookup, StringLookup
from .merging import Concatenate
from .preprocessing import CategoryEncoding, Discretization, Normalization, Rescaling, as_strings

ADAPT_BATCH = 32  # Keras adapts on a dict's rows in batches of 32: Discretization's bins depend on it
_names = itertools.count(1)


class Cross:
    """A cross of features, hashed into `crossing_dim` buckets ("one_hot" codes or "int" buckets)."""

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"a FeatureSpace cross's output_mode must be 'int' or 'one_hot', got {output_mode!r}")
        self.feature_names, self.crossing_dim, self.output_mode = tuple(feature_names), crossing_dim, output_mode

    @property
    def name(self):
        return "_X_".join(self.feature_names)

    def get_config(self):
        return {"feature_names": list(self.feature_names), "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Feature:
    """A column: the dtype it comes as, the layer that preprocesses it, and what that layer's output is
    ("float": used as it is; "one_hot": integer codes to one-hot vectors; "int": kept as codes)."""

    def __init__(self, dtype, preprocessor, output_mode):
        from . import deserialize

        if output_mode not in ("int", "one_hot", "float"):
            raise ValueError(f"a FeatureSpace feature's output_mode must be 'int', 'one_hot' or 'float', got "
                             f"{output_mode!r}")
        self.dtype, self.output_mode = dtype, output_mode
        self.preprocessor = deserialize(preprocessor) if isinstance(preprocessor, dict) else preprocessor

    def get_config(self):
        from . import serialize

        return {"dtype": self.dtype, "preprocessor": serialize(self.preprocessor), "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class FeatureSpace(Layer):
    """Preprocess and encode structured data (see the module's docstring). `features` maps each column's
    name to its type: a name ("float", "float_normalized", "float_rescaled", "float_discretized",
    "integer_categorical", "string_categorical", "integer_hashed", "string_hashed") or a Feature made by
    the class methods of those names (or `FeatureSpace.feature` around a layer of your own). `crosses`
    lists tuples of names (or `FeatureSpace.cross(...)`); `output_mode` "concat" gives one vector per
    row, "dict" each feature's encoding by name."""

    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32, hashing_dim=32,
                 num_discretization_bins=32, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not features:
            raise ValueError("FeatureSpace needs its features: a dict of column names to feature types, got none")
        if output_mode not in ("concat", "dict"):
            raise ValueError(f"FeatureSpace output_mode must be 'concat' or 'dict', got {output_mode!r}")
        self.output_mode, self.crossing_dim = output_mode, crossing_dim
        self.hashing_dim, self.num_discretization_bins = hashing_dim, num_discretization_bins
        self.features = {name: self._standardize_feature(name, value) for name, value in features.items()}
        self.crosses = [self._standardize_cross(cross) for cross in crosses or []]
        self.preprocessors = {name: feature.preprocessor for name, feature in self.features.items()}
        self.crossers = {cross.name: HashedCrossing(cross.crossing_dim, name=cross.name) for cross in self.crosses}
        self.inputs = {name: _input(name, feature.dtype) for name, feature in self.features.items()}
        self.one_hot_encoders, self.concat, self.encoded_features = {}, None, None
        self._is_adapted = not self._adaptable()

    # ---- feature types: Keras's class methods ------------------------------------------------
    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        return Cross(feature_names, crossing_dim, output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None):
        return Feature("float32", Identity(dtype="float32", name=_name(name, "float")), "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        return Feature("float32", Rescaling(scale, offset, name=_name(name, "float_rescaled")), "float")

    @classmethod
    def float_normalized(cls, name=None):
        return Feature("float32", Normalization(axis=-1, name=_name(name, "float_normalized")), "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot", name=None):
        layer = Discretization(bin_boundaries=bin_boundaries, num_bins=None if bin_boundaries else num_bins,
                               name=_name(name, "float_discretized"))
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        layer = IntegerLookup(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                              name=_name(name, "integer_categorical"))
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        layer = StringLookup(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                             name=_name(name, "string_categorical"))
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        return Feature("string", Hashing(num_bins, name=_name(name, "string_hashed")), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        return Feature("int32", Hashing(num_bins, name=_name(name, "integer_hashed")), output_mode)

    def _standardize_feature(self, name, feature):
        if isinstance(feature, dict):
            feature = Feature.from_config(feature.get("config", feature))
        if isinstance(feature, Feature):
            return feature
        makers = {"float": lambda: self.float(name=name), "float_normalized": lambda: self.float_normalized(name=name),
                  "float_rescaled": lambda: self.float_rescaled(name=name),
                  "float_discretized": lambda: self.float_discretized(self.num_discretization_bins, name=name),
                  "integer_categorical": lambda: self.integer_categorical(name=name),
                  "string_categorical": lambda: self.string_categorical(name=name),
                  "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
                  "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name)}
        if feature not in makers:
            raise ValueError(f"FeatureSpace feature {name!r}: unknown feature type {feature!r}; use one of "
                             f"{', '.join(makers)} or a FeatureSpace.feature(...)")
        return makers[feature]()

    def _standardize_cross(self, cross):
        if isinstance(cross, dict):
            cross = Cross.from_config(cross.get("config", cross))
        if not isinstance(cross, Cross):
            if not self.crossing_dim:
                raise ValueError("FeatureSpace crosses need crossing_dim, the number of buckets to hash them into")
            cross = Cross(cross, self.crossing_dim)
        unknown = [name for name in cross.feature_names if name not in self.features]
        if unknown:
            raise ValueError(f"FeatureSpace cross {cross.name!r} names features {unknown} that are not in features")
        return cross

    # ---- adapting ----------------------------------------------------------------------------
    def _adaptable(self):
        """The features whose layer learns from data (a Normalization or TextVectorization given its
        statistics or vocabulary, a Discretization given its boundaries, do not)."""
        return [name for name, layer in self.preprocessors.items() if hasattr(layer, "adapt") and not (
            getattr(layer, "given", None) is not None or getattr(layer, "_has_input_vocabulary", False)
            or (isinstance(layer, Discretization) and layer.num_bins is None))]

    def adapt(self, dataset):
        """Adapt each feature's layer to its column of `dataset`: a dict of columns (arrays or lists, one
        value per row) or a pandas DataFrame."""
        columns = _columns(dataset, "adapt")
        for name in self._adaptable():
            if name not in columns:
                raise ValueError(f"FeatureSpace.adapt: the data has no column {name!r}; it has {sorted(columns)}")
            values = self._column(name, columns[name])
            layer = self.preprocessors[name]
            if isinstance(layer, Normalization):
                layer.adapt(values)  # exact mean and variance, as Keras's merged batches give them
            else:  # Keras batches a column of scalars by 32, and takes a column of rows a row at a time
                size = ADAPT_BATCH if np.ndim(columns[name]) < 2 else 1
                layer.adapt(iter([values[i:i + size] for i in range(0, len(values), size)]))
        self._is_adapted = True
        self.get_encoded_features()
        self.built = True

    # ---- encoding ----------------------------------------------------------------------------
    def get_inputs(self):
        """One keras.Input of shape (1,) per feature, by name."""
        self.get_encoded_features()
        return self.inputs

    def get_encoded_features(self):
        """The encoding of get_inputs() (a symbolic tensor, or a dict of them in "dict" mode), to build a
        functional model on."""
        if not self._is_adapted:
            raise ValueError("call FeatureSpace.adapt(data) before using the FeatureSpace: its layers learn "
                             "from the data")
        if self.encoded_features is None:
            self.encoded_features = self._encode(self.inputs)
        return self.encoded_features

    def __call__(self, data):
        """The encoding of `data`, a dict of columns (or one row of values) or a pandas DataFrame."""
        self.get_encoded_features()
        columns = _columns(data, "a FeatureSpace call")
        missing = [name for name in self.features if name not in columns]
        if missing:
            raise ValueError(f"FeatureSpace: the data has no column {missing}; it has {sorted(columns)}")
        one_row = all(np.ndim(columns[name]) == 0 for name in self.features)
        encoded = self._encode({name: Tensor(self._column(name, columns[name])) for name in self.features})
        if one_row:  # Keras's: a row of scalars gives one vector, not a batch of one
            return {k: v[0] for k, v in encoded.items()} if isinstance(encoded, dict) else encoded[0]
        return encoded

    def _column(self, name, values):
        """A column as (rows, 1): text as str, floats in the feature's dtype, integers as they come (int64
        ids stay whole, as in Keras, where the column keeps its own dtype)."""
        values = np.asarray(values)
        values = values.reshape(1, 1) if values.ndim == 0 else values[:, None] if values.ndim == 1 else values
        dtype = self.features[name].dtype
        if dtype == "string":
            return as_strings(values, "utf-8", owner="FeatureSpace")
        return values if values.dtype.kind in "iu" and np.dtype(dtype).kind in "iu" else values.astype(dtype)

    def _encode(self, inputs):
        encoded = {name: self.preprocessors[name](inputs[name]) for name in self.features}
        crossed = {cross.name: self.crossers[cross.name]([encoded[n] for n in cross.feature_names])
                   for cross in self.crosses}
        specs = {**self.features, **{cross.name: cross for cross in self.crosses}}
        merged = {**encoded, **crossed}
        names = sorted(encoded) + sorted(crossed)
        out = {name: self._one_hot(name, merged[name]) if specs[name].output_mode == "one_hot" else merged[name]
               for name in names}
        if self.output_mode == "dict":
            return out
        for name in names:
            if out[name].dtype.kind in "iuUS":
                raise ValueError(f"FeatureSpace cannot concatenate feature {name!r}: it is not encoded (dtype "
                                 f"{out[name].dtype}); use output_mode='dict'")
        if len(names) == 1:
            return out[names[0]]
        self.concat = self.concat or Concatenate(axis=-1, name=f"{self.name}_concat")
        return self.concat([out[name] for name in names])

    def _one_hot(self, name, codes):
        """Integer codes as one-hot vectors as wide as the layer's number of codes (CategoryEncoding)."""
        if name not in self.one_hot_encoders:
            layer = self.preprocessors.get(name) or self.crossers[name]
            if codes.dtype.kind not in "iu":
                raise ValueError(f"FeatureSpace feature {name!r} has output_mode='one_hot', so its layer must give "
                                 f"integer codes; it gives {codes.dtype}")
            self.one_hot_encoders[name] = CategoryEncoding(_cardinality(name, layer), output_mode="multi_hot",
                                                           name=f"{name}_one_hot")
        return self.one_hot_encoders[name](codes)

    # ---- config ------------------------------------------------------------------------------
    def get_config(self):
        """Keras's keys; each feature's layer with its config (a learned vocabulary included)."""
        return {"features": {name: {"class_name": "Feature", "config": feature.get_config()}
                                                for name, feature in self.features.items()},
                "output_mode": self.output_mode,
                "crosses": [{"class_name": "Cross", "config": cross.get_config()} for cross in self.crosses],
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins}


def _cardinality(name, layer):
    if isinstance(layer, (IntegerLookup, StringLookup)):
        return layer.vocabulary_size()
    if isinstance(layer, CategoryEncoding):
        return layer.num_tokens
    if isinstance(layer, Discretization):
        return layer.num_bins if layer.num_bins is not None else len(layer.bin_boundaries) + 1
    if isinstance(layer, (Hashing, HashedCrossing)):
        return layer.num_bins
    raise ValueError(f"FeatureSpace feature {name!r} has output_mode='one_hot', but how many codes its layer "
                     f"({type(layer).__name__}) gives is not known; use output_mode='int'")


def _columns(data, what):
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):  # a pandas DataFrame
        return {name: data[name].to_numpy() for name in data.columns}
    if not isinstance(data, dict):
        raise ValueError(f"{what} takes a dict of columns (or a pandas DataFrame), got {type(data).__name__}")
    return data


def _input(name, dtype):
    from .core import Input

    return Input(shape=(1,), dtype=dtype, name=name)


def _name(name, kind):
    return f"{name or f'{kind}_{next(_names)}'}_preprocessor"
