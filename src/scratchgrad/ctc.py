"""Connectionist temporal classification (Graves et al., 2006): a loss for reading a label sequence (the
characters of a word, say) off a longer sequence of outputs (one per image column, or per audio frame)
with no alignment given, and the greedy decoding that reads the labels back.

A model emits, at each of T steps, scores over the classes plus a blank (class `mask_index`, 0 by
default). An alignment is any T-step path that, with repeats merged and blanks dropped, spells the
labels; the loss is -log of the probability of all of them, summed by dynamic programming over the
labels with blanks between (l' = b l1 b l2 ... b, S = 2U + 1 positions):

    alpha[t, s] = (alpha[t-1, s] + alpha[t-1, s-1] + [alpha[t-1, s-2] if l'_s is a label unlike l'_{s-2}]) · y[t, l'_s]
    p = alpha[T-1, S-1] + alpha[T-1, S-2]

and beta the same from the end. In logs throughout, so long sequences do not underflow. The gradient with
respect to the logits is the textbook's: softmax(logits) - (1/p) Σ_{s: l'_s = k} alpha[t, s] beta[t, s] / y[t, k].
Numbers are PyTorch's ctc_loss on log_softmax(logits) (Keras 3's torch backend), checked in the tests.
"""
import numpy as np

from .autograd import Function
from .backend import array_module, to_numpy
from .functional import _log_softmax
from .tensor import Tensor, as_tensor

NEG_INF = -np.inf


def _logaddexp(*terms):
    xp = array_module(terms[0])
    out = terms[0]
    for term in terms[1:]:
        out = xp.logaddexp(out, term)
    return out


class CTCLoss(Function):
    """Per sample -log p(labels | logits): logits (N, T, C), labels (N, U) of classes (padding past each
    sample's label_lengths is ignored), label_lengths and logit_lengths (N,) (steps past a sample's
    logit_length are ignored). Without lengths, as Keras's ctc loss: the labels that are not the blank,
    and every step. A sample whose labels need more steps than it has gets inf, as PyTorch's (and no
    gradient)."""

    def __init__(self, mask_index=0):
        self.blank = mask_index

    def forward(self, logits, labels, label_lengths=None, logit_lengths=None):
        n, steps, _ = logits.shape
        xp = array_module(logits)
        labels = xp.asarray(labels)
        self.given = 2 if label_lengths is None else 4  # inputs, for backward's answer
        if label_lengths is None:  # worked out here, so a replayed step does it for each new batch of labels
            label_lengths, logit_lengths = (labels != self.blank).sum(axis=-1), xp.full(n, steps)
        self.log_y = log_y = _log_softmax(logits.astype(np.float64))
        self.shapes = logits.shape, logits.dtype
        self.ext = ext = self._extended(labels, label_lengths)  # (N, S): b l1 b l2 ... b, padded with blanks
        self.ends = 2 * xp.asarray(label_lengths, np.int64)  # each sample's last position, S_n - 1
        self.lengths = lengths = xp.minimum(xp.asarray(logit_lengths, np.int64), steps)
        picks = xp.broadcast_to(ext[:, None, :], (n, steps, ext.shape[1]))
        emit = xp.take_along_axis(log_y, picks, axis=2).transpose(1, 0, 2)  # (T, N, S): log y[t, l'_s]
        skip = self._skips(ext)
        alpha = xp.full((steps, n, ext.shape[1]), NEG_INF)
        alpha[0, :, 0] = emit[0, :, 0]
        if ext.shape[1] > 1:  # some sample has labels
            alpha[0, :, 1] = xp.where(self.ends > 0, emit[0, :, 1], NEG_INF)
        for t in range(1, steps):
            previous = alpha[t - 1]
            step = _logaddexp(previous, _shift(previous, 1), xp.where(skip, _shift(previous, 2), NEG_INF)) + emit[t]
            alpha[t] = xp.where((t < lengths)[:, None], step, previous)  # past its length a sample stands still
        last = alpha[steps - 1]
        log_p = _logaddexp(last[xp.arange(n), self.ends],
                           xp.where(self.ends > 0, last[xp.arange(n), self.ends - 1], NEG_INF))
        # no steps at all: only an empty label sequence is read, with certainty
        self.log_p = xp.where(lengths > 0, log_p, xp.where(self.ends == 0, 0.0, NEG_INF))
        self.alpha, self.emit, self.skip = alpha, emit, skip
        return (0.0 - self.log_p).astype(np.result_type(logits.dtype, np.float32))  # float32 at least, as Keras

    def backward(self, gy):
        (n, steps, classes), dtype = self.shapes  # the logits' own dtype, for their gradient
        xp = array_module(self.alpha)
        beta = xp.full_like(self.alpha, NEG_INF)
        positions = xp.arange(self.ext.shape[1])
        for t in range(steps - 1, -1, -1):
            start = (t == self.lengths - 1)[:, None]  # the sample's last step: the end positions emit
            begin = xp.where((positions == self.ends[:, None]) | ((positions == self.ends[:, None] - 1)
                                                                   & (self.ends[:, None] > 0)), self.emit[t], NEG_INF)
            if t + 1 < steps:
                following = beta[t + 1]
                skip_ahead = xp.where(_shift(self.skip, -2, fill=False), _shift(following, -2), NEG_INF)
                step = _logaddexp(following, _shift(following, -1), skip_ahead) + self.emit[t]
            else:
                step = xp.full_like(begin, NEG_INF)
            beta[t] = xp.where(start, begin, xp.where((t < self.lengths - 1)[:, None], step, NEG_INF))
        # occupancy of each class at each step: log Σ_{s: l'_s = k} alpha beta, then / (p y)
        both = self.alpha + beta  # (T, N, S)
        occupancy = xp.full((steps, n, classes), NEG_INF)
        for s in range(self.ext.shape[1]):
            index = (slice(None), xp.arange(n), self.ext[:, s])
            occupancy[index] = xp.logaddexp(occupancy[index], both[:, :, s])
        occupancy = occupancy.transpose(1, 0, 2)  # (N, T, C)
        finite = xp.isfinite(self.log_p)[:, None, None]
        log_p = xp.where(finite[:, 0, 0], self.log_p, 0.0)[:, None, None]  # no path: no gradient, below
        grad = xp.exp(self.log_y) - xp.exp(occupancy - log_p - self.log_y)
        grad = xp.where(finite, grad, 0.0)  # no path: PyTorch's gradient there is 0 (with zero_infinity), or nan
        grad[xp.arange(steps)[None, :] >= self.lengths[:, None]] = 0.0
        return ((grad * gy.astype(np.float64)[:, None, None]).astype(dtype),) + (None,) * (self.given - 1)

    def _extended(self, labels, label_lengths):
        xp = array_module(labels)
        labels = xp.asarray(labels, np.int64)
        n, width = labels.shape
        ext = xp.full((n, 2 * width + 1), self.blank, np.int64)
        keep = xp.arange(width)[None, :] < xp.asarray(label_lengths)[:, None]
        ext[:, 1::2] = xp.where(keep, labels, self.blank)
        return ext

    def _skips(self, ext):
        """Where a path may jump two positions: onto a label unlike the one two back (a blank between repeats
        is required)."""
        return (ext != self.blank) & (ext != _shift(ext, 2, fill=self.blank))


def _shift(a, k, fill=NEG_INF):
    """a moved k positions along its last axis (right for k > 0, left for k < 0), `fill` coming in."""
    out = array_module(a).full_like(a, fill)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """keras.ops.ctc_loss: each sample's CTC loss, -log p(target | output), with `output` the logits
    (N, T, C) (log-softmaxed here), `target` (N, U) class ids, and the lengths of each (N,)."""
    output = as_tensor(output)
    # Tensors pass as they are: in a recorded step they are its inputs, read anew at each replay
    target, target_length, output_length = (as_tensor(v) for v in (target, target_length, output_length))
    if output.ndim != 3 or target.ndim != 2 or len(target) != len(output):
        raise ValueError(f"ctc_loss takes logits (batch, steps, classes) and targets (batch, labels); got shapes "
                         f"{output.shape} and {target.shape}")
    return CTCLoss(mask_index)(output, target, target_length, output_length)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """keras.ops.ctc_decode, for reading predictions (it runs on the values, not as an op of a training step):
    `inputs` (N, T, C) scores, `sequence_lengths` (N,), class `mask_index` the blank (None: the last class).

    strategy="greedy": each step's best class, repeats merged (with merge_repeated), blanks dropped; returns
    (decoded (1, N, T) with -1 after each sample's labels, scores (N, 1): -Σ of each step's best input), one
    path whatever top_paths says.
    strategy="beam_search": the `top_paths` most probable label sequences of a prefix beam search keeping
    `beam_width` prefixes, each with the probability of every alignment that spells it; returns (decoded
    (top_paths, N, T), log probabilities (N, top_paths)). Both as Keras's."""
    if strategy not in ("greedy", "beam_search"):
        raise ValueError(f"ctc_decode: strategy must be 'greedy' or 'beam_search', got {strategy!r}")
    x = inputs.data if isinstance(inputs, Tensor) else inputs
    xp = array_module(x)
    x = xp.asarray(x)
    n, steps, classes = x.shape
    mask_index = classes - 1 if mask_index is None else mask_index % classes  # -1: the last class, as TensorFlow
    lengths = sequence_lengths.data if isinstance(sequence_lengths, Tensor) else sequence_lengths
    lengths = xp.asarray(lengths).reshape(-1)
    dtype = np.result_type(x.dtype, np.float32)
    if strategy == "beam_search":
        return _beam_search_decode(x, lengths, beam_width, top_paths, mask_index, dtype)
    past = xp.arange(steps)[None, :] >= lengths[:, None]
    best = xp.where(past, mask_index, x.argmax(axis=-1))
    scores = xp.where(past, 0.0, x.max(axis=-1))
    if merge_repeated:
        best = xp.where(xp.pad(best[:, 1:] == best[:, :-1], ((0, 0), (1, 0))), mask_index, best)
    blank = best == mask_index
    order = xp.argsort(xp.where(blank, steps, xp.arange(steps)[None, :]), axis=-1, kind="stable")
    decoded = xp.take_along_axis(xp.where(blank, -1, best), order, axis=-1)
    scores = -scores.sum(axis=1, keepdims=True).astype(dtype)
    return Tensor(decoded[None].astype(np.int32)), Tensor(scores)


def _beam_search_decode(x, lengths, beam_width, top_paths, blank, dtype):
    """Each sample's top paths by _beam_search on its log-softmaxed scores, in Keras's layout; paths short of
    top_paths (too few distinct prefixes) are all -1 with log probability -inf."""
    if int(beam_width) != beam_width or not 1 <= top_paths <= beam_width:
        raise ValueError(f"ctc_decode: beam_width must be a positive integer and top_paths between 1 and it, got "
                         f"beam_width={beam_width!r}, top_paths={top_paths!r}")
    log_y = _log_softmax(to_numpy(x).astype(np.float64))
    n, steps, _ = log_y.shape
    decoded, log_probs = np.full((top_paths, n, steps), -1, np.int32), np.full((n, top_paths), -np.inf)
    for i, length in enumerate(to_numpy(lengths)):
        for k, (labels, log_p) in enumerate(_beam_search(log_y[i], int(length), int(beam_width), top_paths, blank)):
            decoded[k, i, :len(labels)], log_probs[i, k] = labels, log_p
    xp = array_module(x)
    return Tensor(xp.asarray(decoded)), Tensor(xp.asarray(log_probs.astype(dtype)))


def _beam_search(log_y, length, beam_width, top_paths, blank):
    """The prefix beam search on one sample's (T, C) log probabilities: each prefix (labels so far) keeps the
    log probability of its alignments that end in a blank and of those that end in its last label, since a
    repeated label merges into the latter but starts a new label after the former. The first step starts the
    beam_width most probable classes; each later step (up to `length`) extends every prefix by every class,
    and the beam_width prefixes most probable in all keep going. Returns [(labels, log p)], best first."""
    classes = log_y.shape[1]
    beams = {}
    for c in np.argsort(-log_y[0], kind="stable")[:min(classes, beam_width)]:
        _add(beams, () if c == blank else (int(c),), c == blank, log_y[0, c])
    for t in range(1, min(length, len(log_y))):
        grown = {}
        for prefix, (ends_blank, ends_label) in beams.items():
            total = np.logaddexp(ends_blank, ends_label)
            for c, p in enumerate(log_y[t]):
                if c == blank:
                    _add(grown, prefix, True, total + p)
                elif prefix and prefix[-1] == c:
                    _add(grown, prefix, False, ends_label + p)  # the label goes on: merged
                    _add(grown, prefix + (c,), False, ends_blank + p)  # after a blank: the label again
                else:
                    _add(grown, prefix + (c,), False, total + p)
        beams = dict(_best(grown, beam_width, classes))
    return [(labels, np.logaddexp(*scores)) for labels, scores in _best(beams, top_paths, classes)]


def _add(beams, prefix, ends_blank, log_p):
    if log_p == -np.inf:  # no alignment: not a prefix at all
        return
    entry = beams.setdefault(prefix, [-np.inf, -np.inf])
    entry[0 if ends_blank else 1] = np.logaddexp(entry[0 if ends_blank else 1], log_p)


def _best(beams, count, classes):
    """The `count` most probable prefixes; among equal ones, Keras's order (the larger prefix in reversed class
    numbers, a prefix after its extensions)."""
    return sorted(beams.items(), key=lambda item: (np.logaddexp(*item[1]), tuple(classes - 1 - c for c in item[0])),
                  reverse=True)[:count]
