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
# Routed to queue `batch`. Acknowledged late (the project's default), so that with prefetch 1 a busy worker holds
# no second task that an idle worker could run: a job's tasks spread over the workers. A redelivered copy is
# harmless: it claims only what the leases hand out. A dead worker's chunk is recovered by its lease, not redelivery.
@shared_task
def prediction_job_work(job_id: str) -> None:
    """Work the job until nothing is left to claim; while another worker holds a lease, look again when it ends."""
    retry_in = services.prediction_job_work(job_id=job_id)
    if retry_in is not None:
        prediction_job_work.apply_async((job_id,), countdown=retry_in + 0.5)


@shared_task
def prediction_jobs_requeue_stalled() -> int:
    """Beat: queue work again for jobs with no progress for a lease (CHARLA_BATCH_LEASE_SECONDS)."""
    return services.prediction_jobs_requeue_stalled(
        older_than=timedelta(seconds=settings.CHARLA_BATCH_LEASE_SECONDS)
    )
