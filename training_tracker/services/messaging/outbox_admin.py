"""The admin's view of the mail outbox: what is queued, sent or failed, and resending failures.

Resending never sends anything itself: it puts a failed message back in the queue, and the
ordinary delivery (:func:`training_tracker.services.messaging.outbox.deliver_outbox`) sends it,
exactly once, as it sends everything else.

Invitation and reset mails carry a link that sets the recipient's password. The admin reads
them with that link cut out (:func:`shown_text`), and instead of resending one queues a fresh
link to the person's current address (:func:`send_fresh_link`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, defer
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import Employee, OutboxMessage, OutboxStatus
from training_tracker.services.core import audit_trail
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.sql import execute_dml
from training_tracker.services.messaging import sign_in_links

PER_PAGE = 50
# Mails whose text holds a link that sets the recipient's password.
LINK_KINDS = frozenset({"invitation", "password_reset"})


class OutboxError(FieldError):
    """A resend that cannot be done (the message is not a failed one)."""


@dataclass
class OutboxQuery:
    """The list's filters and page, as parsed from the URL (None: all)."""

    status: OutboxStatus | None = None
    kind: str | None = None
    email: str = ""  # part of the recipient's address
    page: int = 1


@dataclass
class OutboxPage:
    rows: list[OutboxMessage]
    query: OutboxQuery  # as applied: a kind the outbox has never held is dropped
    total: int  # messages matching the whole query
    page: int
    per_page: int
    # Messages per status under the kind and e-mail filters (not the status filter), so the
    # summary line tells how many of *these* failed; every status is present, zeros too.
    counts: dict[OutboxStatus, int]
    kinds: list[str]  # every kind the outbox holds, for the filter's choices
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, math.ceil(self.total / self.per_page))

    @property
    def count_all(self) -> int:
        return sum(self.counts.values())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_outbox(session: Session, query: OutboxQuery, *, per_page: int = PER_PAGE) -> OutboxPage:
    """One page of the outbox, newest first, with the counts per status: three queries
    whatever the size of the outbox."""
    kinds = list(
        session.scalars(sa.select(OutboxMessage.kind).distinct().order_by(OutboxMessage.kind))
    )
    applied = OutboxQuery(
        status=query.status,
        kind=query.kind if query.kind in kinds else None,
        email=query.email.strip(),
        page=query.page,
    )
    conditions: list[ColumnElement[bool]] = []
    if applied.kind is not None:
        conditions.append(OutboxMessage.kind == applied.kind)
    if applied.email:
        pattern = f"%{_escape_like(applied.email.lower())}%"
        conditions.append(sa.func.lower(OutboxMessage.recipient_email).like(pattern, escape="\\"))
    counted: dict[OutboxStatus, int] = dict(
        session.execute(
            sa.select(OutboxMessage.status, sa.func.count())
            .where(*conditions)
            .group_by(OutboxMessage.status)
        )
        .tuples()
        .all()
    )
    counts = {status: counted.get(status, 0) for status in OutboxStatus}
    if applied.status is not None:
        conditions.append(OutboxMessage.status == applied.status)
        total = counts[applied.status]
    else:
        total = sum(counts.values())
    # A page past the end (a bookmark, a list that shrank) shows the last page.
    applied.page = min(max(1, applied.page), max(1, math.ceil(total / per_page)))
    rows = session.scalars(
        sa.select(OutboxMessage)
        .where(*conditions)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset((applied.page - 1) * per_page)
        .limit(per_page)
        # The bodies are for the message's own page; the list never reads them.
        .options(
            defer(OutboxMessage.body_text, raiseload=True),
            defer(OutboxMessage.body_html, raiseload=True),
        )
    ).all()
    return OutboxPage(
        rows=list(rows),
        query=applied,
        total=total,
        page=applied.page,
        per_page=per_page,
        counts=counts,
        kinds=kinds,
    )


def _requeue_values() -> dict[str, object]:
    # ``last_error`` is kept: the admin still sees why it failed while it waits in the queue;
    # delivery clears it when the message is sent (or replaces it if it fails again).
    return {
        "status": OutboxStatus.QUEUED,
        "attempts": 0,
        "next_attempt_at": clock.utcnow(),
        "claimed_by": None,
        "claimed_at": None,
    }


def requeue_failed(session: Session, message_id: int, *, actor: Employee | None) -> OutboxMessage:
    """Put a failed message back in the queue, with its attempts reset, to be sent at the next
    delivery. Only a failed message: one that is queued, being sent, sent or cancelled is
    refused with :class:`OutboxError`. The conditional UPDATE (``WHERE status = 'failed'``)
    is what makes two admins clicking at once requeue it once."""
    requeued = execute_dml(
        session,
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.FAILED)
        .values(**_requeue_values())
        .execution_options(synchronize_session="fetch"),
    ).rowcount
    # Read afresh: a row loaded before the UPDATE may hold what another admin changed since.
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        raise OutboxError(_("Mejlet finns inte i utkorgen."))
    if requeued != 1:
        if message.status == OutboxStatus.SENT:
            text = _("Mejlet är redan skickat och skickas inte igen.")
        elif message.status in (OutboxStatus.QUEUED, OutboxStatus.SENDING):
            text = _("Mejlet ligger redan i kö och skickas inom kort.")
        else:
            text = _("Mejlet stoppades eftersom det inte längre gällde, och kan inte skickas om.")
        raise OutboxError(text)
    audit_trail.record(
        session,
        "outbox.requeued",
        actor=actor,
        object_type="outbox_message",
        object_id=message.id,
        kind=message.kind,
    )
    return message


def requeue_all_failed(session: Session, *, actor: Employee | None, kind: str | None = None) -> int:
    """Put every failed message (of ``kind``, or of any kind) back in the queue, in one
    UPDATE; returns how many. One audit event names them all."""
    conditions: list[ColumnElement[bool]] = [OutboxMessage.status == OutboxStatus.FAILED]
    if kind is not None:
        conditions.append(OutboxMessage.kind == kind)
    message_ids = sorted(
        session.scalars(
            sa.update(OutboxMessage)
            .where(*conditions)
            .values(**_requeue_values())
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session="fetch")
        )
    )
    if message_ids:
        audit_trail.record(
            session,
            "outbox.requeued_all",
            actor=actor,
            object_type="outbox_message",
            kind=kind,
            count=len(message_ids),
            message_ids=message_ids,
        )
    return len(message_ids)


# --- mails that carry a sign-in link -----------------------------------------------------------


def shown_text(message: OutboxMessage) -> str:
    """The mail's text as the admin may read it: every sign-in link's token cut out."""
    return sign_in_links.redact(message.body_text or "")
