"""The bearer tokens a municipality's directory provisions with: created, rotated and revoked
by an admin (the admin page and ``flask scim token``), stored as a digest, shown once."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from training_tracker import clock
from training_tracker.models import Employee, Municipality, ScimToken
from training_tracker.services.core import audit_trail
from training_tracker.services.core.errors import FieldError
from training_tracker.services.people.scim.attributes import HIRE_DATE_ATTRIBUTES

PREFIX = "ttscim_"
# How often a token's "last used" is written: not on every request of a sync.
_LAST_USED_RESOLUTION = timedelta(minutes=5)


class TokenError(FieldError):
    """A token that cannot be created or changed as asked."""


def digest(secret: str) -> str:
    """What is stored of a secret: it is random and long, so a fast hash suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> tuple[str, str]:
    secret = PREFIX + secrets.token_urlsafe(32)
    return secret, secret[: len(PREFIX) + 4]


def create_token(
    session: Session,
    municipality: Municipality,
    *,
    label: str,
    actor: Employee | None,
    hire_date_attribute: str | None = "employeeHireDate",
) -> tuple[ScimToken, str]:
    """A new token for ``municipality``'s directory; returns it with the secret, which is
    never stored and cannot be shown again."""
    label = " ".join(label.split())
    if not label:
        raise TokenError(_("Ge token ett namn, till exempel katalogens namn."), "label")
    if len(label) > 100:
        raise TokenError(_("Namnet får vara högst 100 tecken."), "label")
    if hire_date_attribute is not None and hire_date_attribute not in HIRE_DATE_ATTRIBUTES:
        raise TokenError(_("Välj ett av attributen i listan."), "hire_date_attribute")
    secret, hint = _new_secret()
    token = ScimToken(
        municipality_id=municipality.id,
        municipality=municipality,
        label=label,
        secret_hash=digest(secret),
        hint=hint,
        hire_date_attribute=hire_date_attribute,
        created_by_id=actor.id if actor else None,
    )
    session.add(token)
    session.flush()
    _audit(session, "scim.token_created", token, actor)
    return token, secret


def rotate_token(session: Session, token: ScimToken, *, actor: Employee | None) -> str:
    """A new secret for the same token: the old one stops working at once."""
    if token.revoked_at is not None:
        raise TokenError(_("Token är återkallad och kan inte förnyas."))
    secret, hint = _new_secret()
    token.secret_hash, token.hint = digest(secret), hint
    token.rotated_at = clock.utcnow()
    _audit(session, "scim.token_rotated", token, actor)
    return secret


def revoke_token(session: Session, token: ScimToken, *, actor: Employee | None) -> bool:
    """Revoke the token (the directory's next request is refused); False if it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = clock.utcnow()
    _audit(session, "scim.token_revoked", token, actor)
    return True


def list_tokens(session: Session) -> list[ScimToken]:
    return list(
        session.scalars(
            sa.select(ScimToken)
            .options(joinedload(ScimToken.municipality))
            .order_by(ScimToken.revoked_at.is_not(None), ScimToken.id)
        )
    )


def get_token(session: Session, token_id: int) -> ScimToken | None:
    return session.get(ScimToken, token_id)


@dataclass(frozen=True)
class LiveToken:
    """A live token as its directory's requests use it: read in one statement, with whether
    its municipality requires single sign-on, and held for the request (no ORM object, whose
    loading cost more than the query)."""

    id: int
    municipality_id: int
    label: str
    hire_date_attribute: str | None
    sso_required: bool
    last_used_at: datetime | None

    @property
    def actor_label(self) -> str:
        """How the audit trail names what this token changed (as ``ScimToken``'s)."""
        return f"SCIM ({self.label})"


class DirectoryToken(Protocol):
    """What the SCIM services read of a token: a :class:`LiveToken`, or a ``ScimToken``."""

    @property
    def id(self) -> int: ...
    @property
    def municipality_id(self) -> int: ...
    @property
    def hire_date_attribute(self) -> str | None: ...
    @property
    def sso_required(self) -> bool: ...
    @property
    def actor_label(self) -> str: ...


def authenticate(session: Session, secret: str) -> LiveToken | None:
    """The live token with this secret, or None."""
    if not secret.startswith(PREFIX):
        return None
    row = session.execute(_live_token(), {"secret_hash": digest(secret)}).one_or_none()
    return LiveToken(*row) if row is not None else None


def note_use(session: Session, token: LiveToken) -> bool:
    """Write when ``token`` was last used, every few minutes of a sync rather than at every
    request; True if it wrote (the caller commits)."""
    now = clock.utcnow()
    if token.last_used_at is not None and now - token.last_used_at <= _LAST_USED_RESOLUTION:
        return False
    session.execute(sa.update(ScimToken).where(ScimToken.id == token.id).values(last_used_at=now))
    return True


@functools.cache
def _live_token() -> sa.Select[tuple[int, int, str, str | None, bool, datetime | None]]:
    """:func:`authenticate`'s query, built once: every request of a sync runs it."""
    return (
        sa.select(
            ScimToken.id,
            ScimToken.municipality_id,
            ScimToken.label,
            ScimToken.hire_date_attribute,
            Municipality.sso_required,
            ScimToken.last_used_at,
        )
        .join(Municipality, Municipality.id == ScimToken.municipality_id)
        .where(
            ScimToken.secret_hash == sa.bindparam("secret_hash", type_=sa.String()),
            ScimToken.revoked_at.is_(None),
        )
    )


def _audit(session: Session, action: str, token: ScimToken, actor: Employee | None) -> None:
    audit_trail.record(
        session,
        action,
        actor=actor,
        object_type="scim_token",
        object_id=token.id,
        label=token.label,
        municipality_id=token.municipality_id,
    )


def municipalities(session: Session) -> list[Municipality]:
    """The municipalities a token can be made for, by name."""
    return list(session.scalars(sa.select(Municipality).order_by(Municipality.name)))


def municipality_by_id(session: Session, municipality_id: int) -> Municipality:
    municipality = session.get(Municipality, municipality_id)
    if municipality is None:
        raise TokenError(_("Välj kommun."), "municipality")
    return municipality
