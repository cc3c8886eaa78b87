"""The HR employee list as a file: one row per person the filtered list shows (every page),
with the columns of the page, for :mod:`training_tracker.services.core.spreadsheets`."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _

from training_tracker.services.core.spreadsheets import CellValue, Sheet
from training_tracker.services.people.employee_list import EmployeeRow


def employee_sheet(rows: Sequence[EmployeeRow]) -> Sheet:
    """The list's rows as a table: the page's columns, with name, municipality and sector
    split so that a spreadsheet can sort and filter on each."""
    header = [
        _("Efternamn"),
        _("Förnamn"),
        _("E-post"),
        _("Anställningsnummer"),
        _("Kommun"),
        _("Enhet"),
        _("Sektor"),
        _("Anställningsdatum"),
        _("Slutdatum"),
        _("Status"),
        _("Konto"),
        _("Försenade kurser"),
    ]
    table: list[list[CellValue]] = []
    for row in rows:
        person = row.employee
        table.append(
            [
                person.last_name,
                person.first_name,
                person.email,
                person.employee_number,
                person.municipality.name if person.municipality else None,
                person.unit.name if person.unit else None,
                person.unit.sector.label if person.unit else None,
                person.hire_date,
                person.end_date,
                row.status.label,
                row.account.label,
                row.overdue_count,
            ]
        )
    return Sheet(title=_("Personal"), header=header, rows=table)
