"""Checking the cells of an HR export into rows: the header row mapped to fields, then every
row checked into an :class:`ImportRow` or the problems that reject it.

Pure: a :class:`.table.Table` in, rows and problems out; nothing touches the database. The
preview and the confirmed import check alike, on the table read once at upload
(:func:`check_table`); the command line reads and checks the operator's own file in one step
(:func:`parse_employee_file`). Runs inside an app context (the messages go through
Flask-Babel).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _

from training_tracker.models.enums import Sector
from training_tracker.services.imports.personnummer import is_personnummer_header
from training_tracker.services.imports.table import Cell, ImportFileError, Table, read_table
from training_tracker.services.imports.values import (
    Emails,
    Invalid,
    cell_text,
    field_checks,
    preview,
)
from training_tracker.services.imports.vocabulary import (
    FIELD_NAMES,
    FIELDS,
    REQUIRED_FIELDS,
    field_for_header,
)

__all__ = ["ImportRow", "ParsedFile", "RowProblem", "check_table", "parse_employee_file"]


@dataclass(frozen=True)
class ImportRow:
    line: int  # line number in the file as the user sees it (XLSX: the sheet row number)
    first_name: str
    last_name: str
    email: str  # stripped, lower-cased, validated
    municipality: str | None  # as written: a name or a 4-digit kommunkod
    unit: str | None  # inner whitespace collapsed
    sector: Sector | None
    hire_date: date | None
    employee_number: str | None
    manager_email: str | None  # lower-cased, validated
    end_date: date | None


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str | None  # the header as written (the Swedish field name if the column is missing)
    value: str  # as written, at most PREVIEW_CHARS, a personnummer masked; "" if none
    message: str


@dataclass
class ParsedFile:
    rows: list[ImportRow]  # accepted rows
    problems: list[RowProblem]  # one or more per rejected row; a rejected row is not in rows
    total_rows: int  # data rows; blank lines are skipped and not counted
    rejected_lines: set[int]  # len(rows) + len(rejected_lines) == total_rows
    columns: dict[str, str]  # canonical field -> header as written
    ignored_columns: list[str]  # headers not read, a personnummer column among them
    encoding: str  # "utf-8", "utf-8-sig", "cp1252" or "xlsx"
    delimiter: str | None  # ";" or ","; None for XLSX


@dataclass
class _Layout:
    index: dict[str, int]  # field -> position of its column
    columns: dict[str, str]  # field -> header as written
    ignored: list[str]
    width: int  # cells in the header row

    def header(self, field: str) -> str:
        return self.columns.get(field) or str(FIELD_NAMES[field])


def _quoted(headers: Iterable[str]) -> str:
    shown = [f"”{preview(header)}”" for header in headers]
    return ", ".join(shown[:30]) + (", …" if len(shown) > 30 else "")


def _layout(header: list[Cell]) -> _Layout:
    layout = _Layout(index={}, columns={}, ignored=[], width=len(header))
    for position, cell in enumerate(header):
        written = cell_text(cell).strip("\ufeff \t\r\n")
        if not written:
            continue
        field = None if is_personnummer_header(written) else field_for_header(written)
        if field is None:
            layout.ignored.append(written)
        elif field in layout.columns:
            raise ImportFileError(
                _(
                    "Kolumnen för %(field)s finns två gånger: %(columns)s.",
                    field=FIELD_NAMES[field],
                    columns=_quoted([layout.columns[field], written]),
                )
            )
        else:
            layout.index[field] = position
            layout.columns[field] = written
    missing = [field for field in REQUIRED_FIELDS if field not in layout.columns]
    if missing:
        found = [cell_text(cell).strip("\ufeff \t\r\n") for cell in header]
        raise ImportFileError(
            _(
                "Filen saknar kolumner som krävs: %(missing)s. Kolumnerna i filen är: %(found)s.",
                missing=", ".join(str(FIELD_NAMES[field]) for field in missing),
                found=_quoted(name for name in found if name),
            )
        )
    return layout


class _RowChecker:
    """Checks one row at a time, remembering what earlier rows used."""

    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        self.emails = Emails()
        self.email_lines: dict[str, int] = {}
        self.number_lines: dict[tuple[str, str], int] = {}
        parsers = field_checks(self.emails)
        # In the file's column order, so a row's problems read left to right.
        self.steps = [(field, position, parsers[field]) for field, position in layout.index.items()]

    def check(self, line: int, cells: list[Cell]) -> tuple[ImportRow | None, list[RowProblem]]:
        if len(cells) < self.layout.width:
            cells = cells + [""] * (self.layout.width - len(cells))
        values: dict[str, Any] = dict.fromkeys(FIELDS)  # each field as its parser returns it
        problems: list[RowProblem] = []
        for field, position, parser in self.steps:
            try:
                values[field] = parser(cells[position])
            except Invalid as invalid:
                problems.append(self.problem(line, field, cells[position], invalid.message))
        problems.extend(self.cross_checks(line, cells, values))
        if problems:
            return None, problems
        return ImportRow(line=line, **values), []

    def raw(self, cells: list[Cell], field: str) -> Cell:
        return cells[self.layout.index[field]]

    def problem(self, line: int, field: str | None, raw: Cell, message: str) -> RowProblem:
        column = self.layout.header(field) if field else None
        return RowProblem(line=line, column=column, value=preview(raw), message=message)

    def cross_checks(
        self, line: int, cells: list[Cell], values: dict[str, Any]
    ) -> list[RowProblem]:
        problems: list[RowProblem] = []
        hired, ended = values.get("hire_date"), values.get("end_date")
        if hired and ended and ended < hired:
            message = _("slutdatum är före anställningsdatum")
            problems.append(self.problem(line, "end_date", self.raw(cells, "end_date"), message))
        problems.extend(self.duplicates(line, cells, values))
        extra = [cell_text(cell) for cell in cells[self.layout.width :] if cell]
        if extra:
            message = _("fler värden än kolumner")
            problems.append(self.problem(line, None, "; ".join(extra), message))
        return problems

    def duplicates(self, line: int, cells: list[Cell], values: dict[str, Any]) -> list[RowProblem]:
        """The first row with an e-mail (or an employee number in a municipality) keeps it."""
        problems: list[RowProblem] = []
        email = values.get("email")
        if email and (first := self.email_lines.setdefault(email, line)) != line:
            message = _("samma e-post som rad %(line)d", line=first)
            problems.append(self.problem(line, "email", self.raw(cells, "email"), message))
        number = values.get("employee_number")
        key = ((values.get("municipality") or "").casefold(), number or "")
        if number and (first := self.number_lines.setdefault(key, line)) != line:
            message = _("samma anställningsnummer som rad %(line)d", line=first)
            raw = self.raw(cells, "employee_number")
            problems.append(self.problem(line, "employee_number", raw, message))
        return problems


def check_table(table: Table, *, max_rows: int = 50_000) -> ParsedFile:
    """Check every row of a file read by :func:`.table.read_table`. Raises ImportFileError when the
    file as a whole cannot be used; problems with single rows are in the result instead, and
    those rows are left out of ``rows``."""
    if not table.rows:
        raise ImportFileError(_("Filen är tom."))
    layout = _layout(table.rows[0][1])
    parsed = ParsedFile(
        rows=[],
        problems=[],
        total_rows=0,
        rejected_lines=set(),
        columns=layout.columns,
        ignored_columns=layout.ignored,
        encoding=table.encoding,
        delimiter=table.delimiter,
    )
    checker = _RowChecker(layout)
    for line, cells in table.rows[1:]:
        parsed.total_rows += 1
        if parsed.total_rows > max_rows:
            raise ImportFileError(
                _(
                    "Filen har fler än %(max)d anställda. Dela upp den i flera filer.",
                    max=max_rows,
                )
            )
        row, problems = checker.check(line, cells)
        if row is not None:
            parsed.rows.append(row)
        else:
            parsed.problems.extend(problems)
            parsed.rejected_lines.add(line)
    if parsed.total_rows == 0:
        raise ImportFileError(_("Filen har inga anställda, bara en rad med rubriker."))
    return parsed


def parse_employee_file(data: bytes, filename: str = "", *, max_rows: int = 50_000) -> ParsedFile:
    """Read and check an HR-system export in this process (the operator's own file, from the
    command line; web uploads are read in a bounded child). ``filename`` is not used."""
    return check_table(read_table(data, max_rows=max_rows), max_rows=max_rows)
