"""SAML 2.0 settings of one identity provider, for pysaml2: the provider's metadata (read
from its URL or a file, checked, its endpoints and signing certificates taken from it), our
own signing key and certificate for that provider, and the pysaml2 configuration built from
both (one per provider, cached per process until the provider's settings change).

Our side of every provider has its own entity id, which is also the URL of our metadata for
it (``/login/saml/<id>/metadata``); the assertion consumer service and the logout service sit
beside it. The identity provider's XML is parsed by pysaml2, through defusedxml (no DTDs, no
entities); signatures are checked by the ``xmlsec1`` program (Debian's package ``xmlsec1``).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask_babel import gettext as _
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.saml import NAMEID_FORMAT_PERSISTENT
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from training_tracker import clock
from training_tracker.models import IdentityProvider
from training_tracker.services.messaging.mail_rendering import absolute_url
from training_tracker.services.people.sso_providers import SsoConfigError

if TYPE_CHECKING:
    from saml2.config import SPConfig

# The most clock skew tolerated between us and the provider (NotBefore, NotOnOrAfter).
SKEW_SECONDS = 120
HTTP_TIMEOUT_SECONDS = 10
METADATA_MAX_BYTES = 2_000_000
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SamlMetadataError(SsoConfigError):
    """The identity provider's metadata cannot be used; the message is for the operator."""


@dataclass(frozen=True)
class IdpMetadata:
    """What the tracker takes from an identity provider's metadata."""

    xml: str
    entity_id: str
    sso_url: str
    slo_url: str | None
    signing_certificates: int


@dataclass(frozen=True)
class SpUrls:
    """Our side of one provider: entity id (= our metadata's URL), ACS and logout service."""

    entity_id: str
    acs: str
    sls: str


def sp_urls(provider_id: int) -> SpUrls:
    return SpUrls(
        entity_id=absolute_url("sso.saml_metadata", provider_id=provider_id),
        acs=absolute_url("sso.saml_acs", provider_id=provider_id),
        sls=absolute_url("sso.saml_sls", provider_id=provider_id),
    )


def xmlsec_binary() -> str:
    found = shutil.which("xmlsec1")
    if not found:
        raise SamlMetadataError(
            _("Programmet xmlsec1 saknas på servern (Debian-paketet xmlsec1)."), "metadata"
        )
    return found


# ---------------------------------------------------------------- the provider's metadata


def read_metadata(source: str) -> str:
    """The metadata XML at ``source``: an https URL (plain http only on loopback, for tests)
    or a file on this server."""
    source = source.strip()
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        if parts.scheme != "https" and parts.hostname not in _LOOPBACK:
            raise SamlMetadataError(_("Metadata hämtas bara över https."), "metadata")
        try:
            response = requests.get(source, timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
        except requests.RequestException as error:
            raise SamlMetadataError(
                _("Metadata kunde inte hämtas: %(error)s", error=str(error)), "metadata"
            ) from error
        if len(response.content) > METADATA_MAX_BYTES:
            raise SamlMetadataError(_("Metadata är för stor."), "metadata")
        return response.content.decode("utf-8", errors="replace")
    path = Path(source)
    if not path.is_file():
        raise SamlMetadataError(
            _("Hittar varken adressen eller filen %(source)s.", source=source), "metadata"
        )
    if path.stat().st_size > METADATA_MAX_BYTES:
        raise SamlMetadataError(_("Metadata är för stor."), "metadata")
    return path.read_text(encoding="utf-8", errors="replace")


def parse_metadata(xml: str) -> IdpMetadata:
    """Check the metadata (exactly one identity provider, an HTTP-Redirect sign-in endpoint, at
    least one signing certificate) and take its entity id and endpoints from it."""
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise SamlMetadataError(_("Metadata med DTD eller entiteter tas inte emot."), "metadata")
    # Late: saml2.config builds pysaml2's XML schemas when imported (about a second), which
    # every process that starts the app would pay, though only SAML sign-in needs them.
    from saml2.config import SPConfig

    config = SPConfig()
    try:
        config.load(
            {
                "entityid": "urn:training-tracker:metadata-check",
                "xmlsec_binary": xmlsec_binary(),
                "metadata": {"inline": [xml]},
                "service": {"sp": {}},
            }
        )
    except SamlMetadataError:
        raise
    except Exception as error:  # pysaml2 raises many kinds on bad XML
        raise SamlMetadataError(
            _("Metadata kunde inte läsas: %(error)s", error=str(error)[:200]), "metadata"
        ) from error
    # A MetadataStore (the stubs say a dict, which it was in older versions).
    store: Any = config.metadata
    providers = list(store.identity_providers()) if store is not None else []
    if len(providers) != 1:
        raise SamlMetadataError(
            _("Metadata ska beskriva exakt en identitetsleverantör (IDPSSODescriptor)."),
            "metadata",
        )
    entity_id = providers[0]
    sso = store.single_sign_on_service(entity_id, BINDING_HTTP_REDIRECT)
    if not sso:
        raise SamlMetadataError(
            _("Identitetsleverantören har ingen inloggning med HTTP-Redirect."), "metadata"
        )
    slo = store.single_logout_service(entity_id, BINDING_HTTP_REDIRECT, "idpsso")
    certificates = store.certs(entity_id, "idpsso", use="signing")
    if not certificates:
        raise SamlMetadataError(
            _("Metadata saknar identitetsleverantörens signeringscertifikat."), "metadata"
        )
    return IdpMetadata(
        xml=xml,
        entity_id=entity_id,
        sso_url=sso[0]["location"],
        slo_url=slo[0]["location"] if slo else None,
        signing_certificates=len(certificates),
    )


# ---------------------------------------------------------------- our key for a provider


def new_sp_key(common_name: str) -> tuple[str, str]:
    """A new RSA key and its self-signed certificate (PEM), valid ten years: our signature on
    requests to one provider. Identity providers trust it from our metadata, not from a CA."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = clock.utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


# ---------------------------------------------------------------- pysaml2's configuration

_configs: dict[int, tuple[str, SPConfig]] = {}
_lock = threading.Lock()
_key_folder: str | None = None


def forget_cached_settings() -> None:
    with _lock:
        _configs.clear()


def _key_files(provider: IdentityProvider, key_pem: str) -> tuple[str, str]:
    """xmlsec1 reads keys from files: ours, in a private folder of this process (removed when
    it ends), each written whole before it is used (another thread may be reading)."""
    global _key_folder
    with _lock:
        if _key_folder is None:
            _key_folder = tempfile.mkdtemp(prefix="training-tracker-saml-")
            atexit.register(shutil.rmtree, _key_folder, ignore_errors=True)
        folder = _key_folder
    cert_pem = provider.saml_sp_certificate or ""
    digest = hashlib.sha256(cert_pem.encode()).hexdigest()[:16]
    key_file = os.path.join(folder, f"{provider.id}-{digest}.key")
    cert_file = os.path.join(folder, f"{provider.id}-{digest}.crt")
    if not os.path.exists(key_file):
        for path, text in ((cert_file, cert_pem), (key_file, key_pem)):
            handle, partial = tempfile.mkstemp(dir=folder)  # mode 0600
            with os.fdopen(handle, "w") as out:
                out.write(text)
            os.replace(partial, path)
    return key_file, cert_file


def config(provider: IdentityProvider, key_pem: str) -> SPConfig:
    """pysaml2's configuration of our side of ``provider`` (cached until it changes)."""
    urls = sp_urls(provider.id)
    fingerprint = hashlib.sha256(
        "\0".join(
            [
                urls.entity_id,
                provider.issuer,
                provider.saml_metadata or "",
                provider.saml_sp_certificate or "",
                provider.saml_subject_attribute or "",
            ]
        ).encode()
    ).hexdigest()
    with _lock:
        cached = _configs.get(provider.id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
    key_file, cert_file = _key_files(provider, key_pem)
    sp: dict[str, Any] = {
        "endpoints": {
            "assertion_consumer_service": [(urls.acs, BINDING_HTTP_POST)],
            "single_logout_service": [(urls.sls, BINDING_HTTP_REDIRECT)],
        },
        # IdP-initiated sign-in (an answer to no request of ours) is refused.
        "allow_unsolicited": False,
        "authn_requests_signed": True,
        "logout_requests_signed": True,
        # A signed response or a signed assertion: one of them, at least.
        "want_assertions_or_response_signed": True,
        "want_response_signed": False,
        "want_assertions_signed": False,
        "only_use_keys_in_metadata": True,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
    }
    if not provider.saml_subject_attribute:
        sp["name_id_policy_format"] = NAMEID_FORMAT_PERSISTENT
        sp["name_id_format_allow_create"] = True
    # Late: saml2.config builds pysaml2's XML schemas when imported (about a second), which
    # every process that starts the app would pay, though only SAML sign-in needs them.
    from saml2.config import SPConfig

    settings = SPConfig()
    settings.load(
        {
            "entityid": urls.entity_id,
            "xmlsec_binary": xmlsec_binary(),
            "key_file": key_file,
            "cert_file": cert_file,
            "metadata": {"inline": [provider.saml_metadata or ""]},
            "accepted_time_diff": SKEW_SECONDS,
            "allow_unknown_attributes": True,
            "service": {"sp": sp},
        }
    )
    with _lock:
        _configs[provider.id] = (fingerprint, settings)
    return settings
