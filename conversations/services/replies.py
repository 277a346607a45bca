"""A batch of classified user messages answered: dialogue steps under the row locks, one transaction, in seq order."""

import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from intents.classifier import Prediction
from intents.models import Bot, ModelVersion

from .. import metrics
from ..dialogue import FALLBACK_INTENT, ActionOutcome, ActionRequest, dialogue_step, payload_prediction, turn_language
from ..dialogue import Turn as DialogueTurn
from ..models import Conversation, Message
from .actions import ActionCall, action_call_for, actions_run
from .handoff import handoff_request
from .publish import replies_publish
from .rows import columns, placeholders, rows_from_db, rows_write
from .rules import next_seq


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
    """The conversations, row-locked in primary-key order, each with its bot: one statement, which also sets how
    the transaction commits (_commit_setting).

    Plain SQL: building these queries with the ORM cost more Python than a single turn's answer has to spare
    (about 0.9 ms with the next read, docs/performance.md)."""
    quote = connection.ops.quote_name
    lock = f" FOR UPDATE OF {quote('c')}" if connection.features.has_select_for_update_of else ""
    keys = [Conversation._meta.pk.get_db_prep_value(uuid.UUID(pk), connection) for pk in conversation_ids]
    bot_id = Conversation._meta.get_field("bot").column
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(Conversation, 'c.')}, {columns(Bot, 'b.')}{_commit_setting()}"
            f" FROM {quote(Conversation._meta.db_table)} c"
            f" JOIN {quote(Bot._meta.db_table)} b ON b.{quote(Bot._meta.pk.column)} = c.{quote(bot_id)}"
            f" WHERE c.{quote(Conversation._meta.pk.column)} IN ({placeholders(keys)}) ORDER BY 1{lock}",
            keys,
        )
        rows = cursor.fetchall()
    conversations = rows_from_db(Conversation, rows)
    bots = {bot.pk: bot for bot in rows_from_db(Bot, rows, start=len(Conversation._meta.concrete_fields))}
    for conversation in conversations:
        conversation.bot = bots[conversation.bot_id]
    return {conversation.pk: conversation for conversation in conversations}


def _turns_unanswered(conversation_ids: list[Any], message_ids: list[int]) -> list[Message]:
    """The given messages and every unanswered user turn of the conversations, by conversation and seq.

    A plain cursor and rows_from_db: through `raw()`, matching its columns to the model's fields cost more of a
    batch of one's Python than the read itself (docs/performance.md)."""
    if not conversation_ids:
        return []
    keys = [Conversation._meta.pk.get_db_prep_value(pk, connection) for pk in conversation_ids]
    given = f" OR id IN ({placeholders(message_ids)})" if message_ids else ""  # "IN ()" is not SQL
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(Message)} FROM {connection.ops.quote_name(Message._meta.db_table)}"
            f" WHERE conversation_id IN ({placeholders(keys)}) AND role = %s"
            f" AND (status = %s{given}) ORDER BY conversation_id, seq",
            [*keys, Message.Role.USER, Message.Status.PENDING, *message_ids],
        )
        return rows_from_db(Message, cursor.fetchall())


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


def _commit_setting() -> str:
    """An answer is derived data: its transaction commits without waiting for the WAL flush (about 4 ms here).
    The setting is a column of the locked read (`set_config(…, true)` is `SET LOCAL`), not a statement of its own:
    PostgreSQL reads it at commit.

    The visitor's message was committed durably before it was acknowledged. If PostgreSQL itself crashes within
    a fraction of a second of an answer, that answer is rolled back and the message is pending again, so the
    requeue sweep answers it again. CHARLA_ANSWER_SYNCHRONOUS_COMMIT=1 waits for the disk anyway.
    """
    if connection.vendor == "postgresql" and not settings.CHARLA_ANSWER_SYNCHRONOUS_COMMIT:
        return ", set_config('synchronous_commit', 'off', true)"
    return ""


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
        """The answered messages' and the conversations' updates and the replies' insert, in one round trip."""
        updated = [(self.messages, self.MESSAGE_FIELDS)] if self.messages else []
        if self.conversations:
            updated.append((list(self.conversations.values()), ["last_seq", "state", "language", "updated_at"]))
        rows_write(inserted=self.replies, updated=updated)
        if self.replies:
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
