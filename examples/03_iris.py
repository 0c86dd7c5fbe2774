"""Iris with a small Keras network: 4 measurements -> 30 -> 16 -> 3 species, Adam, one sample per step.

The split is `train_test_split(random_state=417)` with its default test_size of 0.25: 112 training
samples and 38 test flowers, so 100 epochs are 11,200 steps. The split and the seed make every run on
one machine print the same accuracy: 0.9737 with seed 0 (37 of the 38 test flowers right). The seed
matters at this size: seeds 0 to 9 give 0.947 to 1.0 (36 to 38 flowers), e.g.
`python -c "import importlib; importlib.import_module('03_iris').main(seed=2)"` in examples/ gives 1.0.

    python examples/03_iris.py
"""
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder

import scratchgrad as keras
from scratchgrad.datasets import load_iris


def main(epochs=100, seed=0):
    """Returns the test accuracy (0.9737 with seed 0 and the full 100 epochs; 0.947-1.0 over seeds 0-9)."""
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
