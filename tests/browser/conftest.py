"""Browser fixtures: the app served on a free loopback port and Debian's Chromium driven by
Playwright, never a downloaded browser. Helpers for the tests are in ``support.py``."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.support import DEMO_EMPLOYEES, DEMO_PASSWORD
from tests.demo_readings import readings_remembered
from training_tracker import clock
from training_tracker.demo.seed import DemoResult, seed_demo
from training_tracker.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 10_000  # a broken page fails fast
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium package.")
    pytest.skip("Debian chromium not installed: apt-get install chromium")


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The session app behind a real HTTP server; yields its base URL (no trailing slash).

    The server's threads open their own app contexts and sessions on the same database file,
    so what a test commits is what the browser sees."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _new_page(browser: Any, viewport: dict[str, int]) -> Iterator[Any]:
    context = browser.new_context(locale="sv-SE", viewport=viewport)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    # The pages' Content-Security-Policy forbids inline script and style: anything the
    # browser refuses is a page that silently lost a part of itself.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield page
    finally:
        context.close()
    assert not refused, f"the browser refused content under the CSP: {refused}"


@pytest.fixture()
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh desktop-sized page (its own cookies), in Swedish."""
    yield from _new_page(browser, DESKTOP)


@pytest.fixture()
def phone_page(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh phone-sized page (390 × 844), in Swedish."""
    yield from _new_page(browser, PHONE)


@pytest.fixture()
def demo(app: Flask) -> DemoResult:
    """The demo data, committed so that the server thread sees it."""
    with readings_remembered():  # the same certificates every time: read once
        result = seed_demo(
            db.session,
            employees=DEMO_EMPLOYEES,
            seed=1,
            password=DEMO_PASSWORD,
            today=clock.today(),
        )
    db.session.commit()
    return result
