"""Error pages: a clear message in the user's language and the right status code."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from training_tracker.extensions import db


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        message = _(
            "Formuläret hade gått ut eller saknade sin säkerhetskod. Ladda om sidan och "
            "försök igen; inget har sparats."
        )
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(429)
    def too_many(error: HTTPException):  # type: ignore[no-untyped-def]
        message = _("För många försök på kort tid. Vänta en stund och försök sedan igen.")
        return render_template("errors/error.html", code=429, message=message), 429

    @app.errorhandler(413)
    def too_large(error: HTTPException):  # type: ignore[no-untyped-def]
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
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
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
    def server_error(error: Exception):  # type: ignore[no-untyped-def]
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
    same_site = referrer.netloc == request.host
    if same_site and referrer.path.startswith("/") and not referrer.path.startswith("//"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return None  # the page links to the start page anyway
