"""The SCIM answers are built as plain JSON (``mapping.user_body``): validating the stored
user into the scim2-models classes and serialising it again cost more than the rest of a
create. These tests hold that JSON to what the models give (``mapping.to_user`` serialised for
a response), user by user, across what directories send and what HR changes afterwards, and
the answers with ``attributes`` or ``excludedAttributes`` (which still go through the models)
to the same."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from scim2_models import Context, ResponseParameters

from tests import factories
from tests.scim_helpers import CORE, ENTERPRISE, Directory, directory, user_payload
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Employee, ScimLink, ScimToken, Sector
from training_tracker.services.people.scim.mapping import to_user, user_body


@pytest.fixture()
def entra(client) -> Directory:
    return directory(client)


def _reference(employee: Employee, *, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The answer as the SCIM models write it."""
    link = db.session.get(ScimLink, employee.id)
    token = db.session.scalars(sa.select(ScimToken)).first()
    assert token is not None
    location = f"http://localhost/scim/v2/Users/{employee.id}"
    user = to_user(employee, link, token, location)
    chosen = ResponseParameters.model_validate(parameters) if parameters else None
    return user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=chosen)


def _plain(employee: Employee) -> dict[str, Any]:
    link = db.session.get(ScimLink, employee.id)
    token = db.session.scalars(sa.select(ScimToken)).first()
    assert token is not None
    return user_body(employee, link, token, f"http://localhost/scim/v2/Users/{employee.id}")


def _everyone() -> list[Employee]:
    return list(db.session.scalars(sa.select(Employee).order_by(Employee.id)))


def _sent(entra: Directory) -> list[dict[str, Any]]:
    """Users as directories send them, plain and odd."""
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Barn och unga")
    manager = entra.post("/Users", user_payload("chef@jarfalla.example", external_id="m"))
    manager_id = manager.get_json()["id"]
    several = user_payload("flera@jarfalla.example", external_id="f")
    several["emails"] = [
        {"value": "hemma@example.com", "type": "home", "primary": True},
        {"value": "Flera@Jarfalla.example", "type": "work"},
        {"value": "annan@example.com", "type": "other", "display": "Annan"},
    ]
    no_display_name = user_payload("utan.visning@jarfalla.example", external_id="n")
    del no_display_name["displayName"], no_display_name["active"]
    other_user_name = user_payload("E12345", external_id="o", email="o@jarfalla.example")
    bare = {
        "schemas": [CORE],
        "userName": "bara@jarfalla.example",
        "name": {"givenName": "Bara", "familyName": "Namn"},
        "emails": [{"value": "bara@jarfalla.example"}],
    }
    unknown_extras = user_payload("extra@jarfalla.example", external_id="x")
    unknown_extras["title"] = "Socialsekreterare"
    unknown_extras["phoneNumbers"] = [{"value": "08-123"}]
    unknown_extras[ENTERPRISE] = {"costCenter": "42", "department": "Okänd avdelning"}
    unknown_extras["schemas"] = [CORE, ENTERPRISE]
    return [
        user_payload(
            "anna.andersson@jarfalla.example",
            department=unit.name,
            employee_number="J-1",
            manager=manager_id,
            hire_date="2026-01-05T00:00:00Z",
        ),
        user_payload("leaver@jarfalla.example", external_id="l", active=False),
        user_payload("english@jarfalla.example", external_id="e", language="en-GB"),
        user_payload("unknown@jarfalla.example", external_id="u", language="fi-FI"),
        user_payload("nolanguage@jarfalla.example", external_id="z", language=None),
        user_payload("odd.date@jarfalla.example", external_id="d", hire_date="snart"),
        user_payload("bare.date@jarfalla.example", external_id="b", hire_date="2025-08-17"),
        user_payload("manager.gone@jarfalla.example", external_id="g", manager="99999999"),
        user_payload("manager.else@jarfalla.example", external_id="y", manager="not-an-id"),
        several,
        no_display_name,
        other_user_name,
        bare,
        unknown_extras,
    ]


def test_the_plain_answer_is_the_models_answer_for_what_directories_send(entra):
    for payload in _sent(entra):
        response = entra.post("/Users", payload)
        assert response.status_code == 201, response.get_data(as_text=True)
        employee = db.session.get(Employee, int(response.get_json()["id"]))
        assert response.get_json() == _reference(employee), payload
    factories.employee(email="enrolled.by.hr@jarfalla.example")  # no link: HR's own
    people = _everyone()
    assert len(people) >= 16
    for employee in people:
        assert _plain(employee) == _reference(employee), employee.email


def test_the_plain_answer_is_the_models_answer_after_hr_changes_people(entra):
    for payload in _sent(entra):
        assert entra.post("/Users", payload).status_code == 201
    other_unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "Äldreomsorg Norr")
    today = clock.today()
    for n, employee in enumerate(_everyone()):
        # What HR may change afterwards, a different change for each.
        change = 1 if employee.email.startswith("flera") else n % 5  # other addresses too
        if change == 0:
            employee.first_name, employee.last_name = "Ändrad", "Efternamn"
        elif change == 1:
            employee.email = f"ny.adress.{n}@jarfalla.example"
        elif change == 2:
            employee.unit, employee.manager_id = other_unit, None
        elif change == 3:
            employee.preferred_language = "en" if employee.preferred_language == "sv" else "sv"
            employee.hire_date = date(2024, 2, 29)
        else:
            employee.end_date = today - timedelta(days=1)
            employee.employee_number = None
    db.session.commit()
    for employee in _everyone():
        assert _plain(employee) == _reference(employee), employee.email
        answer = entra.get(f"/Users/{employee.id}")
        assert answer.get_json() == _reference(employee), employee.email


def test_answers_with_chosen_attributes_are_the_models_answers(entra):
    for payload in _sent(entra)[:4]:
        assert entra.post("/Users", payload).status_code == 201
    people = _everyone()
    for query, parameters in (
        ("attributes=userName", {"attributes": "userName"}),
        ("attributes=emails,name.givenName", {"attributes": "emails,name.givenName"}),
        ("excludedAttributes=emails", {"excludedAttributes": "emails"}),
        (f"attributes={ENTERPRISE}:department", {"attributes": f"{ENTERPRISE}:department"}),
    ):
        for employee in people:
            answer = entra.get(f"/Users/{employee.id}?{query}")
            assert answer.get_json() == _reference(employee, parameters=parameters), query
        listed = entra.get(f"/Users?{query}").get_json()["Resources"]
        assert listed == [_reference(e, parameters=parameters) for e in people], query
    listed = entra.get("/Users").get_json()
    assert listed["Resources"] == [_reference(e) for e in people]
    assert (listed["totalResults"], listed["startIndex"], listed["itemsPerPage"]) == (
        len(people),
        1,
        len(people),
    )
