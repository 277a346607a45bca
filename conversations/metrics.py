"""The product's own series, recorded where they happen: one call in the receive path, one in the answer path.

Daphne processes, Celery workers and `answer_worker` processes are separate, often on separate hosts, and a
Prometheus scrape reaches one web process. So counters and histograms are kept in one Redis hash (`KEY`) that
every process adds to with a pipelined HINCRBY after its transaction committed (a web process gathers its
received and shed counts for up to FLUSH_EVERY_S first), and any web process exposes the cluster's totals at `/metrics`
(monitoring.collector). With no Redis configured (the embedded default) they are
kept in this process's memory: tasks run in the web process then. A Redis restart without persistence resets
them, which Prometheus' rate() treats as a counter reset. Recording never fails the caller: when Redis is
unreachable the increments are dropped and logged.

Fields of the hash: `received|<bot id>|<language>`, `answered|…`, `fallback|…`, `latency|<bot id>|<bucket>`,
`latency_sum|<bot id>`, `batch|<bucket>`, `batch_sum`, `shed|<channel>` (socket or rest). Buckets are stored per
bucket (not cumulative) and summed into Prometheus' cumulative form at scrape time; bots are labelled by slug at
scrape time.
"""

import atexit
import bisect
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Any

import redis
from django.conf import settings

from .dialogue import FALLBACK_INTENT

logger = logging.getLogger(__name__)

KEY = "charla:metrics"
# Seconds from the visitor's message being received to its answer committed.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# Messages classified in one forward pass (1 in-process without Redis; up to CHARLA_INFERENCE_BATCH_SIZE on a worker).
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)

# A web process adds its received and shed counts to Redis at most this often, in one pipeline (see _count_soon).
FLUSH_EVERY_S = 0.5

_local: Counter = Counter()
_local_lock = threading.Lock()
_pending: Counter = Counter()
_pending_lock = threading.Lock()
_flusher_pid: int | None = None  # the process whose flushing thread runs (a forked child starts its own)


def message_received(*, bot_id: int, language: str) -> None:
    """Count a visitor's message stored (call after its commit)."""
    _count_soon(f"received|{bot_id}|{language}")


def message_shed(*, channel: str) -> None:
    """Count a visitor's message refused by load shedding (`busy` on the socket, 503 on `rest`; not stored)."""
    _count_soon(f"shed|{channel}")


def _count_soon(field: str) -> None:
    """Add 1 to `field`. With Redis, counted in this process and added to the hash by a background thread within
    FLUSH_EVERY_S (or by `flush`, which a scrape of this process calls first, and at exit): a Redis round trip per
    message was a visible share of the web process's CPU per turn (docs/performance.md), and past capacity
    refusals are most of what a process handles. Counts a killed process had not flushed are lost, as are those
    recorded while Redis is unreachable."""
    if not settings.REDIS_URL:
        _add({field: 1})
        return
    global _flusher_pid
    with _pending_lock:
        _pending[field] += 1
        if _flusher_pid != os.getpid():
            _flusher_pid = os.getpid()
            threading.Thread(target=_flush_forever, name="charla-metrics", daemon=True).start()
            atexit.register(flush)


def flush() -> None:
    """Add this process's pending counts to Redis now."""
    with _pending_lock:
        increments = dict(_pending)
        _pending.clear()
    if increments:
        _add(increments)


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_EVERY_S)
        flush()


def answers_observe(*, replies: Iterable[Any], batch: int) -> None:
    """Count the bot replies one `replies_store` call committed, their latency, and the batch's size.

    `replies` are bot Message rows whose `reply_to` (the visitor's message) and `conversation` are loaded.
    Latency runs from the message's `received` stamp (or its creation, for a message queued again by the
    sweep) to now, right after the commit.
    """
    now = time.time()
    increments: Counter = Counter({f"batch|{_bucket(BATCH_BUCKETS, batch)}": 1, "batch_sum": batch})
    for reply in replies:
        bot, language, message = reply.conversation.bot_id, reply.language, reply.reply_to
        increments[f"answered|{bot}|{language}"] += 1
        if reply.intent == FALLBACK_INTENT:
            increments[f"fallback|{bot}|{language}"] += 1
        latency = max(0.0, now - message.timings.get("received", message.created_at.timestamp()))
        increments[f"latency|{bot}|{_bucket(LATENCY_BUCKETS, latency)}"] += 1
        increments[f"latency_sum|{bot}"] += latency
    _add(increments)


def recorded() -> dict[str, float]:
    """Every field recorded so far in this deployment, this process's pending counts flushed first (raises
    redis.RedisError when Redis is unreachable)."""
    if not settings.REDIS_URL:
        with _local_lock:
            return dict(_local)
    flush()
    return {field.decode(): float(value) for field, value in _client(settings.REDIS_URL).hgetall(KEY).items()}


def _bucket(bounds: tuple[float, ...], value: float) -> str:
    """The index of the smallest bound >= value; len(bounds) stands for +Inf."""
    return str(bisect.bisect_left(bounds, value))


def _add(increments: dict[str, float]) -> None:
    if not settings.REDIS_URL:
        with _local_lock:
            _local.update(increments)
        return
    pipe = _client(settings.REDIS_URL).pipeline(transaction=False)
    for field, amount in increments.items():
        if isinstance(amount, int):
            pipe.hincrby(KEY, field, amount)
        else:
            pipe.hincrbyfloat(KEY, field, amount)
    try:
        pipe.execute()
    except redis.RedisError as error:
        logger.warning("metrics not recorded (%d fields): %s", len(increments), error)


@cache
def _client(url: str) -> redis.Redis:
    # Short timeouts: a metric must not hold up a visitor's ack or an answer when Redis is slow.
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
