"""Server-side SVG charts: horizontal bars and weekly columns, each with a text alternative.

Suppressed values (None) draw no bar and say "fewer than 5 people" instead of a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

BAR = "#0b5394"
INK = "#1b1b1b"
GRID = "#767676"
SUPPRESSED = "fewer than 5 people"


@dataclass(frozen=True)
class Point:
    """A labelled value; None when suppressed."""

    label: str
    value: int | None


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 13) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{INK}" '
        f'text-anchor="{anchor}">{escape(text)}</text>'
    )


def _frame(chart_id: str, title: str, width: int, height: int, body: list[str]) -> Markup:
    return Markup(  # noqa: S704 - every interpolated value is escaped above or here
        f'<svg id="{escape(chart_id)}" role="img" aria-labelledby="{escape(chart_id)}-t" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{escape(chart_id)}-t">{escape(title)}'
        f"</title>{''.join(body)}</svg>"
    )


def bars(chart_id: str, title: str, points: Sequence[Point], width: int = 640) -> Markup:
    """Horizontal bars, one row per point, the value written at the end of each bar."""
    row, label_w, value_w = 26, 210, 150
    top = max((p.value or 0 for p in points), default=0) or 1
    span = width - label_w - value_w
    body: list[str] = []
    for i, point in enumerate(points):
        y = i * row + 4
        body.append(_text(label_w - 8, y + 15, point.label[:32], "end"))
        if point.value is None:
            body.append(_text(label_w + 4, y + 15, SUPPRESSED))
            continue
        length = max(span * point.value / top, 1.0)
        body.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{BAR}" data-label="{escape(point.label)}" data-value="{point.value}"/>'
        )
        body.append(_text(label_w + length + 6, y + 15, f"{point.value:,}"))
    height = max(len(points) * row + 8, 30)
    if not points:
        body.append(_text(8, 20, "Nothing to show yet."))
    return _frame(chart_id, title, width, height, body)


def columns(chart_id: str, title: str, points: Sequence[Point], width: int = 640) -> Markup:
    """Vertical columns over weeks, with a few week labels along the bottom."""
    height, bottom, left = 220, 40, 48
    top = max((p.value or 0 for p in points), default=0) or 1
    slot = (width - left - 8) / max(len(points), 1)
    plot = height - bottom - 10
    body = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" '
        f'stroke="{GRID}"/>',
        _text(left - 6, 16, f"{top:,}", "end", 11),
        _text(left - 6, height - bottom, "0", "end", 11),
    ]
    every = max(len(points) // 6, 1)
    for i, point in enumerate(points):
        x = left + i * slot
        if point.value is not None and point.value > 0:
            tall = plot * point.value / top
            body.append(
                f'<rect x="{x + 1:.1f}" y="{height - bottom - tall:.1f}" '
                f'width="{max(slot - 2, 1):.1f}" height="{tall:.1f}" fill="{BAR}" '
                f'data-label="{escape(point.label)}" data-value="{point.value}"/>'
            )
        if i % every == 0:
            body.append(_text(x, height - bottom + 16, point.label, "start", 11))
    if not points:
        body.append(_text(left, 40, "Nothing to show yet."))
    return _frame(chart_id, title, width, height, body)
