"""Signing up for the joint programme (issue #20): a place or the waiting list, cancelling up to
the deadline, moving up with a mail, a manager signing up their staff, the calendar
invitation, and never more people than places, even when two take the last place at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from icalendar import Calendar

from config import TestingConfig
from tests import factories
from tests.conftest import count, subject_of
from training_tracker import create_app
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    Employee,
    OutboxMessage,
    ProgrammeEvent,
    ProgrammeRegistration,
    ProgrammeSession,
    RegistrationStatus,
    Role,
    Sector,
)
from training_tracker.services.messaging import outbox
from training_tracker.services.programme import events, signups
from training_tracker.services.programme.calendar import invitation, session_uid

NOW = datetime(2026, 10, 20, 9, 0)  # UTC; the events below are in November


@pytest.fixture(autouse=True)
def _october() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def staff(n: int, municipality: str = "Järfälla") -> list[Employee]:
    unit = factories.unit(municipality, Sector.SOCIAL_SERVICES, "IFO")
    return [factories.employee(unit=unit, last_name=f"Person{i}") for i in range(n)]


def status_of(event: ProgrammeEvent, person: Employee) -> RegistrationStatus | None:
    return db.session.scalar(
        sa.select(ProgrammeRegistration.status).where(
            ProgrammeRegistration.event_id == event.id,
            ProgrammeRegistration.employee_id == person.id,
        )
    )


def sign_up(event: ProgrammeEvent, person: Employee, actor: Employee | None = None) -> None:
    signups.sign_up(db.session, actor or person, event, person)
    db.session.commit()


def test_a_place_while_there_is_one_then_the_waiting_list_then_moved_up_with_a_mail(client):
    event = factories.programme_event(capacity=2, starts=datetime(2026, 11, 12, 13, 0))
    first, second, third, fourth = staff(4)
    for person in (first, second, third, fourth):
        sign_up(event, person)

    assert [status_of(event, p) for p in (first, second, third, fourth)] == [
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.WAITING,
        RegistrationStatus.WAITING,
    ]
    client.sign_in(second)
    response = client.post_form(f"/programme/events/{event.id}/cancel")
    assert response.status_code == 302

    assert status_of(event, second) == RegistrationStatus.CANCELLED
    assert status_of(event, third) == RegistrationStatus.CONFIRMED  # first come, first served
    assert status_of(event, fourth) == RegistrationStatus.WAITING
    moved = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.recipient_id == third.id)
        .order_by(OutboxMessage.id)
    ).all()
    assert [m.subject for m in moved] == [
        "Du står på väntelistan: Barn som upplever våld",
        "Du har fått en plats: Barn som upplever våld",
    ]
    assert moved[0].calendar is None and "METHOD:REQUEST" in (moved[1].calendar or "")
    cancelled = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.recipient_id == second.id)
        .order_by(OutboxMessage.id)
    ).all()
    assert "METHOD:CANCEL" in (cancelled[-1].calendar or "")
    assert count(AuditEvent, AuditEvent.action == "programme.moved_up") == 1


def test_signing_up_on_the_page_confirms_with_a_calendar_invitation(client, smtp_server):
    event = factories.programme_event(capacity=5)
    (me,) = staff(1)
    client.sign_in(me)
    before = client.get(f"/programme/events/{event.id}").get_data(as_text=True)
    assert "https://möte.example/barn" not in before  # the link is for those with a place
    assert "Visas när du har en plats." in before

    response = client.post_form(f"/programme/events/{event.id}/signup")
    assert response.status_code == 302
    after = client.get(f"/programme/events/{event.id}").get_data(as_text=True)
    assert "Du har en plats" in after and "https://möte.example/barn" in after
    assert "4 av 5" in after

    outbox.deliver_outbox(db.session)
    (mail,) = smtp_server.to(me.email)
    assert subject_of(mail) == "Du har en plats: Barn som upplever våld"
    (attachment,) = [part for part in mail.walk() if part.get_content_type() == "text/calendar"]
    assert attachment.get_param("method") == "REQUEST"
    parsed = Calendar.from_ical(attachment.get_payload(decode=True))
    (vevent,) = parsed.walk("VEVENT")
    assert "https://möte.example/barn" in str(vevent["description"])


def test_cancelling_is_possible_up_to_the_deadline_and_not_after(client):
    event = factories.programme_event(starts=datetime(2026, 11, 12, 13, 0))  # deadline 10 Nov
    me, other = staff(2)
    sign_up(event, me)
    sign_up(event, other)
    with time_machine.travel(datetime(2026, 11, 10, 22, 59), tick=False):  # 23:59 Swedish time
        registration = signups.my_registration(db.session, me, event.id)
        assert registration is not None
        signups.cancel(db.session, me, registration)
        db.session.commit()
    late = signups.my_registration(db.session, other, event.id)
    assert late is not None
    with (
        time_machine.travel(datetime(2026, 11, 10, 23, 0), tick=False),  # 11 November 00:00
        pytest.raises(signups.SignupError, match="Sista anmälningsdag har passerat"),
    ):
        signups.cancel(db.session, other, late)
    db.session.rollback()
    with (
        time_machine.travel(datetime(2026, 11, 10, 23, 0), tick=False),
        pytest.raises(signups.SignupError, match="Sista anmälningsdag har passerat"),
    ):
        signups.sign_up(db.session, me, event, me)
    db.session.rollback()
    assert status_of(event, me) == RegistrationStatus.CANCELLED
    assert status_of(event, other) == RegistrationStatus.CONFIRMED


def test_only_staff_of_the_events_municipalities_may_sign_up(app):
    event = factories.programme_event(municipalities=("Sigtuna",))
    (me,) = staff(1, "Järfälla")
    with pytest.raises(signups.SignupError, match="inte öppet"):
        signups.sign_up(db.session, me, event, me)


def test_a_manager_signs_up_their_staff_and_nobody_else(client):
    event = factories.programme_event(capacity=5, requires_approval=True)
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    manager = factories.with_role(factories.employee(unit=unit), Role.MANAGER, on_unit=unit)
    mine = factories.employee(unit=unit, first_name="Mona", last_name="Medarbetare")
    stranger = factories.employee(unit=factories.unit("Järfälla", Sector.SCHOOL, "Skolan"))
    client.sign_in(manager)

    assert "Mona Medarbetare" in client.get(f"/programme/events/{event.id}").get_data(as_text=True)
    response = client.post_form(
        f"/programme/events/{event.id}/signup", {"employee": str(mine.id), "staff": "1"}
    )
    assert response.status_code == 302
    # The manager's sign-up needs no approval of its own.
    assert status_of(event, mine) == RegistrationStatus.CONFIRMED
    response = client.post_form(
        f"/programme/events/{event.id}/signup", {"employee": str(stranger.id), "staff": "1"}
    )
    assert response.status_code == 404
    assert status_of(event, stranger) is None
    # Choosing nobody signs up nobody, not the manager.
    client.post_form(f"/programme/events/{event.id}/signup", {"employee": "", "staff": "1"})
    assert status_of(event, manager) is None
    # An employee's own sign-up to this event waits for the manager's approval.
    waits = factories.employee(unit=unit, first_name="Vera", last_name="Väntar")
    declined = factories.employee(unit=unit, first_name="Nils", last_name="Nej")
    sign_up(event, waits)
    sign_up(event, declined)
    assert status_of(event, waits) == RegistrationStatus.PENDING
    page = client.get(f"/programme/events/{event.id}").get_data(as_text=True)
    assert "Väntar på godkännande" in page and "Godkänn inte" in page
    client.post_form(
        f"/programme/events/{event.id}/decide", {"employee": str(waits.id), "decision": "approve"}
    )
    client.post_form(
        f"/programme/events/{event.id}/decide",
        {"employee": str(declined.id), "decision": "decline"},
    )
    assert status_of(event, waits) == RegistrationStatus.CONFIRMED
    assert status_of(event, declined) == RegistrationStatus.CANCELLED
    assert count(AuditEvent, AuditEvent.action == "programme.approved") == 1
    # Nobody approves their own sign-up.
    (colleague,) = staff(1)
    sign_up(event, colleague)
    registration = signups.my_registration(db.session, colleague, event.id)
    assert registration is not None
    with pytest.raises(signups.SignupError, match="Bara medarbetarens chef"):
        signups.decide(db.session, colleague, registration, approve=True)


# --- the calendar invitation -------------------------------------------------------------------


def parsed(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def test_the_invitation_keeps_swedish_time_across_the_change_to_winter_time(app):
    # Saturday 24 October 2026 is summer time (UTC+2), Monday 26 October winter time (UTC+1).
    event = factories.programme_event(capacity=5, starts=datetime(2026, 10, 24, 13, 0))
    organiser = factories.organiser("Järfälla")
    events.add_session(
        db.session,
        organiser,
        event,
        events.SessionData(
            datetime(2026, 10, 26).date(),
            datetime(2026, 1, 1, 13).time(),
            datetime(2026, 1, 1, 15).time(),
        ),
    )
    db.session.commit()
    (me,) = staff(1)
    sign_up(event, me)
    registration = signups.my_registration(db.session, me, event.id)
    assert registration is not None

    calendar = parsed(invitation(event, registration))

    assert calendar["method"] == "REQUEST"
    saturday, monday = calendar.walk("VEVENT")
    for vevent in (saturday, monday):
        assert vevent["dtstart"].params["TZID"] == "Europe/Stockholm"
        assert vevent["dtstart"].dt.hour == 13  # the same wall-clock time on both days
    assert saturday["dtstart"].dt.utcoffset() == timedelta(hours=2)
    assert monday["dtstart"].dt.utcoffset() == timedelta(hours=1)
    assert saturday["dtstart"].dt.astimezone().replace(tzinfo=None) is not None
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Stockholm"]
    assert str(saturday["uid"]) != str(monday["uid"])


def test_the_invitation_keeps_its_uid_and_raises_its_sequence_on_change_and_cancellation(app):
    event = factories.programme_event(capacity=5)
    (me,) = staff(1)
    sign_up(event, me)
    registration = signups.my_registration(db.session, me, event.id)
    assert registration is not None
    (first,) = parsed(invitation(event, registration)).walk("VEVENT")

    organiser = factories.organiser("Järfälla")
    data = events.event_data(event)
    data.title = "Barn som upplever våld (ny lokal)"
    events.update_event(db.session, organiser, event, data)
    db.session.commit()
    (changed,) = parsed(invitation(event, registration)).walk("VEVENT")
    signups.cancel(db.session, me, registration)
    db.session.commit()
    cancelled_calendar = parsed(invitation(event, registration))
    (cancelled,) = cancelled_calendar.walk("VEVENT")

    assert str(first["uid"]) == str(changed["uid"]) == str(cancelled["uid"])
    assert first["sequence"] < changed["sequence"] < cancelled["sequence"]
    assert cancelled_calendar["method"] == "CANCEL"
    assert cancelled["status"] == "CANCELLED"


def test_the_calendar_file_is_for_those_signed_up(client):
    event = factories.programme_event(capacity=5)
    (me,) = staff(1)
    client.sign_in(me)
    assert client.get(f"/programme/events/{event.id}/calendar.ics").status_code == 404
    sign_up(event, me)
    response = client.get(f"/programme/events/{event.id}/calendar.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert parsed(response.data)["method"] == "REQUEST"


# --- two people, one place ---------------------------------------------------------------------


@pytest.fixture()
def threaded_app(app: Flask) -> Iterator[Flask]:
    """A second app on the suite's database, whose threads each get their own connection."""
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    threaded = create_app(config)
    yield threaded
    with threaded.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("people", [2, 6])
def test_people_taking_the_last_place_at_once_never_overbook(threaded_app, people):
    event = factories.programme_event(capacity=4)
    earlier = staff(3, "Sigtuna")
    for person in earlier:
        sign_up(event, person)  # one place left
    racers = [person.id for person in staff(people)]
    event_id = event.id
    barrier = threading.Barrier(people, timeout=60)
    errors: list[str] = []

    def race(employee_id: int) -> None:
        try:
            with threaded_app.app_context():
                # Both read the event and see the free place before either writes.
                person = db.session.get(Employee, employee_id)
                racing_event = db.session.get(ProgrammeEvent, event_id)
                assert person is not None and racing_event is not None
                _ = racing_event.municipalities, person.role_grants
                db.session.commit()
                barrier.wait()
                signups.sign_up(db.session, person, racing_event, person)
                db.session.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(f"{type(error).__name__}: {error}")
            barrier.abort()

    threads = [threading.Thread(target=race, args=(racer,)) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    statuses = [status_of(event, db.session.get(Employee, racer)) for racer in racers]
    assert statuses.count(RegistrationStatus.CONFIRMED) == 1
    assert statuses.count(RegistrationStatus.WAITING) == people - 1
    assert (
        count(
            ProgrammeRegistration,
            ProgrammeRegistration.event_id == event_id,
            ProgrammeRegistration.status == RegistrationStatus.CONFIRMED,
        )
        == 4
    )


def test_a_changed_or_cancelled_session_is_mailed_with_the_updated_invitation(app):
    event = factories.programme_event(capacity=5, starts=datetime(2026, 11, 12, 13, 0))
    (me,) = staff(1)
    sign_up(event, me)
    organiser = factories.organiser("Järfälla")
    later = events.add_session(
        db.session,
        organiser,
        event,
        events.SessionData(datetime(2026, 11, 19).date(), time(13, 0), time(15, 0)),
    )
    db.session.commit()
    events.change_session(
        db.session,
        organiser,
        later,
        events.SessionData(datetime(2026, 11, 19).date(), time(14, 0), time(16, 0)),
    )
    db.session.commit()
    events.cancel_session(db.session, organiser, later)
    db.session.commit()

    changes = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.recipient_id == me.id, OutboxMessage.subject.startswith("Ändrat"))
        .order_by(OutboxMessage.id)
    ).all()
    assert len(changes) == 3  # added, moved, cancelled
    sequences = []
    for message in changes:
        vevents = {str(v["uid"]): v for v in Calendar.from_ical(message.calendar).walk("VEVENT")}
        moved = vevents[session_uid_of(later)]
        sequences.append(int(moved["sequence"]))
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    last = Calendar.from_ical(changes[-1].calendar)
    moved = next(v for v in last.walk("VEVENT") if str(v["uid"]) == session_uid_of(later))
    assert moved["status"] == "CANCELLED"
    assert moved["dtstart"].dt.hour == 14


def session_uid_of(one: ProgrammeSession) -> str:
    return session_uid(one)


def test_the_organiser_mails_everyone_signed_up_once(client):
    event = factories.programme_event(capacity=2)
    first, second, waiting = staff(3)
    for person in (first, second, waiting):
        sign_up(event, person)
    client.sign_in(factories.organiser("Järfälla"))
    url = f"/programme/manage/{event.id}/message"
    message = {"subject": "Ny lokal", "text": "Vi ses i sal 3 i stället."}

    assert client.post_form(url, {"subject": " ", "text": ""}).status_code == 422
    assert client.post_form(url, message).status_code == 302
    assert client.post_form(url, message).status_code == 302  # sent twice: once

    sent = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "programme_message")
    ).all()
    assert {m.recipient_id for m in sent} == {first.id, second.id}
    assert all(m.subject == "Ny lokal" and "sal 3" in m.body_text for m in sent)
    assert count(AuditEvent, AuditEvent.action == "programme.messaged") == 2
