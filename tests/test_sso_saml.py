"""Signing in through the municipality's SAML 2.0 identity provider (issue #18), against a
real IdP on loopback (pysaml2's own, tests/saml_idp.py), over HTTP, with the test client as
browser: the request goes out over HTTP-Redirect, the response comes back over HTTP-POST."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
import time_machine

from tests import factories
from tests.saml_idp import SamlTestIdp, form_fields
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Employee, IdentityProvider, SamlSeenAssertion, SsoLink
from training_tracker.services.people import saml_settings

NOT_ENROLLED = "Du finns inte i utbildningsuppföljningen ännu. Kontakta HR i din kommun."
FAILED = "Inloggningen misslyckades"


@pytest.fixture()
def idp(app) -> Iterator[SamlTestIdp]:  # type: ignore[no-untyped-def]
    provider = SamlTestIdp().start()
    saml_settings.forget_cached_settings()
    yield provider
    provider.stop()
    saml_settings.forget_cached_settings()


def _trusted(client, idp: SamlTestIdp, provider: IdentityProvider) -> IdentityProvider:  # type: ignore[no-untyped-def]
    """The IdP's administrator imports our metadata (from its stable URL)."""
    response = client.get(f"/login/saml/{provider.id}/metadata")
    assert response.status_code == 200
    idp.trust(response.get_data(as_text=True))
    return provider


@pytest.fixture()
def jarfalla(client, idp: SamlTestIdp) -> IdentityProvider:  # type: ignore[no-untyped-def]
    provider = factories.saml_identity_provider(idp.metadata_xml(), label="Järfälla kommun")
    return _trusted(client, idp, provider)


@pytest.fixture()
def anna() -> Employee:
    return factories.employee(
        unit=factories.unit("Järfälla"), email="anna.andersson@jarfalla.se", password=None
    )


def _to_idp(client, start_url: str) -> str:  # type: ignore[no-untyped-def]
    """From our start URL to the IdP's sign-in URL (the redirects the browser follows)."""
    response = client.get(start_url)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    if location.startswith("/login/"):
        return _to_idp(client, location)
    return location


def _idp_answer(sso_url: str) -> tuple[str, str]:
    """The IdP signs the person in and answers with its auto-posting form."""
    page = requests.get(sso_url, timeout=10)
    assert page.status_code == 200, page.text
    return form_fields(page.text)


def _post_back(client, action: str, saml_response: str):  # type: ignore[no-untyped-def]
    return client.post(urlsplit(action).path, data={"SAMLResponse": saml_response})


def sign_in(client, provider: IdentityProvider):  # type: ignore[no-untyped-def]
    action, saml_response = _idp_answer(_to_idp(client, f"/login/sso/{provider.id}"))
    return _post_back(client, action, saml_response)


def _signed_in_as(client) -> int | None:  # type: ignore[no-untyped-def]
    with client.session_transaction() as session:
        user = session.get("_user_id")
    return int(user.split(":")[0]) if user else None


def test_the_work_address_leads_to_the_idp_and_signs_the_person_in(
    client, idp, jarfalla, anna
) -> None:
    idp.person = {
        "name_id": "adfs-guid-1",
        "attributes": {"mail": ["Anna.Andersson@jarfalla.se"]},
    }
    started = time.perf_counter()
    sso_url = _to_idp(client, "/login/sso?email=anna.andersson@JARFALLA.se")
    assert sso_url.startswith(idp.base + "/sso?")
    query = parse_qs(urlsplit(sso_url).query)
    assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert query["Signature"]
    action, saml_response = _idp_answer(sso_url)
    request = idp.requests_seen[-1]
    assert request.name_id_policy.format == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert action == f"http://127.0.0.1:5000/login/saml/{jarfalla.id}/acs"

    response = _post_back(client, action, saml_response)
    elapsed = time.perf_counter() - started

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert _signed_in_as(client) == anna.id
    link = db.session.scalars(sa.select(SsoLink)).one()
    assert (link.employee_id, link.issuer, link.subject) == (anna.id, idp.entity_id, "adfs-guid-1")
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "auth.sso_linked"))
    assert db.session.scalar(sa.select(sa.func.count(SamlSeenAssertion.id))) == 1
    assert client.get("/").status_code == 200
    print(f"one SAML sign-in (start, IdP, ACS): {elapsed * 1000:.0f} ms")

    # Later sign-ins use the link: a changed address at the IdP still finds Anna.
    client.post_form("/logout")
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": ["anna.s@jarfalla.se"]}}
    assert sign_in(client, jarfalla).status_code == 302
    assert _signed_in_as(client) == anna.id
