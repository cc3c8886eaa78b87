"""Charts drawn on the server as inline SVG: no JavaScript, no external assets.

A chart is a picture of numbers the page also shows in a table. Each SVG is one image
(``role="img"``) named by its ``<title>`` and described by its ``<desc>``; a visually hidden
note after it (the caller's translated text) says the same numbers are in the table below.
Values are printed next to every bar and marker, so nothing is told by colour alone.

Geometry is fixed in a ``viewBox`` and the SVG is 100 % wide, so it scales with the page.
Colours come from app.css (the "Charts" section) through classes; without the stylesheet
everything falls back to the text colour (``currentColor``) and stays legible.

Every string is escaped here: labels are municipality and unit names from HR data.
"""

from __future__ import annotations

import math
import textwrap
import uuid
from collections.abc import Sequence
from typing import NamedTuple

from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
NO_VALUE = "–"  # drawn instead of a bar or a marker when there is nothing to show
GRID_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)
WIDTH = 360  # user units; about a phone's width, so text is about its nominal size there
CHAR_WIDTH = 0.52  # average glyph width per unit of font size (DejaVu Sans: 0.49), to wrap


class Bar(NamedTuple):
    label: str
    value: float | None
    note: str = ""  # shown under the label, e.g. "för få anställda"


class Point(NamedTuple):
    label: str  # a short x label, e.g. a month abbreviation
    value: float | None


def format_value(value: float | None, unit: str = "%") -> str:
    """``45 %``; ``–`` for no value. Python's ``round``, as the report's tables use."""
    if value is None:
        return NO_VALUE
    number = str(round(value))
    return f"{number} {unit}" if unit else number


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str,
    unit: str = "%",
    max_value: float = 100,
    table_note: str = "",
) -> Markup:
    """Horizontal bars, one per ``Bar``: the label (wrapped to two lines) above its bar, the
    value at the bar's end, gridlines at 0/25/50/75/100 % of ``max_value``. The height grows
    with the number of bars and the lines their labels need.

    ``table_note`` is the visually hidden sentence after the chart, translated by the caller
    (``_("Samma siffror finns i tabellen nedan.")``); empty, there is none. A plain
    ``(label, value[, note])`` tuple works as a ``Bar``."""
    _check_max(max_value)
    label_size, note_size, value_size = 14, 12, 13
    line_height, note_height, bar_height, gap = 18, 16, 18, 14
    plot_width = WIDTH - 58  # room after a full bar for a bold "100 %"
    chars = int(WIDTH / (label_size * CHAR_WIDTH))

    parts: list[Markup] = []
    grid: list[str] = []
    y = 4.0
    for bar in (Bar(*item) for item in bars):  # a plain (label, value[, note]) tuple is a Bar too
        value = _clean(bar.value)
        for line in _wrap(str(bar.label), chars):
            y += line_height
            parts.append(_text(0, y - 4, line, "chart-label", size=label_size))
        if bar.note:
            y += note_height
            parts.append(_text(0, y - 4, str(bar.note), "chart-note", size=note_size))
        y += 3
        grid.extend(
            f"M{_n(plot_width * step)} {_n(y - 3)}V{_n(y + bar_height + 3)}" for step in GRID_STEPS
        )
        end = 0.0
        if value is not None:
            end = plot_width * _fraction(value, max_value)
            parts.append(
                Markup(
                    '<rect class="chart-bar" x="0" y="{}" width="{}" height="{}"'
                    ' fill="currentColor"/>'
                ).format(_n(y), _n(end), bar_height)
            )
        parts.append(
            _text(
                end + 6,
                y + 13,
                format_value(value, unit),
                "chart-value",
                size=value_size,
                bold=True,
            )
        )
        y += bar_height + gap

    axis_y = y + 6
    for step in GRID_STEPS:
        anchor = "start" if step == 0 else "middle"
        label = format_value(max_value * step, unit)
        parts.append(_text(plot_width * step, axis_y, label, "chart-axis", size=12, anchor=anchor))
    height = axis_y + 6

    grid_path = Markup(
        '<path class="chart-grid" d="{}" fill="none" stroke="currentColor" stroke-width="1"/>'
    ).format("".join(grid))
    return _figure(
        "chart-bars", height, title, description, table_note, [grid_path, *parts] if grid else parts
    )


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    description: str,
    max_value: float = 100,
    unit: str = "%",
    table_note: str = "",
) -> Markup:
    """A trend, e.g. over 12 month ends: a marker with its value above it per point, the
    x labels below, gridlines at 0/25/50/75/100 % of ``max_value``. A point without a value
    breaks the line and shows ``–`` on the axis."""
    _check_max(max_value)
    left, right, top, plot_height, bottom = 42, 8, 22, 150, 26
    height = top + plot_height + bottom
    slot = (WIDTH - left - right) / max(len(points), 1)

    def y_of(value: float) -> float:
        return top + plot_height * (1 - _fraction(value, max_value))

    grid = "".join(f"M{left} {_n(y_of(max_value * step))}H{WIDTH - right}" for step in GRID_STEPS)
    parts: list[Markup] = [
        Markup(
            '<path class="chart-grid" d="{}" fill="none" stroke="currentColor" stroke-width="1"/>'
        ).format(grid)
    ]
    for step in GRID_STEPS:
        parts.append(
            _text(
                left - 5,
                y_of(max_value * step) + 4,
                format_value(max_value * step, unit),
                "chart-axis",
                size=12,
                anchor="end",
            )
        )

    runs: list[list[tuple[float, float]]] = [[]]
    markers: list[Markup] = []
    for index, point in enumerate(Point(*item) for item in points):
        x = left + slot * (index + 0.5)
        value = _clean(point.value)
        parts.append(_text(x, height - 8, str(point.label), "chart-axis", size=12, anchor="middle"))
        if value is None:
            if runs[-1]:
                runs.append([])
            markers.append(
                _text(x, top + plot_height - 6, NO_VALUE, "chart-value", size=12, anchor="middle")
            )
            continue
        y = y_of(value)
        runs[-1].append((x, y))
        markers.append(
            Markup(
                '<circle class="chart-marker" cx="{}" cy="{}" r="4" fill="currentColor"/>'
            ).format(_n(x), _n(y))
        )
        markers.append(
            _text(x, y - 8, format_value(value, ""), "chart-value", size=12, anchor="middle")
        )
    for run in runs:
        if len(run) > 1:
            parts.append(
                Markup(
                    '<polyline class="chart-line" points="{}" fill="none"'
                    ' stroke="currentColor" stroke-width="2.5" stroke-linejoin="round"/>'
                ).format(" ".join(f"{_n(x)},{_n(y)}" for x, y in run))
            )
    return _figure("chart-trend", height, title, description, table_note, parts + markers)


# --- helpers ---------------------------------------------------------------------------------


def _figure(
    kind: str,
    height: float,
    title: str,
    description: str,
    table_note: str,
    parts: Sequence[Markup],
) -> Markup:
    ident = f"chart-{uuid.uuid4().hex[:10]}"
    svg = Markup(
        '<svg xmlns="{ns}" class="chart-svg" viewBox="0 0 {w} {h}" width="100%"'
        ' role="img" aria-labelledby="{id}-title" aria-describedby="{id}-desc">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
    ).format(ns=SVG_NS, w=WIDTH, h=_n(height), id=ident, title=title, desc=description)
    note = (
        Markup('<p class="visually-hidden">{}</p>').format(table_note) if table_note else Markup()
    )
    return Markup('<figure class="chart {}">{}{}</svg>{}</figure>').format(
        kind, svg, Markup("").join(parts), note
    )


def _text(
    x: float,
    y: float,
    content: str,
    css_class: str,
    *,
    size: int,
    anchor: str = "start",
    bold: bool = False,
) -> Markup:
    weight = ' font-weight="600"' if bold else ""
    return Markup(
        '<text class="{}" x="{}" y="{}" font-size="{}" text-anchor="{}" fill="currentColor"{}>'
        "{}</text>"
    ).format(css_class, _n(x), _n(y), size, anchor, Markup(weight), content)


def _wrap(label: str, chars: int) -> list[str]:
    """At most two lines; a longer label ends in "…" (the table has it in full)."""
    return textwrap.wrap(label, width=chars, max_lines=2, placeholder=" …") or [label]


def _clean(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _fraction(value: float, max_value: float) -> float:
    return min(max(value / max_value, 0.0), 1.0)


def _check_max(max_value: float) -> None:
    if not max_value > 0:
        raise ValueError(f"max_value must be positive, not {max_value!r}")


def _n(number: float) -> str:
    """A coordinate: one decimal at most, no trailing zeros."""
    text = f"{number:.1f}"
    return text[:-2] if text.endswith(".0") else text


__all__ = ["NO_VALUE", "Bar", "Point", "bar_chart", "format_value", "line_chart"]
