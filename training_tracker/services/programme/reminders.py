"""The mail the day before a session, to everyone with a place (with the link for a digital
event), queued through the outbox exactly once per session and person: the outbox's unique
key holds that when the job runs twice, or in two schedulers at once."""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from training_tracker.models import (
    EventFormat,
    ProgrammeEvent,
    ProgrammeRegistration,
    ProgrammeSession,
    RegistrationStatus,
)
from training_tracker.services.messaging import outbox
from training_tracker.services.programme.times import to_utc

KIND = "programme_reminder"


def queue_day_before(session: Session, *, today: date) -> int:
    """Queue the reminders of the sessions held tomorrow (Swedish dates); returns how many
    were queued now (those queued before are not counted again)."""
    tomorrow = today + timedelta(days=1)
    start, end = to_utc(tomorrow, time(0, 0)), to_utc(tomorrow + timedelta(days=1), time(0, 0))
    sessions = session.scalars(
        sa.select(ProgrammeSession)
        .join(ProgrammeEvent, ProgrammeEvent.id == ProgrammeSession.event_id)
        .where(
            ProgrammeSession.starts_at >= start,
            ProgrammeSession.starts_at < end,
            ProgrammeSession.cancelled_at.is_(None),
            ProgrammeEvent.cancelled_at.is_(None),
        )
        .options(selectinload(ProgrammeSession.event))
        .order_by(ProgrammeSession.starts_at)
    ).all()
    queued = 0
    for one in sessions:
        event = one.event
        registrations = session.scalars(
            sa.select(ProgrammeRegistration)
            .where(
                ProgrammeRegistration.event_id == event.id,
                ProgrammeRegistration.status == RegistrationStatus.CONFIRMED,
            )
            .options(selectinload(ProgrammeRegistration.employee))
        ).all()
        url = outbox.absolute_url("programme.event_detail", event_id=event.id)
        for registration in registrations:
            employee = registration.employee
            if not employee.active:
                continue
            mail = outbox.render_mail(
                "programme_reminder",
                employee.preferred_language,
                employee=employee,
                event=event,
                one=one,
                link=event.link if event.format == EventFormat.DIGITAL else None,
                url=url,
            )
            message = outbox.queue_mail(
                session,
                key=f"programme-reminder:{one.id}:{employee.id}",
                kind=KIND,
                recipient=employee,
                mail=mail,
            )
            queued += message is not None
    return queued
