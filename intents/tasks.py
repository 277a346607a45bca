from celery import shared_task

from . import services


# Routed to queue `training` (CELERY_TASK_ROUTES). Acknowledged on receipt: a run outlives the
# broker's visibility timeout, and a redelivered copy would train twice.
@shared_task(acks_late=False)
def training_job_run(job_id: int) -> None:
    services.training_job_run(job_id=job_id)
