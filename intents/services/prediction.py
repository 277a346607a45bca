"""Prediction with a bot's production model, loaded once per process and swapped when production changes."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from ..classifier import ArtifactError, Prediction
from ..models import ModelVersion
from ..selectors import production_version_id, production_version_ids
from .artifacts import artifact_local_path

if TYPE_CHECKING:
    from ..classifier import IntentClassifier

logger = logging.getLogger(__name__)


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
_load_seconds = [0.0]  # this process's time spent loading models, so an answer can tell it paid for one


def _classifier(bot_id: int, version_id: int | None = None) -> tuple[ModelVersion, IntentClassifier]:
    """The classifier of version `version_id` of the bot, or of its production version when None."""
    if version_id is None:
        version_id = production_version_id(bot_id=bot_id)
    if version_id is None:
        raise NoModelError(f"Bot {bot_id} has no production model: run `manage.py train_intents`.")
    backend = settings.CHARLA_INFERENCE_BACKEND
    with _loaded_lock:
        cached = _loaded.get(bot_id)
        if cached and cached[0].pk == version_id and cached[1] == backend:
            return cached[0], cached[2]
        # torch and scikit-learn are imported with the first model (intents/classifier/__init__.py): a web
        # process that only stores messages never loads them.
        from ..classifier import IntentClassifier, configure_threads

        if not _loaded:  # the first model of this process: web processes (NLU parse, stateless turns) included
            configure_threads(settings.CHARLA_TORCH_THREADS)
        version = ModelVersion.objects.get(pk=version_id, bot_id=bot_id)
        # Both per host: the artifact's verified copy, and the encoder's ONNX export (".encoders" cannot clash with
        # a bot's folder: a slug never starts with a dot).
        artifact = artifact_local_path(artifact_path=version.artifact_path)
        onnx_cache = Path(settings.CHARLA_MODEL_CACHE_DIR) / ".encoders"
        started = time.monotonic()
        classifier = IntentClassifier.load(artifact, backend=backend, onnx_cache=onnx_cache)
        _classify(version, classifier, ["warm-up"])  # lazy parts (tokenizer, runtime graphs) load on first use
        _load_seconds[0] += time.monotonic() - started
        _loaded[bot_id] = (version, backend, classifier)
        return version, classifier


def model_load_seconds() -> float:
    """Seconds this process has spent loading and warming up models, all of them together."""
    return _load_seconds[0]


def models_load_production() -> dict[int, int]:
    """Load every bot's production model into this process (each warmed up with one forward pass); returns what
    is held now, version id by bot id. A bot whose model cannot be loaded is logged and left out, so one broken
    artifact does not keep the other bots' answers from being served; its messages load it again when they come.
    Models of bots that have no production version any more (deleted bots) are dropped."""
    production = production_version_ids()
    with _loaded_lock:
        for bot_id in set(_loaded) - set(production):
            del _loaded[bot_id]
    for bot_id, version_id in production.items():
        try:
            _classifier(bot_id, version_id)
        except (ArtifactError, OSError, ModelVersion.DoesNotExist, ClassifierError):
            logger.exception("bot %s: production model version %s could not be loaded", bot_id, version_id)
    return models_loaded()


def models_loaded() -> dict[int, int]:
    """The model versions this process holds, version id by bot id."""
    with _loaded_lock:
        return {bot_id: version.pk for bot_id, (version, _, _) in _loaded.items()}


def _classify(
    version: ModelVersion, classifier: IntentClassifier, texts: list[str], top_k: int = 5
) -> list[Prediction]:
    """The model's predictions; whatever it raises becomes ClassifierError, so callers can tell a text the model
    fails on from a database or broker outage, which must not be answered as "not understood"."""
    poison = settings.CHARLA_FAULT_POISON_TEXT  # fault tests only: the model raises on texts containing it
    try:
        if poison and any(poison in text for text in texts):
            raise ValueError(f"fault injection: poison text {poison!r}")
        return classifier.predict(texts, top_k=top_k)
    except Exception as exc:
        raise ClassifierError(f"model version {version.pk} raised on {len(texts)} text(s)", version=version) from exc


def intent_predict(*, bot_id: int, text: str, top_k: int = 5) -> tuple[Prediction, ModelVersion]:
    """Classify with the bot's production model (ranking the `top_k` best intents); returns the version that
    classified it. Raises ClassifierError when the model raises on the text."""
    version, classifier = _classifier(bot_id)
    return _classify(version, classifier, [text], top_k=top_k)[0], version


def intent_predict_batch(
    *, bot_id: int, texts: list[str], version_id: int | None = None
) -> tuple[list[Prediction], ModelVersion]:
    """Classify many texts of one bot in one forward pass; predictions in the order of `texts`.

    `version_id` pins a version (a batch job keeps the one it started with); None: the production version.
    Raises ClassifierError when the model raises on any of them (classify them one by one to find which).
    """
    version, classifier = _classifier(bot_id, version_id)
    return _classify(version, classifier, texts), version
