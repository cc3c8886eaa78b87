"""Error pages: a clear message in the user's language and the right status code."""

from __future__ import annotations

from flask import Flask, render_template
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

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        messages = {
            403: _("Du har inte behörighet till den här sidan."),
            404: _("Sidan finns inte, eller så har du inte behörighet att se den."),
            405: _("Det går inte att göra så här på den här sidan."),
            413: _("Filen är för stor."),
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
