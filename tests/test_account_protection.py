"""Nobody takes over an account that reaches further than their own (issue #15, point 1).

HR of Järfälla may change the e-mail address, end date or status of the people of Järfälla
whose roles lie within HR's reach, and of nobody else; only an admin changes the others. The
same rule holds in the person form and in the HR import. Any change of e-mail tells the old
address, ends every session of the account, and stops every link sent before; mails still
queued go to the new address, except the notice itself.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from tests import factories
from tests.conftest import Client, MailCatcher, count, mail_text, subject_of
from tests.test_employees import edit_data
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    Employee,
    OutboxMessage,
    OutboxStatus,
    Role,
    Sector,
)
from training_tracker.services.imports.applying import apply_import
from training_tracker.services.imports.parsing import parse_employee_file
from training_tracker.services.imports.planning import plan_import
from training_tracker.services.messaging import outbox
from training_tracker.services.people import accounts
from training_tracker.services.people.accounts import TokenPurpose

REFUSED = "hen har en roll som når längre än din egen"
NOTICE_SUBJECT = "Din e-postadress i utbildningsuppföljningen har ändrats"


@pytest.fixture()
def hr() -> Employee:
    return factories.hr_staff("Järfälla")


@pytest.fixture()
def other_client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def colleague(email: str, *grants: tuple[Role, str | None, str | None]) -> Employee:
    """Someone employed in Järfälla holding ``grants`` (role, municipality, unit name)."""
    person = factories.employee(
        unit=factories.unit("Järfälla", Sector.OTHER, "Kansliet"), email=email
    )
    for role, municipality, unit_name in grants:
        on_unit = (
            factories.unit(municipality or "Järfälla", Sector.OTHER, unit_name)
            if unit_name
            else None
        )
        factories.with_role(
            person, role, municipality_name=None if on_unit else municipality, on_unit=on_unit
        )
    return person


# Beyond HR of Järfälla: an admin, the region, another municipality's HR or coordinator, a
# manager of a unit elsewhere, or simply a role HR does not hold (a coordinator or a manager of
# Järfälla itself); or one of those beside HR of Järfälla.
WIDER = {
    "admin": [(Role.ADMIN, None, None)],
    "regional coordinator": [(Role.COORDINATOR, None, None)],
    "HR of Sigtuna": [(Role.HR, "Sigtuna", None)],
    "coordinator of Sigtuna": [(Role.COORDINATOR, "Sigtuna", None)],
    "manager in Sigtuna": [(Role.MANAGER, "Sigtuna", "IFO Sigtuna")],
    "HR of Järfälla and of Sigtuna": [(Role.HR, "Järfälla", None), (Role.HR, "Sigtuna", None)],
    "coordinator of Järfälla": [(Role.COORDINATOR, "Järfälla", None)],
    "manager in Järfälla": [(Role.MANAGER, "Järfälla", "IFO Järfälla")],
}
# Within HR of Järfälla's reach: no role, or the very role HR holds.
WITHIN = {
    "no role": [],
    "HR colleague": [(Role.HR, "Järfälla", None)],
}
GUARDED_CHANGES = {
    "e-mail": {"email": "ny.adress@angripare.example"},
    "end date ahead": {"end_date": (clock.today() + timedelta(days=30)).isoformat()},
    "deactivation": {"end_date": (clock.today() - timedelta(days=1)).isoformat()},
}


def unchanged(person: Employee, email: str) -> bool:
    db.session.refresh(person)
    return person.email == email and person.end_date is None and person.active


# --- the person form --------------------------------------------------------------------------


@pytest.mark.parametrize("change", GUARDED_CHANGES)
@pytest.mark.parametrize("holder", WIDER)
def test_hr_cannot_change_email_end_date_or_status_of_someone_reaching_further(
    client: Client, hr: Employee, holder: str, change: str
) -> None:
    person = colleague("mal@jarfalla.example", *WIDER[holder])
    client.sign_in(hr)

    response = client.post_form(
        f"/employees/{person.id}/edit", edit_data(person, **GUARDED_CHANGES[change])
    )

    assert response.status_code == 422
    assert REFUSED in response.get_data(as_text=True)
    assert unchanged(person, "mal@jarfalla.example")
    assert count(OutboxMessage) == 0


@pytest.mark.parametrize("holder", WITHIN)
def test_hr_changes_email_and_end_date_of_someone_within_their_reach(
    client: Client, hr: Employee, holder: str
) -> None:
    person = colleague("inom@jarfalla.example", *WITHIN[holder])
    client.sign_in(hr)
    ahead = clock.today() + timedelta(days=30)

    response = client.post_form(
        f"/employees/{person.id}/edit",
        edit_data(person, email="inom.ny@jarfalla.example", end_date=ahead.isoformat()),
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(person)
    assert (person.email, person.end_date) == ("inom.ny@jarfalla.example", ahead)


def test_other_fields_of_someone_reaching_further_stay_hrs_to_change(
    client: Client, hr: Employee
) -> None:
    person = colleague("mal@jarfalla.example", (Role.ADMIN, None, None))
    client.sign_in(hr)

    response = client.post_form(f"/employees/{person.id}/edit", edit_data(person, last_name="Ek"))

    assert response.status_code == 302
    db.session.refresh(person)
    assert person.last_name == "Ek"


@pytest.mark.parametrize("holder", WIDER)
def test_an_admin_changes_anyone(client: Client, holder: str) -> None:
    person = colleague("mal@jarfalla.example", *WIDER[holder])
    client.sign_in(factories.admin())

    response = client.post_form(
        f"/employees/{person.id}/edit", edit_data(person, email="ny@jarfalla.example")
    )

    assert response.status_code == 302
    db.session.refresh(person)
    assert person.email == "ny@jarfalla.example"


# --- the HR import ----------------------------------------------------------------------------

HEADER = "Förnamn;Efternamn;E-post;Kommun;Enhet;Sektor;Anställningsnummer;Slutdatum\n"


def import_row(person: Employee, *, email: str | None = None, end: str = "") -> bytes:
    line = (
        f"{person.first_name};{person.last_name};{email or person.email};Järfälla;Kansliet;"
        f"Övrigt;{person.employee_number};{end}\n"
    )
    return (HEADER + line).encode()


def planned(data: bytes, user: Employee | None):  # type: ignore[no-untyped-def]
    return plan_import(db.session, parse_employee_file(data, "personal.csv"), user=user)


@pytest.mark.parametrize("change", ["email", "end"])
@pytest.mark.parametrize("holder", WIDER)
def test_the_import_rejects_the_row_that_would_change_someone_reaching_further(
    hr: Employee, holder: str, change: str
) -> None:
    person = colleague("mal@jarfalla.example", *WIDER[holder])
    data = (
        import_row(person, email="ny.adress@angripare.example")
        if change == "email"
        else import_row(person, end=(clock.today() - timedelta(days=1)).isoformat())
    )

    plan = planned(data, hr)

    assert plan.rows == []
    [problem] = plan.problems
    assert problem.line == 2
    assert "personen har en roll som når längre än din" in problem.message
    apply_import(db.session, plan, actor=hr)
    db.session.commit()
    assert unchanged(person, "mal@jarfalla.example")


@pytest.mark.parametrize("holder", WITHIN)
def test_the_import_changes_someone_within_hrs_reach(hr: Employee, holder: str) -> None:
    person = colleague("inom@jarfalla.example", *WITHIN[holder])

    plan = planned(import_row(person, email="inom.ny@jarfalla.example"), hr)

    assert plan.problems == [] and plan.updated == 1


@pytest.mark.parametrize("user", ["admin", "command line"])
def test_an_admin_or_the_command_line_imports_changes_to_anyone(user: str) -> None:
    person = colleague("mal@jarfalla.example", (Role.ADMIN, None, None))
    actor = factories.admin() if user == "admin" else None

    plan = planned(import_row(person, email="ny@jarfalla.example"), actor)

    assert plan.problems == [] and plan.updated == 1


def test_the_web_import_shows_the_refused_row_with_its_reason(client: Client, hr: Employee) -> None:
    person = colleague("mal@jarfalla.example", (Role.COORDINATOR, None, None))
    client.sign_in(hr)
    data = import_row(person, email="ny.adress@angripare.example")

    response = client.post_form(
        "/employees/import/",
        {"file": (io.BytesIO(data), "personal.csv")},
        content_type="multipart/form-data",
    )
    page = client.get(response.location).get_data(as_text=True)

    assert "personen har en roll som når längre än din (Samordnare, hela regionen)" in page


# --- what follows any change of e-mail --------------------------------------------------------


def test_the_old_address_is_told_what_changed_by_whom_and_whom_to_contact(
    client: Client, hr: Employee, smtp_server: MailCatcher
) -> None:
    person = colleague("gammal@jarfalla.example")
    client.sign_in(hr)

    client.post_form(f"/employees/{person.id}/edit", edit_data(person, email="ny@jarfalla.example"))
    outbox.deliver_outbox(db.session)

    [notice] = smtp_server.to("gammal@jarfalla.example")
    assert subject_of(notice) == NOTICE_SUBJECT
    text = " ".join(mail_text(notice).split())
    assert "har ändrats från gammal@jarfalla.example till ny@jarfalla.example" in text
    assert f"av {hr.full_name} ({hr.email})" in text
    assert f"Kontakta {hr.full_name} på {hr.email} eller HR i Järfälla" in text
    assert smtp_server.to("ny@jarfalla.example") == []


def test_the_notice_is_in_the_persons_language(hr: Employee, smtp_server: MailCatcher) -> None:
    person = colleague("old@jarfalla.example")
    person.preferred_language = "en"
    db.session.commit()

    planned_import = planned(import_row(person, email="new@jarfalla.example"), hr)
    apply_import(db.session, planned_import, actor=hr)
    db.session.commit()
    outbox.deliver_outbox(db.session)

    [notice] = smtp_server.to("old@jarfalla.example")
    assert subject_of(notice) == "Your e-mail address in the training tracker has changed"
    assert "through an import from the HR system" in mail_text(notice)


def test_the_old_session_ends_with_an_email_change(
    client: Client, other_client: Client, hr: Employee
) -> None:
    person = colleague("gammal@jarfalla.example")
    other_client.sign_in(person)
    assert other_client.get("/").status_code == 200
    client.sign_in(hr)

    client.post_form(f"/employees/{person.id}/edit", edit_data(person, email="ny@jarfalla.example"))

    assert other_client.get("/").headers["Location"].startswith("/login")


def test_the_import_ends_sessions_and_tells_the_old_address_too(hr: Employee) -> None:
    person = colleague("gammal@jarfalla.example")
    version = person.session_version

    apply_import(db.session, planned(import_row(person, email="ny@jarfalla.example"), hr), actor=hr)
    db.session.commit()

    db.session.refresh(person)
    assert person.session_version > version
    [notice] = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "email_changed")
    ).all()
    assert notice.recipient_email == "gammal@jarfalla.example"
    assert count(AuditEvent, AuditEvent.action == "account.email_changed") == 1


@pytest.mark.parametrize(
    ("purpose", "path"),
    [(TokenPurpose.PASSWORD_RESET, "/password/reset/"), (TokenPurpose.INVITATION, "/invitation/")],
)
def test_a_link_sent_before_the_change_no_longer_works(
    client: Client, other_client: Client, hr: Employee, purpose: TokenPurpose, path: str
) -> None:
    person = colleague("gammal@jarfalla.example")
    token = accounts.make_token(person, purpose)
    assert other_client.get(path + token).status_code == 200
    client.sign_in(hr)

    client.post_form(f"/employees/{person.id}/edit", edit_data(person, email="ny@jarfalla.example"))

    response = other_client.get(path + token)
    assert response.status_code == 410
    assert "e-postadressen på kontot har ändrats" in response.get_data(as_text=True)
    db.session.refresh(person)
    assert other_client.get(path + accounts.make_token(person, purpose)).status_code == 200


def test_a_queued_reminder_goes_to_the_new_address(
    client: Client, hr: Employee, smtp_server: MailCatcher
) -> None:
    person = colleague("gammal@jarfalla.example")
    factories.outbox_message(person, kind="reminder")
    client.sign_in(hr)

    client.post_form(f"/employees/{person.id}/edit", edit_data(person, email="ny@jarfalla.example"))
    outbox.deliver_outbox(db.session)

    [reminder] = smtp_server.to("ny@jarfalla.example")
    assert subject_of(reminder) == "Påminnelse: Webbkurs om våld"
    assert [subject_of(m) for m in smtp_server.to("gammal@jarfalla.example")] == [NOTICE_SUBJECT]
    sent = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
    assert sent.one().recipient_email == "ny@jarfalla.example"  # the row shows where it went


def test_a_queued_reset_mail_is_stopped_and_a_queued_invitation_rewritten(
    app: Flask, client: Client, other_client: Client, hr: Employee, smtp_server: MailCatcher
) -> None:
    person = colleague("gammal@jarfalla.example")
    person.password_hash = None
    db.session.commit()
    accounts.queue_invitation(db.session, person, actor=hr)
    accounts.request_password_reset(db.session, person.email)
    db.session.commit()
    client.sign_in(hr)

    client.post_form(f"/employees/{person.id}/edit", edit_data(person, email="ny@jarfalla.example"))
    outbox.deliver_outbox(db.session)

    reset = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "password_reset")
    ).one()
    assert reset.status == OutboxStatus.CANCELLED
    [invitation] = smtp_server.to("ny@jarfalla.example")
    base = app.config["BASE_URL"].rstrip("/")
    link = next(w for w in mail_text(invitation).split() if w.startswith(base + "/invitation/"))
    assert other_client.get(link.removeprefix(base)).status_code == 200


def test_an_end_date_an_admin_set_still_lets_the_import_run_when_it_comes(hr: Employee) -> None:
    person = colleague("mal@jarfalla.example", (Role.ADMIN, None, None))
    person.end_date = clock.today() - timedelta(days=1)  # set by an admin; the day has come
    db.session.commit()

    plan = planned(import_row(person, end=person.end_date.isoformat()), hr)

    assert plan.problems == [] and plan.leavers == 1
