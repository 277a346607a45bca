"""A visitor's message: stored once, classified without a lock, answered once, in seq order."""

import logging
import os
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from intents.classifier import Prediction
from intents.models import Bot, ModelVersion
from intents.services import UNCLASSIFIED, ClassifierError, intent_predict

from .. import metrics
from ..dialogue import FALLBACK_INTENT, ActionOutcome, ActionRequest, dialogue_step, payload_prediction, turn_language
from ..dialogue import Turn as DialogueTurn
from ..inference import Turn, answer_enqueue
from ..models import Conversation, Message
from ..selectors import message_payload
from .actions import ActionCall, action_call_for, actions_run
from .errors import ConversationClosed, EarlierTurnPending
from .handoff import handoff_request
from .publish import console_message_publish, replies_publish
from .rules import message_validate, next_seq
from .sessions import conversation_close, conversation_is_idle

logger = logging.getLogger(__name__)


def message_receive(*, conversation_id: uuid.UUID, text: Any, client_id: Any) -> tuple[Message, bool]:
    """Store a visitor's message once per client_id and queue its answer; (message, created).

    Raises ConversationClosed when the conversation ended (or is idle past CHARLA_SESSION_IDLE_MINUTES, and is
    closed now): the caller opens a new session. While a person has taken the conversation over, the message
    is stored as left to them and no answer is queued.
    """
    received = time.time()
    text, client_id = message_validate(text=text, client_id=client_id)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            message = _message_store_if_open(conversation_id=conversation_id, text=text, client_id=client_id,
                                             received=received)  # fmt: skip
            if message is not None:
                return message, True
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
    _rows_insert([message])
    conversation.updated_at = timezone.now()  # what auto_now does on save()
    _rows_update([conversation], ["last_seq", "updated_at"])
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


@dataclass(frozen=True)
class Classified:
    """A user message and what a model version made of it, ready to be answered."""

    message_id: int
    conversation_id: Any  # its conversation's row lock is where the worker waits for the message's commit
    prediction: Prediction
    version: ModelVersion
    timings: dict[str, float] = field(default_factory=dict)
    action: ActionOutcome | None = None  # the outcome of the action this turn reached, once called


@dataclass(frozen=True)
class Answered:
    """What became of a classified message: its reply (None when left to a person, or deleted) and whether it
    was stored now (False: it had been answered before, a redelivery)."""

    reply: Message | None
    created: bool


def message_answer(*, message_id: int, timings: dict[str, float] | None = None) -> tuple[Message | None, bool]:
    """Classify a user message and store its one answer, in seq order; (reply, created).

    The reply is None for a message left to a person, or one deleted meanwhile (a visitor's data deletion).
    A message the model raises on is answered as not understood (the bot's fallback), and the error logged.
    Raises EarlierTurnPending before running the model when an earlier turn is still unanswered: under load
    a retried task would otherwise classify its message once per retry.
    """
    started = time.time()
    earlier = Message.objects.filter(conversation=OuterRef("conversation"), role=Message.Role.USER,
                                     status=Message.Status.PENDING, seq__lt=OuterRef("seq"))  # fmt: skip
    message = (
        Message.objects.select_related("conversation", "reply")
        .annotate(earlier_pending=Exists(earlier)).filter(pk=message_id).first()
    )
    if message is None or message.status != Message.Status.PENDING:
        return getattr(message, "reply", None), False
    if message.earlier_pending:
        raise EarlierTurnPending(f"message {message_id} waits for earlier turns of its conversation")
    _fault_inference_delay()
    try:
        prediction, version = intent_predict(bot_id=message.conversation.bot_id, text=message.text)
    except ClassifierError as error:  # retrying would raise again: the visitor gets the fallback, once
        logger.exception("message %s: the classifier raised; answered with the fallback", message_id)
        prediction, version = UNCLASSIFIED, error.version
    timings = {**(timings or {}), "worker_start": started, "predicted": time.time()}
    answered, waiting = replies_store(classified=[Classified(
        message_id=message_id, conversation_id=message.conversation_id, prediction=prediction, version=version,
        timings=timings,
    )])  # fmt: skip
    if waiting:  # an earlier turn was queued again meanwhile
        raise EarlierTurnPending(f"message {message_id} waits for earlier turns of its conversation")
    return answered[message_id].reply, answered[message_id].created


def _fault_inference_delay() -> None:
    """CHARLA_FAULT_INFERENCE_DELAY_MS="min,max": a random pause before inference, for fault tests only."""
    bounds = settings.CHARLA_FAULT_INFERENCE_DELAY_MS
    if not bounds:
        return
    low, high = (int(part) for part in bounds.split(","))
    delay = random.uniform(low, high)
    logger.warning("fault injection: inference delayed %.0f ms in pid %d", delay, os.getpid())
    time.sleep(delay / 1000)


def replies_store(*, classified: list[Classified]) -> tuple[dict[int, Answered], list[int]]:
    """Apply the dialogue step to classified user messages, all in one transaction; (answered, waiting ids).

    The model must have run before: this holds the conversations' row locks, taken in primary-key order so
    that two workers' batches cannot deadlock. Each conversation's messages are answered in seq order, its
    state carried from turn to turn; a batch costs a fixed number of statements, not a few per message.
    A message whose earlier turn is unanswered and not in the batch is left pending, and its id returned to
    be queued again. Exactly once: a message that is not pending any more gives its stored reply. A message
    whose transaction is still open (queued before its commit) is waited for at its conversation's row lock;
    one that never committed gets no answer (None).

    A turn that reaches an action is left out of the transaction, with its conversation's later turns: the rest
    commits, the backend is called with no lock held (services/actions.py), and those turns are stepped again in
    a next round, the action's outcome at hand.
    """
    answered: dict[int, Answered] = {}
    waiting: list[int] = []
    for _ in range(len(classified) + 1):  # each round settles at least one action, unless the state moved meanwhile
        done, waiting_now, calls, deferred = _replies_store_round(classified)
        answered.update(done)
        waiting += waiting_now
        if not calls:
            return answered, waiting
        called = time.time()
        outcomes = actions_run(calls=list(calls.values()))
        stamps = {"action_called": called, "action_answered": time.time()}
        by_id = {item.message_id: item for item in classified}
        classified = [
            replace(by_id[pk], action=outcome, timings={**by_id[pk].timings, **stamps})
            for pk, outcome in zip(calls, outcomes)
        ] + deferred
    return answered, waiting + [item.message_id for item in classified]


def _replies_store_round(
    classified: list[Classified],
) -> tuple[dict[int, Answered], list[int], dict[int, ActionCall], list[Classified]]:
    """One transaction of replies_store; also the actions its turns reached and the turns deferred behind them."""
    if not classified:
        return {}, [], {}, []
    by_id = {item.message_id: item for item in classified}
    answered: dict[int, Answered] = {pk: Answered(reply=None, created=False) for pk in by_id}
    waiting: list[int] = []
    calls: dict[int, ActionCall] = {}
    deferred: list[Classified] = []
    conversation_ids = sorted({str(item.conversation_id) for item in classified})
    with _publishing_in_turn(conversation_ids), transaction.atomic():
        _commit_without_waiting_for_disk()
        conversations = _conversations_locked(conversation_ids)
        rows = _turns_unanswered(list(conversations), list(by_id))
        unanswered: dict[Any, set[int]] = defaultdict(set)
        for row in rows:
            if row.status == Message.Status.PENDING:
                unanswered[row.conversation_id].add(row.seq)
        messages = [row for row in rows if row.pk in by_id]
        turns = _Turns()
        blocked: set[Any] = set()  # conversations with a turn waiting for its action
        for message in messages:
            conversation = conversations[message.conversation_id]
            if message.status != Message.Status.PENDING:
                turns.earlier.append(message.pk)
            elif conversation.pk in blocked:
                deferred.append(by_id[message.pk])
            elif min(unanswered[conversation.pk]) < message.seq:
                waiting.append(message.pk)
            else:
                unanswered[conversation.pk].discard(message.seq)
                request = turns.add(conversation=conversation, message=message, item=by_id[message.pk])
                if request is not None:
                    blocked.add(conversation.pk)
                    calls[message.pk] = action_call_for(
                        bot=conversation.bot, request=request, conversation_id=conversation.pk, message_id=message.pk
                    )
        turns.write()
        transaction.on_commit(partial(metrics.answers_observe, replies=turns.replies, batch=len(classified)))
        for reply in turns.replies:
            answered[reply.reply_to_id] = Answered(reply=reply, created=True)
        if turns.earlier:  # only after a redelivery; building the empty query alone cost 1 ms a batch
            for reply in Message.objects.filter(reply_to_id__in=turns.earlier).select_related("reply_to"):
                answered[reply.reply_to_id] = Answered(reply=reply, created=False)
    return answered, waiting, calls, deferred


def _conversations_locked(conversation_ids: list[str]) -> dict[Any, Conversation]:
    """The conversations, row-locked in primary-key order, each with its bot loaded.

    Plain SQL through `raw()`: building these queries with the ORM cost more Python than a single turn's
    answer has to spare (about 0.9 ms with the next read, docs/performance.md)."""
    table, quote = Conversation._meta.db_table, connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    keys = [Conversation._meta.pk.get_db_prep_value(uuid.UUID(pk), connection) for pk in conversation_ids]
    conversations = {
        conversation.pk: conversation
        for conversation in Conversation.objects.raw(
            f"SELECT * FROM {quote(table)} WHERE id IN ({_placeholders(keys)}) ORDER BY id{lock}", keys
        )
    }
    bot_ids = sorted({conversation.bot_id for conversation in conversations.values()})
    bots = {bot.pk: bot for bot in Bot.objects.raw(
        f"SELECT * FROM {quote(Bot._meta.db_table)} WHERE id IN ({_placeholders(bot_ids)})", bot_ids
    )} if bot_ids else {}  # fmt: skip
    for conversation in conversations.values():
        conversation.bot = bots[conversation.bot_id]
    return conversations


def _turns_unanswered(conversation_ids: list[Any], message_ids: list[int]) -> list[Message]:
    """The given messages and every unanswered user turn of the conversations, by conversation and seq."""
    if not conversation_ids:
        return []
    keys = [Conversation._meta.pk.get_db_prep_value(pk, connection) for pk in conversation_ids]
    given = f" OR id IN ({_placeholders(message_ids)})" if message_ids else ""  # "IN ()" is not SQL
    sql = (
        f"SELECT * FROM {connection.ops.quote_name(Message._meta.db_table)}"
        f" WHERE conversation_id IN ({_placeholders(keys)}) AND role = %s"
        f" AND (status = %s{given}) ORDER BY conversation_id, seq"
    )
    return list(Message.objects.raw(sql, [*keys, Message.Role.USER, Message.Status.PENDING, *message_ids]))


def _placeholders(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


@contextmanager
def _publishing_in_turn(conversation_ids: list[str]) -> Iterator[None]:
    """Answerers of the same conversation take turns from before its row lock until their answers are published.

    The row lock ends at commit and answers are published after it, so without this a worker answering a later
    turn could publish before the worker that answered the turn before it: stored in order, delivered out of
    order. PostgreSQL advisory locks (one per conversation, taken in key order, so batches cannot deadlock)
    are held by the session until released here, or until its process dies and the connection closes.
    """
    if connection.vendor != "postgresql":  # SQLite: the embedded defaults answer in-process, one at a time
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k, pg_advisory_lock(k) FROM (SELECT DISTINCT hashtextextended(c, 0) AS k"
            " FROM unnest(%s::text[]) AS c ORDER BY k) AS keys",
            [conversation_ids],
        )
        keys = [row[0] for row in cursor.fetchall()]
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k", [keys])


def _commit_without_waiting_for_disk() -> None:
    """An answer is derived data: its transaction commits without waiting for the WAL flush (about 4 ms here).

    The visitor's message was committed durably before it was acknowledged. If PostgreSQL itself crashes within
    a fraction of a second of an answer, that answer is rolled back and the message is pending again, so the
    requeue sweep answers it again. CHARLA_ANSWER_SYNCHRONOUS_COMMIT=1 waits for the disk anyway.
    """
    if connection.vendor == "postgresql" and not settings.CHARLA_ANSWER_SYNCHRONOUS_COMMIT:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


class _Turns:
    """A batch's answers, collected turn by turn under the row locks and then written one statement per table."""

    MESSAGE_FIELDS = ["status", "answered_at", "intent", "confidence", "language", "ranking", "model_version",
                      "timings", "outcome"]  # fmt: skip

    def __init__(self) -> None:
        self.now = timezone.now()
        self.messages: list[Message] = []
        self.replies: list[Message] = []
        self.conversations: dict[Any, Conversation] = {}
        self.handoffs: list[Conversation] = []
        self.earlier: list[int] = []  # answered before this batch: a redelivery

    def add(self, *, conversation: Conversation, message: Message, item: Classified) -> ActionRequest | None:
        """Step one turn; an action it reached and has no outcome for is returned, and nothing of it is kept."""
        bot = conversation.bot
        prediction = payload_prediction(bot=bot, text=message.text, prediction=item.prediction)
        handed_off = conversation.handoff == Conversation.Handoff.ACTIVE
        turn = None if handed_off else self._step(conversation=conversation, message=message, item=item,
                                                  prediction=prediction)  # fmt: skip
        if turn is not None and turn.action is not None:
            return turn.action
        message.status = Message.Status.HANDED_OFF if handed_off else Message.Status.ANSWERED
        message.answered_at = None if handed_off else self.now
        message.intent = prediction.intent
        message.confidence = prediction.confidence
        message.language = prediction.language or ""
        message.ranking = [[name, round(score, 4)] for name, score in prediction.ranking]
        message.model_version = item.version
        message.timings = {**item.timings, "answer_stored": time.time()}
        self.messages.append(message)
        if turn is None:  # the bot stays silent while a person has the conversation
            return None
        self.replies.append(Message(
            conversation=conversation, bot_id=conversation.bot_id, seq=next_seq(conversation), role=Message.Role.BOT,
            text=turn.text,
            language=turn.language, intent=turn.intent, confidence=prediction.confidence, buttons=turn.buttons,
            reply_to=message, status=Message.Status.SENT, answered_at=self.now, model_version=item.version,
        ))  # fmt: skip
        message.outcome = _outcome(turn, prediction)
        conversation.state = turn.state
        conversation.language = turn.language
        conversation.updated_at = self.now
        self.conversations[conversation.pk] = conversation
        if turn.handoff:
            self.handoffs.append(conversation)
        return None

    def _step(
        self, *, conversation: Conversation, message: Message, item: Classified, prediction: Prediction
    ) -> DialogueTurn:
        language = turn_language(
            bot=conversation.bot, prediction=prediction, current=conversation.language, state=conversation.state
        )
        return dialogue_step(
            bot=conversation.bot, state=conversation.state, language=language, prediction=prediction,
            text=message.text, now=self.now, action=item.action,
        )

    def write(self) -> None:
        if self.messages:
            _rows_update(self.messages, self.MESSAGE_FIELDS)
        if self.replies:
            _rows_insert(self.replies)
            _rows_update(list(self.conversations.values()), ["last_seq", "state", "language", "updated_at"])
            console = {reply.pk for reply in self.replies if reply.conversation.handoff != Conversation.Handoff.NONE}
            transaction.on_commit(partial(replies_publish, replies=self.replies, console=console))
        for conversation in self.handoffs:  # after the replies' publish: the visitor reads the answer first
            handoff_request(conversation=conversation)


def _outcome(turn: DialogueTurn, prediction: Prediction) -> str:
    """What the operators' inbox and dashboard count: a fallback is out of scope when the classifier rejected
    the message, else it fell back for a low confidence or an intent it could not use here."""
    if turn.handoff:
        return Message.Outcome.HANDOFF
    if turn.intent != FALLBACK_INTENT:
        return Message.Outcome.ANSWERED
    return Message.Outcome.OUT_OF_SCOPE if prediction.out_of_scope else Message.Outcome.FALLBACK


def _rows_insert(rows: list[Any]) -> None:
    """What QuerySet.bulk_create does for rows with an auto primary key, as one plain INSERT … RETURNING that
    sets their keys: 0.1 ms less CPU than `create` for a visitor's message, 0.4 ms less than `bulk_create` for a
    batch of four replies. Defaults come from the model's constructor and each field's pre_save (auto_now_add),
    values go through get_db_prep_save; no save signals, like bulk_create."""
    meta = type(rows[0])._meta
    columns = [field for field in meta.concrete_fields if field is not meta.auto_field]
    quote = connection.ops.quote_name
    row_placeholders = f"({', '.join(['%s'] * len(columns))})"
    sql = "INSERT INTO {} ({}) VALUES {} RETURNING {}".format(
        quote(meta.db_table), ", ".join(quote(column.column) for column in columns),
        ", ".join([row_placeholders] * len(rows)), quote(meta.pk.column),
    )  # fmt: skip
    params = [column.get_db_prep_save(column.pre_save(row, True), connection) for row in rows for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [key for (key,) in cursor.fetchall()]
    for row, key in zip(rows, keys, strict=True):
        row.pk = key
        row._state.adding, row._state.db = False, connection.alias


def _rows_update(rows: list[Any], fields: list[str]) -> None:
    """What QuerySet.bulk_update does, as one plain UPDATE per row sent together (psycopg pipelines
    executemany). bulk_update builds a CASE per field and row; in the answer worker it cost more CPU than the
    model. Values go through each field's own conversion (get_db_prep_save); no save signals, like bulk_update.
    A single row is a plain execute: entering and draining psycopg's pipeline costs more than the statement."""
    meta = type(rows[0])._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(meta.db_table), ", ".join(f"{quote(column.column)} = %s" for column in columns), quote(meta.pk.column)
    )
    params = [[column.get_db_prep_save(getattr(row, column.attname), connection) for column in columns]
              + [meta.pk.get_db_prep_save(row.pk, connection)] for row in rows]  # fmt: skip
    with connection.cursor() as cursor:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params)


def messages_requeue_stale(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Queue again every user message pending longer than `older_than`: a lost task loses no answer.

    A message whose task is only slow is queued twice; its answer is still stored once (reply_to is unique).
    """
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
