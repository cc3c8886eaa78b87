"""An uploaded HR export is read once, in a bounded child, and its cells kept for the preview.

Reading (unzipping an XLSX, parsing its XML, decoding a CSV) is the part of an import whose
work a hostile or broken file can blow up; it runs in a child process held to the
IMPORT_READ_* limits (:mod:`bounded_reading`), after a check of the sizes the XLSX's zip
directory declares (:mod:`import_parsing`). The cells it returns are stored with the batch as
JSON, and the preview pages and the confirmation check those, never the file again.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from training_tracker.services.core import bounded_reading
from training_tracker.services.core.bounded_reading import Limits
from training_tracker.services.imports.parsing import Cell, ImportFileError, Table, read_table

_VERSION = 1


def read_upload(data: bytes, *, max_rows: int, limits: Limits) -> Table:
    """The table of an uploaded file; raises ImportFileError, also when a limit stopped it."""
    try:
        return bounded_reading.run(read_table, data, max_rows=max_rows, limits=limits)
    except bounded_reading.LimitExceeded:
        raise ImportFileError(
            _(
                "Filen kunde inte läsas: den tog för lång tid eller för mycket minne att "
                "packa upp. Kontrollera att det är en vanlig export från HR-systemet, eller "
                "dela upp den i mindre filer."
            )
        ) from None


def _cell_json(cell: Cell) -> str | dict[str, str]:
    return {"date": cell.isoformat()} if isinstance(cell, date) else cell


def _cell(value: Any) -> Cell:
    return date.fromisoformat(value["date"]) if isinstance(value, dict) else str(value)


def table_to_json(table: Table) -> dict[str, Any]:
    return {
        "version": _VERSION,
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        "rows": [[line, [_cell_json(cell) for cell in cells]] for line, cells in table.rows],
    }


def table_from_json(stored: dict[str, Any] | None) -> Table:
    """The table stored by :func:`table_to_json`; raises ImportFileError when there is none
    (a batch uploaded before tables were kept, or emptied by the retention job)."""
    if not stored or stored.get("version") != _VERSION:
        raise ImportFileError(_("Filen finns inte längre sparad. Ladda upp den igen."))
    return Table(
        rows=[(int(line), [_cell(value) for value in cells]) for line, cells in stored["rows"]],
        encoding=stored["encoding"],
        delimiter=stored["delimiter"],
    )
