"""Units (enheter) per municipality, each with the sector its rules follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session, selectinload

from training_tracker import clock
from training_tracker.models import Employee, Municipality, Sector, Unit
from training_tracker.services.core import audit_trail
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import municipality_clause
from training_tracker.services.training.assignments import (
    AssignmentChanges,
    employed_on,
    recompute_assignments,
)

NAME_MAX = 200  # the column's length


class UnitError(FieldError):
    """A change to a unit that cannot be made; most concern its name."""

    default_field = "name"


@dataclass
class UnitRow:
    unit: Unit
    active_employees: int


@dataclass
class UnitUpdate:
    """What changed ({field: [before, after]}) and, after a new sector, how the staff's
    assignments changed."""

    changes: dict[str, list[Any]] = field(default_factory=dict)
    assignments: AssignmentChanges | None = None


def _clean_name(name: str) -> str:
    return " ".join((name or "").split())


def _check_name(session: Session, municipality_id: int, name: str, unit_id: int | None) -> None:
    if not name:
        raise UnitError(_("Enheten måste ha ett namn."))
    if len(name) > NAME_MAX:
        raise UnitError(_("Namnet får vara högst %(max)d tecken.", max=NAME_MAX))
    query = sa.select(Unit.id).where(
        Unit.municipality_id == municipality_id, sa.func.lower(Unit.name) == name.lower()
    )
    if unit_id is not None:
        query = query.where(Unit.id != unit_id)
    if session.scalar(query) is not None:
        raise UnitError(_("Det finns redan en enhet som heter %(name)s i kommunen.", name=name))


def municipalities_of(session: Session, user: Employee) -> list[Municipality]:
    """The municipalities whose units and staff ``user`` manages, by name."""
    return list(
        session.scalars(
            sa.select(Municipality)
            .where(municipality_clause(user, Municipality.id))
            .order_by(Municipality.name)
        )
    )


def unit_in_scope(session: Session, user: Employee, unit_id: int) -> Unit | None:
    """The unit if ``user`` manages its municipality; None otherwise (callers answer 404)."""
    return session.scalars(
        sa.select(Unit)
        .where(Unit.id == unit_id, municipality_clause(user, Unit.municipality_id))
        .options(selectinload(Unit.municipality))
    ).one_or_none()


def active_employee_count(session: Session, unit: Unit, *, today: date | None = None) -> int:
    today = today or clock.today()
    return (
        session.scalar(
            sa.select(sa.func.count()).where(Employee.unit_id == unit.id, employed_on(today))
        )
        or 0
    )


def unit_overview(session: Session, user: Employee, *, today: date | None = None) -> list[UnitRow]:
    """The units ``user`` manages, by municipality and name, each with how many people are
    employed there today (one query for the counts)."""
    today = today or clock.today()
    units = session.scalars(
        sa.select(Unit)
        .join(Municipality)
        .where(municipality_clause(user, Unit.municipality_id))
        .options(selectinload(Unit.municipality))
        .order_by(Municipality.name, Unit.name)
    ).all()
    counts: dict[int | None, int] = dict(
        session.execute(
            sa.select(Employee.unit_id, sa.func.count())
            .where(Employee.unit_id.in_([u.id for u in units]), employed_on(today))
            .group_by(Employee.unit_id)
        )
        .tuples()
        .all()
    )
    return [UnitRow(unit, counts.get(unit.id, 0)) for unit in units]


def create_unit(
    session: Session, *, municipality_id: int, name: str, sector: Sector, actor: Employee | None
) -> Unit:
    name = _clean_name(name)
    if session.get(Municipality, municipality_id) is None:
        raise UnitError(_("Välj en kommun."), "municipality")
    _check_name(session, municipality_id, name, None)
    unit = Unit(municipality_id=municipality_id, name=name, sector=sector)
    session.add(unit)
    session.flush()
    audit_trail.record(
        session,
        "unit.created",
        actor=actor,
        object_type="unit",
        object_id=unit.id,
        after={"name": name, "sector": sector.value, "municipality_id": municipality_id},
    )
    return unit


def update_unit(
    session: Session,
    unit: Unit,
    *,
    name: str,
    sector: Sector,
    active: bool,
    actor: Employee | None,
    today: date | None = None,
) -> UnitUpdate:
    """Rename a unit, change its sector (which changes what its staff must take: their
    assignments are recomputed at once) or deactivate it (only once nobody works there)."""
    today = today or clock.today()
    name = _clean_name(name)
    _check_name(session, unit.municipality_id, name, unit.id)
    if unit.active and not active and (staff := active_employee_count(session, unit, today=today)):
        raise UnitError(
            ngettext(
                "%(num)d person arbetar på enheten. Flytta hen till en annan enhet innan du "
                "avvecklar den.",
                "%(num)d personer arbetar på enheten. Flytta dem till en annan enhet innan du "
                "avvecklar den.",
                staff,
            ),
            "active",
        )
    before = {"name": unit.name, "sector": unit.sector.value, "active": unit.active}
    unit.name, unit.sector, unit.active = name, sector, active
    after = {"name": unit.name, "sector": unit.sector.value, "active": unit.active}
    result = UnitUpdate(
        changes={key: [before[key], after[key]] for key in before if before[key] != after[key]}
    )
    if not result.changes:
        return result
    audit_trail.record(
        session,
        "unit.updated",
        actor=actor,
        object_type="unit",
        object_id=unit.id,
        before=before,
        after=after,
    )
    if "sector" in result.changes:
        result.assignments = recompute_assignments(
            session, Employee.unit_id == unit.id, today=today
        )
    return result
