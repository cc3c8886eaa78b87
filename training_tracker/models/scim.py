"""SCIM 2.0 provisioning: the bearer tokens a municipality's directory signs in with, and the
link between a directory's user and the employee it stands for."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_tracker import clock
from training_tracker.extensions import Model

if TYPE_CHECKING:
    from training_tracker.models.people import Employee, Municipality


class ScimToken(Model):
    """One directory's bearer token, scoped to one municipality.

    Only the SHA-256 digest of the secret is stored (the secret is random and long, so a
    slow hash adds nothing); ``hint`` keeps its first characters so an admin can tell tokens
    apart. ``hire_date_attribute`` names the enterprise extension's attribute that carries the
    hire date in this directory.
    """

    __tablename__ = "scim_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(sa.String(100))
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hint: Mapped[str] = mapped_column(sa.String(20))
    hire_date_attribute: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="SET NULL")
    )
    rotated_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    municipality: Mapped[Municipality] = relationship()

    @property
    def actor_label(self) -> str:
        """How the audit trail names what this token changed."""
        return f"SCIM ({self.label})"

    @property
    def sso_required(self) -> bool:
        """Whether the token's municipality requires single sign-on (no welcome mail)."""
        return self.municipality.sso_required

    def __repr__(self) -> str:
        return f"<ScimToken {self.id} {self.label}>"


class ScimLink(Model):
    """An employee the municipality's directory manages over SCIM, with the directory's
    stable id for them (``externalId``), which stays when their e-mail changes.

    A table of its own rather than columns on ``employees``: other sign-in links (single
    sign-on) are kept apart, and a person HR enrolled by hand gains a link when the
    directory first claims them.
    """

    __tablename__ = "scim_links"
    __table_args__ = (
        sa.UniqueConstraint("municipality_id", "external_id"),
        # userName is unique per directory, compared case-insensitively (RFC 7643 §4.1.1).
        sa.UniqueConstraint("municipality_id", "user_name_key"),
    )

    employee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True
    )
    municipality_id: Mapped[int] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    user_name: Mapped[str] = mapped_column(sa.String(254))
    user_name_key: Mapped[str] = mapped_column(sa.String(254))  # lower-cased, for lookups
    # The user as the directory last sent it (what the tracker does not keep elsewhere, such
    # as displayName), so a read returns what was written.
    document: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    token_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("scim_tokens.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=clock.utcnow, onupdate=clock.utcnow)
    # Set by a DELETE: the person left (their history stays) and the directory no longer
    # sees them; a later create with the same identity claims them again.
    released_at: Mapped[datetime | None]

    employee: Mapped[Employee] = relationship()
