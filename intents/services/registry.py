"""The model registry: train → candidate (evaluated) → production → archived, and rollback."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..classifier import ArtifactError
from ..classifier.storage import read_artifact
from ..models import Bot, ModelVersion, TrainingJob
from ..selectors import TrainingData, production_version_for_bot, training_data_for_bot
from .artifacts import artifact_exists, artifact_local_path, artifact_publish

if TYPE_CHECKING:
    from ..classifier import IntentClassifier

ProgressCallback = Callable[[str, float], None]
EVALUATION_PLOT = "evaluation.png"
REJECTION_PLOT = "rejection.png"


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


def _fingerprint_encoder(bot: Bot) -> str:
    """The encoder as the training fingerprint names it: switching a bot's `tune_encoder` makes its newest
    version out of date, so `train_intents --if-changed` and nightly retraining train it again."""
    return encoder_name() + (" fine-tuned" if bot.tune_encoder else "")


def model_train(
    *, bot: Bot, trained_by_id: int | None = None, progress: ProgressCallback | None = None
) -> ModelVersion:
    """Train on the bot's active examples, evaluate by cross-validation, register an evaluated candidate.

    A frozen encoder encodes the examples once for training and evaluation both; a bot with `tune_encoder`
    trains a copy of the encoder first (finetune.py), whose weights go into the artifact. The evaluation
    includes the out-of-scope rejection at the version's threshold (`evaluation["out_of_scope"]`).
    """
    # Imported here: torch and scikit-learn cost seconds of start-up that processes which never train
    # (web processes, answer workers) should not pay (intents/classifier/__init__.py).
    from ..classifier import IntentClassifier
    from ..classifier.encoder import get_encoder
    from ..classifier.evaluation import cross_validation_report, rejection_report
    from ..classifier.finetune import EncoderTuning
    from ..classifier.model import BOT_HEAD_CONFIG

    report = progress or (lambda stage, fraction: None)
    data = training_data_for_bot(bot=bot)
    encoder_path = settings.CHARLA_ENCODER_PATH or None
    config = BOT_HEAD_CONFIG
    tuning = EncoderTuning() if bot.tune_encoder else None
    embeddings = None
    if tuning is None:
        embeddings = get_encoder(encoder_path).encode(
            data.texts, progress=lambda f: report("encoding", 0.4 * f), layers=config.layers
        )
    classifier = IntentClassifier.train(
        texts=data.texts, intents=data.intents, languages=data.languages, encoder_path=encoder_path,
        config=config, embeddings=embeddings, encoder_tuning=tuning,
        progress=lambda stage, f: report(stage, 0.4 + 0.4 * f) if tuning is None else report(stage, 0.8 * f),
    )  # fmt: skip
    if embeddings is None:
        # The folds read vectors of the encoder tuned on every example, their test folds included: for a tuned
        # encoder the report is optimistic (docs/evaluation.md), which tuning again for each fold would avoid
        # at five times the cost.
        embeddings = classifier.encode(data.texts)
    report("evaluating", 0.8)
    with tempfile.TemporaryDirectory() as tmp:
        plots = {name: Path(tmp) / name for name in (EVALUATION_PLOT, REJECTION_PLOT)}
        evaluation = cross_validation_report(
            texts=data.texts, intents=data.intents, languages=data.languages, embeddings=embeddings,
            config=classifier.config, plot_path=plots[EVALUATION_PLOT],
        )  # fmt: skip
        evaluation["out_of_scope"] = rejection_report(classifier, plot_path=plots[REJECTION_PLOT])
        if classifier.encoder_tuned:
            evaluation["encoder_tuned_on_every_fold"] = True
        report("registering", 0.95)
        plots = {name: path for name, path in plots.items() if path.is_file()}
        version = _register(bot, data, classifier, evaluation, plots, trained_by_id)
    report("done", 1.0)
    return version


def _register(
    bot: Bot, data: TrainingData, classifier: IntentClassifier, evaluation: dict, plots: dict[str, Path],
    user_id: int | None,
) -> ModelVersion:
    """Number, publish and record the version; the bot's row lock hands out gapless version numbers.

    The artifact is written to a local folder and uploaded to the model storage under `<bot>/v<number>`.
    """
    with transaction.atomic(), tempfile.TemporaryDirectory() as tmp:
        Bot.objects.select_for_update().get(pk=bot.pk)
        number = (ModelVersion.objects.filter(bot=bot).aggregate(n=Max("version"))["n"] or 0) + 1
        classifier.save(Path(tmp) / "artifact", extra_files=plots or None)
        artifact = artifact_publish(directory=Path(tmp) / "artifact", key=f"{bot.slug}/v{number}")
        metadata = classifier.metadata
        return ModelVersion.objects.create(
            bot=bot, version=number, encoder=encoder_name() + (", fine-tuned" if classifier.encoder_tuned else ""),
            data_fingerprint=training_data_fingerprint(data=data, encoder=_fingerprint_encoder(bot)),
            example_digests=training_example_digests(data=data),
            hyperparameters={
                k: metadata[k] for k in ("seed", "threshold", "rejection_weights", "head_config") if k in metadata
            },
            metrics={k: metadata[k] for k in ("train_seconds", "n_examples", "calibration") if k in metadata},
            artifact_path=artifact, evaluation=evaluation, evaluated_at=timezone.now(), trained_by_id=user_id,
        )  # fmt: skip


@transaction.atomic
def model_version_promote(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the bot's production model and archive the previous one. Runs inside the bot's row lock.

    Two promotions of one bot at once are serialised by that lock: the later one wins and
    the partial unique constraint guarantees there is never a second production version. The artifact must be
    readable: it is fetched from the model storage into this host's cache (checksums verified) and opened.
    """
    Bot.objects.select_for_update().get(pk=version.bot_id)
    version.refresh_from_db()
    if version.evaluated_at is None:
        raise ModelVersionError(f"{version} has not been evaluated; train it with model_train.")
    try:
        read_artifact(artifact_local_path(artifact_path=version.artifact_path))
    except ArtifactError as exc:
        raise ModelVersionError(f"{version} cannot be served: {exc}") from exc
    ModelVersion.objects.filter(bot_id=version.bot_id, stage=ModelVersion.Stage.PRODUCTION).exclude(
        pk=version.pk
    ).update(stage=ModelVersion.Stage.ARCHIVED)
    version.stage, version.promoted_at = ModelVersion.Stage.PRODUCTION, timezone.now()
    version.save(update_fields=["stage", "promoted_at"])
    return version


@dataclass(frozen=True)
class PromotionDecision:
    decision: str  # TrainingJob.Decision
    reason: str
    candidate_accuracy: float | None
    production_accuracy: float | None


@transaction.atomic
def model_version_promote_if_not_worse(*, version: ModelVersion) -> PromotionDecision:
    """Promote `version` only if its cross-validated accuracy is not lower than production's. Runs inside the
    bot's row lock, so production cannot change between the comparison and the promotion.

    With no production version it is promoted; a candidate without an accuracy (too few examples to
    cross-validate) is not, nor is one compared with a production version that has none.
    """
    Bot.objects.select_for_update().get(pk=version.bot_id)
    production = production_version_for_bot(bot_id=version.bot_id)
    candidate = (version.evaluation or {}).get("accuracy")
    current = (production.evaluation or {}).get("accuracy") if production else None
    if production is None:
        promoted, reason = True, "There was no production version."
    elif candidate is None:
        skipped = version.evaluation.get("skipped", "not evaluated")
        promoted, reason = False, f"{version} has no cross-validated accuracy: {skipped}."
    elif current is None:
        promoted, reason = False, f"Production ({production}) has no cross-validated accuracy to compare with."
    else:
        promoted = candidate >= current
        comparison = "is not lower than" if promoted else "is lower than"
        reason = f"Its accuracy {candidate:.2f} % {comparison} production's {current:.2f} % (v{production.version})."
    if promoted:
        model_version_promote(version=version)
    decision = TrainingJob.Decision.PROMOTED if promoted else TrainingJob.Decision.KEPT
    return PromotionDecision(decision, reason, candidate, current)


def model_is_current(*, bot: Bot, version: ModelVersion | None) -> bool:
    """Whether `version` was trained on the bot's examples as they are now, with today's encoder, and its
    artifact is still there: training again would give the same model."""
    if version is None or not artifact_exists(artifact_path=version.artifact_path):
        return False
    fingerprint = training_data_fingerprint(data=training_data_for_bot(bot=bot), encoder=_fingerprint_encoder(bot))
    return version.data_fingerprint == fingerprint


@transaction.atomic
def model_version_rollback(*, bot: Bot, to_version: int | None = None) -> ModelVersion:
    """Serve an earlier version again: `to_version`, or the newest one older than production. Runs in the bot's row
    lock."""
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


def model_version_publish(*, version: ModelVersion) -> bool:
    """Upload a version recorded before model storage (absolute `artifact_path`) to the storage under
    `<bot>/v<N>` and record that key, so hosts without its folder can serve it. False when it is published already.

    Raises ArtifactError when the folder is not a readable artifact; the version is then left as it was.
    """
    if not Path(version.artifact_path).is_absolute():
        return False
    read_artifact(version.artifact_path)
    key = f"{version.bot.slug}/v{version.version}"
    artifact_publish(directory=Path(version.artifact_path), key=key)
    ModelVersion.objects.filter(pk=version.pk).update(artifact_path=key)
    version.artifact_path = key
    return True


def model_version_export(*, version: ModelVersion, quantize: str = "none", target: Path | None = None) -> Path:
    """A self-contained ONNX copy of `version` (classifier, encoder graph, tokenizer) for edge devices.

    Made from this host's cached copy of the artifact; by default written beside that copy.
    """
    from ..classifier.backends import artifact_export

    source = artifact_local_path(artifact_path=version.artifact_path)
    suffix = "onnx-int8" if quantize == "int8" else "onnx"
    return artifact_export(source, target or source.with_name(f"v{version.version}-{suffix}"), quantize=quantize)
