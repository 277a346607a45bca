"""The model registry: train → candidate (evaluated) → production → archived, and rollback."""

import hashlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..classifier import ArtifactError, IntentClassifier
from ..classifier.encoder import get_encoder
from ..classifier.evaluation import cross_validation_report
from ..classifier.model import HeadConfig
from ..classifier.storage import read_artifact
from ..models import Bot, ModelVersion
from ..selectors import TrainingData, production_version_for_bot, training_data_for_bot

ProgressCallback = Callable[[str, float], None]
EVALUATION_PLOT = "evaluation.png"


class ModelVersionError(RuntimeError):
    """A registry transition that is not allowed (unevaluated, unreadable artifact, nothing to roll back to)."""


def training_data_fingerprint(*, data: TrainingData, encoder: str) -> str:
    rows = sorted(zip(data.intents, data.languages, data.texts))
    payload = json.dumps({"encoder": encoder, "rows": rows}, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def training_example_digests(*, data: TrainingData) -> list[str]:
    """Sorted 64-bit digests of (intent, language, text), one per example: 16 characters each, so a version of a
    10,000-example bot stores 200 kB, and two versions' sets differ exactly where examples were added or removed
    (an edited example counts as one removed and one added)."""
    rows = zip(data.intents, data.languages, data.texts)
    return sorted(hashlib.blake2b("\x1f".join(row).encode(), digest_size=8).hexdigest() for row in rows)


def encoder_name() -> str:
    return settings.CHARLA_ENCODER_PATH or "all-MiniLM-L6-v2"


def model_train(
    *, bot: Bot, trained_by_id: int | None = None, progress: ProgressCallback | None = None
) -> ModelVersion:
    """Train on the bot's active examples, evaluate by cross-validation, register an evaluated candidate.

    The encoder is frozen, so the examples are encoded once for training and evaluation both.
    """
    report = progress or (lambda stage, fraction: None)
    data = training_data_for_bot(bot=bot)
    encoder_path = settings.CHARLA_ENCODER_PATH or None
    config = HeadConfig()
    embeddings = get_encoder(encoder_path).encode(
        data.texts, progress=lambda f: report("encoding", 0.4 * f), layers=config.layers
    )
    classifier = IntentClassifier.train(
        texts=data.texts, intents=data.intents, languages=data.languages, encoder_path=encoder_path,
        config=config, embeddings=embeddings, progress=lambda stage, f: report(stage, 0.4 + 0.4 * f),
    )  # fmt: skip
    report("evaluating", 0.8)
    with tempfile.TemporaryDirectory() as tmp:
        plot = Path(tmp) / EVALUATION_PLOT
        evaluation = cross_validation_report(
            texts=data.texts, intents=data.intents, languages=data.languages, embeddings=embeddings,
            config=classifier.config, plot_path=plot,
        )  # fmt: skip
        report("registering", 0.95)
        version = _register(bot, data, classifier, evaluation, plot if plot.is_file() else None, trained_by_id)
    report("done", 1.0)
    return version


def _register(
    bot: Bot, data: TrainingData, classifier: IntentClassifier, evaluation: dict, plot: Path | None, user_id: int | None
) -> ModelVersion:
    """Number, write and record the version; the bot's row lock hands out gapless version numbers."""
    with transaction.atomic():
        Bot.objects.select_for_update().get(pk=bot.pk)
        number = (ModelVersion.objects.filter(bot=bot).aggregate(n=Max("version"))["n"] or 0) + 1
        artifact = Path(settings.CHARLA_MODEL_DIR) / bot.slug / f"v{number}"
        classifier.save(artifact, extra_files={EVALUATION_PLOT: plot} if plot else None)
        metadata = classifier.metadata
        return ModelVersion.objects.create(
            bot=bot, version=number, encoder=encoder_name(),
            data_fingerprint=training_data_fingerprint(data=data, encoder=encoder_name()),
            example_digests=training_example_digests(data=data),
            hyperparameters={k: metadata[k] for k in ("seed", "threshold", "similarity_weight", "head_config") if k in metadata},
            metrics={k: metadata[k] for k in ("train_seconds", "n_examples", "calibration") if k in metadata},
            artifact_path=str(artifact), evaluation=evaluation, evaluated_at=timezone.now(), trained_by_id=user_id,
        )  # fmt: skip


@transaction.atomic
def model_version_promote(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the bot's production model and archive the previous one. Runs inside the bot's row lock.

    Two promotions of one bot at once are serialised by that lock: the later one wins and
    the partial unique constraint guarantees there is never a second production version.
    """
    Bot.objects.select_for_update().get(pk=version.bot_id)
    version.refresh_from_db()
    if version.evaluated_at is None:
        raise ModelVersionError(f"{version} has not been evaluated; train it with model_train.")
    try:
        read_artifact(version.artifact_path)
    except ArtifactError as exc:
        raise ModelVersionError(f"{version} cannot be served: {exc}") from exc
    ModelVersion.objects.filter(bot_id=version.bot_id, stage=ModelVersion.Stage.PRODUCTION).exclude(
        pk=version.pk
    ).update(stage=ModelVersion.Stage.ARCHIVED)
    version.stage, version.promoted_at = ModelVersion.Stage.PRODUCTION, timezone.now()
    version.save(update_fields=["stage", "promoted_at"])
    return version


@transaction.atomic
def model_version_rollback(*, bot: Bot, to_version: int | None = None) -> ModelVersion:
    """Serve an earlier version again: `to_version`, or the newest one older than production. Runs in the bot's row lock."""
    Bot.objects.select_for_update().get(pk=bot.pk)
    current = production_version_for_bot(bot_id=bot.pk)
    earlier = ModelVersion.objects.filter(bot=bot).exclude(stage=ModelVersion.Stage.PRODUCTION)
    if to_version is not None:
        target = earlier.filter(version=to_version).first()
    else:
        older = earlier.filter(version__lt=current.version) if current else earlier
        target = older.exclude(promoted_at=None).order_by("-version").first()
    if target is None:
        wanted = f"version {to_version}" if to_version is not None else "an earlier production version"
        raise ModelVersionError(f"Bot '{bot.slug}' has no {wanted} to roll back to.")
    return model_version_promote(version=target)


def model_version_export(*, version: ModelVersion, quantize: str = "none", target: Path | None = None) -> Path:
    """A self-contained ONNX copy of `version` (classifier, encoder graph, tokenizer) for edge devices."""
    from ..classifier.backends import artifact_export

    suffix = "onnx-int8" if quantize == "int8" else "onnx"
    target = target or Path(version.artifact_path).with_name(f"v{version.version}-{suffix}")
    return artifact_export(version.artifact_path, target, quantize=quantize)
