"""What the start page shows each role: their own courses, their unit, their municipality."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Municipality,
    Unit,
)
from training_tracker.services.progress import CourseState, course_progress
from training_tracker.services.scope import Access, ReportScope, employee_scope


class AssignmentState(StrEnum):
    VERIFIED = "verified"
    REPORTED = "reported"
    OVERDUE = "overdue"
    PENDING = "pending"
    EXEMPT = "exempt"


@dataclass(frozen=True)
class MyCourse:
    course: Course
    due_date: date
    state: CourseState
    days_left: int


def _state(assignment: Assignment, best: CompletionStatus | None, today: date) -> AssignmentState:
    if assignment.exempt:
        return AssignmentState.EXEMPT
    if best == CompletionStatus.VERIFIED:
        return AssignmentState.VERIFIED
    if best == CompletionStatus.REPORTED:
        return AssignmentState.REPORTED
    return AssignmentState.OVERDUE if assignment.due_date < today else AssignmentState.PENDING


def _best_completions(
    session: Session, employee_filter: sa.ColumnElement[bool], today: date
) -> dict[tuple[int, int], CompletionStatus]:
    """(employee, course) → the strongest valid completion status (verified over reported)."""
    rows = session.execute(
        sa.select(Completion.employee_id, Completion.course_id, Completion.status)
        .join(Employee, Employee.id == Completion.employee_id)
        .where(
            employee_filter,
            Completion.status.in_([CompletionStatus.VERIFIED, CompletionStatus.REPORTED]),
            sa.or_(Completion.expires_on.is_(None), Completion.expires_on > today),
        )
    )
    best: dict[tuple[int, int], CompletionStatus] = {}
    for employee_id, course_id, status in rows:
        key = (employee_id, course_id)
        if best.get(key) != CompletionStatus.VERIFIED:
            best[key] = status
    return best


def my_courses(session: Session, employee: Employee, today: date) -> list[MyCourse]:
    assignments = session.scalars(
        sa.select(Assignment)
        .where(Assignment.employee_id == employee.id, Assignment.removed_at.is_(None))
        .options(selectinload(Assignment.course).selectinload(Course.provider))
        .order_by(Assignment.due_date)
    ).all()
    completions = session.scalars(
        sa.select(Completion).where(Completion.employee_id == employee.id)
    ).all()
    courses = []
    for assignment in assignments:
        progress = course_progress(assignment, completions, today)
        courses.append(
            MyCourse(
                course=assignment.course,
                due_date=progress.due_date,
                state=progress.state,
                days_left=progress.days_left,
            )
        )
    return courses


@dataclass(frozen=True)
class GroupSummary:
    """Counts over the open assignments of active employees in one unit or municipality."""

    name: str
    employees: int
    required: int
    verified: int
    reported: int
    overdue: int

    @property
    def coverage_percent(self) -> int:
        return round(100 * (self.verified + self.reported) / self.required) if self.required else 0


def summaries(
    session: Session, population: sa.ColumnElement[bool], group_by: str, today: date
) -> list[GroupSummary]:
    """Per unit or municipality, over the active employees matching ``population``.

    Units are grouped by id (many municipalities have an "Elevhälsan") and named with their
    municipality when the population spans more than one.
    """
    by_unit = group_by == "unit"
    group_id = Unit.id if by_unit else Municipality.id
    unit_name = Unit.name if by_unit else sa.literal_column("''")
    active = sa.and_(population, Employee.active)
    groups = session.execute(
        sa.select(group_id, Municipality.name, unit_name, sa.func.count(Employee.id))
        .select_from(Employee)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .where(active)
        .group_by(group_id, Municipality.name, *([Unit.name] if by_unit else []))
    ).all()
    several_municipalities = len({municipality for _, municipality, _, _ in groups}) > 1
    names: dict[int, str] = {}
    headcounts: dict[int, int] = {}
    for key, municipality, unit, headcount in groups:
        if not by_unit:
            names[key] = municipality
        else:
            names[key] = f"{unit} ({municipality})" if several_municipalities else unit
        headcounts[key] = headcount
    best = _best_completions(session, active, today)
    counts: dict[int, Counter[str]] = {key: Counter() for key in headcounts}
    rows = session.execute(
        sa.select(group_id, Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .where(active, Assignment.removed_at.is_(None), Assignment.exempt.is_(False))
    )
    for key, assignment in rows:
        state = _state(assignment, best.get((assignment.employee_id, assignment.course_id)), today)
        counts[key]["required"] += 1
        counts[key][state.value] += 1
    return sorted(
        (
            GroupSummary(
                name=names[key],
                employees=headcounts[key],
                required=counts[key]["required"],
                verified=counts[key][AssignmentState.VERIFIED.value],
                reported=counts[key][AssignmentState.REPORTED.value],
                overdue=counts[key][AssignmentState.OVERDUE.value],
            )
            for key in headcounts
        ),
        key=lambda summary: summary.name,
    )


def people_summary(session: Session, user: Employee, today: date) -> list[GroupSummary]:
    """Units of the people a user may see (manager, HR, admin)."""
    return summaries(session, employee_scope(user, Access.VERIFY), "unit", today)


def report_summary(session: Session, scope: ReportScope, today: date) -> list[GroupSummary]:
    """Municipalities a user may read aggregates of (coordinators, HR, admin)."""
    return summaries(session, scope.employee_clause(), "municipality", today)
