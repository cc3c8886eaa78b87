"""The new-hire report is counted by the database: exactly the numbers of going through every
hire's assignments one by one, as it was first computed, over random staff, for every count
mode, filter, scope, report date and hiring period."""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.orm import Session

from tests import factories
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
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting.coverage import (
    CoverageFilters,
    NewHireReport,
    NewHireRow,
    default_hire_period,
    new_hire_compliance,
)
from training_tracker.services.reporting.coverage_facts import (
    assigned_on,
    awaiting_status,
    completion_known,
    counts_reported,
    course_clauses,
    course_columns,
    exempt_on,
    population,
    verified_status,
)

TODAY = date(2025, 6, 16)
D = date(2025, 5, 31)
PAST = date(2025, 2, 28)
EVERYTHING = ReportScope(True, frozenset(), frozenset())


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2025, 6, 16, 10, tzinfo=UTC), tick=False):
        yield


def reference_new_hire_compliance(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    hired_from: date | None = None,
    hired_to: date | None = None,
) -> NewHireReport:
    """The report as it was first computed: one row per hire and assignment loaded, with the
    earliest completion that counts, and everything counted in Python."""
    day = filters.day()
    today = clock.today()
    default_from, default_to = default_hire_period(day)
    hired_from = hired_from or default_from
    hired_to = min(hired_to or default_to, day)
    if scope.is_empty:
        return NewHireReport(day, hired_from, hired_to, 0, [])
    first_completed = (
        sa.select(sa.func.min(Completion.completed_on))
        .where(
            completion_known(day),
            sa.or_(
                verified_status(day),
                sa.and_(awaiting_status(day), counts_reported(filters.mode)),
            ),
        )
        .correlate_except(Completion)
        .scalar_subquery()
    )
    assignment = sa.and_(
        Assignment.employee_id == Employee.id,
        assigned_on(day),
        sa.not_(exempt_on(day)),
        *course_clauses(filters),
    )
    rows = session.execute(
        sa.select(
            Employee.id,
            Employee.hire_date,
            Assignment.course_id,
            Assignment.due_date,
            first_completed,
        )
        .select_from(Employee)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(Municipality, Municipality.id == Employee.municipality_id)
        .outerjoin(Assignment, assignment)
        .where(
            *population(scope, filters, day, today),
            Employee.hire_date >= sa.literal(hired_from, sa.Date),
            Employee.hire_date <= sa.literal(hired_to, sa.Date),
        )
    ).all()
    hires = len({row[0] for row in rows})
    by_course: dict[int, list[tuple[date, date, date | None]]] = defaultdict(list)
    for _, hired, course_id, due, completed in rows:
        if course_id is not None:
            by_course[course_id].append((hired, due, completed))
    report_rows = []
    for course in course_columns(session, by_course):
        judged = by_due = done = 0
        days: list[int] = []
        for hired, due, completed in by_course[course.id]:
            on_time = completed is not None and completed <= due
            by_due += on_time
            judged += on_time or due < day
            if completed is not None:
                done += 1
                days.append(max(0, (completed - hired).days))
        report_rows.append(
            NewHireRow(
                course=course,
                required=len(by_course[course.id]),
                judged=judged,
                completed_by_due=by_due,
                completed=done,
                median_days=statistics.median(days) if days else None,
            )
        )
    return NewHireReport(day, hired_from, hired_to, hires, report_rows)


def _around(chance: random.Random, day: date, before: int, after: int) -> date:
    return day + timedelta(days=chance.randint(-before, after))


def random_hires(seed: int) -> SimpleNamespace:
    """Staff of three municipalities (Sigtuna counts verified completions only), hired over
    two years, so inside and outside the default and the chosen periods; some have left or
    are no longer active. Assignments created before and after the report dates, some
    removed or exempted, due before and after them; completions of every status, dated
    before the hire, on time and late, reported and reviewed later, some expired. Courses of
    two providers whose titles do not sort like their ids. An admin (no municipality) hired
    in the period, with a course done, never counts."""
    chance = random.Random(seed)
    sigtuna = factories.municipality("Sigtuna")
    sigtuna.count_reported_in_coverage = False
    db.session.commit()
    units = [
        factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO"),
        factories.unit("Järfälla", Sector.SCHOOL, "Skolan"),
        factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO"),
        factories.unit("Sollentuna", Sector.HEALTH_AND_CARE, "Hemtjänsten"),
        factories.unit("Sollentuna", Sector.SCHOOL, "Elevhälsan"),
    ]
    courses = [
        factories.dated_course("v", title="Våld", provider_key="p2"),
        factories.dated_course("h", title="Heder", provider_key="p1", validity_months=24),
        factories.dated_course("b", title="Barn", provider_key="p2"),
        factories.dated_course("a", title="Akut", provider_key="p1", validity_months=12),
    ]
    statuses = list(CompletionStatus)
    admin = factories.admin()
    factories.dated_assignment(admin, courses[0], assigned_on=D - timedelta(days=60), due=D)
    factories.dated_completion(admin, courses[0], completed_on=D - timedelta(days=10))
    for _ in range(90):
        hired = _around(chance, TODAY, 730, 0)
        person = factories.employee(
            unit=chance.choice(units),
            password=None,
            hire_date=hired,
            active=chance.random() > 0.1,
        )
        if chance.random() < 0.1:
            person.end_date = _around(chance, D, 60, 30)
            db.session.commit()
        for course in courses:
            if chance.random() < 0.75:
                assigned = _around(chance, hired, 10, 60)
                factories.dated_assignment(
                    person,
                    course,
                    assigned_on=assigned,
                    due=_around(chance, assigned, 0, 150),
                    removed_on=_around(chance, D, 90, 30) if chance.random() < 0.1 else None,
                    exempted_on=_around(chance, D, 90, 30) if chance.random() < 0.1 else None,
                )
            for _ in range(chance.choice([0, 1, 1, 1, 2])):
                completed = _around(chance, hired, 30, 300)
                reported = completed + timedelta(days=chance.choice([0, 0, 2, 40]))
                status = chance.choice(statuses)
                reviewed = (
                    chance.choice([None, reported, reported + timedelta(days=20)])
                    if status in (CompletionStatus.VERIFIED, CompletionStatus.REJECTED)
                    else None
                )
                factories.dated_completion(
                    person,
                    course,
                    completed_on=completed,
                    status=status,
                    reported_on=reported,
                    reviewed_on=reviewed,
                    expires_on=chance.choice([None, None, _around(chance, D, 60, 60)]),
                )
    return SimpleNamespace(sigtuna=sigtuna, units=units, courses=courses)


def report_cases(
    w: SimpleNamespace,
) -> list[tuple[ReportScope, CoverageFilters, date | None, date | None]]:
    """Every count mode, each filter, a past report date, today, chosen periods and a
    narrower scope."""
    on_d = CoverageFilters(as_of=D)
    narrow = ReportScope(False, frozenset({w.sigtuna.id}), frozenset({w.units[1].id}))
    filters = [
        on_d,
        on_d.but(mode="verified"),
        on_d.but(mode="reported"),
        CoverageFilters(as_of=PAST),
        CoverageFilters(as_of=PAST, mode="reported"),
        CoverageFilters(),  # today: only active staff count
        on_d.but(course_id=w.courses[1].id),
        on_d.but(provider_id=w.courses[0].provider_id, mode="reported"),
        on_d.but(municipality_id=w.sigtuna.id),
        on_d.but(unit_id=w.units[0].id),
        on_d.but(sector=Sector.SCHOOL),
    ]
    cases = [(scope, f, None, None) for f in filters for scope in (EVERYTHING, narrow)]
    cases += [
        (EVERYTHING, on_d, date(2024, 1, 1), date(2024, 12, 31)),
        (EVERYTHING, CoverageFilters(as_of=PAST), date(2025, 1, 1), None),
        (EVERYTHING, on_d, date(2023, 1, 1), date(2030, 1, 1)),  # cut at the report date
    ]
    return cases


@pytest.mark.parametrize("seed", [1, 2])
def test_the_counts_are_those_of_going_through_every_hire_one_by_one(seed):
    w = random_hires(seed)
    completed_counts: set[int] = set()
    orders: set[tuple[int, ...]] = set()
    for scope, filters, hired_from, hired_to in report_cases(w):
        expected = reference_new_hire_compliance(db.session, scope, filters, hired_from, hired_to)
        found = new_hire_compliance(db.session, scope, filters, hired_from, hired_to)
        case = (scope.all_municipalities, filters, hired_from, hired_to)
        assert found == expected, case
        # An odd count's median is one of the days (an int), an even one's a mean (a float).
        assert [type(row.median_days) for row in found.rows] == [
            type(row.median_days) for row in expected.rows
        ], case
        completed_counts |= {row.completed for row in found.rows}
        orders.add(tuple(row.course.id for row in found.rows))
    assert any(n % 2 == 0 for n in completed_counts if n), "an even number of completions"
    assert any(n % 2 == 1 for n in completed_counts), "an odd number of completions"
    assert any(list(order) != sorted(order) for order in orders), "not in the ids' order"


def test_hires_without_any_assignment_count_as_hires():
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    for _ in range(3):
        factories.employee(unit=unit, password=None, hire_date=D - timedelta(days=30))
    report = new_hire_compliance(db.session, EVERYTHING, CoverageFilters(as_of=D))
    assert (report.hires, report.rows) == (3, [])
    nobody_hired = new_hire_compliance(db.session, EVERYTHING, CoverageFilters(as_of=PAST))
    assert (nobody_hired.hires, nobody_hired.rows) == (0, [])
