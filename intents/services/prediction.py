"""Prediction with a bot's production model, loaded once per process and swapped when production changes."""

import threading
from pathlib import Path

from django.conf import settings

from ..classifier import IntentClassifier, Prediction
from ..models import ModelVersion
from ..selectors import production_version_id


class NoModelError(RuntimeError):
    """The bot has no production model yet: run `manage.py train_intents --bot <slug>`."""


class ClassifierError(RuntimeError):
    """The production model raised on these texts (the cause is chained); `version` is the model that raised."""

    def __init__(self, message: str, *, version: ModelVersion) -> None:
        super().__init__(message)
        self.version = version


# What a text the model could not classify counts as: understood as nothing, so the dialogue answers it with the
# bot's fallback, like any out-of-scope message.
UNCLASSIFIED = Prediction(intent="", confidence=0.0, language="", ranking=[], out_of_scope=True)


# bot id -> (version, backend, classifier). A promotion is seen at the next prediction: every call reads the
# production version's id, so no restart is needed, and a message is classified by the one version that call
# read, the one stored with its answer.
_loaded: dict[int, tuple[ModelVersion, str, IntentClassifier]] = {}
_loaded_lock = threading.Lock()


def _production(bot_id: int) -> tuple[ModelVersion, IntentClassifier]:
    version_id = production_version_id(bot_id=bot_id)
    if version_id is None:
        raise NoModelError(f"Bot {bot_id} has no production model: run `manage.py train_intents`.")
    backend = settings.CHARLA_INFERENCE_BACKEND
    with _loaded_lock:
        cached = _loaded.get(bot_id)
        if cached and cached[0].pk == version_id and cached[1] == backend:
            return cached[0], cached[2]
        version = ModelVersion.objects.get(pk=version_id)
        # ".encoders" cannot clash with a bot's folder: a slug never starts with a dot.
        onnx_cache = Path(settings.CHARLA_MODEL_DIR) / ".encoders"
        classifier = IntentClassifier.load(version.artifact_path, backend=backend, onnx_cache=onnx_cache)
        _loaded[bot_id] = (version, backend, classifier)
        return version, classifier


def _classify(version: ModelVersion, classifier: IntentClassifier, texts: list[str]) -> list[Prediction]:
    """The model's predictions; whatever it raises becomes ClassifierError, so callers can tell a text the model
    fails on from a database or broker outage, which must not be answered as "not understood"."""
    poison = settings.CHARLA_FAULT_POISON_TEXT  # fault tests only: the model raises on texts containing it
    try:
        if poison and any(poison in text for text in texts):
            raise ValueError(f"fault injection: poison text {poison!r}")
        return classifier.predict(texts)
    except Exception as exc:
        raise ClassifierError(f"model version {version.pk} raised on {len(texts)} text(s)", version=version) from exc


def intent_predict(*, bot_id: int, text: str) -> tuple[Prediction, ModelVersion]:
    """Classify with the bot's production model; returns the version that classified it.
    Raises ClassifierError when the model raises on the text."""
    version, classifier = _production(bot_id)
    return _classify(version, classifier, [text])[0], version


def intent_predict_batch(*, bot_id: int, texts: list[str]) -> tuple[list[Prediction], ModelVersion]:
    """Classify many texts of one bot in one forward pass; predictions in the order of `texts`.
    Raises ClassifierError when the model raises on any of them (classify them one by one to find which)."""
    version, classifier = _production(bot_id)
    return _classify(version, classifier, texts), version
