"""Our names give Keras's numbers: every activation, loss, optimizer, schedule and initializer we have is
compared with values Keras 3 itself computed (tests/keras_reference/keras_reference.json, made by
make_keras_reference.py there with KERAS_BACKEND=torch; the file says which Keras). Entries we do not
implement yet are listed in NOT_YET, so a new reference entry is never skipped silently."""
import json
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import activations, losses, optimizers

REFERENCE = json.loads((Path(__file__).parent / "keras_reference" / "keras_reference.json").read_text())
NOT_YET = {}


def entries(section):
    return sorted(set(REFERENCE[section]["entries"]) - NOT_YET.get(section, set()))


def test_the_reference_is_keras_3():
    assert REFERENCE["meta"]["keras_version"].startswith("3.") and not REFERENCE["meta"]["errors"]
    for section, names in NOT_YET.items():
        assert names <= set(REFERENCE[section]["entries"]), f"{section}: stale NOT_YET names"


# ---- activations -------------------------------------------------------------------------------------
KINKS = {"relu", "relu6", "hard_tanh", "hard_shrink", "soft_shrink", "sparse_plus", "sparse_sigmoid", "hard_sigmoid",
         "hard_silu", "hard_swish", "relu_options", "relu_max_value_2", "leaky_relu", "leaky_relu_0.1", "threshold",
         "elu", "elu_alpha_0.5", "celu", "celu_alpha_2", "selu"}


def activation_function(entry):
    name = entry["function"]
    return getattr(activations, name) if name == "threshold" else activations.get(name)


@pytest.mark.parametrize("name", entries("activations"))
def test_activation_values_and_gradients(name):
    entry = REFERENCE["activations"]["entries"][name]
    x = sg.Tensor(np.array(REFERENCE["activations"]["x"], np.float32), requires_grad=True)
    y = activation_function(entry)(x, **entry["kwargs"])
    (y * sg.Tensor(np.array(entry["w"], np.float32))).sum().backward()
    expected_y = entry.get("y_by_definition", entry["y"])  # Keras 3.15's sparsemax is wrong (its issue 23425)
    expected_grad = np.array(entry.get("grad_by_definition", entry["grad"]), np.float32)
    np.testing.assert_allclose(y.numpy(), expected_y, rtol=2e-5, atol=2e-6)
    smooth = np.ones_like(expected_grad, bool)
    if name in KINKS:  # at a kink any one-sided derivative is right: compare away from them
        xs = x.numpy()
        smooth = ~np.isclose(np.abs(xs), 0, atol=2e-3) & ~np.isclose(np.abs(xs), 1, atol=2e-3) & \
            ~np.isclose(np.abs(xs), 3, atol=2e-2) & ~np.isclose(xs, 0.5, atol=2e-3)
    np.testing.assert_allclose(x.grad[smooth], expected_grad[smooth], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("options,keras_y,keras_grad", [  # Keras 3.15.1 (torch backend) on x below
    ({"threshold": 0.5}, [0, 0, 0, 0, 0, 0, 0.75, 1, 2, 5], [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]),
    ({"negative_slope": 0.2, "max_value": 3.0, "threshold": -1.0}, [-0.4, 0, 0, 0, 0.25, 0.5, 0.75, 1, 2, 3],
     [0.2, 0, 0, 1, 1, 1, 1, 1, 1, 0]),
    ({"max_value": 6.0}, [0, 0, 0, 0, 0.25, 0.5, 0.75, 1, 2, 5], [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]),
    ({"max_value": 2.0}, [0, 0, 0, 0, 0.25, 0.5, 0.75, 1, 2, 2], [0, 0, 0, 0, 1, 1, 1, 1, 1, 0])])
def test_relu_with_options_at_its_threshold_and_kinks_gives_keras_s_numbers(options, keras_y, keras_grad):
    """x = threshold gives 0 (Keras keeps x > threshold only), a negative threshold's part in (t, 0) is clipped
    to 0 when max_value is set, and the gradient at a kink is Keras's (torch.clamp passes it on the bounds)."""
    x = sg.Tensor(np.array([-3, -1, -0.5, 0, 0.25, 0.5, 0.75, 1, 2, 5], np.float32), requires_grad=True)
    y = activations.relu(x, **options)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), keras_y, rtol=1e-6)
    np.testing.assert_allclose(x.grad, keras_grad, rtol=1e-6)


@pytest.mark.parametrize("options,keras_y,keras_grad", [  # Keras 3.15.1 (torch) on x = -1, 0, 1, 6, 7
    ({"negative_slope": 0.2}, [-0.2, 0, 1, 6, 7], [0.2, 0.2, 1, 1, 1]),  # Keras runs it as leaky_relu
    ({"max_value": 6.0}, [0, 0, 1, 6, 6], [0, 0, 1, 0, 0])])  # as relu6: 0 at 6
def test_relu_s_leaky_and_relu6_kinks_and_nan_pass_through(options, keras_y, keras_grad):
    x = sg.Tensor(np.array([-1, 0, 1, 6, 7], np.float32), requires_grad=True)
    y = activations.relu(x, **options)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), keras_y, rtol=1e-6)
    np.testing.assert_allclose(x.grad, keras_grad, rtol=1e-6)
    for more in ({}, {"threshold": 0.5}):  # NaN stays NaN (Keras's threshold branch alone makes it 0)
        assert np.isnan(activations.relu(sg.Tensor(np.float32([np.nan])), **options, **more).numpy()).all()


BELOW_3 = float(np.nextafter(np.float32(3), np.float32(0)))  # x + 3 rounds to 6 in float32


@pytest.mark.parametrize("name,x,keras_y,keras_grad", [  # Keras 3.15.1 (torch) at the kinks and beyond
    ("hard_tanh", [-2, -1, -0.5, 1, 2], [-1, -1, -0.5, 1, 1], [0, 0, 1, 0, 0]),
    ("hard_sigmoid", [-4, -3, -1.5, BELOW_3, 3], [0, 0, 0.25, 1, 1], [0, 0, 1 / 6, 1 / 6, 0]),
    ("hard_silu", [-np.inf, -4, -3, -1.5, BELOW_3, 3, np.inf], [np.nan, 0, 0, -0.375, BELOW_3, 3, np.inf],
     [0, 0, 0, 0, 1.5, 1, 1])])
def test_hard_activations_kinks_give_keras_s_numbers(name, x, keras_y, keras_grad):
    """The gradient at a kink is Keras's: 0 at hard_tanh's ±1 and hard_sigmoid's ±3, decided on x itself; and
    hard_silu's by pieces, so that ±inf give 0 and 1 rather than inf·0 = NaN."""
    x = sg.Tensor(np.array(x, np.float32), requires_grad=True)
    with np.errstate(invalid="ignore"):  # hard_silu(-inf) = -inf·0: NaN, as in Keras
        y = activations.get(name)(x)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), keras_y, rtol=1e-6)
    np.testing.assert_allclose(x.grad, keras_grad, rtol=1e-6)


def test_activation_defaults_are_keras():
    import inspect

    for name, defaults in REFERENCE["activations"]["defaults"].items():
        fn = activation_function({"function": name})
        ours = {k: p.default for k, p in inspect.signature(fn).parameters.items() if k != "x"}
        for key, value in defaults.items():
            if value != "<required>":
                assert ours.get(key) == value, (name, key)


# ---- losses --------------------------------------------------------------------------------------------
def loss_object(entry, reduction):
    return losses.get(entry["class"]).__class__(**entry["kwargs"], reduction=reduction)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
@pytest.mark.parametrize("name", entries("losses"))
def test_loss_values(name, reduction, weighted):
    entry = REFERENCE["losses"]["entries"][name]
    expected = entry["values"][reduction]["weighted" if weighted else "unweighted"]
    loss = loss_object(entry, reduction)
    y_true, y_pred = np.array(entry["y_true"]), np.array(entry["y_pred"], np.float32)
    weights = np.array(entry["sample_weight"], np.float32) if weighted else None
    value = loss(y_true, sg.Tensor(y_pred), sample_weight=weights)
    np.testing.assert_allclose(value.numpy(), expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["BinaryCrossentropy", "CategoricalCrossentropy", "BinaryFocalCrossentropy",
                                  "CategoricalFocalCrossentropy"])
def test_a_crossentropy_over_another_axis_is_refused_not_ignored(name):
    with pytest.raises(NotImplementedError, match=f"{name} over an axis other than the last.*axis=0"):
        getattr(losses, name)(axis=0)
    assert getattr(losses, name)(axis=-1).get_config()["axis"] == -1


@pytest.mark.parametrize("name", entries("losses"))
def test_loss_default_names_and_config(name):
    entry = REFERENCE["losses"]["entries"][name]
    loss = loss_object(entry, "sum_over_batch_size")
    assert loss.name == entry["config"]["name"]
    for key, value in entry["config"].items():
        if key in loss.get_config() and key not in ("dtype",):
            assert loss.get_config()[key] == value, key


# ---- optimizers and schedules --------------------------------------------------------------------------
@pytest.mark.parametrize("name", entries("optimizers"))
def test_optimizer_steps(name):
    section = REFERENCE["optimizers"]
    entry = section["entries"][name]
    w = sg.Tensor(np.array(section["initial"], np.float32), requires_grad=True, name="w")
    opt = optimizers.CLASSES[entry["class"]](**entry["kwargs"])
    for g, expected in zip(section["gradients"], entry["variables"]):
        opt.apply_gradients([(np.array(g, np.float32), w)])
        np.testing.assert_allclose(w.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", entries("schedules"))
def test_schedule_values(name):
    section = REFERENCE["schedules"]
    entry = section["entries"][name]
    schedule = getattr(optimizers.schedules, entry["class"])(**entry["kwargs"])
    got = [float(schedule(step)) for step in section["steps"]]
    np.testing.assert_allclose(got, entry["learning_rates"], rtol=1e-5, atol=1e-8)


# ---- initializers -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REFERENCE["initializers"]["entries"]))
def test_initializer_spread(name):
    """Same standard deviation as Keras's draw, and the truncated ones really cut at 2σ (Keras's torch
    backend lets a few values through after 4 tries; the reference counts them, we allow none)."""
    entry = REFERENCE["initializers"]["entries"][name]
    init = sg.initializers.INITIALIZERS[entry["name"]](**entry["kwargs"])
    sg.set_seed(0)
    draw = init(tuple(REFERENCE["initializers"]["shape"]), "float64")
    assert draw.std() == pytest.approx(entry["expected_std"], rel=0.02)
    assert draw.std() == pytest.approx(entry["sample_std"], rel=0.02)
    if entry["bound"] is not None:
        assert np.abs(draw).max() <= entry["bound"] * (1 + 1e-9)


# ---- metrics --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", sorted(REFERENCE["metrics"]["entries"]))
def test_metric_accumulates_like_keras(name, weighted):
    """Two batches into one metric object: the result after each equals Keras's (stateful, not a mean of
    batch means)."""
    entry = REFERENCE["metrics"]["entries"][name]
    metric = sg.metrics.CLASSES[entry["class"]](**entry["kwargs"])
    suffix = "_weighted" if weighted else ""
    for i, batch in enumerate(entry["batches"], 1):
        weights = np.array(batch["sample_weight"]) if weighted else None
        if entry["class"] in ("Mean", "Sum"):
            metric.update_state(np.array(batch["values"]), sample_weight=weights)
        else:
            metric.update_state(np.array(batch["y_true"]), np.array(batch["y_pred"]), sample_weight=weights)
        np.testing.assert_allclose(metric.result(), entry[f"result_after_batch{i}{suffix}"], rtol=2e-5, atol=1e-6)
    keras_name = entry["name"].rsplit("_", 1)[0] if entry["name"][-1].isdigit() else entry["name"]  # Keras adds _3...
    assert metric.name == keras_name


@pytest.mark.parametrize("name", sorted(REFERENCE["metrics"]["entries"]))
def test_a_metric_rebuilt_from_its_config_gives_keras_s_numbers_too(name):
    """get_config keeps every option given (a metric rebuilt by cls(**config) counts the same way), and
    holds what Keras's config holds for them."""
    entry = REFERENCE["metrics"]["entries"][name]
    cls = sg.metrics.CLASSES[entry["class"]]
    config = cls(**entry["kwargs"]).get_config()
    assert {k: config[k] for k in entry["kwargs"]} == entry["kwargs"]
    assert json.loads(json.dumps(config)) == config  # a config is JSON, as model files keep it
    metric = cls(**config)
    assert metric.get_config() == config
    for i, batch in enumerate(entry["batches"], 1):
        if entry["class"] in ("Mean", "Sum"):
            metric.update_state(np.array(batch["values"]))
        else:
            metric.update_state(np.array(batch["y_true"]), np.array(batch["y_pred"]))
        np.testing.assert_allclose(metric.result(), entry[f"result_after_batch{i}"], rtol=2e-5, atol=1e-6)


def test_auc_label_weights_and_r2_num_regressors_give_keras_s_numbers():
    """Numbers from Keras 3.15.1 (torch backend) on these draws, computed beside scratchgrad's."""
    rng = np.random.default_rng(0)
    yt, yp = rng.integers(0, 2, (8, 4)).astype("float32"), rng.uniform(size=(8, 4)).astype("float32")
    for multi_label, keras_auc in ((True, 0.7346560955047607), (False, 0.707187294960022)):
        auc = sg.metrics.AUC(multi_label=multi_label, label_weights=[1, 2, 0.5, 1])
        auc.update_state(yt, yp)
        assert auc.result() == pytest.approx(keras_auc, rel=1e-6)
    rng = np.random.default_rng(0)
    yt, yp = rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 4)).astype("float32")
    for p, keras_r2 in ((2, -2.4948346614837646), (20, -8.213654518127441)):  # n = 32 values
        r2 = sg.metrics.R2Score(num_regressors=p)
        r2.update_state(yt, yp)
        assert r2.result() == pytest.approx(keras_r2, rel=1e-6)
    with pytest.raises(ValueError, match="label_weights must be >= 0"):
        sg.metrics.AUC(label_weights=[1, -1, 1, 1])
    with pytest.raises(ValueError, match="3 label_weights for predictions of 4 labels"):
        sg.metrics.AUC(multi_label=True, label_weights=[1, 1, 1]).update_state(yt, yp)
    one_label = sg.metrics.AUC(label_weights=[2.0])
    one_label.update_state(np.array([0, 1, 1, 0]), np.array([0.1, 0.8, 0.7, 0.3]))
    assert one_label.result() == pytest.approx(1.0)
    unweighted = sg.metrics.AUC(multi_label=True, label_weights=[0, 0, 0, 0])
    unweighted.update_state(yt, yp)
    assert unweighted.result() == 0.0  # as Keras's divide_no_nan
    thresholds = sg.metrics.Precision(thresholds=np.array([0.3, 0.7], np.float32)).get_config()["thresholds"]
    assert json.dumps(thresholds) and all(type(t) is float for t in thresholds)
    plain, too_many = sg.metrics.R2Score(), sg.metrics.R2Score(num_regressors=31)
    plain.update_state(yt, yp)
    too_many.update_state(yt, yp)
    with pytest.warns(UserWarning, match="no degrees of freedom"):
        assert too_many.result() == plain.result()


def test_top_k_accuracy_over_time_steps_and_from_sorted_ids():
    y_pred = np.array([[[0.1, 0.5, 0.4], [0.7, 0.2, 0.1]], [[0.3, 0.3, 0.4], [0.2, 0.5, 0.3]]])
    labels = np.array([[2, 2], [0, 2]])  # in the top 2: yes, no; yes (tied with 0.3), yes
    metric = sg.metrics.SparseTopKCategoricalAccuracy(k=2)
    metric.update_state(labels, y_pred)
    assert metric.result() == pytest.approx(0.75)
    one_hot = sg.metrics.TopKCategoricalAccuracy(k=1)
    one_hot.update_state(np.eye(3)[[[1, 0], [2, 2]]], y_pred)  # the best: yes, yes; yes, no
    assert one_hot.result() == pytest.approx(0.75)
    ids = np.array([[1, 0, 2], [2, 1, 0], [0, 2, 1]])  # each row's classes, best first
    sorted_ids = sg.metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)
    sorted_ids.update_state(np.array([0, 0, 1]), ids)
    assert sorted_ids.result() == pytest.approx(1 / 3)


def test_binary_accuracy_takes_weights_per_element_and_f1_keeps_its_classes_after_reset():
    """Keras 3.15.1 (torch backend) gave 0.5038555860519409 on these draws."""
    rng = np.random.default_rng(0)
    yt, yp = rng.integers(0, 2, (8, 4)).astype("float32"), rng.uniform(size=(8, 4)).astype("float32")
    w = rng.uniform(0, 2, (8, 4)).astype("float32")
    accuracy = sg.metrics.BinaryAccuracy()
    accuracy.update_state(yt, yp, sample_weight=w)
    assert accuracy.result() == pytest.approx(0.5038555860519409, rel=1e-6)
    f1 = sg.metrics.F1Score(threshold=0.5)
    f1.update_state(yt, yp)
    f1.reset_state()
    assert f1.result() == [0.0] * 4


def test_precision_at_top_k_keeps_exactly_k_the_first_of_ties_winning():
    """Keras 3.15.1 on TensorFlow and JAX gives 0.5 here (on torch, torch.topk's order of ties decides)."""
    y_true = np.array([[0, 1, 0, 0], [1, 0, 0, 0]], "float32")
    y_pred = np.array([[0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0, 0]], "float32")
    precision = sg.metrics.Precision(top_k=1)
    precision.update_state(y_true, y_pred)
    assert precision.result() == pytest.approx(0.5)
    assert precision.counts["tp"][0] + precision.counts["fp"][0] == 2  # one kept per row, ties or not


def test_one_hot_ious_take_each_rows_argmax():
    """OneHotIoU and OneHotMeanIoU: Keras's docstring examples (0.071 and 0.048, weighted; Keras 3.15 itself
    gives 0 there, its int32 confusion matrix truncating the weights, as it warns), and, unweighted, the 1/6
    Keras 3.15 (torch) gives."""
    y_true = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
    y_pred = np.array([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
    weights = np.array([0.1, 0.2, 0.3, 0.4])
    iou, mean_iou = sg.metrics.OneHotIoU(num_classes=3, target_class_ids=[0, 2]), sg.metrics.OneHotMeanIoU(3)
    for metric, expected in ((iou, (0 / 0.9 + 0.1 / 0.7) / 2), (mean_iou, (0 / 0.9 + 0 / 0.3 + 0.1 / 0.7) / 3)):
        metric.update_state(y_true, y_pred, sample_weight=weights)
        assert metric.result() == pytest.approx(expected)
    unweighted = sg.metrics.OneHotIoU(3, [0, 2])
    unweighted.update_state(y_true, y_pred)
    assert unweighted.result() == pytest.approx(1 / 6)
    sparse = sg.metrics.OneHotIoU(3, [0, 2], sparse_y_pred=True)
    sparse.update_state(y_true, y_pred.argmax(axis=1))
    assert sparse.result() == pytest.approx(1 / 6)
    assert "sparse_y_true" not in iou.get_config() and sg.metrics.OneHotIoU.from_config(iou.get_config())


def test_ious_leave_out_ids_outside_the_classes_as_keras():
    """Keras 3.15 (torch): predictions -1 and 5 of 3 classes count nowhere (0.5 here); target ids outside the
    classes are refused when the metric is made."""
    metric = sg.metrics.IoU(num_classes=3, target_class_ids=[0, 1, 2])
    metric.update_state(np.array([0, 1, 2, 1, 2]), np.array([0, -1, 2, 5, 1]))
    assert metric.result() == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"target_class_ids must lie in \[0, 3\), got \[3\]"):
        sg.metrics.IoU(num_classes=3, target_class_ids=[0, 3])


def test_mean_with_sample_weight_divides_by_the_weights():
    """Keras 3.15's reduction: Σ w·loss / Σ w, 0 where the weights sum to 0 (0.08 and 0 here, as Keras)."""
    loss = sg.losses.MeanSquaredError(reduction="mean_with_sample_weight")
    y, p = np.array([0.0, 1, 1]), np.array([0.2, 0.7, 0.4])
    assert float(loss(y, p, sample_weight=np.array([0.5, 2.0, 0.0])).numpy()) == pytest.approx(0.08)
    assert float(loss(y, p, sample_weight=np.zeros(3)).numpy()) == 0.0
    assert float(loss(y, p).numpy()) == pytest.approx(float(sg.losses.MeanSquaredError()(y, p).numpy()))


CIRCLE = dict(np.load(Path(__file__).parent / "keras_reference" / "circle.npz"))


@pytest.mark.parametrize("case, options", [("defaults", {}), ("options", {"gamma": 10.0, "margin": 0.25}),
                                           ("diagonal", {"remove_diagonal": False})])
def test_circle_loss_equals_keras(case, options):
    """Keras 3.15's Circle (made by make_circle_reference.py): a batch where class 3 has one sample, whose
    loss is 0 and leaves the mean, as Keras masks it; per sample, weighted, and the gradient."""
    x = sg.Tensor(CIRCLE["embeddings"], requires_grad=True)
    value = sg.losses.Circle(**options)(CIRCLE["labels"], x)
    value.backward()
    assert float(value.numpy()) == pytest.approx(float(CIRCLE[f"{case}/value"]), rel=1e-6)
    np.testing.assert_allclose(x.grad, CIRCLE[f"{case}/grad"], atol=2e-5)
    per_sample = sg.losses.Circle(reduction=None, **options)(CIRCLE["labels"], CIRCLE["embeddings"]).numpy()
    np.testing.assert_allclose(per_sample, CIRCLE[f"{case}/per_sample"], rtol=1e-5)
    if options.get("remove_diagonal", True):
        assert per_sample[6] == 0  # no partner of its class
    weighted = sg.losses.Circle(**options)(CIRCLE["labels"], CIRCLE["embeddings"], sample_weight=CIRCLE["weights"])
    assert float(weighted.numpy()) == pytest.approx(float(CIRCLE[f"{case}/weighted"]), rel=1e-6)
