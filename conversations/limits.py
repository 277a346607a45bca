"""The chat's limits: messages per visitor and new visitors per client IP (README: Rate limits), and load
shedding while the answer queue is past capacity (`answer_queue_wait`, for the socket and the REST webhook).

Each check that reads Redis runs on a worker thread, so a socket waiting for Redis does not hold the event loop
that serves every other socket (`message_wait` on the thread that stores the message).
"""

import logging
import math
import threading
import time
import uuid
from collections import deque

from asgiref.sync import sync_to_async
from django.conf import settings
from redis.exceptions import RedisError

from chatbot.ratelimit import rate_hit, rate_parse, scope_client_ip

from . import inference
from .tokens import visitor_token_read

logger = logging.getLogger(__name__)
_hit = sync_to_async(rate_hit, thread_sensitive=False)
QUEUE_AGE_READ_EVERY_S = 0.1  # one process reads the stream's state at most this often; its sockets share it
RATE_WINDOW_S = 1.0  # the workers' recent pace is measured over this long
RETRY_AFTER_MAX_S = 30


async def new_visitor_wait(*, scope: dict, user_id: int | None, token: str | None) -> int | None:
    """Seconds this connection must wait before it may create a visitor, or None: it may (or creates none).

    A logged-in user or a valid visitor token returns to an existing visitor, which is never limited here.
    """
    if user_id is not None or (token and visitor_token_read(token=token) is not None):
        return None
    rate = rate_parse(settings.CHARLA_RATE_CHAT_VISITORS)
    return await _hit(scope="chat.visitors", ident=scope_client_ip(scope), rate=rate)


def message_wait(*, visitor_id: uuid.UUID) -> int | None:
    """Seconds before this visitor may send another message, or None: this one may be stored.

    Blocking, unlike the other checks: the socket counts it on the thread that then stores the message (one
    thread hop per message, not two)."""
    return rate_hit(scope="chat.messages", ident=str(visitor_id), rate=rate_parse(settings.CHARLA_RATE_CHAT_MESSAGES))


async def answer_queue_wait() -> int | None:
    """Seconds a client should wait before sending its message again, while the answer queue is past capacity
    (a new message would wait longer than CHARLA_BUSY_QUEUE_AGE_MS for a worker), or None: it may be stored.

    The wait is the queue's expected wait in whole seconds (1 to 30): about the work queued ahead of a new message.
    """
    threshold_s = settings.CHARLA_BUSY_QUEUE_AGE_MS / 1000
    if threshold_s <= 0 or not settings.REDIS_URL:
        return None
    wait = _queue_wait.fresh()
    if wait is None:
        wait = await sync_to_async(_queue_wait.read, thread_sensitive=False)()
    return None if wait <= threshold_s else min(RETRY_AFTER_MAX_S, max(1, math.ceil(wait)))


class _QueueWait:
    """How long a message queued now would wait for a worker: the longest wait of those not answered yet (in a
    worker's batch or unread), or the time the workers need to read the unread ones at the pace they read over the
    last RATE_WINDOW_S, whichever is longer (in a burst the queue grows faster than its oldest entry ages). Read
    from Redis at most every QUEUE_AGE_READ_EVERY_S per process; its sockets share the reading."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = -math.inf
        self._wait = 0.0
        self._paces: deque[tuple[float, int]] = deque()  # (monotonic time, the group's entries-read)

    def fresh(self) -> float | None:
        return self._wait if time.monotonic() - self._read_at < QUEUE_AGE_READ_EVERY_S else None

    def read(self) -> float:
        with self._lock:  # threads that queued behind a read take its result
            if (wait := self.fresh()) is not None:
                return wait
            try:
                self._wait = self._expected(inference.queue_state(), time.monotonic())
            except (RedisError, OSError) as error:
                # Fail open, as the rate limits do: with Redis down nothing can be queued to measure, and the
                # message is still stored in PostgreSQL and answered once Redis is back.
                logger.warning("answer queue not read, Redis unreachable: %s", error)
                self._wait = 0.0
            self._read_at = time.monotonic()
            return self._wait

    def _expected(self, state: inference.QueueState, now: float) -> float:
        if state.read is None or state.waiting is None:
            return state.age_s
        while self._paces and now - self._paces[0][0] > RATE_WINDOW_S:
            self._paces.popleft()
        self._paces.append((now, state.read))
        since, read_then = self._paces[0]
        if now - since < RATE_WINDOW_S / 2 or state.read <= read_then:
            return state.age_s  # too short a look, or the workers read nothing meanwhile: the age says it all
        return max(state.age_s, state.waiting * (now - since) / (state.read - read_then))


_queue_wait = _QueueWait()
