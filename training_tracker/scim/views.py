"""The views of ``/scim/v2/`` (the blueprint is in routes.py, which imports this module at
the first request that needs it): they parse, call one service of
:mod:`training_tracker.services.people.scim`, and answer in SCIM's JSON, through scim2-models.
A SCIM exception a view raises becomes SCIM's error JSON (``scim_error``, called by routes.py).
"""

from __future__ import annotations

import json
from typing import Any

from flask import g, request, url_for
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
from werkzeug.wrappers import Response

from training_tracker.extensions import db
from training_tracker.services.people.scim import tokens, users
from training_tracker.services.people.scim.resources import (
    POLICY,
    User,
    resource_types,
    schemas,
    service_provider_config,
)
from training_tracker.transactions import committing

# Parameterised once: pydantic builds a class for each parameterisation, which costs more
# than the rest of a request.
UserList = ListResponse[User]
UserSearch = SearchRequest[User]

MEDIA_TYPE = "application/scim+json"
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def _answer(body: dict[str, Any] | None, status: int = 200, **headers: str) -> Response:
    text = json.dumps(body, ensure_ascii=False) if body is not None else ""
    response = Response(text, status=status, mimetype=MEDIA_TYPE if body is not None else None)
    response.headers["Cache-Control"] = "no-store"  # people's data, without a session
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def error_answer(status: int, detail: str, scim_type: str | None = None) -> Response:
    """SCIM's error JSON with its status (routes.py answers every error of the endpoint so)."""
    error = Error(status=status, detail=detail, scim_type=scim_type)
    return _answer(error.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE), status)


def scim_error(error: SCIMException) -> Response:
    db.session.rollback()
    body = error.to_error().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return _answer(body, int(error.to_error().status or 400))


def _token() -> tokens.LiveToken:
    token: tokens.LiveToken = g.scim_token  # authenticated by routes.authenticate, in this request
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


def resource_type_list() -> Response:
    return _listed(resource_types())


def resource_type(name: str) -> Response:
    for found in resource_types():
        if found.id == name:
            return _answer(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"No resource type {name!r}.")


def schema_list() -> Response:
    return _listed(schemas())


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


def user_list() -> Response:
    return _search(
        request.args.get("filter"),
        _integer("startIndex", 1),
        _integer("count", None),
        _parameters(),
    )


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


def user_create() -> Response:
    with committing(errors=()):
        user = users.create_user(db.session, _token(), _payload(), _location)
    return _user_answer(user, 201, Location=user["meta"]["location"])


def user(user_id: str) -> Response:
    return _user_answer(users.get_user(db.session, _token(), user_id, _location))


def user_replace(user_id: str) -> Response:
    with committing(errors=()):
        user = users.replace_user(db.session, _token(), user_id, _payload(), _location)
    return _user_answer(user)


def user_patch(user_id: str) -> Response:
    with committing(errors=()):
        user = users.patch_user(db.session, _token(), user_id, _payload(), _location)
    return _user_answer(user)


def user_delete(user_id: str) -> Response:
    with committing(errors=()):
        users.delete_user(db.session, _token(), user_id)
    return _answer(None, 204)
