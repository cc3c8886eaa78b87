"""The coverage figures as a given reader may see them: every aggregate that
:func:`~training_tracker.services.core.scope.aggregate_withheld` withholds from them is marked
``withheld`` and emptied (its figures zeroed, so a page that forgot to look shows nothing real).

Applied after the figures are computed, whether live or from the cache: the cache, the SQL and
the numbers of everyone else stay as they are. Pages, charts and exports all read these
functions' results, never the raw ones, so what a page withholds its CSV and XLSX withhold too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker.models import Employee, Unit
from training_tracker.services.core.scope import SMALL_GROUP, ReportScope, aggregate_withheld
from training_tracker.services.reporting import coverage
from training_tracker.services.reporting.coverage import (
    CoverageFilters,
    CoverageRow,
    CoverageTable,
    MunicipalityTrend,
    NewHireGroups,
    NewHireReport,
    NewHireRow,
    TrendPoint,
)
from training_tracker.services.reporting.dashboard import GroupSummary
from training_tracker.services.reporting.programme_reach import (
    ProgrammeReach,
    programme_reach,
)


def withheld_text() -> str:
    """What a page or export shows in place of withheld figures."""
    return _("färre än %(num)d", num=SMALL_GROUP)


def population_municipalities(
    session: Session, scope: ReportScope, filters: CoverageFilters
) -> frozenset[int] | None:
    """The municipalities whose people a report with ``filters`` counts; None: any of them."""
    if filters.unit_id is not None:
        unit = session.get(Unit, filters.unit_id)
        return frozenset({unit.municipality_id}) if unit is not None else frozenset()
    if filters.municipality_id is not None:
        return frozenset({filters.municipality_id})
    if scope.all_municipalities:
        return None
    if not scope.unit_ids:  # HR and coordinators: no managed units to look up
        return scope.municipality_ids
    managed_units = frozenset(
        session.scalars(sa.select(Unit.municipality_id).where(Unit.id.in_(scope.unit_ids)))
    )
    return scope.municipality_ids | managed_units


def _row(user: Employee, row: CoverageRow, municipalities: Iterable[int] | None) -> CoverageRow:
    if not aggregate_withheld(user, row.people, municipalities):
        return row
    return replace(row, cells={}, people=0, fully_trained=0, exempt_people=0, withheld=True)


def shown_table(
    session: Session,
    user: Employee,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str,
    live_budget: float | None = None,
) -> CoverageTable:
    """:func:`coverage.coverage_table` as ``user`` may see it (``live_budget``: see there)."""
    table = coverage.coverage_table(session, scope, filters, group_by, live_budget)
    population = population_municipalities(session, scope, filters)
    if group_by == "unit":
        unit_municipality: dict[int, int] = {
            unit_id: municipality_id
            for unit_id, municipality_id in session.execute(
                sa.select(Unit.id, Unit.municipality_id).where(
                    Unit.id.in_([row.key for row in table.rows])
                )
            )
        }

    def municipalities_of(row: CoverageRow) -> Iterable[int] | None:
        if group_by == "municipality":
            return {row.key}
        if group_by == "unit":
            return {unit_municipality[row.key]}
        return population  # a sector spans the population's municipalities

    rows = [_row(user, row, municipalities_of(row)) for row in table.rows]
    total = _row(user, table.total, population)
    return replace(table, rows=rows, total=total)


def shown_trend(
    session: Session,
    user: Employee,
    scope: ReportScope,
    filters: CoverageFilters,
    table: CoverageTable,
) -> list[TrendPoint]:
    """:func:`coverage.coverage_trend` as ``user`` may see it: all of it withheld when the
    population on the report date is (its total in ``table``, as :func:`shown_table` gave it,
    is withheld), and any month whose required courses are few."""
    points = coverage.coverage_trend(session, scope, filters)
    population = population_municipalities(session, scope, filters)
    small = table.total.withheld
    return [
        TrendPoint(point.day, 0, 0, None, withheld=True)
        if small or (not point.pending and aggregate_withheld(user, point.required, population))
        else point
        for point in points
    ]


def shown_trends(
    session: Session,
    user: Employee,
    scope: ReportScope,
    filters: CoverageFilters,
    table: CoverageTable,
) -> tuple[list[TrendPoint], list[MunicipalityTrend]]:
    """The trend (as :func:`shown_trend` gives it) and the trend per municipality, as ``user``
    may see them, from one computation: the total is the municipalities' lines summed. A
    municipality's month whose required courses are few is withheld (outside the user's own
    municipalities)."""
    trends = coverage.trend_by_municipality(session, scope, filters)
    total = coverage.total_of(trends, coverage.trend_days(filters.day()))
    population = population_municipalities(session, scope, filters)
    small = table.total.withheld
    shown_total = [
        TrendPoint(point.day, 0, 0, None, withheld=True)
        if small or (not point.pending and aggregate_withheld(user, point.required, population))
        else point
        for point in total
    ]
    shown = [
        replace(
            trend,
            points=[
                TrendPoint(point.day, 0, 0, None, withheld=True)
                if not point.pending and aggregate_withheld(user, point.required, {trend.key})
                else point
                for point in trend.points
            ],
        )
        for trend in trends
    ]
    return shown_total, shown


def shown_new_hires(
    session: Session, user: Employee, scope: ReportScope, filters: CoverageFilters
) -> NewHireReport:
    """:func:`coverage.new_hire_compliance` as ``user`` may see it: withheld when the
    period's hires are few, and any course required of few of them."""
    report = coverage.new_hire_compliance(session, scope, filters)
    population = population_municipalities(session, scope, filters)
    if aggregate_withheld(user, report.hires, population):
        return replace(report, hires=0, rows=[], withheld=True)
    return replace(report, rows=_new_hire_rows(user, report.rows, population))


def _new_hire_rows(
    user: Employee, rows: Sequence[NewHireRow], municipalities: Iterable[int] | None
) -> list[NewHireRow]:
    """Each course's row, withheld when the course is required of few."""
    return [
        replace(
            row,
            required=0,
            judged=0,
            completed_by_due=0,
            completed=0,
            median_days=None,
            withheld=True,
        )
        if aggregate_withheld(user, row.required, municipalities)
        else row
        for row in rows
    ]


def shown_new_hire_groups(
    session: Session,
    user: Employee,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str,
) -> NewHireGroups:
    """:func:`coverage.new_hire_groups` as ``user`` may see it: a group withheld when its
    hires are few, and any course required of few of them (a unit's and a municipality's
    reach their own municipality, a sector's the population's)."""
    report = coverage.new_hire_groups(session, scope, filters, group_by)
    population = population_municipalities(session, scope, filters)
    unit_municipality: dict[int, int] = {}
    if group_by == "unit" and report.groups:
        unit_municipality = {
            unit_id: municipality_id
            for unit_id, municipality_id in session.execute(
                sa.select(Unit.id, Unit.municipality_id).where(
                    Unit.id.in_([group.key for group in report.groups])
                )
            )
        }
    groups = []
    for group in report.groups:
        reach: Iterable[int] | None = population
        if group_by == "municipality":
            reach = {group.key}
        elif group_by == "unit":
            reach = {unit_municipality[group.key]}
        if aggregate_withheld(user, group.hires, reach):
            groups.append(replace(group, hires=0, rows=[], withheld=True))
        else:
            groups.append(replace(group, rows=_new_hire_rows(user, group.rows, reach)))
    return replace(report, groups=groups)


def shown_summaries(user: Employee, rows: Sequence[GroupSummary]) -> list[GroupSummary]:
    """The start page's summaries (per unit or municipality) as ``user`` may see them."""
    return [
        replace(row, employees=0, required=0, verified=0, reported=0, overdue=0, withheld=True)
        if aggregate_withheld(
            user, row.employees, None if row.municipality_id is None else {row.municipality_id}
        )
        else row
        for row in rows
    ]


def shown_reach(
    session: Session, scope: ReportScope, filters: CoverageFilters, table: CoverageTable
) -> ProgrammeReach:
    """:func:`programme_reach` as the reader of ``table`` (as :func:`shown_table` gave it) may
    see it: a group the table withholds is withheld, by the table's rule on the same people
    (a unit's and a municipality's reach their own municipality, a sector's the
    population's)."""
    return programme_reach(session, scope, filters, table)
