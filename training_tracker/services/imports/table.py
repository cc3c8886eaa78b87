"""Reading an HR export's bytes (CSV or XLSX) into a :class:`Table` of cells.

The costly, risky part of an import: unzipping an XLSX, parsing its XML, decoding a CSV. For
uploads it runs in a bounded child (:mod:`.reading`), so it takes plain bytes, returns plain
data and needs no app context: its errors are lazy strings, put into the reader's language
where they are shown. The content decides the format, never the file name. What the cells
mean is checked afterwards, on the table (:mod:`.parsing`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import TypeAlias

from flask_babel import lazy_gettext as _l

__all__ = ["Cell", "ImportFileError", "Table", "read_table"]

MAX_VALUE_CHARS = 10_000  # one cell; longer means a broken file (often an unclosed quote)
MAX_XLSX_UNPACKED_BYTES = 300_000_000  # all parts of an XLSX, unpacked: guards against zip bombs

Cell: TypeAlias = str | date  # a stripped text, or a date cell of an XLSX


class ImportFileError(ValueError):
    """The whole file is unusable; the message says why, in words for the user."""


@dataclass
class Table:
    """The file's filled rows as read from its bytes, header first, each with its line: all
    :func:`.parsing.check_table` needs, so an upload is read once and its preview checks this."""

    rows: list[tuple[int, list[Cell]]]
    encoding: str  # "utf-8", "utf-8-sig", "cp1252" or "xlsx"
    delimiter: str | None  # ";" or ","; None for XLSX


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


def _csv_rows(text: str, delimiter: str) -> Generator[tuple[int, list[Cell]]]:
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


def _xlsx_rows(data: bytes) -> Generator[tuple[int, list[Cell]]]:
    """The rows of the first worksheet, numbered as in Excel."""
    _check_xlsx_size(data)
    try:
        # Late: openpyxl costs about 0.1 s of CPU to import, which only an XLSX file needs.
        import openpyxl

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


def _kept(rows: Iterator[tuple[int, list[Cell]]], max_rows: int) -> list[tuple[int, list[Cell]]]:
    """The filled rows: the header, at most ``max_rows`` data rows and one more, which tells
    :func:`.parsing.check_table` that the file has too many without reading them all."""
    return list(islice(((line, cells) for line, cells in rows if any(cells)), max_rows + 2))


def read_table(data: bytes, *, max_rows: int = 50_000) -> Table:
    """The rows of an HR-system export; the content decides the format, not the file name.

    The part of the import that unpacks and decodes the file: run in a bounded child for
    uploads (:mod:`.reading`). Raises ImportFileError.
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
