"""Retention (issue #7, point 5): a leaver's personal data is removed once their end date
plus their municipality's ``retention_months`` calendar months has come, and nothing else
changes: active staff, recent leavers and system accounts stay as they are, and coverage of
past dates adds up the same. Run nightly by the scheduler and by ``flask retention run``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from tests import factories
from tests.conftest import count, counting_statements
from training_tracker import clock, scheduler
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    AuditEvent,
    Completion,
    CompletionStatus,
    Employee,
    Evidence,
    ImportBatch,
    OutboxMessage,
    OutboxStatus,
    ProgrammeAttendance,
    RegistrationStatus,
    Reminder,
    Role,
    RoleGrant,
    Sector,
    Unit,
)
from training_tracker.services.compliance import audit
from training_tracker.services.compliance.retention import (
    ACTION,
    apply_retention,
    last_end_date_past_retention,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.people import employees
from training_tracker.services.programme import attendance, signups
from training_tracker.services.reporting.coverage import CoverageFilters, coverage_table

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=STOCKHOLM)
HIRED = date(2020, 1, 1)
ENDED = date(2024, 3, 15)
BOUNDARY = date(2026, 3, 15)  # ENDED + 24 months, Järfälla's (the default) retention
EVERYTHING = ReportScope(True, frozenset(), frozenset())
# Whose words these are: the leaver's names (before and after a change), addresses and number.
LEAVER_TRACES = (
    "Gunnel",
    "Gammalsson",
    "Lämnarsson",
    "gunnel.gammalsson@jarfalla.example",
    "gunnel.lamnarsson@jarfalla.example",
    "J-4711",
)


@pytest.fixture(autouse=True)
def _now() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def leaver(
    unit: Unit | None = None,
    *,
    ended: date = ENDED,
    first_name: str = "Lena",
    last_name: str | None = None,
    email: str | None = None,
) -> Employee:
    """Someone who left on ``ended`` and was deactivated, as the nightly job leaves them."""
    person = factories.employee(
        unit=unit, first_name=first_name, last_name=last_name, email=email, hire_date=HIRED
    )
    person.end_date = ended
    person.active = False
    db.session.commit()
    return person


def fresh(person: Employee) -> Employee:
    db.session.expire_all()
    return db.session.get_one(Employee, person.id)


def run(today: date = BOUNDARY, **kwargs: Any):  # type: ignore[no-untyped-def]
    report = apply_retention(db.session, today, **kwargs)
    db.session.commit()
    return report


def by_name(report) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {each.name: each for each in report.municipalities}


def dump() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that nothing changed."""
    db.session.expire_all()
    with db.engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(table.select().order_by(*table.primary_key))
            ]
            for table in db.metadata.sorted_tables
        }


def texts_holding(words: tuple[str, ...], *models: type) -> list[str]:
    """Where any of ``words`` still occurs in a text or JSON column of ``models``' tables."""
    found = []
    for model in models:
        table = model.__table__  # type: ignore[attr-defined]
        columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
        for row in db.session.execute(sa.select(table.c.id, *columns)):
            for column, value in zip(columns, row[1:], strict=True):
                text = json.dumps(value, ensure_ascii=False) if value is not None else ""
                found += [
                    f"{table.name}.{column.name} #{row[0]}: {word}"
                    for word in words
                    if word.lower() in text.lower()
                ]
    return found


# --- who is past retention, and when ---------------------------------------------------------


def test_a_leaver_is_anonymised_on_the_day_their_retention_ends_and_not_the_day_before() -> None:
    person = leaver(first_name="Gunnel", last_name="Lämnarsson")
    assert factories.municipality("Järfälla").retention_months == 24

    before = run(date(2026, 3, 14))

    assert fresh(person).first_name == "Gunnel"
    assert fresh(person).anonymised_at is None
    assert before.employees == 0

    on_the_day = run(BOUNDARY)

    person = fresh(person)
    assert on_the_day.employees == 1
    assert by_name(on_the_day)["Järfälla"].ended_on_or_before == ENDED
    assert (person.first_name, person.last_name) == ("Anonymiserad", "person")
    assert person.email == f"anonymiserad-{person.id}@invalid.invalid"
    assert person.anonymised_at == clock.utcnow()


def test_months_are_calendar_months_and_month_ends_clamp() -> None:
    """One month after 29, 30 and 31 January is 28 February (2026 is no leap year)."""
    sigtuna = factories.municipality("Sigtuna")
    sigtuna.retention_months = 1
    db.session.commit()
    unit = factories.unit("Sigtuna")
    ended = [date(2026, 1, 28), date(2026, 1, 29), date(2026, 1, 31), date(2026, 2, 1)]
    people = [leaver(unit, ended=day) for day in ended]

    report = run(date(2026, 2, 28))

    assert [fresh(p).anonymised_at is not None for p in people] == [True, True, True, False]
    assert by_name(report)["Sigtuna"].ended_on_or_before == date(2026, 1, 31)
    assert last_end_date_past_retention(date(2024, 2, 29), 12) == date(2023, 2, 28)
    assert last_end_date_past_retention(date(2026, 3, 31), 1) == date(2026, 2, 28)


def test_each_municipality_keeps_its_own_number_of_months() -> None:
    factories.municipality("Sigtuna").retention_months = 36
    factories.municipality("Sollentuna").retention_months = 12
    db.session.commit()
    in_jarfalla = leaver(factories.unit("Järfälla"))
    in_sigtuna = leaver(factories.unit("Sigtuna"))
    in_sollentuna = leaver(factories.unit("Sollentuna"), ended=date(2025, 3, 16))

    report = run(BOUNDARY)

    assert fresh(in_jarfalla).anonymised_at is not None
    assert fresh(in_sigtuna).anonymised_at is None  # 36 months: until 15 March 2027
    assert fresh(in_sollentuna).anonymised_at is None  # 12 months: from 16 March 2026
    counts = {name: each.employees for name, each in by_name(report).items()}
    assert counts == {
        "Järfälla": 1,
        "Sigtuna": 0,
        "Sollentuna": 0,
        "Sundbyberg": 0,
        "Upplands Väsby": 0,
        "Upplands-Bro": 0,
    }
    assert by_name(report)["Sigtuna"].ended_on_or_before == date(2023, 3, 15)

    run(date(2026, 3, 16))
    assert fresh(in_sollentuna).anonymised_at is not None


def test_active_staff_recent_leavers_and_system_accounts_are_untouched() -> None:
    unit = factories.unit("Järfälla")
    staying = factories.employee(unit=unit, hire_date=HIRED)
    leaving_soon = factories.employee(unit=unit, hire_date=HIRED)
    leaving_soon.end_date = date(2026, 6, 30)
    recent = leaver(unit, ended=date(2024, 3, 16))  # one day short of 24 months
    admin = factories.admin()
    admin.end_date = date(2019, 12, 31)  # no municipality: never a leaver of one
    db.session.commit()
    for person in (staying, leaving_soon, recent, admin):
        factories.with_role(person, Role.COORDINATOR, municipality_name="Järfälla")
    before = dump()

    report = run(BOUNDARY)

    assert report.employees == 0
    assert dump() == before


def test_a_negative_setting_reaches_nobody_in_that_municipality() -> None:
    """-1 months would reach people still employed; the municipality is skipped instead."""
    factories.municipality("Sigtuna").retention_months = -1
    db.session.commit()
    person = leaver(factories.unit("Sigtuna"))

    report = run(BOUNDARY)

    assert fresh(person).anonymised_at is None
    assert by_name(report)["Sigtuna"].ended_on_or_before is None


# --- what goes and what stays ----------------------------------------------------------------


@pytest.fixture()
def gunnel(uploads: Path) -> dict[str, Any]:
    """Gunnel of IFO Järfälla, who left on 15 March 2024, with a full history made through
    the services (so the audit details have the real shapes); Kim, her colleague, who stays;
    Maja, their manager."""
    courses = factories.synced_catalog()
    nck = courses["nck-webbkurs-om-vald"]
    hrv = courses["socialstyrelsen-hrv-socialtjansten"]
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    hr = factories.hr_staff("Järfälla")
    maja = factories.employee(unit=ifo, first_name="Maja", last_name="Chefsdotter")
    factories.with_role(maja, Role.MANAGER, on_unit=ifo)
    kim = factories.employee(unit=ifo, first_name="Kim", last_name="Kollega", manager=maja)

    data = employees.EmployeeData(
        first_name="Gunnel",
        last_name="Gammalsson",
        email="gunnel.gammalsson@jarfalla.example",
        municipality_id=ifo.municipality_id,
        unit_id=ifo.id,
        hire_date=HIRED,
        employee_number="J-4711",
        manager_id=maja.id,
    )
    person = employees.create_employee(db.session, data, actor=hr)  # queues the invitation
    db.session.commit()
    data.last_name = "Lämnarsson"
    data.email = "gunnel.lamnarsson@jarfalla.example"
    data.end_date = ENDED
    employees.update_employee(db.session, person, data, actor=hr)  # and deactivates her
    db.session.commit()
    factories.with_role(person, Role.MANAGER, on_unit=ifo)
    person.password_hash = "argon2-hash-of-her-password"
    person.last_login_at = datetime(2024, 3, 14, 8)

    verified = factories.dated_completion(
        person, nck, completed_on=date(2023, 5, 1), reviewed_on=date(2023, 5, 2)
    )
    verified.note = "Gunnel gick kursen med hela gruppen"
    certificate = factories.evidence(verified)
    certificate.reading = {"version": 1, "name": "found", "text": "Gunnel Lämnarsson"}
    rejected = factories.dated_completion(
        person, hrv, completed_on=date(2023, 4, 1), status=CompletionStatus.REJECTED
    )
    rejected.rejection_reason = "Intyget är utfärdat till Gunnel Gammalsson"
    audit_trail.record(
        db.session,
        "completion.rejected",
        actor=maja,
        subject=person,
        object_type="completion",
        object_id=rejected.id,
        course=hrv.key,
        reason=rejected.rejection_reason,
    )
    required = factories.dated_assignment(
        person, nck, assigned_on=date(2022, 1, 1), due=date(2022, 4, 1)
    )
    exempted = factories.dated_assignment(
        person, hrv, assigned_on=date(2022, 1, 1), due=date(2022, 4, 1), exempted_on=HIRED
    )
    exempted.exemption_reason = "Gunnel har gått utbildningen hos Sollentuna"
    reminder = Reminder(
        assignment_id=required.id,
        step="overdue",
        cycle=date(2022, 4, 1),
        recipient_id=person.id,
        planned_on=date(2022, 4, 5),
        batch_key="reminder:gunnel:2022-04-05",
    )
    db.session.add(reminder)
    # Kim's report, which Gunnel verified as his manager's stand-in: his data, kept whole.
    kims = factories.completion(kim, nck)
    kims_file = factories.evidence(kims)
    audit_trail.record(
        db.session,
        "completion.verified",
        actor=person,
        subject=kim,
        object_type="completion",
        object_id=kims.id,
        course=nck.key,
    )
    db.session.commit()

    mails = {
        "to_her_sent": factories.outbox_message(
            person, status=OutboxStatus.SENT, body_text="Hej Gunnel,\n\nDu har en kurs kvar.\n"
        ),
        "to_her_failed": factories.outbox_message(
            person, status=OutboxStatus.FAILED, last_error="550 gunnel.lamnarsson: no such user"
        ),
        "to_her_sending": factories.outbox_message(person, status=OutboxStatus.SENDING),
        "about_her": factories.outbox_message(
            maja,
            kind="escalation",
            status=OutboxStatus.SENT,
            subject="Försenade kurser i din grupp",
            body_text="Hej Maja,\n\n- Gunnel Lämnarsson, IFO Järfälla: Webbkurs om våld\n",
        ),
        "about_kim": factories.outbox_message(
            maja,
            kind="escalation",
            status=OutboxStatus.SENT,
            subject="Försenade kurser i din grupp",
            body_text="Hej Maja,\n\n- Kim Kollega, IFO Järfälla: Webbkurs om våld\n",
        ),
        "queued_to_maja": factories.outbox_message(maja, kind="digest", body_text=""),
    }
    return {
        "person": person,
        "kim": kim,
        "maja": maja,
        "hr": hr,
        "certificate": certificate.storage_name,
        "kims_file": kims_file.storage_name,
        "mails": mails,
        "uploads": uploads,
    }


def test_the_employee_row_keeps_only_what_coverage_needs(gunnel: dict[str, Any]) -> None:
    person = fresh(gunnel["person"])
    unit_id, municipality_id = person.unit_id, person.municipality_id
    version = person.session_version

    run(BOUNDARY)

    person = fresh(person)
    assert (person.first_name, person.last_name) == ("Anonymiserad", "person")
    assert person.email == f"anonymiserad-{person.id}@invalid.invalid"
    assert person.employee_number is None
    assert person.password_hash is None
    assert person.invited_at is None
    assert person.last_login_at is None
    assert person.manager_id is None
    assert person.active is False
    assert person.session_version == version + 1  # any session still open ends
    assert person.anonymised_at == clock.utcnow()
    # Kept, for the coverage history.
    assert (person.unit_id, person.municipality_id) == (unit_id, municipality_id)
    assert (person.hire_date, person.end_date) == (HIRED, ENDED)


def test_personal_data_is_gone_from_people_mails_and_the_audit_trail(
    gunnel: dict[str, Any],
) -> None:
    tables = (Employee, OutboxMessage, AuditEvent, Completion, Assignment, Evidence)
    assert len(texts_holding(LEAVER_TRACES, *tables)) > 10  # what there was to find

    run(BOUNDARY)

    assert texts_holding(LEAVER_TRACES, *tables) == []


def test_certificate_files_are_deleted_from_disk_and_other_peoples_stay(
    gunnel: dict[str, Any],
) -> None:
    uploads = gunnel["uploads"]
    assert (uploads / gunnel["certificate"]).exists()

    report = run(BOUNDARY)

    assert not (uploads / gunnel["certificate"]).exists()
    assert (uploads / gunnel["kims_file"]).exists()
    assert count(Evidence) == 1  # Kim's
    assert by_name(report)["Järfälla"].certificates == 1
    assert report.file_errors == []


def test_mails_to_her_or_naming_her_go_and_the_rest_stay(gunnel: dict[str, Any]) -> None:
    mails = {name: message.id for name, message in gunnel["mails"].items()}

    report = run(BOUNDARY)

    left = set(db.session.scalars(sa.select(OutboxMessage.id)))
    assert left == {mails["about_kim"], mails["queued_to_maja"]}
    # Those three, the invitation, the notice of her new address (sent to the old one), and
    # Maja's escalation that names her.
    assert by_name(report)["Järfälla"].messages == 6


def test_grants_and_free_text_go_while_completions_assignments_and_reminders_stay(
    gunnel: dict[str, Any],
) -> None:
    person = gunnel["person"]

    def history() -> list[tuple[Any, ...]]:
        completions = db.session.execute(
            sa.select(
                Completion.course_id,
                Completion.status,
                Completion.completed_on,
                Completion.reported_at,
                Completion.reviewed_at,
            )
            .where(Completion.employee_id == person.id)
            .order_by(Completion.id)
        ).all()
        assignments = db.session.execute(
            sa.select(
                Assignment.course_id,
                Assignment.due_date,
                Assignment.assigned_at,
                Assignment.exempt,
                Assignment.exempted_at,
            )
            .where(Assignment.employee_id == person.id)
            .order_by(Assignment.id)
        ).all()
        return [*completions, *assignments]

    kept = history()
    assert len(kept) == 4

    report = run(BOUNDARY)

    assert history() == kept
    assert count(RoleGrant, RoleGrant.employee_id == person.id) == 0
    assert count(RoleGrant, RoleGrant.employee_id == gunnel["maja"].id) == 1
    assert by_name(report)["Järfälla"].role_grants == 1
    assert count(Reminder, Reminder.recipient_id == person.id) == 1
    notes = db.session.execute(
        sa.select(Completion.note, Completion.rejection_reason).where(
            Completion.employee_id == person.id
        )
    ).all()
    assert set(notes) == {("", None)}
    assert db.session.scalars(
        sa.select(Assignment.exemption_reason).where(Assignment.employee_id == person.id)
    ).all() == [None, None]


def test_audit_events_about_her_keep_what_and_when_but_no_details(
    gunnel: dict[str, Any],
) -> None:
    person, kim = gunnel["person"], gunnel["kim"]
    about_her = select_events(AuditEvent.subject_employee_id == person.id)
    assert {"employee.created", "employee.updated", "completion.rejected"} <= {
        action for action, *_ in about_her
    }
    about_kim = select_events(AuditEvent.subject_employee_id == kim.id)

    report = run(BOUNDARY)

    after = select_events(AuditEvent.subject_employee_id == person.id)
    assert [event[:-1] for event in after] == [event[:-1] for event in about_her]
    assert {event[-1] == {} for event in after} == {True}
    assert by_name(report)["Järfälla"].audit_events == len(about_her)
    # What she did to Kim's records is about Kim, and says nothing of her.
    assert select_events(AuditEvent.subject_employee_id == kim.id) == about_kim


def select_events(condition: sa.ColumnElement[bool]) -> list[tuple[Any, ...]]:
    db.session.expire_all()
    return [
        tuple(row)
        for row in db.session.execute(
            sa.select(
                AuditEvent.action,
                AuditEvent.occurred_at,
                AuditEvent.actor_id,
                AuditEvent.subject_employee_id,
                AuditEvent.object_type,
                AuditEvent.object_id,
                AuditEvent.details,
            )
            .where(condition)
            .order_by(AuditEvent.id)
        )
    ]


def test_one_audit_event_per_municipality_says_how_many_without_names(
    gunnel: dict[str, Any],
) -> None:
    leaver(factories.unit("Järfälla"), first_name="Lars")
    in_sigtuna = leaver(factories.unit("Sigtuna"), first_name="Sigrid")

    run(BOUNDARY)

    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == ACTION)).all()
    by_place = {event.object_id: event for event in events}
    jarfalla, sigtuna = factories.municipality("Järfälla"), factories.municipality("Sigtuna")
    assert set(by_place) == {jarfalla.id, sigtuna.id}  # none where nobody was anonymised
    assert {event.actor_id for event in events} == {None}
    assert {event.object_type for event in events} == {"municipality"}
    assert by_place[jarfalla.id].details == {
        "retention_months": 24,
        "ended_on_or_before": "2024-03-15",
        "employees": 2,
        "certificates": 1,
        "role_grants": 1,
        "messages": 6,  # see test_mails_to_her_or_naming_her_go_and_the_rest_stay
        "audit_events": by_place[jarfalla.id].details["audit_events"],
        "programme_places": 0,
    }
    assert by_place[sigtuna.id].details["employees"] == 1
    assert texts_holding(("Lars", "Sigrid", "Gunnel"), AuditEvent) == []
    assert fresh(in_sigtuna).anonymised_at is not None
    assert audit.action_label(ACTION) != ACTION  # the audit log names it in words


# --- coverage history ------------------------------------------------------------------------


def test_coverage_of_past_dates_adds_up_the_same_after_retention(uploads: Path) -> None:
    factories.municipality("Sigtuna").retention_months = 36  # its leaver stays
    course = factories.dated_course("v", title="Våld")
    other = factories.dated_course("h", title="Heder")
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    school = factories.unit("Järfälla", Sector.SCHOOL, "Skolan")
    sigtuna = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Sigtuna")

    def person(unit: Unit, ended: date | None) -> Employee:
        made = leaver(unit, ended=ended) if ended else factories.employee(unit=unit)
        made.hire_date = HIRED
        for each in (course, other):
            factories.dated_assignment(
                made, each, assigned_on=date(2022, 1, 1), due=date(2022, 4, 1)
            )
        return made

    def completed(who: Employee, on: date, status: CompletionStatus, **dates: date) -> None:
        done = factories.dated_completion(who, course, completed_on=on, status=status, **dates)
        done.note = "Anteckning om personen"
        factories.evidence(done)

    gone = [person(ifo, ENDED), person(ifo, date(2023, 12, 31)), person(school, ENDED)]
    staying = [person(ifo, None), person(school, None), person(sigtuna, ENDED)]
    completed(gone[0], date(2022, 2, 1), CompletionStatus.VERIFIED, reviewed_on=date(2022, 2, 3))
    completed(gone[1], date(2022, 3, 1), CompletionStatus.REPORTED)
    completed(gone[2], date(2022, 3, 1), CompletionStatus.REJECTED, reviewed_on=date(2022, 6, 1))
    completed(staying[0], date(2022, 2, 1), CompletionStatus.VERIFIED, reviewed_on=date(2022, 2, 1))
    exempted = db.session.scalars(
        sa.select(Assignment).where(Assignment.employee_id == gone[1].id)
    ).first()
    exempted.exempt, exempted.exemption_reason = True, "Sjukskriven"
    exempted.exempted_at = datetime(2022, 1, 10, 9)
    db.session.commit()

    def tables() -> list[Any]:
        db.session.expire_all()
        return [
            coverage_table(db.session, EVERYTHING, CoverageFilters(as_of=day), group_by)
            for day in (date(2022, 3, 31), date(2023, 12, 31))
            for group_by in ("municipality", "unit")
        ]

    before = tables()
    assert before[0].total.people == 6  # the leavers are in the past populations
    assert before[0].total.cell(course.id).verified == 2

    report = run(BOUNDARY)

    assert report.employees == 3
    assert tables() == before


# --- running again, dry runs, batches --------------------------------------------------------


def test_a_second_run_changes_nothing(gunnel: dict[str, Any]) -> None:
    run(BOUNDARY)
    after_first = dump()

    again = run(BOUNDARY)

    assert dump() == after_first
    counted = ("employees", "certificates", "role_grants", "messages", "audit_events")
    assert again.totals() == dict.fromkeys((*counted, "programme_places"), 0)


def test_a_dry_run_reports_what_a_run_does_and_changes_nothing(gunnel: dict[str, Any]) -> None:
    before = dump()

    dry = run(BOUNDARY, dry_run=True)

    assert dump() == before
    assert (gunnel["uploads"] / gunnel["certificate"]).exists()
    real = run(BOUNDARY)
    assert dry.dry_run and not real.dry_run
    assert [m.counts() for m in dry.municipalities] == [m.counts() for m in real.municipalities]
    assert real.employees == 1


def test_the_statements_are_per_batch_not_per_person() -> None:
    unit = factories.unit("Järfälla")
    course = factories.dated_course("a")
    for _ in range(2):
        factories.evidence(factories.completion(leaver(unit), course))
    with counting_statements() as two:
        run(BOUNDARY)
    for _ in range(6):
        factories.evidence(factories.completion(leaver(unit), course))
    with counting_statements() as six:
        run(BOUNDARY)

    assert len(six) == len(two)
    assert count(Employee, Employee.anonymised_at.is_not(None)) == 8


def test_many_leavers_go_in_batches_with_unique_addresses() -> None:
    unit = factories.unit("Järfälla")
    people = [leaver(unit) for _ in range(5)]

    report = run(BOUNDARY, batch_size=2)

    assert report.employees == 5
    emails = {fresh(p).email for p in people}
    assert emails == {f"anonymiserad-{p.id}@invalid.invalid" for p in people}


# --- nightly, and from the command line ------------------------------------------------------


def fire_times(trigger: CronTrigger, start: datetime, n: int) -> list[datetime]:
    times: list[datetime] = []
    previous = None
    for _ in range(n):
        previous = trigger.get_next_fire_time(previous, previous or start)
        times.append(previous)
    return times


def test_the_scheduler_runs_retention_nightly_at_the_configured_time(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.config["RETENTION_TIME"] == "02:30"
    spec = {s.id: s for s in scheduler.job_specs(app.config)}[scheduler.APPLY_RETENTION]
    assert spec.func is scheduler.apply_retention_job
    start = datetime(2026, 5, 4, 12, tzinfo=STOCKHOLM)
    assert fire_times(spec.trigger, start, 2) == [
        datetime(2026, 5, 5, 2, 30, tzinfo=STOCKHOLM),
        datetime(2026, 5, 6, 2, 30, tzinfo=STOCKHOLM),
    ]

    monkeypatch.setitem(app.config, "RETENTION_TIME", "03:15")
    moved = {s.id: s for s in scheduler.job_specs(app.config)}[scheduler.APPLY_RETENTION]
    assert fire_times(moved.trigger, start, 1) == [datetime(2026, 5, 5, 3, 15, tzinfo=STOCKHOLM)]

    monkeypatch.setitem(app.config, "RETENTION_TIME", "2.30")
    with pytest.raises(RuntimeError, match="RETENTION_TIME must be a time of day as HH:MM"):
        scheduler.job_specs(app.config)


def test_the_nightly_job_anonymises_and_logs_one_line(
    app: Flask, uploads: Path, caplog: pytest.LogCaptureFixture, _now: Any
) -> None:
    person = leaver(factories.unit("Järfälla"))
    factories.evidence(factories.completion(person, factories.dated_course("v")))
    _now.move_to(datetime(2026, 3, 15, 2, 30, tzinfo=STOCKHOLM))

    with caplog.at_level(logging.INFO, logger="training_tracker.scheduler"):
        scheduler.apply_retention_job(app)

    assert fresh(person).anonymised_at is not None
    assert list(uploads.iterdir()) == []
    lines = [r.getMessage() for r in caplog.records if r.name == "training_tracker.scheduler"]
    assert lines == [
        "apply-retention 2026-03-15: 1 person anonymised (Järfälla 1), 1 certificate deleted, "
        "0 role grants removed, 0 messages deleted, 0 audit events scrubbed, "
        "0 programme places released"
    ]


def test_the_command_prints_per_municipality_what_it_did(runner, gunnel: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    dry = runner.invoke(args=["retention", "run", "--today", "2026-03-15", "--dry-run"])

    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert lines[0] == "2026-03-15: dry run, nothing changed"
    assert lines[1].startswith(
        "Järfälla\t24 months\tended on or before 2024-03-15\t1 person anonymised, "
        "1 certificate deleted, 1 role grant removed, 6 messages deleted, "
    )
    assert lines[2] == (
        "Sigtuna\t24 months\tended on or before 2024-03-15\t0 people anonymised, "
        "0 certificates deleted, 0 role grants removed, 0 messages deleted, "
        "0 audit events scrubbed, 0 programme places released"
    )
    assert len(lines) == 1 + 6 + 3 and lines[-3].startswith("total: 1 person anonymised")
    assert lines[-2] == "old HR export files emptied: 0"
    assert lines[-1] == "old failed-sign-in audit events deleted: 0"
    assert fresh(gunnel["person"]).anonymised_at is None

    real = runner.invoke(args=["retention", "run", "--today", "2026-03-15"])

    assert real.exit_code == 0, real.output
    assert real.output.splitlines()[0] == "2026-03-15: retention applied"
    assert real.output.splitlines()[1:] == lines[1:]
    assert fresh(gunnel["person"]).anonymised_at is not None


def test_the_command_names_a_malformed_date_and_changes_nothing(
    runner,  # type: ignore[no-untyped-def]
    gunnel: dict[str, Any],
) -> None:
    before = dump()

    result = runner.invoke(args=["retention", "run", "--today", "15/3/2026"])

    assert result.exit_code == 2
    assert "Invalid value for '--today'" in result.output
    assert "15/3/2026" in result.output
    assert dump() == before


def test_the_command_without_a_date_uses_today(runner) -> None:  # type: ignore[no-untyped-def]
    person = leaver(factories.unit("Järfälla"), ended=date(2024, 3, 16))  # 24 months: today

    result = runner.invoke(args=["retention", "run"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("2026-03-16: retention applied")
    assert fresh(person).anonymised_at is not None


def test_uploaded_hr_files_older_than_thirty_days_are_emptied(app: Flask) -> None:
    """An HR export names everyone it listed; its batch (who, when, counts) stays."""
    assert app.config["IMPORT_FILE_KEEP_DAYS"] == 30
    old = factories.import_batch("Järfälla")
    recent = factories.import_batch("Sigtuna")
    old.created_at = datetime(2026, 2, 12, 23, 0)
    recent.created_at = datetime(2026, 2, 13, 0, 0)
    db.session.commit()

    dry = apply_retention(db.session, date(2026, 3, 15), dry_run=True)
    assert dry.import_files == 1
    assert db.session.get(ImportBatch, old.id).content != b""

    report = apply_retention(db.session, date(2026, 3, 15))
    db.session.commit()
    assert report.import_files == 1
    assert db.session.get(ImportBatch, old.id).content == b""
    kept = db.session.get(ImportBatch, recent.id)
    assert b"lisa.berg@test.example" in kept.content
    assert db.session.get(ImportBatch, old.id).size_bytes > 0  # what was uploaded, still told
    assert apply_retention(db.session, date(2026, 3, 15)).import_files == 0


# --- the joint programme ---------------------------------------------------------------------


def test_a_leavers_places_to_come_go_to_the_waiting_list_and_the_rest_stays() -> None:
    """Her place at an event to come is released (the first on the waiting list moves up, with
    a mail); her sign-up and attendance of an event held before stay, nameless with her row,
    and her programme mails go with her other mails."""
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    gone = leaver(unit, first_name="Gunnel", last_name="Gammalsson")
    next_in_line = factories.employee(unit=unit, email="nasta@jarfalla.example")
    organiser = factories.organiser("Järfälla")
    held = factories.programme_event(title="Förra året", starts=datetime(2024, 2, 1, 13, 0))
    coming = factories.programme_event(
        title="Nästa vecka", capacity=1, starts=datetime(2026, 3, 24, 13, 0)
    )
    with time_machine.travel(datetime(2024, 1, 10, 9, 0), tick=False):
        signups.sign_up(db.session, gone, held, gone)
        db.session.commit()
    with time_machine.travel(datetime(2024, 2, 1, 12, 30), tick=False):
        attendance.take_attendance(db.session, organiser, held.sessions[0], everyone=True)
        db.session.commit()
    signups.sign_up(db.session, gone, coming, gone)  # a sign-up left behind at leaving
    signups.sign_up(db.session, next_in_line, coming, next_in_line)
    db.session.commit()
    assert signups.my_registration(db.session, next_in_line, coming.id).status == (
        RegistrationStatus.WAITING
    )

    dry = run(BOUNDARY, dry_run=True)
    assert by_name(dry)["Järfälla"].programme_places == 1
    report = run(BOUNDARY)

    assert by_name(report)["Järfälla"].programme_places == 1
    assert signups.my_registration(db.session, gone, coming.id).status == (
        RegistrationStatus.CANCELLED
    )
    assert signups.my_registration(db.session, next_in_line, coming.id).status == (
        RegistrationStatus.CONFIRMED
    )
    moved_up = db.session.scalars(
        sa.select(OutboxMessage.subject).where(OutboxMessage.recipient_id == next_in_line.id)
    ).all()
    assert "Du har fått en plats: Nästa vecka" in moved_up
    # What was held before stays with the anonymised row; nothing left names her.
    assert signups.my_registration(db.session, gone, held.id).status == (
        RegistrationStatus.CONFIRMED
    )
    assert count(ProgrammeAttendance, ProgrammeAttendance.employee_id == gone.id) == 1
    assert count(OutboxMessage, OutboxMessage.recipient_id == gone.id) == 0
    assert texts_holding(LEAVER_TRACES, OutboxMessage, AuditEvent, Employee) == []
    assert run(BOUNDARY).totals()["programme_places"] == 0  # once
