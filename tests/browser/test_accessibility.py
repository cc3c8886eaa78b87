"""axe-core (WCAG 2.0 A/AA, 2.1 AA) on every page a person can open, signed in or not."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.browser.support import (
    accessibility_report,
    assert_accessible,
    assert_no_sideways_scroll,
    axe_violations,
    demo_email,
    sideways_scrolling,
    sign_in,
)
from training_tracker.demo.seed import DemoResult

pytestmark = pytest.mark.browser

# A health probe, a POST-only action, and downloads (not pages).
NOT_PAGES = {
    "/healthz",
    "/favicon.ico",
    "/logout",
    "/reports/coverage.csv",
    "/reports/coverage.xlsx",
    "/reports/new-hires.csv",  # new-hire compliance per group as files (issue #17)
    "/reports/new-hires.xlsx",
    "/my/data.zip",
    "/audit/events.csv",
    "/audit/events.xlsx",
    "/team/overdue.csv",  # the manager's overdue list as files (issue #17)
    "/team/overdue.xlsx",
    "/employees/list.csv",  # HR's filtered list as files (issue #17)
    "/employees/list.xlsx",
    # The SCIM endpoint (issue #19): JSON for a directory's bearer token, not pages. Its
    # admin pages are scanned here and in tests/browser/test_scim_pages.py.
    "/scim/v2/",
    "/scim/v2/ServiceProviderConfig",
    "/scim/v2/ResourceTypes",
    "/scim/v2/Schemas",
    "/scim/v2/Users",
    # The identity provider's return (issue #18): its pages (refused, not enrolled) are
    # scanned in tests/browser/test_sso.py, where a provider sends the browser back.
    "/login/sso/callback",
    "/programme/manage/report.csv",  # the programme's report as files (issue #20)
    "/programme/manage/report.xlsx",
}
# HR's pages: an admin sees them for every municipality, HR for one (a fixed municipality
# instead of a choice), so both are scanned.
STAFF_PAGES = {
    "/employees/",
    "/employees/new",
    "/employees/units",
    "/employees/import/",
    "/employees/invitations",  # the count before sending the held invitations
    "/rules/",
    "/rules/new",
}
ANONYMOUS_PAGES = {
    "/login": 200,
    "/password/forgot": 200,
    "/invitation/bad-token": 404,  # what an invalid invitation link shows
    "/accessibility": 200,  # the accessibility statement, public as the DOS law asks
    "/accessibility/report": 200,  # its form for reporting a problem
    "/privacy": 200,  # the privacy notice, public so that leavers can read it too
}


def _plain_get_pages(app: Flask) -> list[str]:
    """Every route that answers GET without a URL parameter, except assets and probes."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and not rule.arguments
        and not rule.rule.startswith("/static")
        and rule.rule not in NOT_PAGES
    )


def _assert_pages_accessible(page: Any, base_url: str, paths: list[str]) -> None:
    """Open each page in turn; every one answers, passes axe-core, and has nothing that
    scrolls sideways on a phone (390 px), or all that fail are reported together."""
    problems: list[str] = []
    desktop = page.viewport_size
    for path in paths:
        response = page.goto(f"{base_url}{path}")
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        if report := accessibility_report(page):
            problems.append(f"{path} ->\n{report}")
        page.set_viewport_size(PHONE)
        if sideways := sideways_scrolling(page):
            problems.append(f"{path} scrolls sideways at 390 px: {'; '.join(sideways)}")
        page.set_viewport_size(desktop)
    assert not problems, "\n\n".join(problems)


def test_the_axe_check_reports_what_it_finds(page: Any) -> None:
    """The harness itself: a page with a known fault fails, and says where."""
    page.set_content(
        '<!doctype html><html lang="sv"><head><title>Prov</title></head>'
        '<body><main><h1>Prov</h1><img src="bild.png"></main></body></html>'
    )
    assert [v["id"] for v in axe_violations(page)] == ["image-alt"]
    report = accessibility_report(page)
    assert "image-alt (critical)" in report
    assert '<img src="bild.png">' in report
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)


def test_every_page_an_admin_can_open_is_accessible(
    app: Flask, page: Any, live_server: str, demo: DemoResult
) -> None:
    # The demo admin is a system account, not an employee: the "/my/" pages are HR's scan's.
    paths = [p for p in _plain_get_pages(app) if not p.startswith("/my/")]
    assert {"/", "/admin/", "/admin/roles", "/admin/courses"} | STAFF_PAGES <= set(paths), paths
    sign_in(page, live_server, demo_email(demo, "admin"))
    expect(page).to_have_url(f"{live_server}/")
    _assert_pages_accessible(page, live_server, paths)


def test_every_page_hr_can_open_is_accessible(
    app: Flask, page: Any, live_server: str, demo: DemoResult
) -> None:
    paths = [
        p
        for p in _plain_get_pages(app)
        if p == "/"
        or p.startswith(("/employees", "/rules", "/my/", "/verify/", "/reports/", "/audit/"))
    ]
    assert set(paths) >= STAFF_PAGES | {"/my/report", "/my/data", "/verify/", "/audit/"}, paths
    sign_in(page, live_server, demo_email(demo, "hr"))
    expect(page).to_have_url(f"{live_server}/")
    _assert_pages_accessible(page, live_server, paths)


@pytest.mark.parametrize("path", sorted(ANONYMOUS_PAGES))
def test_anonymous_page_is_accessible(page: Any, live_server: str, path: str) -> None:
    response = page.goto(f"{live_server}{path}")
    assert response is not None and response.status == ANONYMOUS_PAGES[path]
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page)


def test_invalid_invitation_link_explains_itself(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/invitation/bad-token")
    expect(page.get_by_role("heading", name="Länken fungerar inte", level=1)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Inbjudningslänken är ogiltig")


def test_login_page_fits_a_phone_without_sideways_scrolling(
    phone_page: Any, live_server: str
) -> None:
    phone_page.goto(f"{live_server}/login")
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)


def test_start_page_fits_a_phone_without_sideways_scrolling(
    phone_page: Any, live_server: str, demo: DemoResult
) -> None:
    sign_in(phone_page, live_server, demo_email(demo, "admin"))
    expect(phone_page).to_have_url(f"{live_server}/")
    assert_no_sideways_scroll(phone_page)
    assert_accessible(phone_page)
