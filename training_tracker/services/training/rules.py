"""Requirement rules: which courses whom must take, by when. Every change recomputes the
assignments set-based in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    CourseStatus,
    Employee,
    Municipality,
    RequirementRule,
    Sector,
    Unit,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import managed_municipality_ids, municipality_clause
from training_tracker.services.training.assignments import (
    AssignmentChanges,
    employed_on,
    open_assignment,
    recompute_assignments,
    rule_covers_hire,
    rule_matches_employee,
)


class RuleError(FieldError):
    """A rule that cannot be saved."""


@dataclass
class RuleData:
    course_id: int
    municipality_id: int | None  # None: every municipality (admins only)
    sector: Sector | None
    unit_id: int | None
    due_days: int
    applies_from: date
    for_new_hires: bool = True
    for_existing_staff: bool = True
    ends_on: date | None = None


FIELDS = [
    "course_id",
    "municipality_id",
    "sector",
    "unit_id",
    "due_days",
    "applies_from",
    "for_new_hires",
    "for_existing_staff",
    "ends_on",
]


def _snapshot(rule: RequirementRule | RuleData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in FIELDS:
        value = getattr(rule, name)
        values[name] = value.isoformat() if isinstance(value, date) else value
    return values


def rule_data(rule: RequirementRule) -> RuleData:
    """What a saved rule says, in the form :func:`update_rule` and :func:`rule_reach` take."""
    return RuleData(**{name: getattr(rule, name) for name in FIELDS})


def in_force(rule: RequirementRule, today: date | None = None) -> bool:
    """The same test as ``assignments.rule_in_force``, for one rule in memory."""
    today = today or clock.today()
    return rule.active and (rule.ends_on is None or rule.ends_on > today)


def may_change(user: Employee, rule: RequirementRule) -> bool:
    """HR changes the rules of its municipalities; rules for every municipality are the
    admin's."""
    managed = managed_municipality_ids(user)
    return managed is None or rule.municipality_id in managed


def check_rule(
    session: Session,
    user: Employee,
    data: RuleData,
    *,
    current: RequirementRule | None = None,
) -> None:
    """Refuse a rule the user may not make or that cannot apply to anyone. ``current`` is the
    rule being changed, if any: a course switched off since it was made may stay on it."""
    managed = managed_municipality_ids(user)
    if current is not None and not may_change(user, current):
        raise RuleError(_("Du kan bara ändra regler för din egen kommun."), "municipality_id")
    if managed is not None and data.municipality_id not in managed:
        raise RuleError(_("Du kan bara göra regler för din egen kommun."), "municipality_id")
    if data.municipality_id is not None and session.get(Municipality, data.municipality_id) is None:
        raise RuleError(_("Välj en kommun."), "municipality_id")
    course = session.get(Course, data.course_id)
    unchanged_course = current is not None and current.course_id == data.course_id
    if course is None or (course.status != CourseStatus.ACTIVE and not unchanged_course):
        raise RuleError(_("Välj en aktiv kurs."), "course_id")
    if data.unit_id is not None:
        unit = session.get(Unit, data.unit_id)
        if unit is None or unit.municipality_id != data.municipality_id:
            raise RuleError(_("Enheten hör inte till den valda kommunen."), "unit_id")
        if data.sector is not None and unit.sector != data.sector:
            raise RuleError(_("Enheten hör inte till den valda sektorn."), "sector")
    if not 0 <= data.due_days <= 3650:
        raise RuleError(_("Antal dagar måste vara mellan 0 och 3650."), "due_days")
    if not (data.for_new_hires or data.for_existing_staff):
        raise RuleError(
            _("Välj om regeln gäller nyanställda, befintlig personal eller båda."), "for_new_hires"
        )
    if data.ends_on is not None and data.ends_on <= data.applies_from:
        raise RuleError(_("Slutdatum måste vara efter startdatum."), "ends_on")


@dataclass(frozen=True)
class RuleReach:
    employees: int  # employed people the rule would require the course of
    not_completed: int  # of whom hold no valid completion of it today


def rule_reach(session: Session, data: RuleData, *, today: date | None = None) -> RuleReach:
    """ "This rule applies to N employees, M of whom have not completed the course" — counted
    in SQL with the same conditions as the recomputation, before anything is saved."""
    today = today or clock.today()
    if data.ends_on is not None and data.ends_on <= today:
        return RuleReach(0, 0)  # from its end date a rule requires nothing
    course = session.get(Course, data.course_id)
    if course is None or course.status != CourseStatus.ACTIVE:
        return RuleReach(0, 0)  # nor does a rule on a course switched off
    candidate = sa.select(
        sa.cast(sa.literal(data.municipality_id), sa.Integer).label("municipality_id"),
        sa.cast(sa.literal(data.sector.value if data.sector else None), sa.String).label("sector"),
        sa.cast(sa.literal(data.unit_id), sa.Integer).label("unit_id"),
        sa.literal(data.applies_from, sa.Date).label("applies_from"),
        sa.cast(sa.literal(data.for_new_hires), sa.Boolean).label("for_new_hires"),
        sa.cast(sa.literal(data.for_existing_staff), sa.Boolean).label("for_existing_staff"),
    ).subquery("candidate_rule")
    # NULLs are cast so PostgreSQL knows their type; a date is bound as a date (SQLite would
    # turn CAST(… AS DATE) into a number).
    completed = (
        sa.exists()
        .where(
            Completion.employee_id == Employee.id,
            Completion.course_id == data.course_id,
            Completion.status.in_([CompletionStatus.REPORTED, CompletionStatus.VERIFIED]),
            sa.or_(Completion.expires_on.is_(None), Completion.expires_on > today),
        )
        .correlate(Employee)
    )
    row = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(~completed),
        )
        .select_from(Employee)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(candidate, rule_matches_employee(candidate.c))
        .where(employed_on(today), rule_covers_hire(candidate.c))
    ).one()
    return RuleReach(employees=row[0], not_completed=row[1])


def list_rules(session: Session, user: Employee) -> list[RequirementRule]:
    """The rules ``user`` manages, plus (read-only for HR) those for every municipality."""
    return list(
        session.scalars(
            sa.select(RequirementRule)
            .where(
                sa.or_(
                    municipality_clause(user, RequirementRule.municipality_id),
                    RequirementRule.municipality_id.is_(None),
                )
            )
            .options(
                selectinload(RequirementRule.course).selectinload(Course.provider),
                selectinload(RequirementRule.municipality),
                selectinload(RequirementRule.unit),
            )
            .order_by(RequirementRule.ends_on.is_not(None), RequirementRule.id)
        )
    )


def open_assignment_counts(
    session: Session, user: Employee, rule_ids: list[int], *, today: date | None = None
) -> dict[int, int]:
    """Rule id → how many open assignments (required, not exempt, not completed) it drives
    among the employees ``user`` manages; one grouped query for the whole list."""
    if not rule_ids:
        return {}
    today = today or clock.today()
    rows = session.execute(
        sa.select(Assignment.rule_id, sa.func.count())
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(
            Assignment.rule_id.in_(rule_ids),
            open_assignment(today),
            municipality_clause(user, Employee.municipality_id),
        )
        .group_by(Assignment.rule_id)
    )
    return {rule_id: number for rule_id, number in rows}


def rule_in_scope(session: Session, user: Employee, rule_id: int) -> RequirementRule | None:
    """A rule ``user`` may change, or None (callers answer 404)."""
    return session.scalars(
        sa.select(RequirementRule).where(
            RequirementRule.id == rule_id,
            municipality_clause(user, RequirementRule.municipality_id),
        )
    ).one_or_none()


def _affected(municipality_ids: set[int | None]) -> sa.ColumnElement[bool]:
    if None in municipality_ids:
        return sa.true()
    return Employee.municipality_id.in_(municipality_ids)


def create_rule(
    session: Session, user: Employee | None, data: RuleData, *, today: date | None = None
) -> tuple[RequirementRule, AssignmentChanges]:
    if user is not None:
        check_rule(session, user, data)
    rule = RequirementRule(**{name: getattr(data, name) for name in FIELDS})
    rule.created_by_id = user.id if user else None
    session.add(rule)
    session.flush()
    audit_trail.record(
        session,
        "rule.created",
        actor=user,
        object_type="rule",
        object_id=rule.id,
        after=_snapshot(rule),
    )
    changes = recompute_assignments(session, _affected({data.municipality_id}), today=today)
    return rule, changes


def update_rule(
    session: Session,
    user: Employee,
    rule: RequirementRule,
    data: RuleData,
    *,
    today: date | None = None,
) -> AssignmentChanges:
    check_rule(session, user, data, current=rule)
    before = _snapshot(rule)
    for name in FIELDS:
        setattr(rule, name, getattr(data, name))
    after = _snapshot(rule)
    if before == after:
        return AssignmentChanges()
    session.flush()
    audit_trail.record(
        session,
        "rule.updated",
        actor=user,
        object_type="rule",
        object_id=rule.id,
        before=before,
        after=after,
    )
    affected = {before["municipality_id"], after["municipality_id"]}
    return recompute_assignments(session, _affected(affected), today=today)


def end_rule(
    session: Session,
    user: Employee,
    rule: RequirementRule,
    *,
    today: date | None = None,
) -> AssignmentChanges:
    """From today the rule requires nothing: its open assignments close (unless another rule
    requires the course); completions already made keep counting."""
    today = today or clock.today()
    if not may_change(user, rule):
        raise RuleError(_("Du kan bara ändra regler för din egen kommun."), "municipality_id")
    if rule.ends_on is not None and rule.ends_on <= today:
        return AssignmentChanges()
    before = _snapshot(rule)
    rule.ends_on = today
    session.flush()
    audit_trail.record(
        session,
        "rule.ended",
        actor=user,
        object_type="rule",
        object_id=rule.id,
        before=before,
        after=_snapshot(rule),
    )
    return recompute_assignments(session, _affected({rule.municipality_id}), today=today)
