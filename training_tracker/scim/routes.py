"""``/scim/v2/``: the SCIM 2.0 endpoint a municipality's directory provisions through.

JSON in and out (``application/scim+json``), no session and no CSRF token: each request
carries a bearer token of one municipality (``Authorization: Bearer …``), and is rate-limited
per token. Errors are SCIM's error JSON with the right status. The views parse, call one
service of :mod:`training_tracker.services.people.scim`, and answer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, current_app, g, request, url_for
from flask_limiter.util import get_remote_address
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    NotFoundException,
    ResponseParameters,
    SCIMException,
    SearchRequest,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from training_tracker.extensions import csrf, db, limiter
from training_tracker.services.people.scim import tokens, users
from training_tracker.services.people.scim.resources import (
    POLICY,
    User,
    resource_types,
    schemas,
    service_provider_config,
)
from training_tracker.transactions import committing, reading_without_transaction

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
# Parameterised once: pydantic builds a class for each parameterisation, which costs more
# than the rest of a request.
UserList = ListResponse[User]
UserSearch = SearchRequest[User]
csrf.exempt(bp)

MEDIA_TYPE = "application/scim+json"
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


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


def _answer(body: dict[str, Any] | None, status: int = 200, **headers: str) -> Response:
    text = json.dumps(body, ensure_ascii=False) if body is not None else ""
    response = Response(text, status=status, mimetype=MEDIA_TYPE if body is not None else None)
    response.headers["Cache-Control"] = "no-store"  # people's data, without a session
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def _error(status: int, detail: str, scim_type: str | None = None) -> Response:
    error = Error(status=status, detail=detail, scim_type=scim_type)
    return _answer(error.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE), status)


@bp.errorhandler(SCIMException)
def scim_error(error: SCIMException) -> Response:
    db.session.rollback()
    body = error.to_error().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return _answer(body, int(error.to_error().status or 400))


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


def _token() -> tokens.LiveToken:
    token: tokens.LiveToken = g.scim_token  # authenticated above, in this request
    return token


def _location(user_id: str) -> str:
    return url_for("scim.user", user_id=user_id, _external=True)


def _payload() -> Any:
    payload = request.get_json(force=True, silent=True)
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object.")
    return payload


def _parameters() -> ResponseParameters[Any] | None:
    attributes = request.args.get("attributes")
    excluded = request.args.get("excludedAttributes")
    if not attributes and not excluded:
        return None
    try:
        return ResponseParameters.model_validate(
            {"attributes": attributes, "excludedAttributes": excluded}
        )
    except ValueError as error:
        raise InvalidValueException(detail=str(error)) from error


def _shown(body: users.UserBody, parameters: ResponseParameters[Any] | None) -> dict[str, Any]:
    """The user's answer with only the attributes asked for (``attributes``,
    ``excludedAttributes``), as the SCIM models choose them; without those, as it is."""
    if parameters is None:
        return body
    with POLICY:
        user = User.model_validate(body, scim_ctx=Context.DEFAULT)
    return user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters)


def _user_answer(body: users.UserBody, status: int = 200, **headers: str) -> Response:
    return _answer(_shown(body, _parameters()), status, **headers)


def _integer(name: str, default: int | None) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidValueException(detail=f"{name} must be an integer.") from None


@bp.route("/ServiceProviderConfig")
def service_provider() -> Response:
    config = service_provider_config(users.MAX_PAGE_SIZE)
    return _answer(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _listed(resources: list[Any]) -> Response:
    # A ListResponse of discovery resources, spelled out: the library's ListResponse is
    # parameterised by the resource types it may hold.
    body = {
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": [r.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for r in resources],
    }
    return _answer(body)


@bp.route("/ResourceTypes")
def resource_type_list() -> Response:
    return _listed(resource_types())


@bp.route("/ResourceTypes/<name>")
def resource_type(name: str) -> Response:
    for found in resource_types():
        if found.id == name:
            return _answer(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"No resource type {name!r}.")


@bp.route("/Schemas")
def schema_list() -> Response:
    return _listed(schemas())


@bp.route("/Schemas/<urn>")
def schema(urn: str) -> Response:
    for found in schemas():
        if found.id == urn:
            return _answer(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"No schema {urn!r}.")


def _search(
    filter_expression: str | None,
    start_index: int | None,
    count: int | None,
    parameters: ResponseParameters[Any] | None,
) -> Response:
    page = users.list_users(
        db.session,
        _token(),
        filter_expression=filter_expression,
        start_index=start_index or 1,
        count=count,
        location_of=_location,
    )
    if parameters is not None:
        with POLICY:
            resources = [User.model_validate(b, scim_ctx=Context.DEFAULT) for b in page.users]
        listing = UserList(
            total_results=page.total,
            start_index=page.start_index,
            items_per_page=len(page.users),
            resources=resources,
        )
        body = listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters)
        return _answer(body)
    # The ListResponse as the SCIM models write it, without validating the users again.
    return _answer(
        {
            "schemas": [LIST_RESPONSE_URN],
            "totalResults": page.total,
            "startIndex": page.start_index,
            "itemsPerPage": len(page.users),
            "Resources": page.users,
        }
    )


@bp.route("/Users", methods=["GET"])
def user_list() -> Response:
    return _search(
        request.args.get("filter"),
        _integer("startIndex", 1),
        _integer("count", None),
        _parameters(),
    )


@bp.route("/Users/.search", methods=["POST"])
@bp.route("/.search", methods=["POST"])
def user_search() -> Response:
    """A query sent as a SearchRequest in the body (RFC 7644 §3.4.3); users are the only
    resources, so the root search is the same."""
    try:
        with POLICY:
            search = UserSearch.model_validate(_payload(), scim_ctx=Context.SEARCH_REQUEST)
    except ValidationError as error:
        raise SCIMException.from_error(Error.from_validation_errors(error)[0]) from error
    expression = str(search.filter) if search.filter is not None else None
    return _search(expression, search.start_index, search.count, search)


@bp.route("/Users", methods=["POST"])
def user_create() -> Response:
    with committing(errors=()):
        user = users.create_user(db.session, _token(), _payload(), _location)
    return _user_answer(user, 201, Location=user["meta"]["location"])


@bp.route("/Users/<user_id>", methods=["GET"])
def user(user_id: str) -> Response:
    return _user_answer(users.get_user(db.session, _token(), user_id, _location))


@bp.route("/Users/<user_id>", methods=["PUT"])
def user_replace(user_id: str) -> Response:
    with committing(errors=()):
        user = users.replace_user(db.session, _token(), user_id, _payload(), _location)
    return _user_answer(user)


@bp.route("/Users/<user_id>", methods=["PATCH"])
def user_patch(user_id: str) -> Response:
    with committing(errors=()):
        user = users.patch_user(db.session, _token(), user_id, _payload(), _location)
    return _user_answer(user)


@bp.route("/Users/<user_id>", methods=["DELETE"])
def user_delete(user_id: str) -> Response:
    with committing(errors=()):
        users.delete_user(db.session, _token(), user_id)
    return _answer(None, 204)


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
