"""Training jobs requested from the admin and run by a worker on the `training` queue."""

import logging

from django.db import transaction
from django.utils import timezone

from ..models import Bot, TrainingJob
from .registry import model_train, model_version_promote

logger = logging.getLogger(__name__)


def training_job_request(*, bot: Bot, requested_by_id: int | None = None, promote: bool = False) -> TrainingJob:
    """Queue a training run of `bot`; the task leaves after commit so the worker finds the job row."""
    from ..tasks import training_job_run as task

    job = TrainingJob.objects.create(bot=bot, requested_by_id=requested_by_id, promote=promote)
    task.delay_on_commit(job.pk)
    return job


def training_job_run(*, job_id: int) -> TrainingJob | None:
    """Run a queued job once: a job already started (a duplicate delivery) is left alone."""
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().select_related("bot").filter(pk=job_id).first()
        if job is None or job.status != TrainingJob.Status.QUEUED:
            return job
        job.status, job.started_at, job.stage = TrainingJob.Status.RUNNING, timezone.now(), "starting"
        job.save(update_fields=["status", "started_at", "stage"])
    try:
        version = model_train(bot=job.bot, trained_by_id=job.requested_by_id, progress=_progress_saver(job.pk))
        if job.promote:
            model_version_promote(version=version)
    except Exception as exc:
        logger.exception("training job %s failed", job_id)
        TrainingJob.objects.filter(pk=job_id).update(
            status=TrainingJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
    else:
        TrainingJob.objects.filter(pk=job_id).update(
            status=TrainingJob.Status.SUCCEEDED, stage="done", progress=100, version=version,
            finished_at=timezone.now(),
        )  # fmt: skip
    job.refresh_from_db()
    return job


def _progress_saver(job_id: int):
    """A progress callback that writes the stage and whole percent, only when they change."""
    last: list[tuple[str, int]] = [("", -1)]

    def save(stage: str, fraction: float) -> None:
        current = (stage, min(99, int(fraction * 100)))  # 100 only once the version is recorded
        if current != last[0]:
            last[0] = current
            TrainingJob.objects.filter(pk=job_id).update(stage=current[0], progress=current[1])

    return save
