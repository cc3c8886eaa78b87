"""Granting and revoking roles with their scope."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from training_tracker.models import Employee, Municipality, Role, RoleGrant, Unit
from training_tracker.services.core import audit_trail
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import Access, visible_employees


class RoleError(FieldError):
    """A grant that does not make sense; the message is for the user."""

    default_field = "role"


class UnknownPersonError(RoleError):
    """No one the actor may manage has that e-mail address."""

    default_field = "email"


def grant_role(
    session: Session,
    *,
    actor: Employee | None,
    employee: Employee,
    role: Role,
    municipality: Municipality | None = None,
    unit: Unit | None = None,
) -> RoleGrant:
    """Grant ``role`` with its scope. Granting what the person already has changes nothing."""
    if role == Role.MANAGER:
        if unit is None:
            raise RoleError(_("En chef måste ha en enhet."))
        municipality = None
    elif role == Role.HR:
        if municipality is None:
            raise RoleError(_("HR måste ha en kommun."))
        unit = None
    elif role in (Role.COORDINATOR, Role.ORGANISER):
        unit = None  # no municipality: of the whole region
    else:
        municipality = unit = None
    existing = session.scalars(
        sa.select(RoleGrant).where(
            RoleGrant.employee_id == employee.id,
            RoleGrant.role == role,
            RoleGrant.municipality_id.is_(None)
            if municipality is None
            else RoleGrant.municipality_id == municipality.id,
            RoleGrant.unit_id.is_(None) if unit is None else RoleGrant.unit_id == unit.id,
        )
    ).first()
    if existing is not None:
        return existing
    grant = RoleGrant(
        employee=employee,
        role=role,
        municipality_id=municipality.id if municipality else None,
        unit_id=unit.id if unit else None,
        granted_by_id=actor.id if actor else None,
    )
    session.add(grant)
    session.flush()
    audit_trail.record(
        session,
        "roles.granted",
        actor=actor,
        subject=employee,
        object_type="role_grant",
        object_id=grant.id,
        role=role.value,
        municipality_id=grant.municipality_id,
        unit_id=grant.unit_id,
    )
    return grant


def grant_role_by_email(
    session: Session,
    *,
    actor: Employee,
    email: str,
    role: Role,
    municipality_id: int | None,
    unit_id: int | None,
) -> RoleGrant:
    """Grant ``role`` to the person with ``email``, found among those ``actor`` may manage."""
    employee = session.scalars(
        visible_employees(actor, Access.MANAGE).where(Employee.email == normalise_email(email))
    ).one_or_none()
    if employee is None:
        raise UnknownPersonError(_("Det finns ingen person med den e-postadressen."))
    return grant_role(
        session,
        actor=actor,
        employee=employee,
        role=role,
        municipality=session.get(Municipality, municipality_id) if municipality_id else None,
        unit=session.get(Unit, unit_id) if unit_id else None,
    )


def list_grants(session: Session) -> list[RoleGrant]:
    return list(
        session.scalars(
            sa.select(RoleGrant)
            .join(RoleGrant.employee)
            .options(
                selectinload(RoleGrant.employee),
                selectinload(RoleGrant.municipality),
                selectinload(RoleGrant.unit),
            )
            .order_by(Employee.last_name, Employee.first_name, RoleGrant.role)
        )
    )


def revoke_refusal(session: Session, *, actor: Employee, grant: RoleGrant) -> str | None:
    """Why ``actor`` may not revoke ``grant``, in words; None when they may. The confirmation
    page says it before anyone asks, and :func:`revoke_role` refuses with it."""
    if grant.role == Role.ADMIN and grant.employee_id == actor.id:
        others = session.scalar(
            sa.select(sa.func.count(RoleGrant.id)).where(
                RoleGrant.role == Role.ADMIN, RoleGrant.employee_id != actor.id
            )
        )
        if not others:
            return _("Du kan inte ta bort den sista administratören.")
    return None


def revoke_role(session: Session, *, actor: Employee, grant: RoleGrant) -> None:
    refusal = revoke_refusal(session, actor=actor, grant=grant)
    if refusal:
        raise RoleError(refusal)
    audit_trail.record(
        session,
        "roles.revoked",
        actor=actor,
        subject=grant.employee,
        object_type="role_grant",
        object_id=grant.id,
        role=grant.role.value,
        municipality_id=grant.municipality_id,
        unit_id=grant.unit_id,
    )
    session.delete(grant)
    session.flush()


def describe_scope(grant: RoleGrant) -> str:
    if grant.role == Role.ADMIN:
        return _("alla kommuner")
    if grant.unit is not None:
        return grant.unit.name
    if grant.municipality is not None:
        return grant.municipality.name
    return _("hela regionen")
