"""SAML 2.0 identity providers per municipality: adding one from its metadata (a URL or a
file), and reading its metadata again (new signing certificates, moved endpoints).

Adding a provider makes our own signing key for it (stored encrypted like a client secret);
its certificate is in our metadata at ``/login/saml/<id>/metadata``, which the provider's
administrator imports (AD FS: a relying party trust from that URL).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from training_tracker.models import (
    Employee,
    IdentityProvider,
    IdentityProviderDomain,
    Municipality,
    SsoProtocol,
)
from training_tracker.services.core import audit_trail
from training_tracker.services.people import saml_settings
from training_tracker.services.people.sso_providers import (
    SsoConfigError,
    check_domains,
    secret_box,
)

_ATTRIBUTE_MAX = 255


def add_saml_provider(
    session: Session,
    *,
    municipality: Municipality,
    metadata_xml: str,
    metadata_source: str,
    domains: list[str],
    label: str = "",
    subject_attribute: str | None = None,
    actor: Employee | None,
) -> IdentityProvider:
    """Add a SAML provider to a municipality from its metadata (already read: see
    :func:`saml_settings.read_metadata`)."""
    metadata = saml_settings.parse_metadata(metadata_xml)
    attribute = (subject_attribute or "").strip() or None
    if attribute is not None and len(attribute) > _ATTRIBUTE_MAX:
        raise SsoConfigError(_("Attributets namn är för långt."), "subject_attribute")
    cleaned = check_domains(session, domains)
    provider = IdentityProvider(
        municipality=municipality,
        protocol=SsoProtocol.SAML.value,
        label=(label.strip() or municipality.name)[:100],
        issuer=metadata.entity_id[:500],
        client_id="",
        saml_metadata=metadata.xml,
        saml_metadata_source=metadata_source.strip()[:1000] or None,
        saml_sso_url=metadata.sso_url[:1000],
        saml_slo_url=(metadata.slo_url or "")[:1000] or None,
        saml_subject_attribute=attribute,
        domains=[IdentityProviderDomain(domain=domain) for domain in cleaned],
    )
    session.add(provider)
    session.flush()
    key_pem, certificate_pem = saml_settings.new_sp_key(f"training-tracker-{provider.id}")
    provider.saml_sp_key_encrypted = secret_box().encrypt(key_pem.encode()).decode()
    provider.saml_sp_certificate = certificate_pem
    audit_trail.record(
        session,
        "sso.provider_added",
        actor=actor,
        object_type="identity_provider",
        object_id=provider.id,
        municipality=municipality.name,
        protocol="saml",
        issuer=metadata.entity_id,
        domains=cleaned,
    )
    return provider


def refresh_saml_metadata(
    session: Session,
    provider_id: int,
    *,
    metadata_xml: str,
    new_key: bool = False,
    actor: Employee | None,
) -> IdentityProvider:
    """The provider's metadata read again (its certificates rolled over, say); its entity id
    must stay the same, so the links to people stay valid. ``new_key`` also makes our signing
    key anew (after a change of SECRET_KEY: then import our metadata at the provider again)."""
    provider = session.get(IdentityProvider, provider_id)
    if provider is None or provider.protocol != SsoProtocol.SAML:
        raise SsoConfigError(_("Det finns ingen SAML-tjänst med id %(id)d.", id=provider_id))
    metadata = saml_settings.parse_metadata(metadata_xml)
    if metadata.entity_id != provider.issuer:
        raise SsoConfigError(
            _(
                "Metadata gäller %(entity)s, inte %(issuer)s.",
                entity=metadata.entity_id,
                issuer=provider.issuer,
            ),
            "metadata",
        )
    provider.saml_metadata = metadata.xml
    provider.saml_sso_url = metadata.sso_url[:1000]
    provider.saml_slo_url = (metadata.slo_url or "")[:1000] or None
    if new_key:
        key_pem, certificate_pem = saml_settings.new_sp_key(f"training-tracker-{provider.id}")
        provider.saml_sp_key_encrypted = secret_box().encrypt(key_pem.encode()).decode()
        provider.saml_sp_certificate = certificate_pem
    audit_trail.record(
        session,
        "sso.metadata_refreshed",
        actor=actor,
        object_type="identity_provider",
        object_id=provider.id,
        new_key=new_key,
    )
    return provider
