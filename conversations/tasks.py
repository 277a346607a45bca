from datetime import timedelta

from celery import shared_task
from django.conf import settings

from . import services

# Retries while an earlier turn is unanswered: after 1 s, then every 2 s, 64 times, about two minutes, the
# requeue sweep's default delay. Then the task ends and leaves its message pending for the sweep. Uncapped,
# a turn stuck behind one that never got answered retried forever, and every sweep added another such task.
# (Celery rounds retry_backoff to a whole number of seconds, at least 1: the 0.05 this once said was 1.)
ANSWER_MAX_RETRIES = 64


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(services.EarlierTurnPending,),
    retry_backoff=1,
    retry_backoff_max=2,
    retry_jitter=False,
    max_retries=ANSWER_MAX_RETRIES,
)
def message_answer(self, message_id: int, timings: dict[str, float] | None = None) -> None:
    """Answer one user message. Safe to run twice: the reply is unique per message."""
    reply, created = services.message_answer(message_id=message_id, timings=timings)
    if not created and reply is not None:
        services.reply_publish(reply=reply)  # a redelivered task may follow a publish that never happened


@shared_task
def messages_requeue_stale() -> int:
    """Beat: queue again user messages pending longer than CHARLA_PENDING_REQUEUE_SECONDS."""
    return services.messages_requeue_stale(older_than=timedelta(seconds=settings.CHARLA_PENDING_REQUEUE_SECONDS))


@shared_task
def conversations_close_idle() -> int:
    """Beat: end conversations idle longer than CHARLA_SESSION_IDLE_MINUTES."""
    return services.conversations_close_idle()


@shared_task
def conversations_purge_expired() -> int:
    """Beat: delete transcripts older than CHARLA_RETENTION_DAYS."""
    return services.conversations_purge_expired().conversations
