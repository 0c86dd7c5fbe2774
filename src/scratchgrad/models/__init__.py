"""Models: their structure (Sequential), the MLP builder, and saving/loading. Training is trainer.py's."""
from .functional import Functional
from .model import Model
from .sequential import Sequential
from .mlp import mlp  # noqa: I001  (needs Sequential)
from .saving import ModelFileError, load_model, save_model


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (fresh weights) from `model.to_json()`: ours, or Keras 3's, whose layers, dtype
    policies and options are translated as for a `.keras` file. Custom classes as in load_model."""
    import json

    from ..keras_files import model_from_keras_config
    from ..layers import deserialize
    from ..object_registration import CustomObjectScope, _checked_objects, current_scope

    config = json.loads(json_string)
    custom_objects = _checked_objects(custom_objects, "model_from_json")
    with CustomObjectScope({**current_scope(), **custom_objects}):
        if isinstance(config, dict) and "module" in config:  # Keras writes where each class lives; we do not
            return model_from_keras_config(config, custom_objects, "model_from_json")
        return deserialize(config, custom_objects)


def clone_model(model):
    """A new model of the same architecture with freshly initialized weights (Keras's clone_model)."""
    from ..layers import deserialize, serialize

    return deserialize(serialize(model))
