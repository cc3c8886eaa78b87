"""The SCIM pages in a real browser: the admin creates a directory token (its secret shown
once) and reaches the revoke question, on a desktop and on a phone; HR sees the people the
directory enrolled without a unit and opens their list. Every page passes axe-core and fits a
phone without sideways scrolling."""

from __future__ import annotations

from typing import Any

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
from training_tracker.models import Employee, ScimToken

pytestmark = pytest.mark.browser


def test_an_admin_creates_a_directory_token_on_a_phone(
    phone_page: Any, live_server: str, demo: DemoResult
) -> None:
    page = phone_page
    sign_in(page, live_server, demo_email(demo, "admin"))
    page.goto(f"{live_server}/admin/scim")
    expect(page.get_by_role("heading", name="Katalogkoppling (SCIM)", level=1)).to_be_visible()
    assert_accessible(page)
    assert_no_sideways_scroll(page)

    page.get_by_label("Kommun", exact=True).select_option(label="Sigtuna")
    page.get_by_label("Namn", exact=True).fill("Entra ID")
    page.get_by_role("button", name="Skapa token").click()

    expect(page.get_by_role("heading", name="Token för Sigtuna", level=1)).to_be_visible()
    secret = page.get_by_label("Token (Entra ID)").input_value()
    assert secret.startswith("ttscim_")
    assert_accessible(page)
    assert_no_sideways_scroll(page)

    page.get_by_role("link", name="Tillbaka till Katalogkoppling (SCIM)").click()
    expect(page.get_by_role("cell", name="Sigtuna", exact=True)).to_be_visible()
    assert secret not in page.content()
    assert_no_sideways_scroll(page)
    page.get_by_role("link", name="Återkalla").click()
    expect(page.get_by_role("heading", name="Återkalla token?", level=1)).to_be_visible()
    assert_accessible(page)
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Ja, återkalla token").click()
    expect(page.get_by_text("Token är återkallad.")).to_be_visible()
    token = db.session.scalars(sa.select(ScimToken)).one()
    assert token.revoked_at is not None


def test_hr_finds_the_people_the_directory_enrolled_without_a_unit(
    page: Any, live_server: str, demo: DemoResult
) -> None:
    hr_email = demo_email(demo, "hr")
    hr = db.session.scalars(sa.select(Employee).where(Employee.email == hr_email)).one()
    db.session.add(
        Employee(
            first_name="Utan",
            last_name="Enhetsson",
            email="utan.enhetsson@example.se",
            municipality_id=hr.municipality_id,
            unit_id=None,
        )
    )
    db.session.commit()
    sign_in(page, live_server, hr_email)

    expect(page.get_by_role("heading", name="Utan enhet", level=2)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="1 person saknar enhet").click()

    expect(page.get_by_role("link", name="Enhetsson, Utan")).to_be_visible()
    expect(page.get_by_label("Enhet", exact=True)).to_have_value("none")
    assert_accessible(page)
