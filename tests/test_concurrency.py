"""Twenty people at once (issue #7, point 8): reports, reviews and imports made by twenty
threads released together by a barrier, on the suite's database (an SQLite file in WAL mode,
or PostgreSQL when TEST_DATABASE_URL names one). Nothing may fail, nothing may be lost,
nothing may be written twice; and the connection settings that make this so are in place."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask

from config import TestingConfig
from tests import factories
from tests.conftest import Client, count
from tests.samples import certificate_pdf
from training_tracker import clock, create_app
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    AuditEvent,
    Completion,
    CompletionStatus,
    Employee,
    Evidence,
    ImportBatch,
    ImportStatus,
    OutboxMessage,
    Role,
    Sector,
)
from training_tracker.services.imports.applying import apply_import
from training_tracker.services.imports.batches import confirm_batch
from training_tracker.services.imports.parsing import parse_employee_file
from training_tracker.services.imports.plan import UnknownUnits
from training_tracker.services.imports.planning import plan_import

N = 20  # people at once
T = TypeVar("T")


# --- helpers ---------------------------------------------------------------------------------


def together(work: Callable[[int, Callable[[], None]], T], threads: int = N) -> list[T]:
    """Run ``work(i, start)`` in ``threads`` threads; each prepares (signs in, reads a form),
    then calls ``start()``, which releases them all at the same moment. Every exception of
    every thread is collected and fails the test, with the messages in the report."""
    barrier = threading.Barrier(threads, timeout=60)
    results: list[T | None] = [None] * threads
    errors: list[str] = []

    def run(i: int) -> None:
        try:
            results[i] = work(i, barrier.wait)
        except BaseException as error:  # noqa: BLE001 - every failure is reported below
            errors.append(f"thread {i}: {type(error).__name__}: {error}")
            barrier.abort()  # the others stop waiting for this one

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in pool), "a thread never finished"
    # Any exception fails: "database is locked", a serialization failure, a pool timeout.
    assert errors == [], "\n".join(errors)
    return results  # type: ignore[return-value]


def signed_in(app: Flask, email: str, address: int) -> tuple[Client, str]:
    """A browser of its own, from its own address (the sign-in rate limit counts per address),
    signed in; and the CSRF token its forms carry."""
    client = Client(app, app.response_class, use_cookies=True)
    client.environ_base["REMOTE_ADDR"] = f"10.0.{address // 250}.{address % 250 + 1}"
    response = client.post_form("/login", {"email": email, "password": factories.PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client, client.csrf_token()


@pytest.fixture()
def threaded_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The app as a threaded server runs it, on the suite's database, with the default pool
    (5 + 10). Twenty requests at once must not exhaust it: a rate-limited route (sign-in,
    certificate upload) counts through the counters' own engine, never through a second
    connection of the sessions' pool (training_tracker/ratelimit.py)."""
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    config.UPLOAD_FOLDER = str(tmp_path / "uploads")
    config.MAIL_PORT = 1
    threaded = create_app(config)
    yield threaded
    with threaded.app_context():
        db.engine.dispose()


@pytest.fixture()
def quick_passwords() -> Callable[[Employee], Employee]:
    """Accounts that twenty threads sign in to at once, committed. The test configuration's
    Argon2 cost is low (config.TestingConfig), so this measures the database, not the hashing."""

    def quick(person: Employee) -> Employee:
        db.session.commit()
        return person

    return quick


@pytest.fixture()
def nck():
    return factories.synced_catalog()["nck-webbkurs-om-vald"]


@pytest.fixture()
def ifo():
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")


# --- the connection settings -----------------------------------------------------------------


def test_every_new_sqlite_connection_is_in_wal_mode_and_waits_30_seconds_for_a_lock(tmp_path):
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    fresh = create_app(config)
    with fresh.app_context():
        try:
            with db.engine.connect() as connection:
                pragma = connection.exec_driver_sql
                assert pragma("PRAGMA journal_mode").scalar() == "wal"
                assert pragma("PRAGMA busy_timeout").scalar() == 30000
                assert pragma("PRAGMA foreign_keys").scalar() == 1
        finally:
            db.engine.dispose()


def test_the_threads_share_the_suites_database_a_wal_file_or_postgresql(app):
    """A private in-memory database would prove nothing about concurrent writers."""
    url = db.engine.url
    expected = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    assert url.get_backend_name() == expected
    if expected == "sqlite":
        assert url.database and url.database != ":memory:" and Path(url.database).is_file()
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_connection_the_database_dropped_is_replaced_before_it_is_used(app):
    """pool_pre_ping: after a database restart (or an idle connection cut by a firewall) the
    next request gets a working connection instead of an error."""
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    assert db.engine.pool._pre_ping is True  # what the engine was actually built with
    if db.engine.dialect.name != "postgresql":
        return  # a file database has no server to drop connections
    db.session.remove()
    with db.engine.connect() as connection:  # at least one connection waits in the pool
        pooled = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    url = db.engine.url
    with psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, dbname=url.database
    ) as outsider:
        ended = outsider.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert (True,) in ended
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pooled
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1


# --- (1) twenty employees report at once -----------------------------------------------------


def test_twenty_employees_reporting_at_once_each_get_their_report_and_their_file(
    threaded_app, nck, ifo, quick_passwords
):
    uploads = Path(threaded_app.config["UPLOAD_FOLDER"])
    staff = [quick_passwords(factories.employee(unit=ifo, first_name="Samtidig")) for _ in range(N)]
    emails = [person.email for person in staff]
    completed_on = clock.today() - timedelta(days=2)
    certificates = [
        certificate_pdf(["Intyg", f"Samtidig nummer {i}", nck.title, completed_on.isoformat()])
        for i in range(N)
    ]
    course_id = nck.id
    db.session.commit()

    def report(i: int, start: Callable[[], None]) -> tuple[int, str | None]:
        client, token = signed_in(threaded_app, emails[i], i)
        start()
        response = client.post(
            "/my/report",
            data={
                "csrf_token": token,
                "course_id": str(course_id),
                "completed_on": completed_on.isoformat(),
                "certificate": (io.BytesIO(certificates[i]), f"intyg-{i}.pdf"),
            },
            content_type="multipart/form-data",
        )
        return response.status_code, response.location

    answers = together(report)

    assert [status for status, _location in answers] == [302] * N
    assert all(location.startswith("/my/completions/") for _status, location in answers)
    completions = db.session.scalars(sa.select(Completion)).all()
    assert sorted(c.employee_id for c in completions) == sorted(p.id for p in staff)
    assert {c.status for c in completions} == {CompletionStatus.REPORTED}
    evidence = db.session.scalars(sa.select(Evidence)).all()
    assert len(evidence) == N and {e.completion_id for e in evidence} == {c.id for c in completions}
    files = sorted(path.name for path in uploads.iterdir())
    assert files == sorted(e.storage_name for e in evidence)
    expected = {hashlib.sha256(content).hexdigest() for content in certificates}
    stored = {hashlib.sha256((uploads / e.storage_name).read_bytes()).hexdigest() for e in evidence}
    assert stored == expected == {e.sha256 for e in evidence}
    assert count(AuditEvent, AuditEvent.action == "completion.reported") == N


# --- (2) twenty reviewers at once ------------------------------------------------------------


def test_twenty_reviewers_deciding_at_once_each_decide_theirs_and_one_decides_the_shared_one(
    threaded_app, nck, ifo, quick_passwords
):
    reports = [
        factories.completion(
            factories.employee(unit=ifo, first_name="Granskad"),
            nck,
            status=CompletionStatus.REPORTED,
        )
        for _ in range(N)
    ]
    contested = factories.completion(
        factories.employee(unit=ifo, first_name="Omstridd"), nck, status=CompletionStatus.REPORTED
    )
    reviewers = [
        factories.with_role(
            quick_passwords(factories.employee(unit=ifo, first_name="Granskare")),
            Role.HR,
            municipality_name="Järfälla",
        )
        for _ in range(N)
    ]
    own_ids = [c.id for c in reports]
    contested_id = contested.id
    reviewer_ids = [r.id for r in reviewers]
    emails = [r.email for r in reviewers]
    db.session.commit()

    def review(i: int, start: Callable[[], None]) -> tuple[str | None, str | None]:
        client, token = signed_in(threaded_app, emails[i], i)
        start()
        own = client.post(f"/verify/{own_ids[i]}/verify", data={"csrf_token": token})
        start()  # again: now all twenty decide the same report
        if i % 2:
            shared = client.post(
                f"/verify/{contested_id}/reject",
                data={"csrf_token": token, "reason": "Intyget gäller en annan kurs"},
            )
        else:
            shared = client.post(f"/verify/{contested_id}/verify", data={"csrf_token": token})
        return own.location, shared.location

    answers = together(review)

    db.session.expire_all()
    assert [own for own, _shared in answers] == ["/verify/"] * N
    for completion_id, reviewer_id in zip(own_ids, reviewer_ids, strict=True):
        decided = db.session.get_one(Completion, completion_id)
        assert (decided.status, decided.reviewed_by_id) == (CompletionStatus.VERIFIED, reviewer_id)

    # The shared report: one decision, by the one reviewer told it was made; the other
    # nineteen are sent back to the report, which now shows the decision.
    winners = [i for i, (_own, shared) in enumerate(answers) if shared == "/verify/"]
    assert len(winners) == 1, answers
    assert {shared for _own, shared in answers} == {"/verify/", f"/verify/{contested_id}"}
    decided = db.session.get_one(Completion, contested_id)
    [winner] = winners
    assert decided.reviewed_by_id == reviewer_ids[winner]
    assert decided.status == (
        CompletionStatus.REJECTED if winner % 2 else CompletionStatus.VERIFIED
    )
    decisions = count(
        AuditEvent,
        AuditEvent.object_id == contested_id,
        AuditEvent.action.in_(["completion.verified", "completion.rejected"]),
    )
    assert decisions == 1
    assert count(OutboxMessage, OutboxMessage.kind == "completion_rejected") == winner % 2


# --- (3) imports at once ---------------------------------------------------------------------


def hr_export(people: list[tuple[str, str, str]]) -> bytes:
    """A small export as the HR system writes it: Swedish headers, semicolons."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(
        [
            "Förnamn",
            "Efternamn",
            "E-post",
            "Kommun",
            "Enhet",
            "Anställningsdatum",
            "Anställningsnummer",
        ]
    )
    hired = (clock.today() - timedelta(days=30)).isoformat()
    for first, last, number in people:
        email = f"{first}.{last}@jarfalla.example".lower()
        writer.writerow([first, last, email, "Järfälla", "IFO", hired, number])
    return buffer.getvalue().encode()


def import_file(app: Flask, data: bytes, start: Callable[[], None]) -> dict[str, int]:
    """What ``flask employees import FILE`` does: parse, plan, apply, commit."""
    with app.app_context():
        try:
            parsed = parse_employee_file(data, "personal.csv")
            start()
            plan = plan_import(db.session, parsed, user=None, unknown_units=UnknownUnits.REJECT)
            apply_import(db.session, plan, actor=None, invite=True)
            db.session.commit()
            return plan.summary()
        finally:
            db.session.remove()


def test_twenty_imports_at_once_import_everyone_once_and_the_same_file_thrice_imports_it_once(
    app, nck, ifo
):
    factories.rule(nck, sector=Sector.SOCIAL_SERVICES)
    files = [
        hr_export([(f"Person{i}", f"Nummer{k}", f"J{i:02d}{k}") for k in range(3)])
        for i in range(N)
    ]
    shared = hr_export([("Delad", f"Fil{k}", f"D{k}") for k in range(3)])
    db.session.commit()
    copies = 3

    summaries = together(
        lambda i, start: import_file(app, files[i] if i < N else shared, start),
        threads=N + copies,
    )

    emails = db.session.scalars(sa.select(Employee.email).where(Employee.unit_id == ifo.id)).all()
    expected = {f"person{i}.nummer{k}@jarfalla.example" for i in range(N) for k in range(3)}
    expected |= {f"delad.fil{k}@jarfalla.example" for k in range(3)}
    assert sorted(emails) == sorted(expected)  # every person, each once
    assert [s["created"] for s in summaries[:N]] == [3] * N
    # Of the three copies of the same file, one created the people; the others found them.
    assert sorted((s["created"], s["unchanged"]) for s in summaries[N:]) == [(0, 3), (0, 3), (3, 0)]
    assert all(s["rejected"] == 0 for s in summaries)
    people = len(expected)
    assert count(AuditEvent, AuditEvent.action == "employee.created") == people
    assert count(Assignment, Assignment.course_id == nck.id) == people
    assert count(OutboxMessage, OutboxMessage.kind == "invitation") == people


def test_two_hr_colleagues_confirming_uploads_of_the_same_export_at_once_import_it_once(
    app, nck, ifo
):
    """The web import: two uploads (two batches) of one export, confirmed at the same moment.
    The second confirmation waits for the first and then finds everyone already there."""
    export = hr_export([("Samma", f"Export{k}", f"S{k}") for k in range(3)])
    colleagues = [factories.hr_staff("Järfälla") for _ in range(2)]
    batches = [factories.import_batch(content=export) for _ in colleagues]
    pairs = [(person.id, batch.id) for person, batch in zip(colleagues, batches, strict=True)]
    db.session.commit()

    def confirm(i: int, start: Callable[[], None]) -> dict[str, int]:
        with app.app_context():
            try:
                user = db.session.get_one(Employee, pairs[i][0])
                batch = db.session.get_one(ImportBatch, pairs[i][1])
                start()
                result = confirm_batch(
                    db.session, batch, user=user, unknown_units=UnknownUnits.REJECT, invite=True
                )
                db.session.commit()
                assert result is not None
                return result.plan.summary()
            finally:
                db.session.remove()

    summaries = together(confirm, threads=2)

    assert sorted((s["created"], s["unchanged"]) for s in summaries) == [(0, 3), (3, 0)]
    assert count(Employee, Employee.email.like("samma.export%")) == 3
    assert count(OutboxMessage, OutboxMessage.kind == "invitation") == 3
    assert {b.status for b in db.session.scalars(sa.select(ImportBatch))} == {ImportStatus.APPLIED}
