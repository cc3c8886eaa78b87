"""Redirects stay on the site (issue #15, point 3): every redirect target taken from the
request goes through one check (training_tracker/redirects.py), made on the target as the
browser and Werkzeug will read it. Known payloads are explicit examples; Hypothesis throws
arbitrary strings at the check and at the routes that take a ``next``."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.urls import iri_to_uri

from tests import factories
from tests.conftest import Client
from training_tracker import clock, security
from training_tracker.extensions import db
from training_tracker.redirects import local_path, safe_next

FALLBACK = "/fallback"

# What browsers do to a URL before they read it (the WHATWG URL standard): leading and
# trailing C0 controls and spaces go, tab, CR and LF go wherever they are, and in an http(s)
# URL a backslash is a slash.
_EDGES = "".join(chr(code) for code in range(0x21))


def browser_reading(url: str) -> str:
    return re.sub("[\t\n\r]", "", url.strip(_EDGES)).replace("\\", "/")


def stays_on_site(location: str) -> bool:
    """``location`` read by a browser, as Werkzeug sends it, and once more percent-decoded
    (for a proxy or a second hop that decodes): a path, no scheme, no host."""
    for sent in (location, iri_to_uri(location), unquote(location)):
        read = browser_reading(sent)
        parts = urlsplit(read)
        if parts.scheme or parts.netloc or not read.startswith("/") or read.startswith("//"):
            return False
    return True


# Every form of "another site" we know of; each is refused.
OFF_SITE = [
    "https://evil.example/",
    "http:evil.example",
    "HTTPS://evil.example",
    "//evil.example/",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "\x00//evil.example",
    "\x1f//evil.example",
    " /home",
    "/%2Fevil.example",
    "/%2f/evil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "/%09/evil.example",
    "/%0D%0A/evil.example",
    "%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "evil.example",
    "@evil.example",
    "https:/\\evil.example",
    "/home\r\nSet-Cookie: planted=1",
    "/home\x00",
    "/home\x7f",
    "/home\x85",
    "/home%00",
    "/home%C2%85",
    "",
    "/" + "a" * 3000,
]

# Paths of ours, with their filters: each is followed as it is.
ON_SITE = [
    "/",
    "/healthz",
    "/employees?unit=3&page=2",
    "/reports/coverage?from=2025-01-01#table",
    "/employees?q=%C3%85sa",
    "/employees?q=Åsa Öberg",
    "/search?q=%2F%2Fnot-a-host",
    "/a:b",
    "/.well-known/x",
]


# --- the check -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", OFF_SITE)
def test_a_target_off_the_site_is_refused(target: str) -> None:
    assert local_path(target) is None
    assert safe_next(target, FALLBACK) == FALLBACK


@pytest.mark.parametrize("target", ON_SITE)
def test_a_path_of_ours_is_followed_as_it_is(target: str) -> None:
    assert safe_next(target, FALLBACK) == target


def test_no_target_or_not_text_gives_the_fallback() -> None:
    assert safe_next(None, FALLBACK) == FALLBACK
    assert safe_next(["/"], FALLBACK) == FALLBACK


# Strings made of the pieces that turn a path into another site, in any order.
PIECES = [
    "/",
    "\\",
    "%2F",
    "%5C",
    "%25",
    "%",
    "2F",
    "\t",
    "\n",
    "\r",
    " ",
    "\x00",
    "\x0b",
    "\x7f",
    "\x85",
    "\u3000",
    "\u2028",
    "%09",
    "%0a",
    "%C2%85",
    ":",
    "@",
    "?",
    "#",
    ".",
    "evil.example",
    "http:",
    "javascript:",
    "data:",
    "ä",
]
pieced_strings = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)
any_target = st.one_of(st.text(), pieced_strings)


@settings(max_examples=2000, deadline=None, derandomize=True, database=None)
@given(target=any_target)
def test_whatever_the_target_the_answer_stays_on_the_site(target: str) -> None:
    result = safe_next(target, FALLBACK)

    assert result == FALLBACK or (result == target and stays_on_site(result))


# --- the routes ------------------------------------------------------------------------------

ROUTE_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture()
def person(app: Flask, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Someone to sign in as, many times over: no rate limit in the way."""
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "100000 per minute")
    employee = factories.employee()
    db.session.commit()
    return employee


def fresh_client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_with_a_next_off_the_site_lands_on_the_start_page(
    app: Flask, person, target: str
) -> None:
    response = fresh_client(app).post_form(
        "/login",
        {"email": person.email, "password": factories.PASSWORD},
        query_string={"next": target},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@settings(ROUTE_SETTINGS, max_examples=60)
@given(target=any_target)
@example(target="/\r\nSet-Cookie: planted=1")
@example(target="/\t/evil.example")
def test_sign_in_whatever_the_next_never_fails_and_stays_on_the_site(
    app: Flask, person, target: str
) -> None:
    response = fresh_client(app).post_form(
        "/login",
        {"email": person.email, "password": factories.PASSWORD},
        query_string={"next": target},
    )

    assert response.status_code == 302
    assert stays_on_site(response.headers["Location"])


@pytest.mark.parametrize("target", [t for t in OFF_SITE if "\x00" not in t])
def test_the_language_switch_with_a_next_off_the_site_goes_to_the_start_page(
    app: Flask, target: str
) -> None:
    response = fresh_client(app).post_form("/language", {"language": "en", "next": target})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@settings(ROUTE_SETTINGS, max_examples=200)
@given(target=any_target)
@example(target="/\n/evil.example")
def test_the_language_switch_whatever_the_next_never_fails_and_stays_on_the_site(
    app: Flask, target: str
) -> None:
    response = fresh_client(app).post_form("/language", {"language": "en", "next": target})

    if "\x00" in target:  # refused before any view reads it
        assert response.status_code == 400
    else:
        assert response.status_code == 302
        assert stays_on_site(response.headers["Location"])


@settings(ROUTE_SETTINGS, max_examples=100)
@given(query=st.text())
def test_a_lapsed_session_sends_to_sign_in_with_a_next_on_the_site(
    app: Flask, person, query: str
) -> None:
    client = fresh_client(app)
    client.sign_in(person)
    with client.session_transaction() as session:
        session[security.LAST_SEEN_AT] = (clock.utcnow() - timedelta(hours=1)).timestamp()

    response = client.get("/", query_string=query)

    assert response.status_code == 302
    location = response.headers["Location"]
    assert stays_on_site(location)
    assert urlsplit(location).path == "/login"
    for next_page in parse_qs(urlsplit(location).query).get("next", []):
        assert stays_on_site(next_page)
