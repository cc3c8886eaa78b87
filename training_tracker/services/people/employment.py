"""Whether a person still works here: leavers and returners by their end date, the nightly
deactivation of leavers, and the employment status the HR list shows and filters on."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import Employee
from training_tracker.services.core import audit_trail
from training_tracker.services.training.assignments import recompute_assignments


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


def status_clause(status: EmploymentStatus, today: date) -> ColumnElement[bool]:
    employed = sa.and_(
        Employee.active, sa.or_(Employee.end_date.is_(None), Employee.end_date > today)
    )
    recent = Employee.hire_date > today - timedelta(current_app.config["NEW_HIRE_DAYS"])
    if status == EmploymentStatus.LEFT:
        return sa.not_(employed)
    if status == EmploymentStatus.NEW_HIRE:
        return sa.and_(employed, recent)
    return sa.and_(employed, sa.or_(Employee.hire_date.is_(None), sa.not_(recent)))
