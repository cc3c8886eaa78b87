"""Attendance at a session: taken by the organiser (ticked on the list of those with a place,
or a pasted list of e-mail addresses) or by the attendees themselves with the session's code,
valid only while the session runs.

Attendance at an event that counts as a catalogue course records a verified completion of
that course, dated the session's day (no certificate needed: the organiser's list, or the code
shown in the room, is the evidence). Everything is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import (
    Completion,
    CompletionStatus,
    Employee,
    ProgrammeAttendance,
    ProgrammeEvent,
    ProgrammeRegistration,
    ProgrammeSession,
    RegistrationStatus,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.core.errors import FieldError
from training_tracker.services.programme.times import local_date
from training_tracker.services.training.completions import expiry_for
from training_tracker.services.training.group_records import parse_attendance_list

MAX_AT_ONCE = 1000


class AttendanceError(FieldError):
    default_field = "emails"


@dataclass
class AttendanceResult:
    recorded: list[Employee] = field(default_factory=list)
    already: list[Employee] = field(default_factory=list)
    completions: int = 0


def confirmed(session: Session, event: ProgrammeEvent) -> list[Employee]:
    """Those with a place, by name: the attendance list."""
    return list(
        session.scalars(
            sa.select(Employee)
            .join(ProgrammeRegistration, ProgrammeRegistration.employee_id == Employee.id)
            .where(
                ProgrammeRegistration.event_id == event.id,
                ProgrammeRegistration.status == RegistrationStatus.CONFIRMED,
            )
            .order_by(Employee.last_name, Employee.first_name, Employee.id)
        )
    )


def attended_ids(session: Session, one: ProgrammeSession) -> set[int]:
    return set(
        session.scalars(
            sa.select(ProgrammeAttendance.employee_id).where(
                ProgrammeAttendance.session_id == one.id
            )
        )
    )


def _by_emails(session: Session, event: ProgrammeEvent, text: str) -> list[Employee]:
    """The people a pasted list names by e-mail address, among the staff the event is open
    to; an address that names nobody there is refused with the addresses listed."""
    addresses = [normalise_email(entry) for entry in parse_attendance_list(text)]
    if not addresses:
        return []
    open_to = [m.id for m in event.municipalities]
    people = list(
        session.scalars(
            sa.select(Employee).where(
                Employee.email.in_(addresses),
                Employee.municipality_id.in_(open_to),
                Employee.active,
            )
        )
    )
    unknown = sorted(set(addresses) - {person.email for person in people})
    if unknown:
        raise AttendanceError(
            _(
                "Ingen anställd i evenemangets kommuner har de här adresserna: %(list)s. "
                "Ingenting är sparat.",
                list=", ".join(unknown[:20]),
            )
        )
    return people


def take_attendance(
    session: Session,
    actor: Employee,
    one: ProgrammeSession,
    *,
    employee_ids: Sequence[int] = (),
    everyone: bool = False,
    emails: str = "",
) -> AttendanceResult:
    """Record the ticked people (those with a place), everyone with a place (``everyone``),
    and the people a pasted list names, as present at ``one``."""
    event = one.event
    on_list = {person.id: person for person in confirmed(session, event)}
    unknown_ids = set(employee_ids) - on_list.keys()
    if unknown_ids:
        raise AttendanceError(
            _("Någon av de valda har ingen plats på evenemanget. Ladda om sidan."), "employees"
        )
    chosen = dict(on_list) if everyone else {i: on_list[i] for i in employee_ids}
    for person in _by_emails(session, event, emails):
        chosen.setdefault(person.id, person)
    if not chosen:
        raise AttendanceError(
            _("Bocka i minst en person eller klistra in e-postadresser."), "employees"
        )
    if len(chosen) > MAX_AT_ONCE:
        raise AttendanceError(_("För många personer på en gång."), "emails")
    method = "emails" if emails.strip() and not employee_ids and not everyone else "list"
    return _record(session, one, list(chosen.values()), actor=actor, method=method)


def _record(
    session: Session,
    one: ProgrammeSession,
    people: Iterable[Employee],
    *,
    actor: Employee | None,
    method: str,
) -> AttendanceResult:
    event = one.event
    result = AttendanceResult()
    present = attended_ids(session, one)
    now = clock.utcnow()
    for person in sorted(people, key=lambda p: (p.last_name, p.first_name, p.id)):
        if person.id in present:
            result.already.append(person)
            continue
        session.add(
            ProgrammeAttendance(
                session_id=one.id,
                employee_id=person.id,
                method=method,
                recorded_at=now,
                recorded_by_id=actor.id if actor else None,
            )
        )
        result.recorded.append(person)
        audit_trail.record(
            session,
            "programme.attended",
            actor=actor or person,
            subject=person,
            object_type="programme_event",
            object_id=event.id,
            session_id=one.id,
            method=method,
        )
        if event.course is not None and _complete(session, one, person, actor=actor, now=now):
            result.completions += 1
    session.flush()
    return result


def _complete(
    session: Session,
    one: ProgrammeSession,
    person: Employee,
    *,
    actor: Employee | None,
    now: datetime,
) -> bool:
    """A verified completion of the event's course, unless the person holds one of that day
    or later. Nobody verifies their own training: the organiser's own attendance is reported,
    for someone else to verify; a check-in with the code is verified by the code."""
    course = one.event.course
    assert course is not None
    day = local_date(one.starts_at)
    held = session.scalar(
        sa.select(sa.func.count()).where(
            Completion.employee_id == person.id,
            Completion.course_id == course.id,
            Completion.status == CompletionStatus.VERIFIED,
            Completion.completed_on >= day,
        )
    )
    if held:
        return False
    own = actor is not None and actor.id == person.id
    completion = Completion(
        employee_id=person.id,
        course_id=course.id,
        completed_on=day,
        expires_on=expiry_for(course, day),
        status=CompletionStatus.REPORTED if own else CompletionStatus.VERIFIED,
        note=_("Närvaro: %(title)s", title=one.event.title),
        reported_at=now,
        reported_by_id=actor.id if actor else person.id,
        reviewed_at=None if own else now,
        reviewed_by_id=None if own or actor is None else actor.id,
    )
    session.add(completion)
    session.flush()
    audit_trail.record(
        session,
        "completion.recorded",
        actor=actor or person,
        subject=person,
        object_type="completion",
        object_id=completion.id,
        course=course.key,
        programme_event=one.event_id,
    )
    return True


def attended_event(session: Session, person: Employee, event_id: int) -> ProgrammeEvent | None:
    """The event if ``person`` attended one of its sessions."""
    return session.scalars(
        sa.select(ProgrammeEvent)
        .join(ProgrammeSession, ProgrammeSession.event_id == ProgrammeEvent.id)
        .join(ProgrammeAttendance, ProgrammeAttendance.session_id == ProgrammeSession.id)
        .where(ProgrammeEvent.id == event_id, ProgrammeAttendance.employee_id == person.id)
    ).first()


def check_in(session: Session, person: Employee, code: str) -> ProgrammeSession:
    """``person`` checks in with the code shown at a session, while it runs (from its start
    to its end). The code must be of a session of an event open to them."""
    cleaned = "".join(code.split()).upper()
    now = clock.utcnow()
    if not cleaned or len(cleaned) > 20:
        raise AttendanceError(_("Skriv koden som visas på tillfället."), "code")
    one = session.scalars(
        sa.select(ProgrammeSession).where(
            ProgrammeSession.checkin_code == cleaned,
            ProgrammeSession.cancelled_at.is_(None),
            ProgrammeSession.starts_at <= now,
            ProgrammeSession.ends_at >= now,
        )
    ).first()
    if (
        one is None
        or one.event.cancelled_at is not None
        or person.municipality_id not in {m.id for m in one.event.municipalities}
    ):
        raise AttendanceError(
            _("Koden gäller inte. Den gäller bara medan tillfället pågår."), "code"
        )
    _record(session, one, [person], actor=None, method="code")
    return one
