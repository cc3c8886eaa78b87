"""What an import would do: the plan of a checked file, row by row, and its summary.

:mod:`.planning` makes an :class:`ImportPlan` without writing anything, :mod:`.applying` writes
one, and the preview shows one (:mod:`.preview`). Also the few helpers both sides need to
agree on: the fields an import sets and how unit and municipality names are compared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from training_tracker.models import Sector
from training_tracker.services.imports.parsing import ImportRow, ParsedFile, RowProblem

__all__ = ["ImportPlan", "NewUnit", "PlannedRow", "RowAction", "UnknownUnits"]

# The fields of an employee an import sets.
IMPORTED_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "municipality_id",
    "unit_id",
    "hire_date",
    "employee_number",
    "manager_id",
    "end_date",
]


class UnknownUnits(StrEnum):
    CREATE = "create"  # create them, with the sector the file gives
    REJECT = "reject"  # reject the rows that name them


class RowAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class NewUnit:
    municipality_id: int
    municipality_name: str
    name: str
    sector: Sector | None
    lines: tuple[int, ...]

    @property
    def token(self) -> str:
        return unit_token(self.municipality_id, self.name)


@dataclass
class PlannedRow:
    row: ImportRow
    action: RowAction
    municipality_id: int
    employee_id: int | None = None  # the matched employee (update / unchanged)
    values: dict[str, Any] = field(default_factory=dict)  # the fields after the import
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field: [before, after]
    existing: dict[str, Any] | None = None  # the matched employee's stored fields
    unit_key: tuple[int, str] | None = None  # a unit to be created
    leaves: bool = False  # the import deactivates them (end date reached)
    returns: bool = False  # they had left; the import makes them active again
    # What the file would change that the municipality's directory manages (SCIM): field:
    # [the stored value, the file's]. Skipped, the stored value kept (:mod:`..people.scim.managed`).
    kept: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class ImportPlan:
    parsed: ParsedFile
    rows: list[PlannedRow]
    problems: list[RowProblem]  # the parser's and the planner's
    warnings: list[RowProblem]  # accepted rows with something to know (an unknown manager)
    new_units: list[NewUnit]  # units the file names that do not exist (created if HR chose)
    rejected_lines: set[int]
    # The municipalities of the file whose directory provisions their staff over SCIM.
    provisioned: list[str] = field(default_factory=list)

    @property
    def kept_rows(self) -> list[PlannedRow]:
        """The rows whose file values the directory manages and the import skips."""
        return [planned for planned in self.rows if planned.kept]

    def count(self, action: RowAction) -> int:
        return sum(1 for planned in self.rows if planned.action == action)

    @property
    def created(self) -> int:
        return self.count(RowAction.CREATE)

    @property
    def updated(self) -> int:
        return self.count(RowAction.UPDATE)

    @property
    def unchanged(self) -> int:
        return self.count(RowAction.UNCHANGED)

    @property
    def rejected(self) -> int:
        return len(self.rejected_lines)

    @property
    def leavers(self) -> int:
        return sum(1 for planned in self.rows if planned.leaves)

    @property
    def returners(self) -> int:
        return sum(1 for planned in self.rows if planned.returns)

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.parsed.total_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "leavers": self.leavers,
            "returners": self.returners,
            "unknown_units": len(self.new_units),
        }


def name_key(text: str) -> str:
    """A unit's or municipality's name as compared: case and spacing do not matter."""
    return " ".join(text.split()).casefold()


def unit_token(municipality_id: int, name: str) -> str:
    """A unit to be created, named in a form field: its municipality and a digest of its
    compared name, so that HR's choice of sector follows the unit, not its place in a list."""
    digest = hashlib.sha256(name_key(name).encode()).hexdigest()[:16]
    return f"{municipality_id}-{digest}"


def iso(value: Any) -> Any:
    """A value as the audit trail and the plan's changes keep it: dates as ISO text."""
    return value.isoformat() if isinstance(value, date) else value


def chunks(values: list[str], size: int = 900) -> list[list[str]]:
    """``values`` in lists short enough for one ``IN (...)`` on every database."""
    return [values[i : i + size] for i in range(0, len(values), size)]
