"""The coverage reports, as the views, the CLI and the exports ask for them: by municipality,
sector or unit, by person, for new hires, and month by month. A facade: the table and the
trend are summed from the per-unit cache when it can answer and computed live otherwise (a
session holding writes it has not committed, a date not yet reached); the rest is live. It
also offers what the report's filters can choose from, and passes on the names its callers use
from the modules behind it:

- :mod:`.coverage_types`: the filters and the results (plain values);
- :mod:`.coverage_facts`: how we count, as SQL (the population, the per-assignment flags);
- :mod:`.coverage_live`: the table, the people of a unit and the trend, computed from the data;
- :mod:`.coverage_new_hires`: new-hire compliance, in all and per group;
- :mod:`.coverage_trend_groups`: the trend per municipality;
- :mod:`.coverage_cache`: the cache (reading it), over :mod:`.coverage_cache_freshness` (which
  rows are stale) and :mod:`.coverage_cache_store` (recomputing them, the nightly upkeep).

Every function runs a fixed number of set-based queries, however many employees there are:
at most three live; the cache is kept exactly equal to the live computation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import Course, Municipality, Provider, Unit
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.reporting.coverage_cache import cached_table, cached_trend
from training_tracker.services.reporting.coverage_cache_freshness import has_uncommitted_writes
from training_tracker.services.reporting.coverage_live import (
    coverage_table_live,
    coverage_trend_live,
    trend_points,
    trend_sums_live,
    unit_people,
)
from training_tracker.services.reporting.coverage_new_hires import (
    default_hire_period,
    new_hire_compliance,
    new_hire_groups,
)
from training_tracker.services.reporting.coverage_trend_groups import (
    MunicipalityTrend,
    total_of,
    trend_by_municipality,
)
from training_tracker.services.reporting.coverage_types import (
    GROUPINGS,
    MODES,
    TREND_MONTHS,
    Cell,
    CourseColumn,
    CoverageFilters,
    CoverageRow,
    CoverageTable,
    NewHireGroup,
    NewHireGroups,
    NewHireReport,
    NewHireRow,
    PersonCourse,
    PersonRow,
    TrendPoint,
    UnitPeople,
    parse_filters,
    percent,
    trend_days,
)

# What the views, the CLI and the exports use of the report, wherever it is defined.
__all__ = [
    "GROUPINGS",
    "MAX_UNIT_CHOICES",
    "MODES",
    "TREND_MONTHS",
    "Cell",
    "Choice",
    "CourseColumn",
    "CoverageFilters",
    "CoverageRow",
    "CoverageTable",
    "MunicipalityTrend",
    "NewHireGroup",
    "NewHireGroups",
    "NewHireReport",
    "NewHireRow",
    "PersonCourse",
    "PersonRow",
    "ReportChoices",
    "TrendPoint",
    "UnitPeople",
    "coverage_table",
    "coverage_table_live",
    "coverage_trend",
    "coverage_trend_live",
    "default_hire_period",
    "new_hire_compliance",
    "new_hire_groups",
    "parse_filters",
    "percent",
    "report_choices",
    "total_of",
    "trend_by_municipality",
    "trend_days",
    "unit_people",
]


def coverage_table(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str = "municipality",
    live_budget: float | None = None,
) -> CoverageTable:
    """One row per municipality, sector or unit of the population on the report date, one
    cell per course (and all required courses together), and the totals.

    Summed from the per-unit cache (:mod:`.coverage_cache`),
    which recomputes the units that changed first and gives exactly what
    :func:`coverage_table_live` gives; a fixed number of queries whatever the size. A
    session holding writes it has not committed is answered live (the cache only knows
    committed data). A cache too stale to recompute during the request (empty after a restore)
    is answered live too, and then, given ``live_budget``, within that many seconds or
    ``pending`` (the fill job computes it meanwhile: see
    :func:`~.coverage_cache.live_or_pending`)."""
    today = clock.today()
    if scope.is_empty or filters.day() > today or has_uncommitted_writes(session):
        return coverage_table_live(session, scope, filters, group_by)
    return cached_table(session, scope, filters, group_by, today, live_budget)


def coverage_trend(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    months: int = TREND_MONTHS,
) -> list[TrendPoint]:
    """Coverage of all required courses at each month end (see :func:`trend_days`), by the
    same rules as :func:`coverage_table`. Summed from the per-unit cache, like the table
    (past dates' numbers stay cached until a unit changes); live for a session holding
    writes it has not committed. With too many stale rows to compute during the request, the
    dates not yet computed are ``pending`` points, which the scheduler's fill job computes."""
    today = clock.today()
    points = trend_days(filters.day(), max(1, months))
    sums: Mapping[date, tuple[int, int]] = {}
    pending: frozenset[date] = frozenset()
    if not scope.is_empty:
        cached = None
        if filters.day() <= today and not has_uncommitted_writes(session):
            cached = cached_trend(session, scope, filters, points, today)
        if cached is not None:
            sums, pending = cached
        else:
            sums = trend_sums_live(session, scope, filters, points, today)
    return trend_points(points, sums, pending)


# --- what the filters offer -----------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    id: int
    label: str
    group: str = ""  # a unit's municipality, when the choices span several


@dataclass
class ReportChoices:
    municipalities: list[Choice]
    units: list[Choice]
    courses: list[Choice]
    providers: list[Choice]
    # The scope has too many units to list them all: they are listed once a municipality
    # is chosen (nobody scrolls through 20,000 units, and the page would be megabytes).
    units_need_municipality: bool = False


# More units than this in the scope and the unit filter waits for a municipality to be chosen.
MAX_UNIT_CHOICES = 600


def report_choices(
    session: Session, scope: ReportScope, municipality_id: int | None = None
) -> ReportChoices:
    """The municipalities and units a user may filter by (their scope; the units of
    ``municipality_id`` only, when the scope has more than :data:`MAX_UNIT_CHOICES`), and
    the catalogue's courses and providers. At most five small queries."""
    if scope.is_empty:
        return ReportChoices([], [], [], [])
    unit_in_scope = (
        sa.true()
        if scope.all_municipalities
        else sa.or_(Unit.municipality_id.in_(scope.municipality_ids), Unit.id.in_(scope.unit_ids))
    )
    municipalities = session.execute(
        sa.select(Municipality.id, Municipality.name)
        .where(sa.exists().where(Unit.municipality_id == Municipality.id, unit_in_scope))
        .order_by(Municipality.name)
    ).all()
    units_query = (
        sa.select(Unit.id, Unit.name, Municipality.name)
        .join(Municipality, Municipality.id == Unit.municipality_id)
        .where(unit_in_scope)
        .order_by(Municipality.name, Unit.name)
    )
    # Whether there are too many, before any are sorted (a country has 20,000 units).
    too_many = (
        len(
            session.scalars(
                sa.select(Unit.id).where(unit_in_scope).limit(MAX_UNIT_CHOICES + 1)
            ).all()
        )
        > MAX_UNIT_CHOICES
    )
    if too_many:
        units = (
            session.execute(units_query.where(Unit.municipality_id == municipality_id)).all()
            if municipality_id is not None
            else []
        )
    else:
        units = session.execute(units_query).all()
    courses = session.execute(sa.select(Course.id, Course.title).order_by(Course.title)).all()
    providers = session.execute(sa.select(Provider.id, Provider.name).order_by(Provider.name)).all()
    return ReportChoices(
        municipalities=[Choice(m_id, name) for m_id, name in municipalities],
        units=[Choice(u_id, name, m_name) for u_id, name, m_name in units],
        courses=[Choice(c_id, title) for c_id, title in courses],
        providers=[Choice(p_id, name) for p_id, name in providers],
        units_need_municipality=too_many and municipality_id is None,
    )
