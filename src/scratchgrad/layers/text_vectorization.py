"""TextVectorization: raw strings in, token indices (for an Embedding) or bag-of-words vectors (for a
Dense) out. The vocabulary is learned by adapt() or given, and kept in the layer's config as a list of
strings, so a saved model takes raw text. Keras's rules throughout: how texts are standardized and split,
the vocabulary's order and reserved indices, the tf-idf weights."""
import codecs
import re
import string
from collections import Counter

import numpy as np

from ..autograd import values_escaped
from ..backend import float_dtype
from ..symbolic import Node, SymbolicTensor
from ..tensor import Tensor
from ..utils import pad_sequences
from .base import Layer
from .preprocessing import _Encode, adapt_batches

MASK, OOV = "", "[UNK]"  # Keras's padding and out-of-vocabulary tokens
# Keras's pattern, character for character: ASCII punctuation only (",-\." is the range , - .)
PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
# TensorFlow's whitespace split: runs of ASCII whitespace, not str.split()'s Unicode set
WORD = re.compile(r"[^ \t\n\v\f\r]+")
# tf.strings.lower without an encoding (as Keras calls it) lowers ASCII letters only
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
STANDARDIZE_MODES = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT_MODES = ("whitespace", "character")
OUTPUT_MODES = ("int", "multi_hot", "count", "tf_idf")
OLD_MODE_NAMES = {"binary": "multi_hot", "tf-idf": "tf_idf"}  # Keras still accepts them


class TextVectorization(Layer):
    """Strings -> int64 token indices ("int": index 0 pads, 1 is out of vocabulary, padded or cut at the
    end to `output_sequence_length`, else to the batch's longest text) or float vectors as wide as the
    vocabulary ("multi_hot", "count", "tf_idf"; index 0 counts unknown tokens). Each text is
    standardized (`standardize`: lowercased and/or stripped of ASCII punctuation, or a function given
    the batch as a NumPy array of str, as Keras on a non-TensorFlow backend), split into tokens
    (`split`: on whitespace, into characters, or by a function of one str returning its tokens) and
    extended with n-grams (`ngrams`: n up to an int, or the n of a tuple, tokens joined by a space).

    The vocabulary comes from `vocabulary=` / `set_vocabulary()` (a list or a file of one term per line)
    or from `adapt(data)`: the most frequent tokens, ties in reverse string order, after the reserved
    tokens ("" in int mode, "[UNK]"), `max_tokens` in all. It trains nothing (no weights)."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None, **kwargs):
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_size", None)  # Keras's configs carry it; here it follows from the vocabulary
        super().__init__(name=name, **kwargs)
        output_mode = OLD_MODE_NAMES.get(output_mode, output_mode)
        _check_arguments(max_tokens, standardize, split, ngrams, output_mode, output_sequence_length,
                         pad_to_max_tokens, sparse, ragged, encoding)
        self.max_tokens, self.standardize, self.split, self.ngrams = max_tokens, standardize, split, ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.pad_to_max_tokens, self.encoding = pad_to_max_tokens, encoding
        self._widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._has_input_vocabulary = has_input_vocabulary  # Keras: a given vocabulary is never adapted
        self._tokens = None  # the vocabulary after the reserved tokens; None until one is set or learned
        self._index, self._idf = {}, None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError("TextVectorization: idf_weights needs the vocabulary they weigh; got no vocabulary")

    # ---- the vocabulary ----------------------------------------------------------------------
    def _reserved(self):
        return [MASK, OOV] if self.output_mode == "int" else [OOV]

    def get_vocabulary(self, include_special_tokens=True):
        """The terms by index (with the reserved "" and "[UNK]" first unless include_special_tokens=False)."""
        tokens = list(self._tokens or [])
        return self._reserved() + tokens if include_special_tokens else tokens

    def vocabulary_size(self):
        """The number of indices, reserved ones included."""
        return len(self._reserved()) + len(self._tokens or [])

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Use `vocabulary` (terms, optionally led by the reserved tokens, or the path of a file of one
        term per line) and, in tf_idf mode, its `idf_weights` (one per term; the reserved tokens, when
        not given, get their mean, as in Keras)."""
        if (self.output_mode == "tf_idf") != (idf_weights is not None):
            raise ValueError(f"TextVectorization: idf_weights must be given exactly in tf_idf mode; got "
                             f"{'none' if idf_weights is None else 'some'} with output_mode={self.output_mode!r}")
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding=self.encoding) as f:
                vocabulary = f.read().splitlines()
        terms = _as_strings(vocabulary, self.encoding, "vocabulary")
        if terms.ndim != 1 or terms.size == 0:
            raise ValueError(f"TextVectorization: the vocabulary must be a non-empty list of terms, got an array "
                             f"of shape {terms.shape}")
        terms = terms.tolist()
        reserved = self._reserved()
        found = terms[:len(reserved)] == reserved
        tokens = terms[len(reserved):] if found else terms
        _check_tokens(tokens, len(reserved), self.max_tokens)
        idf = None
        if idf_weights is not None:
            idf = np.asarray(idf_weights, dtype=np.float64)
            if idf.shape != (len(terms),):
                raise ValueError(f"TextVectorization: idf_weights must be one weight per term of the vocabulary, "
                                 f"shape ({len(terms)},); got shape {idf.shape}")
            idf = idf if found else np.concatenate([np.full(len(reserved), idf.mean()), idf])
        self._store(tokens, idf)

    def _store(self, tokens, idf):
        fixed_width = self.output_mode != "int" and not self.pad_to_max_tokens
        if fixed_width and self._tokens is not None and len(tokens) != len(self._tokens):
            raise RuntimeError(f"TextVectorization: in {self.output_mode} mode without pad_to_max_tokens the "
                               f"output is as wide as the vocabulary, so its size cannot change once set (as in "
                               f"Keras): it was {self.vocabulary_size()}, the new one has "
                               f"{len(self._reserved()) + len(tokens)}")
        self._tokens, self._idf = list(tokens), idf
        self._index = {token: i for i, token in enumerate(tokens, len(self._reserved()))}

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and in tf_idf mode the idf weights, log(1 + documents / (1 + documents
        with the token))) from `data`: a string, a list or array of strings (shape (n,) or (n, 1)), or a
        PyDataset or other iterable of such batches, of which `steps` are read (all by default). Each text
        is a document. `batch_size` is accepted for Keras's signature; the vocabulary does not depend on it."""
        if self._has_input_vocabulary:
            raise ValueError(f"TextVectorization {self.name!r}: a layer given its vocabulary (vocabulary=) "
                             f"cannot be adapted, as in Keras")
        counts, document_counts, documents = Counter(), Counter(), 0
        for batch in adapt_batches(data, steps, "TextVectorization", "strings"):
            for row in self._documents(batch)[0]:
                counts.update(row)
                document_counts.update(set(row))
                documents += 1
        for reserved in (MASK, OOV):
            counts.pop(reserved, None)
        if not counts:
            return  # nothing learned: Keras keeps the vocabulary it had
        tokens = sorted(counts, key=lambda t: (counts[t], t), reverse=True)  # Keras's lexsort, reversed
        if self.max_tokens:
            tokens = tokens[:self.max_tokens - len(self._reserved())]
        idf = None
        if self.output_mode == "tf_idf":
            learned = np.log(1 + documents / (1 + np.array([document_counts[t] for t in tokens], dtype=np.float64)))
            idf = np.concatenate([np.full(len(self._reserved()), learned.mean()), learned])
        self._store(tokens, idf)

    # ---- calling -----------------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        if not isinstance(inputs, (Tensor, SymbolicTensor)):  # a list of texts is one batch, not a structure
            inputs = Tensor(_as_strings(inputs, self.encoding))
        return super().__call__(inputs, *args, **kwargs)

    def _call_symbolic(self, inputs, args, training, kwargs):
        # the base class finds the output by calling on zeros of the input's dtype; a model's input is
        # float unless declared as str, and texts have no zeros: the settings give the output instead
        dtype = np.int64 if self.output_mode == "int" else self.dtype or float_dtype()
        output = SymbolicTensor(self.compute_output_shape(inputs.shape), dtype, name=self.name)
        output.node = Node(self, inputs, output, kwargs if training is None else {**kwargs, "training": training})
        return output

    def call(self, inputs):
        if self.output_mode == "int" and self.output_sequence_length is None:
            values_escaped()  # the output's length follows each batch's longest text: never replay the step
        return _Encode(self)(inputs)  # redone for each new batch of texts in a replayed step

    def _encode(self, texts):
        rows, single = self._documents(texts)
        out = self._indices(rows) if self.output_mode == "int" else self._bag_of_words(rows)
        return out[0] if single else out

    def _documents(self, texts):
        """The token lists of a batch of texts, and whether it was one text (no batch axis)."""
        texts = _as_strings(texts, self.encoding)
        single = texts.ndim == 0
        texts = texts.reshape(1) if single else texts
        if texts.ndim > 2 or (self.split is not None and texts.ndim == 2 and texts.shape[1] != 1):
            expected = "(n,) or (n, 1)" if self.split is not None else "(n,) or (n, tokens)"
            raise ValueError(f"TextVectorization takes a string or a batch of them of shape {expected}; "
                             f"got shape {texts.shape}")
        texts = self._standardized(texts)
        if self.split is None:  # each string is a token: one per text, or a row of given tokens
            rows = (texts[:, None] if texts.ndim == 1 else texts).tolist()
        else:
            rows = [self._split_text(text) for text in texts.reshape(-1).tolist()]
        return ([_ngrams(row, self._widths) for row in rows] if self._widths else rows), single

    def _standardized(self, texts):
        if callable(self.standardize):
            out = _as_strings(self.standardize(texts), self.encoding, "standardize's result")
            if out.shape != texts.shape:
                raise ValueError(f"TextVectorization: standardize must return an array of its input's shape "
                                 f"{texts.shape}, got shape {out.shape}")
            return out
        lower = self.standardize in ("lower", "lower_and_strip_punctuation")
        strip = self.standardize in ("strip_punctuation", "lower_and_strip_punctuation")
        flat = [_standardize_text(text, lower, strip) for text in texts.reshape(-1).tolist()]
        return np.array(flat, dtype=str).reshape(texts.shape)

    def _split_text(self, text):
        if self.split == "whitespace":
            return WORD.findall(text)
        if self.split == "character":
            return list(text)
        tokens = self.split(text)
        return _as_strings(tokens, self.encoding, "split's result").reshape(-1).tolist()

    def _indices(self, rows):
        indices = [[0 if token == MASK else self._index.get(token, 1) for token in row] for row in rows]
        return pad_sequences(indices, maxlen=self.output_sequence_length, dtype="int64", padding="post",
                             truncating="post")

    def _bag_of_words(self, rows):
        # the output's width is the vocabulary's unless padded; tf_idf needs the weights too (as in Keras)
        missing = self._idf is None if self.output_mode == "tf_idf" else \
            self._tokens is None and not self.pad_to_max_tokens
        if missing:
            raise RuntimeError(f"TextVectorization {self.name!r} in {self.output_mode} mode needs its vocabulary "
                               f"before it is called: pass vocabulary= (and idf_weights= in tf_idf mode) or call "
                               f"adapt() with some texts")
        width = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        out = np.zeros((len(rows), width), dtype=self.dtype or float_dtype())
        pairs = [(i, self._index.get(token, 0)) for i, row in enumerate(rows) for token in row if token != MASK]
        if pairs:
            np.add.at(out, tuple(np.array(pairs).T), 1)
        if self.output_mode == "multi_hot":
            return np.minimum(out, 1, out=out)
        if self.output_mode == "tf_idf":
            out *= np.pad(self._idf, (0, width - len(self._idf))).astype(out.dtype)
        return out

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        width = self.max_tokens if self.pad_to_max_tokens else \
            self.vocabulary_size() if self._tokens is not None else None
        return (input_shape[0], width)

    # ---- config ------------------------------------------------------------------------------
    def get_config(self):
        for what in ("standardize", "split"):
            if callable(getattr(self, what)):
                raise ValueError(f"{self.name}: a TextVectorization with a {what} function cannot be saved (a file "
                                 f"cannot safely carry code); use a named {what} mode, or prepare the texts "
                                 f"before the model")
        return {**super().get_config(), "max_tokens": self.max_tokens, "standardize": self.standardize,
                "split": self.split, "ngrams": self.ngrams, "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary": None if self._tokens is None else self.get_vocabulary(),
                "idf_weights": None if self._idf is None else self._idf.tolist(), "sparse": False, "ragged": False,
                "encoding": self.encoding, "has_input_vocabulary": self._has_input_vocabulary}

    @classmethod
    def from_config(cls, config):
        if isinstance(config.get("vocabulary"), str):
            raise ValueError("TextVectorization: a config holds its vocabulary as a list of terms; a file path "
                             "there is refused, so a model file cannot make loading read other files")
        ngrams = config.get("ngrams")
        return cls(**{**config, "ngrams": tuple(ngrams) if isinstance(ngrams, list) else ngrams})


def _check_arguments(max_tokens, standardize, split, ngrams, output_mode, output_sequence_length, pad_to_max_tokens,
                     sparse, ragged, encoding):
    """Raise ValueError naming the first argument that Keras (or scratchgrad's dense arrays) refuses."""
    for flag, what in ((sparse, "sparse=True (a SparseTensor)"), (ragged, "ragged=True (a RaggedTensor)")):
        if flag:
            raise ValueError(f"TextVectorization: {what} needs TensorFlow; scratchgrad outputs dense arrays, "
                             f"so pass {what.split('=')[0]}=False")
    if not (standardize is None or callable(standardize) or standardize in STANDARDIZE_MODES):
        raise ValueError(f"TextVectorization standardize must be one of {STANDARDIZE_MODES}, None or a function, "
                         f"got {standardize!r}")
    if not (split is None or callable(split) or split in SPLIT_MODES):
        raise ValueError(f"TextVectorization split must be one of {SPLIT_MODES}, None or a function, got {split!r}")
    if output_mode not in OUTPUT_MODES:
        hint = " (one_hot: use multi_hot, the same for one token per text)" if output_mode == "one_hot" else ""
        raise ValueError(f"TextVectorization output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}{hint}")
    widths = ngrams if isinstance(ngrams, tuple) else (ngrams,)
    if ngrams is not None and not (widths and all(_positive_int(n) for n in widths)):
        raise ValueError(f"TextVectorization ngrams must be None, a positive integer or a tuple of them, "
                         f"got {ngrams!r}")
    if output_sequence_length is not None and (output_mode != "int" or not _positive_int(output_sequence_length)):
        raise ValueError(f"TextVectorization output_sequence_length must be None or a positive integer, and set in "
                         f"int mode only; got {output_sequence_length!r} with output_mode={output_mode!r}")
    if max_tokens is not None and not (_positive_int(max_tokens) and max_tokens > 1):
        raise ValueError(f"TextVectorization max_tokens must be None or an integer > 1, got {max_tokens!r}")
    if pad_to_max_tokens and max_tokens is None:
        raise ValueError("TextVectorization pad_to_max_tokens=True needs max_tokens, the width to pad to; got None")
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise ValueError(f"TextVectorization encoding must name a text encoding, got {encoding!r}") from None


def _positive_int(n):
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1


def _check_tokens(tokens, reserved, max_tokens):
    repeated = sorted(token for token, count in Counter(tokens).items() if count > 1)
    if repeated:
        raise ValueError(f"TextVectorization: the vocabulary repeats terms {repeated}; each term must appear once")
    if MASK in tokens:
        raise ValueError(f"TextVectorization: the padding token {MASK!r} may only lead the vocabulary (index 0 in "
                         f"int mode), got it at term {tokens.index(MASK)} of the tokens")
    if max_tokens is not None and reserved + len(tokens) > max_tokens:
        raise ValueError(f"TextVectorization: a vocabulary of {reserved + len(tokens)} terms (reserved ones "
                         f"included) is larger than max_tokens={max_tokens}")


def _as_strings(value, encoding, what="inputs"):
    """`value` (a str, a list of them, an array or Tensor of str or bytes) as a NumPy array of str."""
    try:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
    except ValueError as err:
        raise ValueError(f"TextVectorization {what} must be a string or a rectangular batch of them: {err}") from None
    if array.dtype.kind == "S":
        return np.char.decode(array, encoding)
    if array.size == 0:  # np.asarray([]) is float
        return array.astype(str)
    if array.dtype == object and all(isinstance(v, (str, bytes)) for v in array.flat):
        flat = [v.decode(encoding) if isinstance(v, bytes) else v for v in array.flat]
        return np.array(flat, dtype=str).reshape(array.shape)
    if array.dtype.kind != "U":
        raise TypeError(f"TextVectorization {what} must be strings (str or bytes), got an array of dtype {array.dtype}")
    return array


def _standardize_text(text, lower, strip):
    text = text.translate(ASCII_LOWER) if lower else text
    return PUNCTUATION.sub("", text) if strip else text


def _ngrams(tokens, widths):
    """tf.strings.ngrams: all n-grams of each width in turn, none of a width longer than the text."""
    return [" ".join(tokens[i:i + n]) for n in widths for i in range(len(tokens) - n + 1)]
