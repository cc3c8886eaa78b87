"""The manager's approval of a sign-up (issue #20): an event that asks for it mails the
employee's managers through the outbox, with a link to a page where they approve or decline;
the employee gets a mail on the decision (with the calendar invitation when approved)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
import time_machine
from icalendar import Calendar

from tests import factories
from tests.conftest import mail_html, mail_text, subject_of
from training_tracker.extensions import db
from training_tracker.models import (
    Employee,
    OutboxMessage,
    ProgrammeEvent,
    ProgrammeRegistration,
    RegistrationStatus,
    Role,
    Sector,
)
from training_tracker.services.messaging import outbox
from training_tracker.services.programme import signups

NOW = datetime(2026, 10, 20, 9, 0)  # UTC; the event is on 12 November


@pytest.fixture(autouse=True)
def _october() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def team() -> tuple[ProgrammeEvent, Employee, Employee, Employee]:
    """An event asking for approval; a unit with two managers (one is also Mona's own
    manager) and Mona."""
    event = factories.programme_event(
        capacity=1, requires_approval=True, starts=datetime(2026, 11, 12, 13, 0)
    )
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    boss = factories.with_role(
        factories.employee(unit=unit, first_name="Berit", email="berit@jarfalla.example"),
        Role.MANAGER,
        on_unit=unit,
    )
    deputy = factories.with_role(
        factories.employee(unit=unit, first_name="Dan", email="dan@jarfalla.example"),
        Role.MANAGER,
        on_unit=unit,
    )
    mona = factories.employee(
        unit=unit, first_name="Mona", last_name="Medarbetare", email="mona@jarfalla.example"
    )
    mona.manager_id = boss.id
    db.session.commit()
    return event, boss, deputy, mona


def approval_link(text: str) -> str:
    match = re.search(r"https?://[^/\s]+(/programme/approvals/\d+)", text)
    assert match, text
    return match.group(1)


def status_of(event: ProgrammeEvent, person: Employee) -> RegistrationStatus | None:
    return db.session.scalar(
        sa.select(ProgrammeRegistration.status).where(
            ProgrammeRegistration.event_id == event.id,
            ProgrammeRegistration.employee_id == person.id,
        )
    )


def test_the_managers_get_a_mail_with_a_link_and_the_employee_one_on_approval(client, smtp_server):
    event, boss, deputy, mona = team()
    bystander = factories.employee(unit=factories.unit("Järfälla", Sector.SCHOOL, "Skolan"))
    client.sign_in(mona)
    client.post_form(f"/programme/events/{event.id}/signup")
    assert status_of(event, mona) == RegistrationStatus.PENDING

    outbox.deliver_outbox(db.session)
    (to_boss,) = smtp_server.to(boss.email)
    (to_deputy,) = smtp_server.to(deputy.email)
    assert smtp_server.to(bystander.email) == []
    assert subject_of(to_boss) == (
        "Godkänn eller avslå: Mona Medarbetare vill gå på Barn som upplever våld"
    )
    assert "Mona Medarbetare har anmält sig till Barn som upplever våld" in mail_text(to_boss)
    link = approval_link(mail_text(to_boss))
    assert link in mail_html(to_boss) and link == approval_link(mail_text(to_deputy))
    # Mona heard that her sign-up waits, without an invitation yet.
    (waits,) = smtp_server.to(mona.email)
    assert subject_of(waits).startswith("Din anmälan väntar på chefens godkännande")

    client.sign_in(boss)
    page = client.get(link).get_data(as_text=True)
    assert "Mona Medarbetare" in page and "Barn som upplever våld" in page
    assert 'value="approve"' in page
    response = client.post_form(link, {"decision": "approve"})
    assert response.status_code == 302 and response.location == link
    assert status_of(event, mona) == RegistrationStatus.CONFIRMED
    assert "Mona Medarbetare har en plats" in client.get(link).get_data(as_text=True)

    outbox.deliver_outbox(db.session)
    waits_and_decision = smtp_server.to(mona.email)
    assert len(waits_and_decision) == 2
    decision = waits_and_decision[-1]
    assert subject_of(decision) == "Din chef har godkänt anmälan: Barn som upplever våld"
    (attachment,) = [p for p in decision.walk() if p.get_content_type() == "text/calendar"]
    assert attachment.get_param("method") == "REQUEST"
    assert Calendar.from_ical(attachment.get_payload(decode=True)).walk("VEVENT")

    # The deputy's link now says it is decided; deciding again is refused.
    client.sign_in(deputy)
    response = client.post_form(link, {"decision": "decline"})
    assert response.status_code == 422
    assert "Anmälan väntar inte på godkännande." in response.get_data(as_text=True)
    assert status_of(event, mona) == RegistrationStatus.CONFIRMED


def test_a_declined_sign_up_mails_the_employee_and_frees_the_place(client, smtp_server):
    event, boss, _deputy, mona = team()
    (waiting,) = [factories.employee(unit=mona.unit, email="nästa@jarfalla.example")]
    signups.sign_up(db.session, mona, event, mona)
    signups.sign_up(db.session, boss, event, waiting)  # the one place is held for Mona
    db.session.commit()
    assert status_of(event, waiting) == RegistrationStatus.WAITING
    registration = signups.my_registration(db.session, mona, event.id)
    assert registration is not None

    client.sign_in(boss)
    response = client.post_form(f"/programme/approvals/{registration.id}", {"decision": "decline"})
    assert response.status_code == 302
    assert status_of(event, mona) == RegistrationStatus.CANCELLED
    assert status_of(event, waiting) == RegistrationStatus.CONFIRMED

    outbox.deliver_outbox(db.session)
    (decision,) = [
        mail
        for mail in smtp_server.to(mona.email)
        if subject_of(mail) == "Din chef godkände inte anmälan: Barn som upplever våld"
    ]
    assert [p for p in decision.walk() if p.get_content_type() == "text/calendar"] == []


def test_only_the_employees_managers_open_the_approval_page(client):
    event, boss, _deputy, mona = team()
    signups.sign_up(db.session, mona, event, mona)
    db.session.commit()
    registration = signups.my_registration(db.session, mona, event.id)
    assert registration is not None
    school = factories.unit("Järfälla", Sector.SCHOOL, "Skolan")
    other_manager = factories.with_role(
        factories.employee(unit=school), Role.MANAGER, on_unit=school
    )
    hr = factories.hr_staff("Järfälla")
    url = f"/programme/approvals/{registration.id}"
    for person in (mona, other_manager, hr, factories.admin()):
        client.sign_in(person)
        assert client.get(url).status_code == 404, person
        assert client.post_form(url, {"decision": "approve"}).status_code == 404
    assert status_of(event, mona) == RegistrationStatus.PENDING
    client.sign_in(boss)
    assert client.get(url).status_code == 200


def test_the_approval_mail_goes_once_per_sign_up(client):
    event, boss, _deputy, mona = team()

    def to_boss() -> int:
        return len(
            db.session.scalars(
                sa.select(OutboxMessage).where(
                    OutboxMessage.recipient_id == boss.id,
                    OutboxMessage.kind == "programme_approval",
                )
            ).all()
        )

    signups.sign_up(db.session, mona, event, mona)
    db.session.commit()
    registration = signups.my_registration(db.session, mona, event.id)
    assert registration is not None
    assert signups.ask_approvers(db.session, registration) == 0  # queued already
    assert to_boss() == 1
    # Cancelled and signed up again: a new sign-up, a new question.
    signups.cancel(db.session, mona, registration)
    signups.sign_up(db.session, mona, event, mona)
    db.session.commit()
    assert to_boss() == 2
    # A sign-up by the manager needs no approval and asks nobody.
    other = factories.employee(unit=mona.unit, email="annan@jarfalla.example")
    second = factories.programme_event(title="Heder", requires_approval=True)
    signups.sign_up(db.session, boss, second, other)
    db.session.commit()
    assert to_boss() == 2


def test_moving_up_the_waiting_list_of_an_approval_event_waits_for_the_manager(client):
    event, boss, _deputy, mona = team()
    first = factories.employee(unit=mona.unit, email="forst@jarfalla.example")
    signups.sign_up(db.session, boss, event, first)  # the manager's sign-up: a place
    signups.sign_up(db.session, mona, event, mona)  # full: Mona waits
    db.session.commit()
    assert status_of(event, mona) == RegistrationStatus.WAITING
    registration = signups.my_registration(db.session, first, event.id)
    assert registration is not None

    signups.cancel(db.session, first, registration)
    db.session.commit()

    assert status_of(event, mona) == RegistrationStatus.PENDING  # the place is held for her
    asked = db.session.scalars(
        sa.select(OutboxMessage.recipient_id).where(OutboxMessage.kind == "programme_approval")
    ).all()
    assert boss.id in asked
    subjects = db.session.scalars(
        sa.select(OutboxMessage.subject)
        .where(OutboxMessage.recipient_id == mona.id)
        .order_by(OutboxMessage.id)
    ).all()
    assert subjects[-1].startswith("Din anmälan väntar på chefens godkännande")
