"""Reads for health and metrics: a few cheap queries on the indexed columns, run at scrape or probe time."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, Min

from conversations.models import Message
from intents.models import Bot, ModelVersion


@dataclass(frozen=True)
class ProductionModel:
    bot_id: int
    bot: str
    version: int
    artifact_path: str
    version_id: int


def database_ping() -> None:
    """One round trip to the database; raises the driver's error when it is unreachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def production_models() -> list[ProductionModel]:
    return [
        ProductionModel(bot_id=v.bot_id, bot=v.bot.slug, version=v.version, artifact_path=v.artifact_path,
                        version_id=v.pk)  # fmt: skip
        for v in ModelVersion.objects.filter(stage=ModelVersion.Stage.PRODUCTION).select_related("bot")
    ]


def bots_without_model() -> list[str]:
    with_model = ModelVersion.objects.filter(stage=ModelVersion.Stage.PRODUCTION).values("bot_id")
    return list(Bot.objects.exclude(pk__in=with_model).order_by("slug").values_list("slug", flat=True))


def bot_slugs() -> dict[int, str]:
    return dict(Bot.objects.values_list("pk", "slug"))


def pending_turns() -> tuple[int, datetime | None]:
    """User messages still waiting for their answer, and when the oldest arrived (partial index on pending)."""
    row = Message.objects.filter(status=Message.Status.PENDING, role=Message.Role.USER).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    return row["count"], row["oldest"]
