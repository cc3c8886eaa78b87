"""Signing in and out, invitations, forgotten passwords and the language switch (issue #2),
as a person meets them: through the pages and the mails that really arrive."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import Message

import argon2
import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from werkzeug.test import TestResponse

import config
from tests import factories
from tests.conftest import Client, MailCatcher, count, mail_html, mail_text, subject_of
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Employee, OutboxMessage
from training_tracker.services.messaging import outbox
from training_tracker.services.people import accounts

WRONG_CREDENTIALS = "Fel e-postadress eller lösenord."
CSRF_MESSAGE = (
    "Formuläret hade gått ut eller saknade sin säkerhetskod. Ladda om sidan och försök igen; "
    "inget har sparats."
)
TOO_MANY_ATTEMPTS = "För många försök på kort tid. Vänta en stund och försök sedan igen."
INVITATION_SUBJECT = "Välj lösenord till utbildningsuppföljningen"
TOO_SHORT = "Lösenordet måste ha minst 12 tecken."
TOO_COMMON = "Lösenordet är för vanligt och lätt att gissa. Välj ett annat."
NOT_THE_SAME = "Lösenorden är inte lika."
PASSWORD_SAVED = "Ditt lösenord är sparat och du är inloggad."
INVITATION_USED = (
    "Inbjudningslänken har redan använts. Logga in med ditt lösenord, eller välj "
    "”Glömt lösenordet?”."
)
INVITATION_EXPIRED = "Inbjudningslänken har gått ut. Be HR att skicka en ny inbjudan."
INVITATION_INVALID = "Inbjudningslänken är ogiltig. Kontrollera att hela länken kom med."
RESET_LINK_SENT = (
    "Om adressen hör till ett konto har vi skickat en länk för att välja nytt lösenord. "
    "Länken gäller i 60 minuter."
)
RESET_USED = "Länken har redan använts. Begär en ny länk om du behöver."
SIGNED_OUT = "Du är utloggad."
NEW_PASSWORD = "blåbärssoppa-i-vasaloppet"
# A CSRF token as the page carries it; it is signed with the second it was made in.
SIGNED_TOKEN = re.compile(r'"[\w-]{20,}\.[\w-]+\.[\w-]+"')


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture()
def other_client(app: Flask, client: Client) -> Client:
    """A second browser, for the same person signed in on another device."""
    return app.test_client()  # type: ignore[return-value]


def page_text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def is_signed_in(client: Client) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def link_path(text: str, app: Flask, prefix: str) -> str:
    """The path of the first link in ``text`` that starts with BASE_URL + ``prefix``."""
    base = app.config["BASE_URL"].rstrip("/")
    match = re.search(re.escape(base + prefix) + r"[\w.-]+", text)
    assert match, f"no {base}{prefix}… link in:\n{text}"
    return match.group(0).removeprefix(base)


def invite(person: Employee) -> None:
    assert accounts.queue_invitation(db.session, person, actor=None)
    db.session.commit()


def delivered_mail(smtp_server: MailCatcher, person: Employee) -> Message:
    """Deliver the outbox to the SMTP server and return the one mail that arrived for
    ``person``."""
    outbox.deliver_outbox(db.session)
    [mail] = smtp_server.to(person.email)
    return mail


def delivered_link(app: Flask, smtp_server: MailCatcher, person: Employee, prefix: str) -> str:
    """The path of the link in the mail that arrived for ``person``, as they would click it."""
    return link_path(mail_text(delivered_mail(smtp_server, person)), app, prefix)


@pytest.fixture()
def invitee() -> Employee:
    """A new hire without a password yet."""
    return factories.employee(
        email="karin.lind@jarfalla.example", first_name="Karin", password=None
    )


@pytest.fixture()
def invitation_path(app: Flask, invitee: Employee, smtp_server: MailCatcher) -> str:
    invite(invitee)
    return delivered_link(app, smtp_server, invitee, "/invitation/")


def choose_password(
    client: Client, path: str, password: str, confirm: str | None = None
) -> TestResponse:
    return client.post_form(path, {"password": password, "confirm": confirm or password})


# --- signing in ------------------------------------------------------------------------------


def test_sign_in_with_email_in_any_case_lands_on_start_page_that_greets_the_person(
    client: Client,
) -> None:
    factories.employee(email="karin.lind@jarfalla.example", first_name="Karin")

    response = client.post_form(
        "/login", {"email": "Karin.LIND@Jarfalla.Example", "password": factories.PASSWORD}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    start = client.get("/")
    assert start.status_code == 200
    assert "Hej Karin" in page_text(start)


def test_sign_in_records_when_the_person_last_signed_in(client: Client) -> None:
    person = factories.employee()

    with time_machine.travel(datetime(2025, 3, 4, 8, 30, tzinfo=UTC), tick=False):
        client.sign_in(person)

    db.session.refresh(person)
    assert person.last_login_at == datetime(2025, 3, 4, 8, 30)


def test_sign_in_is_audited_as_auth_login(client: Client) -> None:
    person = factories.employee()

    client.sign_in(person)

    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.login"))
    assert [(e.actor_id, e.subject_employee_id) for e in events] == [(person.id, person.id)]


def test_wrong_password_is_refused_with_401_and_a_swedish_message(client: Client) -> None:
    person = factories.employee()

    response = client.post_form("/login", {"email": person.email, "password": "fel-lösenord"})

    assert response.status_code == 401
    assert WRONG_CREDENTIALS in page_text(response)
    assert not is_signed_in(client)


def test_unknown_email_gets_exactly_the_same_answer_as_a_wrong_password(
    client: Client,
) -> None:
    """Nothing in the answer tells whether the address has an account."""
    person = factories.employee(email="finns@jarfalla.example")
    token = client.csrf_token()

    def attempt(email: str) -> tuple[int, str]:
        response = client.post_form(
            "/login", {"email": email, "password": "fel-lösenord", "csrf_token": token}
        )
        text = page_text(response).replace(email, "EMAIL")
        return response.status_code, SIGNED_TOKEN.sub('"TOKEN"', text)

    unknown_email = attempt("saknas@jarfalla.example")
    wrong_password = attempt(person.email)

    assert unknown_email == wrong_password
    assert unknown_email[0] == 401
    assert WRONG_CREDENTIALS in unknown_email[1]


def test_inactive_employee_cannot_sign_in(client: Client) -> None:
    person = factories.employee(active=False)

    response = client.post_form("/login", {"email": person.email, "password": factories.PASSWORD})

    assert response.status_code == 401
    assert WRONG_CREDENTIALS in page_text(response)
    assert not is_signed_in(client)


def test_a_leaver_is_signed_out_on_their_end_date_before_the_nightly_job_runs(
    client: Client,
) -> None:
    person = factories.employee()
    person.end_date = datetime(2026, 3, 31).date()
    db.session.commit()
    with time_machine.travel(datetime(2026, 3, 30, 12, tzinfo=UTC), tick=False):
        client.sign_in(person)
        assert client.get("/").status_code == 200
    with time_machine.travel(datetime(2026, 3, 31, 8, tzinfo=UTC), tick=False):
        # The session ends with the employment.
        assert client.get("/").location.startswith("/login")
        response = client.post_form(
            "/login", {"email": person.email, "password": factories.PASSWORD}
        )
        assert response.status_code == 401
    assert db.session.get(Employee, person.id).active  # the job has not run: still the flag


def test_employee_without_a_password_cannot_sign_in(client: Client) -> None:
    person = factories.employee(password=None)

    response = client.post_form("/login", {"email": person.email, "password": factories.PASSWORD})

    assert response.status_code == 401
    assert WRONG_CREDENTIALS in page_text(response)
    assert not is_signed_in(client)


def test_sign_in_without_csrf_token_is_refused_and_signs_nobody_in(client: Client) -> None:
    person = factories.employee()

    response = client.post("/login", data={"email": person.email, "password": factories.PASSWORD})

    assert response.status_code == 400
    assert CSRF_MESSAGE in page_text(response)
    assert not is_signed_in(client)
    assert client.get("/").headers["Location"].startswith("/login")


def test_too_many_sign_in_attempts_are_refused_even_with_the_right_password(
    app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    person = factories.employee()
    for _ in range(3):
        wrong = client.post_form("/login", {"email": person.email, "password": "gissning-1234"})
        assert wrong.status_code == 401

    response = client.post_form("/login", {"email": person.email, "password": factories.PASSWORD})

    assert response.status_code == 429
    assert "För många försök" in page_text(response)
    assert TOO_MANY_ATTEMPTS in page_text(response)
    assert not is_signed_in(client)


def test_too_many_attempts_on_one_account_are_refused_from_any_address(
    app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    person = factories.employee()
    token = client.csrf_token()

    def attempt_from(address: str) -> int:
        return client.post(
            "/login",
            data={"email": person.email, "password": "gissning-1234", "csrf_token": token},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    assert [attempt_from(f"192.0.2.{n}") for n in range(1, 5)] == [401, 401, 401, 429]


def test_the_configured_limit_allows_ten_attempts_a_minute(client: Client) -> None:
    person = factories.employee()
    token = client.csrf_token()
    statuses = [
        client.post_form(
            "/login", {"email": person.email, "password": "gissning-1234", "csrf_token": token}
        ).status_code
        for _ in range(11)
    ]

    assert statuses == [401] * 10 + [429]


def test_sign_in_starts_a_new_session(client: Client) -> None:
    person = factories.employee()
    token = client.csrf_token()
    with client.session_transaction() as session:
        session["planted"] = "by-someone-else"
    cookie_before = client.get_cookie("session").value

    client.post_form(
        "/login", {"email": person.email, "password": factories.PASSWORD, "csrf_token": token}
    )

    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session
    assert client.get_cookie("session").value != cookie_before


def test_signed_in_person_visiting_login_goes_to_the_start_page(client: Client) -> None:
    client.sign_in(factories.employee())

    response = client.get("/login")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- next= -----------------------------------------------------------------------------------


def test_sign_in_follows_next_to_a_local_path(client: Client) -> None:
    person = factories.employee()

    response = client.post_form(
        "/login?next=/healthz", {"email": person.email, "password": factories.PASSWORD}
    )

    assert response.headers["Location"] == "/healthz"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"],
)
def test_sign_in_never_follows_next_to_another_site(client: Client, target: str) -> None:
    person = factories.employee()

    response = client.post_form(
        "/login",
        {"email": person.email, "password": factories.PASSWORD},
        query_string={"next": target},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- signing out -----------------------------------------------------------------------------


def test_logout_signs_out_and_says_so(client: Client) -> None:
    client.sign_in(factories.employee())

    response = client.post_form("/logout")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert SIGNED_OUT in page_text(client.get("/login"))
    assert client.get("/").headers["Location"].startswith("/login")


def test_logout_ends_every_session_of_the_account(client: Client, other_client: Client) -> None:
    person = factories.employee()
    client.sign_in(person)
    other_client.sign_in(person)
    assert other_client.get("/").status_code == 200

    client.post_form("/logout")

    response = other_client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_logout_by_get_is_not_allowed(client: Client) -> None:
    client.sign_in(factories.employee())

    response = client.get("/logout")

    assert response.status_code == 405
    assert client.get("/").status_code == 200


# --- invitation ------------------------------------------------------------------------------


def test_invitation_is_queued_in_the_outbox(invitee: Employee) -> None:
    accounts.queue_invitation(db.session, invitee, actor=None)
    db.session.commit()

    message = db.session.scalars(sa.select(OutboxMessage)).one()
    assert (message.kind, message.recipient_email) == ("invitation", invitee.email)
    assert message.subject == INVITATION_SUBJECT


def test_inviting_twice_the_same_day_queues_one_mail(invitee: Employee) -> None:
    assert accounts.queue_invitation(db.session, invitee, actor=None) is True
    assert accounts.queue_invitation(db.session, invitee, actor=None) is False
    db.session.commit()

    assert count(OutboxMessage) == 1


def test_an_invitation_marked_beforehand_is_unmarked_when_no_mail_was_queued(
    invitee: Employee,
) -> None:
    """A new employee is marked invited in their INSERT (create_employee); should the mail
    not be queued after all, the mark is taken back rather than left without a mail."""
    assert accounts.queue_invitation(db.session, invitee, actor=None) is True
    first = invitee.invited_at
    assert first is not None
    assert accounts.queue_invitation(db.session, invitee, actor=None, marked_invited=True) is False
    assert invitee.invited_at is None
    invitee.invited_at = first
    assert accounts.queue_invitation(db.session, invitee, actor=None) is False
    assert invitee.invited_at == first  # not marked beforehand: left as it was


def test_invitation_mail_arrives_in_swedish_with_a_link_from_base_url(
    app: Flask, invitee: Employee, smtp_server: MailCatcher
) -> None:
    invite(invitee)

    mail = delivered_mail(smtp_server, invitee)

    assert smtp_server.envelopes[0][1] == ["karin.lind@jarfalla.example"]
    assert subject_of(mail) == INVITATION_SUBJECT
    text, html = mail_text(mail), mail_html(mail)
    assert "Hej Karin," in text
    assert "Hej Karin," in html
    assert 'lang="sv"' in html
    path = link_path(text, app, "/invitation/")
    link = app.config["BASE_URL"] + path
    assert link.startswith("http://127.0.0.1:5000/invitation/")
    assert f'href="{link}"' in html


def test_invitation_link_opens_the_form_to_choose_a_password(
    client: Client, invitation_path: str
) -> None:
    response = client.get(invitation_path)

    assert response.status_code == 200
    assert "Välkommen, Karin" in page_text(response)
    assert "Nytt lösenord" in page_text(response)


def test_invitation_refuses_a_short_password(client: Client, invitation_path: str) -> None:
    response = choose_password(client, invitation_path, "kort-ord")

    assert response.status_code == 422
    assert TOO_SHORT in page_text(response)
    assert not is_signed_in(client)


@pytest.mark.parametrize("common", ["password1234", "qwertyuiopas", "abcdefghijkl", "Sommar2024!!"])
def test_invitation_refuses_a_common_password(
    client: Client, invitation_path: str, common: str
) -> None:
    response = choose_password(client, invitation_path, common)

    assert response.status_code == 422
    assert TOO_COMMON in page_text(response)


def test_invitation_refuses_a_confirmation_that_differs(
    client: Client, invitation_path: str
) -> None:
    response = choose_password(client, invitation_path, NEW_PASSWORD, NEW_PASSWORD + "x")

    assert response.status_code == 422
    assert NOT_THE_SAME in page_text(response)


def test_invitation_with_a_good_password_signs_the_person_in(
    client: Client, invitation_path: str, invitee: Employee
) -> None:
    response = choose_password(client, invitation_path, NEW_PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    start = page_text(client.get("/"))
    assert PASSWORD_SAVED in start
    assert "Hej Karin" in start


def test_invitation_stores_the_password_as_argon2id(
    client: Client, invitation_path: str, invitee: Employee
) -> None:
    choose_password(client, invitation_path, NEW_PASSWORD)

    db.session.refresh(invitee)
    assert invitee.password_hash.startswith("$argon2id$")
    assert NEW_PASSWORD not in invitee.password_hash


PRODUCTION_COST = {
    "PASSWORD_HASH_TIME_COST": config.Config.PASSWORD_HASH_TIME_COST,
    "PASSWORD_HASH_MEMORY_KIB": config.Config.PASSWORD_HASH_MEMORY_KIB,
    "PASSWORD_HASH_PARALLELISM": config.Config.PASSWORD_HASH_PARALLELISM,
}


@pytest.fixture()
def production_cost(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app hashing at the cost every configuration but the suite's uses."""
    for name, value in PRODUCTION_COST.items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.extensions, "password_hashing", None)  # made again at this cost


def test_outside_the_suite_passwords_are_hashed_at_rfc_9106_cost(
    app: Flask, production_cost: None
) -> None:
    parameters = argon2.extract_parameters(accounts.hash_password(NEW_PASSWORD))

    expected = argon2.profiles.RFC_9106_LOW_MEMORY
    assert parameters.type is argon2.Type.ID
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        expected.time_cost,
        expected.memory_cost,
        expected.parallelism,
    )


def test_a_hash_of_a_lower_cost_signs_in_and_is_stored_again_at_the_configured_cost(
    app: Flask, production_cost: None
) -> None:
    person = factories.employee()  # hashed at the suite's low cost
    db.session.commit()
    assert argon2.extract_parameters(person.password_hash).memory_cost == 8

    assert accounts.authenticate(db.session, person.email, factories.PASSWORD) is person
    assert argon2.extract_parameters(person.password_hash).memory_cost == 64 * 1024
    assert accounts.authenticate(db.session, person.email, factories.PASSWORD) is person


def test_password_chosen_from_an_invitation_signs_in_later(
    client: Client, other_client: Client, invitation_path: str, invitee: Employee
) -> None:
    choose_password(client, invitation_path, NEW_PASSWORD)

    assert other_client.sign_in(invitee, NEW_PASSWORD).headers["Location"] == "/"


def test_invitation_link_works_only_once(client: Client, invitation_path: str) -> None:
    choose_password(client, invitation_path, NEW_PASSWORD)

    response = client.get(invitation_path)

    assert response.status_code == 410
    assert INVITATION_USED in page_text(response)


def test_invitation_link_works_until_just_before_it_expires(
    app: Flask, client: Client, invitee: Employee, smtp_server: MailCatcher
) -> None:
    sent = datetime.now(UTC)
    max_age = timedelta(hours=app.config["INVITATION_MAX_AGE_HOURS"])
    with time_machine.travel(sent, tick=False):
        invite(invitee)
    path = delivered_link(app, smtp_server, invitee, "/invitation/")

    with time_machine.travel(sent + max_age - timedelta(minutes=1), tick=False):
        assert client.get(path).status_code == 200


def test_invitation_link_has_expired_after_invitation_max_age(
    app: Flask, client: Client, invitee: Employee, smtp_server: MailCatcher
) -> None:
    sent = datetime.now(UTC)
    max_age = timedelta(hours=app.config["INVITATION_MAX_AGE_HOURS"])
    with time_machine.travel(sent, tick=False):
        invite(invitee)
    path = delivered_link(app, smtp_server, invitee, "/invitation/")

    with time_machine.travel(sent + max_age + timedelta(minutes=1), tick=False):
        response = client.get(path)

    assert response.status_code == 410
    assert INVITATION_EXPIRED in page_text(response)


def test_tampered_invitation_link_is_invalid(client: Client, invitation_path: str) -> None:
    payload, timestamp, signature = invitation_path.removeprefix("/invitation/").split(".")
    forged = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]

    response = client.get(f"/invitation/{payload}.{timestamp}.{forged}")

    assert response.status_code == 404
    assert INVITATION_INVALID in page_text(response)


def test_invitation_link_of_a_deactivated_employee_is_invalid(
    client: Client, invitation_path: str, invitee: Employee
) -> None:
    invitee.active = False
    db.session.commit()

    response = client.get(invitation_path)

    assert response.status_code == 404
    assert INVITATION_INVALID in page_text(response)


def test_invitation_to_an_english_speaker_is_rendered_in_english(
    smtp_server: MailCatcher,
) -> None:
    person = factories.employee(language="en", password=None)
    invite(person)

    mail = delivered_mail(smtp_server, person)

    assert '<html lang="en">' in mail_html(mail)


def test_invitation_to_an_english_speaker_is_written_in_english(
    smtp_server: MailCatcher,
) -> None:
    """Needs the compiled English catalogue (scripts/setup.sh compiles it)."""
    person = factories.employee(first_name="Sam", language="en", password=None)
    invite(person)

    mail = delivered_mail(smtp_server, person)

    assert subject_of(mail) == "Choose a password for the training tracker"
    assert "Hello Sam," in mail_text(mail)
    assert "Hello Sam," in mail_html(mail)


# --- forgotten password ----------------------------------------------------------------------


def ask_for_reset(client: Client, email: str) -> TestResponse:
    """Send the forgot-password form and close the response, as the server does once it has
    sent it: the request is acted on only then (see the test of the timing below)."""
    response = client.post_form("/password/forgot", {"email": email})
    response.close()
    return response


@pytest.mark.parametrize("email", ["finns@jarfalla.example", "saknas@jarfalla.example"])
def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(
    client: Client, email: str
) -> None:
    factories.employee(email="finns@jarfalla.example")

    response = ask_for_reset(client, email)

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert RESET_LINK_SENT in page_text(client.get("/login"))


def test_forgot_password_answers_before_anything_is_looked_up(client: Client) -> None:
    """The answer takes the same time whether or not the address has an account: it is
    given before the address is looked up, with the same statements run (none) and the same
    response; the lookup and the mail follow once the server has sent it (closes it)."""
    factories.employee(email="finns@jarfalla.example")
    token = client.csrf_token()
    answers, responses = {}, []
    for email in ("finns@jarfalla.example", "saknas@jarfalla.example"):
        executed: list[str] = []

        def seen(_conn, _cursor, statement, *_args, log=executed) -> None:  # type: ignore[no-untyped-def]
            log.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", seen)
        try:
            response = client.post("/password/forgot", data={"email": email, "csrf_token": token})
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", seen)
        answers[email] = (response.status_code, response.headers["Location"], executed)
        responses.append(response)
    assert count(OutboxMessage) == 0  # both answered, nothing queued yet
    for response in responses:
        response.close()

    assert answers["finns@jarfalla.example"] == answers["saknas@jarfalla.example"]
    messages = db.session.scalars(sa.select(OutboxMessage)).all()
    assert [m.recipient_email for m in messages] == ["finns@jarfalla.example"]


def test_forgot_password_queues_a_mail_only_for_an_active_account(client: Client) -> None:
    known = factories.employee(email="finns@jarfalla.example")
    factories.employee(email="slutat@jarfalla.example", active=False)

    for email in ["Finns@Jarfalla.example", "saknas@jarfalla.example", "slutat@jarfalla.example"]:
        ask_for_reset(client, email)

    messages = db.session.scalars(sa.select(OutboxMessage)).all()
    assert [(m.kind, m.recipient_id) for m in messages] == [("password_reset", known.id)]


def test_reset_mail_arrives_with_a_link_from_base_url(
    app: Flask, client: Client, smtp_server: MailCatcher
) -> None:
    person = factories.employee(email="finns@jarfalla.example", first_name="Karin")
    ask_for_reset(client, person.email)

    mail = delivered_mail(smtp_server, person)

    assert subject_of(mail) == "Välj nytt lösenord"
    assert "Hej Karin," in mail_text(mail)
    path = link_path(mail_text(mail), app, "/password/reset/")
    assert f'href="{app.config["BASE_URL"]}{path}"' in mail_html(mail)


@pytest.fixture()
def reset_path(app: Flask, client: Client, smtp_server: MailCatcher) -> str:
    person = factories.employee(email="finns@jarfalla.example", first_name="Karin")
    ask_for_reset(client, person.email)
    return delivered_link(app, smtp_server, person, "/password/reset/")


def test_reset_link_sets_a_new_password_and_signs_in(
    client: Client, other_client: Client, reset_path: str
) -> None:
    assert client.get(reset_path).status_code == 200

    response = choose_password(client, reset_path, NEW_PASSWORD)

    assert response.status_code == 302
    assert PASSWORD_SAVED in page_text(client.get("/"))
    person = db.session.scalars(sa.select(Employee)).one()
    assert other_client.sign_in(person, NEW_PASSWORD).status_code == 302


def test_old_password_stops_working_after_a_reset(
    client: Client, other_client: Client, reset_path: str
) -> None:
    choose_password(client, reset_path, NEW_PASSWORD)
    person = db.session.scalars(sa.select(Employee)).one()

    response = other_client.post_form(
        "/login", {"email": person.email, "password": factories.PASSWORD}
    )

    assert response.status_code == 401


def test_reset_link_works_only_once(client: Client, reset_path: str) -> None:
    choose_password(client, reset_path, NEW_PASSWORD)

    response = client.get(reset_path)

    assert response.status_code == 410
    assert RESET_USED in page_text(response)


def test_reset_ends_the_persons_other_sessions(
    app: Flask, client: Client, other_client: Client, smtp_server: MailCatcher
) -> None:
    person = factories.employee()
    other_client.sign_in(person)
    ask_for_reset(client, person.email)
    path = delivered_link(app, smtp_server, person, "/password/reset/")

    choose_password(client, path, NEW_PASSWORD)

    assert other_client.get("/").headers["Location"].startswith("/login")
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("first", "second"),
    [((10, 1), (10, 8)), ((10, 8), (10, 12)), ((10, 19), (10, 20))],
)
def test_asking_twice_within_ten_minutes_queues_one_mail(
    client: Client, first: tuple[int, int], second: tuple[int, int]
) -> None:
    person = factories.employee()

    for hour, minute in (first, second):
        with time_machine.travel(datetime(2025, 3, 4, hour, minute, tzinfo=UTC), tick=False):
            ask_for_reset(client, person.email)

    assert count(OutboxMessage) == 1


def test_asking_again_after_ten_minutes_queues_another_mail(client: Client) -> None:
    person = factories.employee()

    for minute in (1, 12):
        with time_machine.travel(datetime(2025, 3, 4, 10, minute, tzinfo=UTC), tick=False):
            ask_for_reset(client, person.email)

    assert count(OutboxMessage) == 2


# --- language --------------------------------------------------------------------------------


def test_choosing_english_sets_the_page_language(client: Client) -> None:
    assert '<html lang="sv">' in page_text(client.get("/login"))

    response = client.post_form("/language", {"language": "en", "next": "/login"})

    assert response.headers["Location"] == "/login"
    assert '<html lang="en">' in page_text(client.get("/login"))


def test_signed_in_persons_language_choice_is_stored(client: Client) -> None:
    person = factories.employee(language="sv")
    client.sign_in(person)

    client.post_form("/language", {"language": "en"})

    db.session.refresh(person)
    assert person.preferred_language == "en"
    assert '<html lang="en">' in page_text(client.get("/"))


def test_a_first_visit_to_the_start_page_lands_on_sign_in_without_a_message(
    client: Client,
) -> None:
    response = client.get("/")
    assert (response.status_code, response.location) == (302, "/login")
    page = client.get("/login").get_data(as_text=True)
    assert "flash" not in page
    assert "Logga in för att se sidan" not in page


def test_a_deep_link_says_plainly_where_signing_in_leads(client: Client) -> None:
    response = client.get("/my/report")
    assert response.location == "/login?next=%2Fmy%2Freport"
    page = client.get(response.location).get_data(as_text=True)
    message = "Logga in så kommer du till sidan du bad om."
    assert f'class="flash flash-info" role="status">{message}' in page
