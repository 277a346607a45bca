"""Micro-batched answers: one forward pass for many messages, still in order and exactly once."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.batching import messages_answer_batch
from conversations.inference import Entry
from conversations.models import Message
from conversations.services import message_receive, session_open


def conversation_with(bot, texts: list[str]):
    """A new conversation holding `texts` as stored, unanswered user messages (nothing enqueued: no commit)."""
    session = session_open(bot=bot, user_id=None, token=None, language="en")
    return [message_receive(conversation_id=session.conversation_id, text=t, client_id=f"c{i}")[0]
            for i, t in enumerate(texts)]  # fmt: skip


def entries_for(messages) -> list[Entry]:
    return [Entry(id=f"0-{m.pk}", message_id=m.pk, timings={"received": 1.0}) for m in messages]


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
