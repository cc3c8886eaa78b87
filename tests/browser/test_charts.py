"""The charts (issue #6) in real Chromium with the app's stylesheet: axe-core finds nothing,
screen readers get one named image per chart, and a phone does not scroll sideways."""

from __future__ import annotations

from typing import Any

import pytest
from markupsafe import Markup

from tests.browser.support import assert_accessible, assert_no_sideways_scroll
from training_tracker.charts import Bar, Point, bar_chart, line_chart

pytestmark = pytest.mark.browser

LONG_UNIT = "Socialförvaltningen, individ- och familjeomsorg, enheten för våld i nära relation"
MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
NOTE = "Samma siffror finns i tabellen nedan."


def _charts() -> Markup:
    bars = [
        Bar("Alingsås", 82),
        Bar(LONG_UNIT, 47),
        Bar("Ny enhet <script>alert(1)</script> & co", None, "inga anställda"),
        Bar("Borås", 100),
    ]
    values = [40, 45, None, 55, 60, 62, 70, None, 80, 85, 90, 100]
    points = [Point(m, v) for m, v in zip(MONTHS, values, strict=True)]
    return bar_chart(
        bars, title="Täckning per kommun", description="Andel gjorda kurser.", table_note=NOTE
    ) + line_chart(
        points, title="Täckning månad för månad", description="Senaste tolv månaderna.",
        table_note=NOTE,
    )  # fmt: skip


def _show(page: Any, live_server: str) -> None:
    page.set_content(
        Markup(
            '<!doctype html><html lang="sv"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Diagram</title>"
            '<link rel="stylesheet" href="{}/static/css/app.css"></head>'
            '<body><main class="wrap"><h1>Täckning</h1>{}</main></body></html>'
        ).format(live_server, _charts()),
        wait_until="load",
    )


def test_axe_finds_nothing_in_the_charts(page: Any, live_server: str) -> None:
    _show(page, live_server)
    # The stylesheet is applied: bars in the app's --info blue, not the fallback text colour.
    fill = page.locator(".chart-bar").first.evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(11, 83, 148)"
    assert_accessible(page)


def test_each_chart_is_one_named_image(page: Any, live_server: str) -> None:
    _show(page, live_server)
    images = page.get_by_role("img")
    assert images.count() == 2
    first = images.nth(0)
    assert first.evaluate("e => e.getAttribute('aria-labelledby')")
    assert page.get_by_role("img", name="Täckning per kommun").count() == 1
    assert page.get_by_role("img", name="Täckning månad för månad").count() == 1
    assert page.get_by_text(NOTE).count() == 2
    # The hostile name is text, never a script.
    assert page.locator("script").count() == 0


def test_charts_fit_a_phone(phone_page: Any, live_server: str) -> None:
    _show(phone_page, live_server)
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
