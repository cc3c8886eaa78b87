"""The trend per municipality (issue #17) is the report's own trend narrowed to each
municipality, from the cache and live alike, in a fixed number of queries; a regional reader
sees a municipality's small months withheld."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories
from tests.conftest import counting_statements
from training_tracker.extensions import db
from training_tracker.models import Role, Sector
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting import coverage_trend_groups, minimisation
from training_tracker.services.reporting.coverage import (
    CoverageFilters,
    coverage_trend,
    total_of,
    trend_by_municipality,
    trend_days,
)

EVERYTHING = ReportScope(True, frozenset(), frozenset())


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2026, 3, 16, 10, tzinfo=UTC), tick=False):
        yield


@pytest.fixture()
def staff():  # type: ignore[no-untyped-def]
    """Järfälla's staff required since last spring, Sigtuna's since the autumn (earlier
    months have no point), and three people in Sollentuna."""
    course = factories.dated_course("nck")
    for n, (name, count, since) in enumerate(
        (
            ("Järfälla", 12, date(2025, 4, 1)),
            ("Sigtuna", 8, date(2025, 10, 1)),
            ("Sollentuna", 3, date(2025, 4, 1)),
        )
    ):
        unit = factories.unit(name, Sector.SOCIAL_SERVICES, f"IFO {name}")
        factories.staff_in_bulk(
            unit, count, [course], hire_date=since, assigned_on=since, due=since, prefix=f"m{n}"
        )
    return course


def test_each_municipality_s_line_is_the_trend_narrowed_to_it(staff):
    filters = CoverageFilters()
    trends = trend_by_municipality(db.session, EVERYTHING, filters)
    assert [trend.label for trend in trends] == ["Järfälla", "Sigtuna", "Sollentuna"]
    for trend in trends:
        alone = coverage_trend(db.session, EVERYTHING, filters.but(municipality_id=trend.key))
        assert trend.points == alone
    # Summed, they are the trend of everyone: a page showing both asks once.
    assert total_of(trends, trend_days(filters.day())) == coverage_trend(
        db.session, EVERYTHING, filters
    )
    sigtuna = trends[1].points
    assert [p.percent is None for p in sigtuna[:6]] == [True] * 6  # not required before October
    # Of 8: numbers 0, 2, 4 and 6 verified, 3 reported (Sigtuna counts reports by default).
    assert (sigtuna[-1].required, sigtuna[-1].covered) == (8, 5)


def test_from_the_cache_and_live_alike(staff):
    filters = CoverageFilters(mode="verified")
    days = trend_days(filters.day())
    today = filters.day()
    answer = coverage_trend_groups._cached(db.session, EVERYTHING, filters, days, today)
    live = coverage_trend_groups._live(db.session, EVERYTHING, filters, days, today)
    assert answer is not None
    cached, pending = answer
    assert pending == frozenset()  # a cache this small is filled by the request itself
    assert cached == live
    assert len(cached) == 3


def test_the_number_of_queries_does_not_grow_with_the_municipalities(staff):
    def statements() -> int:
        with counting_statements() as seen:
            trend_by_municipality(db.session, EVERYTHING, CoverageFilters())
        return len(seen)

    trend_by_municipality(db.session, EVERYTHING, CoverageFilters())  # the cache made fresh
    few = statements()
    for n, name in enumerate(("Sundbyberg", "Upplands Väsby", "Upplands-Bro"), start=5):
        unit = factories.unit(name, Sector.SCHOOL, f"Skola {name}")
        factories.staff_in_bulk(
            unit, 5, [staff], hire_date=date(2025, 6, 1), assigned_on=date(2025, 6, 1),
            due=date(2025, 7, 1), prefix=f"m{n}",
        )  # fmt: skip
    trend_by_municipality(db.session, EVERYTHING, CoverageFilters())
    assert statements() == few


def test_a_regional_reader_sees_small_months_of_other_municipalities_withheld(staff):
    regional = factories.with_role(
        factories.employee(unit=factories.unit("Järfälla", Sector.OTHER, "Kansliet")),
        Role.COORDINATOR,
    )
    filters = CoverageFilters()
    table = minimisation.shown_table(db.session, regional, EVERYTHING, filters, "municipality")
    total, shown = minimisation.shown_trends(db.session, regional, EVERYTHING, filters, table)
    assert total == minimisation.shown_trend(db.session, regional, EVERYTHING, filters, table)
    by_name = {trend.label: trend for trend in shown}
    assert not any(p.withheld for p in by_name["Järfälla"].points)  # her own municipality
    assert not any(p.withheld for p in by_name["Sigtuna"].points)  # 8 people
    assert all(p.withheld and p.percent is None for p in by_name["Sollentuna"].points)
