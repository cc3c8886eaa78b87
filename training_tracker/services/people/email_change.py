"""What follows a change of someone's e-mail address, whoever made it and however.

The old address is told (what changed, by whom, whom to contact), because if the change was
not theirs, the old address is where the owner still reads mail. Every session of the account
ends, and every link sent before stops working: invitation and reset links are bound to the
address they were sent to (:func:`accounts.make_token`), reset mails still queued are stopped,
and invitations still queued are written again when they are sent, to the new address with a
new link. The person form and the HR import call :func:`email_changed`; any future way of
changing people (SCIM, an API) must too.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, OutboxMessage, OutboxStatus
from training_tracker.services.core import audit_trail
from training_tracker.services.messaging import outbox
from training_tracker.services.people import accounts

NOTICE_KIND = "email_changed"


def email_changed(
    session: Session,
    employee: Employee,
    *,
    old_email: str,
    actor: Employee | None,
    via_import: bool = False,
) -> None:
    """Act on ``employee``'s address having changed from ``old_email`` (already stored), in
    the caller's transaction."""
    new_email = employee.email
    if old_email == new_email:
        return
    accounts.end_all_sessions(session, employee, actor=actor)
    _stop_queued_links(session, employee.id)
    _queue_notice(
        session,
        employee,
        old_email=old_email,
        new_email=new_email,
        actor=actor,
        via_import=via_import,
    )


def emails_changed(
    session: Session, old_emails: dict[int, str], *, actor: Employee | None, via_import: bool
) -> None:
    """:func:`email_changed` for people whose address a bulk statement changed (an import),
    by id: their old address. Loaded afresh, since the statement bypassed the session."""
    if not old_emails:
        return
    for employee in session.scalars(
        sa.select(Employee)
        .where(Employee.id.in_(list(old_emails)))
        .execution_options(populate_existing=True)
    ):
        email_changed(
            session,
            employee,
            old_email=old_emails[employee.id],
            actor=actor,
            via_import=via_import,
        )


def _stop_queued_links(session: Session, employee_id: int) -> None:
    waiting = sa.and_(
        OutboxMessage.recipient_id == employee_id, OutboxMessage.status == OutboxStatus.QUEUED
    )
    # A reset link asked for at the old address would not work at the new one.
    session.execute(
        sa.update(OutboxMessage)
        .where(waiting, OutboxMessage.kind == "password_reset")
        .values(status=OutboxStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    # A welcome mail not yet sent is written again when its turn comes: the new address
    # gets it, with a link that works there (HR correcting a mistyped address, say).
    session.execute(
        sa.update(OutboxMessage)
        .where(waiting, OutboxMessage.kind == "invitation")
        .values(template="invitation", subject="", body_text="", body_html=None)
        .execution_options(synchronize_session=False)
    )


def _queue_notice(
    session: Session,
    employee: Employee,
    *,
    old_email: str,
    new_email: str,
    actor: Employee | None,
    via_import: bool,
) -> None:
    now = clock.utcnow()
    mail = outbox.render_mail(
        NOTICE_KIND,
        employee.preferred_language,
        employee=employee,
        old_email=old_email,
        new_email=new_email,
        actor=actor,
        via_import=via_import,
        municipality=employee.municipality,
    )
    change = hashlib.sha256(f"{old_email}|{new_email}|{now.isoformat()}".encode()).hexdigest()
    values = outbox.message_values(
        key=f"{NOTICE_KIND}:{employee.id}:{change[:32]}",
        kind=NOTICE_KIND,
        recipient=employee,
        mail=mail,
        now=now,
    )
    # To the old address, and kept there when it is sent (see delivery.FIXED_ADDRESS_KINDS).
    values["recipient_email"] = old_email
    session.add(OutboxMessage(**values))
    audit_trail.record(
        session,
        "account.email_changed",
        actor=actor,
        subject=employee,
        object_type="employee",
        object_id=employee.id,
        notice_to=old_email,
    )
