"""Models: their structure (Sequential), the MLP builder, and saving/loading. Training is trainer.py's."""
from .functional import Functional
from .model import Model
from .sequential import Sequential
from .mlp import mlp  # noqa: I001  (needs Sequential)
from .saving import ModelFileError, load_model
