"""HR keeps the units of their municipality: name, sector (which decides the courses of the
staff) and whether the unit is still in use."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Assignment, AuditEvent, Employee, Role, Sector, Unit
from training_tracker.services.people import units
from training_tracker.services.training.assignments import recompute_assignments

NCK = "nck-webbkurs-om-vald"
SKOLVERKET = "skolverket-arbeta-mot-hrv"


def hr(municipality: str = "Järfälla") -> Employee:
    unit = factories.unit(municipality, Sector.OTHER, f"HR-avdelningen {municipality}")
    return factories.with_role(
        factories.employee(unit=unit, first_name="Hanna", last_name="Personalsson"),
        Role.HR,
        municipality_name=municipality,
    )


def admin() -> Employee:
    return factories.with_role(factories.employee(system_account=True), Role.ADMIN)


def unit_named(name: str) -> Unit | None:
    return db.session.scalars(sa.select(Unit).where(Unit.name == name)).one_or_none()


def open_courses(person: Employee) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Assignment.course_id).where(
                Assignment.employee_id == person.id, Assignment.removed_at.is_(None)
            )
        )
    )


def test_hr_adds_a_unit_to_their_municipality(client):
    me = hr()
    client.sign_in(me)
    response = client.post_form(
        "/employees/units",
        {"name": "  Viksjö   förskola ", "sector": Sector.SCHOOL.value},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Enheten Viksjö förskola är tillagd." in page
    unit = unit_named("Viksjö förskola")
    assert unit is not None
    assert unit.municipality_id == factories.municipality("Järfälla").id
    assert (unit.sector, unit.active) == (Sector.SCHOOL, True)
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "unit.created")
    ).one()
    assert (event.actor_id, event.object_id) == (me.id, unit.id)
    assert "Skola och förskola" in page


def test_the_unit_list_groups_by_municipality_and_counts_the_staff(client):
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    factories.employee(unit=ifo)
    factories.employee(unit=ifo)
    factories.employee(unit=ifo, active=False)  # has left: not counted
    factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    client.sign_in(hr())
    page = client.get("/employees/units").get_data(as_text=True)
    assert '<h2 id="units-1">Järfälla</h2>' in page
    assert "Centralskolan" not in page
    assert f'href="/employees/?unit={ifo.id}">2<span class="visually-hidden">' in page
    assert 'name="municipality"' not in page  # HR of one municipality adds to their own
    assert "<caption" in page and 'scope="row"' in page


def test_an_admin_sees_every_municipality_and_chooses_one(client):
    factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    client.sign_in(admin())
    page = client.get("/employees/units").get_data(as_text=True)
    assert "IFO Järfälla" in page and "Centralskolan" in page
    assert '<select id="municipality" name="municipality"' in page
    sigtuna = factories.municipality("Sigtuna")
    response = client.post_form(
        "/employees/units",
        {"municipality": str(sigtuna.id), "name": "Märsta IFO", "sector": "socialtjanst"},
    )
    assert response.status_code == 302
    assert unit_named("Märsta IFO").municipality_id == sigtuna.id


def test_an_admin_must_choose_the_municipality(client):
    client.sign_in(admin())
    response = client.post_form(
        "/employees/units", {"municipality": "", "name": "Ny enhet", "sector": "fritid"}
    )
    assert response.status_code == 422
    assert "Välj en kommun." in response.get_data(as_text=True)
    assert unit_named("Ny enhet") is None


@pytest.mark.parametrize("name", ["IFO Järfälla", "ifo järfälla", " IFO  Järfälla "])
def test_a_duplicate_unit_name_is_refused(client, name):
    factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    client.sign_in(hr())
    units_before = count(Unit)
    response = client.post_form("/employees/units", {"name": name, "sector": "socialtjanst"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Det finns redan en enhet som heter" in page
    assert '<a href="#name">' in page
    assert count(Unit) == units_before


def test_the_same_name_is_fine_in_another_municipality(client):
    factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "Elevhälsan")
    client.sign_in(hr())
    response = client.post_form(
        "/employees/units", {"name": "Elevhälsan", "sector": "skola_forskola"}
    )
    assert response.status_code == 302


def test_a_unit_needs_a_name_and_a_sector(client):
    client.sign_in(hr())
    response = client.post_form("/employees/units", {"name": "", "sector": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<a href="#name">' in page and '<a href="#sector">' in page


def test_hr_renames_a_unit(client):
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    me = hr()
    client.sign_in(me)
    form = client.get(f"/employees/units/{unit.id}").get_data(as_text=True)
    assert 'value="IFO"' in form
    assert "räknas kurskraven om direkt" in form  # the sector's help text says what happens
    response = client.post_form(
        f"/employees/units/{unit.id}",
        {"name": "Individ- och familjeomsorgen", "sector": "socialtjanst", "active": "y"},
        follow_redirects=True,
    )
    assert "Enheten är sparad." in response.get_data(as_text=True)
    db.session.refresh(unit)
    assert unit.name == "Individ- och familjeomsorgen"
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "unit.updated")
    ).one()
    assert event.actor_id == me.id
    assert event.details["before"]["name"] == "IFO"
    assert event.details["after"]["name"] == "Individ- och familjeomsorgen"


def test_a_new_sector_changes_what_the_staff_must_take(client):
    catalog = factories.synced_catalog()
    factories.rule(catalog[NCK], sector=Sector.SOCIAL_SERVICES, municipality_name="Järfälla")
    factories.rule(catalog[SKOLVERKET], sector=Sector.SCHOOL, municipality_name="Järfälla")
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "Familjecentralen")
    person = factories.employee(unit=unit)
    recompute_assignments(db.session)
    db.session.commit()
    assert open_courses(person) == {catalog[NCK].id}
    client.sign_in(hr())

    response = client.post_form(
        f"/employees/units/{unit.id}",
        {"name": "Familjecentralen", "sector": "skola_forskola", "active": "y"},
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert "kurskraven för personalen är omräknade" in page
    assert "(tilldelade: 1, ändrade: 0, borttagna: 1)" in page
    assert open_courses(person) == {catalog[SKOLVERKET].id}
    db.session.refresh(unit)
    assert unit.sector == Sector.SCHOOL


def test_a_unit_with_staff_cannot_be_closed(client):
    unit = factories.unit("Järfälla", Sector.LEISURE, "Fritidsgården")
    factories.employee(unit=unit)
    client.sign_in(hr())
    response = client.post_form(
        f"/employees/units/{unit.id}", {"name": "Fritidsgården", "sector": "fritid"}
    )
    assert response.status_code == 422
    assert "1 person arbetar på enheten" in response.get_data(as_text=True)
    db.session.refresh(unit)
    assert unit.active is True


def test_an_empty_unit_is_closed_and_no_longer_offered(client):
    unit = factories.unit("Järfälla", Sector.LEISURE, "Fritidsgården")
    left = factories.employee(unit=unit, active=False)
    left.end_date = clock.today() - timedelta(days=3)
    db.session.commit()
    client.sign_in(hr())
    response = client.post_form(
        f"/employees/units/{unit.id}",
        {"name": "Fritidsgården", "sector": "fritid"},
        follow_redirects=True,
    )
    assert "Avvecklad" in response.get_data(as_text=True)
    db.session.refresh(unit)
    assert unit.active is False
    new_hire_form = client.get("/employees/new").get_data(as_text=True)
    assert "Fritidsgården" not in new_hire_form


def test_hr_of_jarfalla_cannot_reach_a_sigtuna_unit(client):
    unit = factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    client.sign_in(hr())
    assert client.get(f"/employees/units/{unit.id}").status_code == 404
    response = client.post_form(
        f"/employees/units/{unit.id}", {"name": "Kapad", "sector": "fritid", "active": "y"}
    )
    assert response.status_code == 404
    db.session.refresh(unit)
    assert (unit.name, unit.sector) == ("Centralskolan", Sector.SCHOOL)


def test_an_admin_edits_any_unit(client):
    unit = factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    client.sign_in(admin())
    response = client.post_form(
        f"/employees/units/{unit.id}",
        {"name": "Centralskolan F–9", "sector": "skola_forskola", "active": "y"},
    )
    assert response.status_code == 302
    db.session.refresh(unit)
    assert unit.name == "Centralskolan F–9"


def test_the_service_reports_what_changed(app):
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    result = units.update_unit(
        db.session, unit, name="IFO", sector=Sector.SOCIAL_SERVICES, active=True, actor=None
    )
    assert result.changes == {} and result.assignments is None
    result = units.update_unit(
        db.session, unit, name="IFO Väst", sector=Sector.OTHER, active=True, actor=None
    )
    assert result.changes == {"name": ["IFO", "IFO Väst"], "sector": ["socialtjanst", "ovrigt"]}
    assert result.assignments is not None and result.assignments.total == 0
