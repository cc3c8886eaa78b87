"""Signing in through the municipality's identity provider in Chromium (issue #18): the
address on the sign-in page leads to a real OpenID Connect provider on loopback and back in;
signing out offers the provider's logout; someone not enrolled is told so. Each page on the
way is scanned with axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests import factories
from tests.browser.support import assert_accessible, assert_no_sideways_scroll, sign_in
from training_tracker.demo.oidc_test_provider import OidcTestProvider, Serving
from training_tracker.services.people import oidc_sign_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def idp(app: Flask, live_server: str) -> Iterator[OidcTestProvider]:
    provider = OidcTestProvider(redirect_uris=(f"{live_server}/login/sso/callback",))
    serving = Serving(provider).start()
    oidc_sign_in.forget_cached_metadata()
    base_url = app.config["BASE_URL"]
    app.config["BASE_URL"] = live_server  # the redirect URI the provider sends the browser to
    yield provider
    app.config["BASE_URL"] = base_url
    serving.stop()
    oidc_sign_in.forget_cached_metadata()


def test_sign_in_through_the_municipality_and_out_again(
    page: Any, phone_page: Any, live_server: str, idp: OidcTestProvider
) -> None:
    factories.identity_provider(idp.issuer, label="Järfälla kommun")
    anna = factories.employee(
        unit=factories.unit("Järfälla"), email="anna.andersson@jarfalla.se", first_name="Anna"
    )
    idp.person = {"sub": "oid-anna", "email": anna.email}

    phone_page.goto(f"{live_server}/login")
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)

    page.goto(f"{live_server}/login")
    assert_accessible(page)
    page.get_by_label("Din e-postadress på jobbet").fill("Anna.Andersson@jarfalla.se")
    page.get_by_role("button", name="Logga in via din kommun").click()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Anna")

    page.get_by_role("button", name="Logga ut").click()
    expect(page.get_by_role("heading", name="Du är utloggad", level=1)).to_be_visible()
    link = page.get_by_role("link", name="Logga ut från Järfälla kommun också")
    assert (link.get_attribute("href") or "").startswith(f"{idp.issuer}/logout?")
    assert_accessible(page)

    # Someone the provider knows but HR never enrolled: told so, and nothing is created.
    idp.person = {"sub": "oid-new", "email": "ny.person@jarfalla.se"}
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="Logga in med Järfälla kommun").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Du finns inte i utbildningsuppföljningen ännu. Kontakta HR i din kommun."
    )
    assert_accessible(page)

    # A return no sign-in was started for: refused, with a way to try again.
    page.goto(f"{live_server}/login/sso/callback?code=x&state=y")
    expect(page.get_by_role("heading", name="Inloggningen misslyckades", level=1)).to_be_visible()
    assert_accessible(page)

    # The admin page with a provider in its table, on a phone too.
    admin = factories.admin()
    sign_in(phone_page, live_server, admin.email)
    phone_page.goto(f"{live_server}/admin/sso")
    expect(phone_page.get_by_role("cell", name="Järfälla kommun", exact=True)).to_be_visible()
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
