from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from training_tracker.models import Role


class GrantRoleForm(FlaskForm):
    email = EmailField(
        _l("Personens e-postadress"),
        validators=[DataRequired(_l("Fyll i e-postadressen.")), Length(max=254)],
    )
    role = SelectField(_l("Roll"), validators=[DataRequired()])
    municipality = SelectField(
        _l("Kommun"),
        description=_l("För HR och samordnare. Samordnare utan kommun gäller hela regionen."),
        default="",
    )
    unit = SelectField(_l("Enhet"), description=_l("För chefer."), default="")
    submit = SubmitField(_l("Ge roll"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Choices are labelled lazily: build them per request, in the user's language.
        self.role.choices = [SelectChoice(role.value, role.label) for role in Role]


class RevokeRoleForm(FlaskForm):
    submit = SubmitField(_l("Ta bort"))
