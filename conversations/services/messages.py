"""A visitor's message: stored once, classified without a lock, answered once, in seq order."""

import logging
import os
import random
import time
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from intents.classifier import Prediction
from intents.models import ModelVersion
from intents.services import intent_predict

from ..dialogue import dialogue_step, payload_prediction, turn_language
from ..models import Conversation, Message
from ..selectors import message_payload
from .errors import ConversationClosed, EarlierTurnPending, MessageRejected
from .handoff import handoff_request
from .publish import console_message_publish, reply_publish
from .sessions import conversation_close, conversation_is_idle

logger = logging.getLogger(__name__)


def message_validate(*, text: Any, client_id: Any, max_client_id: int = 100) -> tuple[str, str]:
    if not isinstance(client_id, str) or not 0 < len(client_id) <= max_client_id:
        raise MessageRejected(
            "invalid_client_id", f"client_id must be a non-empty string of at most {max_client_id} characters."
        )
    if not isinstance(text, str) or not text.strip():
        raise MessageRejected("empty_text", "text must be a non-empty string.")
    limit = settings.CHARLA_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise MessageRejected("text_too_long", f"text is {len(text)} characters; the limit is {limit}.")
    if "\x00" in text:
        raise MessageRejected("invalid_text", "text must not contain NUL characters.")
    return text.strip(), client_id


def next_seq(conversation: Conversation) -> int:
    """Hand out the next gapless seq. Runs inside the conversation's row lock."""
    conversation.last_seq += 1
    return conversation.last_seq


def message_receive(*, conversation_id: uuid.UUID, text: Any, client_id: Any) -> tuple[Message, bool]:
    """Store a visitor's message once per client_id and queue its answer; (message, created).

    Raises ConversationClosed when the conversation ended (or is idle past CHARLA_SESSION_IDLE_MINUTES, and is
    closed now): the caller opens a new session. While a person has taken the conversation over, the message
    is stored as left to them and no answer is queued.
    """
    received = time.time()
    text, client_id = message_validate(text=text, client_id=client_id)
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        existing = Message.objects.filter(conversation=conversation, client_id=client_id).first()
        if existing is not None:
            return existing, False
        closed = conversation.status == Conversation.Status.CLOSED
        if not closed and not conversation_is_idle(conversation=conversation, now=timezone.now()):
            return _message_store(conversation=conversation, text=text, client_id=client_id, received=received), True
    if not closed:
        conversation_close(conversation_id=conversation_id)
    raise ConversationClosed(f"conversation {conversation_id} has ended")


def _message_store(*, conversation: Conversation, text: str, client_id: str, received: float) -> Message:
    """Runs inside the conversation's row lock."""
    from ..inference import answer_enqueue

    handed_off = conversation.handoff == Conversation.Handoff.ACTIVE and not _pending_exists(conversation)
    message = Message.objects.create(
        conversation=conversation,
        seq=next_seq(conversation),
        role=Message.Role.USER,
        text=text,
        client_id=client_id,
        status=Message.Status.HANDED_OFF if handed_off else Message.Status.PENDING,
    )
    conversation.save(update_fields=["last_seq", "updated_at"])
    if not handed_off:
        stamps = {"received": received, "stored": time.time()}
        transaction.on_commit(partial(answer_enqueue, message_id=message.pk, timings=stamps))
    if conversation.handoff != Conversation.Handoff.NONE:
        payload = message_payload(message)
        transaction.on_commit(partial(console_message_publish, conversation_id=conversation.id, payload=payload))
    return message


def _pending_exists(conversation: Conversation, before_seq: int | None = None) -> bool:
    pending = Message.objects.filter(conversation=conversation, role=Message.Role.USER, status=Message.Status.PENDING)
    return (pending.filter(seq__lt=before_seq) if before_seq is not None else pending).exists()


def message_answer(*, message_id: int, timings: dict[str, float] | None = None) -> tuple[Message | None, bool]:
    """Classify a user message and store its one answer, in seq order; (reply, created).

    The reply is None for a message left to a person, or one deleted meanwhile (a visitor's data deletion).
    """
    started = time.time()
    message = Message.objects.select_related("conversation", "reply").filter(pk=message_id).first()
    if message is None or message.status != Message.Status.PENDING:
        return getattr(message, "reply", None), False
    _fault_inference_delay()
    prediction, version = intent_predict(bot_id=message.conversation.bot_id, text=message.text)
    timings = {**(timings or {}), "worker_start": started, "predicted": time.time()}
    return message_reply_store(message_id=message_id, prediction=prediction, version=version, timings=timings)


def _fault_inference_delay() -> None:
    """CHARLA_FAULT_INFERENCE_DELAY_MS="min,max": a random pause before inference, for fault tests only."""
    bounds = settings.CHARLA_FAULT_INFERENCE_DELAY_MS
    if not bounds:
        return
    low, high = (int(part) for part in bounds.split(","))
    delay = random.uniform(low, high)
    logger.warning("fault injection: inference delayed %.0f ms in pid %d", delay, os.getpid())
    time.sleep(delay / 1000)


def message_reply_store(
    *, message_id: int, prediction: Prediction, version: ModelVersion, timings: dict[str, float] | None = None
) -> tuple[Message | None, bool]:
    """Apply the dialogue step for an already classified user message; (reply, created).

    Runs inside the conversation's row lock, so the model must have run before (no lock during inference).
    Raises EarlierTurnPending while an earlier user message of the conversation is pending. Exactly once: a
    message that is not pending any more returns its stored reply (None when it was left to a person).
    """
    with transaction.atomic():
        message = Message.objects.filter(pk=message_id).first()
        if message is None:
            return None, False
        conversation = Conversation.objects.select_for_update().select_related("bot").get(pk=message.conversation_id)
        message.refresh_from_db()
        if message.status != Message.Status.PENDING:
            return Message.objects.filter(reply_to_id=message.pk).first(), False
        if _pending_exists(conversation, before_seq=message.seq):
            raise EarlierTurnPending(f"message {message.pk} waits for earlier turns of {conversation.pk}")
        reply = _reply_store(
            conversation=conversation, message=message, prediction=prediction, version=version, timings=timings
        )
        return reply, True


def _reply_store(
    *, conversation: Conversation, message: Message, prediction: Prediction, version: ModelVersion,
    timings: dict[str, float] | None,
) -> Message | None:
    """Runs inside the conversation's row lock. `timings` are the stage stamps bench/ reads back."""
    bot = conversation.bot
    prediction = payload_prediction(bot=bot, text=message.text, prediction=prediction)
    handed_off = conversation.handoff == Conversation.Handoff.ACTIVE
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.HANDED_OFF if handed_off else Message.Status.ANSWERED,
        answered_at=None if handed_off else now,
        intent=prediction.intent,
        confidence=prediction.confidence,
        language=prediction.language or "",
        ranking=[[name, round(score, 4)] for name, score in prediction.ranking],
        model_version=version,
        timings={**(timings or {}), "answer_stored": time.time()},
    )
    if handed_off:  # the bot stays silent while a person has the conversation
        return None
    language = turn_language(bot=bot, prediction=prediction, current=conversation.language)
    if conversation.state.get("form"):  # "4" or an e-mail address says nothing about the visitor's language
        language = conversation.language
    turn = dialogue_step(bot=bot, state=conversation.state, language=language, prediction=prediction, text=message.text)
    reply = Message.objects.create(
        conversation=conversation, seq=next_seq(conversation), role=Message.Role.BOT, text=turn.text,
        language=turn.language, intent=turn.intent, confidence=prediction.confidence, buttons=turn.buttons,
        reply_to=message, status=Message.Status.SENT, answered_at=now, model_version=version,
    )
    conversation.state = turn.state
    conversation.language = turn.language
    conversation.save(update_fields=["last_seq", "state", "language", "updated_at"])
    console = conversation.handoff != Conversation.Handoff.NONE
    transaction.on_commit(partial(reply_publish, reply=reply, console=console))
    if turn.handoff:  # after the reply's publish, so the visitor reads the answer before the `handoff` frame
        handoff_request(conversation=conversation)
    return reply


def messages_requeue_stale(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Queue again every user message pending longer than `older_than`: a lost task loses no answer.

    A message whose task is only slow is queued twice; its answer is still stored once (reply_to is unique).
    """
    from ..inference import answer_enqueue

    cutoff = (now or timezone.now()) - older_than
    stale = list(
        Message.objects.filter(role=Message.Role.USER, status=Message.Status.PENDING, created_at__lt=cutoff)
        .order_by("conversation_id", "seq")
        .values_list("pk", flat=True)
    )
    for message_id in stale:
        answer_enqueue(message_id=message_id, timings={"requeued": time.time()})
    return len(stale)
