"""The demo's staff: who works in each planned unit, hired when and leaving when, their e-mail
addresses and employee numbers, the demo accounts (one per role) among them, and the roles
granted to managers and accounts.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from training_tracker.demo import DEMO_DOMAIN, names_people
from training_tracker.demo.bulk import BulkWriter, reserve_ids
from training_tracker.demo.draws import pick, random_day, years_before
from training_tracker.demo.municipalities import EVERY_MUNICIPALITY
from training_tracker.demo.plan import PlannedTown, PlannedUnit
from training_tracker.models import AuditEvent, Employee, Municipality, Role, RoleGrant, Sector
from training_tracker.services.people.roles import grant_role

ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
HR_EMAIL = f"hr@{DEMO_DOMAIN}"
MANAGER_EMAIL = f"chef@{DEMO_DOMAIN}"
COORDINATOR_EMAIL = f"samordnare@{DEMO_DOMAIN}"
REGIONAL_COORDINATOR_EMAIL = f"region@{DEMO_DOMAIN}"
EMPLOYEE_EMAIL = f"medarbetare@{DEMO_DOMAIN}"
ORGANISER_EMAIL = f"arrangor@{DEMO_DOMAIN}"
# (role label, e-mail) of the demo accounts, as ``flask demo seed`` prints them.
ACCOUNTS: list[tuple[str, str]] = [
    ("admin", ADMIN_EMAIL),
    ("hr", HR_EMAIL),
    ("manager", MANAGER_EMAIL),
    ("coordinator", COORDINATOR_EMAIL),
    ("regional-coordinator", REGIONAL_COORDINATOR_EMAIL),
    ("employee", EMPLOYEE_EMAIL),
    ("organiser", ORGANISER_EMAIL),
]

TENURE_MEAN_YEARS = 7.0  # hire dates spread over decades, most within the last few years
TENURE_MAX_YEARS = 40
NEW_HIRE_SHARE = 0.03  # hired in the current month
LEAVER_SHARE = 0.06  # left in the last two years (kept until the retention job)
LEAVING_SHARE = 0.01  # has given notice: an end date within three months
ENGLISH_SHARE = 0.05

EMPLOYEE_COLUMNS = (
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


@dataclass(slots=True)
class Person:
    """One planned employee, before it becomes a row."""

    id: int
    first_name: str
    last_name: str
    unit: PlannedUnit
    hire_date: date
    language: str = "sv"
    is_manager: bool = False
    slot: str = ""  # the demo account this person is, if any
    end_date: date | None = None
    email: str = ""
    employee_number: str = ""

    def employed_on(self, day: date) -> bool:
        """Employed that day: leavers' rows were made inactive by the nightly job."""
        return self.end_date is None or self.end_date > day


class Staff:
    """Plans the people of one municipality after another, ids drawn from ``ids``."""

    def __init__(self, rng: random.Random, today: date, ids: Iterator[int]):
        self.rng = rng
        self.today = today
        self.ids = ids
        self.month_start = today.replace(day=1)
        self.two_years_ago = years_before(today, 2)

    def plan(self, town: PlannedTown) -> list[Person]:
        """Everyone in ``town``, unit by unit, each unit's manager first."""
        people = [person for unit in town.units for person in self._plan_unit(unit)]
        _name_people(town, people)
        return people

    def _plan_unit(self, unit: PlannedUnit) -> list[Person]:
        rng, today = self.rng, self.today
        slots = unit.slots + [""] * (unit.headcount - len(unit.slots))
        people = []
        for position, slot in enumerate(slots):
            if rng.random() < NEW_HIRE_SHARE:
                hired = random_day(rng, self.month_start, today)
            else:
                days = min(
                    int(rng.expovariate(1 / (TENURE_MEAN_YEARS * 365))), TENURE_MAX_YEARS * 365
                )
                hired = self.month_start - timedelta(days=1 + days)
            person = Person(
                id=next(self.ids),
                first_name=pick(rng, names_people.FIRST_NAMES),
                last_name=pick(rng, names_people.LAST_NAMES),
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
                person.end_date = random_day(rng, first_possible, today - timedelta(days=1))
            elif position > 0 and draw < LEAVER_SHARE + LEAVING_SHARE:
                person.end_date = random_day(
                    rng, today + timedelta(days=1), today + timedelta(days=90)
                )
            if slot == "employee":
                person.hire_date = today - timedelta(days=10)
            if person.is_manager:
                unit.manager_id = person.id
            people.append(person)
        return people


def _name_people(town: PlannedTown, people: list[Person]) -> None:
    """E-mail addresses (unique: numbered when two share a name) and employee numbers in
    order of hiring, as an HR system would give them."""
    fixed = {
        "manager": MANAGER_EMAIL,
        "employee": EMPLOYEE_EMAIL,
        "hr": HR_EMAIL,
        "coordinator": COORDINATOR_EMAIL,
        "regional-coordinator": REGIONAL_COORDINATOR_EMAIL,
        "organiser": ORGANISER_EMAIL,
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


def _domain_label(town: PlannedTown) -> str:
    """The e-mail domain's first label: the name in ASCII, with the kommunkod when two names
    spell the same (Håbo and Habo)."""
    label = _ascii(town.name)
    clashes = [name for _code, name, _ in EVERY_MUNICIPALITY if _ascii(name) == label]
    return label if len(clashes) == 1 else f"{label}-{town.code}"


def _ascii(text: str) -> str:
    """Lower-case ASCII for e-mail addresses: Järfälla → jarfalla, Upplands Väsby →
    upplands-vasby."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = decomposed.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def employee_row(
    person: Person, *, active: bool, password_hash: str, now: datetime
) -> tuple[object, ...]:
    """``person`` as a row of :data:`EMPLOYEE_COLUMNS`; only the demo accounts can sign in."""
    unit = person.unit
    return (
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
        active,
        person.language,
        password_hash if person.slot else None,
        1,
        False,
        now,
        now,
    )


def reviewers(town: PlannedTown) -> list[int]:
    """Who verifies a manager's own reports: another manager of the municipality, the
    "övrigt" units (the office) first."""
    units = sorted(town.units, key=lambda u: (u.sector != Sector.OTHER, u.index))
    return [unit.manager_id for unit in units[:2]]


def grant_roles(
    session: Session,
    *,
    now: datetime,
    managers: list[tuple[int, PlannedUnit]],
    admin_id: int,
    accounts: dict[str, int],
    home_municipality_id: int,
) -> None:
    """Every unit's manager in bulk (with the audit events ``grant_role`` would record); the
    handful of demo accounts (``accounts``: slot → employee id) through ``grant_role`` itself."""
    connection = session.connection()
    first = reserve_ids(connection, RoleGrant.__table__, len(managers))
    grant_columns = ("id", "employee_id", "role", "unit_id", "granted_at")
    event_columns = (
        "occurred_at",
        "action",
        "subject_employee_id",
        "object_type",
        "object_id",
        "details",
    )
    with BulkWriter(
        connection,
        [
            (RoleGrant.__table__, grant_columns),
            (AuditEvent.__table__, event_columns),
        ],
    ) as writer:
        manager = Role.MANAGER.value
        for number, (employee_id, unit) in enumerate(managers):
            grant_id = first + number
            details = {"role": manager, "municipality_id": None, "unit_id": unit.id}
            writer.rows["role_grants"].append((grant_id, employee_id, manager, unit.id, now))
            writer.rows["audit_events"].append(
                (now, "roles.granted", employee_id, "role_grant", grant_id, details)
            )

    home_municipality = session.get(Municipality, home_municipality_id)

    def person(slot: str) -> Employee:
        employee = session.get(Employee, accounts[slot])
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
    grant_role(session, actor=None, employee=person("regional-coordinator"), role=Role.COORDINATOR)
    # The joint programme's organiser, for the whole region.
    grant_role(session, actor=None, employee=person("organiser"), role=Role.ORGANISER)
    session.flush()
