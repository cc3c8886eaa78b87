"""What the employee pages let a user choose from: their municipalities, units and the
assignable courses as select choices, and the list filters kept within the user's scope."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker.extensions import db
from training_tracker.models import Municipality, Unit
from training_tracker.services.core.titles import course_title
from training_tracker.services.people import units
from training_tracker.services.people.employee_list import EmployeeQuery, units_of
from training_tracker.services.people.person_assignments import assignable_courses


def user_municipalities() -> list[Municipality]:
    """The municipalities the signed-in user works for."""
    return units.municipalities_of(db.session, current_user)


def user_units(municipalities: list[Municipality]) -> list[Unit]:
    return units_of(db.session, [m.id for m in municipalities])


def municipality_choices(municipalities: list[Municipality]) -> list[SelectChoice]:
    return [SelectChoice("", _("Välj kommun"))] + [
        SelectChoice(str(m.id), m.name) for m in municipalities
    ]


def unit_choices(
    municipalities: list[Municipality], *, keep_unit_id: int | None = None, placeholder: str
) -> list[SelectChoice]:
    """The user's units grouped by municipality; deactivated ones are left out, except the
    one a person belongs to now."""
    choices = [SelectChoice("", placeholder)]
    for unit in user_units(municipalities):
        if unit.active or unit.id == keep_unit_id:
            label = unit.name if unit.active else _("%(name)s (avvecklad)", name=unit.name)
            choices.append(SelectChoice(str(unit.id), label, optgroup=unit.municipality.name))
    return choices


def course_choices() -> list[SelectChoice]:
    """The active courses, grouped by provider, for assigning or recording one."""
    return [SelectChoice("", _("Välj kurs"))] + [
        SelectChoice(str(course.id), course_title(course), optgroup=course.provider.name)
        for course in assignable_courses(db.session)
    ]


def keep_in_scope(
    query: EmployeeQuery, municipalities: list[Municipality], unit_list: list[Unit]
) -> list[str]:
    """Drop a filter naming something outside the user's scope, as any bad value is; returns
    the parameters dropped ("municipality", "unit")."""
    dropped = []
    if query.municipality_id not in {m.id for m in municipalities}:
        if query.municipality_id is not None:
            dropped.append("municipality")
        query.municipality_id = None
    if query.unit_id not in {u.id for u in unit_list}:
        if query.unit_id is not None:
            dropped.append("unit")
        query.unit_id = None
    return dropped
