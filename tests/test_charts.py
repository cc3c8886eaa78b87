"""Charts as inline SVG (issue #6): well-formed, named and described, one bar per value with
its number printed, "–" for no value, everything escaped, and usable from templates."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from flask import Flask, render_template_string

from training_tracker.charts import NO_VALUE, Bar, Point, bar_chart, format_value, line_chart

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
HOSTILE = "<script>alert(1)</script> & \"Öst\" 'Väst'"


def parse(markup: str) -> ET.Element:
    """The figure as XML: a parse error here means the SVG is not well-formed."""
    return ET.fromstring(str(markup))


def svg_of(figure: ET.Element) -> ET.Element:
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    return svg


def texts(svg: ET.Element, css_class: str) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text") if t.get("class") == css_class]


def shapes(svg: ET.Element, tag: str, css_class: str) -> list[ET.Element]:
    return [e for e in svg.iter(f"{SVG}{tag}") if e.get("class") == css_class]


def view_height(svg: ET.Element) -> float:
    return float(svg.get("viewBox", "").split()[3])


def test_a_bar_chart_is_one_named_and_described_image():
    figure = parse(
        bar_chart(
            [Bar("Alingsås", 80)],
            title="Täckning per kommun",
            description="Andel kurser som är gjorda.",
            table_note="Samma siffror finns i tabellen nedan.",
        )
    )
    assert figure.tag == "figure" and "chart" in figure.get("class", "").split()
    svg = svg_of(figure)
    assert svg.get("role") == "img"
    assert svg.get("width") == "100%" and svg.get("viewBox", "").startswith("0 0 360 ")
    title = svg.find(f"{SVG}title")
    desc = svg.find(f"{SVG}desc")
    assert title is not None and title.text == "Täckning per kommun"
    assert desc is not None and desc.text == "Andel kurser som är gjorda."
    assert svg.get("aria-labelledby") == title.get("id")
    assert svg.get("aria-describedby") == desc.get("id")
    note = figure.find("p")
    assert note is not None and note.get("class") == "visually-hidden"
    assert note.text == "Samma siffror finns i tabellen nedan."


def test_every_chart_has_its_own_ids():
    first = svg_of(parse(bar_chart([], title="A", description="a")))
    second = svg_of(parse(line_chart([], title="B", description="b")))
    assert first.get("aria-labelledby") != second.get("aria-labelledby")


def test_one_bar_per_value_with_its_number_and_a_dash_for_none():
    svg = svg_of(
        parse(
            bar_chart(
                [
                    Bar("Alingsås", 80),
                    Bar("Borås", 45.4),
                    Bar("Ny enhet", None, "inga anställda"),
                    Bar("Över", 130),
                    Bar("Noll", 0),
                ],
                title="T",
                description="D",
            )
        )
    )
    assert texts(svg, "chart-label") == ["Alingsås", "Borås", "Ny enhet", "Över", "Noll"]
    assert texts(svg, "chart-value") == ["80 %", "45 %", NO_VALUE, "130 %", "0 %"]
    assert texts(svg, "chart-note") == ["inga anställda"]
    bars = shapes(svg, "rect", "chart-bar")
    assert len(bars) == 4  # none for the unit without a value
    widths = [float(bar.get("width", "")) for bar in bars]
    full = widths[2]  # 130 % is drawn as a full bar, its number printed as it is
    assert widths[0] == pytest.approx(full * 0.8)
    assert widths[1] == pytest.approx(full * 0.454, abs=0.1)
    assert widths[3] == 0
    # Gridlines at 0, 25, 50, 75 and 100 %, labelled.
    assert texts(svg, "chart-axis") == ["0 %", "25 %", "50 %", "75 %", "100 %"]


def test_a_bar_chart_of_counts_has_its_own_scale_and_unit():
    svg = svg_of(
        parse(bar_chart([Bar("A", 12)], title="T", description="D", unit="st", max_value=40))
    )
    assert texts(svg, "chart-value") == ["12 st"]
    assert texts(svg, "chart-axis") == ["0 st", "10 st", "20 st", "30 st", "40 st"]
    with pytest.raises(ValueError):
        bar_chart([Bar("A", 1)], title="T", description="D", max_value=0)


def test_numbers_are_rounded_like_the_tables():
    assert format_value(45.5) == str(round(45.5)) + " %"
    assert format_value(2.6, "") == "3"
    assert format_value(None) == NO_VALUE
    # Not a number is no value, not a crash.
    svg = svg_of(parse(bar_chart([Bar("A", float("nan"))], title="T", description="D")))
    assert texts(svg, "chart-value") == [NO_VALUE] and not shapes(svg, "rect", "chart-bar")


def test_the_height_grows_with_the_bars_and_long_labels_wrap():
    def height(bars: list[Bar]) -> float:
        return view_height(svg_of(parse(bar_chart(bars, title="T", description="D"))))

    one, two, three = (height([Bar("A", 1)] * n) for n in (1, 2, 3))
    assert one < two < three and three - two == pytest.approx(two - one)  # a row per bar

    long_name = "Socialförvaltningen, individ- och familjeomsorg, enheten för våld i nära relation"
    assert height([Bar(long_name, 1)]) > one
    svg = svg_of(parse(bar_chart([Bar(long_name * 3, 50)], title="T", description="D")))
    lines = texts(svg, "chart-label")
    assert len(lines) == 2 and lines[-1].endswith("…")


def test_everything_is_escaped():
    markup = str(
        bar_chart(
            [Bar(HOSTILE, 10, HOSTILE)],
            title=HOSTILE,
            description=HOSTILE,
            table_note=HOSTILE,
        )
    ) + str(line_chart([Point(HOSTILE, 5)], title=HOSTILE, description=HOSTILE))
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup and "&amp;" in markup
    for chart in (bar_chart, line_chart):
        figure = parse(
            chart([(HOSTILE, 10)], title=HOSTILE, description=HOSTILE, table_note=HOSTILE)
        )
        svg = svg_of(figure)
        title = svg.find(f"{SVG}title")
        assert title is not None and title.text == HOSTILE  # escaped, not mangled
        assert HOSTILE in [t.text for t in svg.iter(f"{SVG}text")]


def test_the_trend_has_a_marker_and_number_per_value_and_a_gap_for_none():
    values = [50, 55, 60, None, 70, 75, None, None, 90, 95, 100, 0]
    figure = parse(
        line_chart(
            [Point(month, value) for month, value in zip(MONTHS, values, strict=True)],
            title="Trend",
            description="Täckning vid varje månadsslut.",
            table_note="Samma siffror finns i tabellen nedan.",
        )
    )
    svg = svg_of(figure)
    assert svg.get("role") == "img"
    assert texts(svg, "chart-axis")[5:] == MONTHS  # after the 0–100 % gridline labels
    assert texts(svg, "chart-value") == [
        "50", "55", "60", NO_VALUE, "70", "75", NO_VALUE, NO_VALUE, "90", "95", "100", "0"
    ]  # fmt: skip
    markers = shapes(svg, "circle", "chart-marker")
    assert len(markers) == 9
    # The line breaks at every missing month: 50–60, 70–75 and 90–0.
    runs = [line.get("points", "").split() for line in shapes(svg, "polyline", "chart-line")]
    assert [len(run) for run in runs] == [3, 2, 4]
    # Higher values are higher up, 0 and 100 % on the bottom and top gridlines.
    ys = [float(marker.get("cy", "")) for marker in markers]
    assert ys[0] > ys[1] > ys[2]
    assert ys[-2] < ys[-1]
    bottom, top = ys[-1], ys[-2]
    assert ys[0] == pytest.approx((top + bottom) / 2)


def test_a_lone_point_is_a_marker_without_a_line():
    svg = svg_of(
        parse(line_chart([Point("jan", None), Point("feb", 40)], title="T", description="D"))
    )
    assert len(shapes(svg, "circle", "chart-marker")) == 1
    assert not shapes(svg, "polyline", "chart-line")


def test_templates_can_draw_both_charts(app: Flask):
    source = """
    {{ bar_chart(bars, title="Täckning", description="Per kommun.") }}
    {{ line_chart(points, title="Trend", description="Per månad.") }}
    """
    with app.test_request_context():
        page = render_template_string(
            source,
            bars=[Bar(HOSTILE, 60)],
            points=[Point(month, 50) for month in MONTHS],
        )
    # Two charts, each drawn for a narrow and a wide screen; none escaped twice.
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "60 %" in page and "Trend" in page
