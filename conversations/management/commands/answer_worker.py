import logging
import signal
import time

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from conversations import inference
from conversations.services import messages_answer_batch
from intents.classifier import configure_threads
from intents.services import models_load_production

logger = logging.getLogger(__name__)
IDLE_BLOCK_MS = 1000  # how long an idle worker waits on Redis before checking for a stop signal or a promotion
OUTAGE_PAUSE_S = 1.0  # after Redis or the database failed, before trying again


class Command(BaseCommand):
    help = (
        "Answer queued user messages in micro-batches from the Redis stream: the answer path whenever REDIS_URL "
        "is set. Loads every bot's production model before it takes work. Run one per CPU core."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=settings.CHARLA_INFERENCE_BATCH_SIZE)
        parser.add_argument("--wait-ms", type=int, default=settings.CHARLA_INFERENCE_BATCH_WAIT_MS,
                            help="after the first message, wait this long for the batch to fill")  # fmt: skip
        parser.add_argument("--claim-idle", type=int, default=settings.CHARLA_INFERENCE_CLAIM_IDLE,
                            help="take over entries another worker left unacknowledged this many seconds")  # fmt: skip

    def handle(self, *args, batch_size: int, wait_ms: int, claim_idle: int, **options) -> None:
        if not settings.REDIS_URL:
            raise CommandError("answer_worker needs REDIS_URL: it reads the answer stream on Redis. Without Redis, "
                               "answers are made in the web process.")  # fmt: skip
        configure_threads(settings.CHARLA_TORCH_THREADS)
        stopping: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
        self.consumer = inference.consumer_name()
        self.versions = models_load_production()  # before the first entry: no visitor waits for a model to load
        self.ready_at = time.time()
        logger.info("answer worker %s ready: model versions %s; batches of up to %d, wait %d ms",
                    self.consumer, self.versions, batch_size, wait_ms)  # fmt: skip
        self.next_beat = next_claim = 0.0
        try:
            while not stopping:
                try:
                    self._beat()
                    if time.monotonic() >= next_claim:
                        entries = inference.entries_claim(consumer=self.consumer, idle_s=claim_idle, count=batch_size)
                        next_claim = time.monotonic() + max(1, claim_idle / 2)
                        if entries:
                            logger.warning("answer worker %s: claimed %d entries another worker left unacknowledged",
                                           self.consumer, len(entries))  # fmt: skip
                    else:
                        entries = self._collect(batch_size, wait_ms)
                    if entries:
                        self._answer(entries, stopping)
                except redis.RedisError as error:
                    self._outage(error)
        finally:
            try:
                inference.heartbeat_end(consumer=self.consumer)
            except redis.RedisError:
                pass  # the heartbeat expires by itself

    def _beat(self) -> None:
        """Every HEARTBEAT_EVERY_S: load a newly promoted version before any message needs it (the hot swap), then
        say so in the heartbeat. A database outage keeps the versions held and the heartbeat going."""
        if time.monotonic() < self.next_beat:
            return
        self.next_beat = time.monotonic() + inference.HEARTBEAT_EVERY_S
        try:
            close_old_connections()
            versions = models_load_production()
        except DatabaseError as error:
            logger.warning("answer worker %s: the database is unreachable (%s)", self.consumer, error)
            versions = self.versions
        if versions != self.versions:
            logger.info("answer worker %s: model versions %s loaded", self.consumer, versions)
        self.versions = versions
        inference.group_ensure()  # a Redis that restarted empty lost the group
        inference.heartbeat(consumer=self.consumer, ready_at=self.ready_at, versions=self.versions)

    def _collect(self, batch_size: int, wait_ms: int) -> list[inference.Entry]:
        """Whatever queued while the last batch ran, topped up for `wait_ms` when the batch is not full."""
        entries = inference.entries_read(consumer=self.consumer, count=batch_size, block_ms=IDLE_BLOCK_MS)
        if entries and wait_ms > 0 and len(entries) < batch_size:
            deadline = time.monotonic() + wait_ms / 1000
            while len(entries) < batch_size and (left := deadline - time.monotonic()) > 0:
                more = inference.entries_read(consumer=self.consumer, count=batch_size - len(entries),
                                              block_ms=max(1, int(left * 1000)))  # fmt: skip
                entries += more
        return entries

    def _answer(self, entries: list[inference.Entry], stopping: list[int]) -> None:
        """Answer the entries, trying again while the database is unreachable (its transaction rolled back, so a
        retry stores each answer once); entries are acknowledged only once their answers have committed.

        No connection health check per batch (Django's costs a `SELECT 1` round trip after each
        close_old_connections): a connection that broke while idle fails the batch's first statement, and
        _outage closes it before the retry. _beat checks it, and ends it past CONN_MAX_AGE, every few seconds."""
        while True:
            try:
                retry = messages_answer_batch(entries=entries)
                break
            except DatabaseError as error:
                if stopping:
                    return  # unacknowledged: another worker claims them after --claim-idle seconds
                self._outage(error)
        inference.entries_requeue(retry)
        inference.entries_done([entry for entry in entries if entry not in retry])
        if retry and len(retry) == len(entries):
            time.sleep(0.01)  # only waiting turns: let the worker holding their earlier turns commit first

    def _outage(self, error: Exception) -> None:
        logger.warning("answer worker %s: %s; trying again in %.0f s", self.consumer, error, OUTAGE_PAUSE_S)
        self.next_beat = 0.0  # then ensure the consumer group first: a Redis that restarted empty lost it
        close_old_connections()
        time.sleep(OUTAGE_PAUSE_S)
