"""Forms of the rules pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from training_tracker.fields import PlausibleDate, SwedishDateField
from training_tracker.models import Sector


class DaysField(IntegerField):
    """A whole number of days, with a message in our own words when it is not one."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = int(str(valuelist[0]).strip())
        except ValueError:
            self.data = None
            raise ValueError(
                str(_l("Skriv antalet dagar som ett heltal, till exempel 90."))
            ) from None


class RuleForm(FlaskForm):
    """One form for a new rule and a changed one. The views fill the choices in: courses,
    municipalities and units depend on who is signed in."""

    course = SelectField(_l("Kurs"), validators=[DataRequired(_l("Välj en kurs."))])
    municipality = SelectField(
        _l("Kommun"), description=_l("Vilken kommuns anställda regeln gäller."), default=""
    )
    sector = SelectField(
        _l("Sektor"),
        description=_l("Regeln gäller de anställda vars enhet hör till sektorn."),
        default="",
    )
    unit = SelectField(
        _l("Enhet"),
        description=_l("Valfritt. Välj en enhet om regeln bara ska gälla den."),
        default="",
    )
    due_days = DaysField(
        _l("Dagar till sista dag"),
        description=_l(
            "Nyanställda: räknat från anställningsdagen. Befintlig personal: räknat från "
            "dagen regeln gäller från. Lämna tomt för kursens standard."
        ),
        validators=[Optional()],
        render_kw={"min": 0, "max": 3650, "inputmode": "numeric"},
    )
    applies_from = SwedishDateField(
        _l("Gäller från"),
        description=_l("Den som anställs denna dag eller senare räknas som nyanställd."),
        validators=[InputRequired(_l("Fyll i från vilket datum regeln gäller.")), PlausibleDate()],
        default=None,
    )
    for_new_hires = BooleanField(_l("Gäller nyanställda"), default=True)
    for_existing_staff = BooleanField(_l("Gäller befintlig personal"), default=True)
    ends_on = SwedishDateField(
        _l("Slutdatum"),
        description=_l(
            "Valfritt. Från och med den dagen kräver regeln ingenting längre; genomförda kurser "
            "fortsätter att räknas."
        ),
        validators=[Optional(), PlausibleDate()],
    )

    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Labels are lazy: build the sector choices per request, in the user's language.
        self.sector.choices = [SelectChoice("", str(_l("Alla sektorer")))] + [
            SelectChoice(sector.value, sector.label) for sector in Sector
        ]
        if today is not None and self.applies_from.data is None and not self.is_submitted():
            self.applies_from.data = today

    # The service checks all of this again; here the person sees every problem at once.
    def validate_due_days(self, field: DaysField) -> None:
        if field.data is not None and not 0 <= field.data <= 3650:
            raise ValidationError(str(_l("Antal dagar måste vara mellan 0 och 3650.")))

    def validate_for_new_hires(self, field: BooleanField) -> None:
        if not (field.data or self.for_existing_staff.data):
            raise ValidationError(
                str(_l("Välj om regeln gäller nyanställda, befintlig personal eller båda."))
            )

    def validate_ends_on(self, field: SwedishDateField) -> None:
        start = self.applies_from.data
        if field.data is not None and start is not None and field.data <= start:
            raise ValidationError(str(_l("Slutdatum måste vara efter startdatum.")))


class EndRuleForm(FlaskForm):
    """Only the CSRF token: ending a rule asks nothing more."""
