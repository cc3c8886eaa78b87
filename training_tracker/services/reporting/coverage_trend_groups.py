"""The trend of :func:`~.coverage.coverage_trend` per municipality: the regional comparison
as lines over the same month ends. Read from the per-unit cache like the trend itself (the
cache's rows made fresh as for the trend, then summed per municipality and date in one GROUP
BY: as many queries as the trend's own), or computed live in one query when the cache cannot
answer. A fixed number of queries, whatever the number of municipalities. The municipalities'
sums add up to the trend's (they partition the same units or people), so a page showing both
sums the lines rather than asking twice (see :func:`total_of`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import CoverageUnitCache, Employee, Municipality, Unit
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting.coverage_cache import complete_days, fresh_sums
from training_tracker.services.reporting.coverage_cache_freshness import (
    has_uncommitted_writes,
    unit_selection,
    variant_of,
)
from training_tracker.services.reporting.coverage_facts import (
    a_date,
    assignment_facts,
    dates_table,
    flag,
    is_covered,
)
from training_tracker.services.reporting.coverage_live import trend_points
from training_tracker.services.reporting.coverage_summary import (
    read_summary,
    store_summary,
    summary_key,
)
from training_tracker.services.reporting.coverage_types import (
    TREND_MONTHS,
    CoverageFilters,
    TrendPoint,
    trend_days,
)

# (municipality id, name) → date → (required, covered)
Sums = dict[tuple[int, str], dict[date, tuple[int, int]]]


@dataclass
class MunicipalityTrend:
    key: int  # the municipality's id
    label: str
    points: list[TrendPoint]


def trend_by_municipality(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    months: int = TREND_MONTHS,
) -> list[MunicipalityTrend]:
    """Per municipality of the population (by name), coverage of all required courses at
    each month end, by the same rules as :func:`~.coverage.coverage_trend`."""
    if scope.is_empty:
        return []
    today = clock.today()
    days = trend_days(filters.day(), max(1, months))
    cached: tuple[Sums, frozenset[date]] | None = None
    if filters.day() <= today and not has_uncommitted_writes(session):
        cached = _cached(session, scope, filters, days, today)
    sums, pending = (
        cached if cached is not None else (_live(session, scope, filters, days, today), frozenset())
    )
    return [
        MunicipalityTrend(key, label, trend_points(days, by_day, pending))
        for (key, label), by_day in sorted(sums.items(), key=lambda item: item[0][1])
    ]


def total_of(trends: list[MunicipalityTrend], days: list[date]) -> list[TrendPoint]:
    """The trend of all the municipalities together: :func:`~.coverage.coverage_trend` on the
    same filters, summed from their lines (``days``: the trend's dates)."""
    sums: dict[date, tuple[int, int]] = {}
    pending: set[date] = set()
    for trend in trends:
        for point in trend.points:
            if point.pending:
                pending.add(point.day)
            required, covered = sums.get(point.day, (0, 0))
            sums[point.day] = (required + point.required, covered + point.covered)
    ready = {day: both for day, both in sums.items() if both[0]}
    return trend_points(days, ready, frozenset(pending))


def _cached(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    days: list[date],
    today: date,
) -> tuple[Sums, frozenset[date]] | None:
    # Everyone's lines (a country's: 21,659 units on 12 dates) are kept summed.
    read = (
        None if unit_selection(scope, filters) else summary_key("trend-municipality", filters, days)
    )
    if read is not None and (summary := read_summary(session, read, today)) is not None:
        return _collect(
            (key, name, date.fromisoformat(day), *both) for day, key, name, *both in summary
        ), frozenset()
    head = CoverageUnitCache
    totals = [sa.func.sum(head.required), sa.func.sum(head.covered)]
    fast = fresh_sums(
        session,
        scope,
        filters,
        days,
        today,
        keys=[Unit.municipality_id, Municipality.name],
        sums=totals,
        with_municipality=True,
    )
    if fast is not None:  # (date, municipality, name, required, covered)
        if read is not None:
            store_summary(session, read, today, fast.signature, fast.rows)
        return _collect((key, name, day, *both) for day, key, name, *both in fast.rows), frozenset()
    # The cache's own step (one query when nothing is stale), shared rather than repeated.
    known = complete_days(session, scope, filters, days, today)
    if known is None:
        return None
    ready, pending = known
    if not ready:  # nothing to sum yet: the municipalities chosen, every date pending
        chosen = session.execute(
            sa.select(Municipality.id, Municipality.name)
            .join(Unit, Unit.municipality_id == Municipality.id)
            .where(*unit_selection(scope, filters))
            .distinct()
        )
        return {(int(key), str(name)): {} for key, name in chosen}, pending
    rows = session.execute(
        sa.select(Unit.municipality_id, Municipality.name, head.as_of, *totals)
        .select_from(head)
        .join(Unit, Unit.id == head.unit_id)
        .join(Municipality, Municipality.id == Unit.municipality_id)
        .where(
            head.variant == variant_of(filters),
            head.as_of.in_(ready),
            *unit_selection(scope, filters),
        )
        .group_by(Unit.municipality_id, Municipality.name, head.as_of)
    )
    return _collect(rows), pending


def _live(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    days: list[date],
    today: date,
) -> Sums:
    dated = dates_table(days, "month_ends")
    facts = assignment_facts(
        scope,
        filters,
        dated.c.day,
        today,
        dated.c.day.label("day"),
        Employee.municipality_id.label("group_key"),
        Municipality.name.label("group_name"),
        days=dated,
    )
    f = facts.c
    rows = session.execute(
        sa.select(
            f.group_key,
            f.group_name,
            f.day,
            sa.func.sum(flag(f.exempt == 0)),
            sa.func.sum(flag(sa.and_(f.exempt == 0, is_covered(facts)))),
        ).group_by(f.group_key, f.group_name, f.day)
    )
    return _collect(rows)


def _collect(rows: Any) -> Sums:
    sums: Sums = defaultdict(dict)
    for key, name, day, required, covered in rows:
        if required:  # as the trend: a date with nobody required has no point
            sums[(int(key), str(name))][a_date(day)] = (int(required), int(covered or 0))
    return dict(sums)
