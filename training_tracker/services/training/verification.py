"""Reviewing reported completions: the queue, verify, reject with a reason, bulk verify, and
who may open a certificate.

A review is one conditional UPDATE (``… WHERE status = 'reported'``), so two reviewers acting
at once cannot both decide the same report: the second is told it was already reviewed.
Nobody reviews their own report, whatever their roles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import (
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Evidence,
    Unit,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import Access, employee_scope
from training_tracker.services.messaging import outbox
from training_tracker.services.training.certificates import CertificateReading

REJECTION_REASON_MAX = 1000


class ReviewError(FieldError):
    """A review that cannot be done; the message says why."""


@dataclass(frozen=True)
class QueueFilters:
    course_id: int | None = None
    unit_id: int | None = None
    page: int = 1


@dataclass(frozen=True)
class QueueItem:
    completion: Completion
    reading: CertificateReading | None  # of its certificate; None without one
    days_waiting: int


@dataclass(frozen=True)
class Choice:
    id: int
    label: str


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int
    page: int
    per_page: int
    courses: list[Choice]  # the courses and units that have reports waiting, for the filters
    units: list[Choice]
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, math.ceil(self.total / self.per_page))


def _reviewable(user: Employee) -> list[ColumnElement[bool]]:
    """Completions ``user`` may review: of people they verify, never their own."""
    return [employee_scope(user, Access.VERIFY), Completion.employee_id != user.id]


def waiting_count(session: Session, user: Employee) -> int:
    """How many reports wait for ``user``'s review (the menu's count): one COUNT through the
    scope, the same reports :func:`verification_queue` lists."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Completion)
            .join(Employee, Employee.id == Completion.employee_id)
            .where(Completion.status == CompletionStatus.REPORTED, *_reviewable(user))
        )
        or 0
    )


def verification_queue(
    session: Session, user: Employee, filters: QueueFilters, *, per_page: int = 50
) -> QueuePage:
    """Reports awaiting verification that ``user`` may review, oldest first; a constant
    number of queries whatever the queue's length."""
    conditions = [Completion.status == CompletionStatus.REPORTED, *_reviewable(user)]
    waiting = sa.select(Completion.id).join(Employee, Employee.id == Completion.employee_id)
    waiting = waiting.where(*conditions)
    courses = [
        Choice(id_, title)
        for id_, title in session.execute(
            sa.select(Course.id, Course.title)
            .where(Course.id.in_(waiting.with_only_columns(Completion.course_id)))
            .order_by(Course.title)
        )
    ]
    units = [
        Choice(id_, name)
        for id_, name in session.execute(
            sa.select(Unit.id, Unit.name)
            .where(Unit.id.in_(waiting.with_only_columns(Employee.unit_id)))
            .order_by(Unit.name)
        )
    ]
    if filters.course_id is not None:
        conditions.append(Completion.course_id == filters.course_id)
    if filters.unit_id is not None:
        conditions.append(Employee.unit_id == filters.unit_id)
    total = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Completion)
            .join(Employee, Employee.id == Completion.employee_id)
            .where(*conditions)
        )
        or 0
    )
    page = min(max(1, filters.page), max(1, math.ceil(total / per_page)))
    completions = session.scalars(
        sa.select(Completion)
        .join(Employee, Employee.id == Completion.employee_id)
        .where(*conditions)
        .order_by(Completion.reported_at, Completion.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .options(
            joinedload(Completion.employee).joinedload(Employee.unit),
            joinedload(Completion.course).joinedload(Course.provider),
            selectinload(Completion.evidence),
        )
    ).all()
    now = clock.utcnow()
    items = [
        QueueItem(
            completion=completion,
            reading=reading_of(completion),
            days_waiting=max(0, (now - completion.reported_at).days),
        )
        for completion in completions
    ]
    return QueuePage(items, total, page, per_page, courses, units)


def reading_of(completion: Completion) -> CertificateReading | None:
    """What reading the completion's certificate found, if it has one."""
    for evidence in completion.evidence:
        return CertificateReading.from_json(evidence.reading)
    return None


def reviewable_completion(
    session: Session, user: Employee, completion_id: int
) -> Completion | None:
    """A completion ``user`` may review (in any status, to see how it was decided); None for
    anyone else's, so the caller's 404 reveals nothing."""
    return session.scalars(
        sa.select(Completion)
        .join(Employee, Employee.id == Completion.employee_id)
        .where(Completion.id == completion_id, *_reviewable(user))
        .options(selectinload(Completion.evidence))
    ).one_or_none()


def evidence_in_scope(session: Session, user: Employee, evidence_id: int) -> Evidence | None:
    """A certificate ``user`` may open: their own, or of someone they may see (their manager,
    their municipality's HR, an admin). None otherwise; coordinators see aggregates only."""
    return session.scalars(
        sa.select(Evidence)
        .join(Completion, Completion.id == Evidence.completion_id)
        .join(Employee, Employee.id == Completion.employee_id)
        .where(Evidence.id == evidence_id, employee_scope(user, Access.VIEW))
    ).one_or_none()


def _decide(
    session: Session,
    completion_ids: Sequence[int],
    status: CompletionStatus,
    *,
    actor: Employee,
    now: datetime,
    reason: str | None = None,
) -> list[int]:
    """Move reports still awaiting review to ``status``; returns the ids this call moved."""
    if not completion_ids:
        return []
    values: dict[str, object] = {
        "status": status,
        "reviewed_at": now,
        "reviewed_by_id": actor.id,
        "rejection_reason": reason,
    }
    moved = session.execute(
        sa.update(Completion)
        .where(
            Completion.id.in_(completion_ids),
            Completion.status == CompletionStatus.REPORTED,
        )
        .values(**values)
        .returning(Completion.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    return list(moved)


def _refresh(session: Session, completion_ids: Sequence[int]) -> list[Completion]:
    completions = session.scalars(
        sa.select(Completion)
        .where(Completion.id.in_(completion_ids))
        .options(joinedload(Completion.employee), joinedload(Completion.course))
        .execution_options(populate_existing=True)
    ).all()
    return list(completions)


def verify_completion(session: Session, completion: Completion, *, actor: Employee) -> None:
    """Approve a report; raises :class:`ReviewError` if someone has reviewed it already."""
    verify_completions(session, [completion.id], actor=actor, require_all=True)


def _check_reviewable(session: Session, actor: Employee, ids: Sequence[int]) -> None:
    """Refuse the whole selection when any id is outside what ``actor`` may review."""
    allowed = set(
        session.scalars(
            sa.select(Completion.id)
            .join(Employee, Employee.id == Completion.employee_id)
            .where(Completion.id.in_(ids), *_reviewable(actor))
        )
    )
    if not ids or allowed != set(ids):
        raise ReviewError(_("Välj rapporter i listan."))


def verify_completions(
    session: Session, completion_ids: Sequence[int], *, actor: Employee, require_all: bool = False
) -> list[Completion]:
    """Approve reports ``actor`` may review. Ids outside their scope are refused as a whole
    (a tampered form changes nothing); reports already reviewed by someone else are skipped,
    or refused with ``require_all``. Returns the completions verified now."""
    ids = sorted(set(completion_ids))
    _check_reviewable(session, actor, ids)
    moved = _decide(session, ids, CompletionStatus.VERIFIED, actor=actor, now=clock.utcnow())
    if require_all and len(moved) != len(ids):
        raise ReviewError(_("Rapporten är redan granskad av någon annan."))
    verified = _refresh(session, moved)
    for completion in verified:
        audit_trail.record(
            session,
            "completion.verified",
            actor=actor,
            subject=completion.employee,
            object_type="completion",
            object_id=completion.id,
            course=completion.course.key,
        )
    return verified


@dataclass(frozen=True)
class BulkVerification:
    """What approving a selection of the queue did."""

    verified: list[Completion]  # approved now
    without_certificate: list[Completion]  # left waiting: no certificate, yet the course issues one
    already_reviewed: int  # decided by someone else meanwhile


def verify_selected(
    session: Session, completion_ids: Sequence[int], *, actor: Employee
) -> BulkVerification:
    """Approve the reports ticked in the queue, except those that lack the certificate their
    course issues: approving many at once relies on the certificates having been seen, so such
    a report is left waiting, to be opened and decided on its own. Ids outside ``actor``'s
    scope refuse the whole selection, as :func:`verify_completions` does."""
    ids = sorted(set(completion_ids))
    _check_reviewable(session, actor, ids)
    has_certificate = sa.exists().where(Evidence.completion_id == Completion.id)
    missing = list(
        session.scalars(
            sa.select(Completion)
            .join(Course, Course.id == Completion.course_id)
            .where(
                Completion.id.in_(ids),
                Completion.status == CompletionStatus.REPORTED,
                Course.issues_certificate,
                ~has_certificate,
            )
            .order_by(Completion.reported_at, Completion.id)
            .options(joinedload(Completion.employee), joinedload(Completion.course))
        )
    )
    skipped = {completion.id for completion in missing}
    rest = [id_ for id_ in ids if id_ not in skipped]
    verified = verify_completions(session, rest, actor=actor) if rest else []
    return BulkVerification(
        verified=verified,
        without_certificate=missing,
        already_reviewed=len(rest) - len(verified),
    )


def check_rejection_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise ReviewError(
            _("Skriv varför rapporten avvisas. Skälet skickas till medarbetaren."),
            "reason",
        )
    if len(reason) > REJECTION_REASON_MAX:
        raise ReviewError(
            _("Skälet får ha högst %(max)d tecken.", max=REJECTION_REASON_MAX), "reason"
        )
    return reason


def reject_completion(
    session: Session, completion: Completion, *, actor: Employee, reason: str
) -> None:
    """Turn a report down with a reason, which the employee is mailed (through the outbox,
    in their language). The course is then open again on their page."""
    reason = check_rejection_reason(reason)
    if reviewable_completion(session, actor, completion.id) is None:
        raise ReviewError(_("Välj rapporter i listan."))
    moved = _decide(
        session,
        [completion.id],
        CompletionStatus.REJECTED,
        actor=actor,
        now=clock.utcnow(),
        reason=reason,
    )
    if not moved:
        raise ReviewError(_("Rapporten är redan granskad av någon annan."))
    (completion,) = _refresh(session, moved)
    audit_trail.record(
        session,
        "completion.rejected",
        actor=actor,
        subject=completion.employee,
        object_type="completion",
        object_id=completion.id,
        course=completion.course.key,
        reason=reason,
    )
    _queue_rejection_mail(session, completion)


def _queue_rejection_mail(session: Session, completion: Completion) -> None:
    employee = completion.employee
    mail = outbox.render_mail(
        "completion_rejected",
        employee.preferred_language,
        employee=employee,
        completion=completion,
        course=completion.course,
        reason=completion.rejection_reason,
        report_url=outbox.absolute_url("courses.report", course=completion.course_id),
        completion_url=outbox.absolute_url("courses.completion", completion_id=completion.id),
    )
    outbox.queue_mail(
        session,
        key=f"completion-rejected:{completion.id}",
        kind="completion_rejected",
        recipient=employee,
        mail=mail,
    )
