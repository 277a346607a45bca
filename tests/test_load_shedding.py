"""Load shedding on the real stack: a live daphne queueing on the Redis answer stream, no worker running, then one.

Past CHARLA_BUSY_QUEUE_AGE_MS of queue, a chat message gets a `busy` frame and a REST post a 503, neither stored;
every message acknowledged before is still answered once, in order, when a worker comes.
"""

import asyncio
import time

import pytest
import requests
from asgiref.sync import sync_to_async
from django.db import connection

from conversations import inference
from conversations.models import Message
from intents.services import api_key_create
from tests.live import free_port, open_chat, stack_env, start_answer_worker, start_daphne, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
SHEDDING = {"CHARLA_BUSY_QUEUE_AGE_MS": "400"}


@pytest.fixture(scope="module")
def shedding_web(django_db_setup, stack_logs):
    port = free_port()
    env = stack_env({**SHEDDING, "CHARLA_ALLOWED_ORIGINS": "http://127.0.0.1:8000"})
    process = start_daphne(port, env, stack_logs / "daphne.log")
    yield port
    stop(process)


@pytest.fixture
def empty_stream():
    inference.stream_client().delete(inference.STREAM)
    yield
    inference.stream_client().delete(inference.STREAM)


@sync_to_async
def stored_users() -> list[tuple[str, int, bool]]:
    """(client_id, seq, answered once) of every user message; the ORM thread's connection closed after."""
    try:
        return [(m.client_id, m.seq, Message.objects.filter(reply_to=m).count() == 1)
                for m in Message.objects.filter(role=Message.Role.USER).order_by("seq")]  # fmt: skip
    finally:
        connection.close()


async def send_until_busy(client) -> tuple[list[int], dict]:
    """Send a message every 150 ms until one is refused; the seqs acknowledged before it, and the busy frame."""
    acked: list[int] = []
    for n in range(60):
        await client.send({"type": "message", "client_id": f"m{n}", "text": "where is my order?"})
        while True:
            frame = await client.frame()
            if frame["type"] == "busy":
                return acked, frame
            if frame["type"] == "ack":
                assert frame["client_id"] == f"m{n}"
                acked.append(frame["seq"])
                break
        await asyncio.sleep(0.15)
    raise AssertionError("60 messages over 9 s with no worker and never busy")


def post_rest(port: int, key: str, message_id: str) -> requests.Response:
    body = {"sender": "rest-sender", "message": "hello", "message_id": message_id}
    return requests.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook", json=body,
                         headers={"Authorization": f"Bearer {key}"}, timeout=60)  # fmt: skip


async def test_a_queue_past_capacity_refuses_new_messages_and_answers_every_accepted_one(
    trained_demo_bot, shedding_web, empty_stream, stack_logs
):
    """No worker: messages are acknowledged until the queue is 400 ms old, then refused with `busy` (not stored);
    the REST webhook answers 503 with Retry-After. A worker then answers every acknowledged message once, in
    order, and the refused message sent again with its client_id is stored and answered after them."""
    key = (await sync_to_async(api_key_create)(bot=trained_demo_bot, name="shedding"))[1]
    client, _ = await open_chat(f"ws://127.0.0.1:{shedding_web}/ws/chat/demo/")
    acked, busy = await send_until_busy(client)
    assert len(acked) >= 2 and acked == sorted(acked)
    refused_id = f"m{len(acked)}"
    assert busy["client_id"] == refused_id and isinstance(busy["retry_after"], int) and busy["retry_after"] >= 1
    assert "busy" in busy["message"]
    assert [client_id for client_id, *_ in await stored_users()] == [f"m{n}" for n in range(len(acked))]

    rest = await asyncio.to_thread(post_rest, shedding_web, key, "rest-1")
    assert rest.status_code == 503 and int(rest.headers["Retry-After"]) >= 1
    assert rest.json()["code"] == "busy" and rest.json()["retry_after"] >= 1 and rest.json()["message"]
    assert len(await stored_users()) == len(acked)  # the REST post stored nothing either

    worker = start_answer_worker(stack_env(SHEDDING), stack_logs / "answer-worker.log")
    try:
        answers = []
        while len(answers) < len(acked):
            if (frame := await client.frame(timeout=120))["type"] == "message":
                answers.append(frame["reply_to"])
        assert answers == acked
        deadline = time.monotonic() + 30
        while (frame := await resend(client, refused_id))["type"] == "busy":  # the 100 ms reading may be stale
            assert time.monotonic() < deadline, "still busy with the queue drained"
            await asyncio.sleep(frame["retry_after"])
        resent_seq = acked[-1] + len(acked) + 1  # after the messages and their answers
        assert frame == {"type": "ack", "client_id": refused_id, "seq": resent_seq}
        while (frame := await client.frame(timeout=60))["type"] != "message":
            pass
        assert frame["reply_to"] == resent_seq
    finally:
        stop(worker)
        await client.socket.close()
    users = await stored_users()
    assert [client_id for client_id, *_ in users] == [f"m{n}" for n in range(len(acked) + 1)]
    assert all(answered_once for *_, answered_once in users)


async def resend(client, client_id: str) -> dict:
    await client.send({"type": "message", "client_id": client_id, "text": "where is my order?"})
    while (frame := await client.frame())["type"] not in ("ack", "busy"):
        pass
    return frame
