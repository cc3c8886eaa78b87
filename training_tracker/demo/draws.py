"""Random draws and calendar arithmetic for the demo generator.

The draws use ``random()`` alone: ``randint`` and ``choice`` cost several times more, and the
national demo makes millions of draws. Changing one changes every seed's data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta


def below(rng: random.Random, n: int) -> int:
    """0 … n - 1."""
    return int(rng.random() * n)


def pick(rng: random.Random, items: Sequence[str]) -> str:
    return items[int(rng.random() * len(items))]


def random_day(rng: random.Random, first: date, last: date) -> date:
    days = (last - first).days
    return first + timedelta(days=int(rng.random() * (days + 1))) if days > 0 else first


def moment(rng: random.Random, day: date, today: date) -> datetime:
    """A naive-UTC office-hours timestamp on ``day``; just after midnight if ``day`` is today,
    so it is not in the future."""
    if day < today:
        return datetime.combine(day, time(6 + below(rng, 9), below(rng, 60)))
    return datetime.combine(day, time(0, below(rng, 60)))


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate_day in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate_day)
        except ValueError:
            continue
    raise AssertionError("unreachable")
