"""Charts drawn on the server as SVG, and the same figures as CSV.

The dashboard must work without internet access, so there is no chart library to load:
each chart is a small, accessible SVG (every bar carries a ``<title>`` with its exact value)
and every chart offers its data as CSV from the same rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

Number = int | float | Decimal

WIDTH = 640
BAR_HEIGHT = 22
PALETTE = ("#3b6fd8", "#e08a2c", "#3a9e6b", "#a35bc4", "#c4475b", "#6b7a8f")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[Number]


@dataclass(frozen=True, slots=True)
class Chart:
    """Labels along one axis, one or more series of values; ``unit`` prefixes or suffixes
    the numbers shown ("$" prefixes, anything else suffixes)."""

    id: str
    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    unit: str = ""
    kind: str = "columns"  # columns (over time, stacked) or bars (ranked, horizontal)
    label_header: str = "label"
    notes: Sequence[str] = field(default_factory=tuple)

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([self.label_header, *(s.name for s in self.series)])
        for i, label in enumerate(self.labels):
            writer.writerow([label, *(_plain(s.values[i]) for s in self.series)])
        return out.getvalue()

    def svg(self) -> str:
        if not self.labels:
            return '<p class="empty">No data in this range.</p>'
        return _bars(self) if self.kind == "bars" else _columns(self)


def _plain(value: Number) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def fmt(value: Number | None, unit: str = "") -> str:
    """A short human figure: 1.2k, 3.4M; money with two decimals; a dash for unknown."""
    if value is None:
        return "—"
    if unit == "$":
        return f"${Decimal(value):,.2f}"
    number = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= size:
            text = f"{number / size:.1f}{suffix}"
            break
    else:
        text = f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"
    return f"{text}{unit}" if unit else text


def _tooltip(chart: Chart, label: str, series: Series, value: Number) -> str:
    name = f" · {series.name}" if len(chart.series) > 1 else ""
    return escape(f"{label}{name}: {fmt(value, chart.unit)}")


def _bars(chart: Chart) -> str:
    """Horizontal bars, one row per label (ranked lists: top users, teams, models)."""
    label_width, top = 190, 6
    scale_width = WIDTH - label_width - 90
    totals = [sum(float(s.values[i]) for s in chart.series) for i in range(len(chart.labels))]
    peak = max(totals) or 1.0
    height = top + len(chart.labels) * BAR_HEIGHT + 4
    parts = [_open(chart, height)]
    for i, label in enumerate(chart.labels):
        y = top + i * BAR_HEIGHT
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" class="axis">'
            f"{escape(_clip(label, 28))}</text>"
        )
        x = float(label_width)
        for n, series in enumerate(chart.series):
            width = float(series.values[i]) / peak * scale_width
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{max(width, 0):.1f}" height="16" '
                f'fill="{PALETTE[n % len(PALETTE)]}"><title>'
                f"{_tooltip(chart, label, series, series.values[i])}</title></rect>"
            )
            x += width
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + 15}" class="value">'
            f"{escape(fmt(totals[i], chart.unit))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts) + _legend(chart)


def _columns(chart: Chart) -> str:
    """Stacked columns over time (days, weeks, months)."""
    height, left, bottom, top = 220, 56, 28, 10
    plot_w, plot_h = WIDTH - left - 8, height - bottom - top
    count = len(chart.labels)
    totals = [sum(float(s.values[i]) for s in chart.series) for i in range(count)]
    peak = max(totals) or 1.0
    step = plot_w / count
    parts = [_open(chart, height)]
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
            f"{escape(fmt(peak * frac, chart.unit))}</text>"
        )
    for i, label in enumerate(chart.labels):
        x, y = left + i * step, float(top + plot_h)
        for n, series in enumerate(chart.series):
            h = float(series.values[i]) / peak * plot_h
            y -= h
            parts.append(
                f'<rect x="{x + step * 0.1:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" '
                f'height="{max(h, 0):.1f}" fill="{PALETTE[n % len(PALETTE)]}"><title>'
                f"{_tooltip(chart, label, series, series.values[i])}</title></rect>"
            )
        if i % max(1, count // 6) == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - 8}" text-anchor="middle" '
                f'class="axis">{escape(_short(label))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts) + _legend(chart)


def _open(chart: Chart, height: int) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(chart.title)}" preserveAspectRatio="xMinYMin meet">'
    )


def _legend(chart: Chart) -> str:
    if len(chart.series) < 2:
        return ""
    items = "".join(
        f'<li><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" '
        f'fill="{PALETTE[n % len(PALETTE)]}"/></svg> {escape(s.name)}</li>'
        for n, s in enumerate(chart.series)
    )
    return f'<ul class="legend">{items}</ul>'


def _short(label: str) -> str:
    """``2026-11-25`` as ``11-25`` under a column: the year is in the page's range."""
    is_day = len(label) == 10 and label[4] == "-" and label[7] == "-"
    return label[5:] if is_day else label


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
