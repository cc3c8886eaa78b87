"""Signing in through a municipality's SAML 2.0 identity provider: our metadata for it, the
start (a signed AuthnRequest over HTTP-Redirect), the assertion consumer service (the
response, over HTTP-POST) and the logout service the provider sends the browser back to.

The request's id is kept in a cookie of its own, signed, for 15 minutes and only for
``/login/saml/``: the response comes back as a cross-site POST, to which browsers do not send
our session cookie (SameSite=Lax); this one is SameSite=None (and Secure) where the app runs
over https, so it comes along.
"""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from training_tracker.auth.routes import SIGNED_IN_WITH
from training_tracker.extensions import csrf, db, limiter
from training_tracker.models import IdentityProvider, SsoProtocol
from training_tracker.redirects import safe_next
from training_tracker.services.people import accounts, saml_settings, saml_sign_in
from training_tracker.services.people.saml_sign_in import SamlRefusal
from training_tracker.services.people.sso_providers import saml_sp_key
from training_tracker.sso.routes import bp, failed, signed_in, sso_limit

PENDING_COOKIE = "saml_pending"
PENDING_PATH = "/login/saml/"


def _saml_provider(provider_id: int) -> IdentityProvider:
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None or provider.protocol != SsoProtocol.SAML:
        abort(404)
    return provider


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="saml-pending")


def _cookie_options() -> dict[str, Any]:
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    # SameSite=None needs Secure (browsers drop it otherwise); over plain http (development,
    # the provider on the same host) Lax does, as the POST is then same-site.
    return {
        "path": PENDING_PATH,
        "httponly": True,
        "secure": secure,
        "samesite": "None" if secure else "Lax",
    }


@bp.route("/login/saml/<int:provider_id>/metadata")
def saml_metadata(provider_id: int) -> Response:
    """Our metadata for this provider (entity id, ACS, logout service, our signing
    certificate): what its administrator imports (AD FS: a relying party trust)."""
    provider = _saml_provider(provider_id)
    key_pem = saml_sp_key(provider)
    if not key_pem:
        abort(404)
    settings = saml_settings.config(provider, key_pem)
    # Late: saml2.metadata builds pysaml2's XML schemas when imported (about a second), which
    # every process that starts the app would pay, though only SAML sign-in needs them.
    from saml2.metadata import entity_descriptor

    descriptor = entity_descriptor(settings)
    response = make_response(str(descriptor))
    response.headers["Content-Type"] = "application/samlmetadata+xml; charset=utf-8"
    return response


@bp.route("/login/saml/<int:provider_id>/start")
@limiter.limit(sso_limit)
def saml_start(provider_id: int) -> Response | tuple[str, int]:
    provider = _saml_provider(provider_id)
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    try:
        url, pending = saml_sign_in.begin(provider)
    except SamlRefusal as refusal:
        current_app.logger.warning("SAML sign-in could not start at %s: %s", provider.id, refusal)
        return failed(provider)
    pending["next"] = safe_next(request.args.get("next"), "") or None
    response = redirect(url)
    response.set_cookie(
        PENDING_COOKIE,
        _serializer().dumps(pending),
        max_age=saml_sign_in.PENDING_MAX_AGE_SECONDS,
        **_cookie_options(),
    )
    return response


def _pending() -> dict[str, Any] | None:
    value = request.cookies.get(PENDING_COOKIE)
    if not value:
        return None
    try:
        pending = _serializer().loads(value, max_age=saml_sign_in.PENDING_MAX_AGE_SECONDS)
    except BadSignature:
        return None
    return pending if isinstance(pending, dict) else None


@bp.route("/login/saml/<int:provider_id>/acs", methods=["POST"])
@limiter.limit(sso_limit)
@csrf.exempt  # the provider posts here; the request id in our signed cookie binds the answer
def saml_acs(provider_id: int) -> Response | tuple[str, int]:
    provider = _saml_provider(provider_id)
    pending = _pending()
    try:
        if pending is None:
            raise SamlRefusal("no sign-in was started in this browser (IdP-initiated?)")
        verified = saml_sign_in.finish(provider, pending, request.form.get("SAMLResponse", ""))
        saml_sign_in.remember_assertion(db.session, provider, verified)
        db.session.commit()  # the assertion is spent, whatever follows
    except SamlRefusal as refusal:
        db.session.rollback()
        current_app.logger.warning("SAML sign-in refused at provider %s: %s", provider.id, refusal)
        answer = make_response(*failed(provider))
        answer.delete_cookie(PENDING_COOKIE, **_cookie_options())
        return answer
    outcome = signed_in(
        provider,
        issuer=verified.issuer,
        subject=verified.subject,
        claims=verified.claims,
        next_page=(pending or {}).get("next"),
        signed_in_with={
            "provider_id": provider.id,
            "name_id": verified.name_id,
            "session_index": verified.session_index,
        },
    )
    answer = make_response(outcome)
    answer.delete_cookie(PENDING_COOKIE, **_cookie_options())
    return answer


@bp.route("/login/saml/<int:provider_id>/sls")
def saml_sls(provider_id: int) -> Response | tuple[str, int]:
    """The provider's single logout: its answer to our LogoutRequest (our session ended before
    the browser went there), or its own LogoutRequest (the person signed out at the provider or
    at another of its services): then our session of that person ends too, and the browser goes
    back to the provider with our answer."""
    provider = _saml_provider(provider_id)
    if request.args.get("SAMLRequest"):
        return _logout_asked(provider)
    if request.args.get("SAMLResponse"):
        flash(_("Du är utloggad även från %(provider)s.", provider=provider.label), "success")
    return redirect(url_for("auth.login"))


def _logout_asked(provider: IdentityProvider) -> Response | tuple[str, int]:
    try:
        asked = saml_sign_in.answer_logout_request(
            provider, request.query_string.decode("ascii", errors="replace")
        )
    except SamlRefusal as refusal:
        current_app.logger.warning("SAML logout refused at provider %s: %s", provider.id, refusal)
        return failed(provider)
    signed_in_with = session.get(SIGNED_IN_WITH)
    if (
        current_user.is_authenticated
        and isinstance(signed_in_with, dict)
        and signed_in_with.get("provider_id") == provider.id
        and saml_sign_in.name_id_value(signed_in_with.get("name_id")) == asked.name_id
    ):
        accounts.end_all_sessions(db.session, current_user, actor=current_user)
        db.session.commit()
        logout_user()
        session.clear()
    return redirect(asked.answer_url)
