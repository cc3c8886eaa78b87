"""The mail outbox and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from training_tracker import clock
from training_tracker.extensions import Model
from training_tracker.models.enums import OutboxStatus, enum_type


class OutboxMessage(Model):
    """A mail written in the same transaction as the change that causes it.

    ``idempotency_key`` is unique, so the same message can never be queued twice; a sender
    claims a row atomically (queued → sending) before it talks to the mail server.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index("ix_outbox_messages_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(50), index=True)
    recipient_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL"), index=True
    )
    recipient_email: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    # A message queued in bulk (the welcome mails of an import) is written when it is sent:
    # ``template`` names a registered renderer, and subject and body stay empty until then.
    template: Mapped[str | None] = mapped_column(sa.String(50))
    # A calendar invitation (iCalendar text) sent with the mail as a text/calendar attachment.
    calendar: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_type(OutboxStatus), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)


class AuditEvent(Model):
    """Who did what to whose records, and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=clock.utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    subject_employee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL"), index=True
    )
    object_type: Mapped[str | None] = mapped_column(sa.String(64))
    object_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
