"""What the SCIM tests share: a directory (a token of one municipality) and its requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient

from tests import factories
from training_tracker.extensions import db
from training_tracker.services.people.scim import tokens

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Directory:
    """A municipality's directory talking to the endpoint with its token."""

    client: FlaskClient
    secret: str
    token_id: int
    municipality_id: int

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.secret}", **kwargs.pop("headers", {})}
        if body is not None:
            kwargs["json"] = body
        return self.client.open(f"/scim/v2{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def patch(self, path: str, *operations: dict[str, Any]) -> Any:
        return self.request("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)})

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


def directory(
    client: FlaskClient, municipality_name: str = "Järfälla", label: str = "Entra ID"
) -> Directory:
    home = factories.municipality(municipality_name)
    token, secret = tokens.create_token(db.session, home, label=label, actor=None)
    db.session.commit()
    return Directory(client, secret, token.id, home.id)


def user_payload(
    user_name: str = "anna.andersson@jarfalla.example",
    *,
    given: str = "Anna",
    family: str = "Andersson",
    external_id: str | None = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    department: str | None = None,
    employee_number: str | None = None,
    manager: str | None = None,
    hire_date: str | None = None,
    active: Any = True,
    email: str | None = None,
    language: str | None = "sv-SE",
) -> dict[str, Any]:
    """A user as Entra ID creates one (its documented POST /Users)."""
    enterprise: dict[str, Any] = {}
    if department is not None:
        enterprise["department"] = department
    if employee_number is not None:
        enterprise["employeeNumber"] = employee_number
    if manager is not None:
        enterprise["manager"] = {"value": manager}
    if hire_date is not None:
        enterprise["employeeHireDate"] = hire_date
    payload: dict[str, Any] = {
        "schemas": [CORE, ENTERPRISE] if enterprise else [CORE],
        "userName": user_name,
        "active": active,
        "displayName": f"{given} {family}",
        "emails": [{"primary": True, "type": "work", "value": email or user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"{given} {family}", "familyName": family, "givenName": given},
        "roles": [],
    }
    if external_id is not None:
        payload["externalId"] = external_id
    if language is not None:
        payload["preferredLanguage"] = language
    if enterprise:
        payload[ENTERPRISE] = enterprise
    return payload
