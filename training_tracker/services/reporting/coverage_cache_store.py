"""Filling the coverage cache: recomputing the stale rows of some units and dates with the live
queries and storing them, and the nightly upkeep. :mod:`.coverage_cache` gives the whole
picture.

**Recomputing without races.** The stale rows are recomputed with the live queries narrowed
to their units and dates, reading the units' change counts and computing their numbers in ONE
snapshot: a REPEATABLE READ transaction of its own on PostgreSQL, one read transaction on
SQLite (WAL: a reader keeps its snapshot while others write). The numbers are stored with the
count read in that snapshot. A writer committing after the snapshot, even before the numbers
are stored, has added a row the snapshot did not count, so the stored row is stale at the next
read: never wrongly fresh, at worst recomputed once more. Two recomputations of the same unit
may store in either order, for the same reason. The stores of one variant take turns (an
advisory lock on PostgreSQL; SQLite has one writer), each replacing the units' rows whole.

**Upkeep.** :func:`warm_cache` (nightly job ``warm-coverage-cache`` after midnight, and
``flask reports warm-cache``) folds the log into the totals, drops the rows of dates the
report no longer shows, and recomputes every cached variant's stale rows of today's trend
dates, so users do not pay for the date having changed.
"""

from __future__ import annotations

import logging
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    CoverageChange,
    CoverageFillRequest,
    CoverageUnitCache,
    CoverageUnitCell,
    Employee,
    Unit,
)
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting.coverage_by_dates import ByDate, numbers_by_date
from training_tracker.services.reporting.coverage_cache_freshness import (
    TooManyStale,
    all_fresh,
    among,
    filters_of_variant,
    stale_rows,
    variant_of,
)
from training_tracker.services.reporting.coverage_facts import a_date
from training_tracker.services.reporting.coverage_live import big_read, grouped_numbers
from training_tracker.services.reporting.coverage_types import CoverageFilters, trend_days

log = logging.getLogger(__name__)

EVERYONE = ReportScope(True, frozenset(), frozenset())
COUNTS = ("required", "verified", "reported", "covered", "overdue", "exempt")
# Above this many units to recompute on several dates, their numbers come from one pass over
# the tables with the dates as columns (:mod:`.coverage_by_dates`); up to it, from the live
# query with the dates joined as rows. At 850,000 (12 dates, load 7.5): 1 unit 0.17 s in
# one pass against 0.04 s as rows, 20 units 0.35 against 0.21 s, 100 units 0.35 against
# 0.73 s, 300 units 0.75 against 3.15 s.
MANY_UNITS = 50
# After storing this many rows at once (a cold cache), PostgreSQL's statistics are renewed.
ANALYZE_AFTER_ROWS = 5_000
DEFAULT_VARIANT = "setting|c=|p="

CACHE = CoverageUnitCache.__table__
CELLS = CoverageUnitCell.__table__
REQUESTS = CoverageFillRequest.__table__


# --- recomputing --------------------------------------------------------------------------------


def engine_of(session: Session) -> Engine:
    """The engine ``session`` is bound to: the cache reads and stores on connections of its
    own, outside the session's transaction."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        raise TypeError(f"the coverage cache needs a session bound to an Engine, not {bind!r}")
    return bind


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose statements all read one consistent snapshot."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                # Compiling these one-off queries to machine code (JIT, planned for the big
                # tables) took seconds where running them takes milliseconds.
                connection.exec_driver_sql("SET LOCAL jit = off")
                yield connection
        else:
            # pysqlite would begin nothing before a SELECT: each would be its own snapshot.
            connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                connection.rollback()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction of its own. On SQLite it takes the write lock first (BEGIN
    IMMEDIATE), which a busy timeout waits for, rather than upgrading a read on its first
    write, which fails at once when someone committed in between."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            with connection.begin():
                yield connection
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()


def _live_numbers(
    connection: Connection,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
    units: ColumnElement[bool] | None,
) -> tuple[list[Any], list[Any]]:
    """The live counts of the units on each of ``days`` (None: every unit), grouped by date
    and unit: (cells, people rows), in one statement
    (:func:`~.coverage_live.grouped_numbers`)."""
    extra = [] if units is None else [units]
    return grouped_numbers(
        connection, EVERYONE, filters, today, today, Employee.unit_id, extra=extra, days=days
    )


def _numbers_by_date(
    connection: Connection,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
    units: ColumnElement[bool] | None,
) -> ByDate:
    """The numbers of many units on several dates, in one statement that reads the tables
    once (:func:`~.coverage_by_dates.numbers_by_date`)."""
    extra = [] if units is None else [units]
    with big_read(connection):
        return numbers_by_date(connection, filters, days, today, extra)


def _live_part(
    connection: Connection,
    filters: CoverageFilters,
    days: frozenset[date],
    today: date,
    units: list[int],
    chosen: ColumnElement[bool] | None,
) -> _Computed:
    """The numbers of ``units`` on ``days`` from :func:`_live_numbers`: its cells, and each
    unit's header numbers on each date (the sums of its cells)."""
    cells, rows = _live_numbers(connection, filters, sorted(days), today, chosen)
    cells = [
        [day, unit, course, *(int(n or 0) for n in sums)] for day, unit, course, *sums in cells
    ]
    numbers = {(day, unit_id): rest for day, unit_id, *rest in rows}
    totals: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
    for day, unit_id, _course_id, *counts in cells:
        total = totals[day, unit_id]
        total[0] += counts[REQUIRED]
        total[1] += counts[COVERED]
    headers = []
    for (day, unit_id), (people, trained, exempt_people, low, high) in numbers.items():
        required, covered = totals.get((day, unit_id), (0, 0))
        headers.append(
            [
                day,
                unit_id,
                *(int(n or 0) for n in (people, trained, exempt_people)),
                required,
                covered,
                low,
                high,
            ]
        )
    return _Computed(days, units, cells, headers)


def _units(connection: Connection) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(Unit)).scalar_one())


def _lock_key(variant: str) -> int:
    return zlib.crc32(f"coverage-cache:{variant}".encode())


@dataclass
class _Computed:
    """What one snapshot computed for some units on some dates."""

    days: frozenset[date]
    units: list[int]
    # date, unit, course, the six counts (int); iterated once
    cells: Iterable[Sequence[Any]]
    # date, unit, people, fully trained, exempt people, required, covered (int), min, max of
    # "awaiting reports count"; a unit and date not among them has nobody (zeros, None)
    headers: Iterable[Sequence[Any]]


def recompute(
    engine: Engine,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
    selection: Sequence[ColumnElement[bool]] = (),
    limit: int | None = None,
) -> int:
    """Recompute and store the rows of the chosen units on ``days`` that are stale for
    ``filters``' variant on ``today``; the number of rows (unit and date) recomputed. With
    ``limit``, raise :class:`TooManyStale` rather than compute more rows than that (a request
    on an empty or stale cache: the scheduler's fill job computes them).

    All is read in one snapshot: which rows are stale, then their numbers, one query per set
    of dates the units need (usually one or two: the units that changed need every date,
    the others today's only), whatever the number of units; many units on several dates (an
    empty cache) in one pass with the dates as columns. Then one write transaction."""
    variant = variant_of(filters)
    filters = filters_of_variant(variant) or CoverageFilters()  # only what the variant holds
    dialect = engine.dialect.name
    with _snapshot(engine) as connection:
        stale = stale_rows(connection, variant, days, today, selection, limit)
        if not stale:
            return 0
        if limit is not None and len(stale) > limit:
            raise TooManyStale(len(stale))
        seen: dict[int, int] = {}
        dates_of: dict[int, set[date]] = defaultdict(set)
        for unit_id, day, changes in stale:
            seen[unit_id] = int(changes)
            dates_of[unit_id].add(a_date(day))
        units_of: dict[frozenset[date], list[int]] = defaultdict(list)
        for unit_id, its_days in dates_of.items():
            units_of[frozenset(its_days)].append(unit_id)
        computed = []
        for unit_days, units in units_of.items():
            # Every unit (a cold cache, a new day): no list of 20,000 ids to look each
            # person's unit up in.
            everyone = (
                not selection and len(units) > MANY_UNITS and len(units) == _units(connection)
            )
            chosen = None if everyone else among(Employee.unit_id, units, dialect)
            ordered = sorted(unit_days)
            if len(units) > MANY_UNITS and len(unit_days) > 1:
                # Many units (a cold cache) on several dates: the dates as columns of one
                # pass over the tables (a list of dates joined to a whole country's rows got
                # a plan that ran for many minutes; date by date read them twelve times).
                found = _numbers_by_date(connection, filters, ordered, today, chosen)
                computed.append(_Computed(unit_days, units, found.cells(), found.headers()))
            else:
                computed.append(_live_part(connection, filters, unit_days, today, units, chosen))
    _store(engine, variant, today, seen, computed)
    if len(stale) >= ANALYZE_AFTER_ROWS:
        _analyze(engine)
    return len(stale)


def _store(
    engine: Engine,
    variant: str,
    today: date,
    seen: dict[int, int],
    computed: Sequence[_Computed],
) -> None:
    """Replace the rows of ``variant`` that one snapshot computed. The rows are made as they
    are written (a country's twelve dates are 800,000 of them)."""
    dialect = engine.dialect.name
    with writing(engine) as connection:
        if dialect == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(variant))))
        for part in computed:  # each part: all its units on all its dates
            for table in (CELLS, CACHE):
                connection.execute(
                    table.delete().where(
                        table.c.variant == variant,
                        table.c.as_of.in_(sorted(part.days)),
                        among(table.c.unit_id, part.units, dialect),
                    )
                )
        _insert(connection, CACHE, HEADER_COLUMNS, _headers(variant, today, seen, computed))
        _insert(connection, CELLS, CELL_COLUMNS, _cells(variant, computed))


# The columns :func:`_headers` and :func:`_cells` give, in their order.
HEADER_COLUMNS = (
    "variant",
    "as_of",
    "unit_id",
    "computed_for",
    "changes_seen",
    "people",
    "fully_trained",
    "exempt_people",
    "required",
    "covered",
    "counts_reported_min",
    "counts_reported_max",
)
CELL_COLUMNS = ("variant", "as_of", "unit_id", "course_id", *COUNTS)
REQUIRED, COVERED = (COUNTS.index(name) for name in ("required", "covered"))


def _cells(variant: str, computed: Sequence[_Computed]) -> Iterator[tuple[Any, ...]]:
    """The rows of :class:`CoverageUnitCell`, as :data:`CELL_COLUMNS`."""
    for part in computed:
        for day, unit_id, course_id, *counts in part.cells:
            yield (variant, day, unit_id, course_id, *counts)


def _headers(
    variant: str, today: date, seen: dict[int, int], computed: Sequence[_Computed]
) -> Iterator[tuple[Any, ...]]:
    """The rows of :class:`CoverageUnitCache`, as :data:`HEADER_COLUMNS`: one per unit and
    date of each part; a unit with nobody that day has zeros."""
    for part in computed:
        chosen = set(part.units)
        done: set[tuple[date, int]] = set()
        for day, unit_id, *numbers in part.headers:
            if unit_id in chosen:
                done.add((day, unit_id))
                yield (variant, day, unit_id, today, seen[unit_id], *numbers)
        for day in sorted(part.days):
            for unit_id in part.units:
                if (day, unit_id) not in done:
                    yield (variant, day, unit_id, today, seen[unit_id], 0, 0, 0, 0, 0, None, None)


# Rows per INSERT … VALUES batch on SQLite.
INSERT_BATCH = 5_000


def _insert(
    connection: Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Iterator[tuple[Any, ...]],
) -> None:
    """Insert ``rows`` (values of ``columns``) as they come: on PostgreSQL in one COPY (a
    country's fill is 800,000 rows, which COPY writes several times faster than INSERT
    batches), else in batches."""
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection  # psycopg's
        if driver is None:
            raise RuntimeError("the connection is closed")
        names = ", ".join(columns)
        with driver.cursor().copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    while batch := list(islice(rows, INSERT_BATCH)):
        connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in batch])


# --- upkeep -------------------------------------------------------------------------------------


@dataclass
class WarmReport:
    folded: int = 0  # change-log rows folded into the totals
    recomputed: dict[str, int] = field(default_factory=dict)  # variant → rows recomputed
    removed: int = 0  # cached rows of units that no longer exist or of dates not shown

    @property
    def rows(self) -> int:
        return sum(self.recomputed.values())


def _analyze(engine: Engine) -> None:
    """Fresh statistics for the cache's own reads, on PostgreSQL: autovacuum may not have come
    by since the tables filled up (or be off), and a planner that takes them for nearly empty
    nest-loops over them (the country's page took twice as long)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("coverage_unit_cache", "coverage_unit_cells", "coverage_change_totals"):
            connection.exec_driver_sql(f"ANALYZE {table}")


def compact(engine: Engine) -> int:
    """Fold the change log into the per-unit totals; the number of rows folded.

    Atomic, so a unit's count (total + rows) is the same in every snapshot before and after.
    On PostgreSQL one statement (DELETE … RETURNING feeding the upsert) at READ COMMITTED:
    it folds exactly the rows it deleted, and a second compaction running at the same time
    waits for those rows and then skips them, where REPEATABLE READ would fail it. On SQLite
    one write transaction, which nobody writes beside."""
    if engine.dialect.name == "postgresql":
        with writing(engine) as connection:
            return int(
                connection.execute(
                    sa.text(
                        "WITH gone AS (DELETE FROM coverage_changes RETURNING unit_id),"
                        " counted AS (SELECT unit_id, count(*) AS n FROM gone GROUP BY unit_id),"
                        " upserted AS ("
                        "  INSERT INTO coverage_change_totals (unit_id, folded)"
                        "  SELECT unit_id, n FROM counted"
                        "  ON CONFLICT (unit_id) DO UPDATE"
                        "  SET folded = coverage_change_totals.folded + EXCLUDED.folded"
                        "  RETURNING 1)"
                        " SELECT coalesce(sum(n), 0) FROM counted"
                    )
                ).scalar_one()
            )
    with writing(engine) as connection:
        folded = int(
            connection.execute(sa.select(sa.func.count()).select_from(CoverageChange)).scalar_one()
        )
        connection.execute(
            sa.text(
                "INSERT INTO coverage_change_totals (unit_id, folded)"
                " SELECT unit_id, count(*) FROM coverage_changes WHERE true GROUP BY unit_id"
                " ON CONFLICT (unit_id) DO UPDATE"
                " SET folded = coverage_change_totals.folded + excluded.folded"
            )
        )
        connection.execute(sa.delete(CoverageChange))
        return folded


def warm_cache(session: Session, today: date | None = None) -> WarmReport:
    """Compact the change log, drop the rows of units that are gone and of dates the report
    no longer shows, and recompute every stale row of today's trend dates (today and the
    month ends before it) of every cached variant (and of the default one, even before
    anyone asked). Each variant in one snapshot: usually every unit on today's date and the
    units that changed on every date; an empty cache's dates in one pass (see
    :func:`recompute`)."""
    engine = engine_of(session)
    today = today or clock.today()
    days = trend_days(today)
    report = WarmReport(folded=compact(engine))
    with writing(engine) as connection:
        for table in (CACHE, CELLS):
            gone = sa.or_(
                ~sa.exists().where(Unit.id == table.c.unit_id), table.c.as_of.not_in(days)
            )
            removed = connection.execute(table.delete().where(gone)).rowcount
            if table is CACHE:
                report.removed = max(removed, 0)
    with engine.connect() as connection:
        cached = connection.execute(sa.select(CACHE.c.variant).distinct()).scalars().all()
    for variant in sorted({DEFAULT_VARIANT, *cached}):
        filters = filters_of_variant(variant)
        if filters is None:  # not a key this module makes: drop it
            with writing(engine) as connection:
                for table in (CELLS, CACHE):
                    connection.execute(table.delete().where(table.c.variant == variant))
            continue
        report.recomputed[variant] = recompute(engine, filters, days, today)
    _analyze(engine)
    return report


def request_fill(engine: Engine, filters: CoverageFilters, today: date) -> None:
    """Ask the fill job to compute ``filters``' variant (see :func:`fill_cache`)."""
    variant = variant_of(filters)
    with writing(engine) as connection:
        exists = connection.execute(
            sa.select(REQUESTS.c.variant).where(REQUESTS.c.variant == variant)
        ).first()
        if exists is None:
            connection.execute(REQUESTS.insert().values(variant=variant, requested_on=today))


def fill_cache(session: Session, today: date | None = None) -> dict[str, int]:
    """Fold the change log into the totals (:func:`compact`), then recompute the stale rows
    of today's trend dates of the default variant, of every variant readers asked for
    (:func:`request_fill`) and of every cached one; the rows recomputed per variant. What a
    request found too much to compute (an empty cache after a restore, the morning before
    the nightly warm-up) is filled here, by the scheduler, a minute later at most. A variant
    whose rows are all fresh costs one query."""
    engine = engine_of(session)
    today = today or clock.today()
    days = trend_days(today)
    with engine.connect() as connection:
        logged = connection.execute(sa.select(sa.exists().select_from(CoverageChange))).scalar()
    if logged:  # every read counts the log's rows per unit: keep it short
        compact(engine)
    with engine.connect() as connection:
        requested = connection.execute(sa.select(REQUESTS.c.variant)).scalars().all()
        cached = connection.execute(sa.select(CACHE.c.variant).distinct()).scalars().all()
    filled: dict[str, int] = {}
    for variant in sorted({DEFAULT_VARIANT, *requested, *cached}):
        filters = filters_of_variant(variant)
        if filters is not None:
            with engine.connect() as connection:
                fresh = connection.execute(all_fresh(variant, days, today, [])).scalar()
            if not fresh:  # every date in one snapshot: a cold cache's in one statement
                filled[variant] = recompute(engine, filters, days, today)
        if variant in requested:
            with writing(engine) as connection:
                connection.execute(REQUESTS.delete().where(REQUESTS.c.variant == variant))
    return filled


def describe_warm(report: WarmReport) -> str:
    """``42 rows recomputed (setting|c=|p= 40, verified|c=|p= 2), 310 changes folded``: a
    row is one unit on one date."""
    each = ", ".join(f"{variant} {n}" for variant, n in sorted(report.recomputed.items()))
    text = f"{report.rows} rows recomputed ({each}), {report.folded} changes folded"
    if report.removed:
        text += f", {report.removed} rows of removed units or past dates dropped"
    return text
