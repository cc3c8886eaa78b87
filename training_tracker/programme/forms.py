"""Forms of the programme pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TimeInput

from training_tracker.fields import PlausibleDate, SwedishDateField
from training_tracker.models import EventFormat, Sector


class SwedishTimeField(Field):
    """A time of day as TT:MM (what ``<input type=time>`` sends), in Swedish time."""

    widget = TimeInput()

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.strftime("%H:%M") if self.data else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            self.raw_data = []
            return
        try:
            self.data = datetime.strptime(str(valuelist[0]).strip()[:5], "%H:%M").time()
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Skriv tiden som TT:MM, till exempel 13:00."))) from None


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; the values are whole numbers or strings as given."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        allowed = {str(value) for value, *_ in self.iter_choices()}
        if any(str(value) not in allowed for value in self.data or []):
            raise ValidationError(str(_l("Välj ur listan.")))


class SessionFields:
    """Date, start and end of a session, in Swedish time (mixed into the forms below)."""

    day = SwedishDateField(
        _l("Datum"),
        validators=[InputRequired(_l("Fyll i datum.")), PlausibleDate()],
    )
    starts = SwedishTimeField(
        _l("Starttid"),
        description=_l("Svensk tid."),
        validators=[InputRequired(_l("Fyll i starttid."))],
    )
    ends = SwedishTimeField(
        _l("Sluttid"),
        validators=[InputRequired(_l("Fyll i sluttid."))],
    )

    def validate_ends(self, field: SwedishTimeField) -> None:
        starts = self.starts.data
        if field.data is not None and starts is not None and field.data <= starts:
            raise ValidationError(str(_l("Sluttiden måste vara efter starttiden.")))


class EventForm(FlaskForm):
    """An event's settings; a new event also has its first session. The views fill in the
    municipalities and courses."""

    title = StringField(
        _l("Titel"), validators=[DataRequired(_l("Skriv en titel.")), Length(max=200)]
    )
    description = TextAreaField(
        _l("Beskrivning"),
        description=_l("Vad evenemanget handlar om och vem det är för."),
        validators=[Optional(), Length(max=5000)],
    )
    format = RadioField(
        _l("Form"),
        choices=[SelectChoice(member.value, member.value) for member in EventFormat],
        default=EventFormat.DIGITAL.value,
        validators=[InputRequired(_l("Välj om evenemanget är digitalt eller på plats."))],
    )
    link = StringField(
        _l("Länk"),
        description=_l("För digitala evenemang. Visas bara för dem som har en plats."),
        validators=[Optional(), Length(max=500)],
    )
    place = StringField(
        _l("Plats"),
        description=_l("För evenemang på plats: adress och lokal."),
        validators=[Optional(), Length(max=300)],
    )
    municipalities = CheckboxesField(
        _l("Öppet för anställda i"), validators=[DataRequired(_l("Välj minst en kommun."))]
    )
    sectors = CheckboxesField(
        _l("Riktar sig till"),
        description=_l("Inga valda: alla sektorer."),
    )
    capacity = IntegerField(
        _l("Antal platser"),
        validators=[InputRequired(_l("Fyll i antal platser."))],
        render_kw={"min": 1, "inputmode": "numeric"},
    )
    signup_deadline = SwedishDateField(
        _l("Sista anmälningsdag"),
        description=_l("Till och med den dagen går det att anmäla sig och att avanmäla sig."),
        validators=[InputRequired(_l("Fyll i sista anmälningsdag.")), PlausibleDate()],
    )
    course = SelectField(
        _l("Räknas som kurs"),
        description=_l(
            "Närvaro registreras som genomförd kurs. Välj ingen om evenemanget är en egen punkt."
        ),
        default="",
    )
    requires_approval = BooleanField(_l("Anmälan kräver chefens godkännande"))
    campaign = BooleanField(_l("Del av kampanjen En månad fri från våld"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Labels are lazy: built per request, in the user's language.
        self.format.choices = [SelectChoice(member.value, member.label) for member in EventFormat]
        self.sectors.choices = [SelectChoice(sector.value, sector.label) for sector in Sector]

    def validate_capacity(self, field: IntegerField) -> None:
        if field.data is not None and not 1 <= field.data <= 10_000:
            raise ValidationError(str(_l("Antalet platser ska vara mellan 1 och 10000.")))


class NewEventForm(SessionFields, EventForm):
    """A new event with its first session."""


class SessionForm(SessionFields, FlaskForm):
    """One more session, or new times for one."""


class SignupForm(FlaskForm):
    """Sign up: oneself (no employee), or a manager one of their staff."""

    employee = SelectField(_l("Medarbetare"), default="", validate_choice=False)
    # Set by a manager's form for their staff: then an employee must be chosen.
    staff = HiddenField(default="")


class ConfirmForm(FlaskForm):
    """Only the CSRF token: cancelling a sign-up or a session asks nothing more."""

    employee = SelectField(_l("Medarbetare"), default="", validate_choice=False)


class DecisionForm(FlaskForm):
    """A manager's decision on a sign-up of their staff awaiting approval."""

    employee = SelectField(_l("Medarbetare"), default="", validate_choice=False)
    decision = RadioField(
        _l("Beslut"),
        choices=[SelectChoice("approve", "approve"), SelectChoice("decline", "decline")],
        validators=[InputRequired()],
    )


class AttendanceForm(FlaskForm):
    """Who was at a session: ticked on the list, everyone with a place, or pasted addresses."""

    employees = SelectMultipleField(_l("Närvarande"), coerce=str, validate_choice=False)
    everyone = BooleanField(_l("Alla med plats"))
    emails = TextAreaField(
        _l("E-postadresser"),
        description=_l(
            "Valfritt. Klistra in adresserna till dem som var med, en per rad eller åtskilda "
            "med semikolon, till exempel från mötets deltagarlista."
        ),
        validators=[Optional(), Length(max=100_000)],
    )


class CheckInForm(FlaskForm):
    code = StringField(
        _l("Kod"),
        description=_l("Koden visas på tillfället medan det pågår."),
        validators=[DataRequired(_l("Skriv koden som visas på tillfället.")), Length(max=20)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )


class MessageForm(FlaskForm):
    """The organiser's mail to everyone signed up."""

    subject = StringField(
        _l("Rubrik"), validators=[DataRequired(_l("Skriv en rubrik.")), Length(max=200)]
    )
    text = TextAreaField(
        _l("Meddelande"),
        validators=[DataRequired(_l("Skriv ett meddelande.")), Length(max=5000)],
    )
