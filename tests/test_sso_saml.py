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
from tests.saml_idp import SamlTestIdp, form_fields, keys_validated_once
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    Employee,
    IdentityProvider,
    SamlSeenAssertion,
    SsoLink,
)
from training_tracker.services.people import saml_settings

NOT_ENROLLED = "Du finns inte i utbildningsuppföljningen ännu. Kontakta HR i din kommun."
FAILED = "Inloggningen misslyckades"


@pytest.fixture()
def idp(app, monkeypatch) -> Iterator[SamlTestIdp]:  # type: ignore[no-untyped-def]
    keys_validated_once(monkeypatch)
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


def _assertion_of(xml: str) -> str:
    start = xml.index("<ns1:Assertion ")
    end = xml.index("</ns1:Assertion>") + len("</ns1:Assertion>")
    return xml[start:end]


def _forged(original: str, *, keep_signature: bool) -> str:
    """Anna's signed assertion turned into one for Bo (new id, subject and address); its
    signature no longer covers it."""
    forged = original.replace('ID="', 'ID="forged-', 1)
    forged = forged.replace(">anna-guid<", ">bo-guid<").replace("anna.andersson@", "bo.berg@")
    if not keep_signature:
        start = forged.index("<ns2:Signature")
        end = forged.index("</ns2:Signature>") + len("</ns2:Signature>")
        forged = forged[:start] + forged[end:]
    return forged


@pytest.mark.parametrize(
    "wrapping",
    ["second-assertion", "original-in-advice", "original-in-signature-object", "forged-first"],
)
def test_signature_wrapping_is_refused(client, idp, jarfalla, anna, caplog, wrapping) -> None:
    """XSW: Anna's validly signed assertion is kept somewhere in the response, so that the
    signature still checks, beside or around a forged one for Bo."""
    caplog.set_level(logging.WARNING)
    bo = factories.employee(unit=anna.unit, email="bo.berg@jarfalla.se", password=None)
    idp.person = {"name_id": "anna-guid", "attributes": {"mail": [anna.email]}}
    request_id = _started(client, idp, jarfalla)
    xml = _response(idp, jarfalla, request_id)
    original = _assertion_of(xml)
    if wrapping == "second-assertion":
        wrapped = original + _forged(original, keep_signature=False)
    elif wrapping == "forged-first":
        wrapped = _forged(original, keep_signature=False) + original
    elif wrapping == "original-in-advice":
        forged = _forged(original, keep_signature=False)
        wrapped = forged.replace(
            "</ns1:Conditions>", f"</ns1:Conditions><ns1:Advice>{original}</ns1:Advice>"
        )
    else:
        forged = _forged(original, keep_signature=True)
        wrapped = forged.replace(
            "</ns2:Signature>", f"<ns2:Object>{original}</ns2:Object></ns2:Signature>", 1
        )
    response = _post(client, jarfalla, xml.replace(original, wrapped))
    _refused(response, client, caplog, "")
    assert _signed_in_as(client) not in (anna.id, bo.id)


ENTITY_ATTACKS = {
    "xxe": (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n',
        "&x;",
    ),
    "billion-laughs": (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
        + "]>\n",
        "&i;",
    ),
}


@pytest.mark.parametrize("attack", sorted(ENTITY_ATTACKS))
def test_xml_entities_are_refused(client, idp, jarfalla, anna, caplog, attack) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "anna-guid", "attributes": {"mail": [anna.email]}}
    request_id = _started(client, idp, jarfalla)
    prologue, reference = ENTITY_ATTACKS[attack]
    xml = prologue + _response(idp, jarfalla, request_id).replace(">anna-guid<", f">{reference}<")
    started = time.perf_counter()
    response = _post(client, jarfalla, xml)
    assert time.perf_counter() - started < 5
    _refused(response, client, caplog, "DTD")
    assert "root:" not in response.get_data(as_text=True)


def test_saml_parsing_itself_refuses_entities(idp, jarfalla) -> None:
    """Below our own refusal of a DTD: pysaml2 parses through defusedxml."""
    import defusedxml  # only this test needs it
    from saml2 import samlp

    prologue, _reference = ENTITY_ATTACKS["xxe"]
    with pytest.raises(defusedxml.DefusedXmlException):
        samlp.response_from_string(prologue + "<r>&x;</r>")


def test_a_provider_never_signs_in_a_person_of_another_municipality(
    client, idp, jarfalla, caplog
) -> None:
    # Bo works in Sigtuna; his address happens to be in Järfälla's domain and his employee
    # number is known. Järfälla's provider asserts both: nobody is signed in.
    bo = factories.employee(
        unit=factories.unit("Sigtuna"), email="bo.berg@jarfalla.se", password=None
    )
    assert bo.employee_number
    idp.person = {
        "name_id": "bo-guid",
        "attributes": {"mail": [bo.email], "employeeNumber": [bo.employee_number]},
    }
    response = sign_in(client, jarfalla)
    assert response.status_code == 403 and NOT_ENROLLED in response.get_data(as_text=True)
    assert _signed_in_as(client) is None
    assert db.session.scalar(sa.select(sa.func.count(SsoLink.id))) == 0


def test_someone_not_enrolled_is_told_so_and_nothing_is_created(client, idp, jarfalla) -> None:
    idp.person = {"name_id": "new-guid", "attributes": {"mail": ["new.person@jarfalla.se"]}}
    people = db.session.scalar(sa.select(sa.func.count(Employee.id)))
    response = sign_in(client, jarfalla)
    assert response.status_code == 403
    assert NOT_ENROLLED in response.get_data(as_text=True)
    assert _signed_in_as(client) is None
    assert db.session.scalar(sa.select(sa.func.count(Employee.id))) == people
    assert db.session.scalar(sa.select(sa.func.count(SsoLink.id))) == 0


def test_an_address_outside_the_providers_domains_links_nobody(client, idp, jarfalla) -> None:
    factories.employee(unit=factories.unit("Järfälla"), email="cee@gmail.example", password=None)
    idp.person = {"name_id": "cee-guid", "attributes": {"mail": ["cee@gmail.example"]}}
    assert sign_in(client, jarfalla).status_code == 403


def test_the_employee_number_finds_the_person(client, idp, jarfalla) -> None:
    dan = factories.employee(
        unit=factories.unit("Järfälla"), email="dan@old.example", password=None
    )
    assert dan.employee_number
    idp.person = {"name_id": "dan-guid", "attributes": {"employeeNumber": [dan.employee_number]}}
    assert sign_in(client, jarfalla).status_code == 302
    assert _signed_in_as(client) == dan.id


def test_a_transient_name_id_links_nobody(client, idp, jarfalla, anna, caplog) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {
        "name_id": "one-time-id",
        "name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
        "attributes": {"mail": [anna.email]},
    }
    _refused(sign_in(client, jarfalla), client, caplog, "persistent NameID")


def test_an_attribute_the_admin_names_is_the_subject(client, idp, anna) -> None:
    provider = _trusted(
        client,
        idp,
        factories.saml_identity_provider(idp.metadata_xml(), subject_attribute="uid"),
    )
    idp.person = {
        "name_id": "one-time-id",
        "name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
        "attributes": {"mail": [anna.email], "uid": ["anna-objectguid"]},
    }
    assert sign_in(client, provider).status_code == 302
    assert idp.requests_seen[-1].name_id_policy is None  # no format asked for
    link = db.session.scalars(sa.select(SsoLink)).one()
    assert (link.employee_id, link.subject) == (anna.id, "anna-objectguid")


def test_logout_ends_our_session_and_offers_the_idps_single_logout(
    client, idp, jarfalla, anna
) -> None:
    idp.person = {"name_id": "anna-guid", "attributes": {"mail": [anna.email]}}
    assert sign_in(client, jarfalla).status_code == 302
    page = client.post_form("/logout")
    assert page.status_code == 200 and _signed_in_as(client) is None
    text = page.get_data(as_text=True)
    assert "Logga ut från Järfälla kommun också" in text
    logout_url = html_unescape(text.split(f'href="{idp.base}/slo?', 1)[1].split('"', 1)[0])
    # The IdP checks our signature, ends its session and sends the browser back to us.
    answer = requests.get(f"{idp.base}/slo?{logout_url}", allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    request = idp.logouts_seen[-1]
    assert request.name_id.text == "anna-guid"
    back = urlsplit(answer.headers["Location"])
    assert back.path == f"/login/saml/{jarfalla.id}/sls"
    landing = client.get(f"{back.path}?{back.query}")
    assert landing.status_code == 302 and landing.headers["Location"] == "/login"
    assert "Du är utloggad även från Järfälla kommun" in client.get("/login").get_data(as_text=True)


def test_our_metadata_names_the_endpoints_and_our_signing_certificate(
    client, idp, jarfalla
) -> None:
    xml = client.get(f"/login/saml/{jarfalla.id}/metadata").get_data(as_text=True)
    assert f'entityID="{ENTITY.format(id=jarfalla.id)}"' in xml
    assert f'Location="{ACS.format(id=jarfalla.id)}"' in xml
    assert "HTTP-POST" in xml and "/sls" in xml
    assert 'use="signing"' in xml and 'use="encryption"' not in xml
    assert 'AuthnRequestsSigned="true"' in xml
    assert client.get("/login/saml/999/metadata").status_code == 404


def html_unescape(text: str) -> str:
    import html  # only here

    return html.unescape(text)


def test_the_pending_request_cookie_comes_along_on_the_cross_site_post(
    app, client, idp, jarfalla
) -> None:
    """The IdP posts back from its own site: browsers send no SameSite=Lax cookie with that
    POST, so the request's id is in a cookie of its own, SameSite=None and Secure over https,
    for /login/saml/ only; over plain http (development) it stays Lax."""
    response = client.get(f"/login/saml/{jarfalla.id}/start")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("saml_pending=") and "Path=/login/saml/" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        cookie = client.get(f"/login/saml/{jarfalla.id}/start").headers["Set-Cookie"]
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
    assert "SameSite=None" in cookie and "Secure" in cookie and "HttpOnly" in cookie


def test_a_provider_whose_key_cannot_be_read_fails_politely(client, idp, jarfalla, caplog) -> None:
    """After a change of SECRET_KEY our key cannot be decrypted (sso refresh-saml --new-key)."""
    caplog.set_level(logging.WARNING)
    jarfalla.saml_sp_key_encrypted = "not-a-fernet-token"
    db.session.commit()
    response = client.get(f"/login/saml/{jarfalla.id}/start")
    assert response.status_code == 400 and FAILED in response.get_data(as_text=True)
    assert "no key of ours" in caplog.records[-1].getMessage()


def test_a_logout_at_the_idp_ends_our_session_and_is_answered(client, idp, jarfalla, anna) -> None:
    """IdP-initiated single logout: the IdP's signed LogoutRequest ends our session of that
    person, and the browser goes back to the IdP with our signed LogoutResponse."""
    idp.person = {"name_id": "anna-guid", "attributes": {"mail": [anna.email]}}
    assert sign_in(client, jarfalla).status_code == 302
    url = idp.logout_request_url(
        sls=f"http://127.0.0.1:5000/login/saml/{jarfalla.id}/sls",
        audience=ENTITY.format(id=jarfalla.id),
        name_id="anna-guid",
    )
    back = urlsplit(url)
    answer = client.get(f"{back.path}?{back.query}")
    assert answer.status_code == 302 and answer.headers["Location"].startswith(idp.base + "/slo?")
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["RelayState"] == ["idp-state"] and query["Signature"]
    assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert _signed_in_as(client) is None


@pytest.mark.parametrize("tampering", ["unsigned", "other-key", "other-person"])
def test_a_logout_request_the_idp_did_not_sign_ends_nothing(
    client, idp, jarfalla, anna, caplog, tampering
) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "anna-guid", "attributes": {"mail": [anna.email]}}
    assert sign_in(client, jarfalla).status_code == 302
    if tampering == "other-key":
        idp.new_key()
    url = idp.logout_request_url(
        sls=f"http://127.0.0.1:5000/login/saml/{jarfalla.id}/sls",
        audience=ENTITY.format(id=jarfalla.id),
        name_id="someone-else" if tampering == "other-person" else "anna-guid",
    )
    back = urlsplit(url)
    query = back.query
    if tampering == "unsigned":
        query = "&".join(p for p in query.split("&") if not p.startswith("Signature="))
    answer = client.get(f"{back.path}?{query}")
    if tampering == "other-person":
        # A valid request about someone else: answered, and Anna's session is kept.
        assert answer.status_code == 302
    else:
        assert answer.status_code == 400
        assert "SAML logout refused" in caplog.records[-1].getMessage()
    assert _signed_in_as(client) == anna.id


def test_a_response_signed_with_sha1_is_refused(client, idp, jarfalla, anna, caplog) -> None:
    caplog.set_level(logging.WARNING)
    idp.person = {"name_id": "anna-guid", "attributes": {"mail": [anna.email]}}
    request_id = _started(client, idp, jarfalla)
    idp.sign_with_sha1()
    xml = _response(idp, jarfalla, request_id)
    assert "xmldsig#rsa-sha1" in xml
    _refused(_post(client, jarfalla, xml), client, caplog, "SHA-1")
