"""Writes for bots, their models and training jobs, and prediction (one module per concern)."""

from .artifacts import ArtifactUnavailable, artifact_exists, artifact_local_path, artifact_open, artifact_publish
from .bots import bot_load_definition
from .interchange import BotImport, bot_export, bot_import
from .prediction import NoModelError, intent_predict, intent_predict_batch
from .registry import (
    ModelVersionError,
    PromotionDecision,
    encoder_name,
    model_is_current,
    model_train,
    model_version_export,
    model_version_promote,
    model_version_promote_if_not_worse,
    model_version_publish,
    model_version_rollback,
    training_data_fingerprint,
)
from .retraining import bots_retrain_changed
from .training import training_job_request, training_job_run, training_jobs_fail_stale

__all__ = [
    "BotImport",
    "bot_export",
    "bot_import",
    "ArtifactUnavailable",
    "ModelVersionError",
    "PromotionDecision",
    "NoModelError",
    "artifact_exists",
    "artifact_local_path",
    "artifact_open",
    "artifact_publish",
    "bot_load_definition",
    "bots_retrain_changed",
    "encoder_name",
    "intent_predict",
    "intent_predict_batch",
    "model_is_current",
    "model_train",
    "model_version_export",
    "model_version_promote",
    "model_version_promote_if_not_worse",
    "model_version_publish",
    "model_version_rollback",
    "training_data_fingerprint",
    "training_job_request",
    "training_job_run",
    "training_jobs_fail_stale",
]
