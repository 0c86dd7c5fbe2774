"""TextVectorization: raw strings in, token indices (for an Embedding) or bag-of-words vectors (for a
Dense) out. The vocabulary is learned by adapt() or given, and kept in the layer's config as a list of
strings, so a saved model takes raw text. Keras's rules throughout: how texts are standardized and split,
the vocabulary's order and reserved indices, the tf-idf weights."""
import re
import string

import numpy as np

from ..autograd import values_escaped
from ..backend import float_dtype
from ..symbolic import SymbolicTensor
from ..tensor import Tensor
from .base import Layer
from .index_lookup import OLD_MODE_NAMES, StringLookup, positive_int, symbolic_output
from .preprocessing import _Encode, adapt_batches, as_strings, one_batch, refuse_tensorflow_only

MASK = ""  # Keras's padding token
# Keras's pattern, character for character: ASCII punctuation only (",-\." is the range , - .)
PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
# TensorFlow's whitespace split: runs of ASCII whitespace, not str.split()'s Unicode set
WORD = re.compile(r"[^ \t\n\v\f\r]+")
# tf.strings.lower without an encoding (as Keras calls it) lowers ASCII letters only
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
STANDARDIZE_MODES = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT_MODES = ("whitespace", "character")
OUTPUT_MODES = ("int", "multi_hot", "count", "tf_idf")


class TextVectorization(Layer):
    """Strings -> int64 token indices ("int": index 0 pads, 1 is out of vocabulary, padded or cut at the
    end to `output_sequence_length`, else to the batch's longest text) or float vectors as wide as the
    vocabulary ("multi_hot", "count", "tf_idf"; index 0 counts unknown tokens). Each text is
    standardized (`standardize`: lowercased and/or stripped of ASCII punctuation, or a function given
    the batch as a NumPy array of str, as Keras on a non-TensorFlow backend), split into tokens
    (`split`: on whitespace, into characters, or by a function of one str returning its tokens) and
    extended with n-grams (`ngrams`: n up to an int, or the n of a tuple, tokens joined by a space).
    The tokens are then looked up as a StringLookup with the mask token "" does (Keras builds it so).

    The vocabulary comes from `vocabulary=` / `set_vocabulary()` (a list or a file of one term per line)
    or from `adapt(data)`: the most frequent tokens, ties in reverse string order, after the reserved
    tokens ("" in int mode, "[UNK]"), `max_tokens` in all. It trains nothing (no weights)."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None, vocabulary_size=None,
                 has_input_vocabulary=None, **kwargs):
        super().__init__(name=name, **kwargs)
        has_input_vocabulary = vocabulary is not None if has_input_vocabulary is None else has_input_vocabulary
        output_mode = OLD_MODE_NAMES.get(output_mode, output_mode)
        _check_arguments(standardize, split, ngrams, output_mode, output_sequence_length, sparse, ragged)
        self.max_tokens, self.standardize, self.split, self.ngrams = max_tokens, standardize, split, ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.pad_to_max_tokens, self.encoding = pad_to_max_tokens, encoding
        self._widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._lookup_layer = _TokenLookup(max_tokens=max_tokens, mask_token=MASK, output_mode=output_mode,
                                          pad_to_max_tokens=pad_to_max_tokens, encoding=encoding, dtype=self.dtype,
                                          name=f"{self.name}_lookup", has_input_vocabulary=has_input_vocabulary,
                                          vocabulary_size=vocabulary_size)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError("TextVectorization: idf_weights need the vocabulary they weigh; got no vocabulary")

    # ---- the vocabulary (kept by the lookup) -------------------------------------------------
    def get_vocabulary(self, include_special_tokens=True):
        """The terms by index (with the reserved "" and "[UNK]" first unless include_special_tokens=False)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        """The number of indices, reserved ones included."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Use `vocabulary` (terms, optionally led by the reserved tokens, or the path of a file of one
        term per line) and, in tf_idf mode, its `idf_weights` (one per term; the reserved tokens, when
        not given, get their mean, as in Keras)."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and in tf_idf mode the idf weights, log(1 + documents / (1 + documents
        with the token))) from `data`: a string, a list or array of strings (shape (n,) or (n, 1)), or a
        PyDataset or other iterable of such batches, of which `steps` are read (all by default). Each text
        is a document. `batch_size` is accepted for Keras's signature; the vocabulary does not depend on it."""
        whole = one_batch(data)  # Keras: each text of a whole 1-D array is a document, even with split=None
        self._lookup_layer._learn(row for batch in adapt_batches(data, steps, "TextVectorization", "strings")
                                  for row in self._documents(_column(batch, self.encoding) if whole else batch)[0])

    # ---- calling -----------------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        if not isinstance(inputs, (Tensor, SymbolicTensor)):  # a list of texts is one batch, not a structure
            inputs = Tensor(as_strings(inputs, self.encoding, owner="TextVectorization"))
        return super().__call__(inputs, *args, **kwargs)

    def _call_symbolic(self, inputs, args, training, kwargs):
        dtype = np.int64 if self.output_mode == "int" else self.dtype or float_dtype()
        return symbolic_output(self, inputs, dtype, training, kwargs)

    def call(self, inputs):
        if self.output_mode == "int" and self.output_sequence_length is None:
            values_escaped()  # the output's length follows each batch's longest text: never replay the step
        return _Encode(self)(inputs)  # redone for each new batch of texts in a replayed step

    def _encode(self, texts):
        if self.split is None and self.output_mode == "int" and np.ndim(texts) == 0:
            return self._encode(np.reshape(texts, (1,)))[0]  # one token's index, as Keras gives it
        rows, single = self._documents(texts)
        width = self.output_sequence_length or max(map(len, rows), default=0)
        # padded or cut at the end with "", the mask token: index 0 in int mode, dropped from the vectors
        padded = np.array([row[:width] + [MASK] * (width - len(row)) for row in rows], dtype=str)
        padded = padded.reshape(len(rows), width)  # (n, 0) when no text has a token
        out = self._lookup_layer._encode_terms(padded)
        return out[0] if single else out

    def _documents(self, texts):
        """The token lists of a batch of texts, and whether it was one text (no batch axis)."""
        texts = as_strings(texts, self.encoding, owner="TextVectorization")
        single = texts.ndim == 0
        texts = texts.reshape(1) if single else texts
        if texts.ndim > 2 or (self.split is not None and texts.ndim == 2 and texts.shape[1] != 1):
            expected = "(n,) or (n, 1)" if self.split is not None else "(n,) or (n, tokens)"
            raise ValueError(f"TextVectorization takes a string or a batch of them of shape {expected}; "
                             f"got shape {texts.shape}")
        texts = self._standardized(texts)
        if self.split is None:  # each string is a token: a row of them, a 1-D batch one sample (as in Keras)
            single = single or texts.ndim == 1
            rows = texts.reshape(-1, texts.shape[-1]).tolist()
        else:
            rows = [self._split_text(text) for text in texts.reshape(-1).tolist()]
        return ([_ngrams(row, self._widths) for row in rows] if self._widths else rows), single

    def _standardized(self, texts):
        if callable(self.standardize):
            out = as_strings(self.standardize(texts), self.encoding, "standardize's result", "TextVectorization")
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
        return as_strings(tokens, self.encoding, "split's result", "TextVectorization").reshape(-1).tolist()

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return self._lookup_layer.compute_output_shape(input_shape[:1] + (None,))

    # ---- config ------------------------------------------------------------------------------
    def get_config(self):
        for what in ("standardize", "split"):
            if callable(getattr(self, what)):
                raise ValueError(f"{self.name}: a TextVectorization with a {what} function cannot be saved (a file "
                                 f"cannot safely carry code); use a named {what} mode, or prepare the texts "
                                 f"before the model")
        lookup = self._lookup_layer.get_config()
        return {**super().get_config(), "max_tokens": self.max_tokens, "standardize": self.standardize,
                "split": self.split, "ngrams": self.ngrams, "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length, "pad_to_max_tokens": self.pad_to_max_tokens,
                **{key: lookup[key] for key in ("vocabulary", "idf_weights", "vocabulary_size")},
                "sparse": False, "ragged": False, "encoding": self.encoding,
                "has_input_vocabulary": lookup["has_input_vocabulary"]}

    @classmethod
    def from_config(cls, config):
        if isinstance(config.get("vocabulary"), str):
            raise ValueError("TextVectorization: a config holds its vocabulary as a list of terms; a file path "
                             "there is refused, so a model file cannot make loading read other files")
        ngrams = config.get("ngrams")
        return cls(**{**config, "ngrams": tuple(ngrams) if isinstance(ngrams, list) else ngrams})


class _TokenLookup(StringLookup):
    """TextVectorization's lookup, named so in its messages."""

    _owner = "TextVectorization"


def _check_arguments(standardize, split, ngrams, output_mode, output_sequence_length, sparse, ragged):
    """Raise ValueError naming the first argument that Keras (or scratchgrad's dense arrays) refuses; the
    lookup checks the vocabulary's own (max_tokens, pad_to_max_tokens, encoding)."""
    refuse_tensorflow_only("TextVectorization", sparse=sparse, ragged=ragged)
    if not (standardize is None or callable(standardize) or standardize in STANDARDIZE_MODES):
        raise ValueError(f"TextVectorization standardize must be one of {STANDARDIZE_MODES}, None or a function, "
                         f"got {standardize!r}")
    if not (split is None or callable(split) or split in SPLIT_MODES):
        raise ValueError(f"TextVectorization split must be one of {SPLIT_MODES}, None or a function, got {split!r}")
    if output_mode not in OUTPUT_MODES:
        hint = " (one_hot: use multi_hot, the same for one token per text)" if output_mode == "one_hot" else ""
        raise ValueError(f"TextVectorization output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}{hint}")
    widths = ngrams if isinstance(ngrams, tuple) else (ngrams,)
    if ngrams is not None and not (widths and all(positive_int(n) for n in widths)):
        raise ValueError(f"TextVectorization ngrams must be None, a positive integer or a tuple of them, "
                         f"got {ngrams!r}")
    if output_sequence_length is not None and (output_mode != "int" or not positive_int(output_sequence_length)):
        raise ValueError(f"TextVectorization output_sequence_length must be None or a positive integer, and set in "
                         f"int mode only; got {output_sequence_length!r} with output_mode={output_mode!r}")


def _column(texts, encoding):
    texts = as_strings(texts, encoding, owner="TextVectorization")
    return texts[:, None] if texts.ndim == 1 else texts


def _standardize_text(text, lower, strip):
    text = text.translate(ASCII_LOWER) if lower else text
    return PUNCTUATION.sub("", text) if strip else text


def _ngrams(tokens, widths):
    """tf.strings.ngrams: all n-grams of each width in turn, none of a width longer than the text."""
    return [" ".join(tokens[i:i + n]) for n in widths for i in range(len(tokens) - n + 1)]
