"""The security headers every answer carries, and the templates that make a strict
Content-Security-Policy possible (no inline script, no inline style, no event handlers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from config import ProductionConfig, TestingConfig
from tests import factories
from tests.conftest import Client
from training_tracker import create_app
from training_tracker.extensions import db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Mail bodies are not web pages: mail clients need inline styles and never see our CSP.
WEB_TEMPLATES = sorted(p for p in TEMPLATES.rglob("*.html") if "mail" not in p.parts)

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"""\sstyle\s*=\s*["']|<style[\s>]""", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["']""", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)


def policy(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    directives = response.headers["Content-Security-Policy"].split(";")
    return {d.split()[0]: d.strip() for d in directives if d.strip()}


@pytest.mark.parametrize("template", WEB_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_script_style_or_handlers(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    for pattern in (INLINE_SCRIPT, INLINE_STYLE, EVENT_HANDLER, JAVASCRIPT_URL):
        match = pattern.search(source)
        assert match is None, f"{template.name}: {match.group(0) if match else ''}"


def test_pages_carry_a_strict_content_security_policy(client: Client) -> None:
    client.sign_in(factories.hr_staff())
    for path in ("/", "/employees/", "/reports/", "/verify/", "/login"):
        directives = policy(client.get(path, follow_redirects=True))
        assert directives["default-src"] == "default-src 'self'"
        assert directives["script-src"] == "script-src 'self'"
        assert directives["style-src"] == "style-src 'self'"
        assert directives["object-src"] == "object-src 'none'"
        assert directives["base-uri"] == "base-uri 'none'"
        assert directives["frame-ancestors"] == "frame-ancestors 'none'"
        assert directives["form-action"] == "form-action 'self'"
        assert "unsafe" not in client.get(path).headers["Content-Security-Policy"]


def test_anonymous_pages_carry_the_policy_and_the_other_headers(client: Client) -> None:
    response = client.get("/login")
    assert "object-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # plain http in tests


def test_static_files_and_errors_carry_nosniff_too(client: Client) -> None:
    for path in ("/static/css/app.css", "/no-such-page"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_signed_in_pages_and_exports_are_never_cached(client: Client) -> None:
    client.sign_in(factories.hr_staff())
    for path in (
        "/",
        "/employees/",
        "/reports/",
        "/reports/coverage.csv",
        "/reports/coverage.xlsx",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_a_public_page_may_be_cached_but_a_token_page_may_not(client: Client) -> None:
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    response = client.get("/invitation/not-a-token")
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture()
def production_app(monkeypatch: pytest.MonkeyPatch, app: Flask) -> Flask:
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-for-this-test-only")
    config = ProductionConfig()
    config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    config.RATELIMIT_STORAGE_URI = app.config["RATELIMIT_STORAGE_URI"]
    return create_app(config)


def test_production_sends_hsts_for_a_year(production_app: Flask) -> None:
    response = production_app.test_client().get(
        "/login", headers={"X-Forwarded-Proto": "https"}, base_url="https://localhost"
    )
    assert response.headers["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains")


def test_hsts_is_off_unless_configured() -> None:
    assert TestingConfig().HSTS_SECONDS == 0


def test_production_session_cookie_is_secure_host_only(production_app: Flask) -> None:
    person = factories.employee()
    client = production_app.test_client()
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/login",
        data={"csrf_token": token.group(1), "email": person.email, "password": factories.PASSWORD},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},  # CSRF checks it over https
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie


def test_pages_carry_the_csrf_token_that_their_forms_need(client: Client) -> None:
    """The test client signs its forms without reading a page (conftest.Client.csrf_token);
    this is the browser's way: the token from the page's <meta>, signed in and then out."""
    person = factories.employee()
    db.session.commit()
    credentials = {"email": person.email, "password": factories.PASSWORD}
    assert client.post("/login", data=credentials).status_code == 400  # no token: refused
    token = client.csrf_token_of_a_page()
    assert client.post("/login", data={**credentials, "csrf_token": token}).status_code == 302
    token = client.csrf_token_of_a_page()
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not client._signed_in()
