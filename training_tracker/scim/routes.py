"""``/scim/v2/``: the SCIM 2.0 endpoint a municipality's directory provisions through.

JSON in and out (``application/scim+json``), no session and no CSRF token: each request
carries a bearer token of one municipality (``Authorization: Bearer …``), and is rate-limited
per token. Errors are SCIM's error JSON with the right status. The views parse, call one
service of :mod:`training_tracker.services.people.scim`, and answer.

This module is the blueprint: its rules, rate limit, authentication and error handlers. The
views are in views.py, imported at the endpoint's first request: they speak scim2-models,
whose import costs about a second of CPU (pydantic reads the source of each of its models),
which no other page, no ``flask`` command and no process that never serves SCIM should pay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from flask import Blueprint, current_app, g, request
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from training_tracker.extensions import csrf, db, limiter
from training_tracker.services.people.scim import tokens
from training_tracker.transactions import committing, reading_without_transaction

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
csrf.exempt(bp)


def _views() -> ModuleType:
    # Late, at the first SCIM request: scim2-models costs about a second of CPU to import.
    from training_tracker.scim import views

    return views


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def _limit_key() -> str:
    """Each token counts on its own; requests without a valid one count per address."""
    secret = _bearer()
    if secret:
        return "scim:" + hashlib.sha256(secret.encode()).hexdigest()[:32]
    return "scim-anonymous:" + get_remote_address()


def _limit() -> str:
    return str(current_app.config["SCIM_RATE_LIMIT"])


limiter.limit(_limit, key_func=_limit_key)(bp)


def _error(status: int, detail: str, scim_type: str | None = None) -> Response:
    answer: Response = _views().error_answer(status, detail, scim_type)
    return answer


@bp.errorhandler(IntegrityError)
def conflict(error: IntegrityError) -> Response:
    # Two requests for the same user at once: the database kept one.
    db.session.rollback()
    return _error(409, "The user was changed by another request; try again.", "uniqueness")


@bp.errorhandler(HTTPException)
@bp.errorhandler(413)  # the app's own pages for these codes are HTML, and would win
@bp.errorhandler(429)
def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status == 429:
        # Checked before the view ran: nothing of the request was stored.
        return _error(429, "Too many requests for this token; slow down.")
    return _error(status, error.description or error.name)


@bp.errorhandler(500)
def server_error(error: Exception) -> Response:
    db.session.rollback()
    return _error(500, "Something went wrong on our side; nothing was stored.")


@bp.before_request
def authenticate() -> Response | None:
    if request.method == "GET":
        reading_without_transaction()
    token = tokens.authenticate(db.session, _bearer())
    if token is None:
        response = _error(401, "A valid bearer token is required.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
        return response
    g.scim_token = token  # held for the request: every later step reads it
    if tokens.note_use(db.session, token):  # the token's "last used", every few minutes
        with committing(errors=()):
            pass
    return None


def _view(name: str) -> Callable[..., Response]:
    """The view ``name`` of views.py; a SCIM exception it raises (a refusal: a bad filter, an
    unknown user, a value the mapping rejects) is answered with SCIM's error JSON, rolled back."""

    def view(**arguments: Any) -> Response:
        views = _views()
        try:
            answer: Response = getattr(views, name)(**arguments)
        except views.SCIMException as error:
            answer = views.scim_error(error)
        return answer

    view.__name__ = view.__qualname__ = name
    return view


# (rule, methods, the view of views.py): each endpoint is named after its view, "scim.user" etc.
_RULES = [
    ("/ServiceProviderConfig", ["GET"], "service_provider"),
    ("/ResourceTypes", ["GET"], "resource_type_list"),
    ("/ResourceTypes/<name>", ["GET"], "resource_type"),
    ("/Schemas", ["GET"], "schema_list"),
    ("/Schemas/<urn>", ["GET"], "schema"),
    ("/Users", ["GET"], "user_list"),
    # A query sent as a SearchRequest in the body (RFC 7644 §3.4.3); users are the only
    # resources, so the root search is the same.
    ("/Users/.search", ["POST"], "user_search"),
    ("/.search", ["POST"], "user_search"),
    ("/Users", ["POST"], "user_create"),
    ("/Users/<user_id>", ["GET"], "user"),
    ("/Users/<user_id>", ["PUT"], "user_replace"),
    ("/Users/<user_id>", ["PATCH"], "user_patch"),
    ("/Users/<user_id>", ["DELETE"], "user_delete"),
]
_VIEWS = {name: _view(name) for _rule, _methods, name in _RULES}
for _rule, _methods, _name in _RULES:
    bp.add_url_rule(_rule, _name, _VIEWS[_name], methods=_methods)


_KNOWN = ("ServiceProviderConfig", "ResourceTypes", "Schemas", "Users")


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def elsewhere(rest: str) -> Response:
    """Anything else under /scim/v2/: a known resource asked with the wrong method, or none."""
    if rest.split("/")[0] in _KNOWN:
        return _error(405, f"{request.method} is not supported here.")
    if rest.split("/")[0] == "Groups":
        return _error(404, "Groups are not provisioned: the tracker keeps no groups.")
    return _error(404, f"No endpoint {request.path}.")
