"""The joint programme's part of a person's data export (:mod:`.personal_data`): their
sign-ups (with their state and when it last changed) and the sessions they attended, in two
queries however many. Nothing about anyone else: who signed them up is said only as "you" or
"someone else" (their manager, as a rule), and who took the attendance not at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import (
    Employee,
    ProgrammeAttendance,
    ProgrammeEvent,
    ProgrammeRegistration,
    ProgrammeSession,
    RegistrationStatus,
)

STATUS_LABELS = {
    RegistrationStatus.CONFIRMED: _l("Har en plats"),
    RegistrationStatus.WAITING: _l("På väntelistan"),
    RegistrationStatus.PENDING: _l("Väntar på godkännande"),
    RegistrationStatus.CANCELLED: _l("Avanmäld"),
}
METHOD_LABELS = {
    "list": _l("Arrangörens närvarolista"),
    "emails": _l("Arrangörens lista med e-postadresser"),
    "code": _l("Incheckning med kod"),
}


def _moment(value: datetime | None) -> str | None:
    return clock.to_local(value).isoformat(timespec="seconds") if value else None


def _signups(session: Session, person: Employee) -> list[dict[str, Any]]:
    first_session = (
        sa.select(sa.func.min(ProgrammeSession.starts_at))
        .where(ProgrammeSession.event_id == ProgrammeEvent.id)
        .correlate(ProgrammeEvent)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(ProgrammeRegistration, ProgrammeEvent.title, ProgrammeEvent.cancelled_at)
        .add_columns(first_session)
        .join(ProgrammeEvent, ProgrammeEvent.id == ProgrammeRegistration.event_id)
        .where(ProgrammeRegistration.employee_id == person.id)
        .order_by(ProgrammeRegistration.registered_at, ProgrammeRegistration.id)
    ).all()
    return [
        {
            "event_id": registration.event_id,
            "event": title,
            "event_starts_at": _moment(starts),
            "event_cancelled_at": _moment(event_cancelled),
            "status": registration.status.value,
            "status_label": str(STATUS_LABELS[registration.status]),
            "signed_up_at": _moment(registration.registered_at),
            "signed_up_by": "you"
            if registration.signed_up_by_id in (None, person.id)
            else "someone_else",
            "confirmed_at": _moment(registration.confirmed_at),
            "cancelled_at": _moment(registration.cancelled_at),
        }
        for registration, title, event_cancelled, starts in rows
    ]


def _attendance(session: Session, person: Employee) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(
            ProgrammeAttendance.method,
            ProgrammeAttendance.recorded_at,
            ProgrammeSession.starts_at,
            ProgrammeSession.ends_at,
            ProgrammeEvent.id,
            ProgrammeEvent.title,
        )
        .join(ProgrammeSession, ProgrammeSession.id == ProgrammeAttendance.session_id)
        .join(ProgrammeEvent, ProgrammeEvent.id == ProgrammeSession.event_id)
        .where(ProgrammeAttendance.employee_id == person.id)
        .order_by(ProgrammeSession.starts_at, ProgrammeAttendance.id)
    ).all()
    return [
        {
            "event_id": event_id,
            "event": title,
            "session_starts_at": _moment(starts),
            "session_ends_at": _moment(ends),
            "method": method,
            "method_label": str(METHOD_LABELS.get(method, method)),
            "recorded_at": _moment(recorded),
        }
        for method, recorded, starts, ends, event_id, title in rows
    ]


def programme_records(session: Session, person: Employee) -> dict[str, list[dict[str, Any]]]:
    """``{"signups": [...], "attendance": [...]}`` of ``person``."""
    return {"signups": _signups(session, person), "attendance": _attendance(session, person)}
