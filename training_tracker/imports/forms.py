"""Forms of the import pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3

from training_tracker.services.imports.plan import UnknownUnits


class UploadForm(FlaskForm):
    file = FileField(
        _l("Fil från HR-systemet"),
        validators=[FileRequired(_l("Välj en fil."))],
        description=_l(
            "CSV (med ; eller ,) eller Excel (.xlsx), med en rad rubriker. Inget sparas förrän "
            "du har sett förhandsgranskningen och bekräftat."
        ),
    )
    municipality = SelectField(
        _l("Kommun för rader utan kommun"),
        choices=[],
        validate_choice=True,
    )
    submit = SubmitField(_l("Läs in och förhandsgranska"))


class ConfirmForm(FlaskForm):
    unknown_units = RadioField(
        _l("Enheter som inte finns"),
        choices=[
            SelectChoice(UnknownUnits.CREATE.value, _l("Skapa enheterna, med sektorn från filen")),
            SelectChoice(UnknownUnits.REJECT.value, _l("Avvisa raderna med okända enheter")),
        ],
        default=UnknownUnits.REJECT.value,
    )
    invite = BooleanField(
        _l("Skicka välkomstmejl till nya medarbetare"),
        default=True,
        description=_l(
            "Mejlet listar kurserna med sista dag och har en länk för att välja lösenord. "
            "Avmarkera om du vill skicka inbjudningarna senare."
        ),
    )
    refresh = SubmitField(_l("Uppdatera förhandsgranskningen"))
    submit = SubmitField(_l("Importera"))


class DiscardForm(FlaskForm):
    submit = SubmitField(_l("Avbryt importen"))
