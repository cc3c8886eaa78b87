"""The report's charts as issue #17 asks: drawn for a narrow and a wide screen, month labels
with the year, no gridline through a printed number, and the trend per municipality as six
lines told apart by marker and dash pattern as well as colour, named in a legend."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from training_tracker.charts import (
    MARKERS,
    WIDE,
    WIDTH,
    Bar,
    Point,
    Series,
    bar_chart,
    line_chart,
    lines_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
NAMES = ["Järfälla", "Sigtuna", "Sollentuna", "Sundbyberg", "Upplands Väsby", "Upplands-Bro"]
SHORT = ["dec.", "jan.", "feb.", "mars", "apr.", "maj", "juni", "juli", "aug.", "sep."]
SHORT += ["okt.", "nov."]
DAYS = [date(2025, 12, 31), *(date(2026, month, 28) for month in range(1, 12))]


def axis() -> list[Point]:
    return [Point(label, None, str(day.year)) for label, day in zip(SHORT, DAYS, strict=True)]


def svgs(markup: str) -> dict[str, ET.Element]:
    """The figure's two drawings by size: "narrow" and "wide"."""
    figure = ET.fromstring(str(markup))
    found = {}
    for svg in figure.iter(f"{SVG}svg"):
        size = "narrow" if "chart-narrow" in svg.get("class", "") else "wide"
        found[size] = svg
    assert set(found) == {"narrow", "wide"}
    return found


def texts(svg: ET.Element, css_class: str) -> list[ET.Element]:
    return [t for t in svg.iter(f"{SVG}text") if t.get("class") == css_class]


def grid_segments(svg: ET.Element) -> list[tuple[str, float, float, float]]:
    """The gridlines as ("H", y, x from, x to) or ("V", x, y from, y to)."""
    segments = []
    for path in svg.iter(f"{SVG}path"):
        if path.get("class") != "chart-grid":
            continue
        for x, y, kind, end in re.findall(r"M([\d.]+) ([\d.]+)([HV])([\d.]+)", path.get("d", "")):
            if kind == "H":
                segments.append(("H", float(y), float(x), float(end)))
            else:
                segments.append(("V", float(x), float(y), float(end)))
    return segments


def value_boxes(svg: ET.Element) -> list[tuple[float, float, float, float]]:
    """Each printed value's box (x from, x to, y top, y bottom), from its position, anchor and
    size (a glyph is at most 0.62 of the font size wide)."""
    boxes = []
    for text in texts(svg, "chart-value"):
        x, y, size = (
            float(text.get("x", "")),
            float(text.get("y", "")),
            float(text.get("font-size", "")),
        )
        width = len(text.text or "") * size * 0.62
        left = x - width / 2 if text.get("text-anchor") == "middle" else x
        boxes.append((left, left + width, y - size * 0.75, y))
    return boxes


def crossings(svg: ET.Element) -> list[tuple[object, ...]]:
    found = []
    for box in value_boxes(svg):
        left, right, top, bottom = box
        for kind, at, start, end in grid_segments(svg):
            if kind == "H" and top <= at <= bottom and start < right and end > left:
                found.append((box, kind, at))
            if kind == "V" and left <= at <= right and start < bottom and end > top:
                found.append((box, kind, at))
    return found


def test_month_labels_carry_their_year_on_both_drawings():
    drawings = svgs(line_chart(
        [Point(p.label, 40 + n, p.year) for n, p in enumerate(axis())],
        title="Trend", description="Per månad.",
    ))  # fmt: skip
    wide = drawings["wide"]
    assert wide.get("viewBox", "").startswith(f"0 0 {WIDE} ")
    assert [t.text for t in texts(wide, "chart-axis")][5:] == SHORT  # every month, wide
    # The year under the first month and under January, where it changes.
    assert [t.text for t in texts(wide, "chart-year")] == ["2025", "2026"]
    year_x = [t.get("x") for t in texts(wide, "chart-year")]
    month_x = {t.text: t.get("x") for t in texts(wide, "chart-axis")}
    assert year_x == [month_x["dec."], month_x["jan."]]

    narrow = drawings["narrow"]
    assert narrow.get("viewBox", "").startswith(f"0 0 {WIDTH} ")
    months = [t.text for t in texts(narrow, "chart-axis")][5:]
    assert months == SHORT[1::2]  # every second month, ending on the last: they fit
    assert [t.text for t in texts(narrow, "chart-year")] == ["2026"]


def test_no_gridline_runs_through_a_printed_value():
    values = [0, 25, 50, 75, 100, 48, 52, 26, 74, 99, 1, 50]
    trend = svgs(line_chart(
        [Point(p.label, v, p.year) for p, v in zip(axis(), values, strict=True)],
        title="Trend", description="Per månad.",
    ))  # fmt: skip
    bars = svgs(bar_chart(
        [Bar("Järfälla", 48), Bar("Sigtuna", 73), Bar("Sollentuna", 0), Bar("Ny", None),
         Bar("Upplands Väsby", 99), Bar("Upplands-Bro", 25)],
        title="Täckning", description="Per kommun.",
    ))  # fmt: skip
    for drawing in [*trend.values(), *bars.values()]:
        assert value_boxes(drawing) and grid_segments(drawing)
        assert crossings(drawing) == []


def test_the_wide_bar_chart_puts_each_label_beside_its_bar():
    wide = svgs(bar_chart([Bar("Järfälla", 48), Bar("Sigtuna", 73)], title="T", description="D"))[
        "wide"
    ]
    labels = texts(wide, "chart-label")
    bars = [rect for rect in wide.iter(f"{SVG}rect") if rect.get("class") == "chart-bar"]
    assert len(labels) == len(bars) == 2
    for label, bar in zip(labels, bars, strict=True):
        assert float(bar.get("x", "")) > 200  # the labels' column comes first
        bar_middle = float(bar.get("y", "")) + float(bar.get("height", "")) / 2
        assert abs(float(label.get("y", "")) - 4 - bar_middle) < 10


def series_groups(svg: ET.Element) -> list[ET.Element]:
    return [
        g
        for g in svg.iter(f"{SVG}g")
        if "chart-series" in g.get("class", "") and "chart-legend-item" not in g.get("class", "")
    ]


def legend_items(svg: ET.Element) -> list[ET.Element]:
    return [g for g in svg.iter(f"{SVG}g") if "chart-legend-item" in g.get("class", "")]


@pytest.mark.parametrize("size", ["narrow", "wide"])
def test_six_municipalities_are_six_lines_told_apart_without_colour(size):
    values = [[30 + 5 * n + month for month in range(12)] for n in range(6)]
    values[2][4] = None  # a withheld month breaks that line
    chart = lines_chart(
        [Series(name, row) for name, row in zip(NAMES, values, strict=True)],
        axis(),
        title="Täckning per kommun",
        description="Vid det senaste datumet: Järfälla 41 %.",
    )
    svg = svgs(chart)[size]
    groups = series_groups(svg)
    assert len(groups) == 6
    looks = []
    for number, group in enumerate(groups):
        markers = [e for e in group if "chart-point" in e.get("class", "")]
        assert len({m.get("data-marker") for m in markers}) == 1
        assert len(markers) == (11 if number == 2 else 12)
        lines = [e for e in group if e.get("class") == "chart-line"]
        assert len(lines) == (2 if number == 2 else 1)
        looks.append((markers[0].get("data-marker"), lines[0].get("stroke-dasharray", "")))
    # Six marker shapes, six dash patterns: no two lines alike even in grey.
    assert len({marker for marker, _ in looks}) == 6 == len(MARKERS)
    assert len({dashes for _, dashes in looks}) == 6
    # The legend names each line beside its own marker and dash pattern.
    legend = legend_items(svg)
    assert [t.text for g in legend for t in g.iter(f"{SVG}text")] == NAMES
    for item, (marker, dashes) in zip(legend, looks, strict=True):
        assert item.find(f"{SVG}polyline").get("stroke-dasharray", "") == dashes  # type: ignore[union-attr]
        assert [e.get("data-marker") for e in item if e.get("data-marker")] == [marker]
    # One image, named, with the summary for screen readers; years on the axis.
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}desc").text == "Vid det senaste datumet: Järfälla 41 %."  # type: ignore[union-attr]
    assert "2026" in [t.text for t in texts(svg, "chart-year")]
