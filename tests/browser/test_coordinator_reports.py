"""The coordinators' report pages in Chromium (issue #17): the six municipalities side by side
fit 1280 px without sideways scrolling, the counts open under a percentage, a legend explains
the colours, the trend is six named lines, the drill-down goes region › municipality › sector
› unit with a breadcrumb, and the new-hire report follows; at 390 px the page does not scroll
sideways (a wide table scrolls inside its own labelled region). axe-core checks each page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    assert_accessible,
    assert_no_sideways_scroll,
    demo_email,
    sign_in,
)
from training_tracker.demo.seed import DemoResult

pytestmark = pytest.mark.browser


def table_fits(page: Any) -> None:
    """The coverage table is no wider than its box: nothing to scroll sideways to."""
    widths = page.locator("table.coverage-table").evaluate(
        "t => { const box = t.closest('.table-scroll');"
        " return [t.scrollWidth, box.scrollWidth, box.clientWidth]; }"
    )
    table, content, box = widths
    assert table <= box and content <= box, f"{page.url}: table {table} px in a {box} px box"


def crumbs(page: Any) -> Any:
    """The breadcrumb's steps, as a locator: `expect` waits for a page that is still loading
    after a click (read at once, a half-loaded page gave no steps at all)."""
    return page.get_by_role("navigation", name="Brödsmulor").get_by_role("listitem")


def test_the_regional_coordinator_at_1280_px(page: Any, live_server: str, demo: DemoResult) -> None:
    sign_in(page, live_server, demo_email(demo, "regional-coordinator"))
    page.goto(f"{live_server}/reports/")
    table = page.locator("table.coverage-table")
    expect(table.locator("tbody th[scope=row]")).to_have_count(6)
    table_fits(page)
    assert_no_sideways_scroll(page)
    expect(crumbs(page)).to_have_text(["Alla kommuner"])
    current = page.get_by_role("navigation", name="Brödsmulor").locator("[aria-current=page]")
    expect(current).to_have_text("Alla kommuner")

    # The colours are explained; a cell shows its percentage, its counts open under it.
    legend = page.get_by_role("list", name="Färgerna upprepar procenten")
    expect(legend.get_by_role("listitem")).to_have_count(4)
    first = table.locator("tbody tr").first.locator("td.coverage-cell").first
    counts = first.locator(".cell-detail").first
    expect(counts).to_be_hidden()
    first.locator("summary").click()
    expect(counts).to_be_visible()
    expect(counts).to_contain_text(" av ")
    table_fits(page)  # still fits with the counts open

    # The trend: one image of six named lines, drawn for the wide screen, and its table.
    trend = page.get_by_role("img", name="Täckning för alla krävda kurser per kommun vid varje")
    expect(trend).to_have_count(1)
    assert "chart-wide" in (trend.get_attribute("class") or "")
    box = trend.bounding_box()
    container = page.locator("main").bounding_box()
    assert box is not None and container is not None
    assert box["width"] >= container["width"] - 64  # the content's full width (its padding)
    expect(trend.locator(".chart-legend-item")).to_have_count(6)
    assert trend.locator(".chart-year").all_text_contents()  # the year on the axis
    trend_table = page.get_by_role("region", name="Utveckling de senaste 12 månaderna")
    expect(trend_table.locator("thead th")).to_have_count(8)  # date, six, total
    assert_accessible(page)

    # Down: a municipality by sector, a sector by unit, a unit; the breadcrumb follows.
    page.get_by_label("Räkna som klara").select_option("verified")
    page.get_by_role("button", name="Visa").click()
    table.get_by_role("link", name="Sigtuna").click()
    expect(crumbs(page)).to_have_text(["Alla kommuner", "Sigtuna"])
    expect(page.get_by_label("Räkna som klara")).to_have_value("verified")  # kept
    table_fits(page)
    sector_link = table.locator("tbody th a").first
    sector = sector_link.inner_text().strip()
    sector_link.click()
    expect(crumbs(page)).to_have_text(["Alla kommuner", "Sigtuna", sector])
    expect(page.get_by_label("Rader")).to_have_value("unit")
    expect(page.get_by_label("Räkna som klara")).to_have_value("verified")
    table_fits(page)
    assert_accessible(page)
    unit_link = table.locator("tbody th a").first
    unit = unit_link.inner_text().strip()
    unit_link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(unit)
    expect(crumbs(page)).to_have_text(["Alla kommuner", "Sigtuna", sector, unit])
    assert "mode=verified" in page.url
    assert_accessible(page)
    # Up again, one step.
    page.get_by_role("navigation", name="Brödsmulor").get_by_role(
        "link", name=sector, exact=True
    ).click()
    expect(crumbs(page)).to_have_text(["Alla kommuner", "Sigtuna", sector])

    # New hires per municipality, with the same filters and its downloads.
    page.goto(f"{live_server}/reports/new-hires?mode=verified")
    expect(page.get_by_role("heading", name="Klara i tid per kommun")).to_be_visible()
    expect(page.locator("table.new-hire-table tbody th[scope=row]")).to_have_count(6)
    expect(page.get_by_label("Räkna som klara")).to_have_value("verified")
    expect(page.get_by_role("link", name="Ladda ner som CSV")).to_have_attribute(
        "href", "/reports/new-hires.csv?view=municipality&mode=verified"
    )
    assert_no_sideways_scroll(page)
    assert_accessible(page)


def test_the_regional_coordinator_at_390_px(
    phone_page: Any, live_server: str, demo: DemoResult
) -> None:
    page = phone_page
    sign_in(page, live_server, demo_email(demo, "regional-coordinator"))
    for path in ("/reports/", "/reports/?view=sector&municipality_id=1", "/reports/new-hires"):
        page.goto(f"{live_server}{path}")
        assert_no_sideways_scroll(page)
        assert_accessible(page)
    page.goto(f"{live_server}/reports/")
    # The wide table scrolls inside its own region, named by its heading, reachable by keyboard.
    region = page.locator(".table-scroll").filter(has=page.locator("table.coverage-table"))
    expect(region).to_have_attribute("role", "region")
    expect(region).to_have_attribute("tabindex", "0")
    expect(region).to_have_accessible_name("Per kommun och kurs")
    trend = page.get_by_role("img", name="Täckning för alla krävda kurser per kommun vid varje")
    assert "chart-narrow" in (trend.get_attribute("class") or "")
    box = trend.bounding_box()
    assert box is not None and box["width"] <= 390


@pytest.mark.parametrize("width", [1280, 390])
def test_a_municipal_coordinator(
    browser: Any, live_server: str, demo: DemoResult, width: int
) -> None:
    context = browser.new_context(locale="sv-SE", viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server, demo_email(demo, "coordinator"))
        page.goto(f"{live_server}/reports/")
        expect(crumbs(page)).to_have_count(1)  # her municipality
        home = crumbs(page).inner_text().strip()
        if width == 1280:
            table_fits(page)
        assert_no_sideways_scroll(page)
        assert_accessible(page)
        page.locator("table.coverage-table tbody th a").first.click()
        expect(crumbs(page)).to_have_count(2)
        expect(crumbs(page).first).to_have_text(home)
        assert_no_sideways_scroll(page)
        page.goto(f"{live_server}/reports/new-hires")
        expect(page.get_by_role("heading", name="Klara i tid per sektor")).to_be_visible()
        assert_no_sideways_scroll(page)
        assert_accessible(page)
    finally:
        context.close()
