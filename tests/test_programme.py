"""The joint programme (issue #20): organisers create events with sessions in Swedish time;
every employee sees the events open to them by month, with the places left, and the November
campaign on its own page."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
import sqlalchemy as sa
import time_machine

from tests import factories
from tests.conftest import count
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    ProgrammeEvent,
    ProgrammeSession,
    Role,
    Sector,
)
from training_tracker.services.core.errors import FieldError
from training_tracker.services.programme import events, signups, times


def event_form(**overrides: object) -> dict[str, object]:
    jarfalla, sigtuna = factories.municipality("Järfälla"), factories.municipality("Sigtuna")
    form: dict[str, object] = {
        "title": "Barn som upplever våld",
        "description": "Föreläsning med Barnafrid.",
        "format": "digital",
        "link": "https://möte.example/barn",
        "place": "",
        "municipalities": [str(jarfalla.id), str(sigtuna.id)],
        "sectors": ["socialtjanst", "skola_forskola"],
        "capacity": "40",
        "signup_deadline": "2026-11-10",
        "course": "",
        "campaign": "y",
        "day": "2026-11-12",
        "starts": "13:00",
        "ends": "15:30",
    }
    form.update(overrides)
    return form


# --- creating events ---------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 10, 1, 9, 0), tick=False)
def test_an_organiser_creates_an_event_whose_times_are_stored_in_utc(client):
    factories.synced_catalog()
    organiser = factories.organiser("Järfälla")
    client.sign_in(organiser)

    response = client.post_form("/programme/manage/new", event_form())

    assert response.status_code == 302, response.get_data(as_text=True)
    event = db.session.scalars(sa.select(ProgrammeEvent)).one()
    assert event.title == "Barn som upplever våld"
    assert {m.name for m in event.municipalities} == {"Järfälla", "Sigtuna"}
    assert event.sector_list == [Sector.SOCIAL_SERVICES, Sector.SCHOOL]
    assert event.capacity == 40 and event.campaign and event.provider.key == "gemensamma-programmet"
    assert event.owner_municipality_id == factories.municipality("Järfälla").id
    # 13:00 in November is winter time (UTC+1): 12:00 UTC.
    (session,) = event.sessions
    assert (session.starts_at, session.ends_at) == (
        datetime(2026, 11, 12, 12, 0),
        datetime(2026, 11, 12, 14, 30),
    )
    # The last day to sign up is the whole of 10 November, Swedish time.
    assert event.signup_deadline == datetime(2026, 11, 10, 23, 0)
    assert count(AuditEvent, AuditEvent.action == "programme.event_created") == 1

    # A second session in June (summer time, UTC+2) on the organiser's page.
    response = client.post_form(
        f"/programme/manage/{event.id}/sessions",
        {"day": "2027-06-03", "starts": "09:00", "ends": "11:00"},
    )
    assert response.status_code == 302
    starts = db.session.scalars(
        sa.select(ProgrammeSession.starts_at).order_by(ProgrammeSession.starts_at)
    ).all()
    assert starts == [datetime(2026, 11, 12, 12, 0), datetime(2027, 6, 3, 7, 0)]
    page = client.get(f"/programme/manage/{event.id}").get_data(as_text=True)
    assert "12 november 2026 13:00–15:30" in page
    assert "3 juni 2027 09:00–11:00" in page


def test_a_bad_event_form_says_what_is_wrong_and_stores_nothing(client):
    factories.synced_catalog()
    client.sign_in(factories.organiser("Järfälla"))

    response = client.post_form(
        "/programme/manage/new",
        event_form(link="", capacity="0", municipalities=[], starts="15:00", ends="14:00"),
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Antalet platser ska vara mellan 1 och 10000." in page
    assert "Välj minst en kommun." in page
    assert "Sluttiden måste vara efter starttiden." in page
    response = client.post_form("/programme/manage/new", event_form(link=""))
    assert response.status_code == 422
    assert "Ett digitalt evenemang behöver en länk." in response.get_data(as_text=True)
    assert count(ProgrammeEvent) == 0


def test_a_time_that_summer_time_skips_is_refused_and_a_repeated_one_is_summer_time(app):
    # 28 March 2027: the clocks go from 02:00 to 03:00.
    with pytest.raises(FieldError, match="klockan ställs fram"):
        times.to_utc(date(2027, 3, 28), time(2, 30))
    assert times.to_utc(date(2027, 3, 28), time(3, 0)) == datetime(2027, 3, 28, 1, 0)
    # 31 October 2027: 02:30 happens twice; the first time (summer time) is meant.
    assert times.to_utc(date(2027, 10, 31), time(2, 30)) == datetime(2027, 10, 31, 0, 30)


def test_an_organiser_changes_only_the_events_of_their_municipality(client):
    own = factories.programme_event(title="Järfällas", owner="Järfälla")
    other = factories.programme_event(title="Sigtunas", owner="Sigtuna")
    regional = factories.programme_event(title="Regionens", owner=None)
    local_organiser = factories.organiser("Järfälla")
    region = factories.organiser(None)

    assert [e.title for e in events.organised_events(db.session, local_organiser)] == ["Järfällas"]
    assert {e.title for e in events.organised_events(db.session, region)} == {
        "Järfällas",
        "Sigtunas",
        "Regionens",
    }
    assert events.organised_event(db.session, local_organiser, other.id) is None
    assert events.organised_event(db.session, local_organiser, regional.id) is None
    assert events.organised_event(db.session, local_organiser, own.id) is not None


def test_the_organiser_role_is_granted_for_a_municipality_or_the_region(app):
    person = factories.organiser(None)
    (grant,) = person.role_grants
    assert grant.role == Role.ORGANISER and grant.municipality_id is None
    assert not person.has_role(Role.COORDINATOR, Role.HR)


# --- the programme page and the campaign -------------------------------------------------------


@time_machine.travel(datetime(2026, 10, 20, 9, 0), tick=False)
def test_the_programme_shows_the_events_open_to_me_by_month_with_the_places_left(client):
    me = factories.employee(unit=factories.unit("Järfälla", Sector.SCHOOL, "Skolan"))
    factories.programme_event(
        title="Barn som upplever våld", starts=datetime(2026, 11, 12, 13, 0), capacity=2
    )
    factories.programme_event(
        title="Våld i ungas relationer", starts=datetime(2026, 12, 3, 9, 0), capacity=1
    )
    factories.programme_event(
        title="Bara för Sigtuna", municipalities=("Sigtuna",), starts=datetime(2026, 11, 5, 9, 0)
    )
    full = factories.programme_event(
        title="Hedersrelaterat våld", starts=datetime(2026, 11, 20, 9, 0), capacity=1
    )
    factories.programme_event(title="Förra månaden", starts=datetime(2026, 10, 1, 9, 0))
    colleague = factories.employee(unit=me.unit)
    signups.sign_up(db.session, colleague, full, colleague)
    db.session.commit()
    client.sign_in(me)

    page = client.get("/programme/").get_data(as_text=True)

    assert page.index("November 2026") < page.index("December 2026")
    assert page.index("Barn som upplever våld") < page.index("Hedersrelaterat våld")
    assert page.index("Hedersrelaterat våld") < page.index("December 2026")
    assert "2 platser kvar" in page and "1 plats kvar" in page and "Fullt" in page
    assert "12 november 2026 13:00–15:00" in page
    assert "Bara för Sigtuna" not in page and "Förra månaden" not in page


@time_machine.travel(datetime(2026, 10, 20, 9, 0), tick=False)
def test_the_november_campaign_has_its_own_page(client):
    me = factories.employee(unit=factories.unit("Sigtuna", Sector.LEISURE, "Fritidsgården"))
    factories.programme_event(
        title="Kampanjens öppning", campaign=True, starts=datetime(2026, 11, 2, 9, 0)
    )
    factories.programme_event(title="Inte i kampanjen", starts=datetime(2026, 11, 3, 9, 0))
    factories.programme_event(
        title="Förra årets kampanj", campaign=True, starts=datetime(2025, 11, 3, 9, 0)
    )
    client.sign_in(me)

    page = client.get("/programme/kampanj/2026").get_data(as_text=True)

    assert "En månad fri från våld 2026" in page
    assert "Kampanjens öppning" in page
    assert "Inte i kampanjen" not in page and "Förra årets kampanj" not in page
    assert "Förra årets kampanj" in client.get("/programme/kampanj/2025").get_data(as_text=True)
    assert client.get("/programme/kampanj/1999").status_code == 404


def test_an_event_of_another_municipality_is_not_found(client):
    other = factories.programme_event(municipalities=("Sigtuna",))
    client.sign_in(factories.employee(unit=factories.unit("Järfälla")))
    assert client.get(f"/programme/events/{other.id}").status_code == 404
