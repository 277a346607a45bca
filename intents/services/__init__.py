"""Writes for bots, their models and training jobs, and prediction (one module per concern)."""

from .api_keys import api_key_check, api_key_create, api_key_revoke
from .artifacts import ArtifactUnavailable, artifact_exists, artifact_local_path, artifact_open, artifact_publish
from .bots import bot_action_secret_rotate, bot_load_definition
from .examples import ExampleRejected, out_of_scope_intent_get, training_example_add
from .interchange import BotImport, bot_export, bot_import
from .prediction import (
    UNCLASSIFIED,
    ClassifierError,
    NoModelError,
    intent_predict,
    intent_predict_batch,
    model_load_seconds,
    models_load_production,
    models_loaded,
)
from .prediction_jobs import (
    BatchUnsupportedError,
    prediction_job_cancel,
    prediction_job_create,
    prediction_job_work,
    prediction_jobs_requeue_stalled,
)
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
    training_example_digests,
)
from .retraining import bots_retrain_changed
from .training import training_job_request, training_job_run, training_jobs_fail_stale

__all__ = [
    "BotImport",
    "bot_export",
    "bot_import",
    "ArtifactUnavailable",
    "ExampleRejected",
    "BatchUnsupportedError",
    "UNCLASSIFIED",
    "ClassifierError",
    "ModelVersionError",
    "PromotionDecision",
    "NoModelError",
    "artifact_exists",
    "artifact_local_path",
    "artifact_open",
    "artifact_publish",
    "api_key_check",
    "api_key_create",
    "api_key_revoke",
    "bot_action_secret_rotate",
    "bot_load_definition",
    "bots_retrain_changed",
    "encoder_name",
    "intent_predict",
    "intent_predict_batch",
    "model_load_seconds",
    "models_load_production",
    "models_loaded",
    "model_is_current",
    "model_train",
    "model_version_export",
    "model_version_promote",
    "model_version_promote_if_not_worse",
    "model_version_publish",
    "model_version_rollback",
    "out_of_scope_intent_get",
    "prediction_job_cancel",
    "prediction_job_create",
    "prediction_job_work",
    "prediction_jobs_requeue_stalled",
    "training_data_fingerprint",
    "training_example_add",
    "training_example_digests",
    "training_job_request",
    "training_job_run",
    "training_jobs_fail_stale",
]
