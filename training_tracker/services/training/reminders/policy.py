"""The reminder schedule: the steps a municipality may set (or leave at :data:`DEFAULT_POLICY`),
what each is called, and the fixed windows around them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.sql.elements import ColumnElement

from training_tracker.models.reminders import ReminderPolicy

# The schedule of a municipality that has not set its own (see ReminderPolicy).
DEFAULT_POLICY: dict[str, int | bool] = {
    "first_after_days": 14,
    "before_due_days": 7,
    "on_due_date": True,
    "overdue_every_days": 14,
    "overdue_times": 3,
    "escalate_after_days": 7,
    "expiry_before_days": 30,
    "weekly_digest": True,
}
# How long after its day a step is still sent (a weekend, a holiday, a scheduler that was
# down): long enough for Easter and Christmas, short enough not to send stale news.
CATCH_UP_DAYS = 7
DIGEST_HORIZON_DAYS = 14  # the weekly digest lists what falls due within this many days
# What each setting is called in a message (short; the form's labels say more).
REMINDER_NAMES = {
    "first_after_days": _l("Första påminnelsen"),
    "before_due_days": _l("Påminnelsen före sista dag"),
    "overdue_times": _l("Antal påminnelser efter sista dag"),
    "overdue_every_days": _l("Dagar mellan påminnelserna efter sista dag"),
    "escalate_after_days": _l("Påminnelsen till chefen"),
    "expiry_before_days": _l("Påminnelsen innan en kurs går ut"),
    "on_due_date": _l("Påminnelsen på sista dagen"),
    "weekly_digest": _l("Veckosammanställningen till cheferna"),
}


def policy_setting(name: str) -> ColumnElement[Any]:
    """The municipality's setting, or the default where it has none (outer-joined)."""
    return sa.func.coalesce(getattr(ReminderPolicy, name), DEFAULT_POLICY[name])
