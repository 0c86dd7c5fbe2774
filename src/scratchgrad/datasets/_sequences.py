"""IMDB and Reuters as Keras loads them: shuffled with Keras's seed, words as integer indices shifted by
`index_from`, a start marker, rare or skipped words replaced by the out-of-vocabulary marker."""
import numpy as np


def shuffled(rng, *arrays):
    """The arrays in one random order, drawn as Keras draws it: from NumPy's RandomState (a seed, or one
    generator shared by consecutive shuffles, as Keras shares it between IMDB's train and test sets)."""
    rng = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
    order = np.arange(len(arrays[0]))
    rng.shuffle(order)
    return [a[order] for a in arrays]


def split_shuffled(x, y, test_split, seed):
    """(x_train, y_train), (x_test, y_test): the rows in Keras's shuffled order, the last `test_split` of them
    held out for testing (Keras's tables: Boston and California housing)."""
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1), got {test_split}")
    x, y = shuffled(seed, x, y)
    split = int(len(x) * (1 - test_split))
    return (x[:split], y[:split]), (x[split:], y[split:])


def mark(sequences, labels, maxlen, start_char, index_from):
    """Indices shifted by `index_from` (0 padding, 1 start, 2 out-of-vocabulary by default), `start_char`
    first; sequences of maxlen words or more dropped, with their labels."""
    if start_char is not None:
        sequences = [[start_char] + [w + index_from for w in s] for s in sequences]
    else:
        sequences = [[w + index_from for w in s] for s in sequences]
    if maxlen:
        kept = [i for i, s in enumerate(sequences) if len(s) < maxlen]
        sequences, labels = [sequences[i] for i in kept], labels[kept]
        if not sequences:
            raise ValueError(f"no sequence is shorter than maxlen={maxlen}; increase maxlen")
    return sequences, labels


def limit(sequences, num_words, skip_top, oov_char):
    """Words outside [skip_top, num_words) become `oov_char` (or are dropped when it is None)."""
    num_words = num_words or max(max(s) for s in sequences)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in s] for s in sequences]
    return [[w for w in s if skip_top <= w < num_words] for s in sequences]


def object_array(sequences):
    out = np.empty(len(sequences), dtype=object)
    out[:] = sequences
    return out
