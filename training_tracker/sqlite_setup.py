"""How every SQLite connection of the app is set up: the web sessions' pool and the rate-limit
counters' own pool (training_tracker/ratelimit.py)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")


def set_up_connections(engine: Engine, synchronous: str) -> None:
    """Set up each new connection of ``engine`` as :func:`_connection_setup` says."""
    if synchronous.upper() not in SYNCHRONOUS_LEVELS:
        raise RuntimeError(
            f"SQLITE_SYNCHRONOUS={synchronous!r}: use one of {', '.join(SYNCHRONOUS_LEVELS)}."
        )
    sa.event.listen(engine, "connect", _connection_setup(synchronous.upper()))


def _connection_setup(
    synchronous: str,
) -> Callable[[DBAPIConnection, ConnectionPoolEntry], None]:
    def set_up(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Foreign keys on, and WAL with a busy timeout so concurrent writers wait rather than
        # fail with "database is locked". FULL waits for the disk at each commit, so a commit
        # survives a power cut; only the suite's throwaway database turns that off.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()
        # SQLite's own lower() folds ASCII only; searching "åkesson" must find "Åkesson", as
        # on PostgreSQL.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    return set_up


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value
