"""How long a session lasts, and what ends it on the server side.

Idle timeout (``SESSION_IDLE_MINUTES``, 30 by default) and absolute timeout
(``SESSION_ABSOLUTE_HOURS``, 12) are enforced by the server from stamps in the signed session;
logout, a new password and deactivation bump the account's ``session_version`` and so end every
session of the account on every device. The clock is moved with time-machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask

from tests import factories
from tests.conftest import Client
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.services.people import accounts, employment

SIGNED_IN = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


@pytest.fixture()
def other_client(app: Flask) -> Client:
    """A second browser: the same person on another device."""
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def is_signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def at(delta: timedelta) -> time_machine.travel:
    return time_machine.travel(SIGNED_IN + delta, tick=False)


def test_defaults_are_thirty_idle_minutes_and_twelve_hours(app: Flask) -> None:
    assert app.config["SESSION_IDLE_MINUTES"] == 30
    assert app.config["SESSION_ABSOLUTE_HOURS"] == 12


def test_a_session_lasts_while_the_person_is_active_within_the_idle_limit(
    client: Client,
) -> None:
    person = factories.employee()
    with at(timedelta()):
        client.sign_in(person)
    # A request every 29 minutes for almost four hours: never idle for 30.
    for step in range(1, 8):
        with at(timedelta(minutes=29 * step)):
            assert is_signed_in(client), f"signed out after {29 * step} minutes"


def test_thirty_minutes_without_a_request_ends_the_session(client: Client) -> None:
    person = factories.employee()
    with at(timedelta()):
        client.sign_in(person)
    with at(timedelta(minutes=30, seconds=1)):
        response = client.get("/reports/?view=unit")
        assert response.status_code == 302
        assert response.location.startswith("/login?next=/reports/?view%3Dunit")
        page = client.get(response.location).get_data(as_text=True)
        assert "inte har gjort något på 30 minuter" in page
        assert not is_signed_in(client)


def test_the_session_still_lasts_at_exactly_thirty_idle_minutes(client: Client) -> None:
    person = factories.employee()
    with at(timedelta()):
        client.sign_in(person)
    with at(timedelta(minutes=30)):
        assert is_signed_in(client)


def test_the_idle_limit_is_configurable(app: Flask, client: Client) -> None:
    person = factories.employee()
    app.config["SESSION_IDLE_MINUTES"] = 5
    try:
        with at(timedelta()):
            client.sign_in(person)
        with at(timedelta(minutes=5, seconds=1)):
            assert not is_signed_in(client)
    finally:
        app.config["SESSION_IDLE_MINUTES"] = 30


def test_twelve_hours_after_sign_in_the_session_ends_however_active(client: Client) -> None:
    person = factories.employee()
    with at(timedelta()):
        client.sign_in(person)
    for minutes in range(20, 12 * 60, 20):
        with at(timedelta(minutes=minutes)):
            assert is_signed_in(client)
    with at(timedelta(hours=12, seconds=1)):
        response = client.get("/")
        assert response.location.startswith("/login")
        assert "har loggats ut" in client.get(response.location).get_data(as_text=True)


def test_after_a_timeout_signing_in_again_starts_a_fresh_session(client: Client) -> None:
    person = factories.employee()
    with at(timedelta()):
        client.sign_in(person)
    with at(timedelta(hours=13)):
        assert not is_signed_in(client)
        client.sign_in(person)
        assert is_signed_in(client)


def test_a_post_after_the_idle_limit_is_not_carried_out(client: Client) -> None:
    person = factories.employee()
    with at(timedelta()):
        client.sign_in(person)
        token = client.csrf_token()
    with at(timedelta(minutes=45)):
        response = client.post(
            "/settings/notifications", data={"csrf_token": token, "weekly_digest": "y"}
        )
        assert response.status_code == 302
        assert response.location == "/login"  # no ?next= for a form post


def test_a_session_cookie_without_stamps_is_over(client: Client) -> None:
    """A cookie from before the stamps existed (or forged without them) signs nobody in."""
    person = factories.employee()
    client.sign_in(person)
    with client.session_transaction() as session:
        session.pop("signed_in_at")
    assert not is_signed_in(client)


def test_logout_ends_the_session_on_every_device(client: Client, other_client: Client) -> None:
    person = factories.employee()
    client.sign_in(person)
    other_client.sign_in(person)
    client.post_form("/logout")
    assert not is_signed_in(other_client)


def test_a_new_password_ends_every_other_session(client: Client, other_client: Client) -> None:
    person = factories.employee()
    client.sign_in(person)
    other_client.sign_in(person)
    accounts.set_password(
        db.session, person, "a new long passphrase 42", actor=person, reason="test"
    )
    db.session.commit()
    assert not is_signed_in(client)
    assert not is_signed_in(other_client)


def test_deactivation_ends_the_persons_sessions(other_client: Client) -> None:
    """The HR edit form and the import both deactivate through ``apply_employment_dates``
    (tests/test_employees.py drives the form)."""
    person = factories.employee()
    other_client.sign_in(person)
    assert is_signed_in(other_client)
    person.end_date = clock.today()
    employment.apply_employment_dates(db.session, person, actor=None, today=clock.today())
    db.session.commit()
    assert not is_signed_in(other_client)
