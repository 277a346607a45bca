"""The chat consumer through channels' WebsocketCommunicator, with the real Redis channel layer."""

import asyncio
import json
import threading
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from chatbot.asgi import application
from conversations.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


async def _connect(path="/ws/chat/demo/?lang=en", headers=(ORIGIN,)):
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, code = await communicator.connect(timeout=10)
    return communicator, connected, code


async def _frame(communicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=20))


async def _session(communicator) -> dict:
    frame = await _frame(communicator)
    assert frame["type"] == "session"
    return frame


async def _send(communicator, frame) -> None:
    await communicator.send_to(text_data=json.dumps(frame))


async def test_a_message_is_acked_then_typing_then_answered(trained_demo_bot, answers_in_process):
    """message → ack with its seq, typing on, then the bot's answer replying to it."""
    communicator, connected, _ = await _connect()
    assert connected
    session = await _session(communicator)
    assert session["last_seq"] == 0 and session["token"]
    await _send(communicator, {"type": "message", "client_id": "m1", "text": "hello"})
    assert await _frame(communicator) == {"type": "ack", "client_id": "m1", "seq": 1}
    assert await _frame(communicator) == {"type": "typing", "on": True}
    answer = await _frame(communicator)
    assert answer["type"] == "message" and answer["role"] == "bot"
    assert (answer["seq"], answer["reply_to"], answer["intent"]) == (2, 1, "greet")
    assert 0 < answer["confidence"] <= 1
    await communicator.disconnect()


async def test_a_repeated_client_id_is_acked_again_and_not_answered_twice(trained_demo_bot, answers_in_process):
    """The retry of a send gets the same ack, and no second message or answer."""
    communicator, _, _ = await _connect()
    await _session(communicator)
    await _send(communicator, {"type": "message", "client_id": "same", "text": "thanks"})
    frames = [await _frame(communicator) for _ in range(3)]
    assert frames[0] == {"type": "ack", "client_id": "same", "seq": 1} and frames[2]["role"] == "bot"
    await _send(communicator, {"type": "message", "client_id": "same", "text": "thanks"})
    assert await _frame(communicator) == {"type": "ack", "client_id": "same", "seq": 1}
    assert await communicator.receive_nothing(timeout=1)
    assert await database_sync_to_async(Message.objects.count)() == 2
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "message", "client_id": "b"}', "empty_text"),
        ('{"type": "message", "client_id": "b", "text": ""}', "empty_text"),
        (json.dumps({"type": "message", "client_id": "b", "text": "x" * 2001}), "text_too_long"),
        ('{"type": "resume", "after_seq": -1}', "invalid_after_seq"),
        (b"\x00\x01binary", "binary_frame"),
    ],
)
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_usable(trained_demo_bot, answers_in_process, frame, code):
    """Each bad frame gets a coded error, stores nothing, and the next good message is still answered."""
    communicator, _, _ = await _connect()
    await _session(communicator)
    if isinstance(frame, bytes):
        await communicator.send_to(bytes_data=frame)
    else:
        await communicator.send_to(text_data=frame)
    error = await _frame(communicator)
    assert error["type"] == "error" and error["code"] == code and error["message"]
    assert await database_sync_to_async(Message.objects.count)() == 0
    await _send(communicator, {"type": "message", "client_id": "good", "text": "bye"})
    frames = [await _frame(communicator) for _ in range(3)]
    assert frames[0]["seq"] == 1 and frames[2]["intent"] == "goodbye"
    await communicator.disconnect()


async def test_reconnecting_with_the_token_resumes_the_history_in_order(trained_demo_bot, answers_in_process):
    """A second socket with ?token= joins the same conversation and `resume` replays it."""
    first, _, _ = await _connect()
    session = await _session(first)
    for n, text in enumerate(["hola", "gracias"]):
        await _send(first, {"type": "message", "client_id": f"c{n}", "text": text})
        for _ in range(3):
            await _frame(first)
    await first.disconnect()

    second, _, _ = await _connect(f"/ws/chat/demo/?token={session['token']}")
    again = await _session(second)
    assert again["conversation"] == session["conversation"] and again["last_seq"] == 4
    await _send(second, {"type": "resume", "after_seq": 0})
    frames = [await _frame(second) for _ in range(4)]
    assert [(f["seq"], f["role"]) for f in frames] == [(1, "user"), (2, "bot"), (3, "user"), (4, "bot")]
    assert frames[0]["text"] == "hola" and frames[3]["intent"] == "thanks"
    await second.disconnect()


async def _refused(communicator) -> int:
    """The close code of a socket that opened and closed with nothing in between (no session, no data)."""
    output = await communicator.receive_output(timeout=10)
    assert output["type"] == "websocket.close", output
    return output["code"]


async def test_a_foreign_origin_is_refused(trained_demo_bot):
    """An Origin that is neither configured globally nor for the bot gets close code 4003 and nothing else (the
    socket opens first so that a browser sees the code, not a failed handshake it would take for an outage)."""
    communicator, connected, _ = await _connect(headers=[(b"origin", b"https://evil.example")])
    assert connected and await _refused(communicator) == 4003


async def test_an_origin_allowed_for_the_bot_is_accepted(trained_demo_bot):
    """Origins configured on the bot may embed it."""
    trained_demo_bot.allowed_origins = ["https://shop.example"]
    await database_sync_to_async(trained_demo_bot.save)()
    communicator, connected, _ = await _connect(headers=[(b"origin", b"https://shop.example")])
    assert connected
    await communicator.disconnect()


async def test_an_unknown_bot_is_refused(db):
    """There is no socket for a bot that does not exist."""
    communicator, connected, _ = await _connect("/ws/chat/nobody/")
    assert connected and await _refused(communicator) == 4004


async def test_a_burst_of_answers_to_a_socket_that_is_not_reading_is_delivered_in_order():
    """The list-based Redis layer silently dropped what exceeded its capacity (100 by default) for a busy
    process; the pub/sub layer queues each socket's answers in the process, so a burst of 300 all arrive."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("burst", channel)
    for n in range(300):
        await layer.group_send("burst", {"type": "bot.reply", "n": n})
    received = [(await asyncio.wait_for(layer.receive(channel), 10))["n"] for _ in range(300)]
    assert received == list(range(300))
    await layer.group_discard("burst", channel)


async def test_an_answer_reaches_its_socket_while_the_shared_sync_thread_is_busy(demo_bot):
    """Channels' default dispatch hops to its one shared sync thread before every event; the chat consumer does
    not, so one slow thread-sensitive call cannot hold up every socket's answers."""
    communicator, connected, _ = await _connect()
    assert connected
    session = await _session(communicator)
    release = threading.Event()
    blocker = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)(30))
    try:
        await asyncio.sleep(0.2)  # the shared thread is now inside release.wait
        answer = {"type": "message", "seq": 2, "role": "bot", "text": "hi", "reply_to": 1}
        group = Conversation(id=uuid.UUID(session["conversation"])).group_name
        await get_channel_layer().group_send(group, {"type": "bot.reply", "message": answer})
        assert await _frame(communicator) == answer
        assert not blocker.done()
    finally:
        release.set()
        await blocker
        await communicator.disconnect()
