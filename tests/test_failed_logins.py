"""Failed sign-ins are audited (issue #15, point 7), with their own bound on growth: one event
an hour per account (one for addresses without an account) counts the attempts, and the
nightly retention job deletes them after FAILED_LOGIN_KEEP_DAYS. No password, no address
without an account, no client address is kept. The audit log's scope applies as to any event
about a person."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from tests import factories
from tests.conftest import Client
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Employee, Sector
from training_tracker.services.compliance.retention import apply_retention
from training_tracker.services.core import audit_trail
from training_tracker.services.core.scope import audit_event_scope

ACTION = "auth.login_failed"
WRONG = "gissning-1234"
UNKNOWN = "okand.person@annanstans.example"


def failures() -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == ACTION).order_by(AuditEvent.id)
        )
    )


def attempt(client: Client, email: str, password: str = WRONG, csrf_token: str = "") -> int:
    data = {"email": email, "password": password}
    if csrf_token:  # one token for many attempts, instead of a page load each
        data["csrf_token"] = csrf_token
    return client.post_form("/login", data).status_code


@pytest.fixture()
def lisa() -> Employee:
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    return factories.employee(
        unit=ifo, first_name="Lisa", last_name="Berg", email="lisa.berg@jarfalla.example"
    )


@pytest.fixture()
def unlimited(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sign-in rate limits out of the way, to make many attempts."""
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "100000 per minute")


# --- what is recorded ------------------------------------------------------------------------


def test_a_failed_sign_in_is_audited_about_the_account_and_keeps_no_password(
    client: Client, lisa: Employee
) -> None:
    assert attempt(client, "Lisa.Berg@Jarfalla.example", "hemligt-lösen-123") == 401

    [event] = failures()
    assert (event.actor_id, event.subject_employee_id) == (None, lisa.id)
    assert event.details["attempts"] == 1
    stored = json.dumps(event.details, ensure_ascii=False)
    assert "hemligt-lösen-123" not in stored
    assert "127.0.0.1" not in stored


def test_a_failed_sign_in_with_an_unknown_address_keeps_no_address(client: Client) -> None:
    assert attempt(client, UNKNOWN) == 401

    [event] = failures()
    assert (event.actor_id, event.subject_employee_id, event.object_id) == (None, None, None)
    assert event.details["attempts"] == 1
    assert "annanstans" not in json.dumps(event.details)


def test_a_sign_in_that_succeeds_records_no_failure(client: Client, lisa: Employee) -> None:
    client.sign_in(lisa)

    assert failures() == []


def test_an_inactive_account_or_one_without_a_password_is_audited_too(client: Client) -> None:
    gone = factories.employee(active=False)
    invited = factories.employee(password=None)

    attempt(client, gone.email, factories.PASSWORD)
    attempt(client, invited.email, factories.PASSWORD)

    assert {event.subject_employee_id for event in failures()} == {gone.id, invited.id}


# --- the bound on growth ---------------------------------------------------------------------


def test_many_attempts_within_an_hour_make_one_event_per_account_that_counts_them(
    client: Client, lisa: Employee, unlimited: None
) -> None:
    other = factories.employee()
    token = client.csrf_token()
    for _ in range(25):
        attempt(client, lisa.email, csrf_token=token)
    for n in range(15):
        attempt(client, other.email, csrf_token=token)
        attempt(client, f"gissad{n}@annanstans.example", csrf_token=token)

    counts = {event.subject_employee_id: event.details["attempts"] for event in failures()}
    assert counts == {lisa.id: 25, other.id: 15, None: 15}


def test_an_hour_after_an_events_first_attempt_a_new_event_begins(
    client: Client, lisa: Employee
) -> None:
    start = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
    for minutes in (0, 30, 59, 61, 70):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            attempt(client, lisa.email)

    events = failures()
    assert [(e.occurred_at, e.details["attempts"]) for e in events] == [
        (datetime(2026, 2, 2, 9, 0), 3),
        (datetime(2026, 2, 2, 10, 1), 2),
    ]
    assert events[0].details["last_at"] == "2026-02-02T09:59:00"


def test_rate_limiting_still_refuses_and_a_refused_attempt_is_not_counted(
    app: Flask, client: Client, lisa: Employee, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    token = client.csrf_token()

    statuses = [attempt(client, lisa.email, csrf_token=token) for _ in range(5)]

    assert statuses == [401, 401, 401, 429, 429]
    [event] = failures()
    assert event.details["attempts"] == 3


def test_the_nightly_retention_deletes_failed_sign_ins_after_their_days(
    app: Flask, lisa: Employee
) -> None:
    today = date(2026, 6, 1)
    keep = app.config["FAILED_LOGIN_KEEP_DAYS"]

    def event(action: str, days_ago: int) -> int:
        row = audit_trail.record(db.session, action, actor=None, subject=lisa, attempts=1)
        row.occurred_at = datetime(2026, 6, 1, 8) - timedelta(days=days_ago)
        db.session.flush()
        return row.id

    old = event(ACTION, keep + 1)
    kept = event(ACTION, keep - 1)
    other = event("auth.login", keep + 100)
    db.session.commit()

    assert apply_retention(db.session, today, dry_run=True).failed_login_events == 1
    report = apply_retention(db.session, today)
    db.session.commit()

    assert report.failed_login_events == 1
    remaining = set(db.session.scalars(sa.select(AuditEvent.id)))
    assert old not in remaining
    assert {kept, other} <= remaining


# --- in the audit log ------------------------------------------------------------------------


def test_hr_reads_the_failures_of_their_people_only_and_admins_those_of_unknown_addresses(
    client: Client, lisa: Employee
) -> None:
    sven = factories.employee(unit=factories.unit("Sigtuna"), email="sven@sigtuna.example")
    for email in (lisa.email, sven.email, UNKNOWN):
        attempt(client, email)
    by_subject = {event.subject_employee_id: event.id for event in failures()}
    hr, sigtuna_hr, admin = (
        factories.hr_staff("Järfälla"),
        factories.hr_staff("Sigtuna"),
        factories.admin(),
    )

    def readable(user: Employee) -> set[int]:
        return set(
            db.session.scalars(
                sa.select(AuditEvent.id).where(AuditEvent.action == ACTION, audit_event_scope(user))
            )
        )

    assert readable(hr) == {by_subject[lisa.id]}
    assert readable(sigtuna_hr) == {by_subject[sven.id]}
    assert readable(admin) == set(by_subject.values())


def test_the_log_says_in_words_how_many_attempts_and_when_the_last(
    client: Client, lisa: Employee
) -> None:
    with time_machine.travel(datetime(2026, 2, 2, 13, 0, tzinfo=UTC), tick=False):
        attempt(client, lisa.email)
        attempt(client, UNKNOWN)
    with time_machine.travel(datetime(2026, 2, 2, 13, 5, tzinfo=UTC), tick=False):
        attempt(client, lisa.email)
        attempt(client, lisa.email)
    hr = factories.hr_staff("Järfälla")
    admin = factories.admin()

    client.sign_in(hr)
    page = client.get("/audit/", query_string={"action": ACTION}).get_data(as_text=True)
    assert "Misslyckade inloggningsförsök" in page
    assert "3 försök, det senaste 14:05" in page  # Swedish time
    assert "Lisa Berg" in page
    assert "Adress utan konto" not in page

    client.sign_in(admin)
    page = client.get("/audit/", query_string={"action": ACTION}).get_data(as_text=True)
    assert "Adress utan konto (adressen sparas inte): 1 försök" in page
    assert UNKNOWN not in page


def test_the_privacy_notice_says_what_is_kept_of_a_failed_sign_in(client: Client) -> None:
    page = client.get("/privacy").get_data(as_text=True)

    assert "Misslyckade inloggningar på ditt konto skrivs i loggen" in page
    assert "De raderas efter 90 dagar." in page
