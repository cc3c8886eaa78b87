"""``flask demo seed``: synthetic, repeatable demo data, from a few hundred people in the six
municipalities to the staff of every municipality in Sweden.

Every random choice comes from one ``random.Random(seed)`` and every date is counted from the
``today`` argument, so the same seed and day give the same people, units, rules, assignments
and completions. Only the clock-stamped columns (``created_at``, audit timestamps) and the
salted password hash differ between runs.

The size decides the geography (:func:`~training_tracker.demo.municipalities.municipalities_for`);
:mod:`~training_tracker.demo.plan` lays out the units, then the seeder below writes one
municipality at a time, so memory stays bounded by the largest: its people
(:mod:`~training_tracker.demo.people`), their assignments and completions
(:mod:`~training_tracker.demo.records`), in bulk (:mod:`~training_tracker.demo.bulk`).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.demo import DemoError
from training_tracker.demo.bulk import BulkWriter, keys_and_indexes_built_at_the_end, reserve_ids
from training_tracker.demo.certificates import attach_certificates
from training_tracker.demo.municipalities import (
    HOME_MUNICIPALITY,
    MUNICIPALITIES,
    ensure_municipalities,
    municipalities_for,
)
from training_tracker.demo.people import (
    ACCOUNTS,
    ADMIN_EMAIL,
    EMPLOYEE_COLUMNS,
    Person,
    Staff,
    employee_row,
    grant_roles,
    reviewers,
)
from training_tracker.demo.plan import PlannedTown, PlannedUnit, RuleInForce, plan
from training_tracker.demo.programme import seed_programme
from training_tracker.demo.records import ASSIGNMENT_COLUMNS, COMPLETION_COLUMNS, Records
from training_tracker.demo.rules import (
    RULES,
    course_infos,
    create_rules,
    ensure_local_course,
    rules_in_force,
)
from training_tracker.models import (
    Assignment,
    Completion,
    Course,
    Employee,
    Municipality,
    RequirementRule,
    Unit,
)
from training_tracker.services.people.accounts import hash_password
from training_tracker.services.training.catalog import providers_from_config, sync_catalog

# Every unit has a manager, so there must be at least one person per unit (at most 120).
MIN_EMPLOYEES = 150
# From this size on, a seed on PostgreSQL sets the bulk tables' keys and indexes aside while
# it loads (see bulk.keys_and_indexes_built_at_the_end). Smaller seeds keep them: their per-row
# upkeep costs less than the rebuild. Every seed on PostgreSQL ends with ANALYZE.
LARGE_SEED_EMPLOYEES = 20_000
PROGRESS_EVERY = 50_000  # employees between two progress lines
FLUSH_ROWS = 30_000  # rows held in memory before they are written


@dataclass
class DemoResult:
    accounts: list[tuple[str, str]]  # (role label, email)
    employees: int
    password: str
    municipalities: int = len(MUNICIPALITIES)


Progress = Callable[[str], None]


def seed_demo(
    session: Session,
    *,
    employees: int = 600,
    seed: int = 1,
    password: str,
    today: date,
    progress: Progress | None = None,
) -> DemoResult:
    """Fill an empty database with demo data; the caller commits. ``progress`` is told how far
    a long run has come."""
    if employees < MIN_EMPLOYEES:
        raise DemoError(
            f"The demo needs at least {MIN_EMPLOYEES} employees (every unit has a manager); "
            f"{employees} requested."
        )
    for model, what in ((Employee, "employees"), (Unit, "units"), (RequirementRule, "rules")):
        if session.scalar(sa.select(sa.func.count()).select_from(model)):
            raise DemoError(
                f"The database already has {what}. Demo data can only be seeded into an empty "
                "database; create a new one (or drop this one) and run it again."
            )
    chosen = municipalities_for(employees)
    rng = random.Random(seed)
    towns = plan(rng, chosen, employees)

    municipalities = ensure_municipalities(session, chosen)
    sync_catalog(session, providers_from_config())
    ensure_local_course(session)
    courses = {c.key: c for c in session.scalars(sa.select(Course))}
    missing = [key for key, _sectors, _codes in RULES if key not in courses]
    if missing:
        raise DemoError(f"Course(s) missing from the catalogue: {', '.join(missing)}.")
    create_rules(session, courses, municipalities, today)
    session.flush()

    seeder = _Seeder(session, rng, today, towns, municipalities, progress)
    accounts = seeder.run(employees, hash_password(password))
    return DemoResult(
        accounts=accounts, employees=employees, password=password, municipalities=len(towns)
    )


class _Seeder:
    """Writes the planned municipalities' people, assignments and completions."""

    def __init__(
        self,
        session: Session,
        rng: random.Random,
        today: date,
        towns: list[PlannedTown],
        municipalities: dict[str, Municipality],
        progress: Progress | None,
    ):
        self.session = session
        self.connection = session.connection()
        self.rng = rng
        self.today = today
        self.now = clock.utcnow()
        self.towns = towns
        self.progress = progress
        for town in towns:
            town.id = municipalities[town.code].id
        self.writer = BulkWriter(
            self.connection,
            [
                (Employee.__table__, EMPLOYEE_COLUMNS),
                (Assignment.__table__, ASSIGNMENT_COLUMNS),
                (Completion.__table__, COMPLETION_COLUMNS),
            ],
        )
        self.employees = self.writer.rows["employees"]
        self.assignments = self.writer.rows["assignments"]
        self.records = Records(
            rng, today, course_infos(session), self.assignments, self.writer.rows["completions"]
        )
        self.rules = rules_in_force(session, today)
        self.slot_ids: dict[str, int] = {}
        self.managers: list[tuple[int, PlannedUnit]] = []
        self.total = self.written = self.reported = 0
        self.next_report = PROGRESS_EVERY
        self.password_hash = ""

    # -- the whole run -------------------------------------------------------------------------

    def run(self, total: int, password_hash: str) -> list[tuple[str, str]]:
        self.total = total
        units = [unit for town in self.towns for unit in town.units]
        shared_rules: dict[tuple[RuleInForce, ...], tuple[RuleInForce, ...]] = {}
        first_unit = reserve_ids(self.connection, Unit.__table__, len(units))
        for unit in units:
            unit.id = first_unit + unit.index
            rules = tuple(rule for rule in self.rules if rule.applies(unit))
            # One object per set: Records caches the required courses by the tuple's id.
            unit.rules = shared_rules.setdefault(rules, rules)
        with BulkWriter(
            self.connection,
            [(Unit.__table__, ("id", "municipality_id", "name", "sector", "active"))],
        ) as unit_writer:
            unit_writer.rows["units"].extend(
                (unit.id, unit.town.id, unit.name, unit.sector.value, True) for unit in units
            )

        # The admin, then everyone; one hash for every demo account: they share the password.
        ids = itertools.count(reserve_ids(self.connection, Employee.__table__, total + 1))
        admin_id = next(ids)
        staff = Staff(self.rng, self.today, ids)
        no_municipality = (None, None, None, None, None, None)  # number, where, manager, dates
        account = (password_hash, 1, False, self.now, self.now)
        self.employees.append(
            (admin_id, "Demo", "Administratör", ADMIN_EMAIL, *no_municipality, True, "sv", *account)
        )
        self.password_hash = password_hash
        bulk_tables = [table.name for table, _columns in self.writer.tables]
        large = self.writer.postgres and total >= LARGE_SEED_EMPLOYEES
        with keys_and_indexes_built_at_the_end(self.connection, bulk_tables, large=large):
            with self.writer:
                for town in self.towns:
                    self._seed_town(town, staff)
            self._report(final=True)
            if large:
                self._phase("indexes and foreign keys …")

        self._phase("roles …")
        home = next(town for town in self.towns if town.code == HOME_MUNICIPALITY)
        grant_roles(
            self.session,
            now=self.now,
            managers=self.managers,
            admin_id=admin_id,
            accounts=self.slot_ids,
            home_municipality_id=home.id,
        )
        self._phase("the joint programme …")
        seed_programme(self.session, self.rng, self.today, self.slot_ids["organiser"])
        self._phase("certificates …")
        # Their own generator, drawn last from the seed's: nothing before them changes.
        attach_certificates(
            self.session,
            random.Random(self.rng.getrandbits(64)),
            home_municipality_id=home.id,
        )
        if self.writer.postgres:
            # Whatever the size: where autovacuum is off or has not come by yet, a planner
            # without statistics takes the tables for empty and nest-loops over thousands
            # of rows (the HR start page took 4 s on 17,000 employees).
            self._phase("ANALYZE …")
            for table in ("units", "employees", "role_grants", "assignments", "completions"):
                self.connection.exec_driver_sql(f"ANALYZE {table}")
        return list(ACCOUNTS)

    def _say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    def _phase(self, message: str) -> None:
        """What a long run is doing after the rows (short runs are quiet)."""
        if self.total >= PROGRESS_EVERY:
            self._say(message)

    def _report(self, final: bool = False) -> None:
        """A line every PROGRESS_EVERY employees, and at the end of a long run."""
        at_end = final and self.total >= PROGRESS_EVERY and self.reported < self.written
        if self.written >= self.next_report or at_end:
            self._say(f"employees {self.written}/{self.total}")
            self.reported = self.written
            while self.next_report <= self.written:
                self.next_report += PROGRESS_EVERY

    # -- one municipality ----------------------------------------------------------------------

    def _seed_town(self, town: PlannedTown, staff: Staff) -> None:
        people = staff.plan(town)
        town_reviewers = reviewers(town)
        # The managers' rows go first: everyone else's rows refer to them (staff to their
        # manager, completions and exemptions to who reviewed them), and each batch written
        # must find what it refers to already there.
        for person in people:
            if person.is_manager:
                self._write_employee(person)
        for person in people:
            if not person.is_manager:
                self._write_employee(person)
            self.records.add(person, town_reviewers)
            if len(self.assignments) >= FLUSH_ROWS:
                self.writer.flush()

    def _write_employee(self, person: Person) -> None:
        self.employees.append(
            employee_row(
                person,
                active=person.employed_on(self.today),
                password_hash=self.password_hash,
                now=self.now,
            )
        )
        self.written += 1
        if self.written >= self.next_report:
            self._report()
        if person.slot:
            self.slot_ids[person.slot] = person.id
        if person.is_manager:
            self.managers.append((person.id, person.unit))
