"""The coverage numbers of every unit (or of many) on many dates at once, in ONE statement
that reads the big tables once: the coverage cache's fill of a cold cache (every unit on the
trend's twelve dates, issue #21). The same numbers as :func:`~.coverage_live.grouped_numbers`
date by date, from the same rules (:mod:`.coverage_facts`' clauses, each applied to each
date), in the same rows.

One date at a time, the twelve statements each read the 1.3 M completions, 1.8 M
assignments and 850,000 employees of a country again (4.6 s each at 850,000); a list of dates
joined to them multiplied the rows twelvefold and got plans that ran for minutes. Here each
row is read once and carries its state on each date as a column:

- per employee and course, from the completions: on each date, whether one is verified (2),
  else whether one awaits verification (1), and the last expiry by then;
- per assignment: its state on each date, one small number: not counted (0: not assigned
  then, or its person not in the population), exempt (1), verified (2), awaiting
  verification (3), overdue (4), pending (5);
- the cells sum the states per unit and course, the per-person sums per unit and person,
  and the people are counted per unit from the employees: each date a column of sums.

The wide rows are turned back into one row per date in Python, leaving out what the date by
date statement would not have found (a cell with nothing counted that day, a unit with
nobody in it that day).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from training_tracker.models import Assignment, Completion, Employee, Municipality
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting.coverage_facts import (
    as_sql,
    assigned_on,
    awaiting_status,
    completion_held,
    counts_reported,
    course_clauses,
    exempt_on,
    expiry_by,
    flag,
    population,
    reads_units,
    verified_status,
    with_units,
)
from training_tracker.services.reporting.coverage_types import CoverageFilters
from training_tracker.services.training.assignments import effective_due

# An assignment's state on a date (the facts' ``state_<i>`` columns).
NOT_COUNTED, EXEMPT, VERIFIED, REPORTED, OVERDUE, PENDING = range(6)
# The completions' summary on a date (``held_<i>``): the best a course's completions reach.
HELD_VERIFIED, HELD_AWAITING = 2, 1

EVERYONE = ReportScope(True, frozenset(), frozenset())
# Rows fetched at a time from the server's cursor.
STREAM_ROWS = 2_000


def _completions(
    filters: CoverageFilters, days: Sequence[date], extra: Sequence[ColumnElement[bool]]
) -> sa.CTE:
    """Per employee and course, one grouped pass over the completions: on each date i,
    ``held_i`` (:data:`HELD_VERIFIED` if one is verified then, else :data:`HELD_AWAITING`
    if one awaits verification, else 0) and ``expired_i``, the last expiry by then. The
    columns of :func:`~.coverage_facts.completion_summary`, for every date."""
    held = [
        sa.func.max(
            sa.case(
                (
                    completion_held(day),
                    sa.case(
                        (verified_status(day), HELD_VERIFIED),
                        (awaiting_status(day), HELD_AWAITING),
                        else_=0,
                    ),
                ),
                else_=0,
            )
        ).label(f"held_{i}")
        for i, day in enumerate(days)
    ]
    expired = [sa.func.max(expiry_by(day)).label(f"expired_{i}") for i, day in enumerate(days)]
    select = sa.select(
        Completion.employee_id.label("employee_id"),
        Completion.course_id.label("course_id"),
        *held,
        *expired,
    ).select_from(Completion)
    if extra:
        chosen = with_units(sa.select(Employee.id), reads_units(filters, *extra))
        select = select.where(Completion.employee_id.in_(chosen.where(*extra)))
    return (
        select.group_by(Completion.employee_id, Completion.course_id)
        .cte("completions_by_date")
        .prefix_with("MATERIALIZED")
    )


def _counted(
    filters: CoverageFilters, day: date, today: date, scope: ReportScope
) -> ColumnElement[bool]:
    """The assignment counts on ``day``: assigned then, to someone of the population."""
    return sa.and_(*population(scope, filters, day, today), assigned_on(day))


def _facts(
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
    extra: Sequence[ColumnElement[bool]],
    scope: ReportScope,
) -> sa.CTE:
    """One row per assignment that counts on one of ``days`` at least: employee, course,
    unit (``group_key``), ``counts_reported`` (0 or 1), and ``state_i`` on each date."""
    done = _completions(filters, days, extra)
    states = []
    for i, day in enumerate(days):
        held = sa.func.coalesce(done.c[f"held_{i}"], 0)
        due = effective_due(day, done.c[f"expired_{i}"])
        state = sa.case(
            (exempt_on(day), EXEMPT),
            (held == HELD_VERIFIED, VERIFIED),
            (held == HELD_AWAITING, REPORTED),
            (due < as_sql(day), OVERDUE),
            else_=PENDING,
        )
        counted = _counted(filters, day, today, scope)
        states.append(sa.case((counted, state), else_=NOT_COUNTED).label(f"state_{i}"))
    select = sa.select(
        Assignment.employee_id.label("employee_id"),
        Assignment.course_id.label("course_id"),
        Employee.unit_id.label("group_key"),
        flag(counts_reported(filters.mode)).label("counts_reported"),
        *states,
    ).select_from(Assignment)
    select = with_units(
        select.join(Employee, Employee.id == Assignment.employee_id),
        reads_units(filters, *extra),
    )
    done_of = sa.and_(
        done.c.employee_id == Assignment.employee_id, done.c.course_id == Assignment.course_id
    )
    return (
        select.join(Municipality, Municipality.id == Employee.municipality_id)
        .outerjoin(done, done_of)
        .where(
            sa.or_(*(_counted(filters, day, today, scope) for day in days)),
            *extra,
            *course_clauses(filters),
        )
        .cte("facts_by_date")
        .prefix_with("MATERIALIZED")
    )


def _covered(facts: sa.CTE, state: ColumnElement[int]) -> ColumnElement[bool]:
    return sa.or_(state == VERIFIED, sa.and_(state == REPORTED, facts.c.counts_reported == 1))


def _count(condition: sa.ColumnExpressionArgument[bool]) -> ColumnElement[int]:
    """How many rows meet ``condition``: ``count(*) FILTER (WHERE …)``, cheaper than a sum of
    CASEs when there are 72 of them per row."""
    return sa.func.count().filter(condition)


def statement(
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
    extra: Sequence[ColumnElement[bool]] = (),
    scope: ReportScope = EVERYONE,
) -> sa.CompoundSelect:
    """The one statement: rows of ``kind`` 0, (unit, course, then per date the six
    :class:`~.coverage_types.Cell` counts), and of ``kind`` 1, (unit, then per date people,
    fully trained, exempt people, min and max of "awaiting reports count"), padded to the
    same width."""
    facts = _facts(filters, days, today, extra, scope)
    f = facts.c
    state = [f[f"state_{i}"] for i in range(len(days))]
    sums: list[ColumnElement[Any]] = []
    for s in state:
        sums += [
            _count(s >= VERIFIED),  # required
            _count(s == VERIFIED),
            _count(s == REPORTED),
            _count(_covered(facts, s)),
            _count(s == OVERDUE),
            _count(s == EXEMPT),
        ]
    n = len(days)
    cells = sa.select(
        sa.literal(0).label("kind"),
        f.group_key,
        f.course_id,
        *sums,
        *([sa.null()] * n),  # as wide as the units' rows
    ).group_by(f.group_key, f.course_id)
    per_person = (
        sa.select(
            f.group_key,
            *(_count(s >= VERIFIED).label(f"required_{i}") for i, s in enumerate(state)),
            *(_count(_covered(facts, s)).label(f"covered_{i}") for i, s in enumerate(state)),
            *(_count(s == EXEMPT).label(f"exempt_{i}") for i, s in enumerate(state)),
        )
        .group_by(f.group_key, f.employee_id)
        .subquery("per_person")
    )
    p = per_person.c
    trained = (
        sa.select(
            p.group_key,
            *(
                _count(sa.and_(p[f"required_{i}"] > 0, p[f"covered_{i}"] == p[f"required_{i}"]))
                for i in range(n)
            ),
            *(_count(p[f"exempt_{i}"] > 0) for i in range(n)),
            # (a sum of sums is a NUMERIC on PostgreSQL, which would make the column of
            # every row of the union one: a Decimal object per number in Python)
            *(sa.cast(sa.func.sum(p[f"required_{i}"]), sa.BigInteger) for i in range(n)),
            *(sa.cast(sa.func.sum(p[f"covered_{i}"]), sa.BigInteger) for i in range(n)),
        )
        .group_by(p.group_key)
        .subquery("trained")
    )
    mode_flag = flag(counts_reported(filters.mode))
    people_columns: list[ColumnElement[Any]] = []
    for i, day in enumerate(days):
        present = sa.and_(*population(scope, filters, day, today))
        people_columns += [
            _count(present).label(f"people_{i}"),
            sa.func.min(sa.case((present, mode_flag))).label(f"low_{i}"),
            sa.func.max(sa.case((present, mode_flag))).label(f"high_{i}"),
        ]
    people = (
        with_units(
            sa.select(Employee.unit_id.label("group_key"), *people_columns).select_from(Employee),
            reads_units(filters, *extra),
        )
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .where(sa.or_(*(sa.and_(*population(scope, filters, day, today)) for day in days)), *extra)
        .group_by(Employee.unit_id)
        .subquery("people")
    )
    t, q = trained.c, people.c
    rows = sa.select(
        sa.literal(1),
        q.group_key,
        sa.null(),  # no course
        *(q[f"people_{i}"] for i in range(n)),
        # fully trained, exempt people, required and covered: n columns each
        *(sa.func.coalesce(column, 0) for column in list(t)[1:]),
        *(q[f"low_{i}"] for i in range(n)),
        *(q[f"high_{i}"] for i in range(n)),
    ).select_from(people.outerjoin(trained, t.group_key == q.group_key))
    return sa.union_all(cells, rows)


@dataclass
class ByDate:
    """What :func:`statement` found, as it came (one row per unit and course, one per unit,
    each with every date's numbers), turned into one row per date as it is read."""

    days: list[date]
    wide_cells: list[Sequence[Any]]  # unit, course, then six counts per date
    wide_units: list[Sequence[Any]]  # unit, then people, …, max per date (see statement)

    def cells(self) -> Iterator[list[Any]]:
        """Date, unit, course, the six counts (int): the cells
        :func:`~.coverage_live.grouped_numbers` finds on each date."""
        for group, course, *values in self.wide_cells:
            for i, day in enumerate(self.days):
                six = values[6 * i : 6 * i + 6]  # counts: never NULL
                if six[0] or six[5]:  # something counted (required or exempt) that day
                    yield [day, group, course, *six]

    def headers(self) -> Iterator[list[Any]]:
        """Date, unit, people, fully trained, exempt people, required, covered, min, max:
        each unit's numbers on each date (zeros and None on a date when nobody is in it)."""
        n = len(self.days)
        for group, *values in self.wide_units:
            for i, day in enumerate(self.days):
                counts = (int(values[k * n + i] or 0) for k in range(5))
                yield [day, group, *counts, values[5 * n + i], values[6 * n + i]]

    def rows(self) -> Iterator[list[Any]]:
        """Date, unit, people, fully trained, exempt people, min, max: the rows
        :func:`~.coverage_live.grouped_numbers` finds on each date (someone is in the unit)."""
        for day, group, people, trained, exempt, _required, _covered, low, high in self.headers():
            if people:
                yield [day, group, people, trained, exempt, low, high]


def numbers_by_date(
    connection: Connection,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
    extra: Sequence[ColumnElement[bool]] = (),
) -> ByDate:
    """The numbers of the units (every one, or those ``extra`` chooses) on ``days``, from
    :func:`statement`: what :func:`~.coverage_live.grouped_numbers` gives date by date."""
    ordered = sorted(set(days))
    found = ByDate(ordered, [], [])
    if connection.dialect.name == "postgresql":
        # Read through a cursor (below): planned for every row, not for the first tenth.
        connection.execute(sa.select(sa.func.set_config("cursor_tuple_fraction", "1", True)))
    # A cursor on the server, read in batches: a whole country's rows are 68,000 of 86
    # numbers, which libpq would otherwise hold all at once beside Python's copy (350 MB).
    query = statement(filters, ordered, today, extra).execution_options(
        stream_results=True, max_row_buffer=STREAM_ROWS
    )
    for kind, group, course, *values in connection.execute(query):
        if kind == 0:
            found.wide_cells.append((group, course, *values))
        else:
            found.wide_units.append((group, *values))
    return found
