"""Identity providers per municipality (single sign-on): adding, listing and removing them,
which provider an e-mail address belongs to, and whether a municipality requires SSO.

A provider's client secret is entered once and stored encrypted with a key derived from
SECRET_KEY (rotating SECRET_KEY means entering the secrets again), or it stays in the
environment, named by ``client_secret_env``; it is never shown again either way.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from training_tracker.models import (
    Employee,
    IdentityProvider,
    IdentityProviderDomain,
    Municipality,
    Role,
    SsoProtocol,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.core.errors import FieldError

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SsoConfigError(FieldError):
    """A provider's settings that cannot be saved; the message is for the operator."""


def normalise_domain(domain: str) -> str:
    return domain.strip().lower().lstrip("@").rstrip(".")


def secret_box() -> Fernet:
    """Encrypts what is entered once and never shown again (client secrets, SAML keys)."""
    digest = hashlib.sha256(("sso-client-secret:" + current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def saml_sp_key(provider: IdentityProvider) -> str | None:
    """Our private signing key for a SAML provider (PEM); None when SECRET_KEY changed since
    it was made (then ``sso refresh-saml`` makes a new one)."""
    if not provider.saml_sp_key_encrypted:
        return None
    try:
        return secret_box().decrypt(provider.saml_sp_key_encrypted.encode()).decode()
    except InvalidToken:
        return None


def client_secret(provider: IdentityProvider) -> str | None:
    """The provider's client secret, for the token request only; None when it is missing."""
    if provider.client_secret_env:
        return os.environ.get(provider.client_secret_env) or None
    if not provider.client_secret_encrypted:
        return None
    try:
        return secret_box().decrypt(provider.client_secret_encrypted.encode()).decode()
    except InvalidToken:
        return None  # SECRET_KEY changed since: the secret must be entered again


def _check_issuer(issuer: str) -> str:
    issuer = issuer.strip()
    parts = urlsplit(issuer)
    loopback_http = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not parts.hostname or (parts.scheme != "https" and not loopback_http):
        raise SsoConfigError(
            _("Utfärdaren måste vara en https-adress, t.ex. https://login.example.se/."),
            "issuer",
        )
    if parts.query or parts.fragment:
        raise SsoConfigError(_("Utfärdarens adress får inte ha ? eller #."), "issuer")
    return issuer


def check_domains(session: Session, domains: list[str]) -> list[str]:
    cleaned = sorted({normalise_domain(domain) for domain in domains if domain.strip()})
    if not cleaned:
        raise SsoConfigError(_("Ange minst en e-postdomän, t.ex. jarfalla.se."), "domains")
    for domain in cleaned:
        if not _DOMAIN.match(domain):
            raise SsoConfigError(_("%(domain)s är ingen e-postdomän.", domain=domain), "domains")
    taken = session.scalars(
        sa.select(IdentityProviderDomain.domain).where(IdentityProviderDomain.domain.in_(cleaned))
    ).all()
    if taken:
        raise SsoConfigError(
            _(
                "Domänen %(domain)s hör redan till en annan inloggningstjänst.",
                domain=", ".join(sorted(taken)),
            ),
            "domains",
        )
    return cleaned


def add_oidc_provider(
    session: Session,
    *,
    municipality: Municipality,
    issuer: str,
    client_id: str,
    domains: list[str],
    label: str = "",
    client_secret: str | None = None,
    client_secret_env: str | None = None,
    actor: Employee | None,
) -> IdentityProvider:
    """Add an OpenID Connect provider to a municipality. Nothing is fetched from it here: the
    first sign-in reads its discovery document."""
    issuer = _check_issuer(issuer)
    client_id = client_id.strip()
    if not client_id or len(client_id) > 255:
        raise SsoConfigError(_("Ange klient-id (client id)."), "client_id")
    if client_secret_env:
        if not _ENV_NAME.match(client_secret_env):
            raise SsoConfigError(
                _("Miljövariabelns namn får bara ha A–Z, 0–9 och _."), "client_secret_env"
            )
        client_secret = None
    elif not client_secret or not client_secret.strip():
        raise SsoConfigError(_("Ange klienthemligheten (client secret)."), "client_secret")
    cleaned = check_domains(session, domains)
    provider = IdentityProvider(
        municipality=municipality,
        protocol=SsoProtocol.OIDC.value,
        label=(label.strip() or municipality.name)[:100],
        issuer=issuer,
        client_id=client_id,
        client_secret_encrypted=(
            secret_box().encrypt(client_secret.strip().encode()).decode() if client_secret else None
        ),
        client_secret_env=client_secret_env or None,
        domains=[IdentityProviderDomain(domain=domain) for domain in cleaned],
    )
    session.add(provider)
    session.flush()
    audit_trail.record(
        session,
        "sso.provider_added",
        actor=actor,
        object_type="identity_provider",
        object_id=provider.id,
        municipality=municipality.name,
        issuer=issuer,
        domains=cleaned,
    )
    return provider


def set_client_secret(
    session: Session,
    provider_id: int,
    *,
    client_secret: str | None = None,
    client_secret_env: str | None = None,
    actor: Employee | None,
) -> IdentityProvider:
    """A new client secret (the old one expires at the provider), keeping the provider's
    links to people."""
    provider = session.get(IdentityProvider, provider_id)
    if provider is None:
        raise SsoConfigError(_("Det finns ingen inloggningstjänst med id %(id)d.", id=provider_id))
    if client_secret_env:
        if not _ENV_NAME.match(client_secret_env):
            raise SsoConfigError(
                _("Miljövariabelns namn får bara ha A–Z, 0–9 och _."), "client_secret_env"
            )
        provider.client_secret_env, provider.client_secret_encrypted = client_secret_env, None
    elif client_secret and client_secret.strip():
        provider.client_secret_encrypted = (
            secret_box().encrypt(client_secret.strip().encode()).decode()
        )
        provider.client_secret_env = None
    else:
        raise SsoConfigError(_("Ange klienthemligheten (client secret)."), "client_secret")
    audit_trail.record(
        session,
        "sso.secret_changed",
        actor=actor,
        object_type="identity_provider",
        object_id=provider.id,
    )
    return provider


def remove_provider(session: Session, provider_id: int, *, actor: Employee | None) -> str:
    """Remove a provider with its domains and links; returns its label."""
    provider = session.get(IdentityProvider, provider_id)
    if provider is None:
        raise SsoConfigError(_("Det finns ingen inloggningstjänst med id %(id)d.", id=provider_id))
    label = provider.label
    audit_trail.record(
        session,
        "sso.provider_removed",
        actor=actor,
        object_type="identity_provider",
        object_id=provider.id,
        issuer=provider.issuer,
    )
    session.delete(provider)
    return label


def set_sso_required(
    session: Session, municipality: Municipality, required: bool, *, actor: Employee | None
) -> None:
    if required and not session.scalar(
        sa.select(IdentityProvider.id).where(IdentityProvider.municipality_id == municipality.id)
    ):
        raise SsoConfigError(
            _(
                "%(name)s har ingen inloggningstjänst. Lägg till en innan inloggning via "
                "kommunen krävs.",
                name=municipality.name,
            )
        )
    if municipality.sso_required != required:
        municipality.sso_required = required
        audit_trail.record(
            session,
            "sso.requirement_changed",
            actor=actor,
            object_type="municipality",
            object_id=municipality.id,
            required=required,
        )


def all_providers(session: Session) -> list[IdentityProvider]:
    return list(
        session.scalars(
            sa.select(IdentityProvider)
            .join(IdentityProvider.municipality)
            .options(selectinload(IdentityProvider.domains))
            .order_by(Municipality.name, IdentityProvider.label, IdentityProvider.id)
        )
    )


def provider_for_email(session: Session, email: str) -> IdentityProvider | None:
    """Home realm discovery: the provider whose domain the address has, if any."""
    _local, _at, domain = normalise_email(email).rpartition("@")
    if not _at or not domain:
        return None
    return session.scalars(
        sa.select(IdentityProvider)
        .join(IdentityProviderDomain)
        .where(IdentityProviderDomain.domain == normalise_domain(domain))
    ).one_or_none()


def password_allowed(employee: Employee) -> bool:
    """Whether this account may sign in or reset with a password: not when the person's
    municipality requires SSO, unless they are an admin (who keeps a way in)."""
    municipality = employee.municipality
    if municipality is None or not municipality.sso_required:
        return True
    return employee.has_role(Role.ADMIN)


def provider_for_employee(session: Session, employee: Employee) -> IdentityProvider | None:
    """The provider a person signs in with: the one of their e-mail domain in their own
    municipality, else the municipality's first."""
    if employee.municipality_id is None:
        return None
    by_domain = provider_for_email(session, employee.email)
    if by_domain is not None and by_domain.municipality_id == employee.municipality_id:
        return by_domain
    return session.scalars(
        sa.select(IdentityProvider)
        .where(IdentityProvider.municipality_id == employee.municipality_id)
        .order_by(IdentityProvider.id)
        .limit(1)
    ).first()
