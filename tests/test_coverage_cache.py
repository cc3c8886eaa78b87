"""The coverage cache (issue #8, point 3): the coverage table (today's and a past date's)
and the monthly trend are summed from per-unit, per-date numbers, and they are exactly the
live computation at all times: after every kind of change, made through the models or
through raw SQL, as the days and months pass, and when a writer commits while the cache is
being recomputed. A past date's rows outlive the day; today's do not. The number of queries
does not grow with the staff."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from apscheduler.triggers.cron import CronTrigger

from tests import factories
from tests.conftest import counting_statements
from training_tracker import clock, scheduler
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    CoverageChange,
    CoverageChangeTotal,
    CoverageUnitCache,
    Employee,
    Municipality,
    Provider,
    RequirementRule,
    Sector,
    Unit,
)
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.people.employment import deactivate_leavers
from training_tracker.services.reporting import (
    coverage_by_dates,
    coverage_cache_freshness,
    coverage_cache_store,
)
from training_tracker.services.reporting.coverage import (
    GROUPINGS,
    CoverageFilters,
    coverage_table,
    coverage_table_live,
    coverage_trend,
    coverage_trend_live,
    trend_days,
)
from training_tracker.services.training.assignments import recompute_assignments

START = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday, 10:00 in Stockholm
EVERYTHING = ReportScope(True, frozenset(), frozenset())
SEED = 20261125
STEPS = 150


# --- a small world ------------------------------------------------------------------------


@dataclass
class World:
    travel: Any  # time_machine's traveller: .shift(timedelta)
    units: list[Unit]
    courses: dict[str, Course]
    providers: list[Provider]
    jarfalla: Municipality
    sigtuna: Municipality
    combos: list[tuple[str, ReportScope, CoverageFilters]] = field(default_factory=list)


def person(unit: Unit, hired: date) -> Employee:
    return factories.employee(unit=unit, password=None, hire_date=hired)


@pytest.fixture()
def world() -> Iterator[World]:
    """Six units in two municipalities that count differently, three courses of two
    providers (one valid a year), rules, and 60 people, three of them not yet hired."""
    with time_machine.travel(START, tick=False) as traveller:
        today = clock.today()
        jarfalla, sigtuna = factories.municipality("Järfälla"), factories.municipality("Sigtuna")
        sigtuna.count_reported_in_coverage = False
        db.session.commit()
        v = factories.dated_course("v", title="Våld", provider_key="p1")
        h = factories.dated_course("h", title="Heder", provider_key="p2", validity_months=12)
        s = factories.dated_course("s", title="Skolan", provider_key="p2")
        units = [
            factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO"),
            factories.unit("Järfälla", Sector.SCHOOL, "Skolan"),
            factories.unit("Järfälla", Sector.HEALTH_AND_CARE, "Vården"),
            factories.unit("Järfälla", Sector.LEISURE, "Fritid"),
            factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO"),
            factories.unit("Sigtuna", Sector.SCHOOL, "Skolan"),
        ]
        rng = random.Random(SEED)
        for n in range(60):
            hired = today + timedelta(days=rng.choice([3, 9, 15])) if n % 20 == 7 else None
            person(units[n % 6], hired or today - timedelta(days=rng.randint(10, 700)))
        factories.rule(v, due_days=30, applies_from=today - timedelta(days=60))
        factories.rule(h, sector=Sector.SOCIAL_SERVICES, due_days=45)
        factories.rule(s, sector=Sector.SCHOOL, municipality_name="Järfälla", due_days=20)
        recompute_assignments(db.session)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # Statistics, as autovacuum would gather them: without, the planner takes every
            # table for empty and the live queries the test compares with crawl.
            for table in ("employees", "assignments", "completions", "units"):
                db.session.execute(sa.text(f"ANALYZE {table}"))
            db.session.commit()
        providers = [v.provider, h.provider]
        found = World(traveller, units, {"v": v, "h": h, "s": s}, providers, jarfalla, sigtuna)
        manager = ReportScope(False, frozenset(), frozenset({units[0].id}))
        one = ReportScope(False, frozenset({jarfalla.id}), frozenset())
        found.combos = [
            ("reported", EVERYTHING, CoverageFilters(mode="reported")),
            ("verified", EVERYTHING, CoverageFilters(mode="verified")),
            ("course", EVERYTHING, CoverageFilters(course_id=h.id)),
            ("provider", EVERYTHING, CoverageFilters(provider_id=h.provider_id)),
            ("municipality", one, CoverageFilters()),
            ("municipality, verified", one, CoverageFilters(mode="verified")),
            ("manager", manager, CoverageFilters()),
            ("manager, course", manager, CoverageFilters(course_id=v.id)),
            ("Sigtuna filter", EVERYTHING, CoverageFilters(municipality_id=sigtuna.id)),
            ("school sector", EVERYTHING, CoverageFilters(sector=Sector.SCHOOL)),
        ]
        yield found


def assert_cached_is_live(
    scope: ReportScope,
    filters: CoverageFilters,
    label: str = "",
    groupings: tuple[str, ...] = GROUPINGS,
) -> dict[str, Any]:
    """The cached table equals the live one in each grouping, row by row and in total."""
    tables = {}
    for group_by in groupings:
        cached = coverage_table(db.session, scope, filters, group_by)
        live = coverage_table_live(db.session, scope, filters, group_by)
        assert cached.rows == live.rows, f"{label}: rows by {group_by}"
        assert cached.total == live.total, f"{label}: total by {group_by}"
        assert cached == live, f"{label}: by {group_by}"
        tables[group_by] = cached
    trend = coverage_trend(db.session, scope, filters)
    assert trend == coverage_trend_live(db.session, scope, filters), f"{label}: trend"
    tables["trend"] = trend
    return tables


def fingerprint(table: Any) -> tuple[Any, ...]:
    total = table.total
    return (total.people, total.fully_trained, total.exempt_people, total.all_required)


@pytest.fixture()
def recomputations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many units each recomputation of the cache recomputed."""
    counts: list[int] = []
    original = coverage_cache_store.recompute

    def counting(*args: Any, **kwargs: Any) -> int:
        counts.append(original(*args, **kwargs))
        return counts[-1]

    monkeypatch.setattr(coverage_cache_store, "recompute", counting)
    return counts


# --- the random changes -------------------------------------------------------------------


def _now() -> datetime:
    return clock.utcnow()


def _pick(rng: random.Random, query: sa.Select[Any]) -> Any:
    # In id order: the same seed makes the same choices on both databases.
    entity = query.column_descriptions[0]["entity"]
    rows = db.session.scalars(query.order_by(entity.id)).all()
    return rng.choice(rows) if rows else None


def report(rng: random.Random, w: World) -> None:
    assignment = _pick(rng, sa.select(Assignment).where(Assignment.removed_at.is_(None)))
    if assignment is None:
        return
    done = clock.today() - timedelta(days=rng.randint(0, 40))
    expires = None
    if assignment.course_id == w.courses["h"].id:
        expires = done + timedelta(days=rng.choice([365, 2, 5, 40]))
    db.session.add(
        Completion(
            employee_id=assignment.employee_id,
            course_id=assignment.course_id,
            completed_on=done,
            expires_on=expires,
            status=CompletionStatus.REPORTED,
            reported_at=_now(),
        )
    )


def decide(status: CompletionStatus) -> Callable[[random.Random, World], None]:
    def change(rng: random.Random, w: World) -> None:
        completion = _pick(
            rng, sa.select(Completion).where(Completion.status == CompletionStatus.REPORTED)
        )
        if completion is None:
            return
        completion.status = status
        if status != CompletionStatus.WITHDRAWN:
            completion.reviewed_at = _now()
        if status == CompletionStatus.REJECTED:
            completion.rejection_reason = "Fel kurs på intyget"

    change.__name__ = f"decide_{status.value}"
    return change


def exempt(rng: random.Random, w: World) -> None:
    assignment = _pick(rng, sa.select(Assignment))
    if assignment is None:
        return
    if assignment.exempt:
        assignment.exempt, assignment.exempted_at, assignment.exemption_reason = False, None, None
    else:
        assignment.exempt, assignment.exempted_at = True, _now()
        assignment.exemption_reason = "Motsvarande utbildning"


def leaver(rng: random.Random, w: World) -> None:
    employee = _pick(rng, sa.select(Employee).where(Employee.end_date.is_(None)))
    if employee is not None:
        employee.end_date = clock.today() + timedelta(days=rng.choice([-1, 0, 1, 2, 6]))


def deactivate(rng: random.Random, w: World) -> None:
    deactivate_leavers(db.session)


def hire(rng: random.Random, w: World) -> None:
    unit = rng.choice(w.units)
    new = person(unit, clock.today() + timedelta(days=rng.choice([0, 1, 4, 12])))
    recompute_assignments(db.session, Employee.id == new.id)


def move(rng: random.Random, w: World) -> None:
    employee = _pick(rng, sa.select(Employee))
    unit = rng.choice(w.units)
    employee.unit_id, employee.municipality_id = unit.id, unit.municipality_id
    db.session.flush()
    recompute_assignments(db.session, Employee.id == employee.id)


def rule_change(rng: random.Random, w: World) -> None:
    rules = db.session.scalars(sa.select(RequirementRule).where(RequirementRule.ends_on.is_(None)))
    rules = rules.all()
    if rules and rng.random() < 0.4:
        rng.choice(rules).ends_on = clock.today()
    else:
        course = rng.choice(list(w.courses.values()))
        factories.rule(
            course,
            sector=rng.choice([None, *Sector]),
            municipality_name=rng.choice([None, "Järfälla", "Sigtuna"]),
            due_days=rng.choice([0, 7, 30]),
            applies_from=clock.today() - timedelta(days=rng.randint(0, 90)),
        )
    recompute_assignments(db.session)


def count_setting(rng: random.Random, w: World) -> None:
    municipality = rng.choice([w.jarfalla, w.sigtuna])
    municipality.count_reported_in_coverage = not municipality.count_reported_in_coverage


def expiry(rng: random.Random, w: World) -> None:
    completion = _pick(rng, sa.select(Completion))
    if completion is not None:
        completion.expires_on = clock.today() + timedelta(days=rng.choice([0, 1, 2, 9]))


def staff_of(unit: Unit) -> sa.Select[tuple[int]]:
    return sa.select(Employee.id).where(Employee.unit_id == unit.id)


def raw_due_dates(rng: random.Random, w: World) -> None:
    unit = rng.choice(w.units)
    db.session.execute(
        sa.update(Assignment)
        .where(
            Assignment.employee_id.in_(sa.select(Employee.id).where(Employee.unit_id == unit.id))
        )
        .values(due_date=clock.today() + timedelta(days=rng.randint(-3, 3)))
    )


def delete_completion(rng: random.Random, w: World) -> None:
    completion = _pick(rng, sa.select(Completion))
    if completion is not None:
        db.session.delete(completion)


def provider_switch(rng: random.Random, w: World) -> None:
    course = w.courses["s"]
    p1, p2 = (provider.id for provider in w.providers)
    course.provider_id = p1 if course.provider_id == p2 else p2


def sector_change(rng: random.Random, w: World) -> None:
    unit = rng.choice(w.units)
    unit.sector = rng.choice(list(Sector))
    db.session.flush()
    recompute_assignments(db.session, Employee.unit_id == unit.id)


def days_pass(rng: random.Random, w: World) -> None:
    w.travel.shift(timedelta(days=rng.choice([1, 1, 2, 3])))


def a_month_passes(rng: random.Random, w: World) -> None:
    w.travel.shift(timedelta(days=rng.choice([30, 31])))


CHANGES: list[tuple[Callable[[random.Random, World], None], int]] = [
    (report, 8),
    (decide(CompletionStatus.VERIFIED), 5),
    (decide(CompletionStatus.REJECTED), 2),
    (decide(CompletionStatus.WITHDRAWN), 2),
    (exempt, 3),
    (leaver, 2),
    (deactivate, 1),
    (hire, 2),
    (move, 3),
    (rule_change, 2),
    (count_setting, 1),
    (expiry, 2),
    (raw_due_dates, 2),
    (delete_completion, 1),
    (provider_switch, 1),
    (sector_change, 1),
    (days_pass, 5),
    (a_month_passes, 1),
]


# --- the property -------------------------------------------------------------------------


def test_after_each_of_many_random_changes_the_cached_table_is_the_live_one(
    world: World, recomputations: list[int]
) -> None:
    rng = random.Random(SEED)
    changes, weights = zip(*CHANGES, strict=True)
    opening = [report, report, *changes]
    seen: set[tuple[Any, ...]] = set()
    applied: dict[str, int] = {}
    assert_cached_is_live(EVERYTHING, CoverageFilters(), "at the start")
    for step in range(STEPS):
        # Each kind of change once first (after two reports, for the decisions to decide),
        # then at random by weight.
        change = opening[step] if step < len(opening) else rng.choices(changes, weights)[0]
        change(rng, world)
        db.session.commit()
        db.session.expire_all()
        applied[change.__name__] = applied.get(change.__name__, 0) + 1
        # The default view in each grouping, and one other view in one grouping, in turn.
        tables = assert_cached_is_live(EVERYTHING, CoverageFilters(), f"step {step}")
        seen.add(fingerprint(tables["municipality"]))
        label, scope, filters = world.combos[step % len(world.combos)]
        group_by = GROUPINGS[step // len(world.combos) % len(GROUPINGS)]
        assert_cached_is_live(scope, filters, f"step {step}, {label}", (group_by,))
        # Yesterday: after a day has passed, the row computed when it was today is stale
        # (whoever was inactive then counts now that the day is past).
        yesterday = CoverageFilters(as_of=clock.today() - timedelta(days=1))
        assert_cached_is_live(EVERYTHING, yesterday, f"step {step}, yesterday", (group_by,))
    assert len(applied) == len(CHANGES), "every kind of change was made"
    assert len(seen) > 40, "the changes moved the numbers"
    # The cache was used: most of the 8 reads a step (3 tables and the trend by default, a
    # table and the trend of another view, yesterday's) needed no recomputation, and
    # recomputations were of a few rows (a unit on a date), not every unit on every date.
    assert 0 < len(recomputations) < STEPS * 8 / 2
    assert sum(recomputations) < len(recomputations) * len(world.units) * 12 / 4


# --- every write path invalidates ---------------------------------------------------------


def _raw_status(w: World) -> sa.Executable:
    return sa.update(Completion).values(status=CompletionStatus.VERIFIED, reviewed_at=_now())


def _raw_move(w: World) -> sa.Executable:
    return (
        sa.update(Employee)
        .where(Employee.unit_id == w.units[0].id)
        .values(unit_id=w.units[4].id, municipality_id=w.sigtuna.id)
    )


def _raw_setting(w: World) -> sa.Executable:
    return sa.update(Municipality).values(count_reported_in_coverage=False)


def _raw_provider(w: World) -> sa.Executable:
    return (
        sa.update(Course)
        .where(Course.id == w.courses["h"].id)
        .values(provider_id=w.courses["v"].provider_id)
    )


def _raw_delete(w: World) -> sa.Executable:
    return sa.delete(Assignment).where(Assignment.course_id == w.courses["v"].id)


@pytest.mark.parametrize(
    "statement", [_raw_status, _raw_move, _raw_setting, _raw_provider, _raw_delete]
)
def test_a_change_made_with_raw_sql_is_seen_at_once(
    world: World, statement: Callable[[World], sa.Executable]
) -> None:
    for name in ("v", "h"):
        for assignment in db.session.scalars(
            sa.select(Assignment).where(Assignment.course_id == world.courses[name].id)
        ).all()[::2]:
            factories.dated_completion(
                db.session.get_one(Employee, assignment.employee_id),
                world.courses[name],
                completed_on=clock.today() - timedelta(days=3),
                status=CompletionStatus.REPORTED,
            )
    filters = CoverageFilters(provider_id=world.courses["h"].provider_id)
    before = assert_cached_is_live(EVERYTHING, filters)
    before_default = assert_cached_is_live(EVERYTHING, CoverageFilters())
    db.session.execute(statement(world))
    db.session.commit()
    after = assert_cached_is_live(EVERYTHING, filters)
    after_default = assert_cached_is_live(EVERYTHING, CoverageFilters())
    assert (before, before_default) != (after, after_default), "the statement changed numbers"


# --- a writer committing while the cache is recomputed ------------------------------------


def verify_everything_elsewhere() -> None:
    """A writer on a connection of its own, committing."""
    with db.engine.begin() as other:
        other.execute(
            sa.update(Completion).values(status=CompletionStatus.VERIFIED, reviewed_at=_now())
        )


@pytest.mark.parametrize(
    "seam",
    ["_live_numbers", "_store"],
    ids=["inside the snapshot, before the numbers", "after the snapshot, before the store"],
)
def test_a_writer_committing_during_a_recomputation_leaves_no_wrongly_fresh_row(
    world: World, monkeypatch: pytest.MonkeyPatch, seam: str
) -> None:
    ifo = world.units[0]
    for employee in db.session.scalars(sa.select(Employee).where(Employee.unit_id == ifo.id)):
        factories.dated_completion(
            employee,
            world.courses["v"],
            completed_on=clock.today() - timedelta(days=2),
            status=CompletionStatus.REPORTED,
        )
    filters = CoverageFilters(mode="verified")
    before = coverage_table_live(db.session, EVERYTHING, filters, "unit")
    original = getattr(coverage_cache_store, seam)

    def writer_commits_first(*args: Any, **kwargs: Any) -> Any:
        verify_everything_elsewhere()
        return original(*args, **kwargs)

    monkeypatch.setattr(coverage_cache_store, seam, writer_commits_first)
    during = coverage_table(db.session, EVERYTHING, filters, "unit")
    monkeypatch.setattr(coverage_cache_store, seam, original)

    # The answer is the snapshot's, whole: nothing of the later write in it.
    assert during == before
    # Its rows were stored with the snapshot's change count, so they are stale now ...
    today = clock.today()
    variant = coverage_cache_freshness.variant_of(filters)
    stale = db.session.execute(
        coverage_cache_freshness.stale_units(variant, [today], today, [])
    ).all()
    assert ifo.id in {unit_id for unit_id, _, _ in stale}
    # ... and the next read is the live table after the write.
    after = coverage_table(db.session, EVERYTHING, filters, "unit")
    assert after == coverage_table_live(db.session, EVERYTHING, filters, "unit")
    assert (
        after.total.cell(world.courses["v"].id).verified
        > before.total.cell(world.courses["v"].id).verified
    )


def _change_records(connection: sa.Connection, ids: dict[str, int]) -> None:
    connection.execute(
        sa.update(Assignment)
        .where(Assignment.employee_id == ids["employee"])
        .values(exempt=True, exempted_at=_now(), exemption_reason="Motsvarande")
    )


def _move_person(connection: sa.Connection, ids: dict[str, int]) -> None:
    connection.execute(
        sa.update(Employee).where(Employee.id == ids["employee"]).values(unit_id=ids["other"])
    )


def _new_unit_with_staff(connection: sa.Connection, ids: dict[str, int]) -> None:
    unit_id = connection.execute(
        sa.insert(Unit)
        .values(municipality_id=ids["jarfalla"], name="Nya enheten", sector=Sector.OTHER)
        .returning(Unit.id)
    ).scalar_one()
    connection.execute(
        sa.update(Employee)
        .where(Employee.id == ids["employee"])
        .values(unit_id=unit_id, municipality_id=ids["jarfalla"])
    )


def _count_setting(connection: sa.Connection, ids: dict[str, int]) -> None:
    connection.execute(
        sa.update(Municipality)
        .where(Municipality.id == ids["jarfalla"])
        .values(count_reported_in_coverage=False)
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [(_change_records, _move_person), (_new_unit_with_staff, _count_setting)],
    ids=[
        "moving a person waits for a change to their records",
        "changing a count setting waits for a unit being made in the municipality",
    ],
)
def test_a_change_that_would_miss_another_uncommitted_one_waits_for_it(
    world: World, first: Callable[..., None], second: Callable[..., None]
) -> None:
    """A change to someone's records logs the unit they are in, and a municipality's new
    count setting logs its units: were the person moved, or a unit made in the municipality,
    by a transaction committing in between, that unit would be counted with the change
    missing and never logged. So the second waits for the first to commit."""
    for employee in db.session.scalars(sa.select(Employee)).all()[::3]:
        assignment = db.session.scalars(
            sa.select(Assignment).where(Assignment.employee_id == employee.id)
        ).first()
        if assignment is not None:
            factories.dated_completion(
                employee,
                db.session.get_one(Course, assignment.course_id),
                completed_on=clock.today() - timedelta(days=1),
                status=CompletionStatus.REPORTED,
            )
    ids = {
        "employee": db.session.scalars(staff_of(world.units[0])).first(),
        "other": world.units[1].id,
        "jarfalla": world.jarfalla.id,
    }
    before = assert_cached_is_live(EVERYTHING, CoverageFilters())
    done = threading.Event()
    engine = db.engine  # the thread has no app context

    def then_second() -> None:
        with engine.begin() as connection:
            second(connection, ids)
        done.set()

    with db.engine.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        first(connection, ids)
        waiting = threading.Thread(target=then_second)
        waiting.start()
        time.sleep(0.5)
        assert not done.is_set(), "the second change waits for the first"
        connection.commit()
    waiting.join(timeout=20)
    assert done.is_set()
    after = assert_cached_is_live(EVERYTHING, CoverageFilters())
    assert after != before


# --- what stays live, and how many queries ------------------------------------------------


def test_a_past_date_is_cached_and_uncommitted_writes_are_computed_live(world: World) -> None:
    yesterday = CoverageFilters(as_of=clock.today() - timedelta(days=1))
    table = coverage_table(db.session, EVERYTHING, yesterday, "unit")
    assert table == coverage_table_live(db.session, EVERYTHING, yesterday, "unit")
    cached_dates = db.session.scalars(sa.select(CoverageUnitCache.as_of).distinct()).all()
    assert cached_dates == [yesterday.as_of]

    assert_cached_is_live(EVERYTHING, CoverageFilters())
    employee = db.session.scalars(sa.select(Employee).where(Employee.unit_id.is_not(None))).first()
    employee.end_date = clock.today()  # left today: no longer counted, not yet committed
    db.session.flush()
    unsaved = coverage_table(db.session, EVERYTHING, CoverageFilters())
    assert unsaved == coverage_table_live(db.session, EVERYTHING, CoverageFilters())
    assert unsaved.total.people == 56  # 60, three not yet hired, one left
    assert coverage_trend(db.session, EVERYTHING, CoverageFilters()) == coverage_trend_live(
        db.session, EVERYTHING, CoverageFilters()
    )
    db.session.rollback()
    assert coverage_table(db.session, EVERYTHING, CoverageFilters()).total.people == 57


def test_the_trend_s_past_month_ends_outlive_the_day_and_a_change_recomputes_one_unit(
    world: World, recomputations: list[int]
) -> None:
    """Today's rows are recomputed on a new day; the month ends' rows are not, until their
    unit changes, and then only that unit's."""
    world.travel.shift(timedelta(days=1))  # not the last of a month: twelve dates
    days = trend_days(clock.today())
    assert len(days) == 12
    assert_cached_is_live(EVERYTHING, CoverageFilters())
    # The table: every unit today; the trend: every unit on the eleven month ends.
    assert recomputations == [len(world.units), len(world.units) * 11]
    recomputations.clear()

    world.travel.shift(timedelta(days=1))
    assert trend_days(clock.today())[:-1] == days[:-1]
    assert_cached_is_live(EVERYTHING, CoverageFilters())
    assert recomputations == [len(world.units)]  # today's rows only; the trend's were made
    recomputations.clear()

    employee_id = db.session.scalars(staff_of(world.units[2])).first()
    assignment = db.session.scalars(
        sa.select(Assignment).where(Assignment.employee_id == employee_id)
    ).first()
    db.session.delete(assignment)  # gone from every date of the trend
    db.session.commit()
    assert_cached_is_live(EVERYTHING, CoverageFilters())
    assert recomputations == [1, 11]  # the unit today (table), its month ends (trend)


def test_many_units_on_several_dates_are_recomputed_in_one_pass_with_the_same_numbers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    live_queries: list[tuple[str, list[date]]] = []
    for name in ("_live_numbers", "_numbers_by_date"):
        original = getattr(coverage_cache_store, name)

        def recording(
            connection: Any, filters: Any, days: Any, *args: Any, _f: Any = original, _n: str = name
        ) -> Any:
            live_queries.append((_n, list(days)))
            return _f(connection, filters, days, *args)

        monkeypatch.setattr(coverage_cache_store, name, recording)
    monkeypatch.setattr(coverage_cache_store, "MANY_UNITS", 2)
    days = trend_days(clock.today())
    assert coverage_trend(db.session, EVERYTHING, CoverageFilters()) == coverage_trend_live(
        db.session, EVERYTHING, CoverageFilters()
    )
    assert live_queries == [("_numbers_by_date", days)]  # six units: more than "many"

    live_queries.clear()
    monkeypatch.setattr(coverage_cache_store, "MANY_UNITS", 6)
    assert_cached_is_live(EVERYTHING, CoverageFilters(mode="verified"))
    # The table's date; the trend's others in one statement of the dates as rows.
    assert live_queries == [("_live_numbers", [days[-1]]), ("_live_numbers", days[:-1])]


@pytest.mark.parametrize("variant", ["setting|c=|p=", "verified|c=|p=", "reported|c=|p="])
def test_the_numbers_of_many_dates_in_one_pass_are_those_of_each_date(
    world: World, variant: str
) -> None:
    """:func:`coverage_by_dates.numbers_by_date` gives exactly the rows of the live query
    run date by date, after changes of every kind, for every count mode, a course and a
    provider, for every unit and for some."""
    rng = random.Random(SEED + 1)
    changes, weights = zip(*CHANGES, strict=True)
    for change in [report, report, *changes, *rng.choices(changes, weights, k=40)]:
        if change not in (days_pass, a_month_passes):  # the trend's dates stay in the past
            change(rng, world)
            db.session.commit()
    today = clock.today()
    days = trend_days(today)
    base = coverage_cache_freshness.filters_of_variant(variant)
    assert base is not None
    h = world.courses["h"]
    some = Employee.unit_id.in_([world.units[0].id, world.units[4].id])
    with db.engine.connect() as connection:
        for filters, units in [
            (base, None),
            (base.but(course_id=h.id), None),
            (base.but(provider_id=h.provider_id), None),
            (base, some),
        ]:
            by_date = coverage_by_dates.numbers_by_date(
                connection, filters, days, today, [] if units is None else [units]
            )
            cells: list[Any] = []
            rows: list[Any] = []
            for day in days:
                day_cells, day_rows = coverage_cache_store._live_numbers(
                    connection, filters, [day], today, units
                )
                cells += day_cells
                rows += day_rows
            label = f"{filters}, {'some units' if units is not None else 'every unit'}"
            assert sorted(map(tuple, by_date.cells())) == sorted(map(tuple, cells)), label
            assert sorted(map(tuple, by_date.rows())) == sorted(map(tuple, rows)), label
            assert len(rows) > len(days), "there are numbers to compare"
            # Each unit's required and covered on a date are the sums of its cells.
            totals = {(day, unit): [0, 0] for day, unit, *_ in by_date.headers()}
            for day, unit, _course, required, _v, _r, covered, *_ in cells:
                totals[day, unit][0] += required
                totals[day, unit][1] += covered
            assert [
                (day, unit, required, covered)
                for day, unit, *_, required, covered, _, _ in by_date.headers()
            ] == [(day, unit, *totals[day, unit]) for day, unit, *_ in by_date.headers()], label


def test_a_large_recomputation_renews_postgresql_s_statistics_of_the_cache(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without statistics (autovacuum off, or not yet come by) the planner takes the filled
    cache for empty: the country's page took twice as long."""
    monkeypatch.setattr(coverage_cache_store, "ANALYZE_AFTER_ROWS", len(world.units))
    with counting_statements() as statements:
        coverage_table(db.session, EVERYTHING, CoverageFilters())  # every unit: "large"
    analyzed = [s for s in statements if s.startswith("ANALYZE")]
    with counting_statements() as statements:
        factories.dated_completion(
            db.session.scalars(sa.select(Employee).where(Employee.unit_id.is_not(None))).first(),
            world.courses["v"],
            completed_on=clock.today(),
        )
        coverage_table(db.session, EVERYTHING, CoverageFilters())  # one unit: not
    if db.engine.dialect.name == "postgresql":
        assert "ANALYZE coverage_unit_cache" in analyzed
        assert "ANALYZE coverage_unit_cells" in analyzed
    else:
        assert analyzed == []  # SQLite plans without
    assert not [s for s in statements if s.startswith("ANALYZE")]


def statements_of(scope: ReportScope, group_by: str) -> int:
    db.session.expire_all()
    with counting_statements() as statements:
        coverage_table(db.session, scope, CoverageFilters(), group_by)
    return len(statements)


def test_the_number_of_queries_does_not_grow_with_the_staff_or_the_units(world: World) -> None:
    def counts() -> tuple[int, int]:
        # Warm: nothing stale. Then one unit changed, whose numbers are recomputed.
        coverage_table(db.session, EVERYTHING, CoverageFilters(), "unit")
        warm = statements_of(EVERYTHING, "unit")
        factories.dated_completion(
            db.session.scalars(sa.select(Employee).where(Employee.unit_id.is_not(None))).first(),
            world.courses["v"],
            completed_on=clock.today(),
        )
        return warm, statements_of(EVERYTHING, "unit")

    few = counts()
    course = [world.courses["v"]]
    for n in range(12):
        unit = factories.unit("Sundbyberg", Sector.OTHER, f"Enhet {n}")
        factories.staff_in_bulk(
            unit,
            40,
            course,
            hire_date=date(2025, 1, 1),
            assigned_on=date(2025, 2, 1),
            due=date(2026, 4, 1),
            prefix=f"b{n}",
        )
    db.session.commit()
    coverage_table(db.session, EVERYTHING, CoverageFilters(), "unit")  # the new units, once
    many = counts()
    assert few == many
    dialect_check = 1 if db.engine.dialect.name == "postgresql" else 0
    # The summary looked for (too few units to keep one), two sums (one tells whether they
    # are fresh), the courses.
    assert many[0] == 4 + dialect_check
    assert many[1] <= 17


# --- upkeep: the nightly warm-up ----------------------------------------------------------


def test_the_nightly_warm_up_recomputes_what_the_new_day_made_stale(
    world: World, runner: Any, recomputations: list[int]
) -> None:
    assert_cached_is_live(EVERYTHING, CoverageFilters(mode="verified"))
    assert_cached_is_live(EVERYTHING, CoverageFilters())
    changes = db.session.scalar(sa.select(sa.func.count()).select_from(CoverageChange))
    assert changes > 0
    world.travel.shift(timedelta(days=20))  # due dates and hires have come

    result = runner.invoke(args=["reports", "warm-cache"])

    assert result.exit_code == 0, result.output
    assert "rows recomputed (setting|c=|p= " in result.output
    assert f"{changes} changes folded" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CoverageChange)) == 0
    assert db.session.scalar(sa.select(sa.func.sum(CoverageChangeTotal.folded))) == changes
    recomputations.clear()
    # Both variants are fresh for the new day: no reader recomputes anything ...
    assert_cached_is_live(EVERYTHING, CoverageFilters(mode="verified"))
    assert_cached_is_live(EVERYTHING, CoverageFilters())
    assert recomputations == []
    # ... and compaction kept the counts: a change after it is still noticed.
    factories.dated_completion(
        db.session.scalars(sa.select(Employee).where(Employee.unit_id.is_not(None))).first(),
        world.courses["v"],
        completed_on=clock.today(),
    )
    assert_cached_is_live(EVERYTHING, CoverageFilters())
    assert recomputations == [1, 11]  # the unit today, and on the trend's month ends
    # Only today's trend dates are kept.
    kept = set(db.session.scalars(sa.select(CoverageUnitCache.as_of).distinct()))
    assert kept == set(trend_days(clock.today()))


def test_the_scheduler_warms_the_cache_after_midnight(app: Any) -> None:
    jobs = {spec.id: spec for spec in scheduler.job_specs(app.config)}
    trigger = jobs[scheduler.WARM_COVERAGE_CACHE].trigger
    assert isinstance(trigger, CronTrigger)
    assert app.config["COVERAGE_WARM_TIME"] == "00:15"
    fires = trigger.get_next_fire_time(None, datetime(2026, 3, 2, 12, tzinfo=clock.BUSINESS_TZ))
    assert fires == datetime(2026, 3, 3, 0, 15, tzinfo=clock.BUSINESS_TZ)
