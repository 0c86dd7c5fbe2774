"""Models: their structure (Sequential), the MLP builder, and saving/loading. Training is trainer.py's."""
from .functional import Functional
from .model import Model
from .sequential import Sequential
from .mlp import mlp  # noqa: I001  (needs Sequential)
from .saving import ModelFileError, load_model


def model_from_json(json_string):
    """Rebuild a model (fresh weights) from `model.to_json()`."""
    import json

    from ..layers import deserialize

    return deserialize(json.loads(json_string))


def clone_model(model):
    """A new model of the same architecture with freshly initialized weights (Keras's clone_model)."""
    from ..layers import deserialize, serialize

    return deserialize(serialize(model))
