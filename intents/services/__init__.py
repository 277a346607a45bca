"""Writes for bots, their models and training jobs, and prediction (one module per concern)."""

from .bots import bot_load_definition
from .examples import ExampleRejected, out_of_scope_intent_get, training_example_add
from .prediction import NoModelError, intent_predict, intent_predict_batch
from .registry import (
    ModelVersionError,
    encoder_name,
    model_train,
    model_version_export,
    model_version_promote,
    model_version_rollback,
    training_data_fingerprint,
    training_example_digests,
)
from .training import training_job_request, training_job_run, training_jobs_fail_stale

__all__ = [
    "ExampleRejected",
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
    "out_of_scope_intent_get",
    "training_data_fingerprint",
    "training_example_add",
    "training_example_digests",
    "training_job_request",
    "training_job_run",
    "training_jobs_fail_stale",
]
