"""Signing in through the municipality's OpenID Connect provider (issue #18), against a real
provider on loopback (tests/oidc_provider.py), over HTTP, with the test client as browser."""

from __future__ import annotations

import base64
import hashlib
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
from training_tracker import clock
from training_tracker.demo.oidc_test_provider import TEST_CLIENT_ID as CLIENT_ID
from training_tracker.demo.oidc_test_provider import OidcTestProvider, Serving, new_key
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Employee, IdentityProvider, SsoLink
from training_tracker.services.people import oidc_sign_in

NOT_ENROLLED = "Du finns inte i utbildningsuppföljningen ännu. Kontakta HR i din kommun."
FAILED = "Inloggningen misslyckades"


@pytest.fixture()
def idp(app) -> Iterator[OidcTestProvider]:  # type: ignore[no-untyped-def]
    provider = OidcTestProvider(redirect_uris=(app.config["BASE_URL"] + "/login/sso/callback",))
    serving = Serving(provider).start()
    oidc_sign_in.forget_cached_metadata()
    yield provider
    serving.stop()
    oidc_sign_in.forget_cached_metadata()


@pytest.fixture()
def jarfalla(idp: OidcTestProvider) -> IdentityProvider:
    return factories.identity_provider(idp.issuer, label="Järfälla kommun")


@pytest.fixture()
def anna() -> Employee:
    return factories.employee(
        unit=factories.unit("Järfälla"), email="anna.andersson@jarfalla.se", password=None
    )


def _to_provider(client, start_url: str) -> str:  # type: ignore[no-untyped-def]
    """From our start URL to the provider's authorisation URL (the redirect the browser
    follows)."""
    response = client.get(start_url)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    if location.startswith("/login/sso/"):  # discovery leads to the provider's start first
        return _to_provider(client, location)
    return location


def _back_from_provider(client, authorize_url: str):  # type: ignore[no-untyped-def]
    """The provider signs the person in and sends the browser back to our callback."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def sign_in(client, provider: IdentityProvider):  # type: ignore[no-untyped-def]
    return _back_from_provider(client, _to_provider(client, f"/login/sso/{provider.id}"))


def _signed_in_as(client) -> int | None:  # type: ignore[no-untyped-def]
    with client.session_transaction() as session:
        user = session.get("_user_id")
    return int(user.split(":")[0]) if user else None


def test_the_work_address_leads_to_the_municipalitys_provider_and_signs_the_person_in(
    client, idp, jarfalla, anna
) -> None:
    idp.person = {"sub": "entra-oid-1", "email": "Anna.Andersson@jarfalla.se"}
    started = time.perf_counter()
    authorize_url = _to_provider(client, "/login/sso?email=Anna.Andersson@JARFALLA.se")
    request = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(idp.issuer + "/authorize?")
    assert request["client_id"] == [CLIENT_ID]
    assert request["login_hint"] == ["Anna.Andersson@JARFALLA.se"]
    assert request["scope"] == ["openid email profile"]
    # PKCE S256: the challenge is the hash of the verifier this browser's session keeps.
    with client.session_transaction() as session:
        pending = session["sso_pending"]
    expected = base64.urlsafe_b64encode(
        hashlib.sha256(pending["code_verifier"].encode()).digest()
    ).rstrip(b"=")
    assert request["code_challenge_method"] == ["S256"]
    assert request["code_challenge"] == [expected.decode()]
    assert request["state"] == [pending["state"]] and request["nonce"] == [pending["nonce"]]

    response = _back_from_provider(client, authorize_url)
    elapsed = time.perf_counter() - started

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert _signed_in_as(client) == anna.id
    link = db.session.scalars(sa.select(SsoLink)).one()
    assert (link.employee_id, link.issuer, link.subject) == (anna.id, idp.issuer, "entra-oid-1")
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "auth.sso_linked"))
    assert client.get("/").status_code == 200
    print(f"one SSO sign-in (start, provider, token, keys, callback): {elapsed * 1000:.0f} ms")

    # Later sign-ins use the link: a changed address at the provider still finds Anna.
    client.post_form("/logout")
    idp.person = {"sub": "entra-oid-1", "email": "anna.svensson@jarfalla.se"}
    started = time.perf_counter()
    assert sign_in(client, jarfalla).status_code == 302
    warm = time.perf_counter() - started
    assert _signed_in_as(client) == anna.id
    print(f"the next, with the provider's metadata and keys cached: {warm * 1000:.0f} ms")


def test_the_login_page_offers_the_address_form_and_each_providers_button(client, jarfalla) -> None:
    factories.identity_provider(
        "https://login.sigtuna.example", municipality_name="Sigtuna", domains=("sigtuna.se",)
    )
    page = client.get("/login").get_data(as_text=True)
    assert 'action="/login/sso"' in page
    assert "Logga in med Järfälla kommun" in page and "Logga in med Sigtuna" in page
    assert f'href="/login/sso/{jarfalla.id}"' in page


def test_an_address_of_no_provider_goes_back_to_the_password_form(client, jarfalla) -> None:
    response = client.post_form("/login/sso", {"email": "someone@elsewhere.example"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "Det finns ingen inloggning via kommunen för someone@elsewhere.example" in page


def test_someone_not_enrolled_is_told_so_and_nothing_is_created(client, idp, jarfalla) -> None:
    idp.person = {"sub": "new-1", "email": "new.person@jarfalla.se", "email_verified": True}
    people = db.session.scalar(sa.select(sa.func.count(Employee.id)))
    response = sign_in(client, jarfalla)
    assert response.status_code == 403
    assert NOT_ENROLLED in response.get_data(as_text=True)
    assert _signed_in_as(client) is None
    assert db.session.scalar(sa.select(sa.func.count(Employee.id))) == people
    assert db.session.scalar(sa.select(sa.func.count(SsoLink.id))) == 0


def test_the_employee_number_claim_links_the_person_of_the_providers_municipality(
    client, idp, jarfalla, anna
) -> None:
    idp.person = {"sub": "s-2", "email": "a.a@other.example", "employeeid": anna.employee_number}
    assert sign_in(client, jarfalla).status_code == 302
    assert _signed_in_as(client) == anna.id


def test_a_provider_never_signs_in_a_person_of_another_municipality(client, idp, jarfalla) -> None:
    sigtuna = factories.employee(
        unit=factories.unit("Sigtuna"), email="bo@sigtuna.se", password=None
    )
    idp.person = {"sub": "s-3", "email": "bo@sigtuna.se", "email_verified": True}
    assert sign_in(client, jarfalla).status_code == 403
    idp.person = {"sub": "s-3", "employee_number": sigtuna.employee_number}
    assert sign_in(client, jarfalla).status_code == 403
    assert _signed_in_as(client) is None
    assert db.session.scalar(sa.select(sa.func.count(SsoLink.id))) == 0


@pytest.mark.parametrize(
    "claims",
    [
        {"email_verified": False},  # the provider says it has not verified the address
        {"email": "anna.andersson@jarfalla.se.evil.example"},  # not its domain, and unsaid
    ],
    ids=["said-unverified", "foreign-domain-unsaid"],
)
def test_an_unverified_address_links_nobody(client, idp, jarfalla, anna, claims) -> None:
    idp.person = {"sub": "s-4", "email": anna.email, **claims}
    if "email" in claims:
        factories.employee(unit=anna.unit, email=claims["email"], password=None)
    response = sign_in(client, jarfalla)
    assert response.status_code == 403 and NOT_ENROLLED in response.get_data(as_text=True)
    assert _signed_in_as(client) is None


ONE_MINUTE_AGO = -60


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"aud": "another-client"}, "aud"),
        ({"iss": "http://127.0.0.1:1"}, "iss"),
        ({"exp": "SECONDS:-121"}, "expired"),
        ({"iat": "SECONDS:+150", "exp": "SECONDS:+600"}, "future"),
        ({"nonce": "not-the-nonce-we-sent"}, "nonce"),
        ({"sub": None}, "sub"),
    ],
    ids=["wrong-aud", "wrong-iss", "expired", "issued-in-the-future", "nonce", "no-sub"],
)
def test_an_id_token_failing_a_check_signs_nobody_in(
    client, idp, jarfalla, anna, caplog, override, reason
) -> None:
    now = int(time.time())
    idp.person = {"sub": "s-5", "email": anna.email}
    idp.claims_override = {
        name: now + int(value.split(":")[1])
        if isinstance(value, str) and "SECONDS" in value
        else value
        for name, value in override.items()
    }
    with caplog.at_level(logging.WARNING):
        response = sign_in(client, jarfalla)
    assert response.status_code == 400 and FAILED in response.get_data(as_text=True)
    assert _signed_in_as(client) is None
    assert reason in caplog.text.lower()


def test_two_minutes_of_clock_skew_are_tolerated(client, idp, jarfalla, anna) -> None:
    now = int(time.time())
    idp.person = {"sub": "s-6", "email": anna.email}
    idp.claims_override = {"exp": now - 100, "iat": now + 100}
    assert sign_in(client, jarfalla).status_code == 302


def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(
    client, idp, jarfalla, anna, caplog
) -> None:
    idp.person = {"sub": "s-7", "email": anna.email}
    idp.sign_with = new_key("key-1")  # the published key's id, another key's signature
    with caplog.at_level(logging.WARNING):
        response = sign_in(client, jarfalla)
    assert response.status_code == 400 and _signed_in_as(client) is None
    assert "signature" in caplog.text.lower()


def test_rotated_keys_are_fetched_again(client, idp, jarfalla, anna) -> None:
    idp.person = {"sub": "s-8", "email": anna.email}
    assert sign_in(client, jarfalla).status_code == 302
    client.post_form("/logout")
    idp.rotate()  # a new key under a new id; the cached keys do not hold it
    assert sign_in(client, jarfalla).status_code == 302
    assert _signed_in_as(client) == anna.id
    assert idp.jwks_requests == 2


def test_an_answer_to_another_sign_in_is_refused_by_its_state(
    client, idp, jarfalla, anna, caplog
) -> None:
    idp.person = {"sub": "s-9", "email": anna.email}
    authorize_url = _to_provider(client, f"/login/sso/{jarfalla.id}")
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    back = urlsplit(answer.headers["Location"])
    code = parse_qs(back.query)["code"][0]
    with caplog.at_level(logging.WARNING):
        response = client.get(f"/login/sso/callback?code={code}&state=forged")
    assert response.status_code == 400 and _signed_in_as(client) is None
    assert "state" in caplog.text
    assert idp.token_requests == []  # the code was never even exchanged
    # Without a sign-in started in this browser, an answer is refused too.
    assert client.get(back.path + "?" + back.query).status_code == 400


def test_a_code_is_worth_nothing_without_this_browsers_pkce_verifier(
    app, client, idp, jarfalla, anna, caplog
) -> None:
    """An attacker's code planted in the victim's browser (the victim's own state included)
    is exchanged with the victim's verifier, which does not match: the provider refuses."""
    idp.person = {"sub": "attacker", "email": anna.email}
    attacker = app.test_client()
    attacker_answer = requests.get(
        _to_provider(attacker, f"/login/sso/{jarfalla.id}"), allow_redirects=False, timeout=10
    )
    attacker_code = parse_qs(urlsplit(attacker_answer.headers["Location"]).query)["code"][0]
    _to_provider(client, f"/login/sso/{jarfalla.id}")
    with client.session_transaction() as session:
        state = session["sso_pending"]["state"]
    with caplog.at_level(logging.WARNING):
        response = client.get(f"/login/sso/callback?code={attacker_code}&state={state}")
    assert response.status_code == 400 and _signed_in_as(client) is None
    assert "PKCE" in caplog.text
    assert idp.token_requests[-1]["code_verifier"]  # sent, and not the attacker's


def test_an_answer_long_after_the_start_is_refused(client, idp, jarfalla, anna) -> None:
    idp.person = {"sub": "s-10", "email": anna.email}
    authorize_url = _to_provider(client, f"/login/sso/{jarfalla.id}")
    with time_machine.travel(clock.utcnow() + timedelta(minutes=16), tick=False):
        assert _back_from_provider(client, authorize_url).status_code == 400
    assert _signed_in_as(client) is None


def test_logout_ends_our_session_and_offers_the_providers_logout(
    client, idp, jarfalla, anna
) -> None:
    idp.person = {"sub": "s-11", "email": anna.email}
    sign_in(client, jarfalla)
    version = anna.session_version
    page = client.post_form("/logout")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Logga ut från Järfälla kommun också" in text
    assert f'href="{idp.issuer}/logout?' in text and "id_token_hint=" in text
    assert "post_logout_redirect_uri=" in text
    assert _signed_in_as(client) is None
    db.session.refresh(anna)
    assert anna.session_version == version + 1


def test_an_sso_session_ends_when_idle_like_any_other(app, client, idp, jarfalla, anna) -> None:
    idp.person = {"sub": "s-12", "email": anna.email}
    sign_in(client, jarfalla)
    later = clock.utcnow() + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    with time_machine.travel(later, tick=False):
        response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_sso_routes_have_their_own_limit_per_address(app, client, jarfalla) -> None:
    """An office behind one address signs in at eight: the password limit (10 a minute)
    would turn most of it away; the provider checks who it is, this only bounds the calls."""
    app.config["SSO_RATE_LIMIT"] = "3 per minute"
    try:
        answers = [client.get("/login/sso?email=x@elsewhere.example").status_code for _ in range(4)]
    finally:
        app.config["SSO_RATE_LIMIT"] = "120 per minute;2000 per hour"
    assert answers == [302, 302, 302, 429]
