"""Answer many queued user messages with one forward pass of the model per bot."""

import logging
import time
from collections import defaultdict

from intents.classifier import Prediction
from intents.models import ModelVersion
from intents.services import UNCLASSIFIED, ClassifierError, NoModelError, intent_predict_batch

from .inference import Entry, Turn
from .services import Classified, replies_store, reply_publish

logger = logging.getLogger(__name__)


def messages_answer_batch(*, entries: list[Entry]) -> list[Entry]:
    """Classify the entries' messages together, then store every answer in one transaction (replies_store).

    Returns the entries to queue again: those whose earlier turn is still pending (it is in another
    worker's batch, or was queued again itself). The entries carry the messages' texts, so classifying reads
    nothing from the database. A message answered already (a redelivered entry) is published again, as the
    single-message task does, since its first publish may never have happened; one left to a person is skipped.
    """
    started = time.time()
    by_message = {entry.message_id: entry for entry in entries}
    predictions = _predict([entry.turn for entry in by_message.values()])
    stamps = {"worker_start": started, "predicted": time.time(), "batch": len(entries)}
    classified = [
        Classified(message_id=pk, conversation_id=by_message[pk].turn.conversation_id, prediction=prediction,
                   version=version, timings={**by_message[pk].timings, **stamps})  # fmt: skip
        for pk, (prediction, version) in predictions.items()
    ]
    answered, waiting = replies_store(classified=classified)
    for outcome in answered.values():
        if outcome.reply is not None and not outcome.created:
            reply_publish(reply=outcome.reply)
    return [by_message[pk] for pk in waiting]


def _predict(turns: list[Turn]) -> dict[int, tuple[Prediction, ModelVersion]]:
    """One forward pass per bot. A bot without a production model loses its messages' answers, as a failing
    single-message task does; they stay pending in PostgreSQL for whoever re-queues unanswered messages."""
    by_bot: dict[int, list[Turn]] = defaultdict(list)
    for turn in turns:
        by_bot[turn.bot_id].append(turn)
    predictions = {}
    for bot_id, group in by_bot.items():
        try:
            results, version = intent_predict_batch(bot_id=bot_id, texts=[turn.text for turn in group])
        except NoModelError:
            logger.exception("no production model for bot %s; %d messages left unanswered", bot_id, len(group))
            continue
        except ClassifierError:
            predictions.update(_predict_one_by_one(bot_id, group))
            continue
        for turn, prediction in zip(group, results):
            predictions[turn.message_id] = (prediction, version)
    return predictions


def _predict_one_by_one(bot_id: int, turns: list[Turn]) -> dict[int, tuple[Prediction, ModelVersion]]:
    """The model raised on a batch: classify its texts singly, so only the text it raises on (logged) is
    answered with the fallback, as the single-message task does, and the rest of the batch normally."""
    predictions = {}
    for turn in turns:
        try:
            [prediction], version = intent_predict_batch(bot_id=bot_id, texts=[turn.text])
        except ClassifierError as error:
            logger.exception("message %s: the classifier raised; answered with the fallback", turn.message_id)
            prediction, version = UNCLASSIFIED, error.version
        predictions[turn.message_id] = (prediction, version)
    return predictions
