"""Single sign-on: each municipality's identity providers, the e-mail domains that lead to
them, and the stable link from a provider's subject to the person HR enrolled.

Kept apart from the directory's provisioning (SCIM), which has its own external-id link: a
sign-in never creates a person, it only finds the one already enrolled.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_tracker import clock
from training_tracker.extensions import Model
from training_tracker.models.people import Employee, Municipality


class SsoProtocol(StrEnum):
    OIDC = "oidc"
    SAML = "saml"


class IdentityProvider(Model):
    """One identity provider of one municipality (a municipality may have several)."""

    __tablename__ = "identity_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        sa.ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    protocol: Mapped[str] = mapped_column(sa.String(10), default=SsoProtocol.OIDC)
    # What the sign-in button says, e.g. "Järfälla kommun".
    label: Mapped[str] = mapped_column(sa.String(100))
    # OpenID Connect: the issuer URL, exactly as the provider's discovery document states it.
    # SAML: the identity provider's entity id (the Issuer of its responses).
    issuer: Mapped[str] = mapped_column(sa.String(500))
    # OpenID Connect only (empty for SAML).
    client_id: Mapped[str] = mapped_column(sa.String(255))
    # The client secret, encrypted with a key derived from SECRET_KEY (never shown again), or
    # empty when it comes from the environment variable named in client_secret_env.
    client_secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    client_secret_env: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    # SAML: the identity provider's metadata as read (its signing certificates are in it), where
    # it was read from, and the endpoints taken from it (HTTP-Redirect binding).
    saml_metadata: Mapped[str | None] = mapped_column(sa.Text)
    saml_metadata_source: Mapped[str | None] = mapped_column(sa.String(1000))
    saml_sso_url: Mapped[str | None] = mapped_column(sa.String(1000))
    saml_slo_url: Mapped[str | None] = mapped_column(sa.String(1000))
    # SAML: the attribute holding the stable subject; empty: the persistent NameID.
    saml_subject_attribute: Mapped[str | None] = mapped_column(sa.String(255))
    # SAML: our own signing key for this provider (requests and logout), encrypted like the
    # client secret, and its self-signed certificate (published in our metadata).
    saml_sp_key_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    saml_sp_certificate: Mapped[str | None] = mapped_column(sa.Text)

    municipality: Mapped[Municipality] = relationship()
    domains: Mapped[list[IdentityProviderDomain]] = relationship(
        back_populates="provider",
        cascade="all, delete-orphan",
        order_by="IdentityProviderDomain.domain",
    )

    def __repr__(self) -> str:
        return f"<IdentityProvider {self.id} {self.protocol} {self.label}>"


class IdentityProviderDomain(Model):
    """An e-mail domain whose addresses sign in through one provider (home realm discovery)."""

    __tablename__ = "identity_provider_domains"
    __table_args__ = (sa.CheckConstraint("domain = lower(domain)", name="domain_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(sa.String(253), unique=True)

    provider: Mapped[IdentityProvider] = relationship(back_populates="domains")


class SsoLink(Model):
    """A provider's stable subject (OIDC ``iss`` + ``sub``) linked to an enrolled person, made
    at the first sign-in; later sign-ins find the person through it, whatever their e-mail."""

    __tablename__ = "sso_links"
    __table_args__ = (sa.UniqueConstraint("provider_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True
    )
    employee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(sa.String(500))
    subject: Mapped[str] = mapped_column(sa.String(255))
    linked_at: Mapped[datetime] = mapped_column(default=clock.utcnow)
    last_used_at: Mapped[datetime | None]

    provider: Mapped[IdentityProvider] = relationship()
    employee: Mapped[Employee] = relationship()


class SamlSeenAssertion(Model):
    """The replay cache: the id of every SAML assertion accepted, until it expires, so that the
    same assertion never signs anyone in twice (shared by every web process: the unique
    constraint decides)."""

    __tablename__ = "saml_seen_assertions"
    __table_args__ = (sa.UniqueConstraint("provider_id", "assertion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identity_providers.id", ondelete="CASCADE")
    )
    assertion_id: Mapped[str] = mapped_column(sa.String(255))
    # Kept until then (the assertion's own NotOnOrAfter and the skew): older ones are purged.
    expires_at: Mapped[datetime] = mapped_column(index=True)
