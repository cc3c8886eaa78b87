"""Signing in through the municipality's identity provider: home realm discovery
(``/login/sso?email=…``), the start of a sign-in at one provider, and its return."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from training_tracker.auth.routes import SIGNED_IN_WITH, start_session
from training_tracker.extensions import db, limiter
from training_tracker.models import IdentityProvider, SsoProtocol
from training_tracker.redirects import safe_next
from training_tracker.services.messaging.mail_rendering import absolute_url
from training_tracker.services.people import accounts, oidc_sign_in, sso_linking, sso_providers
from training_tracker.services.people.oidc_sign_in import OidcRefusal

bp = Blueprint("sso", __name__)

PENDING = "sso_pending"


def sso_limit() -> str:
    return current_app.config["SSO_RATE_LIMIT"]


def redirect_uri() -> str:
    """The one redirect URI of every provider, from BASE_URL (register it at the provider)."""
    return absolute_url("sso.callback")


@bp.route("/login/sso", methods=["GET", "POST"])
@limiter.limit(sso_limit)
def discover() -> Response:
    """Home realm discovery: the address's domain picks the provider (also a link in mails)."""
    # "email" in a link (mails), "sso-email" from the sign-in page's form (its prefix keeps
    # the field's id apart from the password form's).
    email = (request.values.get("email") or request.values.get("sso-email") or "").strip()[:254]
    provider = sso_providers.provider_for_email(db.session, email) if email else None
    if provider is None:
        if email:
            flash(
                _(
                    "Det finns ingen inloggning via kommunen för %(email)s. Logga in med "
                    "lösenord, eller kontrollera adressen.",
                    email=email,
                ),
                "info",
            )
        return redirect(url_for("auth.login", next=request.values.get("next")))
    return redirect(
        url_for("sso.start", provider_id=provider.id, hint=email, next=request.values.get("next"))
    )


@bp.route("/login/sso/<int:provider_id>")
@limiter.limit(sso_limit)
def start(provider_id: int) -> Response | tuple[str, int]:
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None:
        abort(404)
    if current_user.is_authenticated:  # a link from a mail, followed when signed in already
        return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    if provider.protocol == SsoProtocol.SAML:
        return redirect(
            url_for("sso.saml_start", provider_id=provider.id, next=request.args.get("next"))
        )
    try:
        url, pending = oidc_sign_in.begin(
            provider, redirect_uri(), login_hint=request.args.get("hint") or None
        )
    except OidcRefusal as refusal:
        current_app.logger.warning("SSO sign-in could not start at %s: %s", provider.id, refusal)
        return failed(provider)
    pending["next"] = safe_next(request.args.get("next"), "") or None
    session[PENDING] = pending
    return redirect(url)


def failed(provider: IdentityProvider | None) -> tuple[str, int]:
    return render_template("sso/failed.html", provider=provider), 400


@bp.route("/login/sso/callback")
@limiter.limit(sso_limit)
def callback() -> Response | tuple[str, int]:
    pending = session.pop(PENDING, None)
    if not isinstance(pending, dict):
        current_app.logger.warning("SSO sign-in refused: no sign-in was started in this browser")
        return failed(None)
    provider = db.session.get(IdentityProvider, pending.get("provider_id"))
    if provider is None:
        return failed(None)
    try:
        verified = oidc_sign_in.finish(provider, pending, request.args, redirect_uri())
    except OidcRefusal as refusal:
        current_app.logger.warning("SSO sign-in refused at provider %s: %s", provider.id, refusal)
        return failed(provider)
    return signed_in(
        provider,
        issuer=verified.issuer,
        subject=verified.subject,
        claims=verified.claims,
        next_page=pending.get("next"),
        signed_in_with={"provider_id": provider.id, "id_token": verified.id_token},
    )


def signed_in(
    provider: IdentityProvider,
    *,
    issuer: str,
    subject: str,
    claims: dict[str, Any],
    next_page: str | None,
    signed_in_with: dict[str, Any],
) -> Response | tuple[str, int]:
    """After a checked answer of any protocol: the enrolled person it is (linked on the first
    sign-in), signed in; or the page saying they are not enrolled (nothing is created)."""
    person = sso_linking.find_person(
        db.session, provider, issuer=issuer, subject=subject, claims=claims
    )
    if person is None or not person.is_active:
        db.session.rollback()
        current_app.logger.info(
            "SSO sign-in at provider %s: nobody enrolled matches subject %s",
            provider.id,
            subject,
        )
        return render_template("sso/not_enrolled.html", provider=provider), 403
    accounts.record_login(db.session, person)
    db.session.commit()
    start_session(person)
    session[SIGNED_IN_WITH] = signed_in_with
    return redirect(safe_next(next_page, url_for("main.home")))
