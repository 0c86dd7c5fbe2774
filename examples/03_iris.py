"""Iris, as the seed program sets it up: 4 measurements -> 30 -> 16 -> 3 species, Adam, one sample per step.

The split is the seed's `train_test_split(random_state=417)` with its default test_size of 0.25:
112 training samples, so 100 epochs are 11,200 steps. The split and the seed make every run print the
same accuracy.

    python examples/03_iris.py
"""
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder

import scratchgrad as keras
from scratchgrad.datasets import load_iris


def main(epochs=100, seed=0):
    """Returns the test accuracy (1.0 with seed 0 and the full 100 epochs)."""
    keras.set_seed(seed)
    x, y = load_iris()
    y = keras.utils.to_categorical(LabelEncoder().fit_transform(y))
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=417)

    model = keras.Sequential()
    model.add(keras.layers.Dense(30, input_dim=4, activation="relu"))
    model.add(keras.layers.Dense(16, activation="relu"))
    model.add(keras.layers.Dense(3, activation="softmax"))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=1, verbose=0)

    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {test_accuracy:.4f}  test loss: {test_loss:.4f}")
    return test_accuracy


if __name__ == "__main__":
    main()
