"""Micro-batched answers (the one answer path): one forward pass for many messages, in order and exactly once."""

import random
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conversations import inference
from conversations.inference import Entry
from conversations.models import Conversation, Message
from conversations.services import message_receive, messages_answer_batch, session_open
from tests.conversations.answering import entries_for


def conversation_with(bot, texts: list[str]):
    """A new conversation holding `texts` as stored, unanswered user messages (their stream entries are not read
    here: the test hands the batch function its entries itself)."""
    session = session_open(bot=bot, user_id=None, token=None, language="en")
    return [message_receive(conversation_id=session.conversation_id, text=t, client_id=f"c{i}")[0]
            for i, t in enumerate(texts)]  # fmt: skip


@pytest.mark.django_db
def test_a_shuffled_batch_is_answered_once_per_message_in_seq_order(trained_demo_bot):
    """Messages of several conversations in any order get one answer each, stored in their seq order."""
    conversations = [conversation_with(trained_demo_bot, ["hello", "where is my order?", "thanks, bye"])
                     for _ in range(3)]  # fmt: skip
    entries = entries_for([m for messages in conversations for m in messages])
    random.Random(5).shuffle(entries)

    assert messages_answer_batch(entries=entries) == []

    for messages in conversations:
        replies = [Message.objects.get(reply_to=m) for m in messages]
        assert [r.seq for r in replies] == [4, 5, 6]  # the user's were 1, 2, 3: answers follow in their order
        assert [r.intent for r in replies] == ["greet", "order_status", "goodbye"]
    stored = Message.objects.get(pk=conversations[0][0].pk)
    assert stored.timings["batch"] == 9 and stored.timings["received"] == 1.0
    assert stored.timings["worker_start"] <= stored.timings["predicted"] <= stored.timings["answer_stored"]


@pytest.mark.django_db
def test_a_turn_whose_earlier_turn_is_unanswered_is_handed_back_not_answered(trained_demo_bot):
    """Without its earlier turn in the batch a message is returned for requeueing; with it, both are answered."""
    first, second = conversation_with(trained_demo_bot, ["hello", "who are you?"])

    assert messages_answer_batch(entries=entries_for([second])) == entries_for([second])
    assert not Message.objects.filter(reply_to=second).exists()

    assert messages_answer_batch(entries=entries_for([second, first])) == []
    assert Message.objects.get(reply_to=first).seq < Message.objects.get(reply_to=second).seq


@pytest.mark.django_db
def test_a_redelivered_entry_is_not_answered_twice(trained_demo_bot):
    """An entry delivered again after its answer was stored (or twice in one batch) leaves one answer."""
    (message,) = conversation_with(trained_demo_bot, ["hello"])
    messages_answer_batch(entries=entries_for([message]))
    assert messages_answer_batch(entries=entries_for([message, message])) == []
    assert Message.objects.filter(conversation=message.conversation, role=Message.Role.BOT).count() == 1


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_whatever_its_size(trained_demo_bot):
    """Answers are written one statement per table for the whole batch, not a few statements per message."""
    warm = conversation_with(trained_demo_bot, ["hello"])
    messages_answer_batch(entries=entries_for(warm))  # loads the model and the bot's dialogue settings once
    counts = []
    for size in (1, 4):
        batch = [m for _ in range(size) for m in conversation_with(trained_demo_bot, ["hello", "where is my order?"])]
        with CaptureQueriesContext(connection) as queries:
            assert messages_answer_batch(entries=entries_for(batch)) == []
        counts.append(len(queries))
        assert Message.objects.filter(reply_to__in=batch).count() == len(batch)
    assert counts[0] == counts[1], counts


def _round_trips(trace: str) -> list[str]:
    """What the client waited for, from libpq's trace: each simple query, and each pipeline's (or extended
    query's) Sync, which ends its statements."""
    sent = [line.split("\t") for line in trace.splitlines() if line.startswith("F\t")]
    waited = [fields for fields in sent if fields[2] in ("Query", "Sync")]
    return [fields[3].strip(' "')[:40] if fields[2] == "Query" else "(pipeline)" for fields in waited]


@pytest.mark.django_db(transaction=True)  # the batch's own BEGIN and COMMIT, not a test's savepoints
def test_a_batch_costs_eight_round_trips_to_postgresql(trained_demo_bot, tmp_path):
    """Watched in libpq's trace: the production version, the advisory locks, BEGIN, the locked conversations with
    their bots (one statement, which also sets the commit's durability), the unanswered turns, every write (the
    messages, the conversations, the replies) in one pipeline, COMMIT, the advisory locks' release."""
    warm = conversation_with(trained_demo_bot, ["hello"])
    messages_answer_batch(entries=entries_for(warm))  # loads the model and the bot's dialogue settings once
    batch = [m for _ in range(3) for m in conversation_with(trained_demo_bot, ["hello", "where is my order?"])]
    connection.ensure_connection()
    path = tmp_path / "libpq.trace"
    with open(path, "w") as out:
        connection.connection.pgconn.trace(out.fileno())
        connection.connection.pgconn.set_trace_flags(1)  # no timestamps
        try:
            assert messages_answer_batch(entries=entries_for(batch)) == []
        finally:
            connection.connection.pgconn.untrace()
    trips = _round_trips(path.read_text())
    assert len(trips) == 8 and trips[2:3] == ["BEGIN"] and trips[5:7] == ["(pipeline)", "COMMIT"], trips
    assert Message.objects.filter(reply_to__in=batch).count() == 6


@pytest.mark.django_db
@pytest.mark.parametrize("durable", [False, True])
def test_an_answer_commits_without_waiting_for_the_disk_unless_configured(demo_bot, settings, durable):
    """The locked read sets the transaction's synchronous_commit: off, or left on with
    CHARLA_ANSWER_SYNCHRONOUS_COMMIT."""
    from conversations.services.replies import _conversations_locked

    settings.CHARLA_ANSWER_SYNCHRONOUS_COMMIT = durable
    session = session_open(bot=demo_bot, user_id=None, token=None, language="en")
    with transaction.atomic(), connection.cursor() as cursor:
        conversations = _conversations_locked([str(session.conversation_id)])
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == ("on" if durable else "off")
    assert conversations[session.conversation_id].bot == demo_bot
    assert conversations[session.conversation_id].state == Conversation.objects.get(pk=session.conversation_id).state


class _Visitor(threading.Thread):
    """Stores a message inside a transaction it keeps open until told to commit (or roll back)."""

    def __init__(self, session, *, commit: bool) -> None:
        super().__init__(daemon=True)
        self.session, self.commit = session, commit
        self.stored, self.release = threading.Event(), threading.Event()
        self.ended_at: int | None = None

    def run(self) -> None:
        try:
            with transaction.atomic():
                message_receive(conversation_id=self.session.conversation_id, text="hello", client_id="early")
                self.stored.set()
                self.release.wait(30)
                if not self.commit:
                    transaction.set_rollback(True)
            self.ended_at = _steps.pop()
        finally:
            connection.close()


_steps: list[int] = []  # a shared counter of events: which of two threads got somewhere first


@pytest.fixture
def batched():
    """An empty answer stream: earlier tests' messages queued entries too."""
    inference.stream_client().delete(inference.STREAM)
    inference.group_ensure()
    yield
    inference.stream_client().delete(inference.STREAM)


def _answer_when_committed(visitor: _Visitor) -> tuple[list[Entry], list, int]:
    """Read the visitor's entry while its transaction is open, start answering it, then let the visitor end."""
    assert visitor.stored.wait(30)
    entries = inference.entries_read(consumer="test", count=10, block_ms=1000)
    result: list = []
    worker = threading.Thread(target=lambda: (result.append(messages_answer_batch(entries=entries)),
                                              result.append(_steps.pop()), connection.close()))  # fmt: skip
    _steps[:] = [2, 1]  # popped from the end: whoever finishes first gets 1
    worker.start()
    worker.join(0.5)
    assert worker.is_alive(), "the answer must wait for the message's transaction"
    visitor.release.set()
    visitor.join(30)
    worker.join(30)
    return entries, result[0], result[1]


@pytest.mark.django_db(transaction=True)
def test_an_entry_queued_before_its_message_commits_is_answered_after_the_commit(trained_demo_bot, batched):
    """The entry (with the text) is queued before the message's commit: the model runs while the commit
    is flushed, and the answer waits for the commit at the conversation's row lock."""
    session = session_open(bot=trained_demo_bot, user_id=None, token=None, language="en")
    visitor = _Visitor(session, commit=True)
    visitor.start()
    entries, retry, worker_rank = _answer_when_committed(visitor)

    assert [entry.turn.text for entry in entries] == ["hello"] and retry == []
    assert visitor.ended_at == 1 and worker_rank == 2  # the visitor's commit came first
    message = Message.objects.get(conversation_id=session.conversation_id, role="user")
    assert message.status == "answered" and message.reply.intent == "greet" and message.reply.seq == 2


@pytest.mark.django_db(transaction=True)
def test_an_entry_whose_message_never_committed_gets_no_answer(trained_demo_bot, batched):
    """A visitor whose message's transaction rolled back was never acknowledged: its entry is dropped, no answer."""
    session = session_open(bot=trained_demo_bot, user_id=None, token=None, language="en")
    visitor = _Visitor(session, commit=False)
    visitor.start()
    entries, retry, _ = _answer_when_committed(visitor)

    assert len(entries) == 1 and retry == []
    assert not Message.objects.filter(conversation_id=session.conversation_id).exists()


@pytest.mark.django_db(transaction=True)
def test_an_entry_without_a_text_is_dropped_and_left_to_the_sweep(trained_demo_bot, batched):
    """Entries queued by a release before entries carried the text are acknowledged, not crashed on."""
    inference.stream_client().xadd(inference.STREAM, {"message": 1, "timings": "{}"})
    assert inference.entries_read(consumer="test", count=10, block_ms=100) == []
    assert inference.stream_client().xlen(inference.STREAM) == 0
