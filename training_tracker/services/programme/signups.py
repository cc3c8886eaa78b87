"""Signing up for an event, cancelling, and the waiting list.

The capacity is never exceeded, even when two people take the last place at the same moment:
every change to an event's places first takes the event's lock (:func:`lock_event`) and then
counts, inside the same transaction. Each sign-up, cancellation and move up the waiting list
raises the registration's ``sequence`` and queues one mail with the calendar invitation
(:mod:`.calendar`) through the outbox, keyed by that sequence, so it goes out exactly once.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import (
    Employee,
    EventFormat,
    ProgrammeEvent,
    ProgrammeRegistration,
    RegistrationStatus,
    Role,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import approvers_clause, managers_clause, team_scope
from training_tracker.services.messaging import outbox, sso_links
from training_tracker.services.programme.calendar import invitation
from training_tracker.services.programme.listing import HOLDS_A_PLACE

KIND = "programme_signup"
APPROVAL_KIND = "programme_approval"


class SignupError(FieldError):
    default_field = None


def lock_event(session: Session, event_id: int) -> None:
    """Wait until no one else is changing the event's places, and keep them out until this
    transaction ends. PostgreSQL locks the event's row; SQLite has one write lock for the
    whole database, which a write that changes nothing takes (waiting up to busy_timeout)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.select(ProgrammeEvent.id).where(ProgrammeEvent.id == event_id).with_for_update()
        )
    else:
        session.execute(
            sa.update(ProgrammeEvent)
            .where(sa.false())
            .values(capacity=ProgrammeEvent.capacity)
            .execution_options(synchronize_session=False)
        )


def _taken(session: Session, event_id: int) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                ProgrammeRegistration.event_id == event_id,
                ProgrammeRegistration.status.in_(HOLDS_A_PLACE),
            )
        )
        or 0
    )


def _open_to(event: ProgrammeEvent, employee: Employee) -> bool:
    return employee.municipality_id in {m.id for m in event.municipalities}


def may_sign_up_for_others(session: Session, actor: Employee, employee: Employee) -> bool:
    """A manager signs up their own staff (``team_scope``)."""
    if not actor.has_role(Role.MANAGER):
        return False
    return (
        session.scalar(
            sa.select(sa.func.count()).where(team_scope(actor), Employee.id == employee.id)
        )
        == 1
    )


def _notify(session: Session, registration: ProgrammeRegistration, what: str) -> None:
    """Queue the mail of this change of ``registration`` (``what``: signed_up, waiting,
    pending, approved, promoted, cancelled, declined, changed, event_cancelled), with the
    calendar invitation when it concerns a place."""
    event = registration.event
    employee = registration.employee
    url = outbox.absolute_url("programme.event_detail", event_id=event.id)
    link = (
        event.link
        if event.format == EventFormat.DIGITAL
        and registration.status == RegistrationStatus.CONFIRMED
        else None
    )
    with_calendar = what in ("signed_up", "approved", "promoted", "cancelled", "changed") or (
        what == "event_cancelled" and registration.status == RegistrationStatus.CONFIRMED
    )
    mail = outbox.render_mail(
        "programme_signup",
        employee.preferred_language,
        employee=employee,
        event=event,
        what=what,
        link=link,
        url=url,
        with_calendar=with_calendar,
        deciding_hr=deciding_hr(session, employee)
        if what in ("pending", "approved", "declined")
        else None,
    )
    # A change of the event raises its sessions' sequences, not the registration's.
    changes = (
        sum(one.sequence for one in event.sessions) if what in ("changed", "event_cancelled") else 0
    )
    outbox.queue_mail(
        session,
        key=f"programme:{registration.id}:{registration.sequence}:{what}:{changes}",
        kind=KIND,
        recipient=employee,
        mail=mail,
        calendar=invitation(event, registration, link=link, url=url).decode()
        if with_calendar
        else None,
    )


def approvers_of(session: Session, employee: Employee) -> list[Employee]:
    """Who decides on ``employee``'s sign-ups awaiting approval: their managers or, when they
    have none, HR of their municipality
    (:func:`~training_tracker.services.core.scope.approvers_clause`)."""
    return list(
        session.scalars(
            sa.select(Employee)
            .where(approvers_clause(employee))
            .order_by(Employee.last_name, Employee.first_name, Employee.id)
        )
    )


def deciding_hr(session: Session, employee: Employee) -> str | None:
    """The name of the municipality whose HR decides on ``employee``'s sign-ups, because they
    have no manager (:func:`~training_tracker.services.core.scope.approvers_clause`); None
    when their managers decide. What the pages and mails say about who decides."""
    if employee.municipality is None:
        return None
    has_managers = session.scalar(sa.select(sa.exists().where(managers_clause(employee))))
    return None if has_managers else employee.municipality.name


def ask_approvers(session: Session, registration: ProgrammeRegistration) -> int:
    """Mail the employee's approvers (:func:`approvers_of`) that a sign-up awaits their
    decision, with a link to the page where they approve or decline it; once per approver and
    sign-up (the outbox's key). Returns how many were queued."""
    event, employee = registration.event, registration.employee
    hr_of = deciding_hr(session, employee)
    queued = 0
    for manager in approvers_of(session, employee):
        mail = outbox.render_mail(
            "programme_approval",
            manager.preferred_language,
            manager=manager,
            employee=employee,
            event=event,
            deciding_hr=hr_of,
            url=sso_links.mail_link(
                session, manager, "programme.approval", registration_id=registration.id
            ),
        )
        message = outbox.queue_mail(
            session,
            key=f"programme-approval:{registration.id}:{registration.sequence}:{manager.id}",
            kind=APPROVAL_KIND,
            recipient=manager,
            mail=mail,
        )
        queued += message is not None
    return queued


def awaiting_decision(
    session: Session, actor: Employee, registration_id: int
) -> ProgrammeRegistration | None:
    """A sign-up ``actor`` decides on (as one of the person's approvers, never their own), in
    whatever state it is now; None otherwise (views answer 404, revealing nothing)."""
    registration = session.get(ProgrammeRegistration, registration_id)
    if registration is None or not may_decide(session, actor, registration.employee):
        return None
    return registration


def may_decide(session: Session, actor: Employee, employee: Employee) -> bool:
    """Whether ``actor`` is one of ``employee``'s approvers (never ``employee`` themselves)."""
    return (
        session.scalar(
            sa.select(sa.func.count()).where(approvers_clause(employee), Employee.id == actor.id)
        )
        == 1
    )


def sign_up(
    session: Session, actor: Employee, event: ProgrammeEvent, employee: Employee
) -> ProgrammeRegistration:
    """Sign ``employee`` up (themselves, or their manager for them): a place while there is
    one, else the waiting list. An event that asks for approval holds the place until an
    approver (:func:`approvers_of`) decides, unless the manager signs up; someone with nobody
    to decide is refused."""
    if actor.id != employee.id and not may_sign_up_for_others(session, actor, employee):
        raise SignupError(_("Du kan bara anmäla dig själv eller din egen personal."))
    if event.cancelled_at is not None:
        raise SignupError(_("Evenemanget är inställt."))
    if not _open_to(event, employee):
        raise SignupError(_("Evenemanget är inte öppet för anställda i den kommunen."))
    now = clock.utcnow()
    if now >= event.signup_deadline:
        raise SignupError(_("Sista anmälningsdag har passerat."))
    if event.requires_approval and actor.id == employee.id and not approvers_of(session, employee):
        raise SignupError(
            _(
                "Evenemanget kräver godkännande, men ingen kan godkänna din anmälan: du har "
                "ingen chef i utbildningsuppföljningen och det finns ingen HR i %(municipality)s. "
                "Kontakta en administratör.",
                municipality=employee.municipality.name if employee.municipality else "",
            )
        )
    lock_event(session, event.id)
    registration = session.scalars(
        sa.select(ProgrammeRegistration).where(
            ProgrammeRegistration.event_id == event.id,
            ProgrammeRegistration.employee_id == employee.id,
        )
    ).one_or_none()
    if registration is not None and registration.status != RegistrationStatus.CANCELLED:
        raise SignupError(_("Redan anmäld till evenemanget."))
    if _taken(session, event.id) < event.capacity:
        approval = event.requires_approval and actor.id == employee.id
        status = RegistrationStatus.PENDING if approval else RegistrationStatus.CONFIRMED
    else:
        status = RegistrationStatus.WAITING
    if registration is None:
        registration = ProgrammeRegistration(event=event, employee=employee, sequence=-1)
        session.add(registration)
    registration.status = status
    registration.registered_at = now
    registration.signed_up_by_id = actor.id
    registration.confirmed_at = now if status == RegistrationStatus.CONFIRMED else None
    registration.cancelled_at = None
    registration.sequence += 1
    session.flush()
    audit_trail.record(
        session,
        "programme.signed_up",
        actor=actor,
        subject=employee,
        object_type="programme_event",
        object_id=event.id,
        status=status.value,
    )
    what = {
        RegistrationStatus.CONFIRMED: "signed_up",
        RegistrationStatus.PENDING: "pending",
        RegistrationStatus.WAITING: "waiting",
    }[status]
    _notify(session, registration, what)
    if status == RegistrationStatus.PENDING:
        ask_approvers(session, registration)
    return registration


def cancel(session: Session, actor: Employee, registration: ProgrammeRegistration) -> None:
    """Cancel a sign-up (up to the deadline); the first on the waiting list takes the place."""
    employee = registration.employee
    if actor.id != employee.id and not may_sign_up_for_others(session, actor, employee):
        raise SignupError(_("Du kan bara avanmäla dig själv eller din egen personal."))
    event = registration.event
    if registration.status == RegistrationStatus.CANCELLED:
        return
    if clock.utcnow() >= event.signup_deadline:
        raise SignupError(
            _("Sista anmälningsdag har passerat. Kontakta arrangören om du inte kan komma.")
        )
    lock_event(session, event.id)
    session.refresh(registration)
    if registration.status == RegistrationStatus.CANCELLED:
        return
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = clock.utcnow()
    registration.sequence += 1
    session.flush()
    audit_trail.record(
        session,
        "programme.cancelled",
        actor=actor,
        subject=employee,
        object_type="programme_event",
        object_id=event.id,
    )
    _notify(session, registration, "cancelled")
    fill_places(session, event)


def decide(
    session: Session, actor: Employee, registration: ProgrammeRegistration, *, approve: bool
) -> None:
    """An approver (:func:`approvers_of`: the person's manager, or HR of their municipality
    when they have none) approves a sign-up awaiting approval (it keeps its place), or declines
    it (the place goes to the waiting list). Never for themselves."""
    employee = registration.employee
    if not may_decide(session, actor, employee):
        raise SignupError(
            _(
                "Bara medarbetarens chef, eller HR när medarbetaren saknar chef, kan godkänna "
                "anmälan."
            )
        )
    if registration.status != RegistrationStatus.PENDING:
        raise SignupError(_("Anmälan väntar inte på godkännande."))
    lock_event(session, registration.event_id)
    session.refresh(registration)
    if registration.status != RegistrationStatus.PENDING:
        raise SignupError(_("Anmälan väntar inte på godkännande."))
    now = clock.utcnow()
    registration.status = RegistrationStatus.CONFIRMED if approve else RegistrationStatus.CANCELLED
    registration.confirmed_at = now if approve else None
    registration.cancelled_at = None if approve else now
    registration.sequence += 1
    session.flush()
    audit_trail.record(
        session,
        "programme.approved" if approve else "programme.declined",
        actor=actor,
        subject=employee,
        object_type="programme_event",
        object_id=registration.event_id,
    )
    _notify(session, registration, "approved" if approve else "declined")
    if not approve:
        fill_places(session, registration.event)


def fill_places(session: Session, event: ProgrammeEvent) -> list[ProgrammeRegistration]:
    """Move people up the waiting list, first come first served, while places are free; each
    gets a mail with the invitation (or, where approval is asked for, a mail that the place
    awaits approval, and their approvers are asked). The caller holds the event's lock."""
    moved: list[ProgrammeRegistration] = []
    free = event.capacity - _taken(session, event.id)
    if free <= 0 or event.cancelled_at is not None:
        return moved
    waiting = session.scalars(
        sa.select(ProgrammeRegistration)
        .where(
            ProgrammeRegistration.event_id == event.id,
            ProgrammeRegistration.status == RegistrationStatus.WAITING,
        )
        .order_by(ProgrammeRegistration.registered_at, ProgrammeRegistration.id)
        .limit(free)
    ).all()
    now = clock.utcnow()
    for registration in waiting:
        # Someone who signed themselves up for an event that asks for approval moves up to a
        # place held for them until an approver decides.
        approval = (
            event.requires_approval and registration.signed_up_by_id == registration.employee_id
        )
        registration.status = (
            RegistrationStatus.PENDING if approval else RegistrationStatus.CONFIRMED
        )
        registration.confirmed_at = None if approval else now
        registration.sequence += 1
        session.flush()
        audit_trail.record(
            session,
            "programme.moved_up",
            actor=None,
            subject=registration.employee,
            object_type="programme_event",
            object_id=event.id,
        )
        if approval:
            _notify(session, registration, "pending")
            ask_approvers(session, registration)
        else:
            _notify(session, registration, "promoted")
        moved.append(registration)
    return moved


def notify_change(session: Session, event: ProgrammeEvent) -> int:
    """Tell everyone with a place that the event changed (a session moved or cancelled, a new
    title, place or link), with the calendar invitation of its new state; returns how many."""
    session.flush()
    registrations = session.scalars(
        sa.select(ProgrammeRegistration).where(
            ProgrammeRegistration.event_id == event.id,
            ProgrammeRegistration.status == RegistrationStatus.CONFIRMED,
        )
    ).all()
    for registration in registrations:
        _notify(session, registration, "changed")
    return len(registrations)


def notify_cancelled_event(session: Session, event: ProgrammeEvent) -> int:
    """Tell everyone signed up (a place, awaiting approval, waiting) that the event is
    cancelled; those with a place get the invitation's cancellation. Returns how many."""
    session.flush()
    registrations = session.scalars(
        sa.select(ProgrammeRegistration).where(
            ProgrammeRegistration.event_id == event.id,
            ProgrammeRegistration.status != RegistrationStatus.CANCELLED,
        )
    ).all()
    for registration in registrations:
        _notify(session, registration, "event_cancelled")
    return len(registrations)


def message_everyone(
    session: Session, actor: Employee, event: ProgrammeEvent, *, subject: str, text: str
) -> int:
    """The organiser's own mail to everyone signed up (a place, or awaiting approval), through
    the outbox; the same message sent twice goes out once. Audited; returns how many."""
    subject, text = " ".join(subject.split()), text.strip()
    if not subject:
        raise SignupError(_("Skriv en rubrik."), "subject")
    if not text:
        raise SignupError(_("Skriv ett meddelande."), "text")
    digest = hashlib.sha256(f"{subject}\n{text}".encode()).hexdigest()[:16]
    registrations = session.scalars(
        sa.select(ProgrammeRegistration).where(
            ProgrammeRegistration.event_id == event.id,
            ProgrammeRegistration.status.in_(HOLDS_A_PLACE),
        )
    ).all()
    url = outbox.absolute_url("programme.event_detail", event_id=event.id)
    sent = 0
    for registration in registrations:
        employee = registration.employee
        mail = outbox.render_mail(
            "programme_message",
            employee.preferred_language,
            employee=employee,
            event=event,
            heading=subject,
            text=text,
            url=url,
        )
        queued = outbox.queue_mail(
            session,
            key=f"programme-message:{event.id}:{digest}:{employee.id}",
            kind="programme_message",
            recipient=employee,
            mail=mail,
        )
        sent += queued is not None
    audit_trail.record(
        session,
        "programme.messaged",
        actor=actor,
        object_type="programme_event",
        object_id=event.id,
        recipients=sent,
        heading=subject,
    )
    return sent


def my_registration(
    session: Session, employee: Employee, event_id: int
) -> ProgrammeRegistration | None:
    return session.scalars(
        sa.select(ProgrammeRegistration).where(
            ProgrammeRegistration.event_id == event_id,
            ProgrammeRegistration.employee_id == employee.id,
        )
    ).one_or_none()
