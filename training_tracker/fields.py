"""Form fields shared by the features' forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField


class SwedishDateField(DateField):
    """A date as ÅÅÅÅ-MM-DD (what ``<input type=date>`` sends), with a clear message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = datetime.strptime(str(valuelist[0]).strip(), "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Skriv datumet som ÅÅÅÅ-MM-DD."))) from None
