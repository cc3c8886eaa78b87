"""What the programme looks like to one person: the events open to them, by month, with the
places left and their own sign-up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    Employee,
    ProgrammeEvent,
    ProgrammeRegistration,
    RegistrationStatus,
)
from training_tracker.models.programme import programme_event_municipalities
from training_tracker.services.core.scope import organised_event_clause
from training_tracker.services.programme.times import local_date

# A place is taken by a confirmed sign-up and by one awaiting the manager's approval.
HOLDS_A_PLACE = (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING)


@dataclass(frozen=True)
class EventRow:
    event: ProgrammeEvent
    places_left: int
    waiting: int
    mine: ProgrammeRegistration | None
    for_my_sector: bool

    @property
    def full(self) -> bool:
        return self.places_left <= 0

    @property
    def open_for_signup(self) -> bool:
        return self.event.cancelled_at is None and clock.utcnow() < self.event.signup_deadline


@dataclass(frozen=True)
class Month:
    first_day: date
    rows: list[EventRow]


def open_to_clause(user: Employee) -> ColumnElement[bool]:
    """A WHERE clause on :class:`ProgrammeEvent`: the events whose staff ``user`` belongs to
    (their municipality is among the event's), and those ``user`` organises."""
    own = (
        sa.exists().where(
            programme_event_municipalities.c.event_id == ProgrammeEvent.id,
            programme_event_municipalities.c.municipality_id == user.municipality_id,
        )
        if user.municipality_id is not None
        else sa.false()
    )
    return sa.or_(own, organised_event_clause(user))


def taken_places(session: Session, event_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Per event: (places taken, people waiting)."""
    ids = list(event_ids)
    if not ids:
        return {}
    rows = session.execute(
        sa.select(
            ProgrammeRegistration.event_id,
            sa.func.count().filter(ProgrammeRegistration.status.in_(HOLDS_A_PLACE)),
            sa.func.count().filter(ProgrammeRegistration.status == RegistrationStatus.WAITING),
        )
        .where(ProgrammeRegistration.event_id.in_(ids))
        .group_by(ProgrammeRegistration.event_id)
    ).all()
    return {event_id: (taken, waiting) for event_id, taken, waiting in rows}


def _rows(session: Session, user: Employee, events: list[ProgrammeEvent]) -> list[EventRow]:
    counts = taken_places(session, [event.id for event in events])
    mine = {
        registration.event_id: registration
        for registration in session.scalars(
            sa.select(ProgrammeRegistration).where(
                ProgrammeRegistration.employee_id == user.id,
                ProgrammeRegistration.event_id.in_([event.id for event in events]),
                ProgrammeRegistration.status != RegistrationStatus.CANCELLED,
            )
        )
    }
    sector = user.unit.sector.value if user.unit is not None else None
    rows = []
    for event in events:
        taken, waiting = counts.get(event.id, (0, 0))
        rows.append(
            EventRow(
                event=event,
                places_left=max(event.capacity - taken, 0),
                waiting=waiting,
                mine=mine.get(event.id),
                for_my_sector=not event.sectors or sector in event.sectors,
            )
        )
    return rows


def _by_month(rows: list[EventRow]) -> list[Month]:
    months: dict[date, list[EventRow]] = {}
    for row in rows:
        start = row.event.first_start
        if start is None:
            continue
        day = local_date(start)
        months.setdefault(day.replace(day=1), []).append(row)
    return [Month(first_day, months[first_day]) for first_day in sorted(months)]


def _open_events(
    session: Session, user: Employee, *conditions: ColumnElement[bool]
) -> list[ProgrammeEvent]:
    events = session.scalars(
        sa.select(ProgrammeEvent)
        .where(open_to_clause(user), ProgrammeEvent.cancelled_at.is_(None), *conditions)
        .options(selectinload(ProgrammeEvent.sessions), selectinload(ProgrammeEvent.municipalities))
    ).all()
    far = datetime.max
    return sorted(events, key=lambda event: (event.first_start or far, event.title, event.id))


def programme(session: Session, user: Employee, *, today: date | None = None) -> list[Month]:
    """The events open to ``user`` whose last session is today or later, by month of their
    first session."""
    today = today or clock.today()
    events = [
        event
        for event in _open_events(session, user)
        if event.live_sessions and local_date(event.live_sessions[-1].ends_at) >= today
    ]
    return _by_month(_rows(session, user, events))


def campaign_year(today: date) -> int:
    """The November campaign people look ahead to: this year's until November ends, then
    next year's."""
    return today.year if today.month <= 11 else today.year + 1


def campaign(session: Session, user: Employee, year: int) -> list[Month]:
    """The November campaign of ``year``: its events open to ``user``, past ones included."""
    events = [
        event
        for event in _open_events(session, user, ProgrammeEvent.campaign.is_(True))
        if event.first_start is not None and local_date(event.first_start).year == year
    ]
    return _by_month(_rows(session, user, events))


def event_row(session: Session, user: Employee, event_id: int) -> EventRow | None:
    """One event open to ``user`` (cancelled ones too, so a link in a mail still works);
    None: not theirs to see (views answer 404)."""
    event = session.scalars(
        sa.select(ProgrammeEvent).where(ProgrammeEvent.id == event_id, open_to_clause(user))
    ).one_or_none()
    if event is None:
        return None
    return _rows(session, user, [event])[0]


def may_see_link(row: EventRow, *, organises: bool) -> bool:
    """A digital event's link is for those with a place, and its organisers."""
    return organises or (row.mine is not None and row.mine.status == RegistrationStatus.CONFIRMED)
