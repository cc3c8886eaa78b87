"""Forms of the review pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from training_tracker.services.verification import REJECTION_REASON_MAX


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


class BulkVerifyForm(FlaskForm):
    # The checkboxes are drawn in the queue's rows; the service checks every id's scope.
    completion_ids = SelectMultipleField(
        _l("Rapporter"),
        coerce=int,
        validate_choice=False,
        validators=[InputRequired(_l("Markera minst en rapport att godkänna."))],
    )
    submit = SubmitField(_l("Godkänn markerade"))
