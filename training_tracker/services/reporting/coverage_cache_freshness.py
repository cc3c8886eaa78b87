"""Whether the coverage cache's rows are fresh: the variant key of a report's filters, the units
a table sums, the units' change counts (from the change log the database triggers fill) and
which cached rows are stale on a day. Reads only; :mod:`.coverage_cache` gives the whole picture.

**When a unit's numbers are stale.** Database triggers (migration ``a7c3e5f1b9d2``) append
the unit of every committed change to what a unit's numbers are computed from to
``coverage_changes``: an employee's old and new unit, the unit of the person whose assignment
or completion changed, a unit whose sector or municipality changed, the units of a
municipality whose count setting changed; unit 0, "every unit", for a course's provider (a
plugin moving a course: rare, and it costs one full recomputation). Being triggers, no
write path can forget them (an ORM flush, a bulk ``UPDATE``, ``COPY``). A unit's *change
count* is its compacted total (``coverage_change_totals.folded``) plus its rows still in the
log, plus the same for unit 0. Counts only grow: a row is added by every transaction that
changes the unit, and compaction moves rows into the total in one transaction. A cached row
of date D, computed on day C, is fresh on ``today`` iff

- ``changes_seen`` equals the unit's change count now, and
- D is today and C is today, or D was already past on C (``D < C <= today``). The numbers
  of today depend on the date (who is active, what is due before today); those of a past
  date do not: every rule of the report reads the dates stored in the data, and "active"
  counts only for today. So today's rows last until midnight, and a past date's rows until
  the unit changes, which is why the trend's eleven month ends cost nothing from one day to
  the next.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql.elements import ColumnElement

from training_tracker.models import (
    CoverageChange,
    CoverageChangeTotal,
    CoverageUnitCache,
    Municipality,
    Unit,
)
from training_tracker.models.coverage_cache import EVERY_UNIT
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting.coverage_facts import dates_table
from training_tracker.services.reporting.coverage_types import MODES, CoverageFilters

# --- variants and choices -----------------------------------------------------------------------


def variant_of(filters: CoverageFilters) -> str:
    """The filters a unit's numbers depend on, as the cache's key: ``"setting|c=|p="``."""
    course = filters.course_id if filters.course_id is not None else ""
    provider = filters.provider_id if filters.provider_id is not None else ""
    return f"{filters.mode}|c={course}|p={provider}"


def filters_of_variant(variant: str) -> CoverageFilters | None:
    """The filters of a variant key; None when it is not one :func:`variant_of` makes."""
    mode, _, rest = variant.partition("|c=")
    course, _, provider = rest.partition("|p=")
    if mode not in MODES or not all(v == "" or v.isdigit() for v in (course, provider)):
        return None
    filters = CoverageFilters(
        mode=mode,
        course_id=int(course) if course else None,
        provider_id=int(provider) if provider else None,
    )
    return filters if variant_of(filters) == variant else None


def unit_selection(scope: ReportScope, filters: CoverageFilters) -> list[ColumnElement[bool]]:
    """The units a table sums: the scope, and the municipality, sector and unit filters."""
    clauses: list[ColumnElement[bool]] = []
    if not scope.all_municipalities:
        clauses.append(
            sa.or_(Unit.municipality_id.in_(scope.municipality_ids), Unit.id.in_(scope.unit_ids))
        )
    if filters.municipality_id is not None:
        clauses.append(Unit.municipality_id == filters.municipality_id)
    if filters.unit_id is not None:
        clauses.append(Unit.id == filters.unit_id)
    if filters.sector is not None:
        clauses.append(Unit.sector == filters.sector)
    return clauses


def has_uncommitted_writes(session: Session) -> bool:
    """Whether ``session`` holds changes not yet committed: the cache cannot show them (and,
    on SQLite, storing into it would wait for this very session's write lock)."""
    if session.new or session.dirty or session.deleted:
        return True
    # Flask-SQLAlchemy hands over its scoped_session, which does not proxy in_transaction().
    actual = session() if isinstance(session, scoped_session) else session
    if not actual.in_transaction():
        return False
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        dbapi_connection = connection.connection.dbapi_connection
        if isinstance(dbapi_connection, sqlite3.Connection):  # pysqlite, the driver we use
            return dbapi_connection.in_transaction
    if dialect == "postgresql":
        return bool(session.scalar(sa.text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")))
    return True  # no way to tell: stay live


# --- staleness ----------------------------------------------------------------------------------


def among(
    column: sa.SQLColumnExpression[int | None], ids: Sequence[int], dialect: str
) -> ColumnElement[bool]:
    """``column IN ids`` with one parameter, however many ids (thousands of units)."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(ids), type_=postgresql.ARRAY(sa.Integer)))
    listed = sa.func.json_each(sa.bindparam(None, json.dumps(list(ids)), type_=sa.String))
    return column.in_(sa.select(sa.column("value", sa.Integer)).select_from(listed))


def change_counts(selection: Sequence[ColumnElement[bool]]) -> sa.Select[tuple[int, int]]:
    """(unit id, change count) of the chosen units. A unit's change count: its compacted
    total, its rows in the log, and the same of "every unit". Joins rather than a subquery
    per unit: tens of thousands of units are counted on every read."""
    pending = (
        sa.select(CoverageChange.unit_id, sa.func.count().label("rows"))
        .group_by(CoverageChange.unit_id)
        .subquery("pending")
    )
    every_folded = (
        sa.select(CoverageChangeTotal.folded)
        .where(CoverageChangeTotal.unit_id == EVERY_UNIT)
        .scalar_subquery()
    )
    every_pending = (
        sa.select(sa.func.count())
        .select_from(CoverageChange)
        .where(CoverageChange.unit_id == EVERY_UNIT)
        .scalar_subquery()
    )
    changes = sa.cast(
        sa.func.coalesce(CoverageChangeTotal.folded, 0)
        + sa.func.coalesce(pending.c.rows, 0)
        + sa.func.coalesce(every_folded, 0)
        + every_pending,
        sa.BigInteger,
    )
    return (
        sa.select(Unit.id, changes.label("changes"))
        .select_from(Unit)
        .outerjoin(CoverageChangeTotal, CoverageChangeTotal.unit_id == Unit.id)
        .outerjoin(pending, pending.c.unit_id == Unit.id)
        .where(*selection)
    )


def _dated_fresh(today: date) -> ColumnElement[bool]:
    """A cached row's dates allow it on ``today``: today's row of today, or a row of a date
    that was already past when it was computed."""
    cached = CoverageUnitCache
    day = sa.literal(today, sa.Date)
    return sa.and_(
        cached.computed_for <= day,
        sa.or_(cached.as_of < cached.computed_for, cached.as_of == day),
    )


def stale_units(
    variant: str, days: Sequence[date], today: date, selection: Sequence[ColumnElement[bool]]
) -> sa.Select[tuple[int, date, int]]:
    """(unit id, date, change count) of the chosen units whose cached row of ``variant`` on
    one of ``days`` is missing or stale on ``today``: one index probe per unit and date."""
    counted = change_counts(selection).subquery("counted")
    cached = CoverageUnitCache
    dates = dates_table(days, "cache_days")
    return (
        sa.select(counted.c.id, dates.c.day, counted.c.changes)
        .select_from(counted)
        .join(dates, sa.true())
        .outerjoin(
            cached,
            sa.and_(
                cached.variant == variant,
                cached.as_of == dates.c.day,
                cached.unit_id == counted.c.id,
            ),
        )
        .where(
            sa.or_(
                cached.unit_id.is_(None),
                cached.changes_seen != counted.c.changes,
                sa.not_(_dated_fresh(today)),
            ),
        )
    )


def units_now(selection: Sequence[ColumnElement[bool]]) -> sa.Subquery:
    """The chosen units now, in one row: how many (``units``) and their change counts summed
    (``changes``), what :func:`all_fresh` and :func:`fresh_days` hold the cached rows to, and
    their ids summed (``ids``), which with the other two a summary is held to."""
    counted = change_counts(selection).subquery("counted")
    return (
        sa.select(
            sa.func.count().label("units"),
            sa.func.coalesce(sa.func.sum(counted.c.changes), 0).label("changes"),
            sa.func.coalesce(sa.func.sum(counted.c.id), 0).label("ids"),
        )
        .select_from(counted)
        .subquery("now")
    )


def all_fresh(
    variant: str, days: Sequence[date], today: date, selection: Sequence[ColumnElement[bool]]
) -> sa.Select[tuple[bool]]:
    """Whether every chosen unit's row of ``variant`` on each of ``days`` is fresh, in one
    statement of two aggregates and no probe per row (a dozen dates of tens of thousands of
    units are checked on every read of the trend).

    It rests on the counts only growing: a row stores a change count read in a snapshot,
    never more than its unit's count now. So the rows are all fresh iff every unit has a
    row on every date that its dates allow, and the sum of their stored counts equals the
    sum of the units' counts now, each once per date."""
    cached = CoverageUnitCache
    now = units_now(selection)
    rows = (
        sa.select(sa.func.count().label("rows"), sa.func.sum(cached.changes_seen).label("seen"))
        .select_from(cached)
        .join(Unit, Unit.id == cached.unit_id)
        .where(cached.variant == variant, cached.as_of.in_(days), _dated_fresh(today), *selection)
        .subquery("rows_cached")
    )
    n = len(days)
    return sa.select(
        sa.and_(
            rows.c.rows == now.c.units * n,
            sa.func.coalesce(rows.c.seen, 0) == now.c.changes * n,
        )
    ).select_from(now.join(rows, sa.true()))


def summed_with_freshness(
    variant: str,
    days: Sequence[date],
    today: date,
    selection: Sequence[ColumnElement[bool]],
    keys: Sequence[sa.SQLColumnExpression[Any]],
    sums: Sequence[sa.SQLColumnExpression[Any]],
    with_municipality: bool = False,
) -> sa.Select[Any]:
    """Per date and ``keys`` (columns of the unit, or of its municipality
    ``with_municipality``), the ``sums`` of the
    chosen units' rows of ``variant`` that ``today`` allows, with what :func:`all_fresh`
    compares: the rows' count and stored change counts, and the chosen units' count and
    change counts now (the same on every row), and their ids summed. Rows: (date, *keys,
    rows, seen, *sums, units, changes, ids). A fresh cache is then read in one pass over its
    rows rather than two (at a country's size, the trend's 260,000 rows were read once to
    check and once to sum)."""
    cached = CoverageUnitCache
    now = units_now(selection)
    query = sa.select(
        cached.as_of,
        *keys,
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(cached.changes_seen), 0),
        *sums,
    ).join(Unit, Unit.id == cached.unit_id)
    if with_municipality:
        query = query.join(Municipality, Municipality.id == Unit.municipality_id)
    summed = (
        query.where(
            cached.variant == variant, cached.as_of.in_(days), _dated_fresh(today), *selection
        )
        .group_by(cached.as_of, *keys)
        .subquery("summed")
    )
    return sa.select(summed, now.c.units, now.c.changes, now.c.ids).select_from(
        summed.join(now, sa.true())
    )


class TooManyStale(Exception):
    """More rows are stale than a request may compute (see :func:`stale_rows`' ``limit``)."""


def stale_rows(
    connection: Connection,
    variant: str,
    days: Sequence[date],
    today: date,
    selection: Sequence[ColumnElement[bool]],
    limit: int | None = None,
) -> list[tuple[int, date, int]]:
    """:func:`stale_units`' rows. For several dates the units are found first by comparing,
    per unit, its rows with its count (two scans, rather than an index probe per unit and
    date), and only theirs are probed. With ``limit``, :class:`TooManyStale` is raised as
    soon as more rows than that are known to be stale (each suspected unit has one at
    least), before probing twenty thousand units on twelve dates. A suspected unit without
    a row that its dates allow is stale on every date and needs no probe."""
    if len(days) == 1:
        return list(connection.execute(stale_units(variant, days, today, selection)).tuples())
    counts = dict(connection.execute(change_counts(selection)).tuples().all())
    cached = CoverageUnitCache
    rows = {
        unit_id: (n, low, high)
        for unit_id, n, low, high in connection.execute(
            sa.select(
                cached.unit_id,
                sa.func.count(),
                sa.func.min(cached.changes_seen),
                sa.func.max(cached.changes_seen),
            )
            .join(Unit, Unit.id == cached.unit_id)
            .where(
                cached.variant == variant, cached.as_of.in_(days), _dated_fresh(today), *selection
            )
            .group_by(cached.unit_id)
        )
    }
    suspects = [
        unit_id
        for unit_id, changes in counts.items()
        if rows.get(unit_id) != (len(days), changes, changes)
    ]
    if not suspects:
        return []
    if limit is not None and len(suspects) > limit:
        raise TooManyStale(f"more than {limit}")
    # A unit without a row that its dates allow is stale on every date, with its count read
    # above: only the others are probed (a cold cache: none).
    stale = [
        (unit_id, day, counts[unit_id])
        for unit_id in suspects
        if unit_id not in rows
        for day in days
    ]
    probed = [unit_id for unit_id in suspects if unit_id in rows]
    if probed:
        suspected = [among(Unit.id, probed, connection.dialect.name)]
        stale += connection.execute(stale_units(variant, days, today, suspected)).tuples()
    return stale


def fresh_days(
    variant: str, days: Sequence[date], today: date, selection: Sequence[ColumnElement[bool]]
) -> sa.Select[tuple[date]]:
    """The dates among ``days`` on which every chosen unit's row of ``variant`` is fresh, by
    :func:`all_fresh`'s reasoning applied to each date: one statement."""
    cached = CoverageUnitCache
    now = units_now(selection)
    rows = (
        sa.select(
            cached.as_of.label("as_of"),
            sa.func.count().label("rows"),
            sa.func.sum(cached.changes_seen).label("seen"),
        )
        .select_from(cached)
        .join(Unit, Unit.id == cached.unit_id)
        .where(cached.variant == variant, cached.as_of.in_(days), _dated_fresh(today), *selection)
        .group_by(cached.as_of)
        .subquery("rows_cached")
    )
    return (
        sa.select(rows.c.as_of)
        .select_from(rows.join(now, sa.true()))
        .where(rows.c.rows == now.c.units, sa.func.coalesce(rows.c.seen, 0) == now.c.changes)
    )
