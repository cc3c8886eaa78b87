"""HR's list of staff in a real browser, at 1,280 and 390 px: HR filters to those not yet
invited, the columns fit the desktop without sideways scrolling (the e-mail under the name,
not squeezed into a column of its own) and each person is a card on the phone; HR then sends
the held invitations after a confirmation that shows the count. axe-core checks each page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.support import (
    assert_accessible,
    assert_no_sideways_scroll,
    demo_email,
    sign_in,
)
from training_tracker.demo.seed import DemoResult
from training_tracker.extensions import db
from training_tracker.models import Employee, OutboxMessage

pytestmark = pytest.mark.browser


def _held_invitations(demo: DemoResult) -> int:
    """At least three people of HR's municipality never invited and without an account."""
    hr = db.session.scalars(
        sa.select(Employee).where(Employee.email == demo_email(demo, "hr"))
    ).one()
    waiting = db.session.scalars(
        sa.select(Employee)
        .where(
            Employee.municipality_id == hr.municipality_id,
            Employee.active,
            Employee.end_date.is_(None),
            Employee.id != hr.id,
        )
        .order_by(Employee.id.desc())
        .limit(3)
    ).all()
    for person in waiting:
        person.password_hash = None
        person.last_login_at = None
        person.invited_at = None
    db.session.commit()
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Employee)
        .where(
            Employee.municipality_id == hr.municipality_id,
            Employee.active,
            Employee.password_hash.is_(None),
            Employee.last_login_at.is_(None),
            Employee.invited_at.is_(None),
            sa.or_(Employee.end_date.is_(None), Employee.end_date > sa.func.current_date()),
        )
    )
    db.session.rollback()  # hold no lock while the server works
    return int(count or 0)


@pytest.mark.parametrize("screen_fixture", ["page", "phone_page"])  # 1,280 and 390 px
def test_hr_filters_the_list_and_sends_the_held_invitations(
    request: pytest.FixtureRequest, live_server: str, demo: DemoResult, screen_fixture: str
) -> None:
    screen = request.getfixturevalue(screen_fixture)
    held = _held_invitations(demo)
    sign_in(screen, live_server, demo_email(demo, "hr"))
    screen.goto(f"{live_server}/employees/")

    # Filter: not yet invited, 25 a page. The filters land in the address (a bookmark).
    screen.get_by_label("Konto").select_option("not_invited")
    screen.get_by_label("Antal per sida").select_option("25")
    with screen.expect_navigation():
        screen.get_by_role("button", name="Sök", exact=True).click()
    assert "account=not_invited" in screen.url and "per_page=25" in screen.url
    expect(screen.get_by_role("heading", name=re.compile(r"^\d+ anställda?$"))).to_be_visible()
    rows = screen.locator(".employee-table tbody tr")
    assert 0 < rows.count() <= 25
    for text in rows.all_inner_texts():
        assert "Ej inbjuden" in text

    region = screen.locator(".table-scroll", has=screen.locator(".employee-table"))
    overflow = region.evaluate("box => box.scrollWidth - box.clientWidth")
    assert overflow <= 0, f"the list scrolls sideways by {overflow} px"
    if screen_fixture == "page":
        # The e-mail sits under the name in a column wide enough for it.
        name_cell = rows.first.locator("th").bounding_box()
        assert name_cell is not None and name_cell["width"] >= 280, name_cell
        expect(screen.get_by_role("columnheader", name="Namn och e-post")).to_be_visible()
    else:
        # Each person is a card whose lines say what they are.
        card = rows.first.bounding_box()
        assert card is not None and card["width"] <= 390, card
        assert rows.first.evaluate("row => getComputedStyle(row).display") == "block"
        label = rows.first.locator("td").first.evaluate(
            "cell => getComputedStyle(cell, '::before').content"
        )
        # The column's name shows before the value, for the eye only (its alt text is empty:
        # a screen reader says the column header itself).
        assert label == '"Enhet: " / ""', label
    assert_no_sideways_scroll(screen)
    assert_accessible(screen)

    # The bulk action asks first, with the count, and keeps the filters.
    with screen.expect_navigation():
        screen.get_by_role("link", name=re.compile("Skicka väntande inbjudningar")).click()
    assert "account=not_invited" in screen.url
    expect(screen.get_by_role("heading", level=1)).to_have_text(f"Skicka {held} inbjudningar?")
    assert_no_sideways_scroll(screen)
    assert_accessible(screen)
    with screen.expect_navigation():
        screen.get_by_role("button", name=f"Ja, skicka {held} inbjudningar").click()
    expect(screen.get_by_role("status").first).to_contain_text(
        f"{held} inbjudningar ligger i utkorgen"
    )
    expect(screen.get_by_role("link", name=re.compile("Skicka väntande"))).to_have_count(0)
    assert_accessible(screen)
    sent = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == "invitation")
    )
    db.session.rollback()
    assert sent is not None and sent >= held
