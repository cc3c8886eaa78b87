"""Signing in through the municipality's SAML 2.0 identity provider in Chromium (issue #18):
the address on the sign-in page leads to a real SAML IdP on loopback (pysaml2's, with a signed
AuthnRequest over HTTP-Redirect), whose page posts the response back to our ACS; signing out
offers the IdP's single logout, which comes back to us. Each of our pages is scanned with
axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from playwright.sync_api import expect

from tests import factories
from tests.browser.support import assert_accessible, assert_no_sideways_scroll, sign_in
from tests.saml_idp import SamlTestIdp
from training_tracker.services.people import saml_settings

pytestmark = pytest.mark.browser


@pytest.fixture()
def idp(app: Flask, live_server: str) -> Iterator[SamlTestIdp]:
    provider = SamlTestIdp().start()
    saml_settings.forget_cached_settings()
    base_url = app.config["BASE_URL"]
    app.config["BASE_URL"] = live_server  # our entity id and ACS, as the IdP sees them
    yield provider
    app.config["BASE_URL"] = base_url
    provider.stop()
    saml_settings.forget_cached_settings()


def test_sign_in_through_a_saml_idp_and_out_again(
    page: Any, phone_page: Any, live_server: str, idp: SamlTestIdp
) -> None:
    provider = factories.saml_identity_provider(idp.metadata_xml(), label="Järfälla kommun")
    ours = requests.get(f"{live_server}/login/saml/{provider.id}/metadata", timeout=10)
    idp.trust(ours.text)  # the IdP's administrator imports our metadata
    anna = factories.employee(
        unit=factories.unit("Järfälla"), email="anna.andersson@jarfalla.se", first_name="Anna"
    )
    idp.person = {"name_id": "adfs-anna", "attributes": {"mail": [anna.email]}}

    page.goto(f"{live_server}/login")
    page.get_by_label("Din e-postadress på jobbet").fill("Anna.Andersson@jarfalla.se")
    page.get_by_role("button", name="Logga in via din kommun").click()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Anna")

    page.get_by_role("button", name="Logga ut").click()
    expect(page.get_by_role("heading", name="Du är utloggad", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Logga ut från Järfälla kommun också").click()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_text("Du är utloggad även från Järfälla kommun.")).to_be_visible()
    assert idp.logouts_seen and idp.logouts_seen[-1].name_id.text == "adfs-anna"
    assert_accessible(page)

    # Someone the IdP knows but HR never enrolled: told so, and nothing is created.
    idp.person = {"name_id": "adfs-new", "attributes": {"mail": ["ny.person@jarfalla.se"]}}
    page.get_by_role("link", name="Logga in med Järfälla kommun").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Du finns inte i utbildningsuppföljningen ännu. Kontakta HR i din kommun."
    )
    assert_accessible(page)

    # The admin page with the SAML provider and its form, on a phone.
    sign_in(phone_page, live_server, factories.admin().email)
    phone_page.goto(f"{live_server}/admin/sso")
    expect(
        phone_page.get_by_role("link", name=f"{live_server}/login/saml/{provider.id}/metadata")
    ).to_be_visible()
    expect(phone_page.get_by_label("Adress till metadata")).to_be_visible()
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
