"""What the start page shows each role: their own courses, their unit, their municipality."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, joinedload

from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Municipality,
    Unit,
)
from training_tracker.services.progress import (
    EXPIRING_WITHIN,
    CourseState,
    course_progress,
    current_completion,
)
from training_tracker.services.scope import Access, ReportScope, employee_scope

# Completions that count until they expire; rejected and withdrawn ones never do.
_COUNTING = (CompletionStatus.REPORTED, CompletionStatus.VERIFIED)


class AssignmentState(StrEnum):
    VERIFIED = "verified"
    REPORTED = "reported"
    OVERDUE = "overdue"
    PENDING = "pending"
    EXEMPT = "exempt"


@dataclass(frozen=True)
class MyCourse:
    """A course required of the employee, where it stands, and the report that decides it."""

    course: Course
    due_date: date
    state: CourseState
    days_left: int
    completion: Completion | None = None  # the report behind the state, for its page


@dataclass(frozen=True)
class OtherCourse:
    """A course the employee has completed without it being required of them now."""

    course: Course
    state: CourseState  # verified, reported, expiring or expired
    completion: Completion  # the completion that decides the state


@dataclass(frozen=True)
class HistoryEntry:
    """One of the employee's completions, whatever became of it."""

    completion: Completion
    expired: bool  # reported or verified, but its validity has run out
    superseded: bool  # still valid, but a later completion of the same course counts instead


@dataclass(frozen=True)
class MyOverview:
    """The employee's own part of the start page."""

    required: list[MyCourse]
    others: list[OtherCourse]
    history: list[HistoryEntry]  # newest first


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


def _my_assignments(session: Session, employee: Employee) -> list[Assignment]:
    """The courses required of the employee now, with course and provider (one query)."""
    return list(
        session.scalars(
            sa.select(Assignment)
            .join(Assignment.course)
            .join(Course.provider)
            .where(Assignment.employee_id == employee.id, Assignment.removed_at.is_(None))
            .options(contains_eager(Assignment.course).contains_eager(Course.provider))
            .order_by(Assignment.due_date, Course.title, Assignment.id)
        )
    )


def _my_completions(session: Session, employee: Employee) -> list[Completion]:
    """Every completion of the employee, newest first, with course and provider (one query)."""
    return list(
        session.scalars(
            sa.select(Completion)
            .where(Completion.employee_id == employee.id)
            .options(
                joinedload(Completion.course, innerjoin=True).joinedload(
                    Course.provider, innerjoin=True
                )
            )
            .order_by(
                Completion.completed_on.desc(),
                Completion.reported_at.desc(),
                Completion.id.desc(),
            )
        )
    )


def _required(
    assignments: list[Assignment], completions: list[Completion], today: date
) -> list[MyCourse]:
    courses = []
    for assignment in assignments:
        progress = course_progress(assignment, completions, today)
        courses.append(
            MyCourse(
                course=assignment.course,
                due_date=progress.due_date,
                state=progress.state,
                days_left=progress.days_left,
                completion=progress.current,
            )
        )
    return courses


def _expired(completion: Completion, today: date) -> bool:
    return completion.expires_on is not None and completion.expires_on <= today


def _completed_state(
    completions: list[Completion], today: date
) -> tuple[CourseState, Completion] | None:
    """Where a course nobody requires stands, by the same rule as a required one: the latest
    valid completion counts; without one, the latest that ran out; rejected and withdrawn
    reports complete nothing."""
    current = current_completion(completions, today)
    if current is not None:
        if current.expires_on is not None and current.expires_on <= today + EXPIRING_WITHIN:
            return CourseState.EXPIRING, current
        if current.status == CompletionStatus.VERIFIED:
            return CourseState.VERIFIED, current
        return CourseState.REPORTED, current
    counted = [c for c in completions if c.status in _COUNTING]
    if counted:  # newest first, as loaded
        return CourseState.EXPIRED, counted[0]
    return None


def my_courses(session: Session, employee: Employee, today: date) -> list[MyCourse]:
    """The courses required of the employee, the earliest due first."""
    return _required(_my_assignments(session, employee), _my_completions(session, employee), today)


def my_overview(session: Session, employee: Employee, today: date) -> MyOverview:
    """The employee's required courses, the other courses they have completed, and every
    completion they have reported. Two queries, however long the history."""
    assignments = _my_assignments(session, employee)
    completions = _my_completions(session, employee)
    required_ids = {assignment.course_id for assignment in assignments}
    by_course: dict[int, list[Completion]] = {}
    for completion in completions:
        by_course.setdefault(completion.course_id, []).append(completion)

    others = []
    current: dict[int, Completion | None] = {}
    for course_id, course_completions in by_course.items():
        current[course_id] = current_completion(course_completions, today)
        if course_id in required_ids:
            continue
        decided = _completed_state(course_completions, today)
        if decided is not None:
            state, completion = decided
            others.append(OtherCourse(completion.course, state, completion))
    others.sort(key=lambda other: (other.course.title, other.course.id))

    history = [
        HistoryEntry(
            completion=completion,
            expired=completion.status in _COUNTING and _expired(completion, today),
            superseded=(
                completion.status in _COUNTING
                and not _expired(completion, today)
                and current[completion.course_id] is not completion
            ),
        )
        for completion in completions
    ]
    return MyOverview(
        required=_required(assignments, completions, today),
        others=others,
        history=history,
    )


@dataclass(frozen=True)
class GroupSummary:
    """Counts over the open assignments of active employees in one unit or municipality."""

    name: str
    employees: int
    required: int
    verified: int
    reported: int
    overdue: int
    # The municipality's setting: do reported, not yet verified, completions count as covered?
    counts_reported: bool = True

    @property
    def covered(self) -> int:
        return self.verified + (self.reported if self.counts_reported else 0)

    @property
    def coverage_percent(self) -> int:
        return round(100 * self.covered / self.required) if self.required else 0


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
        sa.select(
            group_id,
            Municipality.name,
            unit_name,
            sa.func.count(Employee.id),
            Municipality.count_reported_in_coverage,
        )
        .select_from(Employee)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .where(active)
        .group_by(
            group_id,
            Municipality.name,
            Municipality.count_reported_in_coverage,
            *([Unit.name] if by_unit else []),
        )
    ).all()
    several_municipalities = len({row[1] for row in groups}) > 1
    names: dict[int, str] = {}
    headcounts: dict[int, int] = {}
    counts_reported: dict[int, bool] = {}
    for key, municipality, unit, headcount, count_reported in groups:
        counts_reported[key] = count_reported
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
                counts_reported=counts_reported[key],
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
