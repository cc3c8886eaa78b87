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

A large limit (a directory's few hundred requests a minute) is counted in leases
(:class:`LeasedFixedWindow`, the ``leased-fixed-window`` strategy): a process takes a block of
hits from the shared counter in one write and hands them out from memory, so a sync does not
write a counter on every request. Small limits (sign-in, uploads) are counted hit by hit.

Caveat: an in-memory SQLite database (``sqlite://``) has a single connection, which the counter
then shares with the request's session; use a file or PostgreSQL wherever limits matter.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from flask_login import current_user
from limits.errors import ConfigurationError
from limits.limits import RateLimitItem
from limits.storage import Storage
from limits.strategies import STRATEGIES, FixedWindowRateLimiter
from limits.util import WindowStats
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


LEASE_SHARE = 100  # a lease is this share of its limit: a hundredth
LEASES_KEPT = 1000  # above this many keys, leases whose window has ended are forgotten


@dataclass
class _Lease:
    next: int  # the number the next hit gets in the window's shared count
    last: int  # the last number this lease holds
    ends: float  # the Unix time the window ends


class LeasedFixedWindow(FixedWindowRateLimiter):
    """Fixed windows as ``fixed-window`` counts them, but a limit of at least
    ``2 * LEASE_SHARE`` hits is drawn in leases: a process adds a hundredth of the limit to the
    shared counter in one write and hands those hits out from memory, one number each.

    - No more than the limit is ever allowed, however many processes count: every allowed hit
      has its own number in the shared count, and a number above the limit is refused.
    - What a process leased and did not use before the window ended counts as used, so the
      others are refused that much earlier: at most a hundredth of the limit per process
      (5 % of a directory's 30,000 with five workers).
    - A lease lives in one process's memory: a restart forgets its unused part (counted as
      used), and a reset of the counters (tests) leaves leases taken before it to be used up.
    """

    def __init__(self, storage: Any) -> None:
        super().__init__(storage)
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    @staticmethod
    def lease_size(item: RateLimitItem) -> int:
        return item.amount // LEASE_SHARE

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        size = self.lease_size(item)
        if size < 2 or cost != 1:
            return super().hit(item, *identifiers, cost=cost)
        key = item.key_for(*identifiers)
        with self._lock:
            now = time.time()
            lease = self._leases.get(key)
            if lease is None or lease.ends <= now or lease.next > lease.last:
                last = self.storage.incr(key, item.get_expiry(), amount=size)
                lease = _Lease(last - size + 1, last, self.storage.get_expiry(key))
                if len(self._leases) >= LEASES_KEPT:
                    self._forget_ended(now)
                self._leases[key] = lease
            number, lease.next = lease.next, lease.next + 1
        return number <= item.amount

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """From this process's lease, without asking the store (the response headers ask on
        every request): the remaining hits as this process last saw the shared count."""
        lease = self._leases.get(item.key_for(*identifiers))
        if lease is None or lease.ends <= time.time():
            return super().get_window_stats(item, *identifiers)
        return WindowStats(lease.ends, max(0, item.amount - (lease.next - 1)))

    def _forget_ended(self, now: float) -> None:
        for key in [key for key, lease in self._leases.items() if lease.ends <= now]:
            del self._leases[key]


# Named in RATELIMIT_STRATEGY; Flask-Limiter looks strategies up in this registry.
STRATEGIES["leased-fixed-window"] = LeasedFixedWindow


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
