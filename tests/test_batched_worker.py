"""The batched answer worker as deployed: daphne queues on the Redis stream, `manage.py answer_worker` answers."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from conversations import inference
from conversations.models import Message
from tests.live import free_port, open_chat, stack_env, start_answer_worker, start_daphne, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
BATCHED = {"CHARLA_INFERENCE_BATCH": "1"}


@pytest.fixture(scope="module")
def batched_web(django_db_setup, stack_logs):
    port = free_port()
    env = stack_env({**BATCHED, "CHARLA_ALLOWED_ORIGINS": "http://127.0.0.1:8000"})
    process = start_daphne(port, env, stack_logs / "daphne.log")
    yield f"ws://127.0.0.1:{port}/ws/chat/demo/"
    stop(process)


@sync_to_async
def stored(role: str) -> list[Message]:
    """Read in the ORM's worker thread, then close that thread's connection so the test database can be dropped."""
    try:
        return list(Message.objects.filter(role=role))
    finally:
        connection.close()


async def send_all(client, texts: list[str]) -> list[int]:
    """Send every text without waiting for answers; the user seqs the server acknowledged."""
    for i, text in enumerate(texts):
        await client.send({"type": "message", "client_id": f"m{i}", "text": text})
    seqs = []
    while len(seqs) < len(texts):
        if (frame := await client.frame())["type"] == "ack":
            seqs.append(frame["seq"])
    return seqs


async def answers(client, count: int) -> list[dict]:
    received = []
    while len(received) < count:
        if (frame := await client.frame(timeout=90))["type"] == "message":
            received.append(frame)
    return received


async def test_queued_messages_are_answered_in_batches_once_each_and_in_order(trained_demo_bot, batched_web, stack_logs):
    """Messages queued before the worker starts are classified together, answered once each, in order."""
    texts = ["hello", "where is my order?", "who are you?", "thanks, bye"]
    clients = [(await open_chat(batched_web))[0] for _ in range(6)]
    sent = [await send_all(client, texts) for client in clients]
    worker = start_answer_worker(stack_env(BATCHED), stack_logs / "answer-worker.log", "--batch-size", "16")
    try:
        for client, seqs in zip(clients, sent):
            received = await answers(client, len(texts))
            assert [frame["reply_to"] for frame in received] == seqs
            assert [frame["intent"] for frame in received] == ["greet", "order_status", "bot_identity", "goodbye"]
    finally:
        stop(worker)
        for client in clients:
            await client.socket.close()
    users = await stored(Message.Role.USER)
    assert len(users) == 24 and len(await stored(Message.Role.BOT)) == 24
    assert max(m.timings["batch"] for m in users) > 1
    assert {"received", "stored", "enqueued", "worker_start", "predicted", "answer_stored"} <= set(users[0].timings)


async def test_entries_a_dead_worker_took_are_answered_by_another(trained_demo_bot, batched_web, stack_logs):
    """A worker that read messages and died without acknowledging them does not lose them: another claims them."""
    client, _ = await open_chat(batched_web)
    seqs = await send_all(client, ["hello", "who are you?"])
    await asyncio.to_thread(inference.group_ensure)
    taken = await asyncio.to_thread(inference.entries_read, consumer="dead-worker", count=10, block_ms=5000)
    assert len(taken) == 2
    worker = start_answer_worker(stack_env(BATCHED), stack_logs / "claiming-worker.log", "--claim-idle", "1")
    try:
        assert [frame["reply_to"] for frame in await answers(client, 2)] == seqs
    finally:
        stop(worker)
        await client.socket.close()
    assert len(await stored(Message.Role.BOT)) == 2
