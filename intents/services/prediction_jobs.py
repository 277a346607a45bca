"""Batch prediction jobs: register texts, let workers claim chunks under a lease, write each result with its item.

Exactly once per item, whatever dies when: a chunk is claimed with `FOR UPDATE SKIP LOCKED` (concurrent workers
take different chunks) and leased for CHARLA_BATCH_LEASE_SECONDS; its results are written in one statement
only to items that still carry this claim and have no result. A worker killed mid-chunk leaves its claim to
expire; the chunk is then claimed again, and the dead claim can never write. PostgreSQL only (COPY, SKIP LOCKED).
"""

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..batch_input import BatchText
from ..models import Bot, PredictionItem, PredictionJob
from ..selectors import production_version_for_bot
from .prediction import NoModelError, intent_predict_batch

logger = logging.getLogger(__name__)

ITEMS = PredictionItem._meta.db_table
JOBS = PredictionJob._meta.db_table
ACTIVE = (PredictionJob.Status.QUEUED, PredictionJob.Status.RUNNING)


class BatchUnsupportedError(RuntimeError):
    """Batch jobs need PostgreSQL (COPY, FOR UPDATE SKIP LOCKED); the embedded SQLite default has neither."""


@dataclass(frozen=True)
class ClaimedItem:
    id: int
    position: int
    text: str


def prediction_job_create(
    *, bot: Bot, texts: list[BatchText], requested_by_id: int | None = None, source: str = ""
) -> PredictionJob:
    """Register a job and its items in one transaction (items by COPY), pinned to the bot's production version;
    CHARLA_BATCH_PARALLELISM work tasks (at most one per chunk) leave after commit."""
    from ..tasks import prediction_job_work

    if connection.vendor != "postgresql":
        raise BatchUnsupportedError("Batch prediction jobs need PostgreSQL: set DATABASE_URL.")
    version = production_version_for_bot(bot_id=bot.pk)
    if version is None:
        raise NoModelError(f"Bot '{bot.slug}' has no production model yet: train one first.")
    with transaction.atomic():
        job = PredictionJob.objects.create(
            bot=bot, model_version=version, total_items=len(texts), requested_by_id=requested_by_id, source=source
        )
        with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {ITEMS} (job_id, position, external_id, text, claim, claims, intent, language) FROM STDIN"
        ) as copy:
            for position, row in enumerate(texts):
                copy.write_row((job.pk, position, row.external_id, row.text, "", 0, "", ""))
        chunks = -(-len(texts) // settings.CHARLA_BATCH_CHUNK_SIZE)
        for _ in range(min(settings.CHARLA_BATCH_PARALLELISM, chunks)):
            prediction_job_work.delay_on_commit(str(job.pk))
    return job


def prediction_job_cancel(*, job: PredictionJob) -> PredictionJob:
    """Stop a queued or running job: no chunk is claimed any more; results already written stay."""
    PredictionJob.objects.filter(pk=job.pk, status__in=ACTIVE).update(
        status=PredictionJob.Status.CANCELLED, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def prediction_job_work(*, job_id: uuid.UUID | str) -> float | None:
    """Claim, classify and write chunks of the job until none is left to claim.

    Returns None when nothing is left for anyone, else the seconds until the earliest lease held by another
    worker expires (the caller tries again then: that worker may have died).
    """
    job = PredictionJob.objects.filter(pk=job_id).first()
    if job is None or job.status not in ACTIVE:
        return None
    PredictionJob.objects.filter(pk=job.pk, status=PredictionJob.Status.QUEUED).update(
        status=PredictionJob.Status.RUNNING, started_at=timezone.now()
    )
    while chunk := _claim(job.pk):
        claim, items = chunk
        _fault_chunk_delay(len(items))
        try:
            predictions, _ = intent_predict_batch(
                bot_id=job.bot_id, texts=[item.text for item in items], version_id=job.model_version_id
            )
        except Exception as exc:
            logger.exception("prediction job %s failed", job.pk)
            _fail(job.pk, f"{type(exc).__name__}: {exc}")
            return None
        _write(job.pk, claim, items, predictions)
    return _seconds_to_next_expiry(job.pk)


def prediction_jobs_requeue_stalled(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Queue a work task for each active job with unwritten items and no progress for `older_than`: the safety
    net for a job whose every worker died (their tasks acknowledged or lost). How many were queued."""
    from ..tasks import prediction_job_work

    limit = (now or timezone.now()) - older_than
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT j.id FROM {JOBS} j WHERE j.status = ANY(%s) AND COALESCE(j.progressed_at, j.started_at, "
            f"j.created_at) < %s AND EXISTS (SELECT 1 FROM {ITEMS} i WHERE i.job_id = j.id AND i.written_at IS NULL "
            "AND (i.claimed_until IS NULL OR i.claimed_until < %s))",
            [list(ACTIVE), limit, now or timezone.now()],
        )
        stalled = [row[0] for row in cursor.fetchall()]
    for job_id in stalled:
        prediction_job_work.delay(str(job_id))
    return len(stalled)


def _claim(job_id: uuid.UUID) -> tuple[str, list[ClaimedItem]] | None:
    """Lease the job's first chunk of unwritten items that nobody holds (or whose lease expired)."""
    claim = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH picked AS (SELECT id FROM {ITEMS} WHERE job_id = %(job)s AND written_at IS NULL"
            " AND (claimed_until IS NULL OR claimed_until < now()) ORDER BY position LIMIT %(size)s"
            " FOR UPDATE SKIP LOCKED)"
            f" UPDATE {ITEMS} i SET claim = %(claim)s, claims = i.claims + 1,"
            " claimed_until = now() + %(lease)s * interval '1 second'"
            f" FROM picked WHERE i.id = picked.id AND EXISTS (SELECT 1 FROM {JOBS} WHERE id = %(job)s"
            " AND status = ANY(%(active)s)) RETURNING i.id, i.position, i.text",
            {"job": job_id, "size": settings.CHARLA_BATCH_CHUNK_SIZE, "claim": claim,
             "lease": settings.CHARLA_BATCH_LEASE_SECONDS, "active": list(ACTIVE)},
        )  # fmt: skip
        items = sorted((ClaimedItem(*row) for row in cursor.fetchall()), key=lambda item: item.position)
    return (claim, items) if items else None


def _write(job_id: uuid.UUID, claim: str, items: list[ClaimedItem], predictions: list) -> int:
    """One statement: the results of the items that still carry `claim` and have none, and the job's count
    raised by exactly the rows written (done when it reaches the total). Rows written."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH written AS (UPDATE {ITEMS} i SET intent = r.intent, confidence = r.confidence,"
            " out_of_scope = r.oos, language = r.language, written_at = now(), claimed_until = NULL"
            " FROM unnest(%(ids)s::bigint[], %(intents)s::text[], %(conf)s::float8[], %(oos)s::boolean[],"
            " %(langs)s::text[]) AS r(id, intent, confidence, oos, language)"
            " WHERE i.id = r.id AND i.claim = %(claim)s AND i.written_at IS NULL RETURNING 1),"
            " n AS (SELECT count(*)::int AS n FROM written)"
            f" UPDATE {JOBS} j SET done_items = j.done_items + n.n, progressed_at = now(),"
            " started_at = COALESCE(j.started_at, now()),"
            " status = CASE WHEN j.status = ANY(%(active)s) AND j.done_items + n.n >= j.total_items THEN 'done'"
            " WHEN j.status = 'queued' THEN 'running' ELSE j.status END,"
            " finished_at = CASE WHEN j.status = ANY(%(active)s) AND j.done_items + n.n >= j.total_items THEN now()"
            " ELSE j.finished_at END FROM n WHERE j.id = %(job)s RETURNING n.n",
            {"ids": [item.id for item in items], "intents": [p.intent for p in predictions],
             "conf": [float(p.confidence) for p in predictions], "oos": [bool(p.out_of_scope) for p in predictions],
             "langs": [p.language for p in predictions], "claim": claim, "job": job_id, "active": list(ACTIVE)},
        )  # fmt: skip
        row = cursor.fetchone()
    written = row[0] if row else 0  # no row: the job was deleted meanwhile
    if written < len(items) and row:
        logger.warning("prediction job %s: %d of %d items of claim %s were taken over; not written again",
                       job_id, len(items) - written, len(items), claim)  # fmt: skip
    return written


def _seconds_to_next_expiry(job_id: uuid.UUID) -> float | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXTRACT(EPOCH FROM min(claimed_until) - now()) FROM {ITEMS} i JOIN {JOBS} j ON j.id = i.job_id"
            " WHERE i.job_id = %s AND i.written_at IS NULL AND j.status = ANY(%s)",
            [job_id, list(ACTIVE)],
        )
        seconds = cursor.fetchone()[0]
    return None if seconds is None else max(0.0, float(seconds))


def _fail(job_id: uuid.UUID, error: str) -> None:
    PredictionJob.objects.filter(pk=job_id, status__in=ACTIVE).update(
        status=PredictionJob.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def _fault_chunk_delay(size: int) -> None:
    """CHARLA_FAULT_BATCH_CHUNK_DELAY_MS: a pause between claiming a chunk and classifying it, for fault tests."""
    delay = settings.CHARLA_FAULT_BATCH_CHUNK_DELAY_MS
    if delay:
        logger.warning("fault injection: batch chunk of %d delayed %d ms in pid %d", size, delay, os.getpid())
        time.sleep(delay / 1000)
