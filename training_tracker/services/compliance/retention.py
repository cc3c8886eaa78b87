"""Retention (GDPR): a leaver's personal data goes once their municipality's time is up.

A leaver is past retention on ``today`` when their end date plus the municipality's
``retention_months`` calendar months is on or before ``today``. :func:`apply_retention` then,
for every such leaver not yet anonymised:

- makes the employee row nameless: "Anonymiserad person", a unique address that cannot be
  delivered to, no employee number, password, invitation or sign-in time, no manager; every
  session ends. Municipality, unit, hire and end dates stay: coverage of past dates counts
  people in their unit, and must add up the same afterwards;
- removes their role grants, their certificates (the rows, what reading them found, and the
  files) and the free text written about them (a completion's note and rejection reason, an
  exemption's reason). Completions and assignments stay with their statuses and dates;
- deletes every mail addressed to them, whatever its state. One still queued would go, with
  their name, to an address that is no longer theirs; and one a sender has claimed
  (``sending``) would be left for good should that sender have died, since the next runs look
  only at people not yet anonymised. (A sender that really is sending it at 02:30, to someone
  who left years ago, logs a failed run and sends on at the next.) Mails to someone else that
  name them (a manager's escalation or weekly digest) are deleted too, unless still queued:
  the outbox is a delivery queue and its old rows are no record anyone needs, whereas a
  queued mail to a current manager still has to go (and is written only when sent, so names
  nobody yet);
- empties the details of the audit events about them (which may hold names, addresses and
  changed values); the action, time and ids stay. The reminder ledger holds no personal data
  and stays;
- releases the places they still hold at the joint programme's events to come (a place,
  awaiting approval or on the waiting list: cancelled, without a mail, as their address is
  void), and moves the waiting lists up (those moved up get their mail). Their sign-ups and
  attendance otherwise stay, like completions: statuses and times, no free text, and the
  programme's reports and attendance-based completions count them.

Each municipality that had leavers gets one ``retention.applied`` audit event with the counts.

Everything is set-based: a fixed number of statements per batch of :data:`BATCH_SIZE` people,
in the caller's transaction (the caller commits, once). Certificate files are removed after
every statement has run and before the caller commits: should the commit fail, the rows stay
and the next night's run finishes the job (a certificate missing on disk is shown as missing
everywhere), whereas the other order could leave files that no row leads to.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    AuditEvent,
    Completion,
    Employee,
    Evidence,
    ImportBatch,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    ProgrammeEvent,
    ProgrammeRegistration,
    ProgrammeSession,
    RegistrationStatus,
    RoleGrant,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.sql import execute_dml
from training_tracker.services.people import failed_logins
from training_tracker.services.programme import signups
from training_tracker.services.training.evidence import EvidenceError, remove_file

log = logging.getLogger(__name__)

ACTION = "retention.applied"
ANONYMOUS_FIRST_NAME = "Anonymiserad"
ANONYMOUS_LAST_NAME = "person"
# ``.invalid`` is reserved (RFC 2606): no mail can ever be delivered there.
ANONYMOUS_EMAIL_DOMAIN = "@invalid.invalid"
BATCH_SIZE = 500  # people per batch: well under every database's limit of bound parameters


@dataclass
class MunicipalityRetention:
    """What retention did (or, in a dry run, would do) in one municipality."""

    municipality_id: int
    name: str
    retention_months: int
    # Leavers whose end date is on or before this day are past retention; None when the
    # municipality's setting is unusable (negative), and nobody there is touched.
    ended_on_or_before: date | None
    employees: int = 0  # anonymised
    certificates: int = 0  # certificate rows (and their files) deleted
    role_grants: int = 0  # removed
    messages: int = 0  # outbox messages deleted
    audit_events: int = 0  # audit events whose details were emptied
    programme_places: int = 0  # sign-ups for events to come cancelled
    # The events whose places were released: their waiting lists move up afterwards.
    programme_events: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {
            "employees": self.employees,
            "certificates": self.certificates,
            "role_grants": self.role_grants,
            "messages": self.messages,
            "audit_events": self.audit_events,
            "programme_places": self.programme_places,
        }

    def describe(self) -> str:
        """``2 people anonymised, 1 certificate deleted, …``, for the CLI and the log."""
        return describe_counts(self.counts())


@dataclass
class RetentionReport:
    today: date
    dry_run: bool
    municipalities: list[MunicipalityRetention] = field(default_factory=list)
    # Certificate files that could not be removed (their rows are gone): for an operator.
    file_errors: list[str] = field(default_factory=list)
    # Uploaded HR export files emptied: a file names everyone it listed, leavers included,
    # and is of no use once its import is applied or discarded and the batch is old.
    import_files: int = 0
    # Failed-sign-in audit events deleted: FAILED_LOGIN_KEEP_DAYS after they began.
    failed_login_events: int = 0

    @property
    def employees(self) -> int:
        return sum(m.employees for m in self.municipalities)

    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for municipality in self.municipalities:
            for name, value in municipality.counts().items():
                totals[name] += value
        return dict(totals)


_NOUNS = {
    "employees": ("person anonymised", "people anonymised"),
    "certificates": ("certificate deleted", "certificates deleted"),
    "role_grants": ("role grant removed", "role grants removed"),
    "messages": ("message deleted", "messages deleted"),
    "audit_events": ("audit event scrubbed", "audit events scrubbed"),
    "programme_places": ("programme place released", "programme places released"),
}


def describe_counts(counts: dict[str, int]) -> str:
    return ", ".join(
        f"{counts.get(name, 0)} {singular if counts.get(name, 0) == 1 else plural}"
        for name, (singular, plural) in _NOUNS.items()
    )


def last_end_date_past_retention(today: date, months: int) -> date:
    """The latest end date whose end date + ``months`` calendar months is on or before
    ``today``. Not simply ``today - months``: month ends clamp (31 January + 1 month is
    28 February), so 29–31 January are all past one month on 28 February."""
    cutoff = today - relativedelta(months=months)
    while (cutoff + timedelta(days=1)) + relativedelta(months=months) <= today:
        cutoff += timedelta(days=1)
    return cutoff


# --- what each batch touches ----------------------------------------------------------------


def _certificates_of(ids: list[int]) -> ColumnElement[bool]:
    return Evidence.completion_id.in_(
        sa.select(Completion.id).where(Completion.employee_id.in_(ids))
    )


def _messages_about(ids: list[int]) -> ColumnElement[bool]:
    """Mails to these people, and mails to anyone else, not still queued, whose subject or
    text names them by full name or address."""
    person = aliased(Employee)
    name = "%" + person.first_name + " " + person.last_name + "%"
    address = "%" + person.email + "%"
    texts = (OutboxMessage.subject, OutboxMessage.body_text, OutboxMessage.body_html)
    names_them = (
        sa.exists()
        .where(
            person.id.in_(ids),
            sa.or_(*(text.like(pattern) for text in texts for pattern in (name, address))),
        )
        .correlate(OutboxMessage)
    )
    to_them = sa.or_(
        OutboxMessage.recipient_id.in_(ids),
        OutboxMessage.recipient_email.in_(sa.select(Employee.email).where(Employee.id.in_(ids))),
    )
    return sa.or_(to_them, sa.and_(OutboxMessage.status != OutboxStatus.QUEUED, names_them))


def _places_to_come(ids: list[int], now: datetime) -> ColumnElement[bool]:
    """Their sign-ups (not cancelled) for events not cancelled with a session still to come."""
    to_come = sa.select(ProgrammeSession.event_id).where(
        ProgrammeSession.starts_at > now, ProgrammeSession.cancelled_at.is_(None)
    )
    return sa.and_(
        ProgrammeRegistration.employee_id.in_(ids),
        ProgrammeRegistration.status != RegistrationStatus.CANCELLED,
        ProgrammeRegistration.event_id.in_(to_come),
        ProgrammeRegistration.event_id.in_(
            sa.select(ProgrammeEvent.id).where(ProgrammeEvent.cancelled_at.is_(None))
        ),
    )


def _count(session: Session, model: type, condition: ColumnElement[bool]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(condition)) or 0


def _rowcount(session: Session, statement: sa.Executable) -> int:
    result = execute_dml(session, statement.execution_options(synchronize_session=False))
    return int(result.rowcount)


def _apply_batch(
    session: Session, ids: list[int], counts: MunicipalityRetention, *, dry_run: bool
) -> list[str]:
    """Anonymise one batch; returns the storage names of their certificate files."""
    certificates = _certificates_of(ids)
    messages = _messages_about(ids)
    grants = RoleGrant.employee_id.in_(ids)
    events = AuditEvent.subject_employee_id.in_(ids)
    files = list(session.scalars(sa.select(Evidence.storage_name).where(certificates)))
    now = clock.utcnow()
    places = _places_to_come(ids, now)
    if dry_run:
        counts.programme_places += _count(session, ProgrammeRegistration, places)
        counts.employees += len(ids)
        counts.certificates += len(files)
        counts.role_grants += _count(session, RoleGrant, grants)
        counts.messages += _count(session, OutboxMessage, messages)
        counts.audit_events += _count(session, AuditEvent, events)
        return []
    counts.programme_events.update(
        session.scalars(sa.select(ProgrammeRegistration.event_id).where(places).distinct())
    )
    counts.programme_places += _rowcount(
        session,
        sa.update(ProgrammeRegistration)
        .where(places)
        .values(
            status=RegistrationStatus.CANCELLED,
            cancelled_at=now,
            sequence=ProgrammeRegistration.sequence + 1,
        ),
    )
    # Mails first: whether a mail names them is decided by the names about to go.
    counts.messages += _rowcount(session, sa.delete(OutboxMessage).where(messages))
    counts.certificates += _rowcount(session, sa.delete(Evidence).where(certificates))
    counts.role_grants += _rowcount(session, sa.delete(RoleGrant).where(grants))
    counts.audit_events += _rowcount(
        session, sa.update(AuditEvent).where(events).values(details={})
    )
    session.execute(
        sa.update(Completion)
        .where(
            Completion.employee_id.in_(ids),
            sa.or_(Completion.note != "", Completion.rejection_reason.is_not(None)),
        )
        .values(note="", rejection_reason=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(Assignment)
        .where(Assignment.employee_id.in_(ids), Assignment.exemption_reason.is_not(None))
        .values(exemption_reason=None)
        .execution_options(synchronize_session=False)
    )
    # ``anonymised_at IS NULL`` again: a second run at the same moment (two schedulers)
    # waits for this one's lock, then finds nobody left to count.
    counts.employees += _rowcount(
        session,
        sa.update(Employee)
        .where(Employee.id.in_(ids), Employee.anonymised_at.is_(None))
        .values(
            first_name=ANONYMOUS_FIRST_NAME,
            last_name=ANONYMOUS_LAST_NAME,
            email="anonymiserad-" + sa.cast(Employee.id, sa.String) + ANONYMOUS_EMAIL_DOMAIN,
            employee_number=None,
            password_hash=None,
            invited_at=None,
            last_login_at=None,
            manager_id=None,
            active=False,
            session_version=Employee.session_version + 1,
            anonymised_at=clock.utcnow(),
        ),
    )
    return files


def _empty_old_import_files(session: Session, today: date, *, dry_run: bool) -> int:
    """Empty the stored file (and the cells read from it) of every import batch uploaded more
    than ``IMPORT_FILE_KEEP_DAYS`` ago; the batch's summary (counts, who, when) stays."""
    uploaded_before = datetime.combine(
        today - timedelta(days=current_app.config["IMPORT_FILE_KEEP_DAYS"]), time.min
    )
    old = sa.and_(ImportBatch.created_at < uploaded_before, sa.func.length(ImportBatch.content) > 0)
    if dry_run:
        return _count(session, ImportBatch, old)
    return _rowcount(
        session,
        sa.update(ImportBatch).where(old).values(content=b"", cells=None),
    )


def apply_retention(
    session: Session,
    today: date,
    *,
    dry_run: bool = False,
    upload_folder: Path | None = None,
    batch_size: int = BATCH_SIZE,
) -> RetentionReport:
    """Anonymise every leaver past their municipality's retention on ``today`` (see the
    module docstring); a dry run counts the same and changes nothing. The caller commits.

    The session's loaded objects are expired afterwards, so they show what the statements
    wrote."""
    report = RetentionReport(today=today, dry_run=dry_run)
    # Sorted here, not by the database: collations order "Upplands Väsby" differently.
    municipalities = sorted(
        session.scalars(sa.select(Municipality)), key=lambda municipality: municipality.name
    )
    conditions = []
    for municipality in municipalities:
        months = municipality.retention_months
        usable = months is not None and months >= 0
        cutoff = last_end_date_past_retention(today, months) if usable else None
        report.municipalities.append(
            MunicipalityRetention(municipality.id, municipality.name, months, cutoff)
        )
        if cutoff is None:
            # A negative number of months would reach people still employed: touch nobody.
            log.warning("retention: %s has retention_months=%s", municipality.name, months)
            continue
        conditions.append(
            sa.and_(Employee.municipality_id == municipality.id, Employee.end_date <= cutoff)
        )
    report.import_files = _empty_old_import_files(session, today, dry_run=dry_run)
    report.failed_login_events = failed_logins.prune(session, today, dry_run=dry_run)
    if not conditions:
        return report
    # System accounts have no municipality, so no condition above can reach them.
    leavers: dict[int, list[int]] = defaultdict(list)
    for employee_id, municipality_id in session.execute(
        sa.select(Employee.id, Employee.municipality_id)
        .where(Employee.anonymised_at.is_(None), sa.or_(*conditions))
        .order_by(Employee.id)
    ):
        leavers[municipality_id].append(employee_id)

    files: list[str] = []
    for counts in report.municipalities:
        ids = leavers.get(counts.municipality_id, [])
        for start in range(0, len(ids), batch_size):
            files += _apply_batch(session, ids[start : start + batch_size], counts, dry_run=dry_run)
    if dry_run:
        return report

    session.expire_all()
    released = {event for counts in report.municipalities for event in counts.programme_events}
    for event_id in sorted(released):
        signups.lock_event(session, event_id)
        event = session.get(ProgrammeEvent, event_id)
        if event is not None:
            signups.fill_places(session, event)
    for counts in report.municipalities:
        if counts.employees:
            details: dict[str, Any] = {
                "retention_months": counts.retention_months,
                "ended_on_or_before": counts.ended_on_or_before.isoformat()
                if counts.ended_on_or_before
                else None,
                **counts.counts(),
            }
            audit_trail.record(
                session,
                ACTION,
                actor=None,
                object_type="municipality",
                object_id=counts.municipality_id,
                **details,
            )
    session.flush()
    folder = upload_folder or Path(current_app.config["UPLOAD_FOLDER"])
    for storage_name in files:
        try:
            remove_file(folder, storage_name)
        except (EvidenceError, OSError) as error:
            # One file that cannot go must not keep every other leaver's data.
            report.file_errors.append(f"{storage_name}: {error}")
            log.error("retention: certificate %s not removed: %s", storage_name, error)
    return report
