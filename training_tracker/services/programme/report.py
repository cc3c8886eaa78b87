"""The programme's report for its organisers: per event, and within it per municipality and
sector, how many signed up (a place), waited, attended and did not come (a place, the event
over, and no attendance at any of its sessions). Counts only, no names."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import (
    Employee,
    Municipality,
    ProgrammeAttendance,
    ProgrammeEvent,
    ProgrammeRegistration,
    ProgrammeSession,
    RegistrationStatus,
    Sector,
    Unit,
)
from training_tracker.services.core.spreadsheets import Sheet
from training_tracker.services.programme.events import organised_events


@dataclass
class Counts:
    signed_up: int = 0
    waiting: int = 0
    attended: int = 0
    no_shows: int = 0


@dataclass
class EventReport:
    event: ProgrammeEvent
    over: bool
    total: Counts = field(default_factory=Counts)
    # (municipality name, sector or None) → counts
    groups: dict[tuple[str, Sector | None], Counts] = field(default_factory=dict)


def programme_report(
    session: Session, user: Employee, *, now: datetime | None = None
) -> list[EventReport]:
    now = now or clock.utcnow()
    events = organised_events(session, user)
    ids = [event.id for event in events]
    if not ids:
        return []
    attended = set(
        session.execute(
            sa.select(ProgrammeSession.event_id, ProgrammeAttendance.employee_id)
            .join(ProgrammeSession, ProgrammeSession.id == ProgrammeAttendance.session_id)
            .where(ProgrammeSession.event_id.in_(ids))
            .distinct()
        ).tuples()
    )
    rows = session.execute(
        sa.select(
            ProgrammeRegistration.event_id,
            ProgrammeRegistration.employee_id,
            ProgrammeRegistration.status,
            Municipality.name,
            Unit.sector,
        )
        .join(Employee, Employee.id == ProgrammeRegistration.employee_id)
        .outerjoin(Municipality, Municipality.id == Employee.municipality_id)
        .outerjoin(Unit, Unit.id == Employee.unit_id)
        .where(ProgrammeRegistration.event_id.in_(ids))
    ).all()
    # Attendees who never signed up (pasted addresses, a walk-in checking in) count too.
    walk_ins = session.execute(
        sa.select(ProgrammeSession.event_id, Employee.id, Municipality.name, Unit.sector)
        .join(ProgrammeAttendance, ProgrammeAttendance.session_id == ProgrammeSession.id)
        .join(Employee, Employee.id == ProgrammeAttendance.employee_id)
        .outerjoin(Municipality, Municipality.id == Employee.municipality_id)
        .outerjoin(Unit, Unit.id == Employee.unit_id)
        .where(ProgrammeSession.event_id.in_(ids))
        .distinct()
    ).all()
    reports = {
        event.id: EventReport(
            event,
            over=bool(event.live_sessions) and event.live_sessions[-1].ends_at <= now,
        )
        for event in events
    }
    seen: set[tuple[int, int]] = set()
    groups: dict[int, dict[tuple[str, Sector | None], Counts]] = defaultdict(dict)
    for event_id, employee_id, status, municipality, sector in rows:
        report = reports[event_id]
        counts = groups[event_id].setdefault((municipality or "", sector), Counts())
        came = (event_id, employee_id) in attended
        for target in (counts, report.total):
            if status in (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING):
                target.signed_up += 1
                if report.over and not came:
                    target.no_shows += 1
            elif status == RegistrationStatus.WAITING:
                target.waiting += 1
            if came:
                target.attended += 1
        if came:
            seen.add((event_id, employee_id))
    for event_id, employee_id, municipality, sector in walk_ins:
        if (event_id, employee_id) in seen:
            continue
        counts = groups[event_id].setdefault((municipality or "", sector), Counts())
        counts.attended += 1
        reports[event_id].total.attended += 1
    for event_id, by_group in groups.items():
        reports[event_id].groups = dict(
            sorted(by_group.items(), key=lambda item: (item[0][0], item[0][1] or ""))
        )
    return list(reports.values())


def report_sheet(reports: list[EventReport]) -> Sheet:
    rows: list[list[object]] = []
    for report in reports:
        first = report.event.first_start
        day = clock.to_local(first).date() if first else None
        for (municipality, sector), counts in report.groups.items():
            rows.append(
                [
                    report.event.title,
                    day,
                    municipality,
                    sector.label if sector else "",
                    counts.signed_up,
                    counts.waiting,
                    counts.attended,
                    counts.no_shows if report.over else None,
                ]
            )
    return Sheet(
        title=_("Gemensamma programmet"),
        header=[
            _("Evenemang"),
            _("Datum"),
            _("Kommun"),
            _("Sektor"),
            _("Anmälda"),
            _("Väntelista"),
            _("Närvarande"),
            _("Uteblev"),
        ],
        rows=rows,  # type: ignore[arg-type]  # the cells are the sheet's cell types
        notes=[
            _(
                "Anmälda: med plats eller i väntan på chefens godkännande. Uteblev: anmäld med "
                "plats, evenemanget är över och ingen närvaro registrerad. Tomt: evenemanget "
                "är inte över."
            )
        ],
    )
