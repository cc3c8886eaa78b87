"""The manager's part of the start page: their unit first. How many of their staff are fully
trained, which reports wait for their review, who is overdue with which course (and whether
they were reminded of it by hand this past week), and that list as a spreadsheet.

"Their staff" is :func:`scope.team_scope`: the people of the units they manage and their direct
reports. Counted as the start page's unit table counts: active employees, their open, non-exempt
assignments; a course is done when a valid completion is verified, or reported where the
municipality counts reported completions; overdue when nothing valid is reported or verified
and its due date (a later one once a completion expired) has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, contains_eager

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Municipality,
    Role,
    Unit,
)
from training_tracker.services.core.scope import report_scope, team_scope
from training_tracker.services.core.spreadsheets import Sheet
from training_tracker.services.reporting.coverage_types import UnitPeople
from training_tracker.services.training import manual_reminders
from training_tracker.services.training.assignments import effective_due
from training_tracker.services.training.verification import (
    QueueFilters,
    QueueItem,
    verification_queue,
)

REVIEWS_SHOWN = 5  # the oldest reports waiting; the queue has the rest


@dataclass(frozen=True)
class OverdueCourse:
    """One overdue course of one person of the manager's staff."""

    assignment_id: int
    employee_id: int
    first_name: str
    last_name: str
    unit_id: int | None
    unit_name: str
    unit_readable: bool  # the manager may open the unit's page (where the person's row is)
    course: Course
    due_date: date
    days_overdue: int
    reminded_on: date | None  # the day of a reminder sent by hand in the past week
    is_self: bool  # the manager's own course: theirs to take, not to remind of

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class TeamUnit:
    id: int
    name: str


@dataclass
class TeamOverview:
    required: int = 0  # people with at least one required course
    fully_trained: int = 0  # of those, people with every required course done
    overdue_people: int = 0  # people with at least one overdue course
    overdue: list[OverdueCourse] = field(default_factory=list)
    units: list[TeamUnit] = field(default_factory=list)  # the units they manage
    reviews: list[QueueItem] = field(default_factory=list)  # the oldest waiting
    reviews_total: int = 0


def _valid(status: CompletionStatus, today: date) -> sa.ColumnElement[bool]:
    return (
        sa.exists()
        .where(
            Completion.employee_id == Assignment.employee_id,
            Completion.course_id == Assignment.course_id,
            Completion.status == status,
            sa.or_(Completion.expires_on.is_(None), Completion.expires_on > today),
        )
        .correlate(Assignment)
    )


def team_overview(session: Session, user: Employee, today: date | None = None) -> TeamOverview:
    """What a manager's start page shows of their staff; empty for someone who manages
    nobody. Three queries for the staff (whatever its size), and the review queue's."""
    today = today or clock.today()
    overview = TeamOverview()
    if not user.has_role(Role.MANAGER):
        return overview
    overview.units = sorted(
        (
            TeamUnit(grant.unit.id, grant.unit.name)
            for grant in user.role_grants
            if grant.role == Role.MANAGER and grant.unit is not None
        ),
        key=lambda unit: unit.name.casefold(),
    )
    due = effective_due(today)
    rows = session.execute(
        sa.select(
            Assignment,
            due.label("due"),
            _valid(CompletionStatus.VERIFIED, today).label("verified"),
            _valid(CompletionStatus.REPORTED, today).label("reported"),
            Municipality.count_reported_in_coverage,
        )
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .join(Course, Course.id == Assignment.course_id)
        .where(
            team_scope(user),
            Employee.active,
            Assignment.removed_at.is_(None),
            Assignment.exempt.is_(False),
        )
        .options(
            contains_eager(Assignment.employee).joinedload(Employee.unit),
            contains_eager(Assignment.course).joinedload(Course.provider),
        )
    ).all()
    scope = report_scope(user)
    done: dict[int, bool] = {}
    late: list[tuple[Assignment, date]] = []
    for assignment, due_on, verified, reported, counts_reported in rows:
        covered = bool(verified) or (bool(reported) and bool(counts_reported))
        done[assignment.employee_id] = done.get(assignment.employee_id, True) and covered
        if not verified and not reported and due_on < today:
            late.append((assignment, due_on))
    overview.required = len(done)
    overview.fully_trained = sum(done.values())
    overview.overdue_people = len({assignment.employee_id for assignment, _due in late})
    reminded = manual_reminders.last_reminded(session, [a.id for a, _due in late])
    for assignment, due_on in late:
        person = assignment.employee
        unit: Unit | None = person.unit
        at = reminded.get(assignment.id)
        overview.overdue.append(
            OverdueCourse(
                assignment_id=assignment.id,
                employee_id=person.id,
                first_name=person.first_name,
                last_name=person.last_name,
                unit_id=unit.id if unit else None,
                unit_name=unit.name if unit else "",
                unit_readable=unit is not None
                and scope.includes_unit(unit.id, unit.municipality_id),
                course=assignment.course,
                due_date=due_on,
                days_overdue=(today - due_on).days,
                reminded_on=clock.to_local(at).date() if at else None,
                is_self=person.id == user.id,
            )
        )
    overview.overdue.sort(
        key=lambda item: (
            item.last_name.casefold(),
            item.first_name.casefold(),
            item.employee_id,
            item.course.title.casefold(),
        )
    )
    queue = verification_queue(session, user, QueueFilters(), per_page=REVIEWS_SHOWN)
    overview.reviews = queue.items
    overview.reviews_total = queue.total
    return overview


def overdue_sheet(overview: TeamOverview, today: date) -> Sheet:
    """The overdue list as a spreadsheet: the rows the start page shows, in its order."""
    return Sheet(
        title=_("Försenade kurser"),
        header=[
            _("Efternamn"),
            _("Förnamn"),
            _("Enhet"),
            _("Kurs"),
            _("Sista dag"),
            _("Dagar försenad"),
            _("Påmind av chef eller HR"),
        ],
        rows=[
            [
                item.last_name,
                item.first_name,
                item.unit_name,
                item.course.title,
                item.due_date,
                item.days_overdue,
                item.reminded_on,
            ]
            for item in overview.overdue
        ],
        notes=[
            _("Läget den %(date)s.", date=today.isoformat()),
            _("Försenad: kursen krävs, ingen giltig rapport finns, och sista dagen har passerat."),
        ],
    )


def only_overdue(people: UnitPeople) -> UnitPeople:
    """A unit's people narrowed to those with an overdue course (the unit page's filter)."""
    return replace(people, people=[person for person in people.people if person.overdue])
