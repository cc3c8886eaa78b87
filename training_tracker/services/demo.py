"""Synthetic, repeatable demo data across the six municipalities (``flask demo seed``).

Every random choice comes from one ``random.Random(seed)`` and every date is counted from the
``today`` argument, so the same seed and day give the same people, units, rules, assignments
and completions. Only what the database stamps by itself differs between runs (``created_at``,
``assigned_at``, audit timestamps) and the password hashes, which are salted.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Municipality,
    RequirementRule,
    Role,
    Sector,
    Unit,
)
from training_tracker.services import demo_names as names
from training_tracker.services.accounts import hash_password
from training_tracker.services.assignments import recompute_assignments
from training_tracker.services.catalog import providers_from_config, sync_catalog
from training_tracker.services.roles import grant_role

MUNICIPALITIES: list[tuple[str, str]] = [
    ("0114", "Upplands Väsby"),
    ("0123", "Järfälla"),
    ("0139", "Upplands-Bro"),
    ("0163", "Sollentuna"),
    ("0183", "Sundbyberg"),
    ("0191", "Sigtuna"),
]
HOME_MUNICIPALITY = "0123"  # Järfälla: where the demo accounts work

# Relative size (roughly the population in thousands): staff are spread in proportion.
MUNICIPALITY_WEIGHTS: dict[str, int] = {
    "0114": 48,
    "0123": 85,
    "0139": 31,
    "0163": 76,
    "0183": 55,
    "0191": 50,
}
# How staff spread over the units of a municipality: schools and care employ the most.
SECTOR_WEIGHTS: dict[Sector, float] = {
    Sector.SOCIAL_SERVICES: 1.6,
    Sector.SCHOOL: 3.0,
    Sector.LEISURE: 0.8,
    Sector.HEALTH_AND_CARE: 3.0,
    Sector.OTHER: 1.0,
}
UNITS_PER_SECTOR = (2, 4)
# Every unit has a manager, so there must be at least one person per unit (at most 120).
MIN_EMPLOYEES = 150

DEMO_DOMAIN = "demo.example"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
HR_EMAIL = f"hr@{DEMO_DOMAIN}"
MANAGER_EMAIL = f"chef@{DEMO_DOMAIN}"
COORDINATOR_EMAIL = f"samordnare@{DEMO_DOMAIN}"
REGIONAL_COORDINATOR_EMAIL = f"region@{DEMO_DOMAIN}"
EMPLOYEE_EMAIL = f"medarbetare@{DEMO_DOMAIN}"

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
]
RULE_DUE_DAYS = 90

HIRE_YEARS = 8
NEW_HIRE_SHARE = 0.03  # hired in the current month
LEAVER_SHARE = 0.05
ENGLISH_SHARE = 0.05
COMPLETION_SHARE = 0.55


class DemoError(ValueError):
    """Demo data cannot be created; the message is for the operator."""


@dataclass
class DemoResult:
    accounts: list[tuple[str, str]]  # (role label, email)
    employees: int
    password: str


@dataclass
class _Person:
    """One planned employee, before it becomes a row."""

    first_name: str
    last_name: str
    municipality_code: str
    unit_index: int
    hire_date: date
    end_date: date | None = None
    language: str = "sv"
    is_manager: bool = False
    slot: str | None = None  # the demo account this person is, if any
    email: str = ""
    employee_number: str = ""
    row: Employee | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.end_date is None


def ensure_municipalities(session: Session) -> dict[str, Municipality]:
    """The six municipalities, keyed by kommunkod; creates the missing ones (idempotent)."""
    existing = {m.code: m for m in session.scalars(sa.select(Municipality))}
    for code, name in MUNICIPALITIES:
        if code not in existing:
            municipality = Municipality(code=code, name=name)
            session.add(municipality)
            existing[code] = municipality
    session.flush()
    return {code: existing[code] for code, _name in MUNICIPALITIES}


def seed_demo(
    session: Session, *, employees: int = 600, seed: int = 1, password: str, today: date
) -> DemoResult:
    """Fill an empty database with demo data; the caller commits."""
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
    rng = random.Random(seed)
    municipalities = ensure_municipalities(session)
    sync_catalog(session, providers_from_config())
    courses = {c.key: c for c in session.scalars(sa.select(Course))}
    missing = [key for key, _sectors, _codes in RULES if key not in courses]
    if missing:
        raise DemoError(f"Course(s) missing from the catalogue: {', '.join(missing)}.")

    units = _create_units(session, rng, municipalities)
    code_of = {m.id: code for code, m in municipalities.items()}
    unit_codes = [code_of[unit.municipality_id] for unit in units]
    people = _plan_people(rng, units, unit_codes, employees, today)
    _assign_emails_and_numbers(people)
    admin = _insert_people(session, people, units, municipalities, password)
    by_slot: dict[str, Employee] = {
        p.slot: p.row for p in people if p.slot is not None and p.row is not None
    }

    grant_role(session, actor=None, employee=admin, role=Role.ADMIN)
    for person in people:
        if person.is_manager:
            assert person.row is not None
            grant_role(
                session,
                actor=None,
                employee=person.row,
                role=Role.MANAGER,
                unit=units[person.unit_index],
            )
    home = municipalities[HOME_MUNICIPALITY]
    grant_role(session, actor=None, employee=by_slot["hr"], role=Role.HR, municipality=home)
    grant_role(
        session,
        actor=None,
        employee=by_slot["coordinator"],
        role=Role.COORDINATOR,
        municipality=home,
    )
    grant_role(session, actor=None, employee=by_slot["regional-coordinator"], role=Role.COORDINATOR)

    _create_rules(session, courses, municipalities, today)
    recompute_assignments(session, today=today)
    _backdate_assignments(session)
    _create_completions(session, rng, people, units, unit_codes, today)

    accounts = [
        ("admin", ADMIN_EMAIL),
        ("hr", HR_EMAIL),
        ("manager", MANAGER_EMAIL),
        ("coordinator", COORDINATOR_EMAIL),
        ("regional-coordinator", REGIONAL_COORDINATOR_EMAIL),
        ("employee", EMPLOYEE_EMAIL),
    ]
    return DemoResult(accounts=accounts, employees=len(people), password=password)


def _backdate_assignments(session: Session) -> None:
    """The demo's rules began two years ago: each assignment dates from its person's hire or
    its rule's start, whichever came later, as if the product had been in use since then, so
    that reports for past dates (the trend) have something to count."""
    started = session.execute(
        sa.select(Assignment.id, Employee.hire_date, RequirementRule.applies_from)
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(RequirementRule, RequirementRule.id == Assignment.rule_id)
    ).all()
    if started:
        session.execute(
            sa.update(Assignment),
            [
                {"id": assignment_id, "assigned_at": datetime.combine(max(hired, began), time(6))}
                for assignment_id, hired, began in started
            ],
        )


# --- units -----------------------------------------------------------------------------------


def _create_units(
    session: Session, rng: random.Random, municipalities: dict[str, Municipality]
) -> list[Unit]:
    """Two to four units per sector and municipality: distinct templates, random places."""
    units: list[Unit] = []
    for code, name in MUNICIPALITIES:
        places = names.PLACES[name]
        for sector in Sector:
            templates = names.UNIT_TEMPLATES[sector.value]
            for template in rng.sample(templates, rng.randint(*UNITS_PER_SECTOR)):
                place = rng.choice(places)
                unit_name = template.format(
                    place=place, stem=_stem(place), genitive=_genitive(place)
                )
                units.append(
                    Unit(municipality_id=municipalities[code].id, name=unit_name, sector=sector)
                )
    session.add_all(units)
    session.flush()
    return units


def _stem(place: str) -> str:
    """The first part of a compound: Viksjö → Viksjöskolan, Kallhäll → Kallhällsskolan."""
    if place in names.PLACE_STEMS:
        return names.PLACE_STEMS[place]
    return place if place[-1].lower() in "aeiouyåäös" else place + "s"


def _genitive(place: str) -> str:
    return place if place[-1].lower() in "sxz" else place + "s"


# --- people ----------------------------------------------------------------------------------


def _plan_people(
    rng: random.Random, units: list[Unit], unit_codes: list[str], total: int, today: date
) -> list[_Person]:
    """Decide who works where, hired when, in memory; rows come later."""
    per_unit = [1] * len(units)  # the manager
    reserved: dict[int, list[str]] = defaultdict(list)
    home_units = [i for i, code in enumerate(unit_codes) if code == HOME_MUNICIPALITY]
    manager_unit = next(i for i in home_units if units[i].sector == Sector.SOCIAL_SERVICES)
    office_unit = next(i for i in home_units if units[i].sector == Sector.OTHER)
    reserved[manager_unit].append("employee")
    reserved[office_unit].extend(["hr", "coordinator", "regional-coordinator"])
    for index, slots in reserved.items():
        per_unit[index] += len(slots)

    remaining = total - sum(per_unit)
    shares = _largest_remainder(remaining, [MUNICIPALITY_WEIGHTS[c] for c, _ in MUNICIPALITIES])
    for (code, _name), share in zip(MUNICIPALITIES, shares, strict=True):
        local = [i for i, unit_code in enumerate(unit_codes) if unit_code == code]
        weights = [SECTOR_WEIGHTS[units[i].sector] for i in local]
        for index in rng.choices(local, weights=weights, k=share):
            per_unit[index] += 1

    month_start = today.replace(day=1)
    earliest = _years_before(today, HIRE_YEARS)
    people: list[_Person] = []
    for index, code in enumerate(unit_codes):
        slots: list[str | None] = [None] * per_unit[index]
        slots[0] = "manager" if index == manager_unit else None
        for position, slot in enumerate(reserved.get(index, []), start=1):
            slots[position] = slot
        for position, slot in enumerate(slots):
            if rng.random() < NEW_HIRE_SHARE:
                hired = _random_day(rng, month_start, today)
            else:
                hired = _random_day(rng, earliest, max(earliest, month_start - timedelta(days=1)))
            person = _Person(
                first_name=rng.choice(names.FIRST_NAMES),
                last_name=rng.choice(names.LAST_NAMES),
                municipality_code=code,
                unit_index=index,
                hire_date=hired,
                language="en" if rng.random() < ENGLISH_SHARE else "sv",
                is_manager=position == 0,
                slot=slot,
            )
            leaves = rng.random() < LEAVER_SHARE
            if slot is not None:
                person.language = "sv"
            elif leaves and position > 0 and (today - hired).days > 60:
                first_possible = max(hired + timedelta(days=30), _years_before(today, 2))
                person.end_date = _random_day(rng, first_possible, today - timedelta(days=1))
            if slot == "employee":
                person.hire_date = today - timedelta(days=10)
            people.append(person)
    return people


def _assign_emails_and_numbers(people: list[_Person]) -> None:
    fixed = {
        "manager": MANAGER_EMAIL,
        "employee": EMPLOYEE_EMAIL,
        "hr": HR_EMAIL,
        "coordinator": COORDINATOR_EMAIL,
        "regional-coordinator": REGIONAL_COORDINATOR_EMAIL,
    }
    slugs = {code: _ascii(name) for code, name in MUNICIPALITIES}
    taken: set[str] = set(fixed.values())
    for person in people:
        if person.slot in fixed:
            person.email = fixed[person.slot]
            continue
        domain = f"{slugs[person.municipality_code]}.{DEMO_DOMAIN}"
        local = f"{_ascii(person.first_name)}.{_ascii(person.last_name)}"
        email, n = f"{local}@{domain}", 1
        while email in taken:
            n += 1
            email = f"{local}{n}@{domain}"
        taken.add(email)
        person.email = email
    # Numbered in order of hiring within each municipality, as an HR system would.
    by_municipality: dict[str, list[_Person]] = defaultdict(list)
    for person in people:
        by_municipality[person.municipality_code].append(person)
    for members in by_municipality.values():
        ordered = sorted(enumerate(members), key=lambda pair: (pair[1].hire_date, pair[0]))
        for number, (_position, person) in enumerate(ordered, start=100001):
            person.employee_number = str(number)


def _insert_people(
    session: Session,
    people: list[_Person],
    units: list[Unit],
    municipalities: dict[str, Municipality],
    password: str,
) -> Employee:
    """Insert the admin, then the unit managers, then their staff pointing at them."""
    admin = Employee(
        first_name="Demo",
        last_name="Administratör",
        email=ADMIN_EMAIL,
        municipality_id=None,
        unit_id=None,
        active=True,
        preferred_language="sv",
        password_hash=hash_password(password),
    )
    session.add(admin)
    managers: dict[int, Employee] = {}
    for wave in (True, False):
        batch = []
        for person in people:
            if person.is_manager != wave:
                continue
            row = Employee(
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
                employee_number=person.employee_number,
                municipality_id=municipalities[person.municipality_code].id,
                unit_id=units[person.unit_index].id,
                manager_id=None if wave else managers[person.unit_index].id,
                hire_date=person.hire_date,
                end_date=person.end_date,
                active=person.active,
                preferred_language=person.language,
                password_hash=hash_password(password) if person.slot else None,
            )
            person.row = row
            batch.append(row)
            if wave:
                managers[person.unit_index] = row
        session.add_all(batch)
        session.flush()
    return admin


# --- rules and completions -------------------------------------------------------------------


def _create_rules(
    session: Session,
    courses: dict[str, Course],
    municipalities: dict[str, Municipality],
    today: date,
) -> None:
    applies_from = _years_before(today, 2)
    rules = []
    for key, sectors, codes in RULES:
        for code in codes or (None,):
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


def _create_completions(
    session: Session,
    rng: random.Random,
    people: list[_Person],
    units: list[Unit],
    unit_codes: list[str],
    today: date,
) -> None:
    """Completions for about ``COMPLETION_SHARE`` of the assignments: mostly verified, some
    awaiting verification, a few rejected (half of those reported again later)."""
    person_of = {p.row.id: p for p in people if p.row is not None}
    managers = {p.unit_index: p.row for p in people if p.is_manager and p.row is not None}
    manager_unit = next(p.unit_index for p in people if p.slot == "manager")
    # Who verifies a manager's own report: another manager of the municipality, the
    # "övrigt" units (the office) first.
    reviewers_by_municipality: dict[str, list[Employee]] = defaultdict(list)
    for index in sorted(managers, key=lambda i: (units[i].sector != Sector.OTHER, i)):
        reviewers_by_municipality[unit_codes[index]].append(managers[index])
    courses = {c.id: c for c in session.scalars(sa.select(Course))}
    assignments = session.scalars(
        sa.select(Assignment)
        .where(Assignment.removed_at.is_(None))
        .order_by(Assignment.employee_id, Assignment.course_id)
    ).all()

    completions: list[Completion] = []
    three_years_ago = _years_before(today, 3)
    for assignment in assignments:
        person = person_of.get(assignment.employee_id)
        if person is None or person.row is None or person.slot == "employee":
            continue
        if rng.random() >= COMPLETION_SHARE:
            continue
        employee = person.row
        course = courses[assignment.course_id]
        if person.is_manager:
            reviewer = next(
                r for r in reviewers_by_municipality[person.municipality_code] if r is not employee
            )
        else:
            reviewer = managers[person.unit_index]
        # The manager's own staff have more waiting to be verified, so the demo shows some.
        busy = person.unit_index == manager_unit and not person.is_manager
        draw = rng.random()
        if draw < (0.40 if busy else 0.13):
            status = CompletionStatus.REPORTED
        elif draw < (0.50 if busy else 0.19):
            status = CompletionStatus.REJECTED
        else:
            status = CompletionStatus.VERIFIED

        start = max(person.hire_date, three_years_ago)
        if course.available_from is not None:
            start = max(start, course.available_from.date())
        if status == CompletionStatus.REPORTED:
            start = max(start, today - timedelta(days=45))
        completed_on = _random_day(rng, min(start, today), today)
        completion = _completion(rng, employee, course, completed_on, status, reviewer, today)
        completions.append(completion)
        if status == CompletionStatus.REJECTED and rng.random() < 0.5:
            assert completion.reviewed_at is not None
            rejected_on = completion.reviewed_at.date()
            if rejected_on < today:
                again = _random_day(rng, rejected_on + timedelta(days=1), today)
                again_status = (
                    CompletionStatus.REPORTED if rng.random() < 0.3 else CompletionStatus.VERIFIED
                )
                completions.append(
                    _completion(rng, employee, course, again, again_status, reviewer, today)
                )
    session.add_all(completions)
    session.flush()


def _completion(
    rng: random.Random,
    employee: Employee,
    course: Course,
    completed_on: date,
    status: CompletionStatus,
    reviewer: Employee,
    today: date,
) -> Completion:
    reported_on = min(completed_on + timedelta(days=rng.randint(0, 3)), today)
    completion = Completion(
        employee_id=employee.id,
        course_id=course.id,
        completed_on=completed_on,
        expires_on=(
            _add_months(completed_on, course.validity_months) if course.validity_months else None
        ),
        status=status,
        note="",
        reported_at=_moment(rng, reported_on, today),
        reported_by_id=employee.id,
    )
    if status != CompletionStatus.REPORTED:
        reviewed_on = min(reported_on + timedelta(days=rng.randint(0, 10)), today)
        completion.reviewed_at = max(_moment(rng, reviewed_on, today), completion.reported_at)
        completion.reviewed_by_id = reviewer.id
        if status == CompletionStatus.REJECTED:
            completion.rejection_reason = rng.choice(names.REJECTION_REASONS)
    return completion


# --- small helpers ---------------------------------------------------------------------------


def _ascii(text: str) -> str:
    """Lower-case ASCII for e-mail addresses: Järfälla → jarfalla, Upplands Väsby →
    upplands-vasby."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = decomposed.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def _random_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _moment(rng: random.Random, day: date, today: date) -> datetime:
    """A naive-UTC office-hours timestamp on ``day``; just after midnight if ``day`` is today,
    so it is not in the future."""
    if day < today:
        return datetime.combine(day, time(rng.randint(6, 14), rng.randrange(60)))
    return datetime.combine(day, time(0, rng.randrange(60)))


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
