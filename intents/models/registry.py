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
    hyperparameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500)
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
