"""Signing in through a municipality's SAML 2.0 identity provider, with pysaml2: the
authentication request (HTTP-Redirect binding, signed with our key for that provider), the
checks of the response that comes back (HTTP-POST binding to our assertion consumer
service), the replay cache, and single logout.

What is checked, each refused with a reason that is logged (the person sees one page saying
the sign-in failed):

- no DTD and no entity declarations in the XML (XXE, "billion laughs"); pysaml2 parses through
  defusedxml as well; no SHA-1 signature or digest;
- a signature by a certificate of the provider's metadata, on the response or on the
  assertion (xmlsec1, told which element's ID the signature must cover: signature wrapping);
  exactly one assertion, and it is the one that was checked;
- ``InResponseTo`` is the id of the request this browser started (kept in its cookie), so an
  IdP-initiated sign-in (an answer to no request) is refused;
- ``Destination`` and the subject confirmation's ``Recipient`` are our ACS for that provider,
  the audience is our entity id for it, and the issuer is the provider's entity id;
- ``NotBefore`` and ``NotOnOrAfter`` with at most two minutes of skew;
- the assertion's id has not been seen before (the replay cache, a table shared by every web
  process; entries are purged once they expire).

The person found is linked through :mod:`sso_linking`; nobody is created.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import sqlalchemy as sa
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.saml import NAMEID_FORMAT_PERSISTENT, name_id_from_string
from saml2.xmldsig import SIG_RSA_SHA256
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import IdentityProvider, SamlSeenAssertion
from training_tracker.services.people import saml_settings
from training_tracker.services.people.saml_settings import SKEW_SECONDS
from training_tracker.services.people.sso_providers import saml_sp_key

if TYPE_CHECKING:
    from saml2.client import Saml2Client

# A sign-in started longer ago than this is refused on return.
PENDING_MAX_AGE_SECONDS = 15 * 60
# A response larger than this is not even decoded.
RESPONSE_MAX_BYTES = 512 * 1024
# Kept in the replay cache when an assertion states no end of validity.
SEEN_DEFAULT_SECONDS = 3600

# Where identity providers put the e-mail address and the employee number (AD FS claim types,
# LDAP names and their OIDs, as pysaml2 names them).
EMAIL_ATTRIBUTES = (
    "email",
    "mail",
    "emailaddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
)
EMPLOYEE_NUMBER_ATTRIBUTES = (
    "employeeNumber",
    "employee_number",
    "employeeid",
    "http://schemas.xmlsoap.org/claims/employeenumber",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/employeenumber",
    "urn:oid:2.16.840.1.113730.3.1.3",
)


# SHA-1 signatures and digests are refused (collisions can be made): AD FS and current IdPs
# sign with SHA-256.
_SHA1_ALGORITHMS = (
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2000/09/xmldsig#sha1",
)


class SamlRefusal(Exception):
    """The provider's answer failed a check; the message says which (for the log)."""


@dataclass(frozen=True)
class SamlVerified:
    """What a checked response says about the person."""

    issuer: str
    subject: str
    claims: dict[str, Any]
    name_id: str  # the NameID element, for the logout request
    session_index: str | None
    assertion_id: str
    not_on_or_after: datetime


def _client(provider: IdentityProvider) -> Saml2Client:
    key_pem = saml_sp_key(provider)
    if not key_pem or not provider.saml_metadata:
        raise SamlRefusal("the provider has no key of ours or no metadata (sso refresh-saml)")
    try:
        settings = saml_settings.config(provider, key_pem)
    except saml_settings.SamlMetadataError as error:
        raise SamlRefusal(str(error)) from error
    # Late: saml2.client builds pysaml2's XML schemas when imported (about a second), which
    # every process that starts the app would pay, though only SAML sign-in needs them.
    from saml2.client import Saml2Client

    return Saml2Client(config=settings)


def begin(provider: IdentityProvider) -> tuple[str, dict[str, Any]]:
    """The URL to send the browser to (a signed AuthnRequest, HTTP-Redirect binding), and
    what to keep in this browser until it comes back (the request's id)."""
    client = _client(provider)
    try:
        request_id, info = client.prepare_for_authenticate(
            entityid=provider.issuer,
            binding=BINDING_HTTP_REDIRECT,
            response_binding=BINDING_HTTP_POST,
            sign=True,
            sigalg=SIG_RSA_SHA256,
        )
    except Exception as error:  # pysaml2 raises many kinds
        raise SamlRefusal(f"authentication request: {error}") from error
    location = dict(info["headers"])["Location"]
    pending = {
        "provider_id": provider.id,
        "request_id": request_id,
        "started_at": clock.utcnow().timestamp(),
    }
    return location, pending


def sign_in_origins(provider: IdentityProvider) -> set[str]:
    """Where the browser goes to sign in (for the sign-in page's form-action policy)."""
    parts = urlsplit(provider.saml_sso_url or "")
    return {f"{parts.scheme}://{parts.netloc}"} if parts.scheme and parts.netloc else set()


def _decoded(saml_response: str) -> str:
    if len(saml_response) > RESPONSE_MAX_BYTES:
        raise SamlRefusal("response too large")
    try:
        xml = base64.b64decode(saml_response, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise SamlRefusal(f"response is not base64 XML: {error}") from error
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise SamlRefusal("response carries a DTD or entity declarations (XXE)")
    if any(algorithm in xml for algorithm in _SHA1_ALGORITHMS):
        raise SamlRefusal("response signed with SHA-1 (ask the provider for SHA-256)")
    return xml


def _first(ava: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    folded = {key.lower(): value for key, value in ava.items()}
    for name in names:
        values = folded.get(name.lower())
        if isinstance(values, list) and values and str(values[0]).strip():
            return str(values[0]).strip()
    return None


def finish(
    provider: IdentityProvider, pending: Mapping[str, Any], saml_response: str
) -> SamlVerified:
    """Check the provider's response (the form field ``SAMLResponse``) against the request
    this browser started. Raises :class:`SamlRefusal` on any failed check."""
    if pending.get("provider_id") != provider.id:
        raise SamlRefusal("the response came to another provider's ACS than the request's")
    request_id = str(pending.get("request_id") or "")
    if not request_id:
        raise SamlRefusal("no request was kept for this sign-in")
    started_at = pending.get("started_at")
    now = clock.utcnow().timestamp()
    if not isinstance(started_at, int | float) or now - started_at > PENDING_MAX_AGE_SECONDS:
        raise SamlRefusal("the sign-in was started too long ago")
    _decoded(saml_response)
    client = _client(provider)
    try:
        response = client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding={request_id: "/"}
        )
    except Exception as error:  # pysaml2 raises a different class per check
        raise SamlRefusal(f"{type(error).__name__}: {error}") from error
    if response is None:
        raise SamlRefusal("response could not be read")
    # pysaml2 hands back a response whose own checks (destination, issue instant, status)
    # failed, only without its assertion: so both are checked here as well.
    acs = saml_settings.sp_urls(provider.id).acs
    if response.response.destination and response.response.destination != acs:
        raise SamlRefusal(f"destination {response.response.destination!r} is not our ACS")
    if response.assertion is None:
        raise SamlRefusal("the response failed a check (issue instant or status)")
    if not hmac.compare_digest(str(response.in_response_to or ""), request_id):
        raise SamlRefusal("InResponseTo is not the request this browser started")
    if response.issuer() != provider.issuer:
        raise SamlRefusal(f"issuer {response.issuer()!r} is not the provider's")
    if len(response.response.assertion) != 1 or response.response.encrypted_assertion:
        raise SamlRefusal("not exactly one (unencrypted) assertion")
    assertion = response.assertion
    if assertion is None or not assertion.id:
        raise SamlRefusal("no assertion id")
    # The bearer confirmation's Recipient is our ACS (pysaml2 does not check it by itself).
    confirmations = assertion.subject.subject_confirmation if assertion.subject else []
    recipients = [
        confirmation.subject_confirmation_data.recipient
        for confirmation in confirmations
        if confirmation.subject_confirmation_data is not None
    ]
    if not recipients or any(recipient != acs for recipient in recipients):
        raise SamlRefusal(f"recipient {recipients!r} is not our ACS")
    ava: dict[str, Any] = dict(response.ava or {})
    name_id = response.name_id
    if provider.saml_subject_attribute:
        subject = _first(ava, (provider.saml_subject_attribute,))
        if subject is None:
            raise SamlRefusal(f"no attribute {provider.saml_subject_attribute!r}")
    else:
        if name_id is None or name_id.format != NAMEID_FORMAT_PERSISTENT or not name_id.text:
            raise SamlRefusal("no persistent NameID (and no subject attribute configured)")
        subject = name_id.text.strip()
    if len(subject) > 255:
        raise SamlRefusal("subject longer than 255 characters")
    claims: dict[str, Any] = {}
    email = _first(ava, EMAIL_ATTRIBUTES)
    if email:
        claims["email"] = email
    number = _first(ava, EMPLOYEE_NUMBER_ATTRIBUTES)
    if number:
        claims["employee_number"] = number
    statements = assertion.authn_statement or []
    session_index = statements[0].session_index if statements else None
    ends = int(response.not_on_or_after or 0) or int(now) + SEEN_DEFAULT_SECONDS
    return SamlVerified(
        issuer=provider.issuer,
        subject=subject,
        claims=claims,
        name_id=str(name_id) if name_id is not None else "",
        session_index=session_index,
        assertion_id=str(assertion.id),
        not_on_or_after=datetime.fromtimestamp(ends, UTC).replace(tzinfo=None),
    )


def remember_assertion(
    session: Session, provider: IdentityProvider, verified: SamlVerified
) -> None:
    """Record the assertion's id in the replay cache, or refuse it when it is there already
    (from this process or another: the unique constraint decides). Purges expired entries."""
    now = clock.utcnow()
    session.execute(sa.delete(SamlSeenAssertion).where(SamlSeenAssertion.expires_at < now))
    keep_until = max(verified.not_on_or_after, now) + timedelta(seconds=SKEW_SECONDS)
    try:
        with session.begin_nested():
            session.add(
                SamlSeenAssertion(
                    provider_id=provider.id,
                    assertion_id=verified.assertion_id[:255],
                    expires_at=keep_until,
                )
            )
    except IntegrityError as error:
        raise SamlRefusal(f"assertion {verified.assertion_id} was used before (replay)") from error


def logout_url(provider: IdentityProvider, signed_in_with: Mapping[str, Any]) -> str | None:
    """The provider's single logout URL with our signed LogoutRequest (HTTP-Redirect), or None
    when it offers no logout or the sign-in's NameID is not known."""
    name_id_xml = signed_in_with.get("name_id")
    if not provider.saml_slo_url or not isinstance(name_id_xml, str) or not name_id_xml:
        return None
    try:
        client = _client(provider)
        name_id = name_id_from_string(name_id_xml)
        index = signed_in_with.get("session_index")
        _request_id, request = client.create_logout_request(
            provider.saml_slo_url,
            provider.issuer,
            name_id=name_id,
            session_indexes=[index] if isinstance(index, str) and index else None,
            sign=False,  # the Redirect binding signs the query string instead
            expire=(clock.utcnow() + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        info = client.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(request),
            provider.saml_slo_url,
            sign=True,
            sigalg=SIG_RSA_SHA256,
        )
    except Exception:  # noqa: BLE001 - a logout we cannot offer is no reason to fail the sign-out
        return None
    return str(dict(info["headers"])["Location"])


def name_id_value(name_id_xml: object) -> str | None:
    """The value of a NameID kept in the session (as its XML)."""
    if not isinstance(name_id_xml, str) or not name_id_xml:
        return None
    try:
        name_id = name_id_from_string(name_id_xml)
    except Exception:  # noqa: BLE001 - whatever was kept, it names nobody then
        return None
    return name_id.text.strip() if name_id is not None and name_id.text else None


@dataclass(frozen=True)
class LogoutAsked:
    """A checked LogoutRequest from the provider (IdP-initiated single logout)."""

    name_id: str  # the NameID's value: whose session at the provider ended
    answer_url: str  # our signed LogoutResponse, where the browser goes back to the provider


_REDIRECT_SIGNATURES = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
}


def _signed_query(raw_query: str) -> tuple[bytes, str, str]:
    """The part of an HTTP-Redirect query a signature covers, exactly as sent (re-encoding it
    would differ from what some providers, AD FS among them, signed), and the signature."""
    parts = dict(part.split("=", 1) for part in raw_query.split("&") if "=" in part)
    covered = [
        f"{name}={parts[name]}" for name in ("SAMLRequest", "RelayState", "SigAlg") if name in parts
    ]
    return (
        "&".join(covered).encode("ascii"),
        unquote(parts.get("SigAlg", "")),
        unquote(parts.get("Signature", "")),
    )


def answer_logout_request(provider: IdentityProvider, raw_query: str) -> LogoutAsked:
    """Check the provider's LogoutRequest (HTTP-Redirect: its signature over the query, by a
    certificate of its metadata; the issuer) and make our signed LogoutResponse."""
    if not provider.saml_slo_url:
        raise SamlRefusal("the provider has no single logout service")
    client = _client(provider)
    covered, algorithm, signature = _signed_query(raw_query)
    digest = _REDIRECT_SIGNATURES.get(algorithm)
    if digest is None or not signature:
        raise SamlRefusal(f"logout request unsigned or signed with {algorithm!r}")
    try:
        value = base64.b64decode(signature)
    except binascii.Error as error:
        raise SamlRefusal("logout request signature is not base64") from error
    for _name, certificate in client.metadata.certs(provider.issuer, "idpsso", "signing"):
        key = x509.load_der_x509_certificate(base64.b64decode(certificate)).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            continue
        try:
            key.verify(value, covered, padding.PKCS1v15(), digest())
        except InvalidSignature:
            continue
        break
    else:
        raise SamlRefusal("logout request signature does not verify")
    arguments = dict(parse_qsl(raw_query))
    try:
        parsed = client.parse_logout_request(arguments["SAMLRequest"], BINDING_HTTP_REDIRECT)
    except Exception as error:  # pysaml2 raises many kinds
        raise SamlRefusal(f"logout request: {error}") from error
    message = parsed.message if parsed is not None else None
    if message is None or message.issuer is None or message.issuer.text != provider.issuer:
        raise SamlRefusal("logout request not from the provider")
    sls = saml_settings.sp_urls(provider.id).sls
    if message.destination and message.destination != sls:
        raise SamlRefusal(f"logout request for {message.destination!r}")
    name_id = message.name_id.text.strip() if message.name_id is not None else ""
    response = client.create_logout_response(message, [BINDING_HTTP_REDIRECT], sign=False)
    info = client.apply_binding(
        BINDING_HTTP_REDIRECT,
        str(response),
        provider.saml_slo_url,
        relay_state=arguments.get("RelayState", ""),
        response=True,
        sign=True,
        sigalg=SIG_RSA_SHA256,
    )
    return LogoutAsked(name_id=name_id, answer_url=str(dict(info["headers"])["Location"]))
