"""The audit log's filter form (sent with GET, so it carries no CSRF token) and the query
string read into an AuditQuery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, SearchField, SelectField
from wtforms.validators import ValidationError

from training_tracker.fields import SwedishDateField
from training_tracker.services.compliance.audit_log import AuditQuery

# The largest id or page number a query string may carry (a 32-bit integer column).
_MAX_INT = 2**31 - 1


def _off(**extra: str) -> dict[str, str]:
    return {"autocomplete": "off", **extra}


class AuditFilterForm(FlaskForm):
    """The views fill in the choices: the actions the reader's events hold and, when the
    reader has several, their municipalities."""

    class Meta:
        csrf = False  # a search: it changes nothing

    action = SelectField(_l("Händelse"), validate_choice=False, render_kw=_off())
    actor = SearchField(
        _l("Utförd av"),
        description=_l("Namn eller e-post, eller en del av dem."),
        render_kw=_off(spellcheck="false"),
    )
    person = SearchField(
        _l("Berörd person"),
        description=_l("Den som händelsen gäller: namn eller e-post, eller en del av dem."),
        render_kw=_off(spellcheck="false"),
    )
    date_from = SwedishDateField(_l("Från och med"), description=_l("ÅÅÅÅ-MM-DD"), render_kw=_off())
    date_to = SwedishDateField(_l("Till och med"), description=_l("ÅÅÅÅ-MM-DD"), render_kw=_off())
    municipality = SelectField(_l("Kommun"), validate_choice=False, render_kw=_off())

    def validate_date_to(self, field: Field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(
                _l("Datumet är före från och med-datumet. Välj ett senare datum.")
            )


def _positive_int(value: str | None) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= _MAX_INT else None


def filter_form(args: Mapping[str, Any]) -> AuditFilterForm:
    """The form read from the query string and validated: its errors say which filter could
    not be read."""
    form = AuditFilterForm(formdata=args)
    form.validate()
    return form


def _text(value: str | None) -> str:
    # A NUL (from an edited link) cannot go into a PostgreSQL query: drop it, as other
    # malformed filters are ignored.
    return (value or "").replace("\x00", "").strip()


def audit_query(form: AuditFilterForm, args: Mapping[str, str]) -> AuditQuery:
    """The filters the form could read; a filter with an error is left out (the page says
    why), anything else malformed is ignored, so an edited or stale link still shows a log."""
    errors = form.errors
    action = _text(form.action.data)
    return AuditQuery(
        action=action if 0 < len(action) <= 64 else None,
        actor=_text(form.actor.data)[:200],
        person=_text(form.person.data)[:200],
        date_from=None if "date_from" in errors else form.date_from.data,
        date_to=None if "date_to" in errors else form.date_to.data,
        municipality_id=_positive_int(form.municipality.data),
        page=_positive_int(args.get("page")) or 1,
    )


def page_args(query: AuditQuery, **changes: Any) -> dict[str, Any]:
    """The query string for ``query`` with ``changes`` applied, without defaults."""
    values: dict[str, Any] = {
        **query.filter_args(),
        "page": query.page if query.page > 1 else None,
    }
    values.update(changes)
    if values.get("page") == 1:
        values["page"] = None
    return {key: value for key, value in values.items() if value not in (None, "")}
