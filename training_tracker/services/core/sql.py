"""SQL that SQLite and PostgreSQL spell differently: date arithmetic, the INSERT that takes
``ON CONFLICT``, and a CTE computed once.

Each helper gives the same result on both databases, so the services write one query for both.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def table_of(model: type[Any]) -> sa.Table:
    """A mapped class's table, for Core statements (bulk UPDATE and INSERT by parameters).

    Declarative types ``__table__`` as any FROM clause; a class mapped to one table has a Table.
    """
    return cast(sa.Table, model.__table__)


def execute_dml(session: Session, statement: sa.Executable) -> sa.CursorResult[Any]:
    """Run an UPDATE or DELETE (without RETURNING) and give its cursor result, for its
    ``rowcount``: the Session hands back the cursor's result, though its ``execute`` is typed
    for any statement (SQLAlchemy types only ``Connection.execute`` that way)."""
    return cast(sa.CursorResult[Any], session.execute(statement))


def on_postgresql(session: Session | Connection) -> bool:
    """Whether ``session`` (or a connection of the Core's) talks to PostgreSQL."""
    bind = session if isinstance(session, Connection) else session.get_bind()
    return bind.dialect.name == "postgresql"


def conflict_insert(session: Session, table: sa.Table | Any) -> Any:
    """An INSERT into ``table`` that takes ``on_conflict_do_nothing`` (each database's own)."""
    insert = postgresql_insert if on_postgresql(session) else sqlite_insert
    return insert(table)


def materialized(session: Session, cte: sa.CTE) -> sa.CTE:
    """``cte`` computed once, before the query that reads it: PostgreSQL would otherwise
    inline it and may evaluate it again for every mention (SQLite computes it once anyway)."""
    return cte.prefix_with("MATERIALIZED") if on_postgresql(session) else cte


class add_days(FunctionElement[date]):
    """``date + n days`` in SQL, spelt the way each database wants it."""

    type = sa.Date()
    inherit_cache = True


@compiles(add_days)
def _add_days_default(element: add_days, compiler: SQLCompiler, **kw: object) -> str:
    start, days = list(element.clauses)
    return f"({compiler.process(start, **kw)} + {compiler.process(days, **kw)})"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: SQLCompiler, **kw: object) -> str:
    start, days = list(element.clauses)
    return f"date({compiler.process(start, **kw)}, ({compiler.process(days, **kw)}) || ' days')"


class days_between(FunctionElement[int]):
    """Whole days from the first date to the second, in SQL."""

    type = sa.Integer()
    inherit_cache = True


@compiles(days_between)
def _days_between_default(element: days_between, compiler: SQLCompiler, **kw: object) -> str:
    start, end = list(element.clauses)
    return f"({compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: object) -> str:
    start, end = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)}) AS INTEGER)"
    )


class whole_division(FunctionElement[int]):
    """Integer division that truncates on both databases (SQLAlchemy's ``/`` would not)."""

    type = sa.Integer()
    inherit_cache = True


@compiles(whole_division)
def _whole_division(element: whole_division, compiler: SQLCompiler, **kw: object) -> str:
    numerator, denominator = list(element.clauses)
    return f"({compiler.process(numerator, **kw)} / {compiler.process(denominator, **kw)})"


class as_date(FunctionElement[date]):
    """The date of a timestamp."""

    type = sa.Date()
    inherit_cache = True


@compiles(as_date)
def _as_date_default(element: as_date, compiler: SQLCompiler, **kw: object) -> str:
    (value,) = list(element.clauses)
    return f"CAST({compiler.process(value, **kw)} AS DATE)"


@compiles(as_date, "sqlite")
def _as_date_sqlite(element: as_date, compiler: SQLCompiler, **kw: object) -> str:
    (value,) = list(element.clauses)
    return f"date({compiler.process(value, **kw)})"
