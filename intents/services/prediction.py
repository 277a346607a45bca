"""Prediction with a bot's production model, loaded once per process and swapped when production changes."""

import threading
from pathlib import Path

from django.conf import settings

from ..classifier import IntentClassifier, Prediction
from ..models import ModelVersion
from ..selectors import production_version_for_bot


class NoModelError(RuntimeError):
    """The bot has no production model yet: run `manage.py train_intents --bot <slug>`."""


# bot id -> (version id, backend, classifier). A promotion is seen at the next prediction: every
# call reads the production row, so no restart is needed, and a message is classified by the one
# version that call read, the one stored with its answer.
_loaded: dict[int, tuple[int, str, IntentClassifier]] = {}
_loaded_lock = threading.Lock()


def _classifier_for(version: ModelVersion) -> IntentClassifier:
    backend = settings.CHARLA_INFERENCE_BACKEND
    with _loaded_lock:
        cached = _loaded.get(version.bot_id)
        if cached and cached[:2] == (version.pk, backend):
            return cached[2]
        # ".encoders" cannot clash with a bot's folder: a slug never starts with a dot.
        onnx_cache = Path(settings.CHARLA_MODEL_DIR) / ".encoders"
        classifier = IntentClassifier.load(version.artifact_path, backend=backend, onnx_cache=onnx_cache)
        _loaded[version.bot_id] = (version.pk, backend, classifier)
        return classifier


def _production(bot_id: int) -> ModelVersion:
    version = production_version_for_bot(bot_id=bot_id)
    if version is None:
        raise NoModelError(f"Bot {bot_id} has no production model: run `manage.py train_intents`.")
    return version


def intent_predict(*, bot_id: int, text: str) -> tuple[Prediction, ModelVersion]:
    """Classify with the bot's production model; returns the version that classified it."""
    version = _production(bot_id)
    return _classifier_for(version).predict([text])[0], version


def intent_predict_batch(*, bot_id: int, texts: list[str]) -> tuple[list[Prediction], ModelVersion]:
    """Classify many texts of one bot in one forward pass; predictions in the order of `texts`."""
    version = _production(bot_id)
    return _classifier_for(version).predict(texts), version
