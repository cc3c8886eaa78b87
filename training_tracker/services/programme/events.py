"""Events and their sessions, as an organiser makes and changes them.

Who may: an organiser (of a municipality: the events it owns; of the region: every event) and
admins, through :func:`~training_tracker.services.core.scope.organised_event_clause`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from training_tracker import clock
from training_tracker.models import (
    Course,
    CourseStatus,
    Employee,
    EventFormat,
    Municipality,
    ProgrammeEvent,
    ProgrammeSession,
    Provider,
    Role,
    Sector,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import organised_event_clause
from training_tracker.services.programme import signups
from training_tracker.services.programme.times import deadline_day, end_of_day, to_utc

MAX_CAPACITY = 10_000
# The provider plugin of the joint programme (providers/gemensamma_programmet.py) declares it.
PROGRAMME_PROVIDER = "gemensamma-programmet"


# No 0/O, 1/I/L: read off a screen at the back of a room.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


def new_code() -> str:
    """A session's check-in code (see services.programme.attendance.check_in)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class EventError(FieldError):
    default_field = "title"


@dataclass
class SessionData:
    day: date
    starts: time
    ends: time


@dataclass
class EventData:
    title: str
    description: str
    format: EventFormat
    link: str | None
    place: str | None
    municipality_ids: list[int]
    sectors: list[Sector]
    capacity: int
    signup_deadline: date
    course_id: int | None = None
    requires_approval: bool = False
    campaign: bool = False
    sessions: list[SessionData] = field(default_factory=list)


def may_organise(user: Employee) -> bool:
    return user.has_role(Role.ORGANISER, Role.ADMIN)


def owner_for(user: Employee) -> int | None:
    """The municipality whose organisers own what ``user`` creates: the region (None) for a
    regional organiser or an admin, else their (first) municipality."""
    owned = [
        grant.municipality_id
        for grant in user.role_grants
        if grant.role == Role.ORGANISER and grant.municipality_id is not None
    ]
    regional = any(
        grant.role == Role.ADMIN or (grant.role == Role.ORGANISER and grant.municipality_id is None)
        for grant in user.role_grants
    )
    if regional or not owned:
        return None
    return min(owned)


def organised_events(session: Session, user: Employee) -> list[ProgrammeEvent]:
    """The events ``user`` organises, the soonest first (those without a session last)."""
    events = session.scalars(
        sa.select(ProgrammeEvent)
        .where(organised_event_clause(user))
        .options(selectinload(ProgrammeEvent.sessions), selectinload(ProgrammeEvent.municipalities))
    ).all()
    far = datetime.max
    return sorted(events, key=lambda event: (event.first_start or far, event.id))


def organised_event(session: Session, user: Employee, event_id: int) -> ProgrammeEvent | None:
    """The event if ``user`` organises it; None otherwise (views answer 404)."""
    return session.scalars(
        sa.select(ProgrammeEvent).where(ProgrammeEvent.id == event_id, organised_event_clause(user))
    ).one_or_none()


def _programme_provider(session: Session) -> Provider:
    provider = session.scalars(
        sa.select(Provider).where(Provider.key == PROGRAMME_PROVIDER)
    ).first()
    if provider is None:
        raise EventError(
            _("Katalogen saknar Gemensamma programmet. Kör flask catalog sync."), "title"
        )
    return provider


def _check(session: Session, data: EventData) -> None:
    if not data.title.strip():
        raise EventError(_("Skriv en titel."), "title")
    if data.format == EventFormat.DIGITAL and not (data.link or "").strip():
        raise EventError(_("Ett digitalt evenemang behöver en länk."), "link")
    if data.format == EventFormat.DIGITAL and not (data.link or "").startswith("https://"):
        raise EventError(_("Länken ska börja med https://."), "link")
    if data.format == EventFormat.ON_SITE and not (data.place or "").strip():
        raise EventError(_("Skriv var evenemanget hålls."), "place")
    if not data.municipality_ids:
        raise EventError(_("Välj minst en kommun."), "municipalities")
    found = session.scalars(
        sa.select(Municipality.id).where(Municipality.id.in_(data.municipality_ids))
    ).all()
    if len(set(found)) != len(set(data.municipality_ids)):
        raise EventError(_("Välj kommuner ur listan."), "municipalities")
    if not 1 <= data.capacity <= MAX_CAPACITY:
        raise EventError(
            _("Antalet platser ska vara mellan 1 och %(most)d.", most=MAX_CAPACITY), "capacity"
        )
    if data.course_id is not None:
        course = session.get(Course, data.course_id)
        if course is None or course.status != CourseStatus.ACTIVE:
            raise EventError(_("Välj en kurs ur listan."), "course_id")
    if not clock.is_plausible(data.signup_deadline):
        raise EventError(_("Skriv ett rimligt datum."), "signup_deadline")


def _session_times(data: SessionData) -> tuple[datetime, datetime]:
    if not clock.is_plausible(data.day):
        raise EventError(_("Skriv ett rimligt datum."), "day")
    starts = to_utc(data.day, data.starts, field="starts")
    ends = to_utc(data.day, data.ends, field="ends")
    if ends <= starts:
        raise EventError(_("Sluttiden måste vara efter starttiden."), "ends")
    return starts, ends


def _apply(session: Session, event: ProgrammeEvent, data: EventData) -> None:
    event.title = data.title.strip()
    event.description = data.description.strip()
    event.format = data.format
    event.link = (data.link or "").strip() or None if data.format == EventFormat.DIGITAL else None
    event.place = (data.place or "").strip() or None if data.format == EventFormat.ON_SITE else None
    event.sectors = [sector.value for sector in data.sectors]
    event.capacity = data.capacity
    event.signup_deadline = end_of_day(data.signup_deadline)
    event.course_id = data.course_id
    event.requires_approval = data.requires_approval
    event.campaign = data.campaign
    event.municipalities = list(
        session.scalars(
            sa.select(Municipality).where(Municipality.id.in_(data.municipality_ids))
        ).all()
    )


def create_event(session: Session, actor: Employee, data: EventData) -> ProgrammeEvent:
    """A new event with its first sessions; audited."""
    if not may_organise(actor):
        raise EventError(_("Bara arrangörer kan skapa evenemang."))
    _check(session, data)
    if not data.sessions:
        raise EventError(_("Ett evenemang behöver minst ett tillfälle."), "day")
    times = [_session_times(one) for one in data.sessions]
    event = ProgrammeEvent(
        provider=_programme_provider(session),
        owner_municipality_id=owner_for(actor),
        created_by_id=actor.id,
    )
    _apply(session, event, data)
    event.sessions = [
        ProgrammeSession(starts_at=start, ends_at=end, checkin_code=new_code())
        for start, end in times
    ]
    session.add(event)
    session.flush()
    audit_trail.record(
        session,
        "programme.event_created",
        actor=actor,
        object_type="programme_event",
        object_id=event.id,
        title=event.title,
    )
    return event


def event_data(event: ProgrammeEvent) -> EventData:
    """An event's settings, for a form to start from."""
    return EventData(
        title=event.title,
        description=event.description,
        format=event.format,
        link=event.link,
        place=event.place,
        municipality_ids=[m.id for m in event.municipalities],
        sectors=event.sector_list,
        capacity=event.capacity,
        signup_deadline=deadline_day(event.signup_deadline),
        course_id=event.course_id,
        requires_approval=event.requires_approval,
        campaign=event.campaign,
    )


def update_event(session: Session, actor: Employee, event: ProgrammeEvent, data: EventData) -> None:
    """Change an event's settings (its sessions change on their own); audited. A change that
    people's calendars show (title, place, link) raises every session's SEQUENCE."""
    _still_on(event)
    _check(session, data)
    before = (event.title, event.place, event.link, event.description)
    _apply(session, event, data)
    if (event.title, event.place, event.link, event.description) != before:
        for one in event.sessions:
            one.sequence += 1
        signups.notify_change(session, event)
    audit_trail.record(
        session,
        "programme.event_changed",
        actor=actor,
        object_type="programme_event",
        object_id=event.id,
        title=event.title,
    )


def _still_on(event: ProgrammeEvent) -> None:
    if event.cancelled_at is not None:
        raise EventError(_("Evenemanget är inställt."), "day")


def add_session(
    session: Session, actor: Employee, event: ProgrammeEvent, data: SessionData
) -> ProgrammeSession:
    _still_on(event)
    starts, ends = _session_times(data)
    added = ProgrammeSession(event=event, starts_at=starts, ends_at=ends, checkin_code=new_code())
    session.add(added)
    session.flush()
    signups.notify_change(session, event)
    audit_trail.record(
        session,
        "programme.session_added",
        actor=actor,
        object_type="programme_event",
        object_id=event.id,
        starts_at=starts.isoformat(),
    )
    return added


def change_session(
    session: Session, actor: Employee, one: ProgrammeSession, data: SessionData
) -> None:
    """New times for a session; its SEQUENCE goes up, so calendars replace the old times."""
    _still_on(one.event)
    if one.cancelled_at is not None:
        raise EventError(_("Tillfället är inställt."), "day")
    starts, ends = _session_times(data)
    if (starts, ends) == (one.starts_at, one.ends_at):
        return
    one.starts_at, one.ends_at = starts, ends
    one.sequence += 1
    signups.notify_change(session, one.event)
    audit_trail.record(
        session,
        "programme.session_changed",
        actor=actor,
        object_type="programme_event",
        object_id=one.event_id,
        starts_at=starts.isoformat(),
    )


def cancel_session(session: Session, actor: Employee, one: ProgrammeSession) -> None:
    """Cancel a session (it stays, so calendars can be told); an event keeps at least one."""
    if one.cancelled_at is not None:
        return
    _still_on(one.event)
    if len(one.event.live_sessions) <= 1:
        raise EventError(_("Ett evenemang behöver minst ett tillfälle."), "day")
    one.cancelled_at = clock.utcnow()
    one.sequence += 1
    signups.notify_change(session, one.event)
    audit_trail.record(
        session,
        "programme.session_cancelled",
        actor=actor,
        object_type="programme_event",
        object_id=one.event_id,
        starts_at=one.starts_at.isoformat(),
    )


def cancel_event(session: Session, actor: Employee, event: ProgrammeEvent) -> int:
    """Cancel the whole event: no more sign-ups, reminders or check-ins. Every session's
    SEQUENCE goes up, and everyone signed up (a place, awaiting approval or on the waiting
    list) gets a mail; those with a place get the invitation as METHOD:CANCEL with the same
    UIDs, so calendars remove it. Audited; returns how many were told."""
    if event.cancelled_at is not None:
        return 0
    event.cancelled_at = clock.utcnow()
    for one in event.sessions:
        one.sequence += 1
    told = signups.notify_cancelled_event(session, event)
    audit_trail.record(
        session,
        "programme.event_cancelled",
        actor=actor,
        object_type="programme_event",
        object_id=event.id,
        title=event.title,
        told=told,
    )
    return told


def session_data(one: ProgrammeSession) -> tuple[date, time, time]:
    """A session's day, start and end in Swedish time, for a form to start from."""
    starts, ends = clock.to_local(one.starts_at), clock.to_local(one.ends_at)
    return starts.date(), starts.time().replace(tzinfo=None), ends.time().replace(tzinfo=None)


def session_of(event: ProgrammeEvent, session_id: int) -> ProgrammeSession | None:
    return next((one for one in event.sessions if one.id == session_id), None)
