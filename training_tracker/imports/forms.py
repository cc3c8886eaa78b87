"""Forms of the import pages."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, Field, RadioField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate WTForms 3.3
from wtforms.validators import ValidationError

from training_tracker.models import Sector
from training_tracker.services.imports.plan import NewUnit, UnknownUnits

# A new unit's sector choice is named "sector-" and the unit's token (plan.unit_token).
SECTOR_PREFIX = "sector-"
_TOKEN = re.compile(r"[0-9]{1,10}-[0-9a-f]{16}")


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
            SelectChoice(UnknownUnits.CREATE.value, _l("Skapa enheterna, med sektorn du väljer")),
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


class SectorField(SelectField):
    """The sector of one unit the import would create; empty until chosen."""

    def pre_validate(self, form: FlaskForm) -> None:
        if self.data and self.data not in {sector.value for sector in Sector}:
            raise ValidationError(_l("Välj en av sektorerna i listan."))

    def chosen(self) -> Sector | None:
        return Sector(self.data) if self.data in {s.value for s in Sector} else None


def confirm_form(*, tokens: Iterable[str]) -> ConfirmForm:
    """The confirmation form with a sector choice for each unit to be created (``tokens``:
    those the page shows, or on a post those it sent back)."""

    class _ConfirmForm(ConfirmForm):
        pass

    choices = [SelectChoice("", _l("Välj sektor"))] + [
        SelectChoice(sector.value, sector.label) for sector in Sector
    ]
    for token in dict.fromkeys(tokens):
        if _TOKEN.fullmatch(token):
            field = SectorField(_l("Sektor för den nya enheten"), choices=choices, default="")
            setattr(_ConfirmForm, SECTOR_PREFIX + token, field)
    return _ConfirmForm()


def posted_tokens(names: Iterable[str]) -> list[str]:
    return [name[len(SECTOR_PREFIX) :] for name in names if name.startswith(SECTOR_PREFIX)]


def sector_fields(form: ConfirmForm) -> dict[str, SectorField]:
    """The form's sector choices by unit token."""
    return {
        field.name[len(SECTOR_PREFIX) :]: field for field in form if isinstance(field, SectorField)
    }


def label_sectors(form: ConfirmForm, units: Iterable[NewUnit]) -> None:
    """Name each unit in its sector choice's label (a post carries only the tokens), and
    start an unchosen one at the sector the file gives."""
    fields = sector_fields(form)
    for unit in units:
        field: Field | None = fields.get(unit.token)
        if isinstance(field, SectorField):
            field.label.text = str(
                _l(
                    "Sektor för %(unit)s (%(municipality)s)",
                    unit=unit.name,
                    municipality=unit.municipality_name,
                )
            )
            if not form.is_submitted() and unit.sector is not None:
                field.data = unit.sector.value


class DiscardForm(FlaskForm):
    submit = SubmitField(_l("Avbryt importen"))
