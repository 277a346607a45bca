from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from . import services

# Retries while an earlier turn is unanswered: after 50 ms, doubling to 2 s, then every 2 s; 64 retries are
# about two minutes, the requeue sweep's default delay. Then the task ends and leaves its message pending for
# the sweep. Uncapped, a turn stuck behind one that never got answered retried forever, and every sweep added
# another such task. The delays are explicit because Celery's retry_backoff counts whole seconds (at least 1),
# which made a visitor's second quick message wait a second behind the first.
ANSWER_MAX_RETRIES = 64
ANSWER_RETRY_FIRST_S = 0.05
ANSWER_RETRY_MAX_S = 2.0
# The database went away (a restart, a failover): the answer's transaction rolled back, so try again soon rather
# than leave the message to the requeue sweep, minutes later (an error after the commit only publishes it again).
ANSWER_DATABASE_RETRY_S = 1.0


def answer_retry_delay(retries: int) -> float:
    """Seconds before the next try, after `retries` retries."""
    return min(ANSWER_RETRY_FIRST_S * 2**retries, ANSWER_RETRY_MAX_S)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=ANSWER_MAX_RETRIES)
def message_answer(self, message_id: int, timings: dict[str, float] | None = None) -> None:
    """Answer one user message. Safe to run twice: the reply is unique per message."""
    try:
        reply, created = services.message_answer(message_id=message_id, timings=timings)
    except services.EarlierTurnPending as exc:
        raise self.retry(exc=exc, countdown=answer_retry_delay(self.request.retries)) from exc
    except (OperationalError, InterfaceError) as exc:
        raise self.retry(exc=exc, countdown=ANSWER_DATABASE_RETRY_S) from exc
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
