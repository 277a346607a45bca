"""Ordering and exactly-once with real worker processes, random inference delays and a killed worker process.

CHARLA_FAULT_INFERENCE_DELAY_MS makes each inference pause a random time, so answers of one conversation
finish classification out of order; the dialogue steps must still be applied in seq order, once each.
"""

import asyncio
import os
import signal

import pytest
from channels.db import database_sync_to_async

from conversations.models import Message
from tests.live import open_chat, stack_env, start_worker, stop, wait_for_log

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

TEXTS = ["hello", "what time do you open?", "where is my order?", "who are you?", "thanks", "what can you do?",
         "hola", "¿a qué hora abrís?", "gracias", "bye"]


def _replies_by_message() -> list[tuple[int, int]]:
    """(user seq, reply seq) for every bot message, in reply order."""
    return list(
        Message.objects.filter(role="bot").order_by("seq").values_list("reply_to__seq", "seq")
    )


async def test_ten_messages_at_once_with_two_workers_are_answered_once_each_in_order(trained_demo_bot, web, stack_logs):
    """Ten sends without waiting, two worker processes, random delays: ten answers, one per message, delivered
    in seq order."""
    env = stack_env({"CHARLA_FAULT_INFERENCE_DELAY_MS": "0,600"})
    workers = [start_worker(f"order{n}", env, stack_logs / f"order-worker-{n}.log") for n in range(2)]
    client, _ = await open_chat(web)
    try:
        for n, text in enumerate(TEXTS):
            await client.send({"type": "message", "client_id": f"m{n}", "text": text})
        frames = []
        while len([f for f in frames if f["type"] == "message"]) < len(TEXTS):
            frames.append(await client.frame(timeout=120))
    finally:
        for worker in workers:
            stop(worker)
        await client.socket.close()
    acks = {f["client_id"]: f["seq"] for f in frames if f["type"] == "ack"}
    # Answers are delivered in seq order too: a worker publishes before the next answerer of the conversation
    # may take its row lock, however the two workers' random delays interleave.
    answers = [f for f in frames if f["type"] == "message"]
    assert sorted(acks.values()) == list(range(1, 11))
    assert [a["reply_to"] for a in answers] == [acks[f"m{n}"] for n in range(10)]
    assert [a["seq"] for a in answers] == list(range(11, 21))
    assert await database_sync_to_async(_replies_by_message)() == [(n, n + 10) for n in range(1, 11)]


async def _the_one_answer(client) -> dict:
    """The next answer frame, then two seconds without another: no second answer to the same message."""
    frame = await client.frame(timeout=120)
    while frame["type"] != "message":
        frame = await client.frame(timeout=120)
    with pytest.raises(asyncio.TimeoutError):
        await client.frame(timeout=2)
    return frame


async def test_a_worker_process_killed_mid_task_still_answers_the_message_exactly_once(trained_demo_bot, web, stack_logs):
    """SIGKILL of the prefork child running the task: the task is rejected and requeued, answered once."""
    log = stack_logs / "killed-worker.log"
    start = log.stat().st_size if log.exists() else 0
    env = stack_env({"CHARLA_FAULT_INFERENCE_DELAY_MS": "4000,4000"})
    worker = start_worker("killed", env, log, pool="prefork", concurrency=1)
    client, _ = await open_chat(web)
    try:
        await client.send({"type": "message", "client_id": "k1", "text": "what are your opening hours?"})
        line = await asyncio.to_thread(wait_for_log, log, "fault injection: inference delayed", start)
        child = int(line.rsplit("pid ", 1)[1].split()[0])
        assert child != worker.pid
        os.kill(child, signal.SIGKILL)
        answer = await _the_one_answer(client)
    finally:
        stop(worker)
        await client.socket.close()
    assert (answer["reply_to"], answer["intent"]) == (1, "opening_hours")
    assert await database_sync_to_async(_replies_by_message)() == [(1, 2)]
    assert "WorkerLostError" in log.read_text(errors="replace")[start:]


async def test_a_whole_worker_killed_mid_task_leaves_its_message_to_the_next_worker(trained_demo_bot, web, stack_logs):
    """SIGKILL of a whole worker (solo pool: no parent survives to reject the task) while it classifies: the
    unacknowledged task is restored by the next worker once the visibility timeout has passed, and answered once."""
    log = stack_logs / "dead-worker.log"
    start = log.stat().st_size if log.exists() else 0
    env = stack_env({"CELERY_VISIBILITY_TIMEOUT": "3"})
    dead = start_worker("dead", {**env, "CHARLA_FAULT_INFERENCE_DELAY_MS": "30000,30000"}, log)
    client, _ = await open_chat(web)
    try:
        await client.send({"type": "message", "client_id": "d1", "text": "where is my order?"})
        await asyncio.to_thread(wait_for_log, log, "fault injection: inference delayed", start)
        os.kill(dead.pid, signal.SIGKILL)
        dead.wait()
        successor = start_worker("successor", env, stack_logs / "successor-worker.log")
        try:
            answer = await _the_one_answer(client)
        finally:
            stop(successor)
    finally:
        stop(dead)
        await client.socket.close()
    assert (answer["reply_to"], answer["intent"]) == (1, "order_status")
    assert await database_sync_to_async(_replies_by_message)() == [(1, 2)]
