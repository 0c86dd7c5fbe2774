"""Models travel: a CNN trained here runs in ONNX Runtime, and a CNN trained by Keras opens here.

1. The MNIST CNN of 09_mnist_cnn.py is trained with scratchgrad, exported with model.export("cnn.onnx")
   and run by ONNX Runtime over the test set: both give the same predictions (the accuracies are printed).
2. examples/data/keras_digits_cnn.keras was trained and saved by Keras 3 itself (made by
   examples/data/make_keras_digits_cnn.py); scratchgrad.models.load_model opens it, evaluates it on the
   same digits, and draws what it learned with scratchgrad.plot: its activations layer by layer and its
   first-layer filters.

    SCRATCHGRAD_DATA=/path/to/datasets python examples/14_interop.py     # needs onnx, onnxruntime, h5py

Without MNIST, part 1 trains the same network on the 8×8 digits instead.
"""
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np

import scratchgrad as keras
from scratchgrad import plot
from scratchgrad.datasets import DatasetNotFoundError, load_digits, mnist

HERE = Path(__file__).resolve().parent
KERAS_MODEL = HERE / "data" / "keras_digits_cnn.keras"


def mnist_cnn():
    """09_mnist_cnn.py's network and input scaling (a file name starting with a digit is loaded by path)."""
    spec = importlib.util.spec_from_file_location("mnist_cnn", HERE / "09_mnist_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def digit_images():
    """scikit-learn's 8×8 digits as (n, 8, 8, 1) in [0, 1], as the Keras model was trained on them."""
    x, y = load_digits()
    return (x.reshape(-1, 8, 8, 1) / 16.0).astype(np.float32), y


def onnx_accuracy(model, path, x):
    """The predicted classes of `model` exported to ONNX, as ONNX Runtime computes them."""
    import onnxruntime

    model.export(path, format="onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: x[i:i + 500]})[0] for i in range(0, len(x), 500)])


def train_here_run_in_onnx(epochs, samples, folder):
    cnn = mnist_cnn()
    keras.set_seed(0)
    try:
        (x, y), (x_test, y_test) = mnist.load_data()
        x, x_test, model = cnn.standardize(x[:samples]), cnn.standardize(x_test), cnn.build()
        y = y[:samples]
    except DatasetNotFoundError:
        images, labels = digit_images()
        x, y, x_test, y_test = images[:1500], labels[:1500], images[1500:], labels[1500:]
        model = keras.Sequential([keras.Input(shape=(8, 8, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                                  keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=128, verbose=0)
    ours = model.predict(x_test, batch_size=500)
    theirs = onnx_accuracy(model, Path(folder) / "cnn.onnx", x_test)
    results = {"scratchgrad accuracy": float((ours.argmax(1) == y_test).mean()),
               "onnxruntime accuracy": float((theirs.argmax(1) == y_test).mean()),
               "largest probability difference": float(np.abs(ours - theirs).max())}
    for name, value in results.items():
        print(f"{name}: {value:.6g}")
    return results


def open_a_keras_model(folder):
    model = keras.models.load_model(KERAS_MODEL)
    x, y = digit_images()
    loss, accuracy = model.evaluate(x[1500:], y[1500:], verbose=0)
    print(f"the Keras-trained CNN, opened here: accuracy {accuracy:.4f} on digits[1500:]")
    figures = [Path(folder) / "keras_activations.png", Path(folder) / "keras_filters.png"]
    plot.plot_activation_histograms(model, x[:500], save=figures[0])
    plot.plot_weights(model.layers[0], save=figures[1])
    print(f"drew {', '.join(str(f) for f in figures)}")
    return {"keras model accuracy": accuracy, "figures": figures}


def main(epochs=2, samples=None, folder=None):
    """Returns part 1's accuracies and part 2's accuracy and figure paths; files go to `folder`."""
    folder = folder or tempfile.mkdtemp(prefix="interop-")
    return {**train_here_run_in_onnx(epochs, samples, folder), **open_a_keras_model(folder)}


if __name__ == "__main__":
    try:
        main(folder=".")
    except ImportError as err:
        sys.exit(f"{err.name} is needed: pip install 'scratchgrad[onnx,keras]'")
