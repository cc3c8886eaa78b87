"""Screenshots of every page each demo role can reach, at 1280 and 390 px.

Signs in as each account of ``flask demo seed`` (its ``ROLE<TAB>E-MAIL`` lines), opens the
pages of the menu and a fixed list of the product's screens (those a role may not open are
skipped), then the first link of each list or table on them (a person, a review, a unit, …),
and writes ``<role>/<NN>-<page>-<width>.png`` into the folder, with ``<role>/sideways.txt``
listing each page, at each width, where the page or a box in it scrolls sideways. Run through
``scripts/screenshots.sh``, which makes a fresh demo and serves it; see ``--help``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser.support import sideways_scrolling  # the tests' own check

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # as tests/browser/conftest.py
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The browser's own language: date fields read ÅÅÅÅ-MM-DD, as a Swedish user's browser shows
    # them, not mm/dd/yyyy.
    "--lang=sv-SE",
]
WIDTHS = {"desktop": 1280, "phone": 390}
HEIGHT = 900
# The screens people use, whether or not a menu links them; a role that may not open one gets
# a 403 or 404 and it is skipped.
SCREENS = [
    "/",
    "/my/report",
    "/verify/",
    "/employees/",
    "/employees/?account=not_invited&overdue=1&per_page=25",  # the list filtered
    "/employees/invitations",  # the count before sending the held invitations
    "/employees/new",
    "/employees/units",
    "/employees/record-completions",
    "/employees/settings",
    "/employees/import/",
    "/rules/",
    "/reports/?view=municipality",
    "/reports/?view=sector",
    "/reports/?view=unit",
    "/reports/new-hires",
    "/audit/",
    "/admin/",
    "/admin/outbox",
    "/admin/roles",
    "/admin/courses",
    "/admin/scim",
    "/admin/sso",
    "/programme/manage/",
    "/programme/manage/new",
    "/programme/manage/report",
    "/programme/checkin",
    "/settings/notifications",
    "/my/data",
    "/privacy",
    "/accessibility",
]
# Links never followed: they act (sign out), download, or leave the list of screens.
SKIP = re.compile(r"(/logout|\.csv|\.xlsx|\.zip|/evidence/|/healthz|/favicon|[?&]page=|[?&]sort=)")


@dataclass
class Account:
    role: str
    email: str


def read_accounts(lines: Iterable[str]) -> list[Account]:
    """The ``ROLE<TAB>E-MAIL`` lines of ``flask demo seed`` (other lines are ignored)."""
    accounts = []
    for line in lines:
        role, tab, email = line.strip().partition("\t")
        if tab and "@" in email and role != "password":
            accounts.append(Account(role, email))
    return accounts


def slug(path: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return text or "start"


def same_site(base: str, href: str) -> str | None:
    """``href`` as a path of this site (with its query), or None."""
    absolute = urljoin(base, href)
    parts, home = urlsplit(absolute), urlsplit(base)
    if parts.netloc != home.netloc or SKIP.search(absolute):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(urljoin(base, "/login"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main button[type=submit], main input[type=submit]")
    if urlsplit(page.url).path.startswith("/login"):
        raise RuntimeError(f"could not sign in as {email}")


def shoot(page: Any, folder: Path, name: str) -> int:
    """A full-page screenshot at each width; what scrolls sideways is noted in sideways.txt."""
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
        if sideways := sideways_scrolling(page):
            with (folder / "sideways.txt").open("a", encoding="utf-8") as notes:
                notes.write(f"{name}-{label}: {'; '.join(sideways)}\n")
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": HEIGHT})
    return len(WIDTHS)


def visit(page: Any, base: str, path: str) -> bool:
    """Open ``path``; False when the role may not (or it failed)."""
    response = page.goto(urljoin(base, path))
    return (
        response is not None
        and response.status == 200
        and not urlsplit(page.url).path.startswith("/login")
    )


def role_pages(page: Any, base: str, screens: list[str]) -> list[str]:
    """The menu's pages and the fixed screens, in that order, each once."""
    page.goto(urljoin(base, "/"))
    menu = [
        same_site(base, href)
        for href in page.eval_on_selector_all(
            "nav.site-nav a[href]", "links => links.map(a => a.getAttribute('href'))"
        )
    ]
    found: list[str] = []
    for path in [*menu, *screens]:
        if path and path not in found:
            found.append(path)
    return found


def shoot_role(
    browser: Any, base: str, account: Account, password: str, out: Path, screens: list[str]
) -> int:
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": HEIGHT})
    context.set_default_timeout(20_000)
    page = context.new_page()
    folder = out / slug(account.role)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sideways.txt").unlink(missing_ok=True)  # this run's notes only
    count = 0
    try:
        sign_in(page, base, account.email, password)
        seen: set[str] = set()
        for path in role_pages(page, base, screens):
            if path in seen or not visit(page, base, path):
                continue
            seen.add(path)
            count += shoot(page, folder, f"{len(seen):02d}-{slug(path)}")
            first_links = page.eval_on_selector_all(
                "main table tbody, main ul:not(.pagination)",
                """lists => lists.map(list => {
                    const a = list.querySelector('a[href]');
                    return a ? a.getAttribute('href') : null;
                })""",
            )
            for href in first_links:
                target = same_site(base, href) if href else None
                if target is None or target in seen or target in screens:
                    continue
                if visit(page, base, target):
                    seen.add(target)
                    count += shoot(page, folder, f"{len(seen):02d}-{slug(target)}")
                page.goto(urljoin(base, path))
    finally:
        context.close()
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--accounts", required=True, type=Path, help="flask demo seed's output")
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", default=Path("screenshots"), type=Path)
    parser.add_argument("--role", action="append", help="only these roles (repeatable)")
    parser.add_argument("--screen", action="append", help="only these paths (repeatable)")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright  # late: --help works without Playwright

    accounts = read_accounts(args.accounts.read_text(encoding="utf-8").splitlines())
    if args.role:
        accounts = [account for account in accounts if account.role in args.role]
    if not accounts:
        print("no demo accounts to sign in as", file=sys.stderr)
        return 1
    screens = args.screen or SCREENS
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for account in accounts:
                taken = shoot_role(
                    browser, args.base_url, account, args.password, args.out, screens
                )
                print(f"{account.role}: {taken} screenshots", file=sys.stderr)
                total += taken
        finally:
            browser.close()
    print(f"{total} screenshots in {args.out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
