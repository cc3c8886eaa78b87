"""The approval of a sign-up (issue #20): an event that asks for it mails the employee's
approvers through the outbox, with a link to a page where they approve or decline; the employee
gets a mail on the decision (with the calendar invitation when approved). The approvers are the
employee's managers or, for someone without a manager, HR of their own municipality; with
neither, the sign-up is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
import time_machine
from icalendar import Calendar

from tests import factories
from tests.conftest import count, mail_html, mail_text, subject_of
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
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


def unmanaged(municipality_name: str = "Järfälla") -> Employee:
    """Olle, in a unit nobody manages, with no manager of his own."""
    unit = factories.unit(municipality_name, Sector.SCHOOL, "Skolan utan chef")
    return factories.employee(
        unit=unit, first_name="Olle", last_name="Utanchef", email="olle@skolan.example"
    )


def test_hr_of_the_municipality_decides_for_someone_without_a_manager(client, smtp_server):
    event = factories.programme_event(requires_approval=True)
    olle = unmanaged()
    hr = factories.hr_staff("Järfälla")
    former_hr = factories.with_role(
        factories.employee(unit=hr.unit, email="slutat@jarfalla.example", active=False),
        Role.HR,
        municipality_name="Järfälla",
    )
    sigtuna_hr = factories.hr_staff("Sigtuna")
    client.sign_in(olle)
    assert "HR i Järfälla godkänner anmälan" in client.get(
        f"/programme/events/{event.id}"
    ).get_data(as_text=True)

    page = client.post_form(f"/programme/events/{event.id}/signup", follow_redirects=True)
    assert "Anmälan väntar på godkännande av HR i Järfälla." in page.get_data(as_text=True)
    assert status_of(event, olle) == RegistrationStatus.PENDING

    outbox.deliver_outbox(db.session)
    (to_hr,) = smtp_server.to(hr.email)
    assert smtp_server.to(former_hr.email) == [] and smtp_server.to(sigtuna_hr.email) == []
    assert (
        subject_of(to_hr) == "Godkänn eller avslå: Olle Utanchef vill gå på Barn som upplever våld"
    )
    assert "inte har någon chef i utbildningsuppföljningen beslutar HR i Järfälla" in mail_text(
        to_hr
    )
    assert "för att du är HR i Järfälla" in mail_text(to_hr)
    (waits,) = smtp_server.to(olle.email)
    assert subject_of(waits) == (
        "Din anmälan väntar på godkännande av HR i Järfälla: Barn som upplever våld"
    )
    link = approval_link(mail_text(to_hr))

    # HR of another municipality neither opens nor decides it.
    client.sign_in(sigtuna_hr)
    assert client.get(link).status_code == 404
    assert client.post_form(link, {"decision": "approve"}).status_code == 404
    assert status_of(event, olle) == RegistrationStatus.PENDING

    client.sign_in(hr)
    page = client.get(link).get_data(as_text=True)
    assert "Olle Utanchef har ingen chef i utbildningsuppföljningen" in page
    response = client.post_form(link, {"decision": "approve"})
    assert response.status_code == 302
    assert status_of(event, olle) == RegistrationStatus.CONFIRMED
    outbox.deliver_outbox(db.session)
    assert subject_of(smtp_server.to(olle.email)[-1]) == (
        "HR i Järfälla har godkänt anmälan: Barn som upplever våld"
    )
    assert (
        count(AuditEvent, AuditEvent.action == "programme.approved", AuditEvent.actor_id == hr.id)
        == 1
    )


def test_hr_does_not_decide_for_someone_who_has_a_manager(client):
    event, boss, deputy, mona = team()
    hr = factories.hr_staff("Järfälla")
    signups.sign_up(db.session, mona, event, mona)
    db.session.commit()
    registration = signups.my_registration(db.session, mona, event.id)
    assert registration is not None
    assert {person.id for person in signups.approvers_of(db.session, mona)} == {
        boss.id,
        deputy.id,
    }
    asked = db.session.scalars(
        sa.select(OutboxMessage.recipient_id).where(OutboxMessage.kind == "programme_approval")
    ).all()
    assert hr.id not in asked

    client.sign_in(hr)
    url = f"/programme/approvals/{registration.id}"
    assert client.get(url).status_code == 404
    assert client.post_form(url, {"decision": "approve"}).status_code == 404
    with pytest.raises(signups.SignupError, match="Bara medarbetarens chef"):
        signups.decide(db.session, hr, registration, approve=True)
    db.session.rollback()
    assert status_of(event, mona) == RegistrationStatus.PENDING


def test_hr_without_a_manager_is_decided_on_by_another_hr_never_by_themselves(client):
    event = factories.programme_event(requires_approval=True)
    hanna = factories.with_role(unmanaged(), Role.HR, municipality_name="Järfälla")
    with pytest.raises(signups.SignupError, match="ingen HR i Järfälla"):
        signups.sign_up(db.session, hanna, event, hanna)
    db.session.rollback()
    colleague = factories.hr_staff("Järfälla")
    signups.sign_up(db.session, hanna, event, hanna)
    db.session.commit()
    assert [person.id for person in signups.approvers_of(db.session, hanna)] == [colleague.id]


def test_a_sign_up_nobody_could_decide_on_is_refused_and_nothing_is_stored(client):
    """Olle has no manager and Sigtuna no HR: rather than wait for nobody, the sign-up is
    refused with the reason. A sign-up that needs no approval is not affected."""
    event = factories.programme_event(capacity=1, requires_approval=True)
    olle = unmanaged("Sigtuna")
    factories.hr_staff("Järfälla")  # HR of another municipality does not count
    client.sign_in(olle)

    page = client.post_form(f"/programme/events/{event.id}/signup", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert (
        "Evenemanget kräver godkännande, men ingen kan godkänna din anmälan: du har ingen chef "
        "i utbildningsuppföljningen och det finns ingen HR i Sigtuna." in text
    )
    assert status_of(event, olle) is None
    assert count(OutboxMessage) == 0
    assert count(AuditEvent, AuditEvent.action == "programme.signed_up") == 0

    # Nor onto the waiting list of a full event, where moving up would wait for nobody.
    _other_event, boss, _deputy, mona = team()
    signups.sign_up(db.session, boss, event, mona)  # the one place
    db.session.commit()
    with pytest.raises(signups.SignupError, match="ingen HR i Sigtuna"):
        signups.sign_up(db.session, olle, event, olle)
    db.session.rollback()
    assert status_of(event, olle) is None

    without_approval = factories.programme_event(title="Öppen föreläsning")
    signups.sign_up(db.session, olle, without_approval, olle)
    db.session.commit()
    assert status_of(without_approval, olle) == RegistrationStatus.CONFIRMED
