"""The CTC loss and greedy decoding against Keras 3.15.1 (torch backend: tests/keras_reference/ctc.npz, made by
make_ctc_reference.py), beam-search decoding against its NumPy backend (ctc_beam.npz), a float64 gradient
check, and training on a toy reading task."""
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad.autograd import record
from scratchgrad.ctc import CTCLoss
from scratchgrad.plan import StepPlan

REFERENCE = dict(np.load(Path(__file__).parent / "keras_reference" / "ctc.npz"))


def test_loss_and_its_gradient_equal_keras():
    logits = sg.Tensor(REFERENCE["logits"], requires_grad=True)
    per_sample = sg.losses.CTC(reduction=None)(REFERENCE["labels"], logits)
    np.testing.assert_allclose(per_sample.numpy(), REFERENCE["per_sample"], rtol=1e-5)
    sg.losses.CTC()(REFERENCE["labels"], logits).backward()  # the mean over the batch, Keras's default
    np.testing.assert_allclose(logits.grad, REFERENCE["mean_gradient"], atol=1e-6)


def test_ops_with_lengths_and_greedy_decoding_equal_keras():
    loss = sg.ops.ctc_loss(REFERENCE["labels"], REFERENCE["logits"], REFERENCE["label_lengths"],
                           REFERENCE["logit_lengths"])
    np.testing.assert_allclose(loss.numpy(), REFERENCE["with_lengths"], rtol=1e-5)
    decoded, scores = sg.ops.ctc_decode(REFERENCE["logits"], REFERENCE["logit_lengths"])
    np.testing.assert_array_equal(decoded.numpy(), REFERENCE["decoded"])
    np.testing.assert_allclose(scores.numpy(), REFERENCE["scores"], rtol=1e-6)


def test_gradient_against_numerical_in_float64(rng):
    logits = sg.Tensor(rng.standard_normal((3, 7, 4)), dtype="float64", requires_grad=True)
    labels = sg.Tensor(np.array([[1, 1, 2], [3, 0, 0], [2, 3, 0]]))  # a repeat, a short one, padding
    assert sg.gradcheck(lambda x: CTCLoss()(x, labels).sum(), logits)


def test_labels_that_do_not_fit_cost_inf_and_pass_no_gradient():
    logits = sg.Tensor(np.zeros((1, 3, 4)), requires_grad=True)
    loss = CTCLoss()(logits, sg.Tensor(np.array([[1, 1, 2, 3]])))  # needs 5 steps: a blank between the 1s
    assert np.isinf(loss.numpy()).all()
    loss.sum().backward()
    assert not logits.grad.any()


def test_a_replayed_step_reads_each_new_batch_of_labels():
    """The label lengths are worked out inside the op: a recorded step replayed on new labels counts theirs."""
    logits = sg.Tensor(REFERENCE["logits"][:2])
    first = sg.Tensor(REFERENCE["labels"][:2])
    with record() as recording:
        out = CTCLoss()(logits, first)
    plan = StepPlan(recording, [logits, first], [out], [], [])
    other = REFERENCE["labels"][3:5]  # other lengths
    np.testing.assert_allclose(plan.forward([REFERENCE["logits"][3:5], other])[0], REFERENCE["per_sample"][3:5],
                               rtol=1e-5)


def test_a_model_learns_to_read_with_ctc():
    """Each sample shows two symbols, each for a few steps at a random place, among noise; the model must
    spell them, in order, with no alignment given."""
    sg.set_seed(0)
    rng = np.random.default_rng(0)
    n, steps, classes = 256, 12, 4
    x = rng.normal(0, 0.3, (n, steps, classes)).astype(np.float32)
    y = rng.integers(1, classes, (n, 2))
    for i in range(n):
        starts = sorted(rng.choice([1, 3, 6, 8], 2, replace=False))
        for symbol, start in zip(y[i], starts):
            x[i, start:start + 2, symbol] += 2.0
    model = sg.Sequential([sg.Input(shape=(steps, classes)), L.Bidirectional(L.GRU(16, return_sequences=True)),
                           L.Dense(classes)])
    model.compile(sg.optimizers.Adam(0.01), loss="ctc")
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    decoded = sg.ops.ctc_decode(model.predict(x, verbose=0), np.full(n, steps))[0].numpy()[0]
    assert (decoded[:, :2] == y).all(axis=1).mean() > 0.9 and (decoded[:, 2:] == -1).mean() > 0.9


@pytest.mark.parametrize("y, match", [(np.ones((4, 2, 1)), "label sequences"), (np.full((4, 2), 7), r"\[0, 4\)")])
def test_targets_are_checked(y, match):
    model = sg.Sequential([sg.Input(shape=(5, 3)), L.Dense(4)])
    model.compile("adam", sg.losses.CTC())
    with pytest.raises(ValueError, match=match):
        model.fit(np.zeros((4, 5, 3)), y, verbose=0)


def test_ops_ctc_loss_keeps_its_tensors_in_a_replayed_step():
    """Found by a second read: ops.ctc_loss (keras.io's CTCLayer calls it in add_loss) took the labels and
    lengths out of the step as constants, so a replayed step read the first batch's labels."""
    logits = sg.Tensor(REFERENCE["logits"][:2])
    labels, label_lengths, logit_lengths = (sg.Tensor(a) for a in (REFERENCE["labels"][:2],
                                                                   REFERENCE["label_lengths"][:2],
                                                                   REFERENCE["logit_lengths"][:2]))
    with record() as recording:
        out = sg.ops.ctc_loss(labels, logits, label_lengths, logit_lengths)
    plan = StepPlan(recording, [logits, labels, label_lengths, logit_lengths], [out], [], [])
    new = [REFERENCE["logits"][3:5], REFERENCE["labels"][3:5], REFERENCE["label_lengths"][3:5],
           REFERENCE["logit_lengths"][3:5]]
    np.testing.assert_allclose(plan.forward(new)[0], REFERENCE["with_lengths"][3:5], rtol=1e-5)


def test_no_steps_empty_labels_and_dtypes_as_keras():
    """Keras (torch): with no steps an empty label sequence costs 0 and any other inf; labels of width 0
    cost -log of all blanks; the loss and decoding scores are float32 at least."""
    np.testing.assert_array_equal(sg.ops.ctc_loss([[1, 2], [1, 2]], np.zeros((2, 5, 3)), [0, 1], [0, 0]).numpy(),
                                  [0, np.inf])
    np.testing.assert_allclose(sg.ops.ctc_loss(np.zeros((2, 0), int), np.zeros((2, 5, 3)), [0, 0], [5, 5]).numpy(),
                               5 * np.log(3), rtol=1e-6)
    assert sg.ops.ctc_loss([[1]], np.zeros((1, 2, 3), np.float16), [1], [2]).dtype == np.float32
    assert sg.ops.ctc_decode(np.ones((1, 3, 3), int), [3])[1].dtype == np.float32


def test_batches_of_other_label_widths_are_refused_with_what_to_do():
    batches = [(np.zeros((2, 5, 3), np.float32), np.array([[1, 2], [2, 0]])),
               (np.zeros((2, 5, 3), np.float32), np.array([[1, 2, 1], [2, 0, 0]]))]
    model = sg.Sequential([sg.Input(shape=(5, 3)), L.Dense(3)])
    model.compile("adam", "ctc")
    with pytest.raises(ValueError, match="pad label sequences to one length"):
        model.fit(iter(batches), epochs=1, verbose=0)


BEAM = dict(np.load(Path(__file__).parent / "keras_reference" / "ctc_beam.npz"))  # make_ctc_beam_reference.py


@pytest.mark.parametrize("k", range(sum(key.endswith("_logits") for key in BEAM)))
def test_beam_search_decoding_equals_keras(k):
    """Keras 3.15.1's paths and log probabilities (NumPy backend): beams narrower than the classes, the last
    class as the blank, sequences shorter than the steps, fewer distinct paths than asked for."""
    beam_width, top_paths, mask_index = (int(v) for v in BEAM[f"{k}_options"])
    decoded, log_probs = sg.ops.ctc_decode(BEAM[f"{k}_logits"], BEAM[f"{k}_lengths"], strategy="beam_search",
                                           beam_width=beam_width, top_paths=top_paths,
                                           mask_index=None if mask_index < 0 else mask_index)
    np.testing.assert_array_equal(decoded.numpy(), BEAM[f"{k}_decoded"])
    assert log_probs.dtype == np.float32
    np.testing.assert_allclose(log_probs.numpy(), BEAM[f"{k}_log_probs"], rtol=1e-5)


def test_a_beam_holds_every_alignment_of_its_labels():
    """Two steps, blank 0: "1" is read from 1-1, 1-blank and blank-1, its probability their sum; the five
    label sequences two steps can spell share all of the probability, best first."""
    probabilities = np.array([[[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]]])
    decoded, log_probs = sg.ops.ctc_decode(np.log(probabilities), [2], strategy="beam_search", top_paths=5)
    paths = [tuple(int(c) for c in path[0] if c >= 0) for path in decoded.numpy()]
    np.testing.assert_allclose(np.exp(log_probs.numpy()[0]), [0.5 * 0.4 + 0.5 * 0.4 + 0.2 * 0.4,
                                                              0.3 * 0.2 + 0.3 * 0.4 + 0.2 * 0.2, 0.3 * 0.4, 0.5 * 0.2,
                                                              0.2 * 0.4], rtol=1e-6)
    assert paths == [(1,), (2,), (2, 1), (1, 2), ()]


def test_greedy_decoding_gives_one_path_whatever_top_paths_says_and_ties_go_as_keras_s():
    """As Keras: greedy ignores top_paths; a negative mask_index counts from the last class; with every score
    equal (zero logits) the beam keeps Keras's prefixes, so its log probabilities are Keras's (NumPy
    backend: -1.7554 and -2.4485)."""
    decoded, _ = sg.ops.ctc_decode(REFERENCE["logits"], REFERENCE["logit_lengths"], top_paths=3)
    assert decoded.shape == (1,) + REFERENCE["logits"].shape[:2]
    np.testing.assert_array_equal(
        sg.ops.ctc_decode(REFERENCE["logits"], REFERENCE["logit_lengths"], mask_index=-1)[0].numpy(),
        sg.ops.ctc_decode(REFERENCE["logits"], REFERENCE["logit_lengths"], mask_index=5)[0].numpy())
    _, log_probs = sg.ops.ctc_decode(np.zeros((2, 4, 3), np.float32), [4, 4], strategy="beam_search", beam_width=3,
                                     top_paths=2)
    np.testing.assert_allclose(log_probs.numpy(), [[-1.7554, -2.4485]] * 2, atol=1e-4)


def test_a_path_without_alignments_is_left_out():
    """Keras (NumPy backend): two live paths, the rest all -1 with -inf."""
    decoded, log_probs = sg.ops.ctc_decode(np.array([[[1.0, 0.0], [0.5, 0.2]]], np.float32), [2],
                                           strategy="beam_search", beam_width=5, top_paths=4, mask_index=1)
    np.testing.assert_array_equal(decoded.numpy()[:, 0], [[0, -1], [-1, -1], [-1, -1], [-1, -1]])
    assert np.isneginf(log_probs.numpy()[0, 2:]).all()


@pytest.mark.parametrize("options,message", [
    ({"strategy": "beam"}, "strategy must be 'greedy' or 'beam_search'"),
    ({"strategy": "beam_search", "beam_width": 2, "top_paths": 3}, "top_paths between 1 and it"),
])
def test_decoding_options_keras_refuses_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        sg.ops.ctc_decode(REFERENCE["logits"], REFERENCE["logit_lengths"], **options)
