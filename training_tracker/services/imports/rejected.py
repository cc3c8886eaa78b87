"""The rows an import rejected, handed back as a file to fix and upload again.

At confirmation :func:`.batches.remember_rejections` keeps each rejected row's line and
reasons with the batch's cells; :func:`rejected_rows` puts them back together with the rows
as the file had them: the header as written plus a last column with the reasons, so that HR
can correct the cells and upload the file again (the import does not read that column). A
personnummer column is left out and a personnummer anywhere else masked: the tracker never
repeats one. Nothing is left to hand back once the retention job has emptied the cells.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from training_tracker.models import ImportBatch, ImportStatus
from training_tracker.services.core.spreadsheets import CellValue, Sheet
from training_tracker.services.imports.batches import table_from_json
from training_tracker.services.imports.personnummer import (
    is_personnummer_header,
    mask_personnummer,
)
from training_tracker.services.imports.table import Cell, ImportFileError
from training_tracker.services.imports.values import cell_text

__all__ = ["Rejection", "has_rejected_rows", "rejected_rows", "rejections", "was_xlsx"]


def _reasons(batch: ImportBatch) -> list[Any] | None:
    if batch.status != ImportStatus.APPLIED or not batch.cells:
        return None
    reasons = batch.cells.get("rejected")
    return reasons if isinstance(reasons, list) else None


def has_rejected_rows(batch: ImportBatch) -> bool:
    """The batch was applied with rejected rows, and they are still kept to hand back."""
    return bool(_reasons(batch))


@dataclass(frozen=True)
class Rejection:
    line: int
    column: str | None
    message: str


def rejections(batch: ImportBatch) -> list[Rejection]:
    """Why each rejected row was rejected, by line (no values: those are in the download)."""
    return [
        Rejection(int(line), str(column) if column else None, str(message))
        for line, column, message in _reasons(batch) or []
    ]


def was_xlsx(batch: ImportBatch) -> bool:
    """The upload was an Excel file, so the rows are offered as one too."""
    return bool(batch.cells) and (batch.cells or {}).get("encoding") == "xlsx"


def _cell(value: Cell) -> CellValue:
    return value if not isinstance(value, str) else mask_personnummer(value)


def rejected_rows(batch: ImportBatch) -> Sheet:
    """The rejected rows as the file had them, each with its reasons in a last column;
    raises :class:`ImportFileError` when there are none to hand back."""
    reasons = _reasons(batch)
    if not reasons:
        raise ImportFileError(_("Det finns inga avvisade rader att ladda ner."))
    table = table_from_json(batch.cells)
    header = table.rows[0][1]
    kept = [
        position
        for position, name in enumerate(header)
        if not is_personnummer_header(cell_text(name).strip("\ufeff \t\r\n"))
    ]
    why: dict[int, list[str]] = defaultdict(list)
    for line, column, message in reasons:
        why[int(line)].append(f"{column}: {message}" if column else str(message))
    rows: list[list[CellValue]] = []
    for line, cells in table.rows[1:]:
        if line not in why:
            continue
        padded = cells + [""] * (len(header) - len(cells))
        rows.append([_cell(padded[position]) for position in kept] + ["; ".join(why[line])])
    return Sheet(
        title=_("Avvisade rader"),
        header=[cell_text(header[position]).strip("\ufeff") for position in kept]
        + [_("Orsak till att raden avvisades")],
        rows=rows,
    )
