"""Which of a person's fields their municipality's directory manages over SCIM, so that other
ways in (the HR import) leave them to it rather than fight it: the directory would write its
own value back at its next sync, and the two would take turns overwriting each other.

A person is managed while the directory holds them (a link not released by a DELETE) and the
municipality has a token that is not revoked: revoking the last one hands everything back to
HR. The directory then manages what every sync sends and overwrites: names, e-mail, employee
number, manager, end date (``active``) and municipality; the unit only where the directory's
department names one of the municipality's units (otherwise the unit is HR's to choose), and
the hire date only where the token reads one and the directory sent it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker.models import ScimLink, ScimToken, Unit
from training_tracker.services.people.scim.attributes import ENTERPRISE_URN, read_date

__all__ = ["ALWAYS_MANAGED", "directory_managed", "provisioned_municipalities"]

# What every create, replace and patch sets, from what the directory sent or left out.
ALWAYS_MANAGED = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "municipality_id",
        "employee_number",
        "manager_id",
        "end_date",
    }
)


def provisioned_municipalities(session: Session) -> set[int]:
    """The municipalities whose directory may provision now: with a token not revoked."""
    return set(
        session.scalars(
            sa.select(ScimToken.municipality_id).where(ScimToken.revoked_at.is_(None)).distinct()
        )
    )


def _unit_names(session: Session, municipality_ids: set[int]) -> set[tuple[int, str]]:
    """(municipality, lower-cased name) of the active units, as the mapping compares them."""
    return {
        (municipality_id, name.lower())
        for municipality_id, name in session.execute(
            sa.select(Unit.municipality_id, Unit.name).where(
                Unit.municipality_id.in_(municipality_ids), Unit.active
            )
        )
    }


def directory_managed(session: Session, employee_ids: Collection[int]) -> dict[int, frozenset[str]]:
    """For each of ``employee_ids`` the directory manages, the employee fields it manages (the
    names of :class:`~training_tracker.services.people.employees.EmployeeData`); the others are
    left out."""
    provisioned = provisioned_municipalities(session)
    if not provisioned or not employee_ids:
        return {}
    ids = sorted(set(employee_ids))
    links: list[tuple[int, int, dict[str, Any], str | None]] = []
    for start in range(0, len(ids), 900):
        links.extend(
            session.execute(
                sa.select(
                    ScimLink.employee_id,
                    ScimLink.municipality_id,
                    ScimLink.document,
                    ScimToken.hire_date_attribute,
                )
                .outerjoin(ScimToken, ScimToken.id == ScimLink.token_id)
                .where(
                    ScimLink.employee_id.in_(ids[start : start + 900]),
                    ScimLink.released_at.is_(None),
                    ScimLink.municipality_id.in_(provisioned),
                )
            ).tuples()
        )
    units = _unit_names(session, {municipality_id for _, municipality_id, _, _ in links})
    managed = {}
    for employee_id, municipality_id, document, hire_date_attribute in links:
        extension = (document or {}).get(ENTERPRISE_URN) or {}
        fields = set(ALWAYS_MANAGED)
        department = " ".join(str(extension.get("department") or "").split()).lower()
        if department and (municipality_id, department) in units:
            fields.add("unit_id")
        if hire_date_attribute and read_date(extension.get(hire_date_attribute)):
            fields.add("hire_date")
        managed[employee_id] = frozenset(fields)
    return managed
