"""Importing an HR-system export: plan against the database, then apply in one transaction.

:mod:`import_parsing` turns the file into rows or per-row problems without looking at the
database. :func:`plan_import` decides, row by row, what would be created, updated, left
unchanged or rejected, and which units are unknown; nothing is written. :func:`apply_import`
plans again and writes every accepted row in the caller's transaction with bulk statements,
so 20,000 rows take seconds, and anything that fails rolls the whole import back.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import (
    AuditEvent,
    Employee,
    ImportBatch,
    ImportStatus,
    Municipality,
    Sector,
    Unit,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.audit_trail import FIELD_LABELS
from training_tracker.services.core.bounded_reading import Limits
from training_tracker.services.core.scope import managed_municipality_ids
from training_tracker.services.imports.parsing import (
    ImportFileError,
    ImportRow,
    ParsedFile,
    RowProblem,
    Table,
    check_table,
    parse_employee_file,
)
from training_tracker.services.imports.reading import read_upload, table_from_json, table_to_json
from training_tracker.services.people.account_guard import refusals
from training_tracker.services.people.accounts import queue_invitations
from training_tracker.services.people.email_change import emails_changed
from training_tracker.services.training.assignments import AssignmentChanges, recompute_assignments

# The fields an import sets, and the Swedish column names used when a problem concerns a
# column the file does not have.
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
COLUMN_NAMES = {
    "municipality": "kommun",
    "unit": "enhet",
    "sector": "sektor",
    "email": "e-post",
    "employee_number": "anställningsnummer",
    "manager_email": "chefens e-post",
    "end_date": "slutdatum",
}


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


@dataclass
class ImportPlan:
    parsed: ParsedFile
    rows: list[PlannedRow]
    problems: list[RowProblem]  # the parser's and the planner's
    warnings: list[RowProblem]  # accepted rows with something to know (an unknown manager)
    new_units: list[NewUnit]  # units the file names that do not exist (created if HR chose)
    rejected_lines: set[int]

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


@dataclass
class ImportResult:
    plan: ImportPlan
    assignments: AssignmentChanges
    invitations: int
    units_created: int


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


class _Planner:
    """Holds what the database knows, loaded once in a few queries, while rows are planned."""

    def __init__(
        self,
        session: Session,
        parsed: ParsedFile,
        *,
        managed: frozenset[int] | None,
        default_municipality_id: int | None,
        unknown_units: UnknownUnits,
        today: date,
    ) -> None:
        self.session = session
        self.parsed = parsed
        self.managed = managed
        self.default_municipality_id = default_municipality_id
        self.unknown_units = unknown_units
        self.today = today
        self.problems: list[RowProblem] = list(parsed.problems)
        self.warnings: list[RowProblem] = []
        self.rejected: set[int] = set(parsed.rejected_lines)
        self.municipalities: dict[str, tuple[int, str]] = {}
        for municipality_id, code, name in session.execute(
            sa.select(Municipality.id, Municipality.code, Municipality.name)
        ):
            self.municipalities[_key(name)] = (municipality_id, name)
            self.municipalities[code] = (municipality_id, name)
        self.municipality_names = {mid: name for mid, name in self.municipalities.values()}
        self.units: dict[tuple[int, str], int] = {
            (municipality_id, _key(name)): unit_id
            for unit_id, municipality_id, name in session.execute(
                sa.select(Unit.id, Unit.municipality_id, Unit.name)
            )
        }
        self.new_units: dict[tuple[int, str], dict[str, Any]] = {}
        columns = [getattr(Employee, name) for name in IMPORTED_FIELDS]
        self.by_email: dict[str, dict[str, Any]] = {}
        self.by_number: dict[tuple[int, str], dict[str, Any]] = {}
        emails = {row.email for row in parsed.rows} | {
            row.manager_email for row in parsed.rows if row.manager_email
        }
        numbers = {row.employee_number for row in parsed.rows if row.employee_number}
        # Everyone the file could match: by e-mail anywhere, by number in any municipality
        # (narrowed per row below). Loaded as plain tuples in chunks, not ORM objects.
        for chunk in _chunks(sorted(emails)):
            self._load(
                sa.select(Employee.id, Employee.active, *columns).where(Employee.email.in_(chunk))
            )
        for chunk in _chunks(sorted(numbers)):
            self._load(
                sa.select(Employee.id, Employee.active, *columns).where(
                    Employee.employee_number.in_(chunk)
                )
            )
        self.claimed: dict[int, int] = {}  # employee id → line that matched it
        # (municipality, employee number) → first line: the parser compares municipalities as
        # written, so "Järfälla" and "0123" would both pass it.
        self.numbers: dict[tuple[int, str], int] = {}

    def _load(self, query: sa.Select) -> None:
        for row in self.session.execute(query).mappings():
            record = dict(row)
            self.by_email[record["email"]] = record
            if record["employee_number"] and record["municipality_id"] is not None:
                self.by_number[(record["municipality_id"], record["employee_number"])] = record

    def reject(self, row: ImportRow, column: str, value: str | None, message: str) -> None:
        header = self.parsed.columns.get(column, COLUMN_NAMES.get(column, column))
        self.problems.append(RowProblem(row.line, header, (value or "")[:100], message))
        self.rejected.add(row.line)

    def warn(self, row: ImportRow, column: str, value: str | None, message: str) -> None:
        header = self.parsed.columns.get(column, COLUMN_NAMES.get(column, column))
        self.warnings.append(RowProblem(row.line, header, (value or "")[:100], message))

    def municipality_of(self, row: ImportRow) -> int | None:
        if row.municipality:
            found = self.municipalities.get(_key(row.municipality)) or self.municipalities.get(
                row.municipality.strip()
            )
            if found is None:
                self.reject(row, "municipality", row.municipality, _("okänd kommun"))
                return None
            municipality_id = found[0]
        elif self.default_municipality_id is not None:
            municipality_id = self.default_municipality_id
        else:
            self.reject(row, "municipality", "", _("kommun saknas"))
            return None
        if self.managed is not None and municipality_id not in self.managed:
            self.reject(
                row,
                "municipality",
                row.municipality or self.municipality_names.get(municipality_id, ""),
                _("du kan inte importera personal till den kommunen"),
            )
            return None
        return municipality_id

    def match(self, row: ImportRow, municipality_id: int) -> dict[str, Any] | bool | None:
        """The existing employee this row is about, None for a new one, False if rejected."""
        by_email = self.by_email.get(row.email)
        by_number = (
            self.by_number.get((municipality_id, row.employee_number))
            if row.employee_number
            else None
        )
        if by_email and by_number and by_email["id"] != by_number["id"]:
            self.reject(
                row,
                "employee_number",
                row.employee_number,
                _("anställningsnumret tillhör en annan person än e-postadressen"),
            )
            return False
        existing = by_email or by_number
        if existing is None:
            return None
        if self.managed is not None and existing["municipality_id"] not in self.managed:
            self.reject(
                row, "email", row.email, _("e-postadressen används av en person i en annan kommun")
            )
            return False
        if existing["municipality_id"] is None:
            self.reject(row, "email", row.email, _("e-postadressen tillhör ett systemkonto"))
            return False
        if (first := self.claimed.get(existing["id"])) is not None:
            self.reject(row, "email", row.email, _("samma person som rad %(line)d", line=first))
            return False
        self.claimed[existing["id"]] = row.line
        return existing

    def number_free(self, row: ImportRow, municipality_id: int, existing: dict[str, Any]) -> bool:
        """A person moving to another municipality keeps their employee number (the cell is
        empty): is it free there? Rejects the row if not."""
        number = existing["employee_number"]
        if (first := self.numbers.setdefault((municipality_id, number), row.line)) != row.line:
            message = _("samma anställningsnummer som rad %(line)d", line=first)
            self.reject(row, "employee_number", number, message)
            return False
        holder = self.session.scalar(
            sa.select(Employee.id).where(
                Employee.municipality_id == municipality_id,
                Employee.employee_number == number,
                Employee.id != existing["id"],
            )
        )
        if holder is not None:
            message = _("anställningsnumret tillhör en annan person än e-postadressen")
            self.reject(row, "employee_number", number, message)
            return False
        return True

    def unit_of(
        self, row: ImportRow, municipality_id: int, existing: dict[str, Any] | None
    ) -> tuple[int | None, tuple[int, str] | None] | None:
        """(unit id, None) for a known unit, (None, key) for one to create; None if rejected."""
        if not row.unit:
            # An empty cell keeps the unit, unless the row moves the person to another
            # municipality: the old unit is not one of its units.
            if existing is not None and existing["municipality_id"] == municipality_id:
                return existing["unit_id"], None
            self.reject(row, "unit", "", _("enhet saknas"))
            return None
        key = (municipality_id, _key(row.unit))
        if (unit_id := self.units.get(key)) is not None:
            return unit_id, None
        # Listed either way, so the preview can show them and HR can choose.
        unknown = self.new_units.setdefault(
            key, {"name": row.unit, "sector": row.sector, "lines": []}
        )
        unknown["sector"] = unknown["sector"] or row.sector
        unknown["lines"].append(row.line)
        if self.unknown_units == UnknownUnits.REJECT:
            self.reject(row, "unit", row.unit, _("okänd enhet"))
            return None
        if unknown["sector"] is None:
            self.reject(row, "sector", "", _("okänd enhet, och sektor saknas för att skapa den"))
            return None
        return None, key

    def plan_row(self, row: ImportRow) -> PlannedRow | None:
        municipality_id = self.municipality_of(row)
        if municipality_id is None:
            return None
        if row.employee_number:
            key = (municipality_id, row.employee_number)
            if (first := self.numbers.setdefault(key, row.line)) != row.line:
                message = _("samma anställningsnummer som rad %(line)d", line=first)
                self.reject(row, "employee_number", row.employee_number, message)
                return None
        existing = self.match(row, municipality_id)
        if existing is False:
            return None
        assert existing is None or isinstance(existing, dict)
        if (
            existing is not None
            and not row.employee_number
            and existing["employee_number"]
            and existing["municipality_id"] != municipality_id
            and not self.number_free(row, municipality_id, existing)
        ):
            return None
        if (
            existing is not None
            and row.end_date is not None
            and row.hire_date is None
            and existing["hire_date"] is not None
            and row.end_date < existing["hire_date"]
        ):
            # Checked before the unit, so a rejected row never plans a unit to create.
            self.reject(
                row, "end_date", row.end_date.isoformat(), _("slutdatum är före anställningsdatum")
            )
            return None
        unit = self.unit_of(row, municipality_id, existing)
        if unit is None:
            return None
        unit_id, unit_key = unit
        values: dict[str, Any] = {
            "first_name": row.first_name,
            "last_name": row.last_name,
            "email": row.email,
            "municipality_id": municipality_id,
            "unit_id": unit_id,
        }
        # An empty cell keeps what is stored, except the end date: an export without one for a
        # person who had left means they are back. A column the file lacks changes nothing.
        if row.hire_date is not None:
            values["hire_date"] = row.hire_date
        if row.employee_number:
            values["employee_number"] = row.employee_number
        if "end_date" in self.parsed.columns:
            values["end_date"] = row.end_date
        if existing is None:
            values.setdefault("hire_date", None)
            values.setdefault("end_date", None)
        if existing is not None:
            changes = {
                name: [_iso(existing[name]), _iso(value)]
                for name, value in values.items()
                if existing[name] != value
            }
            left = existing["end_date"] is not None and existing["end_date"] <= self.today
            leaves_now = values.get("end_date", existing["end_date"])
            will_have_left = leaves_now is not None and leaves_now <= self.today
            planned = PlannedRow(
                row=row,
                action=RowAction.UPDATE if changes or unit_key else RowAction.UNCHANGED,
                municipality_id=municipality_id,
                employee_id=existing["id"],
                existing=existing,
                values=values,
                changes=changes,
                unit_key=unit_key,
                leaves=existing["active"] and will_have_left,
                returns=(not existing["active"] or left) and not will_have_left,
            )
            if (planned.returns or planned.leaves) and planned.action == RowAction.UNCHANGED:
                planned.action = RowAction.UPDATE
        else:
            planned = PlannedRow(
                row=row,
                action=RowAction.CREATE,
                municipality_id=municipality_id,
                values=values,
                unit_key=unit_key,
                leaves=row.end_date is not None and row.end_date <= self.today,
            )
        return planned

    def resolve_managers(self, planned_rows: list[PlannedRow]) -> None:
        """Managers named by e-mail: someone of the row's municipality, stored (active, or
        the manager the person has now) or accepted in this file. An empty cell keeps the
        stored manager, as other empty cells do; a new hire then has none."""
        if "manager_email" not in self.parsed.columns:
            return
        in_file = {p.row.email: p for p in planned_rows}
        for planned in planned_rows:
            email = planned.row.manager_email
            if not email:
                continue
            current = planned.existing["manager_id"] if planned.existing else None
            named = in_file.get(email)
            stored = self.by_email.get(email)
            if email == planned.row.email:
                self.warn(
                    planned.row,
                    "manager_email",
                    email,
                    _("en person kan inte vara sin egen chef; ingen chef sparas"),
                )
                continue
            if named is not None and named.municipality_id == planned.municipality_id:
                if named.employee_id is not None:
                    planned.values["manager_id"] = named.employee_id
                else:
                    planned.values["manager_email"] = email  # a new hire too: set on insert
            elif (
                named is None
                and stored is not None
                and stored["municipality_id"] == planned.municipality_id
                and (stored["active"] or stored["id"] == current)
            ):
                planned.values["manager_id"] = stored["id"]
            else:
                self.warn(
                    planned.row,
                    "manager_email",
                    email,
                    _("okänd chef; raden importeras utan chef"),
                )
                continue
            if planned.existing is None:
                continue
            if "manager_email" in planned.values:
                planned.action = RowAction.UPDATE  # the change is recorded when it is written
            elif current != planned.values["manager_id"]:
                planned.changes["manager_id"] = [current, planned.values["manager_id"]]
                planned.action = RowAction.UPDATE


def _chunks(values: list[str], size: int = 900) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


# Any constant that no other advisory lock of this database uses.
_IMPORT_LOCK_KEY = 7_310_001


def lock_imports(session: Session) -> None:
    """Wait until no other import is between its plan and its commit, and keep others out
    until this transaction ends. Without it, two imports of the same people at once (a
    nightly job and a manual run, two HR colleagues with the same export) would both plan to
    create them, and the second would fail on the unique e-mail."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_IMPORT_LOCK_KEY)))
    else:
        # SQLite has one write lock for the whole database; a write that changes nothing takes
        # it (waiting up to busy_timeout) and holds it until commit or rollback.
        session.execute(
            sa.update(ImportBatch)
            .where(sa.false())
            .values(status=ImportBatch.status)
            .execution_options(synchronize_session=False)
        )


def plan_import(
    session: Session,
    parsed: ParsedFile,
    *,
    user: Employee | None,
    default_municipality_id: int | None = None,
    unknown_units: UnknownUnits = UnknownUnits.REJECT,
    today: date | None = None,
    exclusive: bool = True,
) -> ImportPlan:
    """What importing ``parsed`` would do, row by row; writes nothing. ``user`` None (the
    command line) may import into every municipality. ``exclusive`` first takes the import
    lock (:func:`lock_imports`) for the rest of the transaction, so that the plan is still
    true when :func:`apply_import` writes it; a preview that is never applied passes False."""
    if exclusive:
        lock_imports(session)
    today = today or clock.today()
    planner = _Planner(
        session,
        parsed,
        managed=managed_municipality_ids(user) if user is not None else None,
        default_municipality_id=default_municipality_id,
        unknown_units=unknown_units,
        today=today,
    )
    planned_rows = [p for row in parsed.rows if (p := planner.plan_row(row)) is not None]
    planned_rows = _refuse_wider_accounts(session, planner, planned_rows, user)
    planner.resolve_managers(planned_rows)
    new_units = [
        NewUnit(
            municipality_id=municipality_id,
            municipality_name=planner.municipality_names[municipality_id],
            name=spec["name"],
            sector=spec["sector"],
            lines=tuple(spec["lines"]),
        )
        for (municipality_id, _name), spec in planner.new_units.items()
    ]
    return ImportPlan(
        parsed=parsed,
        rows=planned_rows,
        problems=sorted(planner.problems, key=lambda p: p.line),
        warnings=sorted(planner.warnings, key=lambda p: p.line),
        new_units=new_units,
        rejected_lines=planner.rejected,
    )


def _refuse_wider_accounts(
    session: Session, planner: _Planner, planned_rows: list[PlannedRow], user: Employee | None
) -> list[PlannedRow]:
    """Reject the rows that would change the e-mail, end date or status of someone whose
    roles reach further than ``user``'s (:mod:`account_guard`); the rest. A leaver whose
    stored end date has come leaves by a date someone set before."""
    guarded = {
        p.employee_id: p
        for p in planned_rows
        if p.employee_id is not None
        and (p.returns or "email" in p.changes or "end_date" in p.changes)
    }
    for employee_id, reason in refusals(session, user, guarded, row=True).items():
        row = guarded[employee_id].row
        column = "email" if "email" in guarded[employee_id].changes else "end_date"
        value = row.email if column == "email" else _iso(row.end_date)
        planner.reject(row, column, str(value or ""), reason)
    return [p for p in planned_rows if p.row.line not in planner.rejected]


def apply_import(
    session: Session,
    plan: ImportPlan,
    *,
    actor: Employee | None,
    invite: bool = True,
    batch: ImportBatch | None = None,
    today: date | None = None,
) -> ImportResult:
    """Write every accepted row of ``plan`` in the caller's transaction (the caller commits,
    or rolls back if anything raises: nothing is ever half-written)."""
    today = today or clock.today()
    now = clock.utcnow()
    actor_id = actor.id if actor else None
    batch_id = batch.id if batch else None

    # Only the unknown units that accepted rows need (HR chose to create them).
    needed = {p.unit_key for p in plan.rows if p.unit_key is not None}
    new_units = [
        Unit(municipality_id=u.municipality_id, name=u.name, sector=u.sector or Sector.OTHER)
        for u in plan.new_units
        if (u.municipality_id, _key(u.name)) in needed
    ]
    session.add_all(new_units)
    session.flush()
    unit_ids = {(unit.municipality_id, _key(unit.name)): unit.id for unit in new_units}
    for unit in new_units:
        audit_trail.record(
            session,
            "unit.created",
            actor=actor,
            object_type="unit",
            object_id=unit.id,
            after={"name": unit.name, "sector": unit.sector.value},
            import_batch_id=batch_id,
        )
    for planned in plan.rows:
        if planned.unit_key is not None:
            planned.values["unit_id"] = unit_ids[planned.unit_key]
            before = planned.existing["unit_id"] if planned.existing else None
            planned.changes["unit_id"] = [before, planned.values["unit_id"]]

    creates = [p for p in plan.rows if p.action == RowAction.CREATE]
    updates = [p for p in plan.rows if p.action == RowAction.UPDATE]
    ids_by_email = _insert_new_employees(session, creates, invite=invite, now=now)
    # Managers named by e-mail who are new in this same file.
    for planned in updates:
        email = planned.values.pop("manager_email", None)
        if email is not None:
            planned.values["manager_id"] = ids_by_email.get(email)
            before = planned.existing["manager_id"] if planned.existing else None
            planned.changes["manager_id"] = [before, planned.values["manager_id"]]
    if updates:
        current_versions = (
            dict(
                session.execute(
                    sa.select(Employee.id, Employee.session_version).where(
                        Employee.id.in_([p.employee_id for p in updates if p.leaves])
                    )
                ).all()
            )
            if any(p.leaves for p in updates)
            else {}
        )
        rows = []
        for planned in updates:
            values = {k: v for k, v in planned.values.items() if k in IMPORTED_FIELDS}
            values["id"] = planned.employee_id
            values["updated_at"] = now
            if planned.leaves:
                values["active"] = False
                values["session_version"] = current_versions[planned.employee_id] + 1
            elif planned.returns:
                values["active"] = True
            rows.append(values)
        # Grouped by the set of keys, since a bulk UPDATE needs the same columns per batch.
        by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for values in rows:
            by_keys.setdefault(tuple(sorted(values)), []).append(values)
        for group in by_keys.values():
            session.connection().execute(
                sa.update(Employee.__table__).where(Employee.__table__.c.id == sa.bindparam("_id")),
                [{("_id" if k == "id" else k): v for k, v in values.items()} for values in group],
            )
    events = []
    for planned in creates + updates:
        if planned.action == RowAction.CREATE:
            details = {
                "after": {k: _iso(v) for k, v in planned.values.items() if k in IMPORTED_FIELDS}
            }
            action = "employee.created"
        else:
            details = {"changes": planned.changes}
            action = "employee.updated"
        details["import_batch_id"] = batch_id
        details["line"] = planned.row.line
        events.append(
            {
                "occurred_at": now,
                "actor_id": actor_id,
                "action": action,
                "subject_employee_id": planned.employee_id,
                "object_type": "employee",
                "object_id": planned.employee_id,
                "details": details,
            }
        )
        if planned.leaves or planned.returns:
            events.append(
                {
                    "occurred_at": now,
                    "actor_id": actor_id,
                    "action": "employee.deactivated" if planned.leaves else "employee.reactivated",
                    "subject_employee_id": planned.employee_id,
                    "object_type": "employee",
                    "object_id": planned.employee_id,
                    "details": {"import_batch_id": batch_id},
                }
            )
    if events:
        session.connection().execute(sa.insert(AuditEvent.__table__), events)
    old_emails = {
        p.employee_id: p.changes["email"][0]
        for p in updates
        if "email" in p.changes and p.employee_id is not None
    }
    emails_changed(session, old_emails, actor=actor, via_import=True)
    audit_trail.record(
        session,
        "import.applied",
        actor=actor,
        object_type="import_batch",
        object_id=batch_id,
        summary=plan.summary(),
    )

    touched = {p.municipality_id for p in creates + updates}
    if touched:
        assignment_changes = recompute_assignments(
            session,
            Employee.id.in_(_ids_of(creates + updates))
            if len(creates + updates) < 500
            else Employee.municipality_id.in_(touched),
            today=today,
        )
    else:
        assignment_changes = AssignmentChanges()
    invitations = 0
    if invite:
        new_ids = [p.employee_id for p in creates if not p.leaves and p.employee_id is not None]
        invitations = queue_invitations(session, new_ids, actor=actor, mark_invited=False)
    if batch is not None:
        batch.status = ImportStatus.APPLIED
        batch.applied_at = now
        batch.summary = {**plan.summary(), "new_units": len(unit_ids), "invitations": invitations}
    return ImportResult(
        plan=plan,
        assignments=assignment_changes,
        invitations=invitations,
        units_created=len(unit_ids),
    )


def _insert_new_employees(
    session: Session, creates: list[PlannedRow], *, invite: bool, now: datetime
) -> dict[str, int]:
    """Insert the new employees with Core (not ORM objects: 20,000 rows in a second or two)
    and return their ids by e-mail. Those the file names as someone's manager go first, so
    the others get their manager id in the same INSERT; only a manager of a manager, both
    new, needs an UPDATE afterwards."""
    if not creates:
        return {}
    named_managers = {p.values.get("manager_email") for p in creates} - {None}
    first = [p for p in creates if p.values["email"] in named_managers]
    second = [p for p in creates if p.values["email"] not in named_managers]
    table = Employee.__table__
    ids_by_email: dict[str, int] = {}
    late_managers: list[dict[str, int]] = []
    for batch in (first, second):
        rows = []
        for planned in batch:
            manager_email = planned.values.pop("manager_email", None)
            if manager_email is not None:
                if manager_email in ids_by_email:
                    planned.values["manager_id"] = ids_by_email[manager_email]
                else:
                    late_managers.append(
                        {"_email": planned.values["email"], "_manager": manager_email}
                    )
            rows.append(
                dict.fromkeys(IMPORTED_FIELDS)
                | {k: v for k, v in planned.values.items() if k in IMPORTED_FIELDS}
                | {
                    "active": not planned.leaves,
                    "preferred_language": "sv",
                    "session_version": 1,
                    "created_at": now,
                    "updated_at": now,
                    # Set here rather than by a second UPDATE of every new row.
                    "invited_at": now if invite and not planned.leaves else None,
                }
            )
        if not rows:
            continue
        # A plain executemany, then the ids by e-mail (unique): on PostgreSQL this is about
        # twice as fast as INSERT … RETURNING, which SQLAlchemy builds as huge statements.
        session.connection().execute(sa.insert(table), rows)
        emails = [planned.values["email"] for planned in batch]
        for chunk in _chunks(emails):
            ids_by_email.update(
                session.execute(
                    sa.select(table.c.email, table.c.id).where(table.c.email.in_(chunk))
                )
                .tuples()
                .all()
            )
        for planned in batch:
            planned.employee_id = ids_by_email[planned.values["email"]]
    if late_managers:
        session.connection().execute(
            sa.update(table)
            .where(table.c.email == sa.bindparam("_email"))
            .values(manager_id=sa.bindparam("_manager_id")),
            [
                {"_email": row["_email"], "_manager_id": ids_by_email.get(row["_manager"])}
                for row in late_managers
            ],
        )
        late = {row["_email"]: row["_manager"] for row in late_managers}
        for planned in creates:
            if planned.values["email"] in late:
                planned.values["manager_id"] = ids_by_email.get(late[planned.values["email"]])
    return ids_by_email


def _ids_of(planned_rows: list[PlannedRow]) -> list[int]:
    return [p.employee_id for p in planned_rows if p.employee_id is not None]


# --- the stored file between preview and confirmation ---------------------------------------


def store_upload(
    session: Session,
    *,
    data: bytes,
    filename: str,
    user: Employee | None,
    municipality_id: int | None,
    table: Table,
) -> ImportBatch:
    batch = ImportBatch(
        municipality_id=municipality_id,
        uploaded_by_id=user.id if user else None,
        filename=filename[:255] or "import",
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        content=data,
        cells=table_to_json(table),
    )
    session.add(batch)
    session.flush()
    return batch


def batch_in_scope(session: Session, user: Employee, batch_id: int) -> ImportBatch | None:
    """An import the user may see and confirm: their own upload, into a municipality they
    manage (an admin: any)."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        return None
    managed = managed_municipality_ids(user)
    if managed is None:
        return batch
    if batch.municipality_id not in managed:
        return None
    return batch


def plan_batch(
    session: Session,
    batch: ImportBatch,
    *,
    user: Employee | None,
    unknown_units: UnknownUnits,
    today: date | None = None,
    exclusive: bool = False,
) -> ImportPlan:
    """Check the cells read from the file at upload and plan them; raises
    :class:`ImportFileError`. The preview plans without the import lock; :func:`confirm_batch`
    takes it (``exclusive``)."""
    parsed = check_table(table_from_json(batch.cells))
    return plan_import(
        session,
        parsed,
        user=user,
        default_municipality_id=batch.municipality_id,
        unknown_units=unknown_units,
        today=today,
        exclusive=exclusive,
    )


def claim_batch(session: Session, batch: ImportBatch) -> bool:
    """Mark the batch as being applied, atomically: of two confirmations at once (a double
    click, two tabs), one wins and the other is told it was imported already."""
    claimed = session.execute(
        sa.update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == ImportStatus.PREVIEWED)
        .values(status=ImportStatus.APPLYING)
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def rejection_counts(plan: ImportPlan) -> Counter[str]:
    """How many rows each reason rejected, for a short overview above the full list."""
    return Counter(problem.message for problem in plan.problems)


__all__ = [
    "ImportFileError",
    "ImportPlan",
    "ImportResult",
    "RowAction",
    "UnknownUnits",
    "apply_import",
    "batch_in_scope",
    "claim_batch",
    "lock_imports",
    "parse_employee_file",  # the command line reads the operator's file in its own process
    "plan_batch",
    "plan_import",
    "store_upload",
]


def receive_upload(
    session: Session,
    *,
    data: bytes,
    filename: str,
    user: Employee,
    municipality_id: int | None,
    max_bytes: int,
    max_rows: int,
    limits: Limits,
) -> ImportBatch:
    """Read an uploaded file (once, in a child held to ``limits``), check it and keep it with
    its cells for the preview; raises :class:`ImportFileError` (nothing stored) when it cannot
    be read at all."""
    if len(data) > max_bytes:
        raise ImportFileError(
            _("Filen är för stor (högst %(mb)d MB).", mb=max_bytes // (1024 * 1024))
        )
    managed = managed_municipality_ids(user)
    if managed is not None and municipality_id not in managed:
        raise ImportFileError(_("Du kan bara importera personal till din egen kommun."))
    table = read_upload(data, max_rows=max_rows, limits=limits)
    check_table(table, max_rows=max_rows)
    batch = store_upload(
        session,
        data=data,
        filename=filename,
        user=user,
        municipality_id=municipality_id,
        table=table,
    )
    audit_trail.record(
        session,
        "import.uploaded",
        actor=user,
        object_type="import_batch",
        object_id=batch.id,
        filename=batch.filename,
        size_bytes=batch.size_bytes,
    )
    return batch


def discard_batch(session: Session, batch: ImportBatch, *, actor: Employee) -> None:
    """Drop an import that will not be confirmed; the file's personal data goes with it."""
    batch.status = ImportStatus.DISCARDED
    batch.content = b""
    batch.cells = None
    audit_trail.record(
        session, "import.discarded", actor=actor, object_type="import_batch", object_id=batch.id
    )


def confirm_batch(
    session: Session,
    batch: ImportBatch,
    *,
    user: Employee,
    unknown_units: UnknownUnits,
    invite: bool,
    today: date | None = None,
) -> ImportResult | None:
    """Plan the stored file again and write it, in the caller's transaction. None when another
    confirmation got there first (the claim is part of the same transaction, so a failure
    rolls it back too and the import can be confirmed again)."""
    if not claim_batch(session, batch):
        return None
    plan = plan_batch(
        session, batch, user=user, unknown_units=unknown_units, today=today, exclusive=True
    )
    return apply_import(session, plan, actor=user, invite=invite, batch=batch, today=today)


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
