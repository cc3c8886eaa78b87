"""The building blocks of every coverage number: who is in the population on a date, which
assignments count then, and whether each is exempt, verified or awaiting verification, as SQL
clauses and the per-assignment set of flags (:func:`assignment_facts`) the reports sum.

How we count, on the report date D ("as of"; today unless a past date is asked for):

- **Population**: the employees employed on D: hired on or before D (an unknown hire date
  counts as hired) and without an end date, or with one after D (whoever leaves on D is no
  longer counted on D). For today, they must also be active. System accounts (no
  municipality) never count, nor does anyone outside the reader's scope
  (:func:`training_tracker.services.core.scope.report_scope`).
- **Required**: a course assigned to a person of the population on or before D (the date the
  assignment was created; staff hired before a rule existed count from the day the rule
  assigned the course to them) and not removed by D, unless the person was **exempt** on D.
  Exemptions are excluded from "required" and counted on their own.
- **Completed** on D: the person holds a completion of the course dated on or before D,
  reported on or before D and not expired on D (it expires on its ``expires_on`` day). It is
  **verified** on D if it was verified on or before D; it is **reported** (awaiting
  verification) on D if it still awaits verification, or was verified or rejected only after D.
  A report rejected on or before D completes nothing, and neither does a withdrawn one.
- **Covered**: completed under the report's count mode: "verified" counts verified
  completions only; "reported" counts verified and awaiting ones. By default each
  municipality's own setting (``Municipality.count_reported_in_coverage``) decides; a filter
  can force one mode for everyone. Verified and reported (awaiting) are always given
  separately, whatever the mode; a person with both counts as verified.
- **Overdue** on D: required, neither verified nor awaiting verification on D (someone who
  has reported waits for their manager, not the other way round, whatever the count mode),
  and due before D. A course is due on its due date or, once a completion of it has
  expired, on the day it expired, if that is later (as for reminders and the personal pages).
- **Fully trained**: a person with at least one required course who has every required
  course covered on D.
- **Coverage %** = covered / required; with nothing required there is no percentage (None,
  not 0).

Approximations, because the past is recomputed from dates rather than stored:

- The withdrawal date of a withdrawn report is not stored: a withdrawn report is counted as
  never made, even on days when it was still awaiting verification.
- An exemption that was lifted leaves no date behind: the exemption is ignored on every day.
  An exemption without a date counts from the start.
- A verified report without a review date counts as verified from the day it was reported.
- Timestamps (assigned, removed, exempted, reported, reviewed) are stored in UTC and read as
  UTC dates: something done in Sweden between midnight and 01:00 (02:00 in summer) counts on
  the day before.
- Each person is counted in their current municipality, unit and sector, with their
  assignment's current due date: moves between units and changed due dates are not
  replayed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Municipality,
    Provider,
    Unit,
)
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.core.sql import add_days
from training_tracker.services.reporting.coverage_types import CourseColumn, CoverageFilters
from training_tracker.services.training.assignments import COUNTING, effective_due

# A date to compare with: a Python date (one report date) or a column (the trend's dates).
Day = date | ColumnElement[date]
# The per-assignment flags of :func:`assignment_facts`: a subquery, or a CTE.
Facts = sa.Subquery | sa.CTE


# --- the building blocks --------------------------------------------------------------------


def as_sql(day: Day) -> ColumnElement[date]:
    return sa.literal(day, sa.Date) if isinstance(day, date) else day


def _next_day(day: Day) -> ColumnElement[date]:
    return (
        sa.literal(day + timedelta(days=1), sa.Date) if isinstance(day, date) else add_days(day, 1)
    )


def by_end_of(moment: sa.ColumnExpressionArgument[Any], day: Day) -> ColumnElement[bool]:
    """The timestamp's (UTC) date is ``day`` or earlier: compared with the next day's start
    rather than as a date, so no row's value is cast (a cast per completion and per
    assignment took 0.2 s of 4 at 850,000 employees). SQLite's text timestamps compare alike."""
    return moment < _next_day(day)


def after_day(moment: sa.ColumnExpressionArgument[Any], day: Day) -> ColumnElement[bool]:
    """The timestamp's (UTC) date is after ``day`` (see :func:`by_end_of`)."""
    return moment >= _next_day(day)


def employed_on_day(day: Day, today: date) -> ColumnElement[bool]:
    """In the population on ``day``: a municipality's employee, hired by then and not yet
    left; on today (or later) also still active."""
    day_ = as_sql(day)
    clauses: list[sa.ColumnExpressionArgument[bool]] = [
        Employee.municipality_id.is_not(None),
        sa.or_(Employee.hire_date.is_(None), Employee.hire_date <= day_),
        sa.or_(Employee.end_date.is_(None), Employee.end_date > day_),
    ]
    if isinstance(day, date):
        if day >= today:
            clauses.append(Employee.active)
    else:
        clauses.append(sa.or_(day_ < sa.literal(today, sa.Date), Employee.active))
    return sa.and_(*clauses)


def assigned_on(day: Day) -> ColumnElement[bool]:
    """The assignment existed on ``day``: created by then and not removed by then."""
    return sa.and_(
        by_end_of(Assignment.assigned_at, day),
        sa.or_(Assignment.removed_at.is_(None), after_day(Assignment.removed_at, day)),
    )


def exempt_on(day: Day) -> ColumnElement[bool]:
    return sa.and_(
        Assignment.exempt,
        sa.or_(Assignment.exempted_at.is_(None), by_end_of(Assignment.exempted_at, day)),
    )


def completion_known(day: Day) -> ColumnElement[bool]:
    """A completion of the assignment's course, done and reported by ``day``."""
    day_ = as_sql(day)
    return sa.and_(
        Completion.employee_id == Assignment.employee_id,
        Completion.course_id == Assignment.course_id,
        Completion.completed_on <= day_,
        by_end_of(Completion.reported_at, day),
    )


def _not_expired(day: Day) -> ColumnElement[bool]:
    return sa.or_(Completion.expires_on.is_(None), Completion.expires_on > as_sql(day))


def verified_status(day: Day) -> ColumnElement[bool]:
    reviewed = sa.func.coalesce(Completion.reviewed_at, Completion.reported_at)
    return sa.and_(Completion.status == CompletionStatus.VERIFIED, by_end_of(reviewed, day))


def awaiting_status(day: Day) -> ColumnElement[bool]:
    """Awaiting verification on ``day``: still, or until a decision taken after it."""
    return sa.or_(
        Completion.status == CompletionStatus.REPORTED,
        sa.and_(
            Completion.status.in_([CompletionStatus.VERIFIED, CompletionStatus.REJECTED]),
            Completion.reviewed_at.is_not(None),
            after_day(Completion.reviewed_at, day),
        ),
    )


def counts_reported(mode: str) -> sa.SQLColumnExpression[bool]:
    """Whether an awaiting report counts as covered, for the employee's municipality."""
    if mode == "reported":
        return sa.true()
    if mode == "verified":
        return sa.false()
    return Municipality.count_reported_in_coverage


def flag(condition: sa.ColumnExpressionArgument[bool]) -> ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def _people_clauses(scope: ReportScope, filters: CoverageFilters) -> list[ColumnElement[bool]]:
    clauses = [scope.employee_clause()]
    if filters.municipality_id is not None:
        clauses.append(Employee.municipality_id == filters.municipality_id)
    if filters.unit_id is not None:
        clauses.append(Employee.unit_id == filters.unit_id)
    if filters.sector is not None:
        clauses.append(Unit.sector == filters.sector)
    return clauses


def reads_units(filters: CoverageFilters, *expressions: Any) -> bool:
    """Whether a query of the people needs the units table: for the sector filter, or an
    expression (a grouping key, a column, an ``extra`` clause) that reads it. Otherwise the
    join to units is left out (a hash of 21,659 units and a probe per assignment at national
    scale, for nothing) and :func:`with_units` keeps only what it filtered: people in a unit."""
    if filters.sector is not None:
        return True
    units = Unit.__table__
    for expression in expressions:
        element = getattr(expression, "__clause_element__", lambda e=expression: e)()
        for part in visitors.iterate(element):
            if isinstance(part, sa.Column) and part.table is units:
                return True
    return False


def with_units(select: sa.Select[Any], needed: bool) -> sa.Select[Any]:
    """``select`` (from the employees) joined to their units when ``needed``; else narrowed to
    the people who have one, as the join would (the cache counts per unit)."""
    if needed:
        return select.join(Unit, Unit.id == Employee.unit_id)
    return select.where(Employee.unit_id.is_not(None))


def course_clauses(filters: CoverageFilters) -> list[ColumnElement[bool]]:
    clauses = []
    if filters.course_id is not None:
        clauses.append(Assignment.course_id == filters.course_id)
    if filters.provider_id is not None:
        clauses.append(
            Assignment.course_id.in_(
                sa.select(Course.id).where(Course.provider_id == filters.provider_id)
            )
        )
    return clauses


def population(
    scope: ReportScope, filters: CoverageFilters, day: Day, today: date
) -> list[ColumnElement[bool]]:
    return [employed_on_day(day, today), *_people_clauses(scope, filters)]


def narrowed(scope: ReportScope, filters: CoverageFilters, extra: Sequence[Any]) -> bool:
    return bool(
        extra
        or not scope.all_municipalities
        or filters.municipality_id is not None
        or filters.unit_id is not None
        or filters.sector is not None
    )


def completion_held(day: Day) -> ColumnElement[bool]:
    """The completion row is done and reported by ``day`` and not expired on it (whether it
    is verified or awaiting then: :func:`verified_status`, :func:`awaiting_status`)."""
    return sa.and_(
        Completion.completed_on <= as_sql(day),
        by_end_of(Completion.reported_at, day),
        _not_expired(day),
    )


def expiry_by(day: Day) -> ColumnElement[date | None]:
    """The completion row's expiry if it counts and expired on or before ``day``, else NULL:
    the maximum over a course's completions is :func:`~..training.assignments.last_expiry`."""
    return sa.case(
        (
            sa.and_(Completion.status.in_(COUNTING), Completion.expires_on <= as_sql(day)),
            Completion.expires_on,
        )
    )


def completion_summary(
    scope: ReportScope,
    filters: CoverageFilters,
    day: Day,
    days: sa.Subquery | None = None,
    extra: Sequence[ColumnElement[bool]] = (),
    *,
    inline: bool = False,
) -> Facts:
    """Per employee and course (and date, with ``days``), in one grouped pass over the
    completions: whether one is verified on ``day`` (``verified``), whether one awaits
    verification then (``awaiting``), and the latest expiry on or before ``day``
    (``expired_on``, see :func:`~..training.assignments.last_expiry`). The assignments are
    joined to it once, rather than each evaluating an EXISTS per flag (three probes of the
    completions per assignment, and PostgreSQL repeated each wherever a sum used it). Narrowed
    to the chosen people's completions when the population is narrowed."""
    known = completion_held(day)
    by_day = [days.c.day] if days is not None else []
    select = sa.select(
        *by_day,
        Completion.employee_id.label("employee_id"),
        Completion.course_id.label("course_id"),
        sa.func.max(flag(sa.and_(known, verified_status(day)))).label("verified"),
        sa.func.max(flag(sa.and_(known, awaiting_status(day)))).label("awaiting"),
        sa.func.max(expiry_by(day)).label("expired_on"),
    )
    select = (
        select.select_from(days).join(Completion, sa.true())
        if days is not None
        else select.select_from(Completion)
    )
    if narrowed(scope, filters, extra):
        chosen = with_units(sa.select(Employee.id), reads_units(filters, *extra))
        select = select.where(
            Completion.employee_id.in_(chosen.where(*_people_clauses(scope, filters), *extra))
        )
    select = select.group_by(*by_day, Completion.employee_id, Completion.course_id)
    if inline:  # see assignment_facts(streamed=True)
        return select.subquery("completion_summary")
    # Computed once, as a MATERIALIZED CTE: a planner that takes the tables for nearly empty
    # (not yet analysed) would otherwise nest-loop over the grouped completions, aggregating
    # them again for every assignment (minutes for a thousand people).
    return select.cte("completion_summary").prefix_with("MATERIALIZED")


def assignment_facts(
    scope: ReportScope,
    filters: CoverageFilters,
    day: Day,
    today: date,
    *columns: ColumnElement[Any],
    with_dates: bool = False,
    days: sa.Subquery | None = None,
    extra: Sequence[ColumnElement[bool]] = (),
    municipal: bool = False,
    streamed: bool = False,
    materialized: bool = False,
) -> Facts:
    """One row per assignment counting on ``day`` of the population: the flags each count
    is summed from (0 or 1), each evaluated once per row from one grouped pass over the
    completions (:func:`completion_summary`). ``extra`` narrows the population further (the
    coverage cache: the units it recomputes).

    ``municipal``: instead of ``counts_reported`` (a join to the municipalities per row),
    the facts carry ``municipality_id``, for the caller to look the setting up per group.
    ``streamed`` (PostgreSQL, for a statement that reads the facts once in employee order,
    under :func:`~.coverage_live.big_read`): the summary is a subquery and the assignments
    are read in (employee, course) order, so the summary, grouped as it streams from its
    index, is merge-joined on both keys without a sort or rescans (0.6 s of 4 at 850,000
    employees). Without big_read's ban on hash joins, an unanalysed planner might nest-loop
    over the summary (see :func:`completion_summary`). SQLite copied the ordered
    assignments to a table (1.2 times slower). ``materialized`` makes the facts a
    MATERIALIZED CTE, computed once for several readers of one statement."""
    done = completion_summary(scope, filters, day, days, extra, inline=streamed)
    assignments: sa.FromClause = Assignment.__table__
    adapter: ClauseAdapter | None = None
    if streamed:  # the assignments in (employee, course) order: see above
        assignments = (
            sa.select(Assignment)
            .order_by(Assignment.employee_id, Assignment.course_id)
            .subquery("assignments")
        )
        # Only the clauses that name the assignments are pointed at it: adapting the whole
        # statement cloned the summary and the joins too (a third of building it).
        adapter = ClauseAdapter(assignments)

    def adapt(clause: ColumnElement[Any]) -> ColumnElement[Any]:
        return clause if adapter is None else adapter.traverse(clause)

    a = assignments.c
    mode: ColumnElement[Any] = (
        Employee.municipality_id.label("municipality_id")
        if municipal
        else flag(counts_reported(filters.mode)).label("counts_reported")
    )
    selected: list[ColumnElement[Any]] = [
        a.employee_id.label("employee_id"),
        a.course_id.label("course_id"),
        *columns,
        mode,
        flag(adapt(exempt_on(day))).label("exempt"),
        sa.func.coalesce(done.c.verified, 0).label("verified"),
        sa.func.coalesce(done.c.awaiting, 0).label("awaiting"),
    ]
    if with_dates:
        due = adapt(effective_due(day, done.c.expired_on))
        selected += [
            a.due_date.label("due_date"),
            due.label("effective_due"),
            flag(due < as_sql(day)).label("late"),
        ]
    select = sa.select(*selected)
    select = (
        select.select_from(days).join(assignments, sa.true())
        if days is not None
        else select.select_from(assignments)
    )
    done_of = sa.and_(done.c.employee_id == a.employee_id, done.c.course_id == a.course_id)
    if days is not None:
        done_of = sa.and_(done_of, done.c.day == days.c.day)
    select = with_units(
        select.join(Employee, Employee.id == a.employee_id),
        reads_units(filters, *columns, *extra),
    )
    if not municipal:  # every employee of the population has a municipality: nothing is lost
        select = select.join(Municipality, Municipality.id == Employee.municipality_id)
    select = select.outerjoin(done, done_of).where(
        *population(scope, filters, day, today),
        *extra,
        adapt(assigned_on(day)),
        *(adapt(clause) for clause in course_clauses(filters)),
    )
    if materialized:
        return select.cte("facts").prefix_with("MATERIALIZED")
    return select.subquery("facts")


def is_covered(facts: Facts) -> ColumnElement[bool]:
    f = facts.c
    return sa.or_(f.verified == 1, sa.and_(f.awaiting == 1, f.counts_reported == 1))


def course_columns(session: Session, ids: Iterable[int]) -> list[CourseColumn]:
    ids = sorted(set(ids))
    if not ids:
        return []
    rows = session.execute(
        sa.select(Course, Provider.name)
        .join(Provider, Provider.id == Course.provider_id)
        .where(Course.id.in_(ids))
        .order_by(Provider.name, Course.title, Course.id)
    ).all()
    return [
        CourseColumn(
            id=course.id,
            key=course.key,
            title=course.title,
            title_en=course.title_en,
            provider_id=course.provider_id,
            provider_name=provider,
            validity_months=course.validity_months,
        )
        for course, provider in rows
    ]


def dates_table(days: Iterable[date], name: str = "report_days") -> sa.Subquery:
    """The dates as a one-column table (``day``): a UNION ALL of literals."""
    return sa.union_all(
        *(sa.select(sa.literal(day, sa.Date).label("day")) for day in days)
    ).subquery(name)


def a_date(value: date | str) -> date:
    """A date the database computed (SQLite hands those back as text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
