"""The coverage pages and their exports: each role sees its scope, the page and the CSV and
XLSX carry the same numbers, and formula-like names are neutralised in the files."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from html.parser import HTMLParser

import openpyxl
import pytest

from tests import factories
from tests.conftest import counting_statements
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import CompletionStatus, Municipality, Role, Sector
from training_tracker.services.reporting import coverage


@pytest.fixture()
def ifo():
    """IFO Järfälla: four people required to take NCK's course; one verified, one awaiting
    verification, one overdue, one with time left. Plus a school in Sigtuna."""
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "=IFO Järfälla")
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    verified, reported, late, pending = (factories.employee(unit=unit) for _ in range(4))
    assigned = clock.utcnow() - timedelta(days=200)
    for person, due in ((verified, 30), (reported, 30), (late, -5), (pending, 30)):
        assignment = factories.assignment(person, course, due_in_days=due)
        assignment.assigned_at = assigned
    factories.completion(verified, course, status=CompletionStatus.VERIFIED)
    factories.completion(reported, course, status=CompletionStatus.REPORTED)
    school = factories.unit("Sigtuna", Sector.SCHOOL, "Skolan")
    factories.assignment(factories.employee(unit=school), course, due_in_days=-3)
    return unit


def page_of(client, person, path="/reports/"):  # type: ignore[no-untyped-def]
    client.sign_in(person)
    return client.get(path)


def test_hr_sees_their_municipality_by_sector_with_the_numbers_in_words(client, ifo):
    hr = factories.hr_staff("Järfälla")
    response = page_of(client, hr)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # Järfälla counts awaiting reports by default: 2 of 4 covered, 1 overdue.
    assert "50 %" in html
    assert "2 av 4" in html
    assert "1 försenad<" in html
    assert "Skolan" not in html  # Sigtuna is outside HR's scope
    assert "Så räknar vi" in html
    # Only verified: 1 of 4.
    html = client.get("/reports/?mode=verified").get_data(as_text=True)
    assert "25 %" in html and "1 av 4" in html


def test_a_regional_coordinator_compares_the_municipalities(client, ifo):
    regional = factories.with_role(factories.employee(), Role.COORDINATOR)
    html = page_of(client, regional).get_data(as_text=True)
    assert "Järfälla" in html and "Sigtuna" in html
    assert 'role="img"' in html  # the bar chart, with the same numbers in the table
    assert "chart-lines" in html  # the trend: a line per municipality


def test_with_more_municipalities_than_lines_the_trend_is_the_total_only(client, ifo):
    """A country's 290 lines would be unreadable (and a 290-column table under them)."""
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    for n in range(11):  # with Järfälla and Sigtuna: 13, one more than the lines
        db.session.add(Municipality(code=f"9{n:03d}", name=f"Kommun {n}"))
        db.session.commit()
        factories.assignment(factories.employee(unit=factories.unit(f"Kommun {n}")), course)
    regional = factories.with_role(factories.employee(), Role.COORDINATOR)
    html = page_of(client, regional).get_data(as_text=True)
    assert "Kommun 10" in html  # in the table
    assert "chart-lines" not in html and "trend-table" not in html
    assert "Täckning för alla krävda kurser vid varje månadsslut" in html  # the total's line


def test_a_plain_employee_gets_no_report(client, ifo):
    assert page_of(client, factories.employee(unit=ifo)).status_code == 403


def test_the_unit_page_lists_people_and_is_404_outside_the_scope(client, ifo):
    manager = factories.with_role(factories.employee(unit=ifo), Role.MANAGER, on_unit=ifo)
    response = page_of(client, manager, f"/reports/units/{ifo.id}")
    assert response.status_code == 200
    assert "Försenad" in response.get_data(as_text=True)
    sigtuna = factories.unit("Sigtuna", Sector.SCHOOL, "Skolan")
    assert client.get(f"/reports/units/{sigtuna.id}").status_code == 404


def test_the_csv_and_the_xlsx_carry_the_page_numbers_and_neutralise_formulas(client, ifo):
    hr = factories.hr_staff("Järfälla")
    client.sign_in(hr)
    response = client.get("/reports/coverage.csv?view=unit")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    header, ifo_row = rows[0], next(r for r in rows if "IFO" in r[0])
    assert ifo_row[0] == "'=IFO Järfälla"  # neutralised
    values = dict(zip(header, ifo_row, strict=True))
    assert values["Alla krävda kurser: krävs"] == "4"
    assert values["Alla krävda kurser: klara"] == "2"
    assert values["Alla krävda kurser: täckning %"] == "50"

    book = openpyxl.load_workbook(io.BytesIO(client.get("/reports/coverage.xlsx?view=unit").data))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value and "IFO" in str(r[0].value))
    assert row[0].value == "'=IFO Järfälla" and row[0].data_type == "s"
    cells = dict(zip(header, [cell.value for cell in row], strict=True))
    assert cells["Alla krävda kurser: täckning %"] == 50
    # A sheet per view (the page's first), the trend, new hires, the joint programme's reach
    # this year and the definitions.
    assert book.sheetnames == [
        "Per enhet",
        "Per kommun",
        "Per sektor",
        "Utveckling",
        "Nyanställda",
        f"Programmet {clock.today().year}",
        "Definitioner",
    ]


class TableCells(HTMLParser):
    """The text of each row of the page's coverage table: [row header, cell, cell, …]."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_table = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and "coverage-table" in (dict(attrs).get("class") or "").split():
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif self._in_table and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_every_cell_of_the_page_matches_the_csv(client, ifo):
    """Each group's people, fully trained, and per column the percentage and "covered of
    required" (open on demand under it), on the page and in the CSV, for every row including
    the totals. (An admin reads every figure; what a coordinator may not see is withheld
    alike, see test_data_minimisation.)"""
    client.sign_in(factories.admin())
    parser = TableCells()
    parser.feed(client.get("/reports/?view=unit").get_data(as_text=True))
    page_rows = [row for row in parser.rows[1:] if row]
    exported = list(
        csv.reader(
            io.StringIO(client.get("/reports/coverage.csv?view=unit").data.decode("utf-8-sig")),
            delimiter=";",
        )
    )
    # Per unit, the export also names each unit's municipality and sector; the page's cell
    # shows them beside the unit's name.
    assert exported[0][1:3] == ["Kommun", "Sektor"]
    exported = [[row[0], *row[3:]] for row in exported]
    header, export_rows = exported[0], exported[1:]
    assert len(page_rows) == len(export_rows) >= 3  # two units and the totals
    columns = [name.split(": ")[0] for name in header[3::7]]
    for page_row, export_row in zip(page_rows, export_rows, strict=True):
        values = dict(zip(header, export_row, strict=True))
        # The row's header names the group, then its people and the fully trained; the
        # columns are the courses (issue #17: the table fits 1280 px).
        assert page_row[0].startswith(export_row[0].removeprefix("'")[:10])
        assert f"{export_row[1]} anställd" in page_row[0]
        assert f"{export_row[2]} fullt utbildad" in page_row[0]
        assert len(page_row) == 1 + len(columns)
        for index, column in enumerate(columns):
            cell = page_row[1 + index]
            share = values[f"{column}: täckning %"]
            assert cell.startswith(f"{share} %" if share else "–"), (column, cell)
            covered, required = values[f"{column}: klara"], values[f"{column}: krävs"]
            assert f"{covered} av {required}" in cell, (column, cell)


def test_the_page_takes_the_same_number_of_queries_for_few_and_many_people(client, ifo):
    hr = factories.hr_staff("Järfälla")
    client.sign_in(hr)
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]

    def statements() -> int:
        with counting_statements() as seen:
            assert client.get("/reports/").status_code == 200
        return len(seen)

    few = statements()
    factories.staff_in_bulk(
        ifo,
        200,
        [course],
        hire_date=date(2025, 1, 1),
        assigned_on=date(2025, 1, 1),
        due=date(2025, 4, 1),
    )
    assert statements() == few


def test_with_too_many_units_to_list_the_unit_filter_waits_for_a_municipality(
    client, ifo, monkeypatch
):
    """At a county's or the country's size the scope has tens of thousands of units: the unit
    filter lists those of the chosen municipality only, and says so until one is chosen."""
    regional = factories.with_role(factories.employee(), Role.COORDINATOR)
    client.sign_in(regional)
    html = client.get("/reports/").get_data(as_text=True)
    assert "=IFO Järfälla</option>" in html and "Skolan</option>" in html
    assert 'id="unit-hint"' not in html

    monkeypatch.setattr(coverage, "MAX_UNIT_CHOICES", 1)
    html = client.get("/reports/").get_data(as_text=True)
    assert "=IFO Järfälla</option>" not in html and "Skolan</option>" not in html
    assert 'aria-describedby="unit-hint"' in html
    assert "Välj en kommun och visa rapporten för att kunna välja en av dess enheter." in html

    html = client.get(f"/reports/?municipality_id={ifo.municipality_id}").get_data(as_text=True)
    assert "=IFO Järfälla</option>" in html and "Skolan</option>" not in html
    assert 'id="unit-hint"' not in html


def test_unit_rows_of_the_exports_name_their_municipality_and_sector(client):
    """Two municipalities each have a "Hemtjänsten": every unit row of the CSV and of the XLSX
    (the page's sheet and the "Per enhet" sheet beside another view) says which is which."""
    course = factories.synced_catalog()["nck-webbkurs-om-vald"]
    for name, sector in (("Järfälla", Sector.HEALTH_AND_CARE), ("Sigtuna", Sector.OTHER)):
        unit = factories.unit(name, sector, "Hemtjänsten")
        factories.assignment(factories.employee(unit=unit), course)
    client.sign_in(factories.with_role(factories.employee(), Role.COORDINATOR))
    expected = {("Järfälla", "Hälso- och sjukvård / omsorg"), ("Sigtuna", "Övrigt")}

    body = client.get("/reports/coverage.csv?view=unit").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0][:3] == ["Enhet", "Kommun", "Sektor"]
    units = [row for row in rows[1:] if row[0] == "Hemtjänsten"]
    assert {(row[1], row[2]) for row in units} == expected
    totals = next(row for row in rows if row[0] == "Totalt")
    assert totals[1:3] == ["", ""]

    for view, sheet_name in (("unit", "Per enhet"), ("municipality", "Per enhet")):
        data = client.get(f"/reports/coverage.xlsx?view={view}").data
        sheet = openpyxl.load_workbook(io.BytesIO(data))[sheet_name]
        header = [cell.value for cell in sheet[1]]
        assert header[:3] == ["Enhet", "Kommun", "Sektor"]
        found = {
            (row[1], row[2])
            for row in sheet.iter_rows(min_row=2, values_only=True)
            if row[0] == "Hemtjänsten"
        }
        assert found == expected
