"""Statements that may take only so long: a request that would otherwise keep its reader
waiting (the live coverage table on an empty cache, at national scale) gives its statements a
time budget, and says "being computed" when they run past it.

The database stops the work itself, so nothing is left running after the request gives up:
PostgreSQL by ``statement_timeout``, set before each statement to what is left of the budget
(within a savepoint, so the transaction goes on as it was), SQLite by a progress handler that
interrupts a statement running past the deadline (an interrupted SELECT leaves the
transaction alone; reads only, there: an interrupted write would roll back the
transaction). A statement that would start after the deadline is not sent at all.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from training_tracker.services.core.sql import on_postgresql

# PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout (query_canceled).
QUERY_CANCELED = "57014"
# SQLite calls the handler every this many virtual-machine steps: often enough to stop within
# a millisecond or so, seldom enough to cost nothing measurable.
SQLITE_STEPS = 1000


class OverBudget(Exception):
    """The block's statements ran past their time budget and were stopped."""


@contextmanager
def time_budget(session: Session, seconds: float) -> Iterator[None]:
    """Run the block's statements within ``seconds`` altogether, else stop them and raise
    :class:`OverBudget`, with the session's transaction, and what it wrote, as before."""
    deadline = time.monotonic() + seconds
    try:
        if not on_postgresql(session):
            # No savepoint: on SQLite it would open a transaction that outlives the block, and
            # an interrupted SELECT needs none.
            with _stopped_at(session.connection(), deadline, postgresql=False):
                yield
            return
        with session.begin_nested():
            with _stopped_at(session.connection(), deadline, postgresql=True):
                yield
            # SET LOCAL outlives the savepoint's release: back to the session's own value.
            session.execute(
                sa.text(
                    "SELECT set_config(name, reset_val, true) FROM pg_settings"
                    " WHERE name = 'statement_timeout'"
                )
            )
    except sa.exc.OperationalError as error:
        if getattr(error.orig, "sqlstate", None) == QUERY_CANCELED:
            raise OverBudget from error
        if isinstance(error.orig, sqlite3.OperationalError) and "interrupted" in str(error.orig):
            raise OverBudget from error
        raise


@contextmanager
def _stopped_at(connection: Connection, deadline: float, postgresql: bool) -> Iterator[None]:
    """While the block runs: each statement is refused past ``deadline``, and stopped there
    by the database."""

    def before_statement(_conn: Connection, cursor: Any, *_args: Any) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise OverBudget
        if postgresql:
            milliseconds = str(max(1, round(left * 1000)))
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", (milliseconds,))

    raw = None if postgresql else connection.connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        raw.set_progress_handler(lambda: int(time.monotonic() >= deadline), SQLITE_STEPS)
    sa.event.listen(connection, "before_cursor_execute", before_statement)
    try:
        yield
    finally:
        sa.event.remove(connection, "before_cursor_execute", before_statement)
        if isinstance(raw, sqlite3.Connection):
            raw.set_progress_handler(None, 0)
