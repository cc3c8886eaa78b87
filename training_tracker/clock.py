"""The one place that reads the clock.

Business dates (hire dates, due dates, "today") are in Europe/Stockholm; timestamps are stored
as naive UTC. Tests move the clock with time-machine; nothing else calls ``datetime.now``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Europe/Stockholm")

# The business dates the tracker accepts: anything outside is a typing mistake (a hire date in
# year 9999), and the date arithmetic on it (a due date 90 days on) would overflow.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def utcnow() -> datetime:
    """Now, as naive UTC, the form every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def today() -> date:
    """Today's business date in Sweden."""
    return datetime.now(BUSINESS_TZ).date()


def to_local(moment: datetime) -> datetime:
    """A stored naive-UTC timestamp as Swedish local time, for display."""
    return moment.replace(tzinfo=UTC).astimezone(BUSINESS_TZ)


def is_plausible(day: date) -> bool:
    """Whether ``day`` lies within the business dates the tracker accepts."""
    return EARLIEST_DATE <= day <= LATEST_DATE
