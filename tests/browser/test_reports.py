"""The regional coordinator's coverage report in a real browser: the six municipalities side
by side, sorted by a column, one municipality opened by sector, a unit by person, and the CSV
downloaded; axe-core checks every page on the way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import expect

from tests.browser.support import (
    assert_accessible,
    assert_no_sideways_scroll,
    demo_email,
    sign_in,
)
from training_tracker.demo.seed import DemoResult
from training_tracker.extensions import db
from training_tracker.models import CoverageSummary, CoverageUnitCache, CoverageUnitCell
from training_tracker.services.reporting import coverage_cache

pytestmark = pytest.mark.browser

MUNICIPALITIES = [
    "Järfälla",
    "Sigtuna",
    "Sollentuna",
    "Upplands-Bro",
    "Upplands Väsby",
    "Sundbyberg",
]


def test_a_regional_coordinator_compares_the_municipalities_and_drills_down(
    page: Any, live_server: str, demo: DemoResult
) -> None:
    sign_in(page, live_server, demo_email(demo, "regional-coordinator"))
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Täckning").click()
    expect(page.get_by_role("heading", name="Täckning", level=1)).to_be_visible()
    table = page.locator("table.coverage-table")
    expect(table.locator("tbody th[scope=row]")).to_have_count(6)
    names = table.locator("tbody th[scope=row] a").all_inner_texts()  # the people under each
    assert sorted(n.strip() for n in names) == sorted(MUNICIPALITIES)
    expect(
        page.get_by_role("img", name="Täckning för alla krävda kurser per kommun", exact=True)
    ).to_be_visible()
    assert_accessible(page)

    # Sorted by the coverage of all required courses, highest first.
    page.get_by_role("link", name=re.compile(r"^Alla krävda kurser\W+sortera fallande")).click()
    header = page.locator("th[aria-sort]")
    expect(header).to_have_attribute("aria-sort", "descending")
    shares = [
        int(text.split("%")[0]) if "%" in text else -1
        for text in table.locator(
            "tbody tr td.coverage-cell:nth-of-type(1) strong"
        ).all_inner_texts()
    ]
    assert shares == sorted(shares, reverse=True)
    assert_accessible(page)

    # One municipality, by sector; then its units, and one unit person by person.
    table.get_by_role("link", name="Järfälla").click()
    expect(page.get_by_label("Rader")).to_have_value("sector")
    assert_accessible(page)
    page.get_by_label("Rader").select_option("unit")
    with page.expect_navigation():  # the units' page, not the sectors' still showing
        page.get_by_role("button", name="Visa").click()
    first_unit = page.locator("table.coverage-table tbody th a").first
    unit_name = first_unit.inner_text()
    first_unit.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(unit_name)
    assert_accessible(page)
    page.get_by_role("navigation", name="Brödsmulor").get_by_role("link", name="Järfälla").click()

    with page.expect_download() as download:
        page.get_by_role("link", name="Ladda ner som CSV").click()
    path = download.value.path()
    assert path is not None
    assert Path(path).read_bytes().startswith(b"\xef\xbb\xbf")
    assert download.value.suggested_filename.endswith(".csv")


def test_figures_still_being_computed_are_said_so_on_a_computer_and_a_phone(
    page: Any,
    phone_page: Any,
    live_server: str,
    demo: DemoResult,
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a restore the cache is empty; past the live table's budget (none here) the page
    says the figures are being computed, with a link to reload, and a download says when to
    come back, not an empty file (issue #21)."""
    for model in (CoverageUnitCell, CoverageUnitCache, CoverageSummary):
        db.session.execute(sa.delete(model))
    db.session.commit()
    monkeypatch.setattr(coverage_cache, "INLINE_ROWS", 0)  # every stale row is too many
    monkeypatch.setitem(app.config, "COVERAGE_LIVE_BUDGET_SECONDS", 0)
    for one in (page, phone_page):
        sign_in(one, live_server, demo_email(demo, "regional-coordinator"))
        one.goto(f"{live_server}/reports/")
        notice = one.get_by_role("status").filter(has_text="Siffrorna räknas fram just nu")
        expect(notice).to_be_visible()
        expect(one.locator("table.coverage-table")).to_have_count(0)
        expect(one.locator("#trend-pending")).to_be_visible()  # the trend waits too
        expect(notice.get_by_role("link", name="ladda om sidan")).to_have_attribute(
            "href", "/reports/"
        )
        assert_accessible(one)
        assert_no_sideways_scroll(one)

    response = page.goto(f"{live_server}/reports/coverage.csv")
    assert response is not None and response.status == 503
    assert response.headers["retry-after"] == "60"
    expect(page.get_by_role("heading", level=1)).to_have_text("Försök igen om en stund")
    assert_accessible(page)
