"""Signing in through a municipality's OpenID Connect provider (the authorisation code flow
with PKCE), with Authlib: the authorisation request, and the checks of what comes back.

What is checked, each refused with a reason that is logged (never shown: the person sees one
page saying the sign-in failed):

- ``state``: the answer belongs to the request this browser started (CSRF, mix-up);
- PKCE (S256): the code is only worth anything with the verifier this browser holds;
- the ID token's signature, against the provider's published keys (JWKS, fetched again when
  a token names a key not seen before: key rotation), asymmetric algorithms only;
- ``iss`` is the configured issuer, ``aud`` holds our client id (``azp`` too when several),
  ``exp`` and ``iat`` within two minutes of skew, and ``nonce`` is the one sent.

The person found is linked through :mod:`sso_linking`; nobody is created.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from training_tracker import clock
from training_tracker.models import IdentityProvider
from training_tracker.services.people.sso_providers import client_secret

# The most clock skew tolerated between us and the provider (exp, iat).
LEEWAY_SECONDS = 120
# A sign-in started longer ago than this is refused on return.
PENDING_MAX_AGE_SECONDS = 15 * 60
HTTP_TIMEOUT_SECONDS = 10
METADATA_MAX_AGE_SECONDS = 3600
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
SCOPE = "openid email profile"


class OidcRefusal(Exception):
    """The provider's answer failed a check; the message says which (for the log)."""


@dataclass(frozen=True)
class Verified:
    """What a checked ID token says about the person."""

    issuer: str
    subject: str
    claims: dict[str, Any]
    id_token: str


@dataclass
class _Cached:
    fetched_at: float
    metadata: dict[str, Any]
    jwks: dict[str, Any] | None = None


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()


def forget_cached_metadata() -> None:
    """Drop every provider's cached discovery document and keys (tests, after a change)."""
    with _cache_lock:
        _cache.clear()


def _get_json(url: str) -> dict[str, Any]:
    response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict):
        raise OidcRefusal(f"{url} did not answer with a JSON object")
    return document


def metadata(provider: IdentityProvider) -> dict[str, Any]:
    """The provider's discovery document, cached for an hour per process."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(provider.issuer)
        if cached and now - cached.fetched_at < METADATA_MAX_AGE_SECONDS:
            return cached.metadata
    url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        document = _get_json(url)
    except (requests.RequestException, ValueError) as error:
        raise OidcRefusal(f"discovery document unavailable: {error}") from error
    # OpenID Connect Discovery 4.3: the document's issuer is exactly the one we asked.
    if document.get("issuer") != provider.issuer:
        raise OidcRefusal(f"discovery document names issuer {document.get('issuer')!r}")
    with _cache_lock:
        _cache[provider.issuer] = _Cached(now, document)
    return document


def sign_in_origins(provider: IdentityProvider) -> set[str]:
    """Where the browser goes to sign in: the issuer's origin, and the authorisation
    endpoint's when this process has read it (nothing is fetched here)."""
    origins = {_origin(provider.issuer)}
    with _cache_lock:
        cached = _cache.get(provider.issuer)
    if cached is not None:
        origins.add(_origin(str(cached.metadata.get("authorization_endpoint", ""))))
    return {origin for origin in origins if origin}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _key_set(provider: IdentityProvider, *, fresh: bool) -> KeySet:
    document = metadata(provider)
    with _cache_lock:
        cached = _cache.get(provider.issuer)
        jwks = cached.jwks if cached and not fresh else None
    if jwks is None:
        try:
            jwks = _get_json(str(document["jwks_uri"]))
        except (KeyError, requests.RequestException, ValueError) as error:
            raise OidcRefusal(f"signing keys unavailable: {error}") from error
        with _cache_lock:
            if provider.issuer in _cache:
                _cache[provider.issuer].jwks = jwks
    return KeySet.import_key_set(jwks)  # type: ignore[arg-type]  # a JWKS document


def _client(provider: IdentityProvider, redirect_uri: str) -> OAuth2Session:
    document = metadata(provider)
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=client_secret(provider),
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=method,
    )


def begin(
    provider: IdentityProvider, redirect_uri: str, *, login_hint: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The provider's authorisation URL to send the browser to, and what to keep in this
    browser's session until it comes back (state, nonce, PKCE verifier)."""
    document = metadata(provider)
    pending = {
        "provider_id": provider.id,
        "state": generate_token(32),
        "nonce": generate_token(32),
        "code_verifier": generate_token(64),
        "started_at": clock.utcnow().timestamp(),
    }
    extra = {"login_hint": login_hint} if login_hint else {}
    with _client(provider, redirect_uri) as client:
        url, _state = client.create_authorization_url(
            document["authorization_endpoint"],
            state=pending["state"],
            nonce=pending["nonce"],
            code_verifier=pending["code_verifier"],
            **extra,
        )
    return url, pending


def finish(
    provider: IdentityProvider,
    pending: Mapping[str, Any],
    answer: Mapping[str, str],
    redirect_uri: str,
) -> Verified:
    """Check the provider's answer (the query of the redirect back), exchange the code and
    check the ID token. Raises :class:`OidcRefusal` on any failed check."""
    if "error" in answer:
        raise OidcRefusal(f"provider answered error={answer.get('error')!r}")
    state = answer.get("state") or ""
    if not hmac.compare_digest(state, str(pending.get("state") or "")) or not state:
        raise OidcRefusal("state does not match the sign-in this browser started")
    started_at = pending.get("started_at")
    now = clock.utcnow().timestamp()
    if not isinstance(started_at, int | float) or now - started_at > PENDING_MAX_AGE_SECONDS:
        raise OidcRefusal("the sign-in was started too long ago")
    code = answer.get("code")
    if not code:
        raise OidcRefusal("no authorisation code")
    document = metadata(provider)
    try:
        with _client(provider, redirect_uri) as client:
            token = client.fetch_token(
                document["token_endpoint"],
                code=code,
                code_verifier=pending.get("code_verifier"),
                timeout=HTTP_TIMEOUT_SECONDS,
            )
    except Exception as error:  # Authlib raises its OAuthError, requests its own
        raise OidcRefusal(f"token request refused: {error}") from error
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcRefusal("no ID token in the token response")
    claims = check_id_token(
        provider,
        id_token,
        nonce=str(pending.get("nonce") or ""),
        access_token=token.get("access_token"),
        now=now,
    )
    return Verified(provider.issuer, str(claims["sub"]), dict(claims), id_token)


def check_id_token(
    provider: IdentityProvider,
    id_token: str,
    *,
    nonce: str,
    access_token: str | None,
    now: float,
) -> CodeIDToken:
    document = metadata(provider)
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in ASYMMETRIC_ALGORITHMS]
    if not algorithms:
        raise OidcRefusal(f"no asymmetric signing algorithm offered: {offered}")
    try:
        try:
            decoded = jwt.decode(id_token, _key_set(provider, fresh=False), algorithms=algorithms)
        except InvalidKeyIdError:
            # A key we have not seen: the provider may have rotated its keys.
            decoded = jwt.decode(id_token, _key_set(provider, fresh=True), algorithms=algorithms)
    except (JoseError, ValueError) as error:
        raise OidcRefusal(f"ID token signature: {error}") from error
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": provider.issuer},
            "aud": {"essential": True, "value": provider.client_id},
            "sub": {"essential": True},
        },
        {"nonce": nonce, "client_id": provider.client_id, "access_token": access_token},
    )
    if not nonce:
        raise OidcRefusal("no nonce was kept for this sign-in")
    try:
        claims.validate(now=int(now), leeway=LEEWAY_SECONDS)
    except JoseError as error:
        raise OidcRefusal(f"ID token claims: {error}") from error
    return claims


def logout_url(
    provider: IdentityProvider, *, id_token: str | None, post_logout_redirect_uri: str
) -> str | None:
    """The provider's RP-initiated logout URL, or None when it offers none."""
    try:
        endpoint = metadata(provider).get("end_session_endpoint")
    except OidcRefusal:
        return None
    if not endpoint:
        return None
    params = {"client_id": provider.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    if id_token:
        params["id_token_hint"] = id_token
    request = requests.Request("GET", str(endpoint), params=params).prepare()
    return str(request.url)
