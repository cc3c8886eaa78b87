"""Who and where each row of an import is about: its municipality, and the person it matches by
e-mail or by employee number, with the rows rejected on the way.

:class:`Matcher` loads what the database knows about the people a file names once, in a few
queries, and keeps the plan's problems and warnings; the planner (:mod:`.planning`) builds on
it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker.models import Employee, Municipality
from training_tracker.services.imports.parsing import ImportRow, ParsedFile, RowProblem
from training_tracker.services.imports.plan import IMPORTED_FIELDS, chunks, name_key

# The Swedish column names used when a problem concerns a column the file does not have.
COLUMN_NAMES = {
    "municipality": "kommun",
    "unit": "enhet",
    "sector": "sektor",
    "email": "e-post",
    "employee_number": "anställningsnummer",
    "manager_email": "chefens e-post",
    "end_date": "slutdatum",
}


class Matcher:
    """Holds what the database knows of municipalities and people, loaded once in a few
    queries, and what was found wrong while rows are planned."""

    def __init__(
        self,
        session: Session,
        parsed: ParsedFile,
        *,
        managed: frozenset[int] | None,
        default_municipality_id: int | None,
    ) -> None:
        self.session = session
        self.parsed = parsed
        self.managed = managed
        self.default_municipality_id = default_municipality_id
        self.problems: list[RowProblem] = list(parsed.problems)
        self.warnings: list[RowProblem] = []
        self.rejected: set[int] = set(parsed.rejected_lines)
        self.municipalities: dict[str, tuple[int, str]] = {}
        for municipality_id, code, name in session.execute(
            sa.select(Municipality.id, Municipality.code, Municipality.name)
        ):
            self.municipalities[name_key(name)] = (municipality_id, name)
            self.municipalities[code] = (municipality_id, name)
        self.municipality_names = {mid: name for mid, name in self.municipalities.values()}
        columns = [getattr(Employee, name) for name in IMPORTED_FIELDS]
        self.by_email: dict[str, dict[str, Any]] = {}
        self.by_number: dict[tuple[int, str], dict[str, Any]] = {}
        emails = {row.email for row in parsed.rows} | {
            row.manager_email for row in parsed.rows if row.manager_email
        }
        numbers = {row.employee_number for row in parsed.rows if row.employee_number}
        # Everyone the file could match: by e-mail anywhere, by number in any municipality
        # (narrowed per row below). Loaded as plain tuples in chunks, not ORM objects.
        for chunk in chunks(sorted(emails)):
            self._load(
                sa.select(Employee.id, Employee.active, *columns).where(Employee.email.in_(chunk))
            )
        for chunk in chunks(sorted(numbers)):
            self._load(
                sa.select(Employee.id, Employee.active, *columns).where(
                    Employee.employee_number.in_(chunk)
                )
            )
        self.claimed: dict[int, int] = {}  # employee id → line that matched it
        # (municipality, employee number) → first line: the parser compares municipalities as
        # written, so "Järfälla" and "0123" would both pass it.
        self.numbers: dict[tuple[int, str], int] = {}

    def _load(self, query: sa.Select) -> None:
        for row in self.session.execute(query).mappings():
            record = dict(row)
            self.by_email[record["email"]] = record
            if record["employee_number"] and record["municipality_id"] is not None:
                self.by_number[(record["municipality_id"], record["employee_number"])] = record

    def reject(self, row: ImportRow, column: str, value: str | None, message: str) -> None:
        header = self.parsed.columns.get(column, COLUMN_NAMES.get(column, column))
        self.problems.append(RowProblem(row.line, header, (value or "")[:100], message))
        self.rejected.add(row.line)

    def warn(self, row: ImportRow, column: str, value: str | None, message: str) -> None:
        header = self.parsed.columns.get(column, COLUMN_NAMES.get(column, column))
        self.warnings.append(RowProblem(row.line, header, (value or "")[:100], message))

    def municipality_of(self, row: ImportRow) -> int | None:
        if row.municipality:
            found = self.municipalities.get(name_key(row.municipality)) or self.municipalities.get(
                row.municipality.strip()
            )
            if found is None:
                self.reject(row, "municipality", row.municipality, _("okänd kommun"))
                return None
            municipality_id = found[0]
        elif self.default_municipality_id is not None:
            municipality_id = self.default_municipality_id
        else:
            self.reject(row, "municipality", "", _("kommun saknas"))
            return None
        if self.managed is not None and municipality_id not in self.managed:
            self.reject(
                row,
                "municipality",
                row.municipality or self.municipality_names.get(municipality_id, ""),
                _("du kan inte importera personal till den kommunen"),
            )
            return None
        return municipality_id

    def match(self, row: ImportRow, municipality_id: int) -> dict[str, Any] | bool | None:
        """The existing employee this row is about, None for a new one, False if rejected."""
        by_email = self.by_email.get(row.email)
        by_number = (
            self.by_number.get((municipality_id, row.employee_number))
            if row.employee_number
            else None
        )
        if by_email and by_number and by_email["id"] != by_number["id"]:
            self.reject(
                row,
                "employee_number",
                row.employee_number,
                _("anställningsnumret tillhör en annan person än e-postadressen"),
            )
            return False
        existing = by_email or by_number
        if existing is None:
            return None
        if self.managed is not None and existing["municipality_id"] not in self.managed:
            self.reject(
                row, "email", row.email, _("e-postadressen används av en person i en annan kommun")
            )
            return False
        if existing["municipality_id"] is None:
            self.reject(row, "email", row.email, _("e-postadressen tillhör ett systemkonto"))
            return False
        if (first := self.claimed.get(existing["id"])) is not None:
            self.reject(row, "email", row.email, _("samma person som rad %(line)d", line=first))
            return False
        self.claimed[existing["id"]] = row.line
        return existing

    def number_free(self, row: ImportRow, municipality_id: int, existing: dict[str, Any]) -> bool:
        """A person moving to another municipality keeps their employee number (the cell is
        empty): is it free there? Rejects the row if not."""
        number = existing["employee_number"]
        if (first := self.numbers.setdefault((municipality_id, number), row.line)) != row.line:
            message = _("samma anställningsnummer som rad %(line)d", line=first)
            self.reject(row, "employee_number", number, message)
            return False
        holder = self.session.scalar(
            sa.select(Employee.id).where(
                Employee.municipality_id == municipality_id,
                Employee.employee_number == number,
                Employee.id != existing["id"],
            )
        )
        if holder is not None:
            message = _("anställningsnumret tillhör en annan person än e-postadressen")
            self.reject(row, "employee_number", number, message)
            return False
        return True
