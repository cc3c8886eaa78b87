"""New-hire compliance: of the people hired in a period, per course, how many completed it by
its due date and the median days from the hire to the completion; in all, and per
municipality, sector or unit. Live, by the rules of :mod:`.coverage_facts`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Assignment, Completion, Employee, Municipality, Sector, Unit
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.core.sql import days_between
from training_tracker.services.reporting.coverage_facts import (
    as_sql,
    assigned_on,
    awaiting_status,
    completion_known,
    counts_reported,
    course_clauses,
    course_columns,
    exempt_on,
    flag,
    population,
    verified_status,
)
from training_tracker.services.reporting.coverage_types import (
    CourseColumn,
    CoverageFilters,
    NewHireGroup,
    NewHireGroups,
    NewHireReport,
    NewHireRow,
    months_before,
)


def default_hire_period(as_of: date) -> tuple[date, date]:
    """The twelve months up to and including ``as_of``."""
    return months_before(as_of, 12) + timedelta(days=1), as_of


@dataclass
class _CourseTally:
    """One course's counts over the period's hires, summed from its groups of hires with the
    same number of days to completion."""

    required: int = 0
    judged: int = 0
    completed_by_due: int = 0
    # Days from the hire to the first completion → how many completed after that many days.
    days_to_complete: dict[int, int] = field(default_factory=dict)

    def median_days(self) -> float | None:
        """``statistics.median`` of the days, each repeated as many times as it occurs: the
        middle value of an odd count (an int), the mean of the middle two of an even one."""
        completed = sum(self.days_to_complete.values())
        if not completed:
            return None
        middle = completed // 2
        if completed % 2:
            return self._nth_day(middle)
        return (self._nth_day(middle - 1) + self._nth_day(middle)) / 2

    def add(self, group: Any) -> None:
        """Count a group of assignments with the same days to completion."""
        self.required += group.assignments
        self.judged += group.judged
        self.completed_by_due += group.completed_by_due
        if group.days is not None:
            self.days_to_complete[group.days] = group.assignments

    def _nth_day(self, index: int) -> int:
        """The ``index``-th (from 0) of the days in ascending order."""
        seen = 0
        for days in sorted(self.days_to_complete):
            seen += self.days_to_complete[days]
            if index < seen:
                return days
        raise IndexError(index)


def new_hire_compliance(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    hired_from: date | None = None,
    hired_to: date | None = None,
) -> NewHireReport:
    """Of the population's employees hired in the period (by default the twelve months up to
    the report date), per course: how many completed it by its due date, and the median days
    from the hire to the completion. Two queries: the database counts the assignments by
    course and by days to the completion (a few hundred rows a course, whatever the staff),
    and the courses.

    A course counts as completed by its due date when a completion dated on or before the
    due date counts on the report date (its status then, under the count mode; whether it
    has expired since does not matter). The share is of the courses already judged: due
    before the report date, or completed by the due date already; a hire whose course is
    still ahead is not counted as late. The days run from the hire date to the date of the
    earliest completion that counts; a completion dated before the hire counts 0 days.
    """
    day = filters.day()
    hired_from, hired_to = _period(day, hired_from, hired_to)
    if scope.is_empty:
        return NewHireReport(day, hired_from, hired_to, 0, [])
    hires_in_population, hires_joined, assignments = _hire_facts(
        scope, filters, hired_from, hired_to
    )
    # Counted on their own, as a hire is in the group of each of their courses; in the same
    # statement as the groups, so both read the same snapshot.
    hires = hires_joined(sa.select(sa.func.count())).where(*hires_in_population)
    on_time, days_to_complete, judged = _judging(assignments, day)
    a = assignments.c
    groups = session.execute(
        sa.select(
            hires.scalar_subquery().label("hires"),
            a.course_id,
            days_to_complete.label("days"),
            sa.func.count().label("assignments"),
            sa.func.sum(flag(judged)).label("judged"),
            sa.func.sum(flag(on_time)).label("completed_by_due"),
        ).group_by(a.course_id, days_to_complete)
    ).all()
    hire_count = 0  # no group at all when nobody was hired
    tallies: dict[int, _CourseTally] = defaultdict(_CourseTally)
    for group in groups:
        hire_count = group.hires
        if group.course_id is not None:
            tallies[group.course_id].add(group)
    courses = course_columns(session, tallies)
    return NewHireReport(day, hired_from, hired_to, hire_count, _rows(courses, tallies))


def new_hire_groups(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str = "municipality",
) -> NewHireGroups:
    """:func:`new_hire_compliance` per municipality, sector or unit (``group_by``), over the
    default period: one row per group with hires in the period, by the same rules. Three
    queries, whatever the number of groups: the hires per group, the assignments per group,
    course and days to completion, and the courses."""
    day = filters.day()
    hired_from, hired_to = _period(day, None, None)
    if scope.is_empty:
        return NewHireGroups(day, hired_from, hired_to, group_by, [], [])
    key, names = _GROUPINGS[group_by]
    hires_in_population, hires_joined, assignments = _hire_facts(
        scope, filters, hired_from, hired_to, key.label("group_key")
    )
    hire_rows = session.execute(
        hires_joined(sa.select(key, *names, sa.func.count()))
        .where(*hires_in_population)
        .group_by(key, *names)
    ).all()
    on_time, days_to_complete, judged = _judging(assignments, day)
    a = assignments.c
    counted = session.execute(
        sa.select(
            a.group_key,
            a.course_id,
            days_to_complete.label("days"),
            sa.func.count().label("assignments"),
            sa.func.sum(flag(judged)).label("judged"),
            sa.func.sum(flag(on_time)).label("completed_by_due"),
        )
        .where(a.course_id.is_not(None))
        .group_by(a.group_key, a.course_id, days_to_complete)
    ).all()
    tallies: dict[Any, dict[int, _CourseTally]] = defaultdict(lambda: defaultdict(_CourseTally))
    for row in counted:
        tallies[row.group_key][row.course_id].add(row)
    courses = course_columns(session, {c for by_course in tallies.values() for c in by_course})
    groups = []
    for group_key, *labels, hires in hire_rows:
        rows = _rows(courses, tallies.get(group_key, {}))
        if group_by == "sector":  # an enum from both queries
            sector = Sector(group_key)
            groups.append(NewHireGroup(sector.value, sector.label, None, int(hires), rows))
        else:
            municipality = labels[1] if group_by == "unit" else None
            groups.append(NewHireGroup(group_key, labels[0], municipality, int(hires), rows))
    if group_by == "municipality":
        # Every municipality of the report is a row, one without hires too: side by side, a
        # municipality missing from the table would read as a gap in the data.
        shown = {group.key for group in groups}
        groups += [
            NewHireGroup(municipality_id, name, None, 0, _rows(courses, {}))
            for municipality_id, name in session.execute(
                sa.select(Municipality.id, Municipality.name).where(
                    Municipality.id.in_(_whole_municipalities(session, scope, filters))
                )
            )
            if municipality_id not in shown
        ]
    if group_by == "sector":
        order = {sector.value: n for n, sector in enumerate(Sector)}
        groups.sort(key=lambda group: order[group.key])
    else:
        groups.sort(key=lambda group: (group.municipality or "", group.label, group.key))
    return NewHireGroups(day, hired_from, hired_to, group_by, courses, groups)


def _whole_municipalities(
    session: Session, scope: ReportScope, filters: CoverageFilters
) -> list[int]:
    """The municipalities a report by municipality covers whole (none for a unit's report or a
    manager's units): each has a row, with or without hires."""
    if filters.unit_id is not None:
        return []
    wanted = (
        set(session.scalars(sa.select(Municipality.id)))
        if scope.all_municipalities
        else set(scope.municipality_ids)
    )
    if filters.municipality_id is not None:
        wanted &= {filters.municipality_id}
    return sorted(wanted)


# --- the pieces both share ---------------------------------------------------------------------

_GROUPINGS: dict[str, tuple[Any, list[Any]]] = {
    "municipality": (Employee.municipality_id, [Municipality.name]),
    "sector": (Unit.sector, []),
    "unit": (Employee.unit_id, [Unit.name, Municipality.name]),
}


def _period(day: date, hired_from: date | None, hired_to: date | None) -> tuple[date, date]:
    default_from, default_to = default_hire_period(day)
    return hired_from or default_from, min(hired_to or default_to, day)


def _hire_facts(
    scope: ReportScope,
    filters: CoverageFilters,
    hired_from: date,
    hired_to: date,
    *columns: Any,
) -> tuple[list[Any], Callable[[sa.Select[Any]], sa.Select[Any]], sa.Subquery]:
    """The population's hires of the period (as WHERE clauses), a function joining a select
    of employees to their units and municipalities, and one row per hire and assignment (one
    for a hire without any: outer-joined) with the earliest completion that counts, and
    ``columns`` (a group's key)."""
    day = filters.day()
    today = clock.today()
    counting_completion = sa.and_(
        completion_known(day),
        sa.or_(
            verified_status(day),
            sa.and_(awaiting_status(day), counts_reported(filters.mode)),
        ),
    )
    assignment = sa.and_(
        Assignment.employee_id == Employee.id,
        assigned_on(day),
        sa.not_(exempt_on(day)),
        *course_clauses(filters),
    )
    hires_in_population = [
        *population(scope, filters, day, today),
        Employee.hire_date >= sa.literal(hired_from, sa.Date),
        Employee.hire_date <= sa.literal(hired_to, sa.Date),
    ]

    def hires_joined(select: sa.Select[Any]) -> sa.Select[Any]:
        return (
            select.select_from(Employee)
            .join(Unit, Unit.id == Employee.unit_id)
            .join(Municipality, Municipality.id == Employee.municipality_id)
        )

    # Joined and folded rather than looked up by a subquery per row: on PostgreSQL that
    # subquery's cost estimate turned on JIT compilation with inlining and optimization,
    # which took longer than running the query (1 to 1.7 s of compiling at 850,000 employees).
    assignments = (
        hires_joined(
            sa.select(
                *columns,
                Employee.hire_date.label("hired"),
                Assignment.course_id.label("course_id"),
                Assignment.due_date.label("due"),
                sa.func.min(Completion.completed_on).label("completed"),
            )
        )
        .outerjoin(Assignment, assignment)
        .outerjoin(Completion, counting_completion)
        .where(*hires_in_population)
        .group_by(*columns, Employee.id, Assignment.id)
        .subquery("new_hire_assignments")
    )
    return hires_in_population, hires_joined, assignments


def _judging(assignments: sa.Subquery, day: date) -> tuple[Any, Any, Any]:
    """(completed by the due date, days from the hire to the completion, judged) of an
    assignment row of :func:`_hire_facts`."""
    a = assignments.c
    on_time = sa.and_(a.completed.is_not(None), a.completed <= a.due)
    days = days_between(a.hired, a.completed)
    days_to_complete = sa.case((days < 0, 0), else_=days)  # NULL when not completed
    return on_time, days_to_complete, sa.or_(on_time, a.due < as_sql(day))


def _rows(courses: list[CourseColumn], tallies: Mapping[int, _CourseTally]) -> list[NewHireRow]:
    """A row per course in ``tallies``, in ``courses``' order."""
    return [
        NewHireRow(
            course=course,
            required=tallies[course.id].required,
            judged=tallies[course.id].judged,
            completed_by_due=tallies[course.id].completed_by_due,
            completed=sum(tallies[course.id].days_to_complete.values()),
            median_days=tallies[course.id].median_days(),
        )
        for course in courses
        if course.id in tallies
    ]
