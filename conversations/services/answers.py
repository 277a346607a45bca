"""The one answer path: classify queued user messages together, then store every answer with replies_store.

Only the transport differs. With REDIS_URL set a message's answer is queued on the Redis stream
(conversations.inference) and `manage.py answer_worker` calls messages_answer_batch on what it reads; without Redis
(the embedded defaults) the message is answered in-process by the same function once its transaction has committed.
"""

import logging
import os
import random
import time
from collections import defaultdict

import redis
from django.conf import settings
from django.db import connection, transaction

from intents.classifier import Prediction
from intents.models import ModelVersion
from intents.services import UNCLASSIFIED, ClassifierError, NoModelError, intent_predict_batch, model_load_seconds

from ..inference import Entry, Turn, entry_add, stream_enabled
from .publish import reply_publish
from .replies import Classified, replies_store

logger = logging.getLogger(__name__)

# In-process, a turn behind an earlier one still being answered (by another thread) is tried again after 50 ms,
# doubling to 2 s, for about half a minute; then it is left pending for the requeue sweep.
IN_PROCESS_RETRIES = 20
IN_PROCESS_RETRY_FIRST_S = 0.05
IN_PROCESS_RETRY_MAX_S = 2.0


def answer_enqueue(*, turn: Turn, timings: dict[str, float]) -> None:
    """Queue the answer of a user message whose row was just written.

    On the stream, at once on PostgreSQL (see conversations.inference); SQLite has no row lock to wait at, so
    there the entry is added once the message's transaction has committed. With Redis unreachable the message is
    still stored and acknowledged: the requeue sweep queues it once Redis is back. Without Redis, the message is
    answered in this process after the commit; an error there is logged, not raised (the message is stored).
    """
    if stream_enabled() and connection.features.has_select_for_update:
        _entry_add(turn, timings)
    elif stream_enabled():
        transaction.on_commit(lambda: _entry_add(turn, timings))
    else:
        transaction.on_commit(lambda: _answer_in_process(turn, timings), robust=True)


def _entry_add(turn: Turn, timings: dict[str, float]) -> None:
    try:
        entry_add(turn=turn, timings=timings)
    except redis.RedisError:
        logger.exception("message %s stored, but its answer could not be queued; the requeue sweep will",
                         turn.message_id)  # fmt: skip


def _answer_in_process(turn: Turn, timings: dict[str, float]) -> None:
    entries = [Entry(id="", turn=turn, timings={**timings, "enqueued": time.time()})]
    for retries in range(IN_PROCESS_RETRIES + 1):
        entries = messages_answer_batch(entries=entries)
        if not entries:
            return
        time.sleep(min(IN_PROCESS_RETRY_FIRST_S * 2**retries, IN_PROCESS_RETRY_MAX_S))
    logger.warning("message %s waits for an earlier turn; left to the requeue sweep", turn.message_id)


def messages_answer_batch(*, entries: list[Entry]) -> list[Entry]:
    """Classify the entries' messages together, then store every answer in one transaction (replies_store).

    Returns the entries to queue again: those whose earlier turn is still pending (it is in another
    worker's batch, or was queued again itself). The entries carry the messages' texts, so classifying reads
    nothing from the database. A message answered already (a redelivered entry) is published again, since its
    first publish may never have happened; one left to a person is skipped. When this call had to load a model
    (a worker that has not preloaded it), the seconds it took are stamped on the answers as `model_load_s`.
    """
    started, loaded_before = time.time(), model_load_seconds()
    by_message = {entry.message_id: entry for entry in entries}
    _fault_inference_delay()
    predictions, raised = _predict([entry.turn for entry in by_message.values()])
    stamps = {"worker_start": started, "predicted": time.time(), "batch": len(entries)}
    if (loading := model_load_seconds() - loaded_before) > 0:
        stamps["model_load_s"] = loading
    classified = [
        Classified(message_id=pk, conversation_id=by_message[pk].turn.conversation_id, prediction=prediction,
                   version=version, timings={**by_message[pk].timings, **stamps})  # fmt: skip
        for pk, (prediction, version) in predictions.items()
    ]
    answered, waiting = replies_store(classified=classified)
    for pk, outcome in answered.items():
        if outcome.reply is not None and not outcome.created:
            reply_publish(reply=outcome.reply)
        if pk in raised and outcome.created:  # logged once: a turn queued again (waiting) is classified again
            logger.error("message %s: the classifier raised; answered with the fallback", pk, exc_info=raised[pk])
    return [by_message[pk] for pk in waiting]


def _predict(turns: list[Turn]) -> tuple[dict[int, tuple[Prediction, ModelVersion]], dict[int, ClassifierError]]:
    """One forward pass per bot: (predictions, the errors of the texts the model raised on). A bot without a
    production model loses its messages' answers: they stay pending in PostgreSQL, and the requeue sweep queues
    them again."""
    by_bot: dict[int, list[Turn]] = defaultdict(list)
    for turn in turns:
        by_bot[turn.bot_id].append(turn)
    predictions, raised = {}, {}
    for bot_id, group in by_bot.items():
        try:
            results, version = intent_predict_batch(bot_id=bot_id, texts=[turn.text for turn in group])
        except NoModelError:
            logger.exception("no production model for bot %s; %d messages left unanswered", bot_id, len(group))
            continue
        except ClassifierError:
            predictions.update(_predict_one_by_one(bot_id, group, raised))
            continue
        for turn, prediction in zip(group, results):
            predictions[turn.message_id] = (prediction, version)
    return predictions, raised


def _predict_one_by_one(
    bot_id: int, turns: list[Turn], raised: dict[int, ClassifierError]
) -> dict[int, tuple[Prediction, ModelVersion]]:
    """The model raised on a batch: classify its texts singly, so only the text it raises on (its error put in
    `raised`, logged once its answer is stored) is answered with the fallback, once, and the rest normally."""
    predictions = {}
    for turn in turns:
        try:
            [prediction], version = intent_predict_batch(bot_id=bot_id, texts=[turn.text])
        except ClassifierError as error:
            raised[turn.message_id] = error
            prediction, version = UNCLASSIFIED, error.version
        predictions[turn.message_id] = (prediction, version)
    return predictions


def _fault_inference_delay() -> None:
    """CHARLA_FAULT_INFERENCE_DELAY_MS="min,max": a random pause before inference, for fault tests only."""
    bounds = settings.CHARLA_FAULT_INFERENCE_DELAY_MS
    if not bounds:
        return
    low, high = (int(part) for part in bounds.split(","))
    delay = random.uniform(low, high)
    logger.warning("fault injection: inference delayed %.0f ms in pid %d", delay, os.getpid())
    time.sleep(delay / 1000)
