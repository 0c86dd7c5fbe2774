"""Train a small CNN on scikit-learn's 8×8 digits with Keras 3 itself and save it as keras_digits_cnn.keras,
the Keras-made model examples/14_interop.py opens. Not run by the tests; rerun where Keras 3 and a backend
are installed:

    KERAS_BACKEND=torch python examples/data/make_keras_digits_cnn.py
"""
import os
import zipfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402


def main():
    keras.utils.set_random_seed(0)
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ], name="keras_digits_cnn")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1500], y[:1500], epochs=40, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x[1500:], y[1500:], verbose=0)
    out = Path(__file__).with_name("keras_digits_cnn.keras")
    model.save(out)
    compress(out)
    print(f"Keras test accuracy on digits[1500:]: {accuracy:.4f}; wrote {out} ({out.stat().st_size} bytes)")


def compress(path):
    """Keras stores the zip's members uncompressed; the same bytes, deflated, make a file a few times smaller."""
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            target.writestr(info.filename, data)


if __name__ == "__main__":
    main()
