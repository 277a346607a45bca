import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from conversations import inference
from conversations.batching import messages_answer_batch
from intents.classifier import configure_threads

logger = logging.getLogger(__name__)
IDLE_BLOCK_MS = 1000  # how long an idle worker waits on Redis before checking for a stop signal


class Command(BaseCommand):
    help = "Answer queued user messages in micro-batches (CHARLA_INFERENCE_BATCH=1). Run one per CPU core."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=settings.CHARLA_INFERENCE_BATCH_SIZE)
        parser.add_argument("--wait-ms", type=int, default=settings.CHARLA_INFERENCE_BATCH_WAIT_MS,
                            help="after the first message, wait this long for the batch to fill")  # fmt: skip
        parser.add_argument("--claim-idle", type=int, default=settings.CHARLA_INFERENCE_CLAIM_IDLE,
                            help="take over entries another worker left unacknowledged this many seconds")  # fmt: skip

    def handle(self, *args, batch_size: int, wait_ms: int, claim_idle: int, **options) -> None:
        if not settings.REDIS_URL:
            raise CommandError("answer_worker needs REDIS_URL: batched answers are queued on a Redis stream.")
        configure_threads(settings.CHARLA_TORCH_THREADS)
        stopping: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
        inference.group_ensure()
        consumer = inference.consumer_name()
        logger.info("answer worker %s: batches of up to %d, wait %d ms", consumer, batch_size, wait_ms)
        next_claim = 0.0
        while not stopping:
            if time.monotonic() >= next_claim:
                entries = inference.entries_claim(consumer=consumer, idle_s=claim_idle, count=batch_size)
                next_claim = time.monotonic() + max(1, claim_idle / 2)
            else:
                entries = self._collect(consumer, batch_size, wait_ms)
            if entries:
                self._answer(entries)

    def _collect(self, consumer: str, batch_size: int, wait_ms: int) -> list[inference.Entry]:
        """Whatever queued while the last batch ran, topped up for `wait_ms` when the batch is not full."""
        entries = inference.entries_read(consumer=consumer, count=batch_size, block_ms=IDLE_BLOCK_MS)
        if entries and wait_ms > 0 and len(entries) < batch_size:
            deadline = time.monotonic() + wait_ms / 1000
            while len(entries) < batch_size and (left := deadline - time.monotonic()) > 0:
                more = inference.entries_read(consumer=consumer, count=batch_size - len(entries),
                                              block_ms=max(1, int(left * 1000)))  # fmt: skip
                entries += more
        return entries

    def _answer(self, entries: list[inference.Entry]) -> None:
        close_old_connections()
        retry = messages_answer_batch(entries=entries)
        inference.entries_requeue(retry)
        inference.entries_done([entry for entry in entries if entry not in retry])
        if retry and len(retry) == len(entries):
            time.sleep(0.01)  # only waiting turns: let the worker holding their earlier turns commit first
