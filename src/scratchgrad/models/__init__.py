"""Models: Sequential with Keras's compile/fit/evaluate/predict, and saving/loading."""
from .saving import ModelFileError, load_model
from .sequential import Sequential
