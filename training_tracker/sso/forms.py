from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3
from wtforms.validators import DataRequired, Length, Optional


# The fields both kinds of provider have. A new field each call: WTForms orders a form's
# fields by when they were made, so a shared one would come first in both forms.
def _button_text_field() -> StringField:
    return StringField(
        _l("Text på knappen"),
        validators=[Optional(), Length(max=100)],
        description=_l("T.ex. ”Järfälla kommun”. Tomt: kommunens namn."),
    )


def _domains_field() -> TextAreaField:
    return TextAreaField(
        _l("E-postdomäner"),
        validators=[DataRequired(_l("Fyll i minst en e-postdomän.")), Length(max=2000)],
        description=_l("En per rad, t.ex. jarfalla.se"),
    )


class AddOidcProviderForm(FlaskForm):
    municipality = SelectField(_l("Kommun"), coerce=int)
    label = _button_text_field()
    issuer = StringField(
        _l("Utfärdare (issuer)"),
        validators=[DataRequired(_l("Fyll i utfärdarens adress.")), Length(max=500)],
        description=_l(
            "Adressen där /.well-known/openid-configuration finns, t.ex. "
            "https://login.microsoftonline.com/KATALOG-ID/v2.0"
        ),
    )
    client_id = StringField(
        _l("Klient-id (client id)"),
        validators=[DataRequired(_l("Fyll i klient-id.")), Length(max=255)],
    )
    client_secret = PasswordField(
        _l("Klienthemlighet (client secret)"),
        validators=[Optional(), Length(max=1000)],
        description=_l("Sparas krypterad och visas aldrig igen."),
        render_kw={"autocomplete": "off"},
    )
    client_secret_env = StringField(
        _l("eller: miljövariabel med hemligheten"),
        validators=[Optional(), Length(max=100)],
        description=_l("Namnet på en miljövariabel på servern, t.ex. SSO_JARFALLA_SECRET."),
    )
    domains = _domains_field()
    submit = SubmitField(_l("Lägg till inloggningstjänsten"))


class AddSamlProviderForm(FlaskForm):
    municipality = SelectField(_l("Kommun"), coerce=int)
    label = _button_text_field()
    metadata_url = StringField(
        _l("Adress till metadata"),
        validators=[Optional(), Length(max=1000)],
        description=_l(
            "Identitetsleverantörens metadata, t.ex. "
            "https://adfs.jarfalla.se/FederationMetadata/2007-06/FederationMetadata.xml"
        ),
    )
    metadata_xml = TextAreaField(
        _l("eller: metadata (XML)"),
        validators=[Optional(), Length(max=2_000_000)],
        description=_l("Klistra in metadatafilen om servern inte når adressen."),
    )
    subject_attribute = StringField(
        _l("Attribut med stabil identitet (frivilligt)"),
        validators=[Optional(), Length(max=255)],
        description=_l("Tomt: beständigt NameID (persistent), som rekommenderas."),
    )
    domains = _domains_field()
    submit = SubmitField(_l("Lägg till SAML-tjänsten"))


class SsoRequirementForm(FlaskForm):
    municipality = SelectField(_l("Kommun"), coerce=int)
    required = SelectField(
        _l("Inloggning"),
        choices=[
            SelectChoice("on", _l("Kräv inloggning via kommunen")),
            SelectChoice("off", _l("Tillåt även lösenord")),
        ],
    )
    submit = SubmitField(_l("Spara"))


class RemoveProviderForm(FlaskForm):
    submit = SubmitField(_l("Ja, ta bort inloggningstjänsten"))
