"""Planning an import against the database: row by row, what would be created, updated, left
unchanged or rejected, and which units are unknown; nothing is written.

:func:`plan_import` is the entry point, for the command line and the upload's preview and
confirmation (:mod:`.batches`) alike. The rows are matched to people (:mod:`.matching`), their
units and managers looked up, and the rows refused that would change someone whose account
reaches further than the importer's (:mod:`..people.account_guard`). :func:`lock_imports`
keeps the plan true until :mod:`.applying` has written it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Employee, ImportBatch, Sector, Unit
from training_tracker.services.core.scope import managed_municipality_ids
from training_tracker.services.imports.matching import Matcher
from training_tracker.services.imports.parsing import ImportRow, ParsedFile
from training_tracker.services.imports.plan import (
    ImportPlan,
    NewUnit,
    PlannedRow,
    RowAction,
    UnknownUnits,
    iso,
    name_key,
    unit_token,
)
from training_tracker.services.people.account_guard import refusals
from training_tracker.services.people.scim.managed import (
    directory_managed,
    provisioned_municipalities,
)

__all__ = ["lock_imports", "plan_import"]


class _Planner(Matcher):
    """Plans one row at a time, with the units the database has, loaded once."""

    def __init__(
        self,
        session: Session,
        parsed: ParsedFile,
        *,
        managed: frozenset[int] | None,
        default_municipality_id: int | None,
        unknown_units: UnknownUnits,
        unit_sectors: Mapping[str, Sector],
        today: date,
    ) -> None:
        super().__init__(
            session, parsed, managed=managed, default_municipality_id=default_municipality_id
        )
        self.unknown_units = unknown_units
        self.unit_sectors = unit_sectors
        self.today = today
        self.units: dict[tuple[int, str], int] = {
            (municipality_id, name_key(name)): unit_id
            for unit_id, municipality_id, name in session.execute(
                sa.select(Unit.id, Unit.municipality_id, Unit.name)
            )
        }
        self.new_units: dict[tuple[int, str], dict[str, Any]] = {}
        # The fields the municipality's directory manages, of the people the file matches: the
        # import leaves them to it (skips the file's values) rather than fight it.
        self.directory = directory_managed(
            session,
            {record["id"] for record in self.by_email.values()}
            | {record["id"] for record in self.by_number.values()},
        )

    def directory_fields(self, existing: dict[str, Any] | None) -> frozenset[str]:
        return self.directory.get(existing["id"], frozenset()) if existing else frozenset()

    def directory_unit(
        self, row: ImportRow, municipality_id: int, existing: dict[str, Any], kept: dict[str, Any]
    ) -> tuple[int | None, None]:
        """The stored unit of someone whose unit the directory sets; notes the file's if it
        names another (by name when it is not a unit here)."""
        named = self.units.get((municipality_id, name_key(row.unit))) if row.unit else None
        if row.unit and named != existing["unit_id"]:
            kept["unit_id"] = [existing["unit_id"], named if named is not None else row.unit]
        return existing["unit_id"], None

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
        key = (municipality_id, name_key(row.unit))
        if (unit_id := self.units.get(key)) is not None:
            return unit_id, None
        # Listed either way, so the preview can show them and HR can choose.
        unknown = self.new_units.setdefault(
            key, {"name": row.unit, "sector": row.sector, "lines": []}
        )
        chosen = self.unit_sectors.get(unit_token(municipality_id, row.unit))
        unknown["sector"] = chosen or unknown["sector"] or row.sector
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
        managed = self.directory_fields(existing)
        if existing is not None and managed and municipality_id != existing["municipality_id"]:
            message = _("kommunens katalog (SCIM) hanterar personen; flytta personen i katalogen")
            self.reject(row, "municipality", row.municipality or "", message)
            return None
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
            and "end_date" not in managed
        ):
            # Checked before the unit, so a rejected row never plans a unit to create.
            self.reject(
                row, "end_date", row.end_date.isoformat(), _("slutdatum är före anställningsdatum")
            )
            return None
        kept: dict[str, list[Any]] = {}
        if existing is not None and "unit_id" in managed:
            unit: tuple[int | None, tuple[int, str] | None] | None = self.directory_unit(
                row, municipality_id, existing, kept
            )
        else:
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
            for name in sorted(managed & values.keys()):
                if values[name] != existing[name]:
                    kept.setdefault(name, [iso(existing[name]), iso(values[name])])
                    values[name] = existing[name]
            changes = {
                name: [iso(existing[name]), iso(value)]
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
                kept=kept,
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
            if "manager_id" in self.directory_fields(planned.existing):
                if stored is None or stored["id"] != current:
                    planned.kept["manager_id"] = [current, email]
                continue
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
    unit_sectors: Mapping[str, Sector] | None = None,
    today: date | None = None,
    exclusive: bool = True,
) -> ImportPlan:
    """What importing ``parsed`` would do, row by row; writes nothing. ``user`` None (the
    command line) may import into every municipality. ``exclusive`` first takes the import
    lock (:func:`lock_imports`) for the rest of the transaction, so that the plan is still
    true when :func:`.applying.apply_import` writes it; a preview that is never applied passes
    False. ``unit_sectors`` holds the sector HR chose for a unit to be created (by
    :func:`.plan.unit_token`); it wins over the file's."""
    if exclusive:
        lock_imports(session)
    today = today or clock.today()
    planner = _Planner(
        session,
        parsed,
        managed=managed_municipality_ids(user) if user is not None else None,
        default_municipality_id=default_municipality_id,
        unknown_units=unknown_units,
        unit_sectors=unit_sectors or {},
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
    provisioned = provisioned_municipalities(session)
    return ImportPlan(
        parsed=parsed,
        rows=planned_rows,
        problems=sorted(planner.problems, key=lambda p: p.line),
        warnings=sorted(planner.warnings, key=lambda p: p.line),
        new_units=new_units,
        rejected_lines=planner.rejected,
        provisioned=sorted(
            {
                planner.municipality_names[p.municipality_id]
                for p in planned_rows
                if p.municipality_id in provisioned
            }
        ),
    )


def _refuse_wider_accounts(
    session: Session, planner: _Planner, planned_rows: list[PlannedRow], user: Employee | None
) -> list[PlannedRow]:
    """Reject the rows that would change the e-mail, end date or status of someone whose
    roles reach further than ``user``'s (:mod:`..people.account_guard`); the rest. A leaver whose
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
        value = row.email if column == "email" else iso(row.end_date)
        planner.reject(row, column, str(value or ""), reason)
    return [p for p in planned_rows if p.row.line not in planner.rejected]
