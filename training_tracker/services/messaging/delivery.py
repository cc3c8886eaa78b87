"""Delivering the outbox, each message at most once: one conditional UPDATE claims a batch
(queued → sending), so two senders running at once never both send a message; the batch is
written where it was queued unwritten, goes over one SMTP connection, and its outcomes (sent,
to retry, failed, cancelled) are recorded together.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, OutboxMessage, OutboxStatus
from training_tracker.services.core.sql import on_postgresql, table_of
from training_tracker.services.messaging.backends import (
    MailBackend,
    PermanentMailError,
    backend_from_config,
    connection_for,
)
from training_tracker.services.messaging.mail_rendering import (
    RenderedMail,
    build_email,
    write_deferred,
)

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)


def _claim(session: Session, now: datetime, limit: int) -> list[_Claimed]:
    """Claim up to ``limit`` due messages (queued → sending) in one UPDATE and commit it.

    ``status = queued`` is checked again on the row itself, so of two senders that picked the
    same ids only one claims each (SQLite's write lock serialises the two UPDATEs; PostgreSQL
    re-reads a row another transaction changed, and SKIP LOCKED lets the second sender take
    the next messages instead of waiting for the first one's)."""
    due = (
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if on_postgresql(session):
        # Chosen once (MATERIALIZED): as a plain subquery, a nested-loop plan runs it again
        # for every row, each time past the rows this UPDATE has claimed already, and
        # claims far more than ``limit``.
        chosen = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        due = sa.select(chosen.c.id)
    claimed_ids = session.scalars(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(due), OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.SENDING, claimed_by=secrets.token_hex(8), claimed_at=now)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    if not claimed_ids:
        return []
    # With each message, the address its recipient has now (in the same statement).
    rows = session.execute(
        sa.select(OutboxMessage, Employee.email)
        .outerjoin(Employee, Employee.id == OutboxMessage.recipient_id)
        .where(OutboxMessage.id.in_(claimed_ids))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    ).all()
    return [_Claimed(message, _address(message, current)) for message, current in rows]


# Mails about an address change itself go to the address they were queued for (the old one);
# every other mail follows its recipient to the address they have when it is sent.
FIXED_ADDRESS_KINDS = frozenset({"email_changed"})


def _address(message: OutboxMessage, current_email: str | None) -> str:
    if current_email is None or message.kind in FIXED_ADDRESS_KINDS:
        return message.recipient_email
    return current_email


@dataclass(frozen=True)
class _Claimed:
    message: OutboxMessage
    address: str  # where it goes: see _address


@dataclass
class _Outcomes:
    """What became of each message of a batch, written back with one statement per kind."""

    now: datetime
    written: list[dict[str, Any]] = field(default_factory=list)  # mails written now
    cancelled: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # to retry, or failed for good
    untried: list[int] = field(default_factory=list)  # given back: the batch was interrupted
    readdressed: list[dict[str, Any]] = field(default_factory=list)  # sent to a new address

    def record(self, session: Session) -> None:
        # Only reads since the claim was committed: end them first, in case a renderer's query
        # failed (PostgreSQL then refuses every statement until the transaction ends).
        session.rollback()
        table = table_of(OutboxMessage)
        by_id = table.c.id == sa.bindparam("message_id")
        if self.written:
            session.execute(
                sa.update(table)
                .where(by_id)
                .values(
                    subject=sa.bindparam("new_subject"),
                    body_text=sa.bindparam("new_text"),
                    body_html=sa.bindparam("new_html"),
                ),
                self.written,
            )
        if self.cancelled:
            session.execute(
                sa.update(table)
                .where(table.c.id.in_(self.cancelled))
                .values(status=OutboxStatus.CANCELLED, claimed_by=None)
            )
        if self.sent:
            session.execute(
                sa.update(table)
                .where(table.c.id.in_(self.sent))
                .values(
                    status=OutboxStatus.SENT,
                    sent_at=self.now,
                    last_error=None,
                    attempts=table.c.attempts + 1,
                )
            )
        if self.failed:
            session.execute(
                sa.update(table)
                .where(by_id)
                .values(
                    status=sa.bindparam("new_status"),
                    attempts=sa.bindparam("new_attempts"),
                    next_attempt_at=sa.bindparam("new_next_attempt_at"),
                    last_error=sa.bindparam("new_error"),
                    claimed_by=None,
                ),
                self.failed,
            )
        if self.readdressed:
            session.execute(
                sa.update(table).where(by_id).values(recipient_email=sa.bindparam("new_email")),
                self.readdressed,
            )
        if self.untried:
            session.execute(
                sa.update(table)
                .where(table.c.id.in_(self.untried))
                .values(status=OutboxStatus.QUEUED, claimed_by=None, claimed_at=None)
            )
        session.commit()


def deliver_outbox(
    session: Session,
    *,
    backend: MailBackend | None = None,
    now: datetime | None = None,
    limit: int = 200,
) -> DeliveryReport:
    """Send a batch of what is due in the outbox; each message at most once, even with two
    senders.

    The same statements whatever the batch's size: one claims it (queued → sending) and is
    committed before anything is sent, one loads it, one loads the recipients of the messages
    written now; then the batch goes over one SMTP connection, and one statement per outcome
    (sent, failed or to retry, cancelled) and one commit record it. A message's failure is
    recorded on that message alone. A process that dies mid-batch leaves its messages
    ``sending``, never sent twice (``claimed_at`` tells since when).
    """
    backend = backend or backend_from_config()
    now = now or clock.utcnow()
    config = current_app.config
    report = DeliveryReport()
    claimed = _claim(session, now, limit)
    if not claimed:
        return report
    messages = [item.message for item in claimed]
    address = {item.message.id: item.address for item in claimed}
    outcomes = _Outcomes(now=now)
    written = write_deferred(
        session, [message for message in messages if message.template and not message.body_text]
    )
    to_send: list[tuple[OutboxMessage, RenderedMail]] = []
    for message in messages:
        if message.id not in written:
            mail = RenderedMail(message.subject, message.body_text, message.body_html or "")
        elif isinstance(outcome := written[message.id], Exception):
            outcomes.failed.append(_failure(message, outcome, now, report))
            continue
        elif outcome is None:
            outcomes.cancelled.append(message.id)
            report.cancelled += 1
            continue
        else:
            mail = outcome
            outcomes.written.append(
                {
                    "message_id": message.id,
                    "new_subject": mail.subject,
                    "new_text": mail.text,
                    "new_html": mail.html,
                }
            )
        to_send.append((message, mail))
    tried = 0
    try:
        with connection_for(backend) as connection:
            for message, mail in to_send:
                tried += 1
                to = address[message.id]
                try:
                    connection.send(
                        build_email(message, mail, config["MAIL_DEFAULT_SENDER"], to=to)
                    )
                except Exception as error:  # noqa: BLE001 - any failure is recorded on the row
                    outcomes.failed.append(_failure(message, error, now, report))
                else:
                    outcomes.sent.append(message.id)
                    report.sent += 1
                if to != message.recipient_email:  # the row shows where it went
                    outcomes.readdressed.append({"message_id": message.id, "new_email": to})
    except BaseException:
        # Interrupted (a signal, a stop): keep what was done and give back what was not
        # tried. The message in flight stays ``sending``: it may have gone.
        outcomes.untried = [message.id for message, _mail in to_send[tried:]]
        outcomes.record(session)
        raise
    outcomes.record(session)
    return report


def _failure(
    message: OutboxMessage, error: Exception, now: datetime, report: DeliveryReport
) -> dict[str, Any]:
    """The row's values after a failed attempt: back in the queue after a wait that doubles
    each time, or failed for good (a permanent refusal, or OUTBOX_MAX_ATTEMPTS spent)."""
    config = current_app.config
    attempts = message.attempts + 1
    error_text = f"{type(error).__name__}: {error}"[:2000]
    if isinstance(error, PermanentMailError) or attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        status, next_attempt_at = OutboxStatus.FAILED, message.next_attempt_at
        report.failed += 1
    else:
        delay = config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** (attempts - 1)
        status, next_attempt_at = OutboxStatus.QUEUED, now + timedelta(seconds=delay)
        report.retrying += 1
    report.errors.append(f"#{message.id} {message.recipient_email}: {error_text}")
    log.warning("Mail #%s to %s failed: %s", message.id, message.recipient_email, error)
    return {
        "message_id": message.id,
        "new_status": status,
        "new_attempts": attempts,
        "new_next_attempt_at": next_attempt_at,
        "new_error": error_text,
    }
