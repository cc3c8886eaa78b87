"""The audit log as HR and admins read it: the events within the reader's scope
(:func:`~training_tracker.services.core.scope.audit_event_scope`), filtered, newest first, a page at
a time or all of them as a file.

Times are stored as naive UTC; the date filters are Swedish calendar days (Europe/Stockholm),
so "to 2026-03-29" ends at local midnight whatever the daylight-saving offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import AuditEvent, Employee, Municipality
from training_tracker.services.compliance import audit
from training_tracker.services.compliance.audit import HistoryEntry
from training_tracker.services.core import audit_trail
from training_tracker.services.core.scope import (
    Access,
    audit_event_scope,
    employee_scope,
    managed_municipality_ids,
)
from training_tracker.services.core.spreadsheets import Sheet
from training_tracker.services.people.units import municipalities_of

PER_PAGE = 50
# The most events one file holds. An XLSX takes far more time and memory to write than a CSV
# (about 17 s and 370 MB for 100,000 rows), so it holds fewer.
EXPORT_LIMITS = {"csv": 100_000, "xlsx": 25_000}
# Events described at a time when exporting: bounds memory and the ids in each IN (…).
_CHUNK = 1000
_MAX_TEXT = 200


@dataclass
class AuditQuery:
    """The log's filters and page (None or empty: no filter)."""

    action: str | None = None
    actor: str = ""  # part of the actor's name or e-mail
    person: str = ""  # part of the subject's name or e-mail
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    municipality_id: int | None = None
    page: int = 1

    def filter_args(self) -> dict[str, Any]:
        """The filters as URL arguments, without defaults (the page number is not a filter)."""
        values = {
            "action": self.action,
            "actor": self.actor or None,
            "person": self.person or None,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "municipality": self.municipality_id,
        }
        return {key: value for key, value in values.items() if value not in (None, "")}


@dataclass
class AuditChoices:
    """What the reader may filter by: the actions their events hold, in words, and the
    municipalities of their scope (the filter is offered when there are several)."""

    actions: list[tuple[str, str]]
    municipalities: list[Municipality]


@dataclass
class AuditPage:
    rows: list[HistoryEntry]
    query: AuditQuery  # as applied: what is not among the choices is dropped
    choices: AuditChoices
    total: int
    page: int
    per_page: int
    linkable: frozenset[int]  # subjects whose person page the reader may open
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, math.ceil(self.total / self.per_page))


@dataclass
class AuditExport:
    sheet: Sheet
    query: AuditQuery  # as applied
    rows: int  # events in the file
    total: int  # events matching the filters
    limit: int


# --- filtering ------------------------------------------------------------------------------


def choices(session: Session, user: Employee) -> AuditChoices:
    """Two queries: the distinct actions in scope, and the municipalities of the scope."""
    actions = session.scalars(
        sa.select(AuditEvent.action).where(audit_event_scope(user)).distinct()
    ).all()
    labelled = sorted(
        ((action, audit.action_label(action)) for action in actions),
        key=lambda pair: pair[1].casefold(),
    )
    return AuditChoices(actions=labelled, municipalities=municipalities_of(session, user))


def applied(query: AuditQuery, available: AuditChoices) -> AuditQuery:
    """``query`` without what the reader cannot choose (an action their events never held, a
    municipality outside their scope): such a filter is ignored, as any malformed one is."""
    actions = {action for action, _label in available.actions}
    municipality_ids = {m.id for m in available.municipalities}
    return AuditQuery(
        action=query.action if query.action in actions else None,
        actor=query.actor.strip()[:_MAX_TEXT],
        person=query.person.strip()[:_MAX_TEXT],
        date_from=query.date_from,
        date_to=query.date_to,
        municipality_id=(
            query.municipality_id if query.municipality_id in municipality_ids else None
        ),
        page=max(1, query.page),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _people_matching(text: str) -> sa.Select[tuple[int]]:
    """Ids of everyone whose name ("first last" or "last first") or e-mail contains ``text``;
    the events' scope decides what of theirs is shown."""
    pattern = f"%{_escape_like(text.lower())}%"
    return sa.select(Employee.id).where(
        sa.or_(
            sa.func.lower(Employee.first_name + " " + Employee.last_name).like(pattern, "\\"),
            sa.func.lower(Employee.last_name + " " + Employee.first_name).like(pattern, "\\"),
            sa.func.lower(Employee.email).like(pattern, "\\"),
        )
    )


def _utc_start_of(day: date) -> datetime | None:
    """Swedish midnight starting ``day``, as stored (naive UTC); None past the calendar's
    ends (a bound there limits nothing)."""
    try:
        local = datetime.combine(day, time.min, tzinfo=clock.BUSINESS_TZ)
        return local.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError):
        return None


def _conditions(user: Employee, query: AuditQuery) -> list[ColumnElement[bool]]:
    conditions = [audit_event_scope(user, query.municipality_id)]
    if query.action:
        conditions.append(AuditEvent.action == query.action)
    if query.actor:
        conditions.append(AuditEvent.actor_id.in_(_people_matching(query.actor)))
    if query.person:
        conditions.append(AuditEvent.subject_employee_id.in_(_people_matching(query.person)))
    if query.date_from and (start := _utc_start_of(query.date_from)):
        conditions.append(AuditEvent.occurred_at >= start)
    if query.date_to:
        try:
            end = _utc_start_of(query.date_to + timedelta(days=1))
        except OverflowError:
            end = None
        if end is not None:
            conditions.append(AuditEvent.occurred_at < end)
    return conditions


_NEWEST_FIRST = (AuditEvent.occurred_at.desc(), AuditEvent.id.desc())


def _count(session: Session, conditions: list[ColumnElement[bool]]) -> int:
    return session.execute(
        sa.select(sa.func.count()).select_from(AuditEvent).where(*conditions)
    ).scalar_one()


# --- the page -------------------------------------------------------------------------------


def search_audit_log(
    session: Session, user: Employee, query: AuditQuery, *, per_page: int = PER_PAGE
) -> AuditPage:
    """One page of the events ``user`` may read, newest first, in words: the same number of
    queries whatever the number of events (choices, count, page, names, links)."""
    available = choices(session, user)
    query = applied(query, available)
    conditions = _conditions(user, query)
    total = _count(session, conditions)
    # A page past the end (a bookmark, a filter that narrowed) shows the last page.
    query.page = min(query.page, max(1, math.ceil(total / per_page)))
    events = session.scalars(
        sa.select(AuditEvent)
        .where(*conditions)
        .order_by(*_NEWEST_FIRST)
        .offset((query.page - 1) * per_page)
        .limit(per_page)
    ).all()
    subject_ids = {e.subject_employee_id for e in events if e.subject_employee_id is not None}
    # Staff only: a system account (the admin's) has no person page.
    linkable = frozenset(
        session.scalars(
            sa.select(Employee.id).where(
                Employee.id.in_(subject_ids),
                Employee.municipality_id.is_not(None),
                employee_scope(user, Access.MANAGE),
            )
        )
    )
    return AuditPage(
        rows=audit.describe_events(session, events),
        query=query,
        choices=available,
        total=total,
        page=query.page,
        per_page=per_page,
        linkable=linkable,
    )


# --- the files ------------------------------------------------------------------------------


def export_header() -> list[str]:
    return [
        _("Tid"),
        _("Utförd av"),
        _("Utförarens e-post"),
        _("Händelse"),
        _("Berörd person"),
        _("Berörd persons e-post"),
        _("Kommun"),
        _("Detaljer"),
    ]


def export_row(entry: HistoryEntry) -> list[str | datetime | None]:
    """One event as the files hold it; the time is Swedish local time, as on the page."""
    return [
        clock.to_local(entry.event.occurred_at).replace(tzinfo=None, second=0, microsecond=0),
        entry.actor_name,
        entry.actor_email or None,
        entry.label,
        entry.subject_name or None,
        entry.subject_email or None,
        entry.subject_municipality or None,
        entry.summary or None,
    ]


def export_audit_log(
    session: Session, user: Employee, query: AuditQuery, *, file_format: str
) -> AuditExport:
    """Every event the page's filters match (all pages), newest first, up to the format's
    limit, as a sheet. Read a chunk at a time (keyset, not offset, so each chunk costs the
    same), so memory holds the rows written, not the events behind them."""
    limit = EXPORT_LIMITS[file_format]
    query = applied(query, choices(session, user))
    conditions = _conditions(user, query)
    total = _count(session, conditions)
    rows: list[list[Any]] = []
    last: AuditEvent | None = None
    while len(rows) < min(total, limit):
        statement = sa.select(AuditEvent).where(*conditions)
        if last is not None:
            statement = statement.where(
                sa.or_(
                    AuditEvent.occurred_at < last.occurred_at,
                    sa.and_(AuditEvent.occurred_at == last.occurred_at, AuditEvent.id < last.id),
                )
            )
        events = session.scalars(
            statement.order_by(*_NEWEST_FIRST).limit(min(_CHUNK, limit - len(rows)))
        ).all()
        if not events:
            break
        rows.extend(export_row(entry) for entry in audit.describe_events(session, events))
        last = events[-1]
    notes = [_("Händelser i loggen, senaste först. Tiderna är svensk tid.")]
    if total > len(rows):
        notes.append(
            _(
                "Filen innehåller de %(rows)s senaste av %(total)s händelser som filtret "
                "ger; en fil rymmer högst %(limit)s. Snäva in filtret, till exempel med "
                "datum, för att få med resten.",
                rows=len(rows),
                total=total,
                limit=limit,
            )
        )
    sheet = Sheet(title=_("Logg"), header=export_header(), rows=rows, notes=notes)
    return AuditExport(sheet=sheet, query=query, rows=len(rows), total=total, limit=limit)


def record_export(session: Session, user: Employee, export: AuditExport, file_format: str) -> None:
    """Audit the export itself. It belongs to a municipality when it covers one (so that
    municipality's HR reads it); an export across municipalities is the admins' to read."""
    managed = managed_municipality_ids(user)
    municipality_id = export.query.municipality_id
    if municipality_id is None and managed is not None and len(managed) == 1:
        (municipality_id,) = managed
    audit_trail.record(
        session,
        "audit.exported",
        actor=user,
        object_type="municipality" if municipality_id is not None else None,
        object_id=municipality_id,
        format=file_format,
        rows=export.rows,
        total=export.total,
        filters=export.query.filter_args(),
    )
