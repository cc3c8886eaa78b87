"""Municipalities and their units."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from training_tracker.extensions import Model
from training_tracker.models.enums import Sector, enum_type

if TYPE_CHECKING:
    from training_tracker.models.people import Employee

# A leaver's personal data is kept this long after the end date unless HR sets otherwise.
DEFAULT_RETENTION_MONTHS = 24


class Municipality(Model):
    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(4), unique=True)  # kommunkod, e.g. "0123"
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    # Whether reported-but-unverified completions count in coverage (shown separately anyway).
    count_reported_in_coverage: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    retention_months: Mapped[int] = mapped_column(
        default=DEFAULT_RETENTION_MONTHS, server_default=str(DEFAULT_RETENTION_MONTHS)
    )
    # Its people sign in through the municipality's identity provider only: no password
    # sign-in or reset for them (admins and system accounts keep theirs).
    sso_required: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    units: Mapped[list[Unit]] = relationship(back_populates="municipality", order_by="Unit.name")
    employees: WriteOnlyMapped[Employee] = relationship(back_populates="municipality")

    def __repr__(self) -> str:
        return f"<Municipality {self.code} {self.name}>"


class Unit(Model):
    """An enhet: every employee belongs to one; its sector decides the required courses."""

    __tablename__ = "units"
    __table_args__ = (sa.UniqueConstraint("municipality_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    sector: Mapped[Sector] = mapped_column(enum_type(Sector))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    municipality: Mapped[Municipality] = relationship(back_populates="units")
    employees: WriteOnlyMapped[Employee] = relationship(back_populates="unit")

    def __repr__(self) -> str:
        return f"<Unit {self.name}>"
