"""Training jobs, requested from the admin or by the nightly retraining, run by a worker on the `training` queue."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import Bot, ModelVersion, TrainingJob
from ..selectors import production_version_for_bot
from .registry import PromotionDecision, model_train, model_version_promote, model_version_promote_if_not_worse

logger = logging.getLogger(__name__)


def training_job_request(
    *, bot: Bot, requested_by_id: int | None = None, promotion: str = TrainingJob.Promotion.NEVER,
    trigger: str = TrainingJob.Trigger.MANUAL,
) -> TrainingJob:
    """Queue a training run of `bot`; the task leaves after commit so the worker finds the job row."""
    from ..tasks import training_job_run as task

    job = TrainingJob.objects.create(bot=bot, requested_by_id=requested_by_id, promotion=promotion, trigger=trigger)
    task.delay_on_commit(job.pk)
    return job


def training_job_run(*, job_id: int) -> TrainingJob | None:
    """Run a queued job once: a job already started (a duplicate delivery) is left alone."""
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().select_related("bot").filter(pk=job_id).first()
        if job is None or job.status != TrainingJob.Status.QUEUED:
            return job
        job.status, job.stage = TrainingJob.Status.RUNNING, "starting"
        job.started_at = job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "started_at", "heartbeat_at", "stage"])
    running = TrainingJob.objects.filter(pk=job_id, status=TrainingJob.Status.RUNNING)  # not failed as stale meanwhile
    try:
        with _heartbeat(job_id):
            version = model_train(bot=job.bot, trained_by_id=job.requested_by_id, progress=_progress_saver(job.pk))
        decision = _promote(job, version)
    except Exception as exc:
        logger.exception("training job %s failed", job_id)
        running.update(
            status=TrainingJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
    else:
        running.update(
            status=TrainingJob.Status.SUCCEEDED, stage="done", progress=100, version=version,
            finished_at=timezone.now(), decision=decision.decision, decision_reason=decision.reason,
            candidate_accuracy=decision.candidate_accuracy, production_accuracy=decision.production_accuracy,
        )  # fmt: skip
    job.refresh_from_db()
    return job


def _promote(job: TrainingJob, version: ModelVersion) -> PromotionDecision:
    """Apply the job's promotion rule to the new version; the decision and both accuracies are recorded."""
    if job.promotion == TrainingJob.Promotion.IF_NOT_WORSE:
        return model_version_promote_if_not_worse(version=version)
    production = production_version_for_bot(bot_id=version.bot_id)
    current = (production.evaluation or {}).get("accuracy") if production else None
    candidate = (version.evaluation or {}).get("accuracy")
    if job.promotion == TrainingJob.Promotion.ALWAYS:
        model_version_promote(version=version)
        return PromotionDecision(TrainingJob.Decision.PROMOTED, "Promotion was requested.", candidate, current)
    return PromotionDecision(TrainingJob.Decision.CANDIDATE, "Requested as a candidate only.", candidate, current)


def _progress_saver(job_id: int):
    """A progress callback that writes the stage and whole percent, only when they change."""
    last: list[tuple[str, int]] = [("", -1)]

    def save(stage: str, fraction: float) -> None:
        current = (stage, min(99, int(fraction * 100)))  # 100 only once the version is recorded
        if current != last[0]:
            last[0] = current
            TrainingJob.objects.filter(pk=job_id).update(stage=current[0], progress=current[1])

    return save


@contextmanager
def _heartbeat(job_id: int) -> Iterator[None]:
    """Stamp the job's heartbeat_at every CHARLA_TRAINING_HEARTBEAT_SECONDS while the block runs, from a thread
    of its own: progress callbacks can be minutes apart while a head is fitted."""
    stopped = threading.Event()

    def beat() -> None:
        try:
            while not stopped.wait(settings.CHARLA_TRAINING_HEARTBEAT_SECONDS):
                TrainingJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"training-job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopped.set()
        thread.join()


def training_jobs_fail_stale(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Fail running jobs whose worker went silent (killed, or its machine lost): they would show "running"
    forever, since a job's task is acknowledged on receipt and never redelivered. How many were failed."""
    now = now or timezone.now()
    stale = TrainingJob.objects.filter(status=TrainingJob.Status.RUNNING, heartbeat_at__lt=now - older_than)
    return stale.update(
        status=TrainingJob.Status.FAILED, finished_at=now,
        error=f"The worker stopped sending heartbeats for over {int(older_than.total_seconds())} s (killed or "
        "lost). Request the training again.",
    )  # fmt: skip
