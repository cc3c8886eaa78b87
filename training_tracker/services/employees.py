"""Enrolling employees, editing them, leavers and returners, and the HR employee list."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    AssignmentSource,
    AuditEvent,
    Completion,
    Course,
    Employee,
    Municipality,
    Sector,
    Unit,
)
from training_tracker.services import audit
from training_tracker.services.accounts import normalise_email, queue_invitation
from training_tracker.services.assignments import overdue, recompute_assignments
from training_tracker.services.scope import Access, employee_scope


class EmployeeError(ValueError):
    """A change that cannot be made; ``field`` names the form field, the message is for HR."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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


AUDITED_FIELDS = [f.name for f in fields(EmployeeData)]


def snapshot(employee: Employee) -> dict[str, Any]:
    """The audited fields as JSON-friendly values, for before/after in the audit trail."""
    values: dict[str, Any] = {}
    for name in AUDITED_FIELDS:
        value = getattr(employee, name)
        values[name] = value.isoformat() if isinstance(value, date) else value
    return values


def _clean(data: EmployeeData) -> EmployeeData:
    data.first_name = data.first_name.strip()
    data.last_name = data.last_name.strip()
    data.email = normalise_email(data.email)
    data.employee_number = (data.employee_number or "").strip() or None
    return data


def _check(session: Session, data: EmployeeData, employee: Employee | None = None) -> None:
    """Refuse what the database would refuse, with a message HR can act on."""
    if data.end_date and data.hire_date and data.end_date < data.hire_date:
        raise EmployeeError(_("Slutdatum kan inte vara före anställningsdatum."), "end_date")
    unit = session.get(Unit, data.unit_id)
    if unit is None or unit.municipality_id != data.municipality_id:
        raise EmployeeError(_("Enheten hör inte till den valda kommunen."), "unit_id")
    others = sa.select(Employee).where(Employee.email == data.email)
    if employee is not None:
        others = others.where(Employee.id != employee.id)
    if (other := session.scalars(others).first()) is not None:
        if other.active:
            message = _("E-postadressen används redan av %(name)s.", name=other.full_name)
        else:
            message = _(
                "E-postadressen tillhör %(name)s, som har slutat. Öppna personen och ta bort "
                "slutdatumet för att återanställa.",
                name=other.full_name,
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
                _("Anställningsnumret används redan av %(name)s.", name=other.full_name),
                "employee_number",
            )
    if data.manager_id is not None and employee is not None and data.manager_id == employee.id:
        raise EmployeeError(_("En person kan inte vara sin egen chef."), "manager_id")


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
    _check(session, data)
    employee = Employee(**{name: getattr(data, name) for name in AUDITED_FIELDS})
    session.add(employee)
    session.flush()
    audit.record(
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
    _check(session, data, employee)
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
    audit.record(
        session,
        "employee.updated",
        actor=actor,
        subject=employee,
        object_type="employee",
        object_id=employee.id,
        changes=changes,
    )
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
        audit.record(
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
        audit.record(
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
            Employee.unit_id.in_(sa.select(Unit.id).where(Unit.sector == query.sector))
        )
    if query.status is not None:
        conditions.append(_status_clause(query.status, today))
    if query.has_overdue:
        conditions.append(sa.exists().where(Assignment.employee_id == Employee.id, overdue(today)))
    total = session.scalar(sa.select(sa.func.count()).select_from(Employee).where(*conditions))
    order: list[Any]
    if query.sort == EmployeeSort.HIRE_DATE:
        order = [Employee.hire_date]
    elif query.sort == EmployeeSort.UNIT:
        order = [sa.select(Unit.name).where(Unit.id == Employee.unit_id).scalar_subquery()]
    elif query.sort == EmployeeSort.EMAIL:
        order = [Employee.email]
    else:
        order = [Employee.last_name, Employee.first_name]
    order = [column.desc() if query.descending else column.asc() for column in order]
    page = max(1, query.page)
    employees = session.scalars(
        sa.select(Employee)
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
    rows = [
        EmployeeRow(e, employment_status(e, today), overdue_counts.get(e.id, 0)) for e in employees
    ]
    return EmployeePage(rows=rows, total=total or 0, page=page, per_page=per_page)


# --- one person's page ----------------------------------------------------------------------


@dataclass
class EmployeeRecord:
    employee: Employee
    status: EmploymentStatus
    assignments: list[Assignment]
    completions: list[Completion]
    audit_events: list[AuditEvent]
    actors: dict[int, str]


def employee_record(
    session: Session, employee: Employee, *, today: date | None = None
) -> EmployeeRecord:
    """Everything HR sees on a person's page: assignments (closed ones too), completions and
    the audit history."""
    today = today or clock.today()
    assignments = session.scalars(
        sa.select(Assignment)
        .join(Assignment.course)
        .where(Assignment.employee_id == employee.id)
        .options(selectinload(Assignment.course).selectinload(Course.provider))
        .order_by(Assignment.removed_at.is_not(None), Assignment.due_date, Course.title)
    ).all()
    completions = session.scalars(
        sa.select(Completion)
        .where(Completion.employee_id == employee.id)
        .options(selectinload(Completion.course))
        .order_by(Completion.completed_on.desc())
    ).all()
    events = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.subject_employee_id == employee.id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(200)
    ).all()
    actor_ids = {event.actor_id for event in events if event.actor_id is not None}
    actors = {
        actor_id: f"{first} {last}"
        for actor_id, first, last in session.execute(
            sa.select(Employee.id, Employee.first_name, Employee.last_name).where(
                Employee.id.in_(actor_ids)
            )
        )
    }
    return EmployeeRecord(
        employee=employee,
        status=employment_status(employee, today),
        assignments=list(assignments),
        completions=list(completions),
        audit_events=list(events),
        actors=actors,
    )


# --- one-off assignments and exemptions -----------------------------------------------------


def assign_course(
    session: Session,
    employee: Employee,
    course: Course,
    *,
    due_date: date,
    actor: Employee | None,
) -> Assignment:
    """Require one course of one person, whatever the rules say; rules never close it."""
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
    if assignment is None:
        assignment = Assignment(employee_id=employee.id, course_id=course.id, due_date=due_date)
        session.add(assignment)
    assignment.source = AssignmentSource.MANUAL
    assignment.rule_id = None
    assignment.due_date = due_date
    assignment.removed_at = None
    session.flush()
    audit.record(
        session,
        "assignment.assigned",
        actor=actor,
        subject=employee,
        object_type="assignment",
        object_id=assignment.id,
        course=course.key,
        due_date=due_date.isoformat(),
    )
    return assignment


def set_exemption(
    session: Session,
    assignment: Assignment,
    *,
    exempt: bool,
    reason: str,
    actor: Employee | None,
) -> None:
    """Exempt one person from one assignment (a reason is required), or lift it."""
    reason = reason.strip()
    if exempt and not reason:
        raise EmployeeError(_("Skriv varför personen undantas."), "reason")
    before = {"exempt": assignment.exempt, "reason": assignment.exemption_reason}
    assignment.exempt = exempt
    assignment.exemption_reason = reason if exempt else None
    assignment.exempted_at = clock.utcnow() if exempt else None
    assignment.exempted_by_id = actor.id if (exempt and actor) else None
    audit.record(
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


def units_of(session: Session, municipality_ids: list[int] | None) -> list[Unit]:
    """Units to choose from, by municipality and name (all when ``municipality_ids`` is
    None)."""
    query = sa.select(Unit).join(Municipality).order_by(Municipality.name, Unit.name)
    if municipality_ids is not None:
        query = query.where(Unit.municipality_id.in_(municipality_ids))
    return list(session.scalars(query.options(selectinload(Unit.municipality))))
