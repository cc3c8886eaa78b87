"""Rate-limit counters in the application's own database, shared by every worker.

Flask-Limiter counts hits through a ``limits`` storage named by ``RATELIMIT_STORAGE_URI``.
``memory://`` keeps a counter per process, so four gunicorn workers would allow four times the
limit and forget everything at a restart. ``database://`` (this module) keeps the fixed-window
counters in the ``rate_limit_counters`` table instead; ``redis://`` is the other choice for
production.

The storage is created by Flask-Limiter from the URI alone, once per ``init_app``, and the
``limiter`` extension is one object for every app in the process. So the storage holds no engine:
each call uses the counters' engine of the app that is handling the request (``current_app``),
through a connection and transaction of its own. A request that rolls back never loses a hit,
and a hit never commits the request's work.

That engine has a pool of its own, separate from the sessions' pool: a request holds a session
connection while its limits are counted, so counting through the same pool would let enough
concurrent requests (a threaded server) hold every connection and wait for a second one.

Caveat: an in-memory SQLite database (``sqlite://``) has a single connection, which the counter
then shares with the request's session; use a file or PostgreSQL wherever limits matter.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from flask_login import current_user
from limits.errors import ConfigurationError
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from training_tracker.extensions import limiter
from training_tracker.models.security import RateLimitCounter
from training_tracker.sqlite_setup import set_up_connections

KEY_MAX_LENGTH = 255  # the column's length; longer keys are stored as their digest
PURGE_INTERVAL_SECONDS = 600.0  # how often one process deletes the windows that have ended

# Both dialects' INSERT has ON CONFLICT DO UPDATE; the generic sa.Insert does not.
_INSERTS: dict[str, Callable[[sa.Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


_COUNTERS = RateLimitCounter.__table__


def stored_key(key: str) -> str:
    """The key as stored: unchanged when it fits, else a digest (a login limit keys on the
    submitted e-mail address, which can be any length)."""
    if len(key) <= KEY_MAX_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


_COUNTER_ENGINE = "rate_limit_engine"
_counter_engine_lock = threading.Lock()


def counter_engine() -> Engine:
    """The current app's engine for the counters: its database, through a pool of its own."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as the Flask it proxies
    engine = app.extensions.get(_COUNTER_ENGINE)
    if engine is not None:
        return engine
    main: Engine = app.extensions["sqlalchemy"].engine
    if main.dialect.name == "sqlite" and main.url.database in (None, "", ":memory:"):
        return main  # one in-memory database: only its own connection can see it
    with _counter_engine_lock:
        engine = app.extensions.get(_COUNTER_ENGINE)
        if engine is None:
            # The app's options: pool_pre_ping, and on SQLite the 30 s busy timeout.
            engine = sa.create_engine(main.url, **app.config["SQLALCHEMY_ENGINE_OPTIONS"])
            if engine.dialect.name == "sqlite":
                set_up_connections(engine, app.config["SQLITE_SYNCHRONOUS"])
            app.extensions[_COUNTER_ENGINE] = engine
    return engine


class DatabaseStorage(Storage):
    """Fixed-window counters in ``rate_limit_counters``: one row per key, with its count and the
    Unix time its window ends."""

    STORAGE_SCHEME = ["database"]  # noqa: RUF012  (read once, by the limits registry)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_purge = 0.0  # per process: purge at the first hit, then now and then

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa.exc.SQLAlchemyError

    @staticmethod
    def _engine() -> Engine:
        return counter_engine()

    def incr(self, key: str, expiry: int | float, amount: int = 1) -> int:
        """Count ``amount`` hits and return the window's total, in one atomic statement: a
        window that has ended starts again from ``amount`` with a new end."""
        now = time.time()
        engine = self._engine()
        insert = _INSERTS.get(engine.dialect.name)
        if insert is None:
            raise ConfigurationError(
                f"database:// rate limits need PostgreSQL or SQLite, not {engine.dialect.name}"
            )
        table = _COUNTERS
        values = insert(table).values(key=stored_key(key), count=amount, expires_at=now + expiry)
        new = values.excluded
        ended = table.c.expires_at <= now
        statement = values.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": sa.case((ended, new.count), else_=table.c.count + new.count),
                "expires_at": sa.case((ended, new.expires_at), else_=table.c.expires_at),
            },
        ).returning(table.c.count)
        with engine.begin() as connection:
            count = int(connection.execute(statement).scalar_one())
        if now >= self._next_purge:
            self._next_purge = now + PURGE_INTERVAL_SECONDS
            self._purge(engine, now)
        return count

    def get(self, key: str) -> int:
        with self._engine().connect() as connection:
            row = self._current(connection, key)
        return row.count if row is not None else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends; now, if it has no window (as ``memory://`` answers)."""
        now = time.time()
        with self._engine().connect() as connection:
            row = self._current(connection, key, now)
        return row.expires_at if row is not None else now

    def clear(self, key: str) -> None:
        table = _COUNTERS
        with self._engine().begin() as connection:
            connection.execute(table.delete().where(table.c.key == stored_key(key)))

    def reset(self) -> int | None:
        """Forget every counter (the table holds nothing else)."""
        with self._engine().begin() as connection:
            return connection.execute(_COUNTERS.delete()).rowcount

    def check(self) -> bool:
        try:
            with self._engine().connect() as connection:
                connection.execute(sa.select(1))
        except (sa.exc.SQLAlchemyError, RuntimeError):  # RuntimeError: no app context
            return False
        return True

    @staticmethod
    def _current(connection: Connection, key: str, now: float | None = None) -> Any:
        table = _COUNTERS
        now = time.time() if now is None else now
        query = sa.select(table.c.count, table.c.expires_at).where(
            table.c.key == stored_key(key), table.c.expires_at > now
        )
        return connection.execute(query).one_or_none()

    @staticmethod
    def _purge(engine: Engine, now: float) -> None:
        # Cheap: expires_at is indexed, and each process does it at most every few minutes.
        table = _COUNTERS
        with engine.begin() as connection:
            connection.execute(table.delete().where(table.c.expires_at <= now))


def user_or_address() -> str:
    """Whom a limit counts: the signed-in person wherever they are, else the address."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"address:{request.remote_addr or 'unknown'}"


def manual_reminder_limit() -> str:
    return current_app.config["MANUAL_REMINDER_RATE_LIMIT"]


def upload_limit() -> str:
    return current_app.config["UPLOAD_RATE_LIMIT"]


def invitation_limit() -> str:
    return current_app.config["INVITATION_RATE_LIMIT"]


def bulk_invitation_limit() -> str:
    return current_app.config["BULK_INVITATION_RATE_LIMIT"]


# Every POST that takes a file draws on one budget per person (UPLOAD_RATE_LIMIT), whichever
# form it comes from: a certificate report, a new certificate, an HR import.
uploads_limit = limiter.shared_limit(
    upload_limit, scope="uploads", key_func=user_or_address, methods=["POST"]
)
