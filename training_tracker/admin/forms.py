from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3
from wtforms.validators import DataRequired, Length

from training_tracker.models import OutboxStatus, Role
from training_tracker.services.messaging.outbox_admin import OutboxQuery


class GrantRoleForm(FlaskForm):
    email = EmailField(
        _l("Personens e-postadress"),
        validators=[DataRequired(_l("Fyll i e-postadressen.")), Length(max=254)],
    )
    role = SelectField(_l("Roll"), validators=[DataRequired()])
    municipality = SelectField(
        _l("Kommun"),
        description=_l(
            "För HR, samordnare och arrangörer. Samordnare och arrangörer utan kommun gäller "
            "hela regionen."
        ),
        default="",
    )
    unit = SelectField(_l("Enhet"), description=_l("För chefer."), default="")
    submit = SubmitField(_l("Ge roll"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Choices are labelled lazily: build them per request, in the user's language.
        self.role.choices = [SelectChoice(role.value, role.label) for role in Role]


class RevokeRoleForm(FlaskForm):
    """Posted from the confirmation page (templates/admin/revoke_role.html)."""

    submit = SubmitField(_l("Ja, ta bort rollen"))


class ResendForm(FlaskForm):
    """Resend one failed mail; ``back`` is where to go back to (a page of the outbox)."""

    back = HiddenField()
    submit = SubmitField(_l("Skicka igen"))


class NewLinkForm(FlaskForm):
    """Queue a fresh invitation or reset link to the person, instead of resending the old."""

    submit = SubmitField(_l("Skicka en ny länk"))


class ResendAllForm(FlaskForm):
    """Resend every failed mail, of one kind when ``kind`` is given."""

    kind = HiddenField()
    submit = SubmitField(_l("Skicka om alla som inte kunde skickas"))


_MAX_PAGE = 10**6


def _positive_int(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 7:
        return None
    number = int(value)
    return number if 0 < number <= _MAX_PAGE else None


def outbox_query(args: Mapping[str, str]) -> OutboxQuery:
    """The outbox list's filters and page from the URL; what does not parse is ignored, so an
    edited or stale link still shows a list."""
    try:
        status = OutboxStatus(args.get("status") or "")
    except ValueError:
        status = None
    # NUL is dropped: nobody types it, and PostgreSQL cannot compare text that holds it.
    kind = (args.get("kind") or "").replace("\x00", "").strip()
    return OutboxQuery(
        status=status,
        kind=kind if 0 < len(kind) <= 50 else None,
        email=(args.get("email") or "").replace("\x00", "").strip()[:254],
        page=_positive_int(args.get("page")) or 1,
    )


def outbox_args(query: OutboxQuery, **changes: Any) -> dict[str, Any]:
    """The query string for ``query`` with ``changes`` applied, without defaults."""
    values: dict[str, Any] = {
        "status": query.status.value if query.status else None,
        "kind": query.kind,
        "email": query.email or None,
        "page": query.page if query.page > 1 else None,
    }
    values.update(changes)
    if values.get("page") == 1:
        values["page"] = None
    return {key: value for key, value in values.items() if value not in (None, "")}
