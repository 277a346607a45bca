from celery import shared_task

from . import services


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(services.EarlierTurnPending,),
    retry_backoff=0.05,
    retry_backoff_max=2,
    retry_jitter=False,
    max_retries=None,
)
def message_answer(self, message_id: int) -> None:
    """Answer one user message. Safe to run twice: the reply is unique per message."""
    reply, created = services.message_answer(message_id=message_id)
    if not created:
        services.reply_publish(reply=reply)  # a redelivered task may follow a publish that never happened
