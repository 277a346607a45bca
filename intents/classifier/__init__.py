"""Intent classification for Charla: texts and paths in, predictions out. Knows nothing of Django."""

from .encoder import EncoderNotFoundError, configure_threads
from .model import IntentClassifier, Prediction
from .storage import ArtifactError

__all__ = ["ArtifactError", "EncoderNotFoundError", "IntentClassifier", "Prediction", "configure_threads"]
