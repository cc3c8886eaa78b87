"""The coverage report and its monthly trend, summed from per-unit, per-date numbers that are
kept exactly equal to the live computation (:func:`~.coverage_live.coverage_table_live`). This
module reads them; :mod:`.coverage_cache_freshness` tells which are stale and
:mod:`.coverage_cache_store` recomputes and stores them.

**Why per unit and date.** Every number of a coverage table is a sum over people, and each
person is in one unit: people, fully trained, exempt people and every
:class:`~.coverage_types.Cell` count add up over units (the "awaiting reports count" flag is a
min and a max, which combine too). So the live result is stored per unit, report date
(``as_of``) and filter *variant* (count mode, course, provider: the filters that change a
unit's numbers other than by choosing units, see
:func:`~.coverage_cache_freshness.variant_of`); the scope and the municipality, sector and
unit filters only choose which units are summed. A table is then three small queries: which
chosen units are stale, and two GROUP BYs over the cached rows joined to the units (labels and
sectors are read live from there). The trend is the same numbers on twelve dates (the month
ends, see :func:`~.coverage_types.trend_days`): one GROUP BY over the units' totals.

**When a unit's numbers are stale** (triggers append every committed change's unit to a
change log; a row is fresh while its unit's change count is unchanged and its date allows)
is told in :mod:`.coverage_cache_freshness`; **recomputing without races** (one snapshot per
recomputation) and the nightly **upkeep** in :mod:`.coverage_cache_store`.

Each unit's numbers are those of a moment during the call (the stale ones: of the snapshot),
as a live query's are of its own moment.

**Assumption.** A person's municipality is their unit's (services.employees and the import
enforce it): the cache chooses and groups units by the unit's municipality where the live
query reads the person's.

**What stays live.** A session that holds writes it has not committed (the cache knows
committed data only), and a request that finds more than :data:`INLINE_ROWS` rows stale (an
empty cache after a seed or a restore, a new day before the nightly warm-up): it never
computes them itself, so it never times out. Its table is answered live (one pass over the
data; a reader's page gives that pass a time budget, past which the table too is pending,
:func:`live_or_pending`), its trend shows the dates that are complete and marks the others
pending, and it asks the scheduler's fill job (:func:`.coverage_cache_store.fill_cache`,
every minute) to compute them (an empty cache: every unit on the twelve dates in one pass
over the data, :mod:`.coverage_by_dates`). The other views of the report page (the people
of a unit, new hires) are live queries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker.models import CoverageUnitCache, CoverageUnitCell, Municipality, Unit
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.core.time_budget import OverBudget, time_budget
from training_tracker.services.reporting import coverage_cache_store
from training_tracker.services.reporting.coverage_cache_freshness import (
    all_fresh,
    fresh_days,
    summed_with_freshness,
    unit_selection,
    variant_of,
)
from training_tracker.services.reporting.coverage_cache_store import COUNTS
from training_tracker.services.reporting.coverage_facts import a_date
from training_tracker.services.reporting.coverage_live import assemble_table, coverage_table_live
from training_tracker.services.reporting.coverage_summary import (
    Signature,
    read_summary,
    store_summary,
    summary_key,
)
from training_tracker.services.reporting.coverage_types import (
    CoverageFilters,
    CoverageRow,
    CoverageTable,
)

log = logging.getLogger(__name__)

# --- reading ------------------------------------------------------------------------------------


def _sum_grouping(
    group_by: str,
) -> tuple[sa.SQLColumnExpression[Any], list[sa.SQLColumnExpression[Any]]]:
    """As coverage's grouping, read from the unit."""
    if group_by == "municipality":
        return Unit.municipality_id, [Municipality.name]
    if group_by == "sector":
        return Unit.sector, []
    if group_by == "unit":
        return Unit.id, [Unit.name, Municipality.name, Unit.sector.expression]
    raise ValueError(f"unknown grouping: {group_by}")


# A request recomputes at most this many stale rows (unit and date) itself: one unit's change
# is 12 rows, a municipality's import some hundreds. More (an empty cache after a seed or a
# restore, the morning before the nightly warm-up) and the table is answered live, the trend's
# stale dates are left out ("pending") and the scheduler's fill job computes them.
INLINE_ROWS = 2_000

# How the cache stands for a request: "fresh" (now), "failed" (answer live), "pending" (too
# many stale rows: the fill job was asked for them).
Freshness = Literal["fresh", "failed", "pending"]


def _fresh(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
) -> Freshness:
    """Make the chosen units' rows on ``days`` fresh, unless that is more than
    :data:`INLINE_ROWS` rows."""
    selection = unit_selection(scope, filters)
    variant = variant_of(filters)
    if session.execute(all_fresh(variant, days, today, selection)).scalar():
        return "fresh"
    engine = coverage_cache_store.engine_of(session)
    try:
        coverage_cache_store.recompute(engine, filters, days, today, selection, INLINE_ROWS)
    except coverage_cache_store.TooManyStale as too_many:
        log.info("coverage cache: %s rows of %s stale, left to the fill job", too_many, variant)
        try:
            coverage_cache_store.request_fill(engine, filters, today)
        except sa.exc.SQLAlchemyError:
            log.exception("coverage cache: asking to fill %s failed", variant)
        return "pending"
    except sa.exc.SQLAlchemyError:
        # A store that could not be made (a lock not granted in time) costs speed only.
        log.exception("coverage cache: recomputing %s failed; answering live", variant)
        return "failed"
    return "fresh"


class FreshSums(NamedTuple):
    rows: list[tuple[Any, ...]]  # (date, *keys, *sums)
    # The chosen units' count, their ids summed and their change counts summed, read in the
    # statement that found the rows fresh: what a summary of them stays fresh for.
    signature: Signature


def fresh_sums(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
    keys: Sequence[sa.SQLColumnExpression[Any]] = (),
    sums: Sequence[sa.SQLColumnExpression[Any]] = (),
    with_municipality: bool = False,
) -> FreshSums | None:
    """The cache read in one statement when it is fresh, as it is on most reads: the chosen
    units' rows on ``days`` summed per date and ``keys`` (``sums``), as rows (date, *keys,
    *sums); None when some row is missing or stale (the caller then goes the general way,
    :func:`complete_days`, which recomputes them or leaves them to the fill job)."""
    found = session.execute(
        summed_with_freshness(
            variant_of(filters),
            days,
            today,
            unit_selection(scope, filters),
            keys,
            sums,
            with_municipality,
        )
    ).all()
    if not found:
        return None
    lead = 1 + len(keys)
    *_, units, changes, ids = found[0]
    per_day: dict[date, tuple[int, int]] = {}
    summed = []
    for row in found:
        day = a_date(row[0])
        rows, seen = per_day.get(day, (0, 0))
        per_day[day] = (rows + int(row[lead]), seen + int(row[lead + 1]))
        summed.append((day, *row[1:lead], *row[lead + 2 : -3]))
    fresh = (int(units), int(changes))
    if set(per_day) != set(days) or any(both != fresh for both in per_day.values()):
        return None
    return FreshSums(summed, Signature(int(units), int(ids), int(changes)))


def complete_days(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
) -> tuple[list[date], frozenset[date]] | None:
    """Of ``days``, those the cache can answer for the chosen units and those still pending
    (see :data:`INLINE_ROWS`); None when the cache failed (the caller answers live)."""
    state = _fresh(session, scope, filters, days, today)
    if state == "failed":
        return None
    if state == "fresh":
        return list(days), frozenset()
    ready = {
        a_date(day)
        for day in session.execute(
            fresh_days(variant_of(filters), days, today, unit_selection(scope, filters))
        ).scalars()
    }
    return [day for day in days if day in ready], frozenset(days) - ready


def cached_table(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str,
    today: date,
    live_budget: float | None = None,
) -> CoverageTable:
    """:func:`~.coverage.coverage_table` on the filters' date (today or a past one):
    recompute the chosen units that are stale, then sum the cached rows. Three queries when
    nothing is stale (the groups' sums, which tell whether they are fresh: :func:`fresh_sums`;
    the cells' sums; the course columns; one more on PostgreSQL, the check for uncommitted
    writes), about fifteen when something is, whatever the number of units or people. With
    too many stale to recompute, live within ``live_budget`` seconds (see
    :func:`live_or_pending`)."""
    day = filters.day()
    key, names = _sum_grouping(group_by)
    head = CoverageUnitCache
    totals: list[sa.SQLColumnExpression[Any]] = [
        sa.func.sum(head.people),
        sa.func.sum(head.fully_trained),
        sa.func.sum(head.exempt_people),
        sa.func.min(head.counts_reported_min),
        sa.func.max(head.counts_reported_max),
    ]
    # Everyone's table (a country's: 21,659 units) is kept summed.
    read = (
        None if unit_selection(scope, filters) else summary_key(f"table-{group_by}", filters, [day])
    )
    if read is not None and (summary := read_summary(session, read, today)) is not None:
        return assemble_table(session, day, filters, group_by, summary["cells"], summary["rows"])
    fast = fresh_sums(
        session, scope, filters, [day], today, [key, *names], totals, with_municipality=True
    )
    if fast is not None:
        # (key, *names, people, …) of the groups with people, as the general way reads them:
        # a unit nobody is in adds nothing to a sum (its minimum and maximum are NULL).
        people = 1 + len(names)
        rows: Any = [summed[1:] for summed in fast.rows if summed[1 + people]]
    elif (freshness := _fresh(session, scope, filters, [day], today)) != "fresh":
        budget = live_budget if freshness == "pending" else None
        return live_or_pending(session, scope, filters, group_by, budget)
    else:
        rows = session.execute(
            sa.select(key, *names, *totals)
            .select_from(head)
            .join(Unit, Unit.id == head.unit_id)
            .join(Municipality, Municipality.id == Unit.municipality_id)
            .where(
                head.variant == variant_of(filters),
                head.as_of == day,
                head.people > 0,
                *unit_selection(scope, filters),
            )
            .group_by(key, *names)
        )
    variant = variant_of(filters)
    selection = unit_selection(scope, filters)
    cell = CoverageUnitCell
    cells = (
        sa.select(key, cell.course_id, *(sa.func.sum(getattr(cell, name)) for name in COUNTS))
        .select_from(cell)
        .join(Unit, Unit.id == cell.unit_id)
        .where(cell.variant == variant, cell.as_of == day, *selection)
        .group_by(key, cell.course_id)
    )
    if fast is None or read is None:
        return assemble_table(session, day, filters, group_by, session.execute(cells), rows)
    summed_cells = [list(row) for row in session.execute(cells)]
    store_summary(session, read, today, fast.signature, {"rows": rows, "cells": summed_cells})
    return assemble_table(session, day, filters, group_by, summed_cells, rows)


def live_or_pending(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    group_by: str,
    budget: float | None,
) -> CoverageTable:
    """The table computed live; past ``budget`` seconds (None: however long it takes) a
    ``pending`` one, without rows, which tells the reader that the figures are being computed:
    the fill job, already asked (:func:`_fresh`), computes them within a minute or two, and
    the reader is not kept waiting meanwhile (at 850,000 people the live pass took 2.6–3.3 s
    on a vacuumed copy and longer on a fresh one, and it grows with the data)."""
    if budget is None:
        return coverage_table_live(session, scope, filters, group_by)
    try:
        with time_budget(session, budget):
            return coverage_table_live(session, scope, filters, group_by)
    except OverBudget:
        log.info("coverage table: live past %s s, left to the fill job", budget)
        empty = CoverageRow(key=None, label="")
        return CoverageTable(filters.day(), filters.mode, group_by, [], [], empty, pending=True)


def cached_trend(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    days: Sequence[date],
    today: date,
) -> tuple[dict[date, tuple[int, int]], frozenset[date]] | None:
    """Per date, (required, covered) of all courses together, as
    :func:`~.coverage.coverage_trend` counts them (dates with nobody required are left out),
    and the dates still pending (too many stale rows: the fill job computes them). None when
    the stale rows could not be recomputed (the caller then answers live). Two queries when
    nothing is stale (one, and one more on PostgreSQL: :func:`fresh_sums`)."""
    # Everyone's trend (a country's: 21,659 units on 12 dates) is kept summed.
    key = None if unit_selection(scope, filters) else summary_key("trend", filters, days)
    if key is not None and (summary := read_summary(session, key, today)) is not None:
        return {
            date.fromisoformat(day): (required, covered) for day, required, covered in summary
        }, frozenset()
    head = CoverageUnitCache
    totals = [sa.func.sum(head.required), sa.func.sum(head.covered)]
    fast = fresh_sums(session, scope, filters, days, today, sums=totals)
    if fast is not None:
        sums = {
            day: (int(required or 0), int(covered or 0)) for day, required, covered in fast.rows
        }
        if key is not None:
            payload = [[day, *both] for day, both in sums.items()]
            store_summary(session, key, today, fast.signature, payload)
        return sums, frozenset()
    known = complete_days(session, scope, filters, days, today)
    if known is None:
        return None
    ready, pending = known
    if not ready:
        return {}, pending
    query = sa.select(head.as_of, *totals).where(
        head.variant == variant_of(filters),
        head.as_of.in_(ready),
    )
    selection = unit_selection(scope, filters)
    if selection:  # everyone's trend needs no unit: none is left out
        query = query.join(Unit, Unit.id == head.unit_id).where(*selection)
    sums = {
        a_date(day): (int(required or 0), int(covered or 0))
        for day, required, covered in session.execute(query.group_by(head.as_of))
    }
    return sums, pending
