"""Swedish time in, UTC stored: the organiser types the wall-clock time of Europe/Stockholm,
and a session is stored as naive UTC like every timestamp."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _

from training_tracker import clock
from training_tracker.services.core.errors import FieldError


def to_utc(day: date, at: time, *, field: str = "starts_at") -> datetime:
    """The UTC moment of ``day`` at ``at`` in Swedish time. A time that does not exist (the
    hour skipped when summer time begins) is refused; a time that exists twice (the hour
    repeated when it ends) is the first, summer time."""
    local = datetime.combine(day, at, tzinfo=clock.BUSINESS_TZ)
    moment = local.astimezone(UTC)
    if moment.astimezone(clock.BUSINESS_TZ).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise FieldError(
            _("Den tiden finns inte den dagen: klockan ställs fram till sommartid."), field
        )
    return moment.replace(tzinfo=None)


def end_of_day(day: date) -> datetime:
    """The UTC moment a Swedish date ends (the next day's midnight): a sign-up deadline."""
    return to_utc(day + timedelta(days=1), time(0, 0))


def deadline_day(deadline: datetime) -> date:
    """The last Swedish date before ``deadline`` (UTC): what the pages call the last day."""
    return (clock.to_local(deadline) - timedelta(microseconds=1)).date()


def local_date(moment: datetime) -> date:
    return clock.to_local(moment).date()
