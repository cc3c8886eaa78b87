"""Forms of the employee's report pages."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from training_tracker.fields import PlausibleDate

# What the browser offers in its file picker; the server checks the content, not this.
CERTIFICATE_ACCEPT = "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"
SUBMISSION_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


# The report form's certificate hint; the view shows the second one when the chosen course
# issues no certificate (and app.js swaps them when another course is chosen).
CERTIFICATE_HINT = _l(
    "PDF, PNG eller JPEG. Intyget behövs när kursen ger ett intyg. Du kan ladda upp intyget "
    "som PDF eller ta en bild av det med mobilen."
)
NO_CERTIFICATE_HINT = _l(
    "Den här kursen ger inget intyg, så du kan skicka rapporten utan fil. Har du ändå ett "
    "intyg kan du ladda upp det: PDF, PNG eller JPEG."
)
CERTIFICATE_MISSING = _l("Välj filen med ditt intyg.")


def _certificate_field(*, required: bool) -> FileField:
    """``required``: always a file (a replacement). Otherwise the view decides, by whether
    the chosen course issues a certificate."""
    return FileField(
        _l("Intyg"),
        validators=[FileRequired(CERTIFICATE_MISSING)] if required else [],
        description=(
            _l(
                "PDF, PNG eller JPEG. Du kan ladda upp intyget som PDF eller ta en bild av det "
                "med mobilen."
            )
            if required
            else CERTIFICATE_HINT
        ),
        render_kw={"accept": CERTIFICATE_ACCEPT},
    )


class ReportForm(FlaskForm):
    course_id = SelectField(
        _l("Kurs"),
        choices=[],
        validators=[InputRequired(_l("Välj en kurs i listan."))],
        validate_choice=False,  # the service decides whether the course can be reported
    )
    completed_on = DateField(
        _l("Datum då du blev klar"),
        format="%Y-%m-%d",
        validators=[InputRequired(_l("Ange datumet då du blev klar med kursen.")), PlausibleDate()],
        description=_l("Datumet står på intyget. Det kan inte vara senare än i dag."),
    )
    certificate = _certificate_field(required=False)
    note = TextAreaField(
        _l("Kommentar (frivillig)"),
        validators=[Optional(), Length(max=2000, message=_l("Högst 2000 tecken."))],
        description=_l("Till exempel om du gick kursen tillsammans med kollegor."),
        render_kw={"rows": 3},
    )
    submission_key = HiddenField()
    submit = SubmitField(_l("Skicka rapporten"))

    def validate_course_id(self, field: SelectField) -> None:
        # ASCII digits within the id column's range: "²" passes isdigit() but not int(), and
        # a larger number fails in the database instead of here.
        value = str(field.data or "")
        if not (value.isascii() and value.isdigit() and len(value) <= 10 and int(value) < 2**31):
            raise ValidationError(_l("Välj en kurs i listan."))


class ReplaceCertificateForm(FlaskForm):
    certificate = _certificate_field(required=True)
    submit = SubmitField(_l("Byt intyg"))


class CorrectDateForm(FlaskForm):
    """The completion date of a report that awaits verification, corrected by its owner."""

    completed_on = DateField(
        _l("Rätt datum då du blev klar"),
        format="%Y-%m-%d",
        validators=[InputRequired(_l("Ange datumet då du blev klar med kursen.")), PlausibleDate()],
        description=_l("Datumet står på intyget. Det kan inte vara senare än i dag."),
    )
    submit = SubmitField(_l("Ändra datumet"))


class WithdrawForm(FlaskForm):
    submit = SubmitField(_l("Ja, återkalla rapporten"))
