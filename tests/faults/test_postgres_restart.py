"""Scenario 2: PostgreSQL restarted under load, on a cluster of the test's own (a copy of the migrated test
database with the demo bot and its model version), with its own Redis so no other stack takes its tasks.

While PostgreSQL is down a consumer's call fails and daphne closes the socket; the tabs reconnect, resume and
send again what was not acknowledged, with the same client_id, as the widget does. An answer worker whose batch
failed tries it again once the database is back (the entries stay unacknowledged until their answers commit), and
the beat sweep queues again whatever stayed pending (here after 10 s pending, swept every 2 s)."""

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
from .postgres import Cluster
from .visitor import Tab, talk, until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_messages_around_a_postgres_restart_are_stored_and_answered_once_in_order(
    trained_demo_bot, fault_logs, tmp_path
):
    """Three visitors, once answered, send a message a second for 8 s; PostgreSQL restarts (fast shutdown) 2 s
    in. Every message is stored once (the resends are recognised by client_id) and answered once, in order."""
    cluster = Cluster(free_port())
    try:
        tabs, figures = await _restart_under_load(cluster, fault_logs, tmp_path)
        result = await asyncio.to_thread(tally, cluster.dsn, tabs)
    finally:
        cluster.destroy(keep_log=fault_logs / "postgres-restart.log")
    print(result.line("postgres-restart", tabs=len(tabs), **figures))
    result.assert_nothing_lost()


async def _restart_under_load(cluster: Cluster, logs, tmp_path) -> tuple[list[Tab], dict]:
    redis_port, web_port = free_port(), free_port()
    redis = start_redis(redis_port, logs / "redis-postgres-restart.log")
    processes, tabs = [], []
    try:
        await asyncio.to_thread(cluster.start)
        await asyncio.to_thread(cluster.copy_database, stack_env()["DATABASE_URL"])
        env = stack_env({
            "DATABASE_URL": cluster.dsn, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CHARLA_ALLOWED_ORIGINS": "http://127.0.0.1:8000", "CHARLA_PENDING_REQUEUE_SECONDS": "10",
            "CHARLA_PENDING_REQUEUE_SWEEP_SECONDS": "2",
        })  # fmt: skip
        processes.append(start_daphne(web_port, env, logs / "daphne-postgres-restart.log"))
        processes += await asyncio.to_thread(start_ready_answer_workers, "postgres-restart", 2, env, logs)
        processes += await asyncio.to_thread(
            start_ready_sweep, "postgres-restart", env, logs, tmp_path / "beat-schedule"
        )
        tabs = [await Tab(f"ws://127.0.0.1:{web_port}/ws/chat/demo/").open() for _ in range(3)]
        for tab in tabs:
            await tab.say("hello")
        await until(lambda: all(tab.done() for tab in tabs), timeout=120)  # the stack answers before the fault
        talking = asyncio.create_task(talk(tabs, 8, every=1.0))
        await asyncio.sleep(2)
        restarted = time.monotonic()
        await asyncio.to_thread(cluster.restart)
        restart_s = time.monotonic() - restarted
        await talking
        await until(lambda: all(tab.done() for tab in tabs), timeout=120)
        recovered = time.monotonic() - restarted
        for tab in tabs:  # as the widget does on a hole: fetch an answer whose push was missed while away
            await tab.catch_up()
    finally:
        for tab in tabs:
            await tab.close()
        stop_all(processes)
        stop(redis)
    return tabs, {
        "restart_s": round(restart_s, 1),
        "all_answered_after_restart_s": round(recovered, 1), "reconnects": sum(len(tab.sockets) - 1 for tab in tabs),
    }  # fmt: skip
