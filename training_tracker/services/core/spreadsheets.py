"""Reports as files: CSV for Swedish Excel and XLSX with a sheet per view.

The caller builds :class:`Sheet` objects from the same query the page shows, so the numbers in
the file are the numbers on the screen; this module only writes them. It knows nothing of Flask,
the database or translations: titles, headers and definitions arrive already in the user's
language.

Formula injection (OWASP "CSV Injection", ASVS 1.2.10): every *text* cell that begins with
``=``, ``+``, ``-``, ``@``, tab, carriage return, line feed or NUL, also after leading
whitespace, is prefixed with ``'``. Numbers and dates are never text, so a negative number stays
a number. In XLSX, text cells are moreover always written as strings, never as formulas or
error values, whatever they start with.

Decisions, for the caller:

- CSV is UTF-8 with a BOM, ``;`` between fields and CRLF between records, which is what
  Excel with Swedish regional settings opens as a table on a double-click. Fields are quoted
  only when needed (``;``, ``"`` or a line break inside), as the ``csv`` module does.
- CSV numbers: integers plainly, decimals with a decimal comma (``12,5``), which Swedish Excel
  reads as a number; dates as ``yyyy-mm-dd`` (the Swedish short date format, so Excel reads
  them as dates); ``None`` as an empty field.
- One table per CSV file. A sheet's notes are *not* written to CSV, so that the file stays one
  clean table for Excel, Power Query and other programs; the XLSX carries notes and
  definitions.
- XLSX: one worksheet per sheet (notes below the table after an empty row), an optional
  definitions sheet last, document title and creator set, and byte-for-byte the same output
  for the same input and ``generated`` time.
- Control characters that XLSX cannot hold (all below U+0020 except tab, LF and CR) are
  removed from text in both formats, so CSV and XLSX carry the same text; in XLSX, line
  breaks inside a cell are LF, as Excel writes them.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet


CellValue = str | int | float | Decimal | date | None

CREATOR = "Utbildningsuppföljning"
DEFINITIONS_TITLE = "Definitioner"

# OWASP's list (= + - @ tab CR LF) plus NUL, which ASVS 1.2.10 adds.
_FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\0")
# What XML 1.0, and so XLSX, cannot hold; openpyxl refuses such text with an error.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Looked through before the first character is judged: whitespace, control characters and the
# invisible zero-width ones, any of which a cleanup step may remove.
_LEADING_BLANKS = re.compile(r"^[\s\x00-\x1f\u200b-\u200d\u2060\ufeff]+")

_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_MIN_WIDTH = 8
_MAX_WIDTH = 60
_DEFINITIONS_WIDTH = 100
_SHEET_TITLE_MAX = 31
_SHEET_TITLE_ILLEGAL = re.compile(r"[\[\]:*?/\\]")
# Zip entries get this fixed time, so the same workbook gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_CORE_PROPERTIES = "docProps/core.xml"
_ASCII_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "æ": "ae", "ø": "o", "ß": "ss"})


@dataclass(frozen=True)
class Sheet:
    """One table: a title, a header row, data rows and lines of explanation.

    Cells are text, whole numbers, decimals (``float`` or ``Decimal``), dates (naive
    datetimes too) or ``None`` for an empty cell. Booleans are refused: say "Ja"/"Nej" in the
    caller's language instead.
    """

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[CellValue]]
    notes: Sequence[str] = ()

    def __post_init__(self) -> None:
        width = len(self.header)
        for number, row in enumerate(self.rows, start=1):
            if len(row) != width:
                raise ValueError(
                    f"Sheet {self.title!r}: row {number} has {len(row)} cells, "
                    f"the header has {width}"
                )


def neutralise(value: str) -> str:
    """``value`` with a leading ``'`` if a spreadsheet could take it for a formula.

    Leading whitespace is looked through: " =1+1" is neutralised too, because importers
    (LibreOffice's "trim spaces", Power Query, TRIM) may remove the space and leave a formula.
    The apostrophe is what OWASP recommends; Excel shows it in a CSV cell, which is the price
    of safety. Applying it twice changes nothing more, as ``'`` is no trigger.
    """
    first = _LEADING_BLANKS.sub("", value)[:1]
    if value[:1] in _FORMULA_TRIGGERS or first in _FORMULA_TRIGGERS:
        return "'" + value
    return value


def _safe_text(value: object) -> str:
    """Text fit for a cell in either format: illegal controls removed, then neutralised."""
    return neutralise(_XLSX_ILLEGAL.sub("", str(value)))


def _check_value(value: object) -> CellValue:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise TypeError("Booleans are not exported; pass the words to show instead")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            raise ValueError(f"Cannot export the number {value!r}")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError("Datetimes must be naive (local time) to be exported")
        return value
    if isinstance(value, date):
        return value
    raise TypeError(f"Cannot export a {type(value).__name__}: {value!r}")


# --- CSV ---------------------------------------------------------------------------------


def _csv_field(value: object) -> str:
    value = _check_value(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return _safe_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return value.isoformat()


def to_csv(sheet: Sheet) -> bytes:
    """The sheet's table as CSV for Swedish Excel; the title and notes are left out."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([_safe_text(title) for title in sheet.header])
    writer.writerows([_csv_field(value) for value in row] for row in sheet.rows)
    return buffer.getvalue().encode("utf-8-sig")


# --- XLSX --------------------------------------------------------------------------------


def sheet_titles(titles: Iterable[str]) -> list[str]:
    """Worksheet names Excel accepts, in order: no ``[]:*?/\\``, at most 31 characters, no
    leading or trailing apostrophe, not empty, and unique regardless of case."""
    taken = {"history"}  # Excel keeps this name for itself
    result = []
    for title in titles:
        base = _SHEET_TITLE_ILLEGAL.sub("-", _XLSX_ILLEGAL.sub("", str(title))).strip(" '")
        base = base[:_SHEET_TITLE_MAX].strip(" '") or "Blad"
        candidate, number = base, 1
        while candidate.casefold() in taken:
            number += 1
            suffix = f" ({number})"
            candidate = base[: _SHEET_TITLE_MAX - len(suffix)].rstrip(" '") + suffix
        taken.add(candidate.casefold())
        result.append(candidate)
    return result


def _write_cell(worksheet: Worksheet, row: int, column: int, value: object) -> int:
    """Put one value in a cell; returns the width its text needs."""
    value = _check_value(value)
    cell = worksheet.cell(row=row, column=column)
    if value is None:
        return 0
    if isinstance(value, str):
        # Excel breaks lines in a cell with LF; XML would turn a bare CR into LF anyway.
        text = _safe_text(value).replace("\r\n", "\n").replace("\r", "\n")
        cell.value = text
        # openpyxl makes "=…" a formula and "#N/A" an error; text must stay text.
        cell.data_type = "s"
        return max((len(line) for line in text.splitlines()), default=0)
    cell.value = value
    if isinstance(value, datetime):
        cell.number_format = _DATETIME_FORMAT
        return len(_DATETIME_FORMAT)
    if isinstance(value, date):
        cell.number_format = _DATE_FORMAT
        return len(_DATE_FORMAT)
    return len(str(value))


def _set_width(worksheet: Worksheet, column: int, width: int) -> None:
    from openpyxl.utils import get_column_letter  # late: see to_xlsx

    width = min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH)
    worksheet.column_dimensions[get_column_letter(column)].width = width


def _write_sheet(worksheet: Worksheet, sheet: Sheet) -> None:
    from openpyxl.styles import Font  # late: see to_xlsx
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    widths = [0] * len(sheet.header)
    for column, title in enumerate(sheet.header, start=1):
        widths[column - 1] = _write_cell(worksheet, 1, column, str(title))
        worksheet.cell(row=1, column=column).font = bold
    for row_number, row in enumerate(sheet.rows, start=2):
        for column, value in enumerate(row, start=1):
            needed = _write_cell(worksheet, row_number, column, value)
            widths[column - 1] = max(widths[column - 1], needed)
    for column, width in enumerate(widths, start=1):
        _set_width(worksheet, column, width)
    if sheet.header:
        worksheet.freeze_panes = "A2"
        last = get_column_letter(len(sheet.header))
        worksheet.auto_filter.ref = f"A1:{last}{len(sheet.rows) + 1}"
    # Notes go below the table, after an empty row, so that row 1 stays the header.
    first_note = len(sheet.rows) + 3
    for offset, note in enumerate(sheet.notes):
        _write_cell(worksheet, first_note + offset, 1, str(note))


def _write_definitions(worksheet: Worksheet, definitions: Sequence[str]) -> None:
    from openpyxl.styles import Alignment  # late: see to_xlsx

    wrap = Alignment(wrap_text=True, vertical="top")
    for row, line in enumerate(definitions, start=1):
        _write_cell(worksheet, row, 1, str(line))
        worksheet.cell(row=row, column=1).alignment = wrap
    worksheet.column_dimensions["A"].width = _DEFINITIONS_WIDTH


def _stable_zip(data: bytes, core_properties: bytes) -> bytes:
    """The same package with fixed entry times and our own core properties.

    openpyxl stamps the save time on every zip entry and as the "modified" property; both are
    replaced so that the same report gives the same bytes.
    """
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = source.read(info)
            if info.filename == _ZIP_CORE_PROPERTIES:
                content = core_properties
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


def to_xlsx(
    sheets: Sequence[Sheet],
    *,
    definitions: Sequence[str] = (),
    definitions_title: str = DEFINITIONS_TITLE,
    title: str = "",
    generated: datetime | None = None,
) -> bytes:
    """An Excel workbook: one worksheet per sheet, then the definitions if there are any.

    ``title`` is the document title (default: the first sheet's title); ``generated`` (naive
    UTC, default now) is stored as created and modified time. Pass it to get identical bytes
    for identical input.
    """
    if not sheets and not definitions:
        raise ValueError("A workbook needs at least one sheet")
    # Late: openpyxl costs about 0.1 s of CPU to import, which only an XLSX export needs,
    # not every process that starts the app.
    from openpyxl import Workbook
    from openpyxl.xml.functions import tostring

    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # the empty sheet a new workbook starts with
    names = [sheet.title for sheet in sheets]
    if definitions:
        names.append(definitions_title)
    titles = sheet_titles(names)
    for sheet, sheet_title in zip(sheets, titles, strict=False):
        _write_sheet(workbook.create_sheet(sheet_title), sheet)
    if definitions:
        _write_definitions(workbook.create_sheet(titles[-1]), definitions)

    if generated is None:
        generated = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    elif generated.tzinfo is not None:
        generated = generated.astimezone(UTC).replace(tzinfo=None)
    properties = workbook.properties
    properties.title = _XLSX_ILLEGAL.sub("", title or (sheets[0].title if sheets else ""))
    properties.creator = CREATOR
    properties.lastModifiedBy = CREATOR
    properties.created = generated
    properties.modified = generated

    buffer = io.BytesIO()
    workbook.save(buffer)
    properties.modified = generated  # save() stamps the current time
    return _stable_zip(buffer.getvalue(), tostring(properties.to_tree()))


# --- File names --------------------------------------------------------------------------


def export_filename(stem: str, as_of: date, extension: str) -> str:
    """An ASCII file name such as ``tackning-2026-11-24.csv``, safe in any header or OS.

    å, ä and ö become a, a and o; other accents are dropped; anything else that is not a
    letter or digit becomes a single ``-``.
    """
    extension = extension.lstrip(".").lower()
    if not extension.isascii() or not extension.isalnum():
        raise ValueError(f"Not a file extension: {extension!r}")
    folded = unicodedata.normalize("NFKD", stem.lower().translate(_ASCII_FOLD))
    ascii_only = "".join(char for char in folded if char.isascii())
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:80].rstrip("-") or "export"
    return f"{slug}-{as_of.isoformat()}.{extension}"
