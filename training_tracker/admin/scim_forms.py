"""The forms of the directory tokens page (``scim_routes``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3
from wtforms.validators import DataRequired, Length

from training_tracker.services.people.scim.attributes import HIRE_DATE_ATTRIBUTES


class NewScimTokenForm(FlaskForm):
    municipality = SelectField(_l("Kommun"), validators=[DataRequired(_l("Välj kommun."))])
    label = StringField(
        _l("Namn"),
        description=_l("Vilken katalog token är till, till exempel ”Entra ID”. Syns i loggen."),
        validators=[DataRequired(_l("Ge token ett namn.")), Length(max=100)],
    )
    hire_date_attribute = SelectField(
        _l("Anställningsdatum från"),
        description=_l(
            "Attributet i katalogens företagstillägg (enterprise extension) som bär "
            "anställningsdatumet."
        ),
        default=HIRE_DATE_ATTRIBUTES[0],
        validate_choice=True,
    )
    submit = SubmitField(_l("Skapa token"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.hire_date_attribute.choices = [
            SelectChoice(name, name) for name in HIRE_DATE_ATTRIBUTES
        ] + [SelectChoice("", _l("Inget"))]


class RotateScimTokenForm(FlaskForm):
    submit = SubmitField(_l("Förnya"))


class RevokeScimTokenForm(FlaskForm):
    """Posted from the confirmation page (templates/admin/scim_revoke.html)."""

    submit = SubmitField(_l("Ja, återkalla token"))
