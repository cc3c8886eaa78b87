"""The managers' weekly digest: on the week's first working day, one mail to each manager whose
team has something overdue or soon due, written at send time; and the manager's own switch
to turn it off."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import SQLColumnExpression
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    Course,
    Employee,
    OutboxMessage,
    OutboxStatus,
    Role,
    RoleGrant,
)
from training_tracker.models.reminders import ReminderPolicy
from training_tracker.services.core import audit_trail
from training_tracker.services.core.working_days import is_first_working_day_of_week
from training_tracker.services.messaging import outbox, sso_links
from training_tracker.services.training.assignments import (
    effective_due,
    employed_on,
    open_assignment,
)
from training_tracker.services.training.reminders.mails import active_recipient
from training_tracker.services.training.reminders.policy import (
    DIGEST_HORIZON_DAYS,
    policy_setting,
)


def _team_of(manager: Any) -> ColumnElement[bool]:
    """Employees a manager answers for: those of the units they manage, and their reports."""
    managed_units = sa.select(RoleGrant.unit_id).where(
        RoleGrant.employee_id == manager.id, RoleGrant.role == Role.MANAGER
    )
    return sa.and_(
        Employee.id != manager.id,
        sa.or_(Employee.manager_id == manager.id, Employee.unit_id.in_(managed_units)),
    )


def _needs_attention(today: date) -> ColumnElement[bool]:
    """Open, and overdue or due within the digest's horizon."""
    return sa.and_(
        open_assignment(today),
        effective_due(today) < today + timedelta(days=DIGEST_HORIZON_DAYS + 1),
    )


def _digest_key(manager_id: int | SQLColumnExpression[int], today: date) -> Any:
    year, week, _weekday = today.isocalendar()
    prefix = f"digest:{year}-W{week:02d}:"
    if isinstance(manager_id, int):
        return prefix + str(manager_id)
    return sa.literal(prefix) + sa.cast(manager_id, sa.String)


def plan_digests(session: Session, *, today: date) -> int:
    """Queue this ISO week's digest for every manager whose team has something overdue or
    soon due, unless they (or their municipality) switched it off. Only on the week's first
    working day; each (manager, week) is queued once, ever (the outbox's unique key). Returns
    how many were queued now."""
    if not is_first_working_day_of_week(today):
        return 0
    now = clock.utcnow()
    manager = aliased(Employee)
    has_items = (
        sa.exists()
        .where(
            Assignment.employee_id == Employee.id,
            _team_of(manager),
            employed_on(today),
            _needs_attention(today),
        )
        .correlate(manager)
    )
    managers = (
        sa.select(
            _digest_key(manager.id, today),
            sa.literal("digest"),
            sa.literal("digest"),
            manager.id,
            manager.email,
            sa.literal(""),
            sa.literal(""),
            sa.literal(OutboxStatus.QUEUED.value),
            sa.literal(0),
            sa.literal(now, sa.DateTime),
            sa.literal(now, sa.DateTime),
        )
        .outerjoin(ReminderPolicy, ReminderPolicy.municipality_id == manager.municipality_id)
        .where(
            manager.active,
            sa.or_(manager.end_date.is_(None), manager.end_date > today),
            ~manager.digest_opt_out,
            policy_setting("weekly_digest") == sa.true(),
            sa.exists().where(RoleGrant.employee_id == manager.id, RoleGrant.role == Role.MANAGER),
            has_items,
        )
    )
    outbox.queue_unwritten(session, managers)
    queued_now = session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.idempotency_key.like(_digest_key(0, today).removesuffix("0") + "%"),
            OutboxMessage.created_at == now,
        )
    )
    return queued_now or 0


def set_weekly_digest(
    session: Session, manager: Employee, *, wanted: bool, actor: Employee
) -> None:
    """Switch a manager's weekly digest on or off (audited when it changes)."""
    if manager.digest_opt_out == (not wanted):
        return
    manager.digest_opt_out = not wanted
    audit_trail.record(
        session,
        "employee.weekly_digest_changed",
        actor=actor,
        subject=manager,
        weekly_digest=wanted,
    )


@dataclass(frozen=True)
class DigestRow:
    employee_name: str
    title: str  # the course's, shown through course_title() in the manager's language
    title_en: str | None
    due_date: date

    @property
    def days_left(self) -> int:
        return (self.due_date - clock.today()).days


def _digest_rows(
    session: Session, manager_ids: list[int], today: date
) -> dict[int, list[DigestRow]]:
    """What each manager's team has overdue or soon due, soonest first: two queries for all
    of them. The team as in :func:`_team_of`: their reports, and the staff of the units they
    manage."""
    if not manager_ids:
        return {}
    direct = sa.select(Employee.manager_id, Employee.id).where(Employee.manager_id.in_(manager_ids))
    of_units = (
        sa.select(RoleGrant.employee_id, Employee.id)
        .join(Employee, Employee.unit_id == RoleGrant.unit_id)
        .where(RoleGrant.employee_id.in_(manager_ids), RoleGrant.role == Role.MANAGER)
    )
    teams: dict[int, set[int]] = defaultdict(set)
    for manager_id, member_id in session.execute(sa.union(direct, of_units)):
        if member_id != manager_id:
            teams[member_id].add(manager_id)
    if not teams:
        return {}
    # The members' assignments in a second query: joined to the team in SQL, PostgreSQL
    # plans a scan of the whole employees table. Only the columns a digest shows: loading
    # each assignment, person and course as objects took a fifth of a digest's time.
    due = effective_due(today)
    rows = session.execute(
        sa.select(
            Employee.id,
            Employee.first_name,
            Employee.last_name,
            Course.title,
            Course.title_en,
            due,
        )
        .select_from(Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Course, Course.id == Assignment.course_id)
        .where(Employee.id.in_(teams), employed_on(today), _needs_attention(today))
        .order_by(due, Employee.last_name, Employee.first_name)
    ).all()
    by_manager: dict[int, list[DigestRow]] = defaultdict(list)
    for employee_id, first_name, last_name, title, title_en, due_date in rows:
        row = DigestRow(f"{first_name} {last_name}", title, title_en, due_date)
        for manager_id in teams[employee_id]:
            by_manager[manager_id].append(row)
    return by_manager


@outbox.register_batch_renderer("digest")
def _write_digests(
    session: Session, messages: Sequence[OutboxMessage]
) -> dict[int, outbox.RenderedMail | None]:
    managers = {message.id: active_recipient(session, message) for message in messages}
    wanted = [m for m in managers.values() if m is not None and not m.digest_opt_out]
    rows = _digest_rows(session, [manager.id for manager in wanted], clock.today())
    return {
        message_id: _digest_mail(session, manager, rows.get(manager.id, []))
        if manager is not None and not manager.digest_opt_out
        else None
        for message_id, manager in managers.items()
    }


def _digest_mail(
    session: Session, manager: Employee, items: list[DigestRow]
) -> outbox.RenderedMail | None:
    if not items:
        return None
    return outbox.render_mail(
        "digest",
        manager.preferred_language,
        manager=manager,
        overdue=[row for row in items if row.days_left < 0],
        soon=[row for row in items if row.days_left >= 0],
        horizon=DIGEST_HORIZON_DAYS,
        start_url=sso_links.mail_link(session, manager, "main.home"),
        settings_url=sso_links.mail_link(session, manager, "main.notification_settings"),
    )
