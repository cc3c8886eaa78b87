"""What HR's page of a person shows: their assignments (closed ones too) with each one's state,
their completions, what the outbox holds for them, and their history in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    AuditEvent,
    Completion,
    Course,
    Employee,
    OutboxMessage,
)
from training_tracker.services.compliance import audit
from training_tracker.services.compliance.audit import HistoryEntry
from training_tracker.services.people.employment import EmploymentStatus, employment_status
from training_tracker.services.training.progress import CourseState, course_progress


@dataclass
class AssignmentLine:
    assignment: Assignment
    state: CourseState
    due_date: date  # an expired course is due again from its expiry date


@dataclass
class EmployeeRecord:
    employee: Employee
    status: EmploymentStatus
    assignments: list[AssignmentLine]
    completions: list[Completion]
    history: list[HistoryEntry]
    messages: list[OutboxMessage]


def employee_record(
    session: Session, employee: Employee, *, today: date | None = None
) -> EmployeeRecord:
    """Everything HR sees on a person's page: assignments (closed ones too) with their state,
    completions and the audit history."""
    today = today or clock.today()
    assignments = session.scalars(
        sa.select(Assignment)
        .join(Assignment.course)
        .where(Assignment.employee_id == employee.id)
        .options(selectinload(Assignment.course).selectinload(Course.provider))
        .order_by(Assignment.removed_at.is_not(None), Assignment.due_date, Course.title)
    ).all()
    completions = session.scalars(
        sa.select(Completion)
        .where(Completion.employee_id == employee.id)
        .options(selectinload(Completion.course))
        .order_by(Completion.completed_on.desc(), Completion.id.desc())
    ).all()
    events = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.subject_employee_id == employee.id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(200)
    ).all()
    return EmployeeRecord(
        employee=employee,
        status=employment_status(employee, today),
        assignments=[
            AssignmentLine(a, progress.state, progress.due_date)
            for a in assignments
            for progress in [course_progress(a, completions, today)]
        ],
        completions=list(completions),
        history=audit.describe_events(session, list(events)),
        # What the outbox holds for the person: HR sees that the welcome mail is on its way.
        messages=list(
            session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.recipient_id == employee.id)
                .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                .limit(50)
            )
        ),
    )
