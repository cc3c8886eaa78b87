"""Importing an HR-system export (issue #3, point 4), as a specification: what the planner
decides for each row, what the one-transaction apply writes, the welcome mails written when
they are sent, and ``flask employees import``. The web upload is in test_import_web.py and the
file format in test_import_parsing.py."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.header import decode_header, make_header
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest
import sqlalchemy as sa
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bench import hr_export
from tests import factories
from tests.conftest import MailCatcher, count, mail_text
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    AuditEvent,
    Course,
    Employee,
    ImportBatch,
    ImportStatus,
    OutboxMessage,
    OutboxStatus,
    Role,
    Sector,
    Unit,
)
from training_tracker.services.imports import applying
from training_tracker.services.imports.applying import ImportResult, apply_import
from training_tracker.services.imports.batches import claim_batch, confirm_batch
from training_tracker.services.imports.parsing import parse_employee_file
from training_tracker.services.imports.plan import ImportPlan, RowAction, UnknownUnits
from training_tracker.services.imports.planning import plan_import
from training_tracker.services.imports.table import ImportFileError
from training_tracker.services.messaging import outbox
from training_tracker.services.training.assignments import recompute_assignments

TODAY = date(2026, 11, 2)
HIRED = "2026-10-01"  # a new hire: due dates count from here
COLUMNS = {
    "first": "Förnamn",
    "last": "Efternamn",
    "email": "E-post",
    "kommun": "Kommun",
    "unit": "Enhet",
    "sector": "Sektor",
    "hired": "Anställningsdatum",
    "number": "Anställningsnummer",
    "manager": "Chefens e-post",
    "end": "Slutdatum",
}
DEFAULTS = {
    "first": "Lisa",
    "last": "Berg",
    "email": "lisa.berg@jarfalla.example",
    "kommun": "Järfälla",
    "unit": "IFO",
    "sector": "Socialtjänst",
    "hired": HIRED,
    "number": "",
    "manager": "",
    "end": "",
}


@pytest.fixture(autouse=True)
def _a_fixed_day() -> Iterator[None]:
    """Every date below is relative to 2 November 2026, whatever day the tests run."""
    with time_machine.travel(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), tick=True):
        yield


# --- helpers ---------------------------------------------------------------------------------


def export(*rows: dict[str, str], columns: list[str] | None = None, delimiter: str = ";") -> bytes:
    """A CSV export: each row is DEFAULTS with the given values; ``columns`` picks columns."""
    columns = columns or list(COLUMNS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow([COLUMNS[name] for name in columns])
    for values in rows:
        writer.writerow([(DEFAULTS | values)[name] for name in columns])
    return buffer.getvalue().encode()


def person_row(email: str, **values: str) -> dict[str, str]:
    first, last = email.split("@")[0].split(".")[:2]
    return {"first": first.title(), "last": last.title(), "email": email, **values}


def plan(
    data: bytes,
    *,
    user: Employee | None = None,
    unknown_units: UnknownUnits = UnknownUnits.REJECT,
    default_municipality: str | None = None,
) -> ImportPlan:
    parsed = parse_employee_file(data, "personal.csv")
    default_id = factories.municipality(default_municipality).id if default_municipality else None
    return plan_import(
        db.session,
        parsed,
        user=user,
        default_municipality_id=default_id,
        unknown_units=unknown_units,
        today=TODAY,
    )


def run(
    data: bytes,
    *,
    user: Employee | None = None,
    invite: bool = True,
    unknown_units: UnknownUnits = UnknownUnits.REJECT,
    default_municipality: str | None = None,
) -> ImportResult:
    """Plan and apply in one transaction, and commit, as the CLI and the web do."""
    planned = plan(
        data, user=user, unknown_units=unknown_units, default_municipality=default_municipality
    )
    result = apply_import(db.session, planned, actor=user, invite=invite, today=TODAY)
    db.session.commit()
    db.session.expire_all()
    return result


def person(email: str) -> Employee:
    return db.session.scalars(sa.select(Employee).where(Employee.email == email)).one()


def open_assignments(employee: Employee) -> dict[str, date]:
    rows = db.session.execute(
        sa.select(Course.key, Assignment.due_date)
        .join(Assignment.course)
        .where(Assignment.employee_id == employee.id, Assignment.removed_at.is_(None))
    ).all()
    return dict(rows)


def events(action: str, employee: Employee | None = None) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    if employee is not None:
        query = query.where(AuditEvent.subject_employee_id == employee.id)
    return list(db.session.scalars(query))


def problems_of(planned: ImportPlan) -> list[tuple[int, str | None, str, str]]:
    return [(p.line, p.column, p.value, p.message) for p in planned.problems]


@pytest.fixture()
def ifo() -> Unit:
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")


@pytest.fixture()
def school() -> Unit:
    return factories.unit("Järfälla", Sector.SCHOOL, "Förskolan Solen")


@pytest.fixture()
def courses(ifo: Unit) -> dict[str, Course]:
    """Everyone: NCK's course within 90 days; social services in Järfälla also Socialstyrelsen's
    within 60."""
    catalog = factories.synced_catalog()
    factories.rule(catalog["nck-webbkurs-om-vald"], due_days=90)
    factories.rule(
        catalog["socialstyrelsen-hrv-socialtjansten"],
        sector=Sector.SOCIAL_SERVICES,
        municipality_name="Järfälla",
        due_days=60,
    )
    return catalog


@pytest.fixture()
def hr_jarfalla() -> Employee:
    return factories.with_role(
        factories.employee(email="hr@jarfalla.example"), Role.HR, municipality_name="Järfälla"
    )


def stored_lisa(unit: Unit, **values: object) -> Employee:
    """The employee DEFAULTS describe, already stored (with an employee number of her own)."""
    fields = {"first_name": "Lisa", "last_name": "Berg", "hire_date": date(2026, 10, 1)}
    return factories.employee(unit=unit, email=DEFAULTS["email"], **(fields | values))


def stored(employee: Employee) -> dict[str, object]:
    return {
        "first_name": employee.first_name,
        "last_name": employee.last_name,
        "municipality": employee.municipality.name if employee.municipality else None,
        "unit": employee.unit.name if employee.unit else None,
        "hire_date": employee.hire_date,
        "employee_number": employee.employee_number,
        "end_date": employee.end_date,
        "active": employee.active,
    }


# --- new employees ---------------------------------------------------------------------------


def test_new_employees_are_created_in_their_unit_and_municipality_with_date_and_number(ifo):
    result = run(export({"number": "A100"}, person_row("omar.ali@jarfalla.example")))

    assert result.plan.summary()["created"] == 2
    assert stored(person("lisa.berg@jarfalla.example")) == {
        "first_name": "Lisa",
        "last_name": "Berg",
        "municipality": "Järfälla",
        "unit": "IFO",
        "hire_date": date(2026, 10, 1),
        "employee_number": "A100",
        "end_date": None,
        "active": True,
    }
    assert person("omar.ali@jarfalla.example").unit_id == ifo.id


def test_a_manager_already_stored_is_found_by_email(ifo):
    boss = factories.employee(unit=ifo, email="chef@jarfalla.example")

    run(export({"manager": "chef@jarfalla.example"}))

    assert person("lisa.berg@jarfalla.example").manager_id == boss.id


@pytest.mark.parametrize("manager_first", [True, False], ids=["manager-first", "manager-last"])
def test_a_manager_new_in_the_same_file_is_found_whichever_row_comes_first(ifo, manager_first):
    boss = person_row("karin.ek@jarfalla.example")
    staff = {"manager": "karin.ek@jarfalla.example"}
    rows = [boss, staff] if manager_first else [staff, boss]

    result = run(export(*rows))

    assert result.plan.warnings == []
    assert person("lisa.berg@jarfalla.example").manager_id == person(boss["email"]).id
    assert person(boss["email"]).manager_id is None


@pytest.mark.parametrize("order", ["top-down", "bottom-up"])
def test_a_manager_of_a_manager_all_new_are_linked(ifo, order):
    head = person_row("eva.head@jarfalla.example")
    middle = person_row("karl.mid@jarfalla.example", manager=head["email"])
    staff = {"manager": middle["email"]}
    rows = [head, middle, staff] if order == "top-down" else [staff, middle, head]

    run(export(*rows))

    assert person("lisa.berg@jarfalla.example").manager_id == person(middle["email"]).id
    assert person(middle["email"]).manager_id == person(head["email"]).id
    assert person(head["email"]).manager_id is None


def test_new_employees_get_the_courses_their_rules_require_with_due_dates(courses):
    result = run(export({}, person_row("ida.holm@jarfalla.example", hired="2026-09-15")))

    assert open_assignments(person("lisa.berg@jarfalla.example")) == {
        "nck-webbkurs-om-vald": date(2026, 12, 30),  # 1 October + 90 days
        "socialstyrelsen-hrv-socialtjansten": date(2026, 11, 30),  # + 60 days
    }
    assert open_assignments(person("ida.holm@jarfalla.example"))["nck-webbkurs-om-vald"] == (
        date(2026, 12, 14)
    )
    assert result.assignments.created == 4


def test_each_active_new_employee_gets_one_welcome_mail_in_the_outbox(ifo):
    result = run(export({}, person_row("omar.ali@jarfalla.example")))

    messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert result.invitations == 2
    assert sorted(m.recipient_email for m in messages) == [
        "lisa.berg@jarfalla.example",
        "omar.ali@jarfalla.example",
    ]
    assert {(m.kind, m.template, m.status, m.subject) for m in messages} == {
        ("invitation", "invitation", OutboxStatus.QUEUED, "")  # written when sent
    }
    assert person("lisa.berg@jarfalla.example").invited_at is not None
    assert len(events("auth.invitation_queued")) == 2


def test_without_invitations_no_mail_is_queued(ifo):
    result = run(export({}), invite=False)

    assert result.invitations == 0
    assert count(OutboxMessage) == 0
    assert person("lisa.berg@jarfalla.example").invited_at is None


@pytest.mark.parametrize("end", ["2026-11-02", "2026-10-20"], ids=["today", "before-today"])
def test_a_leaver_in_the_file_is_created_inactive_without_mail_or_courses(courses, end):
    result = run(export({"end": end}, person_row("omar.ali@jarfalla.example")))

    leaver = person("lisa.berg@jarfalla.example")
    assert (leaver.active, leaver.end_date) == (False, date.fromisoformat(end))
    assert leaver.invited_at is None
    assert open_assignments(leaver) == {}
    assert [m.recipient_email for m in db.session.scalars(sa.select(OutboxMessage))] == [
        "omar.ali@jarfalla.example"
    ]
    assert result.invitations == 1


def test_an_end_date_ahead_creates_an_active_employee(ifo):
    run(export({"end": "2027-06-30"}))

    assert person("lisa.berg@jarfalla.example").active is True


# --- importing the same file again -----------------------------------------------------------


def test_importing_the_same_file_twice_changes_nothing_the_second_time(courses, ifo):
    boss = factories.employee(unit=ifo, email="chef@jarfalla.example")
    data = export(
        {"number": "A1", "manager": boss.email},
        person_row("karin.ek@jarfalla.example", number="A2", manager="eva.new@jarfalla.example"),
        person_row("eva.new@jarfalla.example", unit="Nya enheten", sector="Fritid"),
        person_row("per.gone@jarfalla.example", end="2026-10-31"),
        person_row("ann.later@jarfalla.example", end="2027-03-31", hired=""),
        person_row("sara.sig@sigtuna.example", kommun="0191", unit="Sigtuna IFO"),
    )
    first = run(data, unknown_units=UnknownUnits.CREATE)
    assert first.plan.summary()["created"] == 6
    employees_before = [
        stored(e) | {"manager": e.manager_id, "version": e.session_version, "at": e.updated_at}
        for e in db.session.scalars(sa.select(Employee).order_by(Employee.id))
    ]
    assignments_before = db.session.execute(
        sa.select(Assignment.id, Assignment.due_date, Assignment.removed_at).order_by(Assignment.id)
    ).all()
    employee_events = count(AuditEvent, AuditEvent.action.like("employee.%"))
    mails = count(OutboxMessage)

    second = run(data, unknown_units=UnknownUnits.CREATE)

    assert second.plan.summary() == {
        "rows": 6,
        "created": 0,
        "updated": 0,
        "unchanged": 6,
        "rejected": 0,
        "leavers": 0,
        "returners": 0,
        "unknown_units": 0,
    }
    assert (second.invitations, second.units_created, second.assignments.total) == (0, 0, 0)
    assert [
        stored(e) | {"manager": e.manager_id, "version": e.session_version, "at": e.updated_at}
        for e in db.session.scalars(sa.select(Employee).order_by(Employee.id))
    ] == employees_before
    assert (
        db.session.execute(
            sa.select(Assignment.id, Assignment.due_date, Assignment.removed_at).order_by(
                Assignment.id
            )
        ).all()
        == assignments_before
    )
    assert count(AuditEvent, AuditEvent.action.like("employee.%")) == employee_events
    assert count(OutboxMessage) == mails


# --- updates ---------------------------------------------------------------------------------


def test_a_changed_unit_name_and_hire_date_is_an_update_audited_before_and_after(ifo, school):
    lisa = stored_lisa(ifo, hire_date=date(2020, 1, 1))

    result = run(
        export({"last": "Berg-Ek", "unit": "Förskolan Solen", "hired": "2021-02-01"}),
    )

    assert result.plan.summary()["updated"] == 1
    lisa = person("lisa.berg@jarfalla.example")
    assert (lisa.last_name, lisa.unit_id, lisa.hire_date) == (
        "Berg-Ek",
        school.id,
        date(2021, 2, 1),
    )
    [event] = events("employee.updated", lisa)
    assert event.details["changes"] == {
        "last_name": ["Berg", "Berg-Ek"],
        "unit_id": [ifo.id, school.id],
        "hire_date": ["2020-01-01", "2021-02-01"],
    }
    assert event.object_id == lisa.id
    assert events("employee.created", lisa) == []


def test_an_employee_is_matched_by_email(ifo):
    lisa = stored_lisa(ifo)

    planned = plan(export({"first": "Elisabeth", "number": lisa.employee_number}))

    [row] = planned.rows
    assert (row.action, row.employee_id) == (RowAction.UPDATE, lisa.id)
    assert row.changes["first_name"] == ["Lisa", "Elisabeth"]


def test_an_employee_whose_email_changed_is_matched_by_number_in_the_municipality(ifo):
    lisa = factories.employee(unit=ifo, email="lisa.old@jarfalla.example")

    run(export({"number": lisa.employee_number}))

    assert count(Employee, Employee.employee_number == lisa.employee_number) == 1
    assert person("lisa.berg@jarfalla.example").id == lisa.id
    [event] = events("employee.updated", lisa)
    assert event.details["changes"]["email"] == [
        "lisa.old@jarfalla.example",
        "lisa.berg@jarfalla.example",
    ]


def test_the_same_number_in_another_municipality_is_another_person(ifo):
    lisa = factories.employee(unit=ifo, email="lisa.old@jarfalla.example")
    factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO")

    result = run(export({"kommun": "Sigtuna", "number": lisa.employee_number}))

    assert result.plan.created == 1
    assert person("lisa.old@jarfalla.example").id == lisa.id
    assert person("lisa.berg@jarfalla.example").municipality.name == "Sigtuna"


def test_an_email_and_a_number_of_two_different_people_reject_the_row(ifo):
    stored_lisa(ifo)
    omar = factories.employee(unit=ifo, email="omar.ali@jarfalla.example")

    planned = plan(export({"first": "Elisabeth", "number": omar.employee_number}))

    assert planned.rows == []
    assert problems_of(planned) == [
        (
            2,
            "Anställningsnummer",
            omar.employee_number,
            "anställningsnumret tillhör en annan person än e-postadressen",
        )
    ]


def test_the_same_person_twice_in_the_file_rejects_the_second_row(ifo):
    lisa = stored_lisa(ifo)

    result = run(
        export(
            {"first": "Elisabeth"},
            person_row("lisa.private@home.example", number=lisa.employee_number),
        )
    )

    assert (result.plan.updated, result.plan.rejected) == (1, 1)
    assert problems_of(result.plan) == [
        (3, "E-post", "lisa.private@home.example", "samma person som rad 2")
    ]
    assert person("lisa.berg@jarfalla.example").first_name == "Elisabeth"
    assert count(Employee, Employee.email == "lisa.private@home.example") == 0


def test_the_same_new_number_twice_in_one_municipality_rejects_the_second_row(ifo):
    """Once by name and once by kommunkod is still one municipality."""
    result = run(
        export(
            {"number": "A7"},
            person_row("omar.ali@jarfalla.example", kommun="0123", number="A7"),
        )
    )

    assert (result.plan.created, result.plan.rejected) == (1, 1)
    assert [(p.line, p.column) for p in result.plan.problems] == [(3, "Anställningsnummer")]
    assert count(Employee, Employee.employee_number == "A7") == 1


def test_empty_cells_keep_what_is_stored_except_the_end_date(ifo):
    boss = factories.employee(unit=ifo, email="chef@jarfalla.example")
    lisa = stored_lisa(ifo, hire_date=date(2019, 5, 1), manager=boss)
    lisa.end_date = date(2027, 1, 31)
    db.session.commit()

    result = run(export({"unit": "", "sector": "", "hired": ""}))

    lisa = person("lisa.berg@jarfalla.example")
    assert (lisa.unit_id, lisa.hire_date, lisa.manager_id) == (ifo.id, date(2019, 5, 1), boss.id)
    assert lisa.employee_number is not None
    assert lisa.end_date is None  # an empty end date means no end date
    assert events("employee.updated", lisa)[0].details["changes"] == {
        "end_date": ["2027-01-31", None]
    }
    assert result.plan.updated == 1


def test_an_end_date_before_the_stored_hire_date_is_rejected_and_plans_no_unit(ifo):
    stored_lisa(ifo)  # hired 2026-10-01

    planned = plan(
        export({"hired": "", "end": "2026-09-01", "unit": "Ny enhet"}),
        unknown_units=UnknownUnits.CREATE,
    )

    assert problems_of(planned) == [
        (2, "Slutdatum", "2026-09-01", "slutdatum är före anställningsdatum")
    ]
    assert planned.new_units == []


def test_a_person_moving_to_another_municipality_needs_a_unit_there(ifo):
    lisa = stored_lisa(ifo)
    sigtuna_ifo = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO")

    without_unit = plan(export({"kommun": "Sigtuna", "unit": "", "sector": ""}))
    result = run(export({"kommun": "Sigtuna"}))

    assert problems_of(without_unit) == [(2, "Enhet", "", "enhet saknas")]
    moved = person(lisa.email)
    assert (moved.id, moved.unit_id, moved.municipality.name) == (
        lisa.id,
        sigtuna_ifo.id,
        "Sigtuna",
    )
    assert moved.employee_number == lisa.employee_number
    assert result.plan.updated == 1


def test_a_person_moving_where_their_number_is_taken_is_rejected(ifo):
    lisa = stored_lisa(ifo)
    sigtuna_ifo = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO")
    other = factories.employee(unit=sigtuna_ifo, email="sara.sig@sigtuna.example")
    other.employee_number = lisa.employee_number
    db.session.commit()

    result = run(export({"kommun": "Sigtuna"}))

    assert [(p.line, p.column, p.value) for p in result.plan.problems] == [
        (2, "Anställningsnummer", lisa.employee_number)
    ]
    assert person(lisa.email).municipality.name == "Järfälla"


def test_a_file_without_an_end_date_column_changes_no_end_date(ifo):
    gone = stored_lisa(ifo, active=False)
    gone.end_date = date(2026, 6, 30)
    db.session.commit()

    planned = plan(export({}, columns=["first", "last", "email", "kommun", "unit"]))

    assert planned.unchanged == 1
    assert planned.returners == 0


def test_an_update_into_a_unit_the_import_creates_records_the_new_unit(ifo):
    lisa = stored_lisa(ifo)

    run(
        export({"unit": "Nya enheten", "sector": "Fritid", "hired": ""}),
        unknown_units=UnknownUnits.CREATE,
    )

    new_unit = db.session.scalars(sa.select(Unit).where(Unit.name == "Nya enheten")).one()
    assert person(lisa.email).unit_id == new_unit.id
    [event] = events("employee.updated", lisa)
    assert event.details["changes"]["unit_id"] == [ifo.id, new_unit.id]


def test_a_stored_employee_whose_manager_is_new_in_the_file_gets_that_manager(ifo):
    lisa = stored_lisa(ifo)

    result = run(
        export(
            {"manager": "karin.ek@jarfalla.example"},
            person_row("karin.ek@jarfalla.example"),
        )
    )

    assert (result.plan.created, result.plan.updated) == (1, 1)
    assert person(lisa.email).manager_id == person("karin.ek@jarfalla.example").id
    [event] = events("employee.updated", lisa)
    assert event.details["changes"] == {
        "manager_id": [None, person("karin.ek@jarfalla.example").id]
    }


# --- leavers and returners -------------------------------------------------------------------


def test_an_end_date_reached_deactivates_ends_sessions_and_closes_assignments(courses, ifo):
    lisa = stored_lisa(ifo)
    recompute_assignments(db.session, today=TODAY)
    db.session.commit()
    assert open_assignments(person(lisa.email))
    version = person(lisa.email).session_version

    result = run(export({"end": "2026-11-02"}))

    lisa = person(lisa.email)
    assert (lisa.active, lisa.end_date) == (False, TODAY)
    assert lisa.session_version == version + 1
    assert open_assignments(lisa) == {}
    assert result.assignments.closed == 2
    assert (result.plan.updated, result.plan.leavers) == (1, 1)
    [event] = events("employee.deactivated", lisa)
    assert event.object_id == lisa.id


def test_a_leaver_coming_back_is_reactivated_on_the_same_record_with_courses_reopened(courses, ifo):
    lisa = stored_lisa(ifo)
    hired = lisa.hire_date.isoformat()
    recompute_assignments(db.session, today=TODAY)
    db.session.commit()
    courses_before = open_assignments(person(lisa.email))
    assert courses_before
    run(export({"hired": hired, "end": "2026-10-31"}))
    assert person(lisa.email).active is False

    result = run(export({"hired": hired}))

    back = person(lisa.email)
    assert (back.id, back.active, back.end_date) == (lisa.id, True, None)
    assert count(Employee, Employee.email == lisa.email) == 1
    assert open_assignments(back) == courses_before
    assert (result.plan.returners, result.assignments.updated) == (1, 2)
    assert len(events("employee.reactivated", back)) == 1


def test_an_end_date_already_passed_on_an_active_person_deactivates_them(ifo):
    """The nightly job has not run yet: the import does what it would do."""
    lisa = stored_lisa(ifo)
    lisa.end_date = date(2026, 10, 31)
    db.session.commit()

    result = run(export({"end": "2026-10-31"}))

    assert person(lisa.email).active is False
    assert (result.plan.updated, result.plan.leavers) == (1, 1)


# --- what a row may refer to -----------------------------------------------------------------


def test_an_unknown_municipality_rejects_the_row(ifo):
    planned = plan(export({"kommun": "Stockholm"}))

    assert problems_of(planned) == [(2, "Kommun", "Stockholm", "okänd kommun")]


def test_a_municipality_by_kommunkod_is_found(ifo):
    planned = plan(export({"kommun": "0123"}))

    assert planned.created == 1


def test_a_row_without_a_municipality_takes_the_chosen_one_or_is_rejected(ifo):
    data = export({}, columns=["first", "last", "email", "unit"])

    assert plan(data, default_municipality="Järfälla").created == 1
    assert problems_of(plan(data)) == [(2, "kommun", "", "kommun saknas")]


def test_hr_cannot_import_a_row_into_a_municipality_they_do_not_manage(hr_jarfalla, ifo):
    factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO")

    result = run(
        export({}, person_row("sara.sig@sigtuna.example", kommun="Sigtuna")), user=hr_jarfalla
    )

    assert (result.plan.created, result.plan.rejected) == (1, 1)
    assert problems_of(result.plan) == [
        (3, "Kommun", "Sigtuna", "du kan inte importera personal till den kommunen")
    ]
    assert count(Employee, Employee.email == "sara.sig@sigtuna.example") == 0


def test_hr_learns_only_that_an_email_is_used_in_another_municipality(hr_jarfalla, ifo):
    sigtuna_unit = factories.unit("Sigtuna", Sector.SCHOOL, "Skolan")
    sara = factories.employee(
        unit=sigtuna_unit, email="sara.sig@sigtuna.example", first_name="Sara", last_name="Sigvald"
    )

    result = run(export(person_row("sara.sig@sigtuna.example")), user=hr_jarfalla)

    assert result.plan.rows == []
    assert problems_of(result.plan) == [
        (2, "E-post", sara.email, "e-postadressen används av en person i en annan kommun")
    ]
    assert result.plan.warnings == []
    assert (person(sara.email).municipality.name, person(sara.email).first_name) == (
        "Sigtuna",
        "Sara",
    )


def test_an_unknown_unit_rejects_its_row_unless_hr_chooses_to_create_it(ifo):
    data = export({}, person_row("karin.ek@jarfalla.example", unit="Nya förskolan", sector="Skola"))

    rejected = plan(data)
    assert problems_of(rejected) == [(3, "Enhet", "Nya förskolan", "okänd enhet")]
    # Listed all the same, so that the preview can offer to create it.
    assert [(u.name, u.sector, u.lines) for u in rejected.new_units] == [
        ("Nya förskolan", Sector.SCHOOL, (3,))
    ]
    assert count(Unit, Unit.name == "Nya förskolan") == 0

    result = run(data, unknown_units=UnknownUnits.CREATE)
    created = db.session.scalars(sa.select(Unit).where(Unit.name == "Nya förskolan")).one()
    assert (created.sector, created.municipality.name) == (Sector.SCHOOL, "Järfälla")
    assert person("karin.ek@jarfalla.example").unit_id == created.id
    assert (result.units_created, result.plan.created) == (1, 2)
    assert [e.details["after"]["name"] for e in events("unit.created")] == ["Nya förskolan"]


def test_an_unknown_unit_is_created_once_for_every_row_that_names_it(ifo):
    result = run(
        export(
            person_row("karin.ek@jarfalla.example", unit="Nya  förskolan", sector="Skola"),
            person_row("omar.ali@jarfalla.example", unit="nya förskolan", sector=""),
        ),
        unknown_units=UnknownUnits.CREATE,
    )

    assert result.units_created == 1
    assert person("omar.ali@jarfalla.example").unit_id == (
        person("karin.ek@jarfalla.example").unit_id
    )


def test_an_unknown_unit_without_a_sector_cannot_be_created(ifo):
    planned = plan(
        export({"unit": "Nya förskolan", "sector": ""}), unknown_units=UnknownUnits.CREATE
    )

    assert [(u.name, u.sector) for u in planned.new_units] == [("Nya förskolan", None)]
    assert problems_of(planned) == [
        (2, "Sektor", "", "okänd enhet, och sektor saknas för att skapa den")
    ]
    result = run(export({"unit": "Nya förskolan", "sector": ""}), unknown_units=UnknownUnits.CREATE)
    assert result.units_created == 0
    assert count(Unit, Unit.name == "Nya förskolan") == 0


def test_an_unknown_manager_is_a_warning_and_the_row_is_imported_without_one(ifo):
    result = run(export({"manager": "nobody@jarfalla.example"}))

    assert result.plan.rejected == 0
    assert [(w.line, w.column, w.value, w.message) for w in result.plan.warnings] == [
        (2, "Chefens e-post", "nobody@jarfalla.example", "okänd chef; raden importeras utan chef")
    ]
    assert person("lisa.berg@jarfalla.example").manager_id is None


def test_a_manager_in_another_municipality_is_unknown(ifo):
    """As on the form: a manager works in the same municipality."""
    factories.employee(unit=factories.unit("Sigtuna"), email="chef@sigtuna.example")

    result = run(export({"manager": "chef@sigtuna.example"}))

    assert [w.message for w in result.plan.warnings] == ["okänd chef; raden importeras utan chef"]
    assert person("lisa.berg@jarfalla.example").manager_id is None


def test_a_row_naming_itself_as_manager_is_imported_without_a_manager(ifo):
    result = run(export({"manager": "lisa.berg@jarfalla.example"}))

    assert [w.column for w in result.plan.warnings] == ["Chefens e-post"]
    assert person("lisa.berg@jarfalla.example").manager_id is None


# --- accepted and rejected rows --------------------------------------------------------------


def test_rejected_and_accepted_rows_add_up_and_only_accepted_rows_are_written(ifo):
    lisa = stored_lisa(ifo)
    data = export(
        {"number": lisa.employee_number},  # unchanged
        person_row("omar.ali@jarfalla.example"),  # created
        {"first": "Bo", "email": "inte-en-adress"},  # rejected: e-mail
        person_row("per.holm@jarfalla.example", hired="2026-13-01"),  # rejected: date
        person_row("ida.ek@jarfalla.example", kommun="Atlantis"),  # rejected: municipality
        person_row("eva.ek@jarfalla.example", unit="Okänd"),  # rejected: unit
        person_row("nils.ek@jarfalla.example", hired="2026-05-01", end="2026-04-01"),
    )

    result = run(data)

    summary = result.plan.summary()
    assert summary["rows"] == 7
    assert (summary["created"], summary["unchanged"], summary["rejected"]) == (1, 1, 5)
    assert (
        summary["created"] + summary["updated"] + summary["unchanged"] + summary["rejected"]
        == summary["rows"]
    )
    assert sorted({p.line for p in result.plan.problems}) == [4, 5, 6, 7, 8]
    assert sorted(db.session.scalars(sa.select(Employee.email))) == [
        lisa.email,
        "omar.ali@jarfalla.example",
    ]


# --- one transaction -------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["recompute_assignments", "queue_invitations"])
def test_a_failure_midway_leaves_nothing_half_written(courses, ifo, monkeypatch, failing):
    lisa = stored_lisa(ifo)
    before = {
        "employees": count(Employee),
        "units": count(Unit),
        "audit": count(AuditEvent),
        "outbox": count(OutboxMessage),
        "assignments": count(Assignment),
    }

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(applying, failing, fail)
    planned = plan(
        export(
            {"first": "Elisabeth", "end": "2026-11-01"},
            person_row("karin.ek@jarfalla.example", unit="Nya förskolan", sector="Skola"),
        ),
        unknown_units=UnknownUnits.CREATE,
    )
    with pytest.raises(RuntimeError):
        apply_import(db.session, planned, actor=None, invite=True, today=TODAY)
    db.session.rollback()

    assert {
        "employees": count(Employee),
        "units": count(Unit),
        "audit": count(AuditEvent),
        "outbox": count(OutboxMessage),
        "assignments": count(Assignment),
    } == before
    assert count(Employee, Employee.email == "karin.ek@jarfalla.example") == 0
    lisa = person(lisa.email)
    assert (lisa.first_name, lisa.active, lisa.end_date) == ("Lisa", True, None)


def test_only_one_of_two_confirmations_claims_the_batch(app):
    batch = factories.import_batch()
    with Session(db.engine) as first, Session(db.engine) as second:
        first_batch = first.get_one(ImportBatch, batch.id)
        second_batch = second.get_one(ImportBatch, batch.id)  # both saw it previewed

        assert claim_batch(first, first_batch) is True
        first.commit()
        assert claim_batch(second, second_batch) is False
        second.commit()

    db.session.expire_all()
    assert db.session.get_one(ImportBatch, batch.id).status == ImportStatus.APPLYING


def test_two_confirmations_at_the_same_moment_import_once(app, hr_jarfalla, ifo):
    batch = factories.import_batch(
        content=export({}, columns=["first", "last", "email", "unit", "hired"])
    )
    user_id, batch_id = hr_jarfalla.id, batch.id
    db.session.rollback()
    results: list[object] = []
    barrier = threading.Barrier(2, timeout=30)

    def confirm() -> None:
        with app.app_context():
            try:
                user = db.session.get_one(Employee, user_id)
                claimed = db.session.get_one(ImportBatch, batch_id)
                barrier.wait()
                result = confirm_batch(
                    db.session,
                    claimed,
                    user=user,
                    unknown_units=UnknownUnits.REJECT,
                    invite=True,
                    today=TODAY,
                )
                db.session.commit()
                results.append(result)
            except Exception as error:  # noqa: BLE001 - a locked SQLite loses too
                db.session.rollback()
                results.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(isinstance(result, ImportResult) for result in results) == 1
    assert count(Employee, Employee.email == "lisa.berg@jarfalla.example") == 1
    assert count(OutboxMessage) == 1
    assert db.session.get_one(ImportBatch, batch_id).status == ImportStatus.APPLIED


def test_a_failed_confirmation_can_be_confirmed_again(hr_jarfalla, ifo, monkeypatch):
    batch = factories.import_batch(
        content=export({}, columns=["first", "last", "email", "unit", "hired"])
    )

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(applying, "queue_invitations", fail)
        with pytest.raises(RuntimeError):
            confirm_batch(
                db.session, batch, user=hr_jarfalla, unknown_units=UnknownUnits.REJECT, invite=True
            )
        db.session.rollback()
    assert db.session.get_one(ImportBatch, batch.id).status == ImportStatus.PREVIEWED

    result = confirm_batch(
        db.session, batch, user=hr_jarfalla, unknown_units=UnknownUnits.REJECT, invite=True
    )
    db.session.commit()

    assert result is not None and result.plan.created == 1
    assert db.session.get_one(ImportBatch, batch.id).status == ImportStatus.APPLIED


# --- the welcome mail, written when it is sent -----------------------------------------------


def subject_of(message) -> str:  # type: ignore[no-untyped-def]
    return str(make_header(decode_header(message["Subject"])))


def test_the_welcome_mail_lists_the_courses_with_due_dates_and_a_working_link(
    app, client, courses, smtp_server: MailCatcher
):
    run(export({}, person_row("omar.ali@jarfalla.example", hired="2026-10-15")))

    report = outbox.deliver_outbox(db.session)

    assert report.sent == 2
    [mail] = smtp_server.to("lisa.berg@jarfalla.example")
    assert subject_of(mail) == "Välj lösenord till utbildningsuppföljningen"
    text = mail_text(mail)
    assert "Hej Lisa," in text
    assert "Webbkurs om våld, senast 30 december 2026" in text
    assert "Hedersrelaterat våld och förtryck – socialtjänsten, senast 30 november 2026" in text
    assert courses["nck-webbkurs-om-vald"].url in text
    assert app.config["BASE_URL"] in text
    [link] = re.findall(r"https?://\S+/invitation/\S+", text)
    assert client.get(urlsplit(link).path).status_code == 200
    [omar_mail] = smtp_server.to("omar.ali@jarfalla.example")
    assert "Webbkurs om våld, senast 13 januari 2027" in mail_text(omar_mail)
    message = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.recipient_email == "lisa.berg@jarfalla.example"
        )
    ).one()
    assert (message.status, message.subject) == (
        OutboxStatus.SENT,
        "Välj lösenord till utbildningsuppföljningen",
    )


def test_someone_who_left_before_the_mail_went_out_gets_no_welcome_mail(
    courses, smtp_server: MailCatcher
):
    run(export({}, person_row("omar.ali@jarfalla.example")))
    run(export({"end": "2026-11-02"}, person_row("omar.ali@jarfalla.example")))

    report = outbox.deliver_outbox(db.session)

    assert (report.sent, report.cancelled) == (1, 1)
    assert smtp_server.to("lisa.berg@jarfalla.example") == []
    assert len(smtp_server.messages) == 1
    message = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.recipient_email == "lisa.berg@jarfalla.example"
        )
    ).one()
    assert message.status == OutboxStatus.CANCELLED


# --- flask employees import ------------------------------------------------------------------


def write(tmp_path: Path, data: bytes, name: str = "personal.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def import_cli(runner, path: Path, *options: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["employees", "import", str(path), *options])
    db.session.expire_all()
    return result


def test_cli_prints_the_summary_and_exits_0_when_every_row_is_accepted(runner, tmp_path, courses):
    path = write(tmp_path, export({}, person_row("omar.ali@jarfalla.example")))

    result = import_cli(runner, path)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2 rows: 2 created, 0 updated, 0 unchanged, 0 rejected"
    assert "assignments: 4 created, 0 updated, 0 closed; 2 invitations queued" in lines
    assert count(Employee, Employee.email.like("%@jarfalla.example")) == 2
    assert count(OutboxMessage) == 2


def test_cli_lists_each_rejected_row_and_exits_1(runner, tmp_path, ifo):
    path = write(
        tmp_path,
        export(
            {},
            person_row("omar.ali@jarfalla.example", hired="2026-13-01"),
            person_row("ida.ek@jarfalla.example", kommun="Atlantis"),
        ),
    )

    result = import_cli(runner, path)

    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "3 rows: 1 created, 0 updated, 0 unchanged, 2 rejected"
    assert "line 3: Anställningsdatum: '2026-13-01': är inte ett datum (ÅÅÅÅ-MM-DD)" in (
        result.output
    )
    assert "line 4: Kommun: 'Atlantis': okänd kommun" in result.output
    assert count(Employee, Employee.email == "lisa.berg@jarfalla.example") == 1
    assert count(Employee, Employee.email == "omar.ali@jarfalla.example") == 0


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\x02binary",
        b"namn;adress\nLisa;Storgatan 1\n",
        "Förnamn;Efternamn;E-post\n".encode(),
        "Förnamn;Efternamn;E-post\nÅsa;Örn;a@b.se\n".encode() + b"L\xe4sa;Berg;l@b.se\n",
    ],
    ids=["empty", "binary", "wrong-columns", "header-only", "mixed-encodings"],
)
def test_cli_exits_2_on_an_unusable_file_and_writes_nothing(runner, tmp_path, ifo, content):
    employees_before = count(Employee)

    result = import_cli(runner, write(tmp_path, content))

    assert result.exit_code == 2
    assert result.output.startswith("personal.csv: ")
    assert count(Employee) == employees_before


def test_cli_dry_run_prints_the_summary_and_writes_nothing(runner, tmp_path, ifo):
    path = write(tmp_path, export({}, person_row("ida.ek@jarfalla.example", unit="Nytt")))

    result = import_cli(runner, path, "--dry-run", "--create-units")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "2 rows: 2 created, 0 updated, 0 unchanged, 0 rejected (dry run: nothing written)"
    )
    assert count(Employee) == 0
    assert count(Unit) == 1
    assert count(OutboxMessage) == 0
    assert count(AuditEvent) == 0


@pytest.mark.parametrize("name", ["Järfälla", "JÄRFÄLLA", "0123"])
def test_cli_municipality_option_serves_files_without_a_kommun_column(runner, tmp_path, ifo, name):
    path = write(tmp_path, export({}, columns=["first", "last", "email", "unit", "hired"]))

    result = import_cli(runner, path, "--municipality", name)

    assert result.exit_code == 0, result.output
    assert person("lisa.berg@jarfalla.example").municipality.name == "Järfälla"


def test_cli_an_unknown_municipality_option_is_an_error(runner, tmp_path, ifo):
    path = write(tmp_path, export({}, columns=["first", "last", "email", "unit", "hired"]))

    result = import_cli(runner, path, "--municipality", "Atlantis")

    assert result.exit_code != 0
    assert "unknown municipality: Atlantis" in result.output
    assert count(Employee) == 0


def test_cli_without_a_municipality_rejects_rows_that_name_none(runner, tmp_path, ifo):
    path = write(tmp_path, export({}, columns=["first", "last", "email", "unit", "hired"]))

    result = import_cli(runner, path)

    assert result.exit_code == 1
    assert "line 2: kommun: '': kommun saknas" in result.output


def test_cli_create_units_creates_unknown_units_with_the_files_sector(runner, tmp_path, ifo):
    path = write(tmp_path, export({"unit": "Fritidsgården", "sector": "Fritid"}))

    rejected = import_cli(runner, path)
    assert rejected.exit_code == 1
    assert "line 2: Enhet: 'Fritidsgården': okänd enhet" in rejected.output

    created = import_cli(runner, path, "--create-units")
    assert created.exit_code == 0, created.output
    assert "1 unknown units (created): Järfälla/Fritidsgården" in created.output
    unit = db.session.scalars(sa.select(Unit).where(Unit.name == "Fritidsgården")).one()
    assert unit.sector == Sector.LEISURE


def test_cli_hold_invitations_queues_no_mail(runner, tmp_path, ifo):
    path = write(tmp_path, export({}))

    result = import_cli(runner, path, "--hold-invitations")

    assert result.exit_code == 0, result.output
    assert "0 invitations queued" in result.output
    assert count(OutboxMessage) == 0
    assert count(Employee, Employee.email == "lisa.berg@jarfalla.example") == 1


def test_cli_imports_an_xlsx_file(runner, tmp_path, ifo):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        ["First name", "Last name", "Email", "Municipality", "Unit", "Hire date", "Employee number"]
    )
    sheet.append(
        [
            "Lisa",
            "Berg",
            "Lisa.Berg@Jarfalla.example",
            "Järfälla",
            "IFO",
            datetime(2026, 10, 1),
            1234,
        ]
    )
    path = tmp_path / "personal.xlsx"
    workbook.save(path)

    result = import_cli(runner, path)

    assert result.exit_code == 0, result.output
    lisa = person("lisa.berg@jarfalla.example")
    assert (lisa.hire_date, lisa.employee_number) == (date(2026, 10, 1), "1234")


def test_cli_imports_a_windows_1252_file(runner, tmp_path):
    factories.unit("Järfälla", Sector.HEALTH_AND_CARE, "Äldreomsorg Öst")
    data = export(
        person_row(
            "asa.orn@jarfalla.example",
            first="Åsa",
            last="Örn",
            unit="Äldreomsorg Öst",
            sector="Omsorg",
        ),
        delimiter=",",
    )

    result = import_cli(runner, write(tmp_path, data.decode().encode("cp1252")))

    assert result.exit_code == 0, result.output
    asa = person("asa.orn@jarfalla.example")
    assert (asa.first_name, asa.last_name, asa.unit.name) == ("Åsa", "Örn", "Äldreomsorg Öst")


def test_cli_prints_warnings_after_the_problems(runner, tmp_path, ifo):
    path = write(tmp_path, export({"manager": "nobody@jarfalla.example"}))

    result = import_cli(runner, path)

    assert result.exit_code == 0
    assert (
        "line 2: Chefens e-post: 'nobody@jarfalla.example': okänd chef; raden importeras utan "
        "chef (warning)"
    ) in result.output


# --- any file ---------------------------------------------------------------------------------


def _cell(valid: list[str], invalid: list[str]) -> st.SearchStrategy[str]:
    """Mostly a value that means something here, sometimes a wrong one or any text at all."""
    anything = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
    wrong = st.one_of(st.sampled_from(invalid), anything)
    return st.sampled_from([True] * 9 + [False]).flatmap(
        lambda good: st.sampled_from(valid) if good else wrong
    )


STORED_EMAILS = ["lisa.berg@jarfalla.example", "sara.sig@sigtuna.example", "gone@jarfalla.example"]
FILE_EMAILS = ["ny1@jarfalla.example", "ny2@jarfalla.example", "Ny3@Sigtuna.example"]
ROWS = st.lists(
    st.tuples(
        _cell(["Lisa", "Åsa"], [""]),
        _cell(["Berg", "Örn"], [""]),
        _cell([*STORED_EMAILS, *FILE_EMAILS], ["inte-en-adress", ""]),
        _cell(["Järfälla", "järfälla", "0123", "Sigtuna", "0191"], ["Atlantis", ""]),
        _cell(["IFO", "ifo", "Skolan", "Ny enhet", ""], ["x" * 201]),
        _cell(["Socialtjänst", "skola", "Fritid", ""], ["Rymden"]),
        _cell(["2026-10-01", "2020-01-01", "2027-01-01", ""], ["2026-02-30", "1/10/2026"]),
        _cell(["E1", "E2", "S1", "A9", ""], ["19800101-1234"]),
        _cell([*STORED_EMAILS, *FILE_EMAILS, "nobody@jarfalla.example", ""], ["inte-en-adress"]),
        _cell(["2026-11-02", "2026-10-01", "2027-06-30", ""], ["2019-01-01", "igår"]),
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture()
def stored_people(ifo: Unit) -> Employee:
    """Someone in each situation a row can meet; returns HR of Järfälla."""
    sigtuna = factories.unit("Sigtuna", Sector.SCHOOL, "Skolan")
    factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO")
    boss = stored_lisa(ifo)
    boss.employee_number = "E1"
    factories.employee(unit=sigtuna, email="sara.sig@sigtuna.example").employee_number = "S1"
    gone = factories.employee(unit=ifo, email="gone@jarfalla.example", active=False, manager=boss)
    gone.employee_number, gone.end_date = "E2", date(2026, 6, 30)
    db.session.commit()
    return factories.with_role(
        factories.employee(unit=ifo, email="hr@jarfalla.example"),
        Role.HR,
        municipality_name="Järfälla",
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=ROWS,
    as_hr=st.booleans(),
    policy=st.sampled_from(UnknownUnits),
    delimiter=st.sampled_from([";", ","]),
)
def test_any_rows_are_each_created_updated_unchanged_or_rejected_and_apply_cleanly(
    stored_people, rows, as_hr, policy, delimiter
):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(COLUMNS.values())
    writer.writerows(rows)
    try:
        parsed = parse_employee_file(buffer.getvalue().encode(), "any.csv")
    except ImportFileError:
        return  # a file-level refusal (say, every row blank) is an answer too
    user = stored_people if as_hr else None

    planned = plan_import(db.session, parsed, user=user, unknown_units=policy, today=TODAY)

    summary = planned.summary()
    assert (
        summary["created"] + summary["updated"] + summary["unchanged"] + summary["rejected"]
        == summary["rows"]
        == parsed.total_rows
    )
    assert {p.row.line for p in planned.rows}.isdisjoint(planned.rejected_lines)
    if as_hr:  # HR of Järfälla writes nowhere else
        assert {p.municipality_id for p in planned.rows} <= {factories.municipality().id}
    assert all(planned.rejected_lines & {p.line} for p in planned.problems)
    try:
        result = apply_import(db.session, planned, actor=user, invite=True, today=TODAY)
        db.session.flush()
        assert result.invitations <= summary["created"]
    except IntegrityError as error:  # pragma: no cover - the planner let a clash through
        pytest.fail(f"the database refused a planned import: {error}")
    finally:
        db.session.rollback()


# --- a large export --------------------------------------------------------------------------


def test_a_2000_row_hr_export_imports_with_every_row_accepted(tmp_path):
    path = tmp_path / "personal.csv"
    hr_export.write(path, 2000, seed=3)
    catalog = factories.synced_catalog()
    factories.rule(catalog["nck-webbkurs-om-vald"], due_days=90)

    result = run(path.read_bytes(), unknown_units=UnknownUnits.CREATE)

    summary = result.plan.summary()
    assert (summary["rows"], summary["created"], summary["rejected"]) == (2000, 2000, 0)
    assert result.plan.warnings == []
    assert count(Employee) == 2000
    leavers = count(Employee, Employee.end_date <= TODAY)
    assert count(Employee, ~Employee.active) == leavers
    assert result.invitations == 2000 - leavers
    named_managers = sum(1 for row in hr_export.rows(2000, 3, date(2026, 11, 1)) if row[8])
    assert count(Employee, Employee.manager_id.is_not(None)) == named_managers > 0
    assert count(Assignment) == count(Employee, Employee.active)
    again = plan(path.read_bytes(), unknown_units=UnknownUnits.CREATE)
    assert again.unchanged == 2000
