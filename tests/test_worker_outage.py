"""Nothing is lost while no answer worker runs: the stream keeps the message until one starts."""

import asyncio

import pytest

from tests.live import open_chat, stack_env, start_answer_worker, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_a_message_waits_for_a_worker_and_is_answered_when_one_starts(trained_demo_bot, web, stack_logs):
    """With no worker running the message is kept, and answered once a worker starts."""
    client, _ = await open_chat(web)
    await client.send({"type": "message", "client_id": "early", "text": "who are you?"})
    assert (await client.frame())["type"] == "ack"
    assert await client.frame() == {"type": "typing", "on": True}
    with pytest.raises(asyncio.TimeoutError):
        await client.frame(timeout=2)
    late = await asyncio.to_thread(start_answer_worker, stack_env(), stack_logs / "late-worker.log")
    try:
        answer = await client.frame(timeout=90)
        assert (answer["role"], answer["intent"], answer["reply_to"]) == ("bot", "bot_identity", 1)
    finally:
        stop(late)
        await client.socket.close()
