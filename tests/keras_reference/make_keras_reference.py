"""Generate reference numbers from Keras 3 for scratchgrad's tests.

This script is NOT run in CI.  It is run by hand, in an environment that has
Keras 3 and one of its backends installed, and writes ``keras_reference.json``
next to itself (or to the path given as the first command-line argument).
The tests then compare scratchgrad against the stored numbers, so Keras does
not need to be installed where the tests run.

Usage::

    KERAS_BACKEND=torch python make_keras_reference.py [out.json]

Requirements: numpy and keras (>= 3).  Gradients of activations are taken with
the active backend's autodiff (torch, jax or tensorflow); with the numpy
backend they are skipped.

Everything is deterministic: every input comes from
``np.random.default_rng(seed)`` with a fixed seed, and all computations are
float32.  Arrays are stored as nested lists of Python floats; a float32 value
converted this way round-trips exactly (``np.float32(json_value)``).
"""

import inspect
import json
import math
import os
import re
import sys

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from keras import ops  # noqa: E402

F32 = np.float32

# Which names were asked for but are absent from the installed Keras, and
# which entries could not be computed (name -> error message).
MISSING = []
ERRORS = {}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def to_np(t):
    """Backend tensor (or anything array-like) -> float32 numpy array."""
    return np.asarray(ops.convert_to_numpy(t))


def jsonable(obj):
    """Recursively convert numpy arrays/scalars into JSON-friendly values.

    NaN/inf are stored as the strings "nan", "inf", "-inf" so the file stays
    strict JSON.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            return jsonable(obj.astype(np.float64).tolist())
        return obj.tolist()
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return str(obj)  # e.g. dtype policies or other exotic config values


def clean_config(cfg):
    """get_config() output, made JSON-safe."""
    return jsonable(cfg)


def signature_defaults(fn, skip=("x",)):
    """{param: default} from inspect.signature; required params -> "<required>"."""
    out = {}
    for name, p in inspect.signature(fn).parameters.items():
        if name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[name] = "<required>" if p.default is p.empty else p.default
    return jsonable(out)


def get_attr(module, name):
    """getattr that records absent names instead of failing."""
    obj = getattr(module, name, None)
    if obj is None:
        MISSING.append(f"{module.__name__}.{name}")
    return obj


def softmax_np(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(F32)


def probs(rng, n, c, scale=1.5):
    """Rows of class probabilities that sum to 1."""
    return softmax_np(rng.normal(0.0, scale, (n, c)).astype(F32))


def onehot(labels, c):
    return np.eye(c, dtype=F32)[labels]


def binary(rng, shape):
    return rng.integers(0, 2, shape).astype(F32)


def unit_probs(rng, shape):
    """Independent probabilities strictly inside (0, 1)."""
    return rng.uniform(0.02, 0.98, shape).astype(F32)


def weights(rng, n):
    """Sample-weight vector; one entry is exactly 0 to exercise masking."""
    w = rng.uniform(0.2, 2.0, n).astype(F32)
    w[1] = 0.0
    return w


# --------------------------------------------------------------------------
# Gradients via the active backend
# --------------------------------------------------------------------------


def value_and_grad(fn, x_np, w_np):
    """Return (fn(x), d/dx sum(fn(x) * w)) using the backend's autodiff.

    Returns (value, None) when the backend has no autodiff (numpy).
    """
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        x = torch.tensor(x_np, requires_grad=True)
        y = fn(x)
        (y * torch.tensor(w_np, device=y.device)).sum().backward()
        return to_np(y.detach()), x.grad.detach().cpu().numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def f(x):
            y = fn(x)
            return jnp.sum(y * w_np), y

        (_, y), g = jax.value_and_grad(f, has_aux=True)(jnp.asarray(x_np))
        return np.asarray(y), np.asarray(g)
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.Variable(x_np)
        with tf.GradientTape() as tape:
            y = fn(x)
            s = tf.reduce_sum(y * w_np)
        return y.numpy(), tape.gradient(s, x).numpy()
    return to_np(fn(ops.convert_to_tensor(x_np))), None


# --------------------------------------------------------------------------
# a. Activations
# --------------------------------------------------------------------------

ACTIVATION_NAMES = [
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink",
    "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "leaky_relu",
    "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu",
    "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish",
    "tanh", "tanh_shrink",
]


def make_activation_input():
    rng = np.random.default_rng(1)
    x = rng.uniform(-4.0, 4.0, (4, 6)).astype(F32)
    # Hand-placed points: exact 0, exact +-1 (kinks of hard_tanh etc.),
    # values just around +-1, near +-3 (hard_sigmoid kinks) and the shrink
    # thresholds +-0.5 (approached, not hit exactly).
    special = [0.0, 1.0, -1.0, 0.999, -0.999, 1.001, -1.001, 0.49,
               -0.51, 3.01, -2.99, 0.01]
    x.flat[: len(special)] = np.asarray(special, dtype=F32)
    return x


def sparsemax_reference(z, w):
    """Sparsemax (Martins & Astudillo 2016, Alg. 1) and its VJP, in NumPy.

    Along the last axis: tau = (cumsum_k - 1) / k over the sorted support;
    d/dz sum(sparsemax(z) * w) = s * (w - mean of w over the support s).
    """
    z = z.astype(np.float64)
    zs = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    cs = np.cumsum(zs, axis=-1)
    kz = (1 + k * zs > cs).sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(cs, kz - 1, axis=-1) - 1) / kz
    y = np.maximum(z - tau, 0.0)
    s = (y > 0).astype(np.float64)
    g = s * (w - (w * s).sum(-1, keepdims=True) / s.sum(-1, keepdims=True))
    return y.astype(F32), g.astype(F32)


def make_activations():
    x = make_activation_input()
    rng = np.random.default_rng(2)
    out = {
        "x": x,
        "grad_definition": "grad = d/dx sum(f(x) * w); w has the output's shape",
        "entries": {},
        "defaults": {},
    }
    ws = {}

    def w_for(shape):
        key = tuple(shape)
        if key not in ws:
            ws[key] = rng.normal(0.0, 1.0, shape).astype(F32)
        return ws[key]

    A = keras.activations
    # (entry name, function name, kwargs)
    cases = [(n, n, {}) for n in ACTIVATION_NAMES]
    cases += [
        ("gelu_approximate", "gelu", {"approximate": True}),
        ("relu_options", "relu",
         {"negative_slope": 0.1, "max_value": 6.0, "threshold": 0.5}),
        ("relu_max_value_2", "relu", {"max_value": 2.0}),
        ("leaky_relu_0.1", "leaky_relu", {"negative_slope": 0.1}),
        ("elu_alpha_0.5", "elu", {"alpha": 0.5}),
        ("celu_alpha_2", "celu", {"alpha": 2.0}),
        ("softmax_axis0", "softmax", {"axis": 0}),
        ("threshold", "threshold", {"threshold": 0.5, "default_value": -1.0}),
    ]
    for entry, fname, kwargs in cases:
        f = get_attr(A, fname)
        if f is None:
            continue
        try:
            # Output shape first (glu halves the last axis).
            y0 = to_np(f(ops.convert_to_tensor(x), **kwargs))
            w = w_for(y0.shape)
            y, g = value_and_grad(lambda t: f(t, **kwargs), x, w)
            out["entries"][entry] = {
                "function": fname, "kwargs": kwargs,
                "y": y, "w": w, "grad": g,
            }
        except Exception as e:  # pragma: no cover - recorded, not fatal
            ERRORS[f"activations.{entry}"] = repr(e)

    # Keras <= 3.15 computes the sparsemax threshold from the sum of the
    # cumulative sums over the support instead of the k-th cumulative sum, so
    # its output is wrong whenever the support has more than one element
    # (keras-team/keras#23425, fixed by PR #23469).  Store the textbook
    # values next to Keras's, clearly labelled, and flag the Keras ones.
    sp = out["entries"].get("sparsemax")
    if sp is not None:
        y_def, g_def = sparsemax_reference(x, sp["w"])
        sp["y_by_definition"] = y_def
        sp["grad_by_definition"] = g_def
        sp["keras_matches_definition"] = bool(
            np.allclose(sp["y"], y_def, atol=1e-6))
        sp["known_issue"] = (
            "keras-team/keras#23425: Keras sparsemax threshold is wrong when "
            "the support has >1 element; *_by_definition are computed in "
            "NumPy from Martins & Astudillo (2016), not by Keras")

    for name in sorted(n for n in dir(A) if not n.startswith("_")):
        if name in ("get", "serialize", "deserialize"):
            continue
        try:
            out["defaults"][name] = signature_defaults(getattr(A, name))
        except (TypeError, ValueError):
            pass
    return out


# --------------------------------------------------------------------------
# b. Losses
# --------------------------------------------------------------------------

N_LOSS, C_LOSS = 5, 4
REDUCTIONS = ["sum_over_batch_size", "sum", "none", "mean",
              "mean_with_sample_weight"]


def loss_inputs(kind, rng):
    """Return (y_true, y_pred) for an input family."""
    n, c = N_LOSS, C_LOSS
    if kind == "regression":  # arbitrary sign, y_true away from 0
        yt = rng.uniform(0.5, 3.0, (n, c)) * rng.choice([-1, 1], (n, c))
        yp = rng.normal(0.0, 2.0, (n, c))
        return yt.astype(F32), yp.astype(F32)
    if kind == "positive":  # for log / Poisson style losses
        return (rng.uniform(0.1, 3.0, (n, c)).astype(F32),
                rng.uniform(0.1, 3.0, (n, c)).astype(F32))
    if kind == "distribution":  # both rows sum to 1
        return probs(rng, n, c), probs(rng, n, c)
    if kind == "binary_probs":
        return binary(rng, (n, c)), unit_probs(rng, (n, c))
    if kind == "binary_logits":
        return binary(rng, (n, c)), rng.normal(0, 2, (n, c)).astype(F32)
    if kind == "categorical_probs":
        return onehot(rng.integers(0, c, n), c), probs(rng, n, c)
    if kind == "categorical_unnormalized":  # Keras renormalises y_pred
        return (onehot(rng.integers(0, c, n), c),
                rng.uniform(0.05, 1.0, (n, c)).astype(F32))
    if kind == "categorical_logits":
        return (onehot(rng.integers(0, c, n), c),
                rng.normal(0, 2, (n, c)).astype(F32))
    if kind == "sparse_probs":
        return rng.integers(0, c, n).astype(F32), probs(rng, n, c)
    if kind == "sparse_logits":
        return (rng.integers(0, c, n).astype(F32),
                rng.normal(0, 2, (n, c)).astype(F32))
    if kind == "hinge_pm1":
        return (rng.choice([-1.0, 1.0], (n, c)).astype(F32),
                rng.normal(0, 1.5, (n, c)).astype(F32))
    if kind == "hinge_01":  # Keras maps {0,1} labels to {-1,1}
        return binary(rng, (n, c)), rng.normal(0, 1.5, (n, c)).astype(F32)
    raise ValueError(kind)


# (entry name, class name, constructor kwargs, input family)
LOSS_CASES = [
    ("MeanSquaredError", "MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", "MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", "MeanAbsolutePercentageError", {},
     "regression"),
    ("MeanSquaredLogarithmicError", "MeanSquaredLogarithmicError", {},
     "positive"),
    ("Huber", "Huber", {"delta": 1.0}, "regression"),
    ("Huber_delta0.5", "Huber", {"delta": 0.5}, "regression"),
    ("LogCosh", "LogCosh", {}, "regression"),
    ("CosineSimilarity", "CosineSimilarity", {}, "regression"),
    ("BinaryCrossentropy", "BinaryCrossentropy", {}, "binary_probs"),
    ("BinaryCrossentropy_from_logits", "BinaryCrossentropy",
     {"from_logits": True}, "binary_logits"),
    ("BinaryCrossentropy_label_smoothing", "BinaryCrossentropy",
     {"label_smoothing": 0.1}, "binary_probs"),
    ("CategoricalCrossentropy", "CategoricalCrossentropy", {},
     "categorical_probs"),
    ("CategoricalCrossentropy_unnormalized", "CategoricalCrossentropy", {},
     "categorical_unnormalized"),
    ("CategoricalCrossentropy_from_logits", "CategoricalCrossentropy",
     {"from_logits": True}, "categorical_logits"),
    ("CategoricalCrossentropy_label_smoothing", "CategoricalCrossentropy",
     {"label_smoothing": 0.1}, "categorical_probs"),
    ("SparseCategoricalCrossentropy", "SparseCategoricalCrossentropy", {},
     "sparse_probs"),
    ("SparseCategoricalCrossentropy_from_logits",
     "SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_logits"),
    ("SparseCategoricalCrossentropy_ignore_class0",
     "SparseCategoricalCrossentropy", {"ignore_class": 0}, "sparse_probs"),
    ("BinaryFocalCrossentropy", "BinaryFocalCrossentropy", {}, "binary_probs"),
    ("BinaryFocalCrossentropy_balanced_logits", "BinaryFocalCrossentropy",
     {"apply_class_balancing": True, "from_logits": True}, "binary_logits"),
    ("CategoricalFocalCrossentropy", "CategoricalFocalCrossentropy", {},
     "categorical_probs"),
    ("CategoricalFocalCrossentropy_from_logits",
     "CategoricalFocalCrossentropy", {"from_logits": True},
     "categorical_logits"),
    ("CategoricalGeneralizedCrossEntropy",
     "CategoricalGeneralizedCrossEntropy", {}, "sparse_probs"),
    ("KLDivergence", "KLDivergence", {}, "distribution"),
    ("Poisson", "Poisson", {}, "positive"),
    ("Hinge", "Hinge", {}, "hinge_pm1"),
    ("Hinge_01_labels", "Hinge", {}, "hinge_01"),
    ("SquaredHinge", "SquaredHinge", {}, "hinge_pm1"),
    ("SquaredHinge_01_labels", "SquaredHinge", {}, "hinge_01"),
    ("CategoricalHinge", "CategoricalHinge", {}, "categorical_logits"),
    ("Dice", "Dice", {}, "binary_probs"),
    ("Tversky", "Tversky", {}, "binary_probs"),
    ("Tversky_alpha0.3_beta0.7", "Tversky", {"alpha": 0.3, "beta": 0.7},
     "binary_probs"),
]


def make_losses():
    out = {"entries": {}, "default_configs": {},
           "note": "values[reduction]['unweighted'|'weighted']; weighted "
                   "uses sample_weight (shape (batch,))"}
    for i, (entry, cls_name, kwargs, kind) in enumerate(LOSS_CASES):
        cls = get_attr(keras.losses, cls_name)
        if cls is None:
            continue
        rng = np.random.default_rng(100 + i)
        y_true, y_pred = loss_inputs(kind, rng)
        sw = weights(rng, N_LOSS)
        rec = {"class": cls_name, "kwargs": kwargs, "inputs": kind,
               "y_true": y_true, "y_pred": y_pred, "sample_weight": sw,
               "values": {}}
        try:
            rec["config"] = clean_config(cls(**kwargs).get_config())
            for red in REDUCTIONS:
                loss = cls(reduction=red, **kwargs)
                rec["values"][red] = {
                    "unweighted": to_np(loss(y_true, y_pred)),
                    "weighted": to_np(loss(y_true, y_pred, sample_weight=sw)),
                }
        except Exception as e:
            ERRORS[f"losses.{entry}"] = repr(e)
            continue
        out["entries"][entry] = rec
        if cls_name not in out["default_configs"]:
            out["default_configs"][cls_name] = clean_config(cls().get_config())
    return out


# --------------------------------------------------------------------------
# c. Metrics
# --------------------------------------------------------------------------

N_MET, C_MET = 6, 4


INT_WEIGHT_KINDS = ("int_labels3", "binary_probs_1d")


def metric_batch(kind, rng):
    """One batch: dict with y_true/y_pred (or values) and sample_weight."""
    n, c = N_MET, C_MET
    sw = weights(rng, n)
    if kind in INT_WEIGHT_KINDS:
        # IoU metrics keep an integer confusion matrix and cast weights to
        # int, so use integer-valued weights (stored as float, cast exact).
        sw = rng.integers(1, 4, n).astype(F32)
        sw[1] = 0.0
    if kind == "labels_equal":  # Accuracy: elementwise equality
        yt = rng.integers(0, 3, (n, 1))
        yp = yt.copy()
        flip = rng.random((n, 1)) < 0.4
        yp[flip] = (yp[flip] + 1) % 3
        return {"y_true": yt.astype(F32), "y_pred": yp.astype(F32),
                "sample_weight": sw}
    if kind == "binary_probs":
        return {"y_true": binary(rng, (n, 3)),
                "y_pred": unit_probs(rng, (n, 3)), "sample_weight": sw}
    if kind == "binary_probs_1d":  # BinaryIoU: weights must match y shape
        return {"y_true": binary(rng, (n,)),
                "y_pred": unit_probs(rng, (n,)), "sample_weight": sw}
    if kind == "binary_logits":
        return {"y_true": binary(rng, (n, 3)),
                "y_pred": rng.normal(0, 2, (n, 3)).astype(F32),
                "sample_weight": sw}
    if kind == "categorical_probs":
        return {"y_true": onehot(rng.integers(0, c, n), c),
                "y_pred": probs(rng, n, c), "sample_weight": sw}
    if kind == "sparse_probs":
        return {"y_true": rng.integers(0, c, n).astype(F32),
                "y_pred": probs(rng, n, c), "sample_weight": sw}
    if kind == "multilabel_probs":  # F1 / FBeta
        return {"y_true": binary(rng, (n, c)),
                "y_pred": unit_probs(rng, (n, c)), "sample_weight": sw}
    if kind == "regression":
        return {"y_true": rng.normal(0, 2, (n, 3)).astype(F32),
                "y_pred": rng.normal(0, 2, (n, 3)).astype(F32),
                "sample_weight": sw}
    if kind == "r2":
        yt = rng.normal(0, 2, (n, 2)).astype(F32)
        return {"y_true": yt,
                "y_pred": (yt + rng.normal(0, 1, (n, 2))).astype(F32),
                "sample_weight": sw}
    if kind == "positive":
        return {"y_true": rng.uniform(0.1, 3.0, (n, 3)).astype(F32),
                "y_pred": rng.uniform(0.1, 3.0, (n, 3)).astype(F32),
                "sample_weight": sw}
    if kind == "distribution":
        return {"y_true": probs(rng, n, c), "y_pred": probs(rng, n, c),
                "sample_weight": sw}
    if kind == "hinge_pm1":
        return {"y_true": rng.choice([-1.0, 1.0], (n, 3)).astype(F32),
                "y_pred": rng.normal(0, 1.5, (n, 3)).astype(F32),
                "sample_weight": sw}
    if kind == "categorical_scores":
        return {"y_true": onehot(rng.integers(0, c, n), c),
                "y_pred": rng.normal(0, 1.5, (n, c)).astype(F32),
                "sample_weight": sw}
    if kind == "int_labels3":  # IoU / MeanIoU
        return {"y_true": rng.integers(0, 3, n).astype(F32),
                "y_pred": rng.integers(0, 3, n).astype(F32),
                "sample_weight": sw}
    if kind == "values":  # Mean / Sum
        return {"values": rng.normal(0, 2, n).astype(F32),
                "sample_weight": sw}
    raise ValueError(kind)


# (entry name, class name, constructor kwargs, input family)
METRIC_CASES = [
    ("Accuracy", "Accuracy", {}, "labels_equal"),
    ("BinaryAccuracy", "BinaryAccuracy", {}, "binary_probs"),
    ("CategoricalAccuracy", "CategoricalAccuracy", {}, "categorical_probs"),
    ("SparseCategoricalAccuracy", "SparseCategoricalAccuracy", {},
     "sparse_probs"),
    ("TopKCategoricalAccuracy_k2", "TopKCategoricalAccuracy", {"k": 2},
     "categorical_probs"),
    ("SparseTopKCategoricalAccuracy_k2", "SparseTopKCategoricalAccuracy",
     {"k": 2}, "sparse_probs"),
    ("Precision", "Precision", {}, "binary_probs"),
    ("Precision_thresholds", "Precision", {"thresholds": [0.3, 0.7]},
     "binary_probs"),
    ("Precision_top_k2", "Precision", {"top_k": 2}, "binary_probs"),
    ("Precision_class_id1", "Precision", {"class_id": 1}, "binary_probs"),
    ("Recall", "Recall", {}, "binary_probs"),
    ("Recall_thresholds", "Recall", {"thresholds": [0.3, 0.7]},
     "binary_probs"),
    ("AUC_ROC", "AUC", {"curve": "ROC"}, "binary_probs"),
    ("AUC_PR", "AUC", {"curve": "PR"}, "binary_probs"),
    ("AUC_ROC_from_logits", "AUC", {"from_logits": True}, "binary_logits"),
    ("AUC_ROC_multi_label", "AUC", {"multi_label": True}, "binary_probs"),
    ("TruePositives", "TruePositives", {}, "binary_probs"),
    ("TrueNegatives", "TrueNegatives", {}, "binary_probs"),
    ("FalsePositives", "FalsePositives", {}, "binary_probs"),
    ("FalseNegatives", "FalseNegatives", {}, "binary_probs"),
    ("TruePositives_thresholds", "TruePositives",
     {"thresholds": [0.25, 0.5, 0.75]}, "binary_probs"),
    ("PrecisionAtRecall_0.5", "PrecisionAtRecall", {"recall": 0.5},
     "binary_probs"),
    ("RecallAtPrecision_0.5", "RecallAtPrecision", {"precision": 0.5},
     "binary_probs"),
    ("SensitivityAtSpecificity_0.5", "SensitivityAtSpecificity",
     {"specificity": 0.5}, "binary_probs"),
    ("SpecificityAtSensitivity_0.5", "SpecificityAtSensitivity",
     {"sensitivity": 0.5}, "binary_probs"),
    ("R2Score", "R2Score", {}, "r2"),
    ("R2Score_raw", "R2Score", {"class_aggregation": None}, "r2"),
    ("MeanSquaredError", "MeanSquaredError", {}, "regression"),
    ("RootMeanSquaredError", "RootMeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", "MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", "MeanAbsolutePercentageError", {},
     "positive"),
    ("MeanSquaredLogarithmicError", "MeanSquaredLogarithmicError", {},
     "positive"),
    ("CosineSimilarity", "CosineSimilarity", {}, "regression"),
    ("LogCoshError", "LogCoshError", {}, "regression"),
    ("PearsonCorrelation", "PearsonCorrelation", {}, "regression"),
    ("ConcordanceCorrelation", "ConcordanceCorrelation", {}, "regression"),
    ("KLDivergence", "KLDivergence", {}, "distribution"),
    ("Poisson", "Poisson", {}, "positive"),
    ("Hinge", "Hinge", {}, "hinge_pm1"),
    ("SquaredHinge", "SquaredHinge", {}, "hinge_pm1"),
    ("CategoricalHinge", "CategoricalHinge", {}, "categorical_scores"),
    ("BinaryCrossentropy", "BinaryCrossentropy", {}, "binary_probs"),
    ("BinaryCrossentropy_from_logits", "BinaryCrossentropy",
     {"from_logits": True}, "binary_logits"),
    ("CategoricalCrossentropy", "CategoricalCrossentropy", {},
     "categorical_probs"),
    ("SparseCategoricalCrossentropy", "SparseCategoricalCrossentropy", {},
     "sparse_probs"),
    ("Mean", "Mean", {}, "values"),
    ("Sum", "Sum", {}, "values"),
    ("IoU", "IoU", {"num_classes": 3, "target_class_ids": [0, 2]},
     "int_labels3"),
    ("MeanIoU", "MeanIoU", {"num_classes": 3}, "int_labels3"),
    ("BinaryIoU", "BinaryIoU", {}, "binary_probs_1d"),
]
for _avg in (None, "macro", "micro", "weighted"):
    for _thr in (0.5, None):
        _suffix = f"{_avg}_thr{_thr}"
        METRIC_CASES.append((f"F1Score_{_suffix}", "F1Score",
                             {"average": _avg, "threshold": _thr},
                             "multilabel_probs"))
        METRIC_CASES.append((f"FBetaScore_beta2_{_suffix}", "FBetaScore",
                             {"average": _avg, "beta": 2.0,
                              "threshold": _thr}, "multilabel_probs"))


def run_metric(cls, kwargs, batches, weighted):
    """Fresh metric, update on each batch; results after batch 1 and 2."""
    m = cls(**kwargs)
    results = []
    for b in batches:
        sw = b["sample_weight"] if weighted else None
        if sw is not None and "int" in str(m.dtype):
            sw = sw.astype(np.int32)  # integer-valued already; avoids a warning
        if "values" in b:
            m.update_state(b["values"], sample_weight=sw)
        else:
            m.update_state(b["y_true"], b["y_pred"], sample_weight=sw)
        results.append(to_np(m.result()))
    return results


def make_metrics():
    out = {"entries": {},
           "note": "result_after_batch1/result_after_batch2 from one metric "
                   "object updated on batch 1 then batch 2 (stateful); "
                   "*_weighted pass each batch's sample_weight."}
    for i, (entry, cls_name, kwargs, kind) in enumerate(METRIC_CASES):
        cls = get_attr(keras.metrics, cls_name)
        if cls is None:
            continue
        rng = np.random.default_rng(1000 + i)
        batches = [metric_batch(kind, rng), metric_batch(kind, rng)]
        rec = {"class": cls_name, "kwargs": kwargs, "inputs": kind,
               "batches": batches}
        try:
            m = cls(**kwargs)
            rec["name"] = m.name
            rec["config"] = clean_config(m.get_config())
            r = run_metric(cls, kwargs, batches, weighted=False)
            rec["result_after_batch1"], rec["result_after_batch2"] = r
        except Exception as e:
            ERRORS[f"metrics.{entry}"] = repr(e)
            continue
        try:
            r = run_metric(cls, kwargs, batches, weighted=True)
            (rec["result_after_batch1_weighted"],
             rec["result_after_batch2_weighted"]) = r
        except Exception as e:  # sample_weight unsupported for this metric
            rec["weighted_error"] = repr(e)
        out["entries"][entry] = rec
    return out


# --------------------------------------------------------------------------
# d. Optimizers
# --------------------------------------------------------------------------

# (entry name, class name, constructor kwargs)
OPTIMIZER_CASES = [
    ("SGD", "SGD", {"learning_rate": 0.01}),
    ("SGD_momentum", "SGD", {"learning_rate": 0.01, "momentum": 0.9}),
    ("SGD_nesterov", "SGD",
     {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}),
    ("SGD_weight_decay", "SGD", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("SGD_clipvalue", "SGD", {"learning_rate": 0.01, "clipvalue": 0.5}),
    ("SGD_clipnorm", "SGD", {"learning_rate": 0.01, "clipnorm": 1.0}),
    ("SGD_global_clipnorm", "SGD",
     {"learning_rate": 0.01, "global_clipnorm": 1.0}),
    ("RMSprop", "RMSprop", {"learning_rate": 0.01}),
    ("RMSprop_centered_momentum", "RMSprop",
     {"learning_rate": 0.01, "centered": True, "momentum": 0.9}),
    ("Adam", "Adam", {"learning_rate": 0.01}),
    ("Adam_amsgrad", "Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("Adam_weight_decay", "Adam", {"learning_rate": 0.01,
                                   "weight_decay": 0.1}),
    ("AdamW", "AdamW", {"learning_rate": 0.01}),  # default weight_decay
    ("AdamW_wd0.1", "AdamW", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("Adagrad", "Adagrad", {"learning_rate": 0.01}),
    ("Adadelta", "Adadelta", {"learning_rate": 0.01}),
    ("Adadelta_lr1", "Adadelta", {"learning_rate": 1.0}),
    ("Adamax", "Adamax", {"learning_rate": 0.01}),
    ("Nadam", "Nadam", {"learning_rate": 0.01}),
    ("Ftrl", "Ftrl", {"learning_rate": 0.01}),
    ("Ftrl_l1_l2", "Ftrl", {"learning_rate": 0.01,
                            "l1_regularization_strength": 0.01,
                            "l2_regularization_strength": 0.01}),
    ("Lion", "Lion", {"learning_rate": 0.01}),
    ("Adafactor", "Adafactor", {"learning_rate": 0.01}),
    ("Adafactor_no_relative_step", "Adafactor",
     {"learning_rate": 0.01, "relative_step": False}),
    ("Lamb", "Lamb", {"learning_rate": 0.01}),
]


def make_optimizers():
    rng = np.random.default_rng(7)
    init = rng.normal(0.0, 1.0, (3, 4)).astype(F32)
    grads = [rng.normal(0.0, 1.0, (3, 4)).astype(F32) for _ in range(4)]
    grads[2][0, 0] = 0.0  # an exact zero gradient entry
    out = {"initial": init, "gradients": grads, "entries": {},
           "default_configs": {},
           "note": "variables[k] = variable after apply_gradients step k+1"}
    for entry, cls_name, kwargs in OPTIMIZER_CASES:
        cls = get_attr(keras.optimizers, cls_name)
        if cls is None:
            continue
        try:
            opt = cls(**kwargs)
            var = keras.Variable(init.copy(), dtype="float32", name="w")
            steps = []
            for g in grads:
                opt.apply_gradients([(ops.convert_to_tensor(g), var)])
                steps.append(to_np(var))
            out["entries"][entry] = {
                "class": cls_name, "kwargs": kwargs,
                "config": clean_config(opt.get_config()),
                "variables": steps,
            }
            if cls_name not in out["default_configs"]:
                out["default_configs"][cls_name] = clean_config(
                    cls().get_config())
        except Exception as e:
            ERRORS[f"optimizers.{entry}"] = repr(e)
    return out


# --------------------------------------------------------------------------
# e. Learning-rate schedules
# --------------------------------------------------------------------------

SCHEDULE_STEPS = [0, 1, 2, 5, 9, 10, 11, 15, 30, 50, 99, 100, 101, 1000]

SCHEDULE_CASES = [
    ("ExponentialDecay", "ExponentialDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9}),
    ("ExponentialDecay_staircase", "ExponentialDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9,
      "staircase": True}),
    ("PiecewiseConstantDecay", "PiecewiseConstantDecay",
     {"boundaries": [5, 50], "values": [1.0, 0.5, 0.1]}),
    ("PolynomialDecay", "PolynomialDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 100,
      "end_learning_rate": 0.001, "power": 1.0}),
    ("PolynomialDecay_power2_cycle", "PolynomialDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 30,
      "end_learning_rate": 0.001, "power": 2.0, "cycle": True}),
    ("InverseTimeDecay", "InverseTimeDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}),
    ("InverseTimeDecay_staircase", "InverseTimeDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5,
      "staircase": True}),
    ("CosineDecay", "CosineDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 100}),
    ("CosineDecay_alpha", "CosineDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 100, "alpha": 0.1}),
    ("CosineDecay_warmup", "CosineDecay",
     {"initial_learning_rate": 0.0, "decay_steps": 100,
      "warmup_target": 0.1, "warmup_steps": 10}),
    ("CosineDecay_warmup_alpha", "CosineDecay",
     {"initial_learning_rate": 0.01, "decay_steps": 100, "alpha": 0.1,
      "warmup_target": 0.1, "warmup_steps": 10}),
    ("CosineDecayRestarts", "CosineDecayRestarts",
     {"initial_learning_rate": 0.1, "first_decay_steps": 10}),
    ("CosineDecayRestarts_mmul_alpha", "CosineDecayRestarts",
     {"initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 1.5,
      "m_mul": 0.5, "alpha": 0.1}),
]


def make_schedules():
    out = {"steps": SCHEDULE_STEPS, "entries": {}}
    S = keras.optimizers.schedules
    for entry, cls_name, kwargs in SCHEDULE_CASES:
        cls = get_attr(S, cls_name)
        if cls is None:
            continue
        try:
            sched = cls(**kwargs)
            lrs = [float(to_np(sched(s))) for s in SCHEDULE_STEPS]
            out["entries"][entry] = {
                "class": cls_name, "kwargs": kwargs,
                "config": clean_config(sched.get_config()),
                "learning_rates": lrs,
            }
        except Exception as e:
            ERRORS[f"schedules.{entry}"] = repr(e)
    return out


# --------------------------------------------------------------------------
# f. Initializers
# --------------------------------------------------------------------------

INIT_SHAPE = (400, 400)

# (entry name, initializer name, kwargs, expected std of the *target*
#  distribution, truncation bound or None)
def _vs_std(scale, fan):
    return math.sqrt(scale / fan)


def truncation_constant():
    """The constant Keras divides by for truncated_normal variance scaling."""
    from keras.src.initializers import random_initializers as ri

    src = inspect.getsource(ri.VarianceScaling.__call__)
    m = re.search(r"math\.sqrt\(scale\)\s*/\s*([0-9.]+)", src)
    return float(m.group(1)) if m else None


def make_initializers():
    const = truncation_constant()
    c = const if const is not None else 0.87962566103423978
    fan = 400.0
    # Underlying normal stddev = target_std / c; truncated at 2 * that.
    cases = [
        ("glorot_normal", "glorot_normal", {}, _vs_std(1.0, fan),
         2 * _vs_std(1.0, fan) / c),
        ("he_normal", "he_normal", {}, _vs_std(2.0, fan),
         2 * _vs_std(2.0, fan) / c),
        ("lecun_normal", "lecun_normal", {}, _vs_std(1.0, fan),
         2 * _vs_std(1.0, fan) / c),
        # TruncatedNormal(stddev=s): cut at 2s, NOT rescaled -> std ~= s*c.
        ("truncated_normal", "truncated_normal", {}, 0.05 * c, 2 * 0.05),
        ("truncated_normal_std1", "truncated_normal", {"stddev": 1.0},
         1.0 * c, 2.0),
        ("variance_scaling_truncated", "variance_scaling",
         {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"},
         _vs_std(1.0, fan), 2 * _vs_std(1.0, fan) / c),
        ("variance_scaling_scale2_fan_avg", "variance_scaling",
         {"scale": 2.0, "mode": "fan_avg",
          "distribution": "truncated_normal"},
         _vs_std(2.0, fan), 2 * _vs_std(2.0, fan) / c),
        ("variance_scaling_untruncated", "variance_scaling",
         {"distribution": "untruncated_normal"}, _vs_std(1.0, fan), None),
        ("glorot_uniform", "glorot_uniform", {}, _vs_std(1.0, fan),
         math.sqrt(3.0) * _vs_std(1.0, fan)),
        ("he_uniform", "he_uniform", {}, _vs_std(2.0, fan),
         math.sqrt(3.0) * _vs_std(2.0, fan)),
        ("lecun_uniform", "lecun_uniform", {}, _vs_std(1.0, fan),
         math.sqrt(3.0) * _vs_std(1.0, fan)),
    ]
    out = {"shape": list(INIT_SHAPE), "truncation_constant": const,
           "truncation_constant_note":
               "VarianceScaling(truncated_normal) uses stddev = "
               "sqrt(scale) / constant, then the backend truncates at "
               "+-2 stddev (constant = std of N(0,1) truncated to [-2,2])",
           "entries": {}}
    for i, (entry, name, kwargs, exp_std, bound) in enumerate(cases):
        fn = get_attr(keras.initializers, name)
        if fn is None:
            continue
        try:
            init = fn(seed=1234 + i, **kwargs)
            v = to_np(init(INIT_SHAPE, dtype="float32")).astype(np.float64)
            rec = {"name": name, "kwargs": kwargs,
                   "config": clean_config(init.get_config()),
                   "sample_std": float(v.std()), "sample_mean": float(v.mean()),
                   "max_abs": float(np.abs(v).max()),
                   "expected_std": exp_std, "bound": bound}
            if bound is not None:
                rec["count_beyond_bound"] = int((np.abs(v) > bound).sum())
            out["entries"][entry] = rec
        except Exception as e:
            ERRORS[f"initializers.{entry}"] = repr(e)
    return out


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    out_path = (sys.argv[1] if len(sys.argv) > 1 else
                os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "keras_reference.json"))
    keras.utils.set_random_seed(0)
    ref = {
        "meta": {
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "numpy_version": np.__version__,
            "floatx": keras.config.floatx(),
            "epsilon": keras.config.epsilon(),
            "generator": "make_keras_reference.py",
        },
        "activations": make_activations(),
        "losses": make_losses(),
        "metrics": make_metrics(),
        "optimizers": make_optimizers(),
        "schedules": make_schedules(),
        "initializers": make_initializers(),
    }
    backend = keras.backend.backend()
    try:
        mod = __import__(backend)
        ref["meta"]["backend_version"] = getattr(mod, "__version__", None)
    except ImportError:
        ref["meta"]["backend_version"] = None
    ref["meta"]["missing_names"] = MISSING
    ref["meta"]["errors"] = ERRORS
    with open(out_path, "w") as f:
        json.dump(jsonable(ref), f, allow_nan=False, separators=(",", ":"))
    print(f"wrote {out_path} ({os.path.getsize(out_path) / 1e6:.2f} MB)")
    if MISSING:
        print("missing:", ", ".join(MISSING))
    for k, v in ERRORS.items():
        print("error:", k, v)


if __name__ == "__main__":
    main()
