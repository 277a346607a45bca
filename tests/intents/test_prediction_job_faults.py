"""A batch worker SIGKILLed mid-chunk loses nothing: after the lease its chunk is claimed again by another worker,
and every item ends with exactly one result."""

import os
import signal
import time

import pytest

from intents.models import PredictionItem, PredictionJob
from tests.live import stack_env, start_worker, stop, wait_for_log

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_killed_mid_chunk_leaves_its_chunk_to_another_worker_and_no_item_is_written_twice(
    trained_demo_bot, stack_logs, settings
):
    """Worker A claims the first chunk and is SIGKILLed before classifying it; worker B, started afterwards, does
    the other chunks and, once A's 3 s lease has expired, claims A's chunk again. Each item has one result, the
    job's count (raised by the rows each write changed) equals the items written, and A's claim wrote nothing."""
    from intents.batch_input import BatchText
    from intents.services import prediction_job_create

    settings.CHARLA_BATCH_CHUNK_SIZE = 8  # here too: the submitter queues one task per chunk, up to 4
    env = stack_env({"CHARLA_BATCH_CHUNK_SIZE": "8", "CHARLA_BATCH_LEASE_SECONDS": "3"})
    log = stack_logs / "killed-batch-worker.log"
    start = log.stat().st_size if log.exists() else 0
    dead = start_worker("batch-dead", {**env, "CHARLA_FAULT_BATCH_CHUNK_DELAY_MS": "600000"}, log, queues="batch")
    try:
        job = prediction_job_create(
            bot=trained_demo_bot, texts=[BatchText(f"where is my order {n}?") for n in range(20)]
        )
        line = wait_for_log(log, "fault injection: batch chunk of 8 delayed", start, timeout=120)
        assert f"pid {dead.pid}" in line  # solo pool: the worker process itself holds the chunk
        os.kill(dead.pid, signal.SIGKILL)
        dead.wait(timeout=20)
        killed_at = time.time()
    finally:
        stop(dead)
    held = PredictionItem.objects.filter(job=job, claim__contains=f":{dead.pid}:")
    assert sorted(held.values_list("position", flat=True)) == list(range(8))
    assert not held.filter(written_at__isnull=False).exists()

    successor = start_worker("batch-successor", env, stack_logs / "successor-batch-worker.log", queues="batch")
    try:
        deadline = time.monotonic() + 180
        while (job := PredictionJob.objects.get(pk=job.pk)).status == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop(successor)
    items = list(PredictionItem.objects.filter(job=job).order_by("position"))
    assert (job.status, job.done_items, job.total_items) == ("done", 20, 20)
    assert all(item.written_at and item.intent == "order_status" for item in items)
    assert all(f":{successor.pid}:" in item.claim for item in items)
    assert [item.claims for item in items] == [2] * 8 + [1] * 12  # the dead chunk was claimed twice, written once
    assert all(item.written_at.timestamp() > killed_at for item in items[:8])

