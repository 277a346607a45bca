"""Server-side SVG charts for the dashboard: no script, no inline style (the pages' CSP allows neither), colours
from classes in static/operators/operators.css, every text escaped. The same numbers are also shown as tables."""

import math
from dataclasses import dataclass
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 1100, 280
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 48, 28


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]  # one per day; None: no data that day (a gap in a line)
    css: str  # s1…s6 in operators.css
    kind: str = "bar"  # "bar" or "line"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above `value`: the top of an axis."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def daily_chart(*, title: str, days: list[date], series: list[Series], unit: str = "") -> SafeString:
    """Bars and lines over days, one shared y axis from zero."""
    top = nice_ceiling(max((v for s in series for v in s.values if v is not None), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(days))
    bars = [s for s in series if s.kind == "bar"]

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [_grid(top, unit, y)]
    for index, bar in enumerate(bars):
        width = max(1.0, slot * 0.8 / len(bars))
        parts += [
            format_html('<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{} {}: {}</title></rect>',
                        bar.css, _px(LEFT + n * slot + slot * 0.1 + index * width), _px(y(v)), _px(width),
                        _px(TOP + plot_h - y(v)), day.isoformat(), bar.name, _number(v, unit))  # fmt: skip
            for n, (day, v) in enumerate(zip(days, bar.values, strict=True)) if v
        ]
    for line in (s for s in series if s.kind == "line"):
        points = [(LEFT + n * slot + slot / 2, y(v)) for n, v in enumerate(line.values) if v is not None]
        if points:
            path = " ".join(f"{x:.1f},{py:.1f}" for x, py in points)
            parts.append(format_html('<polyline class="{} line" points="{}" fill="none"/>', line.css, path))
    step = max(1, math.ceil(len(days) / 12))
    parts += [
        format_html('<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                    _px(LEFT + n * slot + slot / 2), HEIGHT - 8, day.strftime("%d %b"))  # fmt: skip
        for n, day in enumerate(days) if n % step == 0
    ]
    return _svg(title, series, mark_safe("".join(parts)))


def bar_list(*, title: str, rows: list[tuple[str, float, str]], css: str = "s1") -> SafeString:
    """Horizontal bars, one row per (label, value, text shown after the bar), longest first as given."""
    top = max((value for _, value, _ in rows), default=0) or 1
    row_h, label_w, width, bar_w, head = 24, 120, 480, 220, 30
    height = head + row_h * max(1, len(rows)) + 4
    bars = format_html_join(
        "",
        '<text class="label" x="{}" y="{}" text-anchor="end">{}</text>'
        '<rect class="{}" x="{}" y="{}" width="{}" height="16" rx="2"><title>{}: {}</title></rect>'
        '<text class="value" x="{}" y="{}">{}</text>',
        (
            (label_w - 8, head + n * row_h + 13, label[:18], css, label_w, head + n * row_h,
             _px(max(1.0, bar_w * value / top)), label, text, _px(label_w + max(1.0, bar_w * value / top) + 6),
             head + n * row_h + 13, text)
            for n, (label, value, text) in enumerate(rows)
        ),
    )  # fmt: skip
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}"><text class="title" x="0" y="16">{}</text>'
        "{}</svg>", width, height, title, title, bars,
    )  # fmt: skip


def _grid(top: float, unit: str, y) -> SafeString:
    ticks = [top * n / 4 for n in range(5)]
    return format_html_join(
        "",
        '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
        ((LEFT, WIDTH - RIGHT, _px(y(t)), _px(y(t)), LEFT - 6, _px(y(t) + 4), _number(t, unit)) for t in ticks),
    )


def _svg(title: str, series: list[Series], body: SafeString) -> SafeString:
    legend = format_html_join(
        "",
        '<rect class="{}" x="{}" y="26" width="12" height="12" rx="2"/><text class="legend" x="{}" y="36">{}</text>',
        ((s.css, 120 * n, 120 * n + 17, s.name) for n, s in enumerate(series)),
    )  # fmt: skip
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}"><text class="title" x="0" y="16">{}</text>'
        "{}{}</svg>", WIDTH, HEIGHT, title, title, legend, body,
    )  # fmt: skip


def _px(value: float) -> str:
    return f"{value:.1f}"


def _number(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f} %" if value >= 10 or value == 0 else f"{value:.1f} %"
    if unit == "s":
        return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"
    return f"{value:,.0f}" if value >= 1 or value == 0 else f"{value:.2f}"
