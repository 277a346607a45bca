"""Answer many queued user messages with one forward pass of the model per bot."""

import logging
import time
from collections import defaultdict

from intents.classifier import Prediction
from intents.models import ModelVersion
from intents.services import NoModelError, intent_predict_batch

from .inference import Entry
from .models import Message
from .services import Classified, replies_store, reply_publish

logger = logging.getLogger(__name__)


def messages_answer_batch(*, entries: list[Entry]) -> list[Entry]:
    """Classify the entries' messages together, then store every answer in one transaction (replies_store).

    Returns the entries to queue again: those whose earlier turn is still pending (it is in another
    worker's batch, or was queued again itself). Only pending messages are classified; one answered already
    (a redelivered entry) is published again, as the single-message task does, since its first publish may
    never have happened; one left to a person is skipped.
    """
    started = time.time()
    by_message = {entry.message_id: entry for entry in entries}
    rows = (
        Message.objects.filter(pk__in=by_message, role=Message.Role.USER)
        .order_by("conversation_id", "seq")
        .values_list("pk", "status", "text", "conversation__bot_id", named=True)
    )  # only what classifying needs: whole rows with their conversation cost milliseconds of Python a batch
    unanswered = [row for row in rows if row.status == Message.Status.PENDING]
    redelivered = [row.pk for row in rows if row.status != Message.Status.PENDING]
    for reply in Message.objects.filter(reply_to_id__in=redelivered).select_related("reply_to") if redelivered else []:
        reply_publish(reply=reply)
    predictions = _predict(unanswered)
    stamps = {"worker_start": started, "predicted": time.time(), "batch": len(entries)}
    classified = [
        Classified(message_id=pk, prediction=prediction, version=version, timings={**by_message[pk].timings, **stamps})
        for pk, (prediction, version) in predictions.items()
    ]
    _, waiting = replies_store(classified=classified)
    return [by_message[pk] for pk in waiting]


def _predict(rows: list) -> dict[int, tuple[Prediction, ModelVersion]]:
    """One forward pass per bot. A bot without a production model loses its messages' answers, as a failing
    single-message task does; they stay pending in PostgreSQL for whoever re-queues unanswered messages."""
    by_bot: dict[int, list] = defaultdict(list)
    for row in rows:
        by_bot[row.conversation__bot_id].append(row)
    predictions = {}
    for bot_id, group in by_bot.items():
        try:
            results, version = intent_predict_batch(bot_id=bot_id, texts=[row.text for row in group])
        except NoModelError:
            logger.exception("no production model for bot %s; %d messages left unanswered", bot_id, len(group))
            continue
        for row, prediction in zip(group, results):
            predictions[row.pk] = (prediction, version)
    return predictions
