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

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"
NO_VALUE = "–"  # drawn instead of a bar or a marker when there is nothing to show
GRID_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)
WIDTH = 360  # user units; about a phone's width, so text is about its nominal size there
WIDE = 1000  # user units of the wide variant: about a desktop's content width
WIDE_LABELS = 260  # the wide bar chart's column of labels
CHAR_WIDTH = 0.52  # average glyph width per unit of font size (DejaVu Sans: 0.49), to wrap


class Bar(NamedTuple):
    label: str
    value: float | None
    note: str = ""  # shown under the label, e.g. "för få anställda"


class Point(NamedTuple):
    label: str  # a short x label, e.g. a month abbreviation
    value: float | None
    year: str = ""  # shown under the first label and wherever it changes, e.g. "2026"


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
    """Horizontal bars, one per ``Bar``, the value at the bar's end, gridlines at
    0/25/50/75/100 % of ``max_value`` (broken where a value is printed, so no line runs
    through a number). Drawn twice: for a narrow screen (the label, wrapped to two lines,
    above its bar) and for a wide one (the label beside its bar); the stylesheet shows one.
    The height grows with the number of bars and the lines their labels need.

    ``table_note`` is the visually hidden sentence after the chart, translated by the caller
    (``_("Samma siffror finns i tabellen nedan.")``); empty, there is none. A plain
    ``(label, value[, note])`` tuple works as a ``Bar``."""
    _check_max(max_value)
    items = [Bar(*item) for item in bars]  # a plain (label, value[, note]) tuple is a Bar too
    variants = [
        _bars(items, WIDTH, 0, unit, max_value),
        _bars(items, WIDE, WIDE_LABELS, unit, max_value),
    ]
    return _figure("chart-bars", variants, title, description, table_note)


def _bars(
    bars: Sequence[Bar], width: int, label_width: int, unit: str, max_value: float
) -> tuple[int, float, list[Markup]]:
    """One variant: labels above the bars (``label_width`` 0) or in a column beside them."""
    label_size, note_size, value_size = 14, 12, 13
    line_height, note_height, bar_height, gap = 18, 16, 18, 14
    beside = label_width > 0
    plot_left = label_width + 10 if beside else 0
    plot_width = width - plot_left - 58  # room after a full bar for a bold "100 %"
    chars = int((label_width or width) / (label_size * CHAR_WIDTH))

    parts: list[Markup] = []
    grid: list[str] = []
    y = 4.0
    for bar in bars:
        value = _clean(bar.value)
        lines = _wrap(str(bar.label), chars)
        label_y = y
        for line in lines:
            label_y += line_height
            parts.append(_text(0, label_y - 4, line, "chart-label", size=label_size))
        if bar.note:
            label_y += note_height
            parts.append(_text(0, label_y - 4, str(bar.note), "chart-note", size=note_size))
        y = (y + 6) if beside else label_y + 3
        end = 0.0
        if value is not None:
            end = plot_width * _fraction(value, max_value)
            parts.append(
                Markup(
                    f'<rect class="chart-bar" x="{_n(plot_left)}" y="{_n(y)}" width="{_n(end)}"'
                    f' height="{bar_height}" fill="currentColor"/>'
                )
            )
        text = format_value(value, unit)
        parts.append(
            _text(plot_left + end + 6, y + 13, text, "chart-value", size=value_size, bold=True)
        )
        # The value's box, from the bar's end: no gridline is drawn through it.
        box = (end + 2, end + 10 + len(text) * value_size * CHAR_WIDTH * 1.15)
        grid.extend(
            f"M{_n(plot_left + plot_width * step)} {_n(y - 3)}V{_n(y + bar_height + 3)}"
            for step in GRID_STEPS
            if not box[0] <= plot_width * step <= box[1]
        )
        y += bar_height + gap
        if beside:
            y = max(y, label_y + gap)

    axis_y = y + 6
    for step in GRID_STEPS:
        anchor = "start" if step == 0 else "middle"
        label = format_value(max_value * step, unit)
        x = plot_left + plot_width * step
        parts.append(_text(x, axis_y, label, "chart-axis", size=12, anchor=anchor))
    if grid:
        parts.insert(0, _grid("".join(grid)))
    return width, axis_y + 6, parts


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
    x labels below (with the point's year under the first and wherever the year changes;
    on a narrow screen every second label when they would not fit), gridlines at
    0/25/50/75/100 % of ``max_value`` broken where a value is printed. A point without a
    value breaks the line and shows ``–`` on the axis. Drawn for a narrow and a wide screen."""
    _check_max(max_value)
    items = [Point(*item) for item in points]
    variants = [_trend(items, width, max_value, unit) for width in (WIDTH, WIDE)]
    return _figure("chart-trend", variants, title, description, table_note)


def _trend(
    points: Sequence[Point], width: int, max_value: float, unit: str
) -> tuple[int, float, list[Markup]]:
    axes = Axes(width, len(points), max_value)
    parts: list[Markup] = []
    runs: list[list[tuple[float, float]]] = [[]]
    markers: list[Markup] = []
    holes: list[tuple[float, float, float]] = []  # (x from, x to, y) of each printed value
    for index, point in enumerate(points):
        x = axes.x_of(index)
        value = _clean(point.value)
        if value is None:
            if runs[-1]:
                runs.append([])
            markers.append(
                _text(x, axes.bottom - 6, NO_VALUE, "chart-value", size=12, anchor="middle")
            )
            continue
        y = axes.y_of(value)
        runs[-1].append((x, y))
        markers.append(
            Markup(
                f'<circle class="chart-marker" cx="{_n(x)}" cy="{_n(y)}" r="4"'
                ' fill="currentColor"/>'
            )
        )
        text = format_value(value, "")
        half = len(text) * 12 * CHAR_WIDTH / 2 + 3
        holes.append((x - half, x + half, y - 8))
        markers.append(_text(x, y - 8, text, "chart-value", size=12, anchor="middle"))
    parts += axes.draw(points, unit, holes)
    for run in runs:
        if len(run) > 1:
            parts.append(
                Markup(
                    '<polyline class="chart-line" points="{}" fill="none"'
                    ' stroke="currentColor" stroke-width="2.5" stroke-linejoin="round"/>'
                ).format(" ".join(f"{_n(x)},{_n(y)}" for x, y in run))
            )
    return width, axes.height, parts + markers


class Series(NamedTuple):
    name: str  # e.g. a municipality's name, in the legend
    values: Sequence[float | None]  # one per point of the axis; None: no value


# Each series has its own marker, dash pattern and colour (app.css), so six lines can be told
# apart without colour: in a grey print, or by someone who does not see the difference.
MARKERS = ("circle", "square", "triangle", "diamond", "triangle-down", "cross")
DASHES = ("", "9 4", "2 4", "10 4 2 4", "16 5", "5 3 1 3")


def lines_chart(
    series: Sequence[Series],
    axis: Sequence[Point],
    *,
    title: str,
    description: str,
    max_value: float = 100,
    unit: str = "%",
    table_note: str = "",
) -> Markup:
    """Several trends over the same x axis (``axis``: the labels and years, as
    :func:`line_chart` shows them; their values are not used): one line per series, each
    with its own marker shape and dash pattern, and a legend under the chart naming them.
    No value is printed on the lines (they would overlap): the caller puts the numbers in a
    table and sums them up in ``description``. Series past the sixth reuse the first looks."""
    _check_max(max_value)
    ticks = [Point(*item) for item in axis]
    items = [Series(*item) for item in series]
    variants = [_lines(items, ticks, width, max_value, unit) for width in (WIDTH, WIDE)]
    return _figure("chart-trend chart-lines", variants, title, description, table_note)


def _lines(
    series: Sequence[Series], ticks: Sequence[Point], width: int, max_value: float, unit: str
) -> tuple[int, float, list[Markup]]:
    axes = Axes(width, len(ticks), max_value)
    parts = axes.draw(ticks, unit, [])
    for number, one in enumerate(series):
        look = number % len(MARKERS)
        drawn: list[Markup] = []
        run: list[tuple[float, float]] = []
        for index, raw in enumerate(list(one.values)[: len(ticks)]):
            value = _clean(raw)
            if value is None:
                drawn.append(_polyline(run, DASHES[look]))
                run = []
                continue
            run.append((axes.x_of(index), axes.y_of(value)))
            drawn.append(_marker(MARKERS[look], *run[-1]))
        drawn.insert(0, _polyline(run, DASHES[look]))
        parts.append(Markup(f'<g class="chart-series chart-series-{look}">{_joined(drawn)}</g>'))
    columns = 2 if width < WIDE else 3
    column_width = (width - axes.left) / columns
    y = axes.height
    for number, one in enumerate(series):
        look = number % len(MARKERS)
        row, column = divmod(number, columns)
        x = axes.left + column * column_width
        line_y = y + 12 + row * 24
        parts.append(
            Markup('<g class="chart-legend-item chart-series chart-series-{}">{}{}{}</g>').format(
                look,
                _polyline([(x, line_y), (x + 34, line_y)], DASHES[look]),
                _marker(MARKERS[look], x + 17, line_y),
                _text(x + 42, line_y + 4, one.name, "chart-legend", size=13),
            )
        )
    rows = math.ceil(len(series) / columns)
    return width, y + rows * 24 + 4, parts


def _polyline(run: Sequence[tuple[float, float]], dashes: str) -> Markup:
    if len(run) < 2:
        return Markup()
    # Numbers and this module's own dash patterns only: nothing to escape (str.format is
    # several times faster than Markup.format, and a trend of 290 lines draws thousands).
    dash = f' stroke-dasharray="{escape(dashes)}"' if dashes else ""
    points = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
    return Markup(
        f'<polyline class="chart-line" points="{points}" fill="none" stroke="currentColor"'
        f' stroke-width="2.5" stroke-linejoin="round"{dash}/>'
    )


def _marker(shape: str, x: float, y: float) -> Markup:
    """A series' marker centred on (x, y), about 10 units across (only the shape asked for is
    drawn: a trend of 290 lines draws thousands)."""
    if shape == "circle":
        return Markup(
            f'<circle class="chart-point" data-marker="circle" cx="{_n(x)}" cy="{_n(y)}"'
            ' r="4.5" fill="currentColor"/>'
        )
    if shape == "cross":
        d = (
            f"M{_n(x - 4.5)} {_n(y - 4.5)}L{_n(x + 4.5)} {_n(y + 4.5)}"
            f"M{_n(x + 4.5)} {_n(y - 4.5)}L{_n(x - 4.5)} {_n(y + 4.5)}"
        )
        return Markup(
            f'<path class="chart-point chart-point-open" data-marker="cross" d="{d}" fill="none"'
            ' stroke="currentColor" stroke-width="2.5"/>'
        )
    if shape == "square":
        d = f"M{_n(x - 4)} {_n(y - 4)}h8v8h-8Z"
    elif shape == "triangle":
        d = f"M{_n(x)} {_n(y - 6)}L{_n(x + 5.5)} {_n(y + 4)}H{_n(x - 5.5)}Z"
    elif shape == "diamond":
        d = f"M{_n(x)} {_n(y - 6)}l6 6l-6 6l-6 -6Z"
    elif shape == "triangle-down":
        d = f"M{_n(x)} {_n(y + 6)}L{_n(x + 5.5)} {_n(y - 4)}H{_n(x - 5.5)}Z"
    else:
        raise ValueError(f"unknown marker: {shape}")
    return Markup(f'<path class="chart-point" data-marker="{shape}" d="{d}" fill="currentColor"/>')


class Axes:
    """The frame of a trend: where each point and value goes, the gridlines and the labels."""

    left, right, top = 42, 8, 22

    def __init__(self, width: int, count: int, max_value: float) -> None:
        self.width = width
        self.plot_height = 150 if width < WIDE else 220
        self.count = count
        self.max_value = max_value
        self.bottom = self.top + self.plot_height
        self.height = self.bottom + 42  # a month and a year under the axis
        self.slot = (width - self.left - self.right) / max(count, 1)

    def x_of(self, index: int) -> float:
        return self.left + self.slot * (index + 0.5)

    def y_of(self, value: float) -> float:
        return self.top + self.plot_height * (1 - _fraction(value, self.max_value))

    def draw(
        self, points: Sequence[Point], unit: str, holes: Sequence[tuple[float, float, float]]
    ) -> list[Markup]:
        """The gridlines (broken at ``holes``: the printed values' boxes), their labels, and
        the x labels: every ``step``-th from the last, so that they do not overlap."""
        grid = []
        for step in GRID_STEPS:
            y = self.y_of(self.max_value * step)
            x = float(self.left)
            for start, end, text_y in sorted(holes):
                if text_y - 11 <= y <= text_y + 3 and end > x:
                    if start > x:
                        grid.append(f"M{_n(x)} {_n(y)}H{_n(start)}")
                    x = end
            if x < self.width - self.right:
                grid.append(f"M{_n(x)} {_n(y)}H{self.width - self.right}")
        parts = [_grid("".join(grid))]
        for step in GRID_STEPS:
            value = self.max_value * step
            parts.append(
                _text(
                    self.left - 5,
                    self.y_of(value) + 4,
                    format_value(value, unit),
                    "chart-axis",
                    size=12,
                    anchor="end",
                )
            )
        widest = max((len(str(point.label)) for point in points), default=0)
        step = max(1, math.ceil((widest * 12 * CHAR_WIDTH + 6) / self.slot))
        shown_year = ""
        for index, point in enumerate(points):
            if (len(points) - 1 - index) % step:
                continue
            x = self.x_of(index)
            parts.append(
                _text(x, self.bottom + 18, str(point.label), "chart-axis", size=12, anchor="middle")
            )
            if point.year and point.year != shown_year:
                shown_year = point.year
                parts.append(
                    _text(x, self.bottom + 34, point.year, "chart-year", size=12, anchor="middle")
                )
        return parts


# --- helpers ---------------------------------------------------------------------------------


def _figure(
    kind: str,
    variants: Sequence[tuple[int, float, Sequence[Markup]]],
    title: str,
    description: str,
    table_note: str,
) -> Markup:
    """The figure: one SVG per (width, height, parts) variant, the first for a narrow screen
    and the second, if any, for a wide one (app.css shows one of them: the other is
    ``display: none``, so screen readers meet one image)."""
    svgs = []
    for index, (width, height, parts) in enumerate(variants):
        ident = f"chart-{uuid.uuid4().hex[:10]}"
        size = "chart-narrow" if index == 0 and len(variants) > 1 else "chart-wide"
        svgs.append(
            Markup(
                '<svg xmlns="{ns}" class="chart-svg {size}" viewBox="0 0 {w} {h}" width="100%"'
                ' role="img" aria-labelledby="{id}-title" aria-describedby="{id}-desc">'
                '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
                "{parts}</svg>"
            ).format(
                ns=SVG_NS,
                size=size if len(variants) > 1 else "",
                w=width,
                h=_n(height),
                id=ident,
                title=title,
                desc=description,
                parts=_joined(parts),
            )
        )
    note = (
        Markup('<p class="visually-hidden">{}</p>').format(table_note) if table_note else Markup()
    )
    return Markup('<figure class="chart {}">{}{}</figure>').format(kind, _joined(svgs), note)


def _joined(parts: Sequence[Markup]) -> Markup:
    """Parts that are all markup already, joined without escaping each again."""
    return Markup("".join(parts))


def _grid(path: str) -> Markup:
    return Markup(
        f'<path class="chart-grid" d="{path}" fill="none" stroke="currentColor" stroke-width="1"/>'
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
    # Only the content may come from outside (a name, a label): it alone is escaped; the rest
    # are this module's numbers and names (a country's bar chart draws thousands of texts, and
    # Markup.format escapes and formats every argument: several times slower).
    return Markup(
        f'<text class="{css_class}" x="{_n(x)}" y="{_n(y)}" font-size="{size}"'
        f' text-anchor="{anchor}" fill="currentColor"{weight}>{escape(content)}</text>'
    )


def _wrap(label: str, chars: int) -> list[str]:
    """At most two lines; a longer label ends in "…" (the table has it in full)."""
    if len(label) <= chars and " ".join(label.split()) == label:
        return [label]  # most do, and textwrap is slow to say so
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


__all__ = [
    "NO_VALUE",
    "Bar",
    "Point",
    "Series",
    "bar_chart",
    "format_value",
    "line_chart",
    "lines_chart",
]
