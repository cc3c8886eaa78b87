"""The one way a date is shown to people, on pages and in mails alike: "3 december 2026" in
Swedish and "3 December 2026" in English (the day, the month in words, the year), as Swedish
public services write dates in running text; unambiguous in both languages. A moment adds the
time: "3 december 2026 14:05". Machines get ISO (``<input type=date>`` values,
``<time datetime>``, files, the API)."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import format_date, format_datetime

PATTERN = "d MMMM y"


def shown_date(value: date) -> str:
    """``value`` as people read it, in the current language."""
    return format_date(value, PATTERN)


def shown_datetime(value: datetime) -> str:
    """A moment as people read it: the date as :func:`shown_date`, then the time in
    Europe/Stockholm ("23 oktober 2026 15:36"). Naive values are UTC."""
    return format_datetime(value, f"{PATTERN} HH:mm")


def shown_span(start: datetime, end: datetime) -> str:
    """A session's time: "12 november 2026 13:00–15:00" (naive values are UTC, shown in
    Europe/Stockholm); the end's date is written too when it is another day."""
    first = format_datetime(start, f"{PATTERN} HH:mm")
    same_day = format_datetime(start, "y-MM-dd") == format_datetime(end, "y-MM-dd")
    last = format_datetime(end, "HH:mm" if same_day else f"{PATTERN} HH:mm")
    return f"{first}–{last}"
