"""keras.preprocessing.sequence."""
from ..utils import pad_sequences  # noqa: F401
