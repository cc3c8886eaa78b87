"""Reporting a completed course with its certificate, replacing the certificate or
withdrawing the report while it awaits verification.

The certificate file is stored first (:mod:`evidence`), then recorded here in the caller's
transaction. If this raises, or the transaction fails, the caller removes the stored file, so
nothing is left half-written: no row without its file, no file without its row.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    Completion,
    CompletionStatus,
    Course,
    CourseStatus,
    Employee,
    Evidence,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.bounded_reading import Limits
from training_tracker.services.core.dates import shown_date
from training_tracker.services.core.errors import FieldError
from training_tracker.services.training import certificates
from training_tracker.services.training.evidence import EvidenceError, StoredFile, path_of


class CompletionError(FieldError):
    """A report that cannot be accepted."""


@dataclass(frozen=True)
class ReportData:
    course_id: int
    completed_on: date
    note: str = ""
    submission_key: str | None = None


@dataclass(frozen=True)
class ReportResult:
    completion: Completion
    created: bool  # False: the same form had been sent before; nothing new was stored


def reportable_courses(session: Session, employee: Employee) -> tuple[list[Course], list[Course]]:
    """Active courses the employee may report: (those required of them, the others)."""
    required_ids = set(
        session.scalars(
            sa.select(Assignment.course_id).where(
                Assignment.employee_id == employee.id, Assignment.removed_at.is_(None)
            )
        )
    )
    courses = session.scalars(
        sa.select(Course).where(Course.status == CourseStatus.ACTIVE).order_by(Course.title)
    ).all()
    return (
        [c for c in courses if c.id in required_ids],
        [c for c in courses if c.id not in required_ids],
    )


def own_completion(session: Session, employee: Employee, completion_id: int) -> Completion | None:
    """One of the employee's own reports (only its owner may replace or withdraw it); None for
    anyone else's, so the caller's 404 reveals nothing."""
    return session.scalars(
        sa.select(Completion).where(
            Completion.id == completion_id, Completion.employee_id == employee.id
        )
    ).one_or_none()


def add_months(start: date, months: int) -> date:
    """``start`` plus whole calendar months; the 31st becomes the month's last day."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def expiry_for(course: Course, completed_on: date) -> date | None:
    """When a completion of ``course`` stops counting; None if it never does."""
    if not course.validity_months:
        return None
    return add_months(completed_on, course.validity_months)


def check_report(session: Session, data: ReportData, *, today: date) -> Course:
    """The course, if the report can be accepted; raises :class:`CompletionError` otherwise."""
    course = session.get(Course, data.course_id)
    if course is None or course.status != CourseStatus.ACTIVE:
        raise CompletionError(_("Välj en kurs i listan."), "course_id")
    if data.completed_on > today:
        raise CompletionError(_("Datumet kan inte vara senare än i dag."), "completed_on")
    if course.available_from is not None and data.completed_on < course.available_from.date():
        raise CompletionError(
            _(
                "Kursen fanns inte före %(date)s. Kontrollera datumet på intyget.",
                date=shown_date(course.available_from.date()),
            ),
            "completed_on",
        )
    if len(data.note) > 2000:
        raise CompletionError(_("Kommentaren får ha högst 2000 tecken."), "note")
    return course


def report_completion(
    session: Session,
    *,
    employee: Employee,
    data: ReportData,
    stored: StoredFile | None,
    actor: Employee,
    today: date | None = None,
) -> ReportResult:
    """Record a completion reported by (or for) ``employee``, awaiting verification.

    Sent twice with the same ``submission_key`` (two taps, two requests at once), it records
    one report: the unique key decides, not a check first, so it holds across processes. The
    second caller gets ``created=False`` and should remove the file it stored.
    """
    today = today or clock.today()
    course = check_report(session, data, today=today)
    completion = Completion(
        employee_id=employee.id,
        course_id=course.id,
        completed_on=data.completed_on,
        expires_on=expiry_for(course, data.completed_on),
        status=CompletionStatus.REPORTED,
        note=data.note.strip(),
        reported_by_id=actor.id,
        submission_key=data.submission_key,
    )
    try:
        with session.begin_nested():
            session.add(completion)
            session.flush()
    except IntegrityError:
        existing = session.scalars(
            sa.select(Completion).where(Completion.submission_key == data.submission_key)
        ).one_or_none()
        if existing is None or existing.employee_id != employee.id:
            raise
        return ReportResult(existing, created=False)
    if stored is not None:
        session.add(_evidence(completion, stored, actor, employee=employee, course=course))
    audit_trail.record(
        session,
        "completion.reported",
        actor=actor,
        subject=employee,
        object_type="completion",
        object_id=completion.id,
        course=course.key,
        completed_on=data.completed_on.isoformat(),
        certificate=stored.original_filename if stored else None,
    )
    return ReportResult(completion, created=True)


def _evidence(
    completion: Completion,
    stored: StoredFile,
    actor: Employee,
    *,
    employee: Employee,
    course: Course,
) -> Evidence:
    return Evidence(
        completion_id=completion.id,
        storage_name=stored.storage_name,
        original_filename=stored.original_filename,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        uploaded_by_id=actor.id,
        reading=read_stored_certificate(stored, employee, course, completion.completed_on),
    )


def read_stored_certificate(
    stored: StoredFile, employee: Employee, course: Course, completed_on: date
) -> dict[str, Any]:
    """What the certificate says compared with the report, for the reviewer. Read once, at
    upload, so the queue never opens files; a file that cannot be read never blocks a report.
    The file is read in a child process held to the CERTIFICATE_READ_* limits."""
    expected = certificates.ExpectedFacts(
        employee_name=employee.full_name,
        course_titles=tuple(title for title in (course.title, course.title_en) if title),
        provider_names=(course.provider.name, course.provider.key),
        completed_on=completed_on,
    )
    return certificates.read_certificate(
        stored.path,
        content_type=stored.content_type,
        expected=expected,
        provider_key=course.provider.key,
        limits=Limits.from_config(current_app.config, "CERTIFICATE_READ"),
    ).to_json()


def _awaiting(completion: Completion) -> None:
    if completion.status != CompletionStatus.REPORTED:
        raise CompletionError(
            _("Rapporten är redan granskad och kan inte ändras. Rapportera kursen på nytt.")
        )


def replace_certificate(
    session: Session, completion: Completion, stored: StoredFile, *, actor: Employee
) -> list[str]:
    """Put a new certificate on a report that awaits verification. Returns the storage names
    of the files it replaced, for the caller to remove once the transaction has committed."""
    _awaiting(completion)
    replaced = [evidence.storage_name for evidence in completion.evidence]
    before = [evidence.original_filename for evidence in completion.evidence]
    completion.evidence.clear()
    session.flush()
    session.add(
        _evidence(completion, stored, actor, employee=completion.employee, course=completion.course)
    )
    audit_trail.record(
        session,
        "completion.certificate_replaced",
        actor=actor,
        subject=completion.employee,
        object_type="completion",
        object_id=completion.id,
        before=before,
        after=[stored.original_filename],
    )
    return replaced


def correct_completed_on(
    session: Session,
    completion: Completion,
    completed_on: date,
    *,
    actor: Employee,
    today: date | None = None,
) -> bool:
    """Change the completion date of a report that awaits verification (the employee chose the
    wrong day). The same checks as a new report; the expiry follows the date, and the
    certificate is read again so that the reviewer compares it with the corrected date.
    Returns False when the date was already that (nothing changed, nothing audited)."""
    _awaiting(completion)
    course = completion.course
    check_report(
        session,
        ReportData(course_id=course.id, completed_on=completed_on, note=completion.note),
        today=today or clock.today(),
    )
    before = completion.completed_on
    if completed_on == before:
        return False
    completion.completed_on = completed_on
    completion.expires_on = expiry_for(course, completed_on)
    for evidence in completion.evidence:
        evidence.reading = _read_again(evidence, completion) or evidence.reading
    audit_trail.record(
        session,
        "completion.date_corrected",
        actor=actor,
        subject=completion.employee,
        object_type="completion",
        object_id=completion.id,
        before=before.isoformat(),
        after=completed_on.isoformat(),
    )
    return True


def _read_again(evidence: Evidence, completion: Completion) -> dict[str, Any] | None:
    """The stored certificate read against the report as it is now; None if the file is gone."""
    try:
        path = path_of(Path(current_app.config["UPLOAD_FOLDER"]), evidence.storage_name)
    except EvidenceError:
        return None
    if not path.is_file():
        return None
    stored = StoredFile(
        path=path,
        storage_name=evidence.storage_name,
        original_filename=evidence.original_filename,
        content_type=evidence.content_type,
        size_bytes=evidence.size_bytes,
        sha256=evidence.sha256,
    )
    return read_stored_certificate(
        stored, completion.employee, completion.course, completion.completed_on
    )


def withdraw_completion(session: Session, completion: Completion, *, actor: Employee) -> None:
    """Take back a report that awaits verification; it stays in the history as withdrawn."""
    _awaiting(completion)
    completion.status = CompletionStatus.WITHDRAWN
    audit_trail.record(
        session,
        "completion.withdrawn",
        actor=actor,
        subject=completion.employee,
        object_type="completion",
        object_id=completion.id,
    )
