"""Template filters, tests and globals shared by every page and mail.

Templates never spell an enum's stored string: each member of the enums below is a Jinja test
named after it, so a template asks ``{% if line.state is overdue %}``. A misspelt test name fails
when the template compiles, where a misspelt string would silently never match.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum

from flask import Flask
from flask_babel import format_date, format_decimal, get_locale
from flask_login import current_user

from training_tracker import clock
from training_tracker.charts import bar_chart, line_chart, lines_chart
from training_tracker.extensions import db
from training_tracker.models import (
    AssignmentSource,
    CompletionStatus,
    CourseStatus,
    OutboxStatus,
    RegistrationStatus,
    Role,
)
from training_tracker.models.importing import ImportStatus
from training_tracker.services.core.dates import shown_date, shown_datetime, shown_span
from training_tracker.services.core.titles import course_title
from training_tracker.services.people.employment import EmploymentStatus
from training_tracker.services.programme.times import deadline_day
from training_tracker.services.reporting.minimisation import withheld_text
from training_tracker.services.training.certificates import Check, ReadStatus
from training_tracker.services.training.progress import CourseState
from training_tracker.services.training.verification import waiting_count

# The enums whose members templates test for by name (``is verified``, ``is left``, ...).
TESTED_ENUMS: tuple[type[StrEnum], ...] = (
    CourseState,
    CompletionStatus,
    OutboxStatus,
    CourseStatus,
    EmploymentStatus,
    AssignmentSource,
    ImportStatus,
    ReadStatus,
    Check,
    RegistrationStatus,
)


def enum_tests(
    enums: tuple[type[StrEnum], ...] = TESTED_ENUMS,
) -> dict[str, Callable[[object], bool]]:
    """One Jinja test per member name. Two enums may share a name only for the same value
    (``reported`` is both a course state and a completion status), so a test never means two
    different things."""
    members: dict[str, list[StrEnum]] = {}
    for enum in enums:
        for member in enum:
            same_name = members.setdefault(member.name.lower(), [])
            if same_name and same_name[0].value != member.value:
                raise ValueError(f"{member.name} means different things in two enums")
            same_name.append(member)

    def test_for(named: tuple[StrEnum, ...]) -> Callable[[object], bool]:
        return lambda value: value in named

    return {name: test_for(tuple(named)) for name, named in members.items()}


def register(app: Flask) -> None:
    # {{ course_title(course) }} wherever a course's title is shown.
    app.add_template_global(course_title, "course_title")
    # {{ session_time(session) }}: a programme session's date and times in Swedish time.
    app.add_template_global(lambda one: shown_span(one.starts_at, one.ends_at), "session_time")
    app.add_template_global(lambda event: deadline_day(event.signup_deadline), "deadline_day")
    # {{ month_name(day) }}: "November 2026", a month's heading in the programme.
    app.add_template_global(lambda day: format_date(day, "LLLL y").capitalize(), "month_name")
    # Inline SVG charts (issue #6): {{ bar_chart(bars, title=..., description=...) }}
    app.add_template_global(bar_chart, "bar_chart")
    app.add_template_global(line_chart, "line_chart")
    app.add_template_global(lines_chart, "lines_chart")
    # In place of figures withheld from the reader (services.minimisation): "färre än 5".
    app.add_template_global(withheld_text, "withheld_text")

    # For a completion whose validity ran out, badged with the course state's own words.
    app.add_template_global(CourseState, "CourseState")

    for name, test in enum_tests().items():
        # Never shadow one of Jinja's own tests (``none``, ``number``, ...).
        if name in app.jinja_env.tests:
            raise ValueError(f"the enum test {name!r} would hide Jinja's own")
        app.add_template_test(test, name)

    @app.template_filter("date")
    def _date(value: date | None, style: str = "text") -> str:
        """One format for people (services.core.dates), on pages and in mails; ``'iso'`` for
        machines (``<time datetime>``, input values)."""
        if value is None:
            return ""
        if style == "iso":
            return value.isoformat()
        return shown_date(value)

    @app.template_filter("datetime")
    def _datetime(value: datetime | None) -> str:
        # Flask-Babel reads naive values as UTC and shows them in Europe/Stockholm.
        return shown_datetime(value) if value else ""

    @app.template_filter("number")
    def _number(value: int | None) -> str:
        # "20 000" in Swedish, "20,000" in English.
        return format_decimal(value, format="#,##0") if value is not None else ""

    def _review_count() -> int:
        # Called by the menu only for those who review: one COUNT through their scope.
        return waiting_count(db.session, current_user)

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {
            "current_language": str(get_locale() or "sv"),
            "Role": Role,
            "today": clock.today(),
            "is_admin": bool(
                current_user and current_user.is_authenticated and current_user.has_role(Role.ADMIN)
            ),
            "can_manage_staff": bool(
                current_user
                and current_user.is_authenticated
                and current_user.has_role(Role.HR, Role.ADMIN)
            ),
            "can_read_reports": bool(
                current_user
                and current_user.is_authenticated
                and current_user.has_role(Role.MANAGER, Role.HR, Role.COORDINATOR, Role.ADMIN)
            ),
            "review_count": _review_count,
            "can_review": bool(
                current_user
                and current_user.is_authenticated
                and current_user.has_role(Role.MANAGER, Role.HR, Role.ADMIN)
            ),
        }
