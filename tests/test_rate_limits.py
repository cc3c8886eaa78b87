"""Rate limits (issue #7): sign-in, password reset, invitations and uploads are limited with
counters that every worker shares (the database by default), and a refused request gets a
clear Swedish 429 page and stores nothing."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from limits import parse
from werkzeug.test import TestResponse

import config
from config import ProductionConfig, TestingConfig
from tests import factories
from tests.conftest import Client, count
from training_tracker import clock, create_app
from training_tracker.extensions import db, limiter
from training_tracker.models import (
    Completion,
    CompletionStatus,
    Employee,
    Evidence,
    ImportBatch,
    Municipality,
    OutboxMessage,
    RateLimitCounter,
    Role,
    Sector,
)
from training_tracker.ratelimit import (
    KEY_MAX_LENGTH,
    PURGE_INTERVAL_SECONDS,
    DatabaseStorage,
    LeasedFixedWindow,
)
from training_tracker.services.people import accounts
from training_tracker.services.people.accounts import TokenPurpose

TOO_MANY = "För många försök på kort tid. Vänta en stund och försök sedan igen."
NOTHING_SAVED = "Det du skickade nu har inte tagits emot, och inget av det har sparats."
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
NOT_A_PDF = b"just some text"
STAFF_FILE = (
    "Förnamn;Efternamn;E-post;Enhet;Sektor;Anställningsdatum\n"
    "Lisa;Berg;lisa.berg@test.example;IFO Järfälla;Socialtjänst;2026-11-01\n"
).encode()
NEW_PASSWORD = "blåbärssoppa-i-vasaloppet"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Stockholm


def text_of(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def assert_refused(response: TestResponse, reason: str) -> None:
    """The friendly 429 page: what happened, why, that nothing was saved, and when to retry."""
    page = text_of(response)
    assert response.status_code == 429, page
    assert "<h1>För många försök</h1>" in page
    assert TOO_MANY in page
    assert reason in page
    assert NOTHING_SAVED in page
    assert "Du kan försöka igen" in page
    assert int(response.headers["Retry-After"]) > 0


def counters() -> dict[str, int]:
    rows = db.session.execute(sa.select(RateLimitCounter.key, RateLimitCounter.count))
    return {key: hits for key, hits in rows}


@pytest.fixture()
def storage() -> DatabaseStorage:
    return DatabaseStorage("database://")


@pytest.fixture()
def hr(client: Client) -> Employee:
    factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    person = factories.with_role(
        factories.employee(email="hanna.hr@jarfalla.example"),
        Role.HR,
        municipality_name="Järfälla",
    )
    client.sign_in(person)
    return person


@pytest.fixture()
def nck():  # type: ignore[no-untyped-def]
    return factories.synced_catalog()["nck-webbkurs-om-vald"]


@pytest.fixture()
def anna() -> Employee:
    return factories.employee(unit=factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO"))


def report(client: Client, course, content: bytes = PDF) -> TestResponse:  # type: ignore[no-untyped-def]
    data = {
        "course_id": str(course.id),
        "completed_on": (clock.today() - timedelta(days=3)).isoformat(),
        "certificate": (io.BytesIO(content), "intyg.pdf"),
        "note": "",
    }
    return client.post_form("/my/report", data, content_type="multipart/form-data")


def replace(client: Client, completion: Completion, content: bytes = PDF) -> TestResponse:
    return client.post_form(
        f"/my/completions/{completion.id}/certificate",
        {"certificate": (io.BytesIO(content), "nytt-intyg.pdf")},
        content_type="multipart/form-data",
    )


def import_upload(client: Client, content: bytes = STAFF_FILE) -> TestResponse:
    data = {"file": (io.BytesIO(content), "personal.csv")}
    return client.post_form("/employees/import/", data, content_type="multipart/form-data")


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


# --- configuration ---------------------------------------------------------------------------


def test_the_counters_are_kept_in_the_database_with_fixed_windows(app: Flask) -> None:
    assert app.config["RATELIMIT_STORAGE_URI"] == "database://"
    assert app.config["RATELIMIT_STRATEGY"] == "leased-fixed-window"
    assert isinstance(limiter.storage, DatabaseStorage)
    assert isinstance(limiter.limiter, LeasedFixedWindow)
    assert config.DevelopmentConfig().RATELIMIT_STORAGE_URI == "database://"


@pytest.mark.parametrize("uri", ["memory://", "", "async+memory://"])
def test_production_refuses_per_process_counters(monkeypatch: pytest.MonkeyPatch, uri: str) -> None:
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", uri)
    with pytest.raises(RuntimeError, match=r"RATELIMIT_STORAGE_URI=.*each worker's memory"):
        ProductionConfig()


def test_production_refuses_the_in_memory_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", "true")
    with pytest.raises(RuntimeError, match="RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"):
        ProductionConfig()


def test_production_takes_the_database_or_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    assert ProductionConfig().RATELIMIT_STORAGE_URI == "database://"
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://cache.internal:6379/0")
    assert ProductionConfig().RATELIMIT_STORAGE_URI == "redis://cache.internal:6379/0"


def test_development_may_count_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    assert config.DevelopmentConfig().RATELIMIT_STORAGE_URI == "memory://"


# --- the storage -----------------------------------------------------------------------------


def test_a_window_counts_until_it_ends_and_then_starts_again(storage: DatabaseStorage) -> None:
    start = START.timestamp()
    with time_machine.travel(START, tick=False) as traveller:
        assert storage.incr("k", 60) == 1
        assert storage.incr("k", 60, amount=2) == 3
        assert (storage.get("k"), storage.get_expiry("k")) == (3, start + 60)

        traveller.shift(59.5)
        assert storage.incr("k", 60) == 4
        assert storage.get_expiry("k") == start + 60  # a hit does not stretch the window

        traveller.shift(0.5)  # the window has ended
        assert storage.get("k") == 0
        assert storage.get_expiry("k") == start + 60  # "now", as for a key never seen
        assert storage.incr("k", 60) == 1
        assert storage.get_expiry("k") == start + 120


def test_keys_are_counted_apart_and_can_be_cleared_or_all_reset(storage: DatabaseStorage) -> None:
    storage.incr("a", 60)
    storage.incr("a", 60)
    storage.incr("b", 60)
    assert (storage.get("a"), storage.get("b"), storage.get("never")) == (2, 1, 0)

    storage.clear("a")
    assert (storage.get("a"), storage.get("b")) == (0, 1)

    assert storage.reset() == 1
    assert counters() == {}


def test_a_key_longer_than_the_column_is_counted_by_its_digest(storage: DatabaseStorage) -> None:
    key = "LIMITER/email:" + "a" * 1000 + "@example.se/auth.login/10/1/minute"
    assert storage.incr(key, 60) == 1
    assert storage.incr(key, 60) == 2
    assert storage.get(key) == 2
    [stored] = counters()
    assert stored.startswith("sha256:") and len(stored) <= KEY_MAX_LENGTH


def test_concurrent_hits_are_each_counted_once(app: Flask, storage: DatabaseStorage) -> None:
    """Each worker's hit is one atomic statement: no two hits see the same total."""
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with app.app_context():
            for _ in range(15):
                total = storage.incr("shared", 60)
                with lock:
                    seen.append(total)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(seen) == list(range(1, 61))
    assert storage.get("shared") == 60


def test_a_hit_is_committed_on_its_own_and_commits_nothing_of_the_request(
    storage: DatabaseStorage,
) -> None:
    db.session.add(Municipality(code="9999", name="Påhittad kommun"))  # the request's work

    assert storage.incr("k", 60) == 1
    db.session.rollback()  # the request fails after the hit

    assert storage.get("k") == 1
    assert count(Municipality, Municipality.code == "9999") == 0


def test_ended_windows_are_deleted_now_and_then(storage: DatabaseStorage) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        storage.incr("old", 10)  # the first hit also purges (nothing yet)
        traveller.shift(PURGE_INTERVAL_SECONDS + 1)
        storage.incr("new", 3600)
        assert set(counters()) == {"new"}

        storage.incr("short", 10)
        traveller.shift(20)
        storage.incr("new", 3600)
        assert set(counters()) == {"new", "short"}  # not purged at every hit

        traveller.shift(PURGE_INTERVAL_SECONDS)
        storage.incr("new", 3600)
        assert set(counters()) == {"new"}


# --- large limits, counted in leases --------------------------------------------------------


def test_a_large_limit_is_drawn_in_leases_of_a_hundredth_not_a_write_a_hit(
    storage: DatabaseStorage,
) -> None:
    directory = parse("1000 per minute")
    strategy = LeasedFixedWindow(storage)
    with time_machine.travel(START, tick=False):
        assert all(strategy.hit(directory, "scim:token") for _ in range(10))
        assert list(counters().values()) == [10]  # one lease: hits 1-10 of the window

        assert strategy.hit(directory, "scim:token")  # the 11th: a second lease
        assert list(counters().values()) == [20]
        assert strategy.get_window_stats(directory, "scim:token") == (
            START.timestamp() + 60,
            1000 - 11,
        )


def test_processes_drawing_leases_together_never_allow_more_than_the_limit(
    storage: DatabaseStorage,
) -> None:
    directory = parse("300 per minute")  # leases of 3
    workers = [LeasedFixedWindow(storage) for _ in range(4)]  # four processes, one counter
    with time_machine.travel(START, tick=False) as traveller:
        allowed = sum(workers[n % 4].hit(directory, "scim:token") for n in range(400))
        assert allowed == 300  # each process's last lease ran out exactly at the limit
        assert not any(worker.hit(directory, "scim:token") for worker in workers)

        workers[0].hit(directory, "scim:token")  # a lease of 3, one of it used …
        assert sum(workers[1].hit(directory, "scim:token") for _ in range(400)) == 0

        traveller.shift(60)  # … and a new window starts afresh for every process
        assert all(worker.hit(directory, "scim:token") for worker in workers)
        assert list(counters().values()) == [12]


def test_a_lease_left_unused_makes_the_others_refuse_at_most_that_much_earlier(
    storage: DatabaseStorage,
) -> None:
    directory = parse("200 per minute")  # leases of 2
    idle, busy = LeasedFixedWindow(storage), LeasedFixedWindow(storage)
    with time_machine.travel(START, tick=False):
        assert idle.hit(directory, "scim:token")  # leases hits 1-2 and uses one
        assert sum(busy.hit(directory, "scim:token") for _ in range(300)) == 198
        assert idle.hit(directory, "scim:token")  # its second, leased before the limit
        assert not idle.hit(directory, "scim:token")


def test_small_limits_are_counted_hit_by_hit(storage: DatabaseStorage) -> None:
    sign_in = parse("10 per minute")
    one, other = LeasedFixedWindow(storage), LeasedFixedWindow(storage)
    with time_machine.travel(START, tick=False):
        assert one.hit(sign_in, "address:1")
        assert other.hit(sign_in, "address:1")
        assert list(counters().values()) == [2]
        assert other.get_window_stats(sign_in, "address:1").remaining == 8


def test_check_tells_whether_the_database_answers(storage: DatabaseStorage, tmp_path: Path) -> None:
    assert storage.check()
    broken_config = TestingConfig()
    broken_config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/missing/folder/db.sqlite"
    broken = create_app(broken_config)
    with broken.app_context():
        assert not storage.check()


# --- shared by every worker ------------------------------------------------------------------


@pytest.fixture()
def start_worker(app: Flask) -> Iterator[Callable[[], Flask]]:
    """Starts another app on the test database, as another gunicorn worker (or server) would:
    with a rate-limit storage of its own, empty of anything held in memory."""
    started: list[Flask] = []

    def start() -> Flask:
        worker_config = TestingConfig()
        worker_config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        worker_config.UPLOAD_FOLDER = app.config["UPLOAD_FOLDER"]
        worker_config.MAIL_PORT = 1
        worker_config.LOGIN_RATE_LIMIT = app.config["LOGIN_RATE_LIMIT"]
        worker = create_app(worker_config)
        worker.test_client_class = Client
        started.append(worker)
        return worker

    yield start
    for worker in started:
        with worker.app_context():
            db.session.remove()
            db.engine.dispose()


def test_two_workers_count_sign_in_attempts_together(
    app: Flask,
    client: Client,
    start_worker: Callable[[], Flask],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    person = factories.employee()
    wrong = {"email": person.email, "password": "gissning-1234"}
    assert [client.post_form("/login", wrong).status_code for _ in range(3)] == [401] * 3
    storage_of_the_first = limiter.storage

    second = start_worker()
    # The limiter is one object per process: Flask-Limiter gave it the new worker's storage.
    # Had the counters lived in that object's memory (memory://), they would be gone now.
    assert limiter.storage is not storage_of_the_first
    on_second: Client = second.test_client()  # type: ignore[assignment]
    response = on_second.post_form(
        "/login", {"email": person.email, "password": factories.PASSWORD}
    )

    assert_refused(response, "Inloggningen spärras en stund efter många försök")
    with on_second.session_transaction() as session:
        assert "_user_id" not in session


# --- the 429 page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "after", "expected"),
    [
        ("1 per minute", 30, "Du kan försöka igen klockan 10:01 (om 1 minut)."),
        ("1 per 10 minutes", 60, "Du kan försöka igen klockan 10:10 (om 10 minuter)."),
        ("1 per day", 60, "Du kan försöka igen 25 november klockan 10:00 (om ungefär 24 timmar)."),
    ],
)
def test_the_page_says_when_to_try_again_in_swedish_time(
    app: Flask,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    limit: str,
    after: int,
    expected: str,
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", limit)
    person = factories.employee()
    wrong = {"email": person.email, "password": "gissning-1234"}
    with time_machine.travel(START, tick=False) as traveller:
        assert client.post_form("/login", wrong).status_code == 401
        traveller.shift(after)
        response = client.post_form("/login", wrong)

    assert_refused(response, "Inloggningen spärras en stund")
    assert expected in text_of(response)
    assert '<a class="button" href="/login">Tillbaka till formuläret</a>' in text_of(response)


# --- invitations -----------------------------------------------------------------------------


def test_hr_sending_invitations_is_limited_and_a_refused_one_is_not_queued(
    app: Flask, client: Client, hr: Employee, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "INVITATION_RATE_LIMIT", "2 per hour")
    staff = [factories.employee(password=None) for _ in range(3)]

    sent = [client.post_form(f"/employees/{p.id}/invite").status_code for p in staff[:2]]
    refused = client.post_form(
        f"/employees/{staff[2].id}/invite",
        headers={"Referer": f"http://localhost/employees/{staff[2].id}"},
    )

    assert sent == [302, 302]
    assert_refused(refused, "Du har skickat många inbjudningar på kort tid.")
    assert f'href="/employees/{staff[2].id}">Tillbaka till formuläret' in text_of(refused)
    assert count(OutboxMessage) == 2
    assert count(OutboxMessage, OutboxMessage.recipient_id == staff[2].id) == 0
    db.session.refresh(staff[2])
    assert staff[2].invited_at is None


def test_choosing_a_password_from_an_invitation_is_limited(
    app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "INVITATION_RATE_LIMIT", "2 per hour")
    invitee = factories.employee(email="karin.lind@jarfalla.example", password=None)
    path = "/invitation/" + accounts.make_token(invitee, TokenPurpose.INVITATION)
    mismatch = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}

    assert [client.post_form(path, mismatch).status_code for _ in range(2)] == [422, 422]
    response = client.post_form(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert_refused(response, "Det har gjorts många försök att välja lösenord härifrån")
    db.session.refresh(invitee)
    assert invitee.password_hash is None
    with client.session_transaction() as session:
        assert "_user_id" not in session


# --- uploads ---------------------------------------------------------------------------------

UPLOADS_REASON = "Du har laddat upp många filer på kort tid."


def test_reporting_with_a_certificate_is_limited_and_a_refused_report_leaves_nothing(
    app: Flask,
    client: Client,
    uploads: Path,
    anna: Employee,
    nck,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setitem(app.config, "UPLOAD_RATE_LIMIT", "2 per hour")
    client.sign_in(anna)

    refused_files = [report(client, nck, NOT_A_PDF).status_code for _ in range(2)]
    response = report(client, nck)

    assert refused_files == [422, 422]
    assert_refused(response, UPLOADS_REASON)
    assert count(Completion) == 0 and count(Evidence) == 0
    assert files_in(uploads) == []


def test_replacing_a_certificate_is_limited_and_a_refused_one_changes_nothing(
    app: Flask,
    client: Client,
    uploads: Path,
    anna: Employee,
    nck,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setitem(app.config, "UPLOAD_RATE_LIMIT", "1 per hour")
    completion = factories.completion(anna, nck, status=CompletionStatus.REPORTED)
    original = factories.evidence(completion)
    client.sign_in(anna)

    assert replace(client, completion, NOT_A_PDF).status_code == 422
    response = replace(client, completion)

    assert_refused(response, UPLOADS_REASON)
    assert db.session.scalars(sa.select(Evidence.storage_name)).all() == [original.storage_name]
    assert files_in(uploads) == [uploads / original.storage_name]


def test_hr_import_uploads_are_limited_and_refused_ones_count_though_they_rolled_back(
    app: Flask, client: Client, hr: Employee, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "UPLOAD_RATE_LIMIT", "2 per hour")

    # Refused files: the view rolls its transaction back; the hits stay counted.
    assert [import_upload(client, b"").status_code for _ in range(2)] == [422, 422]
    response = import_upload(client)

    assert_refused(response, UPLOADS_REASON)
    assert count(ImportBatch) == 0
    assert counters()[f"LIMITER/user:{hr.id}/uploads/2/1/hour"] == 3


def test_uploads_share_one_budget_per_person_not_per_address(
    app: Flask,
    client: Client,
    uploads: Path,
    anna: Employee,
    nck,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setitem(app.config, "UPLOAD_RATE_LIMIT", "2 per hour")
    completion = factories.completion(anna, nck, status=CompletionStatus.REPORTED)
    client.sign_in(anna)
    assert report(client, nck, NOT_A_PDF).status_code == 422
    assert replace(client, completion, NOT_A_PDF).status_code == 422

    assert report(client, nck).status_code == 429  # the third upload of any kind

    colleague = factories.employee(unit=anna.unit, email="bo.ek@jarfalla.example")
    client.sign_in(colleague)  # the same address, another person
    assert report(client, nck).status_code == 302
