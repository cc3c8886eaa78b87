"""Enrolling employees, editing them, leavers and returners, and the HR employee list."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    AssignmentSource,
    CompletionStatus,
    Course,
    CourseStatus,
    Employee,
    Municipality,
    Provider,
    Sector,
    Unit,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import Access, employee_in_scope, employee_scope
from training_tracker.services.people.account_guard import may_change_account
from training_tracker.services.people.accounts import queue_invitation
from training_tracker.services.people.email_change import email_changed
from training_tracker.services.training.assignments import (
    employed_on,
    overdue,
    recompute_assignments,
)


class EmployeeError(FieldError):
    """A change to an employee that cannot be made."""


class EmploymentStatus(StrEnum):
    NEW_HIRE = "new_hire"
    ACTIVE = "active"
    LEFT = "left"

    @property
    def label(self) -> str:
        return {
            EmploymentStatus.NEW_HIRE: _("Nyanställd"),
            EmploymentStatus.ACTIVE: _("Anställd"),
            EmploymentStatus.LEFT: _("Slutat"),
        }[self]


@dataclass
class EmployeeData:
    """What HR fills in (or an import row carries) for one employee."""

    first_name: str
    last_name: str
    email: str
    municipality_id: int
    unit_id: int
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


def _check(
    session: Session,
    data: EmployeeData,
    employee: Employee | None = None,
    *,
    actor: Employee | None = None,
) -> None:
    """Refuse what the database would refuse, with a message HR can act on."""
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
    unit = session.get(Unit, data.unit_id)
    if unit is None or unit.municipality_id != data.municipality_id:
        raise EmployeeError(_("Enheten hör inte till den valda kommunen."), "unit_id")
    if not unit.active and (employee is None or employee.unit_id != unit.id):
        raise EmployeeError(_("Enheten %(unit)s är avvecklad.", unit=unit.name), "unit_id")
    others = sa.select(Employee).where(Employee.email == data.email)
    if employee is not None:
        others = others.where(Employee.id != employee.id)
    if (other := session.scalars(others).first()) is not None:
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
    if data.employee_number:
        others = sa.select(Employee).where(
            Employee.municipality_id == data.municipality_id,
            Employee.employee_number == data.employee_number,
        )
        if employee is not None:
            others = others.where(Employee.id != employee.id)
        if (other := session.scalars(others).first()) is not None:
            raise EmployeeError(
                _(
                    "Anställningsnumret används redan av %(name)s.",
                    name=_name_for(session, actor, other) or other.employee_number,
                ),
                "employee_number",
            )
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
) -> Employee:
    """Enroll one person: the required courses are assigned at once and, unless held, the
    welcome mail with the courses, their due dates and the set-password link is queued."""
    today = today or clock.today()
    data = _clean(data)
    _check(session, data, actor=actor)
    employee = Employee(**{name: getattr(data, name) for name in AUDITED_FIELDS})
    session.add(employee)
    session.flush()
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
    recompute_assignments(session, Employee.id == employee.id, today=today)
    if invite and employee.active:
        queue_invitation(session, employee, actor=actor)
    return employee


def update_employee(
    session: Session,
    employee: Employee,
    data: EmployeeData,
    *,
    actor: Employee | None,
    today: date | None = None,
) -> dict[str, list[Any]]:
    """Change what HR changed; returns {field: [before, after]} (empty: nothing changed)."""
    today = today or clock.today()
    data = _clean(data)
    _check(session, data, employee, actor=actor)
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


def apply_employment_dates(
    session: Session, employee: Employee, *, actor: Employee | None, today: date
) -> None:
    """A person past their end date is deactivated: every session ends and they leave the
    coverage population; their history stays. Without an end date (or one still ahead) a
    person who had left is active again: the same record, not a duplicate."""
    left = employee.end_date is not None and employee.end_date <= today
    if left and employee.active:
        employee.active = False
        employee.session_version += 1
        audit_trail.record(
            session,
            "employee.deactivated",
            actor=actor,
            subject=employee,
            object_type="employee",
            object_id=employee.id,
            end_date=employee.end_date.isoformat() if employee.end_date else None,
        )
    elif not left and not employee.active:
        employee.active = True
        audit_trail.record(
            session,
            "employee.reactivated",
            actor=actor,
            subject=employee,
            object_type="employee",
            object_id=employee.id,
        )


def deactivate_leavers(session: Session, *, today: date | None = None) -> int:
    """Deactivate everyone whose end date has come (run nightly); returns how many."""
    today = today or clock.today()
    leavers = session.scalars(
        sa.select(Employee).where(Employee.active, Employee.end_date <= today)
    ).all()
    for employee in leavers:
        apply_employment_dates(session, employee, actor=None, today=today)
    if leavers:
        recompute_assignments(session, Employee.id.in_([e.id for e in leavers]), today=today)
    return len(leavers)


def employment_status(employee: Employee, today: date) -> EmploymentStatus:
    if not employee.active or (employee.end_date is not None and employee.end_date <= today):
        return EmploymentStatus.LEFT
    new_hire_days = current_app.config["NEW_HIRE_DAYS"]
    if employee.hire_date is not None and employee.hire_date > today - timedelta(new_hire_days):
        return EmploymentStatus.NEW_HIRE
    return EmploymentStatus.ACTIVE


def _status_clause(status: EmploymentStatus, today: date) -> ColumnElement[bool]:
    employed = sa.and_(
        Employee.active, sa.or_(Employee.end_date.is_(None), Employee.end_date > today)
    )
    recent = Employee.hire_date > today - timedelta(current_app.config["NEW_HIRE_DAYS"])
    if status == EmploymentStatus.LEFT:
        return sa.not_(employed)
    if status == EmploymentStatus.NEW_HIRE:
        return sa.and_(employed, recent)
    return sa.and_(employed, sa.or_(Employee.hire_date.is_(None), sa.not_(recent)))


# --- the HR employee list -------------------------------------------------------------------


class EmployeeSort(StrEnum):
    NAME = "name"
    HIRE_DATE = "hire_date"
    UNIT = "unit"
    EMAIL = "email"


@dataclass
class EmployeeQuery:
    """The list's search, filters, order and page, as parsed from the URL."""

    text: str = ""
    municipality_id: int | None = None
    unit_id: int | None = None
    sector: Sector | None = None
    status: EmploymentStatus | None = None
    has_overdue: bool = False
    sort: EmployeeSort = EmployeeSort.NAME
    descending: bool = False
    page: int = 1


@dataclass
class EmployeeRow:
    employee: Employee
    status: EmploymentStatus
    overdue_count: int


@dataclass
class EmployeePage:
    rows: list[EmployeeRow]
    total: int
    page: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, math.ceil(self.total / self.per_page))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_employees(
    session: Session, user: Employee, query: EmployeeQuery, *, today: date | None = None
) -> EmployeePage:
    """One page of the people ``user`` manages, filtered and sorted; two or three queries
    whatever the number of employees (an index serves the default order)."""
    today = today or clock.today()
    per_page = current_app.config["EMPLOYEES_PER_PAGE"]
    conditions: list[ColumnElement[bool]] = [
        employee_scope(user, Access.MANAGE),
        Employee.municipality_id.is_not(None),  # system accounts are not staff
    ]
    if query.text.strip():
        pattern = f"%{_escape_like(query.text.strip().lower())}%"
        full_name = sa.func.lower(Employee.first_name + " " + Employee.last_name)
        conditions.append(
            sa.or_(
                full_name.like(pattern, escape="\\"),
                sa.func.lower(Employee.last_name + " " + Employee.first_name).like(
                    pattern, escape="\\"
                ),
                Employee.email.like(pattern, escape="\\"),
                sa.func.lower(Employee.employee_number).like(pattern, escape="\\"),
            )
        )
    if query.municipality_id is not None:
        conditions.append(Employee.municipality_id == query.municipality_id)
    if query.unit_id is not None:
        conditions.append(Employee.unit_id == query.unit_id)
    if query.sector is not None:
        conditions.append(
            Employee.unit_id.in_(
                sa.select(Unit.id).where(Unit.sector == query.sector).correlate(None)
            )
        )
    if query.status is not None:
        conditions.append(_status_clause(query.status, today))
    if query.has_overdue:
        # A leaver owes nothing: only people still employed count as overdue.
        conditions.append(
            sa.and_(
                employed_on(today),
                sa.exists().where(Assignment.employee_id == Employee.id, overdue(today)),
            )
        )
    total = session.scalar(sa.select(sa.func.count()).select_from(Employee).where(*conditions)) or 0
    by_name = [Employee.last_name, Employee.first_name]
    primary: list[Any]
    if query.sort == EmployeeSort.HIRE_DATE:
        primary = [Employee.hire_date]
    elif query.sort == EmployeeSort.UNIT:
        primary = [Unit.name]
    elif query.sort == EmployeeSort.EMAIL:
        primary = [Employee.email]
    else:
        primary, by_name = by_name, []
    # Blanks last either way (SQLite and PostgreSQL disagree otherwise); ties by name.
    order = [
        (column.desc() if query.descending else column.asc()).nulls_last() for column in primary
    ] + [column.asc() for column in by_name]
    # A page past the end (a bookmark, a list that shrank) shows the last page.
    page = min(max(1, query.page), max(1, math.ceil(total / per_page)))
    employees = session.scalars(
        sa.select(Employee)
        .outerjoin(Unit, Unit.id == Employee.unit_id)
        .where(*conditions)
        .order_by(*order, Employee.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .options(selectinload(Employee.unit), selectinload(Employee.municipality))
    ).all()
    overdue_counts = dict(
        session.execute(
            sa.select(Assignment.employee_id, sa.func.count())
            .where(Assignment.employee_id.in_([e.id for e in employees]), overdue(today))
            .group_by(Assignment.employee_id)
        ).all()
    )
    rows = []
    for employee in employees:
        status = employment_status(employee, today)
        overdue_count = 0 if status == EmploymentStatus.LEFT else overdue_counts.get(employee.id, 0)
        rows.append(EmployeeRow(employee, status, overdue_count))
    return EmployeePage(rows=rows, total=total, page=page, per_page=per_page)


# --- one person's page ----------------------------------------------------------------------


COMPLETION_STATUS_LABELS = {
    CompletionStatus.REPORTED: _l("Rapporterad"),
    CompletionStatus.VERIFIED: _l("Godkänd"),
    CompletionStatus.REJECTED: _l("Avvisad"),
    CompletionStatus.WITHDRAWN: _l("Återkallad"),
}


def open_assignment_count(session: Session, employee: Employee) -> int:
    """Courses currently required of the person (not closed, not exempt)."""
    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                Assignment.employee_id == employee.id,
                Assignment.removed_at.is_(None),
                ~Assignment.exempt,
            )
        )
        or 0
    )


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


# --- one-off assignments and exemptions -----------------------------------------------------


def assignable_courses(session: Session) -> list[Course]:
    """Active courses HR may assign to one person, by provider and title."""
    return list(
        session.scalars(
            sa.select(Course)
            .join(Course.provider)
            .where(Course.status == CourseStatus.ACTIVE)
            .options(selectinload(Course.provider))
            .order_by(Provider.name, Course.title)
        )
    )


def assignment_in_scope(
    session: Session, user: Employee, employee_id: int, assignment_id: int
) -> Assignment | None:
    """The assignment if it belongs to that employee and ``user`` manages them; None means
    404."""
    return session.scalars(
        sa.select(Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(
            Assignment.id == assignment_id,
            Assignment.employee_id == employee_id,
            employee_scope(user, Access.MANAGE),
        )
    ).one_or_none()


def _assignment_snapshot(assignment: Assignment | None) -> dict[str, Any] | None:
    if assignment is None:
        return None
    return {
        "due_date": assignment.due_date.isoformat(),
        "source": assignment.source.value,
        "removed": assignment.removed_at is not None,
    }


def assign_course(
    session: Session,
    employee: Employee,
    course: Course,
    *,
    due_date: date,
    actor: Employee | None,
    today: date | None = None,
) -> Assignment:
    """Require one course of one person, whatever the rules say; rules never close it."""
    today = today or clock.today()
    if not employee.active:
        raise EmployeeError(
            _("%(name)s har slutat; tilldela inga kurser.", name=employee.full_name), "course_id"
        )
    if course.status != CourseStatus.ACTIVE:
        raise EmployeeError(_("Kursen är inte aktiv i katalogen."), "course_id")
    if due_date < today:
        raise EmployeeError(_("Sista dag kan inte ha passerat."), "due_date")
    assignment = session.scalars(
        sa.select(Assignment).where(
            Assignment.employee_id == employee.id, Assignment.course_id == course.id
        )
    ).one_or_none()
    if assignment is not None and assignment.removed_at is None:
        raise EmployeeError(
            _(
                "%(course)s är redan tilldelad, med sista dag %(date)s.",
                course=course.title,
                date=assignment.due_date.isoformat(),
            ),
            "course_id",
        )
    before = _assignment_snapshot(assignment)
    if assignment is None:
        assignment = Assignment(employee_id=employee.id, course_id=course.id, due_date=due_date)
        session.add(assignment)
    assignment.source = AssignmentSource.MANUAL
    assignment.rule_id = None
    assignment.due_date = due_date
    assignment.removed_at = None
    session.flush()
    audit_trail.record(
        session,
        "assignment.assigned",
        actor=actor,
        subject=employee,
        object_type="assignment",
        object_id=assignment.id,
        course=course.key,
        due_date=due_date.isoformat(),
        before=before,
        after=_assignment_snapshot(assignment),
    )
    return assignment


EXEMPTION_REASON_MAX = 500


def set_exemption(
    session: Session,
    assignment: Assignment,
    *,
    exempt: bool,
    reason: str,
    actor: Employee | None,
) -> bool:
    """Exempt one person from one assignment (a reason is required), or lift it. Returns
    False when nothing changed (already so)."""
    reason = " ".join((reason or "").split())
    if exempt and actor is not None and assignment.employee_id == actor.id:
        # Nobody exempts themselves: another HR person or an admin decides.
        raise EmployeeError(
            _("Du kan inte undanta dig själv. Be en annan HR-person eller en administratör."),
            "reason",
        )
    if exempt and not reason:
        raise EmployeeError(_("Skriv varför personen undantas."), "reason")
    if len(reason) > EXEMPTION_REASON_MAX:
        raise EmployeeError(
            _("Skälet får vara högst %(max)d tecken.", max=EXEMPTION_REASON_MAX), "reason"
        )
    if not exempt and not assignment.exempt:
        return False
    if exempt and assignment.exempt and assignment.exemption_reason == reason:
        return False
    before = {"exempt": assignment.exempt, "reason": assignment.exemption_reason}
    assignment.exempt = exempt
    assignment.exemption_reason = reason if exempt else None
    assignment.exempted_at = clock.utcnow() if exempt else None
    assignment.exempted_by_id = actor.id if (exempt and actor) else None
    audit_trail.record(
        session,
        "assignment.exempted" if exempt else "assignment.exemption_lifted",
        actor=actor,
        subject=assignment.employee,
        object_type="assignment",
        object_id=assignment.id,
        course_id=assignment.course_id,
        before=before,
        after={"exempt": exempt, "reason": assignment.exemption_reason},
    )
    return True


def units_of(session: Session, municipality_ids: Iterable[int] | None) -> list[Unit]:
    """Units to choose from, by municipality and name (all when ``municipality_ids`` is
    None)."""
    query = sa.select(Unit).join(Municipality).order_by(Municipality.name, Unit.name)
    if municipality_ids is not None:
        query = query.where(Unit.municipality_id.in_(list(municipality_ids)))
    return list(session.scalars(query.options(selectinload(Unit.municipality))))
