"""Image data shared by the recipes: MNIST when its files can be found, else scikit-learn's 8x8 digits."""
import sys

from sklearn.model_selection import train_test_split

from scratchgrad.datasets import DatasetNotFoundError, load_digits, load_mnist


def load_images(dataset="mnist"):
    """(name, (x_train, y_train), (x_test, y_test)): pixel rows in [0, 1] and integer labels.

    "mnist" falls back to "digits" with a note on stderr when the MNIST files are missing, so the recipes
    still run (less impressively) on a machine without them. "digits" is split 80/20, stratified and seeded.
    """
    if dataset == "mnist":
        try:
            return "mnist", *load_mnist()
        except DatasetNotFoundError:
            print("MNIST files not found (set SCRATCHGRAD_DATA to the folder that holds mnist/); "
                  "using scikit-learn's 8x8 digits instead", file=sys.stderr)
            dataset = "digits"
    if dataset == "digits":
        x, y = load_digits()
        x_train, x_test, y_train, y_test = train_test_split(x / 16, y, test_size=0.2, stratify=y, random_state=0)
        return "digits", (x_train, y_train), (x_test, y_test)
    raise ValueError(f"unknown dataset {dataset!r}; expected 'mnist' or 'digits'")
