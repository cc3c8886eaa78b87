"""The one place that decides what a user may see and change.

Every query for people or their records goes through :func:`employee_scope`; reports go
through :func:`report_scope`; the audit log through :func:`audit_event_scope`. Views never
filter by role themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from training_tracker.models import (
    AuditEvent,
    Employee,
    ImportBatch,
    ProgrammeEvent,
    RequirementRule,
    Role,
    RoleGrant,
    Unit,
)


class Access(StrEnum):
    VIEW = "view"  # see the person and their records
    VERIFY = "verify"  # verify or reject their completions
    MANAGE = "manage"  # enroll, edit, record on their behalf, handle leavers


def employee_scope(user: Employee, access: Access = Access.VIEW) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Employee` matching those ``user`` may reach with ``access``.

    - everyone sees themselves;
    - a manager sees and verifies the staff of their units and their direct reports;
    - HR sees, verifies and manages everyone of their municipality;
    - an admin reaches everyone;
    - coordinators read aggregates only (:func:`report_scope`), not people.
    """
    clauses: list[ColumnElement[bool]] = []
    if access == Access.VIEW:
        clauses.append(Employee.id == user.id)
    for grant in user.role_grants:
        if grant.role == Role.ADMIN:
            return sa.true()
        if grant.role == Role.HR and grant.municipality_id is not None:
            clauses.append(Employee.municipality_id == grant.municipality_id)
    if access in (Access.VIEW, Access.VERIFY) and user.has_role(Role.MANAGER):
        clauses.append(team_scope(user))
    return sa.or_(*clauses) if clauses else sa.false()


def team_scope(user: Employee) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Employee` matching a manager's own staff: the people of the
    units they manage and their direct reports (the manager too, when in such a unit), whatever
    other roles they hold. What the manager's start page summarises, and the manager's part of
    ``employee_scope`` (so always within it). Nobody, for someone who manages nothing."""
    if not user.has_role(Role.MANAGER):
        return sa.false()
    unit_ids = [
        grant.unit_id
        for grant in user.role_grants
        if grant.role == Role.MANAGER and grant.unit_id is not None
    ]
    return sa.or_(Employee.unit_id.in_(unit_ids), Employee.manager_id == user.id)


def managers_clause(person: Employee) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Employee` matching those whose :func:`team_scope` holds
    ``person``: the managers of their unit, and their own manager when that one holds the
    manager role. Not ``person`` themselves, and only the active."""
    of_unit = sa.select(RoleGrant.employee_id).where(
        RoleGrant.role == Role.MANAGER, RoleGrant.unit_id == person.unit_id
    )
    has_manager_role = sa.select(RoleGrant.employee_id).where(RoleGrant.role == Role.MANAGER)
    return sa.and_(
        Employee.active,
        Employee.id != person.id,
        sa.or_(
            Employee.id.in_(of_unit) if person.unit_id is not None else sa.false(),
            sa.and_(Employee.id == person.manager_id, Employee.id.in_(has_manager_role)),
        ),
    )


def hr_clause(municipality_id: int | None) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Employee` matching the active HR of a municipality (holding
    the HR role for it); nobody for no municipality."""
    if municipality_id is None:
        return sa.false()
    holds_hr = sa.select(RoleGrant.employee_id).where(
        RoleGrant.role == Role.HR, RoleGrant.municipality_id == municipality_id
    )
    return sa.and_(Employee.active, Employee.id.in_(holds_hr))


def approvers_clause(person: Employee) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Employee` matching who decides on ``person``'s programme
    sign-ups awaiting approval: their managers (:func:`managers_clause`) and, only when they
    have none, the HR of their own municipality, so that no sign-up waits for nobody. Never
    ``person`` themselves, and only the active."""
    managers = managers_clause(person)
    # Not correlated with the outer query's employees: "has any manager at all".
    has_managers = sa.select(Employee.id).where(managers).correlate(None).exists()
    return sa.or_(
        managers,
        sa.and_(~has_managers, Employee.id != person.id, hr_clause(person.municipality_id)),
    )


def reminder_scope(user: Employee) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Employee` matching those ``user`` may remind by hand of an
    overdue course: their own staff as a manager (:func:`team_scope`) and, as HR, everyone of
    their municipality. Nobody else: not coordinators (they read aggregates), nor admins (the
    system's operators, not anyone's manager)."""
    clauses = [team_scope(user)]
    for grant in user.role_grants:
        if grant.role == Role.HR and grant.municipality_id is not None:
            clauses.append(Employee.municipality_id == grant.municipality_id)
    return sa.or_(*clauses)


def organised_event_clause(user: Employee) -> ColumnElement[bool]:
    """A WHERE clause on :class:`ProgrammeEvent` matching the events ``user`` organises: an
    organiser of a municipality those it owns, a regional organiser and an admin every event.
    Organising an event includes reading the names of the people signed up for it, from every
    municipality it is open to: signing up is asking the organiser for a place."""
    municipality_ids: list[int] = []
    for grant in user.role_grants:
        if grant.role == Role.ADMIN or (
            grant.role == Role.ORGANISER and grant.municipality_id is None
        ):
            return sa.true()
        if grant.role == Role.ORGANISER and grant.municipality_id is not None:
            municipality_ids.append(grant.municipality_id)
    if not municipality_ids:
        return sa.false()
    return ProgrammeEvent.owner_municipality_id.in_(municipality_ids)


def visible_employees(user: Employee, access: Access = Access.VIEW) -> sa.Select[tuple[Employee]]:
    return sa.select(Employee).where(employee_scope(user, access))


def identity_provider_scope(municipality_id: int) -> ColumnElement[bool]:
    """The people a municipality's identity provider may sign in: its own active staff, never
    a person of another municipality nor a system account."""
    return sa.and_(Employee.municipality_id == municipality_id, Employee.active)


def employee_in_scope(
    session: Session, user: Employee, employee_id: int, access: Access = Access.VIEW
) -> Employee | None:
    """The employee if ``user`` may reach them with ``access``; None otherwise (callers answer
    404, so a denial reveals nothing)."""
    return session.scalars(
        visible_employees(user, access).where(Employee.id == employee_id)
    ).one_or_none()


# Roles a directory never provisions: HR and wider stay with admins.
_BEYOND_PROVISIONING = (Role.HR, Role.COORDINATOR, Role.ADMIN)


def provisioning_scope(municipality_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Employee` matching those a municipality's directory may see
    and change over SCIM: staff of that municipality who hold no role of HR or wider (only
    admins change those accounts). ``municipality_id`` may be a bound parameter, for a
    statement built once."""
    wider = sa.select(RoleGrant.id).where(
        RoleGrant.employee_id == Employee.id, RoleGrant.role.in_(_BEYOND_PROVISIONING)
    )
    return sa.and_(Employee.municipality_id == municipality_id, ~wider.exists())


@dataclass(frozen=True)
class ReportScope:
    """Which aggregates a user may read. ``all_municipalities`` wins over the id sets."""

    all_municipalities: bool
    municipality_ids: frozenset[int]
    unit_ids: frozenset[int]

    @property
    def is_empty(self) -> bool:
        return not (self.all_municipalities or self.municipality_ids or self.unit_ids)

    def includes_unit(self, unit_id: int, municipality_id: int) -> bool:
        """Whether a unit's aggregates are readable (its people are in the scope)."""
        return (
            self.all_municipalities
            or municipality_id in self.municipality_ids
            or unit_id in self.unit_ids
        )

    def employee_clause(self) -> ColumnElement[bool]:
        if self.all_municipalities:
            return sa.true()
        return sa.or_(
            Employee.municipality_id.in_(self.municipality_ids),
            Employee.unit_id.in_(self.unit_ids),
        )


def report_scope(user: Employee) -> ReportScope:
    """Coverage a user may read: managers their units; HR and municipal coordinators their
    municipality; regional coordinators and admins everything; plain employees nothing."""
    municipality_ids: set[int] = set()
    unit_ids: set[int] = set()
    for grant in user.role_grants:
        if grant.role == Role.ADMIN or grant.is_regional:
            return ReportScope(True, frozenset(), frozenset())
        if grant.role in (Role.HR, Role.COORDINATOR) and grant.municipality_id is not None:
            municipality_ids.add(grant.municipality_id)
        elif grant.role == Role.MANAGER and grant.unit_id is not None:
            unit_ids.add(grant.unit_id)
    return ReportScope(False, frozenset(municipality_ids), frozenset(unit_ids))


def managed_municipality_ids(user: Employee) -> frozenset[int] | None:
    """Municipalities whose staff, units and rules ``user`` manages; None means all (admin)."""
    ids: set[int] = set()
    for grant in user.role_grants:
        if grant.role == Role.ADMIN:
            return None
        if grant.role == Role.HR and grant.municipality_id is not None:
            ids.add(grant.municipality_id)
    return frozenset(ids)


def municipality_clause(
    user: Employee, column: sa.SQLColumnExpression[int | None]
) -> ColumnElement[bool]:
    """A WHERE clause limiting a municipality column (of units, rules, imports) to those
    ``user`` manages. Rows for all municipalities (NULL) are the admin's alone."""
    ids = managed_municipality_ids(user)
    if ids is None:
        return sa.true()
    return column.in_(ids) if ids else sa.false()


def audit_event_scope(user: Employee, municipality_id: int | None = None) -> ColumnElement[bool]:
    """A WHERE clause on :class:`AuditEvent` matching the events ``user`` may read in the audit
    log; with ``municipality_id``, only those of that municipality.

    An event belongs to a municipality through the person it concerns or, when it concerns
    nobody, through its object:

    - with a subject, the subject alone decides: the event is readable when the subject is in
      ``employee_scope(user, MANAGE)`` (HR: the people of their municipalities, as of now; an
      admin: everyone), whatever else the event names;
    - without a subject, the object decides when it belongs to a municipality: the
      municipality itself, a unit, a requirement rule or an import batch of one;
    - everything else is the admins' alone: the outbox (its messages go to anyone), rules and
      imports for every municipality, exports across municipalities, events whose person was
      deleted, and any future event kind until it is mapped here. Who acted never counts: an
      admin, or HR of two municipalities, acts across municipalities, so the actor's home says
      nothing about whose data an event holds.

    Only HR and admins read the log; for anyone else this is ``false()``.
    """
    managed = managed_municipality_ids(user)
    if managed is None:  # an admin
        if municipality_id is None:
            return sa.true()
        ids = frozenset({municipality_id})
    else:
        ids = managed & {municipality_id} if municipality_id is not None else managed
    if not ids:
        return sa.false()
    subjects = sa.select(Employee.id).where(
        employee_scope(user, Access.MANAGE), Employee.municipality_id.in_(ids)
    )
    owned_by = {
        "unit": sa.select(Unit.id).where(Unit.municipality_id.in_(ids)),
        "rule": sa.select(RequirementRule.id).where(RequirementRule.municipality_id.in_(ids)),
        "import_batch": sa.select(ImportBatch.id).where(ImportBatch.municipality_id.in_(ids)),
    }
    objects = [
        sa.and_(AuditEvent.object_type == "municipality", AuditEvent.object_id.in_(ids)),
        *(
            sa.and_(AuditEvent.object_type == kind, AuditEvent.object_id.in_(owned))
            for kind, owned in owned_by.items()
        ),
    ]
    return sa.or_(
        AuditEvent.subject_employee_id.in_(subjects),
        sa.and_(AuditEvent.subject_employee_id.is_(None), sa.or_(*objects)),
    )


# --- data minimisation between municipalities -----------------------------------------------
#
# Each municipality is its own data controller. Outside a person's own municipality only
# aggregates are shown, and an aggregate of fewer than SMALL_GROUP people is withheld, with
# every figure derived from it (percentages, completed, reported, overdue, exempt, fully
# trained). Coordinators read aggregates only, even of their own municipality; the named people
# of a unit are for its managers, its municipality's HR and admins.
#
# - "Own municipality": that of the person's own employee record, and those of their HR and
#   coordinator grants (and of the units they manage). A regional coordinator's own is only
#   that of their employee record: the region is not theirs to see in detail.
# - Admins are the system's operators: they already reach every person (employee_scope), so
#   nothing is withheld from them. The CLI (`flask reports coverage`) is the operator too and
#   prints the figures unwithheld.
# - An aggregate of nobody (0 people) describes no one and is shown.
# - Residual risk, accepted: a total shown next to withheld parts can reveal their sum (and
#   one withheld part, when it is the only one), and two reports with different filters can be
#   subtracted. Each figure shown covers 5 people or more or lies in the reader's own
#   municipality; per-course columns of a group of 5 or more are shown even when fewer of them
#   are required (they are the same group of people).
#
# Pages and exports apply this after the figures are computed (services.minimisation), so the
# coverage cache and the SQL stay as they are.

SMALL_GROUP = 5


def own_municipality_ids(user: Employee) -> frozenset[int] | None:
    """The municipalities whose aggregates ``user`` reads in full; None means every one (an
    admin)."""
    ids: set[int] = {user.municipality_id} if user.municipality_id is not None else set()
    for grant in user.role_grants:
        if grant.role == Role.ADMIN:
            return None
        if grant.role in (Role.HR, Role.COORDINATOR) and grant.municipality_id is not None:
            ids.add(grant.municipality_id)
        elif grant.role == Role.MANAGER and grant.unit is not None:
            ids.add(grant.unit.municipality_id)
    return frozenset(ids)


def aggregate_withheld(user: Employee, people: int, municipality_ids: Iterable[int] | None) -> bool:
    """Whether an aggregate over ``people`` persons of ``municipality_ids`` (None: of any
    municipality, e.g. the whole region) must be withheld from ``user``: it covers 1 to 4
    people and reaches outside the user's own municipalities. The one rule pages, charts and
    exports all ask."""
    if people <= 0 or people >= SMALL_GROUP:
        return False
    own = own_municipality_ids(user)
    if own is None:
        return False
    return municipality_ids is None or not set(municipality_ids) <= own


def names_visible(user: Employee, unit: Unit) -> bool:
    """Whether ``user`` may see the unit's people by name in reports: its managers, HR of its
    municipality and admins. Coordinators (municipal or regional) read its counts only."""
    for grant in user.role_grants:
        if grant.role == Role.ADMIN:
            return True
        if grant.role == Role.HR and grant.municipality_id == unit.municipality_id:
            return True
        if grant.role == Role.MANAGER and grant.unit_id == unit.id:
            return True
    return False
