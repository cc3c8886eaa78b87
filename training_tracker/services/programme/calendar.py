"""Calendar invitations (iCalendar, RFC 5545) for the programme's sessions.

One VEVENT per session, with a UID that never changes (the session's id under the tracker's
domain), its times in Europe/Stockholm (TZID, with the VTIMEZONE), and a SEQUENCE that only
grows: the session's own (raised when the organiser changes it) plus the person's
registration's (raised at every sign-up, cancellation and move up the waiting list), so a
calendar always takes the newest invitation for the newest. A cancelled registration, event
or session goes out with METHOD:CANCEL and STATUS:CANCELLED.
"""

from __future__ import annotations

from datetime import UTC
from urllib.parse import urlsplit

from flask import current_app

from training_tracker import clock
from training_tracker.models import (
    ProgrammeEvent,
    ProgrammeRegistration,
    ProgrammeSession,
    RegistrationStatus,
)

PRODID = "-//Utbildningsuppföljning//Gemensamma programmet//SV"


def _domain() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"


def session_uid(one: ProgrammeSession) -> str:
    return f"programme-session-{one.id}@{_domain()}"


def _cancelled(event: ProgrammeEvent, registration: ProgrammeRegistration | None) -> bool:
    if event.cancelled_at is not None:
        return True
    return registration is not None and registration.status == RegistrationStatus.CANCELLED


def invitation(
    event: ProgrammeEvent,
    registration: ProgrammeRegistration | None,
    *,
    link: str | None = None,
    url: str | None = None,
) -> bytes:
    """The .ics of ``event`` for the person of ``registration`` (None: the event as such, for
    its organisers). ``link`` is the digital event's link, given only to those with a place;
    ``url`` the event's page in the tracker."""
    # Late: icalendar costs about 0.1 s of CPU to import, which only an invitation needs.
    from icalendar import Calendar, Event, vCalAddress

    everything_cancelled = _cancelled(event, registration)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if everything_cancelled else "REQUEST")
    extra = registration.sequence if registration is not None else 0
    organiser = vCalAddress(f"mailto:{current_app.config['MAIL_DEFAULT_SENDER']}")
    organiser.params["cn"] = event.provider.name
    for one in event.sessions:
        cancelled = everything_cancelled or one.cancelled_at is not None
        if cancelled and registration is None and one.cancelled_at is None:
            continue
        item = Event()
        item.add("uid", session_uid(one))
        item.add("sequence", one.sequence + extra)
        item.add("dtstamp", clock.utcnow().replace(tzinfo=UTC))
        item.add("dtstart", clock.to_local(one.starts_at))
        item.add("dtend", clock.to_local(one.ends_at))
        item.add("summary", event.title)
        description = event.description
        if link and not cancelled:
            description = f"{description}\n\n{link}".strip()
        if description:
            item.add("description", description)
        if event.place:
            item.add("location", event.place)
        elif link and not cancelled:
            item.add("location", link)
        if url:
            item.add("url", url)
        item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        item.add("organizer", organiser)
        if registration is not None:
            attendee = vCalAddress(f"mailto:{registration.employee.email}")
            attendee.params["cn"] = registration.employee.full_name
            attendee.params["role"] = "REQ-PARTICIPANT"
            attendee.params["partstat"] = "DECLINED" if cancelled else "ACCEPTED"
            item.add("attendee", attendee)
        calendar.add_component(item)
    calendar.add_missing_timezones()
    return calendar.to_ical()
