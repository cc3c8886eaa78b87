"""HR's list of staff: who is missing an account, who is about to leave, a page size and
numbered pages, the filtered list as CSV and XLSX, and the held invitations of a filtered list
sent at once after a count. Filters are GET parameters, so a filtered list can be bookmarked;
one that cannot be used is named on the page, never a server error. HR sees only their
municipality.

"Slutar snart" is an end date within LEAVING_SOON_DAYS (30) days from tomorrow on: a person
whose end date is today has left. A "held" invitation is that of someone still employed who
was never invited and has no account (neither a password nor a sign-in through the
municipality's login)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from tests import factories
from tests.test_employees import admin, hr, names_in_order
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Employee, OutboxMessage, Sector

NCK = "nck-webbkurs-om-vald"


@pytest.fixture()
def social_unit():
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")


@pytest.fixture()
def people(social_unit):
    """Järfälla's staff in every account state, two leaving, one gone; one of Sigtuna."""
    today = clock.today()
    school = factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan")

    def person(last_name, unit=social_unit, **kwargs):
        return factories.employee(unit=unit, first_name="Anna", last_name=last_name, **kwargs)

    crew = {
        "Berg": person("Berg"),  # has chosen a password
        "Dahl": person("Dahl", password=None),  # never invited: held
        "Ek": person("Ek", password=None),  # invited, no password yet
        "Falk": person("Falk", unit=school, password=None),  # signs in through the municipality
        "Gran": person("Gran", unit=school, password=None),  # held, leaves in 30 days
        "Holm": person("Holm"),  # leaves in 31 days: not soon
        "Ivarsson": person("Ivarsson", password=None, active=False),  # has left: not held
        "Sigtunabo": factories.employee(
            unit=factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Märsta"),
            last_name="Sigtunabo",
            password=None,
        ),
    }
    crew["Ek"].invited_at = clock.utcnow() - timedelta(days=3)
    crew["Falk"].last_login_at = clock.utcnow() - timedelta(days=1)
    crew["Gran"].end_date = today + timedelta(days=30)
    crew["Holm"].end_date = today + timedelta(days=31)
    crew["Ivarsson"].end_date = today - timedelta(days=2)
    crew["Berg"].employee_number = "J-4711"
    db.session.commit()
    return crew


def listed(client, query: str = "") -> list[str]:
    response = client.get(f"/employees/{query}")
    assert response.status_code == 200
    return [name.split(",")[0] for name in names_in_order(response.get_data(as_text=True))]


def csv_names(client, query: str = "") -> list[str]:
    response = client.get(f"/employees/list.csv{query}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Efternamn", "Förnamn", "E-post"]
    return [row[0] for row in rows[1:]]


def outbox_invitations() -> list[str]:
    return sorted(
        db.session.scalars(
            sa.select(Employee.last_name)
            .join(OutboxMessage, OutboxMessage.recipient_id == Employee.id)
            .where(OutboxMessage.kind == "invitation")
        )
    )


# --- search and filters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?account=not_invited", ["Dahl", "Gran", "Ivarsson"]),
        ("?account=invited", ["Ek"]),
        ("?account=has_account", ["Berg", "Falk", "Holm", "Personalsson"]),
        ("?leaving=1", ["Gran"]),
        ("?leaving=1&account=has_account", []),
        ("?account=not_invited&status=active", ["Dahl", "Gran"]),
        ("?q=j-4711", ["Berg"]),  # the employee number
        ("?q=anna%20gran", ["Gran"]),  # first name, then last
        ("?q=sigtunabo", []),  # another municipality's person is not found
        ("?sector=skola_forskola&account=has_account", ["Falk"]),
    ],
)
def test_search_and_filters(client, people, query, expected):
    client.sign_in(hr())
    assert listed(client, query) == expected


def test_the_unit_filter_and_what_the_rows_say(client, people, social_unit):
    client.sign_in(hr())
    page = client.get(f"/employees/?unit={social_unit.id}&leaving=0").get_data(as_text=True)
    assert [n.split(",")[0] for n in names_in_order(page)] == [
        "Berg",
        "Dahl",
        "Ek",
        "Holm",
        "Ivarsson",
    ]
    assert "Ej inbjuden" in page and "Inbjuden" in page and "Har konto" in page
    assert "Slutar " in page and "Slutade " in page  # the end dates of leavers and leaver-to-be
    assert 'id="leaving" name="leaving" value="1">' in page  # not ticked
    assert "Slutar snart (inom 30 dagar)" in page


def test_filters_are_kept_in_the_address_of_every_link(client, people, app, monkeypatch):
    monkeypatch.setitem(app.config, "EMPLOYEES_PER_PAGE", 2)
    client.sign_in(hr())
    page = client.get("/employees/?account=not_invited&q=a").get_data(as_text=True)
    assert 'href="/employees/?q=a&amp;account=not_invited&amp;page=2" rel="next"' in page
    assert 'href="/employees/list.csv?q=a&amp;account=not_invited"' in page
    assert 'href="/employees/invitations?q=a&amp;account=not_invited"' in page
    assert '<option value="not_invited" selected>' in page


# --- pages and page size ----------------------------------------------------------------------


@pytest.fixture()
def many(social_unit):
    for n in range(60):
        factories.employee(unit=social_unit, last_name=f"Nummer{n:02d}", password=None)


def test_a_page_size_of_25_50_or_100(client, many):
    client.sign_in(hr())  # 61 people with HR
    assert len(listed(client)) == 50  # EMPLOYEES_PER_PAGE
    page = client.get("/employees/?per_page=25&page=2").get_data(as_text=True)
    names = [n.split(",")[0] for n in names_in_order(page)]
    assert names[0] == "Nummer25" and len(names) == 25
    assert "Sida 2 av 3" in page
    assert '<option value="25" selected>' in page
    assert len(listed(client, "?per_page=100")) == 61


def test_numbered_pages_with_the_current_one_marked(client, many):
    client.sign_in(hr())
    page = client.get("/employees/?per_page=25&page=3").get_data(as_text=True)
    assert "Sida 3 av 3" in page
    numbers = re.findall(r'<a href="/employees/\?(?:page=(\d+)&amp;)?per_page=25"', page)
    assert "2" in numbers and "" in numbers  # page 1 is the address without a page
    assert re.search(
        r'page=3&amp;per_page=25" aria-current="page" class="current-page">'
        r'<span class="visually-hidden">Sida </span>3</a>',
        page,
    )
    assert 'rel="prev"' in page and 'rel="next"' not in page


def test_far_pages_are_left_out_between_dots(app, client, many, monkeypatch):
    monkeypatch.setitem(app.config, "EMPLOYEES_PER_PAGE", 5)  # 13 pages
    client.sign_in(hr())
    page = client.get("/employees/?page=7").get_data(as_text=True)
    shown = re.findall(r'<span class="visually-hidden">Sida </span>(\d+)</a>', page)
    assert shown == ["1", "5", "6", "7", "8", "9", "13"]
    assert page.count('<li aria-hidden="true">…</li>') == 2


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("?per_page=7", ["Antal per sida"]),
        ("?per_page=1000000", ["Antal per sida"]),
        ("?page=abc&sort=shoe_size&dir=up", ["Sortera efter", "Ordning", "Sida"]),
        (
            "?account=maybe&leaving=soon&overdue=x",
            ["Konto", "Har försenade kurser", "Slutar snart"],
        ),
        ("?sector=nope&status=gone&unit=%00", ["Enhet", "Sektor", "Status"]),
    ],
)
def test_a_parameter_that_cannot_be_used_is_named_and_the_list_still_shows(
    client, people, query, named
):
    client.sign_in(hr())
    response = client.get(f"/employees/{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Några filter i adressen kunde inte användas" in page
    assert "Listan visas utan dem. Välj igen nedan om du vill filtrera på dem." in page
    found = re.findall(r"<li>([^<:]+): värdet går inte att läsa.</li>", page)
    assert found == named
    assert "8 anställda" in page  # the list, unfiltered


def test_a_plain_list_has_no_such_message(client, people):
    client.sign_in(hr())
    page = client.get("/employees/?q=&unit=&per_page=50&sort=name&dir=asc&leaving=0")
    assert "kunde inte användas" not in page.get_data(as_text=True)


# --- scope ----------------------------------------------------------------------------------


def test_hr_of_another_municipality_sees_nothing_of_ours(client, people, social_unit):
    client.sign_in(hr("Sigtuna"))
    assert listed(client) == ["Personalsson", "Sigtunabo"]
    # Naming our unit in the address does not show our people: the filter is set aside.
    page = client.get(f"/employees/?unit={social_unit.id}").get_data(as_text=True)
    assert [n.split(",")[0] for n in names_in_order(page)] == ["Personalsson", "Sigtunabo"]
    assert "<li>Enhet: finns inte bland det du har tillgång till.</li>" in page
    assert csv_names(client, f"?unit={social_unit.id}") == ["Personalsson", "Sigtunabo"]
    confirm = client.get(f"/employees/invitations?unit={social_unit.id}")
    assert "Skicka 1 inbjudan?" in confirm.get_data(as_text=True)  # Sigtunabo only


def test_an_admin_sees_every_municipality(client, people):
    client.sign_in(admin())
    assert "Sigtunabo" in listed(client, "?account=not_invited")
    assert "Sigtunabo" in csv_names(client, "?account=not_invited")


# --- downloads ------------------------------------------------------------------------------


def test_the_csv_holds_the_filtered_list_on_every_page(app, client, people, monkeypatch):
    monkeypatch.setitem(app.config, "EMPLOYEES_PER_PAGE", 2)
    client.sign_in(hr())
    query = "?account=not_invited&sort=name&dir=desc&page=2"
    assert listed(client, query) == ["Dahl"]  # the page: the last of three
    assert csv_names(client, query) == ["Ivarsson", "Gran", "Dahl"]  # the file: all, in order
    assert csv_names(client) == [
        "Berg",
        "Dahl",
        "Ek",
        "Falk",
        "Gran",
        "Holm",
        "Ivarsson",
        "Personalsson",
    ]


def test_the_files_carry_the_pages_columns(client, people, courses_overdue):
    client.sign_in(hr())
    response = client.get("/employees/list.csv?q=gran")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="personal-')
    header, row = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert header == [
        "Efternamn",
        "Förnamn",
        "E-post",
        "Anställningsnummer",
        "Kommun",
        "Enhet",
        "Sektor",
        "Anställningsdatum",
        "Slutdatum",
        "Status",
        "Konto",
        "Försenade kurser",
    ]
    gran = people["Gran"]
    assert row == [
        "Gran",
        "Anna",
        gran.email,
        gran.employee_number,
        "Järfälla",
        "Viksjöskolan",
        "Skola och förskola",
        gran.hire_date.isoformat(),
        gran.end_date.isoformat(),
        "Anställd",
        "Ej inbjuden",
        "1",
    ]

    workbook = openpyxl.load_workbook(io.BytesIO(client.get("/employees/list.xlsx?q=gran").data))
    sheet = workbook.worksheets[0]
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    assert values[0] == header
    assert values[1][:3] == ["Gran", "Anna", gran.email] and values[1][-2:] == ["Ej inbjuden", 1]


@pytest.fixture()
def courses_overdue(people):
    course = factories.synced_catalog()[NCK]
    factories.assignment(people["Gran"], course, due_in_days=-3)


def test_the_overdue_filter_and_the_file_agree(client, people, courses_overdue):
    client.sign_in(hr())
    assert listed(client, "?overdue=1") == ["Gran"]
    assert csv_names(client, "?overdue=1") == ["Gran"]


# --- sending the held invitations -------------------------------------------------------------


def test_hr_sends_the_held_invitations_of_a_filtered_list_after_a_count(client, people):
    me = hr()
    client.sign_in(me)
    page = client.get("/employees/?account=not_invited").get_data(as_text=True)
    assert "Skicka väntande inbjudningar (2)" in page  # Dahl and Gran; Ivarsson has left

    confirm = client.get("/employees/invitations?account=not_invited").get_data(as_text=True)
    assert "<h1>Skicka 2 inbjudningar?</h1>" in confirm
    assert '<input type="hidden" name="account" value="not_invited">' in confirm
    assert outbox_invitations() == []  # asking sends nothing

    response = client.post_form(
        "/employees/invitations", {"expected": "2", "account": "not_invited"}
    )
    assert response.status_code == 302
    assert response.location == "/employees/?account=not_invited"
    assert outbox_invitations() == ["Dahl", "Gran"]
    for name in ("Dahl", "Gran"):
        db.session.refresh(people[name])
        assert people[name].invited_at is not None
    queued = db.session.scalars(
        sa.select(AuditEvent.subject_employee_id).where(
            AuditEvent.action == "auth.invitation_queued"
        )
    ).all()
    assert sorted(queued) == sorted([people["Dahl"].id, people["Gran"].id])
    summary = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "auth.invitations_sent_in_bulk")
    ).one()
    assert summary.actor_id == me.id
    assert summary.details == {"count": 2, "filters": {"account": "not_invited"}}

    after = client.get(response.location).get_data(as_text=True)
    assert "2 inbjudningar ligger i utkorgen och skickas inom kort." in after
    assert "Skicka väntande" not in after  # nobody is waiting any more
    again = client.get("/employees/invitations?account=not_invited").get_data(as_text=True)
    assert "<h1>Ingen väntar på inbjudan</h1>" in again and "Ja, skicka" not in again
    # The person page says so (its account line is tested in tests/test_hr_facts.py).
    dahl = client.get(f"/employees/{people['Dahl'].id}").get_data(as_text=True)
    assert "har inte valt lösenord ännu" in dahl


def test_only_the_filtered_list_is_invited(client, people, social_unit):
    client.sign_in(hr())
    confirm = client.get(f"/employees/invitations?unit={social_unit.id}")
    assert "<h1>Skicka 1 inbjudan?</h1>" in confirm.get_data(as_text=True)
    client.post_form("/employees/invitations", {"expected": "1", "unit": str(social_unit.id)})
    assert outbox_invitations() == ["Dahl"]


def test_a_count_that_changed_meanwhile_is_shown_again_and_nothing_is_sent(client, people):
    client.sign_in(hr())
    response = client.post_form("/employees/invitations", {"expected": "5"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Listan har ändrats sedan antalet visades" in page
    assert "<h1>Skicka 2 inbjudningar?</h1>" in page
    assert '<input id="expected" name="expected" type="hidden" value="2">' in page
    assert outbox_invitations() == []


def test_a_post_without_a_confirmed_count_is_refused(client, people):
    client.sign_in(hr())
    assert client.post_form("/employees/invitations", {}).status_code == 400
    assert client.post_form("/employees/invitations", {"expected": "-1"}).status_code == 400
    assert outbox_invitations() == []


def test_hr_of_another_municipality_cannot_invite_ours(client, people, social_unit):
    client.sign_in(hr("Sigtuna"))
    confirm = client.get(f"/employees/invitations?unit={social_unit.id}").get_data(as_text=True)
    assert "<li>Enhet: finns inte bland det du har tillgång till.</li>" in confirm
    assert 'name="unit"' not in confirm  # what is confirmed is the list without it
    assert "Listan visas utan dem.</p>" in confirm
    # Posted anyway, a filter that cannot be used refuses all: it would widen the list.
    response = client.post_form(
        "/employees/invitations", {"expected": "1", "unit": str(social_unit.id)}
    )
    assert response.status_code == 400
    assert outbox_invitations() == []
    client.post_form("/employees/invitations", {"expected": "1"})
    assert outbox_invitations() == ["Sigtunabo"]


def test_sending_in_bulk_is_rate_limited(app, client, people, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_INVITATION_RATE_LIMIT", "1 per hour")
    client.sign_in(hr())
    assert client.post_form("/employees/invitations", {"expected": "2"}).status_code == 302
    assert client.post_form("/employees/invitations", {"expected": "0"}).status_code == 429
