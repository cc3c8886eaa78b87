"""An uploaded HR-system export, kept between its preview and HR's confirmation."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from training_tracker import clock
from training_tracker.extensions import Model
from training_tracker.models.enums import enum_type


class ImportStatus(StrEnum):
    PREVIEWED = "previewed"  # parsed and shown; nothing written yet
    APPLYING = "applying"  # claimed by one confirmation, so a double click imports once
    APPLIED = "applied"
    DISCARDED = "discarded"


class ImportBatch(Model):
    """The file is stored, and the cells read from it at upload (``cells``), not the preview:
    confirming checks and plans the cells again in the transaction that writes, so what is
    written matches the database at that moment. The file is never read again after the
    upload. Kept in the database rather than on disk so that any web process can confirm it."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The municipality the importer chose for rows without one (HR: their own).
    municipality_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int]
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    # services.imports.batches.table_to_json; None once emptied (or uploaded before version 2).
    cells: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, deferred=True)
    status: Mapped[ImportStatus] = mapped_column(
        enum_type(ImportStatus), default=ImportStatus.PREVIEWED
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    applied_at: Mapped[datetime | None]
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
