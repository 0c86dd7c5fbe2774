"""The `scratchgrad` command: train, evaluate and predict with small classifiers, check gradients, show the setup.

    scratchgrad train iris --save iris.sg
    scratchgrad evaluate iris.sg
    scratchgrad predict iris.sg rows.csv
    scratchgrad export iris.sg iris.onnx
    scratchgrad gradcheck
    scratchgrad info

Errors print one line, `error: ...`, to stderr and exit with status 2 (a command line that cannot work) or 1
(anything else); `--debug` adds the traceback.
"""
import argparse
import hashlib
import importlib.util
import itertools
import json
import os
import platform
import re
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from . import activations, blas, initializers, optimizers
from .files import atomic_path, atomic_write
from .onnx_export import OPSET as DEFAULT_OPSET

EXIT_ERROR, EXIT_USAGE = 1, 2
IMAGE_DATASETS = ("mnist", "fashion-mnist")
TABLE_DATASETS = ("iris", "digits", "breast-cancer", "xor", "moons", "spiral")
IMAGE_SIDE = 28
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
SEPARATORS = {",": "comma", "\t": "tab", ";": "semicolon"}  # what a table file may separate its values with
EXPORT_FORMATS = {".onnx": "ONNX", ".keras": "Keras 3"}
# activations that mix a layer's units (softmax and its kin normalize across them, glu halves them): they belong to
# an output layer (the CLI's is always softmax) or to gating, not to the hidden layers of an MLP
NOT_HIDDEN = {"softmax": "an output activation: the output layer is always softmax",
              "log_softmax": "an output activation: the output layer is always softmax",
              "sparsemax": "an output activation: the output layer is always softmax",
              "glu": "a gate that halves its layer's width"}
HIDDEN_ACTIVATIONS = sorted(set(activations.ACTIVATIONS) - set(NOT_HIDDEN))
TEST_SIZE = 0.2

# per dataset: what trains well in seconds (images: the seed's Keras program); any option overrides it
DEFAULTS = {
    "table": {"hidden": (32, 16), "epochs": 100, "batch_size": 16},
    "digits": {"hidden": (64,), "epochs": 30, "batch_size": 32},
    "xor": {"hidden": (8,), "epochs": 300, "batch_size": 4, "lr": 0.05},
    "spiral": {"hidden": (64, 64), "epochs": 200, "batch_size": 32, "lr": 0.01},
    "image": {"hidden": (512,), "epochs": 5, "batch_size": 128},
}
CLASS_NAMES = {
    "iris": ["setosa", "versicolor", "virginica"],
    "breast-cancer": ["malignant", "benign"],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
}
DATASETS_OF = {"table": "iris, breast-cancer, moons and CSV files", "digits": "digits", "xor": "xor",
               "spiral": "spiral", "image": "mnist and fashion-mnist"}  # DEFAULTS' kinds, as help names them
SIDECAR_HELP = """\
--save MODEL writes two files: MODEL (the network: architecture, weights, optimizer state) and MODEL.json beside it
with what evaluate and predict need to treat new data as training did: the dataset name (or CSV path and --target),
the split seed, the class names, and the standardization (each feature's training mean and scale); it also records
the SHA-256 of the MODEL it belongs to, and a MODEL.json beside another MODEL is refused."""


class UsageError(Exception):
    """A command line that cannot work whatever the files hold: exit status 2."""


class CLIError(Exception):
    """A failure of the data or files named on the command line: exit status 1."""


# ---- argument types: bad values are usage errors, caught by argparse ---------------------------------------------
def bounded(convert, low, high=None, low_open=False):
    """An argparse type: `convert`ed text within [low, high) (or (low, high) with low_open)."""
    kind = "an integer" if convert is int else "a number"
    rule = f"{'>' if low_open else '>='} {low}" + (f" and < {high}" if high is not None else "")

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if value < low or (low_open and value == low) or (high is not None and value >= high):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    return parse


def layer_sizes(text):
    """'512,256' -> (512, 256); '' -> () for no hidden layer (logistic regression)."""
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected layer sizes like 512,256, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1, got {text!r}")
    return sizes


def hidden_activation(text):
    """--activation: an activation for hidden layers (not softmax, which only the output layer uses)."""
    name = text.lower()
    if name in HIDDEN_ACTIVATIONS:
        return name
    why = f"{text!r} is {NOT_HIDDEN[name]}" if name in NOT_HIDDEN else f"unknown activation {text!r}"
    raise argparse.ArgumentTypeError(f"{why}; a hidden layer takes one of: {', '.join(HIDDEN_ACTIVATIONS)}")


def per_dataset(option, show=str):
    """The help text's list of an option's defaults, dataset by dataset, from DEFAULTS."""
    return "; ".join(f"{show(DEFAULTS[kind][option])} for {DATASETS_OF[kind]}"
                     for kind in DEFAULTS if option in DEFAULTS[kind])


def show_sizes(sizes):
    return ",".join(map(str, sizes))


# ---- data -----------------------------------------------------------------------------------------------------------
@dataclass
class Data:
    """A dataset split for training and testing, as stored (pixels 0-255, features unscaled)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list
    features: list = None
    image: bool = False


def is_csv(name):
    return name not in IMAGE_DATASETS + TABLE_DATASETS and (name.lower().endswith(".csv") or os.path.isfile(name))


def load_data(name, seed, target=None, data_dir=None, classes=None):
    """The named dataset or CSV file, split as train always splits it (so evaluate sees the same test rows).

    `classes` (from a model's sidecar) fixes how a CSV's labels map to class numbers.
    """
    if name in IMAGE_DATASETS:
        return load_images(name, data_dir)
    if is_csv(name):
        x, y, classes, features = read_labelled_csv(name, target, classes)
    elif name in TABLE_DATASETS:
        x, y = load_table(name, seed)
        classes, features = CLASS_NAMES.get(name) or [str(c) for c in range(int(y.max()) + 1)], None
    else:
        raise UsageError(f"unknown dataset {name!r}: expected one of {', '.join(TABLE_DATASETS + IMAGE_DATASETS)} "
                         f"or a CSV file")
    if name == "xor":  # its four rows are the whole problem: nothing can be held out
        return Data(x, y, x, y, classes)
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=TEST_SIZE, stratify=y, random_state=seed)
    return Data(x_train, y_train, x_test, y_test, classes, features)


def load_table(name, seed):
    from . import datasets

    loaders = {"iris": datasets.load_iris, "digits": datasets.load_digits,
               "breast-cancer": datasets.load_breast_cancer, "xor": lambda: datasets.logic_gate("xor"),
               "moons": lambda: datasets.make_moons(500, noise=0.2, seed=seed),
               "spiral": lambda: datasets.spiral(100, 3, seed=seed)}
    return loaders[name]()


def load_images(name, data_dir):
    from .datasets import DatasetNotFoundError, load_fashion_mnist, load_mnist

    loader = load_mnist if name == "mnist" else load_fashion_mnist
    try:
        (x_train, y_train), (x_test, y_test) = loader(data_dir=data_dir, normalize=False)
    except DatasetNotFoundError:
        where = f"in {data_dir}/{name}/" if data_dir else "and could not be downloaded"
        raise CLIError(f"the {name} files were not found {where}; set SCRATCHGRAD_DATA (or pass --data-dir) to "
                       f"the folder that holds {name}/") from None
    classes = CLASS_NAMES.get(name) or [str(c) for c in range(10)]
    return Data(x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64), classes, image=True)


def read_csv(path):
    """A table file as a DataFrame: comma-, tab- or semicolon-separated (detected), a first row of numbers taken as
    data, not as a header. Its index is each row's number as a spreadsheet shows the file (the header is row 1), so
    that errors can point at a row."""
    import pandas as pd

    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path}")
    separator, decimal = detect_separator(path)
    try:
        frame = pd.read_csv(path, sep=separator, decimal=decimal)
        header = not all(is_number(str(column).replace(decimal, ".")) for column in frame.columns)
        if not header:
            frame = pd.read_csv(path, sep=separator, decimal=decimal, header=None)
    except ValueError as err:  # pandas' parser errors and undecodable bytes are ValueErrors
        raise CLIError(f"cannot read {path} as a {SEPARATORS[separator]}-separated file: {first_line(err)}") from None
    if frame.empty:
        raise CLIError(f"{path} has no data rows")
    frame.index = frame.index + (2 if header else 1)
    return frame


def detect_separator(path, lines=50):
    """(separator, decimal mark) of a table file: of tab, semicolon and comma, the first that its first lines all
    hold equally often (quoted text aside; a semicolon before a comma, which may be a decimal mark); a comma where
    none does. A semicolon-separated file with decimal commas (5,1;3,5) is read with decimal=","."""
    with open(path, encoding="utf-8", errors="replace") as f:
        sample = [re.sub(r'"[^"]*"', "", line) for line in itertools.islice(f, lines)]
    sample = [line for line in sample if line.strip()]
    if not sample:
        return ",", "."
    counts = {sep: [line.count(sep) for line in sample] for sep in SEPARATORS}
    steady = [sep for sep in ("\t", ";", ",") if counts[sep][0] > 0 and len(set(counts[sep])) == 1]
    # a ragged file is read with the separator it holds most, so that pandas' error names the line that is off
    separator = steady[0] if steady else max(SEPARATORS, key=lambda sep: (sum(counts[sep]), sep == ","))
    text = "".join(sample)
    decimal = "," if separator == ";" and re.search(r"\d,\d", text) and not re.search(r"\d\.\d", text) else "."
    return separator, decimal


def is_number(text):
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def column_name(column):
    """A column as the user knows it: by its header, or (a file without one) by its number from 0, as --target."""
    return repr(column) if isinstance(column, str) else f"{column} (counting from 0)"


def feature_array(frame, path):
    """The frame as float32 features; every column must be numeric and complete. A bad cell is named by its row
    (as a spreadsheet numbers them) and its column."""
    import pandas as pd

    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            values = frame[column]
            bad = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
            raise CLIError(f"{path}: column {column_name(column)} is not numeric (features must be numbers): "
                           f"row {bad.index[0]} holds {str(bad.iloc[0])!r}")
    x = frame.to_numpy(np.float32)
    missing = np.argwhere(np.isnan(x))
    if len(missing):
        row, column = missing[0]
        more = f" ({len(missing)} missing values in all)" if len(missing) > 1 else ""
        raise CLIError(f"{path}: row {frame.index[row]}, column {column_name(frame.columns[column])} is empty or "
                       f"missing{more}: fill in or drop such rows")
    return x


def read_labelled_csv(path, target, classes=None):
    """(x, y, classes, feature names) from a CSV with a label column; labels are encoded as LabelEncoder does."""
    if not target:
        raise UsageError("a CSV dataset needs --target COLUMN, the column that holds the labels")
    frame = read_csv(path)
    column = find_column(frame, target, path)
    labels = frame.pop(column)
    if labels.isna().any():
        empty = labels.index[labels.isna()]
        more = f" ({len(empty)} rows without one in all)" if len(empty) > 1 else ""
        raise CLIError(f"{path}: row {empty[0]} has no label in column {column_name(column)}{more}")
    if classes is None:
        from sklearn.preprocessing import LabelEncoder

        classes = [str(c) for c in LabelEncoder().fit(labels).classes_]
    index = {name: i for i, name in enumerate(classes)}
    unknown = sorted({str(v) for v in labels} - set(index))
    if unknown:
        raise CLIError(f"{path}: labels {', '.join(unknown[:5])} are not among the model's classes {classes}")
    y = np.array([index[str(v)] for v in labels], dtype=np.int64)
    return feature_array(frame, path), y, classes, [str(c) for c in frame.columns]


def find_column(frame, name, path):
    """Column `name`; in a CSV without a header row, columns are numbered from 0."""
    for column in frame.columns:
        if str(column) == str(name):
            return column
    if frame.shape[1] == 1:  # nothing separated the values: neither a comma, a tab nor a semicolon
        raise CLIError(f"column {name!r} is not in {path}, which was read as one column ({str(frame.columns[0])!r}): "
                       f"its values must be separated by commas, tabs or semicolons")
    raise CLIError(f"column {name!r} is not in {path}; its columns are: {', '.join(map(str, frame.columns))}")


# ---- preprocessing, kept in MODEL.json --------------------------------------------------------------------------
def preprocessing(data, dataset, target, seed):
    """What evaluate and predict must repeat: the split, the class names and the scaling of the inputs."""
    info = {"dataset": dataset, "target": target, "seed": seed, "classes": data.classes,
            "features": data.features, "image": data.image}
    if not data.image:  # pixels are scaled by /255 instead, which needs nothing stored
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(data.x_train)
        info.update(mean=scaler.mean_.tolist(), scale=scaler.scale_.tolist())
    return info


def prepare(x, info):
    """Raw inputs as the model saw them in training: pixels / 255, or features standardized."""
    x = np.asarray(x, dtype=np.float32)
    if info.get("image"):
        return x.reshape(len(x), -1) / 255
    if "mean" in info:
        return ((x - np.asarray(info["mean"])) / np.asarray(info["scale"])).astype(np.float32)
    return x


def sidecar_path(model_path):
    return os.fspath(model_path) + ".json"


def save_with_sidecar(model, path, info):
    """MODEL and MODEL.json as one unit. The model goes to a temporary file, the sidecar (written whole) records
    that file's SHA-256, and only then is the model renamed into place. Wherever a kill falls, a sidecar beside a
    model either belongs to it or names another one, which read_sidecar refuses: a new model is never used with an
    old model's scaling, nor the reverse."""
    with atomic_path(path) as tmp:
        model.save(tmp)
        with atomic_write(sidecar_path(path), "w") as f:
            json.dump({**info, "model_sha256": file_sha256(tmp)}, f, indent=1)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_sidecar(model_path):
    """The model's MODEL.json, or {} for a model saved without one (inputs are then used unscaled)."""
    path = sidecar_path(model_path)
    if not os.path.exists(path):
        print(f"note: no {path}: inputs are used as given and classes are numbered", file=sys.stderr)
        return {}
    try:
        with open(path) as f:
            info = json.load(f)
    except (ValueError, OSError) as err:
        raise CLIError(f"cannot read {path}: {first_line(err)}") from None
    if not isinstance(info, dict):
        raise CLIError(f"{path} is not a scratchgrad sidecar (expected a JSON object)")
    # sidecars from before model_sha256 was recorded are trusted as they were
    if "model_sha256" in info and info["model_sha256"] != file_sha256(model_path):
        raise CLIError(f"{path} belongs to another version of {model_path} (a save was interrupted between the two, "
                       f"or one of them was replaced): save the model again with --save")
    return info


# ---- models ---------------------------------------------------------------------------------------------------------
def build_model(options, n_features, n_classes):
    from .models import mlp

    model = mlp(n_features, options.hidden, n_classes, options.activation, kernel_initializer=options.init,
                l2=options.l2, dropout=options.dropout)
    optimizer = optimizers.get(options.optimizer)
    if options.lr:
        optimizer.learning_rate = options.lr
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def check_features(model, x, source):
    """Raw inputs (before prepare(), which cannot scale a row of the wrong width) against the model's width."""
    expected, width = model.input_shape[-1], int(np.prod(x.shape[1:]))
    if width != expected:
        raise CLIError(f"the model expects {expected} features, {source} has {width} values per row")


def header(args, data, model):
    """What is about to be trained, on what, and how: printed before training."""
    if data.image:
        side = int(np.sqrt(data.x_train[0].size))
        rows = f"{len(data.x_train) + len(data.x_test)} images of {side}x{side} pixels"
    else:
        n = len(data.x_train) + (len(data.x_test) if data.x_test is not data.x_train else 0)
        rows = f"{n} rows of {data.x_train.shape[1]} features"
    shown = ", ".join(data.classes[:10]) + (", ..." if len(data.classes) > 10 else "")
    target = f" (labels in column {args.target!r})" if is_csv(args.dataset) else ""
    lines = [f"dataset: {args.dataset}{target}, {rows}, {len(data.classes)} classes ({shown})"]
    n_train, n_test = len(data.x_train), len(data.x_test)
    if data.x_test is data.x_train:
        lines.append(f"split: none, all {n_train} rows train and test (nothing can be held out)")
    elif data.image:
        lines.append(f"split: {n_train} to train, {n_test} to test (the dataset's own split)")
    else:
        lines.append(f"split: {n_train} rows to train, {n_test} to test ({TEST_SIZE:.0%} held out, stratified, "
                     f"seed {args.seed})")
    if args.validation_split:
        n_val = n_train - int(n_train * (1 - args.validation_split))
        lines[-1] += f"; the last {n_val} training rows validate (--validation-split {args.validation_split:g})"
    layers = [f"Dense {size} {args.activation}" for size in args.hidden] + [f"Dense {len(data.classes)} softmax"]
    extras = [f"initializer {args.init}"] + ([f"dropout {args.dropout:g}"] if args.dropout else []) + \
             ([f"L2 {args.l2:g}"] if args.l2 else [])
    lines.append(f"model: {model.input_shape[-1]} inputs -> {' -> '.join(layers)} ({', '.join(extras)})")
    lr = model.optimizer.learning_rate
    lr = f"{lr:g}" if isinstance(lr, (int, float, np.floating)) else type(lr).__name__
    lines.append(f"optimizer: {args.optimizer}, learning rate {lr}; {plural(args.epochs, 'epoch')}, batch size "
                 f"{args.batch_size}")
    if args.early_stopping is not None:
        lines[-1] += (f"; early stopping after {plural(max(args.early_stopping, 1), 'epoch')} without a better "
                      f"{stop_monitor(args)}")
    print("\n".join(lines))


def plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def stop_monitor(args):
    return "val_loss" if args.validation_split else "loss"


def early_stopping_line(stopper, epochs):
    """What early stopping did: where it ended training, and which epoch's weights the model now holds."""
    restored = stopper.restore_best_weights and stopper.best_weights is not None
    best = f"epoch {stopper.best_epoch + 1} ({stopper.monitor} {stopper.best:.4f})" if restored else None
    if stopper.stopped_epoch:
        line = (f"early stopping: {stopper.monitor} did not improve for {plural(stopper.wait, 'epoch')}, "
                f"training stopped after epoch {stopper.stopped_epoch + 1} of {epochs}")
        return line + (f"; restored the best weights, of {best}" if restored else "")
    if restored and stopper.best_epoch + 1 < epochs:  # ran to the end, but an earlier epoch was better
        return f"early stopping: ran all {epochs} epochs; restored the best weights, of {best}"
    return None


def report(model, x_test, y_test):
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f}  test loss: {loss:.4f}")


# ---- commands -------------------------------------------------------------------------------------------------------
def apply_defaults(args):
    """Fill every option left unset with the dataset's default."""
    kind = "image" if args.dataset in IMAGE_DATASETS else args.dataset if args.dataset in DEFAULTS else "table"
    for option, value in {"lr": None, **DEFAULTS[kind]}.items():
        if getattr(args, option) is None:
            setattr(args, option, value)


def check_output(path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {path}: folder {folder} does not exist")


def plotter():
    """plot_history, checked before training: scratchgrad.plot imports matplotlib only when it draws, after the run."""
    try:
        from .plot import plot_history
    except ImportError as err:
        raise CLIError(f"--plot needs scratchgrad.plot: {first_line(err)}") from None
    if importlib.util.find_spec("matplotlib") is None:
        raise CLIError("--plot needs matplotlib: pip install 'scratchgrad[plot]'")
    return plot_history


def command_train(args):
    from .callbacks import EarlyStopping
    from .random import set_seed

    plot_history = plotter() if args.plot else None
    for path in filter(None, (args.save, args.plot)):
        check_output(path)
    apply_defaults(args)
    set_seed(args.seed)
    data = load_data(args.dataset, args.seed, args.target, args.data_dir)
    # a CSV's absolute path, so evaluate finds it from any folder
    dataset = os.path.abspath(args.dataset) if is_csv(args.dataset) else args.dataset
    info = preprocessing(data, dataset, args.target, args.seed)
    x_train, x_test = prepare(data.x_train, info), prepare(data.x_test, info)
    model = build_model(args, x_train.shape[1], len(data.classes))
    if not args.quiet:
        header(args, data, model)
        model.summary()
    callbacks = []
    if args.early_stopping is not None:
        callbacks.append(EarlyStopping(monitor=stop_monitor(args), patience=args.early_stopping,
                                       restore_best_weights=True))
    history = model.fit(x_train, data.y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=args.validation_split, callbacks=callbacks, verbose=0 if args.quiet else 1)
    stopped = early_stopping_line(callbacks[0], args.epochs) if callbacks else None
    if stopped and not args.quiet:
        print(stopped)
    report(model, x_test, data.y_test)
    if args.save:
        save_with_sidecar(model, args.save, info)
        print(f"saved {args.save} and {sidecar_path(args.save)}")
    if plot_history:
        plot_history(history, save=args.plot)
        print(f"saved {args.plot}")


def command_evaluate(args):
    from .models import load_model

    model = load_model(args.model)
    info = read_sidecar(args.model)
    dataset = args.dataset or info.get("dataset")
    if not dataset:
        raise UsageError(f"--dataset NAME is needed: {sidecar_path(args.model)}, which would name it, is missing")
    csv_classes = info.get("classes") if is_csv(dataset) else None
    data = load_data(dataset, info.get("seed", 0), args.target or info.get("target"), args.data_dir, csv_classes)
    check_features(model, data.x_test, dataset)
    report(model, prepare(data.x_test, info), data.y_test)


def read_inputs(path, info, n_features):
    """Rows of raw inputs from a CSV, a .npy, or (for 28x28-image models) a picture of a digit."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix in TABLE_SUFFIXES:
        frame = read_csv(path)
        features = info.get("features")
        if features and all(any(str(c) == f for c in frame.columns) for f in features):
            frame = frame[[find_column(frame, f, path) for f in features]]  # drops a label column, keeps order
        if frame.shape[1] != n_features:  # e.g. the label column left in a file without the training header
            raise CLIError(f"the model expects {n_features} features, {path} has {frame.shape[1]} columns "
                           f"({', '.join(map(str, frame.columns))})")
        return feature_array(frame, path)
    if suffix == ".npy":
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such file: {path}")
        x = np.load(path, allow_pickle=False)
        return x.reshape(1, -1) if x.size == n_features else x.reshape(len(x), -1)  # one input, e.g. a 28x28 image
    if suffix in IMAGE_SUFFIXES:
        return read_digit_image(path)
    raise UsageError(f"cannot read {path}: INPUT must be a table ({', '.join(TABLE_SUFFIXES)}), a .npy or an image "
                     f"({', '.join(IMAGE_SUFFIXES)})")


def read_digit_image(path):
    """A photo or drawing of one digit as MNIST pixels: gray, 28x28, light digit on a dark ground, 0-255."""
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with Image.open(path) as image:
            gray = image.convert("L").resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as err:
        raise CLIError(f"cannot read image {path}: {first_line(err)}") from None
    pixels = np.asarray(gray, dtype=np.float32)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.mean() > 127:  # dark ink on white paper: MNIST digits are white on black
        pixels = 255 - pixels
    return pixels.reshape(1, -1)


def command_predict(args):
    from .models import load_model

    model = load_model(args.model)
    info = read_sidecar(args.model)
    if os.path.splitext(args.input)[1].lower() in IMAGE_SUFFIXES and model.input_shape[-1] != IMAGE_SIDE ** 2:
        raise CLIError(f"{args.input} is an image, but this model takes {model.input_shape[-1]} features, "
                       f"not {IMAGE_SIDE}x{IMAGE_SIDE} pixels")
    x = read_inputs(args.input, info, model.input_shape[-1])
    check_features(model, x, args.input)
    probabilities = model.predict(prepare(x, info))
    classes = info.get("classes") or [str(c) for c in range(probabilities.shape[1])]
    for row, p in enumerate(probabilities):
        top = np.argsort(p)[::-1][:3]
        print(f"row {row}: " + ", ".join(f"{classes[c]} {p[c]:.4f}" for c in top))


def command_export(args):
    """MODEL as a file another runtime reads: ONNX (.onnx) or Keras 3 (.keras); MODEL.json does not travel."""
    from .models import load_model

    suffix = os.path.splitext(args.output)[1].lower()
    if suffix not in EXPORT_FORMATS:
        raise UsageError(f"cannot export to {args.output}: OUTPUT must end in "
                         + " or ".join(f"{s} ({name})" for s, name in EXPORT_FORMATS.items()))
    if args.opset is not None and suffix != ".onnx":
        raise UsageError(f"--opset is for ONNX files (.onnx), not {args.output}")
    check_output(args.output)
    model = load_model(args.model)
    note = sidecar_note(args.model, args.output)
    if suffix == ".onnx":
        opset = DEFAULT_OPSET if args.opset is None else args.opset
        model.export(args.output, format="onnx", opset=opset)
        what = f"ONNX, opset {opset}"
    else:
        model.save(args.output, format="keras")
        what = "Keras 3"
    print(f"exported {args.model} to {args.output} ({what})")
    if note:
        print(f"note: {note}", file=sys.stderr)


def sidecar_note(model_path, output):
    """What the exported file lacks when MODEL has a MODEL.json: its preprocessing, which does not travel."""
    path = sidecar_path(model_path)
    if not os.path.exists(path):
        return None
    try:
        info = read_sidecar(model_path)
    except CLIError as err:
        return f"{path} is not part of {output} (and does not fit {model_path} either: {err})"
    steps = ("its pixels divided by 255" if info.get("image") else
             "each feature standardized with the mean and scale there" if "mean" in info else "as given")
    classes = ", ".join(map(str, info.get("classes") or []))
    return (f"{path} is not part of {output}: give the exported model inputs prepared as it says ({steps})"
            + (f"; its outputs are the classes {classes}, in that order" if classes else ""))


def command_gradcheck(args):
    """Backprop against central differences on a small float64 net, every parameter of every layer."""
    from . import functional as F
    from .gradcheck import gradcheck
    from .layers import BatchNormalization, Dense, Input
    from .models import Sequential
    from .random import set_seed
    from .tensor import Tensor

    set_seed(args.seed)
    model = Sequential([Input(shape=(4,)), Dense(6, activation="tanh", dtype="float64"),
                        BatchNormalization(dtype="float64"), Dense(5, activation="sigmoid", dtype="float64"),
                        Dense(3, dtype="float64")])
    rng = np.random.default_rng(args.seed)
    x, t = Tensor(rng.standard_normal((8, 4)), dtype="float64"), rng.integers(0, 3, 8)
    params = model.trainable_weights
    result = gradcheck(lambda *_: F.cross_entropy(model(x, training=True), t), *params, raise_exception=False)
    print(f"{'parameter':<28}{'shape':<12}{'worst relative error':>22}  ok")
    for w, error in zip(params, result.errors):
        print(f"{w.name:<28}{str(w.shape):<12}{error:>22.2e}  {'yes' if error <= result.tolerance else 'NO'}")
    print(f"{'all gradients match' if result.ok else 'MISMATCH'} (tolerance {result.tolerance:.0e})")
    return 0 if result.ok else EXIT_ERROR


def blas_lines():
    """The BLAS numpy was built with, and the thread pools it runs (threadpoolctl, when installed)."""
    lines = []
    try:
        build = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        lines.append(f"BLAS (build): {build.get('name')} {build.get('version', '')}".rstrip())
    except (TypeError, KeyError):  # numpy < 1.26 has no mode="dicts"
        lines.append("BLAS (build): unknown (numpy.show_config() prints it)")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return lines + ["thread pools: install threadpoolctl to list them"]
    for pool in threadpool_info():
        kernels = f", {pool['architecture']} kernels" if pool.get("architecture") else ""
        lines.append(f"thread pool: {pool.get('internal_api')} {pool.get('version') or ''}, "
                     f"{pool.get('num_threads')} threads{kernels}")
    note = blas.unused_avx512(blas.openblas_kernels(), blas.read_cpuinfo(), os.environ)
    return lines + ([f"note: {note}"] if note else [])


def command_info(args):
    from . import __version__
    from .datasets import data_dir

    folder = data_dir()
    has_cupy = importlib.util.find_spec("cupy") is not None
    lines = [f"scratchgrad {__version__}", f"python {platform.python_version()} ({sys.executable})",
             f"numpy {np.__version__}", f"backend: numpy (CPU){', cupy (GPU) installed' if has_cupy else ''}",
             *blas_lines(),
             f"CPU cores: {os.cpu_count()}",
             *(f"{var}={os.environ[var]}" for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
                                                          "MKL_NUM_THREADS")
               if var in os.environ),
             f"data folder: {folder if folder else 'none (set SCRATCHGRAD_DATA)'}"]
    if folder:
        found = [name for name in IMAGE_DATASETS if (folder / name / "train-images-idx3-ubyte.gz").is_file()]
        lines.append(f"  holds: {', '.join(found) if found else 'no MNIST-style dataset yet'}")
    print("\n".join(lines))


# ---- the parser and the error boundary ------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line, as every other error, instead of argparse's usage block."""
        self.exit(EXIT_USAGE, f"error: {message} (see: {self.prog} --help)\n")


def build_parser():
    debug = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's unset --debug must not overwrite one given before the subcommand
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of errors")
    parser = Parser(prog="scratchgrad", description=__doc__.split("\n")[0])
    parser.add_argument("--debug", action="store_true", help="show the traceback of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", parents=[debug], help="train a classifier and report its test metrics",
                                epilog=SIDECAR_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("dataset", nargs="?", default="iris", metavar="DATASET",
                       help=f"{', '.join(TABLE_DATASETS + IMAGE_DATASETS)}, or a CSV file (with --target; comma-, "
                            "tab- or semicolon-separated); default iris")
    add_data_options(train)
    train.add_argument("--hidden", type=layer_sizes, metavar="SIZES",
                       help="hidden layer sizes, e.g. 512,256; '' for none (default: "
                            f"{per_dataset('hidden', show_sizes)})")
    train.add_argument("--activation", type=hidden_activation, default="relu", metavar="NAME",
                       help=f"of the hidden layers (default: %(default)s): {', '.join(HIDDEN_ACTIVATIONS)}")
    train.add_argument("--optimizer", default="adam", choices=sorted(optimizers.OPTIMIZERS), metavar="NAME",
                       help=f"the optimizer (default: %(default)s): {', '.join(sorted(optimizers.OPTIMIZERS))}")
    train.add_argument("--lr", type=bounded(float, 0, low_open=True),
                       help=f"learning rate (default: {per_dataset('lr')}; otherwise the optimizer's own: "
                            f"{optimizers.get('adam').learning_rate:g} for adam, "
                            f"{optimizers.get('sgd').learning_rate:g} for sgd)")
    train.add_argument("--epochs", type=bounded(int, 1), metavar="N",
                       help=f"passes over the training rows (default: {per_dataset('epochs')})")
    train.add_argument("--batch-size", type=bounded(int, 1), metavar="N",
                       help=f"rows per gradient step (default: {per_dataset('batch_size')})")
    train.add_argument("--dropout", type=bounded(float, 0, 1), default=0.0, metavar="RATE",
                       help="dropout rate after each hidden layer (default: %(default)s, none)")
    train.add_argument("--l2", type=bounded(float, 0), default=0.0,
                       help="L2 penalty (weight decay) on every kernel (default: %(default)s, none)")
    train.add_argument("--init", default="glorot_uniform", choices=sorted(initializers.INITIALIZERS), metavar="NAME",
                       help="kernel initializer (default: %(default)s): "
                            f"{', '.join(sorted(initializers.INITIALIZERS))}")
    train.add_argument("--seed", type=int, default=0,
                       help="seeds the weights, the shuffling and the split (default: %(default)s)")
    train.add_argument("--validation-split", type=bounded(float, 0, 1), default=0.0, metavar="FRACTION",
                       help="fraction of the training rows held out to report val_loss (default: %(default)s, none)")
    train.add_argument("--early-stopping", type=bounded(int, 0), metavar="PATIENCE",
                       help="stop after PATIENCE epochs without improvement (of val_loss, or loss) and restore the "
                            "best epoch's weights (default: off)")
    train.add_argument("--save", metavar="MODEL", help="write the model to MODEL and its preprocessing to MODEL.json")
    train.add_argument("--plot", metavar="PNG", help="draw the loss and accuracy curves to this file")
    train.add_argument("--quiet", action="store_true", help="print only the test metrics")
    train.set_defaults(run=command_train)

    evaluate = commands.add_parser("evaluate", parents=[debug], help="a saved model's metrics on a test split",
                                   epilog=SIDECAR_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("model", metavar="MODEL")
    evaluate.add_argument("--dataset", metavar="NAME", help="default: the one named in MODEL.json")
    add_data_options(evaluate)
    evaluate.set_defaults(run=command_evaluate)

    predict = commands.add_parser("predict", parents=[debug], help="the top 3 classes for each input row",
                                  epilog=SIDECAR_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("input", metavar="INPUT", help="a CSV of rows, a .npy array, or (for MNIST-type models) "
                                                        "a PNG/JPEG picture of a digit")
    predict.set_defaults(run=command_predict)

    export = commands.add_parser(
        "export", parents=[debug], help="write a saved model as ONNX (.onnx) or Keras 3 (.keras)",
        description="Write MODEL for another runtime: OUTPUT.onnx as an ONNX graph (needs the onnx package), "
                    "OUTPUT.keras as a Keras 3 file (needs h5py).",
        epilog="MODEL.json, the preprocessing saved beside MODEL by train --save (the standardization of the "
               "features, or the pixels' /255, and the class names), is not part of the exported model: inputs to "
               "it must be prepared as MODEL.json says, and its outputs are class numbers in MODEL.json's order.")
    export.add_argument("model", metavar="MODEL", help="a model saved by scratchgrad (train --save, model.save)")
    export.add_argument("output", metavar="OUTPUT", help="the file to write: .onnx or .keras")
    export.add_argument("--opset", type=bounded(int, 1), metavar="N",
                        help=f"the ONNX opset to write (default: {DEFAULT_OPSET})")
    export.set_defaults(run=command_export)

    check = commands.add_parser("gradcheck", parents=[debug], help="compare backprop with numerical gradients")
    check.add_argument("--seed", type=int, default=0)
    check.set_defaults(run=command_gradcheck)

    info = commands.add_parser("info", parents=[debug], help="versions, BLAS, threads and the data folder")
    info.set_defaults(run=command_info)
    return parser


def add_data_options(parser):
    parser.add_argument("--target", metavar="COLUMN", help="the label column of a CSV dataset")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="the folder that holds mnist/ or fashion-mnist/ (default: $SCRATCHGRAD_DATA); "
                             "nothing is downloaded when it is given")


def first_line(err):
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def describe(err):
    """One line for an error; unexpected kinds are named, since their message alone may be cryptic."""
    if isinstance(err, (UsageError, CLIError, OSError, ValueError, ImportError)):
        return first_line(err)
    return f"{type(err).__name__}: {first_line(err)} (run with --debug for the traceback)"


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head`: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {describe(err)}", file=sys.stderr)
        return EXIT_USAGE if isinstance(err, UsageError) else EXIT_ERROR
