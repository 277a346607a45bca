"""The operators' inbox: what the answer path records, what the inbox lists, and what reviewing does (PostgreSQL)."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from conversations.models import Message
from conversations.operators.inbox import LOW_CONFIDENCE, InboxFilters, inbox_messages
from conversations.services import ReviewRejected, message_receive, messages_review, session_open
from intents.models import Bot, Intent, ModelVersion, TrainingExample
from intents.selectors import model_version_example_changes, training_data_for_bot
from intents.services import training_example_digests
from tests.conversations.answering import answer
from tests.conversations.factories import user_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_superuser("olga", password="pw")


def _answered(bot, text: str):
    session = session_open(bot=bot, user_id=None, token=None, language="en")
    message, _ = message_receive(conversation_id=session.conversation_id, text=text, client_id=text)
    answer(message)
    message.refresh_from_db()
    return message


def test_the_answer_path_records_what_the_bot_made_of_each_message(trained_demo_bot):
    """A recognised message is `answered`; with a threshold no prediction reaches it falls back; a request for a
    person leads to a handoff. The bot is stored on the message, for the inbox's and dashboard's index."""
    assert _answered(trained_demo_bot, "hello there").outcome == Message.Outcome.ANSWERED
    handoff = _answered(trained_demo_bot, "/human_handoff")
    assert handoff.outcome == Message.Outcome.HANDOFF and handoff.bot_id == trained_demo_bot.pk
    Bot.objects.filter(pk=trained_demo_bot.pk).update(confidence_threshold=1.0)
    trained_demo_bot.refresh_from_db()
    fell = _answered(trained_demo_bot, "what are your opening hours?")
    assert fell.outcome in (Message.Outcome.FALLBACK, Message.Outcome.OUT_OF_SCOPE)
    assert fell.reply.intent == "fallback"


def test_the_inbox_lists_unreviewed_failures_and_low_confidence_newest_first(demo_bot):
    """Fallbacks, out-of-scope and handoffs always; answers only below the threshold (the bot's by default,
    or the one asked for); reviewed messages and confident answers never; newest first."""
    now = timezone.now()
    old_fallback = user_message(bot=demo_bot, text="old", at=now - timedelta(hours=3))
    oos = user_message(bot=demo_bot, text="oos", outcome=Message.Outcome.OUT_OF_SCOPE, at=now - timedelta(hours=2))
    handoff = user_message(bot=demo_bot, text="person", outcome=Message.Outcome.HANDOFF, confidence=0.9,
                           at=now - timedelta(hours=1))  # fmt: skip
    low = user_message(bot=demo_bot, text="low", outcome=Message.Outcome.ANSWERED, confidence=0.45)
    user_message(bot=demo_bot, text="fine", outcome=Message.Outcome.ANSWERED, confidence=0.7)
    reviewed = user_message(bot=demo_bot, text="done")
    Message.objects.filter(pk=reviewed.pk).update(reviewed_at=now, review=Message.Review.IGNORED)

    listed = list(inbox_messages(filters=InboxFilters(bot_id=demo_bot.pk)))
    assert listed == [low, handoff, oos, old_fallback]
    stricter = inbox_messages(filters=InboxFilters(bot_id=demo_bot.pk, threshold=0.8, reason=LOW_CONFIDENCE))
    assert [m.text for m in stricter] == ["fine", "low"]
    assert list(inbox_messages(filters=InboxFilters(bot_id=demo_bot.pk, reason=Message.Outcome.HANDOFF))) == [handoff]


def test_the_inbox_filters_by_language_intent_version_and_dates(demo_bot):
    """Each filter narrows the list; the date range is inclusive, in the site's time zone."""
    version = ModelVersion.objects.create(bot=demo_bot, version=1, encoder="e", data_fingerprint="f", artifact_path="x")
    today = timezone.localdate()
    spanish = user_message(bot=demo_bot, language="es", intent="thanks", model_version=version)
    week_ago = user_message(bot=demo_bot, at=timezone.now() - timedelta(days=7))

    def ids(**filters) -> list[int]:
        return [m.pk for m in inbox_messages(filters=InboxFilters(bot_id=demo_bot.pk, **filters))]

    assert ids(language="es") == [spanish.pk]
    assert ids(intent="thanks") == [spanish.pk]
    assert ids(model_version_id=version.pk) == [spanish.pk]
    assert ids(since=today - timedelta(days=7), until=today - timedelta(days=7)) == [week_ago.pk]
    assert ids(since=today) == [spanish.pk]


def test_adding_a_message_as_an_example_teaches_the_next_training_and_leaves_the_inbox(demo_bot, operator):
    """The example is created in the message's language; the message records who, when, what, and leaves the
    inbox; the next training reads it and its version counts it as added."""
    before = training_example_digests(data=training_data_for_bot(bot=demo_bot))
    message = user_message(bot=demo_bot, text="yo what's up", language="en", intent="help")
    greet = Intent.objects.get(bot=demo_bot, name="greet")

    done = messages_review(message_ids=[message.pk], action="example", intent=greet, reviewer_id=operator.pk)

    assert (done.reviewed, done.already) == (1, 0)
    message.refresh_from_db()
    example = TrainingExample.objects.get(intent=greet, text="yo what's up")
    assert example.language == "en" and message.review_example == example
    assert message.review == "example" and message.reviewed_by == operator and message.reviewed_at is not None
    assert not inbox_messages(filters=InboxFilters(bot_id=demo_bot.pk)).exists()
    data = training_data_for_bot(bot=demo_bot)
    assert ("yo what's up", "greet", "en") in zip(data.texts, data.intents, data.languages)
    common = {"bot": demo_bot, "encoder": "e", "data_fingerprint": "f", "artifact_path": "x"}
    ModelVersion.objects.create(version=1, example_digests=before, **common)
    second = ModelVersion.objects.create(version=2, example_digests=training_example_digests(data=data), **common)
    changes = model_version_example_changes(version=second)
    assert (changes.previous, changes.added, changes.removed) == (1, 1, 0)


def test_bulk_out_of_scope_and_ignore(demo_bot, operator):
    """Out of scope adds examples to the bot's `out_of_scope` intent (created once); ignore adds nothing; a
    second review of the same messages (another operator, later) changes nothing and says so."""
    first, second = user_message(bot=demo_bot, text="tell me a joke"), user_message(bot=demo_bot, text="2+2?")
    third = user_message(bot=demo_bot, text="hmm")
    done = messages_review(message_ids=[first.pk, second.pk], action="out_of_scope", reviewer_id=operator.pk)
    assert done.reviewed == 2
    out_of_scope = Intent.objects.get(bot=demo_bot, name="out_of_scope")
    assert set(out_of_scope.examples.values_list("text", flat=True)) == {"tell me a joke", "2+2?"}
    examples = TrainingExample.objects.count()
    assert messages_review(message_ids=[third.pk], action="ignored", reviewer_id=operator.pk).reviewed == 1
    assert TrainingExample.objects.count() == examples
    again = messages_review(message_ids=[first.pk, third.pk], action="ignored", reviewer_id=operator.pk)
    assert (again.reviewed, again.already) == (0, 2)
    assert Message.objects.get(pk=first.pk).review == "out_of_scope"


def test_a_bad_review_changes_nothing(demo_bot, operator):
    """Another bot's intent, a text too long for an example, a bot's reply, or no intent: a clear error, and
    not one message or example is written, even for the messages of the batch that were fine."""
    other = Bot.objects.create(slug="other", name="Other", languages=["en"])
    foreign = Intent.objects.create(bot=other, name="greet")
    greet = Intent.objects.get(bot=demo_bot, name="greet")
    fine = user_message(bot=demo_bot, text="fine text")
    too_long = user_message(bot=demo_bot, text="x" * 600)
    examples = TrainingExample.objects.count()
    cases = [
        ({"message_ids": [fine.pk], "action": "example", "intent": foreign}, "not one of bot 'demo'"),
        ({"message_ids": [fine.pk, too_long.pk], "action": "example", "intent": greet}, "at most 500"),
        ({"message_ids": [fine.pk], "action": "example"}, "Choose the intent"),
        ({"message_ids": [fine.pk, 10**9], "action": "ignored"}, "Only visitors' messages"),
        ({"message_ids": [fine.pk], "action": "delete"}, "Unknown review action"),
    ]
    for kwargs, error in cases:
        with pytest.raises(ReviewRejected, match=error):
            messages_review(reviewer_id=operator.pk, **kwargs)
    assert TrainingExample.objects.count() == examples
    assert not Message.objects.filter(reviewed_at__isnull=False).exists()
