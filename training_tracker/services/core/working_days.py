"""Which days are working days in Sweden: reminders that fall on a Saturday, a Sunday or a
Swedish public holiday go out on the next working day instead."""

from __future__ import annotations

import functools
from datetime import date, timedelta

import holidays


@functools.cache
def _holidays(year: int) -> frozenset[date]:
    public = set(holidays.country_holidays("SE", years=year))
    # Midsummer Eve, Christmas Eve and New Year's Eve are not public holidays in law, but
    # offices are closed: nobody should find a reminder on those days either.
    # Midsummer Day is the Saturday from 20 to 26 June.
    june_20 = date(year, 6, 20)
    midsummer_day = june_20 + timedelta(days=(5 - june_20.weekday()) % 7)
    public |= {midsummer_day - timedelta(days=1), date(year, 12, 24), date(year, 12, 31)}
    return frozenset(public)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def next_working_day(day: date) -> date:
    """``day`` itself if it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def is_first_working_day_of_week(day: date) -> bool:
    """True on the ISO week's first working day (Monday, or Tuesday after Easter Monday)."""
    monday = day - timedelta(days=day.weekday())
    return is_working_day(day) and all(
        not is_working_day(monday + timedelta(days=offset)) for offset in range(day.weekday())
    )
