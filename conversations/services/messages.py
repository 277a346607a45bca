"""A visitor's message: stored once, its answer queued, in seq order; the sweep that queues lost ones again."""

import time
import uuid
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .. import metrics
from ..inference import Turn
from ..models import Conversation, Message
from ..selectors import message_payload
from .answers import answer_enqueue
from .errors import ConversationClosed, QueueBusy
from .publish import console_message_publish
from .rows import rows_insert, rows_update
from .rules import message_validate, next_seq
from .sessions import conversation_close, conversation_is_idle


def message_receive(
    *, conversation_id: uuid.UUID, text: Any, client_id: Any, shed: bool = False
) -> tuple[Message, bool]:
    """Store a visitor's message once per client_id and queue its answer; (message, created).

    Raises ConversationClosed when the conversation ended (or is idle past CHARLA_SESSION_IDLE_MINUTES, and is
    closed now): the caller opens a new session. While a person has taken the conversation over, the message
    is stored as left to them and no answer is queued. With `shed` (the answer queue is past capacity) only
    such a message, or one stored before under this client_id, is taken: one that needs an answer raises
    QueueBusy with nothing written. That is decided here, under the row lock, because the caller cannot know
    whether a person took the conversation over meanwhile.
    """
    received = time.time()
    text, client_id = message_validate(text=text, client_id=client_id)
    with transaction.atomic():
        if connection.vendor == "postgresql" and not shed:  # the statement stores only messages that need an answer
            message = _message_store_if_open(conversation_id=conversation_id, text=text, client_id=client_id,
                                             received=received)  # fmt: skip
            if message is not None:
                return message, True
        conversation = _conversation_locked_for(conversation_id=conversation_id, client_id=client_id)
        if conversation.existing is not None:
            return Message.objects.get(pk=conversation.existing), False
        closed = conversation.status == Conversation.Status.CLOSED
        if not closed and not conversation_is_idle(conversation=conversation, now=timezone.now()):
            if shed and not _is_handed_off(conversation):
                raise QueueBusy(f"conversation {conversation_id}: the answer queue is past capacity")
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


def _message_store_if_open(*, conversation_id: uuid.UUID, text: str, client_id: str, received: float) -> Message | None:
    """The common case in one statement: a new client_id in an active conversation that no person has taken
    and that is not idle. The statement locks the conversation row, hands out the seq and inserts the message;
    None, with nothing written, for every other case, which _message_store's general path handles (the row lock
    is held by then). One round trip instead of three, and no model built from the conversation row: storing
    a visitor's message was the web process's largest cost (docs/performance.md)."""
    now = timezone.now()
    message = Message(conversation_id=conversation_id, bot_id=None, seq=0, role=Message.Role.USER, text=text,
                      client_id=client_id, status=Message.Status.PENDING)  # fmt: skip
    sql, columns = _store_if_open_sql()
    params = [column.get_db_prep_save(column.pre_save(message, True), connection) for column in columns]
    key = Conversation._meta.pk.get_db_prep_value(conversation_id, connection)
    idle_since = now - timedelta(minutes=settings.CHARLA_SESSION_IDLE_MINUTES)
    with connection.cursor() as cursor:
        cursor.execute(sql, [client_id, key, now, idle_since, *params])
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    message.pk, message.seq, message.bot_id, language = row
    message._state.adding, message._state.db = False, connection.alias
    turn = Turn(message_id=message.pk, conversation_id=str(conversation_id), bot_id=message.bot_id, text=text)
    answer_enqueue(turn=turn, timings={"received": received, "stored": time.time()})
    transaction.on_commit(partial(metrics.message_received, bot_id=message.bot_id, language=language))
    return message


@cache
def _store_if_open_sql() -> tuple[str, list[Any]]:
    """_message_store_if_open's statement, and the message columns whose values it takes as parameters (in
    order, after the client_id, the conversation's key, the time now and the idle cutoff)."""
    quote = connection.ops.quote_name
    meta = Message._meta
    conversations, messages = quote(Conversation._meta.db_table), quote(meta.db_table)
    computed = {"seq": "u.last_seq", "bot_id": "u.bot_id"}
    columns = [field for field in meta.concrete_fields if field is not meta.auto_field]
    given = [column for column in columns if column.column not in computed]
    values = ", ".join(computed.get(column.column, "%s") for column in columns)
    sql = (
        f"WITH c AS (SELECT c.id, c.status, c.handoff, c.last_seq, c.updated_at, (SELECT m.id FROM {messages} m"
        f" WHERE m.conversation_id = c.id AND m.client_id = %s LIMIT 1) AS existing FROM {conversations} c"
        f" WHERE c.id = %s FOR UPDATE),"
        f" u AS (UPDATE {conversations} t SET last_seq = c.last_seq + 1, updated_at = %s FROM c WHERE t.id = c.id"
        f" AND c.existing IS NULL AND c.status = '{Conversation.Status.ACTIVE}'"
        f" AND c.handoff = '{Conversation.Handoff.NONE}' AND c.updated_at >= %s"
        f" RETURNING t.last_seq, t.bot_id, t.language),"
        f" m AS (INSERT INTO {messages} ({', '.join(quote(column.column) for column in columns)})"
        f" SELECT {values} FROM u RETURNING id, seq)"
        f" SELECT m.id, m.seq, u.bot_id, u.language FROM c LEFT JOIN u ON true LEFT JOIN m ON true"
    )
    return sql, given


def _message_store(*, conversation: Conversation, text: str, client_id: str, received: float) -> Message:
    """Runs inside the conversation's row lock."""
    handed_off = _is_handed_off(conversation)
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


def _is_handed_off(conversation: Conversation) -> bool:
    """A new message goes to the person who took the conversation over, not to the bot: it needs no answer. Not
    while the bot still owes an earlier turn, which it answers first, in order."""
    return conversation.handoff == Conversation.Handoff.ACTIVE and not _pending_exists(conversation)


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
