"""Helpers for the browser tests: signing in through the form, and axe-core checks that
explain their failures."""

from __future__ import annotations

from importlib import resources
from typing import Any

from tests import factories
from training_tracker.demo.seed import DemoResult

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa"]
DEMO_PASSWORD = factories.PASSWORD  # meets the password policy
DEMO_EMPLOYEES = 150  # the smallest demo the seeder allows

# The Swedish words the tests find things by, as a person would.
EMAIL_LABEL = "E-postadress"
PASSWORD_LABEL = "Lösenord"
SIGN_IN_BUTTON = "Logga in"


def demo_email(demo: DemoResult, role: str) -> str:
    return dict(demo.accounts)[role]


def sign_in(page: Any, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form, as a person would, and wait for the page that follows."""
    page.goto(f"{base_url}/login")
    page.get_by_label(EMAIL_LABEL, exact=True).fill(email)
    page.get_by_label(PASSWORD_LABEL, exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name=SIGN_IN_BUTTON, exact=True).click()


# What scrolls sideways: the page itself, or a box in it whose content is wider than the box
# (a table in its scrolling region), each named by its label, caption or first heading.
# scripts/screenshots.py notes the same for every page it shoots.
SIDEWAYS_JS = """() => {
    const name = e => (e.getAttribute('aria-label') || e.querySelector('caption, h2, h3, th')
        ?.textContent || e.className || e.tagName).trim().replace(/\\s+/g, ' ').slice(0, 60);
    const found = [];
    if (document.documentElement.scrollWidth > window.innerWidth + 1) {
        found.push(`the page (${document.documentElement.scrollWidth} px)`);
    }
    for (const e of document.querySelectorAll('main *')) {
        const overflow = getComputedStyle(e).overflowX;
        if ((overflow === 'auto' || overflow === 'scroll') && e.scrollWidth > e.clientWidth + 1) {
            found.push(`${name(e)} (${e.scrollWidth} px in ${e.clientWidth})`);
        }
    }
    return found;
}"""


def sideways_scrolling(page: Any) -> list[str]:
    """What scrolls sideways on the page as it is now laid out (see SIDEWAYS_JS)."""
    return list(page.evaluate(SIDEWAYS_JS))


def assert_no_sideways_scroll(page: Any) -> None:
    """The page fits its window's width, and so does every table and box in it: nothing to
    scroll sideways to (a table too wide for a phone stacks its rows instead). Measured once
    the page has loaded its stylesheets: before, a wide table is not yet laid out as it will be
    (this failed once, on a CI leg running beside another)."""
    page.wait_for_load_state("load")
    found = sideways_scrolling(page)
    window = page.evaluate("() => window.innerWidth")
    assert not found, f"{page.url} scrolls sideways in a {window} px window: {'; '.join(found)}"


# --- axe-core --------------------------------------------------------------------------------

_axe_source: str | None = None


def _axe_script() -> str:
    global _axe_source
    if _axe_source is None:
        bundled = resources.files("axe_playwright_python") / "axe.min.js"
        _axe_source = bundled.read_text(encoding="utf-8")
    return _axe_source


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """What axe-core finds on the page against WCAG 2.0 A/AA and 2.1 AA.

    The script goes in through ``page.evaluate``, which a Content-Security-Policy does not
    block (a ``<script>`` tag would be refused once inline scripts are forbidden)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_script())
        # Every later page of this context gets it as it loads, before its own scripts and
        # past the CSP too: sending the 500 kB script again for each page took 60 ms a page.
        page.context.add_init_script(_axe_script())
    results = page.evaluate(
        """tags => axe.run(document, {
            runOnly: {type: 'tag', values: tags},
            resultTypes: ['violations'],
        })""",
        AXE_TAGS,
    )
    return list(results["violations"])


def _target(node: dict[str, Any]) -> str:
    parts = node.get("target", [])
    return ", ".join(" ".join(map(str, p)) if isinstance(p, list) else str(p) for p in parts)


def _squeeze(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_violations(violations: list[dict[str, Any]], *, nodes_shown: int = 3) -> str:
    """One paragraph per violation: rule, impact, help, and where it happens."""
    lines: list[str] = []
    for violation in violations:
        nodes = violation.get("nodes", [])
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'n/a'}): {violation['help']}"
            f" — {len(nodes)} element(s), see {violation.get('helpUrl', '')}"
        )
        for node in nodes[:nodes_shown]:
            lines.append(f"    at {_target(node)}: {_squeeze(node.get('html'))}")
            if node.get("failureSummary"):
                lines.append(f"      {_squeeze(node['failureSummary'], 400)}")
        if len(nodes) > nodes_shown:
            lines.append(f"    … and {len(nodes) - nodes_shown} more")
    return "\n".join(lines)


def accessibility_report(page: Any) -> str:
    """Empty when axe-core finds nothing on the page; otherwise what it found and where."""
    violations = axe_violations(page)
    if not violations:
        return ""
    return (
        f"axe-core ({', '.join(AXE_TAGS)}) found {len(violations)} violation(s) on "
        f"{page.url}:\n{describe_violations(violations)}"
    )


def assert_accessible(page: Any) -> None:
    report = accessibility_report(page)
    assert not report, report
