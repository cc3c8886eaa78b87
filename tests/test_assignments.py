"""The recomputation of assignments from requirement rules, as a specification.

Every test names its own "today" and dates, so nothing depends on the day the suite runs; the
same tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import counting_statements
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    AssignmentSource,
    Completion,
    CompletionStatus,
    Course,
    CourseStatus,
    Employee,
    RequirementRule,
    Sector,
    Unit,
)
from training_tracker.services.people.employees import EmployeeData, create_employee
from training_tracker.services.training.assignments import (
    AssignmentChanges,
    open_assignment,
    overdue,
    recompute_assignments,
)

TODAY = date(2026, 6, 15)
RULE_START = date(2026, 3, 1)


@pytest.fixture()
def course() -> Course:
    return factories.synced_catalog()["nck-webbkurs-om-vald"]


@pytest.fixture()
def ifo() -> Unit:
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")


def person(unit: Unit, hired: date, **kwargs) -> Employee:  # type: ignore[no-untyped-def]
    return factories.employee(unit=unit, hire_date=hired, password=None, **kwargs)


def make_rule(course: Course, **kwargs) -> RequirementRule:  # type: ignore[no-untyped-def]
    values = {"due_days": 30, "applies_from": RULE_START, **kwargs}
    municipality_name = values.pop("municipality_name", None)
    if municipality_name:
        values["municipality"] = factories.municipality(municipality_name)
    rule = RequirementRule(course=course, **values)
    db.session.add(rule)
    db.session.commit()
    return rule


def recompute(today: date = TODAY) -> AssignmentChanges:
    changes = recompute_assignments(db.session, today=today)
    db.session.commit()
    return changes


def assignment_of(employee: Employee, course: Course) -> Assignment | None:
    return db.session.scalars(
        sa.select(Assignment).where(
            Assignment.employee_id == employee.id, Assignment.course_id == course.id
        )
    ).one_or_none()


def assignment_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Assignment))


def is_open(assignment: Assignment, today: date = TODAY) -> bool:
    return bool(
        db.session.scalar(sa.select(open_assignment(today)).where(Assignment.id == assignment.id))
    )


def is_overdue(assignment: Assignment, today: date = TODAY) -> bool:
    return bool(db.session.scalar(sa.select(overdue(today)).where(Assignment.id == assignment.id)))


# -- due dates ------------------------------------------------------------------------------


def test_a_new_hire_is_due_their_hire_date_plus_the_due_days(course, ifo):
    make_rule(course, due_days=30)
    hired = date(2026, 5, 10)
    newcomer = person(ifo, hired)
    changes = recompute()
    assignment = assignment_of(newcomer, course)
    assert assignment is not None
    assert assignment.due_date == hired + timedelta(days=30)
    assert assignment.source == AssignmentSource.RULE
    assert changes.created == 1


def test_someone_hired_on_the_start_date_counts_as_a_new_hire(course, ifo):
    make_rule(course, due_days=10, for_existing_staff=False)
    on_the_day = person(ifo, RULE_START)
    recompute()
    assert assignment_of(on_the_day, course).due_date == RULE_START + timedelta(days=10)


def test_existing_staff_are_due_the_rule_start_plus_the_due_days(course, ifo):
    make_rule(course, due_days=45)
    veteran = person(ifo, date(2015, 8, 1))
    recompute()
    assert assignment_of(veteran, course).due_date == RULE_START + timedelta(days=45)


def test_a_rule_for_new_hires_only_leaves_existing_staff_alone(course, ifo):
    make_rule(course, for_new_hires=True, for_existing_staff=False)
    veteran = person(ifo, date(2015, 8, 1))
    newcomer = person(ifo, date(2026, 4, 1))
    recompute()
    assert assignment_of(veteran, course) is None
    assert assignment_of(newcomer, course) is not None


def test_a_rule_for_existing_staff_only_leaves_new_hires_alone(course, ifo):
    make_rule(course, for_new_hires=False, for_existing_staff=True)
    veteran = person(ifo, date(2015, 8, 1))
    newcomer = person(ifo, date(2026, 4, 1))
    recompute()
    assert assignment_of(veteran, course) is not None
    assert assignment_of(newcomer, course) is None


# -- who a rule matches ---------------------------------------------------------------------


def test_municipality_sector_and_unit_each_narrow_a_rule(course, ifo):
    school = factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan")
    other_ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "Familjeenheten")
    sigtuna = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Sigtuna")
    hired = date(2020, 1, 1)
    in_ifo, in_school, in_other_ifo, in_sigtuna = (
        person(u, hired) for u in (ifo, school, other_ifo, sigtuna)
    )
    courses = factories.synced_catalog()
    every = courses["webbkursheder-hrv"]
    jarfalla = courses["skolverket-arbeta-mot-hrv"]
    social = courses["socialstyrelsen-hrv-socialtjansten"]
    make_rule(every)  # every municipality, sector and unit
    make_rule(jarfalla, municipality_name="Järfälla")
    make_rule(social, municipality_name="Järfälla", sector=Sector.SOCIAL_SERVICES)
    make_rule(course, municipality_name="Järfälla", unit_id=ifo.id)
    recompute()

    def required(employee: Employee) -> set[str]:
        return {
            key
            for key, c in courses.items()
            if (a := assignment_of(employee, c)) is not None and a.removed_at is None
        }

    assert required(in_ifo) == {
        "webbkursheder-hrv",
        "skolverket-arbeta-mot-hrv",
        "socialstyrelsen-hrv-socialtjansten",
        "nck-webbkurs-om-vald",
    }
    assert required(in_other_ifo) == {
        "webbkursheder-hrv",
        "skolverket-arbeta-mot-hrv",
        "socialstyrelsen-hrv-socialtjansten",
    }
    assert required(in_school) == {"webbkursheder-hrv", "skolverket-arbeta-mot-hrv"}
    assert required(in_sigtuna) == {"webbkursheder-hrv"}


def test_system_accounts_without_a_unit_are_never_assigned(course):
    make_rule(course)
    admin = factories.employee(system_account=True)
    recompute()
    assert assignment_of(admin, course) is None


def test_when_two_rules_require_a_course_the_earliest_due_date_wins(course, ifo):
    slow = make_rule(course, due_days=90)
    fast = make_rule(course, due_days=20, municipality_name="Järfälla")
    veteran = person(ifo, date(2019, 2, 1))
    changes = recompute()
    assignment = assignment_of(veteran, course)
    assert (assignment.rule_id, assignment.due_date) == (fast.id, RULE_START + timedelta(days=20))
    assert changes.created == 1  # one row per employee and course, never two

    fast.ends_on = TODAY
    db.session.commit()
    changes = recompute()
    assignment = assignment_of(veteran, course)
    assert (assignment.rule_id, assignment.due_date) == (slow.id, RULE_START + timedelta(days=90))
    assert assignment.removed_at is None
    assert changes == AssignmentChanges(updated=1)


# -- what ends a requirement ----------------------------------------------------------------


def _manual_and_exempt(course: Course, ifo: Unit) -> tuple[Assignment, Assignment]:
    """A manual assignment of another course, and an exempt rule-made one of ``course``."""
    other_course = factories.synced_catalog()["skolverket-arbeta-mot-hrv"]
    by_hand = Assignment(
        employee_id=person(ifo, date(2018, 1, 1)).id,
        course_id=other_course.id,
        due_date=date(2026, 7, 1),
        source=AssignmentSource.MANUAL,
    )
    db.session.add(by_hand)
    db.session.commit()
    exempt = db.session.scalars(
        sa.select(Assignment).where(Assignment.course_id == course.id).limit(1)
    ).one()
    exempt.exempt = True
    exempt.exemption_reason = "Har gått motsvarande utbildning"
    db.session.commit()
    return by_hand, exempt


@pytest.mark.parametrize("how", ["course switched off", "rule ended", "rule switched off"])
def test_an_ended_rule_or_inactive_course_closes_rule_made_assignments_only(course, ifo, how):
    rule = make_rule(course)
    staff = [person(ifo, date(2017, 1, 1)) for _ in range(3)]
    recompute()
    by_hand, exempt = _manual_and_exempt(course, ifo)
    exempt_id, by_hand_id = exempt.id, by_hand.id

    if how == "course switched off":
        course.status = CourseStatus.INACTIVE
    elif how == "rule ended":
        rule.ends_on = TODAY
    else:
        rule.active = False
    db.session.commit()
    changes = recompute()

    assert changes.closed == 3 and changes.created == 0
    for employee in staff:
        assignment = assignment_of(employee, course)
        assert assignment.removed_at is not None  # closed, not deleted
        assert not is_open(assignment)
    by_hand = db.session.get(Assignment, by_hand_id)
    assert by_hand.removed_at is None and by_hand.source == AssignmentSource.MANUAL
    exempt = db.session.get(Assignment, exempt_id)
    assert exempt.exempt and exempt.exemption_reason == "Har gått motsvarande utbildning"


def test_a_rule_ending_tomorrow_still_requires_today(course, ifo):
    make_rule(course, ends_on=TODAY + timedelta(days=1))
    employee = person(ifo, date(2017, 1, 1))
    recompute()
    assert assignment_of(employee, course).removed_at is None
    recompute(TODAY + timedelta(days=1))
    assert assignment_of(employee, course).removed_at is not None


@pytest.mark.parametrize("how", ["inactive", "end date today", "end date passed"])
def test_a_leaver_is_closed_and_a_returner_reopens_the_same_row(course, ifo, how):
    make_rule(course)
    leaver = person(ifo, date(2016, 5, 1))
    stayer = person(ifo, date(2016, 5, 1))
    recompute()
    first = assignment_of(leaver, course)
    first_id, due = first.id, first.due_date

    if how == "inactive":
        leaver.active = False
    else:
        leaver.end_date = TODAY if how == "end date today" else TODAY - timedelta(days=3)
    db.session.commit()
    assert recompute() == AssignmentChanges(closed=1)
    assert assignment_of(leaver, course).removed_at is not None
    assert assignment_of(stayer, course).removed_at is None

    leaver.active, leaver.end_date = True, None
    db.session.commit()
    before = assignment_count()
    assert recompute() == AssignmentChanges(updated=1)
    again = assignment_of(leaver, course)
    assert (again.id, again.removed_at, again.due_date) == (first_id, None, due)
    assert assignment_count() == before


def test_a_leaver_has_hand_made_assignments_closed_too(course, ifo):
    leaver = person(ifo, date(2016, 5, 1))
    by_hand = Assignment(
        employee_id=leaver.id,
        course_id=course.id,
        due_date=TODAY + timedelta(days=30),
        source=AssignmentSource.MANUAL,
    )
    db.session.add(by_hand)
    leaver.end_date = TODAY
    db.session.commit()
    assert recompute() == AssignmentChanges(closed=1)
    assert assignment_of(leaver, course).removed_at is not None


def test_an_end_date_in_the_future_keeps_the_requirement(course, ifo):
    make_rule(course)
    leaving_soon = person(ifo, date(2016, 5, 1))
    leaving_soon.end_date = TODAY + timedelta(days=1)
    db.session.commit()
    recompute()
    assert assignment_of(leaving_soon, course).removed_at is None


# -- completions ----------------------------------------------------------------------------


def test_a_completion_made_before_the_rule_keeps_counting(course, ifo):
    trained = person(ifo, date(2015, 1, 1))
    untrained = person(ifo, date(2015, 1, 1))
    factories.completion(trained, course, completed_on=date(2025, 11, 3))
    make_rule(course, due_days=10)  # due 2026-03-11, long past on TODAY
    recompute()
    done = assignment_of(trained, course)
    assert done is not None and done.removed_at is None
    assert not is_open(done) and not is_overdue(done)
    assert is_overdue(assignment_of(untrained, course))


def test_an_expired_or_rejected_completion_does_not_count(course, ifo):
    expired, rejected = person(ifo, date(2015, 1, 1)), person(ifo, date(2015, 1, 1))
    old = factories.completion(expired, course, completed_on=date(2023, 1, 1))
    old.expires_on = date(2025, 1, 1)
    factories.completion(rejected, course, status=CompletionStatus.REJECTED)
    db.session.commit()
    make_rule(course)
    recompute()
    assert is_open(assignment_of(expired, course))
    assert is_open(assignment_of(rejected, course))


def test_recomputing_never_touches_completions(course, ifo):
    make_rule(course)
    trained = person(ifo, date(2015, 1, 1))
    factories.completion(trained, course, completed_on=date(2026, 1, 5))
    before = db.session.execute(sa.select(Completion.id, Completion.status)).all()
    recompute()
    course.status = CourseStatus.INACTIVE
    db.session.commit()
    recompute()
    assert db.session.execute(sa.select(Completion.id, Completion.status)).all() == before


# -- idempotent and set-based ---------------------------------------------------------------


def test_running_twice_changes_nothing_the_second_time(course, ifo):
    make_rule(course, due_days=30)
    make_rule(course, due_days=60, municipality_name="Järfälla", sector=Sector.SOCIAL_SERVICES)
    for hired in (date(2010, 1, 1), date(2026, 4, 2), date(2026, 6, 1)):
        person(ifo, hired)
    gone = person(ifo, date(2012, 1, 1))
    gone.active = False
    db.session.commit()
    first = recompute()
    assert first.created == 3

    def snapshot() -> list[tuple]:
        columns = (Assignment.id, Assignment.due_date, Assignment.rule_id, Assignment.removed_at)
        return [tuple(row) for row in db.session.execute(sa.select(*columns))]

    before = snapshot()
    assert recompute().total == 0
    assert snapshot() == before


def test_recompute_can_be_limited_to_some_employees(course, ifo):
    make_rule(course)
    school = factories.unit("Järfälla", Sector.SCHOOL, "Skolan")
    in_ifo, in_school = person(ifo, date(2015, 1, 1)), person(school, date(2015, 1, 1))
    changes = recompute_assignments(db.session, Employee.unit_id == ifo.id, today=TODAY)
    db.session.commit()
    assert changes.created == 1
    assert assignment_of(in_ifo, course) is not None
    assert assignment_of(in_school, course) is None


def _add_staff(unit: Unit, how_many: int) -> None:
    start = datetime(2026, 1, 1).timestamp()
    db.session.add_all(
        Employee(
            first_name="Stat",
            last_name=f"Person{index}",
            email=f"stat{int(start)}.{unit.id}.{index}@test.example",
            municipality_id=unit.municipality_id,
            unit_id=unit.id,
            hire_date=date(2015, 1, 1) + timedelta(days=index),
        )
        for index in range(how_many)
    )
    db.session.commit()


def test_the_number_of_statements_does_not_grow_with_the_number_of_employees(course):
    make_rule(course)
    small_unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "Liten enhet")
    large_unit = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "Stor enhet")
    _add_staff(small_unit, 10)
    _add_staff(large_unit, 200)

    with counting_statements() as for_ten:
        ten = recompute_assignments(db.session, Employee.unit_id == small_unit.id, today=TODAY)
    db.session.commit()
    with counting_statements() as for_two_hundred:
        two_hundred = recompute_assignments(
            db.session, Employee.unit_id == large_unit.id, today=TODAY
        )
    db.session.commit()

    assert (ten.created, two_hundred.created) == (10, 200)
    assert len(for_ten) == len(for_two_hundred), (for_ten, for_two_hundred)
    assert len(for_ten) <= 10


@pytest.mark.parametrize(
    ("hired", "end_date", "due_dates"),
    [
        # a new hire: the earliest due date of the two rules, and the new hires' course
        (date(2026, 6, 1), None, [date(2026, 6, 21), date(2026, 7, 1)]),
        (date(2019, 2, 1), None, [RULE_START + timedelta(days=20)]),  # existing staff
        (date(2026, 7, 1), None, [date(2026, 7, 21), date(2026, 7, 31)]),  # hired next month
        (date(2026, 1, 1), TODAY, []),  # enrolled on their last day: nothing
    ],
)
def test_enrolling_someone_makes_what_a_recomputation_would(
    course, ifo, hired, end_date, due_dates
):
    make_rule(course, due_days=90)
    make_rule(course, due_days=20, municipality_name="Järfälla")
    make_rule(factories.synced_catalog()["skolverket-arbeta-mot-hrv"], for_existing_staff=False)
    data = EmployeeData(
        first_name="Nyanställd",
        last_name="Person",
        email="ny.person@jarfalla.example",
        municipality_id=ifo.municipality_id,
        unit_id=ifo.id,
        hire_date=hired,
        end_date=end_date,
    )

    with counting_statements() as statements:
        employee = create_employee(db.session, data, actor=None, invite=False, today=TODAY)
    db.session.commit()
    enrolled = db.session.scalars(
        sa.select(Assignment.due_date)
        .where(Assignment.employee_id == employee.id, Assignment.source == AssignmentSource.RULE)
        .order_by(Assignment.due_date)
    ).all()

    assert enrolled == due_dates
    # Nothing left for a recomputation to make, change or close …
    assert recompute_assignments(db.session, Employee.id == employee.id, today=TODAY).total == 0
    # … and it took one statement, not the recomputation's scratch table.
    assert not any("required_assignments" in s for s in statements)
