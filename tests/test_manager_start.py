"""The manager's start page: their unit first (how many are fully trained, the reports waiting
for their review, who is overdue), a reminder by hand per person and course (once a week,
logged, rate-limited, through the outbox), the overdue list as a file, the review count in the
menu, and the unit page filtered to the overdue."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook

from tests import factories
from tests.conftest import count, counting_statements, mail_text, subject_of
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    CompletionStatus,
    OutboxMessage,
    Role,
    Sector,
)
from training_tracker.services.messaging import outbox
from training_tracker.services.training import manual_reminders

MONDAY = date(2026, 11, 30)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture()
def clock_at_monday():  # type: ignore[no-untyped-def]
    with time_machine.travel(at(MONDAY), tick=False) as traveller:
        yield traveller


@pytest.fixture()
def ifo(clock_at_monday):  # type: ignore[no-untyped-def]
    """IFO Järfälla with its manager Maria and four people required to take NCK's course:
    Ali verified, Bea overdue, Cem reported (waiting for Maria's review), Dan due later. In
    Sigtuna, Eva is overdue (nobody of Järfälla's business)."""
    nck = factories.synced_catalog()["nck-webbkurs-om-vald"]
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    maria = factories.with_role(
        factories.employee(unit=unit, first_name="Maria", last_name="Chef"),
        Role.MANAGER,
        on_unit=unit,
    )
    people = {
        name: factories.employee(unit=unit, first_name=name, last_name="Ek")
        for name in ("Ali", "Bea", "Cem", "Dan")
    }
    assigned = {
        name: factories.assignment(people[name], nck, due_in_days=due)
        for name, due in (("Ali", -40), ("Bea", -12), ("Cem", -3), ("Dan", 20))
    }
    factories.completion(people["Ali"], nck, status=CompletionStatus.VERIFIED)
    cem_report = factories.completion(people["Cem"], nck, status=CompletionStatus.REPORTED)
    eva = factories.employee(
        unit=factories.unit("Sigtuna", Sector.SCHOOL, "Skolan"), first_name="Eva"
    )
    eva_nck = factories.assignment(eva, nck, due_in_days=-9)
    return {
        "unit": unit,
        "maria": maria,
        "nck": nck,
        "cem_report": cem_report,
        "bea_nck": assigned["Bea"],
        "cem_nck": assigned["Cem"],
        "dan_nck": assigned["Dan"],
        "eva_nck": eva_nck,
        "clock": clock_at_monday,
        **people,
    }


def team_section(page: str) -> str:
    match = re.search(r'<section aria-labelledby="team-heading".*?</section>', page, re.S)
    assert match, "the start page has the manager's unit"
    return match.group(0)


def remind(client, assignment):  # type: ignore[no-untyped-def]
    return client.post_form(f"/team/reminders/{assignment.id}")


# --- the start page --------------------------------------------------------------------------


def test_the_unit_comes_first_with_its_summary_reviews_and_overdue_people(client, ifo):
    client.sign_in(ifo["maria"])
    page = client.get("/").get_data(as_text=True)
    team = team_section(page)

    assert page.index('id="team-heading"') < page.index('id="my-courses-heading"')
    assert "Min enhet: IFO Järfälla" in team
    # Ali verified, Cem reported (Järfälla counts reported ones) of four with a course.
    assert "2 av 4 klara" in team
    assert "1 försenad" in team and "1 att granska" in team
    # The report waiting, linked to its review.
    assert f'href="/verify/{ifo["cem_report"].id}">Cem Ek: Webbkurs om våld</a>' in team
    # The overdue: Bea alone (Cem has reported; Dan has time; Eva is in Sigtuna).
    overdue = team[team.index('id="overdue-heading"') :]
    assert "Bea Ek" in overdue
    assert not any(name in overdue for name in ("Ali Ek", "Cem Ek", "Dan Ek", "Eva"))
    assert f'action="/team/reminders/{ifo["bea_nck"].id}"' in overdue
    assert "12 dagar sedan" in overdue


def test_every_name_opens_the_persons_row_on_the_unit_page(client, ifo):
    """Managers have no person page (employees.employee_detail is HR's): a name leads to the
    person's row on the unit page, which the manager may read."""
    client.sign_in(ifo["maria"])
    team = team_section(client.get("/").get_data(as_text=True))
    unit_id, bea_id = ifo["unit"].id, ifo["Bea"].id
    assert f'href="/reports/units/{unit_id}#person-{bea_id}">Bea Ek</a>' in team

    unit_page = client.get(f"/reports/units/{unit_id}").get_data(as_text=True)
    assert f'<tr id="person-{bea_id}">' in unit_page


def test_the_summary_says_a_plural_right(client, ifo):
    nck = ifo["nck"]
    factories.assignment(
        factories.employee(unit=ifo["unit"], first_name="Fia"), nck, due_in_days=-1
    )
    client.sign_in(ifo["maria"])
    team = team_section(client.get("/").get_data(as_text=True))
    assert "2 försenade" in team and "2 av 5 klara" in team


def test_hr_without_a_unit_of_their_own_gets_no_manager_section(client, ifo):
    client.sign_in(factories.hr_staff())
    page = client.get("/").get_data(as_text=True)
    assert 'id="team-heading"' not in page


# --- the review count in the menu ------------------------------------------------------------


def menu(page: str) -> str:
    return re.search(r'<nav class="site-nav".*?</nav>', page, re.S).group(0)  # type: ignore[union-attr]


def test_the_menu_counts_the_reports_waiting_in_one_query(client, ifo):
    client.sign_in(ifo["maria"])
    nav = menu(client.get("/verify/").get_data(as_text=True))
    assert '<span class="nav-count" aria-hidden="true">1</span>' in nav
    assert "(1 rapport väntar)" in nav

    factories.completion(ifo["Bea"], ifo["nck"], status=CompletionStatus.REPORTED)
    with counting_statements() as statements:
        nav = menu(client.get("/settings/notifications").get_data(as_text=True))
    assert "(2 rapporter väntar)" in nav
    counts = [s for s in statements if "count(" in s.lower() and "completions" in s]
    assert len(counts) == 1


def test_the_menu_shows_no_count_when_nothing_waits_or_to_an_employee(client, ifo):
    client.sign_in(ifo["Bea"])
    assert "nav-count" not in client.get("/").get_data(as_text=True)
    ifo["cem_report"].status = CompletionStatus.VERIFIED
    db.session.commit()
    client.sign_in(ifo["maria"])
    nav = menu(client.get("/").get_data(as_text=True))
    assert "Att granska" in nav and "nav-count" not in nav


# --- reminding by hand ------------------------------------------------------------------------


@pytest.fixture()
def mail(app, smtp_server, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "BASE_URL", "https://utbildning.example.se")
    return smtp_server


def test_a_reminder_is_mailed_through_the_outbox_saying_the_manager_asked(client, ifo, mail):
    client.sign_in(ifo["maria"])
    response = remind(client, ifo["bea_nck"])

    assert response.status_code == 302
    assert response.location == "/"
    (message,) = db.session.scalars(sa.select(OutboxMessage))
    assert message.kind == manual_reminders.KIND and message.recipient_id == ifo["Bea"].id
    (event,) = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == manual_reminders.ACTION)
    )
    assert (event.actor_id, event.subject_employee_id) == (ifo["maria"].id, ifo["Bea"].id)
    assert (event.object_type, event.object_id) == ("assignment", ifo["bea_nck"].id)

    outbox.deliver_outbox(db.session)
    (received,) = mail.to(ifo["Bea"].email)
    assert subject_of(received) == "Påminnelse från din chef: gå Webbkurs om våld"
    text = mail_text(received)
    assert "Din chef Maria Chef har bett oss påminna dig om kursen nedan." in text
    assert "Webbkurs om våld" in text and "https://utbildning.example.se/my/report" in text

    page = client.get("/").get_data(as_text=True)
    assert "En påminnelse om Webbkurs om våld skickas till Bea Ek." in page
    overdue = team_section(page)
    assert "Påmind 30 november 2026" in overdue
    assert f'action="/team/reminders/{ifo["bea_nck"].id}"' not in overdue


def test_hr_of_the_municipality_may_remind_and_the_mail_says_hr_asked(client, ifo, mail):
    client.sign_in(factories.hr_staff("Järfälla"))
    assert remind(client, ifo["bea_nck"]).status_code == 302
    outbox.deliver_outbox(db.session)
    (received,) = mail.to(ifo["Bea"].email)
    assert "Hanna Personalsson på HR har bett oss påminna dig" in mail_text(received)


def test_once_a_week_per_person_and_course(client, ifo):
    client.sign_in(ifo["maria"])
    assert remind(client, ifo["bea_nck"]).status_code == 302

    again = remind(client, ifo["bea_nck"])  # the same day
    ifo["clock"].move_to(at(MONDAY + timedelta(days=6), 18))  # six days and eight hours on
    client.sign_in(ifo["maria"])
    later = client.get("/").get_data(as_text=True)
    refused = remind(client, ifo["bea_nck"])

    assert again.status_code == 302 and refused.status_code == 302
    assert count(OutboxMessage) == 1
    assert "Påmind 30 november 2026" in team_section(later)
    followed = client.get("/").get_data(as_text=True)
    assert "Bea Ek påmindes om kursen 30 november. Det går att påminna en gång i veckan" in (
        followed
    )

    ifo["clock"].move_to(at(MONDAY + timedelta(days=7), 11))  # a week and an hour on
    client.sign_in(ifo["maria"])
    assert f'action="/team/reminders/{ifo["bea_nck"].id}"' in team_section(
        client.get("/").get_data(as_text=True)
    )
    assert remind(client, ifo["bea_nck"]).status_code == 302
    assert count(OutboxMessage) == 2
    assert count(AuditEvent, AuditEvent.action == manual_reminders.ACTION) == 2


def test_two_racing_reminders_queue_one_mail(ifo):
    """The outbox's key (assignment and day) holds when the audit check is passed twice."""
    maria, bea_nck = ifo["maria"], ifo["bea_nck"]
    manual_reminders.send_manual_reminder(db.session, actor=maria, assignment_id=bea_nck.id)
    db.session.execute(sa.delete(AuditEvent))  # as if the second saw no reminder yet
    with pytest.raises(manual_reminders.ReminderRefused, match="redan fått en påminnelse"):
        manual_reminders.send_manual_reminder(db.session, actor=maria, assignment_id=bea_nck.id)
    assert count(OutboxMessage) == 1


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("employee", 403),
        ("coordinator", 403),
        ("admin", 403),
        ("other_manager", 404),
        ("sigtuna_hr", 404),
    ],
)
def test_only_the_persons_manager_or_hr_may_remind(client, ifo, who, expected):
    if who == "employee":
        user = ifo["Dan"]
    elif who == "coordinator":
        user = factories.with_role(
            factories.employee(), Role.COORDINATOR, municipality_name="Järfälla"
        )
    elif who == "admin":
        user = factories.admin()
        user.password_hash = ifo["Dan"].password_hash
        db.session.commit()
    elif who == "other_manager":
        other = factories.unit("Järfälla", Sector.SCHOOL, "Skolan Järfälla")
        user = factories.with_role(factories.employee(unit=other), Role.MANAGER, on_unit=other)
    else:
        user = factories.hr_staff("Sigtuna")
    client.sign_in(user)
    assert remind(client, ifo["bea_nck"]).status_code == expected
    assert count(OutboxMessage) == 0
    assert count(AuditEvent, AuditEvent.action == manual_reminders.ACTION) == 0


def test_a_course_not_overdue_or_ones_own_is_refused_with_a_reason(client, ifo):
    nck = ifo["nck"]
    dan_nck, cem_nck = ifo["dan_nck"], ifo["cem_nck"]
    own = factories.assignment(ifo["maria"], nck, due_in_days=-2)
    client.sign_in(ifo["maria"])

    for assignment, reason in (
        (dan_nck, "Kursen är inte försenad för Dan Ek än."),
        (cem_nck, "Cem Ek behöver ingen påminnelse om kursen"),
        (own, "Du kan inte skicka en påminnelse till dig själv."),
    ):
        page = client.post_form(f"/team/reminders/{assignment.id}", follow_redirects=True).get_data(
            as_text=True
        )
        assert reason in page
    assert count(OutboxMessage) == 0
    team = team_section(client.get("/").get_data(as_text=True))
    assert 'href="#my-courses-heading">Din egen kurs</a>' in team


def test_reminders_are_rate_limited_per_sender(app, client, ifo, monkeypatch):
    monkeypatch.setitem(app.config, "MANUAL_REMINDER_RATE_LIMIT", "2 per hour")
    client.sign_in(ifo["maria"])
    assert remind(client, ifo["bea_nck"]).status_code == 302
    assert remind(client, ifo["bea_nck"]).status_code == 302  # refused by the weekly rule
    response = remind(client, ifo["bea_nck"])
    assert response.status_code == 429
    assert "Du har skickat många påminnelser på kort tid." in response.get_data(as_text=True)
    assert count(OutboxMessage) == 1


# --- the overdue list as a file ---------------------------------------------------------------


def test_the_overdue_list_downloads_as_csv_and_xlsx(client, ifo):
    client.sign_in(ifo["maria"])
    csv = client.get("/team/overdue.csv")
    assert csv.status_code == 200
    assert csv.headers["Content-Disposition"] == (
        'attachment; filename="forsenade-kurser-2026-11-30.csv"'
    )
    lines = csv.get_data().decode("utf-8-sig").splitlines()
    assert lines[0] == (
        "Efternamn;Förnamn;Enhet;Kurs;Sista dag;Dagar försenad;Påmind av chef eller HR"
    )
    assert lines[1:] == ["Ek;Bea;IFO Järfälla;Webbkurs om våld;2026-11-18;12;"]

    xlsx = client.get("/team/overdue.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:4] == ("Ek", "Bea", "IFO Järfälla", "Webbkurs om våld")
    assert rows[1][5] == 12


# --- the unit page, only the overdue ------------------------------------------------------------


def test_the_unit_page_filters_to_only_the_overdue(client, ifo):
    client.sign_in(ifo["maria"])
    unit_id = ifo["unit"].id
    everyone = client.get(f"/reports/units/{unit_id}").get_data(as_text=True)
    only = client.get(f"/reports/units/{unit_id}?overdue=1").get_data(as_text=True)

    assert all(f"{name} Ek" in everyone for name in ("Ali", "Bea", "Cem", "Dan"))
    assert "Bea Ek" in only
    assert not any(f"{name} Ek" in only for name in ("Ali", "Cem", "Dan"))
    assert 'name="overdue" value="1" checked' in only
    assert 'name="overdue" value="1" checked' not in everyone
    assert "1 person har försenade kurser." in only
