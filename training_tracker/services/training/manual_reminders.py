"""Reminders sent by hand: a manager (or HR of the municipality) asks the tracker to remind one
person of one overdue course, from the start page.

- Who: only those :func:`scope.reminder_scope` gives (the person's manager, HR of their
  municipality); nobody reminds themselves.
- What: the usual reminder mail (``templates/mail/reminder.*``), saying who asked for it,
  queued in the outbox like every other mail and delivered by it.
- How often: once a week per person and course. The last such reminder is read from the audit
  trail, where each one is recorded (:data:`ACTION`); the outbox's idempotency key (assignment
  and day) stops a second one when two clicks race each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    AuditEvent,
    Course,
    Employee,
    OutboxMessage,
    Role,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import reminder_scope
from training_tracker.services.messaging import outbox, sso_links
from training_tracker.services.training.assignments import (
    effective_due,
    employed_on,
    open_assignment,
)
from training_tracker.services.training.reminders.mails import ReminderItem

ACTION = "reminder.manual_sent"  # the audit event of each reminder sent by hand
KIND = "manual_reminder"  # its outbox message's kind
INTERVAL = timedelta(days=7)  # at most one per person and course in this time


class ReminderRefused(FieldError):
    """A reminder that cannot be sent; the message says why."""


class ReminderNotFound(LookupError):
    """No such assignment within the sender's reach (the view answers 404)."""


@dataclass(frozen=True)
class SentReminder:
    assignment: Assignment
    message: OutboxMessage


def last_reminded(
    session: Session, assignment_ids: list[int], now: datetime | None = None
) -> dict[int, datetime]:
    """When each of these assignments was last reminded of by hand within the past
    :data:`INTERVAL` (naive UTC), by assignment id; those not reminded are left out. One
    query."""
    if not assignment_ids:
        return {}
    since = (now or clock.utcnow()) - INTERVAL
    rows = session.execute(
        sa.select(AuditEvent.object_id, sa.func.max(AuditEvent.occurred_at))
        .where(
            AuditEvent.action == ACTION,
            AuditEvent.object_type == "assignment",
            AuditEvent.object_id.in_(assignment_ids),
            AuditEvent.occurred_at > since,
        )
        .group_by(AuditEvent.object_id)
    )
    return {assignment_id: at for assignment_id, at in rows if assignment_id is not None}


def _is_their_manager(actor: Employee, employee: Employee) -> bool:
    return employee.manager_id == actor.id or any(
        grant.role == Role.MANAGER and grant.unit_id == employee.unit_id
        for grant in actor.role_grants
    )


def send_manual_reminder(
    session: Session, *, actor: Employee, assignment_id: int, today: date | None = None
) -> SentReminder:
    """Queue a reminder to the person of an overdue assignment, at ``actor``'s request, and
    record it in the audit trail, in the caller's transaction.

    Raises :class:`ReminderNotFound` for an assignment outside ``actor``'s reach, and
    :class:`ReminderRefused` when the course is not overdue (any more), the person has left,
    it is ``actor``'s own course, or they were reminded of it in the past week."""
    today = today or clock.today()
    now = clock.utcnow()
    assignment = session.scalars(
        sa.select(Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(Assignment.id == assignment_id, reminder_scope(actor))
        .options(
            joinedload(Assignment.employee).joinedload(Employee.municipality),
            joinedload(Assignment.course).joinedload(Course.provider),
        )
    ).one_or_none()
    if assignment is None:
        raise ReminderNotFound(assignment_id)
    employee = assignment.employee
    if employee.id == actor.id:
        raise ReminderRefused(_("Du kan inte skicka en påminnelse till dig själv."))
    due = session.scalar(
        sa.select(effective_due(today))
        .select_from(Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(Assignment.id == assignment.id, open_assignment(today), employed_on(today))
    )
    if due is None:
        raise ReminderRefused(
            _(
                "%(name)s behöver ingen påminnelse om kursen: den är redan rapporterad eller "
                "krävs inte längre.",
                name=employee.full_name,
            )
        )
    if due >= today:
        raise ReminderRefused(
            _("Kursen är inte försenad för %(name)s än.", name=employee.full_name)
        )
    earlier = last_reminded(session, [assignment.id], now).get(assignment.id)
    if earlier is not None:
        raise ReminderRefused(
            _(
                "%(name)s påmindes om kursen %(date)s. Det går att påminna en gång i veckan "
                "om samma kurs.",
                name=employee.full_name,
                date=format_date(clock.to_local(earlier).date(), "d MMMM"),
            )
        )
    mail = outbox.render_mail(
        "reminder",
        employee.preferred_language,
        employee=employee,
        items=[ReminderItem("overdue", 0, assignment.course, due, employee)],
        report_urls={
            assignment.course.id: sso_links.mail_link(
                session, employee, "courses.report", course=assignment.course.id
            )
        },
        start_url=sso_links.mail_link(session, employee, "main.home"),
        overdue=True,
        expiring_only=False,
        requested_by=actor.full_name,
        requested_by_manager=_is_their_manager(actor, employee),
    )
    message = outbox.queue_mail(
        session,
        key=f"manual-reminder:{assignment.id}:{today.isoformat()}",
        kind=KIND,
        recipient=employee,
        mail=mail,
    )
    if message is None:  # another click queued today's a moment ago
        raise ReminderRefused(
            _("%(name)s har redan fått en påminnelse om kursen i dag.", name=employee.full_name)
        )
    audit_trail.record(
        session,
        ACTION,
        actor=actor,
        subject=employee,
        object_type="assignment",
        object_id=assignment.id,
        course=assignment.course.title,
    )
    return SentReminder(assignment, message)
