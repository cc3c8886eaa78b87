"""An import's plan in words for the preview page: why rows were rejected, and what the
updates change, with ids turned into the names of units, municipalities and managers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from training_tracker.models import Employee, Municipality, Unit
from training_tracker.services.core.audit_trail import FIELD_LABELS
from training_tracker.services.imports.plan import ImportPlan, RowAction

__all__ = ["ChangeLine", "describe_changes", "rejection_counts"]


def rejection_counts(plan: ImportPlan) -> Counter[str]:
    """How many rows each reason rejected, for a short overview above the full list."""
    return Counter(problem.message for problem in plan.problems)


@dataclass(frozen=True)
class ChangeLine:
    line: int
    name: str
    email: str
    changes: list[tuple[str, str, str]]  # (field label, before, after)


def describe_changes(session: Session, plan: ImportPlan, *, limit: int) -> list[ChangeLine]:
    """The first ``limit`` updates in words: ids become unit, municipality and manager names."""
    updates = [p for p in plan.rows if p.action == RowAction.UPDATE][:limit]
    unit_ids: set[int] = set()
    person_ids: set[int] = set()
    for planned in updates:
        for name, (before, after) in planned.changes.items():
            if name == "unit_id":
                unit_ids.update(v for v in (before, after) if v is not None)
            elif name == "manager_id":
                person_ids.update(v for v in (before, after) if v is not None)
    units = dict(
        session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).tuples().all()
    )
    people = {
        employee_id: f"{first} {last}"
        for employee_id, first, last in session.execute(
            sa.select(Employee.id, Employee.first_name, Employee.last_name).where(
                Employee.id.in_(person_ids)
            )
        )
    }
    municipalities = dict(
        session.execute(sa.select(Municipality.id, Municipality.name)).tuples().all()
    )

    def shown(name: str, value: Any) -> str:
        if value is None or value == "":
            return "–"
        lookup = {"unit_id": units, "manager_id": people, "municipality_id": municipalities}
        if name in lookup:
            return lookup[name].get(value, str(value))
        return str(value)

    lines = []
    for planned in updates:
        changes = [
            (str(FIELD_LABELS.get(name, name)), shown(name, before), shown(name, after))
            for name, (before, after) in planned.changes.items()
        ]
        if planned.returns:
            changes.append((str(_l("Status")), str(_l("Slutat")), str(_l("Anställd"))))
        lines.append(
            ChangeLine(
                planned.row.line,
                f"{planned.row.first_name} {planned.row.last_name}",
                planned.row.email,
                changes,
            )
        )
    return lines
