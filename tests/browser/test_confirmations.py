"""Destructive actions ask first, by keyboard alone: removing a role leads to a page that says
what will happen, where "Avbryt" changes nothing and "Ja, ta bort rollen" removes it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import PHONE
from tests.browser.support import assert_accessible, assert_no_sideways_scroll, sign_in
from training_tracker.extensions import db
from training_tracker.models import Role, RoleGrant

pytestmark = pytest.mark.browser

MAX_TABS = 60  # more Tab presses than any of these pages has stops


def tab_to(page: Any, name: str) -> None:
    """Press Tab until the focused element is the link or button called ``name``, as a
    keyboard user would; fails if it never gets there."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? e.textContent.trim().replace(/\\s+/g, ' ') : ''; }"
        )
        if focused == name:
            return
    raise AssertionError(f"{page.url}: Tab never reached {name!r}")


def grant_exists(grant_id: int) -> bool:
    exists = db.session.get(RoleGrant, grant_id) is not None
    db.session.rollback()  # hold no lock while the server writes
    return exists


@pytest.fixture()
def coordinator_grant(app: Flask) -> tuple[str, int]:
    """An admin's e-mail, and a coordinator's grant for them to remove."""
    admin = factories.with_role(
        factories.employee(system_account=True, first_name="Ada", last_name="Admin"), Role.ADMIN
    )
    person = factories.with_role(
        factories.employee(first_name="Sara", last_name="Samordnare"),
        Role.COORDINATOR,
        municipality_name="Sigtuna",
    )
    return admin.email, person.role_grants[0].id


def test_removing_a_role_asks_first_and_works_by_keyboard(
    page: Any, live_server: str, coordinator_grant: tuple[str, int]
) -> None:
    email, grant_id = coordinator_grant
    sign_in(page, live_server, email)
    page.goto(f"{live_server}/admin/roles")

    # "Avbryt" goes back and removes nothing.
    tab_to(page, "Ta bort Samordnare Sara Samordnare")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ta bort rollen?")
    expect(page.get_by_text("Sara Samordnare")).to_contain_text(
        "förlorar rollen Samordnare för Sigtuna."
    )
    assert_accessible(page)
    tab_to(page, "Avbryt")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/admin/roles")
    assert grant_exists(grant_id)

    # "Ja, ta bort rollen" removes it.
    tab_to(page, "Ta bort Samordnare Sara Samordnare")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "Ja, ta bort rollen")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text("Rollen är borttagen.")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Sara Samordnare")).to_have_count(0)
    assert not grant_exists(grant_id)


def test_the_question_fits_a_phone(
    phone_page: Any, live_server: str, coordinator_grant: tuple[str, int]
) -> None:
    email, grant_id = coordinator_grant
    sign_in(phone_page, live_server, email)
    phone_page.goto(f"{live_server}/admin/roles/{grant_id}/revoke")
    expect(phone_page.get_by_role("button", name="Ja, ta bort rollen")).to_be_visible()
    assert phone_page.viewport_size == PHONE
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
