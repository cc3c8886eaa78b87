"""Form fields shared by the features' forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from wtforms import DateField, Field
from wtforms.validators import ValidationError

from training_tracker import clock

T = TypeVar("T")


def required(data: T | None) -> T:
    """The data of a field its form requires (DataRequired or InputRequired): once
    ``validate_on_submit`` has passed it is never None, and None here means a form that lost
    its validator, a bug to hear about rather than a None to store."""
    if data is None:
        raise ValueError("a required form field has no data")
    return data


class SwedishDateField(DateField):
    """A date as ÅÅÅÅ-MM-DD (what ``<input type=date>`` sends), with a clear message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            # Only spaces is no date: InputRequired, which reads the raw input, must say so
            # (else the view gets None for a required date).
            self.raw_data = []
            return
        try:
            self.data = datetime.strptime(str(valuelist[0]).strip(), "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Skriv datumet som ÅÅÅÅ-MM-DD."))) from None


class PlausibleDate:
    """A business date within the years the tracker accepts (see ``clock.EARLIEST_DATE``):
    "9999-12-31" parses, but a due date counted from it cannot be stored."""

    def __call__(self, form: Any, field: Field) -> None:
        if field.data is not None and not clock.is_plausible(field.data):
            raise ValidationError(
                str(
                    _l(
                        "Skriv ett datum mellan %(first)s och %(last)s.",
                        first=clock.EARLIEST_DATE.isoformat(),
                        last=clock.LATEST_DATE.isoformat(),
                    )
                )
            )
