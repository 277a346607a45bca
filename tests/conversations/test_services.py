import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import Conversation, Message, Visitor
from conversations.selectors import messages_after
from conversations.services import MessageRejected, message_receive, session_open
from conversations.tokens import visitor_token_make
from tests.conversations.answering import answer, entries_for

pytestmark = pytest.mark.django_db


def _open(bot, token=None, user_id=None, language="en"):
    return session_open(bot=bot, user_id=user_id, token=token, language=language)


def test_a_token_returns_the_visitor_to_the_same_conversation(demo_bot):
    """Connecting again with the token of the first session opens the same conversation."""
    first = _open(demo_bot)
    again = _open(demo_bot, token=first.token)
    assert again.conversation_id == first.conversation_id
    assert Visitor.objects.count() == 1


def test_a_forged_or_foreign_token_gets_a_new_visitor(demo_bot):
    """A token that does not verify is ignored: the visitor starts a conversation of their own."""
    first = _open(demo_bot)
    forged = first.token[:-2] + ("AA" if not first.token.endswith("AA") else "BB")
    assert _open(demo_bot, token=forged).conversation_id != first.conversation_id
    assert _open(demo_bot, token="not-a-token").conversation_id != first.conversation_id


def test_a_logged_in_user_gets_their_own_conversation(demo_bot):
    """A user's conversation follows the user, whatever token the browser holds."""
    user = get_user_model().objects.create_user("ana", password="x")
    anonymous = _open(demo_bot)
    mine = _open(demo_bot, user_id=user.pk, token=anonymous.token)
    assert mine.conversation_id != anonymous.conversation_id
    assert _open(demo_bot, user_id=user.pk).conversation_id == mine.conversation_id


def test_a_user_visitor_token_does_not_open_the_users_conversation_anonymously(demo_bot):
    """Anonymous tokens never reach a logged-in user's visitor."""
    user = get_user_model().objects.create_user("ben", password="x")
    mine = _open(demo_bot, user_id=user.pk)
    stolen = visitor_token_make(visitor_id=Visitor.objects.get(user=user).id)
    assert _open(demo_bot, token=stolen).conversation_id != mine.conversation_id


def test_messages_get_gapless_seqs_and_a_retried_send_is_stored_once(demo_bot):
    """seq counts 1, 2, … per conversation; the same client_id returns the stored message."""
    session = _open(demo_bot)
    first, created = message_receive(conversation_id=session.conversation_id, text="hola", client_id="c1")
    assert created and first.seq == 1
    again, created = message_receive(conversation_id=session.conversation_id, text="hola", client_id="c1")
    assert not created and again.pk == first.pk
    assert Message.objects.filter(conversation_id=session.conversation_id, role="user").count() == 1


def test_a_message_in_an_open_conversation_is_stored_with_one_statement(demo_bot):
    """The common case locks, hands out the seq and inserts with one statement (besides the transaction's own);
    the row and the conversation are what the general path writes."""
    session = _open(demo_bot)
    before = Conversation.objects.get(pk=session.conversation_id).updated_at
    message_receive(conversation_id=session.conversation_id, text="hello", client_id="c0")
    with CaptureQueriesContext(connection) as queries:
        message, created = message_receive(conversation_id=session.conversation_id, text=" hola ", client_id="c1")
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 1, statements
    assert created and message.seq == 2 and message.status == Message.Status.PENDING
    stored = Message.objects.get(pk=message.pk)
    assert (stored.seq, stored.text, stored.client_id, stored.role, stored.bot_id, stored.status) == (
        2, "hola", "c1", Message.Role.USER, demo_bot.pk, Message.Status.PENDING
    )
    assert stored.created_at is not None and stored.ranking == [] and stored.timings == {}
    conversation = Conversation.objects.get(pk=session.conversation_id)
    assert conversation.last_seq == 2 and conversation.updated_at > before


@pytest.mark.parametrize(
    ("text", "client_id", "code"),
    [
        ("", "c", "empty_text"),
        ("   ", "c", "empty_text"),
        (None, "c", "empty_text"),
        (42, "c", "empty_text"),
        ("x" * 2001, "c", "text_too_long"),
        ("a\x00b", "c", "invalid_text"),
        ("hello", "", "invalid_client_id"),
        ("hello", None, "invalid_client_id"),
        ("hello", "x" * 101, "invalid_client_id"),
    ],
)
def test_bad_messages_are_rejected_and_nothing_is_stored(demo_bot, text, client_id, code):
    """Bad input gets a coded error and changes nothing."""
    session = _open(demo_bot)
    with pytest.raises(MessageRejected) as rejected:
        message_receive(conversation_id=session.conversation_id, text=text, client_id=client_id)
    assert rejected.value.code == code
    assert not Message.objects.exists()
    assert Conversation.objects.get(pk=session.conversation_id).last_seq == 0


def test_a_message_is_answered_once_in_its_language(trained_demo_bot):
    """The answer is stored once, replies to the message, and speaks the language of the message."""
    session = _open(trained_demo_bot)
    message, _ = message_receive(conversation_id=session.conversation_id, text="hola", client_id="a")
    reply = answer(message)
    assert reply.reply_to_id == message.pk and reply.seq == 2
    assert (reply.intent, reply.language) == ("greet", "es")
    assert reply.text in trained_demo_bot.intents.get(name="greet").responses.filter(language="es").values_list(
        "text", flat=True
    )
    assert answer(message).pk == reply.pk
    assert Message.objects.filter(role="bot").count() == 1
    message.refresh_from_db()
    assert message.status == Message.Status.ANSWERED and message.intent == "greet" and message.ranking


def test_dialogue_steps_wait_for_earlier_turns(trained_demo_bot):
    """A later message is not answered before an earlier one of the same conversation: it is handed back."""
    from conversations.services import messages_answer_batch

    session = _open(trained_demo_bot)
    first, _ = message_receive(conversation_id=session.conversation_id, text="hello", client_id="1")
    second, _ = message_receive(conversation_id=session.conversation_id, text="thanks a lot", client_id="2")
    assert messages_answer_batch(entries=entries_for([second])) == entries_for([second])
    assert not Message.objects.filter(role="bot").exists()
    answer(first)
    reply = answer(second)
    assert [m["seq"] for m in messages_after(conversation_id=session.conversation_id, after_seq=0)] == [1, 2, 3, 4]
    assert reply.reply_to_id == second.pk and reply.seq == 4


def test_unclear_messages_get_the_fallback(trained_demo_bot):
    """Below the bot's confidence threshold the answer is a fallback, not a guess."""
    trained_demo_bot.confidence_threshold = 1.0
    trained_demo_bot.save()
    session = _open(trained_demo_bot)
    message, _ = message_receive(conversation_id=session.conversation_id, text="hello", client_id="x")
    reply = answer(message)
    assert reply.intent == "fallback"
    assert reply.text in trained_demo_bot.fallback_responses["en"]


def test_resume_returns_history_in_order_in_the_message_shape(trained_demo_bot):
    """messages_after gives every message past the seq, user and bot, as protocol frames."""
    session = _open(trained_demo_bot)
    for n, text in enumerate(["hello", "what are your opening hours?"]):
        message, _ = message_receive(conversation_id=session.conversation_id, text=text, client_id=str(n))
        answer(message)
    frames = messages_after(conversation_id=session.conversation_id, after_seq=1)
    assert [(f["seq"], f["role"]) for f in frames] == [(2, "bot"), (3, "user"), (4, "bot")]
    assert frames[0]["reply_to"] == 1 and frames[2]["reply_to"] == 3
    assert frames[1] == {"type": "message", "seq": 3, "role": "user", "text": "what are your opening hours?",
                         "client_id": "1", "language": "en"}
    assert frames[2]["intent"] == "opening_hours"


def test_without_redis_a_message_is_answered_in_process_once_it_commits(
    trained_demo_bot, answers_in_process, django_capture_on_commit_callbacks
):
    """The embedded defaults: no stream, no worker; the commit of the message answers it through the same batch
    function, stamped with the same stages."""
    session = _open(trained_demo_bot)
    with django_capture_on_commit_callbacks(execute=True):
        message, _ = message_receive(conversation_id=session.conversation_id, text="hello", client_id="1")
    message.refresh_from_db()
    assert message.status == Message.Status.ANSWERED and message.reply.intent == "greet"
    assert {"received", "stored", "enqueued", "worker_start", "predicted", "answer_stored"} <= set(message.timings)


def test_with_redis_a_message_is_queued_on_the_stream_before_its_commit(trained_demo_bot):
    """With REDIS_URL set the stored message is an entry of the answer stream (with its text), not answered here."""
    from conversations import inference

    inference.group_ensure()
    inference.entries_done(inference.entries_read(consumer="test", count=1000, block_ms=0))  # earlier tests' left
    session = _open(trained_demo_bot)
    message, _ = message_receive(conversation_id=session.conversation_id, text="hello", client_id="1")
    [entry] = inference.entries_read(consumer="test", count=10, block_ms=0)
    inference.entries_done([entry])
    assert (entry.turn.message_id, entry.turn.text, entry.turn.bot_id) == (message.pk, "hello", trained_demo_bot.pk)
    assert {"received", "stored", "enqueued"} <= set(entry.timings)
    assert not Message.objects.filter(role="bot").exists()


def test_the_unanswered_turns_of_conversations_are_found_with_or_without_given_messages(demo_bot):
    """replies_store's read: every pending user turn of the conversations, plus the messages it was given
    (answered ones included); an empty list of given messages is valid SQL too."""
    from conversations.services.replies import _turns_unanswered

    session = _open(demo_bot)
    first, _ = message_receive(conversation_id=session.conversation_id, text="hello", client_id="1")
    second, _ = message_receive(conversation_id=session.conversation_id, text="thanks", client_id="2")
    Message.objects.filter(pk=first.pk).update(status=Message.Status.ANSWERED)
    assert [m.pk for m in _turns_unanswered([session.conversation_id], [])] == [second.pk]
    read = _turns_unanswered([session.conversation_id], [first.pk])
    assert [m.pk for m in read] == [first.pk, second.pk]
    fields = Message._meta.concrete_fields  # the plain read's instances are what the ORM loads, field by field
    for message in read:
        loaded = Message.objects.get(pk=message.pk)
        assert [getattr(message, f.attname) for f in fields] == [getattr(loaded, f.attname) for f in fields]
        assert (message._state.adding, message._state.db) == (False, "default")
    assert isinstance(read[0].timings, dict) and read[0].created_at.tzinfo is not None
