"""The answer queue: where a stored user message waits for its answer, and the answer workers' heartbeats.

With REDIS_URL set, each message is one entry of a Redis stream read by `manage.py answer_worker` through a
consumer group: an entry stays in the group's pending list until its answer is committed and is claimed by another
worker when its reader died, so acknowledgement is late. Without Redis (the embedded defaults) there is no queue:
conversations.services.answer_enqueue answers in-process, through the same batch function.

An entry carries what classifying needs (the message's conversation, bot and text), so it is added as soon as
the message row is written, before its transaction commits: the worker classifies while PostgreSQL flushes that
commit to disk, and waits for the commit at the conversation's row lock before it stores the answer. An entry
whose message never committed finds no row there and is dropped: the visitor was never acknowledged.

This module imports no service: services import it.
"""

import json
import logging
import os
import socket
import time
from dataclasses import dataclass, replace
from functools import cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

STREAM = "charla:inference"
GROUP = "answerers"
HEARTBEAT_PREFIX = "charla:answer-worker:"
# A worker's heartbeat outlives this many seconds without a refresh; workers refresh it every HEARTBEAT_EVERY_S.
HEARTBEAT_TTL_S = 30
HEARTBEAT_EVERY_S = 2.0


@dataclass(frozen=True)
class Turn:
    """A stored user message, as the answer queue carries it."""

    message_id: int
    conversation_id: str
    bot_id: int
    text: str


@dataclass(frozen=True)
class Entry:
    """One queued user message: the stream entry id ("" when answered in-process), the message, and the stage
    stamps so far."""

    id: str
    turn: Turn
    timings: dict[str, float]
    queued_ms: int = 0  # when it was first queued, by Redis's clock (its first entry's id): a requeue keeps it

    @property
    def message_id(self) -> int:
        return self.turn.message_id


def stream_enabled() -> bool:
    """Answers go through the Redis stream and answer workers; else they are made in-process."""
    return bool(settings.REDIS_URL)


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def stream_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def entry_add(*, turn: Turn, timings: dict[str, float]) -> None:
    stream_client().xadd(STREAM, _fields(turn, {**timings, "enqueued": time.time()}))


def _fields(turn: Turn, timings: dict[str, float]) -> dict[str, str | int]:
    return {"message": turn.message_id, "conversation": turn.conversation_id, "bot": turn.bot_id, "text": turn.text,
            "timings": json.dumps(timings)}  # fmt: skip


# An entry delivered this long ago and still unacknowledged is left out of the queue's wait: its worker died (another
# claims it after --claim-idle) or is stuck, and messages queued now do not wait behind it.
STRANDED_IDLE_MS = 5000


@dataclass(frozen=True)
class QueueState:
    """What a message queued now waits behind: the entries no worker has answered yet."""

    age_s: float  # how long the longest-waiting of them has been queued (0: none waits), by Redis's clock
    waiting: int | None  # how many no worker has read yet (XINFO GROUPS' lag; None when Redis cannot tell, or no group)
    read: int | None  # entries the group has handed to workers so far (entries-read): their pace, over time


def queue_state(*, scan: int = 32) -> QueueState:
    """The stream's unanswered entries. The age is the longest wait among the oldest `2 * scan` entries, those in a
    worker's batch included, and the first `scan` unread ones; a message queued again behind its earlier turn
    (`entries_requeue`) counts from its first queueing, so a fresh entry id cannot hide it.

    A worker's XREADGROUP takes everything queued, up to its batch size, at once: under load the work sits in the
    workers' hands, read and not yet answered, while the unread part of the stream stays short and young. So the
    entries read and not acknowledged count (acknowledged ones are deleted: the stream holds only unanswered
    work), except those delivered over STRANDED_IDLE_MS ago. Two round trips.
    """
    client = stream_client()
    try:
        groups = client.xinfo_groups(STREAM)
    except redis.ResponseError:  # no stream yet: nothing was ever queued
        return QueueState(age_s=0.0, waiting=0, read=None)
    group = next((g for g in groups if g["name"] in (GROUP, GROUP.encode())), None)
    last = (group or {}).get("last-delivered-id")
    start = b"(" + last if isinstance(last, bytes) else f"({last}" if last else "-"
    pipe = client.pipeline(transaction=False)
    pipe.xrange(STREAM, min="-", max="+", count=2 * scan)
    pipe.xrange(STREAM, min=start, max="+", count=scan)
    pipe.time()
    if group is not None:
        pipe.xpending_range(STREAM, GROUP, min="-", max="+", count=2 * scan, idle=STRANDED_IDLE_MS)
    oldest, unread, (seconds, microseconds), *stranded = pipe.execute()
    state = QueueState(age_s=0.0, waiting=(group or {}).get("lag"), read=(group or {}).get("entries-read"))
    left = {pending["message_id"] for pending in (stranded[0] if stranded else [])}
    entries = [(entry_id, fields) for entry_id, fields in [*oldest, *unread] if entry_id not in left]
    if not entries:
        return state
    queued_ms = min(int(fields.get(b"queued") or _id_ms(entry_id)) for entry_id, fields in entries)
    return replace(state, age_s=max(0.0, seconds + microseconds / 1e6 - queued_ms / 1000))


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
    return _entries([item for _, items in response or [] for item in items])


def entries_claim(*, consumer: str, idle_s: int, count: int) -> list[Entry]:
    """Entries another reader took and left unacknowledged for `idle_s` seconds: it died, or is stuck."""
    _, items, _ = stream_client().xautoclaim(STREAM, GROUP, consumer, min_idle_time=idle_s * 1000, count=count)
    return _entries([item for item in items if item[1]])


def entries_requeue(entries: list[Entry]) -> None:
    """Queue the entries again at the tail, then acknowledge the old ones: a crash in between only duplicates."""
    if not entries:
        return
    pipe = stream_client().pipeline()
    for entry in entries:
        pipe.xadd(STREAM, {**_fields(entry.turn, entry.timings), "queued": entry.queued_ms or _id_ms(entry.id)})
    pipe.execute()
    entries_done(entries)


def entries_done(entries: list[Entry]) -> None:
    if entries:
        _ack([entry.id for entry in entries])


def _ack(ids: list) -> None:
    pipe = stream_client().pipeline()
    pipe.xack(STREAM, GROUP, *ids)
    pipe.xdel(STREAM, *ids)
    pipe.execute()


def _entries(items: list[tuple[bytes, dict[bytes, bytes]]]) -> list[Entry]:
    """Parsed stream items. One without a message's text (queued by a release before entries carried it) is
    acknowledged and dropped: its message is still pending in PostgreSQL, and the requeue sweep queues it again."""
    entries, unreadable = [], []
    for entry_id, fields in items:
        if b"text" in fields:
            entries.append(_entry(entry_id, fields))
        else:
            unreadable.append(entry_id)
    if unreadable:
        logger.warning("dropped %d stream entries without a message text; the requeue sweep queues their messages "
                       "again", len(unreadable))  # fmt: skip
        _ack(unreadable)
    return entries


def _entry(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Entry:
    entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    turn = Turn(message_id=int(fields[b"message"]), conversation_id=fields[b"conversation"].decode(),
                bot_id=int(fields[b"bot"]), text=fields[b"text"].decode())  # fmt: skip
    timings = json.loads(fields.get(b"timings", b"{}"))
    return Entry(id=entry_id, turn=turn, timings=timings, queued_ms=int(fields.get(b"queued") or _id_ms(entry_id)))


def _id_ms(entry_id: bytes | str) -> int:
    """The Redis time, in ms, at which a stream entry was added: the first part of its id."""
    return int((entry_id.decode() if isinstance(entry_id, bytes) else entry_id).split("-")[0])


def heartbeat(*, consumer: str, ready_at: float, versions: dict[int, int]) -> None:
    """Announce a ready worker and the model versions it holds (version id by bot id), for HEARTBEAT_TTL_S."""
    beat = {"consumer": consumer, "pid": os.getpid(), "ready_at": ready_at, "beat_at": time.time(),
            "versions": {str(bot): version for bot, version in versions.items()}}  # fmt: skip
    stream_client().set(HEARTBEAT_PREFIX + consumer, json.dumps(beat), ex=HEARTBEAT_TTL_S)


def heartbeat_end(*, consumer: str) -> None:
    stream_client().delete(HEARTBEAT_PREFIX + consumer)


def workers_ready() -> list[dict]:
    """The heartbeats of the answer workers that are ready now, by consumer name."""
    client = stream_client()
    keys = sorted(client.scan_iter(match=HEARTBEAT_PREFIX + "*", count=1000))
    beats = [json.loads(value) for value in client.mget(keys) if value] if keys else []
    return sorted(beats, key=lambda beat: beat["consumer"])
