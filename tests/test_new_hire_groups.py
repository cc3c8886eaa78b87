"""New-hire compliance per municipality, sector and unit (issue #17): on a small staff built
by hand, every figure is the one counted on paper; each group's rows equal the whole report
narrowed to that group; the page and its CSV/XLSX show the same figures; small groups of other
municipalities are withheld."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import openpyxl
import pytest
import time_machine

from tests import factories
from training_tracker.extensions import db
from training_tracker.models import Course, Role, Sector
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting.coverage import (
    CoverageFilters,
    NewHireGroup,
    new_hire_compliance,
    new_hire_groups,
)

EVERYTHING = ReportScope(True, frozenset(), frozenset())


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2025, 6, 16, 10, tzinfo=UTC), tick=False):
        yield


@pytest.fixture()
def staff() -> dict[str, Course]:
    """Hired in the twelve months to 16 June 2025, with courses A and B:

    | who | municipality, sector | hired | A due, done | B due, done |
    |---|---|---|---|---|
    | p1 | Järfälla, social services | 1 Jan | 1 Feb, 20 Jan (19 days, on time) | |
    | p2 | Järfälla, social services | 1 Feb | 1 Mar, 15 Mar (42 days, late) | 1 Mar, never |
    | p3 | Järfälla, social services | 1 May | 1 Jul, never (not yet due) | |
    | p4 | Järfälla, school | 1 Mar | 1 Apr, 10 Mar (9 days, on time) | |
    | p5 | Järfälla, school | 2023 (before the period) | done | |
    | p6 | Sigtuna, social services | 15 Jan | 15 Feb, 10 Feb (26 days, on time) | |
    """
    a = factories.dated_course("a", title="Kurs A")
    b = factories.dated_course("b", title="Kurs B")
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    school = factories.unit("Järfälla", Sector.SCHOOL, "Skola Järfälla")
    sigtuna = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Sigtuna")

    def hire(unit, hired, courses):  # type: ignore[no-untyped-def]
        person = factories.employee(unit=unit, hire_date=hired, password=None)
        for course, due, done in courses:
            factories.dated_assignment(person, course, assigned_on=hired, due=due)
            if done:
                factories.dated_completion(person, course, completed_on=done)

    hire(ifo, date(2025, 1, 1), [(a, date(2025, 2, 1), date(2025, 1, 20))])
    hire(
        ifo,
        date(2025, 2, 1),
        [(a, date(2025, 3, 1), date(2025, 3, 15)), (b, date(2025, 3, 1), None)],
    )
    hire(ifo, date(2025, 5, 1), [(a, date(2025, 7, 1), None)])
    hire(school, date(2025, 3, 1), [(a, date(2025, 4, 1), date(2025, 3, 10))])
    hire(school, date(2023, 1, 1), [(a, date(2023, 2, 1), date(2023, 1, 10))])
    hire(sigtuna, date(2025, 1, 15), [(a, date(2025, 2, 15), date(2025, 2, 10))])
    return {"a": a, "b": b}


def figures(group: NewHireGroup, course: Course) -> tuple[int, int, int, float | None] | None:
    row = group.row(course.id)
    if row is None:
        return None
    return row.required, row.judged, row.completed_by_due, row.median_days


def by_label(groups: list[NewHireGroup]) -> dict[str, NewHireGroup]:
    return {group.label: group for group in groups}


def test_per_sector_the_figures_counted_by_hand(staff):
    report = new_hire_groups(db.session, EVERYTHING, CoverageFilters(), "sector")
    assert [group.label for group in report.groups] == ["Socialtjänst", "Skola och förskola"]
    social, school = report.groups
    assert social.key == Sector.SOCIAL_SERVICES.value
    # p1, p2, p3 and p6; A judged for all but p3 (due in July), on time for p1 and p6.
    assert social.hires == 4
    assert figures(social, staff["a"]) == (4, 3, 2, 26)  # days 19, 42, 26
    assert figures(social, staff["b"]) == (1, 1, 0, None)
    assert (social.judged, social.completed_by_due) == (4, 2)
    assert social.share == 50
    assert school.hires == 1  # p5 was hired before the period
    assert figures(school, staff["a"]) == (1, 1, 1, 9)
    assert figures(school, staff["b"]) is None  # required of nobody there


def test_per_municipality_and_per_unit(staff):
    report = new_hire_groups(db.session, EVERYTHING, CoverageFilters(), "municipality")
    groups = by_label(report.groups)
    # Side by side, every municipality has its row: the four without hires show none.
    assert len(groups) == 6
    assert [groups[name].hires for name in ("Sollentuna", "Sundbyberg")] == [0, 0]
    assert figures(groups["Sollentuna"], staff["a"]) is None
    assert groups["Järfälla"].hires == 4
    assert figures(groups["Järfälla"], staff["a"]) == (4, 3, 2, 19)  # days 19, 42, 9
    assert groups["Sigtuna"].hires == 1
    assert figures(groups["Sigtuna"], staff["a"]) == (1, 1, 1, 26)

    jarfalla = factories.municipality("Järfälla")
    units = new_hire_groups(
        db.session, EVERYTHING, CoverageFilters(municipality_id=jarfalla.id), "unit"
    )
    assert [(g.label, g.municipality, g.hires) for g in units.groups] == [
        ("IFO Järfälla", "Järfälla", 3),
        ("Skola Järfälla", "Järfälla", 1),
    ]


@pytest.mark.parametrize("group_by", ["municipality", "sector", "unit"])
@pytest.mark.parametrize("mode", ["setting", "verified"])
def test_each_group_is_the_whole_report_narrowed_to_it(staff, group_by, mode):
    filters = CoverageFilters(mode=mode)
    report = new_hire_groups(db.session, EVERYTHING, filters, group_by)
    assert report.groups
    for group in report.groups:
        narrowed = {
            "municipality": filters.but(municipality_id=group.key),
            "sector": filters.but(sector=Sector(group.key) if group_by == "sector" else None),
            "unit": filters.but(unit_id=group.key),
        }[group_by]
        alone = new_hire_compliance(db.session, EVERYTHING, narrowed)
        assert group.hires == alone.hires
        assert group.rows == alone.rows


def test_the_page_and_its_downloads_show_the_same_figures(client, staff):
    client.sign_in(factories.admin())
    html = client.get("/reports/new-hires?view=sector").get_data(as_text=True)
    assert "Klara i tid per sektor" in html
    assert "4 nyanställda" in html and "1 nyanställd<" in html
    assert "2 av 3 klara i tid" in html  # social services, course A
    assert "median 26 dagar till klar" in html
    assert "1 inte förfallen än" in html

    text = client.get("/reports/new-hires.csv?view=sector").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header, social = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header[:5] == [
        "Sektor",
        "Nyanställda",
        "Alla kurser: bedömda",
        "Alla kurser: klara i tid",
        "Alla kurser: andel i tid %",
    ]
    assert social["Sektor"] == "Socialtjänst" and social["Nyanställda"] == "4"
    assert social["Alla kurser: andel i tid %"] == "50"
    assert social["Kurs A: bedömda"] == "3" and social["Kurs A: klara i tid"] == "2"
    assert social["Kurs A: andel i tid %"] == "67"
    assert social["Kurs A: median dagar till klar"] == "26"

    workbook = openpyxl.load_workbook(
        io.BytesIO(client.get("/reports/new-hires.xlsx?view=municipality").data)
    )
    sheet = workbook.worksheets[0]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][:2] == ["Kommun", "Nyanställda"]
    hires = {row[0]: row[1] for row in values[1:]}
    assert hires == {"Järfälla": 4, "Sigtuna": 1} | dict.fromkeys(
        ["Sollentuna", "Sundbyberg", "Upplands Väsby", "Upplands-Bro"], 0
    )


def test_small_groups_of_other_municipalities_are_withheld(client, staff):
    """A Järfälla coordinator reads her own municipality's small sector; a regional one
    working in Sundbyberg reads neither Järfälla's four hires nor Sigtuna's one."""
    coordinator = factories.with_role(
        factories.employee(unit=factories.unit("Järfälla", Sector.OTHER, "Kansliet")),
        Role.COORDINATOR,
        municipality_name="Järfälla",
    )
    regional = factories.with_role(
        factories.employee(unit=factories.unit("Sundbyberg", Sector.OTHER, "Regionkansliet")),
        Role.COORDINATOR,
    )
    client.sign_in(coordinator)
    html = client.get("/reports/new-hires?view=sector").get_data(as_text=True)
    assert "1 nyanställd<" in html  # her own school: one hire, shown
    client.sign_in(regional)
    text = client.get("/reports/new-hires.csv?view=municipality").data.decode("utf-8-sig")
    rows = {row[0]: row for row in csv.reader(io.StringIO(text), delimiter=";")}
    assert set(rows["Sigtuna"][1:]) == {"färre än 5"}
    assert set(rows["Järfälla"][1:]) == {"färre än 5"}  # 4 hires, not her own municipality
