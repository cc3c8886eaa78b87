"""Template filters and globals shared by every page and mail."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user

from training_tracker import clock
from training_tracker.charts import bar_chart, line_chart
from training_tracker.models import Role
from training_tracker.services.reporting.minimisation import withheld_text


def register(app: Flask) -> None:
    # Inline SVG charts (issue #6): {{ bar_chart(bars, title=..., description=...) }}
    app.add_template_global(bar_chart, "bar_chart")
    app.add_template_global(line_chart, "line_chart")
    # In place of figures withheld from the reader (services.minimisation): "färre än 5".
    app.add_template_global(withheld_text, "withheld_text")

    @app.template_filter("date")
    def _date(value: date | None, style: str = "medium") -> str:
        if value is None:
            return ""
        if style == "iso":
            return value.isoformat()
        return format_date(value, style)

    @app.template_filter("datetime")
    def _datetime(value: datetime | None) -> str:
        # Flask-Babel reads naive values as UTC and shows them in Europe/Stockholm.
        return format_datetime(value, "short") if value else ""

    @app.template_filter("number")
    def _number(value: int | None) -> str:
        # "20 000" in Swedish, "20,000" in English.
        return format_decimal(value, format="#,##0") if value is not None else ""

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
            "can_review": bool(
                current_user
                and current_user.is_authenticated
                and current_user.has_role(Role.MANAGER, Role.HR, Role.ADMIN)
            ),
        }
