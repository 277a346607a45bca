"""Writes for bots, their intents and their models."""

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from .classifier import IntentClassifier, Prediction
from .models import Bot, Intent, ModelVersion, Response, TrainingExample
from .selectors import TrainingData, production_version_for_bot, training_data_for_bot

ProgressCallback = Callable[[str, float], None]


class NoModelError(RuntimeError):
    """The bot has no production model yet: run `manage.py train_intents --bot <slug>`."""


@transaction.atomic
def bot_load_definition(*, definition: dict[str, Any]) -> Bot:
    """Create or update a bot from a definition (see intents/demo/demo_bot.json); running it twice changes nothing."""
    bot, _ = Bot.objects.update_or_create(
        slug=definition["slug"],
        defaults={
            "name": definition["name"],
            "languages": definition["languages"],
            "confidence_threshold": definition.get("confidence_threshold", 0.5),
            "fallback_responses": definition.get("fallback", {}),
            "allowed_origins": definition.get("allowed_origins", []),
        },
    )
    for item in definition["intents"]:
        intent, _ = Intent.objects.update_or_create(
            bot=bot, name=item["slug"], defaults={"description": item.get("description", ""), "active": True}
        )
        _sync_texts(TrainingExample, intent, item["examples"])
        _sync_texts(Response, intent, item["responses"])
    return bot


def _sync_texts(model: type[TrainingExample] | type[Response], intent: Intent, by_language: dict[str, list[str]]) -> None:
    wanted = {(language, text) for language, texts in by_language.items() for text in texts}
    existing = {(row.language, row.text): row.pk for row in model.objects.filter(intent=intent)}
    model.objects.filter(pk__in=[pk for key, pk in existing.items() if key not in wanted]).delete()
    model.objects.bulk_create(
        [model(intent=intent, language=language, text=text) for language, text in sorted(wanted - existing.keys())]
    )


def training_data_fingerprint(*, data: TrainingData, encoder: str) -> str:
    rows = sorted(zip(data.intents, data.languages, data.texts))
    payload = json.dumps({"encoder": encoder, "rows": rows}, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def encoder_name() -> str:
    return settings.CHARLA_ENCODER_PATH or "all-MiniLM-L6-v2"


def model_train(*, bot: Bot, trained_by_id: int | None = None, progress: ProgressCallback | None = None) -> ModelVersion:
    """Train a classifier on the bot's active examples and register it as a candidate version."""
    data = training_data_for_bot(bot=bot)
    classifier = IntentClassifier.train(
        texts=data.texts,
        intents=data.intents,
        languages=data.languages,
        encoder_path=settings.CHARLA_ENCODER_PATH or None,
        progress=progress,
    )
    with transaction.atomic():
        Bot.objects.select_for_update().get(pk=bot.pk)
        number = (ModelVersion.objects.filter(bot=bot).aggregate(n=Max("version"))["n"] or 0) + 1
        artifact = Path(settings.CHARLA_MODEL_DIR) / bot.slug / f"v{number}"
        classifier.save(artifact)
        return ModelVersion.objects.create(
            bot=bot,
            version=number,
            encoder=encoder_name(),
            data_fingerprint=training_data_fingerprint(data=data, encoder=encoder_name()),
            hyperparameters={k: v for k, v in classifier.metadata.items() if k in ("seed", "threshold", "head")},
            metrics={k: v for k, v in classifier.metadata.items() if k in ("train_seconds", "n_examples")},
            artifact_path=str(artifact),
            trained_by_id=trained_by_id,
        )


@transaction.atomic
def model_version_promote(*, version: ModelVersion) -> None:
    """Make `version` the bot's production model; the previous one is archived. Runs inside the bot's row lock."""
    Bot.objects.select_for_update().get(pk=version.bot_id)
    ModelVersion.objects.filter(bot_id=version.bot_id, stage=ModelVersion.Stage.PRODUCTION).exclude(
        pk=version.pk
    ).update(stage=ModelVersion.Stage.ARCHIVED)
    ModelVersion.objects.filter(pk=version.pk).update(stage=ModelVersion.Stage.PRODUCTION)
    version.stage = ModelVersion.Stage.PRODUCTION


_loaded: dict[int, tuple[int, IntentClassifier]] = {}
_loaded_lock = threading.Lock()


def _classifier_for(version: ModelVersion) -> IntentClassifier:
    with _loaded_lock:
        cached = _loaded.get(version.bot_id)
        if cached and cached[0] == version.pk:
            return cached[1]
        classifier = IntentClassifier.load(version.artifact_path)
        _loaded[version.bot_id] = (version.pk, classifier)
        return classifier


def intent_predict(*, bot_id: int, text: str) -> tuple[Prediction, ModelVersion]:
    """Classify with the bot's production model, loaded once per process and swapped when production changes."""
    version = production_version_for_bot(bot_id=bot_id)
    if version is None:
        raise NoModelError(f"Bot {bot_id} has no production model: run `manage.py train_intents`.")
    prediction = _classifier_for(version).predict([text])[0]
    return prediction, version
