"""Sessions that end, transcripts that expire, visitors who ask to be forgotten, tasks that got lost."""

from datetime import timedelta

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conversations.models import Conversation, Message, Visitor
from conversations.services import ConversationClosed, message_receive, session_open
from conversations.tasks import conversations_close_idle, conversations_purge_expired, messages_requeue_stale

pytestmark = pytest.mark.django_db


def _open(bot, token=None):
    return session_open(bot=bot, user_id=None, token=token, language="en")


def _age(conversation_id, **delta):
    Conversation.objects.filter(pk=conversation_id).update(updated_at=timezone.now() - timedelta(**delta))


def test_a_visitor_back_after_the_idle_time_starts_a_new_conversation_and_history_stays(demo_bot, settings):
    """Past CHARLA_SESSION_IDLE_MINUTES the old conversation is closed, kept, and a new one starts."""
    settings.CHARLA_SESSION_IDLE_MINUTES = 30
    first = _open(demo_bot)
    message_receive(conversation_id=first.conversation_id, text="hello", client_id="a")
    _age(first.conversation_id, minutes=31)
    again = _open(demo_bot, token=first.token)
    assert again.conversation_id != first.conversation_id and again.last_seq == 0
    old = Conversation.objects.get(pk=first.conversation_id)
    assert old.status == "closed" and old.closed_at and old.messages.count() == 1


def test_a_message_into_an_idle_conversation_closes_it(demo_bot):
    """A socket left open past the idle time: the message is refused with ConversationClosed, nothing stored."""
    session = _open(demo_bot)
    _age(session.conversation_id, minutes=settings.CHARLA_SESSION_IDLE_MINUTES + 1)
    with pytest.raises(ConversationClosed):
        message_receive(conversation_id=session.conversation_id, text="hi", client_id="late")
    assert Conversation.objects.get(pk=session.conversation_id).status == "closed"
    assert not Message.objects.exists()


def test_the_beat_job_closes_only_idle_conversations(demo_bot, eager_tasks):
    """conversations_close_idle ends idle conversations and leaves recent ones active."""
    idle, recent = _open(demo_bot), _open(demo_bot)
    _age(idle.conversation_id, minutes=settings.CHARLA_SESSION_IDLE_MINUTES + 1)
    assert conversations_close_idle.delay().get() == 1
    assert Conversation.objects.get(pk=recent.conversation_id).status == "active"


def test_the_retention_purge_deletes_old_transcripts_and_their_anonymous_visitors(demo_bot, eager_tasks):
    """Beat's purge removes conversations older than CHARLA_RETENTION_DAYS with their messages; recent ones stay."""
    assert settings.CELERY_BEAT_SCHEDULE["purge-expired-transcripts"]["task"] == conversations_purge_expired.name
    old, recent = _open(demo_bot), _open(demo_bot)
    for session in (old, recent):
        message_receive(conversation_id=session.conversation_id, text="hello", client_id="x")
    _age(old.conversation_id, days=settings.CHARLA_RETENTION_DAYS + 1)
    Visitor.objects.update(created_at=timezone.now() - timedelta(days=settings.CHARLA_RETENTION_DAYS + 1))
    assert conversations_purge_expired.delay().get() == 1
    assert list(Conversation.objects.values_list("pk", flat=True)) == [recent.conversation_id]
    assert Message.objects.count() == 1 and Visitor.objects.count() == 1


def test_a_lost_message_is_queued_again_on_the_stream_by_the_sweep(trained_demo_bot, eager_tasks):
    """A user message left pending (its stream entry lost with a Redis that restarted empty) is queued again, as a
    stream entry with its text, when the beat sweep finds it; a message pending for less time is not."""
    from conversations import inference

    inference.stream_client().delete(inference.STREAM)
    inference.group_ensure()
    lost, recent = _pending(trained_demo_bot, minutes_ago=10), _pending(trained_demo_bot, minutes_ago=0)
    assert messages_requeue_stale.delay().get() == 1
    [entry] = inference.entries_read(consumer="test", count=10, block_ms=0)
    inference.entries_done([entry])
    assert (entry.message_id, entry.turn.text, "requeued" in entry.timings) == (lost.pk, "hello", True)
    assert recent.status == "pending"


def test_without_redis_the_sweep_answers_a_lost_message_in_process_once(
    trained_demo_bot, eager_tasks, answers_in_process, django_capture_on_commit_callbacks
):
    """The embedded defaults: the sweep answers in-process, through the same batch function, once."""
    lost = _pending(trained_demo_bot, minutes_ago=10)
    with django_capture_on_commit_callbacks(execute=True):
        assert messages_requeue_stale.delay().get() == 1
    assert messages_requeue_stale.delay().get() == 0
    lost.refresh_from_db()
    assert lost.status == "answered" and lost.reply.intent == "greet"


def _pending(bot, *, minutes_ago: int) -> Message:
    """A stored user message, pending, `minutes_ago` old, in a conversation of its own."""
    session = _open(bot)
    conversation = Conversation.objects.get(pk=session.conversation_id)
    message = Message.objects.create(conversation=conversation, seq=1, role="user", text="hello", client_id="lost",
                                     status="pending")  # fmt: skip
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=1)
    return message


def _staff_api():
    staff = get_user_model().objects.create_user("staff", password="x", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    return client


def test_the_delete_request_leaves_nothing_in_postgresql_or_redis(demo_bot):
    """DELETE /api/visitors/<id>/ removes the visitor, conversations and messages; no Redis key names the
    conversation, even while a socket is subscribed to it (the channel layer is pub/sub)."""
    session = _open(demo_bot)
    other = _open(demo_bot)
    message_receive(conversation_id=session.conversation_id, text="my email is ana@example.com", client_id="1")
    layer = get_channel_layer()

    async def subscribe() -> str:
        channel = await layer.new_channel()
        await layer.group_add(session.group_name, channel)
        return channel

    async_to_sync(subscribe)()
    visitor = Conversation.objects.get(pk=session.conversation_id).visitor_id
    response = _staff_api().delete(f"/api/visitors/{visitor}/")
    assert response.status_code == 200
    assert response.json() == {"visitors": 1, "conversations": 1, "messages": 1}
    assert not Visitor.objects.filter(pk=visitor).exists()
    assert not Conversation.objects.filter(pk=session.conversation_id).exists() and not Message.objects.exists()
    assert Conversation.objects.filter(pk=other.conversation_id).exists()
    keys = redis.Redis.from_url(settings.REDIS_URL).keys(f"*{session.conversation_id.hex}*")
    assert keys == []


def test_the_api_is_for_authenticated_staff_only_and_documented(demo_bot, client):
    """Anonymous and non-staff callers are refused; the OpenAPI schema describes the endpoint."""
    visitor = Visitor.objects.create()
    assert APIClient().delete(f"/api/visitors/{visitor.pk}/").status_code in (401, 403)
    user = get_user_model().objects.create_user("plain", password="x")
    plain = APIClient()
    plain.force_authenticate(user)
    assert plain.delete(f"/api/visitors/{visitor.pk}/").status_code == 403
    api = _staff_api()
    assert api.delete(f"/api/visitors/{Visitor().pk}/").status_code == 404
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200 and "/api/visitors/{id}/" in schema.json()["paths"]
    assert Visitor.objects.filter(pk=visitor.pk).exists()


def test_the_admin_action_deletes_the_selected_visitors_data(demo_bot, admin_client):
    """Admin → Visitors → "Delete visitor data" removes their conversations and messages."""
    session = _open(demo_bot)
    message_receive(conversation_id=session.conversation_id, text="hello", client_id="1")
    visitor = Conversation.objects.get(pk=session.conversation_id).visitor_id
    response = admin_client.post(
        "/admin/conversations/visitor/", {"action": "delete_visitor_data", "_selected_action": [str(visitor)]}
    )
    assert response.status_code == 302
    assert not Visitor.objects.exists() and not Conversation.objects.exists() and not Message.objects.exists()
