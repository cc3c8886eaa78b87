"""The coverage report computed from the data itself, for any date: the table grouped by
municipality, sector or unit (:func:`coverage_table_live`, and its two grouped queries
:func:`grouped_counts`, which the cache also runs to fill itself), the people of a unit, and the
monthly trend. A fixed number of set-based queries each, however many employees there are;
the rules they count by are in :mod:`.coverage_facts`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import Employee, Municipality, Sector, Unit
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.core.sql import on_postgresql
from training_tracker.services.reporting.coverage_facts import (
    Day,
    Facts,
    a_date,
    assignment_facts,
    counts_reported,
    course_columns,
    dates_table,
    flag,
    is_covered,
    narrowed,
    population,
    reads_units,
    with_units,
)
from training_tracker.services.reporting.coverage_types import (
    TREND_MONTHS,
    Cell,
    CoverageFilters,
    CoverageRow,
    CoverageTable,
    PersonCourse,
    PersonRow,
    TrendPoint,
    UnitPeople,
    percent,
    trend_days,
)
from training_tracker.services.training.progress import CourseState


def _int(value: Any) -> int:
    return int(value or 0)


# --- the reports ----------------------------------------------------------------------------


def _grouping(
    group_by: str,
) -> tuple[sa.SQLColumnExpression[Any], list[sa.SQLColumnExpression[Any]]]:
    """The group's key and the columns that name it."""
    if group_by == "municipality":
        return Employee.municipality_id, [Municipality.name]
    if group_by == "sector":
        return Unit.sector, []
    if group_by == "unit":
        return Employee.unit_id, [Unit.name, Municipality.name, Unit.sector.expression]
    raise ValueError(f"unknown grouping: {group_by}")


def coverage_table_live(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str = "municipality",
) -> CoverageTable:
    """:func:`~.coverage.coverage_table` computed from the data itself, for any date. Three
    queries: the numbers (one pass, :func:`grouped_numbers`), the groups' names, the
    courses."""
    day = filters.day()
    today = clock.today()
    empty = CoverageRow(key=None, label="")
    if scope.is_empty:
        return CoverageTable(day, filters.mode, group_by, [], [], empty)
    key, _names = _grouping(group_by)
    cells, rows = grouped_numbers(session, scope, filters, day, today, key)
    names = _group_names(session, group_by, [row[0] for row in rows])
    named = [[group, *names.get(group, ()), *sums] for group, *sums in rows]
    return assemble_table(session, day, filters, group_by, cells, named)


def _group_names(
    session: Session, group_by: str, keys: Sequence[Any]
) -> dict[Any, tuple[Any, ...]]:
    """The names :func:`assemble_table` labels each group with (see :func:`_grouping`)."""
    query: sa.Select[Any]
    if group_by == "municipality":
        query = sa.select(Municipality.id, Municipality.name).where(Municipality.id.in_(keys))
    elif group_by == "unit":
        query = (
            sa.select(Unit.id, Unit.name, Municipality.name, Unit.sector)
            .join(Municipality, Municipality.id == Unit.municipality_id)
            .where(Unit.id.in_(keys))
        )
    else:
        return {}
    if not keys:
        return {}
    return {group: tuple(names) for group, *names in session.execute(query)}


def grouped_numbers(
    connection: Session | Connection,
    scope: ReportScope,
    filters: CoverageFilters,
    day: date,
    today: date,
    key: sa.SQLColumnExpression[Any],
    extra: Sequence[ColumnElement[bool]] = (),
    days: Sequence[date] = (),
) -> tuple[list[Any], list[Any]]:
    """The numbers of :func:`grouped_counts` without names, in ONE statement (one pass over
    the assignments and the completions). Cells: ([date,] group, course, the six counts);
    rows: ([date,] group, people, fully trained, exempt people, min, max), the fully trained
    and exempt people summed from the cells' shares. With ``days``, each row starts with its
    date (:func:`~.coverage_facts.a_date`)."""
    windows = on_postgresql(connection)
    # Everyone's numbers stream (see assignment_facts); a narrowed population's are few, and
    # found by index probes (nested loops), which big_read then keeps.
    streamed = windows and not narrowed(scope, filters, extra)
    cells, people = grouped_counts(
        scope, filters, day, today, key, extra, days=days, windows=windows, streamed=streamed
    )
    c, p = (list(query.subquery().c) for query in (cells, people))
    lead = 1 if days else 0  # the date column
    both = sa.union_all(
        sa.select(sa.literal(0).label("kind"), *c),  # [date,] group, course, the eight sums
        sa.select(  # [date,] group, (no course), people, min, max, (padding)
            sa.literal(1), *p[: lead + 1], sa.null(), *p[lead + 1 :], *[sa.null()] * 5
        ),
    )
    with big_read(connection, hash_aggregates=True, nested_loops=not streamed):
        numbers = connection.execute(both).all()
    found: tuple[list[Any], list[Any]] = ([], [])
    shares: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for kind, *values in numbers:
        if lead:
            values[0] = a_date(values[0])
        group = tuple(values[: lead + 1])
        if kind == 0:  # sums of sums: PostgreSQL's numeric, as ints
            counts = [_int(value) for value in values[lead + 2 :]]
            values = [*values[: lead + 2], *counts[:-2]]
            shares[group][0] += counts[-2]  # fully trained
            shares[group][1] += counts[-1]  # exempt people
        else:
            values = values[: lead + 1] + values[lead + 2 : lead + 5]
        found[kind].append(values)
    found[1][:] = [
        [*group, people, *shares.get(tuple(group), (0, 0)), low, high]
        for *group, people, low, high in found[1]
    ]
    return found


# PostgreSQL's per-sort and per-hash memory for the statement of :func:`grouped_numbers`: the
# default (4 MB) spilled a whole country's per-person sums to disk in 37 batches, and 64 MB
# still spilled the completions' summary (150 MB of hash table) and the facts (10.5 s
# against 13.7 s at 850,000, on a loaded machine). At most a few such reads run at once
# (the cache's fill, a request on a cold cache).
WORK_MEM = "256MB"


@contextmanager
def big_read(
    connection: Session | Connection, *, hash_aggregates: bool = False, nested_loops: bool = True
) -> Iterator[None]:
    """On PostgreSQL: for the rest of the transaction, no JIT compilation (it took half a
    second to compile what runs in a few), :data:`WORK_MEM`, and each statement planned for
    its own dates and units, never a prepared statement's generic plan; for the statement run
    inside, no hash joins or hash aggregates. The completions, the assignments and the
    employees all have an index in employee order: read in that order, the completions'
    summary is grouped as it streams and merge-joined to the assignments and the employees.
    The planner preferred hashing all three (hash tables of 210, 100 and 40 MB at 850,000
    employees), which was 2.5 times slower (the whole statement 59–73 s against 24 s, back
    to back on the same copy, at a load of 15 on 2 cores; hash aggregates alone off: 46 s).

    ``hash_aggregates`` allows those, for :func:`grouped_numbers`, whose summary streams into
    a merge join, so it stays grouped in index order (a GroupAggregate, checked at 850,000),
    and whose later aggregates have few groups (4.1 s against 4.4 s at 850,000).
    ``nested_loops=False`` also bans nested loops, for its statement over everyone, whose
    summary is inline (``streamed``, :func:`~.coverage_facts.assignment_facts`): a planner
    taking the tables for nearly empty (not analysed: the tests') nest-looped over it,
    grouping the completions again for each assignment (70 s for a thousand people).

    Those settings are reset afterwards, so the rest of the transaction plans as usual (a
    failed statement aborts the transaction, whose end resets them)."""
    postgresql = on_postgresql(connection)
    off = ["enable_hashjoin"]
    off += [] if hash_aggregates else ["enable_hashagg"]
    off += [] if nested_loops else ["enable_nestloop"]
    if postgresql:  # one statement each way: set_config(..., true) is SET LOCAL
        settings = {
            "jit": "off",
            "work_mem": WORK_MEM,
            # psycopg prepares a statement run five times on a connection; PostgreSQL may then
            # plan it once for any dates and units: a nested loop that took 140 s where its
            # own plan takes 7 (a test, in one order of the files). Planning costs ms here.
            "plan_cache_mode": "force_custom_plan",
        } | dict.fromkeys(off, "off")
        connection.execute(
            sa.select(*(sa.func.set_config(name, value, True) for name, value in settings.items()))
        )
    yield
    if postgresql:  # back to the session's values
        connection.execute(
            sa.text(
                "SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name IN :names"
            ).bindparams(sa.bindparam("names", off, expanding=True))
        )


def grouped_counts(
    scope: ReportScope,
    filters: CoverageFilters,
    day: date,
    today: date,
    key: sa.SQLColumnExpression[Any],
    extra: Sequence[ColumnElement[bool]] = (),
    *,
    days: Sequence[date] = (),
    windows: bool = True,
    streamed: bool = False,
) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The two queries of a coverage table grouped by ``key``: the cells (group, course id,
    the :class:`~.coverage_types.Cell` counts, then the group's fully trained and exempt
    people counted in this cell: each person is counted in one cell of their group, so the
    group's are the sums over its cells) and the people (group, people, min and max of
    "awaiting reports count"). ``extra`` narrows the population.

    The facts are summed per group, course and municipality, with each person counted in
    one cell (:func:`_sums`); the municipality's setting (whether awaiting reports count) is
    applied to those few rows. ``windows`` and ``streamed``: see :func:`_sums` and
    :func:`~.coverage_facts.assignment_facts`. The people are counted from the employees
    alone.

    With ``days``, the tables of all those dates at once (``day`` is then not used): each
    row starts with its date, before the group."""
    # One date is compared as a literal, as without ``days``: the planner then knows it.
    dated = dates_table(days) if len(days) > 1 else None
    on: Day = dated.c.day if dated is not None else (days[0] if days else day)
    leading: list[ColumnElement[Any]] = []
    if days:
        leading = [(dated.c.day if dated is not None else sa.literal(on, sa.Date)).label("day")]
    facts = assignment_facts(
        scope,
        filters,
        on,
        today,
        key.label("group_key"),
        *leading,
        with_dates=True,
        days=dated,
        extra=extra,
        municipal=True,
        streamed=streamed,
        materialized=not windows,
    )
    sums = _sums(facts, bool(days), windows)
    s = sums.c
    counting = counts_reported(filters.mode)
    cells = (
        sa.select(
            *([s.day] if days else []),
            s.group_key,
            s.course_id,
            sa.func.sum(s.required),
            sa.func.sum(s.verified),
            sa.func.sum(s.awaiting),
            sa.func.sum(s.verified + sa.case((counting, s.awaiting), else_=0)),
            sa.func.sum(s.overdue),
            sa.func.sum(s.exempt),
            sa.func.sum(sa.case((counting, s.trained_h), else_=s.trained_v)),
            sa.func.sum(s.exempt_people),
        )
        .join_from(sums, Municipality, Municipality.id == s.municipality_id)
        .group_by(*([s.day] if days else []), s.group_key, s.course_id)
    )
    # Per group and municipality, then the municipalities' setting for those few rows (no
    # lookup per employee, which would be a nested loop: see big_read).
    people = sa.select(
        *leading, key.label("group_key"), Employee.municipality_id, sa.func.count(Employee.id)
    )
    if dated is not None:
        people = people.select_from(dated).join(Employee, sa.true())
    else:
        people = people.select_from(Employee)
    by_municipality = (
        with_units(people, reads_units(filters, key, *extra))
        .where(*population(scope, filters, on, today), *extra)
        .group_by(*([dated.c.day] if dated is not None else []), key, Employee.municipality_id)
        .subquery("people")
    )
    m = list(by_municipality.c)
    mode_flag = flag(counts_reported(filters.mode))
    people = (
        sa.select(
            *m[: len(leading) + 1],
            sa.func.sum(m[-1]).label("people"),
            sa.func.min(mode_flag).label("low"),
            sa.func.max(mode_flag).label("high"),
        )
        .join_from(by_municipality, Municipality, Municipality.id == m[-2])
        .group_by(*m[: len(leading) + 1])
    )
    return cells, people


# The bits of a person's traits in :func:`_sums`: they have a required course, one not
# verified, one neither verified nor awaiting, an exempt one.
REQUIRED, UNVERIFIED, NOT_HELD, EXEMPT = TRAITS = (1, 2, 4, 8)


def _sums(facts: Facts, dated: bool, windows: bool) -> sa.Subquery:
    """The facts summed per ([date,] group, course, municipality): required, verified,
    awaiting (and not verified), overdue, exempt; then each person counted once, in the cell
    of one of their courses: fully trained by verified courses (``trained_v``), by verified or
    awaiting ones (``trained_h``), exempt from any (``exempt_people``). Several rows per key
    are possible (their sums are the key's).

    With ``windows`` (PostgreSQL): one aggregate, each person's traits being a window
    function over the facts as they stream in employee order, counted on the person's first
    row (no sort, no second read: 3.6 against 4.8 s for the whole statement at 850,000;
    one window function for the four traits rather than four sums: 0.35 s less). Otherwise
    (SQLite, whose windows sort, 0.1 s at 17,000): the facts, materialised, summed per cell
    and per person, each person counted in the cell of their first course."""
    f = facts.c
    person = [*([f.day] if dated else []), f.employee_id]
    # A row's traits (:data:`TRAITS`): exempt; or required, and then whether it is not
    # verified, and whether it is neither verified nor awaiting. One expression per row.
    row = sa.case(
        (f.exempt == 1, EXEMPT),
        (f.verified == 1, REQUIRED),
        (f.awaiting == 1, REQUIRED | UNVERIFIED),
        else_=REQUIRED | UNVERIFIED | NOT_HELD,
    )

    def cells(c: Any) -> list[ColumnElement[Any]]:
        needed = c.exempt == 0
        return [
            sa.func.sum(flag(needed)).label("required"),
            sa.func.sum(flag(sa.and_(needed, c.verified == 1))).label("verified"),
            sa.func.sum(flag(sa.and_(needed, c.verified == 0, c.awaiting == 1))).label("awaiting"),
            sa.func.sum(flag(sa.and_(needed, c.verified == 0, c.awaiting == 0, c.late == 1))).label(
                "overdue"
            ),
            sa.func.sum(c.exempt).label("exempt"),
        ]

    def people(traits: Any, first: ColumnElement[bool]) -> list[ColumnElement[Any]]:
        def has(trait: int) -> ColumnElement[bool]:
            return traits.bitwise_and(trait) != 0

        counted = sa.and_(first, has(REQUIRED))
        return [
            sa.func.sum(flag(sa.and_(counted, sa.not_(has(UNVERIFIED))))).label("trained_v"),
            sa.func.sum(flag(sa.and_(counted, sa.not_(has(NOT_HELD))))).label("trained_h"),
            sa.func.sum(flag(sa.and_(first, has(EXEMPT)))).label("exempt_people"),
        ]

    def keys(c: Any, course: Any) -> list[Any]:
        return [*([c.day] if dated else []), c.group_key, course, c.municipality_id]

    if windows:  # the traits of the person's rows, OR-ed
        flagged = sa.select(
            *f,
            sa.func.row_number().over(partition_by=person).label("nth"),
            sa.func.bit_or(row).over(partition_by=person).label("traits"),
        ).subquery("flagged")
        g = flagged.c
        return (
            sa.select(*keys(g, g.course_id), *cells(g), *people(g.traits, g.nth == 1))
            .group_by(*keys(g, g.course_id))
            .subquery("sums")
        )
    by_person = (
        sa.select(
            *keys(f, sa.func.min(f.course_id).label("course_id")),
            sum(  # SQLite has no bit_or: each trait's maximum
                (sa.func.max(row.bitwise_and(trait)) for trait in TRAITS), sa.literal(0)
            ).label("traits"),
        )
        .group_by(*person, f.group_key, f.municipality_id)
        .subquery("per_person")
    )
    p = by_person.c
    zero = sa.literal(0)
    return sa.union_all(
        sa.select(
            *keys(f, f.course_id),
            *cells(f),
            *(zero.label(name) for name in ("trained_v", "trained_h", "exempt_people")),
        ).group_by(*keys(f, f.course_id)),
        sa.select(*keys(p, p.course_id), *[zero] * 5, *people(p.traits, sa.true())).group_by(
            *keys(p, p.course_id)
        ),
    ).subquery("sums")


def assemble_table(
    session: Session,
    day: date,
    filters: CoverageFilters,
    group_by: str,
    cell_rows: Iterable[Any],
    group_rows: Iterable[Any],
) -> CoverageTable:
    """The table from the rows of :func:`grouped_counts` (or sums of cached ones, alike):
    labelled, ordered, with the totals and the course columns (one more query)."""
    cells: dict[Any, dict[int, Cell]] = defaultdict(dict)
    for group, course_id, *sums in cell_rows:
        cells[group][course_id] = Cell(*map(_int, sums))
    rows: list[CoverageRow] = []
    for group, *labels, people, trained, exempt_people, low, high in group_rows:
        sector: str | None = None
        if group_by == "sector":
            label, municipality = Sector(group).label, None
        elif group_by == "unit":
            label, municipality, unit_sector = labels
            sector = Sector(unit_sector).label
        else:
            label, municipality = labels[0], None
        rows.append(
            CoverageRow(
                key=group.value if isinstance(group, Sector) else group,
                label=label,
                municipality=municipality,
                sector=sector,
                cells=cells.get(group, {}),
                people=_int(people),
                fully_trained=_int(trained),
                exempt_people=_int(exempt_people),
                counts_reported=bool(low) if low == high else None,
            )
        )
    if group_by == "sector":
        order = {sector.value: n for n, sector in enumerate(Sector)}
        rows.sort(key=lambda row: order[row.key])
    else:
        rows.sort(key=lambda row: (row.municipality or "", row.label, row.key))

    courses = course_columns(session, {c for row in rows for c in row.cells})
    total = CoverageRow(key=None, label="")
    for row in rows:
        for course_id, cell in row.cells.items():
            total.cells[course_id] = total.cell(course_id) + cell
        total.people += row.people
        total.fully_trained += row.fully_trained
        total.exempt_people += row.exempt_people
    modes = {row.counts_reported for row in rows}
    total.counts_reported = modes.pop() if len(modes) == 1 else None
    return CoverageTable(day, filters.mode, group_by, courses, rows, total)


def unit_people(
    session: Session, scope: ReportScope, filters: CoverageFilters, unit_id: int
) -> UnitPeople:
    """Each person of the unit's population on the report date, with the state of each of
    their courses then; overdue ones with the date they have been overdue since. Two
    queries. A unit outside the scope has nobody."""
    day = filters.day()
    today = clock.today()
    if scope.is_empty:
        return UnitPeople(day, [], [])
    filters = filters.but(unit_id=unit_id)
    facts = assignment_facts(scope, filters, day, today, with_dates=True)
    f = facts.c
    rows = session.execute(
        sa.select(
            Employee.id.label("employee_id"),
            Employee.first_name,
            Employee.last_name,
            flag(counts_reported(filters.mode)).label("counting"),
            f.course_id,
            f.exempt,
            f.verified,
            f.awaiting,
            f.late,
            f.effective_due,
        )
        .select_from(Employee)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .outerjoin(facts, f.employee_id == Employee.id)
        .where(*population(scope, filters, day, today))
        .order_by(Employee.last_name, Employee.first_name, Employee.id)
    ).all()
    courses = course_columns(session, {row.course_id for row in rows if row.course_id is not None})
    position = {course.id: n for n, course in enumerate(courses)}
    people: dict[int, PersonRow] = {}
    for row in rows:
        person = people.setdefault(
            row.employee_id,
            PersonRow(row.employee_id, row.first_name, row.last_name, bool(row.counting), []),
        )
        if row.course_id is None:
            continue
        if row.exempt:
            state = CourseState.EXEMPT
        elif row.verified:
            state = CourseState.VERIFIED
        elif row.awaiting:
            state = CourseState.REPORTED
        elif row.late:
            state = CourseState.OVERDUE
        else:
            state = CourseState.PENDING
        due = a_date(row.effective_due)
        person.courses.append(
            PersonCourse(
                course_id=row.course_id,
                state=state,
                covered=state == CourseState.VERIFIED
                or (state == CourseState.REPORTED and person.counts_reported),
                due_date=due,
                overdue_since=due if state == CourseState.OVERDUE else None,
            )
        )
    for person in people.values():
        person.courses.sort(key=lambda c: position[c.course_id])
    return UnitPeople(day, courses, list(people.values()))


# --- the trend ----


def trend_points(
    points: Sequence[date],
    sums: Mapping[date, tuple[int, int]],
    pending: frozenset[date] = frozenset(),
) -> list[TrendPoint]:
    result = []
    for point in points:
        if point in pending:
            result.append(TrendPoint(point, 0, 0, None, pending=True))
            continue
        required, covered = sums.get(point, (0, 0))
        result.append(TrendPoint(point, covered, required, percent(covered, required)))
    return result


def trend_sums_live(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    points: Sequence[date],
    today: date,
) -> dict[date, tuple[int, int]]:
    """Per date, (required, covered) computed from the data itself. One query: the dates
    are a UNION ALL list joined to the assignments."""
    days = dates_table(points, "month_ends")
    facts = assignment_facts(scope, filters, days.c.day, today, days.c.day.label("day"), days=days)
    return {
        a_date(point): (_int(required), _int(covered))
        for point, required, covered in session.execute(
            sa.select(
                facts.c.day,
                sa.func.sum(flag(facts.c.exempt == 0)),
                sa.func.sum(flag(sa.and_(facts.c.exempt == 0, is_covered(facts)))),
            ).group_by(facts.c.day)
        )
    }


def coverage_trend_live(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    months: int = TREND_MONTHS,
) -> list[TrendPoint]:
    """:func:`~.coverage.coverage_trend` computed from the data itself."""
    points = trend_days(filters.day(), max(1, months))
    if scope.is_empty:
        return trend_points(points, {})
    return trend_points(points, trend_sums_live(session, scope, filters, points, clock.today()))
