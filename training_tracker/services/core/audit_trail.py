"""The audit trail's writer: every change to someone's records adds an event to the caller's
transaction, so the event commits (or rolls back) with the change it describes.

How an event reads in words, and the log HR and admins read, are
:mod:`training_tracker.services.compliance.audit` and
:mod:`training_tracker.services.compliance.audit_log`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from training_tracker.models import AuditEvent, Employee

# Who acts when no person does: a directory over SCIM ("SCIM (label)"). Set for a block of
# work by :func:`acting_as`; every event recorded without an actor in it carries the name.
_ACTING_AS: ContextVar[str | None] = ContextVar("audit_acting_as", default=None)
# The events held back by :func:`recorded_together`: (the session, the events in order).
_HELD: ContextVar[tuple[Session, list[AuditEvent]] | None] = ContextVar("audit_held", default=None)


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Within the block, events without a person as actor name ``name`` as the actor (kept
    in the event's details as ``via``), so the log says "SCIM (Entra ID)", not "the system"."""
    token = _ACTING_AS.set(name)
    try:
        yield
    finally:
        _ACTING_AS.reset(token)


@contextmanager
def recorded_together(session: Session) -> Iterator[None]:
    """Events recorded in ``session`` within the block are added to it when the block ends
    (also when it fails), in the order recorded: the block's own flushes leave them out, so the
    next flush writes them in one INSERT (an enrolment's "created" and "invitation queued")
    instead of one each. Nothing inside may look for its events in the database."""
    if _HELD.get() is not None:
        yield  # an outer block holds them already
        return
    held: list[AuditEvent] = []
    token = _HELD.set((session, held))
    try:
        yield
    finally:
        _HELD.reset(token)
        session.add_all(held)


def record(
    session: Session,
    action: str,
    *,
    actor: Employee | None,
    subject: Employee | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (it commits with the change)."""
    if actor is None and (via := _ACTING_AS.get()) is not None:
        details.setdefault("via", via)
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        subject_employee_id=subject.id if subject else None,
        object_type=object_type,
        object_id=object_id,
        details=details,
    )
    held = _HELD.get()
    if held is not None and held[0] is session:
        held[1].append(event)
    else:
        session.add(event)
    return event


# The fields events record changes of, as a person reads their names (the person page, the
# audit log, the import preview).
FIELD_LABELS = {
    "first_name": _l("Förnamn"),
    "last_name": _l("Efternamn"),
    "email": _l("E-post"),
    "municipality_id": _l("Kommun"),
    "unit_id": _l("Enhet"),
    "hire_date": _l("Anställningsdatum"),
    "employee_number": _l("Anställningsnummer"),
    "manager_id": _l("Chef"),
    "end_date": _l("Slutdatum"),
    "preferred_language": _l("Språk"),
    "exempt": _l("Undantagen"),
    "reason": _l("Skäl"),
    "due_date": _l("Sista dag"),
    "source": _l("Källa"),
    "removed": _l("Borttagen"),
    # units
    "name": _l("Namn"),
    "sector": _l("Sektor"),
    "active": _l("Aktiv"),
    # requirement rules
    "course_id": _l("Kurs"),
    "due_days": _l("Dagar till sista dag"),
    "applies_from": _l("Gäller från"),
    "for_new_hires": _l("För nyanställda"),
    "for_existing_staff": _l("För befintlig personal"),
    "ends_on": _l("Upphör"),
    # the municipality's settings
    "count_reported_in_coverage": _l("Räkna rapporterade kurser i täckningen"),
}
