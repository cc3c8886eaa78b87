"""The coverage report and its monthly trend, summed from per-unit, per-date numbers that are
kept exactly equal to the live computation
(:func:`training_tracker.services.reporting.coverage.coverage_table_live`).

**Why per unit and date.** Every number of a coverage table is a sum over people, and each
person is in one unit: people, fully trained, exempt people and every :class:`~.coverage.Cell`
count add up over units (the "awaiting reports count" flag is a min and a max, which combine
too). So the live result is stored per unit, report date (``as_of``) and filter *variant*
(count mode, course, provider: the filters that change a unit's numbers other than by
choosing units, see :func:`variant_of`); the scope and the municipality, sector and unit
filters only choose which units are summed. A table is then three small queries: which chosen
units are stale, and two GROUP BYs over the cached rows joined to the units (labels and
sectors are read live from there). The trend is the same numbers on twelve dates (the month
ends, see :func:`~.coverage.trend_days`): one GROUP BY over the units' totals.

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

**Recomputing without races.** The stale rows are recomputed with the live queries narrowed
to their units and dates, reading the units' change counts and computing their numbers in ONE
snapshot: a REPEATABLE READ transaction of its own on PostgreSQL, one read transaction on
SQLite (WAL: a reader keeps its snapshot while others write). The numbers are stored with the
count read in that snapshot. A writer committing after the snapshot, even before the numbers
are stored, has added a row the snapshot did not count, so the stored row is stale at the next
read: never wrongly fresh, at worst recomputed once more. Two recomputations of the same unit
may store in either order, for the same reason. The stores of one variant take turns (an
advisory lock on PostgreSQL; SQLite has one writer), each replacing the units' rows whole.

Each unit's numbers are those of a moment during the call (the stale ones: of the snapshot),
as a live query's are of its own moment.

**Assumption.** A person's municipality is their unit's (services.employees and the import
enforce it): the cache chooses and groups units by the unit's municipality where the live
query reads the person's.

**What stays live.** A session that holds writes it has not committed (the cache knows
committed data only). The other views of the report page (the people of a unit, new hires)
are live queries.

**Upkeep.** :func:`warm_cache` (nightly job ``warm-coverage-cache`` after midnight, and
``flask reports warm-cache``) folds the log into the totals, drops the rows of dates the
report no longer shows, and recomputes every cached variant's stale rows of today's trend
dates, so users do not pay for the date having changed.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    CoverageChange,
    CoverageChangeTotal,
    CoverageUnitCache,
    CoverageUnitCell,
    Employee,
    Municipality,
    Unit,
)
from training_tracker.models.coverage_cache import EVERY_UNIT
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting.coverage import (
    MODES,
    CoverageFilters,
    CoverageTable,
    assemble_table,
    coverage_table_live,
    dates_table,
    grouped_counts,
    trend_days,
)

log = logging.getLogger(__name__)

EVERYONE = ReportScope(True, frozenset(), frozenset())
_COUNTS = ("required", "verified", "reported", "covered", "overdue", "exempt")
# Above this many units to recompute, their dates are computed one query per date.
MANY_UNITS = 200
# After storing this many rows at once (a cold cache), PostgreSQL's statistics are renewed.
ANALYZE_AFTER_ROWS = 5_000
DEFAULT_VARIANT = "setting|c=|p="

_cache = CoverageUnitCache.__table__
_cells = CoverageUnitCell.__table__


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
        return bool(connection.connection.dbapi_connection.in_transaction)  # type: ignore[union-attr]
    if dialect == "postgresql":
        return bool(session.scalar(sa.text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")))
    return True  # no way to tell: stay live


# --- staleness ----------------------------------------------------------------------------------


def _among(column: ColumnElement[int], ids: Sequence[int], dialect: str) -> ColumnElement[bool]:
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
    counted = change_counts(selection).subquery("counted")
    cached = CoverageUnitCache
    now = (
        sa.select(
            sa.func.count().label("units"),
            sa.func.coalesce(sa.func.sum(counted.c.changes), 0).label("changes"),
        )
        .select_from(counted)
        .subquery("now")
    )
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


def _stale_rows(
    connection: Connection,
    variant: str,
    days: Sequence[date],
    today: date,
    selection: Sequence[ColumnElement[bool]],
) -> list[tuple[int, date, int]]:
    """:func:`stale_units`' rows. For several dates the units are found first by comparing,
    per unit, its rows with its count (two scans, rather than an index probe per unit and
    date), and only theirs are probed."""
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
    among = [_among(Unit.id, suspects, connection.dialect.name)]
    return list(connection.execute(stale_units(variant, days, today, among)).tuples())


# --- recomputing --------------------------------------------------------------------------------


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
def _writing(engine: Engine) -> Iterator[Connection]:
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
    units: ColumnElement[bool],
) -> tuple[list[Any], list[Any]]:
    """The live counts of the units on each of ``days``, grouped by date and unit: (cells,
    people rows). One statement: both halves read one materialised set of facts, computed
    once."""
    cells, rows = grouped_counts(
        EVERYONE,
        filters,
        today,
        today,
        Employee.unit_id,
        [],
        extra=[units],
        materialized=True,
        days=days,
    )
    c, r = (list(query.subquery().c) for query in (cells, rows))
    both = sa.union_all(
        sa.select(sa.literal(0).label("kind"), *c),  # date, unit, course, the six counts
        sa.select(sa.literal(1), r[0], r[1], sa.null(), *r[2:], sa.null()),  # date, unit, …
    )
    found: tuple[list[Any], list[Any]] = ([], [])
    for kind, day, *values in connection.execute(both):
        found[kind].append([_a_date(day), *(values if kind == 0 else [values[0], *values[2:7]])])
    return found


def _a_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _lock_key(variant: str) -> int:
    return zlib.crc32(f"coverage-cache:{variant}".encode())


@dataclass
class _Computed:
    """What one snapshot computed for some units on some dates."""

    days: frozenset[date]
    units: list[int]
    cells: list[Any]  # date, unit, course, the six counts
    rows: list[Any]  # date, unit, people, fully trained, exempt people, min, max


def recompute(
    engine: Engine,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
    selection: Sequence[ColumnElement[bool]] = (),
) -> int:
    """Recompute and store the rows of the chosen units on ``days`` that are stale for
    ``filters``' variant on ``today``; the number of rows (unit and date) recomputed.

    All is read in one snapshot: which rows are stale, then their numbers, one query per set
    of dates the units need (usually one or two: the units that changed need every date,
    the others today's only), whatever the number of units. Then one write transaction."""
    variant = variant_of(filters)
    filters = filters_of_variant(variant) or CoverageFilters()  # only what the variant holds
    dialect = engine.dialect.name
    with _snapshot(engine) as connection:
        stale = _stale_rows(connection, variant, days, today, selection)
        if not stale:
            return 0
        seen: dict[int, int] = {}
        dates_of: dict[int, set[date]] = defaultdict(set)
        for unit_id, day, changes in stale:
            seen[unit_id] = int(changes)
            dates_of[unit_id].add(_a_date(day))
        units_of: dict[frozenset[date], list[int]] = defaultdict(list)
        for unit_id, unit_days in dates_of.items():
            units_of[frozenset(unit_days)].append(unit_id)
        computed = []
        for unit_days, units in units_of.items():
            # A few units' dates in one query; many units (a cold cache) date by date, each
            # date a literal the planner can estimate with (joined as a list of dates, a
            # whole country's month ends got a plan that ran for many minutes).
            batches = [sorted(unit_days)]
            if len(units) > MANY_UNITS and len(unit_days) > 1:
                batches = [[day] for day in sorted(unit_days)]
            for batch in batches:
                cells, rows = _live_numbers(
                    connection, filters, batch, today, _among(Employee.unit_id, units, dialect)
                )
                computed.append(_Computed(frozenset(batch), units, cells, rows))
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
    """Replace the rows of ``variant`` that one snapshot computed."""
    headers: list[dict[str, Any]] = []
    cell_rows: list[dict[str, Any]] = []
    for part in computed:
        numbers = {(day, unit_id): rest for day, unit_id, *rest in part.rows}
        totals: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
        for day, unit_id, course_id, *sums in part.cells:
            counts = dict(zip(_COUNTS, (int(value or 0) for value in sums), strict=True))
            cell_rows.append(
                {"variant": variant, "as_of": day, "unit_id": unit_id, "course_id": course_id}
                | counts
            )
            total = totals[day, unit_id]
            total[0] += counts["required"]
            total[1] += counts["covered"]
        for day in part.days:
            for unit_id in part.units:
                people, trained, exempt_people, low, high = numbers.get(
                    (day, unit_id), (0, 0, 0, None, None)
                )
                required, covered = totals.get((day, unit_id), (0, 0))
                headers.append(
                    {
                        "variant": variant,
                        "as_of": day,
                        "unit_id": unit_id,
                        "computed_for": today,
                        "changes_seen": seen[unit_id],
                        "people": int(people or 0),
                        "fully_trained": int(trained or 0),
                        "exempt_people": int(exempt_people or 0),
                        "required": required,
                        "covered": covered,
                        "counts_reported_min": low,
                        "counts_reported_max": high,
                    }
                )
    dialect = engine.dialect.name
    with _writing(engine) as connection:
        if dialect == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(variant))))
        for part in computed:  # each part: all its units on all its dates
            for table in (_cells, _cache):
                connection.execute(
                    table.delete().where(
                        table.c.variant == variant,
                        table.c.as_of.in_(sorted(part.days)),
                        _among(table.c.unit_id, part.units, dialect),
                    )
                )
        connection.execute(_cache.insert(), headers)
        if cell_rows:
            connection.execute(_cells.insert(), cell_rows)


# --- reading ------------------------------------------------------------------------------------


def _sum_grouping(group_by: str) -> tuple[ColumnElement[Any], list[ColumnElement[Any]]]:
    """As coverage's grouping, read from the unit."""
    if group_by == "municipality":
        return Unit.municipality_id, [Municipality.name]
    if group_by == "sector":
        return Unit.sector, []
    if group_by == "unit":
        return Unit.id, [Unit.name, Municipality.name]
    raise ValueError(f"unknown grouping: {group_by}")


def _fresh(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
) -> bool:
    """Make the chosen units' rows on ``days`` fresh; False when that failed (the caller
    then answers live)."""
    selection = unit_selection(scope, filters)
    variant = variant_of(filters)
    if session.execute(all_fresh(variant, days, today, selection)).scalar():
        return True
    try:
        recompute(session.get_bind(), filters, days, today, selection)  # type: ignore[arg-type]
    except sa.exc.SQLAlchemyError:
        # A store that could not be made (a lock not granted in time) costs speed only.
        log.exception("coverage cache: recomputing %s failed; answering live", variant)
        return False
    return True


def cached_table(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str,
    today: date,
) -> CoverageTable:
    """:func:`~.coverage.coverage_table` on the filters' date (today or a past one):
    recompute the chosen units that are stale, then sum the cached rows. Four queries when
    nothing is stale (five on PostgreSQL, with the check for uncommitted writes), about
    fifteen when something is, whatever the number of units or people."""
    day = filters.day()
    if not _fresh(session, scope, filters, [day], today):
        return coverage_table_live(session, scope, filters, group_by)
    key, names = _sum_grouping(group_by)
    variant = variant_of(filters)
    selection = unit_selection(scope, filters)
    cell, head = CoverageUnitCell, CoverageUnitCache
    cells = (
        sa.select(key, cell.course_id, *(sa.func.sum(getattr(cell, name)) for name in _COUNTS))
        .select_from(cell)
        .join(Unit, Unit.id == cell.unit_id)
        .where(cell.variant == variant, cell.as_of == day, *selection)
        .group_by(key, cell.course_id)
    )
    rows = (
        sa.select(
            key,
            *names,
            sa.func.sum(head.people),
            sa.func.sum(head.fully_trained),
            sa.func.sum(head.exempt_people),
            sa.func.min(head.counts_reported_min),
            sa.func.max(head.counts_reported_max),
        )
        .select_from(head)
        .join(Unit, Unit.id == head.unit_id)
        .join(Municipality, Municipality.id == Unit.municipality_id)
        .where(head.variant == variant, head.as_of == day, head.people > 0, *selection)
        .group_by(key, *names)
    )
    return assemble_table(
        session, day, filters, group_by, session.execute(cells), session.execute(rows)
    )


def cached_trend(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
) -> dict[date, tuple[int, int]] | None:
    """Per date, (required, covered) of all courses together, as
    :func:`~.coverage.coverage_trend` counts them; dates with nobody required are left out.
    None when the stale rows could not be recomputed (the caller then answers live). Two
    queries when nothing is stale (three on PostgreSQL)."""
    if not _fresh(session, scope, filters, days, today):
        return None
    head = CoverageUnitCache
    query = sa.select(head.as_of, sa.func.sum(head.required), sa.func.sum(head.covered)).where(
        head.variant == variant_of(filters),
        head.as_of.in_(days),
    )
    selection = unit_selection(scope, filters)
    if selection:  # everyone's trend needs no unit: none is left out
        query = query.join(Unit, Unit.id == head.unit_id).where(*selection)
    return {
        _a_date(day): (int(required or 0), int(covered or 0))
        for day, required, covered in session.execute(query.group_by(head.as_of))
    }


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
        with _writing(engine) as connection:
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
    with _writing(engine) as connection:
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
    anyone asked). One date at a time, so memory stays that of one date's rows."""
    engine: Engine = session.get_bind()  # type: ignore[assignment]
    today = today or clock.today()
    days = trend_days(today)
    report = WarmReport(folded=compact(engine))
    with _writing(engine) as connection:
        for table in (_cache, _cells):
            gone = sa.or_(
                ~sa.exists().where(Unit.id == table.c.unit_id), table.c.as_of.not_in(days)
            )
            removed = connection.execute(table.delete().where(gone)).rowcount
            if table is _cache:
                report.removed = max(removed, 0)
    with engine.connect() as connection:
        cached = connection.execute(sa.select(_cache.c.variant).distinct()).scalars().all()
    for variant in sorted({DEFAULT_VARIANT, *cached}):
        filters = filters_of_variant(variant)
        if filters is None:  # not a key this module makes: drop it
            with _writing(engine) as connection:
                for table in (_cells, _cache):
                    connection.execute(table.delete().where(table.c.variant == variant))
            continue
        report.recomputed[variant] = sum(recompute(engine, filters, [day], today) for day in days)
    _analyze(engine)
    return report


def describe_warm(report: WarmReport) -> str:
    """``42 rows recomputed (setting|c=|p= 40, verified|c=|p= 2), 310 changes folded``: a
    row is one unit on one date."""
    each = ", ".join(f"{variant} {n}" for variant, n in sorted(report.recomputed.items()))
    text = f"{report.rows} rows recomputed ({each}), {report.folded} changes folded"
    if report.removed:
        text += f", {report.removed} rows of removed units or past dates dropped"
    return text
