from datetime import timedelta

from celery import shared_task
from django.conf import settings

from . import services


# Routed to queue `training` (CELERY_TASK_ROUTES). Acknowledged on receipt: a run outlives the
# broker's visibility timeout, and a redelivered copy would train twice.
@shared_task(acks_late=False)
def training_job_run(job_id: int) -> None:
    services.training_job_run(job_id=job_id)


@shared_task
def training_jobs_fail_stale() -> int:
    """Beat: fail training jobs whose worker stopped sending heartbeats (CHARLA_TRAINING_STALE_SECONDS)."""
    return services.training_jobs_fail_stale(older_than=timedelta(seconds=settings.CHARLA_TRAINING_STALE_SECONDS))


@shared_task
def bots_retrain_changed() -> int:
    """Beat, nightly: queue training jobs for opted-in bots whose examples changed. How many were queued."""
    return len(services.bots_retrain_changed())
