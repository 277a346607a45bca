"""Selectors of the analytics dashboard: a bot's traffic over a date range, aggregated inside PostgreSQL.

One statement groups the visitors' messages by day, intent, language and model version (GROUPING SETS) with
counts per outcome and mean confidence; a second one takes answer latency percentiles (`percentile_cont`) per
day and over the range; both read the `message_user_stats` index alone. Conversations per day come from
`conversation_bot_created`.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate

from intents.models import Bot, ModelVersion

from ..models import Conversation, Message
from .inbox import day_start

MAX_DAYS = 366
TOP_INTENTS = 10


@dataclass
class Group:
    """Visitors' messages of one day, intent, language, model version, or all of them."""

    label: str
    key: object = None  # the day, intent, language or model version id grouped by
    messages: int = 0
    fallback: int = 0
    out_of_scope: int = 0
    handoff: int = 0
    confidence: float | None = None  # mean
    p50: float | None = None  # answer latency, seconds (days and the total only)
    p95: float | None = None
    conversations: int = 0  # started that day (days and the total only)

    def rate(self, count: int) -> float | None:
        return 100.0 * count / self.messages if self.messages else None

    @property
    def fallback_rate(self) -> float | None:
        return self.rate(self.fallback)

    @property
    def out_of_scope_rate(self) -> float | None:
        return self.rate(self.out_of_scope)

    @property
    def handoff_rate(self) -> float | None:
        return self.rate(self.handoff)


@dataclass
class Analytics:
    start: date
    end: date  # inclusive
    total: Group
    days: list[Group]  # every day of the range, oldest first, zeros included
    intents: list[Group]  # the TOP_INTENTS most predicted
    languages: list[Group]
    versions: list[Group]
    other_intents: int = 0  # messages of intents past the top ones
    day_dates: list[date] = field(default_factory=list)


def analytics_supported() -> bool:
    """The aggregations are PostgreSQL's (GROUPING SETS, percentile_cont); the embedded SQLite default has none."""
    return connection.vendor == "postgresql"


def bot_analytics(*, bot: Bot, start: date, end: date) -> Analytics:
    """The bot's visitors' messages and conversations from `start` to `end` (inclusive, site time zone)."""
    if end < start or (end - start).days >= MAX_DAYS:
        raise ValueError(f"A range is 1 to {MAX_DAYS} days, start before end.")
    since, until = day_start(start), day_start(end + timedelta(days=1))
    groups = _message_groups(bot_id=bot.pk, since=since, until=until)
    total = groups.get(("total", None)) or Group(label="all")
    dates = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    days = [groups.get(("day", day)) or Group(label=day.isoformat()) for day in dates]
    started = (
        Conversation.objects.filter(bot=bot, created_at__gte=since, created_at__lt=until)
        .annotate(day=TruncDate("created_at")).values("day").annotate(n=Count("pk")).values_list("day", "n")
    )  # fmt: skip
    per_day = dict(started)
    for day, group in zip(dates, days, strict=True):
        group.conversations = per_day.get(day, 0)
    total.conversations = sum(per_day.values())
    intents = sorted((g for (kind, _), g in groups.items() if kind == "intent"), key=lambda g: (-g.messages, g.label))
    numbers = dict(ModelVersion.objects.filter(bot=bot).values_list("pk", "version"))
    versions = [g for (kind, _), g in groups.items() if kind == "version"]
    for group in versions:  # labelled by id in SQL; "v3" here (a deleted version's messages say "none")
        group.label = f"v{numbers[group.key]}" if group.key in numbers else "none"
    return Analytics(
        start=start, end=end, total=total, days=days, day_dates=dates, intents=intents[:TOP_INTENTS],
        other_intents=sum(g.messages for g in intents[TOP_INTENTS:]),
        languages=sorted((g for (kind, _), g in groups.items() if kind == "language"), key=lambda g: -g.messages),
        versions=sorted(versions, key=lambda g: numbers.get(g.key, 0)),
    )  # fmt: skip


def _message_groups(*, bot_id: int, since, until) -> dict[tuple[str, object], Group]:
    params = {"bot": bot_id, "since": since, "until": until, "tz": settings.TIME_ZONE, "user": Message.Role.USER}
    table = Message._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # Sorting and hashing 250,000 rows (30 days of a busy bot) spills to disk with the default 4 MB; JIT
        # compiling costs more than it saves on a query this size.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_COUNTS_SQL.format(message=table), params)
        counts = cursor.fetchall()
        cursor.execute(_LATENCY_SQL.format(message=table), params)
        latencies = {(grouping, key): (p50, p95) for grouping, key, (p50, p95) in cursor.fetchall()}
    groups: dict[tuple[str, object], Group] = {}
    for grouping, day, intent, language, version, messages, fallback, out_of_scope, handoff, confidence in counts:
        kind, key = {
            0b0111: ("day", day), 0b1011: ("intent", intent), 0b1101: ("language", language),
            0b1110: ("version", version), 0b1111: ("total", None),
        }[grouping]  # fmt: skip
        p50, p95 = latencies.get((kind, None if key is None else str(key)), (None, None))
        groups[(kind, key)] = Group(
            label="all" if kind == "total" else str(key), key=key, messages=messages, fallback=fallback,
            out_of_scope=out_of_scope, handoff=handoff, confidence=confidence, p50=p50, p95=p95,
        )  # fmt: skip
    return groups


_MESSAGES = """
    SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, intent, language, model_version_id, outcome, confidence,
           date_part('epoch', answered_at - created_at) AS latency
    FROM {message}
    WHERE bot_id = %(bot)s AND role = %(user)s AND created_at >= %(since)s AND created_at < %(until)s
"""
# GROUPING(day, intent, language, version) has a bit set for each column a row is NOT grouped by. Counts hash
# in one pass; percentiles sort (most of the page's time), so they are asked only per day and in all.
# date_part, not extract: extract returns numeric, whose sort is slower than a float's.
_COUNTS_SQL = f"""
SELECT GROUPING(day, intent, language, model_version_id), day, intent, language, model_version_id,
       count(*), count(*) FILTER (WHERE outcome = 'fallback'), count(*) FILTER (WHERE outcome = 'out_of_scope'),
       count(*) FILTER (WHERE outcome = 'handoff'), avg(confidence)
FROM ({_MESSAGES}) AS m
GROUP BY GROUPING SETS ((day), (intent), (language), (model_version_id), ())
"""
_LATENCY_SQL = f"""
SELECT CASE GROUPING(day) WHEN 0 THEN 'day' ELSE 'total' END, day::text,
       percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY latency)
FROM ({_MESSAGES}) AS m
GROUP BY GROUPING SETS ((day), ())
"""
