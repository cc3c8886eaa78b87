"""Who may take over whose account: the one rule for every way of changing people.

Whoever can change a person's e-mail address can ask for a password reset at the new address
and sign in as them; whoever can set an end date can lock them out. So those changes, and
deactivation, are refused unless the actor holds every role the person holds, as widely. Every
way of changing people asks this module before it writes: the person form
(:mod:`..employees`), the HR import (:mod:`...imports.planning`, the row is
rejected with the reason), and any future one (SCIM, an API) must too.

The rule, for a change of e-mail, end date or employment status (deactivation or return):

- nobody signed in (the command line, the scheduler's leaver job, run by the operator) and
  an admin may change anyone;
- anyone else may change a person only if every role the person holds is one the actor
  holds too, over at least the same people:

  ======================================  ===================================================
  the person's role                       held by the actor as
  ======================================  ===================================================
  admin                                   never (only an admin changes an admin)
  coordinator of the region               coordinator of the region
  coordinator of municipality M           coordinator of M or of the region
  HR of municipality M                    HR of M
  manager of unit U                       manager of U
  ======================================  ===================================================

  A role the actor does not hold is refused even where the actor's own role reads the same
  people (HR of M and a manager in M): an account is a way in that its owner alone answers
  for, and a manager's or a coordinator's sign-in may open doors that HR's does not (their
  own mails, their grants). HR asks an admin, who changes anyone. A person with no role is
  the actor's to change whenever the actor may manage them at all
  (:func:`scope.employee_scope`).

Other fields (name, unit, hire date) are left to the scope rule: they grant nobody anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker.models import Employee, Municipality, Role, RoleGrant, Unit


@dataclass(frozen=True)
class Reach:
    """One role grant with where it reaches: the unit's municipality for a manager."""

    role: Role
    municipality_id: int | None
    unit_id: int | None
    unit_municipality_id: int | None = None


def reach_of(grant: RoleGrant) -> Reach:
    unit_municipality_id = grant.unit.municipality_id if grant.unit is not None else None
    return Reach(grant.role, grant.municipality_id, grant.unit_id, unit_municipality_id)


def reaches_of(session: Session, employee_ids: Iterable[int]) -> dict[int, list[Reach]]:
    """The role grants of these people, by person (one query; people without a role are left
    out)."""
    ids = sorted(set(employee_ids))
    found: dict[int, list[Reach]] = {}
    for start in range(0, len(ids), 900):
        rows = session.execute(
            sa.select(
                RoleGrant.employee_id,
                RoleGrant.role,
                RoleGrant.municipality_id,
                RoleGrant.unit_id,
                Unit.municipality_id,
            )
            .outerjoin(Unit, Unit.id == RoleGrant.unit_id)
            .where(RoleGrant.employee_id.in_(ids[start : start + 900]))
        )
        for employee_id, role, municipality_id, unit_id, unit_municipality_id in rows:
            found.setdefault(employee_id, []).append(
                Reach(role, municipality_id, unit_id, unit_municipality_id)
            )
    return found


def _covers(held: Reach, wanted: Reach) -> bool:
    """Whether the actor's ``held`` role is ``wanted``'s role over at least its people."""
    if held.role == Role.ADMIN:
        return True
    if held.role != wanted.role:
        return False
    if wanted.role in (Role.COORDINATOR, Role.ORGANISER):
        # The region covers every municipality; a municipality only itself.
        return held.municipality_id is None or held.municipality_id == wanted.municipality_id
    if wanted.role == Role.HR:
        return held.municipality_id == wanted.municipality_id
    if wanted.role == Role.MANAGER:
        return held.unit_id == wanted.unit_id
    return False


def wider_roles(actor_reach: Iterable[Reach], target_reach: Iterable[Reach]) -> list[Reach]:
    """The target's roles that reach beyond every role of the actor (empty: none)."""
    held = list(actor_reach)
    return [wanted for wanted in target_reach if not any(_covers(h, wanted) for h in held)]


def _describe(session: Session, reach: Reach) -> str:
    if reach.role == Role.ADMIN:
        return reach.role.label
    if reach.unit_id is not None:
        unit = session.get(Unit, reach.unit_id)
        return f"{reach.role.label}, {unit.name if unit else ''}"
    if reach.municipality_id is not None:
        municipality = session.get(Municipality, reach.municipality_id)
        return f"{reach.role.label}, {municipality.name if municipality else ''}"
    return f"{reach.role.label}, {_('hela regionen')}"


def refusal(
    session: Session, actor: Employee | None, target_reach: Iterable[Reach], *, row: bool = False
) -> str | None:
    """Why ``actor`` may not change the e-mail, end date or status of a person holding
    ``target_reach``; None when they may. ``row`` words it for an import row's reason."""
    if actor is None:
        return None
    wider = wider_roles((reach_of(grant) for grant in actor.role_grants), target_reach)
    if not wider:
        return None
    roles = "; ".join(sorted({_describe(session, reach) for reach in wider}))
    if row:
        return _(
            "personen har en roll som når längre än din (%(roles)s); bara en administratör "
            "kan ändra e-postadress eller slutdatum",
            roles=roles,
        )
    return _(
        "Du kan inte ändra e-postadress, slutdatum eller anställning för den här personen: "
        "hen har en roll som når längre än din egen (%(roles)s). Be en administratör att "
        "göra ändringen.",
        roles=roles,
    )


def refusals(
    session: Session, actor: Employee | None, employee_ids: Iterable[int], *, row: bool = False
) -> dict[int, str]:
    """:func:`refusal` for many people at once (an import): the reason by person refused."""
    if actor is None:
        return {}
    found = reaches_of(session, employee_ids)
    reasons = {i: refusal(session, actor, reach, row=row) for i, reach in found.items()}
    return {i: reason for i, reason in reasons.items() if reason is not None}


def may_change_account(session: Session, actor: Employee | None, target: Employee) -> str | None:
    """Why ``actor`` may not change ``target``'s e-mail, end date or status (the message for
    the user), or None when they may. See the module docstring for the rule."""
    return refusal(session, actor, [reach_of(grant) for grant in target.role_grants])
