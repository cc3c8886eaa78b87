"""One person's courses as HR handles them on the person page: how many are open, one-off
assignments outside the rules, exemptions, and the names of a completion's states."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    AssignmentSource,
    CompletionStatus,
    Course,
    CourseStatus,
    Employee,
    Provider,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.dates import shown_date
from training_tracker.services.core.scope import Access, employee_scope
from training_tracker.services.core.titles import course_title
from training_tracker.services.people.employees import EmployeeError

COMPLETION_STATUS_LABELS = {
    CompletionStatus.REPORTED: _l("Rapporterad"),
    CompletionStatus.VERIFIED: _l("Godkänd"),
    CompletionStatus.REJECTED: _l("Avvisad"),
    CompletionStatus.WITHDRAWN: _l("Återkallad"),
}


def open_assignment_count(session: Session, employee: Employee) -> int:
    """Courses currently required of the person (not closed, not exempt)."""
    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                Assignment.employee_id == employee.id,
                Assignment.removed_at.is_(None),
                ~Assignment.exempt,
            )
        )
        or 0
    )


def assignable_courses(session: Session) -> list[Course]:
    """Active courses HR may assign to one person, by provider and title."""
    return list(
        session.scalars(
            sa.select(Course)
            .join(Course.provider)
            .where(Course.status == CourseStatus.ACTIVE)
            .options(selectinload(Course.provider))
            .order_by(Provider.name, Course.title)
        )
    )


def assignment_in_scope(
    session: Session, user: Employee, employee_id: int, assignment_id: int
) -> Assignment | None:
    """The assignment if it belongs to that employee and ``user`` manages them; None means
    404."""
    return session.scalars(
        sa.select(Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(
            Assignment.id == assignment_id,
            Assignment.employee_id == employee_id,
            employee_scope(user, Access.MANAGE),
        )
    ).one_or_none()


def _assignment_snapshot(assignment: Assignment | None) -> dict[str, Any] | None:
    if assignment is None:
        return None
    return {
        "due_date": assignment.due_date.isoformat(),
        "source": assignment.source.value,
        "removed": assignment.removed_at is not None,
    }


def assign_course(
    session: Session,
    employee: Employee,
    course: Course,
    *,
    due_date: date,
    actor: Employee | None,
    today: date | None = None,
) -> Assignment:
    """Require one course of one person, whatever the rules say; rules never close it."""
    today = today or clock.today()
    if not employee.active:
        raise EmployeeError(
            _("%(name)s har slutat; tilldela inga kurser.", name=employee.full_name), "course_id"
        )
    if course.status != CourseStatus.ACTIVE:
        raise EmployeeError(_("Kursen är inte aktiv i katalogen."), "course_id")
    if due_date < today:
        raise EmployeeError(_("Sista dag kan inte ha passerat."), "due_date")
    assignment = session.scalars(
        sa.select(Assignment).where(
            Assignment.employee_id == employee.id, Assignment.course_id == course.id
        )
    ).one_or_none()
    if assignment is not None and assignment.removed_at is None:
        raise EmployeeError(
            _(
                "%(course)s är redan tilldelad, med sista dag %(date)s.",
                course=course_title(course),
                date=shown_date(assignment.due_date),
            ),
            "course_id",
        )
    before = _assignment_snapshot(assignment)
    if assignment is None:
        assignment = Assignment(employee_id=employee.id, course_id=course.id, due_date=due_date)
        session.add(assignment)
    assignment.source = AssignmentSource.MANUAL
    assignment.rule_id = None
    assignment.due_date = due_date
    assignment.removed_at = None
    session.flush()
    audit_trail.record(
        session,
        "assignment.assigned",
        actor=actor,
        subject=employee,
        object_type="assignment",
        object_id=assignment.id,
        course=course.key,
        due_date=due_date.isoformat(),
        before=before,
        after=_assignment_snapshot(assignment),
    )
    return assignment


EXEMPTION_REASON_MAX = 500


def set_exemption(
    session: Session,
    assignment: Assignment,
    *,
    exempt: bool,
    reason: str,
    actor: Employee | None,
) -> bool:
    """Exempt one person from one assignment (a reason is required), or lift it. Returns
    False when nothing changed (already so)."""
    reason = " ".join((reason or "").split())
    if exempt and actor is not None and assignment.employee_id == actor.id:
        # Nobody exempts themselves: another HR person or an admin decides.
        raise EmployeeError(
            _("Du kan inte undanta dig själv. Be en annan HR-person eller en administratör."),
            "reason",
        )
    if exempt and not reason:
        raise EmployeeError(_("Skriv varför personen undantas."), "reason")
    if len(reason) > EXEMPTION_REASON_MAX:
        raise EmployeeError(
            _("Skälet får vara högst %(max)d tecken.", max=EXEMPTION_REASON_MAX), "reason"
        )
    if not exempt and not assignment.exempt:
        return False
    if exempt and assignment.exempt and assignment.exemption_reason == reason:
        return False
    before = {"exempt": assignment.exempt, "reason": assignment.exemption_reason}
    assignment.exempt = exempt
    assignment.exemption_reason = reason if exempt else None
    assignment.exempted_at = clock.utcnow() if exempt else None
    assignment.exempted_by_id = actor.id if (exempt and actor) else None
    audit_trail.record(
        session,
        "assignment.exempted" if exempt else "assignment.exemption_lifted",
        actor=actor,
        subject=assignment.employee,
        object_type="assignment",
        object_id=assignment.id,
        course_id=assignment.course_id,
        before=before,
        after={"exempt": exempt, "reason": assignment.exemption_reason},
    )
    return True
