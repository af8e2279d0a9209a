"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, readable without colour.

Every chart has a ``<title>`` and a ``<desc>`` that say in words what it shows (screen
readers announce them through ``aria-labelledby``), each bar and cell has its own
``<title>`` with its figures, and the page keeps the same numbers in a table beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PRIMARY = "#0d6efd"
MUTED = "#adb5bd"
EMPTY = "#f1f3f5"
FONT = 'font-family="system-ui, sans-serif"'


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]
    color: str


def _nice_ceiling(value: float) -> float:
    """A round axis maximum at least ``value`` (and at least 1): 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8
    times a power of ten."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if value <= step * power)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _compact(value: float) -> str:
    """A number that fits a heat-map cell: 980, 1.5k, 12k."""
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return _number(value)


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" class="report-chart" '
        f'preserveAspectRatio="xMinYMin meet" {FONT}>',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: list[str],
    series: list[Series],
    width: int = 760,
    height: int = 240,
) -> SafeString:
    """Stacked bars, one per label; the first series at the bottom."""
    left, right, top, bottom = 44, 8, 24, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top_value = _nice_ceiling(max(totals, default=0))
    parts = _open(chart_id, title, description, width, height)

    for fraction in (0, 0.5, 1):  # horizontal grid lines with their values
        y = top + plot_h - fraction * plot_h
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dee2e6"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#495057">'
            f"{_number(top_value * fraction)}</text>"
        )
    slot = plot_w / max(len(labels), 1)
    bar_w = max(slot * 0.8, 1)
    label_every = max(1, math.ceil(len(labels) / 12))
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        figures = ", ".join(f"{s.name} {_number(s.values[i])}" for s in series)
        parts.append(f"<g><title>{escape(label)}: {escape(figures)}</title>")
        for s in series:
            h = s.values[i] / top_value * plot_h
            y -= h
            if h > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{s.color}"/>'
                )
        # An invisible full-height target, so the tooltip works on short and empty bars too.
        parts.append(
            f'<rect x="{x:.1f}" y="{top}" width="{bar_w:.1f}" height="{plot_h}" fill="transparent"/></g>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
                f'text-anchor="middle" fill="#495057">{escape(label)}</text>'
            )
    legend_x = left
    for s in series:
        parts.append(f'<rect x="{legend_x}" y="6" width="10" height="10" fill="{s.color}"/>')
        parts.append(
            f'<text x="{legend_x + 14}" y="15" font-size="11" fill="#212529">{escape(s.name)}</text>'
        )
        legend_x += 24 + 7 * len(s.name)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def heat_map(
    *,
    chart_id: str,
    title: str,
    description: str,
    row_labels: list[str],
    column_labels: list[str],
    values: list[list[float | None]],
    cell_titles: list[list[str]],
    show_values: bool = True,
    maximum: float | None = None,
    value_format: str = "count",
    legend: str = "Lighter = fewer, darker = more",
) -> SafeString:
    """A grid whose darker cells hold larger values; ``None`` cells are drawn empty."""
    left, top, cell_w, cell_h = 84, 20, 27, 22
    width = left + cell_w * len(column_labels) + 4
    height = top + cell_h * len(row_labels) + 26
    present = [v for row in values for v in row if v is not None]
    maximum = maximum if maximum is not None else max(present, default=0)
    parts = _open(chart_id, title, description, width, height)
    for j, label in enumerate(column_labels):
        if j % 2 == 0:
            parts.append(
                f'<text x="{left + j * cell_w + cell_w / 2:.1f}" y="{top - 6}" font-size="10" '
                f'text-anchor="middle" fill="#495057">{escape(label)}</text>'
            )
    for i, label in enumerate(row_labels):
        y = top + i * cell_h
        parts.append(
            f'<text x="{left - 6}" y="{y + cell_h / 2 + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#212529">{escape(label)}</text>'
        )
        for j, value in enumerate(values[i]):
            x = left + j * cell_w
            if value is None:
                fill, text_fill = f'fill="{EMPTY}"', "#6c757d"
                strength = 0.0
            else:
                strength = value / maximum if maximum else 0.0
                fill = f'fill="{PRIMARY}" fill-opacity="{0.06 + 0.94 * strength:.2f}"'
                text_fill = "#ffffff" if strength > 0.55 else "#212529"
            parts.append(
                f'<g><title>{escape(cell_titles[i][j])}</title><rect x="{x}" y="{y}" width="{cell_w - 1}" '
                f'height="{cell_h - 1}" {fill}/>'
            )
            if show_values and value is not None and value > 0:
                shown = f"{value * 100:.0f}" if value_format == "rate" else _compact(value)
                parts.append(
                    f'<text x="{x + cell_w / 2 - 0.5:.1f}" y="{y + cell_h / 2 + 3.5:.1f}" font-size="9" '
                    f'text-anchor="middle" fill="{text_fill}">{shown}</text>'
                )
            parts.append("</g>")
    legend_y = top + cell_h * len(row_labels) + 16
    scale = "0 %–100 %" if value_format == "rate" else f"0–{_number(maximum)}"
    parts.append(
        f'<text x="{left}" y="{legend_y}" font-size="10" fill="#495057">'
        f"{escape(legend)} ({escape(scale)}).</text>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
