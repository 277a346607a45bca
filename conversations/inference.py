"""The inference queue: where a stored user message waits for its answer.

Unbatched (the default), each message is one Celery task on queue `inference`. Batched
(`CHARLA_INFERENCE_BATCH=1`), each message is one entry of a Redis stream read by `manage.py answer_worker`
through a consumer group: an entry stays in the group's pending list until its answer is committed and is
claimed by another worker when its reader died, so acknowledgement is late in both modes.
"""

import json
import os
import socket
import time
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

STREAM = "charla:inference"
GROUP = "answerers"


@dataclass(frozen=True)
class Entry:
    """One queued user message: the stream entry id, the message, and the stage stamps so far."""

    id: str
    message_id: int
    timings: dict[str, float]


def batching_enabled() -> bool:
    return settings.CHARLA_INFERENCE_BATCH and bool(settings.REDIS_URL)


def answer_enqueue(*, message_id: int, timings: dict[str, float]) -> None:
    """Queue the answer of a stored user message. Runs after the message's transaction committed."""
    from .tasks import message_answer

    timings = {**timings, "enqueued": time.time()}
    if batching_enabled():
        entry_add(message_id=message_id, timings=timings)
    else:
        message_answer.delay(message_id, timings=timings)


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def stream_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def entry_add(*, message_id: int, timings: dict[str, float]) -> None:
    stream_client().xadd(STREAM, {"message": message_id, "timings": json.dumps(timings)})


def group_ensure() -> None:
    """Create the consumer group (and the stream) once; reading from the start keeps entries queued before it."""
    try:
        stream_client().xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def entries_read(*, consumer: str, count: int, block_ms: int) -> list[Entry]:
    """Up to `count` new entries, waiting at most `block_ms` for the first (0 returns at once)."""
    block = block_ms if block_ms > 0 else None
    response = stream_client().xreadgroup(GROUP, consumer, {STREAM: ">"}, count=count, block=block)
    return [_entry(entry_id, fields) for _, entries in response or [] for entry_id, fields in entries]


def entries_claim(*, consumer: str, idle_s: int, count: int) -> list[Entry]:
    """Entries another reader took and left unacknowledged for `idle_s` seconds: it died, or is stuck."""
    _, entries, _ = stream_client().xautoclaim(STREAM, GROUP, consumer, min_idle_time=idle_s * 1000, count=count)
    return [_entry(entry_id, fields) for entry_id, fields in entries if fields]


def entries_requeue(entries: list[Entry]) -> None:
    """Queue the entries again at the tail, then acknowledge the old ones: a crash in between only duplicates."""
    if not entries:
        return
    pipe = stream_client().pipeline()
    for entry in entries:
        pipe.xadd(STREAM, {"message": entry.message_id, "timings": json.dumps(entry.timings)})
    pipe.execute()
    entries_done(entries)


def entries_done(entries: list[Entry]) -> None:
    if not entries:
        return
    ids = [entry.id for entry in entries]
    pipe = stream_client().pipeline()
    pipe.xack(STREAM, GROUP, *ids)
    pipe.xdel(STREAM, *ids)
    pipe.execute()


def _entry(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Entry:
    entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return Entry(id=entry_id, message_id=int(fields[b"message"]), timings=json.loads(fields.get(b"timings", b"{}")))
