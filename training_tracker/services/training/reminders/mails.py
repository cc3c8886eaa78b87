"""The reminder, escalation and expiry mails, written when the sender's turn comes and only with
what is still owed then: a course reported in between is left out, and a mail with nothing
left is not sent at all (the outbox cancels it). Registered with the outbox as the renderers
of the ``reminder`` and ``escalation`` templates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    Completion,
    Course,
    Employee,
    OutboxMessage,
)
from training_tracker.models.reminders import Reminder, ReminderStep
from training_tracker.services.messaging import outbox, sso_links
from training_tracker.services.training.assignments import (
    COUNTING,
    effective_due,
    employed_on,
    open_assignment,
)


@dataclass(frozen=True)
class ReminderItem:
    step: str
    sequence: int
    course: Course
    due_date: date  # or, for an expiry notice, the expiry date
    employee: Employee  # whom the reminder is about (the recipient, except in escalations)


def _still_owed(
    session: Session, batch_keys: list[str], today: date
) -> dict[str, list[ReminderItem]]:
    """The reminders of these batches that still apply now, by batch: the course not
    completed or reported since, the person still employed and still required to take it.
    Three queries, however many batches."""
    due = effective_due(today)
    rows = session.execute(
        sa.select(Reminder, Assignment, due)
        .join(Assignment, Assignment.id == Reminder.assignment_id)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(Reminder.batch_key.in_(batch_keys), employed_on(today))
        .options(
            joinedload(Assignment.course).joinedload(Course.provider),
            joinedload(Assignment.employee).joinedload(Employee.unit),
        )
        .order_by(Reminder.id)
    ).all()
    expiring_ok = _still_expiring(session, [a.id for r, a, _d in rows if r.step == "expiry"], today)
    open_ids = set(
        session.scalars(
            sa.select(Assignment.id).where(
                Assignment.id.in_({a.id for _r, a, _d in rows}), open_assignment(today)
            )
        )
    )
    items: dict[str, list[ReminderItem]] = defaultdict(list)
    for reminder, assignment, due_date in rows:
        if reminder.step == ReminderStep.EXPIRY:
            if assignment.id not in expiring_ok:
                continue
            due_date = reminder.cycle
        elif assignment.id not in open_ids:
            continue
        items[reminder.batch_key].append(
            ReminderItem(
                reminder.step, reminder.sequence, assignment.course, due_date, assignment.employee
            )
        )
    return items


def _still_expiring(session: Session, assignment_ids: list[int], today: date) -> set[int]:
    if not assignment_ids:
        return set()
    covered_later = (
        sa.exists()
        .where(
            Completion.employee_id == Assignment.employee_id,
            Completion.course_id == Assignment.course_id,
            Completion.status.in_(COUNTING),
            sa.or_(
                Completion.expires_on.is_(None),
                Completion.expires_on > today + timedelta(days=90),
            ),
        )
        .correlate(Assignment)
    )
    return set(
        session.scalars(
            sa.select(Assignment.id).where(
                Assignment.id.in_(assignment_ids),
                Assignment.removed_at.is_(None),
                ~Assignment.exempt,
                ~covered_later,
            )
        )
    )


def active_recipient(session: Session, message: OutboxMessage) -> Employee | None:
    # Found in the session: delivery loads a batch's recipients together.
    employee = session.get(Employee, message.recipient_id) if message.recipient_id else None
    return employee if employee is not None and employee.is_active else None


@outbox.register_batch_renderer("reminder")
def _write_reminders(
    session: Session, messages: Sequence[OutboxMessage]
) -> dict[int, outbox.RenderedMail | None]:
    today = clock.today()
    owed = _still_owed(session, [message.idempotency_key for message in messages], today)
    return {
        message.id: _reminder_mail(
            session, active_recipient(session, message), owed.get(message.idempotency_key, [])
        )
        for message in messages
    }


def _reminder_mail(
    session: Session, employee: Employee | None, items: list[ReminderItem]
) -> outbox.RenderedMail | None:
    if employee is None or not items:
        return None
    return outbox.render_mail(
        "reminder",
        employee.preferred_language,
        employee=employee,
        items=items,
        report_urls={
            item.course.id: sso_links.mail_link(
                session, employee, "courses.report", course=item.course.id
            )
            for item in items
        },
        start_url=sso_links.mail_link(session, employee, "main.home"),
        overdue=any(item.step in ("overdue", "due") for item in items),
        expiring_only=all(item.step == ReminderStep.EXPIRY for item in items),
    )


@outbox.register_batch_renderer("escalation")
def _write_escalations(
    session: Session, messages: Sequence[OutboxMessage]
) -> dict[int, outbox.RenderedMail | None]:
    today = clock.today()
    owed = _still_owed(session, [message.idempotency_key for message in messages], today)
    return {
        message.id: _escalation_mail(
            session,
            active_recipient(session, message),
            owed.get(message.idempotency_key, []),
            today,
        )
        for message in messages
    }


def _escalation_mail(
    session: Session, manager: Employee | None, items: list[ReminderItem], today: date
) -> outbox.RenderedMail | None:
    if manager is None or not items:
        return None
    by_person: dict[int, list[ReminderItem]] = defaultdict(list)
    for item in items:
        by_person[item.employee.id].append(item)
    return outbox.render_mail(
        "escalation",
        manager.preferred_language,
        manager=manager,
        people=sorted(by_person.values(), key=lambda group: group[0].employee.full_name),
        start_url=sso_links.mail_link(session, manager, "main.home"),
        today=today,
    )
