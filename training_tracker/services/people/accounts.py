"""Passwords, sign-in, invitation and password-reset links."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session, selectinload
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from training_tracker import clock
from training_tracker.models import Assignment, AuditEvent, Course, Employee, OutboxMessage
from training_tracker.services.core import audit_trail
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.messaging import outbox, sso_links
from training_tracker.services.people import sso_providers

PASSWORD_MAX_LENGTH = 256
RESET_MAIL_INTERVAL = timedelta(minutes=10)


@dataclass(frozen=True)
class _Hashing:
    hasher: PasswordHasher
    # Verified against when the e-mail is unknown, so a miss costs as long as a wrong password.
    dummy_hash: str


def _hashing() -> _Hashing:
    """Argon2id at the cost the app's configuration sets (PASSWORD_HASH_*), made once per app."""
    hashing = current_app.extensions.get("password_hashing")
    if hashing is None:
        config = current_app.config
        hasher = PasswordHasher(
            time_cost=config["PASSWORD_HASH_TIME_COST"],
            memory_cost=config["PASSWORD_HASH_MEMORY_KIB"],
            parallelism=config["PASSWORD_HASH_PARALLELISM"],
        )
        hashing = _Hashing(hasher, hasher.hash("not-a-real-password-just-for-timing"))
        current_app.extensions["password_hashing"] = hashing
    return hashing


def hash_password(password: str) -> str:
    return _hashing().hasher.hash(password)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn's list of the 30,000 most common passwords, plus Swedish favourites.
    swedish = {"lösenord", "losenord", "sommar", "vinter", "hösten", "varmt", "hejhej"}
    return frozenset(FREQUENCY_LISTS["passwords"]) | swedish


def password_problems(password: str, *, email: str = "", first_name: str = "") -> list[str]:
    """Why a new password is refused, in words for the user; empty when it is fine."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return [_("Lösenordet måste ha minst %(min)d tecken.", min=minimum)]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [_("Lösenordet får ha högst %(max)d tecken.", max=PASSWORD_MAX_LENGTH)]
    lowered = password.lower()
    stripped = lowered.rstrip("0123456789!?.")
    common = _common_passwords()
    # zxcvbn also sees what no list holds: keyboard walks ("qwertyuiopas"), runs
    # ("abcdefghijkl") and a common word with a little added; under a million guesses is too few.
    guessable = zxcvbn(password[:64])["guesses"] < 1_000_000
    if lowered in common or stripped in common or len(set(lowered)) < 4 or guessable:
        return [_("Lösenordet är för vanligt och lätt att gissa. Välj ett annat.")]
    local_part = email.split("@")[0].lower()
    if (local_part and len(local_part) >= 4 and local_part in lowered) or (
        first_name and len(first_name) >= 4 and first_name.lower() in lowered
    ):
        return [_("Lösenordet får inte innehålla ditt namn eller din e-postadress.")]
    return []


def authenticate(session: Session, email: str, password: str) -> Employee | None:
    """The active account with this e-mail and password, or None."""
    employee = session.scalars(
        sa.select(Employee).where(Employee.email == normalise_email(email))
    ).one_or_none()
    hashing = _hashing()
    stored = employee.password_hash if employee and employee.password_hash else hashing.dummy_hash
    try:
        hashing.hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if employee is None or not employee.password_hash or not employee.is_active:
        return None
    if hashing.hasher.check_needs_rehash(employee.password_hash):
        employee.password_hash = hash_password(password)
    return employee


def record_login(session: Session, employee: Employee) -> None:
    employee.last_login_at = clock.utcnow()
    audit_trail.record(session, "auth.login", actor=employee, subject=employee)


def set_password(
    session: Session, employee: Employee, password: str, *, actor: Employee | None, reason: str
) -> None:
    """Store a new password and end every existing session of the account."""
    employee.password_hash = hash_password(password)
    employee.session_version += 1
    audit_trail.record(session, "auth.password_set", actor=actor, subject=employee, reason=reason)


def end_all_sessions(session: Session, employee: Employee, *, actor: Employee | None) -> None:
    employee.session_version += 1
    audit_trail.record(session, "auth.sessions_ended", actor=actor, subject=employee)


class TokenPurpose(StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password-reset"


class TokenProblem(StrEnum):
    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"
    # Sent to an address the account no longer has: the e-mail was changed since.
    READDRESSED = "readdressed"


@dataclass(frozen=True)
class TokenCheck:
    employee: Employee | None
    problem: TokenProblem | None


def _serializer(purpose: TokenPurpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"tt-{purpose}")


def _password_fingerprint(employee: Employee) -> str:
    # Part of every link: once the password changes, every earlier link stops working, which
    # is what makes invitation and reset links single-use.
    return _fingerprint(employee.password_hash)


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "no-password").encode()).hexdigest()[:16]


def email_fingerprint(email: str) -> str:
    # Part of every link too: a link works only while the account has the address it was
    # sent to, so changing the e-mail ends every link sent before (and the payload, which is
    # signed but readable, does not carry the address itself).
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()[:16]


def make_token(employee: Employee, purpose: TokenPurpose) -> str:
    return _serializer(purpose).dumps(
        {
            "e": employee.id,
            "p": _password_fingerprint(employee),
            "m": email_fingerprint(employee.email),
        }
    )


def _max_age_seconds(purpose: TokenPurpose) -> int:
    config = current_app.config
    if purpose == TokenPurpose.INVITATION:
        return int(config["INVITATION_MAX_AGE_HOURS"]) * 3600
    return int(config["PASSWORD_RESET_MAX_AGE_MINUTES"]) * 60


def check_token(session: Session, token: str, purpose: TokenPurpose) -> TokenCheck:
    try:
        payload = _serializer(purpose).loads(token, max_age=_max_age_seconds(purpose))
    except SignatureExpired:
        return TokenCheck(None, TokenProblem.EXPIRED)
    except BadSignature:
        return TokenCheck(None, TokenProblem.INVALID)
    employee = session.get(Employee, payload.get("e")) if isinstance(payload, dict) else None
    if employee is None or not employee.active:
        return TokenCheck(None, TokenProblem.INVALID)
    if payload.get("m") != email_fingerprint(employee.email):
        return TokenCheck(None, TokenProblem.READDRESSED)
    if payload.get("p") != _password_fingerprint(employee):
        return TokenCheck(None, TokenProblem.USED)
    return TokenCheck(employee, None)


def _open_assignments(session: Session, employee_ids: list[int]) -> dict[int, list[Assignment]]:
    by_employee: dict[int, list[Assignment]] = {employee_id: [] for employee_id in employee_ids}
    for chunk in _chunks(employee_ids):
        for assignment in session.scalars(
            sa.select(Assignment)
            .join(Assignment.course)
            .where(
                Assignment.employee_id.in_(chunk),
                Assignment.removed_at.is_(None),
                ~Assignment.exempt,
            )
            .options(selectinload(Assignment.course))
            .order_by(Assignment.due_date, Course.title)
        ):
            by_employee[assignment.employee_id].append(assignment)
    return by_employee


def _chunks(ids: list[int], size: int = 900) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _invitation(
    session: Session, employee: Employee, assignments: list[Assignment]
) -> outbox.RenderedMail:
    # The welcome mail lists what is required, so a new hire can start before signing in.
    # Where the municipality has its own sign-in, the mail leads there; a password link only
    # where passwords are allowed.
    token = make_token(employee, TokenPurpose.INVITATION)
    sso = sso_links.has_provider(session, employee.municipality_id)
    return outbox.render_mail(
        "invitation",
        employee.preferred_language,
        employee=employee,
        assignments=assignments,
        set_password_url=(
            outbox.absolute_url("auth.accept_invitation", token=token)
            if sso_providers.password_allowed(employee)
            else None
        ),
        sso_url=sso_links.mail_link(session, employee, "main.home") if sso else None,
        start_url=sso_links.mail_link(session, employee, "main.home"),
        valid_days=current_app.config["INVITATION_MAX_AGE_HOURS"] // 24,
    )


def _invitation_key(employee: Employee) -> str:
    # One invitation per account, password, address and day: a double click queues one mail,
    # and one sent again after the address was corrected is queued anew.
    return (
        f"invitation:{employee.id}:{_password_fingerprint(employee)}"
        f":{email_fingerprint(employee.email)}:{clock.today()}"
    )


def queue_invitation(
    session: Session,
    employee: Employee,
    *,
    actor: Employee | None,
    key: str | None = None,
    written_when_sent: bool = False,
    marked_invited: bool = False,
) -> bool:
    """Queue the welcome mail: the required courses with their due dates and links, and a
    set-password link. Returns False if that mail was queued already (the same key), so a
    double click sends one mail. ``written_when_sent``: queued unwritten, as an import's are
    (:func:`queue_invitations`), for a directory enrolling thousands in a row.
    ``marked_invited``: the caller set ``invited_at`` already (a new employee, in the INSERT);
    it is taken back if no mail was queued."""
    session.flush()
    key = key or _invitation_key(employee)
    if written_when_sent:
        unwritten = _unwritten_invitation(key, employee.id, employee.email)
        queued = outbox.queue_one_unwritten(session, unwritten)
    else:
        assignments = _open_assignments(session, [employee.id])[employee.id]
        mail = _invitation(session, employee, assignments)
        message = outbox.queue_mail(
            session, key=key, kind="invitation", recipient=employee, mail=mail
        )
        queued = message is not None
    if queued:
        if not marked_invited:
            employee.invited_at = clock.utcnow()
        audit_trail.record(session, "auth.invitation_queued", actor=actor, subject=employee)
    elif marked_invited:
        employee.invited_at = None
    return queued


def _unwritten_invitation(key: str, employee_id: int, email: str) -> dict[str, object]:
    """An outbox row of a welcome mail that :func:`_write_invitation` writes when it is sent."""
    return {
        "idempotency_key": key,
        "kind": "invitation",
        "template": "invitation",
        "recipient_id": employee_id,
        "recipient_email": email,
        "subject": "",
        "body_text": "",
        "body_html": None,
    }


def queue_invitations(
    session: Session,
    employee_ids: list[int],
    *,
    actor: Employee | None,
    mark_invited: bool = True,
) -> int:
    """The welcome mail for many new employees at once (an import). Queued unwritten, in one
    bulk insert: each is written by :func:`_write_invitation` when the sender's turn comes, so
    20,000 of them cost a second or two here, and each lists the courses as they are when it
    is sent. Returns how many were queued (a mail queued before is not queued again)."""
    if not employee_ids:
        return 0
    session.flush()
    now = clock.utcnow()
    messages: list[dict[str, object]] = []
    today = clock.today()
    for chunk in _chunks(employee_ids):
        for employee_id, email, password_hash in session.execute(
            sa.select(Employee.id, Employee.email, Employee.password_hash).where(
                Employee.id.in_(chunk)
            )
        ):
            key = (
                f"invitation:{employee_id}:{_fingerprint(password_hash)}"
                f":{email_fingerprint(email)}:{today}"
            )
            messages.append(_unwritten_invitation(key, employee_id, email))
    queued_ids = outbox.queue_many(session, messages, now=now)
    for chunk in _chunks(queued_ids) if mark_invited else []:
        session.execute(
            sa.update(Employee)
            .where(Employee.id.in_(chunk))
            .values(invited_at=now)
            .execution_options(synchronize_session=False)
        )
    if queued_ids:
        session.connection().execute(
            sa.insert(AuditEvent.__table__),
            [
                {
                    "occurred_at": now,
                    "actor_id": actor.id if actor else None,
                    "action": "auth.invitation_queued",
                    "subject_employee_id": employee_id,
                    "details": {},
                }
                for employee_id in queued_ids
            ],
        )
    return len(queued_ids)


@outbox.register_renderer("invitation")
def _write_invitation(session: Session, message: OutboxMessage) -> outbox.RenderedMail | None:
    employee = session.get(Employee, message.recipient_id) if message.recipient_id else None
    if employee is None or not employee.active:
        return None
    return _invitation(session, employee, _open_assignments(session, [employee.id])[employee.id])


def request_password_reset(session: Session, email: str) -> None:
    """Queue a reset link if an active account has this e-mail. Says nothing either way, so
    the form cannot be used to find out who has an account."""
    employee = session.scalars(
        sa.select(Employee).where(Employee.email == normalise_email(email))
    ).one_or_none()
    if employee is None or not employee.active or not sso_providers.password_allowed(employee):
        return
    # At most one reset mail per account and ten minutes, however often the form is sent: a
    # mail queued in the last ten minutes answers this request too, and the key (one per
    # ten-minute window) settles two requests at the same moment.
    now = clock.utcnow()
    recently_queued = session.scalar(
        sa.select(OutboxMessage.id)
        .where(
            OutboxMessage.recipient_id == employee.id,
            OutboxMessage.kind == "password_reset",
            OutboxMessage.created_at > now - RESET_MAIL_INTERVAL,
        )
        .limit(1)
    )
    if recently_queued is not None:
        return
    token = make_token(employee, TokenPurpose.PASSWORD_RESET)
    mail = outbox.render_mail(
        "password_reset",
        employee.preferred_language,
        employee=employee,
        reset_url=outbox.absolute_url("auth.reset_password", token=token),
        valid_minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"],
    )
    key = f"password-reset:{employee.id}:{now:%Y%m%d%H}{now.minute // 10}"
    if outbox.queue_mail(session, key=key, kind="password_reset", recipient=employee, mail=mail):
        audit_trail.record(session, "auth.password_reset_requested", actor=None, subject=employee)
