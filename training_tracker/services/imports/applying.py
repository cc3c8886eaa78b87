"""Applying an import: writing every accepted row of a plan in the caller's transaction.

:func:`apply_import` creates the units HR chose to create, inserts and updates the employees
with bulk statements (so 20,000 rows take seconds), writes the audit trail, carries out what a
changed e-mail address means (:mod:`..people.email_change`), recomputes the assignments of the
people it touched and queues the invitations. Anything that fails rolls the whole import back:
nothing is ever half-written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import AuditEvent, Employee, ImportBatch, ImportStatus, Sector, Unit
from training_tracker.services.core import audit_trail
from training_tracker.services.imports.plan import (
    IMPORTED_FIELDS,
    ImportPlan,
    PlannedRow,
    RowAction,
    chunks,
    iso,
    name_key,
)
from training_tracker.services.people.accounts import queue_invitations
from training_tracker.services.people.email_change import emails_changed
from training_tracker.services.training.assignments import AssignmentChanges, recompute_assignments

__all__ = ["ImportResult", "apply_import"]


@dataclass
class ImportResult:
    plan: ImportPlan
    assignments: AssignmentChanges
    invitations: int
    units_created: int


def apply_import(
    session: Session,
    plan: ImportPlan,
    *,
    actor: Employee | None,
    invite: bool = True,
    batch: ImportBatch | None = None,
    today: date | None = None,
) -> ImportResult:
    """Write every accepted row of ``plan`` in the caller's transaction (the caller commits,
    or rolls back if anything raises: nothing is ever half-written)."""
    today = today or clock.today()
    now = clock.utcnow()
    actor_id = actor.id if actor else None
    batch_id = batch.id if batch else None

    # Only the unknown units that accepted rows need (HR chose to create them).
    needed = {p.unit_key for p in plan.rows if p.unit_key is not None}
    new_units = [
        Unit(municipality_id=u.municipality_id, name=u.name, sector=u.sector or Sector.OTHER)
        for u in plan.new_units
        if (u.municipality_id, name_key(u.name)) in needed
    ]
    session.add_all(new_units)
    session.flush()
    unit_ids = {(unit.municipality_id, name_key(unit.name)): unit.id for unit in new_units}
    for unit in new_units:
        audit_trail.record(
            session,
            "unit.created",
            actor=actor,
            object_type="unit",
            object_id=unit.id,
            after={"name": unit.name, "sector": unit.sector.value},
            import_batch_id=batch_id,
        )
    for planned in plan.rows:
        if planned.unit_key is not None:
            planned.values["unit_id"] = unit_ids[planned.unit_key]
            before = planned.existing["unit_id"] if planned.existing else None
            planned.changes["unit_id"] = [before, planned.values["unit_id"]]

    creates = [p for p in plan.rows if p.action == RowAction.CREATE]
    updates = [p for p in plan.rows if p.action == RowAction.UPDATE]
    ids_by_email = _insert_new_employees(session, creates, invite=invite, now=now)
    # Managers named by e-mail who are new in this same file.
    for planned in updates:
        email = planned.values.pop("manager_email", None)
        if email is not None:
            planned.values["manager_id"] = ids_by_email.get(email)
            before = planned.existing["manager_id"] if planned.existing else None
            planned.changes["manager_id"] = [before, planned.values["manager_id"]]
    if updates:
        # Looked up by PlannedRow.employee_id, typed int | None though set on every update.
        current_versions: dict[int | None, int] = (
            dict(
                session.execute(
                    sa.select(Employee.id, Employee.session_version).where(
                        Employee.id.in_([p.employee_id for p in updates if p.leaves])
                    )
                )
                .tuples()
                .all()
            )
            if any(p.leaves for p in updates)
            else {}
        )
        rows = []
        for planned in updates:
            values = {k: v for k, v in planned.values.items() if k in IMPORTED_FIELDS}
            values["id"] = planned.employee_id
            values["updated_at"] = now
            if planned.leaves:
                values["active"] = False
                values["session_version"] = current_versions[planned.employee_id] + 1
            elif planned.returns:
                values["active"] = True
            rows.append(values)
        # Grouped by the set of keys, since a bulk UPDATE needs the same columns per batch.
        by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for values in rows:
            by_keys.setdefault(tuple(sorted(values)), []).append(values)
        for group in by_keys.values():
            session.connection().execute(
                sa.update(Employee.__table__).where(Employee.__table__.c.id == sa.bindparam("_id")),
                [{("_id" if k == "id" else k): v for k, v in values.items()} for values in group],
            )
    events = []
    for planned in creates + updates:
        details: dict[str, Any]
        if planned.action == RowAction.CREATE:
            details = {
                "after": {k: iso(v) for k, v in planned.values.items() if k in IMPORTED_FIELDS}
            }
            action = "employee.created"
        else:
            details = {"changes": planned.changes}
            action = "employee.updated"
        details["import_batch_id"] = batch_id
        details["line"] = planned.row.line
        events.append(
            {
                "occurred_at": now,
                "actor_id": actor_id,
                "action": action,
                "subject_employee_id": planned.employee_id,
                "object_type": "employee",
                "object_id": planned.employee_id,
                "details": details,
            }
        )
        if planned.leaves or planned.returns:
            events.append(
                {
                    "occurred_at": now,
                    "actor_id": actor_id,
                    "action": "employee.deactivated" if planned.leaves else "employee.reactivated",
                    "subject_employee_id": planned.employee_id,
                    "object_type": "employee",
                    "object_id": planned.employee_id,
                    "details": {"import_batch_id": batch_id},
                }
            )
    if events:
        session.connection().execute(sa.insert(AuditEvent.__table__), events)
    old_emails = {
        p.employee_id: p.changes["email"][0]
        for p in updates
        if "email" in p.changes and p.employee_id is not None
    }
    emails_changed(session, old_emails, actor=actor, via_import=True)
    audit_trail.record(
        session,
        "import.applied",
        actor=actor,
        object_type="import_batch",
        object_id=batch_id,
        summary=plan.summary(),
    )

    touched = {p.municipality_id for p in creates + updates}
    if touched:
        assignment_changes = recompute_assignments(
            session,
            Employee.id.in_(_ids_of(creates + updates))
            if len(creates + updates) < 500
            else Employee.municipality_id.in_(touched),
            today=today,
        )
    else:
        assignment_changes = AssignmentChanges()
    invitations = 0
    if invite:
        new_ids = [p.employee_id for p in creates if not p.leaves and p.employee_id is not None]
        invitations = queue_invitations(session, new_ids, actor=actor, mark_invited=False)
    if batch is not None:
        batch.status = ImportStatus.APPLIED
        batch.applied_at = now
        batch.summary = {**plan.summary(), "new_units": len(unit_ids), "invitations": invitations}
    return ImportResult(
        plan=plan,
        assignments=assignment_changes,
        invitations=invitations,
        units_created=len(unit_ids),
    )


def _insert_new_employees(
    session: Session, creates: list[PlannedRow], *, invite: bool, now: datetime
) -> dict[str, int]:
    """Insert the new employees with Core (not ORM objects: 20,000 rows in a second or two)
    and return their ids by e-mail. Those the file names as someone's manager go first, so
    the others get their manager id in the same INSERT; only a manager of a manager, both
    new, needs an UPDATE afterwards."""
    if not creates:
        return {}
    named_managers = {p.values.get("manager_email") for p in creates} - {None}
    first = [p for p in creates if p.values["email"] in named_managers]
    second = [p for p in creates if p.values["email"] not in named_managers]
    table = Employee.__table__
    ids_by_email: dict[str, int] = {}
    late_managers: list[dict[str, str]] = []  # the new employee's and their manager's e-mail
    for batch in (first, second):
        rows = []
        for planned in batch:
            manager_email = planned.values.pop("manager_email", None)
            if manager_email is not None:
                if manager_email in ids_by_email:
                    planned.values["manager_id"] = ids_by_email[manager_email]
                else:
                    late_managers.append(
                        {"_email": planned.values["email"], "_manager": manager_email}
                    )
            rows.append(
                dict.fromkeys(IMPORTED_FIELDS)
                | {k: v for k, v in planned.values.items() if k in IMPORTED_FIELDS}
                | {
                    "active": not planned.leaves,
                    "preferred_language": "sv",
                    "session_version": 1,
                    "created_at": now,
                    "updated_at": now,
                    # Set here rather than by a second UPDATE of every new row.
                    "invited_at": now if invite and not planned.leaves else None,
                }
            )
        if not rows:
            continue
        # A plain executemany, then the ids by e-mail (unique): on PostgreSQL this is about
        # twice as fast as INSERT … RETURNING, which SQLAlchemy builds as huge statements.
        session.connection().execute(sa.insert(table), rows)
        emails = [planned.values["email"] for planned in batch]
        for chunk in chunks(emails):
            ids_by_email.update(
                session.execute(
                    sa.select(table.c.email, table.c.id).where(table.c.email.in_(chunk))
                )
                .tuples()
                .all()
            )
        for planned in batch:
            planned.employee_id = ids_by_email[planned.values["email"]]
    if late_managers:
        session.connection().execute(
            sa.update(table)
            .where(table.c.email == sa.bindparam("_email"))
            .values(manager_id=sa.bindparam("_manager_id")),
            [
                {"_email": row["_email"], "_manager_id": ids_by_email.get(row["_manager"])}
                for row in late_managers
            ],
        )
        late = {row["_email"]: row["_manager"] for row in late_managers}
        for planned in creates:
            if planned.values["email"] in late:
                planned.values["manager_id"] = ids_by_email.get(late[planned.values["email"]])
    return ids_by_email


def _ids_of(planned_rows: list[PlannedRow]) -> list[int]:
    return [p.employee_id for p in planned_rows if p.employee_id is not None]
