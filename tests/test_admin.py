"""Admins grant and revoke roles with their scope; the catalogue page lists the courses."""

from __future__ import annotations

import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Role, RoleGrant, Sector


def admin():
    return factories.with_role(factories.employee(system_account=True), Role.ADMIN)


def test_an_admin_grants_hr_of_a_municipality(client):
    client.sign_in(admin())
    person = factories.employee(email="hedda.hr@test.example")
    sigtuna = factories.municipality("Sigtuna")
    response = client.post_form(
        "/admin/roles",
        {"email": "Hedda.HR@test.example", "role": "hr", "municipality": str(sigtuna.id)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Rollen är given till" in response.get_data(as_text=True)
    grant = db.session.scalars(sa.select(RoleGrant).where(RoleGrant.employee_id == person.id)).one()
    assert (grant.role, grant.municipality_id, grant.unit_id) == (Role.HR, sigtuna.id, None)
    assert db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "roles.granted")
    ).first()


def test_granting_to_an_unknown_email_is_refused_with_a_message(client):
    client.sign_in(admin())
    before = count(RoleGrant)
    response = client.post_form("/admin/roles", {"email": "nobody@test.example", "role": "admin"})
    assert response.status_code == 422
    assert "Det finns ingen person med den e-postadressen." in response.get_data(as_text=True)
    assert count(RoleGrant) == before


def test_a_manager_needs_a_unit(client):
    client.sign_in(admin())
    person = factories.employee()
    response = client.post_form("/admin/roles", {"email": person.email, "role": "manager"})
    assert response.status_code == 422
    assert "En chef måste ha en enhet." in response.get_data(as_text=True)
    assert not db.session.scalars(
        sa.select(RoleGrant).where(RoleGrant.employee_id == person.id)
    ).all()


def test_a_coordinator_without_municipality_covers_the_region(client):
    client.sign_in(admin())
    person = factories.employee()
    client.post_form("/admin/roles", {"email": person.email, "role": "coordinator"})
    grant = db.session.scalars(sa.select(RoleGrant).where(RoleGrant.employee_id == person.id)).one()
    assert grant.is_regional


def test_granting_the_same_role_twice_changes_nothing(client):
    client.sign_in(admin())
    unit = factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan")
    person = factories.employee(unit=unit)
    for _ in range(2):
        client.post_form(
            "/admin/roles", {"email": person.email, "role": "manager", "unit": str(unit.id)}
        )
    assert (
        len(
            db.session.scalars(sa.select(RoleGrant).where(RoleGrant.employee_id == person.id)).all()
        )
        == 1
    )


def test_an_admin_revokes_a_role_and_the_page_says_so(client):
    client.sign_in(admin())
    person = factories.with_role(factories.employee(), Role.HR, municipality_name="Järfälla")
    grant_id = person.role_grants[0].id
    response = client.post_form(f"/admin/roles/{grant_id}/revoke", follow_redirects=True)
    assert "Rollen är borttagen." in response.get_data(as_text=True)
    assert db.session.get(RoleGrant, grant_id) is None


def test_the_last_admin_cannot_remove_themselves(client):
    me = admin()
    client.sign_in(me)
    grant_id = me.role_grants[0].id
    response = client.post_form(f"/admin/roles/{grant_id}/revoke", follow_redirects=True)
    assert "Du kan inte ta bort den sista administratören." in response.get_data(as_text=True)
    assert db.session.get(RoleGrant, grant_id) is not None


def test_removing_a_role_from_the_list_asks_first(client):
    """The list offers a link to a question, not a button that removes the role at once."""
    client.sign_in(admin())
    person = factories.with_role(
        factories.employee(first_name="Hugo", last_name="Personal"),
        Role.HR,
        municipality_name="Järfälla",
    )
    grant_id = person.role_grants[0].id

    page = client.get("/admin/roles").get_data(as_text=True)

    assert f'action="/admin/roles/{grant_id}/revoke"' not in page
    assert f'href="/admin/roles/{grant_id}/revoke"' in page
    question = client.get(f"/admin/roles/{grant_id}/revoke")
    html = question.get_data(as_text=True)
    assert question.status_code == 200
    assert "<h1>Ta bort rollen?</h1>" in html
    assert f"Hugo Personal ({person.email}) förlorar rollen HR för Järfälla." in html
    assert "kommunens personal, krav och rapporter" in html
    assert f'<form method="post" action="/admin/roles/{grant_id}/revoke"' in html
    assert "Ja, ta bort rollen</button>" in html
    assert '<a href="/admin/roles" class="button button-secondary">Avbryt</a>' in html
    assert db.session.get(RoleGrant, grant_id) is not None  # asking changed nothing


def test_confirming_removes_the_role(client):
    client.sign_in(admin())
    person = factories.with_role(factories.employee(), Role.COORDINATOR)
    grant_id = person.role_grants[0].id
    assert "hela regionen" in client.get(f"/admin/roles/{grant_id}/revoke").get_data(as_text=True)

    response = client.post_form(f"/admin/roles/{grant_id}/revoke", follow_redirects=True)

    assert "Rollen är borttagen." in response.get_data(as_text=True)
    assert db.session.get(RoleGrant, grant_id) is None
    assert client.get(f"/admin/roles/{grant_id}/revoke").status_code == 404


def test_the_question_warns_an_admin_removing_their_own_role(client):
    me = admin()
    factories.with_role(factories.employee(), Role.ADMIN)  # another admin remains
    client.sign_in(me)

    html = client.get(f"/admin/roles/{me.role_grants[0].id}/revoke").get_data(as_text=True)

    assert "Det är din egen roll: du förlorar själv det den ger." in html
    assert "Ja, ta bort rollen" in html


def test_the_last_admin_is_told_before_asking_that_the_role_cannot_be_removed(client):
    me = admin()
    client.sign_in(me)

    html = client.get(f"/admin/roles/{me.role_grants[0].id}/revoke").get_data(as_text=True)

    assert "<h1>Rollen kan inte tas bort</h1>" in html
    assert "Du kan inte ta bort den sista administratören." in html
    assert "Ja, ta bort rollen" not in html
    assert '<form method="post" action="/admin/roles/' not in html


def test_the_catalogue_page_lists_the_synced_courses(client):
    factories.synced_catalog()
    client.sign_in(admin())
    page = client.get("/admin/courses").get_data(as_text=True)
    for title in ("Webbkurs om våld", "Arbeta mot hedersrelaterat våld och förtryck"):
        assert title in page


def test_create_admin_from_the_command_line(runner):
    result = runner.invoke(
        args=["users", "create-admin", "Boss@Kommun.example", "--password-stdin"],
        input="ett långt och ovanligt lösenord\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "admin\tboss@kommun.example"
    from training_tracker.services.people import accounts

    person = accounts.authenticate(
        db.session, "boss@kommun.example", "ett långt och ovanligt lösenord"
    )
    assert person is not None and person.has_role(Role.ADMIN)


def test_create_admin_refuses_a_weak_password(runner):
    result = runner.invoke(
        args=["users", "create-admin", "boss@kommun.example", "--password-stdin"],
        input="password\n",
    )
    assert result.exit_code != 0
    assert "minst 12 tecken" in result.output
