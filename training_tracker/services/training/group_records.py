"""HR records a completed course for several employees at once: a group session run by the
coordinator, an attendance list from a classroom day.

What HR records this way is verified at once (HR attests it; no certificate is needed), except
for the recorder's own: nobody vouches for themselves, so theirs goes in as a report awaiting
another HR person or their manager, like any self-report. The
whole group is one transaction: a single person out of reach refuses the request and nothing
is stored. Someone who already holds a verified completion of the course on or after the
session's date is skipped and named, so the same list sent twice records nothing twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from training_tracker import clock
from training_tracker.models import Completion, CompletionStatus, Course, Employee, Unit
from training_tracker.services.core import audit_trail
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.core.errors import FieldError
from training_tracker.services.core.scope import Access, employee_scope
from training_tracker.services.training.assignments import employed_on
from training_tracker.services.training.completions import ReportData, check_report, expiry_for

# At most this many people in one request: a large training day, not a whole municipality.
MAX_ATTENDEES = 1000
# The pick list shows at most this many people; a filter narrows it.
PICK_LIMIT = 200
# An error names at most this many lines or people, then says how many more.
_NAMED_MAX = 20

# An e-mail address inside a pasted line: "Anna Berg <anna.berg@kommun.se>", a spreadsheet row.
_EMAIL = re.compile(r"[^\s<>;,\"'()\[\]]+@[^\s<>;,\"'()\[\]]+")


class GroupRecordError(FieldError):
    """A group record that cannot be made; nothing is stored. Most concern the people."""

    default_field = "employee_ids"


@dataclass(frozen=True)
class GroupRecordResult:
    course: Course
    completed_on: date
    recorded: list[Employee]  # a verified completion was added for each
    already_recorded: list[Employee] = field(default_factory=list)  # skipped: nothing new
    # The actor among them: recorded as their own report, awaiting someone else's review.
    awaiting_review: list[Employee] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)


@dataclass(frozen=True)
class Candidates:
    """The people HR may tick, as filtered; ``total`` counts all that match."""

    employees: list[Employee]
    total: int
    limit: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.employees)


def _staff(actor: Employee, today: date) -> list[ColumnElement[bool]]:
    """People ``actor`` manages who are employed today (system accounts are not staff)."""
    return [
        employee_scope(actor, Access.MANAGE),
        Employee.municipality_id.is_not(None),
        employed_on(today),
    ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def attendee_candidates(
    session: Session,
    actor: Employee,
    *,
    text: str = "",
    municipality_id: int | None = None,
    unit_id: int | None = None,
    today: date | None = None,
    limit: int = PICK_LIMIT,
) -> Candidates:
    """The people ``actor`` may record a course for, by unit and name, filtered by name (or
    e-mail, employee number), municipality and unit; two queries whatever their number."""
    today = today or clock.today()
    conditions = _staff(actor, today)
    if text.strip():
        pattern = f"%{_escape_like(text.strip().lower())}%"
        conditions.append(
            sa.or_(
                sa.func.lower(Employee.first_name + " " + Employee.last_name).like(
                    pattern, escape="\\"
                ),
                sa.func.lower(Employee.last_name + " " + Employee.first_name).like(
                    pattern, escape="\\"
                ),
                Employee.email.like(pattern, escape="\\"),
                sa.func.lower(Employee.employee_number).like(pattern, escape="\\"),
            )
        )
    if municipality_id is not None:
        conditions.append(Employee.municipality_id == municipality_id)
    if unit_id is not None:
        conditions.append(Employee.unit_id == unit_id)
    total = session.scalar(sa.select(sa.func.count()).select_from(Employee).where(*conditions)) or 0
    employees = session.scalars(
        sa.select(Employee)
        .outerjoin(Unit, Unit.id == Employee.unit_id)
        .where(*conditions)
        .order_by(Unit.name, Employee.last_name, Employee.first_name, Employee.id)
        .limit(limit)
        .options(selectinload(Employee.unit), selectinload(Employee.municipality))
    ).all()
    return Candidates(employees=list(employees), total=total, limit=limit)


# --- a pasted attendance list ---------------------------------------------------------------


def parse_attendance_list(text: str) -> list[str]:
    """The e-mail addresses and employee numbers of a pasted list: one per line (a ``;``
    separates too, as in a list copied from a mail). A line holding addresses (a name and an
    address, a spreadsheet row) gives its addresses; any other line is an employee number.
    Blank lines and repeats are dropped; the order is kept, for the error messages."""
    found: dict[str, str] = {}
    for line in re.split(r"[\r\n;]+", text or ""):
        line = line.strip().strip(",").strip()
        if not line:
            continue
        for entry in _EMAIL.findall(line) or [line]:
            found.setdefault(entry.lower(), entry)
    return list(found.values())


def name_list(people: Iterable[Employee]) -> str:
    """Names by last name, for a message: the first ones, then how many more."""
    ordered = sorted(people, key=lambda p: (p.last_name, p.first_name, p.id))
    return _listing([p.full_name for p in ordered])


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_NAMED_MAX])
    if len(items) > _NAMED_MAX:
        more = len(items) - _NAMED_MAX
        shown += " " + _("och %(num)d till", num=more)
    return shown


def resolve_identifiers(
    session: Session, actor: Employee, identifiers: Sequence[str]
) -> dict[str, Employee]:
    """The people ``actor`` manages named by these e-mail addresses or employee numbers
    (one query). Raises :class:`GroupRecordError` on the pasted list for any line that names
    nobody ``actor`` manages (the message does not tell whether such a person exists
    elsewhere) or an employee number found in more than one municipality."""
    if not identifiers:
        return {}
    emails = {normalise_email(i) for i in identifiers if "@" in i}
    numbers = {i.strip().lower() for i in identifiers if "@" not in i}
    people = session.scalars(
        sa.select(Employee).where(
            employee_scope(actor, Access.MANAGE),
            Employee.municipality_id.is_not(None),
            sa.or_(
                Employee.email.in_(emails),
                sa.func.lower(Employee.employee_number).in_(numbers),
            ),
        )
    ).all()
    by_email = {p.email: p for p in people}
    by_number: dict[str, list[Employee]] = {}
    for person in people:
        if person.employee_number:
            by_number.setdefault(person.employee_number.lower(), []).append(person)
    resolved: dict[str, Employee] = {}
    unknown: list[str] = []
    ambiguous: list[str] = []
    for identifier in identifiers:
        if "@" in identifier:
            by_address = by_email.get(normalise_email(identifier))
            if by_address is None:
                unknown.append(identifier)
            else:
                resolved[identifier] = by_address
            continue
        matches = by_number.get(identifier.strip().lower(), [])
        if not matches:
            unknown.append(identifier)
        elif len(matches) > 1:
            ambiguous.append(identifier)
        else:
            resolved[identifier] = matches[0]
    if unknown:
        raise GroupRecordError(
            ngettext(
                "Ingen anställd som du hanterar har den här e-postadressen eller det här "
                "anställningsnumret: %(lines)s. Rätta eller ta bort raden; ingenting är sparat.",
                "Ingen anställd som du hanterar har de här e-postadresserna eller "
                "anställningsnumren: %(lines)s. Rätta eller ta bort raderna; ingenting är sparat.",
                len(unknown),
                lines=_listing(unknown),
            ),
            "identifiers",
        )
    if ambiguous:
        raise GroupRecordError(
            _(
                "Anställningsnumret finns i flera kommuner: %(lines)s. Skriv personens "
                "e-postadress i stället; ingenting är sparat.",
                lines=_listing(ambiguous),
            ),
            "identifiers",
        )
    return resolved


# --- recording ------------------------------------------------------------------------------


def _submission_key(key: str, employee_id: int) -> str:
    """One key per person of one sent form: the unique column then refuses the same form
    recorded twice at once (a double tap), across processes."""
    return hashlib.sha256(f"group:{key}:{employee_id}".encode()).hexdigest()


def record_group_completion(
    session: Session,
    *,
    actor: Employee,
    course_id: int,
    completed_on: date,
    employee_ids: Sequence[int],
    note: str = "",
    identifiers: Sequence[str] = (),
    submission_key: str | None = None,
    today: date | None = None,
) -> GroupRecordResult:
    """Record ``course_id`` as completed on ``completed_on`` and verified by ``actor`` for the
    people ticked (``employee_ids``) and those named by a pasted list (``identifiers``: e-mail
    addresses or employee numbers), in the caller's transaction.

    Everyone must be someone ``actor`` manages and still employed; otherwise
    :class:`GroupRecordError` is raised and nothing is stored. People who already hold a
    verified, unexpired completion of the course dated on or after ``completed_on`` are
    skipped and returned as ``already_recorded``. A constant number of queries whatever the
    size of the group.
    """
    today = today or clock.today()
    note = (note or "").strip()
    course = check_report(
        session, ReportData(course_id=course_id, completed_on=completed_on, note=note), today=today
    )
    from_list = resolve_identifiers(session, actor, identifiers)
    ticked = set(employee_ids)
    ids = ticked | {person.id for person in from_list.values()}
    if not ids:
        raise GroupRecordError(
            _("Bocka i minst en person eller klistra in en deltagarlista."), "employee_ids"
        )
    if len(ids) > MAX_ATTENDEES:
        raise GroupRecordError(
            _(
                "Högst %(max)d personer åt gången. Dela upp deltagarna och registrera dem i "
                "flera omgångar.",
                max=MAX_ATTENDEES,
            )
        )
    rows = session.execute(
        sa.select(Employee, employed_on(today)).where(
            Employee.id.in_(ids),
            employee_scope(actor, Access.MANAGE),
            Employee.municipality_id.is_not(None),
        )
    ).all()
    people = [person for person, _employed in rows]
    out_of_reach = ids - {person.id for person in people}
    if out_of_reach:
        # Nobody is named: the ids may be people outside the actor's scope.
        raise GroupRecordError(
            _(
                "%(num)d av de valda personerna finns inte bland personalen du hanterar. "
                "Ingenting är sparat. Ladda om sidan och välj deltagarna igen.",
                num=len(out_of_reach),
            )
        )
    left = [person for person, employed in rows if not employed]
    if left:
        pasted_only = all(person.id not in ticked for person in left)
        raise GroupRecordError(
            ngettext(
                "%(names)s har slutat och kan inte registreras. Ta bort personen ur urvalet; "
                "ingenting är sparat.",
                "%(names)s har slutat och kan inte registreras. Ta bort dem ur urvalet; "
                "ingenting är sparat.",
                len(left),
                names=name_list(left),
            ),
            "identifiers" if pasted_only else "employee_ids",
        )
    holding = set(
        session.scalars(
            sa.select(Completion.employee_id)
            .where(
                Completion.employee_id.in_(ids),
                Completion.course_id == course.id,
                sa.or_(
                    Completion.status == CompletionStatus.VERIFIED,
                    # the actor's own report from a list sent before is theirs already
                    sa.and_(
                        Completion.employee_id == actor.id,
                        Completion.status == CompletionStatus.REPORTED,
                    ),
                ),
                Completion.completed_on >= completed_on,
                sa.or_(Completion.expires_on.is_(None), Completion.expires_on > today),
            )
            .distinct()
        )
    )
    by_name = sorted(people, key=lambda p: (p.last_name, p.first_name, p.id))
    to_record = [person for person in by_name if person.id not in holding]
    skipped = [person for person in by_name if person.id in holding]
    now = clock.utcnow()
    expires_on = expiry_for(course, completed_on)
    completions = [
        Completion(
            employee_id=person.id,
            course_id=course.id,
            completed_on=completed_on,
            expires_on=expires_on,
            status=CompletionStatus.REPORTED if own else CompletionStatus.VERIFIED,
            note=note,
            reported_at=now,
            reported_by_id=actor.id,
            reviewed_at=None if own else now,
            reviewed_by_id=None if own else actor.id,
            submission_key=_submission_key(submission_key, person.id) if submission_key else None,
        )
        for person in to_record
        for own in [person.id == actor.id]
    ]
    if completions:
        try:
            with session.begin_nested():
                session.add_all(completions)
                session.flush()  # one batched INSERT; the audit rows need the ids
        except IntegrityError:
            keys = [c.submission_key for c in completions if c.submission_key]
            if not keys or not session.scalar(
                sa.select(sa.func.count()).where(Completion.submission_key.in_(keys))
            ):
                raise
            # The same form is being recorded by a request sent a moment earlier.
            return GroupRecordResult(course, completed_on, recorded=[], already_recorded=by_name)
    for person, completion in zip(to_record, completions, strict=True):
        audit_trail.record(
            session,
            "completion.reported" if person.id == actor.id else "completion.recorded",
            actor=actor,
            subject=person,
            object_type="completion",
            object_id=completion.id,
            course=course.key,
            completed_on=completed_on.isoformat(),
            status=completion.status.value,
            group_size=len(to_record),
        )
    return GroupRecordResult(
        course=course,
        completed_on=completed_on,
        recorded=[person for person in to_record if person.id != actor.id],
        already_recorded=skipped,
        completions=completions,
        awaiting_review=[person for person in to_record if person.id == actor.id],
    )
