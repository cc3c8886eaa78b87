"""Forms of the signed-in person's own settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField


class NotificationSettingsForm(FlaskForm):
    weekly_digest = BooleanField(
        _l("Skicka mig veckosammanfattningen"),
        description=_l(
            "Varje måndag: vilka i din personalgrupp som har försenade kurser eller kurser med "
            "sista dag inom två veckor. Påminnelser om dina egna kurser får du ändå."
        ),
    )
    submit = SubmitField(_l("Spara"))
