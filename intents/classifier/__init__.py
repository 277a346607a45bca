"""Intent classification for Charla: texts and paths in, predictions out. Knows nothing of Django.

The encoder and the model pull in torch, transformers and scikit-learn (seconds of start-up), so they are imported
on first use: a web process that only stores messages and hands them to the answer workers never loads them.
"""

from importlib import import_module

from .prediction import OUT_OF_SCOPE_INTENT, Prediction
from .storage import ArtifactError

_LAZY = {
    "EncoderNotFoundError": ".encoder",
    "configure_threads": ".encoder",
    "IntentClassifier": ".model",
}

__all__ = ["OUT_OF_SCOPE_INTENT", "ArtifactError", "Prediction", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
