"""Units (enheter) per municipality, each with the sector its rules follow."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker.models import Employee, Sector, Unit
from training_tracker.services import audit
from training_tracker.services.assignments import recompute_assignments


class UnitError(ValueError):
    pass


def _clean_name(name: str) -> str:
    return " ".join(name.split())


def _check_unique(session: Session, municipality_id: int, name: str, unit_id: int | None) -> None:
    query = sa.select(Unit.id).where(
        Unit.municipality_id == municipality_id, sa.func.lower(Unit.name) == name.lower()
    )
    if unit_id is not None:
        query = query.where(Unit.id != unit_id)
    if session.scalar(query) is not None:
        raise UnitError(_("Det finns redan en enhet som heter %(name)s i kommunen.", name=name))


def create_unit(
    session: Session, *, municipality_id: int, name: str, sector: Sector, actor: Employee | None
) -> Unit:
    name = _clean_name(name)
    if not name:
        raise UnitError(_("Enheten måste ha ett namn."))
    _check_unique(session, municipality_id, name, None)
    unit = Unit(municipality_id=municipality_id, name=name, sector=sector)
    session.add(unit)
    session.flush()
    audit.record(
        session,
        "unit.created",
        actor=actor,
        object_type="unit",
        object_id=unit.id,
        after={"name": name, "sector": sector.value, "municipality_id": municipality_id},
    )
    return unit


def update_unit(
    session: Session, unit: Unit, *, name: str, sector: Sector, active: bool, actor: Employee | None
) -> None:
    """Rename a unit or change its sector; a new sector changes what its staff must take."""
    name = _clean_name(name)
    if not name:
        raise UnitError(_("Enheten måste ha ett namn."))
    _check_unique(session, unit.municipality_id, name, unit.id)
    before = {"name": unit.name, "sector": unit.sector.value, "active": unit.active}
    unit.name, unit.sector, unit.active = name, sector, active
    after = {"name": unit.name, "sector": unit.sector.value, "active": unit.active}
    if before == after:
        return
    audit.record(
        session,
        "unit.updated",
        actor=actor,
        object_type="unit",
        object_id=unit.id,
        before=before,
        after=after,
    )
    if before["sector"] != after["sector"]:
        recompute_assignments(session, Employee.unit_id == unit.id)
