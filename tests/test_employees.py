"""HR enrolls, finds, edits and lets go of employees; assigns and exempts one course at a time.

Every page and action is reached through the scope of the signed-in user: HR of Järfälla works
with Järfälla's staff, an admin with everyone's.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    AssignmentSource,
    AuditEvent,
    CompletionStatus,
    Employee,
    OutboxMessage,
    Role,
    Sector,
)

NCK = "nck-webbkurs-om-vald"


def hr(municipality: str = "Järfälla", **kwargs) -> Employee:
    unit = factories.unit(municipality, Sector.OTHER, f"HR-avdelningen {municipality}")
    person = factories.employee(unit=unit, first_name="Hanna", last_name="Personalsson", **kwargs)
    return factories.with_role(person, Role.HR, municipality_name=municipality)


def admin() -> Employee:
    person = factories.employee(system_account=True, first_name="Ada", last_name="Admin")
    return factories.with_role(person, Role.ADMIN)


def new_hire(unit, /, **overrides) -> dict[str, str]:
    data = {
        "first_name": "Lisa",
        "last_name": "Berg",
        "email": "lisa.berg@jarfalla.example",
        "unit": str(unit.id),
        "hire_date": (clock.today() - timedelta(days=2)).isoformat(),
        "employee_number": "J-1001",
        "manager_email": "",
        "end_date": "",
        "language": "sv",
        "send_invitation": "y",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def edit_data(person: Employee, /, **overrides) -> dict[str, str]:
    data = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "municipality": str(person.municipality_id),  # read when the user has a choice
        "unit": str(person.unit_id),
        "hire_date": person.hire_date.isoformat() if person.hire_date else "",
        "employee_number": person.employee_number or "",
        "manager_email": person.manager.email if person.manager else "",
        "end_date": person.end_date.isoformat() if person.end_date else "",
        "language": person.preferred_language,
    }
    data.update(overrides)
    return data


def by_email(email: str) -> Employee | None:
    return db.session.scalars(sa.select(Employee).where(Employee.email == email)).one_or_none()


def events(action: str, subject: Employee | None = None) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(AuditEvent.action == action)
    if subject is not None:
        query = query.where(AuditEvent.subject_employee_id == subject.id)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def assignments_of(person: Employee) -> list[Assignment]:
    return list(
        db.session.scalars(
            sa.select(Assignment).where(Assignment.employee_id == person.id).order_by(Assignment.id)
        )
    )


def names_in_order(html: str) -> list[str]:
    """The people of the list, top to bottom, as the row headers show them."""
    return re.findall(r'<th scope="row"><a href="/employees/\d+">([^<]+)</a>', html)


@pytest.fixture()
def courses():
    return factories.synced_catalog()


@pytest.fixture()
def social_unit():
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")


# --- enrolling a new hire -------------------------------------------------------------------


def test_hr_enrolls_a_new_hire_who_gets_the_required_courses_and_a_welcome_mail(
    client, courses, social_unit
):
    factories.rule(courses[NCK], sector=Sector.SOCIAL_SERVICES, due_days=30)
    me = hr()
    client.sign_in(me)
    hire_date = clock.today() - timedelta(days=2)

    response = client.post_form("/employees/new", new_hire(social_unit))

    person = by_email("lisa.berg@jarfalla.example")
    assert person is not None
    assert response.status_code == 302
    assert response.location == f"/employees/{person.id}"
    assert (person.unit_id, person.municipality_id) == (social_unit.id, social_unit.municipality_id)
    assert (person.hire_date, person.employee_number, person.active) == (hire_date, "J-1001", True)
    [assignment] = assignments_of(person)
    assert assignment.course_id == courses[NCK].id
    assert assignment.due_date == hire_date + timedelta(days=30)
    assert assignment.source == AssignmentSource.RULE

    [mail] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert (mail.kind, mail.recipient_email) == ("invitation", "lisa.berg@jarfalla.example")
    assert courses[NCK].title in mail.body_text
    assert factories.shown(hire_date + timedelta(days=30)) in mail.body_text
    assert courses[NCK].url in mail.body_text
    assert re.search(r"https?://\S+/invitation/\S+", mail.body_text)
    assert person.invited_at is not None

    [created] = events("employee.created", person)
    assert created.actor_id == me.id
    assert created.details["after"]["email"] == "lisa.berg@jarfalla.example"

    page = client.get(response.location).get_data(as_text=True)
    assert "Lisa Berg är tillagd. 1 kurs är tilldelad." in page
    assert "Välkomstmejlet ligger i utkorgen" in page
    # The person's page lists the mail, waiting in the outbox.
    assert re.search(r"Välkomstmejl med inbjudan</th>\s*<td[^>]*>I kö", page)


def test_without_the_invitation_box_no_mail_is_queued(client, courses, social_unit):
    client.sign_in(hr())
    response = client.post_form(
        "/employees/new", new_hire(social_unit, send_invitation=None), follow_redirects=True
    )
    assert response.status_code == 200
    assert "Inget välkomstmejl är skickat" in response.get_data(as_text=True)
    assert by_email("lisa.berg@jarfalla.example").invited_at is None
    assert count(OutboxMessage) == 0


def test_the_new_hire_form_is_ready_to_fill_in(client, social_unit):
    factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    client.sign_in(hr())
    page = client.get("/employees/new").get_data(as_text=True)
    assert f'value="{clock.today().isoformat()}"' in page  # hire date: today
    assert re.search(r'<input[^>]*checked[^>]*name="send_invitation"', page)
    # HR types someone else's details: the browser must not fill in HR's own.
    assert 'autocomplete="given-name"' not in page and 'autocomplete="email"' not in page
    # One municipality: named, not asked; the units are Järfälla's only, grouped.
    assert 'name="municipality"' not in page
    assert "Kommun:</span> Järfälla" in page
    assert '<optgroup label="Järfälla">' in page
    assert "IFO Järfälla" in page and "Centralskolan" not in page
    assert 'aria-describedby="email-hint"' in page


def test_an_admin_chooses_the_municipality(client, social_unit):
    client.sign_in(admin())
    page = client.get("/employees/new").get_data(as_text=True)
    assert '<select id="municipality" name="municipality"' in page
    for name in ("Järfälla", "Sigtuna", "Upplands Väsby"):
        assert f">{name}</option>" in page


@pytest.mark.parametrize("still_employed", [True, False], ids=["active", "left"])
def test_an_email_already_in_use_is_refused_and_nothing_is_stored(
    client, courses, social_unit, still_employed
):
    factories.rule(courses[NCK], sector=Sector.SOCIAL_SERVICES)
    existing = factories.employee(
        unit=social_unit, email="lisa.berg@jarfalla.example", first_name="Lisa", last_name="Äldre"
    )
    if not still_employed:
        existing.active = False
        existing.end_date = clock.today() - timedelta(days=30)
        db.session.commit()
    client.sign_in(hr())
    people, events_before = count(Employee), count(AuditEvent)

    response = client.post_form(
        "/employees/new", new_hire(social_unit, email="Lisa.Berg@Jarfalla.example")
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Något behöver rättas" in page
    assert '<a href="#email">' in page
    if still_employed:
        assert "E-postadressen används redan av Lisa Äldre." in page
    else:
        assert "tillhör Lisa Äldre, som har slutat" in page
        assert "ta bort slutdatumet för att återanställa" in page
    assert count(Employee) == people
    assert count(AuditEvent) == events_before
    assert count(OutboxMessage) == 0
    assert count(Assignment) == 0


def test_an_email_used_in_another_municipality_does_not_reveal_who_has_it(client, social_unit):
    sigtuna = factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    factories.employee(unit=sigtuna, email="lisa.berg@jarfalla.example", last_name="Hemlig")
    client.sign_in(hr())
    response = client.post_form("/employees/new", new_hire(social_unit))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "används redan av en person i en annan kommun" in page
    assert "Hemlig" not in page


def test_a_unit_of_another_municipality_is_refused(client, social_unit):
    sigtuna = factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    client.sign_in(hr())
    response = client.post_form("/employees/new", new_hire(social_unit, unit=str(sigtuna.id)))
    assert response.status_code == 422
    assert by_email("lisa.berg@jarfalla.example") is None


def test_an_admin_cannot_place_someone_in_a_unit_of_another_municipality(client, social_unit):
    sigtuna = factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    client.sign_in(admin())
    response = client.post_form(
        "/employees/new",
        new_hire(
            social_unit,
            municipality=str(factories.municipality("Järfälla").id),
            unit=str(sigtuna.id),
        ),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enheten hör inte till den valda kommunen." in page
    assert '<a href="#unit">' in page
    assert by_email("lisa.berg@jarfalla.example") is None


def test_an_end_date_before_the_hire_date_is_refused(client, social_unit):
    client.sign_in(hr())
    hired = clock.today() - timedelta(days=2)
    response = client.post_form(
        "/employees/new",
        new_hire(social_unit, end_date=(hired - timedelta(days=1)).isoformat()),
    )
    assert response.status_code == 422
    assert "Slutdatum kan inte vara före anställningsdatum." in response.get_data(as_text=True)
    assert by_email("lisa.berg@jarfalla.example") is None


def test_an_empty_form_lists_every_problem_at_the_top(client):
    client.sign_in(hr())
    response = client.post_form("/employees/new", {})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for field_id in ("first_name", "last_name", "email", "unit", "hire_date"):
        assert f'<a href="#{field_id}">' in page
        assert f'id="{field_id}-error"' in page
    assert 'aria-invalid="true"' in page
    assert count(Employee) == 1  # the HR person only


def test_a_malformed_date_or_email_gets_a_clear_message(client, social_unit):
    client.sign_in(hr())
    response = client.post_form(
        "/employees/new", new_hire(social_unit, hire_date="15/1/2026", email="lisa.berg")
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Skriv datumet som ÅÅÅÅ-MM-DD." in page
    assert "Skriv en e-postadress som namn@kommun.se." in page


def test_the_manager_is_found_by_email_in_the_same_municipality(client, social_unit):
    boss = factories.employee(unit=social_unit, email="chefen@jarfalla.example")
    client.sign_in(hr())
    response = client.post_form(
        "/employees/new", new_hire(social_unit, manager_email="Chefen@Jarfalla.example")
    )
    assert response.status_code == 302
    assert by_email("lisa.berg@jarfalla.example").manager_id == boss.id


def test_a_manager_outside_the_municipality_is_unknown(client, social_unit):
    sigtuna = factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    factories.employee(unit=sigtuna, email="chef@sigtuna.example")
    client.sign_in(hr())
    response = client.post_form(
        "/employees/new", new_hire(social_unit, manager_email="chef@sigtuna.example")
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Det finns ingen anställd i kommunen med e-postadressen chef@sigtuna.example." in page
    assert '<a href="#manager_email">' in page
    assert by_email("lisa.berg@jarfalla.example") is None


# --- editing, leavers and returners ---------------------------------------------------------


def test_an_edit_is_saved_and_audited_with_before_and_after(client, social_unit):
    school = factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan")
    person = factories.employee(unit=social_unit, first_name="Lisa", last_name="Berg")
    me = hr()
    client.sign_in(me)
    form = client.get(f"/employees/{person.id}/edit").get_data(as_text=True)
    assert f'value="{person.email}"' in form

    response = client.post_form(
        f"/employees/{person.id}/edit",
        edit_data(person, last_name="Lind", unit=str(school.id)),
        follow_redirects=True,
    )

    assert "Ändringarna är sparade." in response.get_data(as_text=True)
    db.session.refresh(person)
    assert (person.last_name, person.unit_id) == ("Lind", school.id)
    [updated] = events("employee.updated", person)
    assert updated.actor_id == me.id
    assert updated.details["changes"] == {
        "last_name": ["Berg", "Lind"],
        "unit_id": [social_unit.id, school.id],
    }
    page = client.get(f"/employees/{person.id}").get_data(as_text=True)
    assert "Efternamn: Berg" in page and "Lind" in page
    assert "Enhet: IFO Järfälla" in page and "Viksjöskolan" in page


def test_saving_without_changes_says_so_and_records_nothing(client, social_unit):
    person = factories.employee(unit=social_unit)
    client.sign_in(hr())
    response = client.post_form(
        f"/employees/{person.id}/edit", edit_data(person), follow_redirects=True
    )
    assert "Inget ändrades." in response.get_data(as_text=True)
    assert events("employee.updated", person) == []


def test_an_end_date_today_deactivates_the_person(app, client, courses, social_unit):
    factories.rule(courses[NCK], sector=Sector.SOCIAL_SERVICES)
    person = factories.employee(unit=social_unit, first_name="Lisa", last_name="Berg")
    # The rule assigns the course to the person; they are signed in somewhere.
    from training_tracker.services.training.assignments import recompute_assignments

    recompute_assignments(db.session)
    db.session.commit()
    assert [a.removed_at for a in assignments_of(person)] == [None]
    their_browser = app.test_client()
    their_browser.sign_in(person)
    assert their_browser.get("/").status_code == 200
    version = person.session_version
    me = hr()
    client.sign_in(me)

    response = client.post_form(
        f"/employees/{person.id}/edit",
        edit_data(person, end_date=clock.today().isoformat()),
        follow_redirects=True,
    )

    assert "Lisa Berg har slutat och kontot är avstängt" in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.active is False
    assert person.end_date == clock.today()
    assert person.session_version == version + 1
    assert all(a.removed_at is not None for a in assignments_of(person))
    [deactivated] = events("employee.deactivated", person)
    assert deactivated.actor_id == me.id
    assert their_browser.get("/").status_code == 302  # their session has ended
    page = client.get(f"/employees/{person.id}").get_data(as_text=True)
    assert "Slutat" in page and "Borttagen" in page


def test_clearing_the_end_date_reactivates_the_same_record(client, courses, social_unit):
    factories.rule(courses[NCK], sector=Sector.SOCIAL_SERVICES)
    person = factories.employee(unit=social_unit, first_name="Lisa", last_name="Berg")
    client.sign_in(hr())
    left_on = (clock.today() - timedelta(days=1)).isoformat()
    client.post_form(f"/employees/{person.id}/edit", edit_data(person, end_date=left_on))
    db.session.refresh(person)
    assert person.active is False
    people = count(Employee)

    response = client.post_form(
        f"/employees/{person.id}/edit", edit_data(person, end_date=""), follow_redirects=True
    )

    assert "Lisa Berg är återanställd" in response.get_data(as_text=True)
    db.session.refresh(person)
    assert (person.active, person.end_date) == (True, None)
    assert count(Employee) == people  # the same person, not a new one
    [assignment] = assignments_of(person)
    assert assignment.removed_at is None  # required again
    assert len(events("employee.reactivated", person)) == 1


def test_an_end_date_ahead_keeps_the_person_active_until_then(client, social_unit):
    person = factories.employee(unit=social_unit, first_name="Lisa", last_name="Berg")
    client.sign_in(hr())
    leaving = clock.today() + timedelta(days=14)
    response = client.post_form(
        f"/employees/{person.id}/edit",
        edit_data(person, end_date=leaving.isoformat()),
        follow_redirects=True,
    )
    assert f"Lisa Berg slutar {factories.shown(leaving)}" in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.active is True
    assert events("employee.deactivated", person) == []


def test_an_edit_with_an_error_changes_nothing(client, social_unit):
    person = factories.employee(unit=social_unit, last_name="Berg")
    other = factories.employee(unit=social_unit)
    client.sign_in(hr())
    response = client.post_form(
        f"/employees/{person.id}/edit", edit_data(person, last_name="Lind", email=other.email)
    )
    assert response.status_code == 422
    db.session.refresh(person)
    assert person.last_name == "Berg"
    assert events("employee.updated", person) == []


# --- the list -------------------------------------------------------------------------------


@pytest.fixture()
def staff(social_unit):
    """Five people of Järfälla in two units and one of Sigtuna."""
    school = factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan")
    today = clock.today()
    people = {
        "Berg": factories.employee(
            unit=social_unit,
            first_name="Lisa",
            last_name="Berg",
            email="lisa.berg@jarfalla.example",
            hire_date=today - timedelta(days=10),
        ),
        "Åkesson": factories.employee(
            unit=school,
            first_name="Olle",
            last_name="Åkesson",
            email="olle.akesson@jarfalla.example",
            hire_date=today - timedelta(days=400),
        ),
        "Dahl": factories.employee(
            unit=social_unit,
            first_name="Karin",
            last_name="Dahl",
            email="k.dahl@jarfalla.example",
            hire_date=today - timedelta(days=200),
        ),
        "Ek": factories.employee(
            unit=school,
            first_name="Maja",
            last_name="Ek",
            email="maja.ek@jarfalla.example",
            hire_date=today - timedelta(days=800),
        ),
        "Ceder": factories.employee(
            unit=social_unit,
            first_name="Nils",
            last_name="Ceder",
            email="nils.ceder@jarfalla.example",
            hire_date=today - timedelta(days=300),
            active=False,
        ),
        "Sigtunabo": factories.employee(
            unit=factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Märsta"),
            first_name="Sven",
            last_name="Sigtunabo",
            email="sven@sigtuna.example",
        ),
    }
    people["Ceder"].end_date = today - timedelta(days=5)
    people["Berg"].employee_number = "J-4711"
    db.session.commit()
    return people


def hr_list(client, query: str = "") -> str:
    response = client.get(f"/employees/{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_hr_lists_their_municipalitys_staff_by_name(client, staff):
    me = hr()
    client.sign_in(me)
    page = hr_list(client)
    assert names_in_order(page) == [
        "Berg, Lisa",
        "Ceder, Nils",
        "Dahl, Karin",
        "Ek, Maja",
        "Personalsson, Hanna",
        "Åkesson, Olle",
    ]
    assert "Sigtunabo" not in page
    assert "6 anställda" in page
    assert 'aria-sort="ascending"' in page
    assert '<div class="table-scroll" role="region" aria-labelledby="results-heading"' in page
    assert "Lägg till anställd" in page and "Importera från HR-system" in page
    assert 'href="/employees/units"' in page


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lisa", ["Berg, Lisa"]),
        ("Berg Lisa", ["Berg, Lisa"]),
        ("MAJA.EK@", ["Ek, Maja"]),
        ("j-4711", ["Berg, Lisa"]),
        ("sven", []),  # Sigtuna: outside the scope
        ("100%_", []),  # LIKE wildcards are taken literally
    ],
)
def test_search_by_name_email_or_employee_number(client, staff, text, expected):
    client.sign_in(hr())
    page = hr_list(client, f"?q={text}")
    assert names_in_order(page) == expected
    assert f'value="{text}"' in page  # the search box keeps what was typed


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?sector=skola_forskola", ["Ek, Maja", "Åkesson, Olle"]),
        ("?sector=socialtjanst&sort=unit&dir=desc", ["Berg, Lisa", "Ceder, Nils", "Dahl, Karin"]),
        ("?status=new_hire", ["Berg, Lisa"]),
        ("?status=left", ["Ceder, Nils"]),
        ("?status=active", ["Dahl, Karin", "Ek, Maja", "Personalsson, Hanna", "Åkesson, Olle"]),
        ("?overdue=1", ["Dahl, Karin"]),
        ("?status=active&overdue=1&sector=socialtjanst", ["Dahl, Karin"]),
    ],
)
def test_filters(client, staff, courses, query, expected):
    factories.assignment(staff["Dahl"], courses[NCK], due_in_days=-3)  # overdue
    factories.assignment(staff["Berg"], courses[NCK], due_in_days=20)  # not yet due
    factories.assignment(staff["Ceder"], courses[NCK], due_in_days=-3)  # left: owes nothing
    client.sign_in(hr())
    assert names_in_order(hr_list(client, query)) == expected


def test_filter_by_unit_and_the_overdue_count(client, staff, courses, social_unit):
    factories.assignment(staff["Dahl"], courses[NCK], due_in_days=-3)
    client.sign_in(hr())
    page = hr_list(client, f"?unit={social_unit.id}")
    assert names_in_order(page) == ["Berg, Lisa", "Ceder, Nils", "Dahl, Karin"]
    assert '<span class="badge badge-warn">1</span>' in page
    assert f'<option value="{social_unit.id}" selected>' in page


def test_an_admin_filters_by_municipality(client, staff):
    client.sign_in(admin())
    everyone = hr_list(client)
    assert "Sigtunabo, Sven" in names_in_order(everyone)
    sigtuna = factories.municipality("Sigtuna")
    assert names_in_order(hr_list(client, f"?municipality={sigtuna.id}")) == ["Sigtunabo, Sven"]


def test_hr_of_one_municipality_has_no_municipality_filter(client, staff):
    client.sign_in(hr())
    assert 'name="municipality"' not in hr_list(client)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?sort=name&dir=desc", ["Åkesson", "Personalsson", "Ek", "Dahl", "Ceder", "Berg"]),
        ("?sort=hire_date", ["Ek", "Åkesson", "Personalsson", "Ceder", "Dahl", "Berg"]),
        ("?sort=hire_date&dir=desc", ["Berg", "Dahl", "Ceder", "Personalsson", "Åkesson", "Ek"]),
        ("?sort=email", ["Personalsson", "Dahl", "Berg", "Ek", "Ceder", "Åkesson"]),
        ("?sort=unit", ["Personalsson", "Berg", "Ceder", "Dahl", "Ek", "Åkesson"]),
    ],
)
def test_sorting(client, staff, query, expected):
    me = hr()
    me.email = "hanna.hr@jarfalla.example"
    me.hire_date = clock.today() - timedelta(days=365)
    db.session.commit()
    client.sign_in(me)
    page = hr_list(client, query)
    assert [name.split(",")[0] for name in names_in_order(page)] == expected
    if "email" in query:  # the e-mail sits in the name column: sorted from the form only
        assert "aria-sort=" not in page
        assert '<option value="email" selected>' in page
        return
    direction = "descending" if "desc" in query else "ascending"
    assert page.count("aria-sort=") == 1
    assert f'aria-sort="{direction}"' in page


def test_a_sorted_header_links_to_the_other_direction(client, staff):
    client.sign_in(hr())
    page = hr_list(client, "?sort=hire_date&q=a")
    assert 'href="/employees/?q=a&amp;sort=hire_date&amp;dir=desc"' in page
    page = hr_list(client, "?sort=hire_date&dir=desc")
    assert 'href="/employees/?sort=hire_date"' in page


def test_pagination_keeps_the_search_and_order(app, client, staff, monkeypatch):
    monkeypatch.setitem(app.config, "EMPLOYEES_PER_PAGE", 2)
    client.sign_in(hr())
    first = hr_list(client, "?sort=name")
    assert names_in_order(first) == ["Berg, Lisa", "Ceder, Nils"]
    assert "Sida 1 av 3" in first
    assert '<nav class="pagination" aria-label="Sidor i listan">' in first
    assert 'href="/employees/?page=2" rel="next"' in first
    assert 'rel="prev"' not in first

    second = hr_list(client, "?page=2")
    assert names_in_order(second) == ["Dahl, Karin", "Ek, Maja"]
    assert "Sida 2 av 3" in second and "6 anställda" in second

    filtered = hr_list(client, "?status=active&sort=name&dir=desc&page=2")
    assert names_in_order(filtered) == ["Ek, Maja", "Dahl, Karin"]
    assert 'href="/employees/?status=active&amp;dir=desc" rel="prev"' in filtered

    # A page past the end shows the last one.
    assert names_in_order(hr_list(client, "?page=99")) == ["Personalsson, Hanna", "Åkesson, Olle"]


@pytest.mark.parametrize(
    "query",
    [
        "?page=abc&sort=x",
        "?page=-1&dir=sideways",
        "?page=99999999999999999999",
        "?unit=abc&municipality=%00&sector=nope&status=gone&overdue=maybe",
        "?unit=99999999999",
        "?q=" + "x" * 5000,
        "?q=%27%3B%20drop%20table%20employees%3B--",
        "?unit=٣",  # a digit, but not an ASCII one
    ],
)
def test_bad_query_strings_still_show_the_list(client, staff, query):
    client.sign_in(hr())
    response = client.get(f"/employees/{query}")
    assert response.status_code == 200


def test_the_list_loads_one_page_only(app, client, social_unit, monkeypatch):
    for n in range(12):
        factories.employee(unit=social_unit, last_name=f"Nummer{n:02d}")
    monkeypatch.setitem(app.config, "EMPLOYEES_PER_PAGE", 5)
    client.sign_in(hr())
    page = hr_list(client)
    assert len(names_in_order(page)) == 5
    assert "13 anställda" in page and "Sida 1 av 3" in page


# --- scope ----------------------------------------------------------------------------------


def test_hr_of_jarfalla_can_neither_see_nor_change_a_sigtuna_person(client, courses):
    sigtuna = factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    person = factories.employee(unit=sigtuna, last_name="Sigtunabo")
    assignment = factories.assignment(person, courses[NCK])
    client.sign_in(hr())
    assert client.get(f"/employees/{person.id}").status_code == 404
    assert client.get(f"/employees/{person.id}/edit").status_code == 404
    response = client.post_form(
        f"/employees/{person.id}/edit", edit_data(person, last_name="Ändrad")
    )
    assert response.status_code == 404
    response = client.post_form(
        f"/employees/{person.id}/assignments/{assignment.id}/exemption",
        {"exempt": "1", "reason": "Vill inte"},
    )
    assert response.status_code == 404
    assert client.post_form(f"/employees/{person.id}/invite").status_code == 404
    db.session.refresh(person)
    db.session.refresh(assignment)
    assert person.last_name == "Sigtunabo" and assignment.exempt is False
    assert names_in_order(hr_list(client, "?q=Sigtunabo")) == []


def test_an_admin_reaches_everyone(client, courses):
    sigtuna = factories.unit("Sigtuna", Sector.SCHOOL, "Centralskolan")
    person = factories.employee(unit=sigtuna, last_name="Sigtunabo")
    client.sign_in(admin())
    assert client.get(f"/employees/{person.id}").status_code == 200
    response = client.post_form(
        f"/employees/{person.id}/edit", edit_data(person, last_name="Ändrad")
    )
    assert response.status_code == 302
    db.session.refresh(person)
    assert person.last_name == "Ändrad"


def test_an_assignment_must_belong_to_the_person_in_the_address(client, courses, social_unit):
    person = factories.employee(unit=social_unit)
    colleague = factories.employee(unit=social_unit)
    theirs = factories.assignment(colleague, courses[NCK])
    client.sign_in(hr())
    response = client.post_form(
        f"/employees/{person.id}/assignments/{theirs.id}/exemption",
        {"exempt": "1", "reason": "Fel person"},
    )
    assert response.status_code == 404
    db.session.refresh(theirs)
    assert theirs.exempt is False


# --- one person: assignments, exemptions, invitation, history ------------------------------


def test_hr_assigns_a_course_to_one_person(client, courses, social_unit):
    person = factories.employee(unit=social_unit)
    me = hr()
    client.sign_in(me)
    due = clock.today() + timedelta(days=45)
    course = courses["skolverket-arbeta-mot-hrv"]
    page = client.get(f"/employees/{person.id}").get_data(as_text=True)
    assert f'<option value="{course.id}">' in page

    response = client.post_form(
        f"/employees/{person.id}/assignments",
        {"course": str(course.id), "due_date": due.isoformat()},
        follow_redirects=True,
    )

    assert f"{course.title} är tilldelad, sista dag {factories.shown(due)}." in response.get_data(
        as_text=True
    )
    [assignment] = assignments_of(person)
    assert (assignment.course_id, assignment.due_date) == (course.id, due)
    assert assignment.source == AssignmentSource.MANUAL
    [assigned] = events("assignment.assigned", person)
    assert assigned.actor_id == me.id
    assert assigned.details["before"] is None
    assert assigned.details["after"] == {
        "due_date": due.isoformat(),
        "source": "manual",
        "removed": False,
    }
    assert "Manuell" in response.get_data(as_text=True)


def test_a_course_already_required_is_not_assigned_twice(client, courses, social_unit):
    person = factories.employee(unit=social_unit)
    factories.assignment(person, courses[NCK])
    client.sign_in(hr())
    response = client.post_form(
        f"/employees/{person.id}/assignments",
        {"course": str(courses[NCK].id), "due_date": clock.today().isoformat()},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "är redan tilldelad" in page
    assert '<a href="#course">' in page
    assert len(assignments_of(person)) == 1


def test_a_due_date_in_the_past_is_refused(client, courses, social_unit):
    person = factories.employee(unit=social_unit)
    client.sign_in(hr())
    response = client.post_form(
        f"/employees/{person.id}/assignments",
        {
            "course": str(courses[NCK].id),
            "due_date": (clock.today() - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 422
    assert "Sista dag kan inte ha passerat." in response.get_data(as_text=True)
    assert assignments_of(person) == []


def test_hr_exempts_with_a_reason_and_lifts_the_exemption(client, courses, social_unit):
    person = factories.employee(unit=social_unit)
    assignment = factories.assignment(person, courses[NCK])
    me = hr()
    client.sign_in(me)
    url = f"/employees/{person.id}/assignments/{assignment.id}/exemption"

    response = client.post_form(
        url, {"exempt": "1", "reason": "Gick kursen hos förra arbetsgivaren"}, follow_redirects=True
    )

    page = response.get_data(as_text=True)
    assert "Personen är undantagen från" in page
    assert "Gick kursen hos förra arbetsgivaren" in page
    db.session.refresh(assignment)
    assert assignment.exempt is True
    assert assignment.exemption_reason == "Gick kursen hos förra arbetsgivaren"
    assert assignment.exempted_by_id == me.id
    [exempted] = events("assignment.exempted", person)
    assert exempted.actor_id == me.id
    assert exempted.details["before"] == {"exempt": False, "reason": None}
    assert exempted.details["after"] == {
        "exempt": True,
        "reason": "Gick kursen hos förra arbetsgivaren",
    }

    response = client.post_form(url, {"exempt": "0"}, follow_redirects=True)

    assert "Undantaget från" in response.get_data(as_text=True)
    db.session.refresh(assignment)
    assert (assignment.exempt, assignment.exemption_reason) == (False, None)
    [lifted] = events("assignment.exemption_lifted", person)
    assert lifted.details["before"]["exempt"] is True
    assert lifted.details["after"] == {"exempt": False, "reason": None}
    history = client.get(f"/employees/{person.id}").get_data(as_text=True)
    assert "Undantagen från kurs" in history and "Undantag borttaget" in history


def test_an_exemption_needs_a_reason(client, courses, social_unit):
    person = factories.employee(unit=social_unit)
    assignment = factories.assignment(person, courses[NCK])
    client.sign_in(hr())
    response = client.post_form(
        f"/employees/{person.id}/assignments/{assignment.id}/exemption",
        {"exempt": "1", "reason": "   "},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Skriv varför personen undantas." in page
    assert f'<a href="#reason-{assignment.id}">' in page
    assert "<details open>" in page
    db.session.refresh(assignment)
    assert assignment.exempt is False
    assert events("assignment.exempted") == []


def test_the_person_page_shows_assignments_completions_and_history(client, courses, social_unit):
    factories.rule(courses[NCK], sector=Sector.SOCIAL_SERVICES, due_days=30)
    me = hr()
    client.sign_in(me)
    client.post_form("/employees/new", new_hire(social_unit))
    person = by_email("lisa.berg@jarfalla.example")
    factories.completion(
        person,
        courses[NCK],
        status=CompletionStatus.REPORTED,
        completed_on=clock.today() - timedelta(days=1),
    )

    page = client.get(f"/employees/{person.id}").get_data(as_text=True)

    assert "<h1>Lisa Berg" in page and "Nyanställd" in page
    assert courses[NCK].title in page and courses[NCK].provider.name in page
    assert "Rapporterad" in page and "Regel" in page
    assert factories.shown(clock.today() - timedelta(days=1)) in page
    # History, newest first, with who did it.
    assert "Lades till" in page and "Inbjudan lades i utkorgen" in page
    assert "Hanna Personalsson" in page
    assert page.index("Inbjudan lades i utkorgen") < page.index("Lades till")
    for caption in ("Kurser som krävs av Lisa Berg", "Vem som gjort vad"):
        assert caption in page
    assert '<th scope="col">' in page


def test_a_person_with_an_overdue_course_shows_it_in_words(client, courses, social_unit):
    person = factories.employee(unit=social_unit)
    factories.assignment(person, courses[NCK], due_in_days=-1)
    client.sign_in(hr())
    page = client.get(f"/employees/{person.id}").get_data(as_text=True)
    assert '<span class="badge badge-warn">Försenad</span>' in page


def test_hr_sends_the_invitation_again(client, courses, social_unit):
    person = factories.employee(unit=social_unit, password=None)
    client.sign_in(hr())
    page = client.get(f"/employees/{person.id}").get_data(as_text=True)
    assert "Skicka inbjudan igen" in page

    response = client.post_form(f"/employees/{person.id}/invite", follow_redirects=True)
    assert "Inbjudan ligger i utkorgen" in response.get_data(as_text=True)
    assert count(OutboxMessage) == 1

    response = client.post_form(f"/employees/{person.id}/invite", follow_redirects=True)
    assert "Inbjudan är redan skickad i dag." in response.get_data(as_text=True)
    assert count(OutboxMessage) == 1


def test_no_invitation_for_someone_who_has_a_password_or_has_left(client, social_unit):
    with_password = factories.employee(unit=social_unit, first_name="Pia")
    left = factories.employee(unit=social_unit, first_name="Lo", password=None, active=False)
    client.sign_in(hr())
    response = client.post_form(f"/employees/{with_password.id}/invite", follow_redirects=True)
    assert "har redan valt ett lösenord" in response.get_data(as_text=True)
    response = client.post_form(f"/employees/{left.id}/invite", follow_redirects=True)
    assert "har slutat och kan inte bjudas in" in response.get_data(as_text=True)
    assert count(OutboxMessage) == 0


def test_every_page_has_one_main_heading_and_labelled_fields(client, courses, social_unit):
    person = factories.employee(unit=social_unit)
    factories.assignment(person, courses[NCK])
    client.sign_in(hr())
    for path in (
        "/employees/",
        "/employees/new",
        f"/employees/{person.id}",
        f"/employees/{person.id}/edit",
        "/employees/units",
        f"/employees/units/{social_unit.id}",
    ):
        page = client.get(path).get_data(as_text=True)
        assert page.count("<h1") == 1, path
        main = page[page.index("<main") :]
        tags = re.findall(r"<(?:input|select|textarea)\b[^>]*>", main)
        fields = [
            re.search(r'\bid="([^"]+)"', tag).group(1)
            for tag in tags
            if 'type="hidden"' not in tag and 'type="submit"' not in tag
        ]
        assert fields, path
        ids = re.findall(r'\bid="([^"]+)"', page)
        assert len(ids) == len(set(ids)), f"{path}: an id is used twice"
        for field_id in fields:
            assert f'for="{field_id}"' in main, f"{path}: #{field_id} has no label"


def test_the_persons_language_is_kept_for_their_mail(client, courses, social_unit):
    client.sign_in(hr())
    client.post_form("/employees/new", new_hire(social_unit, language="en"))
    person = by_email("lisa.berg@jarfalla.example")
    assert person.preferred_language == "en"
    assert db.session.scalars(sa.select(OutboxMessage)).one().recipient_id == person.id
