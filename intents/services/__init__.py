"""Writes for bots, their models and training jobs, and prediction (one module per concern)."""

from .bots import bot_load_definition
from .prediction import UNCLASSIFIED, ClassifierError, NoModelError, intent_predict, intent_predict_batch
from .registry import (
    ModelVersionError,
    encoder_name,
    model_train,
    model_version_export,
    model_version_promote,
    model_version_rollback,
    training_data_fingerprint,
)
from .training import training_job_request, training_job_run, training_jobs_fail_stale

__all__ = [
    "UNCLASSIFIED",
    "ClassifierError",
    "ModelVersionError",
    "NoModelError",
    "bot_load_definition",
    "encoder_name",
    "intent_predict",
    "intent_predict_batch",
    "model_train",
    "model_version_export",
    "model_version_promote",
    "model_version_rollback",
    "training_data_fingerprint",
    "training_job_request",
    "training_job_run",
    "training_jobs_fail_stale",
]
