"""Failed sign-ins in the audit trail (``auth.login_failed``), with a bound on their growth.

What is kept of a failed sign-in:

- when the address belongs to an account, an event about that person: HR of their
  municipality and admins read it, under the audit log's usual scope (services/scope.py);
- when it belongs to none, an event about nobody, which only admins read, and *without* the
  address: a mistyped address is often someone's real one elsewhere, and an attacker's list of
  addresses is nothing we need to keep;
- never the password tried, nor the client's network address.

The bound: an attempt within ``WINDOW`` of the latest such event for the same account (or for
"no account") adds to that event's count instead of writing a row, so an account under attack
grows the trail by one row an hour, however many attempts it takes (two attempts racing for a
first row may write two); and the nightly retention job deletes these events
``FAILED_LOGIN_KEEP_DAYS`` after they began (:func:`prune`). The sign-in rate limits are
unchanged: they refuse attempts before any of this runs.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import AuditEvent, Employee
from training_tracker.services.core import audit_trail
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.core.sql import execute_dml

ACTION = "auth.login_failed"
WINDOW = timedelta(hours=1)


def record(session: Session, email: str) -> AuditEvent:
    """Count one failed sign-in with ``email`` (in the caller's transaction)."""
    now = clock.utcnow()
    account = session.scalars(
        sa.select(Employee).where(Employee.email == normalise_email(email))
    ).one_or_none()
    about = (
        AuditEvent.subject_employee_id == account.id
        if account is not None
        else AuditEvent.subject_employee_id.is_(None)
    )
    # Locked, so that concurrent attempts add up rather than overwrite one another.
    latest = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == ACTION, about, AuditEvent.occurred_at > now - WINDOW)
        .order_by(AuditEvent.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if latest is None:
        return audit_trail.record(
            session, ACTION, actor=None, subject=account, attempts=1, last_at=now.isoformat()
        )
    attempts = latest.details.get("attempts")
    latest.details = {
        **latest.details,
        "attempts": (attempts if isinstance(attempts, int) else 1) + 1,
        "last_at": now.isoformat(),
    }
    return latest


def prune(session: Session, today: date, *, dry_run: bool = False) -> int:
    """Delete the failed-sign-in events begun more than ``FAILED_LOGIN_KEEP_DAYS`` before
    ``today``; how many (or, in a dry run, would be)."""
    keep_days = current_app.config["FAILED_LOGIN_KEEP_DAYS"]
    old = sa.and_(
        AuditEvent.action == ACTION,
        AuditEvent.occurred_at < datetime.combine(today - timedelta(days=keep_days), time.min),
    )
    if dry_run:
        return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(old)) or 0
    result = execute_dml(
        session, sa.delete(AuditEvent).where(old).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
