"""Batch prediction jobs: a file of texts classified by workers on the `batch` queue, each result kept with its item."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from .bots import Bot
from .registry import ModelVersion


class PredictionJob(models.Model):
    """A list of texts to classify with one model version, pinned when the job is registered.

    `done_items` is raised in the same transaction that writes a chunk's results, by the number of rows written,
    so it always equals the number of items holding a result.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="prediction_jobs")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="+",
        help_text="The production version when the job was registered: every item is classified by it.",
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_items = models.PositiveIntegerField()
    done_items = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=200, blank=True, help_text="Uploaded file name, or blank for a JSON body.")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    progressed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a chunk's results were last written: the sweep's sign of life."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(done_items__lte=models.F("total_items")), name="prediction_job_done_le_total"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bot.slug} prediction job {self.pk} ({self.status})"

    @property
    def percent(self) -> float:
        return round(100 * self.done_items / self.total_items, 1) if self.total_items else 100.0


class PredictionItem(models.Model):
    """One text of a job and, once a worker wrote it, its prediction.

    A worker claims a chunk of items (`claim`, `claimed_until`) and writes their results only while they still
    carry its claim and have none: a claim that expired and was taken over can no longer write.
    """

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(PredictionJob, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(help_text="0-based place of the text in the submitted list.")
    external_id = models.CharField(max_length=200, blank=True, help_text="The caller's own id for the row, if given.")
    text = models.TextField()
    claim = models.CharField(max_length=80, blank=True, help_text="worker host:pid:token holding the item's chunk.")
    claimed_until = models.DateTimeField(null=True, blank=True)
    claims = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker claimed the item.")
    intent = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    out_of_scope = models.BooleanField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True)
    written_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="prediction_item_unique_position"),
            models.CheckConstraint(
                condition=Q(written_at=None) | (Q(confidence__isnull=False) & Q(out_of_scope__isnull=False)),
                name="prediction_item_written_has_result",
            ),
        ]
        # The claim query scans only a job's unwritten items.
        indexes = [
            models.Index(fields=["job", "position"], condition=Q(written_at=None), name="prediction_item_unwritten"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.position}"
