"""The coverage cache when a request finds too much of it stale to compute (issue #21: an empty
cache after a seed or a restore, or the morning before the nightly warm-up): the request
answers at once, the table live and the trend with the dates it has, the others marked as
being computed; the scheduler's fill job computes them, and then everything is the live
computation again, from the cache. A reader's page and downloads give the live table a time
budget: past it, the table too is being computed, and the reader is told so."""

# ruff: noqa: F811  (the fixtures of test_coverage_cache, imported, are parameters here)

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests import factories
from tests.test_coverage_cache import (  # noqa: F401  (the fixtures)
    EVERYTHING,
    World,
    assert_cached_is_live,
    recomputations,
    world,
)
from training_tracker import clock, scheduler
from training_tracker.extensions import db
from training_tracker.models import CoverageFillRequest, CoverageUnitCache, Role
from training_tracker.services.reporting import coverage_cache, coverage_cache_store
from training_tracker.services.reporting.coverage import (
    GROUPINGS,
    CoverageFilters,
    coverage_table,
    coverage_table_live,
    coverage_trend,
    coverage_trend_live,
    total_of,
    trend_by_municipality,
    trend_days,
)

NOTICE = "Utvecklingen räknas fram, ladda om om en stund."


@pytest.fixture()
def few_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request computes at most 5 rows itself: the world's six units on one date are more."""
    monkeypatch.setattr(coverage_cache, "INLINE_ROWS", 5)


@pytest.fixture()
def no_time_to_wait(app: Any) -> Iterator[None]:
    """The live table's budget is spent before it starts, so the database always stops it
    (SQLite at its first progress check, PostgreSQL after a millisecond)."""
    budget = app.config["COVERAGE_LIVE_BUDGET_SECONDS"]
    app.config["COVERAGE_LIVE_BUDGET_SECONDS"] = 0
    yield
    app.config["COVERAGE_LIVE_BUDGET_SECONDS"] = budget


def requested() -> list[str]:
    return list(db.session.scalars(sa.select(CoverageFillRequest.variant)))


@pytest.mark.parametrize("many_units", [2, 200], ids=["in one pass", "dates as rows"])
def test_an_empty_cache_answers_the_table_live_and_leaves_the_trend_to_the_fill_job(
    world: World,
    few_inline: None,
    recomputations: list[int],
    monkeypatch: pytest.MonkeyPatch,
    many_units: int,
) -> None:
    # A country's fill computes its units' dates in one pass (coverage_by_dates): here the
    # world's six units are "many" when the limit is 2.
    monkeypatch.setattr(coverage_cache_store, "MANY_UNITS", many_units)
    passes: list[int] = []
    one_pass = coverage_cache_store._numbers_by_date

    def counted(*args: Any) -> Any:
        passes.append(1)
        return one_pass(*args)

    monkeypatch.setattr(coverage_cache_store, "_numbers_by_date", counted)
    filters = CoverageFilters(mode="verified")
    for group_by in GROUPINGS:
        table = coverage_table(db.session, EVERYTHING, filters, group_by)
        assert table == coverage_table_live(db.session, EVERYTHING, filters, group_by)
    trend = coverage_trend(db.session, EVERYTHING, filters)
    assert [point.day for point in trend] == trend_days(clock.today())
    assert all(point.pending and point.percent is None for point in trend)
    by_municipality = trend_by_municipality(db.session, EVERYTHING, filters)
    assert {one.label for one in by_municipality} == {"Järfälla", "Sigtuna"}
    assert all(point.pending for one in by_municipality for point in one.points)
    assert all(point.pending for point in total_of(by_municipality, trend_days(clock.today())))
    # Nothing was computed during the requests; the fill job was asked for the variant.
    assert recomputations == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CoverageUnitCache)) == 0
    assert requested() == ["verified|c=|p="]

    filled = coverage_cache_store.fill_cache(db.session)

    rows = len(world.units) * len(trend_days(clock.today()))
    assert filled == {"setting|c=|p=": rows, "verified|c=|p=": rows}
    assert passes == ([1, 1] if many_units < len(world.units) else [])  # one per variant
    assert requested() == []
    recomputations.clear()
    tables = assert_cached_is_live(EVERYTHING, filters)  # from the cache now, nothing stale
    assert not any(point.pending for point in tables["trend"])
    assert_cached_is_live(EVERYTHING, CoverageFilters())
    assert recomputations == []
    assert coverage_cache_store.fill_cache(db.session) == {}  # all fresh: nothing to do


def test_on_a_new_day_the_month_ends_are_shown_and_only_today_waits(
    world: World, few_inline: None, recomputations: list[int]
) -> None:
    filters = CoverageFilters()
    coverage_cache_store.fill_cache(db.session)
    world.travel.shift(timedelta(days=1))  # today's rows are stale, the month ends are not
    recomputations.clear()

    trend = coverage_trend(db.session, EVERYTHING, filters)
    live = coverage_trend_live(db.session, EVERYTHING, filters)

    assert trend[:-1] == live[:-1]
    assert trend[-1].pending and trend[-1].day == clock.today()
    assert coverage_table(db.session, EVERYTHING, filters) == coverage_table_live(
        db.session, EVERYTHING, filters
    )
    assert recomputations == []
    assert requested() == ["setting|c=|p="]
    assert coverage_cache_store.fill_cache(db.session) == {"setting|c=|p=": len(world.units)}
    assert coverage_trend(db.session, EVERYTHING, filters) == live


def test_a_few_stale_rows_are_still_computed_by_the_request(
    world: World, few_inline: None, recomputations: list[int]
) -> None:
    coverage_cache_store.fill_cache(db.session)
    recomputations.clear()
    person = factories.employee(unit=world.units[0], password=None)
    db.session.delete(person)  # one unit changed: its 12 rows are more than 5 ...
    db.session.commit()
    manager = EVERYTHING.__class__(False, frozenset(), frozenset({world.units[0].id}))
    # ... but a table of that unit on one date is one row: the request computes it.
    assert coverage_table(db.session, manager, CoverageFilters()) == coverage_table_live(
        db.session, manager, CoverageFilters()
    )
    assert recomputations == [1]
    assert requested() == []


def test_the_page_says_the_trend_is_being_computed(
    client: Any, world: World, few_inline: None
) -> None:
    regional = factories.with_role(factories.employee(), Role.COORDINATOR)
    client.sign_in(regional)
    html = client.get("/reports/").get_data(as_text=True)
    assert f'role="status" id="trend-pending">{NOTICE}' in html
    assert "räknas fram</td>" in html
    assert "coverage-table" in html and "table-pending" not in html  # within its budget
    coverage_cache_store.fill_cache(db.session)
    html = client.get("/reports/").get_data(as_text=True)
    assert NOTICE not in html and "räknas fram</td>" not in html


TABLE_NOTICE = (
    "Siffrorna räknas fram just nu, efter en återställning eller en stor ändring. Det tar en"
    " minut eller två:"
)


def test_a_live_table_past_its_budget_is_pending_and_left_to_the_fill_job(
    world: World, few_inline: None
) -> None:
    filters = CoverageFilters(mode="verified")
    live = coverage_table_live(db.session, EVERYTHING, filters, "unit")

    pending = coverage_table(db.session, EVERYTHING, filters, "unit", live_budget=0)

    assert pending.pending and pending.rows == [] and pending.as_of == live.as_of
    assert requested() == ["verified|c=|p="]
    # The trend waits for the fill job too, not computed live after the stopped table.
    assert all(point.pending for point in coverage_trend(db.session, EVERYTHING, filters))
    # Within its budget, the same request answers live, in full.
    assert coverage_table(db.session, EVERYTHING, filters, "unit", live_budget=30) == live
    coverage_cache_store.fill_cache(db.session)
    # A fresh cache needs no budget: even none at all is enough.
    assert coverage_table(db.session, EVERYTHING, filters, "unit", live_budget=0) == live


def test_the_page_says_the_table_is_being_computed_and_downloads_say_when_to_come_back(
    client: Any, world: World, few_inline: None, no_time_to_wait: None
) -> None:
    regional = factories.with_role(factories.employee(), Role.COORDINATOR)
    client.sign_in(regional)

    page = client.get("/reports/?mode=verified")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'role="status" id="table-pending">{TABLE_NOTICE}' in html
    assert '<a href="/reports/?mode=verified">ladda om sidan</a>' in html
    assert "coverage-table" not in html  # no table of zeros
    assert "Räknas fram, med täckningen ovan." in html  # nor a programme nobody joined
    assert "Ingen i urvalet" not in html
    for download in ("/reports/coverage.csv", "/reports/coverage.xlsx"):
        response = client.get(download)
        assert response.status_code == 503, download
        assert response.headers["Retry-After"] == "60"
        assert "Försök igen om en minut eller två." in response.get_data(as_text=True)

    coverage_cache_store.fill_cache(db.session)  # the scheduler's job, a minute later

    html = client.get("/reports/?mode=verified").get_data(as_text=True)
    assert "table-pending" not in html and "coverage-table" in html
    assert "Järfälla" in html and "Sigtuna" in html
    for download in ("/reports/coverage.csv", "/reports/coverage.xlsx"):
        assert client.get(download).status_code == 200, download


def test_the_scheduler_fills_the_cache_every_minute_and_at_start(app: Any) -> None:
    spec = {spec.id: spec for spec in scheduler.job_specs(app.config)}[
        scheduler.FILL_COVERAGE_CACHE
    ]
    assert spec.trigger.interval == timedelta(seconds=60)  # type: ignore[attr-defined]
    assert spec.run_at_start
