"""Error pages: a clear message in the user's language and the right status code."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Flask, current_app, render_template, request
from flask_babel import format_date, format_time, ngettext
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from training_tracker import clock
from training_tracker.extensions import db, limiter
from training_tracker.redirects import local_path


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        message = _(
            "Formuläret hade gått ut eller saknade sin säkerhetskod. Ladda om sidan och "
            "försök igen; inget har sparats."
        )
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(429)
    def too_many(error: HTTPException) -> tuple[str, int]:
        # The limit is checked before the view runs: nothing of the request was stored.
        # (Flask-Limiter adds the Retry-After header to this response.)
        page = render_template(
            "errors/too_many_requests.html",
            code=429,
            reason=_limit_reason(request.endpoint or ""),
            retry=_retry_text(),
            back_url=_back_url(),
        )
        return page, 429

    @app.errorhandler(413)
    def too_large(error: HTTPException) -> tuple[str, int]:
        # The request was refused before it was read: nothing of it was stored.
        importing = (request.blueprint or "") == "imports"
        limit = current_app.config["IMPORT_MAX_BYTES" if importing else "EVIDENCE_MAX_BYTES"]
        page = render_template(
            "errors/too_large.html",
            code=413,
            importing=importing,
            limit_mb=max(1, limit // (1024 * 1024)),
            back_url=_back_url(),
        )
        return page, 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        messages = {
            403: _("Du har inte behörighet till den här sidan."),
            404: _("Sidan finns inte, eller så har du inte behörighet att se den."),
            405: _("Det går inte att göra så här på den här sidan."),
        }
        message = messages.get(error.code or 500, error.description or "")
        return render_template("errors/error.html", code=error.code, message=message), (
            error.code or 500
        )

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[str, int]:
        db.session.rollback()
        message = _("Något gick fel hos oss. Inget har sparats. Försök igen om en stund.")
        return render_template("errors/error.html", code=500, message=message), 500


def _back_url() -> str | None:
    """Where the refused form can be filled in again: the same address when it answers GET
    (the report form), else the page the form was on, if it is one of ours."""
    rule = request.url_rule
    if rule is not None and rule.methods and "GET" in rule.methods:
        return request.full_path if request.query_string else request.path
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host:
        # None unless a path of ours: the page links to the start page anyway.
        return local_path(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
    return None


def _limit_reason(endpoint: str) -> str | None:
    """Which limit the person ran into, in their terms."""
    if endpoint == "auth.login":
        return _(
            "Inloggningen spärras en stund efter många försök, så att ingen kan gissa sig till "
            "ett lösenord."
        )
    if endpoint in {"auth.forgot_password", "auth.reset_password"}:
        return _("Det går bara att begära eller byta lösenord några gånger på kort tid.")
    if endpoint == "auth.accept_invitation":
        return _("Det har gjorts många försök att välja lösenord härifrån på kort tid.")
    if endpoint == "employees.invite":
        return _("Du har skickat många inbjudningar på kort tid.")
    if endpoint in {"courses.report", "courses.replace_certificate", "imports.upload"}:
        return _(
            "Du har laddat upp många filer på kort tid. Gränsen gäller alla uppladdningar "
            "tillsammans: intyg och personalfiler."
        )
    if endpoint == "main.send_reminder":
        return _("Du har skickat många påminnelser på kort tid.")
    if endpoint == "accessibility.report":
        return _("Det går bara att skicka några rapporter på kort tid.")
    return None


def _retry_text() -> str | None:
    """When the limit that was reached lets the person in again, in Swedish time."""
    limit = limiter.current_limit
    if limit is None:
        return None
    reset_at = limit.reset_at
    minutes = max(1, math.ceil((reset_at - time.time()) / 60))
    moment = datetime.fromtimestamp(reset_at, UTC)
    if minutes < 60:
        wait = ngettext("om %(num)d minut", "om %(num)d minuter", minutes)
    else:
        hours = round(minutes / 60)
        wait = ngettext("om ungefär %(num)d timme", "om ungefär %(num)d timmar", hours)
    at = format_time(moment, "HH:mm")
    if clock.to_local(moment.replace(tzinfo=None)).date() != clock.today():
        return _(
            "Du kan försöka igen %(date)s klockan %(time)s (%(wait)s).",
            date=format_date(moment, "d MMMM"),
            time=at,
            wait=wait,
        )
    return _("Du kan försöka igen klockan %(time)s (%(wait)s).", time=at, wait=wait)
