"""The one place that reads the clock.

Business dates (hire dates, due dates, "today") are in Europe/Stockholm; timestamps are stored
as naive UTC. Tests move the clock with time-machine; nothing else calls ``datetime.now``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Europe/Stockholm")


def utcnow() -> datetime:
    """Now, as naive UTC, the form every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def today() -> date:
    """Today's business date in Sweden."""
    return datetime.now(BUSINESS_TZ).date()


def to_local(moment: datetime) -> datetime:
    """A stored naive-UTC timestamp as Swedish local time, for display."""
    return moment.replace(tzinfo=UTC).astimezone(BUSINESS_TZ)
