"""An import's plan in words for the preview page: why rows were rejected, and what the
updates change, with ids turned into the names of units, municipalities and managers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from training_tracker.models import Employee, Municipality, Unit
from training_tracker.services.core.audit_trail import FIELD_LABELS
from training_tracker.services.imports.parsing import ParsedFile
from training_tracker.services.imports.plan import ImportPlan, RowAction

__all__ = [
    "ChangeLine",
    "NewPerson",
    "describe_changes",
    "describe_creations",
    "describe_kept",
    "file_format",
    "rejection_counts",
]


def rejection_counts(plan: ImportPlan) -> Counter[str]:
    """How many rows each reason rejected, for a short overview above the full list."""
    return Counter(problem.message for problem in plan.problems)


@dataclass(frozen=True)
class ChangeLine:
    line: int
    name: str
    email: str
    changes: list[tuple[str, str, str]]  # (field label, before, after)


def _namer(session: Session, pairs: list[dict[str, list[Any]]]) -> Callable[[str, Any], str]:
    """Shows a field's value in words: ids become unit, municipality and manager names (a
    value that is text already, such as an unknown unit's name, is shown as it is)."""
    unit_ids: set[int] = set()
    person_ids: set[int] = set()
    for fields in pairs:
        for name, values in fields.items():
            ids = {v for v in values if isinstance(v, int)}
            if name == "unit_id":
                unit_ids.update(ids)
            elif name == "manager_id":
                person_ids.update(ids)
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
        if name in lookup and isinstance(value, int):
            return lookup[name].get(value, str(value))
        return str(value)

    return shown


def describe_changes(session: Session, plan: ImportPlan, *, limit: int) -> list[ChangeLine]:
    """The first ``limit`` updates in words: ids become unit, municipality and manager names."""
    updates = [p for p in plan.rows if p.action == RowAction.UPDATE][:limit]
    shown = _namer(session, [p.changes for p in updates])
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


def describe_kept(session: Session, plan: ImportPlan, *, limit: int) -> list[ChangeLine]:
    """The first ``limit`` rows whose values the municipality's directory manages and the
    import skips: (field, the directory's value that stays, the file's value skipped)."""
    kept = plan.kept_rows[:limit]
    shown = _namer(session, [p.kept for p in kept])
    return [
        ChangeLine(
            planned.row.line,
            f"{planned.row.first_name} {planned.row.last_name}",
            planned.row.email,
            [
                (str(FIELD_LABELS.get(name, name)), shown(name, stored), shown(name, filed))
                for name, (stored, filed) in planned.kept.items()
            ],
        )
        for planned in kept
    ]


def file_format(parsed: ParsedFile) -> str:
    """How the file was read, in words HR recognises rather than codec names."""
    if parsed.encoding == "xlsx":
        return _("Filen är en Excel-fil (XLSX).")
    if parsed.encoding == "cp1252":
        read = _("Filen var sparad från Excel (Windows), med teckenkodningen Windows-1252.")
    else:
        read = _("Filen är sparad som UTF-8.")
    if parsed.delimiter == ",":
        return read + " " + _("Kolumnerna skiljs åt med komma.")
    return read + " " + _("Kolumnerna skiljs åt med semikolon.")


@dataclass(frozen=True)
class NewPerson:
    line: int
    name: str
    email: str
    unit: str
    new_unit: bool  # created by this import
    municipality: str
    hire_date: date | None
    leaves: bool  # the file's end date has passed: created as a leaver


def describe_creations(session: Session, plan: ImportPlan, *, limit: int) -> list[NewPerson]:
    """The first ``limit`` people the import would create, with their unit's name."""
    creates = [p for p in plan.rows if p.action == RowAction.CREATE][:limit]
    unit_ids = {p.values["unit_id"] for p in creates if p.values.get("unit_id") is not None}
    units = dict(
        session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).tuples().all()
    )
    municipalities = dict(
        session.execute(sa.select(Municipality.id, Municipality.name)).tuples().all()
    )
    people = []
    for planned in creates:
        unit_id = planned.values.get("unit_id")
        people.append(
            NewPerson(
                line=planned.row.line,
                name=f"{planned.row.first_name} {planned.row.last_name}",
                email=planned.row.email,
                unit=units.get(unit_id, "") if unit_id is not None else planned.row.unit or "",
                new_unit=planned.unit_key is not None,
                municipality=municipalities.get(planned.municipality_id, ""),
                hire_date=planned.row.hire_date,
                leaves=planned.leaves,
            )
        )
    return people
