"""What Microsoft Entra ID really sends: each of its documented request shapes, as a test.

From Microsoft's "Develop a SCIM endpoint" tutorial and its page on SCIM compatibility:
a filter on userName before each create, a userName that need not be an e-mail address,
PATCH operations with capitalised ``op`` values, ``active`` as the strings "True"/"False",
a path-less replace whose value names attributes (even paths and URNs) as keys, the
enterprise extension's attributes by their full URN path, the manager as a bare id.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy as sa

from tests import factories
from tests.scim_helpers import CORE, ENTERPRISE, Directory, directory
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Employee, Sector

TEST_USER = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
TEST_MAIL = "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"


@pytest.fixture()
def entra(client) -> Directory:
    return directory(client)


def created_by_entra(entra: Directory) -> str:
    """Entra ID's create, exactly as its tutorial shows it: the filter, then the POST."""
    lookup = entra.get("/Users?filter=" + quote(f'userName eq "{TEST_USER}"'))
    assert lookup.status_code == 200
    assert lookup.get_json()["totalResults"] == 0
    response = entra.post(
        "/Users",
        {
            "schemas": [CORE, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": TEST_USER,
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": TEST_MAIL}],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName",
            },
            "roles": [],
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def stored(user_id: str) -> Employee:
    employee = db.session.get(Employee, int(user_id))
    assert employee is not None
    return employee


def test_entra_creates_a_user_after_asking_whether_it_exists(entra):
    user_id = created_by_entra(entra)

    employee = stored(user_id)
    assert (employee.email, employee.first_name, employee.last_name) == (
        TEST_MAIL.lower(),
        "givenName",
        "familyName",
    )
    # The next lookup finds it by its userName (not an e-mail address), in any case.
    found = entra.get("/Users?filter=" + quote(f'userName eq "{TEST_USER.lower()}"'))
    [user] = found.get_json()["Resources"]
    assert (user["id"], user["userName"]) == (user_id, TEST_USER)


def test_entra_updates_multi_and_single_valued_attributes_with_capitalised_ops(entra):
    user_id = created_by_entra(entra)

    response = entra.patch(
        f"/Users/{user_id}",
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updated@jarfalla.se"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"},
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    employee = stored(user_id)
    assert (employee.email, employee.last_name) == ("updated@jarfalla.se", "updatedFamilyName")
    assert response.get_json()["userName"] == "5b50642d@testuser.com"


@pytest.mark.parametrize("false, true", [("False", "True"), (False, True)])
def test_entra_disables_and_enables_a_user_with_active_as_a_string_or_a_boolean(entra, false, true):
    user_id = created_by_entra(entra)

    entra.patch(f"/Users/{user_id}", {"op": "Replace", "path": "active", "value": false})
    employee = stored(user_id)
    assert (employee.active, employee.end_date) == (False, clock.today())

    entra.patch(f"/Users/{user_id}", {"op": "Replace", "path": "active", "value": true})
    employee = stored(user_id)
    assert (employee.active, employee.end_date) == (True, None)


def test_entra_replaces_without_a_path_naming_attributes_paths_and_urns_as_keys(entra):
    unit = factories.unit("Järfälla", Sector.SCHOOL, "Kvarnskolan")
    user_id = created_by_entra(entra)

    response = entra.patch(
        f"/Users/{user_id}",
        {
            "op": "Replace",
            "value": {
                "displayName": "Eva Ek",
                "name.givenName": "Eva",
                "name.familyName": "Ek",
                f"{ENTERPRISE}:employeeNumber": "J-123",
                f"{ENTERPRISE}:department": "Kvarnskolan",
                "active": "False",
            },
        },
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    employee = stored(user_id)
    assert (employee.first_name, employee.last_name) == ("Eva", "Ek")
    assert (employee.employee_number, employee.unit_id, employee.active) == (
        "J-123",
        unit.id,
        False,
    )
    assert response.get_json()["displayName"] == "Eva Ek"


def test_entra_sets_and_removes_the_manager_by_the_enterprise_urn_path(entra):
    manager_id = created_by_entra(entra)
    payload = {
        "schemas": [CORE],
        "userName": "report@jarfalla.se",
        "externalId": "report",
        "emails": [{"type": "work", "value": "report@jarfalla.se", "primary": True}],
        "name": {"givenName": "Rut", "familyName": "Rapport"},
        "active": True,
    }
    report_id = entra.post("/Users", payload).get_json()["id"]

    added = entra.patch(
        f"/Users/{report_id}",
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager_id},
        {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "701984"},
    )

    assert added.status_code == 200, added.get_data(as_text=True)
    assert stored(report_id).manager_id == int(manager_id)
    assert stored(report_id).employee_number == "701984"
    assert added.get_json()[ENTERPRISE]["manager"]["value"] == manager_id
    removed = entra.patch(
        f"/Users/{report_id}",
        {"op": "Remove", "path": f"{ENTERPRISE}:manager", "value": [{"value": manager_id}]},
    )
    assert removed.status_code == 200, removed.get_data(as_text=True)
    assert stored(report_id).manager_id is None


def test_entra_adds_a_work_email_where_there_was_none(entra):
    user_id = created_by_entra(entra)
    entra.patch(f"/Users/{user_id}", {"op": "Remove", "path": "emails"})
    # Without an e-mail address the tracker cannot keep the person: the address stays.
    assert stored(user_id).email == TEST_MAIL.lower()

    response = entra.patch(
        f"/Users/{user_id}",
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "ny@jarfalla.se"},
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored(user_id).email == "ny@jarfalla.se"


def test_entra_deletes_a_user(entra):
    user_id = created_by_entra(entra)

    assert entra.delete(f"/Users/{user_id}").status_code == 204
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Employee)) == 1
    assert stored(user_id).active is False
