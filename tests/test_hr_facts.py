"""What HR reads at a glance (issue #17): a leaver's end date in the staff list and on the
person's page, whether the person has an account, and "–" rather than "0 %" on the start page
for a unit where nothing is required."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests import factories
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Role, Sector


@pytest.fixture()
def ifo():
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")


@pytest.fixture()
def hr(client, ifo):  # type: ignore[no-untyped-def]
    person = factories.with_role(
        factories.employee(unit=ifo, first_name="Hedda"), Role.HR, municipality_name="Järfälla"
    )
    client.sign_in(person)
    return person


def list_row(page: str, person) -> str:  # type: ignore[no-untyped-def]
    match = re.search(rf'href="/employees/{person.id}">.*?</tr>', page, re.S)
    assert match, f"no row for {person.full_name}"
    return match.group(0)


def test_leavers_show_their_end_date_in_the_list_and_on_their_page(client, ifo, hr):
    leaving_on = clock.today() + timedelta(days=20)
    left_on = clock.today() - timedelta(days=3)
    leaving = factories.employee(unit=ifo, first_name="Lea")
    leaving.end_date = leaving_on
    left = factories.employee(unit=ifo, first_name="Leo", active=False)
    left.end_date = left_on
    staying = factories.employee(unit=ifo, first_name="Sten")
    db.session.commit()

    page = client.get("/employees/?status=").get_data(as_text=True)
    assert f"Slutar {factories.shown(leaving_on)}" in list_row(page, leaving)
    assert f"Slutade {factories.shown(left_on)}" in list_row(page, left)
    assert "Slut" not in list_row(page, staying)

    assert f"Slutar {factories.shown(leaving_on)}" in client.get(
        f"/employees/{leaving.id}"
    ).get_data(as_text=True)
    assert f"Slutade {factories.shown(left_on)}" in client.get(f"/employees/{left.id}").get_data(
        as_text=True
    )
    assert "Slut" not in re.sub(
        r"<dt>Slutdatum</dt>", "", client.get(f"/employees/{staying.id}").get_data(as_text=True)
    )


def account_fact(page: str) -> str:
    match = re.search(r"<dt>Konto</dt><dd>(.*?)</dd>", page, re.S)
    assert match, "no account fact"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_the_person_page_says_whether_the_person_has_an_account(client, ifo, hr):
    with_password = factories.employee(unit=ifo)
    by_sso = factories.employee(unit=ifo, password=None)
    by_sso.last_login_at = datetime(2026, 11, 2, 8, 0)
    invited = factories.employee(unit=ifo, password=None)
    invited.invited_at = datetime(2026, 11, 3, 10, 0)
    not_invited = factories.employee(unit=ifo, password=None)
    db.session.commit()

    def fact(person) -> str:  # type: ignore[no-untyped-def]
        return account_fact(client.get(f"/employees/{person.id}").get_data(as_text=True))

    assert fact(with_password) == "Har konto: har valt lösenord"
    assert fact(by_sso) == "Har konto: loggar in med kommunens inloggning"
    assert fact(invited) == "Inbjuden 3 november 2026, har inte valt lösenord ännu"
    assert fact(not_invited) == "Ej inbjuden"


def test_a_unit_with_nothing_required_shows_a_dash_not_zero_percent(client, ifo, hr):
    factories.employee(unit=ifo)
    page = client.get("/").get_data(as_text=True)
    # The unit's name opens its page (a link for HR).
    match = re.search(r'<th scope="row"><a [^>]*>IFO Järfälla</a></th>(.*?)</tr>', page, re.S)
    assert match
    cells = re.findall(r'<td class="num"[^>]*>(.*?)</td>', match.group(1), re.S)
    assert cells[1] == "0"  # courses to take
    assert "0 %" not in cells[-1]
    assert '<span aria-hidden="true">–</span>' in cells[-1] and "Inga kurser krävs" in cells[-1]
