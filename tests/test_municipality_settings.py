"""HR (or an admin) decides whether reported-but-unverified completions count in their
municipality's coverage; every change is audited with before and after."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Municipality, Role, Sector
from training_tracker.services.people.municipalities import municipality_in_scope, update_settings

URL = "/employees/settings"


def changes() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "municipality.settings_changed")
            .order_by(AuditEvent.id)
        )
    )


def checked(page: str) -> str | None:
    match = re.search(
        r'<input checked id="count_reported-\d" name="count_reported"[^>]*value="(\d)"', page
    )
    return match.group(1) if match else None


# --- the service ----------------------------------------------------------------------------


def test_update_settings_records_before_and_after():
    me = factories.admin()
    sigtuna = factories.municipality("Sigtuna")
    assert sigtuna.count_reported_in_coverage is True  # the default

    assert update_settings(db.session, sigtuna, count_reported_in_coverage=False, actor=me) == {
        "count_reported_in_coverage": [True, False]
    }
    db.session.commit()
    [event] = changes()
    assert (event.actor_id, event.object_type, event.object_id) == (
        me.id,
        "municipality",
        sigtuna.id,
    )
    assert event.details == {
        "before": {"count_reported_in_coverage": True},
        "after": {"count_reported_in_coverage": False},
    }
    # The same value again changes and records nothing.
    assert update_settings(db.session, sigtuna, count_reported_in_coverage=False, actor=me) == {}
    db.session.commit()
    assert len(changes()) == 1


def test_municipality_in_scope_is_hrs_own_or_any_for_an_admin():
    jarfalla, sigtuna = factories.municipality("Järfälla"), factories.municipality("Sigtuna")
    mine = factories.hr_staff()
    assert municipality_in_scope(db.session, mine, jarfalla.id) is jarfalla
    assert municipality_in_scope(db.session, mine, sigtuna.id) is None
    assert municipality_in_scope(db.session, factories.admin(), sigtuna.id) is sigtuna


# --- the page -------------------------------------------------------------------------------


def test_hr_sees_their_municipalitys_setting(client):
    client.sign_in(factories.hr_staff())
    response = client.get(URL)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Inställningar för Järfälla</h1>" in page
    assert "<legend>Räkna rapporterade men inte godkända kurser i täckningen</legend>" in page
    assert "visas alltid separat" in page
    assert checked(page) == "1"
    assert 'name="municipality"' not in page  # one municipality: no choice
    assert '<label for="count_reported-0">' in page and '<label for="count_reported-1">' in page


def test_hr_turns_the_setting_off_and_it_is_audited(client):
    me = factories.hr_staff()
    client.sign_in(me)
    jarfalla = factories.municipality("Järfälla")
    response = client.post_form(URL, {"count_reported": "0"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Inställningarna för Järfälla är sparade." in page
    assert checked(page) == "0"
    assert db.session.get(Municipality, jarfalla.id).count_reported_in_coverage is False
    [event] = changes()
    assert event.actor_id == me.id and event.object_id == jarfalla.id
    assert event.details["before"] == {"count_reported_in_coverage": True}
    assert event.details["after"] == {"count_reported_in_coverage": False}
    # Another municipality is untouched.
    assert factories.municipality("Sigtuna").count_reported_in_coverage is True


def test_saving_without_a_change_says_so_and_records_nothing(client):
    client.sign_in(factories.hr_staff())
    response = client.post_form(URL, {"count_reported": "1"}, follow_redirects=True)
    assert "Inget ändrades." in response.get_data(as_text=True)
    assert changes() == []


def test_an_empty_or_tampered_answer_is_refused_in_words(client):
    client.sign_in(factories.hr_staff())
    for data in ({}, {"count_reported": "2"}):
        response = client.post_form(URL, data)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "Välj ja eller nej." in page
        assert 'href="#count_reported"' in page  # the error summary leads to the question
        assert 'aria-invalid="true"' in page
    assert changes() == []


def test_hr_cannot_see_or_change_another_municipality(client):
    sigtuna = factories.municipality("Sigtuna")
    client.sign_in(factories.hr_staff())
    assert client.get(f"{URL}?municipality={sigtuna.id}").status_code == 404
    response = client.post_form(f"{URL}?municipality={sigtuna.id}", {"count_reported": "0"})
    assert response.status_code == 404
    assert factories.municipality("Sigtuna").count_reported_in_coverage is True
    assert changes() == []
    for bad in ("abc", "999999", "-1", ""):
        assert client.get(f"{URL}?municipality={bad}").status_code == 404


def test_an_admin_chooses_the_municipality(client):
    sigtuna = factories.municipality("Sigtuna")
    client.sign_in(factories.admin())
    page = client.get(URL).get_data(as_text=True)
    assert '<select id="municipality" name="municipality"' in page
    for name in ("Järfälla", "Sigtuna", "Upplands Väsby"):
        assert f">{name}</option>" in page
    page = client.get(f"{URL}?municipality={sigtuna.id}").get_data(as_text=True)
    assert "<h1>Inställningar för Sigtuna</h1>" in page
    assert f'action="{URL}?municipality={sigtuna.id}"' in page

    response = client.post_form(f"{URL}?municipality={sigtuna.id}", {"count_reported": "0"})
    assert response.status_code == 302
    assert response.location == f"{URL}?municipality={sigtuna.id}"
    assert factories.municipality("Sigtuna").count_reported_in_coverage is False
    assert factories.municipality("Järfälla").count_reported_in_coverage is True


def test_hr_of_two_municipalities_chooses_between_them(client):
    me = factories.with_role(factories.hr_staff(), Role.HR, municipality_name="Sigtuna")
    client.sign_in(me)
    page = client.get(URL).get_data(as_text=True)
    assert ">Järfälla</option>" in page and ">Sigtuna</option>" in page
    assert ">Sollentuna</option>" not in page
    sollentuna = factories.municipality("Sollentuna")
    assert client.get(f"{URL}?municipality={sollentuna.id}").status_code == 404


def test_only_hr_and_admins_reach_the_settings(client):
    unit = factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan")
    coordinator = factories.with_role(
        factories.employee(unit=unit), Role.COORDINATOR, municipality_name="Järfälla"
    )
    client.sign_in(coordinator)
    assert client.get(URL).status_code == 403
    assert client.post_form(URL, {"count_reported": "0"}).status_code == 403
    assert count(AuditEvent, AuditEvent.action == "municipality.settings_changed") == 0


def test_the_employee_list_links_to_the_settings(client):
    client.sign_in(factories.hr_staff())
    page = client.get("/employees/").get_data(as_text=True)
    assert f'href="{URL}"' in page
