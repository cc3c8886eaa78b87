"""The audit trail: who did what to whose records."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from training_tracker.models import AuditEvent, Employee


def record(
    session: Session,
    action: str,
    *,
    actor: Employee | None,
    subject: Employee | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (it commits with the change)."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        subject_employee_id=subject.id if subject else None,
        object_type=object_type,
        object_id=object_id,
        details=details,
    )
    session.add(event)
    return event
