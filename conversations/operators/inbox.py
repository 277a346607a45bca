"""Selectors of the operators' inbox: a bot's user messages it did not handle well, not reviewed yet."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from ..models import Message

# Messages the bot fell back on, rejected, or handed over are always to review; others below a threshold too.
NEEDS_REVIEW = [Message.Outcome.FALLBACK, Message.Outcome.OUT_OF_SCOPE, Message.Outcome.HANDOFF]


@dataclass(frozen=True)
class InboxFilters:
    """What the operator narrowed the inbox to; None: not narrowed."""

    bot_id: int | None = None
    threshold: float | None = None  # None: each message's bot's own confidence threshold
    reason: str | None = None  # an Outcome, or "low_confidence" (answered, below the threshold)
    language: str | None = None
    intent: str | None = None
    model_version_id: int | None = None
    since: date | None = None
    until: date | None = None  # inclusive


LOW_CONFIDENCE = "low_confidence"


def inbox_messages(*, filters: InboxFilters) -> QuerySet[Message]:
    """Unreviewed user messages that fell back, were out of scope, led to a handoff, or had a confidence below
    the threshold, newest first. The bot, dates and columns tested all come from the `message_user_stats` index;
    only the page shown reads the rows."""
    threshold = F("bot__confidence_threshold") if filters.threshold is None else filters.threshold
    low = Q(outcome=Message.Outcome.ANSWERED, confidence__lt=threshold)
    reasons = {LOW_CONFIDENCE: low, **{outcome: Q(outcome=outcome) for outcome in NEEDS_REVIEW}}
    wanted = reasons[filters.reason] if filters.reason else Q(outcome__in=NEEDS_REVIEW) | low
    messages = Message.objects.filter(wanted, role=Message.Role.USER, reviewed_at__isnull=True)
    narrowing = {
        "bot_id": filters.bot_id, "language": filters.language, "intent": filters.intent,
        "model_version_id": filters.model_version_id,
        "created_at__gte": day_start(filters.since) if filters.since else None,
        "created_at__lt": day_start(filters.until + timedelta(days=1)) if filters.until else None,
    }  # fmt: skip
    messages = messages.filter(**{key: value for key, value in narrowing.items() if value is not None})
    # A version's row holds its evaluation and example digests (hundreds of kB for a large bot): not per row.
    heavy = ("evaluation", "example_digests", "metrics", "hyperparameters")
    messages = messages.select_related("bot", "model_version").defer(*(f"model_version__{name}" for name in heavy))
    return messages.order_by("-created_at", "-pk")


def day_start(day: date) -> datetime:
    """Midnight of `day` in the site's time zone: date filters compare the indexed column, never a cast of it."""
    return timezone.make_aware(datetime.combine(day, time.min))
