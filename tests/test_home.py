"""The start page gives each role what it came for, counted over what it may see."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import counting_statements
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Completion, CompletionStatus, Employee, Role, Sector
from training_tracker.services.reporting import dashboard
from training_tracker.services.training.assignments import recompute_assignments


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
    """The figures of the summary row named ``name`` (its name may be a link)."""
    match = re.search(
        rf"<th scope=\"row\">(?:<a [^>]*>)?{re.escape(name)}(?:</a>)?</th>(.*?)</tr>", page, re.S
    )
    assert match, f"no row for {name}"
    return re.findall(r'<td class="num"[^>]*>([^<]*)</td>', match.group(1))


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
    assert '<span class="badge badge-warn">Rapporten avvisades</span>' in page
    assert "Öppna kursen" in page and "Rapportera igen" in page


def test_an_expired_completion_asks_for_the_course_again(client, staffed):
    nck = factories.synced_catalog()["nck-webbkurs-om-vald"]
    old = factories.completion(staffed["bea"], nck, completed_on=clock.today() - timedelta(800))
    old.expires_on = clock.today() - timedelta(days=35)
    db.session.commit()
    client.sign_in(staffed["bea"])
    page = client.get("/").get_data(as_text=True)
    assert '<span class="badge badge-warn">Har gått ut</span>' in page and "Öppna kursen" in page
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


def start_page_of_jarfallas_hr(client, staffed) -> str:  # type: ignore[no-untyped-def]
    hr = factories.with_role(
        factories.employee(unit=staffed["ifo"], first_name="Hedda"),
        Role.HR,
        municipality_name="Järfälla",
    )
    client.sign_in(hr)
    return client.get("/").get_data(as_text=True)


def test_hr_sees_the_units_of_their_municipality_only(client, staffed):
    page = start_page_of_jarfallas_hr(client, staffed)
    assert "IFO Järfälla" in page
    assert "IFO Märsta" not in page
    assert row(page, "Järfälla")[0] == "4"
    assert "Sigtuna" not in re.sub(r"<footer.*", "", page, flags=re.S)


def test_hr_opens_a_unit_or_the_municipality_from_the_start_page(client, staffed):
    """HR's first question is who is missing: the municipality and its units come before
    HR's own courses, and each opens its report (the units their people, the municipality its
    sectors)."""
    page = start_page_of_jarfallas_hr(client, staffed)
    ifo = staffed["ifo"]
    unit_link = f'<a href="/reports/units/{ifo.id}">IFO Järfälla</a>'
    municipality_link = (
        f'<a href="/reports/?view=sector&amp;municipality_id={ifo.municipality_id}">Järfälla</a>'
    )
    assert unit_link in page and municipality_link in page
    assert page.index("Kommuner") < page.index("Enheter") < page.index("Mina utbildningar")
    sectors = f"/reports/?view=sector&municipality_id={ifo.municipality_id}"
    assert client.get(f"/reports/units/{ifo.id}").status_code == 200
    assert client.get(sectors).status_code == 200


def test_a_regional_coordinator_sees_every_municipality_but_no_people(client, staffed):
    regional = factories.with_role(
        factories.employee(unit=staffed["marsta"], first_name="Rut"), Role.COORDINATOR
    )
    client.sign_in(regional)
    page = client.get("/").get_data(as_text=True)
    # Järfälla's 3 people are too few to show outside Järfälla; Sigtuna is Rut's own.
    assert row(page, "Järfälla") == []
    # A withheld row opens nothing: its figures are not shown anywhere.
    assert re.search(r"<th scope=\"row\">Järfälla</th>\s*<td[^>]*>färre än 5</td>", page)
    assert row(page, "Sigtuna") == ["2", "1", "0", "0", "0", "0 %"]
    assert "Bea" not in page


def test_leavers_drop_out_of_the_counts(client, staffed):
    staffed["bea"].active = False
    staffed["bea"].end_date = clock.today() - timedelta(days=1)
    db.session.commit()
    coordinator = factories.with_role(
        factories.employee(unit=staffed["marsta"], first_name="Rut"),
        Role.COORDINATOR,
        municipality_name="Järfälla",
    )
    client.sign_in(coordinator)
    page = client.get("/").get_data(as_text=True)
    assert row(page, "Järfälla") == ["2", "2", "1", "1", "0", "100 %"]


def test_an_admin_gets_the_administration_links(client, staffed):
    client.sign_in(factories.with_role(factories.employee(system_account=True), Role.ADMIN))
    page = client.get("/").get_data(as_text=True)
    assert "Roller och behörigheter" in page
    assert "IFO Järfälla (Järfälla)" in page and "IFO Märsta (Sigtuna)" in page


# Mina utbildningar: other courses, reporting one more, the history of reports.


def section(page: str, heading_id: str) -> str:
    match = re.search(rf'<section aria-labelledby="{heading_id}".*?</section>', page, re.S)
    assert match, f"no section {heading_id}"
    return match.group(0)


def completion_links(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'href="/my/completions/(\d+)"', html)]


def test_each_required_course_shows_its_provider_due_date_and_days(client, staffed):
    client.sign_in(staffed["bea"])
    page = client.get("/").get_data(as_text=True)
    mine = section(page, "my-courses-heading")
    assert "Nationellt centrum för kvinnofrid" in mine
    assert "dagar sedan sista dag" in mine
    assert "Sista dag:" in mine and "<time datetime=" in mine


def test_a_reported_course_links_to_its_report(client, staffed):
    nck = factories.synced_catalog()["nck-webbkurs-om-vald"]
    reported = db.session.scalars(
        sa.select(Completion).where(
            Completion.employee_id == staffed["cem"].id, Completion.course_id == nck.id
        )
    ).one()
    client.sign_in(staffed["cem"])
    mine = section(client.get("/").get_data(as_text=True), "my-courses-heading")
    assert "Rapporterad, väntar på godkännande" in mine
    assert completion_links(mine) == [reported.id]
    assert "Visa din rapport" in mine


def test_a_course_not_required_but_completed_is_listed_apart(client, staffed):
    courses = factories.synced_catalog()
    school = courses["skolverket-arbeta-mot-hrv"]
    voluntary = factories.completion(
        staffed["bea"], school, status=CompletionStatus.VERIFIED, completed_on=date(2026, 1, 20)
    )
    withdrawn = factories.completion(
        staffed["bea"], courses["webbkursheder-hrv"], status=CompletionStatus.WITHDRAWN
    )
    client.sign_in(staffed["bea"])
    page = client.get("/").get_data(as_text=True)
    others = section(page, "other-courses-heading")
    assert "Andra kurser du har gått" in others
    assert school.title in others and "Klar och godkänd" in others
    assert '<time datetime="2026-01-20">' in others
    assert completion_links(others) == [voluntary.id]
    assert courses["webbkursheder-hrv"].title not in others  # withdrawn completes nothing
    assert withdrawn.id in completion_links(section(page, "history-heading"))
    # the required course stays first, and in its own section
    mine = section(page, "my-courses-heading")
    assert school.title not in mine
    assert page.index("my-courses-heading") < page.index("other-courses-heading")


def test_any_other_course_can_be_reported_from_the_start_page(client, staffed):
    client.sign_in(staffed["ali"])
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<a class="button[^"]*" href="/my/report">Rapportera en annan kurs</a>', page)
    assert "other-courses-heading" not in page  # nothing voluntary yet


def test_the_history_lists_every_report_newest_first(client, staffed):
    courses = factories.synced_catalog()
    nck, school = courses["nck-webbkurs-om-vald"], courses["skolverket-arbeta-mot-hrv"]
    bea = staffed["bea"]
    oldest = factories.completion(bea, school, completed_on=date(2024, 3, 1))
    middle = factories.completion(
        bea, nck, status=CompletionStatus.WITHDRAWN, completed_on=date(2025, 5, 5)
    )
    newest = factories.completion(
        bea, nck, status=CompletionStatus.REPORTED, completed_on=clock.today() - timedelta(1)
    )
    client.sign_in(bea)
    history = section(client.get("/").get_data(as_text=True), "history-heading")
    assert completion_links(history) == [newest.id, middle.id, oldest.id]
    assert "Återkallad" in history and "Godkänd" in history
    assert history.count("Rapporterad, väntar på godkännande") == 1


def test_the_history_shows_a_rejection_with_its_reason(client, staffed):
    nck = factories.synced_catalog()["nck-webbkurs-om-vald"]
    rejected = factories.completion(staffed["bea"], nck, status=CompletionStatus.REJECTED)
    rejected.rejection_reason = "Intyget gäller en annan person."
    db.session.commit()
    client.sign_in(staffed["bea"])
    page = client.get("/").get_data(as_text=True)
    history = section(page, "history-heading")
    assert completion_links(history) == [rejected.id]
    assert "Avvisad" in history and "Intyget gäller en annan person." in history
    mine = section(page, "my-courses-heading")
    assert "Se varför rapporten avvisades" in mine and completion_links(mine) == [rejected.id]


def test_a_superseded_or_expired_completion_stays_in_the_history(client, staffed):
    nck = factories.synced_catalog()["nck-webbkurs-om-vald"]
    ali = staffed["ali"]
    first = db.session.scalars(sa.select(Completion).where(Completion.employee_id == ali.id)).one()
    first.completed_on = clock.today() - timedelta(days=300)
    expired = factories.completion(ali, nck, completed_on=clock.today() - timedelta(days=900))
    expired.expires_on = clock.today() - timedelta(days=100)
    latest = factories.completion(ali, nck, completed_on=clock.today() - timedelta(days=2))
    db.session.commit()
    client.sign_in(ali)
    page = client.get("/").get_data(as_text=True)
    mine = section(page, "my-courses-heading")
    assert "Klar och godkänd" in mine and completion_links(mine) == [latest.id]
    history = section(page, "history-heading")
    assert completion_links(history) == [latest.id, first.id, expired.id]
    entries = re.findall(r'<li class="history-entry">.*?</li>', history, re.S)
    assert "Ersatt av en senare rapport" not in entries[0]
    assert "Ersatt av en senare rapport av samma kurs." in entries[1]
    assert "Har gått ut" in entries[2]
    assert (clock.today() - timedelta(days=100)).isoformat() in entries[2]


def test_another_employees_completions_are_never_shown(client, staffed):
    courses = factories.synced_catalog()
    theirs = [
        factories.completion(staffed["ali"], courses["skolverket-arbeta-mot-hrv"]),
        factories.completion(
            staffed["eva"], courses["webbkursheder-hrv"], status=CompletionStatus.REJECTED
        ),
    ]
    client.sign_in(staffed["bea"])
    page = client.get("/").get_data(as_text=True)
    assert completion_links(page) == []
    assert "other-courses-heading" not in page
    assert "Du har inte rapporterat någon kurs ännu." in page
    for completion in theirs:
        assert completion.course.title not in page


def test_the_overview_takes_the_same_queries_however_long_the_history(staffed):
    courses = list(factories.synced_catalog().values())
    bea, cem = staffed["bea"], staffed["cem"]
    bea_id, cem_id = bea.id, cem.id
    factories.completion(bea, courses[1])
    for index in range(12):
        factories.completion(
            cem,
            courses[index % len(courses)],
            status=list(CompletionStatus)[index % len(CompletionStatus)],
            completed_on=clock.today() - timedelta(days=10 + index),
        )

    today = clock.today()

    def statements_for(person_id: int) -> tuple[int, dashboard.MyOverview]:
        db.session.expunge_all()  # nothing already loaded: every query is counted
        with counting_statements() as statements:
            overview = dashboard.my_overview(db.session, db.session.get(Employee, person_id), today)
        return len(statements), overview

    few, for_bea = statements_for(bea_id)
    many, for_cem = statements_for(cem_id)
    assert (len(for_bea.history), len(for_cem.history)) == (1, 13)
    assert few == many <= 3  # the employee, their assignments, their completions


def test_a_course_no_longer_required_moves_to_the_other_courses(client, staffed):
    courses = factories.synced_catalog()
    school = courses["skolverket-arbeta-mot-hrv"]
    ended = factories.assignment(staffed["bea"], school)
    ended.removed_at = clock.utcnow()
    expired = factories.completion(staffed["bea"], school, completed_on=date(2023, 1, 10))
    expired.expires_on = date(2025, 1, 10)
    db.session.commit()
    client.sign_in(staffed["bea"])
    page = client.get("/").get_data(as_text=True)
    assert school.title not in section(page, "my-courses-heading")
    others = section(page, "other-courses-heading")
    assert school.title in others and "Har gått ut" in others
    assert 'Gick ut: <time datetime="2025-01-10">' in others
    assert completion_links(others) == [expired.id]
