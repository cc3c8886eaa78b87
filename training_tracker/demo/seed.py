"""Synthetic, repeatable demo data (``flask demo seed``): from a few hundred people in the six
municipalities to the staff of every municipality in Sweden.

Every random choice comes from one ``random.Random(seed)`` and every date is counted from the
``today`` argument, so the same seed and day give the same people, units, rules, assignments
and completions. Only the clock-stamped columns (``created_at``, audit timestamps) and the
salted password hash differ between runs.

The size decides the geography: the six municipalities below :data:`REGION_FROM_EMPLOYEES`,
Stockholm County's 26 below :data:`NATION_FROM_EMPLOYEES`, all 290 from there on, with staff in
proportion to the population and units sized like real ones.

Rows are written in bulk, never as ORM objects one by one: COPY on PostgreSQL (psycopg's
``cursor.copy`` on the session's own connection, so inside the caller's transaction) and
``executemany`` on SQLite, one municipality at a time so memory stays bounded by the largest.
Assignments are computed here with the same rule as ``assignments.required_by_rules`` and
written with their history (backdated, leavers' closed), which costs less than a recompute plus
an update of millions of rows; the tests prove them equal to what ``recompute_assignments``
makes.
"""

from __future__ import annotations

import itertools
import json
import queue
import random
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.demo import names as names
from training_tracker.models import (
    Assignment,
    AssignmentSource,
    AuditEvent,
    Completion,
    CompletionStatus,
    Course,
    CourseStatus,
    Employee,
    Municipality,
    Provider,
    RequirementRule,
    Role,
    RoleGrant,
    Sector,
    Unit,
)
from training_tracker.services.people.accounts import hash_password
from training_tracker.services.people.roles import grant_role
from training_tracker.services.training.assignments import rule_in_force
from training_tracker.services.training.catalog import providers_from_config, sync_catalog

if TYPE_CHECKING:
    import psycopg

MUNICIPALITIES: list[tuple[str, str]] = [
    ("0114", "Upplands Väsby"),
    ("0123", "Järfälla"),
    ("0139", "Upplands-Bro"),
    ("0163", "Sollentuna"),
    ("0183", "Sundbyberg"),
    ("0191", "Sigtuna"),
]
HOME_MUNICIPALITY = "0123"  # Järfälla: where the demo accounts work
COUNTY_CODE = "01"  # Stockholms län: the first two digits of its kommunkoder

# From these sizes on, the demo spans Stockholm County, then the whole country (the six have
# about 17,000 employees, the county about 100,000, every municipality together 850,000).
REGION_FROM_EMPLOYEES = 40_000
NATION_FROM_EMPLOYEES = 250_000
# From this size on, a seed on PostgreSQL sets the bulk tables' keys and indexes aside while
# it loads (see _keys_and_indexes_built_at_the_end). Smaller seeds keep them: their per-row
# upkeep costs less than the rebuild. Every seed on PostgreSQL ends with ANALYZE.
LARGE_SEED_EMPLOYEES = 20_000
PROGRESS_EVERY = 50_000  # employees between two progress lines
FLUSH_ROWS = 30_000  # rows held in memory before they are written

# Staff are spread in proportion to the population (thousands, ``demo_names.MUNICIPALITIES``).
POPULATION: dict[str, int] = {code: people for code, _name, people in names.MUNICIPALITIES}
# How staff spread over the sectors of a municipality: schools and care employ the most.
SECTOR_WEIGHTS: dict[Sector, float] = {
    Sector.SOCIAL_SERVICES: 1.6,
    Sector.SCHOOL: 3.0,
    Sector.LEISURE: 0.8,
    Sector.HEALTH_AND_CARE: 3.0,
    Sector.OTHER: 1.0,
}
UNITS_PER_SECTOR = (2, 4)  # at least, in a municipality of some size
STAFF_PER_UNIT = 40  # a large municipality has as many units as it takes for this
MIN_UNIT_STAFF = 6  # a small municipality has fewer units rather than tinier ones
# Every unit has a manager, so there must be at least one person per unit (at most 120).
MIN_EMPLOYEES = 150

DEMO_DOMAIN = "demo.example"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
HR_EMAIL = f"hr@{DEMO_DOMAIN}"
MANAGER_EMAIL = f"chef@{DEMO_DOMAIN}"
COORDINATOR_EMAIL = f"samordnare@{DEMO_DOMAIN}"
REGIONAL_COORDINATOR_EMAIL = f"region@{DEMO_DOMAIN}"
EMPLOYEE_EMAIL = f"medarbetare@{DEMO_DOMAIN}"

# A municipality's own course, as an admin would create it: a refresher that stays valid two
# years, so the demo has completions that expired and courses due again.
LOCAL_PROVIDER_KEY = "kommunen"
LOCAL_COURSE_KEY = "kommunen-repetition-vald"
LOCAL_COURSE_VALIDITY_MONTHS = 24

# Course key → sectors it is required for, in every municipality (None) or only in some.
RULES: list[tuple[str, tuple[Sector, ...], tuple[str, ...] | None]] = [
    (
        "nck-webbkurs-om-vald",
        (Sector.SOCIAL_SERVICES, Sector.SCHOOL, Sector.HEALTH_AND_CARE, Sector.LEISURE),
        None,
    ),
    ("socialstyrelsen-hrv-socialtjansten", (Sector.SOCIAL_SERVICES,), None),
    ("socialstyrelsen-hrv-halso-och-sjukvarden", (Sector.HEALTH_AND_CARE,), None),
    ("skolverket-arbeta-mot-hrv", (Sector.SCHOOL,), None),
    ("webbkursheder-hrv", (Sector.SOCIAL_SERVICES,), ("0123", "0191")),
    (LOCAL_COURSE_KEY, (Sector.SOCIAL_SERVICES, Sector.HEALTH_AND_CARE), None),
]
RULE_DUE_DAYS = 90
RULE_YEARS = 2  # the rules began this long ago

# People.
TENURE_MEAN_YEARS = 7.0  # hire dates spread over decades, most within the last few years
TENURE_MAX_YEARS = 40
NEW_HIRE_SHARE = 0.03  # hired in the current month
LEAVER_SHARE = 0.06  # left in the last two years (kept until the retention job)
LEAVING_SHARE = 0.01  # has given notice: an end date within three months
ENGLISH_SHARE = 0.05
# Completions, per assignment, in a unit of average diligence (units and municipalities vary).
EXEMPT_SHARE = 0.02
COMPLETED_WHEN_DUE = 0.75  # the due date has passed
COMPLETED_BEFORE_DUE = 0.35  # a new hire, still within the due days
COMPLETED_BY_LEAVERS = 0.60
REPORTED_SHARE = 0.09  # awaiting verification
REJECTED_SHARE = 0.04
BUSY_REPORTED_SHARE = 0.40  # in the demo manager's unit, so the demo has a queue to verify
BUSY_REJECTED_SHARE = 0.10
REPORTED_AGAIN_SHARE = 0.5  # of rejected reports, reported again later
RENEWED_SHARE = 0.5  # of expired completions, renewed
COMPLETION_YEARS = 3  # the earliest completions of a course without validity …
VALID_COURSE_COMPLETION_YEARS = 4  # … and of one with: some of those have expired
REPORTED_WITHIN_DAYS = 45  # reports awaiting verification are this recent at most

DISTRICT_SUFFIXES = ("norra", "södra", "östra", "västra", "centrum")


# Plain strings in the rows: an enum member's attribute costs more, millions of times.
_RULE = AssignmentSource.RULE.value
_REPORTED = CompletionStatus.REPORTED.value
_VERIFIED = CompletionStatus.VERIFIED.value
_REJECTED = CompletionStatus.REJECTED.value


class DemoError(ValueError):
    """Demo data cannot be created; the message is for the operator."""


@dataclass
class DemoResult:
    accounts: list[tuple[str, str]]  # (role label, email)
    employees: int
    password: str
    municipalities: int = len(MUNICIPALITIES)


Progress = Callable[[str], None]


def ensure_municipalities(session: Session) -> dict[str, Municipality]:
    """The six municipalities, keyed by kommunkod; creates the missing ones (idempotent)."""
    return _ensure_municipalities(session, MUNICIPALITIES)


def municipalities_for(employees: int) -> list[tuple[str, str]]:
    """(kommunkod, name) of the municipalities a demo of this size spans, by code."""
    if employees >= NATION_FROM_EMPLOYEES:
        return [(code, name) for code, name, _people in names.MUNICIPALITIES]
    if employees >= REGION_FROM_EMPLOYEES:
        return [
            (code, name)
            for code, name, _people in names.MUNICIPALITIES
            if code.startswith(COUNTY_CODE)
        ]
    return list(MUNICIPALITIES)


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
    towns = _plan(rng, chosen, employees)

    municipalities = _ensure_municipalities(session, chosen)
    sync_catalog(session, providers_from_config())
    _ensure_local_course(session)
    courses = {c.key: c for c in session.scalars(sa.select(Course))}
    missing = [key for key, _sectors, _codes in RULES if key not in courses]
    if missing:
        raise DemoError(f"Course(s) missing from the catalogue: {', '.join(missing)}.")
    _create_rules(session, courses, municipalities, today)
    session.flush()

    seeder = _Seeder(session, rng, today, towns, municipalities, progress)
    accounts = seeder.run(employees, hash_password(password))
    return DemoResult(
        accounts=accounts, employees=employees, password=password, municipalities=len(towns)
    )


# --- the plan: municipalities, units, how many people in each ---------------------------------


@dataclass(slots=True)
class _Unit:
    index: int
    town: _Town
    name: str
    sector: Sector
    diligence: float  # how keen the unit is on courses: completion chances are multiplied by it
    headcount: int = 1  # the manager
    slots: list[str] = field(default_factory=list)  # demo accounts among the staff
    id: int = 0
    manager_id: int = 0
    rules: tuple[_Rule, ...] = ()
    busy: bool = False  # the demo manager's: more reports await verification


@dataclass(slots=True)
class _Town:
    code: str
    name: str
    units: list[_Unit] = field(default_factory=list)
    id: int = 0


def _plan(rng: random.Random, chosen: list[tuple[str, str]], total: int) -> list[_Town]:
    """Units per municipality and sector, and how many people each has."""
    population = sum(POPULATION[code] for code, _name in chosen)
    sector_total = sum(SECTOR_WEIGHTS.values())
    six = {code for code, _name in MUNICIPALITIES}
    towns: list[_Town] = []
    units: list[_Unit] = []
    for code, name in chosen:
        town = _Town(code, name)
        towns.append(town)
        expected = total * POPULATION[code] / population
        places = _places(rng, name, expected)
        diligence = rng.uniform(0.85, 1.1)
        for sector in Sector:
            staff = expected * SECTOR_WEIGHTS[sector] / sector_total
            fewest = rng.randint(*UNITS_PER_SECTOR)
            if code not in six:  # the six keep two to four, as the small demo always had
                fewest = min(fewest, max(1, int(staff // MIN_UNIT_STAFF)))
            count = max(fewest, round(staff / STAFF_PER_UNIT))
            for unit_name in _unit_names(rng, sector, count, places):
                unit = _Unit(
                    len(units), town, unit_name, sector, diligence * rng.uniform(0.8, 1.15)
                )
                town.units.append(unit)
                units.append(unit)

    home = next(town for town in towns if town.code == HOME_MUNICIPALITY)
    manager_unit = next(u for u in home.units if u.sector == Sector.SOCIAL_SERVICES)
    office_unit = next(u for u in home.units if u.sector == Sector.OTHER)
    manager_unit.slots = ["manager", "employee"]  # the unit's manager is the first
    manager_unit.busy = True
    office_unit.slots = ["", "hr", "coordinator", "regional-coordinator"]
    for unit in (manager_unit, office_unit):
        unit.headcount = len(unit.slots)

    remaining = total - sum(unit.headcount for unit in units)
    if remaining < 0:
        raise DemoError(
            f"{total} employees are too few for {len(towns)} municipalities with {len(units)} "
            f"units; at least {total - remaining} are needed."
        )
    shares = _largest_remainder(remaining, [POPULATION[town.code] for town in towns])
    for town, share in zip(towns, shares, strict=True):
        in_sector = Counter(unit.sector for unit in town.units)
        weights = [
            SECTOR_WEIGHTS[unit.sector] / in_sector[unit.sector] * rng.uniform(0.6, 1.4)
            for unit in town.units
        ]
        for position in rng.choices(range(len(town.units)), weights=weights, k=share):
            town.units[position].headcount += 1
    return towns


def _places(rng: random.Random, name: str, expected_staff: float) -> list[str]:
    """Districts to name units after: the six's real ones, the town itself elsewhere, and
    made-up ones when a large municipality needs more."""
    own = list(names.PLACES.get(name, ()))
    if not own and re.fullmatch(r"\w+", name):
        own = [name]
    wanted = max(4, round(expected_staff / 300))
    extra = min(len(names.GENERIC_PLACES), max(0, wanted - len(own)))
    return own + rng.sample(names.GENERIC_PLACES, extra)


def _unit_names(rng: random.Random, sector: Sector, count: int, places: list[str]) -> list[str]:
    """``count`` distinct unit names: each template once, at a random place; then every
    template at other places; then districts of those (Hemtjänst Ekdal norra)."""
    templates = names.UNIT_TEMPLATES[sector.value]
    found: dict[str, None] = {}

    def fill(template: str, place: str) -> str:
        return template.format(place=place, stem=_stem(place), genitive=_genitive(place))

    for template in rng.sample(templates, len(templates)):
        if len(found) >= count:
            return list(found)
        found.setdefault(fill(template, rng.choice(places)))
    pairs = [(t, p) for t in templates if "{" in t for p in places]
    rng.shuffle(pairs)
    for template, place in pairs:
        if len(found) >= count:
            return list(found)
        found.setdefault(fill(template, place))
    bases = list(found)
    for suffix in itertools.chain(DISTRICT_SUFFIXES, (str(n) for n in itertools.count(2))):
        for base in bases:
            if len(found) >= count:
                return list(found)
            found.setdefault(f"{base} {suffix}")
    raise AssertionError("unreachable")


def _stem(place: str) -> str:
    """The first part of a compound: Viksjö → Viksjöskolan, Kallhäll → Kallhällsskolan."""
    if place in names.PLACE_STEMS:
        return names.PLACE_STEMS[place]
    return place if place[-1].lower() in "aeiouyåäös" else place + "s"


def _genitive(place: str) -> str:
    return place if place[-1].lower() in "sxz" else place + "s"


# --- catalogue, municipalities and rules (a few rows: the ORM) --------------------------------


def _ensure_municipalities(
    session: Session, wanted: Sequence[tuple[str, str]]
) -> dict[str, Municipality]:
    existing = {m.code: m for m in session.scalars(sa.select(Municipality))}
    for code, name in wanted:
        if code not in existing:
            municipality = Municipality(code=code, name=name)
            session.add(municipality)
            existing[code] = municipality
    session.flush()
    return {code: existing[code] for code, _name in wanted}


def _ensure_local_course(session: Session) -> None:
    """The municipalities' own refresher course: local, so ``catalog sync`` keeps it."""
    if session.scalar(sa.select(Course.id).where(Course.key == LOCAL_COURSE_KEY)):
        return
    provider = session.scalar(sa.select(Provider).where(Provider.key == LOCAL_PROVIDER_KEY))
    if provider is None:
        provider = Provider(
            key=LOCAL_PROVIDER_KEY,
            name="Kommunens egna utbildningar",
            website=f"https://{DEMO_DOMAIN}/utbildning",
        )
        session.add(provider)
        session.flush()
    session.add(
        Course(
            key=LOCAL_COURSE_KEY,
            provider_id=provider.id,
            title="Repetition: våld i nära relationer",
            title_en="Refresher: violence in close relationships",
            description=(
                "Kommunens egen repetition för dig som möter våldsutsatta i arbetet: "
                "rutiner, frågor att ställa och vart du hänvisar. Gäller i två år."
            ),
            url=f"https://{DEMO_DOMAIN}/utbildning/repetition-vald",
            audience=[Sector.SOCIAL_SERVICES.value, Sector.HEALTH_AND_CARE.value],
            length_minutes=90,
            issues_certificate=False,
            validity_months=LOCAL_COURSE_VALIDITY_MONTHS,
            default_due_days=RULE_DUE_DAYS,
            is_local=True,
        )
    )
    session.flush()


def _create_rules(
    session: Session,
    courses: dict[str, Course],
    municipalities: dict[str, Municipality],
    today: date,
) -> None:
    applies_from = _years_before(today, RULE_YEARS)
    rules = []
    for key, sectors, codes in RULES:
        for code in codes or (None,):
            if code is not None and code not in municipalities:
                continue
            for sector in sectors:
                rules.append(
                    RequirementRule(
                        course_id=courses[key].id,
                        municipality_id=municipalities[code].id if code else None,
                        sector=sector,
                        unit_id=None,
                        due_days=RULE_DUE_DAYS,
                        applies_from=applies_from,
                        active=True,
                    )
                )
    session.add_all(rules)
    session.flush()


# --- rows in bulk -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """What assignments need of a rule in force."""

    id: int
    course_id: int
    municipality_id: int | None
    sector: Sector | None
    unit_id: int | None
    due_days: int
    applies_from: date
    for_new_hires: bool
    for_existing_staff: bool


@dataclass(frozen=True, slots=True)
class _CourseInfo:
    id: int
    validity_months: int | None
    available_from: date | None


_EMPLOYEE_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "employee_number",
    "municipality_id",
    "unit_id",
    "manager_id",
    "hire_date",
    "end_date",
    "active",
    "preferred_language",
    "password_hash",
    "session_version",
    "digest_opt_out",
    "created_at",
    "updated_at",
)
_ASSIGNMENT_COLUMNS = (
    "employee_id",
    "course_id",
    "rule_id",
    "source",
    "due_date",
    "assigned_at",
    "removed_at",
    "exempt",
    "exemption_reason",
    "exempted_at",
    "exempted_by_id",
)
_COMPLETION_COLUMNS = (
    "employee_id",
    "course_id",
    "completed_on",
    "expires_on",
    "status",
    "note",
    "reported_at",
    "reported_by_id",
    "reviewed_at",
    "reviewed_by_id",
    "rejection_reason",
)


class _BulkWriter:
    """Rows for several tables, written in bulk, the tables in the order given (the ones
    referred to first): COPY on PostgreSQL, executemany elsewhere.

    On PostgreSQL a second thread runs the COPYs, so that the database stores one batch (on
    the other core) while this thread makes the next; psycopg waits for the server without
    holding the GIL. Use it in a ``with`` block: leaving writes what is left and waits for it.
    """

    def __init__(self, connection: sa.Connection, tables: list[tuple[sa.Table, tuple[str, ...]]]):
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.tables = tables
        self.rows: dict[str, list[tuple[object, ...]]] = {table.name: [] for table, _ in tables}
        self._batches: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> _BulkWriter:
        if self.postgres:
            driver = self.connection.connection.driver_connection
            self._thread = threading.Thread(
                target=self._copy_batches, args=(driver,), name="demo-copy", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_details: object) -> None:
        try:
            if error_type is None:
                self.flush()
        finally:
            if self._thread is not None:
                self._batches.put(None)
                self._thread.join()
                self._thread = None
        if error_type is None and self._error is not None:
            raise self._error

    def flush(self) -> None:
        for table, columns in self.tables:
            rows = self.rows[table.name]
            if rows:
                self._write(table, columns, rows)
                rows.clear()

    def _write(self, table: sa.Table, columns: tuple[str, ...], rows: list[tuple[object, ...]]):
        if self.postgres:
            if self._error is not None:
                raise self._error
            assert self._thread is not None, "use the writer in a with block"
            statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
            # COPY's text format, made here: psycopg's write_row costs several times more
            # per row, and there are millions.
            text = "".join("\t".join(map(_copy_field, row)) + "\n" for row in rows)
            self._batches.put((statement, text))
        else:
            # executemany on the driver, each value stored as SQLAlchemy itself would store it
            # (its bind processors): without the per-row work of a Core insert.
            dialect = self.connection.dialect
            processors = [table.c[name].type.bind_processor(dialect) for name in columns]
            statement = (
                f"INSERT INTO {table.name} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})"
            )
            if any(processors):
                rows = [
                    tuple(
                        value if process is None else process(value)
                        for process, value in zip(processors, row, strict=True)
                    )
                    for row in rows
                ]
            self.connection.exec_driver_sql(statement, rows)

    def _copy_batches(self, driver: psycopg.Connection[object]) -> None:
        while (batch := self._batches.get()) is not None:
            if self._error is not None:
                continue  # the first error is raised in the main thread; drain the rest
            statement, text = batch
            try:
                with driver.cursor() as cursor, cursor.copy(statement) as copy:
                    copy.write(text)
            except BaseException as error:  # noqa: BLE001 - re-raised in the main thread
                self._error = error


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: object) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, dict):
        return json.dumps(value).translate(_COPY_ESCAPES)
    return str(value)  # numbers; dates and naive timestamps in ISO form


@contextmanager
def _keys_and_indexes_built_at_the_end(
    connection: sa.Connection, tables: list[str], *, large: bool
) -> Iterator[None]:
    """On PostgreSQL, drop the tables' foreign keys, unique constraints and secondary indexes
    while rows are copied in, and build them again afterwards: each in one pass over the
    table (a sort, a join) instead of one B-tree insertion or lookup per row, as the manual
    advises for populating a database. Per row, they took most of the national seed's time.
    Primary keys stay. The definitions are read from the database, so everything comes back
    exactly as it was; DDL is transactional, so a seed that fails restores them with its
    rollback."""
    if connection.dialect.name != "postgresql" or not large:
        yield
        return
    in_tables = sa.bindparam("tables", expanding=True)
    keys = connection.execute(
        sa.text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype IN ('f', 'u')"
            " AND conrelid::regclass::text IN :tables"
            " ORDER BY contype, conrelid::regclass::text, conname"  # foreign keys first
        ).bindparams(in_tables),
        {"tables": tables},
    ).all()
    indexes = connection.execute(
        sa.text(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indrelid::regclass::text IN :tables AND NOT indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint"
            "  WHERE conindid = indexrelid AND contype IN ('p', 'u', 'x'))"
            " ORDER BY 1"
        ).bindparams(in_tables),
        {"tables": tables},
    ).all()
    quote = connection.dialect.identifier_preparer.quote
    for table, name, _definition in keys:
        connection.exec_driver_sql(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    for name, _definition in indexes:
        connection.exec_driver_sql(f"DROP INDEX {quote(name)}")
    yield
    # Big sorts: more memory than the default 64 MB, for this transaction only.
    connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for _name, definition in indexes:
        connection.exec_driver_sql(definition)
    for table, name, definition in reversed(keys):  # unique constraints, then foreign keys
        connection.exec_driver_sql(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
        )


def _reserve_ids(connection: sa.Connection, table: sa.Table, count: int) -> int:
    """The first of ``count`` consecutive ids nobody else will be given, for rows written
    with their ids (COPY cannot return the ones it made)."""
    if connection.dialect.name == "postgresql":
        first = connection.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence(:t, 'id'),"
                " nextval(pg_get_serial_sequence(:t, 'id')) + :n - 1) - :n + 1"
            ),
            {"t": table.name, "n": max(count, 1)},
        ).scalar_one()
        return int(first)
    return int(connection.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1


class _Seeder:
    """Writes the planned municipalities' people, assignments and completions."""

    def __init__(
        self,
        session: Session,
        rng: random.Random,
        today: date,
        towns: list[_Town],
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
        self.writer = _BulkWriter(
            self.connection,
            [
                (Employee.__table__, _EMPLOYEE_COLUMNS),  # type: ignore[list-item]
                (Assignment.__table__, _ASSIGNMENT_COLUMNS),  # type: ignore[list-item]
                (Completion.__table__, _COMPLETION_COLUMNS),  # type: ignore[list-item]
            ],
        )
        self.employees = self.writer.rows["employees"]
        self.assignments = self.writer.rows["assignments"]
        self.completions = self.writer.rows["completions"]
        self.courses = {
            course.id: _CourseInfo(
                course.id,
                course.validity_months,
                course.available_from.date() if course.available_from else None,
            )
            for course in session.scalars(sa.select(Course))
        }
        self.rules = [
            _Rule(
                rule.id,
                rule.course_id,
                rule.municipality_id,
                rule.sector,
                rule.unit_id,
                rule.due_days,
                rule.applies_from,
                rule.for_new_hires,
                rule.for_existing_staff,
            )
            for rule in session.scalars(
                sa.select(RequirementRule)
                .join(Course, Course.id == RequirementRule.course_id)
                .where(rule_in_force(today), Course.status == CourseStatus.ACTIVE)
                .order_by(RequirementRule.id)
            )
        ]
        self._required_cache: dict[tuple[int, date], list[tuple[_Rule, date]]] = {}
        self.month_start = today.replace(day=1)
        self.two_years_ago = _years_before(today, 2)
        self.earliest_completion = _years_before(today, COMPLETION_YEARS)
        self.earliest_valid_completion = _years_before(today, VALID_COURSE_COMPLETION_YEARS)
        self.reported_from = today - timedelta(days=REPORTED_WITHIN_DAYS)
        self.slot_ids: dict[str, int] = {}
        self.managers: list[tuple[int, _Unit]] = []
        self.total = self.written = self.reported = 0
        self.next_report = PROGRESS_EVERY
        self.next_id = 0
        self.password_hash = ""

    # -- the whole run -------------------------------------------------------------------------

    def run(self, total: int, password_hash: str) -> list[tuple[str, str]]:
        self.total = total
        units = [unit for town in self.towns for unit in town.units]
        shared_rules: dict[tuple[_Rule, ...], tuple[_Rule, ...]] = {}
        first_unit = _reserve_ids(self.connection, Unit.__table__, len(units))  # type: ignore[arg-type]
        for unit in units:
            unit.id = first_unit + unit.index
            rules = tuple(rule for rule in self.rules if self._applies(rule, unit))
            unit.rules = shared_rules.setdefault(rules, rules)  # one object per set: see _required
        with _BulkWriter(
            self.connection,
            [(Unit.__table__, ("id", "municipality_id", "name", "sector", "active"))],  # type: ignore[list-item]
        ) as unit_writer:
            unit_writer.rows["units"].extend(
                (unit.id, unit.town.id, unit.name, unit.sector.value, True) for unit in units
            )

        # The admin, then everyone; one hash for every demo account: they share the password.
        self.next_id = _reserve_ids(self.connection, Employee.__table__, total + 1)  # type: ignore[arg-type]
        admin_id = self._new_id()
        no_municipality = (None, None, None, None, None, None)  # number, where, manager, dates
        account = (password_hash, 1, False, self.now, self.now)
        self.employees.append(
            (admin_id, "Demo", "Administratör", ADMIN_EMAIL, *no_municipality, True, "sv", *account)
        )
        self.password_hash = password_hash
        bulk_tables = [table.name for table, _columns in self.writer.tables]
        large = self.writer.postgres and total >= LARGE_SEED_EMPLOYEES
        with _keys_and_indexes_built_at_the_end(self.connection, bulk_tables, large=large):
            with self.writer:
                for town in self.towns:
                    self._seed_town(town)
            self._report(final=True)
            if large:
                self._phase("indexes and foreign keys …")

        self._grant_roles(admin_id)
        if self.writer.postgres:
            # Whatever the size: where autovacuum is off or has not come by yet, a planner
            # without statistics takes the tables for empty and nest-loops over thousands
            # of rows (the HR start page took 4 s on 17,000 employees).
            self._phase("ANALYZE …")
            for table in ("units", "employees", "role_grants", "assignments", "completions"):
                self.connection.exec_driver_sql(f"ANALYZE {table}")
        return [
            ("admin", ADMIN_EMAIL),
            ("hr", HR_EMAIL),
            ("manager", MANAGER_EMAIL),
            ("coordinator", COORDINATOR_EMAIL),
            ("regional-coordinator", REGIONAL_COORDINATOR_EMAIL),
            ("employee", EMPLOYEE_EMAIL),
        ]

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

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

    @staticmethod
    def _applies(rule: _Rule, unit: _Unit) -> bool:
        """``assignments.rule_matches_employee`` for the staff of ``unit``."""
        return (
            (rule.municipality_id is None or rule.municipality_id == unit.town.id)
            and (rule.unit_id is None or rule.unit_id == unit.id)
            and (rule.sector is None or rule.sector == unit.sector)
        )

    # -- one municipality ----------------------------------------------------------------------

    def _seed_town(self, town: _Town) -> None:
        people = [person for unit in town.units for person in self._plan_people(unit)]
        self._name_people(town, people)
        reviewers = self._reviewers(town)
        # The managers' rows go first: everyone else's rows refer to them (staff to their
        # manager, completions and exemptions to who reviewed them), and each batch written
        # must find what it refers to already there.
        for person in people:
            if person.is_manager:
                self._write_employee(person)
        for person in people:
            if not person.is_manager:
                self._write_employee(person)
            self._write_assignments(person, reviewers)
            if len(self.assignments) >= FLUSH_ROWS:
                self.writer.flush()

    def _plan_people(self, unit: _Unit) -> list[_Person]:
        rng, today = self.rng, self.today
        slots = unit.slots + [""] * (unit.headcount - len(unit.slots))
        people = []
        for position, slot in enumerate(slots):
            if rng.random() < NEW_HIRE_SHARE:
                hired = _random_day(rng, self.month_start, today)
            else:
                days = min(
                    int(rng.expovariate(1 / (TENURE_MEAN_YEARS * 365))), TENURE_MAX_YEARS * 365
                )
                hired = self.month_start - timedelta(days=1 + days)
            person = _Person(
                id=self._new_id(),
                first_name=_pick(rng, names.FIRST_NAMES),
                last_name=_pick(rng, names.LAST_NAMES),
                unit=unit,
                hire_date=hired,
                language="en" if rng.random() < ENGLISH_SHARE else "sv",
                is_manager=position == 0,
                slot=slot,
            )
            draw = rng.random()
            if slot:
                person.language = "sv"
            elif position > 0 and draw < LEAVER_SHARE and (today - hired).days > 60:
                first_possible = max(hired + timedelta(days=30), self.two_years_ago)
                person.end_date = _random_day(rng, first_possible, today - timedelta(days=1))
            elif position > 0 and draw < LEAVER_SHARE + LEAVING_SHARE:
                person.end_date = _random_day(
                    rng, today + timedelta(days=1), today + timedelta(days=90)
                )
            if slot == "employee":
                person.hire_date = today - timedelta(days=10)
            if person.is_manager:
                unit.manager_id = person.id
            people.append(person)
        return people

    def _name_people(self, town: _Town, people: list[_Person]) -> None:
        """E-mail addresses (unique: numbered when two share a name) and employee numbers
        in order of hiring, as an HR system would give them."""
        fixed = {
            "manager": MANAGER_EMAIL,
            "employee": EMPLOYEE_EMAIL,
            "hr": HR_EMAIL,
            "coordinator": COORDINATOR_EMAIL,
            "regional-coordinator": REGIONAL_COORDINATOR_EMAIL,
        }
        domain = f"{_domain_label(town)}.{DEMO_DOMAIN}"
        seen: Counter[str] = Counter()
        for person in people:
            if person.slot in fixed:
                person.email = fixed[person.slot]
                continue
            local = f"{_ascii(person.first_name)}.{_ascii(person.last_name)}"
            seen[local] += 1
            number = seen[local]
            person.email = f"{local}{number if number > 1 else ''}@{domain}"
        ordered = sorted(range(len(people)), key=lambda i: (people[i].hire_date, i))
        for number, index in enumerate(ordered, start=100001):
            people[index].employee_number = str(number)

    def _reviewers(self, town: _Town) -> list[int]:
        """Who verifies a manager's own reports: another manager of the municipality, the
        "övrigt" units (the office) first."""
        units = sorted(town.units, key=lambda u: (u.sector != Sector.OTHER, u.index))
        return [unit.manager_id for unit in units[:2]]

    def _write_employee(self, person: _Person) -> None:
        now, unit = self.now, person.unit
        self.employees.append(
            (
                person.id,
                person.first_name,
                person.last_name,
                person.email,
                person.employee_number,
                unit.town.id,
                unit.id,
                None if person.is_manager else unit.manager_id,
                person.hire_date,
                person.end_date,
                self._active(person),
                person.language,
                self.password_hash if person.slot else None,
                1,
                False,
                now,
                now,
            )
        )
        self.written += 1
        if self.written >= self.next_report:
            self._report()
        if person.slot:
            self.slot_ids[person.slot] = person.id
        if person.is_manager:
            self.managers.append((person.id, unit))

    def _active(self, person: _Person) -> bool:
        """Employed today: leavers' rows were made inactive by the nightly job."""
        return person.end_date is None or person.end_date > self.today

    def _write_assignments(self, person: _Person, reviewers: list[int]) -> None:
        unit, active = person.unit, self._active(person)
        reviewer = unit.manager_id
        if person.is_manager:
            reviewer = reviewers[0] if reviewers[0] != person.id else reviewers[1]
        for rule, due in self._required(unit.rules, person.hire_date):
            self._write_assignment(person, active, rule, due, reviewer)

    def _required(self, rules: tuple[_Rule, ...], hired: date) -> list[tuple[_Rule, date]]:
        """``assignments.required_by_rules`` for one person: per course, the rule giving the
        earliest due date (the lowest id on a tie)."""
        key = (id(rules), hired)  # units share their rule tuple, so its id stands for it
        cached = self._required_cache.get(key)
        if cached is not None:
            return cached
        best: dict[int, tuple[date, int, _Rule]] = {}
        for rule in rules:
            new_hire = hired >= rule.applies_from
            if not (rule.for_new_hires if new_hire else rule.for_existing_staff):
                continue
            due = (hired if new_hire else rule.applies_from) + timedelta(days=rule.due_days)
            current = best.get(rule.course_id)
            if current is None or (due, rule.id) < current[:2]:
                best[rule.course_id] = (due, rule.id, rule)
        result = [(best[c][2], best[c][0]) for c in sorted(best)]
        self._required_cache[key] = result
        return result

    # -- assignments and completions -----------------------------------------------------------

    def _write_assignment(
        self, person: _Person, active: bool, rule: _Rule, due: date, reviewer: int
    ) -> None:
        rng, today = self.rng, self.today
        assigned_on = max(person.hire_date, rule.applies_from)
        removed_at = None
        if not active:
            assert person.end_date is not None
            if assigned_on >= person.end_date:
                return  # left before the rule began
            removed_at = datetime.combine(person.end_date, time(2))  # the nightly job
        exempt = False
        reason = exempted_at = exempted_by = None
        if person.slot == "employee":
            pass  # the demo employee has every course still to do
        elif active and rng.random() < EXEMPT_SHARE:
            exempt = True
            reason = _pick(rng, names.EXEMPTION_REASONS)
            exempted_at = _moment(rng, _random_day(rng, assigned_on, today), today)
            exempted_by = reviewer
        else:
            self._write_completions(person, active, rule, due, reviewer)
        self.assignments.append(
            (
                person.id,
                rule.course_id,
                rule.id,
                _RULE,
                due,
                datetime.combine(assigned_on, time(6)),
                removed_at,
                exempt,
                reason,
                exempted_at,
                exempted_by,
            )
        )

    def _write_completions(
        self, person: _Person, active: bool, rule: _Rule, due: date, reviewer: int
    ) -> None:
        """Completions of one required course: none, one, or a history (rejected and
        reported again, expired and renewed)."""
        rng, today = self.rng, self.today
        if not active:
            share = COMPLETED_BY_LEAVERS
        elif due < today:
            share = COMPLETED_WHEN_DUE
        else:
            share = COMPLETED_BEFORE_DUE
        if rng.random() >= share * person.unit.diligence:
            return
        course = self.courses[rule.course_id]
        earliest = (
            self.earliest_valid_completion if course.validity_months else self.earliest_completion
        )
        start = max(person.hire_date, earliest)
        if course.available_from is not None:
            start = max(start, course.available_from)
        last = today if active else person.end_date - timedelta(days=1)  # type: ignore[operator]
        if start > last:
            return
        busy = person.unit.busy and not person.is_manager
        draw = rng.random()
        if not active:
            status = _VERIFIED
        elif draw < (BUSY_REPORTED_SHARE if busy else REPORTED_SHARE):
            status = _REPORTED
            start = max(start, self.reported_from)
        elif draw < (
            BUSY_REPORTED_SHARE + BUSY_REJECTED_SHARE if busy else REPORTED_SHARE + REJECTED_SHARE
        ):
            status = _REJECTED
        else:
            status = _VERIFIED
        completed_on = _random_day(rng, start, last)
        reviewed_on = self._write_completion(person.id, course, completed_on, status, reviewer)

        if status == _REJECTED and rng.random() < REPORTED_AGAIN_SHARE:
            assert reviewed_on is not None
            if reviewed_on < today:
                again = _random_day(rng, reviewed_on + timedelta(days=1), today)
                again_status = (
                    _REPORTED if again >= self.reported_from and rng.random() < 0.3 else _VERIFIED
                )
                self._write_completion(person.id, course, again, again_status, reviewer)
        elif (
            active
            and status == _VERIFIED
            and course.validity_months
            and _add_months(completed_on, course.validity_months) <= today
            and rng.random() < RENEWED_SHARE
        ):
            expired_on = _add_months(completed_on, course.validity_months)
            again = _random_day(rng, max(completed_on, expired_on - timedelta(days=60)), today)
            again_status = (
                _REPORTED if again >= self.reported_from and rng.random() < 0.3 else _VERIFIED
            )
            self._write_completion(person.id, course, again, again_status, reviewer)

    def _write_completion(
        self,
        employee_id: int,
        course: _CourseInfo,
        completed_on: date,
        status: str,
        reviewer: int,
    ) -> date | None:
        """One completion row; the day it was reviewed, if it was."""
        rng, today = self.rng, self.today
        reported_on = min(completed_on + timedelta(days=_below(rng, 4)), today)
        reported_at = _moment(rng, reported_on, today)
        reviewed_on = reviewed_at = reviewed_by = reason = None
        if status != _REPORTED:
            reviewed_on = min(reported_on + timedelta(days=_below(rng, 11)), today)
            reviewed_at = max(_moment(rng, reviewed_on, today), reported_at)
            reviewed_by = reviewer
            if status == _REJECTED:
                reason = _pick(rng, names.REJECTION_REASONS)
        self.completions.append(
            (
                employee_id,
                course.id,
                completed_on,
                _add_months(completed_on, course.validity_months)
                if course.validity_months
                else None,
                status,
                "",
                reported_at,
                employee_id,
                reviewed_at,
                reviewed_by,
                reason,
            )
        )
        return reviewed_on

    # -- roles ---------------------------------------------------------------------------------

    def _grant_roles(self, admin_id: int) -> None:
        """Every unit's manager in bulk (with the audit events ``grant_role`` would record);
        the handful of demo accounts through ``grant_role`` itself."""
        self._phase("roles …")
        count = len(self.managers)
        first = _reserve_ids(self.connection, RoleGrant.__table__, count)  # type: ignore[arg-type]
        grant_columns = ("id", "employee_id", "role", "unit_id", "granted_at")
        event_columns = ("occurred_at", "action", "subject_employee_id", "object_type")
        event_columns += ("object_id", "details")
        with _BulkWriter(
            self.connection,
            [
                (RoleGrant.__table__, grant_columns),  # type: ignore[list-item]
                (AuditEvent.__table__, event_columns),  # type: ignore[list-item]
            ],
        ) as writer:
            manager, now = Role.MANAGER.value, self.now
            for number, (employee_id, unit) in enumerate(self.managers):
                grant_id = first + number
                details = {"role": manager, "municipality_id": None, "unit_id": unit.id}
                writer.rows["role_grants"].append((grant_id, employee_id, manager, unit.id, now))
                writer.rows["audit_events"].append(
                    (now, "roles.granted", employee_id, "role_grant", grant_id, details)
                )

        session = self.session
        home = next(town for town in self.towns if town.code == HOME_MUNICIPALITY)
        home_municipality = session.get(Municipality, home.id)

        def person(slot: str) -> Employee:
            employee = session.get(Employee, self.slot_ids[slot])
            assert employee is not None
            return employee

        admin = session.get(Employee, admin_id)
        assert admin is not None
        grant_role(session, actor=None, employee=admin, role=Role.ADMIN)
        grant_role(
            session, actor=None, employee=person("hr"), role=Role.HR, municipality=home_municipality
        )
        grant_role(
            session,
            actor=None,
            employee=person("coordinator"),
            role=Role.COORDINATOR,
            municipality=home_municipality,
        )
        grant_role(
            session, actor=None, employee=person("regional-coordinator"), role=Role.COORDINATOR
        )
        session.flush()


@dataclass(slots=True)
class _Person:
    """One planned employee, before it becomes a row."""

    id: int
    first_name: str
    last_name: str
    unit: _Unit
    hire_date: date
    language: str = "sv"
    is_manager: bool = False
    slot: str = ""  # the demo account this person is, if any
    end_date: date | None = None
    email: str = ""
    employee_number: str = ""


# --- small helpers ---------------------------------------------------------------------------


def _domain_label(town: _Town) -> str:
    """The e-mail domain's first label: the name in ASCII, with the kommunkod when two names
    spell the same (Håbo and Habo)."""
    label = _ascii(town.name)
    clashes = [name for _code, name, _ in names.MUNICIPALITIES if _ascii(name) == label]
    return label if len(clashes) == 1 else f"{label}-{town.code}"


def _ascii(text: str) -> str:
    """Lower-case ASCII for e-mail addresses: Järfälla → jarfalla, Upplands Väsby →
    upplands-vasby."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = decomposed.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


# Draws from ``random()`` alone: ``randint`` and ``choice`` cost several times more, and the
# national demo makes millions of draws.


def _below(rng: random.Random, n: int) -> int:
    """0 … n - 1."""
    return int(rng.random() * n)


def _pick(rng: random.Random, items: Sequence[str]) -> str:
    return items[int(rng.random() * len(items))]


def _random_day(rng: random.Random, first: date, last: date) -> date:
    days = (last - first).days
    return first + timedelta(days=int(rng.random() * (days + 1))) if days > 0 else first


def _moment(rng: random.Random, day: date, today: date) -> datetime:
    """A naive-UTC office-hours timestamp on ``day``; just after midnight if ``day`` is today,
    so it is not in the future."""
    if day < today:
        return datetime.combine(day, time(6 + _below(rng, 9), _below(rng, 60)))
    return datetime.combine(day, time(0, _below(rng, 60)))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate_day in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate_day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights``, summing exactly to ``total``."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares
