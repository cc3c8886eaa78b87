"""Signing in, in a real browser: every demo account lands on the start page, sees what its
role came for, and the page passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    DEMO_PASSWORD,
    EMAIL_LABEL,
    PASSWORD_LABEL,
    SIGN_IN_BUTTON,
    assert_accessible,
    demo_email,
    sign_in,
)
from training_tracker.demo.seed import DemoResult

pytestmark = pytest.mark.browser

# The heading of the start-page section each role comes for.
LANDING_HEADING = {
    "admin": "Administration",
    "hr": "Enheter",
    "manager": re.compile(r"^Min enhet(: .+)?$"),  # with the unit's name (issue #17)
    "coordinator": "Kommuner",
    "regional-coordinator": "Kommuner",
    "employee": "Mina utbildningar",
    "organiser": "Mina utbildningar",  # an employee who also organises the joint programme
}
WRONG_CREDENTIALS = "Fel e-postadress eller lösenord."


def test_every_demo_role_has_a_landing_heading(demo: DemoResult) -> None:
    assert sorted(role for role, _email in demo.accounts) == sorted(LANDING_HEADING)


@pytest.mark.parametrize("role", list(LANDING_HEADING))
def test_demo_user_signs_in_and_lands_on_an_accessible_start_page(
    page: Any, live_server: str, demo: DemoResult, role: str
) -> None:
    sign_in(page, live_server, demo_email(demo, role))

    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Hej "))
    expect(page.get_by_role("heading", name=LANDING_HEADING[role], exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()
    if role != "admin":
        expect(page.get_by_role("heading", name="Administration", exact=True)).to_have_count(0)
    assert_accessible(page)


def test_wrong_password_is_refused_in_swedish_and_accessibly(
    page: Any, live_server: str, demo: DemoResult
) -> None:
    sign_in(page, live_server, demo_email(demo, "employee"), "inte-det-riktiga-losenordet")

    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("heading", name="Logga in", level=1)).to_be_visible()
    password = page.get_by_label(PASSWORD_LABEL, exact=True)
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(re.compile(re.escape(WRONG_CREDENTIALS)))
    expect(page.get_by_role("alert").filter(has_text=WRONG_CREDENTIALS)).to_be_visible()
    expect(page.get_by_role("button", name="Logga ut")).to_have_count(0)
    assert_accessible(page)


def _tab_until_focused(page: Any, locator: Any, *, most: int = 15) -> int:
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return presses
    raise AssertionError(f"{most} presses of Tab never reached {locator}")


def test_sign_in_with_the_keyboard_only(page: Any, live_server: str, demo: DemoResult) -> None:
    page.goto(f"{live_server}/login")
    email = page.get_by_label(EMAIL_LABEL, exact=True)
    password = page.get_by_label(PASSWORD_LABEL, exact=True)

    _tab_until_focused(page, email)
    page.keyboard.type(demo_email(demo, "employee"))
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=SIGN_IN_BUTTON, exact=True)).to_be_focused()
    page.keyboard.press("Shift+Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", name="Mina utbildningar", exact=True)).to_be_visible()
