"""StringLookup and IntegerLookup: categories (strings, or integers such as ids) to their indices in a
vocabulary, or to vectors as wide as it, for an Embedding or a Dense; `invert=True` maps indices back.
The vocabulary is given or learned by adapt(), and kept in the layer's config, so a saved model takes
raw categories. TextVectorization looks its tokens up with a StringLookup. Keras's rules throughout:
the reserved indices (the mask token's, then the out-of-vocabulary ones), the learned vocabulary's
order, out-of-vocabulary values spread over several indices by hashing, the tf-idf weights."""
import codecs
import os
from collections import Counter

import numpy as np

from ..backend import float_dtype
from ..hashing import hash_bucket
from ..symbolic import Node, SymbolicTensor
from ..tensor import Tensor
from .preprocessing import (
    _DataLayer,
    _Encode,
    adapt_batches,
    as_strings,
    encode_categories,
    encoded_shape,
    one_batch,
    refuse_tensorflow_only,
)

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
OLD_MODE_NAMES = {"binary": "multi_hot", "tf-idf": "tf_idf"}  # Keras still accepts them
MASKED = -1  # a masked value's index before encoding: dropped from multi_hot, count and tf_idf vectors


class IndexLookup(_DataLayer):
    """The vocabulary and the lookup shared by StringLookup and IntegerLookup (and TextVectorization).

    Indices: in "int" mode the mask token (when set) is 0; then come `num_oov_indices` indices for values
    out of the vocabulary (one: all of them; several: each value hashed to one, FarmHash64 or, with a
    `salt`, SipHash64, as TensorFlow does; integers by value % n unless oov_method="farmhash"; none:
    such a value is an error); then the vocabulary's terms. The other modes encode those indices
    ("one_hot" each value, "multi_hot"/"count"/"tf_idf" each sample's last axis) into float vectors of
    vocabulary_size() (max_tokens with pad_to_max_tokens), where the mask token is dropped."""

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=None, idf_weights=None,
                 invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False, oov_method="floormod",
                 salt=None, vocabulary_size=None, has_input_vocabulary=None, **kwargs):
        super().__init__(**kwargs)
        self.max_tokens, self.num_oov_indices = max_tokens, num_oov_indices
        self.mask_token, self.oov_token, self.invert = mask_token, oov_token, invert
        self.output_mode = OLD_MODE_NAMES.get(output_mode, output_mode)
        self.pad_to_max_tokens, self.oov_method, self.salt = pad_to_max_tokens, oov_method, _salt(salt)
        self._check_arguments(sparse, idf_weights)
        self._has_input_vocabulary = vocabulary is not None if has_input_vocabulary is None else has_input_vocabulary
        self._frozen_size = vocabulary_size  # the size recorded when a vocabulary was last set (Keras's config)
        self._set_tokens(self._terms([], "vocabulary"), None)  # until one is set, every value is out of it
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError(f"{self._owner}: idf_weights need the vocabulary they weigh; got no vocabulary")

    @property
    def _owner(self):
        """The class named in messages (TextVectorization's lookup names TextVectorization)."""
        return type(self).__name__

    def _check_arguments(self, sparse, idf_weights):
        """Raise ValueError naming the first argument Keras (or scratchgrad's dense arrays) refuses."""
        name = self._owner
        if self.max_tokens is not None and not (positive_int(self.max_tokens) and self.max_tokens > 1):
            raise ValueError(f"{name} max_tokens must be None or an integer > 1, got {self.max_tokens!r}")
        if self.pad_to_max_tokens and self.max_tokens is None:
            raise ValueError(f"{name} pad_to_max_tokens=True needs max_tokens, the width to pad to; got None")
        if not (positive_int(self.num_oov_indices) or self.num_oov_indices == 0):
            raise ValueError(f"{name} num_oov_indices must be an integer >= 0, got {self.num_oov_indices!r}")
        if self.output_mode not in OUTPUT_MODES:
            raise ValueError(f"{name} output_mode must be one of {OUTPUT_MODES}, got {self.output_mode!r}")
        if self.invert and self.output_mode != "int":
            raise ValueError(f"{name} invert=True maps indices back to terms: output_mode must be 'int', got "
                             f"{self.output_mode!r}")
        refuse_tensorflow_only(name, sparse=sparse)
        if idf_weights is not None and self.output_mode != "tf_idf":
            raise ValueError(f"{name} takes idf_weights in tf_idf mode only, not {self.output_mode!r}")
        if self.oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{name} oov_method must be 'floormod' or 'farmhash', got {self.oov_method!r}")
        for token, what in ((self.mask_token, "mask_token"), (self.oov_token, "oov_token")):
            if token is not None and not self._is_term(token):
                raise ValueError(f"{name} {what} must be {'an integer' if self._integer_terms else 'a string'} or "
                                 f"None, got {token!r}")
        if self.salt is not None and self._integer_terms and self.oov_method != "farmhash":
            raise ValueError(f"{name}: a salt seeds the hash of oov_method='farmhash'; got oov_method="
                             f"{self.oov_method!r}")

    # ---- the vocabulary ----------------------------------------------------------------------
    def _oov_start(self):
        return int(self.mask_token is not None and self.output_mode == "int")

    def _token_start(self):
        return self._oov_start() + self.num_oov_indices

    def _special_tokens(self):
        return [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices

    def get_vocabulary(self, include_special_tokens=True):
        """The terms by index: the mask token and out-of-vocabulary tokens first, unless
        include_special_tokens=False."""
        tokens = self._tokens.tolist()
        return self._special_tokens() + tokens if include_special_tokens else tokens

    def vocabulary_size(self):
        """The number of indices, reserved ones included."""
        return self._token_start() + len(self._tokens)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Use `vocabulary` (its terms, optionally led by exactly the reserved tokens; or the path of a file
        of one term per line) and, in tf_idf mode, its `idf_weights`, one per term given (reserved tokens
        not given get the weights' mean, as in Keras)."""
        if (self.output_mode == "tf_idf") != (idf_weights is not None):
            raise ValueError(f"{self._owner}: idf_weights must be given exactly in tf_idf mode; got "
                             f"{'none' if idf_weights is None else 'some'} with output_mode={self.output_mode!r}")
        from_file = isinstance(vocabulary, (str, os.PathLike))
        if from_file:
            vocabulary = self._read_vocabulary(vocabulary)
        terms = self._terms(vocabulary, "vocabulary")
        if terms.ndim != 1 or terms.size == 0:
            raise ValueError(f"{self._owner}: the vocabulary must be a non-empty list of terms, got an array of "
                             f"shape {terms.shape}")
        special = self._special_tokens()
        found = not from_file and terms[:len(special)].tolist() == special  # a file's lines are all terms
        tokens = terms[len(special):] if found else terms
        self._check_tokens(tokens)
        idf = None
        if idf_weights is not None:
            idf = np.asarray(idf_weights, dtype=np.float64)
            if idf.shape != (len(terms),):
                raise ValueError(f"{self._owner}: idf_weights must be one weight per term of the vocabulary, "
                                 f"shape ({len(terms)},); got shape {idf.shape}")
            idf = (idf if found else np.concatenate([np.full(len(special), idf.mean()), idf])).astype(np.float32)
        self._record_size(self._token_start() + len(tokens))
        self._set_tokens(tokens, idf)

    def _read_vocabulary(self, path):
        """A file's terms, one per line (integers in decimal for IntegerLookup)."""
        if self.output_mode == "tf_idf":
            raise ValueError(f"{self._owner}: in tf_idf mode the vocabulary comes with its idf_weights, not from a "
                             f"file (as in Keras)")
        with open(path, encoding=getattr(self, "encoding", "utf-8")) as f:
            lines = f.read().splitlines()
        if not self._integer_terms:
            return lines
        try:
            return [int(line) for line in lines]
        except ValueError as err:
            raise ValueError(f"{self._owner}: the vocabulary file {path} must hold one integer per line: {err}") \
                from None

    def _check_tokens(self, tokens):
        values = tokens.tolist()
        repeated = sorted(token for token, count in Counter(values).items() if count > 1)
        if repeated:
            raise ValueError(f"{self._owner}: the vocabulary repeats terms {repeated}; each term must appear once")
        for token, what in ((self.mask_token, "mask"), (self.oov_token if self.invert else None, "OOV")):
            if token is not None and token in values:
                raise ValueError(f"{self._owner}: the {what} token {token!r} may only lead the vocabulary, in "
                                 f"this order: {self._special_tokens()}; got it at term {values.index(token)} of "
                                 f"the tokens")
        if self.max_tokens is not None and self._token_start() + len(values) > self.max_tokens:
            raise ValueError(f"{self._owner}: a vocabulary of {self._token_start() + len(values)} terms (reserved "
                             f"ones included) is larger than max_tokens={self.max_tokens}")

    def _record_size(self, size):
        """Keras's rule: vectors as wide as the vocabulary cannot change width once it is set."""
        fixed_width = self.output_mode != "int" and not self.pad_to_max_tokens
        if fixed_width and self._frozen_size is not None and size != self._frozen_size:
            raise RuntimeError(f"{self._owner}: in {self.output_mode} mode without pad_to_max_tokens the output is "
                               f"as wide as the vocabulary, so its size cannot change once set (as in Keras): it "
                               f"was {self._frozen_size}, the new one has {size}")
        self._frozen_size = size

    def _set_tokens(self, tokens, idf):
        self._tokens, self._idf = tokens, idf
        self._order = np.argsort(tokens, kind="stable")  # for a vectorized lookup by binary search
        self._sorted = tokens[self._order]

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary from `data`: an array or list of values (each row, or each value of a 1-D
        array, is a document), or an iterable (a PyDataset, say) of such batches, each 1-D batch one
        document, of which `steps` are read. The most frequent terms come first, ties in reverse sort
        order; in tf_idf mode each term's weight is log(1 + documents / (1 + documents with it)).
        `batch_size` is accepted for Keras's signature; the vocabulary does not depend on it."""
        whole = one_batch(data)
        self._learn(row for batch in adapt_batches(data, steps, self._owner, "values")
                    for row in _documents(self._terms(batch, "data"), whole))

    def _learn(self, documents):
        """The vocabulary (and idf weights) of `documents`, each a list of terms."""
        if self._has_input_vocabulary:
            raise ValueError(f"{self._owner}: a layer given its vocabulary (vocabulary=) cannot be adapted, as in "
                             f"Keras")
        counts, document_counts, n_documents = Counter(), Counter(), 0
        for terms in documents:
            counts.update(terms)
            document_counts.update(set(terms))
            n_documents += 1
        for reserved in (self.mask_token, self.oov_token):
            counts.pop(reserved, None)
        if not counts:
            return  # nothing learned: Keras keeps the vocabulary it had
        tokens = sorted(counts, key=lambda t: (counts[t], t), reverse=True)  # Keras's lexsort, reversed
        if self.max_tokens:
            tokens = tokens[:self.max_tokens - self._token_start()]
        idf = None
        if self.output_mode == "tf_idf":
            seen = np.array([document_counts[t] for t in tokens], dtype=np.float64)
            learned = np.log(1 + n_documents / (1 + seen)).astype(np.float32)
            idf = np.concatenate([np.full(self._token_start(), learned.mean(), np.float32), learned])
        self._record_size(self._token_start() + len(tokens))
        self._set_tokens(self._terms(tokens, "vocabulary"), idf)

    # ---- calling -----------------------------------------------------------------------------
    def call(self, inputs):
        return _Encode(self)(inputs)  # redone for each new batch in a replayed step

    def _call_symbolic(self, inputs, args, training, kwargs):
        return symbolic_output(self, inputs, self._output_dtype(), training, kwargs)

    def _output_dtype(self):
        if self.output_mode != "int":
            return self.dtype or float_dtype()
        return self._terms([], "vocabulary").dtype if self.invert else np.dtype(np.int64)

    def _encode(self, values):
        if self.invert:
            return self._inverted(_integers(values, self._owner))
        return self._encode_terms(self._terms(values, "inputs"))

    def _encode_terms(self, terms):
        indices = self._indices(terms)
        return indices if self.output_mode == "int" else self._vectors(indices)

    def _indices(self, terms):
        """Each term's index (int64, of the terms' shape): MASKED for the mask token outside int mode."""
        flat = terms.reshape(-1)
        indices, found = np.zeros(flat.shape, np.int64), np.zeros(flat.shape, bool)
        if len(self._sorted):
            place = np.minimum(np.searchsorted(self._sorted, flat), len(self._sorted) - 1)
            found = self._sorted[place] == flat
            indices = np.where(found, self._order[place] + self._token_start(), 0)
        masked = flat == self.mask_token if self.mask_token is not None else np.zeros(flat.shape, bool)
        unknown = ~found & ~masked
        if unknown.any():
            indices[unknown] = self._oov_indices(flat[unknown])
        indices[masked] = 0 if self.output_mode == "int" else MASKED
        return indices.reshape(terms.shape)

    def _oov_indices(self, terms):
        if self.num_oov_indices == 0:
            raise ValueError(f"{self._owner} has num_oov_indices=0, so every value must be in its vocabulary; "
                             f"found {np.unique(terms)[:10].tolist()} (num_oov_indices=1 gives them an index)")
        n, start = self.num_oov_indices, self._oov_start()
        if n == 1:
            return start
        if self._integer_terms and self.oov_method == "floormod":
            return terms % n + start
        return np.array([hash_bucket(str(t), n, self.salt) for t in terms.tolist()], dtype=np.int64) + start

    def _inverted(self, indices):
        """Indices back to terms: the mask token for 0 (when set), the OOV token for reserved or unknown ones."""
        vocabulary = self._terms(self.get_vocabulary() or [self.oov_token], "vocabulary")
        known = (indices >= self._token_start()) & (indices < len(vocabulary))
        out = np.where(known, vocabulary[np.where(known, indices, 0)], self._terms(self.oov_token, "oov_token"))
        if self.mask_token is not None:
            out = np.where(indices == 0, self._terms(self.mask_token, "mask_token"), out)
        return out

    def _vectors(self, indices):
        """Indices from _indices() as vectors of vocabulary_size() (max_tokens with pad_to_max_tokens)."""
        missing = self._idf is None if self.output_mode == "tf_idf" else \
            not self.pad_to_max_tokens and self._frozen_size is None  # the width, or the weights, are unknown
        if missing:
            raise RuntimeError(f"{self._owner} in {self.output_mode} mode needs its vocabulary before it is called: "
                               f"pass vocabulary= (and idf_weights= in tf_idf mode) or call adapt()")
        if self.output_mode != "one_hot" and indices.ndim > 2:
            raise ValueError(f"{self._owner} in {self.output_mode} mode takes samples of shape (n, values) or "
                             f"(values,); got shape {indices.shape}")
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_size
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        # a masked value counts in an extra column, cut off: it adds nothing, as in Keras
        hits = encode_categories(np.where(indices == MASKED, depth, indices), mode, depth + 1,
                                 self.dtype or float_dtype())[..., :depth]
        if self.output_mode == "tf_idf":
            hits *= self.idf_weights.data.astype(hits.dtype)
        return hits

    @property
    def idf_weights(self):
        """The tf_idf weights by index, as Keras's idf_weights variable: zeros pad them to max_tokens with
        pad_to_max_tokens; None before they are set."""
        if self._idf is None:
            return None
        depth = self.max_tokens if self.pad_to_max_tokens else len(self._idf)
        return Tensor(np.pad(self._idf, (0, depth - len(self._idf))))

    def compute_output_shape(self, input_shape):
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_size
        return encoded_shape(input_shape, self.output_mode, depth)  # tf_idf is shaped as count

    # ---- config ------------------------------------------------------------------------------
    def get_config(self):
        """Keras's keys, with the vocabulary (learned ones too, where Keras writes them to a file beside
        the config) and its idf weights, reserved terms included."""
        config = {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                  "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                  "mask_token": self.mask_token, "output_mode": self.output_mode, "sparse": False,
                  "pad_to_max_tokens": self.pad_to_max_tokens,
                  "vocabulary": self.get_vocabulary() if len(self._tokens) else None,
                  "idf_weights": None if self._idf is None else self._idf.tolist(),
                  "vocabulary_size": self._frozen_size, "oov_method": self.oov_method, "salt": self.salt,
                  "has_input_vocabulary": self._has_input_vocabulary}
        return config

    @classmethod
    def from_config(cls, config):
        if isinstance(config.get("vocabulary"), str):
            raise ValueError(f"{cls.__name__}: a config holds its vocabulary as a list of terms; a file path there "
                             f"is refused, so a model file cannot make loading read other files")
        return cls(**config)


class StringLookup(IndexLookup):
    """Strings (str or bytes, in `encoding`) to indices, or encoded (see IndexLookup). Keras's defaults:
    no mask token, one out-of-vocabulary index, the OOV token "[UNK]"."""

    _integer_terms = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, **kwargs):
        try:
            codecs.lookup(encoding)
        except (LookupError, TypeError):
            raise ValueError(f"{self._owner} encoding must name a text encoding, got {encoding!r}") from None
        self.encoding = encoding
        mask_token, oov_token = (t.decode(encoding) if isinstance(t, bytes) else t for t in (mask_token, oov_token))
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, name=name, salt=salt, **kwargs)

    def _terms(self, values, what):
        return as_strings(values, self.encoding, what, self._owner)

    @staticmethod
    def _is_term(token):
        return isinstance(token, str)

    def __call__(self, inputs, *args, **kwargs):
        if not isinstance(inputs, (Tensor, SymbolicTensor)) and not self.invert:
            inputs = Tensor(as_strings(inputs, self.encoding, "inputs", self._owner))
        return super().__call__(inputs, *args, **kwargs)

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding}


class IntegerLookup(IndexLookup):
    """Integers (ids, codes, years, ...) to indices, or encoded (see IndexLookup). Keras's defaults: no
    mask token, one out-of-vocabulary index, the OOV token -1."""

    _integer_terms = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError(f"IntegerLookup vocabulary_dtype must be 'int64' (as in Keras), got {vocabulary_dtype!r}")
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, oov_method, salt, name=name, **kwargs)

    def _terms(self, values, what):
        return _integers(values, self._owner, what)

    @staticmethod
    def _is_term(token):
        return isinstance(token, (int, np.integer)) and not isinstance(token, bool)

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": "int64"}


def _documents(terms, whole):
    """Keras's documents: each row of a batch, each value of a whole 1-D array; a 1-D batch of a stream
    is one document."""
    if terms.ndim == 0 or (terms.ndim == 1 and whole):
        return terms.reshape(-1, 1).tolist()
    return terms.reshape(len(terms) if terms.ndim > 1 else 1, -1).tolist()


def symbolic_output(layer, inputs, dtype, training, kwargs):
    """The symbolic output of a layer whose output follows from its settings, not from a call on zeros
    (strings have no zeros; a lookup may refuse values out of its vocabulary)."""
    output = SymbolicTensor(layer.compute_output_shape(inputs.shape), dtype, name=layer.name)
    output.node = Node(layer, inputs, output, kwargs if training is None else {**kwargs, "training": training})
    return output


def _salt(salt):
    """Keras's salt: None, one int for both halves of the key, or two ints."""
    if salt is None:
        return None
    halves = [salt, salt] if not isinstance(salt, (list, tuple)) else list(salt)
    if len(halves) != 2 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in halves):
        raise ValueError(f"a salt is an integer or two of them, got {salt!r}")
    return [int(s) for s in halves]


def positive_int(n):
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1


def _integers(values, owner, what="inputs"):
    """`values` as an int64 NumPy array: floats truncated toward zero, as Keras casts them (a float
    keras.Input feeding the layer, say); anything but numbers is refused."""
    array = np.asarray(values.data if isinstance(values, Tensor) else values)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{owner} {what} must be integers, got an array of dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{owner} {what} must be integers, got NaN or infinite values")
    return array.astype(np.int64)
