"""The HR employee list: search, filters, order and paging over the people a user manages,
the same list whole (for its CSV/XLSX download), the held invitations among it, and the
units its filters (and the employee forms) offer."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import Assignment, Employee, Municipality, Sector, Unit
from training_tracker.services.core import audit_trail
from training_tracker.services.core.scope import Access, employee_scope
from training_tracker.services.people import accounts
from training_tracker.services.people.employment import (
    EmploymentStatus,
    employment_status,
    status_clause,
)
from training_tracker.services.training.assignments import employed_on, overdue


class AccountState(StrEnum):
    """Where a person stands with their account: never invited (the invitation is held, as
    an import or a new hire without the invitation box leaves it), invited but no password
    chosen yet, or an account in use (a password, or a sign-in through the municipality's
    login)."""

    NOT_INVITED = "not_invited"
    INVITED = "invited"
    HAS_ACCOUNT = "has_account"

    @property
    def label(self) -> str:
        return {
            AccountState.NOT_INVITED: _("Ej inbjuden"),
            AccountState.INVITED: _("Inbjuden"),
            AccountState.HAS_ACCOUNT: _("Har konto"),
        }[self]


def account_state(employee: Employee) -> AccountState:
    if employee.password_hash or employee.last_login_at:
        return AccountState.HAS_ACCOUNT
    if employee.invited_at:
        return AccountState.INVITED
    return AccountState.NOT_INVITED


def _has_account() -> ColumnElement[bool]:
    return sa.or_(Employee.password_hash.is_not(None), Employee.last_login_at.is_not(None))


def account_clause(state: AccountState) -> ColumnElement[bool]:
    if state == AccountState.HAS_ACCOUNT:
        return _has_account()
    invited = Employee.invited_at.is_not(None)
    return sa.and_(sa.not_(_has_account()), invited if state == AccountState.INVITED else ~invited)


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
    account: AccountState | None = None
    leaving_soon: bool = False
    sort: EmployeeSort = EmployeeSort.NAME
    descending: bool = False
    page: int = 1
    per_page: int | None = None  # None: the configured EMPLOYEES_PER_PAGE


@dataclass
class EmployeeRow:
    employee: Employee
    status: EmploymentStatus
    overdue_count: int

    @property
    def account(self) -> AccountState:
        return account_state(self.employee)


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


def leaving_soon_days() -> int:
    """ "Slutar snart": an end date within this many days from today (today excluded: a person
    whose end date is today has left)."""
    return int(current_app.config["LEAVING_SOON_DAYS"])


def _conditions(user: Employee, query: EmployeeQuery, today: date) -> list[ColumnElement[bool]]:
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
    if query.account is not None:
        conditions.append(account_clause(query.account))
    if query.leaving_soon:
        conditions.append(
            sa.and_(
                employed_on(today),
                Employee.end_date <= today + timedelta(days=leaving_soon_days()),
            )
        )
    return conditions


def _order(query: EmployeeQuery) -> list[Any]:
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
    return (
        [(column.desc() if query.descending else column.asc()).nulls_last() for column in primary]
        + [column.asc() for column in by_name]
        + [Employee.id]
    )


def _rows(session: Session, employees: list[Employee], today: date) -> list[EmployeeRow]:
    overdue_counts: dict[int, int] = {}
    ids = [e.id for e in employees]
    for start in range(0, len(ids), 900):  # within every database's limit on parameters
        overdue_counts.update(
            session.execute(
                sa.select(Assignment.employee_id, sa.func.count())
                .where(Assignment.employee_id.in_(ids[start : start + 900]), overdue(today))
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
    return rows


def _select(conditions: list[ColumnElement[bool]], query: EmployeeQuery) -> sa.Select[Any]:
    return (
        sa.select(Employee)
        .outerjoin(Unit, Unit.id == Employee.unit_id)
        .where(*conditions)
        .order_by(*_order(query))
        .options(selectinload(Employee.unit), selectinload(Employee.municipality))
    )


def search_employees(
    session: Session, user: Employee, query: EmployeeQuery, *, today: date | None = None
) -> EmployeePage:
    """One page of the people ``user`` manages, filtered and sorted; two or three queries
    whatever the number of employees (an index serves the default order)."""
    today = today or clock.today()
    per_page = query.per_page or current_app.config["EMPLOYEES_PER_PAGE"]
    conditions = _conditions(user, query, today)
    total = session.scalar(sa.select(sa.func.count()).select_from(Employee).where(*conditions)) or 0
    # A page past the end (a bookmark, a list that shrank) shows the last page.
    page = min(max(1, query.page), max(1, math.ceil(total / per_page)))
    employees = session.scalars(
        _select(conditions, query).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return EmployeePage(
        rows=_rows(session, list(employees), today), total=total, page=page, per_page=per_page
    )


def all_matching(
    session: Session, user: Employee, query: EmployeeQuery, *, today: date | None = None
) -> list[EmployeeRow]:
    """Every person the list shows for ``query``, on every page, in its order (the download)."""
    today = today or clock.today()
    employees = session.scalars(_select(_conditions(user, query, today), query)).all()
    return _rows(session, list(employees), today)


def _held_conditions(
    user: Employee, query: EmployeeQuery, today: date
) -> list[ColumnElement[bool]]:
    """The people of the list whose invitation is held: still employed, never invited, and
    without an account."""
    return [
        *_conditions(user, query, today),
        employed_on(today),
        account_clause(AccountState.NOT_INVITED),
    ]


def held_invitation_count(
    session: Session, user: Employee, query: EmployeeQuery, *, today: date | None = None
) -> int:
    today = today or clock.today()
    conditions = _held_conditions(user, query, today)
    return session.scalar(sa.select(sa.func.count()).select_from(Employee).where(*conditions)) or 0


def send_held_invitations(
    session: Session,
    user: Employee,
    query: EmployeeQuery,
    *,
    filters: dict[str, Any],
    today: date | None = None,
) -> int:
    """Queue the welcome mail for everyone of the list whose invitation is held, through the
    outbox (one audit event per person, and one for the whole sending naming the filters).
    Returns how many were queued."""
    today = today or clock.today()
    ids = list(
        session.scalars(
            sa.select(Employee.id)
            .where(*_held_conditions(user, query, today))
            .order_by(Employee.id)
        )
    )
    queued = accounts.queue_invitations(session, ids, actor=user)
    if queued:
        audit_trail.record(
            session, "auth.invitations_sent_in_bulk", actor=user, count=queued, filters=filters
        )
    return queued


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
