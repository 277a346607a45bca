"""The whole chat, as it runs in production: a WebSocket client, a live daphne,
a real Celery worker process, PostgreSQL and the Redis channel layer."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from tests.live import open_chat as _open

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_hola_and_hello_are_answered_in_their_language(trained_demo_bot, web, worker):
    """"hola" gets a Spanish greeting and "hello" an English one, from the worker."""
    client, _ = await _open(web + "?lang=en")
    hola = await client.say("hola")
    assert (hola["intent"], hola["language"]) == ("greet", "es")
    hello = await client.say("hello")
    assert (hello["intent"], hello["language"]) == ("greet", "en")
    assert hola["text"] != hello["text"]
    await client.socket.close()


async def test_reconnect_with_token_and_resume_returns_history_in_order(trained_demo_bot, web, worker):
    """After a reconnect with the token, `resume` replays the conversation without gap or duplicate."""
    client, session = await _open(web)
    await client.say("what time do you open?")
    await client.say("where is my order?")
    await client.socket.close()

    again, resumed = await _open(web + f"?token={session['token']}")
    assert resumed["conversation"] == session["conversation"] and resumed["last_seq"] == 4
    await again.send({"type": "resume", "after_seq": 1})
    frames = [await again.frame() for _ in range(3)]
    assert [(f["seq"], f["role"]) for f in frames] == [(2, "bot"), (3, "user"), (4, "bot")]
    assert frames[0]["intent"] == "opening_hours" and frames[2]["intent"] == "order_status"
    await again.socket.close()


async def test_a_repeated_send_is_stored_and_answered_once(trained_demo_bot, web, worker):
    """A send repeated with the same client_id is acknowledged twice with one seq and answered once."""
    from conversations.models import Message

    client, _ = await _open(web)
    first = await client.say("thank you so much", client_id="dup-1")
    await client.send({"type": "message", "client_id": "dup-1", "text": "thank you so much"})
    assert await client.frame() == {"type": "ack", "client_id": "dup-1", "seq": 1}
    with pytest.raises(asyncio.TimeoutError):
        await client.frame(timeout=2)
    assert first["intent"] == "thanks"
    assert await database_sync_to_async(Message.objects.count)() == 2
    await client.socket.close()


async def test_a_bad_frame_gets_an_error_and_the_next_message_is_answered(trained_demo_bot, web, worker):
    """The socket survives a bad frame."""
    client, _ = await _open(web)
    await client.send("{not json")
    error = await client.frame()
    assert (error["type"], error["code"]) == ("error", "invalid_json")
    answer = await client.say("bye!")
    assert answer["intent"] == "goodbye"
    await client.socket.close()
