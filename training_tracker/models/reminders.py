"""Reminders: each municipality's schedule, and the ledger of every reminder owed and queued.

The ledger's unique key (assignment, step, cycle, sequence, recipient) is what makes a reminder
go out at most once, ever, even when two planners run at once: planning inserts with
``ON CONFLICT DO NOTHING`` instead of checking first.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from training_tracker import clock
from training_tracker.extensions import Model


class ReminderStep(StrEnum):
    FIRST = "first"  # some days after the hire (or the assignment), while anything is pending
    BEFORE_DUE = "before_due"  # some days before the due date
    DUE = "due"  # on the due date
    OVERDUE = "overdue"  # every so many days after it, a limited number of times
    ESCALATION = "escalation"  # to the manager, some days after the due date
    EXPIRY = "expiry"  # some days before a completion expires


class ReminderPolicy(Model):
    """One municipality's reminder schedule; a municipality without a row has the defaults
    (:data:`DEFAULT_POLICY` in ``training.reminders.policy``). A number of days of 0 turns the step
    off."""

    __tablename__ = "reminder_policies"

    municipality_id: Mapped[int] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True
    )
    first_after_days: Mapped[int] = mapped_column(default=14, server_default="14")
    before_due_days: Mapped[int] = mapped_column(default=7, server_default="7")
    on_due_date: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    overdue_every_days: Mapped[int] = mapped_column(default=14, server_default="14")
    overdue_times: Mapped[int] = mapped_column(default=3, server_default="3")
    escalate_after_days: Mapped[int] = mapped_column(default=7, server_default="7")
    expiry_before_days: Mapped[int] = mapped_column(default=30, server_default="30")
    weekly_digest: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    updated_at: Mapped[datetime] = mapped_column(default=clock.utcnow, onupdate=clock.utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )


class Reminder(Model):
    """A reminder owed to someone about one assignment: planned once, mailed once.

    ``cycle`` is the due date (or, for an expiry notice, the expiry date) the reminder is
    about, so a course that comes due again after its completion expired is reminded of again.
    ``batch_key`` is the outbox message that carries it: one mail per recipient and run, listing
    every course it is about.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        sa.UniqueConstraint("assignment_id", "step", "cycle", "sequence", "recipient_id"),
        sa.Index("ix_reminders_batch_key", "batch_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(sa.String(20))
    cycle: Mapped[date]
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")  # overdue: 1, 2, 3 …
    recipient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    planned_on: Mapped[date]
    batch_key: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
