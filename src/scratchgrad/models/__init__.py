"""Models: their structure (Sequential), the MLP builder, and saving/loading. Training is trainer.py's."""
from .mlp import mlp
from .saving import ModelFileError, load_model
from .sequential import Sequential
