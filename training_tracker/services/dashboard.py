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
    state: AssignmentState
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
    best = _best_completions(session, Employee.id == employee.id, today)
    return [
        MyCourse(
            course=a.course,
            due_date=a.due_date,
            state=_state(a, best.get((employee.id, a.course_id)), today),
            days_left=(a.due_date - today).days,
        )
        for a in assignments
    ]


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
    """Per unit or municipality, over the active employees matching ``population``."""
    group_column = Unit.name if group_by == "unit" else Municipality.name
    active = sa.and_(population, Employee.active)
    headcounts = dict(
        session.execute(
            sa.select(group_column, sa.func.count(Employee.id))
            .select_from(Employee)
            .join(Unit, Unit.id == Employee.unit_id)
            .join(Municipality, Municipality.id == Employee.municipality_id)
            .where(active)
            .group_by(group_column)
        ).all()
    )
    best = _best_completions(session, active, today)
    counts: dict[str, Counter[str]] = {name: Counter() for name in headcounts}
    rows = session.execute(
        sa.select(group_column, Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .where(active, Assignment.removed_at.is_(None), Assignment.exempt.is_(False))
    )
    for name, assignment in rows:
        state = _state(assignment, best.get((assignment.employee_id, assignment.course_id)), today)
        counts[name]["required"] += 1
        counts[name][state.value] += 1
    return [
        GroupSummary(
            name=name,
            employees=headcounts[name],
            required=counts[name]["required"],
            verified=counts[name][AssignmentState.VERIFIED.value],
            reported=counts[name][AssignmentState.REPORTED.value],
            overdue=counts[name][AssignmentState.OVERDUE.value],
        )
        for name in sorted(headcounts)
    ]


def people_summary(session: Session, user: Employee, today: date) -> list[GroupSummary]:
    """Units of the people a user may see (manager, HR, admin)."""
    return summaries(session, employee_scope(user, Access.VERIFY), "unit", today)


def report_summary(session: Session, scope: ReportScope, today: date) -> list[GroupSummary]:
    """Municipalities a user may read aggregates of (coordinators, HR, admin)."""
    return summaries(session, scope.employee_clause(), "municipality", today)
