"""The dashboard's charts, drawn from a bot's Analytics."""

from django.utils.safestring import SafeString

from .analytics import Analytics, Group
from .charts import Series, bar_list, daily_chart


def dashboard_charts(analytics: Analytics) -> dict[str, SafeString]:
    days, total = analytics.day_dates, analytics.total.messages or 1

    def per_day(value) -> list[float | None]:
        return [value(day) if day.messages else None for day in analytics.days]

    def share(group: Group) -> str:
        return f"{group.messages:,} · {100 * group.messages / total:.1f} %"

    return {
        "traffic": daily_chart(title="Conversations and visitor messages per day", days=days, series=[
            Series("messages", [day.messages for day in analytics.days], "s1"),
            Series("conversations", [day.conversations for day in analytics.days], "s2", "line"),
        ]),
        "rates": daily_chart(title="Fallback, out-of-scope and handoff rate per day", days=days, unit="%", series=[
            Series("fell back", per_day(lambda d: d.fallback_rate), "s3", "line"),
            Series("out of scope", per_day(lambda d: d.out_of_scope_rate), "s4", "line"),
            Series("handoff", per_day(lambda d: d.handoff_rate), "s5", "line"),
        ]),
        "latency": daily_chart(title="Answer latency per day", days=days, unit="s", series=[
            Series("p50", per_day(lambda d: d.p50), "s1", "line"),
            Series("p95", per_day(lambda d: d.p95), "s6", "line"),
        ]),
        "intents": bar_list(title="Top predicted intents", rows=[
            (group.label, group.messages, share(group)) for group in analytics.intents
        ]),
        "languages": bar_list(title="Languages", css="s2", rows=[
            (group.label, group.messages, share(group)) for group in analytics.languages
        ]),
    }  # fmt: skip
