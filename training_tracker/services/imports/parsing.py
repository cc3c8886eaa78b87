"""Reading an HR-system export of employees (CSV or XLSX) into checked rows.

Pure: bytes in, rows and problems out; nothing touches the database. In two steps: reading the
file into a :class:`Table` of cells (the costly, risky part, run for uploads in a bounded child
and kept with the upload), then checking its rows, which the preview and the confirmed import
do alike on the kept table. The format is described in DESIGN.md ("Employee
import format"). A personnummer is never read: a column that holds one is skipped unread, an
employee number shaped like one rejects its row, and problem values never echo one.

Checking runs inside an app context (its messages go through Flask-Babel); reading does not.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from itertools import islice
from typing import Any, TypeAlias

import openpyxl
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from training_tracker import clock
from training_tracker.models.enums import Sector

__all__ = [
    "ImportFileError",
    "ImportRow",
    "ParsedFile",
    "RowProblem",
    "Table",
    "check_table",
    "is_personnummer_header",
    "looks_like_personnummer",
    "parse_employee_file",
    "read_table",
]

MAX_VALUE_CHARS = 10_000  # one cell; longer means a broken file (often an unclosed quote)
MAX_XLSX_UNPACKED_BYTES = 300_000_000  # all parts of an XLSX, unpacked: guards against zip bombs
PREVIEW_CHARS = 100  # of an offending value in a RowProblem
MAX_CHARS = {
    "first_name": 100,
    "last_name": 100,
    "municipality": 100,
    "unit": 200,
    "employee_number": 50,
}

Cell: TypeAlias = str | date  # a stripped text, or a date cell of an XLSX


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


class ImportFileError(ValueError):
    """The whole file is unusable; the message says why, in words for the user."""


# --- Columns ---------------------------------------------------------------------------------

FIELDS = (
    "first_name",
    "last_name",
    "email",
    "municipality",
    "unit",
    "sector",
    "hire_date",
    "employee_number",
    "manager_email",
    "end_date",
)
REQUIRED_FIELDS = ("first_name", "last_name", "email")

FIELD_NAMES = {  # what a field is called when its column is missing or in a file-level message
    "first_name": _l("förnamn"),
    "last_name": _l("efternamn"),
    "email": _l("e-post"),
    "municipality": _l("kommun"),
    "unit": _l("enhet"),
    "sector": _l("sektor"),
    "hire_date": _l("anställningsdatum"),
    "employee_number": _l("anställningsnummer"),
    "manager_email": _l("chefens e-post"),
    "end_date": _l("slutdatum"),
}

# Compared folded (see _fold): case, accents, spaces and punctuation do not matter, so
# "E-post:", "epost" and "E post *" are one header.
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "first_name": ("förnamn", "tilltalsnamn", "first name", "given name"),
    "last_name": ("efternamn", "last name", "surname", "family name"),
    "email": (
        "e-post",
        "e-postadress",
        "mejl",
        "mejladress",
        "mail",
        "mailadress",
        "email",
        "email address",
        "mail address",
    ),
    "municipality": ("kommun", "kommunnamn", "kommunkod", "municipality", "municipality code"),
    "unit": ("enhet", "enhetsnamn", "arbetsplats", "avdelning", "unit", "department"),
    "sector": ("sektor", "verksamhet", "verksamhetsområde", "sector"),
    "hire_date": (
        "anställningsdatum",
        "startdatum",
        "anställd från",
        "hire date",
        "start date",
        "employment date",
    ),
    "employee_number": (
        "anställningsnummer",
        "anst.nr",
        "anställnings-id",
        "personalnummer",
        "employee number",
        "employee no",
        "employee id",
    ),
    "manager_email": (
        "chefens e-post",
        "chef e-post",
        "chefens mejl",
        "chef",
        "närmaste chef",
        "manager email",
        "manager",
    ),
    "end_date": ("slutdatum", "avslutsdatum", "anställd till", "end date", "termination date"),
}

_PERSONNUMMER_HEADERS = frozenset(
    {
        "pnr",
        "persnr",
        "ssn",
        "socialsecuritynumber",
        "personalidentitynumber",
        "personalidentificationnumber",
        "nationalidentitynumber",
    }
)
_PERSONNUMMER_HEADER_PARTS = ("personnummer", "personnr", "samordningsnummer")

SECTOR_NAMES: dict[Sector, tuple[str, ...]] = {
    Sector.SOCIAL_SERVICES: ("Socialtjänst", "socialtjänsten", "social services"),
    Sector.SCHOOL: (
        "Skola och förskola",
        "skola/förskola",
        "skola",
        "förskola",
        "school",
        "preschool",
        "school and preschool",
    ),
    Sector.LEISURE: ("Fritid", "kultur och fritid", "leisure", "culture and leisure"),
    Sector.HEALTH_AND_CARE: (
        "Hälso- och sjukvård / omsorg",
        "hälso- och sjukvård",
        "omsorg",
        "vård och omsorg",
        "äldreomsorg",
        "health care",
        "care",
        "health and care",
        "health and social care",
    ),
    Sector.OTHER: ("Övrigt", "annat", "other"),
}


def _fold(text: str) -> str:
    """Lower case, without accents, spaces or punctuation: "Anst.nr:" -> "anstnr"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isalnum())


def _lookup(names: dict[Any, tuple[str, ...]]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for target, spellings in names.items():
        for spelling in spellings:
            if table.setdefault(_fold(spelling), target) != target:
                raise ValueError(f"{spelling!r} names two things")
    return table


_HEADER_LOOKUP: dict[str, str] = _lookup(HEADER_NAMES)
_SECTOR_LOOKUP: dict[str, Sector] = _lookup(
    {sector: (*names, sector.value) for sector, names in SECTOR_NAMES.items()}
)


def is_personnummer_header(header: str) -> bool:
    """A column for personnummer (or samordningsnummer), which is never read."""
    folded = _fold(header)
    return folded in _PERSONNUMMER_HEADERS or any(
        part in folded for part in _PERSONNUMMER_HEADER_PARTS
    )


# --- Personnummer ----------------------------------------------------------------------------

_PERSONNUMMER = re.compile(
    r"(?<![0-9])(18|19|20)?[0-9]{2}([0-9]{2})([0-9]{2})[-+ ]?[0-9]{4}(?![0-9])"
)


def _plausible_personnummer(match: re.Match[str]) -> bool:
    month, day = int(match[2]), int(match[3])
    # A samordningsnummer adds 60 to the day.
    return 1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)


def looks_like_personnummer(value: str) -> bool:
    """YYMMDD-XXXX or YYYYMMDDXXXX, with or without "-" or "+", with a plausible date."""
    match = _PERSONNUMMER.fullmatch(value.strip())
    return match is not None and _plausible_personnummer(match)


def _mask_personnummer(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        if not _plausible_personnummer(match):
            return match[0]
        return re.sub("[0-9]", "x", match[0])

    return _PERSONNUMMER.sub(mask, text)


# --- Reading the bytes -----------------------------------------------------------------------

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls, or an XLSX encrypted with a password
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")  # tab, newlines and form feeds pass


def _not_a_table() -> ImportFileError:
    return ImportFileError(_l("Filen är inte en CSV- eller XLSX-fil."))


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding: UTF-8 with or without BOM, else Windows-1252."""
    has_bom = data.startswith(codecs.BOM_UTF8)
    encoding = "utf-8-sig" if has_bom else "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        if has_bom or _UTF8_SEQUENCE.search(data):
            raise ImportFileError(
                _l(
                    "Filen blandar teckenkodningar (både UTF-8 och Windows-1252). "
                    "Spara den igen som CSV UTF-8 och försök igen."
                )
            ) from None
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            raise _not_a_table() from None
    text = text.rstrip("\x1a")  # an old DOS end-of-file mark
    if _CONTROL_CHARS.search(text):
        raise _not_a_table()
    return text, encoding


def _pick_delimiter(text: str) -> str:
    """The delimiter the header line has more of: ";" (also on a tie, as Swedish Excel) or ","."""
    for line in io.StringIO(text, newline=""):
        if line.strip(" \t\r\n;,\"'"):
            semicolons, commas = line.count(";"), line.count(",")
            return ";" if semicolons >= commas and semicolons else ","
    return ";"


def _too_long(line: int) -> ImportFileError:
    return ImportFileError(
        _l(
            "Rad %(line)d har ett värde som är längre än %(max)d tecken. "
            "Kontrollera att alla citattecken är avslutade.",
            line=line,
            max=MAX_VALUE_CHARS,
        )
    )


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[Cell]]]:
    """Each row with the line it starts on; a quoted value may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise _too_long(start) from error
            raise ImportFileError(_l("Rad %(line)d kunde inte läsas.", line=start)) from error
        end = reader.line_num
        if row and max(map(len, row)) > MAX_VALUE_CHARS:
            raise _too_long(start)
        yield start, [cell.strip() for cell in row]


def _xlsx_value(value: object) -> Cell:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 1234.0, an employee number Excel keeps as a number
    return str(value).strip()


def _check_xlsx_size(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise _not_a_table() from error
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise ImportFileError(_l("Filen är för stor för att läsas in."))


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Cell]]]:
    """The rows of the first worksheet, numbered as in Excel."""
    _check_xlsx_size(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a damaged or foreign ZIP fails in many ways inside openpyxl
        raise _not_a_table() from error
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the stored dimensions may be wrong; read every row
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_xlsx_value(value) for value in values]
            if any(isinstance(cell, str) and len(cell) > MAX_VALUE_CHARS for cell in cells):
                raise _too_long(number)
            yield number, cells
    except ImportFileError:
        raise
    except Exception as error:
        raise _not_a_table() from error
    finally:
        workbook.close()


# --- Checking values -------------------------------------------------------------------------


class _Invalid(Exception):
    """A value that rejects its row; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _text(raw: Cell) -> str:
    return raw.isoformat() if isinstance(raw, date) else raw


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _limited(text: str, field: str) -> str:
    if len(text) > MAX_CHARS[field]:
        raise _Invalid(_("är för långt (högst %(max)d tecken)", max=MAX_CHARS[field]))
    return text


def _name(raw: Cell, field: str) -> str:
    text = _collapse(_text(raw))
    if not text:
        raise _Invalid(_("saknas"))
    return _limited(text, field)


def _optional(raw: Cell, field: str, *, collapse: bool = False) -> str | None:
    text = _collapse(_text(raw)) if collapse else _text(raw)
    return _limited(text, field) if text else None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(raw: Cell) -> date | None:
    day: date | None = None
    if isinstance(raw, date):
        day = raw
    elif not raw:
        return None
    elif _ISO_DATE.fullmatch(raw):
        with suppress(ValueError):  # 2026-02-30: not a date, said below
            day = date.fromisoformat(raw)
    if day is None:
        raise _Invalid(_("är inte ett datum (ÅÅÅÅ-MM-DD)"))
    # A year 9999 parses, but a due date counted from it cannot be stored.
    if not clock.is_plausible(day):
        raise _Invalid(
            _(
                "är inte ett rimligt datum (skriv ett mellan %(first)s och %(last)s)",
                first=clock.EARLIEST_DATE.isoformat(),
                last=clock.LATEST_DATE.isoformat(),
            )
        )
    return day


@lru_cache(maxsize=256)
def _sector_named(text: str) -> Sector | None:
    return _SECTOR_LOOKUP.get(_fold(text))


def _sector(raw: Cell) -> Sector | None:
    text = _text(raw)
    if not text:
        return None
    sector = _sector_named(text)
    if sector is None:
        names = ", ".join(member.label for member in Sector)
        raise _Invalid(_("är inte en känd sektor; välj en av: %(sectors)s", sectors=names))
    return sector


def _employee_number(raw: Cell) -> str | None:
    number = _optional(raw, "employee_number")
    if number and looks_like_personnummer(number):
        raise _Invalid(
            _(
                "ser ut som ett personnummer; personnummer sparas inte och får inte "
                "användas som anställningsnummer"
            )
        )
    return number


# Exactly email_validator's rule for a plain ASCII part before the @ (RFC 5322 dot-atom).
_ATEXT = r"a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~"
_DOT_ATOM = re.compile(f"[{_ATEXT}]+(?:\\.[{_ATEXT}]+)*")
_MAX_EMAIL_LENGTH = 254


class _Emails:
    """email_validator, with the check of a domain it has already accepted skipped.

    Every employee of a municipality shares a handful of domains, and checking the domain is
    most of email_validator's work; for a plain ASCII address at a known domain the answer is
    the same, only quicker. Anything else goes through email_validator itself.
    """

    def __init__(self) -> None:
        self._domains: dict[str, str] = {}  # as written -> as email_validator normalises it

    def normalise(self, address: str) -> str:
        local, _at, domain = address.rpartition("@")
        known = self._domains.get(domain)
        plain = _DOT_ATOM.fullmatch(local) is not None
        length = len(local) + 1 + max(len(domain), len(known or ""))
        if known is not None and plain and length <= _MAX_EMAIL_LENGTH:
            return f"{local}@{known}".lower()
        try:
            result = validate_email(address, check_deliverability=False)
        except EmailNotValidError as error:
            raise _Invalid(_("är inte en giltig e-postadress")) from error
        if plain and domain.isascii() and result.domain == result.ascii_domain:
            self._domains[domain] = result.domain
        return result.normalized.lower()

    def required(self, raw: Cell) -> str:
        text = _text(raw)
        if not text:
            raise _Invalid(_("saknas"))
        return self.normalise(text)

    def optional(self, raw: Cell) -> str | None:
        text = _text(raw)
        return self.normalise(text) if text else None


def _preview(raw: Cell | str) -> str:
    text = _mask_personnummer(_text(raw))
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


# --- Rows ------------------------------------------------------------------------------------


@dataclass
class _Layout:
    index: dict[str, int]  # field -> position of its column
    columns: dict[str, str]  # field -> header as written
    ignored: list[str]
    width: int  # cells in the header row

    def header(self, field: str) -> str:
        return self.columns.get(field) or str(FIELD_NAMES[field])


def _quoted(headers: Iterable[str]) -> str:
    shown = [f"”{_preview(header)}”" for header in headers]
    return ", ".join(shown[:30]) + (", …" if len(shown) > 30 else "")


def _layout(header: list[Cell]) -> _Layout:
    layout = _Layout(index={}, columns={}, ignored=[], width=len(header))
    for position, cell in enumerate(header):
        written = _text(cell).strip("\ufeff \t\r\n")
        if not written:
            continue
        field = None if is_personnummer_header(written) else _HEADER_LOOKUP.get(_fold(written))
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
        found = [_text(cell).strip("\ufeff \t\r\n") for cell in header]
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
        self.emails = _Emails()
        self.email_lines: dict[str, int] = {}
        self.number_lines: dict[tuple[str, str], int] = {}
        parsers: dict[str, Callable[[Cell], Any]] = {
            "first_name": lambda raw: _name(raw, "first_name"),
            "last_name": lambda raw: _name(raw, "last_name"),
            "email": self.emails.required,
            "municipality": lambda raw: _optional(raw, "municipality"),
            "unit": lambda raw: _optional(raw, "unit", collapse=True),
            "sector": _sector,
            "hire_date": _date,
            "employee_number": _employee_number,
            "manager_email": self.emails.optional,
            "end_date": _date,
        }
        # In the file's column order, so a row's problems read left to right.
        self.steps = [(field, position, parsers[field]) for field, position in layout.index.items()]

    def check(self, line: int, cells: list[Cell]) -> tuple[ImportRow | None, list[RowProblem]]:
        if len(cells) < self.layout.width:
            cells = cells + [""] * (self.layout.width - len(cells))
        values = dict.fromkeys(FIELDS)
        problems: list[RowProblem] = []
        for field, position, parser in self.steps:
            try:
                values[field] = parser(cells[position])
            except _Invalid as invalid:
                problems.append(self.problem(line, field, cells[position], invalid.message))
        problems.extend(self.cross_checks(line, cells, values))
        if problems:
            return None, problems
        return ImportRow(line=line, **values), []

    def raw(self, cells: list[Cell], field: str) -> Cell:
        return cells[self.layout.index[field]]

    def problem(self, line: int, field: str | None, raw: Cell, message: str) -> RowProblem:
        column = self.layout.header(field) if field else None
        return RowProblem(line=line, column=column, value=_preview(raw), message=message)

    def cross_checks(
        self, line: int, cells: list[Cell], values: dict[str, Any]
    ) -> list[RowProblem]:
        problems: list[RowProblem] = []
        hired, ended = values.get("hire_date"), values.get("end_date")
        if hired and ended and ended < hired:
            message = _("slutdatum är före anställningsdatum")
            problems.append(self.problem(line, "end_date", self.raw(cells, "end_date"), message))
        problems.extend(self.duplicates(line, cells, values))
        extra = [_text(cell) for cell in cells[self.layout.width :] if cell]
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


# --- The file --------------------------------------------------------------------------------


@dataclass
class Table:
    """The file's filled rows as read from its bytes, header first, each with its line:
    all :func:`check_table` needs, so an upload is read once and its preview checks this."""

    rows: list[tuple[int, list[Cell]]]
    encoding: str  # "utf-8", "utf-8-sig", "cp1252" or "xlsx"
    delimiter: str | None  # ";" or ","; None for XLSX


def _kept(rows: Iterator[tuple[int, list[Cell]]], max_rows: int) -> list[tuple[int, list[Cell]]]:
    """The filled rows: the header, at most ``max_rows`` data rows and one more, which tells
    :func:`check_table` that the file has too many without reading them all."""
    return list(islice(((line, cells) for line, cells in rows if any(cells)), max_rows + 2))


def read_table(data: bytes, *, max_rows: int = 50_000) -> Table:
    """The rows of an HR-system export; the content decides the format, not the file name.

    The part of the import that unpacks and decodes the file: run in a bounded child for
    uploads (:mod:`import_reading`). Needs no app context: its errors are lazy strings, put
    into the reader's language where they are shown. Raises ImportFileError.
    """
    if not data.strip():
        raise ImportFileError(_l("Filen är tom."))
    if data.startswith(_XLSX_MAGIC):
        with closing(_xlsx_rows(data)) as rows:
            return Table(_kept(rows, max_rows), encoding="xlsx", delimiter=None)
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise ImportFileError(
                _l(
                    "Filen är skyddad med lösenord. Spara den utan lösenord som .xlsx eller "
                    "CSV och försök igen."
                )
            )
        raise ImportFileError(
            _l(
                "Filen är i det gamla Excel-formatet (.xls). Spara den som .xlsx eller CSV "
                "och försök igen."
            )
        )
    if b"\x00" in data:
        raise _not_a_table()
    text, encoding = _decode(data)
    if not text.strip():
        raise ImportFileError(_l("Filen är tom."))
    delimiter = _pick_delimiter(text)
    with closing(_csv_rows(text, delimiter)) as rows:
        return Table(_kept(rows, max_rows), encoding=encoding, delimiter=delimiter)


def check_table(table: Table, *, max_rows: int = 50_000) -> ParsedFile:
    """Check every row of a file read by :func:`read_table`. Raises ImportFileError when the
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
