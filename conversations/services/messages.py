"""A visitor's message: stored once, its answer queued, in seq order; the sweep that queues lost ones again."""

import time
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .. import metrics
from ..inference import Turn
from ..models import Conversation, Message
from ..selectors import message_payload
from .answers import answer_enqueue
from .errors import ConversationClosed
from .publish import console_message_publish
from .rows import rows_insert, rows_update
from .rules import message_validate, next_seq
from .sessions import conversation_close, conversation_is_idle


def message_receive(*, conversation_id: uuid.UUID, text: Any, client_id: Any) -> tuple[Message, bool]:
    """Store a visitor's message once per client_id and queue its answer; (message, created).

    Raises ConversationClosed when the conversation ended (or is idle past CHARLA_SESSION_IDLE_MINUTES, and is
    closed now): the caller opens a new session. While a person has taken the conversation over, the message
    is stored as left to them and no answer is queued.
    """
    received = time.time()
    text, client_id = message_validate(text=text, client_id=client_id)
    with transaction.atomic():
        conversation = _conversation_locked_for(conversation_id=conversation_id, client_id=client_id)
        if conversation.existing is not None:
            return Message.objects.get(pk=conversation.existing), False
        closed = conversation.status == Conversation.Status.CLOSED
        if not closed and not conversation_is_idle(conversation=conversation, now=timezone.now()):
            return _message_store(conversation=conversation, text=text, client_id=client_id, received=received), True
    if not closed:
        conversation_close(conversation_id=conversation_id)
    raise ConversationClosed(f"conversation {conversation_id} has ended")


def _conversation_locked_for(*, conversation_id: uuid.UUID, client_id: str) -> Conversation:
    """The conversation, row-locked, with `existing`: the pk of its message with this client_id, or None.
    Plain SQL through `raw()`, like the answer path's reads: the ORM's query building is a visible share of
    storing a message."""
    quote = connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    key = Conversation._meta.pk.get_db_prep_value(conversation_id, connection)
    sql = (
        f"SELECT c.*, (SELECT m.id FROM {quote(Message._meta.db_table)} m WHERE m.conversation_id = c.id"
        f" AND m.client_id = %s LIMIT 1) AS existing FROM {quote(Conversation._meta.db_table)} c WHERE c.id = %s{lock}"
    )
    for conversation in Conversation.objects.raw(sql, [client_id, key]):
        return conversation
    raise Conversation.DoesNotExist(f"conversation {conversation_id} does not exist")


def _message_store(*, conversation: Conversation, text: str, client_id: str, received: float) -> Message:
    """Runs inside the conversation's row lock."""
    handed_off = conversation.handoff == Conversation.Handoff.ACTIVE and not _pending_exists(conversation)
    message = Message(
        conversation=conversation,
        bot_id=conversation.bot_id,
        seq=next_seq(conversation),
        role=Message.Role.USER,
        text=text,
        client_id=client_id,
        status=Message.Status.HANDED_OFF if handed_off else Message.Status.PENDING,
    )
    rows_insert([message])
    conversation.updated_at = timezone.now()  # what auto_now does on save()
    rows_update([conversation], ["last_seq", "updated_at"])
    if not handed_off:
        turn = Turn(message_id=message.pk, conversation_id=str(conversation.pk), bot_id=conversation.bot_id, text=text)
        answer_enqueue(turn=turn, timings={"received": received, "stored": time.time()})
    if conversation.handoff != Conversation.Handoff.NONE:
        payload = message_payload(message)
        transaction.on_commit(partial(console_message_publish, conversation_id=conversation.id, payload=payload))
    transaction.on_commit(partial(metrics.message_received, bot_id=conversation.bot_id, language=conversation.language))
    return message


def _pending_exists(conversation: Conversation) -> bool:
    return Message.objects.filter(
        conversation=conversation, role=Message.Role.USER, status=Message.Status.PENDING
    ).exists()


def messages_requeue_stale(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Queue again (a stream entry, or in-process without Redis) every user message pending longer than
    `older_than`: a lost entry loses no answer. A message whose entry is only slow is queued twice; its answer is
    still stored once (reply_to is unique)."""
    cutoff = (now or timezone.now()) - older_than
    stale = list(
        Message.objects.filter(role=Message.Role.USER, status=Message.Status.PENDING, created_at__lt=cutoff)
        .order_by("conversation_id", "seq")
        .values_list("pk", "conversation_id", "conversation__bot_id", "text")
    )
    for message_id, conversation_id, bot_id, text in stale:
        turn = Turn(message_id=message_id, conversation_id=str(conversation_id), bot_id=bot_id, text=text)
        answer_enqueue(turn=turn, timings={"requeued": time.time()})
    return len(stale)
