"""The SCIM endpoint under arbitrary JSON: creates, replaces, patches, searches and filters
built from SCIM's own attribute names, odd values ("True" strings, NUL, long text, nested
lists) and valid shapes with one part broken.

Properties, per request: the answer is below 500 and SCIM's JSON; a refusal (4xx) changes
nothing; and whatever is sent, nobody outside the token's reach (HR of the municipality,
staff of another municipality) changes. Hypothesis runs derandomized without its database, so
CI and a laptop send the same requests.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.scim_helpers import ENTERPRISE, PATCH_OP, directory, user_payload
from training_tracker.extensions import db, limiter
from training_tracker.models import (
    Assignment,
    Employee,
    OutboxMessage,
    Role,
    ScimLink,
    Sector,
)

KEYS = [
    "schemas",
    "id",
    "externalId",
    "userName",
    "name",
    "givenName",
    "familyName",
    "formatted",
    "displayName",
    "emails",
    "value",
    "type",
    "primary",
    "active",
    "preferredLanguage",
    "meta",
    ENTERPRISE,
    "employeeNumber",
    "department",
    "manager",
    "employeeHireDate",
    "Operations",
    "op",
    "path",
    "filter",
    "startIndex",
    "count",
    "attributes",
]
PATHS = [
    "active",
    "userName",
    "name.givenName",
    "name.familyName",
    "emails",
    'emails[type eq "work"].value',
    "externalId",
    "preferredLanguage",
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:employeeHireDate",
    "id",
    "meta.created",
    "nonsense",
    "emails[",
]
FILTERS = [
    'userName eq "{email}"',
    'emails[type eq "work"].value eq "{email}"',
    'externalId eq "x"',
    "active eq true",
    "active eq 1",
    'name.givenName co ""',
    'department sw "I"',
    "not (userName pr)",
    'userName eq "a" or id eq "99999999999999999999"',
    "id gt 3",
    "meta.created gt 2020",
    "userName eq",
    "((",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.text(max_size=40),
    st.sampled_from(["True", "False", "", " ", "\x00", "x" * 300, "2026-02-30", "ifo barn"]),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=10,
)


def _fingerprint(rows: list[Any]) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _state() -> tuple[str, ...]:
    db.session.rollback()
    tables = [
        sa.select(Employee.__table__).order_by(Employee.id),
        sa.select(ScimLink.__table__).order_by(ScimLink.employee_id),
        sa.select(Assignment.__table__).order_by(Assignment.id),
        sa.select(OutboxMessage.__table__.c.id, OutboxMessage.__table__.c.recipient_email),
    ]
    return tuple(_fingerprint(db.session.execute(query).all()) for query in tables)


def _row(employee_id: int) -> str:
    db.session.rollback()
    row = db.session.execute(sa.select(Employee.__table__).where(Employee.id == employee_id)).one()
    return _fingerprint([row])


@st.composite
def requests(draw: st.DrawFn, user_id: str, email: str) -> tuple[str, str, Any]:
    kind = draw(st.sampled_from(["create", "replace", "patch", "search", "filter"]))
    if kind in ("create", "replace"):
        body: Any = user_payload(
            draw(st.sampled_from([email, "ny@jarfalla.example", "NY@JARFALLA.EXAMPLE"])),
            external_id=draw(st.sampled_from([None, "x", "0a21f0f2"])),
        )
        for key in draw(st.lists(st.sampled_from(KEYS), max_size=3)):
            body[key] = draw(json_values)
        if draw(st.booleans()):
            body = draw(json_values)
        path = "/Users" if kind == "create" else f"/Users/{user_id}"
        return ("POST" if kind == "create" else "PUT"), path, body
    if kind == "patch":
        operation = st.fixed_dictionaries(
            {"op": st.sampled_from(["add", "Replace", "remove", "Remove", "move"])},
            optional={"path": st.sampled_from(PATHS), "value": json_values},
        )
        body = {"schemas": [PATCH_OP], "Operations": draw(st.lists(operation, max_size=3))}
        if draw(st.booleans()):
            body["Operations"] = draw(json_values)
        target = draw(st.sampled_from([user_id, user_id, "0", "abc", "99999"]))
        return "PATCH", f"/Users/{target}", body
    expression = draw(st.sampled_from(FILTERS) | st.text(max_size=30)).replace("{email}", email)
    if kind == "search":
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
        body.update(draw(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=3)))
        if draw(st.booleans()):
            body["filter"] = expression
        return "POST", "/Users/.search", body
    count = draw(st.sampled_from(["", "&count=-1", "&count=0", "&startIndex=-5", "&count=x"]))
    return "GET", f"/Users?filter={quote(expression)}{count}", None


def test_no_scim_request_answers_500_and_a_refusal_changes_nothing(client, monkeypatch):
    monkeypatch.setattr(limiter, "enabled", False)
    entra = directory(client)
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Barn")
    hr = factories.with_role(
        factories.employee(unit=unit, email="hr@jarfalla.example"),
        Role.HR,
        municipality_name="Järfälla",
    )
    outsider = factories.employee(unit=factories.unit("Sigtuna", Sector.SCHOOL, "Skolan"))
    created = entra.post("/Users", user_payload(department="IFO Barn"))
    assert created.status_code == 201
    user_id = created.get_json()["id"]
    untouchable = {hr.id: _row(hr.id), outsider.id: _row(outsider.id)}

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests(user_id, "anna.andersson@jarfalla.example"))
    def send_anything(request: tuple[str, str, Any]) -> None:
        method, path, body = request
        before = _state()

        response = entra.request(method, path, body)

        assert response.status_code < 500, response.get_data(as_text=True)
        assert response.mimetype == "application/scim+json"
        if response.status_code >= 400:
            assert response.get_json()["status"] == str(response.status_code)
            assert _state() == before, f"a refused {method} changed something"
        for employee_id, row in untouchable.items():
            assert _row(employee_id) == row

    send_anything()
