"""The form for reporting an accessibility problem."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from training_tracker.services.compliance.accessibility import DESCRIPTION_MAX, NAME_MAX, PAGE_MAX

# The key a form carries so that sending it twice queues one mail.
SUBMISSION_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _text(value: str | None) -> str | None:
    # Browsers send a textarea's line breaks as CRLF; count each as one character, as the
    # person typing does.
    if not isinstance(value, str):
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


class ProblemReportForm(FlaskForm):
    page = StringField(
        _l("Sida eller adress som det gäller"),
        description=_l(
            "Valfritt. Sidans rubrik eller adressen i webbläsarens adressfält, om du vet den."
        ),
        filters=[_stripped],
        validators=[
            Optional(),
            Length(max=PAGE_MAX, message=_l("Högst %(max)d tecken.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    description = TextAreaField(
        _l("Beskriv bristen"),
        description=_l(
            "Vad försökte du göra, och vad hände? Skriv gärna vilket hjälpmedel, vilken "
            "webbläsare och vilken enhet du använder. Högst %(max)d tecken.",
            max=DESCRIPTION_MAX,
        ),
        filters=[_text],
        validators=[
            DataRequired(_l("Beskriv bristen, så att vi kan rätta den.")),
            Length(
                max=DESCRIPTION_MAX,
                message=_l("Beskrivningen får vara högst %(max)d tecken; nu är den %(length)d."),
            ),
        ],
        render_kw={"rows": 8},
    )
    name = StringField(
        _l("Ditt namn"),
        description=_l("Valfritt."),
        filters=[_stripped],
        validators=[Optional(), Length(max=NAME_MAX, message=_l("Högst %(max)d tecken."))],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("Din e-postadress"),
        description=_l("Valfritt. Fyll i den om du vill ha svar."),
        filters=[_stripped],
        validators=[
            Optional(),
            Email(_l("Skriv en e-postadress som namn@exempel.se.")),
            Length(max=254, message=_l("Högst %(max)d tecken.")),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )
    submission_key = HiddenField()
    submit = SubmitField(_l("Skicka rapporten"))
