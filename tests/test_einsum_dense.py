"""EinsumDense against Keras 3.15.1 (torch backend: tests/keras_reference/einsum_dense.npz, made by
make_einsum_dense_reference.py): weight shapes, output shapes and outputs for Keras's weights, the axes the
kernel initializer's fans are taken along; gradients in float64."""
import json
from pathlib import Path

import numpy as np
import pytest

import scratchgrad as sg
from scratchgrad import layers as L
from scratchgrad.layers.einsum_dense import analyze

REFERENCE = dict(np.load(Path(__file__).parent / "keras_reference" / "einsum_dense.npz"))
CASES = json.loads(str(REFERENCE["cases"]))


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c["kwargs"]["equation"] for c in CASES])
def test_shapes_and_outputs_equal_keras(i):
    case = CASES[i]
    layer = L.EinsumDense(**case["kwargs"])
    x = REFERENCE[f"{i}/x"]
    layer.build(x.shape)
    assert list(layer.kernel.shape) == case["kernel_shape"]
    assert (None if layer.bias is None else list(layer.bias.shape)) == case["bias_shape"]
    shape = list(layer.compute_output_shape((None,) + x.shape[1:]))
    if case["kwargs"]["equation"].startswith("..."):  # Keras's computed shape reverses two or more "..." axes
        assert shape == [None, *x.shape[1:-1], case["kwargs"]["output_shape"]] != case["output_shape"]
    else:
        assert shape == case["output_shape"]
    layer.set_weights([REFERENCE[f"{i}/kernel"]] + ([REFERENCE[f"{i}/bias"]] if layer.bias is not None else []))
    np.testing.assert_allclose(layer(x).numpy(), REFERENCE[f"{i}/y"], rtol=1e-5, atol=1e-5)
    _, _, _, input_axes, output_axes = analyze(case["kwargs"]["equation"], case["kwargs"].get("bias_axes"),
                                               x.shape, case["kwargs"]["output_shape"])
    assert (input_axes, output_axes) == (case["kernel_input_axes"], case["kernel_output_axes"])
    config = layer.get_config()
    for key, value in case["config"].items():
        if key not in ("kernel_initializer", "bias_initializer", "trainable"):
            assert json.loads(json.dumps(config[key])) == value, key


def test_the_initializer_takes_its_fans_along_the_equation(rng):
    """A (heads, size) projection of 64 features into 8 x 16: glorot_uniform's limit √(6 / (64 + 128))."""
    sg.set_seed(0)
    layer = L.EinsumDense("abc,cde->abde", output_shape=(None, 8, 16))
    layer.build((2, 3, 64))
    limit = np.sqrt(6 / (64 + 8 * 16))
    assert np.abs(layer.kernel.numpy()).max() <= limit and np.abs(layer.kernel.numpy()).max() > 0.95 * limit


def test_gradients_and_a_model_round_trip(rng, tmp_path):
    layer = L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de", activation="tanh",
                          dtype="float64")
    x = sg.Tensor(rng.standard_normal((2, 4, 5)), dtype="float64", requires_grad=True)
    layer(x)
    assert sg.gradcheck(lambda a, *weights: layer(a), x, *layer.trainable_weights)
    inputs = sg.Input(shape=(4, 5))
    model = sg.Model(inputs, L.EinsumDense("abde,deg->abg", (None, 3), bias_axes="g")(
        L.EinsumDense("abc,cde->abde", (None, 2, 6))(inputs)))
    data = rng.standard_normal((3, 4, 5)).astype(np.float32)
    for name, options in (("m.sg", {}), ("m.keras", {"format": "keras"})):
        model.save(tmp_path / name, **options)
        np.testing.assert_allclose(sg.models.load_model(tmp_path / name).predict(data, verbose=0),
                                   model.predict(data, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("kwargs, shape, match", [
    (dict(equation="ab->b", output_shape=3), (2, 3), "must have the form"),
    (dict(equation="ab,bc->ad", output_shape=3), (2, 3), "'d' is in neither"),
    (dict(equation="ab,bcx->ac", output_shape=3), (2, 3), "kernel dimension 'x'"),
    (dict(equation="abc,cd->abd", output_shape=(5, 2)), (2, 4, 3), "shared dimension 'b'"),
    (dict(equation="ab,bc->ac", output_shape=3, bias_axes="z"), (2, 3), r"bias_axes \['z'\]"),
])
def test_bad_equations_are_refused(kwargs, shape, match):
    with pytest.raises(ValueError, match=match):
        L.EinsumDense(**kwargs).build(shape)
