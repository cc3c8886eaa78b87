"""Enrolling employees and editing them: what HR fills in, the checks that give HR a message
it can act on, the audited before and after, the account guard on e-mail and end date, and
the welcome mail. Leavers and returners are in ``employment``, the HR list in
``employee_list``, one person's one-off courses and exemptions in ``person_assignments``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, Unit
from training_tracker.services.core import audit_trail
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import Access, employee_in_scope
from training_tracker.services.people.account_guard import may_change_account
from training_tracker.services.people.accounts import queue_invitation
from training_tracker.services.people.email_change import email_changed
from training_tracker.services.people.employment import apply_employment_dates
from training_tracker.services.training.assignments import (
    assign_new_employee,
    recompute_assignments,
)


class EmployeeError(FieldError):
    """A change to an employee that cannot be made."""


@dataclass
class EmployeeData:
    """What HR fills in (or an import row carries) for one employee."""

    first_name: str
    last_name: str
    email: str
    municipality_id: int
    # None only from the directory (SCIM) for an unknown department: HR's "utan enhet" list.
    unit_id: int | None
    hire_date: date | None = None
    employee_number: str | None = None
    manager_id: int | None = None
    end_date: date | None = None
    preferred_language: str = "sv"
    # When given, the manager is looked up by e-mail among the staff of ``municipality_id``
    # (replacing ``manager_id``); an unknown address is an error on this field.
    manager_email: str | None = None


# What is stored on the employee and audited; ``manager_email`` only finds ``manager_id``.
AUDITED_FIELDS = [f.name for f in fields(EmployeeData) if f.name != "manager_email"]


def snapshot(employee: Employee) -> dict[str, Any]:
    """The audited fields as JSON-friendly values, for before/after in the audit trail."""
    values: dict[str, Any] = {}
    for name in AUDITED_FIELDS:
        value = getattr(employee, name)
        values[name] = value.isoformat() if isinstance(value, date) else value
    return values


def _clean(data: EmployeeData) -> EmployeeData:
    data.first_name = " ".join(data.first_name.split())
    data.last_name = " ".join(data.last_name.split())
    data.email = normalise_email(data.email)
    data.employee_number = (data.employee_number or "").strip() or None
    data.manager_email = normalise_email(data.manager_email or "") or None
    return data


def _name_for(session: Session, actor: Employee | None, other: Employee) -> str | None:
    """The other person's name if ``actor`` may manage them (or no one is signed in: the
    CLI); None otherwise, so an error message reveals nobody outside the actor's scope."""
    if actor is None or employee_in_scope(session, actor, other.id, Access.MANAGE) is not None:
        return other.full_name
    return None


def find_manager(
    session: Session, email: str, municipality_id: int, *, current_id: int | None = None
) -> Employee:
    """The active employee of ``municipality_id`` with this e-mail, to be someone's manager.
    ``current_id`` (the manager a person has now) is accepted even after that manager left,
    so editing something else does not force HR to change the manager too."""
    manager = session.scalars(
        sa.select(Employee).where(
            Employee.email == normalise_email(email),
            Employee.municipality_id == municipality_id,
            sa.or_(Employee.active, Employee.id == current_id),
        )
    ).one_or_none()
    if manager is None:
        raise EmployeeError(
            _("Det finns ingen anställd i kommunen med e-postadressen %(email)s.", email=email),
            "manager_email",
        )
    return manager


def _check_holders(
    session: Session, data: EmployeeData, employee: Employee | None, *, actor: Employee | None
) -> None:
    """Refuse an e-mail address, or an employee number in the municipality, someone else
    holds. Whoever holds either: one query."""
    holders = [Employee.email == data.email]
    if data.employee_number:
        holders.append(
            sa.and_(
                Employee.municipality_id == data.municipality_id,
                Employee.employee_number == data.employee_number,
            )
        )
    others = sa.select(Employee).where(sa.or_(*holders))
    if employee is not None:
        others = others.where(Employee.id != employee.id)
    found = session.scalars(others).all()
    if (other := next((o for o in found if o.email == data.email), None)) is not None:
        name = _name_for(session, actor, other)
        if name is None:
            message = _(
                "E-postadressen används redan av en person i en annan kommun. Kontakta den "
                "kommunens HR."
            )
        elif other.active:
            message = _("E-postadressen används redan av %(name)s.", name=name)
        else:
            message = _(
                "E-postadressen tillhör %(name)s, som har slutat. Öppna personen och ta bort "
                "slutdatumet för att återanställa.",
                name=name,
            )
        raise EmployeeError(message, "email")
    if found:  # no one else holds the address: this is the employee number's holder
        other = found[0]
        raise EmployeeError(
            _(
                "Anställningsnumret används redan av %(name)s.",
                name=_name_for(session, actor, other) or other.employee_number,
            ),
            "employee_number",
        )


def _check(
    session: Session,
    data: EmployeeData,
    employee: Employee | None = None,
    *,
    actor: Employee | None = None,
    unit_optional: bool = False,
    holders_checked: bool = False,
) -> None:
    """Refuse what the database would refuse, with a message HR can act on.
    ``holders_checked``: see :func:`create_employee`."""
    if not data.first_name:
        raise EmployeeError(_("Fyll i förnamnet."), "first_name")
    if not data.last_name:
        raise EmployeeError(_("Fyll i efternamnet."), "last_name")
    if not data.email or "@" not in data.email:
        raise EmployeeError(_("Fyll i en giltig e-postadress."), "email")
    if data.preferred_language not in ("sv", "en"):
        raise EmployeeError(_("Välj svenska eller engelska."), "preferred_language")
    if data.end_date and data.hire_date and data.end_date < data.hire_date:
        raise EmployeeError(_("Slutdatum kan inte vara före anställningsdatum."), "end_date")
    unit = session.get(Unit, data.unit_id) if data.unit_id is not None else None
    if unit is None and data.unit_id is None and unit_optional:
        pass  # the directory's unknown department: on HR's list of people without a unit
    elif unit is None or unit.municipality_id != data.municipality_id:
        raise EmployeeError(_("Enheten hör inte till den valda kommunen."), "unit_id")
    elif not unit.active and (employee is None or employee.unit_id != unit.id):
        raise EmployeeError(_("Enheten %(unit)s är avvecklad.", unit=unit.name), "unit_id")
    if not holders_checked:
        _check_holders(session, data, employee, actor=actor)
    if data.manager_email:
        current_id = employee.manager_id if employee is not None else None
        data.manager_id = find_manager(
            session, data.manager_email, data.municipality_id, current_id=current_id
        ).id
    if data.manager_id is not None:
        if employee is not None and data.manager_id == employee.id:
            field_name = "manager_email" if data.manager_email else "manager_id"
            raise EmployeeError(_("En person kan inte vara sin egen chef."), field_name)
        manager = session.get(Employee, data.manager_id)
        if manager is None or manager.municipality_id != data.municipality_id:
            raise EmployeeError(_("Chefen måste vara anställd i samma kommun."), "manager_id")


def create_employee(
    session: Session,
    data: EmployeeData,
    *,
    actor: Employee | None,
    invite: bool = True,
    today: date | None = None,
    unit_optional: bool = False,
    mail_written_when_sent: bool = False,
    holders_checked: bool = False,
) -> Employee:
    """Enroll one person: the required courses are assigned at once and, unless held, the
    welcome mail with the courses, their due dates and the set-password link is queued.
    ``unit_optional``: the directory may enroll someone whose unit is not known yet;
    ``mail_written_when_sent``: the mail is written when it is sent, as an import's are;
    ``holders_checked``: the caller found, in this transaction, that no one holds the e-mail
    address or the employee number (the directory's same-person lookup), so it is not asked
    twice (the unique constraints still refuse a person created meanwhile).

    The audit events are written together at the next flush (one INSERT)."""
    today = today or clock.today()
    data = _clean(data)
    _check(session, data, actor=actor, unit_optional=unit_optional, holders_checked=holders_checked)
    employee = Employee(**{name: getattr(data, name) for name in AUDITED_FIELDS})
    # Whoever is invited is marked so in the INSERT (the mail is queued in this transaction,
    # below), not by an UPDATE after it; someone enrolled after their end date is not.
    invited = invite and not (data.end_date is not None and data.end_date <= today)
    if invited:
        employee.invited_at = clock.utcnow()
    session.add(employee)
    session.flush()
    with audit_trail.recorded_together(session):
        audit_trail.record(
            session,
            "employee.created",
            actor=actor,
            subject=employee,
            object_type="employee",
            object_id=employee.id,
            after=snapshot(employee),
        )
        apply_employment_dates(session, employee, actor=actor, today=today)
        if employee.unit_id is not None:
            # Rules reach people through their unit (assignments.required_by_rules joins it):
            # someone without one (the directory's unknown department) has nothing to get.
            assign_new_employee(session, employee.id, today=today)
        if invited:  # active: apply_employment_dates made them so
            queue_invitation(
                session,
                employee,
                actor=actor,
                written_when_sent=mail_written_when_sent,
                marked_invited=True,
            )
    return employee


def update_employee(
    session: Session,
    employee: Employee,
    data: EmployeeData,
    *,
    actor: Employee | None,
    today: date | None = None,
    unit_optional: bool = False,
) -> dict[str, list[Any]]:
    """Change what HR changed; returns {field: [before, after]} (empty: nothing changed)."""
    today = today or clock.today()
    data = _clean(data)
    _check(session, data, employee, actor=actor, unit_optional=unit_optional)
    guarded = [n for n in ("email", "end_date") if getattr(data, n) != getattr(employee, n)]
    if guarded and (refused := may_change_account(session, actor, employee)):
        raise EmployeeError(refused, guarded[0])
    before = snapshot(employee)
    for name in AUDITED_FIELDS:
        setattr(employee, name, getattr(data, name))
    after = snapshot(employee)
    changes = {
        name: [before[name], after[name]] for name in AUDITED_FIELDS if before[name] != after[name]
    }
    if not changes:
        return changes
    session.flush()
    audit_trail.record(
        session,
        "employee.updated",
        actor=actor,
        subject=employee,
        object_type="employee",
        object_id=employee.id,
        changes=changes,
    )
    if "email" in changes:
        email_changed(session, employee, old_email=before["email"], actor=actor)
    apply_employment_dates(session, employee, actor=actor, today=today)
    recompute_assignments(session, Employee.id == employee.id, today=today)
    return changes


def resend_invitation(session: Session, employee: Employee, *, actor: Employee | None) -> bool:
    """Queue the welcome mail again for someone who has not chosen a password yet. Returns
    False when it was already queued today (a second click sends nothing more)."""
    if not employee.active:
        raise EmployeeError(
            _("%(name)s har slutat och kan inte bjudas in.", name=employee.full_name)
        )
    if employee.password_hash:
        raise EmployeeError(
            _(
                "%(name)s har redan valt ett lösenord. Har personen glömt det väljer hen "
                "”Glömt lösenordet?” på inloggningssidan.",
                name=employee.full_name,
            )
        )
    return queue_invitation(session, employee, actor=actor)
