"""The coverage pages and their exports: each role sees its scope, the page and the CSV and
XLSX carry the same numbers, and formula-like names are neutralised in the files."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
import pytest

from tests import factories
from training_tracker import clock
from training_tracker.models import CompletionStatus, Role, Sector


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
    assert "1 försenade" in html
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
    assert "Definitioner" in book.sheetnames
