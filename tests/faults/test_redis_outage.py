"""Scenario 3: Redis (broker and channel layer) down for 10 s under load, on a Redis server of the test's own.

Everything Redis held is lost with it (no persistence): the answer stream, its consumer group and the layer's
subscriptions. Messages are stored in PostgreSQL before they are acknowledged, so a stream entry that could not be
added, or was lost, is queued again by the beat sweep (here after 10 s pending, swept every 2 s); the answer
workers wait for Redis and create the consumer group again."""

import asyncio
import time

import pytest

from tests.live import (
    free_port,
    stack_env,
    start_daphne,
    start_ready_answer_workers,
    start_ready_sweep,
    start_redis,
    stop,
    stop_all,
)

from .ledger import tally
from .visitor import Tab, talk, until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

OUTAGE_S = 10


async def test_messages_sent_while_redis_is_down_are_acknowledged_and_answered_once_in_order_after(
    trained_demo_bot, fault_logs, tmp_path
):
    """Three visitors each send a message every 2 s; Redis stops for 10 s and comes back empty. Messages sent
    during the outage are acknowledged at once (they are stored; their stream entries could not be added), and
    once Redis is back every message is answered once, in order, on the sockets that stayed open."""
    redis_port, web_port = free_port(), free_port()
    redis = start_redis(redis_port, fault_logs / "redis-outage.log")
    env = stack_env({
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "CHARLA_ALLOWED_ORIGINS": "http://127.0.0.1:8000",
        "CHARLA_PENDING_REQUEUE_SECONDS": "10", "CHARLA_PENDING_REQUEUE_SWEEP_SECONDS": "2",
    })  # fmt: skip
    processes, tabs = [], []
    try:
        processes.append(start_daphne(web_port, env, fault_logs / "daphne-redis-outage.log"))
        processes += await asyncio.to_thread(start_ready_answer_workers, "redis-outage", 2, env, fault_logs)
        processes += await asyncio.to_thread(
            start_ready_sweep, "redis-outage", env, fault_logs, tmp_path / "beat-schedule"
        )
        tabs = [await Tab(f"ws://127.0.0.1:{web_port}/ws/chat/demo/").open() for _ in range(3)]
        await talk(tabs, 2, every=2)
        await until(lambda: all(tab.done() for tab in tabs), timeout=120)
        stop(redis)
        down = time.monotonic()
        during = await talk(tabs, OUTAGE_S - 1, every=2)
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down)))
        acknowledged_while_down = sum(client_id in tab.acks for tab, client_id in during)
        redis = start_redis(redis_port, fault_logs / "redis-outage.log")
        up = time.monotonic()
        await talk(tabs, 2, every=2)
        await until(lambda: all(tab.done() for tab in tabs), timeout=120)
        recovered = time.monotonic() - up
        for tab in tabs:  # as the widget does on a hole; answered here only if a push was lost with Redis
            await tab.catch_up()
    finally:
        for tab in tabs:
            await tab.close()
        stop_all(processes)
        stop(redis)
    result = await asyncio.to_thread(tally, env["DATABASE_URL"], tabs)
    print(result.line(
        "redis-down-10s", tabs=len(tabs), outage_s=round(up - down, 1), sent_while_down=len(during),
        acked_while_down=acknowledged_while_down, all_answered_after_return_s=round(recovered, 1),
        reconnects=sum(len(tab.sockets) - 1 for tab in tabs),
    ))  # fmt: skip
    result.assert_nothing_lost()
    assert acknowledged_while_down == len(during) and result.refused == 0
