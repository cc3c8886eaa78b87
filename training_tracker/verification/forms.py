"""Forms of the review pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from training_tracker.services.training.verification import REJECTION_REASON_MAX

# The largest id a form or link may carry (a 32-bit integer column).
_MAX_ID = 2**31 - 1


def positive_id(value: str | None) -> int | None:
    """A row id written in ASCII digits, or None. ``str.isdigit`` alone also accepts "²", which
    ``int`` refuses, and a number past the column's range fails in the database."""
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number <= _MAX_ID else None


class VerifyForm(FlaskForm):
    submit = SubmitField(_l("Godkänn"))


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Skäl till att rapporten avvisas"),
        validators=[
            InputRequired(_l("Skriv varför rapporten avvisas. Skälet skickas till medarbetaren.")),
            Length(max=REJECTION_REASON_MAX, message=_l("Högst 1000 tecken.")),
        ],
        description=_l(
            "Medarbetaren får skälet i ett mejl och kan rapportera kursen igen. Till exempel: "
            "”Intyget gäller en annan kurs.”"
        ),
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("Avvisa"))


class CompletionIdsField(SelectMultipleField):
    """The ids of the reports ticked in the queue; which of them may be verified is the
    service's to decide (it checks the scope), so any id passes here."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        ids = [positive_id(str(value)) for value in valuelist]
        self.data = [i for i in ids if i is not None]
        if None in ids:
            raise ValueError(
                str(_l("Listan över rapporter gick inte att läsa. Ladda om sidan och välj igen."))
            )


class BulkVerifyForm(FlaskForm):
    # The checkboxes are drawn in the queue's rows; the service checks every id's scope.
    completion_ids = CompletionIdsField(
        _l("Rapporter"),
        validate_choice=False,
        validators=[InputRequired(_l("Markera minst en rapport att godkänna."))],
    )
    submit = SubmitField(_l("Godkänn markerade"))
