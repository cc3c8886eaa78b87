from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from training_tracker.services.people.accounts import password_problems


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-postadress"),
        validators=[DataRequired(_l("Fyll i din e-postadress.")), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Lösenord"),
        validators=[DataRequired(_l("Fyll i ditt lösenord.")), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Logga in"))


class SsoEmailForm(FlaskForm):
    """Home realm discovery: the work address decides the provider."""

    email = EmailField(
        _l("Din e-postadress på jobbet"),
        validators=[DataRequired(_l("Fyll i din e-postadress.")), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    submit = SubmitField(_l("Logga in via din kommun"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("E-postadress"),
        validators=[DataRequired(_l("Fyll i din e-postadress.")), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    submit = SubmitField(_l("Skicka länk"))


class SetPasswordForm(FlaskForm):
    """Choose a password, from an invitation or a reset link."""

    password = PasswordField(
        _l("Nytt lösenord"),
        validators=[DataRequired(_l("Fyll i ett lösenord."))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Upprepa lösenordet"),
        validators=[
            DataRequired(_l("Upprepa lösenordet.")),
            EqualTo("password", _l("Lösenorden är inte lika.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Spara lösenord"))

    def __init__(self, *args: object, email: str = "", first_name: str = "", **kwargs: object):
        super().__init__(*args, **kwargs)
        self._email = email
        self._first_name = first_name
        self.password.description = _(
            "Minst %(min)d tecken. Gärna flera ord i följd, som en mening.",
            min=current_app.config["PASSWORD_MIN_LENGTH"],
        )

    def validate_password(self, field: PasswordField) -> None:
        problems = password_problems(
            field.data or "", email=self._email, first_name=self._first_name
        )
        if problems:
            raise ValidationError(problems[0])


class LanguageForm(FlaskForm):
    language = SelectField(
        _l("Språk"), choices=[SelectChoice("sv", "Svenska"), SelectChoice("en", "English")]
    )
    submit = SubmitField(_l("Byt språk"))
