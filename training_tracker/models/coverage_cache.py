"""The coverage report's per-unit cache and the change log that tells when it is stale (see
:mod:`training_tracker.services.reporting.coverage_cache`).

No foreign keys: a cached row outlives a deleted unit or course harmlessly (reads join the
units, so it is never summed), and writing the cache never waits for, nor fails because of, a
change to the tables it summarises. The change log is written by database triggers only
(migration ``a7c3e5f1b9d2``).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from training_tracker.extensions import Model

# The unit id of a change that concerns every unit (a course moved to another provider): no
# unit has id 0.
EVERY_UNIT = 0

# SQLite gives an INTEGER PRIMARY KEY its rowid; a BIGINT one would stay NULL.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class CoverageUnitCache(Model):
    """One unit's coverage numbers on one report date (``as_of``), for one variant of the
    filters, computed on ``computed_for``. They hold as long as the unit's change count is
    still ``changes_seen`` and, for today's date, until midnight; a past date's numbers no
    longer depend on the date (see :mod:`training_tracker.services.reporting.coverage_cache`)."""

    __tablename__ = "coverage_unit_cache"

    # The filters that change a unit's numbers other than by choosing units: count mode,
    # course and provider, as "setting|c=|p=". First in the key: reads select a variant and
    # its dates, for many units.
    variant: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    as_of: Mapped[date] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    computed_for: Mapped[date]
    changes_seen: Mapped[int] = mapped_column(sa.BigInteger)
    people: Mapped[int]
    fully_trained: Mapped[int]
    exempt_people: Mapped[int]
    # All courses together (the sums of the unit's cells): what the monthly trend shows.
    required: Mapped[int]
    covered: Mapped[int]
    # min and max over the unit's population of "awaiting reports count" (0 or 1); None when
    # nobody is in it.
    counts_reported_min: Mapped[int | None] = mapped_column(sa.SmallInteger)
    counts_reported_max: Mapped[int | None] = mapped_column(sa.SmallInteger)


class CoverageUnitCell(Model):
    """One course's counts in one unit on one date, for one variant (a row only where the
    live report has one: someone of the unit's population had the course assigned)."""

    __tablename__ = "coverage_unit_cells"

    variant: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    as_of: Mapped[date] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    course_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    required: Mapped[int]
    verified: Mapped[int]
    reported: Mapped[int]
    covered: Mapped[int]
    overdue: Mapped[int]
    exempt: Mapped[int]


class CoverageChange(Model):
    """A committed change to something a unit's coverage is computed from. Append-only,
    written by triggers; folded into :class:`CoverageChangeTotal` by the nightly compaction."""

    __tablename__ = "coverage_changes"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    # EVERY_UNIT: all of them. No index: the log is only ever read whole (grouped by unit),
    # and every write pays for an index.
    unit_id: Mapped[int]


class CoverageChangeTotal(Model):
    """The changes of a unit compacted so far; a unit's change count is ``folded`` plus its
    rows left in :class:`CoverageChange`."""

    __tablename__ = "coverage_change_totals"

    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    folded: Mapped[int] = mapped_column(sa.BigInteger)


class CoverageSummary(Model):
    """One read of the whole population (every unit): the trend, or the table by
    municipality, sector or unit, of one filter variant, summed from the cached rows of every
    unit, with what they were fresh for: the units' count, their ids summed and their change
    counts summed, read in the statement that summed them. It answers while all three and
    the date are still the same: any change to any unit's figures, or a unit created or
    deleted, makes it stale (see services/reporting/coverage_summary.py). A country's page
    then reads one row instead of summing twenty thousand units' rows on every request."""

    __tablename__ = "coverage_summaries"

    read_key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    computed_for: Mapped[date]
    units: Mapped[int]
    unit_ids: Mapped[int] = mapped_column(sa.BigInteger)
    changes: Mapped[int] = mapped_column(sa.BigInteger)
    payload: Mapped[str] = mapped_column(sa.Text)


class CoverageFillRequest(Model):
    """A variant of the filters a reader asked for while its rows were too many to compute
    during the request: the scheduler's fill job computes them and removes the request."""

    __tablename__ = "coverage_fill_requests"

    variant: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    requested_on: Mapped[date]
