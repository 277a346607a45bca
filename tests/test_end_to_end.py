"""The whole chat, as it runs in production: a WebSocket client, a live daphne,
a real answer worker process, PostgreSQL and the Redis channel layer."""

import asyncio
import json
import urllib.error
import urllib.request
import uuid

import pytest
import websockets
from channels.db import database_sync_to_async

from tests.live import Client, free_port, stack_env, start_daphne, stop
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


@pytest.fixture(scope="module")
def limited_web(django_db_setup, stack_logs):
    """A daphne with low chat rate limits, behind a (pretend) trusted proxy: each test gets its own address."""
    port = free_port()
    env = stack_env({
        "CHARLA_RATE_CHAT_MESSAGES": "3/minute", "CHARLA_RATE_CHAT_VISITORS": "2/minute",
        "CHARLA_TRUSTED_PROXY_HEADER": "X-Forwarded-For", "CHARLA_RATE_API_KEY": "2/minute",
    })  # fmt: skip
    process = start_daphne(port, env, stack_logs / "limited-daphne.log")
    yield f"ws://127.0.0.1:{port}/ws/chat/demo/"
    stop(process)


async def connect_from(url: str, address: str) -> Client:
    socket = await websockets.connect(
        url, origin="http://127.0.0.1:8000", additional_headers={"X-Forwarded-For": address}, open_timeout=30
    )
    return Client(socket)


async def test_a_message_flood_gets_error_frames_and_every_accepted_message_is_answered_once(
    trained_demo_bot, limited_web, worker
):
    """Five messages at once, three a minute allowed: three acks and answers, two `rate_limited` errors with
    `retry_after`, and the refused two are not stored."""
    from conversations.models import Message

    client = await connect_from(limited_web, "198.51.100.1")
    assert (await client.frame())["type"] == "session"
    texts = ["hello", "thank you", "bye!", "hola", "gracias"]
    for n, text in enumerate(texts):
        await client.send({"type": "message", "client_id": f"m{n}", "text": text})
    acks, answers, refused = {}, [], {}
    while len(answers) < 3 or len(acks) + len(refused) < 5:
        frame = await client.frame()
        if frame["type"] == "ack":
            acks[frame["client_id"]] = frame["seq"]
        elif frame["type"] == "error":
            refused[frame["client_id"]] = frame
        elif frame["type"] == "message":
            answers.append(frame)
    assert acks == {"m0": 1, "m1": 2, "m2": 3} and set(refused) == {"m3", "m4"}
    assert all(e["code"] == "rate_limited" and 1 <= e["retry_after"] <= 60 for e in refused.values())
    assert [a["reply_to"] for a in answers] == [1, 2, 3]
    stored = await database_sync_to_async(
        lambda: sorted(Message.objects.filter(role="user").values_list("client_id", "reply__seq"))
    )()
    assert stored == [("m0", 4), ("m1", 5), ("m2", 6)]
    await client.socket.close()


async def test_a_new_visitor_flood_is_closed_with_4029_and_an_existing_visitor_is_unaffected(
    trained_demo_bot, limited_web, worker
):
    """Two new visitors a minute from one address: the third socket gets `rate_limited` and close 4029 before a
    visitor is made; the first visitor comes back from the same address and is answered; other addresses are
    unaffected."""
    from conversations.models import Visitor

    sessions = []
    for _ in range(2):
        client = await connect_from(limited_web, "198.51.100.2")
        sessions.append(await client.frame())
        await client.socket.close()
    third = await connect_from(limited_web, "198.51.100.2")
    error = await third.frame()
    assert (error["type"], error["code"]) == ("error", "rate_limited") and 1 <= error["retry_after"] <= 60
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await third.frame()
    assert closed.value.rcvd.code == 4029
    assert await database_sync_to_async(Visitor.objects.count)() == 2

    back = await connect_from(limited_web + f"?token={sessions[0]['token']}", "198.51.100.2")
    session = await back.frame()
    assert session["conversation"] == sessions[0]["conversation"]
    assert (await back.say("hello"))["intent"] == "greet"
    await back.socket.close()
    elsewhere = await connect_from(limited_web, "198.51.100.3")
    assert (await elsewhere.frame())["type"] == "session"
    await elsewhere.socket.close()


def api_delete(base: str, token: str) -> tuple[int, dict, dict]:
    """DELETE a visitor that does not exist, as a staff client would: status, headers and JSON body."""
    request = urllib.request.Request(
        f"{base}/api/visitors/{uuid.uuid4()}/", method="DELETE", headers={"Authorization": f"Token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


async def test_the_rest_api_on_daphne_throttles_each_key_with_429_json_and_retry_after(limited_web):
    """Two requests a minute per key: the third of key A is 429 with Retry-After and a JSON body; key B is served."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    def staff_token() -> str:
        user = get_user_model().objects.create_user(f"ops-{uuid.uuid4().hex[:8]}", is_staff=True)
        return Token.objects.create(user=user).key

    key_a, key_b = [await database_sync_to_async(staff_token)() for _ in range(2)]
    base = limited_web.replace("ws://", "http://").split("/ws/")[0]
    answers = [await asyncio.to_thread(api_delete, base, key_a) for _ in range(3)]
    assert [status for status, _, _ in answers] == [404, 404, 429]
    _, headers, body = answers[2]
    assert 1 <= int(headers["Retry-After"]) <= 60 and headers["Content-Type"] == "application/json"
    assert "throttled" in body["message"] and body["code"] == "throttled"
    assert (await asyncio.to_thread(api_delete, base, key_b))[0] == 404
