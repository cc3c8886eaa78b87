"""A municipality's own settings, kept by its HR (or an admin).

Two kinds: whether completions reported but not yet verified count in the municipality's
coverage (they are shown separately either way), and the municipality's reminder schedule
(:class:`ReminderPolicy`; without a row the defaults of ``training.reminders.policy`` apply). How
long history is kept (``retention_months``) belongs to the retention work and is not changed
here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker.models import Employee, Municipality, ReminderPolicy
from training_tracker.services.core import audit_trail
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import municipality_clause
from training_tracker.services.training.reminders.policy import DEFAULT_POLICY, REMINDER_NAMES

SETTINGS = ("count_reported_in_coverage",)


def find_municipality(session: Session, name_or_code: str) -> Municipality | None:
    """A municipality by its name (any case) or its kommunkod: how operators and the import
    name one."""
    wanted = name_or_code.strip()
    return session.scalars(
        sa.select(Municipality).where(
            sa.or_(sa.func.lower(Municipality.name) == wanted.lower(), Municipality.code == wanted)
        )
    ).one_or_none()


def municipality_in_scope(
    session: Session, user: Employee, municipality_id: int
) -> Municipality | None:
    """The municipality if ``user`` keeps its settings; None otherwise (callers answer 404)."""
    return session.scalars(
        sa.select(Municipality).where(
            Municipality.id == municipality_id, municipality_clause(user, Municipality.id)
        )
    ).one_or_none()


def settings_of(municipality: Municipality) -> dict[str, Any]:
    return {name: getattr(municipality, name) for name in SETTINGS}


def update_settings(
    session: Session,
    municipality: Municipality,
    *,
    count_reported_in_coverage: bool,
    actor: Employee | None,
) -> dict[str, list[Any]]:
    """Change the settings, audited with before and after. Returns {setting: [before,
    after]}; empty when nothing changed (and nothing is recorded)."""
    before = settings_of(municipality)
    municipality.count_reported_in_coverage = bool(count_reported_in_coverage)
    after = settings_of(municipality)
    changes = {
        name: [before[name], after[name]] for name in SETTINGS if before[name] != after[name]
    }
    if changes:
        audit_trail.record(
            session,
            "municipality.settings_changed",
            actor=actor,
            object_type="municipality",
            object_id=municipality.id,
            before=before,
            after=after,
        )
    return changes


# --- the reminder schedule --------------------------------------------------------------------


class ReminderPolicyError(FieldError):
    """A reminder schedule that cannot be saved; ``field`` names the setting."""


@dataclass
class ReminderPolicyData:
    """A municipality's reminder schedule as HR fills it in. A number of days of 0 turns the
    step off; so does ``overdue_times`` 0."""

    first_after_days: int
    before_due_days: int
    on_due_date: bool
    overdue_every_days: int
    overdue_times: int
    escalate_after_days: int
    expiry_before_days: int
    weekly_digest: bool


# The settings in the order of the schedule (the same keys as DEFAULT_POLICY).
REMINDER_SETTINGS = tuple(DEFAULT_POLICY)
# The whole numbers and what each may be. ``overdue_every_days`` may be 0 only when no
# reminders are sent after the due date (``overdue_times`` 0): a step repeated every 0 days
# would never be sent, which is not what anyone means.
REMINDER_LIMITS: dict[str, tuple[int, int]] = {
    "first_after_days": (0, 180),
    "before_due_days": (0, 60),
    "overdue_times": (0, 10),
    "overdue_every_days": (1, 90),
    "escalate_after_days": (0, 90),
    "expiry_before_days": (0, 180),
}


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def reminder_value_problem(
    name: str, value: Any, *, overdue_times: Any, named: bool = True
) -> str | None:
    """What is wrong with ``value`` for the whole-number setting ``name`` (None: nothing),
    beginning with the setting's name unless ``named`` is false (a form shows it by its
    label). ``overdue_times`` is the number of reminders after the due date asked for
    alongside, which decides whether ``overdue_every_days`` may be 0."""
    low, high = REMINDER_LIMITS[name]
    overdue_on = _whole(overdue_times) and overdue_times > 0
    if name == "overdue_every_days" and not overdue_on:
        low = 0
    if _whole(value) and low <= value <= high:
        return None
    if name == "overdue_every_days" and overdue_on and value == 0:
        problem = _(
            "Skriv ett heltal från %(low)d till %(high)d, eller sätt antalet påminnelser "
            "efter sista dag till 0.",
            low=low,
            high=high,
        )
    else:
        problem = _("Skriv ett heltal från %(low)d till %(high)d.", low=low, high=high)
    if not named:
        return problem
    return _("%(name)s: %(problem)s", name=REMINDER_NAMES[name], problem=problem)


def reminder_policy(session: Session, municipality: Municipality) -> dict[str, Any]:
    """The municipality's reminder schedule: its own, or the defaults where it has none."""
    row = session.get(ReminderPolicy, municipality.id)
    if row is None:
        return dict(DEFAULT_POLICY)
    return {name: getattr(row, name) for name in REMINDER_SETTINGS}


def update_reminder_policy(
    session: Session,
    municipality: Municipality,
    values: ReminderPolicyData,
    *,
    actor: Employee | None,
) -> dict[str, list[Any]]:
    """Save the municipality's reminder schedule, audited with before and after of what
    changed. Raises :class:`ReminderPolicyError` naming the first setting out of bounds
    (nothing is changed then). Returns {setting: [before, after]}; empty when nothing changed
    (and then nothing is stored or recorded)."""
    wanted = asdict(values)
    for name in REMINDER_LIMITS:
        problem = reminder_value_problem(name, wanted[name], overdue_times=wanted["overdue_times"])
        if problem is not None:
            raise ReminderPolicyError(problem, name)
    for name in ("on_due_date", "weekly_digest"):
        if not isinstance(wanted[name], bool):
            problem = _("Välj ja eller nej.")
            raise ReminderPolicyError(
                _("%(name)s: %(problem)s", name=REMINDER_NAMES[name], problem=problem), name
            )

    before = reminder_policy(session, municipality)
    changes = {
        name: [before[name], wanted[name]]
        for name in REMINDER_SETTINGS
        if before[name] != wanted[name]
    }
    if not changes:
        return {}
    row = session.get(ReminderPolicy, municipality.id)
    if row is None:
        row = ReminderPolicy(municipality_id=municipality.id)
        session.add(row)
    for name in REMINDER_SETTINGS:
        setattr(row, name, wanted[name])
    row.updated_by_id = actor.id if actor is not None else None
    audit_trail.record(
        session,
        "municipality.reminders_changed",
        actor=actor,
        object_type="municipality",
        object_id=municipality.id,
        before={name: old for name, (old, _new) in changes.items()},
        after={name: new for name, (_old, new) in changes.items()},
    )
    return changes
