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


def assert_no_sideways_scroll(page: Any) -> None:
    """The page fits its window's width: nothing to scroll sideways to. Measured once the page
    has loaded its stylesheets: before, a wide table is not yet inside its scrolling box (this
    failed once, on a CI leg running beside another)."""
    page.wait_for_load_state("load")
    width, window = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= window, f"{page.url} is {width} px wide in a {window} px window"


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
