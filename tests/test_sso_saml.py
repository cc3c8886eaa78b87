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


ACS = "http://127.0.0.1:5000/login/saml/{id}/acs"
ENTITY = "http://127.0.0.1:5000/login/saml/{id}/metadata"


def _started(client, idp: SamlTestIdp, provider: IdentityProvider) -> str:  # type: ignore[no-untyped-def]
    """A sign-in started in this browser (its request reached the IdP); the request's id."""
    _idp_answer(_to_idp(client, f"/login/sso/{provider.id}"))
    return str(idp.requests_seen[-1].id)


def _post(client, provider: IdentityProvider, xml: str):  # type: ignore[no-untyped-def]
    saml_response = base64.b64encode(xml.encode()).decode()
    return client.post(f"/login/saml/{provider.id}/acs", data={"SAMLResponse": saml_response})


def _refused(response, client, caplog, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.get_data(as_text=True)
    assert FAILED in response.get_data(as_text=True)
    assert _signed_in_as(client) is None
    assert db.session.scalar(sa.select(sa.func.count(SsoLink.id))) == 0
    refusals = [r.getMessage() for r in caplog.records if "SAML sign-in refused" in r.getMessage()]
    assert refusals and reason.lower() in refusals[-1].lower(), refusals


def _response(idp: SamlTestIdp, provider: IdentityProvider, request_id: str | None, **kwargs):  # type: ignore[no-untyped-def]
    values = {
        "in_response_to": request_id,
        "acs": ACS.format(id=provider.id),
        "audience": ENTITY.format(id=provider.id),
    }
    values.update(kwargs)
    return idp.response_xml(**values)


@pytest.mark.parametrize(
    ("sign_assertion", "sign_response"), [(True, False), (False, True), (True, True)]
)
def test_a_signed_response_or_a_signed_assertion_is_enough(
    client, idp, jarfalla, anna, sign_assertion, sign_response
) -> None:
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    request_id = _started(client, idp, jarfalla)
    xml = _response(
        idp, jarfalla, request_id, sign_assertion=sign_assertion, sign_response=sign_response
    )
    assert _post(client, jarfalla, xml).status_code == 302
    assert _signed_in_as(client) == anna.id


def test_an_unsigned_response_signs_nobody_in(client, idp, jarfalla, anna, caplog) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    request_id = _started(client, idp, jarfalla)
    xml = _response(idp, jarfalla, request_id, sign_assertion=False, sign_response=False)
    _refused(_post(client, jarfalla, xml), client, caplog, "neither the response nor")


def test_a_response_signed_by_a_key_not_in_the_metadata_is_refused(
    client, idp, jarfalla, anna, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    request_id = _started(client, idp, jarfalla)
    idp.new_key()
    xml = _response(idp, jarfalla, request_id, sign_response=True)
    _refused(_post(client, jarfalla, xml), client, caplog, "signature")


@pytest.fixture()
def sigtuna_sp(client, idp: SamlTestIdp) -> IdentityProvider:  # type: ignore[no-untyped-def]
    """Another service provider of ours (Sigtuna's) at the same IdP."""
    provider = factories.saml_identity_provider(
        idp.metadata_xml(), municipality_name="Sigtuna", domains=("sigtuna.se",)
    )
    return _trusted(client, idp, provider)


def test_a_response_for_another_audience_is_refused(
    client, idp, jarfalla, sigtuna_sp, anna, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    request_id = _started(client, idp, jarfalla)
    xml = _response(idp, jarfalla, request_id, audience=ENTITY.format(id=sigtuna_sp.id))
    _refused(_post(client, jarfalla, xml), client, caplog, "audience")


def test_a_response_sent_to_another_acs_is_refused_by_destination_and_recipient(
    client, idp, jarfalla, sigtuna_sp, anna, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    request_id = _started(client, idp, jarfalla)
    xml = _response(idp, jarfalla, request_id, acs=ACS.format(id=sigtuna_sp.id))
    _refused(_post(client, jarfalla, xml), client, caplog, "destination")
    # Without a Destination (it is optional when the response is not signed), the subject
    # confirmation's Recipient is checked.
    request_id = _started(client, idp, jarfalla)
    xml = _response(idp, jarfalla, request_id, acs=ACS.format(id=sigtuna_sp.id))
    without_destination = xml.replace(f' Destination="{ACS.format(id=sigtuna_sp.id)}"', "")
    assert without_destination != xml
    _refused(_post(client, jarfalla, without_destination), client, caplog, "recipient")


def test_an_answer_to_another_request_is_refused(client, idp, jarfalla, anna, caplog) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    _started(client, idp, jarfalla)
    xml = _response(idp, jarfalla, "id-a-request-we-never-sent")
    _refused(_post(client, jarfalla, xml), client, caplog, "unsolicited")


def test_an_idp_initiated_sign_in_is_refused(client, idp, jarfalla, anna, caplog) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    xml = _response(idp, jarfalla, None)
    # With no sign-in started in this browser …
    _refused(_post(client, jarfalla, xml), client, caplog, "no sign-in was started")
    # … and with one started: an answer to no request is still none to ours.
    _started(client, idp, jarfalla)
    _refused(_post(client, jarfalla, xml), client, caplog, "unsolicited")


@pytest.mark.parametrize(("minutes", "accepted"), [(6, True), (8, False)])
def test_an_expired_assertion_is_refused_after_two_minutes_of_skew(
    client, idp, jarfalla, anna, caplog, minutes, accepted
) -> None:
    """The IdP's assertions are valid five minutes; two more are tolerated for clock skew."""
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    request_id = _started(client, idp, jarfalla)
    xml = _response(idp, jarfalla, request_id)
    with time_machine.travel(clock.utcnow() + timedelta(minutes=minutes), tick=True):
        response = _post(client, jarfalla, xml)
        if accepted:
            assert response.status_code == 302 and _signed_in_as(client) == anna.id
        else:
            _refused(response, client, caplog, "too old")


@pytest.mark.parametrize(("minutes", "accepted"), [(1, True), (3, False)])
def test_an_assertion_not_yet_valid_is_refused_after_two_minutes_of_skew(
    client, idp, jarfalla, anna, caplog, minutes, accepted
) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    request_id = _started(client, idp, jarfalla)
    # The IdP's clock is ahead of ours by this much.
    with time_machine.travel(clock.utcnow() + timedelta(minutes=minutes), tick=True):
        xml = _response(idp, jarfalla, request_id)
    response = _post(client, jarfalla, xml)
    if accepted:
        assert response.status_code == 302 and _signed_in_as(client) == anna.id
    else:
        _refused(response, client, caplog, "")


def test_an_assertion_signs_in_once_only_replay_cache(client, idp, jarfalla, anna, caplog) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    _idp_answer(_to_idp(client, f"/login/sso/{jarfalla.id}"))
    cookie = client.get_cookie("saml_pending", path="/login/saml/")
    assert cookie is not None
    action, saml_response = _idp_answer(_to_idp(client, f"/login/sso/{jarfalla.id}"))
    cookie = client.get_cookie("saml_pending", path="/login/saml/")
    assert _post_back(client, action, saml_response).status_code == 302
    client.post_form("/logout")
    # The same response again, with the same request's cookie (as an attacker who copied both
    # would send them): the assertion's id is in the replay cache.
    client.set_cookie("saml_pending", cookie.value, path="/login/saml/")
    response = _post_back(client, action, saml_response)
    assert response.status_code == 400 and _signed_in_as(client) is None
    assert "replay" in caplog.records[-1].getMessage()
    assert db.session.scalar(sa.select(sa.func.count(SamlSeenAssertion.id))) == 1


def test_expired_entries_leave_the_replay_cache(client, idp, jarfalla, anna) -> None:
    idp.person = {"name_id": "adfs-guid-1", "attributes": {"mail": [anna.email]}}
    assert sign_in(client, jarfalla).status_code == 302
    first = db.session.scalars(sa.select(SamlSeenAssertion.assertion_id)).one()
    client.post_form("/logout")
    with time_machine.travel(clock.utcnow() + timedelta(hours=1), tick=True):
        assert sign_in(client, jarfalla).status_code == 302
    db.session.expire_all()
    kept = db.session.scalars(sa.select(SamlSeenAssertion.assertion_id)).all()
    assert len(kept) == 1 and kept[0] != first
