"""An uploaded import between upload and confirmation: the :class:`ImportBatch` that keeps the
file and the cells read from it, who may see it, and its preview, confirmation or discard.

The entry points of the web's import pages: :func:`receive_upload` reads the file once (in a
bounded child, :mod:`.reading`) and stores it with its cells as JSON; :func:`plan_batch`
checks and plans those cells for the preview, never the file again; :func:`confirm_batch`
claims the batch, plans it again under the import lock and applies it; :func:`discard_batch`
drops it with its personal data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from training_tracker.models import Employee, ImportBatch, ImportStatus, Sector
from training_tracker.services.core import audit_trail
from training_tracker.services.core.bounded_reading import Limits
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import managed_municipality_ids
from training_tracker.services.core.sql import execute_dml
from training_tracker.services.imports.applying import ImportResult, apply_import
from training_tracker.services.imports.parsing import check_table
from training_tracker.services.imports.plan import ImportPlan, UnknownUnits
from training_tracker.services.imports.planning import plan_import
from training_tracker.services.imports.reading import read_upload
from training_tracker.services.imports.table import Cell, ImportFileError, Table

__all__ = [
    "MissingSectors",
    "batch_in_scope",
    "claim_batch",
    "confirm_batch",
    "discard_batch",
    "plan_batch",
    "receive_upload",
    "remember_rejections",
    "store_upload",
    "table_from_json",
    "table_to_json",
]


class MissingSectors(FieldError):
    """HR chose to create the unknown units but left a new unit without a sector; ``field``
    names the first such unit's choice (``sector-`` and its :func:`.plan.unit_token`)."""


def receive_upload(
    session: Session,
    *,
    data: bytes,
    filename: str,
    user: Employee,
    municipality_id: int | None,
    max_bytes: int,
    max_rows: int,
    limits: Limits,
) -> ImportBatch:
    """Read an uploaded file (once, in a child held to ``limits``), check it and keep it with
    its cells for the preview; raises :class:`ImportFileError` (nothing stored) when it cannot
    be read at all."""
    if len(data) > max_bytes:
        raise ImportFileError(
            _("Filen är för stor (högst %(mb)d MB).", mb=max_bytes // (1024 * 1024))
        )
    managed = managed_municipality_ids(user)
    if managed is not None and municipality_id not in managed:
        raise ImportFileError(_("Du kan bara importera personal till din egen kommun."))
    table = read_upload(data, max_rows=max_rows, limits=limits)
    check_table(table, max_rows=max_rows)
    batch = store_upload(
        session,
        data=data,
        filename=filename,
        user=user,
        municipality_id=municipality_id,
        table=table,
    )
    audit_trail.record(
        session,
        "import.uploaded",
        actor=user,
        object_type="import_batch",
        object_id=batch.id,
        filename=batch.filename,
        size_bytes=batch.size_bytes,
    )
    return batch


def store_upload(
    session: Session,
    *,
    data: bytes,
    filename: str,
    user: Employee | None,
    municipality_id: int | None,
    table: Table,
) -> ImportBatch:
    batch = ImportBatch(
        municipality_id=municipality_id,
        uploaded_by_id=user.id if user else None,
        filename=filename[:255] or "import",
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        content=data,
        cells=table_to_json(table),
    )
    session.add(batch)
    session.flush()
    return batch


def batch_in_scope(session: Session, user: Employee, batch_id: int) -> ImportBatch | None:
    """An import the user may see and confirm: their own upload, into a municipality they
    manage (an admin: any)."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        return None
    managed = managed_municipality_ids(user)
    if managed is None:
        return batch
    if batch.municipality_id not in managed:
        return None
    return batch


def plan_batch(
    session: Session,
    batch: ImportBatch,
    *,
    user: Employee | None,
    unknown_units: UnknownUnits,
    unit_sectors: Mapping[str, Sector] | None = None,
    today: date | None = None,
    exclusive: bool = False,
) -> ImportPlan:
    """Check the cells read from the file at upload and plan them; raises
    :class:`ImportFileError`. The preview plans without the import lock; :func:`confirm_batch`
    takes it (``exclusive``)."""
    parsed = check_table(table_from_json(batch.cells))
    return plan_import(
        session,
        parsed,
        user=user,
        default_municipality_id=batch.municipality_id,
        unknown_units=unknown_units,
        unit_sectors=unit_sectors,
        today=today,
        exclusive=exclusive,
    )


def confirm_batch(
    session: Session,
    batch: ImportBatch,
    *,
    user: Employee,
    unknown_units: UnknownUnits,
    invite: bool,
    unit_sectors: Mapping[str, Sector] | None = None,
    today: date | None = None,
) -> ImportResult | None:
    """Plan the stored file again and write it, in the caller's transaction. None when another
    confirmation got there first (the claim is part of the same transaction, so a failure
    rolls it back too and the import can be confirmed again). Creating the unknown units
    needs a sector for each, from ``unit_sectors`` or the file: raises
    :class:`MissingSectors` (nothing written) when one has none. The rejected rows' reasons
    are kept with the cells, for the result page's download (:mod:`.rejected`)."""
    if not claim_batch(session, batch):
        return None
    plan = plan_batch(
        session,
        batch,
        user=user,
        unknown_units=unknown_units,
        unit_sectors=unit_sectors,
        today=today,
        exclusive=True,
    )
    if unknown_units == UnknownUnits.CREATE:
        missing = [unit for unit in plan.new_units if unit.sector is None]
        if missing:
            raise MissingSectors(
                ngettext(
                    "Välj en sektor för den nya enheten %(units)s.",
                    "Välj en sektor för var och en av de nya enheterna: %(units)s.",
                    len(missing),
                    units=", ".join(unit.name for unit in missing),
                ),
                field=f"sector-{missing[0].token}",
            )
    result = apply_import(session, plan, actor=user, invite=invite, batch=batch, today=today)
    remember_rejections(batch, plan)
    return result


def claim_batch(session: Session, batch: ImportBatch) -> bool:
    """Mark the batch as being applied, atomically: of two confirmations at once (a double
    click, two tabs), one wins and the other is told it was imported already."""
    claimed = execute_dml(
        session,
        sa.update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == ImportStatus.PREVIEWED)
        .values(status=ImportStatus.APPLYING)
        .execution_options(synchronize_session=False),
    )
    return claimed.rowcount == 1


def remember_rejections(batch: ImportBatch, plan: ImportPlan) -> None:
    """Keep why each rejected row was rejected (line, column, reason) with the cells, so that
    the result page can hand the rows back to be fixed (:mod:`.rejected`); it goes when the
    cells go."""
    if batch.cells is None:
        return
    reasons = [[problem.line, problem.column, problem.message] for problem in plan.problems]
    batch.cells = {**batch.cells, "rejected": reasons}  # a new dict: the JSON change is seen


def discard_batch(session: Session, batch: ImportBatch, *, actor: Employee) -> None:
    """Drop an import that will not be confirmed; the file's personal data goes with it."""
    batch.status = ImportStatus.DISCARDED
    batch.content = b""
    batch.cells = None
    audit_trail.record(
        session, "import.discarded", actor=actor, object_type="import_batch", object_id=batch.id
    )


# --- the cells kept with the batch -----------------------------------------------------------

_VERSION = 1  # of the stored cells; a batch stored otherwise must be uploaded again


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
