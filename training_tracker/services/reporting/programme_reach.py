"""The joint programme's reach, for the coverage page: per municipality, sector or unit of the
report's population, how many people have a place at one of this year's events (signed up)
and how many attended one of its sessions. "This year" is the calendar year of the report
date, in Swedish time; an event belongs to the year of its sessions, and a cancelled event
(or session) is not counted. Attendance counts up to the end of the report date; sign-ups are
as they stand now (the tracker keeps no history of them). Each person counts once however
many events they joined.

One grouped query, however many people and events: the coverage page is benchmarked.
An event that counts as a catalogue course needs nothing here to be in that course's
coverage: its attendance is a verified completion (:mod:`..programme.attendance`), which the
coverage table counts like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import (
    Employee,
    ProgrammeAttendance,
    ProgrammeEvent,
    ProgrammeRegistration,
    ProgrammeSession,
    Sector,
    Unit,
)
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.programme.listing import HOLDS_A_PLACE
from training_tracker.services.programme.times import end_of_day, to_utc
from training_tracker.services.reporting.coverage_facts import population
from training_tracker.services.reporting.coverage_types import (
    CoverageFilters,
    CoverageRow,
    CoverageTable,
    percent,
)


@dataclass
class ReachRow:
    """One group: its people on the report date, how many of them signed up and attended."""

    key: Any
    label: str
    municipality: str | None = None
    people: int = 0
    signed_up: int = 0
    attended: int = 0
    withheld: bool = False

    @property
    def signed_up_percent(self) -> float | None:
        return percent(self.signed_up, self.people)

    @property
    def attended_percent(self) -> float | None:
        return percent(self.attended, self.people)


@dataclass
class ProgrammeReach:
    year: int
    group_by: str
    rows: list[ReachRow] = field(default_factory=list)
    total: ReachRow = field(default_factory=lambda: ReachRow(key=None, label=""))
    pending: bool = False  # its coverage table is being computed (the people are the table's)

    @property
    def any(self) -> bool:
        """Whether anyone in the population signed up or attended this year."""
        return bool(self.total.signed_up or self.total.attended or self.total.withheld)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The UTC moments a Swedish calendar year begins and ends."""
    return to_utc(date(year, 1, 1), time(0, 0)), to_utc(date(year + 1, 1, 1), time(0, 0))


def _group_key(group_by: str) -> Any:
    if group_by == "municipality":
        return Employee.municipality_id
    if group_by == "sector":
        return Unit.sector
    if group_by == "unit":
        return Employee.unit_id
    raise ValueError(f"unknown grouping: {group_by}")


def _per_person(day: date) -> sa.Subquery:
    """(employee, signed up 0/1, attended 0/1): everyone who joined this year's programme."""
    begins, ends = year_bounds(day.year)
    day_ends = end_of_day(day)
    live_session_of_year = sa.and_(
        ProgrammeSession.cancelled_at.is_(None),
        ProgrammeSession.starts_at >= begins,
        ProgrammeSession.starts_at < ends,
    )
    signed = (
        sa.select(
            ProgrammeRegistration.employee_id.label("employee_id"),
            sa.literal(1).label("signed_up"),
            sa.literal(0).label("attended"),
        )
        .join(ProgrammeEvent, ProgrammeEvent.id == ProgrammeRegistration.event_id)
        .where(
            ProgrammeRegistration.status.in_(HOLDS_A_PLACE),
            ProgrammeEvent.cancelled_at.is_(None),
            sa.exists().where(ProgrammeSession.event_id == ProgrammeEvent.id, live_session_of_year),
        )
    )
    came = (
        sa.select(
            ProgrammeAttendance.employee_id.label("employee_id"),
            sa.literal(0).label("signed_up"),
            sa.literal(1).label("attended"),
        )
        .join(ProgrammeSession, ProgrammeSession.id == ProgrammeAttendance.session_id)
        .join(ProgrammeEvent, ProgrammeEvent.id == ProgrammeSession.event_id)
        .where(
            ProgrammeEvent.cancelled_at.is_(None),
            live_session_of_year,
            ProgrammeSession.starts_at < day_ends,
        )
    )
    both = sa.union_all(signed, came).subquery("joined")
    return (
        sa.select(
            both.c.employee_id,
            sa.func.max(both.c.signed_up).label("signed_up"),
            sa.func.max(both.c.attended).label("attended"),
        )
        .group_by(both.c.employee_id)
        .subquery("per_person")
    )


def programme_reach(
    session: Session,
    scope: ReportScope,
    filters: CoverageFilters,
    table: CoverageTable,
) -> ProgrammeReach:
    """The reach of the report date's year's programme in the report's population (the
    coverage table's: ``scope`` and ``filters``, employed on the report date), grouped like
    ``table``, the coverage table of the same scope and filters.

    Each group's people are the table's: the same population, grouped alike, so they are
    not counted again (at a country's size, counting them was most of the page's own SQL).
    A group the table withholds from its reader is withheld here too, by the same rule on
    the same numbers. One query, which starts from the people who joined this year's
    programme (a few thousand at most) rather than from the whole population."""
    day = filters.day()
    reach = ProgrammeReach(day.year, table.group_by, pending=table.pending)
    if scope.is_empty or table.pending:
        return reach
    key = _group_key(table.group_by)
    joined = _per_person(day)
    query = (
        sa.select(
            key,
            sa.func.coalesce(sa.func.sum(joined.c.signed_up), 0),
            sa.func.coalesce(sa.func.sum(joined.c.attended), 0),
        )
        .select_from(joined)
        .join(Employee, Employee.id == joined.c.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(*population(scope, filters, day, clock.today()))
        .group_by(key)
    )
    joined_by_group = {
        group.value if isinstance(group, Sector) else group: (int(signed_up), int(attended))
        for group, signed_up, attended in session.execute(query)
    }
    reach.rows = [_reach_row(row, *joined_by_group.get(row.key, (0, 0))) for row in table.rows]
    if table.group_by == "sector":
        order = {sector.value: n for n, sector in enumerate(Sector)}
        reach.rows.sort(key=lambda row: order[row.key])
    else:
        reach.rows.sort(key=lambda row: (row.municipality or "", row.label, row.key))
    # The total counts everyone who joined, those of a withheld group too (as its people).
    reach.total = _reach_row(
        table.total,
        sum(signed_up for signed_up, _ in joined_by_group.values()),
        sum(attended for _, attended in joined_by_group.values()),
    )
    return reach


def _reach_row(row: CoverageRow, signed_up: int, attended: int) -> ReachRow:
    """The table's group with its joiners; nothing but its name when the table withholds it."""
    if row.withheld:
        return ReachRow(row.key, row.label, row.municipality, withheld=True)
    return ReachRow(row.key, row.label, row.municipality, row.people, signed_up, attended)
