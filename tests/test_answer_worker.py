"""The answer worker as deployed: daphne queues on the Redis stream, `manage.py answer_worker` answers in batches,
with the production models loaded before it takes work and its readiness in a heartbeat that /readyz reads."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from conversations import inference
from conversations.models import Message
from intents.models import ModelVersion
from tests.live import answer_workers_holding, open_chat, stack_env, start_answer_worker, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


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


async def test_queued_messages_are_answered_in_batches_once_each_and_in_order(trained_demo_bot, web, stack_logs):
    """Messages queued before the worker starts are classified together, answered once each, in order."""
    texts = ["hello", "where is my order?", "who are you?", "thanks, bye"]
    clients = [(await open_chat(web))[0] for _ in range(6)]
    sent = [await send_all(client, texts) for client in clients]
    worker = start_answer_worker(stack_env(), stack_logs / "answer-worker.log", "--batch-size", "16", ready=False)
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


async def test_a_started_worker_is_ready_with_the_model_before_the_first_message_and_readyz_says_so(
    trained_demo_bot, web, stack_logs, client
):
    """Cold start: the worker loads and warms up the production model before it reads the stream, then announces
    itself in its heartbeat with the version it holds; /readyz names the ready workers and versions. The first
    answer carries no model loading (`model_load_s` is stamped on an answer only when its batch loaded a model)."""
    version = await sync_to_async(ModelVersion.objects.get)(bot=trained_demo_bot)
    worker = await asyncio.to_thread(start_answer_worker, stack_env(), stack_logs / "cold-start-worker.log")
    try:
        [beat] = await asyncio.to_thread(answer_workers_holding, version.pk)
        assert beat["pid"] == worker.pid
        ready = await sync_to_async(client.get)("/readyz")
        workers = ready.json()["checks"]["answer_workers"]
        assert ready.status_code == 200 and workers["ok"] and workers["detail"]["versions"] == {"demo": [1]}
        chat, _ = await open_chat(web)
        [seq] = await send_all(chat, ["hello"])
        [frame] = await answers(chat, 1)
        await chat.socket.close()
    finally:
        stop(worker)
    [first] = await stored(Message.Role.USER)
    assert (frame["reply_to"], frame["intent"]) == (seq, "greet")
    assert first.model_version_id == version.pk and "model_load_s" not in first.timings
    assert first.timings["worker_start"] >= beat["ready_at"]
    beats = await asyncio.to_thread(inference.workers_ready)
    assert worker.pid not in [beat["pid"] for beat in beats], "a stopped worker takes its heartbeat away"


async def test_readyz_is_503_naming_the_answer_workers_when_none_is_ready(trained_demo_bot, client):
    """With Redis configured and no answer worker holding the production model, /readyz fails naming the answer
    workers (a heartbeat a SIGKILLed worker of another test left holds an older version, if any)."""
    response = await sync_to_async(client.get)("/readyz")
    assert response.status_code == 503 and response.json()["failing"] == ["answer_workers"]
    assert "demo v1" in response.json()["checks"]["answer_workers"]["detail"]["error"] or (
        "no answer worker is ready" in response.json()["checks"]["answer_workers"]["detail"]["error"])
