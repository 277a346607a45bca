from datetime import timedelta

from celery import shared_task
from django.conf import settings

from . import services


@shared_task
def messages_requeue_stale() -> int:
    """Beat: queue again (on the answer stream) user messages pending longer than CHARLA_PENDING_REQUEUE_SECONDS."""
    return services.messages_requeue_stale(older_than=timedelta(seconds=settings.CHARLA_PENDING_REQUEUE_SECONDS))


@shared_task
def conversations_close_idle() -> int:
    """Beat: end conversations idle longer than CHARLA_SESSION_IDLE_MINUTES."""
    return services.conversations_close_idle()


@shared_task
def conversations_purge_expired() -> int:
    """Beat: delete transcripts older than CHARLA_RETENTION_DAYS."""
    return services.conversations_purge_expired().conversations
