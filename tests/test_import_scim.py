"""The HR import and the municipality's directory (SCIM, issue #19) never fight: for a person
the directory manages, the import skips the fields the directory sets (it would write its own
value back at its next sync) and says so in the preview; the rest of the row is imported, and
new people are added as usual. Revoking the municipality's token, or the directory deleting
the person, hands the fields back to HR."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from tests import factories
from tests.scim_helpers import Directory, directory, user_payload
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Employee, Role, Sector, Unit
from training_tracker.services.imports.applying import apply_import
from training_tracker.services.imports.parsing import parse_employee_file
from training_tracker.services.imports.plan import ImportPlan, RowAction
from training_tracker.services.imports.planning import plan_import
from training_tracker.services.people.scim import tokens

HEADER = (
    "Förnamn;Efternamn;E-post;Kommun;Enhet;Anställningsdatum;Anställningsnummer;"
    "Chefens e-post;Slutdatum\n"
)
ANNA = "anna.andersson@jarfalla.example"


@pytest.fixture()
def ifo() -> Unit:
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")


@pytest.fixture()
def school() -> Unit:
    return factories.unit("Järfälla", Sector.SCHOOL, "Förskolan Solen")


@pytest.fixture()
def entra(client) -> Directory:
    return directory(client)


def provisioned(entra: Directory, payload: dict[str, object]) -> Employee:
    """Someone the directory created."""
    response = entra.post("/Users", payload)
    assert response.status_code == 201, response.get_data(as_text=True)
    return db.session.get(Employee, int(response.get_json()["id"]))


def plan(text: str) -> ImportPlan:
    return plan_import(
        db.session, parse_employee_file((HEADER + text).encode(), "p.csv"), user=None
    )


def import_file(text: str) -> ImportPlan:
    planned = plan(text)
    apply_import(db.session, planned, actor=None, invite=False)
    db.session.commit()
    db.session.expire_all()
    return planned


def fields_of(employee: Employee) -> dict[str, object]:
    db.session.refresh(employee)
    return {
        name: getattr(employee, name)
        for name in (
            "first_name",
            "last_name",
            "email",
            "unit_id",
            "hire_date",
            "employee_number",
            "manager_id",
            "end_date",
        )
    }


def updates_of(employee: Employee) -> int:
    return len(
        db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "employee.updated",
                AuditEvent.subject_employee_id == employee.id,
            )
        ).all()
    )


def test_the_import_skips_every_field_the_directory_sets_and_keeps_its_values(entra, ifo, school):
    boss = factories.employee(unit=ifo, email="chef@jarfalla.example")
    factories.employee(unit=ifo, email="annan.chef@jarfalla.example")
    sent = user_payload(
        ANNA,
        department="IFO",
        employee_number="E100",
        manager=str(boss.id),
        hire_date="2024-01-15T00:00:00Z",
    )
    anna = provisioned(entra, sent)
    before = fields_of(anna)
    assert (before["unit_id"], before["manager_id"]) == (ifo.id, boss.id)

    planned = import_file(
        f"Anne;Anderson;{ANNA};Järfälla;Förskolan Solen;2020-01-01;H999;"
        "annan.chef@jarfalla.example;2026-01-01\n"
    )

    [row] = planned.rows
    assert (row.employee_id, row.action) == (anna.id, RowAction.UNCHANGED)
    assert row.kept == {
        "first_name": ["Anna", "Anne"],
        "last_name": ["Andersson", "Anderson"],
        "unit_id": [ifo.id, school.id],
        "hire_date": ["2024-01-15", "2020-01-01"],
        "employee_number": ["E100", "H999"],
        "manager_id": [boss.id, "annan.chef@jarfalla.example"],
        "end_date": [None, "2026-01-01"],
    }
    assert planned.provisioned == ["Järfälla"]
    assert fields_of(anna) == before
    assert anna.active  # the file's past end date did not end her employment
    # Nothing to fight over: the directory's next sync finds everything as it left it.
    assert entra.put(f"/Users/{anna.id}", sent).status_code == 200
    assert updates_of(anna) == 0


def test_the_rest_of_the_row_is_imported_and_the_unit_is_hrs_where_the_directory_names_none(
    entra, ifo
):
    anna = provisioned(entra, user_payload(ANNA, department="Okänd avdelning"))
    assert anna.unit_id is None and anna.hire_date is None  # HR's "utan enhet" list

    planned = import_file(f"Anne;Andersson;{ANNA};Järfälla;IFO;2025-03-01;;;\n")

    [row] = planned.rows
    assert row.action == RowAction.UPDATE
    assert row.kept == {"first_name": ["Anna", "Anne"]}
    assert row.changes == {"unit_id": [None, ifo.id], "hire_date": [None, "2025-03-01"]}
    assert (anna.first_name, anna.unit_id, anna.hire_date) == ("Anna", ifo.id, date(2025, 3, 1))


def test_someone_the_directory_manages_is_matched_by_employee_number_too(entra, ifo):
    anna = provisioned(entra, user_payload(ANNA, department="IFO", employee_number="E100"))

    planned = import_file("Anna;Andersson;anna.a@hr-systemet.example;Järfälla;IFO;;E100;;\n")

    [row] = planned.rows
    assert (row.employee_id, row.action) == (anna.id, RowAction.UNCHANGED)
    assert row.kept == {"email": [ANNA, "anna.a@hr-systemet.example"]}
    assert fields_of(anna)["email"] == ANNA


def test_moving_someone_the_directory_manages_to_another_municipality_is_refused(entra, ifo):
    provisioned(entra, user_payload(ANNA, department="IFO"))
    factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Sigtuna")

    planned = plan(f"Anna;Andersson;{ANNA};Sigtuna;IFO Sigtuna;;;;\n")

    assert planned.rows == []
    assert [(p.column, p.message) for p in planned.problems] == [
        ("Kommun", "kommunens katalog (SCIM) hanterar personen; flytta personen i katalogen")
    ]


def test_revoking_the_municipalitys_token_hands_the_fields_back_to_hr(entra, ifo):
    anna = provisioned(entra, user_payload(ANNA, department="IFO"))
    token = tokens.get_token(db.session, entra.token_id)
    assert token is not None
    tokens.revoke_token(db.session, token, actor=None)
    db.session.commit()

    planned = import_file(f"Anne;Andersson;{ANNA};Järfälla;IFO;;;;\n")

    assert planned.provisioned == []
    assert planned.rows[0].kept == {}
    assert fields_of(anna)["first_name"] == "Anne"


def test_someone_the_directory_deleted_is_hrs_again(entra, ifo):
    anna = provisioned(entra, user_payload(ANNA, department="IFO"))
    assert entra.delete(f"/Users/{anna.id}").status_code == 204

    planned = import_file(f"Anne;Andersson;{ANNA};Järfälla;IFO;;;;\n")

    assert planned.rows[0].kept == {}
    assert planned.provisioned == ["Järfälla"]  # the directory may still send others
    assert fields_of(anna)["first_name"] == "Anne"


def test_people_of_a_municipality_without_a_directory_are_imported_as_before(client, ifo):
    directory(client, "Sigtuna")  # another municipality's directory
    anna = factories.employee(unit=ifo, email=ANNA, first_name="Anna")

    planned = import_file(f"Anne;Andersson;{ANNA};Järfälla;IFO;;;;\n")

    assert (planned.provisioned, planned.rows[0].kept) == ([], {})
    assert fields_of(anna)["first_name"] == "Anne"


def test_the_command_line_names_the_values_it_kept(entra, ifo, runner, tmp_path):
    anna = provisioned(entra, user_payload(ANNA, department="IFO"))
    path = tmp_path / "personal.csv"
    path.write_text(HEADER + f"Anne;Andersson;{ANNA};Järfälla;IFO;;H7;;\n", encoding="utf-8")

    result = runner.invoke(args=["employees", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "line 2: kept from the directory: employee_number, first_name" in result.output
    assert fields_of(anna)["first_name"] == "Anna"


# --- the preview -------------------------------------------------------------------------------


def upload(client, content: str):  # type: ignore[no-untyped-def]
    data = {"file": (io.BytesIO((HEADER + content).encode()), "personal.csv")}
    response = client.post_form("/employees/import/", data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert re.search(r"/employees/import/\d+$", response.location)
    return client.get(response.location)


@pytest.fixture()
def hr(client, ifo):  # type: ignore[no-untyped-def]
    person = factories.with_role(
        factories.employee(unit=ifo), Role.HR, municipality_name="Järfälla"
    )
    client.sign_in(person)
    return person


def test_the_preview_says_what_the_directory_manages_and_which_values_it_skips(
    client, entra, ifo, hr
):
    provisioned(entra, user_payload(ANNA, department="IFO", employee_number="E100"))

    page = upload(
        client,
        f"Anne;Andersson;{ANNA};Järfälla;IFO;;H999;;\n"
        "Lisa;Berg;lisa.berg@jarfalla.example;Järfälla;IFO;2026-11-01;;;\n",
    )
    html = page.get_data(as_text=True)

    assert page.status_code == 200
    assert "Hanteras av kommunens katalog (SCIM)" in html
    assert "Järfälla får sin personal från kommunens katalog" in html
    assert "De värdena i filen sparas inte" in html
    assert "Förnamn: Anna (filen: Anne)" in html
    assert "Anställningsnummer: E100 (filen: H999)" in html
    assert "Nya anställda (1)" in html  # Lisa is added as usual
    assert "Oförändrade</dt><dd>1" in html


def test_the_preview_of_a_file_the_directory_agrees_with_says_so(client, entra, ifo, hr):
    provisioned(entra, user_payload(ANNA, department="IFO"))

    html = upload(client, f"Anna;Andersson;{ANNA};Järfälla;IFO;;;;\n").get_data(as_text=True)

    assert "Hanteras av kommunens katalog (SCIM)" in html
    assert "Filen skiljer sig inte från katalogen för någon av dem." in html


def test_no_directory_no_notice(client, ifo, hr):
    html = upload(client, f"Anna;Andersson;{ANNA};Järfälla;IFO;;;;\n").get_data(as_text=True)

    assert "Hanteras av kommunens katalog" not in html
