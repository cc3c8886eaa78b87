"""The coverage report for today, summed from per-unit numbers that are kept exactly equal to
the live computation (:func:`training_tracker.services.coverage.coverage_table_live`).

**Why per unit.** Every number of a coverage table is a sum over people, and each person is
in one unit: people, fully trained, exempt people and every :class:`~.coverage.Cell` count
add up over units (the "awaiting reports count" flag is a min and a max, which combine too).
So the live result is stored per unit and filter *variant* (count mode, course, provider: the
filters that change a unit's numbers other than by choosing units, see :func:`variant_of`);
the scope and the municipality, sector and unit filters only choose which units are summed.
A table is then three small queries: which chosen units are stale, and two GROUP BYs over the
cached rows joined to the units (labels and sectors are read live from there).

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
is fresh iff

- ``changes_seen`` equals the unit's change count now, and
- ``computed_for <= today < valid_until`` (NULL: no end), ``valid_until`` being the first day
  after ``computed_for`` on which a date alone could move one of the unit's numbers: a hire or
  end date, a due date or expiry the day after (overdue means due before the report date), an
  expiry, and the days of assigned/removed/exempted/reported/reviewed timestamps and of
  completions that lie ahead (:func:`_valid_until`). Conservative: every person, assignment
  and completion of the unit counts, whether or not it is in today's population.

**Recomputing without races.** The stale units are recomputed with the live queries narrowed
to them, reading their change counts and computing their numbers in ONE snapshot: a
REPEATABLE READ transaction of its own on PostgreSQL, one read transaction on SQLite (WAL: a
reader keeps its snapshot while others write). The numbers are stored with the count read in
that snapshot. A writer committing after the snapshot, even before the numbers are stored,
has added a row the snapshot did not count, so the stored row is stale at the next read:
never wrongly fresh, at worst recomputed once more. Two recomputations of the same unit may
store in either order, for the same reason. The stores of one variant take turns (an
advisory lock on PostgreSQL; SQLite has one writer), each replacing the units' rows whole.

Each unit's numbers are those of a moment during the call (the stale ones: of the snapshot),
as a live query's are of its own moment.

**Assumption.** A person's municipality is their unit's (services.employees and the import
enforce it): the cache chooses and groups units by the unit's municipality where the live
query reads the person's.

**What stays live.** Past dates (``as_of`` before today), and a session that holds writes it
has not committed (the cache knows committed data only). The other views of the report page
(the trend, the people of a unit, new hires) are live queries as before.

**Upkeep.** :func:`warm_cache` (nightly job ``warm-coverage-cache`` after midnight, and
``flask reports warm-cache``) folds the log into the totals and recomputes every cached
variant's stale units, so users do not pay for the date having changed.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    Completion,
    CoverageChange,
    CoverageChangeTotal,
    CoverageUnitCache,
    CoverageUnitCell,
    Employee,
    Municipality,
    Unit,
)
from training_tracker.models.coverage_cache import EVERY_UNIT
from training_tracker.services.coverage import (
    MODES,
    CoverageFilters,
    CoverageTable,
    assemble_table,
    coverage_table_live,
    grouped_counts,
)
from training_tracker.services.reminders import as_date
from training_tracker.services.scope import ReportScope

log = logging.getLogger(__name__)

EVERYONE = ReportScope(True, frozenset(), frozenset())
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


def stale_units(
    variant: str, today: date, selection: Sequence[ColumnElement[bool]]
) -> sa.Select[tuple[int, int]]:
    """(unit id, change count) of the chosen units whose cached row for ``variant`` is
    missing or stale on ``today``. A unit's change count: its compacted total, its rows in
    the log, and the same of "every unit". Joins rather than a subquery per unit: tens of
    thousands of units are checked on every read."""
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
    cached = CoverageUnitCache
    day = sa.literal(today, sa.Date)
    return (
        sa.select(Unit.id, changes.label("changes"))
        .select_from(Unit)
        .outerjoin(CoverageChangeTotal, CoverageChangeTotal.unit_id == Unit.id)
        .outerjoin(pending, pending.c.unit_id == Unit.id)
        .outerjoin(cached, sa.and_(cached.unit_id == Unit.id, cached.variant == variant))
        .where(
            *selection,
            sa.or_(
                cached.unit_id.is_(None),
                cached.changes_seen != changes,
                cached.computed_for > day,
                cached.valid_until <= day,
            ),
        )
    )


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
    connection: Connection, filters: CoverageFilters, today: date, units: ColumnElement[bool]
) -> tuple[list[Any], list[Any]]:
    """The live counts of the units, grouped by unit: (cells, people rows). One statement:
    both halves read one materialised set of facts, computed once."""
    cells, rows = grouped_counts(
        EVERYONE, filters, today, today, Employee.unit_id, [], extra=[units], materialized=True
    )
    c, r = (list(query.subquery().c) for query in (cells, rows))
    both = sa.union_all(
        sa.select(sa.literal(0).label("kind"), *c),  # unit, course, the six counts
        sa.select(sa.literal(1), r[0], sa.null(), *r[1:], sa.null()),  # unit, people, …
    )
    found: tuple[list[Any], list[Any]] = ([], [])
    for kind, *values in connection.execute(both):
        found[kind].append(values if kind == 0 else [values[0], *values[2:7]])
    return found


def _valid_until(
    connection: Connection, today: date, units: ColumnElement[bool]
) -> dict[int, date]:
    """Per unit, the first day after ``today`` on which a date alone could change one of
    its numbers (units with no such day are left out: their numbers hold until a change).
    One query: per table, the earliest such date of each kind."""
    day = sa.literal(today, sa.Date)
    nothing = sa.cast(sa.null(), sa.Date)

    def after(value: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.func.min(sa.case((value > day, value)))

    def from_today(value: ColumnElement[Any]) -> ColumnElement[Any]:
        # For "before D" rules (overdue, an expiry pushing the due date): the day after.
        return sa.func.min(sa.case((value >= day, value)))

    people = (
        sa.select(
            Employee.unit_id,
            after(Employee.hire_date),
            after(Employee.end_date),
            nothing,
            nothing,
            nothing,
        )
        .where(units)
        .group_by(Employee.unit_id)
    )
    assignments = (
        sa.select(
            Employee.unit_id,
            after(as_date(Assignment.assigned_at)),
            after(as_date(Assignment.removed_at)),
            after(as_date(Assignment.exempted_at)),
            nothing,
            from_today(Assignment.due_date),
        )
        .select_from(Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(units)
        .group_by(Employee.unit_id)
    )
    completions = (
        sa.select(
            Employee.unit_id,
            after(Completion.completed_on),
            after(as_date(Completion.reported_at)),
            after(as_date(Completion.reviewed_at)),
            after(Completion.expires_on),
            from_today(Completion.expires_on),
        )
        .select_from(Completion)
        .join(Employee, Employee.id == Completion.employee_id)
        .where(units)
        .group_by(Employee.unit_id)
    )
    valid: dict[int, date] = {}
    for unit_id, *same_day, day_before in connection.execute(
        sa.union_all(people, assignments, completions)
    ):
        days = [_a_date(value) for value in same_day if value is not None]
        if day_before is not None:
            days.append(_a_date(day_before) + timedelta(days=1))
        if days:
            first = min(days)
            valid[unit_id] = min(valid.get(unit_id, first), first)
    return valid


def _a_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _lock_key(variant: str) -> int:
    return zlib.crc32(f"coverage-cache:{variant}".encode())


def recompute(
    engine: Engine,
    filters: CoverageFilters,
    today: date,
    selection: Sequence[ColumnElement[bool]] = (),
) -> int:
    """Recompute and store the chosen units that are stale for ``filters``' variant on
    ``today``; the number of units recomputed. Three queries read in one snapshot, then four
    writes, whatever the number of units."""
    variant = variant_of(filters)
    filters = filters_of_variant(variant) or CoverageFilters()  # only what the variant holds
    dialect = engine.dialect.name
    with _snapshot(engine) as connection:
        seen = dict(connection.execute(stale_units(variant, today, selection)).tuples().all())
        if not seen:
            return 0
        units = _among(Employee.unit_id, list(seen), dialect)
        cells, rows = _live_numbers(connection, filters, today, units)
        valid = _valid_until(connection, today, units)
    _store(engine, variant, today, seen, cells, rows, valid)
    return len(seen)


def _store(
    engine: Engine,
    variant: str,
    today: date,
    seen: dict[int, int],
    cells: Iterable[Any],
    rows: Iterable[Any],
    valid: dict[int, date],
) -> None:
    """Replace the units' rows of ``variant`` with what one snapshot computed."""
    numbers = {row[0]: row[1:] for row in rows}
    headers = []
    for unit_id, changes in seen.items():
        people, trained, exempt_people, low, high = numbers.get(unit_id, (0, 0, 0, None, None))
        headers.append(
            {
                "unit_id": unit_id,
                "variant": variant,
                "computed_for": today,
                "valid_until": valid.get(unit_id),
                "changes_seen": int(changes),
                "people": int(people or 0),
                "fully_trained": int(trained or 0),
                "exempt_people": int(exempt_people or 0),
                "counts_reported_min": low,
                "counts_reported_max": high,
            }
        )
    cell_rows = [
        {
            "unit_id": unit_id,
            "variant": variant,
            "course_id": course_id,
            **dict(
                zip(
                    ("required", "verified", "reported", "covered", "overdue", "exempt"),
                    (int(value or 0) for value in sums),
                    strict=True,
                )
            ),
        }
        for unit_id, course_id, *sums in cells
    ]
    dialect = engine.dialect.name
    with _writing(engine) as connection:
        if dialect == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(variant))))
        for table in (_cells, _cache):
            connection.execute(
                table.delete().where(
                    table.c.variant == variant, _among(table.c.unit_id, list(seen), dialect)
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


def cached_table(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str,
    today: date,
) -> CoverageTable:
    """:func:`~.coverage.coverage_table` for ``today``: recompute the chosen units that are
    stale, then sum the cached rows. Four queries when nothing is stale (five on PostgreSQL,
    with the check for uncommitted writes), about fifteen when something is, whatever the
    number of units or people."""
    key, names = _sum_grouping(group_by)
    variant = variant_of(filters)
    selection = unit_selection(scope, filters)
    if session.execute(stale_units(variant, today, selection).limit(1)).first() is not None:
        try:
            recompute(session.get_bind(), filters, today, selection)  # type: ignore[arg-type]
        except sa.exc.SQLAlchemyError:
            # A store that could not be made (a lock not granted in time) costs speed only.
            log.exception("coverage cache: recomputing %s failed; answering live", variant)
            return coverage_table_live(session, scope, filters, group_by)
    cell, head = CoverageUnitCell, CoverageUnitCache
    cells = (
        sa.select(
            key,
            cell.course_id,
            *(
                sa.func.sum(column)
                for column in (
                    cell.required,
                    cell.verified,
                    cell.reported,
                    cell.covered,
                    cell.overdue,
                    cell.exempt,
                )
            ),
        )
        .select_from(cell)
        .join(Unit, Unit.id == cell.unit_id)
        .where(cell.variant == variant, *selection)
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
        .where(head.variant == variant, head.people > 0, *selection)
        .group_by(key, *names)
    )
    return assemble_table(
        session, today, filters, group_by, session.execute(cells), session.execute(rows)
    )


# --- upkeep -------------------------------------------------------------------------------------


@dataclass
class WarmReport:
    folded: int = 0  # change-log rows folded into the totals
    recomputed: dict[str, int] = field(default_factory=dict)  # variant → units recomputed
    removed: int = 0  # cached rows of units that no longer exist

    @property
    def units(self) -> int:
        return sum(self.recomputed.values())


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
    """Compact the change log, drop the rows of units that are gone, and recompute every
    stale unit of every cached variant (and of the default one, even before anyone asked)."""
    engine: Engine = session.get_bind()  # type: ignore[assignment]
    today = today or clock.today()
    report = WarmReport(folded=compact(engine))
    with _writing(engine) as connection:
        gone = ~sa.exists().where(Unit.id == _cache.c.unit_id)
        removed = connection.execute(_cache.delete().where(gone)).rowcount
        connection.execute(_cells.delete().where(~sa.exists().where(Unit.id == _cells.c.unit_id)))
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
        report.recomputed[variant] = recompute(engine, filters, today)
    if engine.dialect.name == "postgresql":
        # Fresh statistics for the cache's own reads: autovacuum may not have come by since
        # the tables filled up, and a planner that takes them for empty nest-loops over them.
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("coverage_unit_cache", "coverage_unit_cells", "coverage_change_totals"):
                connection.exec_driver_sql(f"ANALYZE {table}")
    return report


def describe_warm(report: WarmReport) -> str:
    """``42 units recomputed (setting|c=|p= 40, verified|c=|p= 2), 310 changes folded``."""
    each = ", ".join(f"{variant} {n}" for variant, n in sorted(report.recomputed.items()))
    text = f"{report.units} units recomputed ({each}), {report.folded} changes folded"
    if report.removed:
        text += f", {report.removed} rows of removed units dropped"
    return text
