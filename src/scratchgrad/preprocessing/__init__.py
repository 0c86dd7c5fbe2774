"""keras.preprocessing: Keras's older home of the data utilities, which live in keras.utils
(keras.preprocessing.sequence.pad_sequences, keras.preprocessing.image.load_img, ...)."""
from ..utils import image_dataset_from_directory, text_dataset_from_directory, timeseries_dataset_from_array  # noqa
from . import image, sequence  # noqa: F401
