"""Ordering and exactly-once with real answer workers, random inference delays and a SIGKILLed worker.

CHARLA_FAULT_INFERENCE_DELAY_MS makes each batch pause a random time before the model runs, so answers of one
conversation finish classification out of order; the dialogue steps must still be applied in seq order, once each.
"""

import asyncio
import os
import signal

import pytest
from channels.db import database_sync_to_async

from conversations.models import Message
from tests.live import (
    open_chat,
    stack_env,
    start_answer_worker,
    start_ready_answer_workers,
    stop,
    stop_all,
    wait_for_log,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

TEXTS = ["hello", "what time do you open?", "where is my order?", "who are you?", "thanks", "what can you do?",
         "hola", "¿a qué hora abrís?", "gracias", "bye"]


def _replies_by_message() -> list[tuple[int, int]]:
    """(user seq, reply seq) for every bot message, in reply order."""
    return list(
        Message.objects.filter(role="bot").order_by("seq").values_list("reply_to__seq", "seq")
    )


async def test_ten_messages_at_once_with_two_workers_are_answered_once_each_in_order(trained_demo_bot, web, stack_logs):
    """Ten sends without waiting, two answer workers, random delays: ten answers, one per message, delivered
    in seq order."""
    env = stack_env({"CHARLA_FAULT_INFERENCE_DELAY_MS": "0,600"})
    workers = await asyncio.to_thread(start_ready_answer_workers, "order", 2, env, stack_logs)
    client, _ = await open_chat(web)
    try:
        for n, text in enumerate(TEXTS):
            await client.send({"type": "message", "client_id": f"m{n}", "text": text})
        frames = []
        while len([f for f in frames if f["type"] == "message"]) < len(TEXTS):
            frames.append(await client.frame(timeout=120))
    finally:
        stop_all(workers)
        await client.socket.close()
    acks = {f["client_id"]: f["seq"] for f in frames if f["type"] == "ack"}
    sent = [acks[f"m{n}"] for n in range(10)]
    # Visitors' messages and answers share the conversation's gapless seq: an answer whose worker drew a short
    # delay may be stored between two of the ten sends, so only the orders are fixed, not where answers fall.
    # Answers are delivered in seq order too: a worker publishes before the next answerer of the conversation
    # may take its row lock, however the two workers' random delays interleave.
    answers = [f for f in frames if f["type"] == "message"]
    assert sent == sorted(sent) and len(set(sent)) == 10, frames
    assert [a["reply_to"] for a in answers] == sent
    answered = [a["seq"] for a in answers]
    assert answered == sorted(answered) and all(a > m for a, m in zip(answered, sent))
    assert sorted(sent + answered) == list(range(1, 21))
    assert await database_sync_to_async(_replies_by_message)() == list(zip(sent, answered))


async def _the_one_answer(client) -> dict:
    """The next answer frame, then two seconds without another: no second answer to the same message."""
    frame = await client.frame(timeout=120)
    while frame["type"] != "message":
        frame = await client.frame(timeout=120)
    with pytest.raises(asyncio.TimeoutError):
        await client.frame(timeout=2)
    return frame


async def test_an_answer_worker_killed_mid_batch_leaves_its_entry_to_another_worker(trained_demo_bot, web, stack_logs):
    """SIGKILL of an answer worker while it classifies: its entry stays unacknowledged in the stream's consumer
    group, another worker claims it once it has been idle --claim-idle seconds, and it is answered once."""
    log, successor_log = stack_logs / "dead-answer-worker.log", stack_logs / "successor-answer-worker.log"
    start = log.stat().st_size if log.exists() else 0
    successor_start = successor_log.stat().st_size if successor_log.exists() else 0
    env = stack_env()
    dead = await asyncio.to_thread(start_answer_worker, {**env, "CHARLA_FAULT_INFERENCE_DELAY_MS": "30000,30000"}, log)
    client, _ = await open_chat(web)
    try:
        await client.send({"type": "message", "client_id": "d1", "text": "where is my order?"})
        await asyncio.to_thread(wait_for_log, log, "fault injection: inference delayed", start)
        os.kill(dead.pid, signal.SIGKILL)
        dead.wait()
        successor = await asyncio.to_thread(start_answer_worker, env, successor_log, "--claim-idle", "1")
        try:
            answer = await _the_one_answer(client)
        finally:
            stop(successor)
    finally:
        stop(dead)
        await client.socket.close()
    assert (answer["reply_to"], answer["intent"]) == (1, "order_status")
    assert await database_sync_to_async(_replies_by_message)() == [(1, 2)]
    assert "entries another worker left unacknowledged" in successor_log.read_text(errors="replace")[successor_start:]
