"""The start page gives each role what it came for, counted over what it may see."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests import factories
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import CompletionStatus, Role, Sector
from training_tracker.services.assignments import recompute_assignments


@pytest.fixture()
def staffed():
    """NCK required of social services. In Järfälla's IFO: Ali verified, Bea overdue, Cem
    reported and due later; in Sigtuna's IFO: Eva, not started."""
    courses = factories.synced_catalog()
    nck = courses["nck-webbkurs-om-vald"]
    factories.rule(nck, sector=Sector.SOCIAL_SERVICES, due_days=30)
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    marsta = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Märsta")
    long_ago = clock.today() - timedelta(days=400)
    ali = factories.employee(unit=ifo, first_name="Ali", hire_date=long_ago)
    bea = factories.employee(unit=ifo, first_name="Bea", hire_date=long_ago)
    cem = factories.employee(unit=ifo, first_name="Cem", hire_date=clock.today())
    eva = factories.employee(unit=marsta, first_name="Eva", hire_date=clock.today())
    recompute_assignments(db.session)
    db.session.commit()
    factories.completion(ali, nck, status=CompletionStatus.VERIFIED)
    factories.completion(cem, nck, status=CompletionStatus.REPORTED)
    return {"ifo": ifo, "marsta": marsta, "ali": ali, "bea": bea, "cem": cem, "eva": eva}


def row(page: str, name: str) -> list[str]:
    match = re.search(rf"<th scope=\"row\">{re.escape(name)}</th>(.*?)</tr>", page, re.S)
    assert match, f"no row for {name}"
    return re.findall(r'<td class="num">([^<]*)</td>', match.group(1))


def test_an_employee_sees_their_courses_with_status_and_a_link(client, staffed):
    client.sign_in(staffed["bea"])
    page = client.get("/").get_data(as_text=True)
    assert "Mina utbildningar" in page
    assert "Webbkurs om våld" in page
    assert "Försenad" in page
    assert 'href="https://nck.uu.se/' in page
    assert "Min enhet" not in page and "Kommuner" not in page


def test_a_rejected_report_asks_the_employee_to_report_again(client, staffed):
    nck = factories.synced_catalog()["nck-webbkurs-om-vald"]
    factories.completion(staffed["bea"], nck, status=CompletionStatus.REJECTED)
    client.sign_in(staffed["bea"])
    page = client.get("/").get_data(as_text=True)
    assert "Rapporten avvisades, rapportera igen" in page
    assert "Öppna kursen" in page


def test_an_expired_completion_asks_for_the_course_again(client, staffed):
    nck = factories.synced_catalog()["nck-webbkurs-om-vald"]
    old = factories.completion(staffed["bea"], nck, completed_on=clock.today() - timedelta(800))
    old.expires_on = clock.today() - timedelta(days=35)
    db.session.commit()
    client.sign_in(staffed["bea"])
    page = client.get("/").get_data(as_text=True)
    assert "Har gått ut, gå kursen igen" in page
    assert (clock.today() - timedelta(days=35)).isoformat() in page


def test_a_verified_course_shows_as_done_without_a_link(client, staffed):
    client.sign_in(staffed["ali"])
    page = client.get("/").get_data(as_text=True)
    assert "Klar och godkänd" in page
    assert "Öppna kursen" not in page


def test_a_manager_sees_their_unit_counted(client, staffed):
    boss = factories.with_role(
        factories.employee(unit=staffed["ifo"], first_name="Boss", password=factories.PASSWORD),
        Role.MANAGER,
        on_unit=staffed["ifo"],
    )
    client.sign_in(boss)
    page = client.get("/").get_data(as_text=True)
    assert "Min enhet" in page
    # employees, required, verified, reported, overdue, coverage (the boss joined after sync)
    assert row(page, "IFO Järfälla") == ["4", "3", "1", "1", "1", "67 %"]
    assert "IFO Märsta" not in page


def test_hr_sees_the_units_of_their_municipality_only(client, staffed):
    hr = factories.with_role(
        factories.employee(unit=staffed["ifo"], first_name="Hedda"),
        Role.HR,
        municipality_name="Järfälla",
    )
    client.sign_in(hr)
    page = client.get("/").get_data(as_text=True)
    assert "IFO Järfälla" in page
    assert "IFO Märsta" not in page
    assert row(page, "Järfälla")[0] == "4"
    assert "Sigtuna" not in re.sub(r"<footer.*", "", page, flags=re.S)


def test_a_regional_coordinator_sees_every_municipality_but_no_people(client, staffed):
    regional = factories.with_role(
        factories.employee(unit=staffed["marsta"], first_name="Rut"), Role.COORDINATOR
    )
    client.sign_in(regional)
    page = client.get("/").get_data(as_text=True)
    assert row(page, "Järfälla") == ["3", "3", "1", "1", "1", "67 %"]
    assert row(page, "Sigtuna") == ["2", "1", "0", "0", "0", "0 %"]
    assert "Bea" not in page


def test_leavers_drop_out_of_the_counts(client, staffed):
    staffed["bea"].active = False
    staffed["bea"].end_date = clock.today() - timedelta(days=1)
    db.session.commit()
    regional = factories.with_role(
        factories.employee(unit=staffed["marsta"], first_name="Rut"), Role.COORDINATOR
    )
    client.sign_in(regional)
    page = client.get("/").get_data(as_text=True)
    assert row(page, "Järfälla") == ["2", "2", "1", "1", "0", "100 %"]


def test_an_admin_gets_the_administration_links(client, staffed):
    client.sign_in(factories.with_role(factories.employee(system_account=True), Role.ADMIN))
    page = client.get("/").get_data(as_text=True)
    assert "Roller och behörigheter" in page
    assert "IFO Järfälla (Järfälla)" in page and "IFO Märsta (Sigtuna)" in page
