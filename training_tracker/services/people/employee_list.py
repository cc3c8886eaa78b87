"""The HR employee list: search, filters, order and paging over the people a user manages,
and the units its filters (and the employee forms) offer."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import Assignment, Employee, Municipality, Sector, Unit
from training_tracker.services.core.scope import Access, employee_scope
from training_tracker.services.people.employment import (
    EmploymentStatus,
    employment_status,
    status_clause,
)
from training_tracker.services.training.assignments import employed_on, overdue


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
    # People without a unit: the directory (SCIM) enrolled them with a department the
    # tracker does not know; HR places them.
    without_unit: bool = False
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
    if query.without_unit:
        conditions.append(Employee.unit_id.is_(None))
    if query.sector is not None:
        conditions.append(
            Employee.unit_id.in_(
                sa.select(Unit.id).where(Unit.sector == query.sector).correlate(None)
            )
        )
    if query.status is not None:
        conditions.append(status_clause(query.status, today))
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
    overdue_counts: dict[int, int] = dict(
        session.execute(
            sa.select(Assignment.employee_id, sa.func.count())
            .where(Assignment.employee_id.in_([e.id for e in employees]), overdue(today))
            .group_by(Assignment.employee_id)
        )
        .tuples()
        .all()
    )
    rows = []
    for employee in employees:
        status = employment_status(employee, today)
        overdue_count = 0 if status == EmploymentStatus.LEFT else overdue_counts.get(employee.id, 0)
        rows.append(EmployeeRow(employee, status, overdue_count))
    return EmployeePage(rows=rows, total=total, page=page, per_page=per_page)


def count_without_unit(session: Session, user: Employee) -> int:
    """How many people ``user`` manages are still employed but in no unit (HR's start page
    counts them and links to the list)."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Employee)
            .where(
                employee_scope(user, Access.MANAGE),
                Employee.municipality_id.is_not(None),
                Employee.unit_id.is_(None),
                Employee.active,
            )
        )
        or 0
    )


def units_of(session: Session, municipality_ids: Iterable[int] | None) -> list[Unit]:
    """Units to choose from, by municipality and name (all when ``municipality_ids`` is
    None)."""
    query = sa.select(Unit).join(Municipality).order_by(Municipality.name, Unit.name)
    if municipality_ids is not None:
        query = query.where(Unit.municipality_id.in_(list(municipality_ids)))
    return list(session.scalars(query.options(selectinload(Unit.municipality))))
