"""Prediction with a bot's production model, loaded once per process and swapped when production changes."""

import threading
from pathlib import Path

from django.conf import settings

from ..classifier import IntentClassifier, Prediction, configure_threads
from ..models import ModelVersion
from ..selectors import production_version_id
from .artifacts import artifact_local_path


class NoModelError(RuntimeError):
    """The bot has no production model yet: run `manage.py train_intents --bot <slug>`."""


# bot id -> (version, backend, classifier). A promotion is seen at the next prediction: every call reads the
# production version's id, so no restart is needed, and a message is classified by the one version that call
# read, the one stored with its answer.
_loaded: dict[int, tuple[ModelVersion, str, IntentClassifier]] = {}
_loaded_lock = threading.Lock()


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
        if not _loaded:  # the first model of this process: web processes (NLU parse, stateless turns) included
            configure_threads(settings.CHARLA_TORCH_THREADS)
        version = ModelVersion.objects.get(pk=version_id, bot_id=bot_id)
        # Both per host: the artifact's verified copy, and the encoder's ONNX export (".encoders" cannot clash with
        # a bot's folder: a slug never starts with a dot).
        artifact = artifact_local_path(artifact_path=version.artifact_path)
        onnx_cache = Path(settings.CHARLA_MODEL_CACHE_DIR) / ".encoders"
        classifier = IntentClassifier.load(artifact, backend=backend, onnx_cache=onnx_cache)
        _loaded[bot_id] = (version, backend, classifier)
        return version, classifier


def intent_predict(*, bot_id: int, text: str, top_k: int = 5) -> tuple[Prediction, ModelVersion]:
    """Classify with the bot's production model (ranking the `top_k` best intents); returns the version that
    classified it."""
    version, classifier = _classifier(bot_id)
    return classifier.predict([text], top_k=top_k)[0], version


def intent_predict_batch(
    *, bot_id: int, texts: list[str], version_id: int | None = None
) -> tuple[list[Prediction], ModelVersion]:
    """Classify many texts of one bot in one forward pass; predictions in the order of `texts`.

    `version_id` pins a version (a batch job keeps the one it started with); None: the production version.
    """
    version, classifier = _classifier(bot_id, version_id)
    return classifier.predict(texts), version
