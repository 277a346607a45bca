from django.conf import settings
from django.db import models
from django.db.models import Q

from .bots import Bot


class ModelVersion(models.Model):
    class Stage(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        PRODUCTION = "production", "Production"
        ARCHIVED = "archived", "Archived"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="model_versions")
    version = models.PositiveIntegerField()
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.CANDIDATE)
    encoder = models.CharField(max_length=300)
    data_fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the training examples.")
    example_digests = models.JSONField(
        default=list, blank=True, editable=False,
        help_text="A short digest of each training example (intent, language, text), sorted: what the admin compares "
        "with the previous version to count examples added and removed.",
    )
    hyperparameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500)
    evaluation = models.JSONField(
        default=dict, blank=True, help_text="Report on examples the model never saw (cross-validation for a bot)."
    )
    evaluated_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bot", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "version"], name="model_version_unique_per_bot"),
            models.UniqueConstraint(
                fields=["bot"], condition=Q(stage="production"), name="one_production_model_per_bot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bot.slug} v{self.version} ({self.stage})"


class TrainingJob(models.Model):
    """One training run requested from the admin, executed by a worker on the `training` queue."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Requested by staff"
        SCHEDULED = "scheduled", "Nightly retraining"

    class Promotion(models.TextChoices):
        NEVER = "never", "Leave it a candidate"
        ALWAYS = "always", "Make it production"
        IF_NOT_WORSE = "if_not_worse", "Make it production if its accuracy is not lower than production's"

    class Decision(models.TextChoices):
        PROMOTED = "promoted", "Promoted"
        KEPT = "kept", "Kept production"
        CANDIDATE = "candidate", "Left a candidate"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="training_jobs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=40, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    promotion = models.CharField(
        max_length=16, choices=Promotion.choices, default=Promotion.NEVER,
        help_text="What to do with the new version once it is evaluated.",
    )  # fmt: skip
    version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    decision_reason = models.TextField(blank=True)
    candidate_accuracy = models.FloatField(null=True, blank=True, help_text="Cross-validated accuracy, percent.")
    production_accuracy = models.FloatField(
        null=True, blank=True, help_text="Cross-validated accuracy of the production version when it was decided."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker running it; a silent job is failed."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="training_job_progress_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.bot.slug} training #{self.pk} ({self.status})"
