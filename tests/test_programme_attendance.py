"""Attendance at the joint programme (issue #20): the organiser ticks the list (or all of it) or
pastes addresses; attendees check in with the session's code, valid only while it runs.
Attendance at an event that counts as a course is a verified completion of it, audited, and
so part of that course's coverage."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine
from pypdf import PdfReader

from tests import factories
from tests.conftest import count
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    Completion,
    CompletionStatus,
    Employee,
    ProgrammeAttendance,
    ProgrammeEvent,
    Sector,
)
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.programme import attendance, signups
from training_tracker.services.reporting.coverage import coverage_table
from training_tracker.services.reporting.coverage_types import CoverageFilters

# The session: 12 November 2026 13:00–15:00 Swedish time (12:00–14:00 UTC).
STARTS = datetime(2026, 11, 12, 13, 0)
BEFORE = datetime(2026, 10, 20, 9, 0)


def event_with_places(people: int, *, course: bool = True) -> tuple[ProgrammeEvent, list[Employee]]:
    nck = factories.synced_catalog()["nck-webbkurs-om-vald"] if course else None
    event = factories.programme_event(capacity=10, starts=STARTS, course=nck)
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    staff = [factories.employee(unit=unit, last_name=f"Deltagare{i}") for i in range(people)]
    with time_machine.travel(BEFORE, tick=False):
        for person in staff:
            signups.sign_up(db.session, person, event, person)
        db.session.commit()
    return event, staff


def present(event: ProgrammeEvent) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(ProgrammeAttendance.employee_id).where(
                ProgrammeAttendance.session_id == event.sessions[0].id
            )
        )
    )


def test_the_organiser_ticks_the_list_and_attendance_is_a_verified_completion(client):
    event, (first, second, third) = event_with_places(3)
    organiser = factories.organiser("Järfälla")
    client.sign_in(organiser)
    url = f"/programme/manage/{event.id}/sessions/{event.sessions[0].id}/attendance"
    page = client.get(url).get_data(as_text=True)
    assert "Alla med plats" in page and event.sessions[0].checkin_code in page

    response = client.post_form(url, {"employees": [str(first.id), str(third.id)]})

    assert response.status_code == 302
    assert present(event) == {first.id, third.id}
    completions = db.session.scalars(sa.select(Completion)).all()
    assert {(c.employee_id, c.status, c.completed_on) for c in completions} == {
        (first.id, CompletionStatus.VERIFIED, date(2026, 11, 12)),
        (third.id, CompletionStatus.VERIFIED, date(2026, 11, 12)),
    }
    assert all(c.reviewed_by_id == organiser.id for c in completions)
    assert count(AuditEvent, AuditEvent.action == "programme.attended") == 2
    assert count(AuditEvent, AuditEvent.action == "completion.recorded") == 2
    # Everyone: the one left is added, nobody twice.
    client.post_form(url, {"everyone": "y"})
    assert present(event) == {first.id, second.id, third.id}
    assert count(Completion) == 3


def test_pasted_addresses_record_attendance_and_an_unknown_one_stores_nothing(client):
    event, (first, _second) = event_with_places(2, course=False)
    walk_in = factories.employee(unit=factories.unit("Sigtuna"), email="gast@sigtuna.example")
    client.sign_in(factories.organiser(None))
    url = f"/programme/manage/{event.id}/sessions/{event.sessions[0].id}/attendance"

    refused = client.post_form(url, {"emails": f"{first.email}\nokand@example.com"})
    assert refused.status_code == 422
    assert "okand@example.com" in refused.get_data(as_text=True)
    assert present(event) == set()

    client.post_form(url, {"emails": f"Anna <{first.email.upper()}>; {walk_in.email}"})
    assert present(event) == {first.id, walk_in.id}
    assert count(Completion) == 0  # the event is an item of its own


def test_attendees_check_in_with_the_code_only_while_the_session_runs(client):
    event, (me, _other) = event_with_places(2)
    code = event.sessions[0].checkin_code
    assert code
    with (
        time_machine.travel(datetime(2026, 11, 12, 11, 59), tick=False),  # 12:59 Swedish
        pytest.raises(attendance.AttendanceError, match="bara medan tillfället pågår"),
    ):
        attendance.check_in(db.session, me, code)
    db.session.rollback()
    with time_machine.travel(datetime(2026, 11, 12, 12, 30), tick=False):
        client.sign_in(me)
        response = client.post_form("/programme/checkin", {"code": f" {code.lower()} "})
    assert response.status_code == 302
    assert present(event) == {me.id}
    (completion,) = db.session.scalars(sa.select(Completion)).all()
    assert completion.status == CompletionStatus.VERIFIED and completion.employee_id == me.id
    with (
        time_machine.travel(datetime(2026, 11, 12, 14, 1), tick=False),  # 15:01 Swedish
        pytest.raises(attendance.AttendanceError),
    ):
        attendance.check_in(db.session, _other, code)


@time_machine.travel(datetime(2026, 11, 13, 9, 0), tick=False)
def test_attendance_at_an_event_counting_as_a_course_is_in_its_coverage(client):
    event, people = event_with_places(5)
    nck = event.course
    assert nck is not None
    for person in people:
        factories.assignment(person, nck)
    organiser = factories.organiser(None)
    everything = ReportScope(True, frozenset(), frozenset())
    filters = CoverageFilters(course_id=nck.id, municipality_id=people[0].municipality_id)

    def verified() -> int:
        (row,) = coverage_table(db.session, everything, filters).rows
        return row.cell(nck.id).verified

    assert verified() == 0
    attendance.take_attendance(db.session, organiser, event.sessions[0], everyone=True)
    db.session.commit()
    assert verified() == 5


def test_the_report_counts_sign_ups_attendance_and_no_shows_by_municipality_and_sector(client):
    event, (first, second, third) = event_with_places(3, course=False)
    waiting_event_person = factories.employee(
        unit=factories.unit("Sigtuna", Sector.SCHOOL, "Skolan"), email="vantar@sigtuna.example"
    )
    event.capacity = 3
    db.session.commit()
    with time_machine.travel(BEFORE, tick=False):
        signups.sign_up(db.session, waiting_event_person, event, waiting_event_person)
        db.session.commit()
    organiser = factories.organiser("Järfälla")
    attendance.take_attendance(
        db.session, organiser, event.sessions[0], employee_ids=[first.id, third.id]
    )
    db.session.commit()

    with time_machine.travel(datetime(2026, 11, 13, 9, 0), tick=False):
        client.sign_in(organiser)
        page = client.get("/programme/manage/report").get_data(as_text=True)
        csv = client.get("/programme/manage/report.csv").get_data(as_text=True)

    assert "Barn som upplever våld" in page
    lines = csv.splitlines()
    assert lines[0].lstrip("\ufeff").startswith("Evenemang;Datum;Kommun;Sektor;Anmälda;Väntelista")
    assert "Barn som upplever våld;2026-11-12;Järfälla;Socialtjänst;3;0;2;1" in csv
    assert "Barn som upplever våld;2026-11-12;Sigtuna;Skola och förskola;0;1;0;0" in csv
    assert second.id not in present(event)


def test_an_attendee_downloads_the_attendance_certificate_the_same_for_everyone(client):
    event, (came, stayed_away) = event_with_places(2)
    organiser = factories.organiser("Järfälla")
    attendance.take_attendance(db.session, organiser, event.sessions[0], employee_ids=[came.id])
    db.session.commit()
    client.sign_in(stayed_away)
    assert client.get(f"/programme/events/{event.id}/certificate.pdf").status_code == 404
    client.sign_in(came)

    response = client.get(f"/programme/events/{event.id}/certificate.pdf")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "Intyg om deltagande" in text
    assert "Barn som upplever våld" in text
    assert "12 november 2026 13:00–15:00" in text or "12 november 2026 13:00" in text
    assert "Webbkurs om våld" in text
    assert came.last_name not in text  # the same for every attendee
