"""Turn requirement rules into assignments with due dates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    Course,
    CourseStatus,
    Employee,
    RequirementRule,
)


def rule_applies(rule: RequirementRule, employee: Employee) -> bool:
    if employee.unit is None or employee.municipality_id is None:
        return False
    if rule.municipality_id is not None and rule.municipality_id != employee.municipality_id:
        return False
    if rule.unit_id is not None and rule.unit_id != employee.unit_id:
        return False
    return rule.sector is None or rule.sector == employee.unit.sector


def due_date_for(rule: RequirementRule, employee: Employee) -> date:
    """New hires: N days after the hire date; staff hired before the rule started: N days
    after its start."""
    start = rule.applies_from
    if employee.hire_date is not None and employee.hire_date > start:
        start = employee.hire_date
    return start + timedelta(days=rule.due_days)


@dataclass
class AssignmentChanges:
    created: int = 0
    updated: int = 0
    closed: int = 0
    reopened: int = 0


def sync_assignments(
    session: Session, employees: Iterable[Employee] | None = None
) -> AssignmentChanges:
    """Recompute the assignments of the given employees (all active ones by default)."""
    rules = list(
        session.scalars(
            sa.select(RequirementRule)
            .join(RequirementRule.course)
            .where(RequirementRule.active, Course.status == CourseStatus.ACTIVE)
        )
    )
    if employees is None:
        employees = session.scalars(
            sa.select(Employee)
            .where(Employee.active, Employee.unit_id.is_not(None))
            .options(selectinload(Employee.unit))
        )
    employee_list = list(employees)
    existing: dict[int, dict[int, Assignment]] = defaultdict(dict)
    for assignment in session.scalars(
        sa.select(Assignment).where(Assignment.employee_id.in_([e.id for e in employee_list]))
    ):
        existing[assignment.employee_id][assignment.course_id] = assignment
    changes = AssignmentChanges()
    now = clock.utcnow()
    for employee in employee_list:
        required: dict[int, tuple[date, RequirementRule]] = {}
        if employee.active:
            for rule in rules:
                if rule_applies(rule, employee):
                    due = due_date_for(rule, employee)
                    current = required.get(rule.course_id)
                    if current is None or due < current[0]:
                        required[rule.course_id] = (due, rule)
        for course_id, (due, rule) in required.items():
            assignment = existing[employee.id].get(course_id)
            if assignment is None:
                session.add(
                    Assignment(
                        employee_id=employee.id,
                        course_id=course_id,
                        rule_id=rule.id,
                        due_date=due,
                    )
                )
                changes.created += 1
            else:
                if assignment.removed_at is not None:
                    assignment.removed_at = None
                    changes.reopened += 1
                if assignment.due_date != due or assignment.rule_id != rule.id:
                    assignment.due_date, assignment.rule_id = due, rule.id
                    changes.updated += 1
        for course_id, assignment in existing[employee.id].items():
            if course_id not in required and assignment.removed_at is None:
                assignment.removed_at = now
                changes.closed += 1
    session.flush()
    return changes
