"""Stop and resume: a model saved after k epochs, loaded in a fresh process and trained on with
fit(initial_epoch=k) ends with the weights of the run that was never stopped, bit for bit, for every
optimizer and every learning-rate schedule (the optimizer's whole state and the random state that
shuffling and dropout use next travel in the file)."""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad import optimizers
from scratchgrad import random as sg_random
from scratchgrad.models import load_model
from scratchgrad.optimizers import schedules

SCHEDULE_EXAMPLES = {  # a few steps per period, so that a schedule restarted at step 0 gives other rates
    "ExponentialDecay": {"initial_learning_rate": 0.05, "decay_steps": 3, "decay_rate": 0.5},
    "StepDecay": {"initial_learning_rate": 0.05, "step_size": 4, "gamma": 0.5},
    "CosineDecay": {"initial_learning_rate": 0.05, "decay_steps": 15, "warmup_target": 0.1, "warmup_steps": 3},
    "PiecewiseConstantDecay": {"boundaries": [4, 8], "values": [0.05, 0.02, 0.01]},
    "PolynomialDecay": {"initial_learning_rate": 0.05, "decay_steps": 7, "cycle": True},
    "InverseTimeDecay": {"initial_learning_rate": 0.05, "decay_steps": 2, "decay_rate": 1.0},
    "CosineDecayRestarts": {"initial_learning_rate": 0.05, "first_decay_steps": 3},
}
OPTIONS = {  # Keras's extra state: moving averages and summed gradients are slots too
    "ema": {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 3},
    "accumulation": {"gradient_accumulation_steps": 3},
}


def optimizer_config(case):
    """(optimizer class name, its config) of a case: "opt:<Class>", "schedule:<Class>" or "option:<name>"."""
    kind, name = case.split(":")
    if name == "LossScaleOptimizer":  # around Adam, its scale doubling every 2 steps: the scale resumes too
        return name, {"inner_optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}},
                      "initial_scale": 4.0, "dynamic_growth_steps": 2}
    if name == "MultiOptimizer":  # the kernels by SGD with momentum, the other weights by Adam: both resume
        sgd, adam = ({"class_name": n, "config": c} for n, c in (("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
                                                                 ("Adam", {"learning_rate": 0.01})))
        return name, {"optimizer_map": {"class_name": "OptimizerMap",
                                        "config": {"default_optimizer": adam, "optimizer_map": {".*/kernel": sgd}}}}
    if kind == "opt":
        return name, {"learning_rate": 0.01}
    if kind == "schedule":
        return "SGD", {"learning_rate": {"class_name": name, "config": SCHEDULE_EXAMPLES[name]}}
    return "Adam", {"learning_rate": 0.01, **OPTIONS[name]}


def ours(registry):
    """The registry's own classes (tests define others, which a fresh process does not know)."""
    return sorted(name for name, cls in registry.items() if cls.__module__.startswith("scratchgrad."))


CASES = [f"opt:{n}" for n in ours(optimizers.CLASSES)] + [f"schedule:{n}" for n in ours(schedules.SCHEDULES)] + \
    [f"option:{n}" for n in OPTIONS]


def make_model(case):
    """Dropout (the global generator) and GaussianNoise with a seed (a SeedGenerator of its own) make the
    run depend on the random state; BatchNormalization adds non-trainable weights."""
    keras.set_seed(1)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.GaussianNoise(0.1, seed=7), keras.layers.BatchNormalization(),
                              keras.layers.Dropout(0.3), keras.layers.Dense(3, activation="softmax")])
    name, config = optimizer_config(case)
    model.compile(optimizer=optimizers.get({"class_name": name, "config": config}),
                  loss="sparse_categorical_crossentropy")
    return model


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 4)).astype(np.float32)
    return x, (x[:, 0] > x[:, 1]).astype(np.int64) + (x[:, 2] > 0.5)


def fit(model, epochs, initial_epoch=0):
    model.fit(*data(), batch_size=8, epochs=epochs, initial_epoch=initial_epoch, verbose=0)


def uninterrupted(case):
    """The run never stopped. With use_ema, fit() ends by giving the weights their averages (as Keras's
    does), so the uninterrupted run of the stopped one is the same two fit() calls in one process."""
    model = make_model(case)
    if case == "option:ema":
        fit(model, 2)
        fit(model, 4, initial_epoch=2)
    else:
        fit(model, 4)
    return model.get_weights()


RESUME = """
import sys, numpy as np, scratchgrad as keras
sys.path.insert(0, sys.argv[1])
from test_resume import data
for case, path in zip(sys.argv[3::2], sys.argv[4::2]):
    model = keras.models.load_model(path)
    model.fit(*data(), batch_size=8, epochs=4, initial_epoch=2, verbose=0)
    np.savez(path + ".npz", *model.get_weights())
"""


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """Each case stopped after 2 epochs and saved here; one fresh process resumes them all."""
    folder = tmp_path_factory.mktemp("resume")
    paths = {}
    for case in CASES:
        model = make_model(case)
        fit(model, 2)
        paths[case] = str(folder / f"{case.replace(':', '-')}.sg")
        model.save(paths[case])
    source = os.path.dirname(os.path.dirname(keras.__file__))  # the process runs the scratchgrad tested here
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    args = [a for case in CASES for a in (case, paths[case])]
    done = subprocess.run([sys.executable, "-c", RESUME, os.path.dirname(__file__), "-", *args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {case: paths[case] + ".npz" for case in CASES}


@pytest.mark.parametrize("case", CASES)
def test_resume_in_a_fresh_process_equals_the_uninterrupted_run(case, resumed):
    with np.load(resumed[case]) as saved:
        got = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    want = uninterrupted(case)
    assert len(got) == len(want)
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)


def edit_metadata(path, change):
    """Rewrite a saved file with its metadata changed by `change(metadata, tensors)`."""
    from safetensors.numpy import load_file, save_file
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata()
    tensors = load_file(str(path))
    change(metadata, tensors)
    save_file(tensors, str(path), metadata=metadata)


@pytest.mark.parametrize("what,message", [
    ("slot", r"reset to their initial values: momentum of dense(_\d+)?/kernel$"),
    ("all slots", r"reset.*: momentum of dense(_\d+)?/kernel, velocity of dense(_\d+)?/kernel, .* and \d+ more"),
    ("random state", r"no random state.*shuffling and dropout"),
])
def test_missing_or_partial_state_is_said(tmp_path, what, message):
    path = tmp_path / "m.sg"
    model = make_model("opt:Adam")
    fit(model, 1)
    model.save(path)

    def drop(metadata, tensors):
        if what == "random state":
            del metadata["random_state"]
        for key in [k for k in tensors if k.startswith("optimizer/")]:
            if what == "all slots" or key == "optimizer/0000/momentum":
                del tensors[key]

    edit_metadata(path, drop)
    with pytest.warns(UserWarning, match=message):
        loaded = load_model(path)
    assert loaded.optimizer.iterations == model.optimizer.iterations  # what is there is still restored


def test_a_complete_file_loads_without_a_warning(tmp_path):
    path = tmp_path / "m.sg"
    model = make_model("opt:Adam")
    fit(model, 1)
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(path)


def test_loading_restores_the_random_state_of_the_run(tmp_path):
    """The global generator and each layer's SeedGenerator continue where the saved run left them."""
    path = tmp_path / "m.sg"
    model = make_model("opt:SGD")
    fit(model, 1)
    model.save(path)
    state = json.dumps(sg_random.get_state())
    noise = model.layers[1]._seed_generator.generator.bit_generator.state
    keras.set_seed(99)
    loaded = load_model(path)
    assert json.dumps(sg_random.get_state()) == state
    assert loaded.layers[1]._seed_generator.generator.bit_generator.state == noise
