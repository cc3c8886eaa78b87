"""Summaries of everyone's coverage (services/reporting/coverage_summary.py): a reader of every
municipality reads the table and the trend from one stored summary while nothing they sum has
changed, and never once something has: a change to anyone's figures, a unit created, or a
new day. Readers of fewer units neither read nor store one. The figures are always the live
ones (test_coverage_cache.py checks that after every kind of change)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from tests import factories
from tests.conftest import counting_statements
from training_tracker.extensions import db
from training_tracker.models import Course, CoverageSummary, Employee, Sector
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting import coverage_summary
from training_tracker.services.reporting.coverage import (
    CoverageFilters,
    coverage_table,
    coverage_table_live,
    coverage_trend,
    coverage_trend_live,
)
from training_tracker.services.training.assignments import recompute_assignments

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
EVERYONE = ReportScope(True, frozenset(), frozenset())


@pytest.fixture(autouse=True)
def summaries_of_two_units(monkeypatch: pytest.MonkeyPatch) -> None:
    """Summaries are kept for a thousand units or more: here for the two of these tests."""
    monkeypatch.setattr(coverage_summary, "MIN_UNITS", 2)


@pytest.fixture()
def staff() -> tuple[Course, list[Employee]]:
    """Six people in two municipalities, all required to take one course."""
    with time_machine.travel(NOW, tick=False):
        course = factories.dated_course("v", provider_key="p1")
        units = [
            factories.unit("Järfälla", Sector.SCHOOL, "Skolan"),
            factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO"),
        ]
        people = [
            factories.employee(unit=units[n % 2], password=None, hire_date=date(2025, 1, 1))
            for n in range(6)
        ]
        factories.rule(course, due_days=30)
        recompute_assignments(db.session)
        db.session.commit()
    return course, people


def summaries() -> dict[str, CoverageSummary]:
    db.session.expire_all()
    return {
        row.read_key.split("|")[0]: row for row in db.session.scalars(sa.select(CoverageSummary))
    }


def doctor_the_trend_summary() -> None:
    """Write a figure into the stored trend that no computation gives: if a read shows it,
    the read came from the summary."""
    trend = summaries()["trend"]
    payload = json.loads(trend.payload)  # [[day, required, covered], …] in no set order
    report_date = max(day for day, *_sums in payload)
    for entry in payload:
        if entry[0] == report_date:
            entry[1:] = [1000, 999]  # 1,000 required, 999 covered
    trend.payload = json.dumps(payload)
    db.session.commit()


def doctored(points: list) -> bool:  # type: ignore[type-arg]
    return (points[-1].required, points[-1].covered) == (1000, 999)


def read_everyone() -> None:
    for _ in range(2):  # the first read fills the cache, the second stores the summaries
        coverage_table(db.session, EVERYONE, CoverageFilters(), "municipality")
        coverage_trend(db.session, EVERYONE, CoverageFilters())


@time_machine.travel(NOW, tick=False)
def test_an_unchanged_report_is_read_from_its_summary(staff) -> None:
    read_everyone()
    assert {"table-municipality", "trend"} <= set(summaries())
    table = coverage_table(db.session, EVERYONE, CoverageFilters(), "municipality")
    assert table == coverage_table_live(db.session, EVERYONE, CoverageFilters(), "municipality")
    assert [row.label for row in table.rows] == ["Järfälla", "Sigtuna"]
    doctor_the_trend_summary()
    assert doctored(coverage_trend(db.session, EVERYONE, CoverageFilters()))


@time_machine.travel(NOW, tick=False)
def test_a_change_to_anyones_figures_makes_the_summary_stale(staff) -> None:
    course, people = staff
    read_everyone()
    doctor_the_trend_summary()
    factories.dated_completion(people[0], course, completed_on=date(2026, 3, 1))
    trend = coverage_trend(db.session, EVERYONE, CoverageFilters())
    assert not doctored(trend)
    assert trend == coverage_trend_live(db.session, EVERYONE, CoverageFilters())
    table = coverage_table(db.session, EVERYONE, CoverageFilters(), "municipality")
    assert table == coverage_table_live(db.session, EVERYONE, CoverageFilters(), "municipality")
    assert table.total.cell(course.id).covered == 1


@time_machine.travel(NOW, tick=False)
def test_fewer_units_than_the_least_are_summed_from_their_rows(staff, monkeypatch) -> None:
    monkeypatch.setattr(coverage_summary, "MIN_UNITS", 3)
    read_everyone()
    assert summaries() == {}


@time_machine.travel(NOW, tick=False)
def test_a_new_unit_makes_the_summary_stale(staff) -> None:
    read_everyone()
    doctor_the_trend_summary()
    factories.unit("Sigtuna", Sector.SCHOOL, "Skolan")  # nobody in it, nothing logged
    assert not doctored(coverage_trend(db.session, EVERYONE, CoverageFilters()))


def test_a_summary_answers_on_its_own_day_only(staff) -> None:
    with time_machine.travel(NOW, tick=False):
        read_everyone()
        doctor_the_trend_summary()
    with time_machine.travel(datetime(2026, 3, 3, 9, tzinfo=UTC), tick=False):
        # The same dates, asked for the day after: the summary was of "today" then.
        yesterday = CoverageFilters(as_of=date(2026, 3, 2))
        trend = coverage_trend(db.session, EVERYONE, yesterday)
        assert not doctored(trend)
        assert trend == coverage_trend_live(db.session, EVERYONE, yesterday)
        # Stored again today, the day before's summaries are gone.
        coverage_trend(db.session, EVERYONE, yesterday)
        assert {row.computed_for for row in summaries().values()} == {date(2026, 3, 3)}


@time_machine.travel(NOW, tick=False)
def test_a_reader_of_fewer_units_neither_reads_nor_stores_a_summary(staff) -> None:
    _, people = staff
    one = ReportScope(False, frozenset({people[0].municipality_id}), frozenset())
    for _ in range(3):
        coverage_table(db.session, one, CoverageFilters(), "sector")
        coverage_trend(db.session, one, CoverageFilters())
        coverage_table(db.session, EVERYONE, CoverageFilters(sector=Sector.SCHOOL), "unit")
    assert summaries() == {}


@time_machine.travel(NOW, tick=False)
def test_a_page_reads_the_units_once_for_its_table_and_its_trend(staff) -> None:
    read_everyone()
    db.session.commit()  # a new transaction, as a new request has
    with counting_statements() as statements:
        coverage_table(db.session, EVERYONE, CoverageFilters(), "municipality")
        coverage_trend(db.session, EVERYONE, CoverageFilters())
    summaries_read = [s for s in statements if "coverage_summaries" in s]
    units_read = [s for s in summaries_read if "coverage_change_totals" in s]
    assert (len(summaries_read), len(units_read)) == (2, 1)
