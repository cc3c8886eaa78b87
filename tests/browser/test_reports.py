"""The regional coordinator's coverage report in a real browser: the six municipalities side
by side, sorted by a column, one municipality opened by sector, a unit by person, and the CSV
downloaded; axe-core checks every page on the way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import assert_accessible, demo_email, sign_in
from training_tracker.demo.seed import DemoResult

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
