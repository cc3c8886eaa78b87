"""Session lifetimes and the security headers of every response.

Sessions live in Flask's signed cookie; the server ends them through the account's
``session_version`` (see ``Employee.get_id``), and here by time: after ``SESSION_IDLE_MINUTES``
without a request and ``SESSION_ABSOLUTE_HOURS`` after sign-in, whatever the activity.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import (
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from training_tracker import clock
from training_tracker.redirects import local_path

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN_AT = "last_seen_at"

# No inline script or style anywhere: every script and stylesheet is a file the app serves.
# Certificates are shown in an <iframe> of /evidence/<id>, which sends its own policy.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy(*, form_targets: Iterable[str] = ()) -> str:
    """The policy, with more origins a form may lead to: the sign-in page's address form
    ends at the municipality's identity provider (Chromium checks form-action on every
    redirect after a form is sent)."""
    extra = " ".join(sorted(set(form_targets)))
    if not extra:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {extra}")


def stamp_new_session() -> None:
    """Called at sign-in: the absolute and idle clocks start now."""
    now = clock.utcnow().timestamp()
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now


def session_expiry_reason(now: float) -> str | None:
    """Why the current session is over ("idle" or "absolute"), or None while it lasts.

    A session without stamps (a cookie from before they existed) is over as well.
    """
    signed_in_at = session.get(SIGNED_IN_AT)
    last_seen_at = session.get(LAST_SEEN_AT)
    if not isinstance(signed_in_at, int | float) or not isinstance(last_seen_at, int | float):
        return "absolute"
    config = current_app.config
    if now - signed_in_at > config["SESSION_ABSOLUTE_HOURS"] * 3600:
        return "absolute"
    if now - last_seen_at > config["SESSION_IDLE_MINUTES"] * 60:
        return "idle"
    return None


def _enforce_session_lifetime() -> Response | None:
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return None
    now = clock.utcnow().timestamp()
    reason = session_expiry_reason(now)
    if reason is None:
        session[LAST_SEEN_AT] = now
        return None
    language = session.get("language")
    logout_user()
    session.clear()
    if language:
        session["language"] = language
    if reason == "idle":
        flash(
            _(
                "Du har loggats ut eftersom du inte har gjort något på %(minutes)d minuter. "
                "Logga in igen för att fortsätta.",
                minutes=current_app.config["SESSION_IDLE_MINUTES"],
            ),
            "info",
        )
    else:
        flash(
            _(
                "Du har varit inloggad i %(hours)d timmar och har loggats ut. Logga in igen "
                "för att fortsätta.",
                hours=current_app.config["SESSION_ABSOLUTE_HOURS"],
            ),
            "info",
        )
    target = request.full_path if request.query_string else request.path
    # Back to the same page after signing in, if it is one a GET can show and one of ours.
    next_page = local_path(target) if request.method == "GET" else None
    return redirect(url_for("auth.login", next=next_page))


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["HSTS_SECONDS"]:
        headers.setdefault(
            "Strict-Transport-Security",
            f"max-age={current_app.config['HSTS_SECONDS']}; includeSubDomains",
        )
    if current_user.is_authenticated or request.endpoint in PERSONAL_ENDPOINTS:
        # Pages of a signed-in user carry personal data: never keep them in a cache.
        headers["Cache-Control"] = "no-store"
    return response


# Answers that carry personal data even when no one is signed in (a token's page names the
# person it belongs to).
PERSONAL_ENDPOINTS = frozenset({"auth.accept_invitation", "auth.reset_password"})


def _refuse_nul_characters() -> tuple[str, int] | None:
    """A posted form whose values (or uploaded files' names) hold NUL (U+0000) answers 400
    before any view reads it: nobody types one, and PostgreSQL can neither store nor even
    compare text that holds it, so it would otherwise end in a server error. (Query strings
    are the views' to read leniently: a filter that does not parse is ignored.)"""
    if request.method != "POST":
        return None
    values = [text for pair in request.form.items(multi=True) for text in pair]
    values += [upload.filename or "" for _, upload in request.files.items(multi=True)]
    if not any("\x00" in value for value in values):
        return None
    message = _(
        "Formuläret innehöll ett otillåtet tecken (NUL), som inte går att skriva med "
        "tangentbordet. Inget har sparats. Skriv in uppgifterna igen och försök på nytt."
    )
    return render_template("errors/error.html", code=400, message=message), 400


def register(app: Flask) -> None:
    app.before_request(_refuse_nul_characters)
    app.before_request(_enforce_session_lifetime)
    app.after_request(_security_headers)
