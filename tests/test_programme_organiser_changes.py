"""The organiser cancels a whole event (after a confirmation page) or moves a session: everyone
registered is told by mail, and calendars follow, the cancellation as METHOD:CANCEL with the
same UIDs and a higher SEQUENCE, the new times as an update with SEQUENCE one higher."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from icalendar import Calendar

from tests import factories
from tests.conftest import count, subject_of
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    Employee,
    OutboxMessage,
    ProgrammeEvent,
    RegistrationStatus,
    Sector,
)
from training_tracker.services.messaging import outbox
from training_tracker.services.programme import attendance, signups
from training_tracker.services.programme.calendar import session_uid

NOW = datetime(2026, 10, 20, 9, 0)  # UTC; the event's sessions are in November


@pytest.fixture(autouse=True)
def _october() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def signed_up(capacity: int, people: int) -> tuple[ProgrammeEvent, list[Employee]]:
    event = factories.programme_event(capacity=capacity, starts=datetime(2026, 11, 12, 13, 0))
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    staff = [
        factories.employee(unit=unit, email=f"person{i}@jarfalla.example") for i in range(people)
    ]
    for person in staff:
        signups.sign_up(db.session, person, event, person)
    db.session.commit()
    return event, staff


def calendars_of(person: Employee) -> list[Calendar]:
    return [
        Calendar.from_ical(message.calendar)
        for message in db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.recipient_id == person.id, OutboxMessage.calendar.is_not(None))
            .order_by(OutboxMessage.id)
        )
    ]


def vevents(calendar: Calendar) -> dict[str, object]:
    return {str(v["uid"]): v for v in calendar.walk("VEVENT")}


def test_cancelling_the_event_asks_first_then_tells_everyone_with_a_cancel_invitation(
    client, smtp_server
):
    event, (first, second, waiting) = signed_up(capacity=2, people=3)
    uid = session_uid(event.sessions[0])
    client.sign_in(factories.organiser("Järfälla"))
    manage = client.get(f"/programme/manage/{event.id}").get_data(as_text=True)
    assert f'href="/programme/manage/{event.id}/cancel"' in manage

    confirm = client.get(f"/programme/manage/{event.id}/cancel")
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "<script>" not in page and "onclick" not in page
    assert "2 anmälda med plats får besked" in page and "1 på väntelistan" in page
    assert db.session.get(ProgrammeEvent, event.id).cancelled_at is None  # asking changes nothing

    response = client.post_form(f"/programme/manage/{event.id}/cancel")
    assert response.status_code == 302
    assert db.session.get(ProgrammeEvent, event.id).cancelled_at == NOW
    assert count(AuditEvent, AuditEvent.action == "programme.event_cancelled") == 1
    assert "Inställt" in client.get(f"/programme/manage/{event.id}").get_data(as_text=True)

    for person in (first, second):
        invited, cancelled = calendars_of(person)
        assert str(cancelled["method"]) == "CANCEL"
        before, after = vevents(invited)[uid], vevents(cancelled)[uid]
        assert str(after["status"]) == "CANCELLED"
        assert int(after["sequence"]) > int(before["sequence"])
    assert calendars_of(waiting) == []  # no invitation to take back

    outbox.deliver_outbox(db.session)
    told = {
        person.email: [
            mail
            for mail in smtp_server.to(person.email)
            if subject_of(mail) == "Inställt: Barn som upplever våld"
        ]
        for person in (first, second, waiting)
    }
    assert [len(mails) for mails in told.values()] == [1, 1, 1]
    (attachment,) = [
        p for p in told[first.email][0].walk() if p.get_content_type() == "text/calendar"
    ]
    assert attachment.get_param("method") == "CANCEL"

    # Cancelled: nobody signs up, and cancelling again tells nobody twice.
    late = factories.employee(unit=first.unit, email="sen@jarfalla.example")
    with pytest.raises(signups.SignupError, match="inställt"):
        signups.sign_up(db.session, late, event, late)
    db.session.rollback()
    mails = count(OutboxMessage)
    client.post_form(f"/programme/manage/{event.id}/cancel")
    assert count(OutboxMessage) == mails
    # Nor does the session's code check anyone in while it would have run.
    one = db.session.get(ProgrammeEvent, event.id).sessions[0]
    with (
        time_machine.travel(one.starts_at + timedelta(minutes=5), tick=False),
        pytest.raises(attendance.AttendanceError),
    ):
        attendance.check_in(db.session, first, one.checkin_code or "")


def test_a_session_moved_on_its_page_sends_the_updated_invitation_sequence_plus_one(client):
    event, (me, waiting) = signed_up(capacity=1, people=2)
    one = event.sessions[0]
    uid, url = session_uid(one), f"/programme/manage/{event.id}/sessions/{one.id}/edit"
    client.sign_in(factories.organiser("Järfälla"))
    form = client.get(url).get_data(as_text=True)
    assert 'value="2026-11-12"' in form and 'value="13:00"' in form and 'value="15:00"' in form

    bad = client.post_form(url, {"day": "2026-11-12", "starts": "15:00", "ends": "14:00"})
    assert bad.status_code == 422
    response = client.post_form(url, {"day": "2026-11-13", "starts": "09:00", "ends": "11:30"})
    assert response.status_code == 302

    (invited, updated) = calendars_of(me)
    before, after = vevents(invited)[uid], vevents(updated)[uid]
    assert str(updated["method"]) == "REQUEST"
    assert int(after["sequence"]) == int(before["sequence"]) + 1
    assert after["dtstart"].dt == datetime.fromisoformat("2026-11-13T09:00:00+01:00")
    assert after["dtend"].dt.hour == 11 and after["dtend"].dt.minute == 30
    assert str(after["dtstart"].params["TZID"]) == "Europe/Stockholm"
    assert calendars_of(waiting) == []  # the waiting list has no invitation to update
    assert signups.my_registration(db.session, me, event.id).status == (
        RegistrationStatus.CONFIRMED
    )
    # The same times again change nothing and mail nobody.
    mails = count(OutboxMessage)
    client.post_form(url, {"day": "2026-11-13", "starts": "09:00", "ends": "11:30"})
    assert count(OutboxMessage) == mails


def test_a_cancelled_event_keeps_its_sessions_as_they_were(client):
    event, _people = signed_up(capacity=2, people=1)
    one = event.sessions[0]
    organiser = factories.organiser("Järfälla")
    client.sign_in(organiser)
    client.post_form(f"/programme/manage/{event.id}/cancel")
    url = f"/programme/manage/{event.id}/sessions/{one.id}/edit"
    response = client.post_form(url, {"day": "2026-11-13", "starts": "09:00", "ends": "11:30"})
    assert response.status_code == 422
    assert "Evenemanget är inställt." in response.get_data(as_text=True)
    assert db.session.get(ProgrammeEvent, event.id).sessions[0].starts_at == datetime(
        2026, 11, 12, 12, 0
    )
