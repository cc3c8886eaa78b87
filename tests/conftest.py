"""Fixtures: the app on a real database (SQLite file, or PostgreSQL when TEST_DATABASE_URL
names one), a client that signs in like a person does, and a real SMTP server."""

from __future__ import annotations

import contextvars
import hashlib
import os
import re
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from itsdangerous import URLSafeTimedSerializer

from config import TestingConfig
from tests import factories
from training_tracker import create_app
from training_tracker.demo.municipalities import MUNICIPALITIES
from training_tracker.extensions import db, limiter
from training_tracker.models import Employee, Municipality
from training_tracker.ratelimit import DatabaseStorage

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _database_url(tmp_dir: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        # A commit waits for no flush to disk: the test database is thrown away, and a flush
        # costs 5-40 ms on a busy CI disk, several times per test. Transactions, locks and
        # isolation are what they are in production.
        separator = "&" if "?" in url else "?"
        url += f"{separator}options=--synchronous_commit%3Doff"
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    # A file, not :memory:, so the browser tests' server thread sees the same data.
    return f"sqlite:///{tmp_dir / 'test.sqlite'}"


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    with tempfile.TemporaryDirectory(prefix="tt-test-") as tmp:
        config = TestingConfig()
        config.SQLALCHEMY_DATABASE_URI = _database_url(Path(tmp))
        config.UPLOAD_FOLDER = str(Path(tmp) / "uploads")
        config.MAIL_PORT = 1  # nothing listens there unless a test starts the SMTP server
        app = create_app(config)
        with app.app_context():
            upgrade()  # the real migrations, so every test runs on the migrated schema
            db.session.remove()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _six_municipalities() -> sa.Insert:
    """What ensure_municipalities adds to an empty database, as one INSERT (the columns'
    defaults are the model's, as the ORM would fill them in)."""
    table = Municipality.__table__
    defaults = {c.name: c.default.arg for c in table.c if c.default is not None}
    assert all(not callable(value) for value in defaults.values())  # each written as it is
    rows = [{**defaults, "code": code, "name": name} for code, name in MUNICIPALITIES]
    return sa.insert(table).values(rows)


_resets = 0  # how many times fresh_database ran in this process


def database_resets() -> int:
    """A number that changes whenever the database is emptied: data a module keeps across its
    tests (tests/test_access.py's shared world) is still there while this stays the same."""
    return _resets


def fresh_database() -> None:
    """Every table emptied and the six municipalities back, in one transaction: on
    PostgreSQL in one round trip, which is most of what a short test costs there."""
    global _resets
    _resets += 1
    tables = list(reversed(db.metadata.sorted_tables))  # children before their parents
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            quote = connection.dialect.identifier_preparer.format_table
            statements = [f"DELETE FROM {quote(t)}" for t in tables]
            insert = _six_municipalities().compile(
                dialect=connection.dialect, compile_kwargs={"literal_binds": True}
            )
            connection.exec_driver_sql("; ".join([*statements, str(insert)]))
        else:
            for table in tables:
                connection.execute(table.delete())
            connection.execute(_six_municipalities())


def fresh_state() -> None:
    """The database as :func:`fresh_database` leaves it, and no rate limit counted."""
    fresh_database()
    if not isinstance(limiter.storage, DatabaseStorage):
        limiter.reset()  # the database's counters went with the tables


@pytest.fixture(autouse=True)
def _clean_state(app: Flask) -> Iterator[None]:
    """Each test starts with the six municipalities and nothing else."""
    with app.app_context():
        fresh_state()
        yield
        db.session.rollback()
        db.session.remove()


def _print_database_sessions(url: str) -> None:
    """What every session of the test database is doing and who blocks whom: printed before
    pytest-timeout fails a test that hangs, since a wait for a lock shows in a thread's stack
    only as a wait."""
    import psycopg

    query = (
        "SELECT pid, pg_blocking_pids(pid), state, wait_event_type, wait_event,"
        " now() - xact_start, left(query, 300) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY pid"
    )
    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as c:
            rows = c.execute(query).fetchall()
    except psycopg.Error as error:
        rows = [("could not read pg_stat_activity:", error)]
    lines = ["", "+++ sessions of the test database, as the test is about to time out +++"]
    lines += [" | ".join(str(value) for value in row) for row in rows]
    print("\n".join(lines), file=sys.__stderr__, flush=True)


@pytest.fixture(autouse=True)
def _database_sessions_before_a_timeout(
    app: Flask, request: pytest.FixtureRequest
) -> Iterator[None]:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    marker = request.node.get_closest_marker("timeout")
    seconds = float(marker.args[0] if marker and marker.args else request.config.getini("timeout"))
    if not url.startswith("postgresql") or seconds <= 0:
        yield
        return
    timer = threading.Timer(max(seconds - 15, 1), _print_database_sessions, args=(url,))
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()


@pytest.fixture(autouse=True)
def _no_thread_left_running() -> Iterator[None]:
    """A test ends with every thread it started ended: a thread still waiting (on a lock, a
    barrier, a server) would hold the run open at exit, after the last test had passed."""
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before and not t.daemon]
    for thread in left:
        thread.join(timeout=10)
    running = [thread.name for thread in left if thread.is_alive()]
    assert not running, f"threads still running after the test: {running}"


class Client(FlaskClient):
    """A test client that sends the CSRF token, as the browser form would.

    Each request runs in a fresh context, so it gets its own app context, ``g`` and database
    session, as in production, instead of sharing the test's; the test's session is expired
    afterwards so assertions read what the request committed.
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():  # not inside a redirect the client follows
            db.session.expire_all()
        return response

    def csrf_token(self) -> str:
        """The token every form of this session carries, made as Flask-WTF's generate_csrf makes
        it (the session's raw token, signed), without rendering a page for it: a test posts
        hundreds of forms. tests/test_headers.py checks that pages carry the same token."""
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        config = self.application.config
        secret = config.get("WTF_CSRF_SECRET_KEY") or config["SECRET_KEY"]
        return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)

    def csrf_token_of_a_page(self) -> str:
        """The token as a page's <meta> gives it to the browser's script."""
        page = self.get("/login" if not self._signed_in() else "/", follow_redirects=True)
        match = CSRF_META.search(page.get_data(as_text=True))
        assert match, "every page carries the CSRF token in its <meta>"
        return match.group(1)

    def _signed_in(self) -> bool:
        with self.session_transaction() as session:
            return "_user_id" in session

    def post_form(self, url: str, data: dict | None = None, **kwargs):  # type: ignore[no-untyped-def]
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def sign_in(self, person: Employee, password: str = factories.PASSWORD):  # type: ignore[no-untyped-def]
        if self._signed_in():  # the login page sends a signed-in user away: sign out first
            self.post_form("/logout")
        response = self.post_form("/login", {"email": person.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


@pytest.fixture()
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture()
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@dataclass
class MailCatcher:
    """A real SMTP server on a free loopback port; ``messages`` is what arrived."""

    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse_with: str | None = None  # e.g. "550 No such user" to test permanent failures
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_with:
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def smtp_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailCatcher]:
    catcher = MailCatcher(host="127.0.0.1", port=free_port())
    controller = Controller(catcher, hostname=catcher.host, port=catcher.port)
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", catcher.host)
    monkeypatch.setitem(app.config, "MAIL_PORT", catcher.port)
    try:
        yield catcher
    finally:
        controller.stop()


def mail_text(message: Message) -> str:
    """The plain-text part of a received mail."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("the mail has no text/plain part")


def mail_html(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("the mail has no text/html part")


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """The SQL statements run inside the ``with`` block, to show a query count is constant."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture()
def uploads(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh upload folder for the test, to see exactly which files a request left."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


def subject_of(mail: Message) -> str:
    """The decoded Subject (the mail arrives with it MIME-encoded, as Swedish needs)."""
    return str(make_header(decode_header(mail["Subject"])))


def count(model, *conditions) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """In CI a skipped test is a failure: every leg and every browser test must run."""
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("CI") == "true" and skipped:
        terminalreporter.write_line(
            f"CI=true: {len(skipped)} test(s) skipped; CI runs everything, so this run fails.",
            red=True,
        )
        terminalreporter._session.exitstatus = pytest.ExitCode.TESTS_FAILED
