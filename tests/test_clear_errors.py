"""Mistakes that used to end in a raw NumPy or Python error, or in nothing at all, and now say what is wrong."""
import numpy as np
import pytest

import scratchgrad as keras
from scratchgrad import callbacks, cli
from scratchgrad.layers import Dense


@pytest.fixture
def data(rng):
    x = rng.standard_normal((40, 4)).astype(np.float32)
    return x, (x.sum(axis=1) > 0).astype(np.int64)


def classifier():
    keras.set_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Counter(callbacks.Callback):
    """Counts the epochs that began, to tell an error before training from one after."""

    def on_train_begin(self, logs=None):
        self.epochs = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs += 1


def test_empty_validation_data_is_named_as_the_validation_data(data):
    x, y = data
    with pytest.raises(ValueError, match=r"^validation_data: x is empty"):
        classifier().fit(x, y, validation_data=(x[:0], y[:0]), verbose=0)


def test_checkpoint_template_naming_an_unlogged_key_fails_before_training(tmp_path, data):
    x, y = data
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}-{val_acc:.2f}.sg"))
    model = classifier()
    initial = model.get_weights()
    with pytest.raises(KeyError) as raised:
        model.fit(x, y, epochs=2, validation_data=(x, y), verbose=0, callbacks=[checkpoint])
    message = str(raised.value)
    assert "m-{epoch}-{val_acc:.2f}.sg" in message and "{val_acc}" in message
    assert "accuracy, loss, val_accuracy, val_loss" in message
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), initial))  # not one step was taken
    # what a scratchgrad callback adds to the logs may be named
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}-{learning_rate:.3f}.sg"))
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda epoch: 0.01), checkpoint])
    assert [p.name for p in tmp_path.iterdir()] == ["m-1-0.010.sg"]


def test_checkpoint_template_key_error_names_the_keys_when_it_can_only_be_found_at_the_save(tmp_path, data):
    x, y = data
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.sg"))
    counter = Counter()  # a callback of the user's may add keys: fit() cannot check before training
    with pytest.raises(KeyError) as raised:
        classifier().fit(x, y, epochs=2, validation_data=(x, y), verbose=0, callbacks=[counter, checkpoint])
    assert "{val_acc}" in str(raised.value) and "val_accuracy" in str(raised.value) and counter.epochs == 1


def weighted_loss(class_weight, data):
    model = classifier()
    return model.fit(*data, epochs=1, batch_size=40, shuffle=False, verbose=0,
                     class_weight=class_weight).history["loss"][0]


def test_class_weight_keys_read_from_json_count_as_class_numbers(data):
    from_json = weighted_loss({"0": 1.0, "1": 10.0}, data)
    assert from_json == weighted_loss({0: 1.0, 1: 10.0}, data) != weighted_loss(None, data)


@pytest.mark.parametrize("key", ["zero", "1.5", True, 0.5])
def test_class_weight_keys_that_are_no_class_number_are_refused(key, data):
    with pytest.raises(ValueError, match=f"class_weight keys must be class numbers.*got {key!r}"):
        weighted_loss({key: 2.0}, data)


def test_predict_on_a_csv_with_one_column_too_many_names_both_counts(tmp_path, capsys):
    model_path = tmp_path / "iris.sg"
    assert cli.main(["train", "iris", "--epochs", "1", "--quiet", "--save", str(model_path)]) == 0
    rows = tmp_path / "rows.csv"
    rows.write_text("5.1,3.5,1.4,0.2,0\n6.7,3.0,5.2,2.3,2\n")
    capsys.readouterr()
    assert cli.main(["predict", str(model_path), str(rows)]) == 1
    assert capsys.readouterr().err.strip() == (f"error: the model expects 4 features, {rows} has 5 columns "
                                               f"(0, 1, 2, 3, 4)")


def test_saving_to_an_h5_name_warns_that_the_file_is_not_hdf5(tmp_path):
    model = keras.models.Sequential([keras.Input(shape=(2,)), Dense(1)])
    with pytest.warns(UserWarning, match="not HDF5"):
        model.save(tmp_path / "m.h5")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "m.h5").get_weights()[0], model.get_weights()[0])
