"""Turn requirement rules into assignments with due dates, set-based.

What the rules require is computed by one INSERT … SELECT into a scratch table; three
statements then bring ``assignments`` in line with it. The cost is a handful of statements
whatever the number of employees, so a rule change or an import of 20,000 people recomputes in
the same transaction as the change itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    AssignmentSource,
    Completion,
    CompletionStatus,
    Course,
    CourseStatus,
    Employee,
    RequirementRule,
    Unit,
)
from training_tracker.services.core.sql import add_days

# The completions that count: reported or verified (a rejected or withdrawn one does not).
COUNTING = (CompletionStatus.REPORTED, CompletionStatus.VERIFIED)


# What the rules require right now, one row per employee and course. A temporary table: each
# connection has its own, so two recomputations at once cannot see each other's rows.
_required = sa.Table(
    "required_assignments",
    sa.MetaData(),
    sa.Column("employee_id", sa.Integer, primary_key=True),
    sa.Column("course_id", sa.Integer, primary_key=True),
    sa.Column("rule_id", sa.Integer, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    prefixes=["TEMPORARY"],
)


# A day: a date, or a bound parameter in a statement built once.
Day = date | ColumnElement[date]


def rule_in_force(today: Day) -> ColumnElement[bool]:
    return sa.and_(
        RequirementRule.active,
        sa.or_(RequirementRule.ends_on.is_(None), RequirementRule.ends_on > today),
    )


def employed_on(today: Day) -> ColumnElement[bool]:
    """Active and not past their end date (the nightly job may not have run yet)."""
    return sa.and_(Employee.active, sa.or_(Employee.end_date.is_(None), Employee.end_date > today))


class RuleColumns(Protocol):
    """What the matching clauses read of a rule: :class:`RequirementRule` itself, or the
    columns of a rule not saved yet (see ``rules.rule_reach``)."""

    municipality_id: Any
    unit_id: Any
    sector: Any
    applies_from: Any
    for_new_hires: Any
    for_existing_staff: Any


# The model's class itself (its columns) or a rule's values not saved yet.
RuleLike = RuleColumns | type[RequirementRule]


def rule_matches_employee(
    rule: RuleColumns | type[RequirementRule] = RequirementRule,
) -> ColumnElement[bool]:
    """The rule's municipality, unit and sector match the employee's (None matches all)."""
    return sa.and_(
        sa.or_(rule.municipality_id.is_(None), rule.municipality_id == Employee.municipality_id),
        sa.or_(rule.unit_id.is_(None), rule.unit_id == Employee.unit_id),
        sa.or_(rule.sector.is_(None), rule.sector == Unit.sector),
    )


def hired_since_rule(
    rule: RuleColumns | type[RequirementRule] = RequirementRule,
) -> ColumnElement[bool]:
    return sa.and_(Employee.hire_date.is_not(None), Employee.hire_date >= rule.applies_from)


def rule_covers_hire(
    rule: RuleColumns | type[RequirementRule] = RequirementRule,
) -> ColumnElement[bool]:
    """New hires (hired on or after the rule's start) and/or staff hired before it."""
    new_hire = hired_since_rule(rule)
    return sa.or_(
        sa.and_(new_hire, rule.for_new_hires),
        sa.and_(sa.not_(new_hire), rule.for_existing_staff),
    )


def rule_due_date() -> ColumnElement[date]:
    """New hires: N days after the hire date; staff hired before the rule: N days after its
    start."""
    start = sa.case((hired_since_rule(), Employee.hire_date), else_=RequirementRule.applies_from)
    return add_days(start, RequirementRule.due_days)


def required_by_rules(today: Day, employees: ColumnElement[bool]) -> sa.Select:
    """(employee, course, rule, due date) for every course a rule in force requires of an
    employed person matching ``employees``; the earliest due date wins when rules overlap."""
    due = rule_due_date()
    ranked = (
        sa.select(
            Employee.id.label("employee_id"),
            RequirementRule.course_id.label("course_id"),
            RequirementRule.id.label("rule_id"),
            due.label("due_date"),
            sa.func.row_number()
            .over(
                partition_by=(Employee.id, RequirementRule.course_id),
                order_by=(due, RequirementRule.id),
            )
            .label("rank"),
        )
        .select_from(Employee)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(RequirementRule, rule_matches_employee())
        .join(Course, Course.id == RequirementRule.course_id)
        .where(
            employees,
            employed_on(today),
            rule_in_force(today),
            rule_covers_hire(),
            Course.status == CourseStatus.ACTIVE,
        )
        .subquery("ranked")
    )
    return sa.select(
        ranked.c.employee_id, ranked.c.course_id, ranked.c.rule_id, ranked.c.due_date
    ).where(ranked.c.rank == 1)


def assign_new_employee(session: Session, employee_id: int, *, today: date | None = None) -> int:
    """The rule-made assignments of someone just enrolled: what :func:`recompute_assignments`
    would make for them, in one INSERT … SELECT. A new person has no assignment yet, so there
    is nothing to update or close, no scratch table, and no loaded object to expire (the one
    statement costs a fifth of a recomputation, which counts for a directory's initial sync).
    Returns how many were made."""
    session.flush()
    parameters = {
        "employee_id": employee_id,
        "today": today or clock.today(),
        "assigned_at": clock.utcnow(),
    }
    return session.connection().execute(_new_employee_assignments(), parameters).rowcount


@functools.cache
def _new_employee_assignments() -> sa.Insert:
    """:func:`assign_new_employee`'s statement, built once: building it (and hashing it for
    SQLAlchemy's cache) cost more than running it."""
    today = sa.bindparam("today", type_=sa.Date())
    employee_id = sa.bindparam("employee_id", type_=sa.Integer())
    # The person's unit, named again (it follows from the person): without it PostgreSQL's
    # plan joined every unit with every rule first and found the person among each unit's
    # staff, 0.5 ms a create; with it, one unit by its key.
    person = aliased(Employee)
    own_unit = sa.select(person.unit_id).where(person.id == employee_id).scalar_subquery()
    required = required_by_rules(
        today, sa.and_(Employee.id == employee_id, Unit.id == own_unit)
    ).subquery("required")
    held = sa.exists().where(
        Assignment.employee_id == required.c.employee_id,
        Assignment.course_id == required.c.course_id,
    )
    return (
        sa.insert(Assignment)
        .from_select(
            ["employee_id", "course_id", "rule_id", "due_date", "source", "assigned_at", "exempt"],
            sa.select(
                required.c.employee_id,
                required.c.course_id,
                required.c.rule_id,
                required.c.due_date,
                sa.literal(AssignmentSource.RULE.value),
                sa.bindparam("assigned_at", type_=sa.DateTime()),
                sa.false(),
            ).where(~held),  # none for someone new: a guard, not a filter
        )
        .execution_options(preserve_rowcount=True)
    )


@dataclass
class AssignmentChanges:
    created: int = 0
    updated: int = 0
    closed: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.closed


def recompute_assignments(
    session: Session,
    employees: ColumnElement[bool] | None = None,
    *,
    today: date | None = None,
) -> AssignmentChanges:
    """Bring the assignments of the employees matching ``employees`` (everyone by default) in
    line with the rules in force, in the caller's transaction.

    - a course newly required is assigned, with its due date;
    - a rule-made assignment whose due date or rule changed is updated; one closed earlier is
      reopened (an employee who returns, a rule that applies again);
    - a rule-made assignment no rule requires any more is closed, not deleted;
    - a person who has left has every assignment closed, hand-made ones too;
    - otherwise assignments HR made by hand, exemptions and completions are never touched.
    """
    today = today or clock.today()
    employees = sa.true() if employees is None else employees
    now = clock.utcnow()
    connection = session.connection()
    session.flush()
    connection.execute(
        sa.text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS required_assignments ("
            " employee_id INTEGER NOT NULL, course_id INTEGER NOT NULL,"
            " rule_id INTEGER NOT NULL, due_date DATE NOT NULL,"
            " PRIMARY KEY (employee_id, course_id))"
        )
    )
    connection.execute(sa.delete(_required))
    connection.execute(
        sa.insert(_required).from_select(
            ["employee_id", "course_id", "rule_id", "due_date"],
            required_by_rules(today, employees),
        )
    )
    required = _required
    same_pair = sa.and_(
        Assignment.employee_id == required.c.employee_id,
        Assignment.course_id == required.c.course_id,
    )
    created = connection.execute(
        sa.insert(Assignment)
        .from_select(
            ["employee_id", "course_id", "rule_id", "due_date", "source", "assigned_at", "exempt"],
            sa.select(
                required.c.employee_id,
                required.c.course_id,
                required.c.rule_id,
                required.c.due_date,
                sa.literal(AssignmentSource.RULE.value),
                sa.literal(now, sa.DateTime()),
                sa.false(),
            ).where(~sa.exists().where(same_pair)),
        )
        # psycopg resets an INSERT's rowcount when the cursor closes (it answered -1).
        .execution_options(preserve_rowcount=True)
    ).rowcount
    updated = connection.execute(
        sa.update(Assignment)
        .where(
            same_pair,
            # A hand-made assignment stays as HR set it, unless HR had closed it.
            sa.or_(Assignment.source == AssignmentSource.RULE, Assignment.removed_at.is_not(None)),
            sa.or_(
                Assignment.removed_at.is_not(None),
                Assignment.due_date != required.c.due_date,
                Assignment.rule_id.is_(None),
                Assignment.rule_id != required.c.rule_id,
            ),
        )
        .values(
            due_date=required.c.due_date,
            rule_id=required.c.rule_id,
            source=AssignmentSource.RULE,
            removed_at=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    closed = connection.execute(
        sa.update(Assignment)
        .where(
            Assignment.removed_at.is_(None),
            Assignment.employee_id.in_(sa.select(Employee.id).where(employees)),
            sa.or_(
                # A rule-made assignment no rule requires any more …
                sa.and_(Assignment.source == AssignmentSource.RULE, ~sa.exists().where(same_pair)),
                # … and everything of a person who has left, hand-made ones too.
                Assignment.employee_id.in_(
                    sa.select(Employee.id).where(employees, sa.not_(employed_on(today)))
                ),
            ),
        )
        .values(removed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    connection.execute(sa.delete(_required))
    # The ORM objects already loaded may be stale now.
    session.expire_all()
    return AssignmentChanges(created=created, updated=updated, closed=closed)


def holds_valid_completion(today: date) -> ColumnElement[bool]:
    """The assignment's employee holds a completion of its course that counts today: reported
    or verified, and not expired."""
    return (
        sa.exists()
        .where(
            Completion.employee_id == Assignment.employee_id,
            Completion.course_id == Assignment.course_id,
            Completion.status.in_([CompletionStatus.REPORTED, CompletionStatus.VERIFIED]),
            sa.or_(Completion.expires_on.is_(None), Completion.expires_on > today),
        )
        .correlate(Assignment)
    )


def open_assignment(today: date) -> ColumnElement[bool]:
    """Required, not exempt and not yet completed."""
    return sa.and_(
        Assignment.removed_at.is_(None), ~Assignment.exempt, ~holds_valid_completion(today)
    )


def overdue(today: date) -> ColumnElement[bool]:
    return sa.and_(open_assignment(today), Assignment.due_date < today)


def last_expiry(today: date | ColumnElement[date]) -> ColumnElement[date | None]:
    """The latest expiry, on or before today, of the assignment's completed course. ``today``
    may be a column (the coverage trend's dates): everything but the completions is taken
    from the enclosing query, so the dates are not joined again inside."""
    return (
        sa.select(sa.func.max(Completion.expires_on))
        .where(
            Completion.employee_id == Assignment.employee_id,
            Completion.course_id == Assignment.course_id,
            Completion.status.in_(COUNTING),
            Completion.expires_on <= today,
        )
        .correlate_except(Completion)
        .scalar_subquery()
    )


def effective_due(
    today: date | ColumnElement[date], expired_on: ColumnElement[date | None] | None = None
) -> ColumnElement[date]:
    """When the assignment is due: its due date, or, once a completion has expired, the day
    it expired (if later). The same rule as :func:`..progress.course_progress`.
    ``expired_on``: :func:`last_expiry` when the caller selects it too."""
    expired_on = last_expiry(today) if expired_on is None else expired_on
    return sa.case((expired_on > Assignment.due_date, expired_on), else_=Assignment.due_date)
