"""Redis restarts under a live stack: an open socket keeps getting its answers (the pub/sub channel layer
subscribes again), and nothing is answered twice. The stack gets a Redis server of its own for this."""

import pytest
from channels.db import database_sync_to_async

from conversations.models import Message
from tests.live import free_port, open_chat, stack_env, start_daphne, start_answer_worker, start_redis, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_an_open_socket_is_answered_after_redis_restarts(trained_demo_bot, stack_logs):
    port = free_port()
    redis = start_redis(port, stack_logs / "redis-restart.log")
    env = stack_env({"REDIS_URL": f"redis://127.0.0.1:{port}/0", "CHARLA_ALLOWED_ORIGINS": "http://127.0.0.1:8000"})
    web_port = free_port()
    daphne = start_daphne(web_port, env, stack_logs / "daphne-redis-restart.log")
    worker = start_answer_worker(env, stack_logs / "answer-worker-redis-restart.log")
    try:
        client, _ = await open_chat(f"ws://127.0.0.1:{web_port}/ws/chat/demo/")
        assert (await client.say("hello"))["intent"] == "greet"

        stop(redis)  # the layer's subscriptions, the stream and its consumer group: all gone with it (no persistence)
        redis = start_redis(port, stack_logs / "redis-restart.log")

        answer = await client.say("what are your opening hours?")  # same socket, never closed
        assert (answer["intent"], answer["seq"]) == ("opening_hours", 4)
        await client.socket.close()
    finally:
        stop(worker)
        stop(daphne)
        stop(redis)
    replies = await database_sync_to_async(
        lambda: list(Message.objects.filter(role="bot").order_by("seq").values_list("reply_to__seq", flat=True))
    )()
    assert replies == [1, 3]
