"""The start page's summaries are counted by the database: the same counts as going through
every assignment one by one, in the same two queries whatever the number of employees."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests import factories
from tests.conftest import counting_statements
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Employee,
    Municipality,
    Sector,
    Unit,
)
from training_tracker.services.core.scope import Access, employee_scope, report_scope
from training_tracker.services.reporting import dashboard


def reference_summaries(
    session: Session, population: sa.ColumnElement[bool], group_by: str, today: date
) -> list[dashboard.GroupSummary]:
    """The summaries as they were first computed: every open, non-exempt assignment of the
    active population loaded and judged one by one against its employee's valid completions."""
    by_unit = group_by == "unit"
    active = sa.and_(population, Employee.active)
    people = session.scalars(
        sa.select(Employee)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .where(active)
    ).all()
    municipalities = {
        person.municipality_id: session.get(Municipality, person.municipality_id)
        for person in people
    }
    several_municipalities = len(municipalities) > 1

    def group_of(person: Employee) -> int:
        return person.unit_id if by_unit else person.municipality_id  # type: ignore[return-value]

    names: dict[int, str] = {}
    headcounts: Counter[int] = Counter()
    counts_reported: dict[int, bool] = {}
    municipality_of: dict[int, int] = {}
    for person in people:
        key = group_of(person)
        municipality = municipalities[person.municipality_id]
        assert municipality is not None
        headcounts[key] += 1
        counts_reported[key] = municipality.count_reported_in_coverage
        municipality_of[key] = municipality.id
        if not by_unit:
            names[key] = municipality.name
        elif several_municipalities:
            names[key] = f"{person.unit.name} ({municipality.name})"
        else:
            names[key] = person.unit.name

    # (employee, course) → the strongest completion status still valid today.
    best: dict[tuple[int, int], CompletionStatus] = {}
    for completion in session.scalars(
        sa.select(Completion).join(Employee, Employee.id == Completion.employee_id).where(active)
    ):
        if completion.status not in (CompletionStatus.VERIFIED, CompletionStatus.REPORTED):
            continue
        if completion.expires_on is not None and completion.expires_on <= today:
            continue
        pair = (completion.employee_id, completion.course_id)
        if best.get(pair) != CompletionStatus.VERIFIED:
            best[pair] = completion.status

    counts: dict[int, Counter[str]] = {key: Counter() for key in headcounts}
    by_id = {person.id: person for person in people}
    for assignment in session.scalars(sa.select(Assignment)):
        person = by_id.get(assignment.employee_id)
        if person is None or assignment.removed_at is not None or assignment.exempt:
            continue
        tally = counts[group_of(person)]
        tally["required"] += 1
        status = best.get((assignment.employee_id, assignment.course_id))
        if status == CompletionStatus.VERIFIED:
            tally["verified"] += 1
        elif status == CompletionStatus.REPORTED:
            tally["reported"] += 1
        elif assignment.due_date < today:
            tally["overdue"] += 1
    return sorted(
        (
            dashboard.GroupSummary(
                name=names[key],
                employees=headcounts[key],
                required=counts[key]["required"],
                verified=counts[key]["verified"],
                reported=counts[key]["reported"],
                overdue=counts[key]["overdue"],
                counts_reported=counts_reported[key],
                municipality_id=municipality_of[key],
                unit_id=key if by_unit else None,
            )
            for key in headcounts
        ),
        key=lambda summary: summary.name,
    )


def random_organisation(seed: int) -> None:
    """Staff of three municipalities (two with an "Elevhälsan"), some of whom have left,
    required to take some of four courses, some assignments removed or exempted, and
    completions of every status, some expired, some expiring today, some of courses nobody
    requires of them."""
    chance = random.Random(seed)
    today = clock.today()
    units = [
        factories.unit("Järfälla", Sector.SCHOOL, "Elevhälsan"),
        factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla"),
        factories.unit("Sollentuna", Sector.SCHOOL, "Elevhälsan"),
        factories.unit("Sollentuna", Sector.HEALTH_AND_CARE, "Hemtjänsten"),
        factories.unit("Sigtuna", Sector.OTHER, "Kansliet"),
    ]
    sollentuna = factories.municipality("Sollentuna")
    sollentuna.count_reported_in_coverage = False
    db.session.commit()
    courses = [factories.dated_course(f"kurs-{n}") for n in range(4)]
    statuses = list(CompletionStatus)
    expiries = [None, None, today - timedelta(days=30), today, today + timedelta(days=1)]
    for _ in range(60):
        person = factories.employee(
            unit=chance.choice(units), password=None, active=chance.random() > 0.15
        )
        for course in courses:
            if chance.random() < 0.7:
                factories.dated_assignment(
                    person,
                    course,
                    assigned_on=today - timedelta(days=200),
                    due=today + timedelta(days=chance.choice([-50, -1, 0, 1, 50])),
                    removed_on=today - timedelta(days=5) if chance.random() < 0.1 else None,
                    exempted_on=today - timedelta(days=5) if chance.random() < 0.1 else None,
                )
            for _ in range(chance.choice([0, 0, 1, 1, 2, 3])):
                factories.dated_completion(
                    person,
                    course,
                    completed_on=today - timedelta(days=chance.randint(1, 400)),
                    status=chance.choice(statuses),
                    expires_on=chance.choice(expiries),
                )


@pytest.mark.parametrize("seed", [1, 2])
def test_the_counts_are_those_of_judging_every_assignment_one_by_one(seed):
    random_organisation(seed)
    järfälla = factories.municipality("Järfälla")
    hr = factories.hr_staff("Järfälla")
    populations = {
        "everyone": sa.true(),
        "Järfälla": Employee.municipality_id == järfälla.id,
        "HR in Järfälla": employee_scope(hr, Access.VERIFY),
        "HR's report scope": report_scope(hr).employee_clause(),
        "nobody": sa.false(),
    }
    today = clock.today()
    for name, population in populations.items():
        for group_by in ("unit", "municipality"):
            for day in (today - timedelta(days=45), today, today + timedelta(days=45)):
                expected = reference_summaries(db.session, population, group_by, day)
                found = dashboard.summaries(db.session, population, group_by, day)
                assert found == expected, (name, group_by, day)
    everyone = dashboard.summaries(db.session, sa.true(), "unit", today)
    assert {"Elevhälsan (Järfälla)", "Elevhälsan (Sollentuna)"} <= {s.name for s in everyone}
    assert sum(s.verified for s in everyone) and sum(s.reported for s in everyone)
    assert sum(s.overdue for s in everyone), "the random data exercises every state"


def test_the_summaries_take_two_queries_for_few_and_many_employees():
    järfälla_ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    sollentuna_school = factories.unit("Sollentuna", Sector.SCHOOL, "Elevhälsan")
    course = factories.dated_course("kurs")
    person = factories.employee(unit=järfälla_ifo, password=None)
    factories.assignment(person, course, due_in_days=-5)
    hr = factories.hr_staff("Järfälla")
    populations = [sa.true(), employee_scope(hr, Access.VERIFY)]

    def statements() -> list[int]:
        counted = []
        for population in populations:
            for group_by in ("unit", "municipality"):
                with counting_statements() as seen:
                    dashboard.summaries(db.session, population, group_by, clock.today())
                counted.append(len(seen))
        return counted

    few = statements()
    for unit in (järfälla_ifo, sollentuna_school):
        factories.staff_in_bulk(
            unit,
            150,
            [course],
            hire_date=date(2025, 1, 1),
            assigned_on=date(2025, 1, 1),
            due=date(2025, 4, 1),
        )
    many = statements()

    assert few == many == [2, 2, 2, 2]
    (ifo,) = [
        s
        for s in dashboard.summaries(db.session, sa.true(), "unit", clock.today())
        if s.name == "IFO Järfälla (Järfälla)"
    ]
    assert ifo.required == 151
